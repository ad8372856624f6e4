//! Reports that say what to do: every finding ends with its next step, the
//! text fits 100 columns, the Markdown and HTML tables say where each lock was
//! taken and for how long, and the HTML of a big dump stays small with what
//! matters first.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

fn data(rel: &str) -> String {
    testdata().join(rel).to_string_lossy().into_owned()
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ast-locks"))
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("run ast-locks")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const ABBA: &str = "asterisk-22.0.0-s1-abba/core-show-locks.txt";
const CONVOY: &str = "asterisk-18.0.0-s4-convoy/core-show-locks.txt";

/// Every lock dump under testdata/ (not the refs logs, not the goldens).
fn dumps(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() {
            if name != "golden" && name != "refs" {
                dumps(&p, out);
            }
        } else if name.ends_with(".txt") && name != "README.md" {
            out.push(p);
        }
    }
}

#[test]
fn text_reports_fit_100_columns_except_commands_to_copy() {
    let mut all = Vec::new();
    dumps(&testdata(), &mut all);
    assert!(all.len() > 20, "found {} dumps", all.len());
    for path in all {
        let o = run(&["-f", "text", path.to_str().expect("utf8")]);
        let text = stdout(&o);
        // The verdict lines, above the line naming the input, stay whole for `head -n 1`.
        let verdicts = text
            .lines()
            .position(|l| l.starts_with(path.to_str().unwrap_or("")))
            .unwrap_or(1);
        for line in text.lines().skip(verdicts) {
            let command = ["ast-locks ", "gdb ", "asterisk "]
                .iter()
                .any(|c| line.trim_start().starts_with(c));
            assert!(
                line.chars().count() <= 100 || command,
                "{}: {} columns: {line}",
                path.display(),
                line.chars().count()
            );
        }
    }
}

#[test]
fn a_narrower_width_wraps_without_losing_a_word() {
    let whole = stdout(&run(&["-f", "text", "--width", "0", &data(ABBA)]));
    let narrow = stdout(&run(&["-f", "text", "--width", "60", &data(ABBA)]));
    assert!(whole.lines().any(|l| l.len() > 100), "{whole}");
    for line in narrow.lines() {
        let command = line.trim_start().starts_with("ast-locks ");
        assert!(line.chars().count() <= 60 || command, "{line}");
    }
    let words = |s: &str| s.split_whitespace().collect::<String>();
    assert_eq!(words(&whole), words(&narrow));
}

#[test]
fn a_deadlock_ends_with_the_code_sites_in_opposite_order_and_what_to_attach() {
    let t = stdout(&run(&["-f", "text", "--width", "0", &data(ABBA)]));
    assert!(
        t.contains("  Next: The locks are taken in opposite orders here"),
        "{t}"
    );
    assert!(
        t.contains("    thread 0x7f67a15356c0 (LWP 32380, s1_thread_a): took &s1_mutex_a 0x7f67a50f1100 at res_deadlock_demo.c:63 s1_thread_a(), then asks for &s1_mutex_b 0x7f67a50f1140 at res_deadlock_demo.c:67 s1_thread_a()"),
        "{t}"
    );
    assert!(
        t.contains("    thread 0x7f67a14b86c0 (LWP 32381, s1_thread_b): took &s1_mutex_b 0x7f67a50f1140 at res_deadlock_demo.c:76 s1_thread_b(), then asks for &s1_mutex_a 0x7f67a50f1100 at res_deadlock_demo.c:80 s1_thread_b()"),
        "{t}"
    );
    assert!(
        t.contains("  Next: For a ticket, attach the dump as a file"),
        "{t}"
    );
    assert!(
        t.contains("    ast-locks capture --pid $(pidof asterisk) --save-to evidence/"),
        "{t}"
    );
    for format in ["markdown", "html"] {
        let out = stdout(&run(&["-f", format, &data(ABBA)]));
        assert!(out.contains("Next:"), "{format}: {out}");
        assert!(
            out.contains("res_deadlock_demo.c:63 s1_thread_a()"),
            "{format}"
        );
    }
}

