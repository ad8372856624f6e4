//! `ast-locks watch` against stand-in `asterisk` programs on PATH that replay
//! real dumps (calm, contention, the same deadlock twice), answer "No such
//! command" and then hang, or fail; and, with `--backtraces`, against the
//! deadlocking C test program through real gdb.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A folder of its own for a test, removed at the end.
struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn dir(test: &str) -> Dir {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("watch-{test}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    Dir(d)
}

/// The stand-in: `asterisk -rx CMD` answers from files in its folder:
/// `core show locks` the next file named in `seq` (the last again once the
/// list is used up; `fail` fails, `none` answers No such command);
/// `core show uptime` from `uptime` (`hang` sleeps).
const STANDIN: &str = r#"#!/bin/bash
d=$(dirname "$0")
case "$2" in
  "core show locks")
    n=$(( $(cat "$d/n" 2>/dev/null || echo 0) + 1 )); echo $n > "$d/n"
    f=$(sed -n "${n}p" "$d/seq"); [ -n "$f" ] || f=$(tail -n 1 "$d/seq")
    case "$f" in
      fail) echo "Unable to connect to remote asterisk (does /var/run/asterisk/asterisk.ctl exist?)" >&2; exit 1;;
      none) echo "No such command 'core show locks' (type 'core show help core show' for other possible commands)"; exit 0;;
      *) cat "$d/$f";;
    esac;;
  "core show uptime")
    n=$(( $(cat "$d/u" 2>/dev/null || echo 0) + 1 )); echo $n > "$d/u"
    f=$(sed -n "${n}p" "$d/uptime"); [ -n "$f" ] || f=$(tail -n 1 "$d/uptime")
    case "$f" in
      hang) sleep 30;;
      *) echo "System uptime: 2 hours, 3 minutes";;
    esac;;
  *) echo "No such command '$2'"; exit 1;;
esac
"#;

fn standin(d: &Path, seq: &[&str], uptime: &[&str]) {
    let script = d.join("asterisk");
    std::fs::write(&script, STANDIN).expect("write stand-in");
    let chmod = Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .expect("chmod");
    assert!(chmod.success());
    std::fs::write(d.join("seq"), seq.join("\n") + "\n").unwrap();
    std::fs::write(d.join("uptime"), uptime.join("\n") + "\n").unwrap();
    std::fs::copy(
        root().join("testdata/asterisk-22.0.0-s1-abba/core-show-locks.txt"),
        d.join("abba.txt"),
    )
    .unwrap();
    std::fs::copy(
        root().join("testdata/asterisk-18.0.0-s4-convoy/core-show-locks.txt"),
        d.join("convoy.txt"),
    )
    .unwrap();
    let spec = ast_locks_synth::Spec {
        threads: 20,
        cycles: Vec::new(),
        convoys: Vec::new(),
        seed: 1,
    };
    std::fs::write(
        d.join("calm.txt"),
        ast_locks_synth::dump(&spec, ast_locks_model::Generation::V21Plus),
    )
    .unwrap();
}

