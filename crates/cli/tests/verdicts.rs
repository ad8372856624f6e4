//! The verdict agrees with the evidence, everywhere: on every test dump (and
//! under both rwlock policies) the exit status, the JSON `verdict_kind`, the
//! text headline and the counts of the body say the same thing; an input that
//! cannot decide is UNDETERMINED with exit status 3, never an all-clear.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ast-locks"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("binary runs")
}

fn run_stdin(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ast-locks"))
        .current_dir(root())
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("binary runs");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input).expect("write");
    drop(stdin);
    child.wait_with_output().expect("runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every dump of testdata/ that is a report's input on its own.
fn dumps() -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![root().join("testdata")];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).expect("testdata") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                if !p.ends_with("golden") && !p.ends_with("refs") {
                    dirs.push(p);
                }
                continue;
            }
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let bytes = std::fs::read(&p).expect("read");
            let readable = p.extension().is_some_and(|x| x == "txt")
                && !matches!(
                    ast_locks_parse::detect(&bytes),
                    Some(ast_locks_parse::InputKind::Owners) | None
                )
                && name != "ast_coredumper-locks.txt";
            if readable {
                let rel = p.strip_prefix(root()).expect("under root");
                out.push(rel.display().to_string());
            }
        }
    }
    out.sort();
    assert!(out.len() >= 30, "{out:?}");
    out
}

/// `3 threads` → 3 (the number before `word`).
fn number_before(text: &str, word: &str) -> Option<usize> {
    let at = text.find(word)?;
    text[..at]
        .split_whitespace()
        .last()?
        .trim_start_matches('(')
        .parse()
        .ok()
}

#[test]
fn verdict_exit_status_json_and_text_agree_on_every_test_dump() {
    for dump in dumps() {
        for policy in ["reader-preferring", "writer-preferring"] {
            let what = format!("{dump} ({policy})");
            let json_out = run(&["-f", "json", "--rwlock-policy", policy, &dump]);
            let j: Value =
                serde_json::from_slice(&json_out.stdout).unwrap_or_else(|e| panic!("{what}: {e}"));
            let text_out = run(&[
                "-f",
                "text",
                "--width",
                "0",
                "--color",
                "never",
                "--rwlock-policy",
                policy,
                &dump,
            ]);
            let text = stdout(&text_out);
            let kind = j["verdict_kind"].as_str().expect("verdict_kind");
            let deadlocks = j["deadlocks"].as_array().expect("deadlocks");
            let gaps = j["undetermined"].as_array().expect("undetermined");
            let blocked = j["blocked"].as_array().expect("blocked");

            // The three verdicts and their exit status.
            let want_code = match kind {
                "deadlock" => 1,
                "no-deadlock" => 0,
                "undetermined" => 3,
                other => panic!("{what}: verdict_kind {other}"),
            };
            assert_eq!(json_out.status.code(), Some(want_code), "{what}");
            assert_eq!(text_out.status.code(), Some(want_code), "{what}");
            assert_eq!(kind == "deadlock", !deadlocks.is_empty(), "{what}");
            assert_eq!(kind == "undetermined", !gaps.is_empty(), "{what}");

            // The headline is the JSON verdict, first unless a series line comes first.
            let verdict = j["verdict"].as_str().expect("verdict");
            let lines: Vec<&str> = text.lines().collect();
            let at = lines
                .iter()
                .position(|l| *l == verdict)
                .unwrap_or_else(|| panic!("{what}: headline `{verdict}` not in\n{text}"));
            assert!(at <= 1, "{what}: the verdict is line {}\n{text}", at + 1);
            if kind == "undetermined" {
                assert_eq!(at, 0, "{what}: UNDETERMINED comes first\n{text}");
                assert!(verdict.starts_with("UNDETERMINED: "), "{what}");
                assert!(text.contains("\nTo decide:\n"), "{what}\n{text}");
            }

            // Counts: the headline's against the body's and the JSON's.
            let behind_deadlock = blocked
                .iter()
                .filter(|b| b["root"].get("deadlock").is_some())
                .count();
            if kind == "deadlock" {
                let members: usize = deadlocks
                    .iter()
                    .map(|d| d["threads"].as_array().map_or(0, Vec::len))
                    .sum();
                assert_eq!(
                    number_before(verdict, "cycle"),
                    Some(deadlocks.len()),
                    "{what}: {verdict}"
                );
                assert_eq!(
                    number_before(verdict, "thread"),
                    Some(members),
                    "{what}: {verdict}"
                );
                // `DEADLOCK: 1 cycle (2 threads), 1 more thread stuck behind it, 4 threads waiting elsewhere`
                let part = |tail: &str| {
                    verdict
                        .split(", ")
                        .find(|p| p.ends_with(tail))
                        .and_then(|p| p.split_whitespace().next()?.parse::<usize>().ok())
                        .unwrap_or(0)
                };
                assert_eq!(
                    part("stuck behind it"),
                    behind_deadlock,
                    "{what}: {verdict}"
                );
                assert_eq!(
                    part("waiting elsewhere"),
                    blocked.len() - behind_deadlock,
                    "{what}: {verdict}"
                );
                let sections: usize = lines
                    .iter()
                    .filter(|l| l.starts_with("Deadlock "))
                    .filter_map(|l| number_before(l, "thread"))
                    .sum();
                assert_eq!(sections, members, "{what}\n{text}");
            } else {
                assert!(!text.contains("are deadlocked"), "{what}\n{text}");
                assert!(
                    !lines.iter().any(|l| l.starts_with("Deadlock ")),
                    "{what}\n{text}"
                );
            }
            if let Some(rest) = verdict.strip_prefix("no cycle: ") {
                if rest.starts_with("no thread waits") {
                    assert!(blocked.is_empty(), "{what}");
                } else {
                    assert_eq!(
                        number_before(rest, "thread"),
                        Some(blocked.len()),
                        "{what}: {verdict}"
                    );
                }
            }
            // The blocked section lists as many threads as the JSON.
            let listed: usize = lines
                .iter()
                .filter(|l| l.starts_with("  ") && !l.starts_with("   ") && l.contains(" behind "))
                .filter_map(|l| number_before(l, "thread"))
                .sum();
            assert_eq!(listed, blocked.len(), "{what}\n{text}");
            // The counts line: waiting threads are the deadlocked and the blocked.
            let waiting = j["threads"]
                .as_array()
                .expect("threads")
                .iter()
                .filter(|t| !t["waits_for"].is_null())
                .count();
            let counts = lines
                .iter()
                .find(|l| {
                    l.contains(" waiting") && l.contains(" threads, ") || l.contains(" thread, ")
                })
                .expect("counts line");
            assert_eq!(
                number_before(counts, "waiting"),
                Some(waiting),
                "{what}: {counts}"
            );
        }
    }
}

