//! Inputs that are not what they should be: each ends in a clear message and
//! exit status 2, or a correct result; never a panic, an abort or a hang.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ast-locks"))
}

fn dir(test: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("hostile-{test}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

/// Feed `chunks` of stdin without holding them all in memory at once.
fn run_stream(args: &[&str], chunk: &[u8], times: usize) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let feeder = {
        let chunk = chunk.to_vec();
        std::thread::spawn(move || {
            for _ in 0..times {
                if stdin.write_all(&chunk).is_err() {
                    break;
                }
            }
        })
    };
    let out = child.wait_with_output().expect("ends");
    let _ = feeder.join();
    out
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn no_crash(o: &Output, what: &str) {
    let e = err(o);
    assert!(
        !e.contains("panicked") && !e.contains("RUST_BACKTRACE"),
        "{what}: {e}"
    );
    assert!(
        matches!(o.status.code(), Some(0..=3)),
        "{what}: {:?} {e}",
        o.status
    );
}

#[test]
fn the_tool_itself_an_elf_program() {
    let o = run(&[env!("CARGO_BIN_EXE_ast-locks")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("an ELF program"), "{}", err(&o));
}

#[test]
fn a_core_file_by_mistake_points_to_capture() {
    // An ELF header of type ET_CORE (4), as gcore and the kernel write.
    let d = dir("core");
    let mut core = vec![
        0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0x3e, 0,
    ];
    core.extend(std::iter::repeat_n(0u8, 4096));
    let p = d.join("core.12345");
    std::fs::write(&p, &core).unwrap();
    let o = run(&[p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = err(&o);
    assert!(
        e.contains("core file") && e.contains("ast-locks capture --core"),
        "{e}"
    );
}

#[test]
fn a_one_gigabyte_single_line_is_streamed_in_bounded_memory() {
    // 1 GiB of one line through stdin, under a 768 MiB address-space limit: reading
    // it whole would not fit.
    let script = format!(
        "ulimit -v 786432; head -c 1073741824 /dev/zero | tr '\\0' 'a' | {} -f json",
        env!("CARGO_BIN_EXE_ast-locks")
    );
    let o = Command::new("bash")
        .args(["-c", &script])
        .output()
        .expect("bash");
    no_crash(&o, "1 GiB line");
    assert_eq!(o.status.code(), Some(2));
    let e = err(&o);
    assert!(e.contains("nothing to read"), "{e}");
    assert!(
        e.contains("longer than"),
        "the overlong line is reported: {e}"
    );
}

#[test]
fn ten_million_empty_lines() {
    let o = run_stream(&["-f", "json"], &[b'\n'; 1 << 20], 10);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("the input is empty"), "{}", err(&o));
}

#[test]
fn a_thread_with_a_hundred_thousand_lock_entries() {
    let mut dump = String::from("=== Thread ID: 0x1 LWP:1 (worker)\n");
    for i in 0..100_000u32 {
        dump.push_str(&format!(
            "=== ---> Lock #{i} (x.c): MUTEX 1 f lock{i} 0x{:x} (1)\n",
            0x1000 + u64::from(i) * 0x40
        ));
    }
    dump.push_str(
        "=== ---> Waiting for Lock #100000 (x.c): MUTEX 2 f lock0 0x1000 (1)\n=== ----\n",
    );
    dump.push_str("=== Thread ID: 0x2 LWP:2 (other)\n=== ---> Lock #0 (x.c): MUTEX 3 g lock7 0x11c0 (1)\n=== ---> Waiting for Lock #1 (x.c): MUTEX 4 g lock9 0x1240 (1)\n=== ----\n");
    let d = dir("entries");
    let p = d.join("big-thread.txt");
    std::fs::write(&p, dump).unwrap();
    let started = std::time::Instant::now();
    for f in ["text", "json", "dot", "svg", "markdown", "html"] {
        let o = run(&["-f", f, p.to_str().unwrap()]);
        no_crash(&o, f);
        // Two thread blocks and no banner: part of a dump, which cannot decide.
        assert_eq!(o.status.code(), Some(3), "{f}: {}", err(&o));
    }
    // Not a benchmark: a guard against quadratic work (100k² would take hours).
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
}

#[test]
fn nul_bytes_invalid_utf8_and_odd_fields() {
    let d = dir("odd");
    let cases: &[(&str, &[u8], i32)] = &[
        // Thread blocks without banner and closing line are part of a dump: 3.
        ("nul in a dump", b"=== Thread ID: 0x1 (a\0b)\n=== ---> Waiting for Lock #0 (x.c): MUTEX 1 f l\0ck 0x10 (1)\n=== ----\n", 3),
        ("only nul bytes", &[0u8; 4096], 2),
        ("invalid utf-8", b"=== Thread ID: 0x1 (\xff\xfe)\n=== ---> Waiting for Lock #0 (x.c): MUTEX 1 f \xc3( 0x10 (1)\n=== ----\n", 3),
        ("lock name with spaces", b"=== Thread ID: 0x1 (a)\n=== ---> Waiting for Lock #0 (x.c): MUTEX 1 f my lock name 0x10 (1)\n=== ----\n", 3),
        ("address beyond u64", b"=== Thread ID: 0x1 (a)\n=== ---> Lock #0 (x.c): MUTEX 1 f l 0x1ffffffffffffffffffff (1)\n=== ---> Waiting for Lock #1 (x.c): MUTEX 1 f m 0x20 (1)\n=== ----\n=== Thread ID: 0x2 (b)\n=== ---> Waiting for Lock #0 (x.c): MUTEX 1 f l 0x1ffffffffffffffffffff (1)\n=== ----\n", 3),
        ("numbers that overflow", b"=== Thread ID: 0x99999999999999999999999 LWP:99999999999999999999 (a)\n=== ---> Lock #99999999999 (x.c): MUTEX 99999999999 f l 0x10 (99999999999)\n===      99999999999999999999:00:00.000000, 0:0:0.0, 0:0:0.0 (99999999999, 1)\n=== ----\n", 3),
        // A whole dump: banner and closing line.
        ("nul in a whole dump", b"=== Currently Held Locks ===\n===\n=== Thread ID: 0x1 (a\0b)\n=== ---> Waiting for Lock #0 (x.c): MUTEX 1 f l\0ck 0x10 (1)\n=== ----\n=======\n", 0),
    ];
    for (what, bytes, code) in cases {
        let p = d.join("in.txt");
        std::fs::write(&p, bytes).unwrap();
        for f in ["text", "json", "dot", "svg", "markdown", "html"] {
            let o = run(&["-f", f, p.to_str().unwrap()]);
            no_crash(&o, what);
            assert_eq!(o.status.code(), Some(*code), "{what} as {f}: {}", err(&o));
        }
    }
}

#[test]
fn paths_that_are_not_readable_files() {
    let d = dir("paths");
    let o = run(&[d.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("is a directory"), "{}", err(&o));
    // Readable by name, failing on read (root reads anything chmod forbids).
    let o = run(&["/proc/self/mem"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("/proc/self/mem: cannot read"),
        "{}",
        err(&o)
    );
    let o = run(&["/nonexistent/file.txt"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn output_is_byte_identical_whatever_the_thread_count() {
    // Big enough (about 9 MB) to be parsed in parallel.
    let spec = ast_locks_synth::Spec {
        threads: 5_000,
        cycles: vec![2, 3],
        convoys: vec![8],
        seed: 11,
    };
    let d = dir("threads");
    let p = d.join("big.txt");
    std::fs::write(
        &p,
        ast_locks_synth::dump(&spec, ast_locks_model::Generation::V21Plus),
    )
    .unwrap();
    for f in ["text", "json", "dot", "markdown"] {
        let outs: Vec<Vec<u8>> = ["1", "2", "3", "8"]
            .iter()
            .map(|n| {
                let o = bin()
                    .env("AST_LOCKS_THREADS", n)
                    .args(["-f", f, p.to_str().unwrap()])
                    .output()
                    .expect("runs");
                assert_eq!(o.status.code(), Some(1), "{f} on {n} threads");
                o.stdout
            })
            .collect();
        assert!(
            outs.windows(2).all(|w| w[0] == w[1]),
            "{f} differs between thread counts"
        );
    }
}

fn regression(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions")
        .join(name)
        .to_str()
        .expect("utf8")
        .to_string()
}

/// Found by the pipeline fuzzer: a dense bipartite picture on which layout-rs
/// asserts ("Can't normalize the unit vector"). The picture is drawn more simply,
/// and no panic message reaches the terminal.
#[test]
fn builtin_svg_survives_a_graph_layout_rs_cannot_draw() {
    let input = regression("crash-layout-rs-degenerate-bipartite.txt");
    for f in ["svg", "html"] {
        let o = run(&["-f", f, &input]);
        no_crash(&o, f);
        // A fuzz input without banner and closing line: part of a dump, undecided.
        assert_eq!(o.status.code(), Some(3), "{f}: {}", err(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("<svg"), "{f}");
        assert!(!err(&o).contains("panicked"), "{}", err(&o));
    }
}

/// Found by the pipeline fuzzer: 178 labelled edges made the built-in layout take
/// seconds. Above 150 thread-to-thread edges the waits are drawn through their
/// locks (here 2), and the title says so.
#[test]
fn dense_picture_is_drawn_through_its_locks_and_says_so() {
    let input = regression("slow-dense-picture.txt");
    let o = run(&["-f", "svg", &input]);
    no_crash(&o, "svg");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("[178 waits drawn through their 2 locks]"),
        "{}",
        &out[..out.len().min(400)]
    );
}

/// Found by the pipeline fuzzer after the parser was sped up: 297 waits among 28
/// threads in a cycle-dense deadlock, which layout-rs took 8 s to draw (13 s in the
/// thread view); minutes were possible with more. Drawn through the one lock, the
/// picture is 30 edges; the HTML report embeds the same picture.
#[test]
fn cycle_dense_picture_is_drawn_through_its_lock() {
    let input = regression("slow-dense-cyclic-picture.txt");
    for f in ["svg", "html"] {
        let o = run(&["-f", f, &input]);
        no_crash(&o, f);
        assert_eq!(o.status.code(), Some(1), "{f}: {}", err(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("[297 waits drawn through their lock]"), "{f}");
    }
}

/// Lines that never close what they open: a gdb frame and a lock line whose
/// continuation never comes. Joining cut lines must not read the growing line
/// again for every line (quadratic work: hours on such an input).
#[test]
fn cut_lines_that_never_end_are_joined_in_linear_time() {
    let d = dir("cut-lines");
    let gdb = d.join("gdb.txt");
    let mut text = String::from("Thread 1 (LWP 2):\n#0  f (a=\"");
    for _ in 0..200_000 {
        text.push_str("x (((\n");
    }
    std::fs::write(&gdb, &text).unwrap();
    let csl = d.join("csl.txt");
    let mut text = String::from("=== Thread ID: 0x1 LWP:1 (a)\n=== ---> Lock #0 (a.c): MUTEX\n");
    for _ in 0..200_000 {
        text.push_str("zz\n");
    }
    std::fs::write(&csl, &text).unwrap();
    let started = std::time::Instant::now();
    for f in [&gdb, &csl] {
        let o = run(&["-f", "json", f.to_str().unwrap()]);
        no_crash(&o, "cut lines");
    }
    // Not a benchmark: a guard against quadratic work.
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
}