fn watch_command(d: &Path, args: &[&str]) -> Command {
    let path = format!(
        "{}:{}",
        d.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new(env!("CARGO_BIN_EXE_ast-locks"));
    c.current_dir(d)
        .env("PATH", path)
        .arg("watch")
        .args(["--every", "100ms"])
        .args(args);
    c
}

/// Run to its end, which must come within 30 s.
fn watch(d: &Path, args: &[&str]) -> Output {
    let mut child = watch_command(d, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("watch did not end");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn incident_folders(d: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

#[test]
fn the_same_deadlock_twice_is_a_confirmed_freeze_with_its_evidence_kept() {
    let d = dir("confirmed");
    standin(
        &d.0,
        &["calm.txt", "convoy.txt", "abba.txt", "abba.txt"],
        &["ok"],
    );
    let o = watch(&d.0, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let folders = incident_folders(&d.0);
    assert_eq!(folders.len(), 1, "{folders:?}");
    let f = &folders[0];
    assert!(
        f.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("ast-locks-incident-2"),
        "{f:?}"
    );
    for name in [
        "snapshot-1.txt",
        "snapshot-2.txt",
        "snapshot-3.txt",
        "snapshot-4.txt",
        "verdict.txt",
        "report.txt",
        "report.md",
        "report.html",
        "report.json",
    ] {
        assert!(f.join(name).is_file(), "{name} missing in {f:?}");
    }
    assert!(!f.join("snapshot-5.txt").exists());
    // The snapshots as captured.
    assert_eq!(
        std::fs::read(f.join("snapshot-3.txt")).unwrap(),
        std::fs::read(d.0.join("abba.txt")).unwrap()
    );
    let verdict = std::fs::read_to_string(f.join("verdict.txt")).unwrap();
    assert!(
        verdict.starts_with("FREEZE CONFIRMED: the same deadlock in both snapshots"),
        "{verdict}"
    );
    let report = std::fs::read_to_string(f.join("report.txt")).unwrap();
    assert!(
        report.contains("s1_thread_a") && report.contains("&s1_mutex_b"),
        "{report}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(f.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["deadlocks"].as_array().unwrap().len(), 1);
    // One status line per calm poll, then the verdict and where the evidence is.
    assert_eq!(err.matches(" waiting: ").count(), 3, "{err}");
    assert!(err.contains("FREEZE CONFIRMED"), "{err}");
    assert!(
        err.contains(&format!(
            "the evidence is in {}",
            f.file_name().unwrap().to_str().unwrap()
        )),
        "{err}"
    );
}

#[test]
fn a_deadlock_seen_once_is_no_incident_and_a_signal_ends_the_watch_cleanly() {
    let d = dir("once");
    standin(&d.0, &["calm.txt", "abba.txt", "calm.txt"], &["ok"]);
    let mut child = watch_command(&d.0, &["--quiet"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    std::thread::sleep(Duration::from_millis(1500));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "SIGTERM did not end it"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    assert!(
        incident_folders(&d.0).is_empty(),
        "calm polls wrote to disk"
    );
    let polls: u32 = std::fs::read_to_string(d.0.join("n"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(polls >= 5, "only {polls} polls in 1.5 s at --every 100ms");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.is_empty(), "--quiet printed: {err}");
}

#[test]
fn without_debug_threads_a_cli_that_stops_answering_is_the_freeze() {
    let d = dir("liveness");
    standin(&d.0, &["none"], &["ok", "ok", "hang"]);
    let out = d.0.join("evidence");
    let o = watch(
        &d.0,
        &[
            "--timeout",
            "300ms",
            "--out",
            out.to_str().unwrap(),
            "--exec",
            "echo \"$AST_LOCKS_VERDICT\" > \"$AST_LOCKS_INCIDENT/exec.txt\"",
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(
        err.matches("built without DEBUG_THREADS").count(),
        1,
        "said once: {err}"
    );
    assert!(
        err.contains("alive: `asterisk -rx 'core show uptime'` answered"),
        "{err}"
    );
    let verdict = std::fs::read_to_string(out.join("verdict.txt")).unwrap();
    assert!(
        verdict.starts_with("FREEZE CONFIRMED: the Asterisk CLI did not answer 2 times in a row"),
        "{verdict}"
    );
    assert_eq!(
        verdict.lines().count(),
        3,
        "the two probes that hung: {verdict}"
    );
    let exec = std::fs::read_to_string(out.join("exec.txt")).unwrap();
    assert!(
        exec.starts_with("FREEZE CONFIRMED"),
        "--exec ran with the verdict: {exec}"
    );
}

#[test]
fn a_failing_command_is_fatal_at_the_first_poll_and_retried_later() {
    let d = dir("fails");
    standin(&d.0, &["fail"], &["ok"]);
    let o = watch(&d.0, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("`asterisk -rx 'core show locks'` failed (status 1): Unable to connect to remote asterisk"), "{err}");
    let d = dir("fails-later");
    standin(&d.0, &["calm.txt", "fail", "abba.txt", "abba.txt"], &["ok"]);
    let o = watch(&d.0, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("Unable to connect to remote asterisk (does /var/run/asterisk/asterisk.ctl exist?); trying again"), "{err}");
    assert_eq!(incident_folders(&d.0).len(), 1);
}

#[test]
fn backtraces_are_taken_from_the_frozen_process_with_gdb() {
    for tool in ["gdb", "cc"] {
        let ok = Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "`{tool}` is needed for this test (scripts/test installs it)"
        );
    }
    let d = dir("backtraces");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/locks_demo.c");
    let binary = d.0.join("locks_demo");
    let built = Command::new("cc")
        .args(["-g", "-O0", "-pthread", "-o"])
        .arg(&binary)
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let mut demo = Command::new(&binary)
        .stdout(Stdio::piped())
        .spawn()
        .expect("demo starts");
    let mut line = String::new();
    BufReader::new(demo.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("ready"), "{line}");
    standin(&d.0, &["none"], &["hang"]);
    let pid = demo.id().to_string();
    let out = d.0.join("evidence");
    let o = watch(
        &d.0,
        &[
            "--timeout",
            "200ms",
            "--backtraces",
            "--pid",
            &pid,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let _ = demo.kill();
    let _ = demo.wait();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("attaching gdb to process {pid}")),
        "{err}"
    );
    let bt = std::fs::read_to_string(out.join("backtraces.txt")).unwrap();
    assert!(
        bt.contains("pthread_mutex_lock") || bt.contains("lock_wait"),
        "{bt}"
    );
    assert!(out.join("owners.txt").is_file());
    let report = std::fs::read_to_string(out.join("report.txt")).unwrap();
    assert!(
        report.starts_with("DEADLOCK: 1 cycle (2 threads)"),
        "{report}"
    );
}

#[test]
fn a_holder_that_keeps_an_awaited_lock_for_stall_after_is_a_likely_freeze() {
    let d = dir("likely");
    standin(&d.0, &["convoy.txt"], &["ok"]);
    let out = d.0.join("evidence");
    let o = watch(
        &d.0,
        &[
            "--stall-after",
            "300ms",
            "--confirm",
            "4",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let verdict = std::fs::read_to_string(out.join("verdict.txt")).unwrap();
    assert!(verdict.starts_with("FREEZE LIKELY:"), "{verdict}");
    assert!(
        verdict.contains("s4_holder") || verdict.contains("2823"),
        "{verdict}"
    );
    // Contention that does not last is no incident: two polls are not 300 ms.
    let d = dir("contention");
    standin(&d.0, &["convoy.txt", "convoy.txt", "calm.txt"], &["ok"]);
    let mut child = watch_command(&d.0, &["--stall-after", "10s"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert!(incident_folders(&d.0).is_empty());
}