/// GNU fold's cut, as in the reproduction (`fold -s -w 100`).
fn fold(text: &str, width: usize, spaces: bool) -> Vec<u8> {
    let mut cmd = Command::new("fold");
    cmd.arg("-w").arg(width.to_string());
    if spaces {
        cmd.arg("-s");
    }
    let o = {
        use std::io::Write;
        let mut child = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("fold (coreutils) runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write");
        child.wait_with_output().expect("fold")
    };
    o.stdout
}

#[test]
fn a_dump_wrapped_by_mail_or_jira_is_still_the_deadlock() {
    let abba = std::fs::read_to_string(
        root().join("testdata/asterisk-22.0.0-s1-abba/core-show-locks.txt"),
    )
    .expect("sample");
    let two_cycle = std::fs::read_to_string(root().join("testdata/handmade/v12-two-cycle.txt"))
        .expect("sample");
    for (text, width, spaces) in [
        (&two_cycle, 100, true),
        (&abba, 72, false),
        (&abba, 72, true),
        (&abba, 80, false),
        (&abba, 80, true),
        (&abba, 40, true),
    ] {
        let o = run_stdin(&["-f", "text", "--width", "0"], &fold(text, width, spaces));
        let t = stdout(&o);
        assert_eq!(o.status.code(), Some(1), "{width} {spaces}\n{t}");
        assert!(
            t.starts_with("DEADLOCK: 1 cycle (2 threads)"),
            "{width} {spaces}\n{t}"
        );
        assert!(t.contains("the dump was wrapped (at about"), "{t}");
    }
}

#[test]
fn lock_lines_that_cannot_be_read_make_the_verdict_undetermined() {
    let abba =
        std::fs::read_to_string(root().join("testdata/handmade/v21-convoy-stalled-holder.txt"))
            .expect("sample");
    // A lock line damaged beyond repair: its type is gone.
    let damaged = abba.replacen(
        "): MUTEX 935 ast_channel_callback",
        "): 935 ast_channel_callback",
        1,
    );
    assert_ne!(damaged, abba);
    let o = run_stdin(&["-f", "json"], damaged.as_bytes());
    assert_eq!(o.status.code(), Some(3));
    let j: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(j["verdict_kind"], "undetermined");
    assert_eq!(j["undetermined"][0]["kind"], "unreadable-lines");
    assert!(
        j["verdict"].as_str().is_some_and(
            |v| v.starts_with("UNDETERMINED: 1 lock line could not be read (first at line")
        ),
        "{j}"
    );
}

