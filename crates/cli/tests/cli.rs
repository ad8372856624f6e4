//! The binary as a user runs it: paths and stdin, formats, exit codes, colour,
//! and clear errors for what is not a dump.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn data(rel: &str) -> PathBuf {
    root().join("testdata").join(rel)
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ast-locks"));
    c.env_remove("NO_COLOR");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

fn run_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("feed stdin");
    child.wait_with_output().expect("binary ends")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const ABBA: &str = "asterisk-22.0.0-s1-abba/core-show-locks.txt";
const CONVOY: &str = "asterisk-18.0.0-s4-convoy/core-show-locks.txt";

#[test]
fn file_and_stdin_give_the_same_report_in_every_format() {
    let path = data(ABBA);
    let bytes = std::fs::read(&path).expect("sample");
    for format in ["text", "dot", "json"] {
        // Unwrapped: the file's name is longer than `<stdin>`.
        let from_file = run(&[
            "-f",
            format,
            "--width",
            "0",
            path.to_str().expect("utf8 path"),
        ]);
        let from_stdin = run_stdin(&["-f", format, "--width", "0"], &bytes);
        let from_dash = run_stdin(&["-f", format, "--width", "0", "-"], &bytes);
        assert_eq!(from_file.status.code(), Some(1), "{format}");
        assert_eq!(from_stdin.status.code(), Some(1), "{format}");
        // Only the text heading names the input.
        let strip = |s: String| {
            s.replace(path.to_str().expect("utf8"), "<stdin>")
                .replace("ast-locks <stdin> ", "ast-locks FILE ")
        };
        assert_eq!(strip(stdout(&from_file)), stdout(&from_stdin), "{format}");
        assert_eq!(stdout(&from_stdin), stdout(&from_dash), "{format}");
    }
}

