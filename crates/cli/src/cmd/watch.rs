//! `ast-locks watch`: poll a live Asterisk and keep the evidence of a freeze.
//!
//! With a DEBUG_THREADS build every poll is a `core show locks` snapshot; the
//! last `--keep` are kept in memory, and the series analysis of the last
//! `--confirm` says whether a freeze is confirmed (the same deadlock in each) or
//! likely (the same holder keeping an awaited lock for `--stall-after`). Without
//! DEBUG_THREADS (`No such command`), a liveness probe is timed instead: a CLI
//! that does not answer `--confirm` times in a row is a freeze. An incident
//! writes one folder (see [`crate::incident`]) and, unless `--keep-going`, ends
//! the watch with exit status 1. While calm nothing is written to disk.

use crate::args::{Cli, Format, WatchArgs};
use crate::cmd::{capture, report};
use crate::gdb::Target;
use crate::incident::{self, utc_time};
use crate::input::Input;
use crate::output::say;
use crate::probe::{self, NoAnswer};
use crate::{Failure, Outcome};
use ast_locks_analysis::diagnose::{diagnose, DiagnoseOptions};
use ast_locks_analysis::series::SeriesVerdict;
use ast_locks_parse::InputKind;
use clap::Parser;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// What `core show locks` answers on a build without DEBUG_THREADS.
const NO_SUCH_COMMAND: &str = "No such command";

/// How the process is watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `core show locks` snapshots.
    Locks,
    /// The liveness probe.
    Liveness,
}

/// What one poll found.
enum Poll {
    Calm(String),
    Incident(String),
    /// The command failed or printed no dump: said, and tried again.
    Failed(String),
}

pub fn run(a: &WatchArgs) -> Result<Outcome, Failure> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| Failure(format!("cannot handle signals: {e}")))?;
    }
    let mut watch = Watch::new(a);
    let mut incidents = 0;
    let mut first = true;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        match watch.poll() {
            Poll::Calm(line) => {
                if !a.quiet {
                    say(&format!("{} {line}", utc_time(SystemTime::now())));
                }
            }
            Poll::Failed(why) if first => return Err(Failure(why)),
            Poll::Failed(why) => say(&format!(
                "{} {why}; trying again",
                utc_time(SystemTime::now())
            )),
            Poll::Incident(verdict) => {
                incidents += 1;
                let dir = watch.record(&verdict)?;
                say(&verdict);
                say(&format!("the evidence is in {}", dir.display()));
                if let Some(cmd) = &a.exec {
                    incident::exec(cmd, &dir, &verdict);
                }
                if !a.keep_going {
                    return Ok(Outcome::Finding);
                }
                watch.forget();
            }
        }
        first = false;
        sleep_until(started + Duration::from_micros(a.every.micros), &stop);
    }
    Ok(if incidents > 0 {
        Outcome::Finding
    } else {
        Outcome::Clean
    })
}

/// Sleep in short steps, so that a signal ends the watch at once.
fn sleep_until(deadline: Instant, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(50)));
    }
}

struct Watch<'a> {
    a: &'a WatchArgs,
    mode: Mode,
    /// The last snapshots as captured, oldest first.
    kept: VecDeque<Vec<u8>>,
    /// Liveness: probes that hung in a row, and what each said.
    hung: Vec<String>,
    timeout: Duration,
}

