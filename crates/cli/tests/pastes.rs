//! What people paste into tickets, made here with real gdb: a C program of ours
//! (tests/c/pastes_demo.c) hangs in six ways (a self-deadlock on a
//! non-recursive mutex, a 2-cycle, a sched_yield trylock spinner, a condition
//! waiter, a writer behind a reader); gdb is driven as a person drives it (stdin
//! piped, so it prints its `(gdb) ` prompts: `info threads`, `thread N`, `bt`,
//! `frame N`, `p *mutex`, `x/3dw`), and the transcript is read as it is and
//! as tickets mangle it: prose and fences around it, a bare `bt`, frames
//! shortened by hand, lines wrapped at 100 columns, `grep -C` output.
//! Needs gcc (or cc) and gdb.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ast-locks"))
}

fn run_stdin(args: &[&str], input: &str) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("write");
    drop(stdin);
    child.wait_with_output().expect("runs")
}

fn json(input: &str) -> (Value, i32) {
    let o = run_stdin(&["-f", "json"], input);
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n---\n{input}", String::from_utf8_lossy(&o.stderr)));
    (v, o.status.code().unwrap_or(-1))
}

fn text(input: &str) -> (String, i32) {
    let o = run_stdin(&["-f", "text", "--color", "never", "--width", "0"], input);
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        o.status.code().unwrap_or(-1),
    )
}

/// The running demo; killed when dropped.
struct Demo {
    child: Child,
    pid: u32,
    dir: PathBuf,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_demo(test: &str) -> Demo {
    for tool in ["gdb", "fold", "grep"] {
        let ok = Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(ok, "`{tool}` is needed for the paste tests");
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("pastes-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/pastes_demo.c");
    let binary = dir.join("pastes_demo");
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
        .expect("a C compiler (cc) is needed for the paste tests");
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
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("demo says ready");
    assert!(line.starts_with("ready"), "{line}");
    let pid = child.id();
    Demo { child, pid, dir }
}

/// Thread name → LWP, from /proc.
fn lwps(pid: u32) -> BTreeMap<String, u64> {
    let mut map = BTreeMap::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/task")).expect("/proc") {
        let e = e.expect("task");
        let lwp: u64 = e.file_name().to_string_lossy().parse().expect("lwp");
        let comm = std::fs::read_to_string(e.path().join("comm")).expect("comm");
        map.insert(comm.trim().to_string(), lwp);
    }
    map
}

/// Drive gdb on the process as a person does: wait for each `(gdb) ` prompt,
/// type the next command. The transcript shows each command after its prompt,
/// as a terminal echoes it.
fn session(pid: u32, commands: &[&str]) -> String {
    let mut gdb = Command::new("sh")
        .arg("-c")
        .arg(format!("exec gdb -nx -q -p {pid} 2>&1"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gdb runs");
    let mut out = gdb.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut stdin = gdb.stdin.take().expect("stdin");
    let mut transcript: Vec<u8> = Vec::new();
    let until_prompt = |transcript: &mut Vec<u8>| {
        let mut got: Vec<u8> = Vec::new();
        while !got.ends_with(b"(gdb) ") {
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(chunk) => got.extend(chunk),
                Err(_) => break,
            }
        }
        transcript.extend(got);
    };
    until_prompt(&mut transcript);
    for c in commands {
        transcript.extend(c.as_bytes());
        transcript.push(b'\n');
        writeln!(stdin, "{c}").expect("type");
        until_prompt(&mut transcript);
    }
    writeln!(stdin, "detach\nquit").expect("type");
    drop(stdin);
    let _ = gdb.wait();
    String::from_utf8_lossy(&transcript).into_owned()
}

/// The ticket session: the threads, then each hung thread looked at.
const COMMANDS: &[&str] = &[
    "info threads",
    "thread 2",
    "bt",
    "frame 3",
    "p *mutex",
    "thread 3",
    "bt",
    "x/3dw &cycle_b_lock",
    "thread 4",
    "bt",
    "frame 3",
    "p mutex->__data.__owner",
    "thread 6",
    "bt",
    "thread 7",
    "bt",
    "thread 9",
    "bt",
];

fn thread_by_lwp(j: &Value, lwp: u64) -> &Value {
    j["threads"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["lwp"].as_u64() == Some(lwp)))
        .unwrap_or_else(|| panic!("LWP {lwp} in {j:#}"))
}

/// Deadlocks as sets of LWPs.
fn deadlocks(j: &Value) -> Vec<Vec<u64>> {
    let lwp_of = |id: &Value| {
        j["threads"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["id"] == *id))
            .and_then(|t| t["lwp"].as_u64())
            .expect("lwp")
    };
    let mut out: Vec<Vec<u64>> = j["deadlocks"]
        .as_array()
        .expect("deadlocks")
        .iter()
        .map(|d| {
            let mut v: Vec<u64> = d["threads"]
                .as_array()
                .expect("threads")
                .iter()
                .map(lwp_of)
                .collect();
            v.sort_unstable();
            v
        })
        .collect();
    out.sort();
    out
}