#[test]
fn a_stalled_holder_says_how_to_get_its_backtrace() {
    let t = stdout(&run(&["-f", "text", "--width", "0", &data(CONVOY)]));
    assert!(
        t.contains("  Next: Get the backtrace of thread 0x7fdcc89356c0 (LWP 2823, s4_holder)"),
        "{t}"
    );
    assert!(
        t.contains("    ast-locks capture --pid $(pidof asterisk)"),
        "{t}"
    );
    let md = stdout(&run(&["-f", "markdown", &data(CONVOY)]));
    assert!(md.contains("**Next:** Get the backtrace of"), "{md}");
}

#[test]
fn markdown_and_html_deadlock_tables_say_where_each_lock_was_taken_and_for_how_long() {
    let md = stdout(&run(&["-f", "markdown", &data(ABBA)]));
    assert!(
        md.contains(
            "| thread | holds | taken at | held for | waits for | held by | where it waits |"
        ),
        "{md}"
    );
    assert!(
        md.contains("| `res_deadlock_demo.c:63 s1_thread_a()` | 00:00:02.989754 |"),
        "{md}"
    );
    let html = stdout(&run(&["-f", "html", &data(ABBA)]));
    assert!(
        html.contains("<th>taken at</th><th>held for</th>"),
        "{html}"
    );
    assert!(html.contains("<td>00:00:02.989754</td>"), "{html}");
}

#[test]
fn the_html_of_a_big_dump_puts_the_deadlocks_first_and_folds_the_threads_in_no_wait() {
    let spec = ast_locks_synth::Spec {
        threads: 5000,
        cycles: vec![2, 3],
        convoys: vec![6],
        seed: 7,
    };
    let dir = std::env::temp_dir().join(format!("ast-locks-reports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("synthetic-5000.txt");
    std::fs::write(
        &path,
        ast_locks_synth::dump(&spec, ast_locks_model::Generation::V21Plus),
    )
    .expect("write dump");
    let o = run(&["-f", "html", path.to_str().expect("utf8")]);
    let _ = std::fs::remove_dir_all(&dir);
    let html = stdout(&o);
    // One row per thread and every backtrace came to about 10 MB for this dump.
    assert!(html.len() < 1_000_000, "{} bytes", html.len());
    let at = |needle: &str| html.find(needle).unwrap_or(usize::MAX);
    assert!(at("<h2>Deadlock 1: ") < at("<h2>Waits-for graph</h2>"));
    assert!(at("<h2>Deadlock 2: ") < at("<h2>Waits-for graph</h2>"));
    assert!(html.contains(" threads like "), "identical threads fold");
    assert!(
        html.contains("the other "),
        "the backtraces say what they leave out"
    );
    // The involved threads lead the thread table: the first row is a deadlock's.
    let table = &html[at("<table id=\"threads\">")..];
    let first_row = table.split("<tr data-key=").nth(1).unwrap_or("");
    assert!(first_row.contains("class=\"hot\""), "{first_row}");
}

#[test]
fn json_written_as_it_is_made_is_the_same_to_a_file_and_leaves_no_partial_file() {
    let dir = std::env::temp_dir().join(format!("ast-locks-reports-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("report.json");
    let piped = run(&["-f", "json", &data(ABBA)]);
    let to_file = run(&[&data(ABBA), "-o", file.to_str().expect("utf8")]);
    assert_eq!(to_file.status.code(), Some(1));
    assert_eq!(std::fs::read(&file).expect("written"), piped.stdout);
    let left: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["report.json"]);
    // A folder that does not exist: an error naming the file, nothing written.
    let missing = dir.join("no-such-folder").join("report.json");
    let o = run(&[&data(ABBA), "-o", missing.to_str().expect("utf8")]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no-such-folder/report.json: cannot write"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_lock_order_cycle_ends_with_what_to_change() {
    let path = data("series/lock-order-inversion.txt");
    let t = stdout(&run(&["-f", "text", "--width", "0", &path]));
    assert!(
        t.contains("  Next: These code paths take the same locks in opposite orders"),
        "{t}"
    );
    for format in ["markdown", "html"] {
        let out = stdout(&run(&["-f", format, &path]));
        assert!(
            out.contains("These code paths take the same locks in opposite orders"),
            "{format}"
        );
    }
}