#[test]
fn default_format_off_a_terminal_is_dot_for_the_circo_pipe() {
    let o = run(&[data(ABBA).to_str().expect("utf8")]);
    assert!(
        stdout(&o).starts_with("digraph \"ast-locks\" {"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn exit_codes_say_deadlock_or_not() {
    assert_eq!(run(&[data(ABBA).to_str().unwrap()]).status.code(), Some(1));
    assert_eq!(
        run(&[data(CONVOY).to_str().unwrap()]).status.code(),
        Some(0)
    );
    assert_eq!(run(&["/nonexistent/dump.txt"]).status.code(), Some(2));
    assert_eq!(run(&["--no-such-flag"]).status.code(), Some(2));
}

#[test]
fn color_always_wins_over_no_color_and_auto_follows_the_conventions() {
    let path = data(ABBA);
    let p = path.to_str().unwrap();
    let coloured = run(&["-f", "text", "--color", "always", p]);
    assert!(stdout(&coloured).contains("\x1b["));
    // What is asked for on the command line beats the environment.
    let asked = bin()
        .env("NO_COLOR", "1")
        .args(["-f", "text", "--color", "always", p])
        .output()
        .expect("runs");
    assert!(stdout(&asked).contains("\x1b["));
    // Off a terminal, auto means no colour, unless CLICOLOR_FORCE says so;
    // NO_COLOR beats CLICOLOR_FORCE.
    assert!(!stdout(&run(&["-f", "text", p])).contains('\x1b'));
    let forced = bin()
        .env("CLICOLOR_FORCE", "1")
        .args(["-f", "text", p])
        .output()
        .expect("runs");
    assert!(stdout(&forced).contains("\x1b["));
    let both = bin()
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1")
        .args(["-f", "text", p])
        .output()
        .expect("runs");
    assert!(!stdout(&both).contains('\x1b'));
    let never = bin()
        .env("CLICOLOR_FORCE", "1")
        .args(["-f", "text", "--color", "never", p])
        .output()
        .expect("runs");
    assert!(!stdout(&never).contains('\x1b'));
}

#[test]
fn output_never_overwrites_an_input_and_the_verdict_still_reaches_the_terminal() {
    let dir = tempdir();
    let copy = dir.join("locks.txt");
    std::fs::copy(data(ABBA), &copy).unwrap();
    let before = std::fs::read(&copy).unwrap();
    let c = copy.to_str().unwrap();
    let o = run(&[c, "-o", c, "-f", "text"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("is an input"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        before,
        "the dump was overwritten"
    );
    let report = dir.join("report.html");
    let o = run(&[c, "-o", report.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("DEADLOCK: 1 cycle (2 threads)"),
        "{}",
        stderr(&o)
    );
    assert!(report.exists());
}

#[test]
fn format_names_and_output_extensions_must_agree() {
    let dir = tempdir();
    let p = data(ABBA);
    let p = p.to_str().unwrap();
    for (f, start) in [("md", "## "), ("txt", "DEADLOCK")] {
        let o = run(&["-f", f, p]);
        assert!(stdout(&o).starts_with(start), "-f {f}: {}", stdout(&o));
    }
    let png = dir.join("deadlock.png");
    let o = run(&[p, "-o", png.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("rsvg-convert") && stderr(&o).contains("dot -Tpng"),
        "{}",
        stderr(&o)
    );
    assert!(!png.exists());
    let md = dir.join("report.md");
    let o = run(&[p, "-o", md.to_str().unwrap(), "-f", "json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("the extension says markdown but --format says json"),
        "{}",
        stderr(&o)
    );
    assert!(!md.exists());
}

#[test]
fn focus_that_matches_nothing_names_what_there_is() {
    let o = run(&[
        "-f",
        "dot",
        "--focus",
        "no-such-thread",
        data(ABBA).to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("--focus no-such-thread: matches no thread"),
        "{e}"
    );
    assert!(e.contains("0x7f67a15356c0 (LWP 32380, s1_thread_a)"), "{e}");
    assert!(e.contains("&s1_mutex_a 0x7f67a50f1100"), "{e}");
}

#[test]
fn utf16_dumps_read_as_their_utf8_original() {
    let dir = tempdir();
    let text = std::fs::read_to_string(data(ABBA)).unwrap();
    let utf16 = dir.join("powershell.txt");
    let bytes: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    std::fs::write(&utf16, bytes).unwrap();
    let want = run(&["-f", "json", data(ABBA).to_str().unwrap()]);
    let got = run(&["-f", "json", utf16.to_str().unwrap()]);
    let strip = |o: &Output, name: &str| stdout(o).replace(name, "FILE");
    assert_eq!(
        strip(&got, utf16.to_str().unwrap()),
        strip(&want, data(ABBA).to_str().unwrap())
    );
}

#[test]
fn a_file_that_is_not_a_dump_is_a_clear_error() {
    let dir = tempdir();
    let f = dir.join("notes.txt");
    std::fs::write(&f, "hello\nthis is a log of something else\n").unwrap();
    let o = run(&[f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("notes.txt"), "{e}");
    assert!(e.contains("line 1, column 1"), "{e}");
    // What was looked for, and the first lines, never a claim that it must be
    // `core show locks`.
    assert!(
        e.contains("nothing to read: found no `core show locks` thread block"),
        "{e}"
    );
    assert!(
        e.contains("no gdb frame")
            && e.contains("no ast_coredumper lock row")
            && e.contains("no owner look-up"),
        "{e}"
    );
    assert!(
        e.contains("`hello / this is a log of something else`"),
        "{e}"
    );
    assert!(!e.contains("DEBUG_THREADS"), "{e}");
    assert!(o.stdout.is_empty());
}

#[test]
fn an_empty_file_is_a_clear_error() {
    let dir = tempdir();
    let f = dir.join("empty.txt");
    std::fs::write(&f, "").unwrap();
    let o = run(&[f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("empty.txt: the input is empty"),
        "{}",
        stderr(&o)
    );
    let o = run_stdin(&[], b"\n\n  \n");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("<stdin>: the input is empty"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_directory_or_missing_file_is_a_clear_error() {
    let dir = tempdir();
    let o = run(&[dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is a directory"), "{}", stderr(&o));
    let o = run(&["/nonexistent/dump.txt"]);
    assert!(
        stderr(&o).contains("/nonexistent/dump.txt: cannot read"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn binary_input_is_a_clear_error() {
    // Random binary (not ELF): NUL bytes and no dump.
    let bytes: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let o = run_stdin(&[], &bytes);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("binary data"), "{}", stderr(&o));
}

#[test]
fn zero_threads_under_a_banner_means_no_locks_held() {
    let o = run(&[
        "-f",
        "text",
        data("handmade/v12-zero-threads.txt").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stdout(&o).starts_with("no deadlock: no locks held"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn several_dumps_in_one_file_analyse_the_last_unless_told() {
    let p = data("handmade/v12-two-dumps.txt");
    let p = p.to_str().unwrap();
    let last = run(&["-f", "text", p]);
    assert_eq!(last.status.code(), Some(1));
    assert!(
        stdout(&last).contains("snapshot 2 of 2"),
        "{}",
        stdout(&last)
    );
    let first = run(&["-f", "text", "--snapshot", "1", p]);
    assert_eq!(first.status.code(), Some(0));
    assert!(stdout(&first).contains("5 threads wait, all behind 1 stalled holder"));
    let bad = run(&["--snapshot", "3", p]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("holds 2 snapshots"),
        "{}",
        stderr(&bad)
    );
    let json = stdout(&run(&["-f", "json", p]));
    assert!(json.contains("\"snapshots\": 2"), "{json}");
}

#[test]
fn writer_preferring_policy_turns_the_reader_retake_into_a_deadlock() {
    let p = data("handmade/v21-writer-preferring-reader-cycle.txt");
    let p = p.to_str().unwrap();
    // With glibc's reader preference the reader would get its lock: the dump,
    // which shows it waiting, cannot say which platform it came from.
    let glibc = run(&["-f", "text", p]);
    assert_eq!(glibc.status.code(), Some(3));
    assert!(
        stdout(&glibc).starts_with(
            "UNDETERMINED: a thread waits for a read lock it already holds while a writer waits"
        ),
        "{}",
        stdout(&glibc)
    );
    assert!(
        !stdout(&glibc).contains("are deadlocked"),
        "{}",
        stdout(&glibc)
    );
    let o = run(&["-f", "text", "--rwlock-policy", "writer-preferring", p]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).starts_with("DEADLOCK: 1 cycle (2 threads)"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn several_files_are_snapshots_in_time_order() {
    // The three dumps of one process, one file each.
    let text = std::fs::read_to_string(data("series/persisting-cycle.txt")).unwrap();
    let banner =
        "=======================================================================\n=== 18.20.0";
    let parts: Vec<String> = text
        .split(banner)
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("{banner}{p}"))
        .collect();
    assert_eq!(parts.len(), 3, "{text}");
    let dir = std::env::temp_dir().join(format!("ast-locks-cli-series-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files: Vec<String> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let f = dir.join(format!("s{i}.txt"));
            std::fs::write(&f, p).unwrap();
            f.to_str().unwrap().to_string()
        })
        .collect();
    let args: Vec<&str> = ["-f", "json"]
        .into_iter()
        .chain(files.iter().map(String::as_str))
        .collect();
    let o = run(&args);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(o.status.code(), Some(1));
    let j = stdout(&o);
    assert!(j.contains("\"snapshots\": 3"), "{j}");
    assert!(j.contains("read as snapshots in time order"), "{j}");
    assert!(j.contains("\"verdict\": \"confirmed-deadlock\""), "{j}");
}

#[test]
fn dumps_of_two_processes_are_not_a_series() {
    // Asterisk 18.0.0, then 22.0.0: no thread and no lock in common.
    let a = data(CONVOY);
    let b = data(ABBA);
    let o = run(&[
        "-f",
        "text",
        "--width",
        "0",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "the 22.0.0 dump deadlocks");
    let t = stdout(&o);
    let first: Vec<&str> = t.lines().take(4).collect();
    assert_eq!(first[0], "DEADLOCK: 1 cycle (2 threads)", "{t}");
    assert!(
        first[2]
            .contains("snapshots 1 and 2 are not of one process (Asterisk 18.0.0, then 22.0.0)"),
        "{t}"
    );
    assert!(first[3].contains("snapshot 2 is reported alone"), "{t}");
    assert!(!t.contains("TRANSIENT") && !t.contains("FREEZE"), "{t}");
    let j: serde_json::Value = serde_json::from_slice(
        &run(&["-f", "json", a.to_str().unwrap(), b.to_str().unwrap()]).stdout,
    )
    .unwrap();
    assert!(j.get("series").is_none(), "{j}");
    // The first one alone is still there to report.
    let one = run(&[
        "-f",
        "text",
        "--snapshot",
        "1",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert!(
        stdout(&one).starts_with("no cycle: 5 threads wait"),
        "{}",
        stdout(&one)
    );
}

#[test]
fn the_same_dump_pasted_twice_is_one_moment() {
    let abba = std::fs::read_to_string(data(ABBA)).unwrap();
    let o = run_stdin(&["-f", "text"], format!("{abba}\n{abba}").as_bytes());
    assert_eq!(o.status.code(), Some(1));
    let t = stdout(&o);
    assert!(t.starts_with("DEADLOCK: 1 cycle (2 threads)\n"), "{t}");
    assert!(!t.contains("FREEZE CONFIRMED"), "{t}");
    assert!(
        t.lines()
            .nth(2)
            .is_some_and(|l| l.contains("snapshots 1 and 2 are identical, clocks and all")),
        "{t}"
    );
}

#[test]
fn invalid_utf8_is_repaired_with_a_warning() {
    let mut bytes = std::fs::read(data(ABBA)).unwrap();
    let pos = bytes.windows(11).position(|w| w == b"s1_thread_a").unwrap();
    bytes[pos] = 0xff;
    let o = run_stdin(&["-f", "json"], &bytes);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("invalid UTF-8"), "{}", stdout(&o));
}

#[test]
fn broken_pipe_is_not_an_error() {
    // A dump big enough that its report overflows the pipe buffer.
    let mut dump = String::from(
        "=== Currently Held Locks ==============================================\n===\n",
    );
    for i in 0..4000 {
        dump.push_str(&format!(
            "=== Thread ID: 0x{:x} LWP:{i} (pbx_thread           started at [ 4781] pbx.c ast_pbx_start())\n\
             === ---> Waiting for Lock #0 (channel.c): MUTEX 935 ast_channel_callback &channels->lock 0x55aa31963f00 (1)\n\
             === -------------------------------------------------------------------\n",
            0x7f0000000000u64 + i
        ));
    }
    dump.push_str("=======================================================================\n");
    let mut child = bin()
        .args(["-f", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(dump.as_bytes()).unwrap();
    drop(stdin);
    drop(child.stdout.take()); // the reader goes away, like `| head -0`
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"));
}

#[test]
fn help_has_examples_and_version_prints() {
    let h = stdout(&run(&["--help"]));
    assert!(h.contains("Examples:") && h.contains("circo -Tsvg"), "{h}");
    assert!(h.contains("Exit status: 0 no deadlock, 1 deadlock found, 2 error"));
    let v = stdout(&run(&["--version"]));
    assert!(v.starts_with("ast-locks "), "{v}");
}

// ---- regression tests for what the acceptance of the tool rests on ----

/// The old script crashed (KeyError) when a waited-for lock had no listed holder.
#[test]
fn wazo_2012_unknown_holder_with_locked_here_hints() {
    let o = run(&[
        "-f",
        "text",
        data("wazo-2012-excerpt.txt").to_str().unwrap(),
    ]);
    // The excerpt ends with the authors' `...`: the holders may be in the rest.
    assert_eq!(o.status.code(), Some(3));
    let t = stdout(&o);
    assert!(
        t.contains("0xb6cffb70 (do_devstate_changes) waits for chan 0xae044858"),
        "{t}"
    );
    assert!(
        t.contains("chan 0xae044858: its holder is not listed; waited for by thread 0xb6cffb70"),
        "{t}"
    );
    assert!(
        t.contains("Locked Here: channel.c line 3767 (__ast_read)"),
        "{t}"
    );
    assert!(
        t.contains("Locked Here: chan_agent.c line 515 (agent_lock_owner)"),
        "{t}"
    );
}

#[test]
fn locks_fail_two_netconsoles_behind_unknown_holder_and_no_deadlock() {
    let o = run(&[
        "-f",
        "text",
        "--width",
        "0",
        data("asterisk-1.8-testsuite/locks-fail.txt")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let t = stdout(&o);
    assert!(
        t.starts_with("no cycle: 2 threads wait, all behind 1 unknown holder"),
        "{t}"
    );
    assert!(
        t.contains("2 threads behind an unknown holder of a->c 0x2aaaac491f50"),
        "{t}"
    );
    // The two identical waits fold into one line naming both threads...
    assert!(
        t.contains("2 threads wait for a->c 0x2aaaac491f50 at astobj2.c:842 internal_ao2_iterator_next(): thread 0x449ec940 (netconsole), thread 0x44a68940 (netconsole)"),
        "{t}"
    );
    assert!(
        t.contains("waited for by thread 0x449ec940 (netconsole), thread 0x44a68940 (netconsole)"),
        "{t}"
    );
    // ...and --verbose lists each.
    let path = data("asterisk-1.8-testsuite/locks-fail.txt");
    let v = stdout(&run(&["-f", "text", "--verbose", path.to_str().unwrap()]));
    assert!(
        v.contains("0x449ec940 (netconsole) waits for a->c 0x2aaaac491f50"),
        "{v}"
    );
    assert!(
        v.contains("0x44a68940 (netconsole) waits for a->c 0x2aaaac491f50"),
        "{v}"
    );
}

/// The old script took the lock *name* for the address on the 21+ format.
#[test]
fn v21_lock_identity_is_the_address_not_the_name() {
    let j = stdout(&run(&["-f", "json", data(ABBA).to_str().unwrap()]));
    assert!(j.contains("\"generation\": \"21+\""), "{j}");
    assert!(j.contains("\"addr\": \"0x7f67a50f1140\""), "{j}");
    assert!(j.contains("\"name\": \"&s1_mutex_b\""), "{j}");
    assert!(!j.contains("\"addr\": \"&s1_mutex_b\""), "{j}");
}

/// A temporary directory, removed when the test is done with it.
struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = PathBuf;
    fn deref(&self) -> &PathBuf {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for TempDir {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir() -> TempDir {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let d = std::env::temp_dir().join(format!("ast-locks-test-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    TempDir(d)
}

#[test]
fn graphviz_renderer_without_graphviz_names_the_missing_program() {
    let empty = tempdir();
    let o = bin()
        .env("PATH", &empty)
        .args([
            "-f",
            "svg",
            "--renderer",
            "graphviz",
            data(ABBA).to_str().unwrap(),
        ])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("`dot` was not found") && e.contains("apt-get install graphviz"),
        "{e}"
    );
    assert!(o.stdout.is_empty());
    // The built-in renderer needs nothing.
    let o = bin()
        .env("PATH", &empty)
        .args(["-f", "svg", data(ABBA).to_str().unwrap()])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("<svg"));
}

#[test]
fn layout_with_builtin_renderer_is_a_usage_error() {
    let o = run(&[
        "-f",
        "svg",
        "--renderer",
        "builtin",
        "--layout",
        "circo",
        data(ABBA).to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--layout"), "{}", stderr(&o));
}

#[test]
fn output_file_format_follows_its_extension() {
    let dir = tempdir();
    let abba = data(ABBA);
    for (file, starts) in [
        ("r.txt", "DEADLOCK: 1 cycle"),
        ("r.dot", "digraph"),
        ("r.json", "{"),
        ("r.svg", "<?xml"),
        ("r.md", "## ast-locks: DEADLOCK"),
        ("r.html", "<!DOCTYPE html>"),
    ] {
        let path = dir.join(file);
        let o = run(&[abba.to_str().unwrap(), "-o", path.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{file}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{file}: nothing on stdout");
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(
            written.starts_with(starts),
            "{file}: {}",
            &written[..written.len().min(80)]
        );
    }
    // --format wins over the extension; an unknown extension needs --format.
    let path = dir.join("r.out");
    let o = run(&[abba.to_str().unwrap(), "-o", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot tell the format"),
        "{}",
        stderr(&o)
    );
    let o = run(&[
        abba.to_str().unwrap(),
        "-f",
        "json",
        "-o",
        path.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(std::fs::read_to_string(&path).unwrap().starts_with('{'));
}

#[test]
fn gzip_input_is_read_transparently() {
    use std::io::Write as _;
    let dir = tempdir();
    let gz = dir.join("locks.txt.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&std::fs::read(data(ABBA)).unwrap()).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let plain = run(&["-f", "json", data(ABBA).to_str().unwrap()]);
    let packed = run(&["-f", "json", gz.to_str().unwrap()]);
    assert_eq!(packed.status.code(), Some(1), "{}", stderr(&packed));
    assert_eq!(plain.stdout, packed.stdout);
    // From stdin too.
    let o = run_stdin(&["-f", "json"], &std::fs::read(&gz).unwrap());
    assert_eq!(o.stdout, plain.stdout);
    // A broken gzip stream is a clear error.
    let bad = dir.join("bad.gz");
    std::fs::write(&bad, [0x1f, 0x8b, 8, 0, 0, 0]).unwrap();
    let o = run(&[bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot decompress gzip"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    for (shell, marker) in [
        ("bash", "_ast__locks()"),
        ("zsh", "#compdef ast-locks"),
        ("fish", "complete -c ast-locks"),
    ] {
        let o = run(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let s = stdout(&o);
        assert!(s.contains(marker), "{shell}: {}", &s[..s.len().min(200)]);
        assert!(s.contains("rwlock-policy"), "{shell}");
    }
    let man = run(&["man"]);
    assert_eq!(man.status.code(), Some(0));
    let m = stdout(&man);
    assert!(
        m.starts_with(".ie \\n(.g .ds Aq") || m.contains(".TH ast-locks"),
        "{}",
        &m[..m.len().min(200)]
    );
    assert!(m.contains("rwlock\\-policy"), "man page lists the options");
}

#[test]
fn markdown_and_html_on_stdout() {
    let md = run(&["-f", "markdown", data(ABBA).to_str().unwrap()]);
    assert_eq!(md.status.code(), Some(1));
    assert!(stdout(&md).contains("```mermaid\nflowchart TD"));
    let html = run(&["-f", "html", data(ABBA).to_str().unwrap()]);
    let h = stdout(&html);
    assert!(
        h.starts_with("<!DOCTYPE html>") && h.contains("<svg") && h.trim_end().ends_with("</html>")
    );
    assert!(
        !h.contains("http://")
            || h.matches("http://").count()
                == h.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );
}

#[test]
fn header_only_coredumper_locks_file_says_why_and_what_to_use() {
    let o = run(&[data("asterisk-22.0.0-s1-abba/ast_coredumper-locks.txt")
        .to_str()
        .unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("holds only its table header"), "{e}");
    assert!(e.contains("There is no member named tracking"), "{e}");
    assert!(e.contains("-brief.txt"), "{e}");
    // Beside the backtraces it is only a note: the backtraces are analysed.
    let o = run(&[
        "-f",
        "text",
        data("asterisk-22.0.0-s1-abba/ast_coredumper-locks.txt")
            .to_str()
            .unwrap(),
        data("asterisk-22.0.0-s1-abba/ast_coredumper-brief.txt")
            .to_str()
            .unwrap(),
        "--owners",
        data("asterisk-22.0.0-s1-abba/gdb-mutex-x3dw.txt")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("holds only its table header"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn owners_alone_are_not_a_dump() {
    let o = run(&[data("asterisk-22.0.0-s1-abba/gdb-mutex-x3dw.txt")
        .to_str()
        .unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("only owner look-ups"), "{}", stderr(&o));
    let o = run(&[
        data(ABBA).to_str().unwrap(),
        "--owners",
        data(ABBA).to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no owner look-up found"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn input_kind_is_detected_and_can_be_forced() {
    let bt = data("asterisk-22.0.0-s1-abba/gdb-thread-apply-all-bt.txt");
    let json = stdout(&run(&["-f", "json", bt.to_str().unwrap()]));
    assert!(json.contains("\"format\": \"gdb\""), "{json}");
    // Forcing the wrong kind is a clear error from that parser.
    let o = run(&["--input", "core-show-locks", bt.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nothing to read"), "{}", stderr(&o));
    let o = run(&["-f", "json", "--input", "gdb", data(ABBA).to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    // ast_coredumper's brief file is gdb output behind a banner.
    let brief = data("asterisk-22.0.0-s1-abba/ast_coredumper-brief.txt");
    let json = stdout(&run(&["-f", "json", brief.to_str().unwrap()]));
    assert!(json.contains("\"format\": \"gdb\""), "{json}");
}

#[test]
fn gdb_commands_list_every_awaited_lock() {
    let o = run(&[
        "gdb-commands",
        data("asterisk-18.0.0-s4-convoy/gdb-thread-apply-all-bt.txt")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let c = stdout(&o);
    assert_eq!(
        c.matches("\nx/3dw 0x7fdccc4db240\n").count(),
        1,
        "one look-up per lock: {c}"
    );
    assert!(c.contains("set pagination off"));
    assert!(stderr(&o).contains("1 awaited lock"));
    // From a `core show locks` dump too.
    let o = run(&["gdb-commands", data(ABBA).to_str().unwrap()]);
    assert_eq!(stdout(&o).matches("x/3dw 0x").count(), 4, "{}", stdout(&o));
}

#[test]
fn capture_without_gdb_says_so() {
    let empty = tempdir();
    let core = empty.join("core");
    std::fs::write(&core, b"not a core").unwrap();
    let o = bin()
        .env("PATH", &empty)
        .args([
            "capture",
            "--core",
            core.to_str().unwrap(),
            "--binary",
            core.to_str().unwrap(),
        ])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("gdb is not installed"),
        "{}",
        stderr(&o)
    );
    let o = run(&[
        "capture",
        "--core",
        "/nonexistent/core",
        "--binary",
        "/bin/sh",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no such core file"), "{}", stderr(&o));
    let o = run(&["capture"]);
    assert_eq!(o.status.code(), Some(2), "capture needs --core or --pid");
}

// ---- several snapshots, stalls, lock order (what a cron job and a ticket rely on) ----

fn series(name: &str) -> String {
    data(&format!("series/{name}.txt"))
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn three_snapshots_say_first_whether_the_freeze_is_confirmed() {
    let o = run(&["-f", "text", "--width", "0", &series("persisting-cycle")]);
    assert_eq!(o.status.code(), Some(1));
    let first = stdout(&o).lines().next().unwrap_or("").to_string();
    assert!(
        first.starts_with("FREEZE CONFIRMED: the same deadlock in all 3 snapshots"),
        "{first}"
    );
    assert!(
        first.contains("thread 0x7f3a1c1f0700 (LWP 4102)")
            && first.contains("thread 0x7f3a1c2fd700 (LWP 4101)"),
        "{first}"
    );

    let o = run(&["-f", "text", "--width", "0", &series("transient-cycle")]);
    let first = stdout(&o).lines().next().unwrap_or("").to_string();
    assert!(
        first.starts_with("POSSIBLE TRANSIENT: a deadlock seen in 1 of 3 snapshots"),
        "{first}"
    );

    let o = run(&["-f", "text", "--width", "0", &series("growing-convoy")]);
    let text = stdout(&o);
    let first = text.lines().next().unwrap_or("");
    assert!(
        first.starts_with("FREEZE LIKELY: thread 0x7f22aa7fc640 (LWP 9100) held &channels->lock 0x55aa31963f00 in all 3 snapshots")
            && first.ends_with("(2 → 3 → 5)"),
        "{first}"
    );
    // No cycle, so the longest-held awaited lock comes right after the verdicts.
    assert!(
        text.lines()
            .nth(3)
            .unwrap_or("")
            .starts_with("Longest-held awaited lock: &channels->lock"),
        "{text}"
    );
    assert!(text.contains("2 → 3 → 5 (growing)"), "{text}");
}

#[test]
fn series_from_several_files_match_one_file_of_several_dumps() {
    let dir = tempdir();
    let text = std::fs::read_to_string(series("growing-convoy")).unwrap();
    let dumps: Vec<String> = text
        .split("\n\n")
        .filter(|d| d.contains("Thread ID"))
        .map(|d| format!("{d}\n"))
        .collect();
    assert_eq!(dumps.len(), 3);
    let files: Vec<String> = dumps
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let p = dir.join(format!("dump{i}.txt"));
            std::fs::write(&p, d).unwrap();
            p.to_str().unwrap().to_string()
        })
        .collect();
    let mut args = vec!["-f", "json"];
    args.extend(files.iter().map(String::as_str));
    let j = stdout(&run(&args));
    assert!(j.contains("\"verdict\": \"stuck-holder\""), "{j}");
    assert!(j.contains("\"snapshots\": 3"), "{j}");
}

#[test]
fn stall_threshold_and_fail_on_choose_the_exit_status() {
    let convoy = series("growing-convoy");
    // The holder has held the lock for 2m47s in the last snapshot.
    assert_eq!(
        run(&[&convoy]).status.code(),
        Some(0),
        "no deadlock: 0 by default"
    );
    assert_eq!(run(&["--fail-on", "stall", &convoy]).status.code(), Some(1));
    assert_eq!(
        run(&["--fail-on", "stall", "--stall-after", "3m", &convoy])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        run(&["--fail-on", "stall", "--stall-after", "2m", &convoy])
            .status
            .code(),
        Some(1)
    );
    let j = stdout(&run(&["-f", "json", "--stall-after", "90s", &convoy]));
    assert!(j.contains("\"held_for_seconds\": 167.75"), "{j}");
    let bad = run(&["--stall-after", "soon", &convoy]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("is not a duration"),
        "{}",
        stderr(&bad)
    );
    // A cron job: deadlock or stall.
    assert_eq!(
        run(&["--fail-on", "deadlock,stall", &series("persisting-cycle")])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn lock_order_inversion_without_any_blocked_thread_names_both_code_paths() {
    let inv = series("lock-order-inversion");
    let o = run(&["-f", "text", "--width", "0", &inv]);
    assert_eq!(o.status.code(), Some(0), "nothing is blocked");
    let t = stdout(&o);
    assert!(
        t.contains("Potential deadlocks (lock order; nothing needs to be blocked now):"),
        "{t}"
    );
    assert!(
        t.contains("&(&agents)->lock → &p->lock → &(&agents)->lock"),
        "{t}"
    );
    assert!(
        t.contains("the same locks (0x96a1a60, 0xb64fab48) taken in both orders"),
        "{t}"
    );
    assert!(t.contains("at chan_agent.c:421 device_state_cb(), then took &p->lock 0x96a1a60 at chan_agent.c:430 device_state_cb()"), "{t}");
    assert!(t.contains("at chan_agent.c:1205 agent_request(), then took &(&agents)->lock 0xb64fab48 at chan_agent.c:1210 agent_request()"), "{t}");
    assert_eq!(
        run(&["--fail-on", "potential", &inv]).status.code(),
        Some(1)
    );
    let j = stdout(&run(&["-f", "json", &inv]));
    assert!(
        j.contains("\"potential_deadlocks\": [") && j.contains("\"confidence\": \"same-locks\""),
        "{j}"
    );
    // Suppressed, it is gone.
    let dir = tempdir();
    let sup = dir.join("suppress.txt");
    std::fs::write(&sup, "# reviewed: agents then pvt is the documented order\n&p->lock -> &(&agents)->lock  # agent_request\n").unwrap();
    let o = run(&[
        "-f",
        "text",
        "--fail-on",
        "potential",
        "--suppress",
        sup.to_str().unwrap(),
        &inv,
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(!stdout(&o).contains("Potential deadlocks"));
    std::fs::write(&sup, "not a pair\n").unwrap();
    let o = run(&["--suppress", sup.to_str().unwrap(), &inv]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("line 1"), "{}", stderr(&o));
}

#[test]
fn diff_of_a_dump_with_itself_reports_nothing_changed() {
    for f in [data(ABBA), data(CONVOY), data("wazo-2012-excerpt.txt")] {
        let p = f.to_str().unwrap();
        let o = run(&["diff", p, p]);
        assert_eq!(o.status.code(), Some(0));
        assert!(
            stdout(&o)
                .lines()
                .nth(1)
                .unwrap_or("")
                .starts_with("nothing changed"),
            "{}",
            stdout(&o)
        );
    }
    let o = run(&[
        "diff",
        "-f",
        "json",
        data(CONVOY).to_str().unwrap(),
        data("handmade/v12-two-cycle.txt").to_str().unwrap(),
    ]);
    let j = stdout(&o);
    assert!(j.contains("\"unchanged\": false"), "{j}");
    assert!(j.contains("\"new_deadlocks\": [\n    {"), "{j}");
}

#[test]
fn capture_of_a_process_that_does_not_exist_says_so() {
    let o = run(&["capture", "--pid", "999999"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("process 999999 does not exist"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_readme_jq_example_shows_the_convoy_it_names() {
    // README: `ast-locks -f json testdata/asterisk-18.0.0-s4-convoy/core-show-locks.txt | jq -c '.blocked[] | {thread, root}'`
    let o = run(&["-f", "json", data(CONVOY).to_str().unwrap()]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let blocked = j["blocked"].as_array().expect("blocked");
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert_eq!(blocked.len(), 5);
    for b in blocked {
        let line = format!(
            "{{\"thread\":\"{}\",\"root\":{{\"holder\":\"{}\"}}}}",
            b["thread"].as_str().unwrap(),
            b["root"]["holder"].as_str().unwrap()
        );
        assert!(readme.contains(&line), "README lacks {line}");
    }
}

#[test]
fn every_subcommand_has_its_manual_page() {
    let dir = tempdir();
    let o = run(&["man", "--dir", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    for page in [
        "ast-locks",
        "ast-locks-capture",
        "ast-locks-diff",
        "ast-locks-refs",
        "ast-locks-watch",
        "ast-locks-gdb-commands",
        "ast-locks-completions",
        "ast-locks-man",
    ] {
        let text = std::fs::read_to_string(dir.join(format!("{page}.1")))
            .unwrap_or_else(|_| panic!("{page}.1 missing"));
        assert!(text.contains(".TH"), "{page}.1 is not roff");
    }
    let refs = stdout(&run(&["man", "refs"]));
    assert!(
        refs.contains("ast\\-locks\\-refs") && refs.contains("history"),
        "{refs}"
    );
    let bad = run(&["man", "nosuch"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("the subcommands are"),
        "{}",
        stderr(&bad)
    );
}
