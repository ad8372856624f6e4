//! Real captures, made here: a C program of ours (tests/c/locks_demo.c), compiled
//! with the system C compiler, freezes with a 2-cycle, a convoy behind a sleeping
//! holder, and a writer behind a reader. gdb captures it (`thread apply all bt`,
//! `bt full`, owner look-ups, a core) and ast-locks must name the cycle's threads
//! by LWP and name, its locks, the convoy's root holder and the writer's wait.
//! Needs gcc (or cc) and gdb; CI installs gdb.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ast-locks"))
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn tool(name: &str) {
    let ok = Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "`{name}` is needed for the capture tests: apt-get install {name}"
    );
}

/// The running demo program; killed when dropped.
struct Demo {
    child: Child,
    pid: u32,
    binary: PathBuf,
    dir: PathBuf,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_demo(test: &str) -> Demo {
    tool("gdb");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("capture-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/locks_demo.c");
    let binary = dir.join("locks_demo");
    let cc = if Command::new("cc").arg("--version").output().is_ok() {
        "cc"
    } else {
        "gcc"
    };
    let built = Command::new(cc)
        .args(["-g", "-O0", "-pthread", "-o"])
        .arg(&binary)
        .arg(&src)
        .output()
        .expect("a C compiler (cc) is needed for the capture tests");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let mut child = Command::new(&binary)
        .stdout(Stdio::piped())
        .spawn()
        .expect("demo starts");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("demo says ready");
    assert!(line.starts_with("ready"), "{line}");
    let pid = child.id();
    Demo {
        child,
        pid,
        binary,
        dir,
    }
}

/// Thread name → LWPs, from /proc (the kernel's own account).
fn lwps_by_name(pid: u32) -> BTreeMap<String, Vec<u64>> {
    let mut map: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/task")).expect("/proc") {
        let e = e.expect("task");
        let lwp: u64 = e.file_name().to_string_lossy().parse().expect("lwp");
        let comm = std::fs::read_to_string(e.path().join("comm")).expect("comm");
        map.entry(comm.trim().to_string()).or_default().push(lwp);
    }
    for v in map.values_mut() {
        v.sort_unstable();
    }
    map
}

fn gdb(demo: &Demo, args: &[&str]) -> String {
    let o = Command::new("gdb")
        .args(["-batch", "-nx", "-q", "-p", &demo.pid.to_string()])
        .args(args)
        .output()
        .expect("gdb runs");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn thread<'v>(json: &'v Value, id: &str) -> &'v Value {
    json["threads"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["id"] == id))
        .unwrap_or_else(|| panic!("thread {id} in the report"))
}

/// The checks every capture of the demo must pass.
fn check_report(json: &Value, names: &BTreeMap<String, Vec<u64>>, what: &str) {
    let lwp_of = |id: &Value| {
        thread(json, id.as_str().expect("id"))["lwp"]
            .as_u64()
            .expect("lwp")
    };
    // A core file keeps no thread names: then the start routine names the thread
    // (`cycle_a_main` for the thread named `cycle_a`).
    let name_of = |id: &Value| {
        let t = thread(json, id.as_str().expect("id"));
        match t["name"].as_str() {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => t["start_routine"]
                .as_str()
                .and_then(|r| r.strip_suffix("_main"))
                .unwrap_or("")
                .to_string(),
        }
    };
    // The cycle: exactly the two cycle threads, by LWP and name, through both locks.
    let deadlocks = json["deadlocks"].as_array().expect("deadlocks");
    assert_eq!(deadlocks.len(), 1, "{what}: {json:#}");
    let d = &deadlocks[0];
    let mut members: Vec<(u64, String)> = d["threads"]
        .as_array()
        .expect("threads")
        .iter()
        .map(|t| (lwp_of(t), name_of(t)))
        .collect();
    members.sort();
    let want = vec![
        (names["cycle_a"][0], "cycle_a".to_string()),
        (names["cycle_b"][0], "cycle_b".to_string()),
    ];
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(members, want_sorted, "{what}");
    let lock_names: Vec<&str> = d["locks"]
        .as_array()
        .expect("locks")
        .iter()
        .map(|addr| {
            json["locks"]
                .as_array()
                .and_then(|ls| ls.iter().find(|l| l["addr"] == *addr))
                .and_then(|l| l["name"].as_str())
                .expect("lock")
        })
        .collect();
    let mut lock_names = lock_names;
    lock_names.sort_unstable();
    assert_eq!(lock_names, ["&cycle_a_lock", "&cycle_b_lock"], "{what}");

    // The convoy: three waiters whose root is the holder, which is sleeping.
    let holder_lwp = names["convoy_holder"][0];
    let blocked = json["blocked"].as_array().expect("blocked");
    let convoy: Vec<&Value> = blocked
        .iter()
        .filter(|b| names["convoy_waiter"].contains(&lwp_of(&b["thread"])))
        .collect();
    assert_eq!(convoy.len(), 3, "{what}");
    for b in &convoy {
        let root = b["root"]["holder"].as_str().expect("a holder root");
        assert_eq!(
            thread(json, root)["lwp"].as_u64(),
            Some(holder_lwp),
            "{what}"
        );
        assert_eq!(thread(json, root)["activity"]["kind"], "sleep", "{what}");
    }

    // The writer waits to write the rwlock the reader holds.
    let writer_lwp = names["table_writer"][0];
    let writer = json["threads"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["lwp"].as_u64() == Some(writer_lwp)))
        .expect("writer");
    assert_eq!(writer["waits_for"]["kind"], "WRLOCK", "{what}");
    let table = writer["waits_for"]["lock"].as_str().expect("lock");
    let lock = json["locks"]
        .as_array()
        .and_then(|ls| ls.iter().find(|l| l["addr"] == table))
        .expect("table lock");
    assert_eq!(lock["name"], "&table_lock", "{what}");
}

