//! Running a shell command with a time limit: the side job of `watch`, which
//! asks a live Asterisk for `core show locks` or `core show uptime` and must
//! notice when it does not answer.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a command printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub stdout: Vec<u8>,
    pub stderr: String,
    /// Its exit status (`None`: killed by a signal).
    pub status: Option<i32>,
    pub took: Duration,
}

/// Why there is no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoAnswer {
    /// Still running after the time limit (it was killed).
    TimedOut(Duration),
    /// It could not be started.
    NotStarted(String),
}

/// Run `command` with `sh -c`, in a process group of its own so that a
/// timeout kills everything it started.
pub fn run(command: &str, limit: Duration) -> Result<Answer, NoAnswer> {
    let started = Instant::now();
    let mut child = Command::new("sh")
        .args(["-c", command])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| NoAnswer::NotStarted(format!("cannot run sh: {e}")))?;
    let out = child.stdout.take().map(|mut o| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = o.read_to_end(&mut buf);
            buf
        })
    });
    let err = child.stderr.take().map(|mut e| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = e.read_to_end(&mut buf);
            buf
        })
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= limit => {
                kill_group(child.id());
                let _ = child.kill();
                let _ = child.wait();
                return Err(NoAnswer::TimedOut(limit));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(NoAnswer::NotStarted(format!("cannot wait for sh: {e}"))),
        }
    };
    // Whatever it left running would keep its output open.
    kill_group(child.id());
    let stdout = out.and_then(|h| h.join().ok()).unwrap_or_default();
    let stderr = err.and_then(|h| h.join().ok()).unwrap_or_default();
    Ok(Answer {
        stdout,
        stderr: String::from_utf8_lossy(&stderr).trim().to_string(),
        status: status.code(),
        took: started.elapsed(),
    })
}

/// Kill the process group `pgid` (what `sh -c` started, e.g. `asterisk -rx`).
fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_a_failure_and_a_hang() {
        let a = run("echo hello; echo oops >&2", Duration::from_secs(5)).expect("answer");
        assert_eq!(
            (a.stdout.as_slice(), a.stderr.as_str(), a.status),
            (&b"hello\n"[..], "oops", Some(0))
        );
        let f = run("exit 3", Duration::from_secs(5)).expect("answer");
        assert_eq!(f.status, Some(3));
        let started = Instant::now();
        let h = run("sleep 30; echo late", Duration::from_millis(200));
        assert_eq!(h, Err(NoAnswer::TimedOut(Duration::from_millis(200))));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the hang was not killed"
        );
    }
}
