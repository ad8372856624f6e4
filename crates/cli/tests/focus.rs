//! Big dumps: the picture shows what matters by default, and the focus options
//! choose another part of it.

use std::path::PathBuf;
use std::process::{Command, Output};

/// 1,000 threads: a 2-cycle, a 3-cycle, a convoy of 6 behind one holder; the other
/// 988 threads hold locks nobody waits for.
fn big_dump(test: &str) -> Dump {
    let spec = ast_locks_synth::Spec {
        threads: 1000,
        cycles: vec![2, 3],
        convoys: vec![6],
        seed: 7,
    };
    // One folder per test: the tests of this file run in parallel.
    let dir = std::env::temp_dir().join(format!("ast-locks-focus-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("synthetic-1000.txt");
    std::fs::write(
        &path,
        ast_locks_synth::dump(&spec, ast_locks_model::Generation::V21Plus),
    )
    .expect("write dump");
    Dump { dir, path }
}

/// A dump file in a folder of its own, removed when the test is done.
struct Dump {
    dir: PathBuf,
    path: PathBuf,
}

impl std::ops::Deref for Dump {
    type Target = PathBuf;
    fn deref(&self) -> &PathBuf {
        &self.path
    }
}

impl Drop for Dump {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ast-locks"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn count(haystack: &[u8], needle: &str) -> usize {
    String::from_utf8_lossy(haystack).matches(needle).count()
}

#[test]
fn default_picture_of_a_1000_thread_dump_shows_only_the_relevant_threads() {
    let path = big_dump("default");
    let p = path.to_str().expect("utf8");
    let o = run(&["-f", "svg", p]);
    assert_eq!(o.status.code(), Some(1));
    // 5 deadlocked threads + 6 waiters + 1 holder.
    assert_eq!(count(&o.stdout, "class=\"node thread"), 12);
    assert_eq!(count(&o.stdout, "class=\"node thread hot\""), 5);
    assert!(count(&o.stdout, "DEADLOCK: 2 cycles (5 threads)") == 1);
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("988 threads not involved in any wait not drawn"));
    let dot = run(&["-f", "dot", p]);
    assert_eq!(
        count(
            &dot.stdout,
            "color=red fontcolor=red penwidth=2 style=bold]"
        ),
        5 + 5
    );
}

#[test]
fn all_draws_every_thread_and_max_nodes_caps_and_says_so() {
    let path = big_dump("all");
    let p = path.to_str().expect("utf8");
    let all = run(&["-f", "dot", "--all", p]);
    assert_eq!(count(&all.stdout, "[label=\"0x7f1"), 1000);
    let capped = run(&["-f", "dot", "--max-nodes", "4", p]);
    let out = String::from_utf8_lossy(&capped.stdout);
    assert_eq!(count(&capped.stdout, "[label=\"0x7f1"), 4);
    assert!(
        out.contains("[8 more threads not drawn: --max-nodes]"),
        "{out}"
    );
    // Deadlocked threads are kept first: 4 of the 5, with the 3 edges among them.
    assert_eq!(
        count(
            &capped.stdout,
            "color=red fontcolor=red penwidth=2 style=bold]"
        ),
        4 + 3
    );
    assert!(String::from_utf8_lossy(&capped.stderr)
        .contains("8 threads left out of the picture by --max-nodes 4"));
}

#[test]
fn focus_on_a_thread_draws_its_neighbourhood() {
    let path = big_dump("focus");
    let p = path.to_str().expect("utf8");
    let json = String::from_utf8_lossy(&run(&["-f", "json", p]).stdout).into_owned();
    // The first thread of the 3-cycle.
    let start = json.find("\"shortest_cycle\"").expect("deadlocks");
    let second = json[start + 1..]
        .find("\"shortest_cycle\"")
        .expect("two deadlocks")
        + start
        + 1;
    let id_start = json[second..].find("\"0x").expect("id") + second + 1;
    let id = &json[id_start..id_start + json[id_start..].find('"').expect("end")];
    let o = run(&["-f", "dot", "--focus", id, p]);
    let nodes = count(&o.stdout, "[label=\"0x7f1");
    assert_eq!(nodes, 3, "{}", String::from_utf8_lossy(&o.stdout));
    // A glob on thread names.
    let o = run(&["-f", "dot", "--all", "--focus", "netconsole*", p]);
    assert!(count(&o.stdout, "netconsole") >= 300);
}

#[test]
fn locks_view_draws_lock_nodes_between_threads() {
    let path = big_dump("locks");
    let p = path.to_str().expect("utf8");
    let o = run(&["-f", "dot", "--view", "locks", p]);
    let out = String::from_utf8_lossy(&o.stdout);
    // 2 + 3 cycle locks and the convoy's lock.
    assert_eq!(out.matches("shape=ellipse").count(), 6, "{out}");
    assert!(out.contains("waits (MUTEX)") && out.contains("held by (MUTEX)"));
}

#[test]
fn focus_on_a_lock_address_draws_its_holders_and_waiters() {
    let dump = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/handmade/v12-two-cycle.txt");
    let p = dump.to_str().expect("utf8");
    // &bridge->lock: held by the bridge manager and awaited by the pbx thread; the
    // netconsole thread waits directly on the pbx thread (for chan), so it is drawn too.
    let o = run(&["-f", "dot", "--focus", "0x7f3a0801d320", p]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(count(&o.stdout, "[label=\"0x7f3a"), 3, "{out}");
    // A glob that matches nothing draws no thread.
    let o = run(&["-f", "dot", "--focus", "&nothing*", p]);
    assert_eq!(count(&o.stdout, "[label=\"0x7f3a"), 0);
}

#[test]
fn the_builtin_picture_of_every_thread_of_a_big_dump_refuses_and_names_the_alternatives() {
    let spec = ast_locks_synth::Spec {
        threads: 2000,
        cycles: vec![2],
        convoys: vec![],
        seed: 7,
    };
    let dir = std::env::temp_dir().join(format!("ast-locks-focus-{}-all", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("synthetic-2000.txt");
    std::fs::write(
        &path,
        ast_locks_synth::dump(&spec, ast_locks_model::Generation::V21Plus),
    )
    .expect("write dump");
    let o = Command::new(env!("CARGO_BIN_EXE_ast-locks"))
        .args(["-f", "svg", "--all", path.to_str().expect("utf8")])
        .output()
        .expect("run");
    let drawn = Command::new(env!("CARGO_BIN_EXE_ast-locks"))
        .args(["-f", "svg", path.to_str().expect("utf8")])
        .output()
        .expect("run");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    for alternative in [
        "--renderer graphviz",
        "--focus",
        "--max-nodes",
        "leave out `--all`",
    ] {
        assert!(err.contains(alternative), "{err}");
    }
    assert!(err.contains("2000 nodes"), "{err}");
    // Without --all the threads that matter are drawn as before.
    assert_eq!(drawn.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&drawn.stdout).contains("<svg"));
}