#[test]
fn capture_of_a_live_process_and_of_its_core() {
    let demo = start_demo("live-and-core");
    let names = lwps_by_name(demo.pid);
    let pid = demo.pid.to_string();

    // 1. `capture --pid`, explicit, says that it pauses the process.
    let live = bin()
        .args(["capture", "--pid", &pid, "-f", "json"])
        .output()
        .expect("runs");
    assert_eq!(
        live.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&live.stderr)
    );
    assert!(String::from_utf8_lossy(&live.stderr).contains("paused"));
    let json: Value = serde_json::from_slice(&live.stdout).expect("json");
    assert_eq!(json["input"]["format"], "gdb");
    check_report(&json, &names, "capture --pid");

    // 2. The files people attach: bt, bt full, owners, and a core.
    let bt = gdb(
        &demo,
        &["-ex", "set pagination off", "-ex", "thread apply all bt"],
    );
    let bt_full = gdb(
        &demo,
        &[
            "-ex",
            "set pagination off",
            "-ex",
            "thread apply all bt full",
        ],
    );
    let bt_path = demo.dir.join("bt.txt");
    let full_path = demo.dir.join("bt-full.txt");
    std::fs::write(&bt_path, &bt).expect("write");
    std::fs::write(&full_path, &bt_full).expect("write");
    let cmds = bin()
        .args(["gdb-commands"])
        .arg(&bt_path)
        .output()
        .expect("runs");
    assert!(cmds.status.success());
    let cmds_path = demo.dir.join("owners.gdb");
    std::fs::write(&cmds_path, &cmds.stdout).expect("write");
    let owners = gdb(&demo, &["-x", cmds_path.to_str().expect("utf8")]);
    let owners_path = demo.dir.join("owners.txt");
    std::fs::write(&owners_path, &owners).expect("write");
    let core = demo.dir.join("demo.core");
    gdb(&demo, &["-ex", &format!("gcore {}", core.display())]);
    assert!(core.is_file(), "gcore wrote the core");
    let binary = demo.binary.clone();
    drop(demo);

    // 3. A bt alone: lock-address groups and the gdb commands to resolve owners.
    let alone = bin()
        .args(["-f", "text"])
        .arg(&bt_path)
        .output()
        .expect("runs");
    let text = out(&alone);
    // Without the owners the backtraces cannot decide.
    assert_eq!(alone.status.code(), Some(3), "{text}");
    assert!(
        text.starts_with(
            "UNDETERMINED: 6 threads wait for locks whose owners are not in the input"
        ),
        "{text}"
    );
    assert!(text.contains("3 threads wait for &convoy_lock"), "{text}");
    assert!(text.contains("behind an owner not yet looked up"), "{text}");
    assert!(text.contains("ast-locks gdb-commands"), "{text}");
    let c = String::from_utf8_lossy(&cmds.stdout);
    for lock in ["x/3dw", "p *(pthread_rwlock_t *)"] {
        assert!(c.contains(lock), "{c}");
    }

    // 4. The saved bt / bt full plus owners: the same findings.
    for (what, file) in [("bt + owners", &bt_path), ("bt full + owners", &full_path)] {
        let o = bin()
            .args(["-f", "json"])
            .arg(file)
            .arg("--owners")
            .arg(&owners_path)
            .output()
            .expect("runs");
        assert_eq!(o.status.code(), Some(1), "{what}");
        let json: Value = serde_json::from_slice(&o.stdout).expect("json");
        check_report(&json, &names, what);
    }

    // 5. `capture --core --binary`, no manual step: text, json and dot.
    let core_json = bin()
        .args(["capture", "--core"])
        .arg(&core)
        .arg("--binary")
        .arg(&binary)
        .args(["-f", "json"])
        .output()
        .expect("runs");
    assert_eq!(
        core_json.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&core_json.stderr)
    );
    let json: Value = serde_json::from_slice(&core_json.stdout).expect("json");
    check_report(&json, &names, "capture --core");
    let core_text = bin()
        .args(["capture", "--core"])
        .arg(&core)
        .arg("--binary")
        .arg(&binary)
        .args(["-f", "text"])
        .output()
        .expect("runs");
    let text = out(&core_text);
    for lwp in [names["cycle_a"][0], names["cycle_b"][0]] {
        assert!(text.contains(&format!("LWP {lwp}")), "{text}");
    }
    assert!(text.contains("locks_demo.c:"), "source lines: {text}");
    assert!(
        text.contains("&cycle_a_lock") && text.contains("&cycle_b_lock"),
        "{text}"
    );
    // 6. The wrong program for the core: gdb's warning is shown and no frame has
    // a symbol, which is an error naming the likely cause, never an all-clear.
    let wrong = bin()
        .args(["capture", "--core"])
        .arg(&core)
        .args(["--binary", "/bin/ls", "-f", "text"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert_eq!(wrong.status.code(), Some(2), "{err}\n{}", out(&wrong));
    assert!(
        err.contains("gdb said: warning: core file may not match specified executable file"),
        "{err}"
    );
    assert!(
        err.contains("/bin/ls is not the program that wrote"),
        "{err}"
    );
    assert!(out(&wrong).is_empty(), "no report: {}", out(&wrong));

    let core_dot = bin()
        .args(["capture", "--core"])
        .arg(&core)
        .arg("--binary")
        .arg(&binary)
        .args(["-f", "dot"])
        .output()
        .expect("runs");
    let dot = out(&core_dot);
    assert!(
        dot.contains("&cycle_a_lock") && dot.contains("color=red"),
        "{dot}"
    );
}