impl<'a> Watch<'a> {
    fn new(a: &'a WatchArgs) -> Watch<'a> {
        Watch {
            a,
            mode: Mode::Locks,
            kept: VecDeque::new(),
            hung: Vec::new(),
            timeout: Duration::from_micros(a.timeout.micros),
        }
    }

    fn poll(&mut self) -> Poll {
        match self.mode {
            Mode::Locks => self.poll_locks(),
            Mode::Liveness => self.poll_liveness(),
        }
    }

    /// One `core show locks` snapshot, and the series of the last ones.
    fn poll_locks(&mut self) -> Poll {
        let answer = match probe::run(&self.a.command, self.timeout) {
            Ok(a) => a,
            Err(NoAnswer::TimedOut(t)) => {
                // A CLI that does not answer is what most freezes look like.
                say(&format!(
                    "`{}` did not answer within {}: timing the liveness probe `{}` instead",
                    self.a.command, self.a.timeout.text, self.a.probe
                ));
                self.mode = Mode::Liveness;
                self.hung.push(format!(
                    "`{}` did not answer within {}",
                    self.a.command,
                    t_text(t)
                ));
                return self.liveness_verdict();
            }
            Err(NoAnswer::NotStarted(why)) => return Poll::Failed(why),
        };
        let text = String::from_utf8_lossy(&answer.stdout);
        if text.contains(NO_SUCH_COMMAND) || answer.stderr.contains(NO_SUCH_COMMAND) {
            say(&format!(
                "`{}` answers \"No such command\": Asterisk is built without DEBUG_THREADS; watching whether `{}` answers within {} instead",
                self.a.command, self.a.probe, self.a.timeout.text
            ));
            self.mode = Mode::Liveness;
            return self.poll_liveness();
        }
        if answer.status != Some(0) && answer.stdout.is_empty() {
            return Poll::Failed(failed(&self.a.command, &answer));
        }
        if let Err(e) = ast_locks_parse::parse(&answer.stdout) {
            return Poll::Failed(format!("`{}` printed no lock dump: {e}", self.a.command));
        }
        self.kept.push_back(answer.stdout);
        while self.kept.len() > self.a.keep as usize {
            self.kept.pop_front();
        }
        self.locks_verdict()
    }

    /// The series of the last `--confirm` snapshots.
    fn locks_verdict(&self) -> Poll {
        let confirm = (self.a.confirm as usize).min(self.kept.len());
        let dumps: Vec<ast_locks_model::Dump<'_>> = self
            .kept
            .iter()
            .skip(self.kept.len() - confirm)
            .filter_map(|b| ast_locks_parse::parse(b).ok())
            .collect();
        let snapshots: Vec<&ast_locks_model::Snapshot<'_>> =
            dumps.iter().filter_map(|d| d.snapshots.last()).collect();
        let opts = DiagnoseOptions {
            stall_after_micros: self.a.stall_after.micros,
            taken_apart: true,
            ..DiagnoseOptions::default()
        };
        let Ok(d) = diagnose(&snapshots, &opts) else {
            return Poll::Failed("no snapshot to analyse".to_string());
        };
        let last = snapshots[d.index];
        let analysis = d.analysis();
        let now = analysis.verdict(last);
        let waiting = analysis.waits.iter().filter(|w| w.is_some()).count();
        let status = format!("{} threads, {waiting} waiting: {now}", last.threads.len());
        let Some(series) = d
            .series
            .as_ref()
            .filter(|_| snapshots.len() >= self.a.confirm as usize)
        else {
            return Poll::Calm(status);
        };
        match series.verdict {
            SeriesVerdict::ConfirmedDeadlock(_) => Poll::Incident(series.headline()),
            SeriesVerdict::StuckHolder(_) if !d.stalls.is_empty() || self.spanned() => {
                Poll::Incident(series.headline())
            }
            _ => Poll::Calm(status),
        }
    }

    /// The confirming snapshots span `--stall-after` (for dumps without timings).
    fn spanned(&self) -> bool {
        let polls = u64::from(self.a.confirm.saturating_sub(1));
        self.a.every.micros.saturating_mul(polls) >= self.a.stall_after.micros
    }

    /// One liveness probe.
    fn poll_liveness(&mut self) -> Poll {
        match probe::run(&self.a.probe, self.timeout) {
            Ok(answer) if answer.status == Some(0) => {
                self.hung.clear();
                Poll::Calm(format!(
                    "alive: `{}` answered in {} ms",
                    self.a.probe,
                    answer.took.as_millis()
                ))
            }
            Ok(answer) => {
                self.hung.clear();
                Poll::Failed(failed(&self.a.probe, &answer))
            }
            Err(NoAnswer::TimedOut(t)) => {
                self.hung.push(format!(
                    "{} `{}` did not answer within {}",
                    utc_time(SystemTime::now()),
                    self.a.probe,
                    t_text(t)
                ));
                self.liveness_verdict()
            }
            Err(NoAnswer::NotStarted(why)) => Poll::Failed(why),
        }
    }

    fn liveness_verdict(&self) -> Poll {
        let n = self.hung.len();
        if n >= self.a.confirm as usize {
            Poll::Incident(format!(
                "FREEZE CONFIRMED: the Asterisk CLI did not answer {n} times in a row (`{}`, {} each)",
                self.a.probe, self.a.timeout.text
            ))
        } else {
            Poll::Calm(format!(
                "no answer ({n} of {} that make a freeze)",
                self.a.confirm
            ))
        }
    }

    /// After an incident with `--keep-going`: start afresh.
    fn forget(&mut self) {
        self.kept.clear();
        self.hung.clear();
    }

    /// Write the incident folder: the snapshots as captured, the reports, the
    /// probes' record, gdb's output.
    fn record(&self, verdict: &str) -> Result<std::path::PathBuf, Failure> {
        let dir = incident::create_folder(self.a.out.as_deref(), SystemTime::now())?;
        let mut inputs = Vec::new();
        // Every kept snapshot is saved; the reports are of the ones that
        // confirmed the freeze.
        let confirming = self.kept.len().saturating_sub(self.a.confirm as usize);
        for (i, snapshot) in self.kept.iter().enumerate() {
            let name = format!("snapshot-{}.txt", i + 1);
            incident::write(&dir, &name, snapshot)?;
            if i < confirming {
                continue;
            }
            inputs.push(Input {
                name: format!("{}/{name}", dir.display()),
                bytes: snapshot.clone(),
                kind: InputKind::CoreShowLocks,
                given: true,
                cut: 0,
            });
        }
        let mut lines = vec![verdict.to_string()];
        lines.extend(self.hung.iter().cloned());
        incident::write(&dir, "verdict.txt", (lines.join("\n") + "\n").as_bytes())?;
        if self.a.backtraces {
            inputs.extend(self.backtraces(&dir)?);
        }
        if !inputs.is_empty() {
            let mut opts = Cli::parse_from(["ast-locks"]).opts;
            opts.stall_after = self.a.stall_after.clone();
            opts.taken_apart = true;
            let files: Vec<(Format, std::path::PathBuf)> = [
                (Format::Text, "report.txt"),
                (Format::Markdown, "report.md"),
                (Format::Html, "report.html"),
                (Format::Json, "report.json"),
            ]
            .into_iter()
            .map(|(f, n)| (f, dir.join(n)))
            .collect();
            // Snapshots of one process are a series; backtraces are joined to
            // the last of them as one moment.
            let moment: Vec<Input> = join_order(inputs);
            if let Err(Failure(why)) = report::write_reports(&moment, &opts, &files) {
                say(&format!("the reports could not be written: {why}"));
            }
        }
        Ok(dir)
    }

    /// gdb backtraces and lock owners of the process, saved in the folder.
    fn backtraces(&self, dir: &std::path::Path) -> Result<Vec<Input>, Failure> {
        let Some(pid) = self.a.pid.or_else(pidof_asterisk) else {
            say("--backtraces: no Asterisk process found (give --pid)");
            return Ok(Vec::new());
        };
        say(&format!(
            "attaching gdb to process {pid}: it is paused for a moment while gdb reads its threads"
        ));
        let target = Target::Process { pid, binary: None };
        match target.check().and_then(|()| capture::capture(&target)) {
            Ok(c) => {
                for line in &c.said {
                    say(line);
                }
                incident::write(dir, "backtraces.txt", c.backtraces.as_bytes())?;
                if let Some(o) = &c.owners {
                    incident::write(dir, "owners.txt", o.as_bytes())?;
                }
                Ok(capture::inputs(&target, c.backtraces, c.owners))
            }
            Err(Failure(why)) => {
                say(&format!("--backtraces: {why}"));
                incident::write(dir, "backtraces-failed.txt", format!("{why}\n").as_bytes())?;
                Ok(Vec::new())
            }
        }
    }
}

/// The inputs of the incident report: backtraces, when there are some, are the
/// moment (with the last snapshot, if any); otherwise the kept snapshots.
fn join_order(inputs: Vec<Input>) -> Vec<Input> {
    let (gdb, locks): (Vec<Input>, Vec<Input>) = inputs
        .into_iter()
        .partition(|i| matches!(i.kind, InputKind::Gdb | InputKind::Owners));
    if gdb.is_empty() {
        return locks;
    }
    let mut out: Vec<Input> = locks.into_iter().last().into_iter().collect();
    out.extend(gdb);
    out
}

/// The PID of the running Asterisk, if there is exactly one.
fn pidof_asterisk() -> Option<u32> {
    let out = std::process::Command::new("pidof")
        .arg("asterisk")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut pids = text.split_whitespace();
    let pid = pids.next()?.parse().ok()?;
    pids.next().is_none().then_some(pid)
}

/// Why a command failed, in its own words.
fn failed(command: &str, answer: &probe::Answer) -> String {
    let code = answer
        .status
        .map_or("a signal".to_string(), |c| format!("status {c}"));
    let said = if answer.stderr.is_empty() {
        String::from_utf8_lossy(&answer.stdout).trim().to_string()
    } else {
        answer.stderr.clone()
    };
    let said: String = said.chars().take(200).collect();
    if said.is_empty() {
        format!("`{command}` failed ({code})")
    } else {
        format!("`{command}` failed ({code}): {said}")
    }
}

fn t_text(t: Duration) -> String {
    if t.as_millis() < 1000 {
        format!("{} ms", t.as_millis())
    } else {
        format!("{:.1} s", t.as_secs_f64())
    }
}