/// What the whole session proves, whatever wraps it.
fn check_session(j: &Value, code: i32, t: &BTreeMap<String, u64>, what: &str) {
    assert_eq!(code, 1, "{what}: {j:#}");
    assert_eq!(j["verdict_kind"], "deadlock", "{what}");
    let mut cycle = vec![t["cycle_a"], t["cycle_b"]];
    cycle.sort_unstable();
    let mut want = vec![vec![t["self_deadlock"]], cycle];
    want.sort();
    assert_eq!(deadlocks(j), want, "{what}: {j:#}");
    // gdb's numbers, as the session used them.
    assert_eq!(
        thread_by_lwp(j, t["self_deadlock"])["gdb_thread"],
        2,
        "{what}"
    );
    assert_eq!(
        thread_by_lwp(j, t["table_writer"])["gdb_thread"],
        9,
        "{what}"
    );
    assert_eq!(
        thread_by_lwp(j, t["spinner"])["activity"]["kind"],
        "spin",
        "{what}"
    );
    assert_eq!(
        thread_by_lwp(j, t["spinner"])["activity"]["function"],
        "lock_all_trylock",
        "{what}"
    );
    assert!(
        thread_by_lwp(j, t["spinner"])["waits_for"].is_null(),
        "{what}"
    );
    assert_eq!(
        thread_by_lwp(j, t["cond_waiter"])["activity"]["kind"],
        "cond-wait",
        "{what}"
    );
    assert_eq!(
        thread_by_lwp(j, t["table_writer"])["waits_for"]["kind"],
        "WRLOCK",
        "{what}"
    );
    // One thread each, however often the session showed it.
    assert_eq!(j["threads"].as_array().map(Vec::len), Some(9), "{what}");
}

/// The frames of one `bt` in the session: after `(gdb) thread N`, `(gdb) bt`.
fn bt_of(transcript: &str, thread: u32) -> String {
    let start = transcript
        .find(&format!("(gdb) thread {thread}\n"))
        .expect("thread command");
    let bt = start + transcript[start..].find("(gdb) bt\n").expect("bt") + "(gdb) bt\n".len();
    let end = bt
        + transcript[bt..]
            .find("(gdb) ")
            .unwrap_or(transcript.len() - bt);
    transcript[bt..end].to_string()
}

/// Frames as a person types them: `#N  function`, without address or arguments.
fn shortened(bt: &str) -> String {
    let mut out = String::new();
    for l in bt.lines() {
        let l = l.trim_start();
        if let Some(rest) = l.strip_prefix('#') {
            let (n, rest) = rest.split_once(char::is_whitespace).expect("level");
            let rest = rest.trim_start();
            let rest = match rest.split_once(" in ") {
                Some((a, r)) if a.starts_with("0x") => r,
                _ => rest,
            };
            let f = rest.split([' ', '(']).next().unwrap_or("");
            out.push_str(&format!("#{n}  {f}\n"));
        }
    }
    out
}