#[test]
fn backtraces_without_owners_are_undetermined_and_fail_on_deadlock_does_not_pass() {
    // ast_coredumper's brief file of the ABBA sample: two threads wait, owners unknown.
    let brief = "testdata/asterisk-22.0.0-s1-abba/ast_coredumper-brief.txt";
    let o = run(&["-f", "text", "--width", "0", "--fail-on", "deadlock", brief]);
    assert_eq!(o.status.code(), Some(3));
    let first = stdout(&o).lines().next().unwrap_or("").to_string();
    assert!(
        first.starts_with("UNDETERMINED: 2 threads wait for mutexes whose owners are not in the input — run `ast-locks gdb-commands "),
        "{first}"
    );
    // With the owners the same backtraces decide.
    let o = run(&[
        "-f",
        "json",
        brief,
        "--owners",
        "testdata/asterisk-22.0.0-s1-abba/gdb-mutex-x3dw.txt",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let j: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(j["verdict_kind"], "deadlock");
}

#[test]
fn an_orphaned_lock_in_a_whole_dump_stays_determined() {
    // Two threads wait for `a->c`, which no listed thread holds; the dump is whole.
    let o = run(&[
        "-f",
        "json",
        "testdata/asterisk-1.8-testsuite/locks-fail.txt",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let j: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(j["verdict_kind"], "no-deadlock");
    // The same threads as an excerpt (no banner, no closing line) cannot decide.
    let o = run(&[
        "-f",
        "json",
        "testdata/asterisk-1.8-testsuite/locks-large-multiple-object.txt",
    ]);
    assert_eq!(o.status.code(), Some(3));
    let j: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(j["undetermined"][0]["kind"], "cut-short");
}

#[test]
fn owner_look_ups_of_another_process_are_named_on_the_first_screen() {
    let o = run(&[
        "-f",
        "text",
        "--width",
        "0",
        "testdata/asterisk-22.0.0-s1-abba/gdb-thread-apply-all-bt.txt",
        "--owners",
        "testdata/asterisk-18.0.0-s4-convoy/gdb-mutex-x3dw.txt",
    ]);
    assert_eq!(o.status.code(), Some(3));
    let t = stdout(&o);
    let third = t.lines().nth(2).unwrap_or("");
    assert_eq!(
        third,
        "Note: the owner look-up names no lock of the dump: a look-up of another process or core?",
        "{t}"
    );
    // Backtraces of another process attached to a dump.
    let o = run(&[
        "-f",
        "text",
        "--width",
        "0",
        "testdata/asterisk-22.0.0-s1-abba/core-show-locks.txt",
        "testdata/asterisk-18.0.0-s4-convoy/gdb-thread-apply-all-bt.txt",
    ]);
    let t = stdout(&o);
    assert!(
        t.lines()
            .nth(2)
            .is_some_and(|l| l.contains("none of the 28 backtraces matches a thread of the dump")),
        "{t}"
    );
}

#[test]
fn diff_says_which_snapshot_it_compares() {
    let o = run(&[
        "diff",
        "testdata/series/persisting-cycle.txt",
        "testdata/series/transient-cycle.txt",
        "--old-snapshot",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stdout(&o).starts_with("ast-locks diff: testdata/series/persisting-cycle.txt (snapshot 1 of 3) -> testdata/series/transient-cycle.txt (snapshot 3 of 3)\n"),
        "{}",
        stdout(&o)
    );
    let bad = run(&[
        "diff",
        "testdata/series/persisting-cycle.txt",
        "testdata/series/transient-cycle.txt",
        "--new-snapshot",
        "4",
    ]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn a_banner_with_no_thread_is_no_locks_held_even_glued_onto_one_line() {
    let glued = "Here is what it printed:\n\n\
=======================================================================   === 18.20.0   \
=== Currently Held Locks ==============================================   \
=======================================================================   ===   \
=== <pending> <lock#> (<file>): <lock type> <line num> <function> <lock name> <lock addr> (times locked)   \
===   =======================================================================\n\nso nothing is locked?\n";
    let o = run_stdin(&["-f", "text", "--width", "0"], glued.as_bytes());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).starts_with("no deadlock: no locks held (the dump lists no thread)"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn thread_blocks_pasted_between_paragraphs_are_read_without_warnings() {
    let dump = std::fs::read_to_string(
        root().join("testdata/asterisk-22.0.0-s1-abba/core-show-locks.txt"),
    )
    .expect("sample");
    let ticket = format!(
        "We upgraded on Monday.\n\nThe output of core show locks:\n\n{dump}\nThe two threads above never move.\nAny idea?\n"
    );
    let o = run_stdin(&["-f", "json"], ticket.as_bytes());
    assert_eq!(o.status.code(), Some(1));
    let j: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(j["verdict_kind"], "deadlock");
    assert_eq!(
        j["input"]["warnings"].as_array().map(Vec::len),
        Some(0),
        "{j:#}"
    );
}