fn fold(text: &str, width: usize) -> String {
    let mut child = Command::new("fold")
        .args(["-w", &width.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("fold");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    String::from_utf8_lossy(&child.wait_with_output().expect("fold").stdout).into_owned()
}

fn grep_c(text: &str, pattern: &str, context: usize) -> String {
    let mut child = Command::new("grep")
        .args([&format!("-C{context}"), pattern])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("grep");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    String::from_utf8_lossy(&child.wait_with_output().expect("grep").stdout).into_owned()
}

#[test]
fn a_real_gdb_session_and_what_tickets_make_of_it() {
    let demo = start_demo("session");
    let t = lwps(demo.pid);
    let transcript = session(demo.pid, COMMANDS);
    let batch = {
        let o = Command::new("gdb")
            .args(["-batch", "-nx", "-q", "-p", &demo.pid.to_string()])
            .args(["-ex", "set pagination off", "-ex", "thread apply all bt"])
            .output()
            .expect("gdb");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    std::fs::write(demo.dir.join("session.txt"), &transcript).expect("keep it");
    drop(demo);

    // 1. The session as gdb printed it.
    let (j, code) = json(&transcript);
    check_session(&j, code, &t, "session");
    let (txt, _) = text(&transcript);
    assert!(
        txt.contains(&format!(
            "thread 2 (LWP {}, self_deadlock) waits for mutex &self_lock 0x",
            t["self_deadlock"]
        )) && txt.contains("that it already holds"),
        "{txt}"
    );
    assert!(
        txt.contains("spinning in a trylock loop in lock_all_trylock() at "),
        "{txt}"
    );

    // 2. In a ticket: prose, a Markdown fence, a Jira block, a shell prompt.
    let ticket = format!(
        "## Asterisk hangs after upgrade\n\nIt froze again at 3am. I attached gdb:\n\n\
         ```\nroot@pbx:~# gdb -p 4242 /usr/sbin/asterisk\n{transcript}\n```\n\n\
         {{noformat}}\nnothing else in the logs\n{{noformat}}\nThanks!\n"
    );
    let (j, code) = json(&ticket);
    check_session(&j, code, &t, "ticket");

    // 3. Wrapped at 100 columns by a mail client.
    let (j, code) = json(&fold(&ticket, 100));
    check_session(&j, code, &t, "wrapped at 100");

    // 4. The same threads again: `thread apply all bt`, then the session.
    let (j, code) = json(&format!("{batch}\n{transcript}"));
    check_session(&j, code, &t, "batch then session");

    // 5. A bare `bt` of one thread: an unnamed stack waiting for the lock, and
    // nothing that proves or excludes a deadlock.
    let bare = bt_of(&transcript, 3);
    let (j, code) = json(&bare);
    assert_eq!(code, 3, "{j:#}");
    let threads = j["threads"].as_array().expect("threads");
    assert_eq!(threads.len(), 1, "{j:#}");
    assert_eq!(threads[0]["id"], "unnamed stack 1");
    assert!(threads[0]["waits_for"]["lock"].is_string(), "{j:#}");
    let kinds: Vec<&str> = j["undetermined"]
        .as_array()
        .expect("gaps")
        .iter()
        .filter_map(|g| g["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"partial-paste"), "{kinds:?}");
    let (txt, _) = text(&bare);
    assert!(txt.starts_with("UNDETERMINED: "), "{txt}");
    assert!(
        txt.contains("unnamed stack 1 (cycle_a_main) waits for &cycle_b_lock 0x"),
        "{txt}"
    );

    // 6. Frames shortened by hand: a lock wait without its address.
    let short = shortened(&bt_of(&transcript, 2));
    assert!(
        short.starts_with("#0  futex_wait\n#1  __GI___lll_lock_wait\n"),
        "{short}"
    );
    let (j, code) = json(&short);
    assert_eq!(code, 3, "{j:#}");
    let th = &j["threads"][0];
    assert_eq!(th["activity"]["kind"], "lock-wait", "{j:#}");
    assert!(
        th["waits_for"].is_object() && th["waits_for"]["lock"].is_null(),
        "{j:#}"
    );
    let (txt, _) = text(&short);
    assert!(txt.contains("a mutex (address not shown)"), "{txt}");

    // 7. `grep -C3 pthread_mutex_lock` of the batch: pieces of stacks, no
    // deadlock claimed, and the verdict cannot be an all-clear.
    let pieces = grep_c(&batch, "pthread_mutex_lock", 3);
    assert!(pieces.contains("\n--\n"), "{pieces}");
    let (j, code) = json(&pieces);
    assert_eq!(code, 3, "{j:#}");
    assert!(
        j["deadlocks"].as_array().is_some_and(Vec::is_empty),
        "{j:#}"
    );
    let waiting = j["threads"]
        .as_array()
        .expect("threads")
        .iter()
        .filter(|t| t["waits_for"].is_object())
        .count();
    assert!(waiting >= 3, "{j:#}");

    // 8. `info threads` alone: every thread, but only its innermost frame.
    let rows_end = transcript.find("(gdb) thread 2\n").expect("session");
    let rows_start = transcript
        .find("(gdb) info threads\n")
        .expect("info threads");
    let (j, code) = json(&transcript[rows_start..rows_end]);
    assert_eq!(code, 3, "{j:#}");
    assert_eq!(j["threads"].as_array().map(Vec::len), Some(9), "{j:#}");
    assert_eq!(
        thread_by_lwp(&j, t["cycle_a"])["name"],
        "cycle_a",
        "names from info threads"
    );
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../testdata/handmade/{name}")),
    )
    .expect("fixture")
}

fn lwps_of(j: &Value, key: &str) -> Vec<u64> {
    let mut v: Vec<u64> = j["threads"]
        .as_array()
        .expect("threads")
        .iter()
        .filter(|t| !t[key].is_null())
        .filter_map(|t| t["lwp"].as_u64())
        .collect();
    v.sort_unstable();
    v
}

/// The pastes of other tickets, written from the shapes they take: what each
/// proves, and what it cannot.
#[test]
fn pastes_of_other_servers_and_tickets() {
    // Asterisk: a session of two threads, each owner printed with `x/3d`.
    let (j, code) = json(&fixture("paste-asterisk-ticket.txt"));
    assert_eq!(code, 1, "{j:#}");
    assert_eq!(deadlocks(&j), vec![vec![27844, 27850]]);
    assert_eq!(thread_by_lwp(&j, 27844)["gdb_thread"], 164);
    let (t, _) = text(&fixture("paste-asterisk-ticket.txt"));
    assert!(t.contains("thread 164 (LWP 27844"), "{t}");

    // rtpengine: the pretty-printer names the waiting thread as the owner.
    let (j, code) = json(&fixture("paste-rtpengine-self-deadlock.txt"));
    assert_eq!(code, 1, "{j:#}");
    assert_eq!(deadlocks(&j), vec![vec![637648]]);
    let (t, _) = text(&fixture("paste-rtpengine-self-deadlock.txt"));
    assert!(
        t.contains(
            "thread 37 (LWP 637648, poller 5) waits for mutex 0x55d2c4b3f1e8 that it already holds"
        ),
        "{t}"
    );

    // FreeSWITCH: switch_mutex_lock over APR; the pthread mutexes and their owners.
    let (j, code) = json(&fixture("paste-freeswitch-switch-mutex.txt"));
    assert_eq!(code, 1, "{j:#}");
    assert_eq!(deadlocks(&j), vec![vec![4120, 4133]]);
    assert_eq!(
        thread_by_lwp(&j, 4133)["waits_for"]["lock"],
        "0x7f9c3c02a358"
    );

    // Kamailio: processes by PID, each waiting for a shared-memory lock; no owner.
    let (j, code) = json(&fixture("paste-kamailio-processes.txt"));
    assert_eq!(code, 3, "{j:#}");
    assert_eq!(lwps_of(&j, "waits_for"), vec![21247, 21253]);
    assert_eq!(thread_by_lwp(&j, 21253)["id"], "PID 21253");
    assert_eq!(
        thread_by_lwp(&j, 21253)["waits_for"]["lock"],
        "0x7f036822441c"
    );

    // OpenSIPS: sched_yield over get_lock: spinning for the lock, not asleep.
    let (j, code) = json(&fixture("paste-opensips-spin.txt"));
    assert_eq!(code, 3, "{j:#}");
    let th = &j["threads"][0];
    assert_eq!(th["activity"]["kind"], "spin");
    assert_eq!(th["waits_for"]["lock"], "0x7feb478bbc40");

    // pjproject: the group lock down to the pthread mutex; one thread only.
    let (j, code) = json(&fixture("paste-pjproject-grp-lock.txt"));
    assert_eq!(code, 3, "{j:#}");
    assert_eq!(j["threads"][0]["waits_for"]["lock"], "0x7f2b1c00a2b8");
    assert_eq!(j["threads"][0]["gdb_thread"], 1);

    // The prose says "they deadlock each other"; the frames prove no cycle.
    let (j, code) = json(&fixture("paste-prose-claims-cycle.txt"));
    assert_eq!(code, 3, "{j:#}");
    assert!(j["deadlocks"].as_array().is_some_and(Vec::is_empty));
    assert_eq!(thread_by_lwp(&j, 1656)["activity"]["kind"], "sleep");
    assert_eq!(thread_by_lwp(&j, 1487)["waits_for"]["kind"], "RDLOCK");
    let (t, _) = text(&fixture("paste-prose-claims-cycle.txt"));
    assert!(
        t.starts_with("UNDETERMINED: the paste shows 2 of at least 266 threads"),
        "{t}"
    );
    assert!(t.contains("ask for `thread apply all bt`"), "{t}");
}
