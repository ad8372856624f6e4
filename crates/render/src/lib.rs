//! Renderers for an analysed lock dump: one module per output format.
//!
//! Every renderer takes a [`Report`] (the snapshot, its diagnosis, and what the
//! parser said about the input) and writes to any `impl Write`. Output depends
//! only on the report, so the same input always gives the same bytes.
//!
//! ```
//! use ast_locks_analysis::diagnose::{diagnose, DiagnoseOptions};
//! use ast_locks_model::{LockEntry, LockKind, LockState, Snapshot, Thread};
//! use ast_locks_render::{text, Report};
//!
//! let mut holder = Thread::new("0x1");
//! holder.entries.push(LockEntry::new(0, LockState::Held, LockKind::Mutex, "0x10"));
//! let mut waiter = Thread::new("0x2");
//! waiter.entries.push(LockEntry::new(0, LockState::Waiting, LockKind::Mutex, "0x10"));
//! let snapshot = Snapshot {
//!     threads: vec![holder, waiter],
//!     banner_line: Some(1),
//!     end_line: Some(9),
//!     ..Snapshot::default()
//! };
//! let diagnosis = diagnose(&[&snapshot], &DiagnoseOptions::default()).unwrap();
//! let report = Report::diagnosed(&snapshot, &diagnosis, &[]);
//! let mut out = Vec::new();
//! text::write(&mut out, &report, &text::TextOptions::default()).unwrap();
//! assert!(String::from_utf8(out).unwrap().starts_with("no cycle: 1 thread waits, behind 1 stalled holder"));
//! ```

pub mod diff;
pub mod dot;
pub mod dump;
pub mod gdbcmd;
pub mod html;
pub mod json;
pub mod markdown;
pub mod refs;
mod steps;
pub use steps::Held;
pub mod svg;
pub mod text;
pub mod view;
pub mod wrap;

use ast_locks_analysis::diagnose::Diagnosis;
use ast_locks_analysis::lockorder::PotentialDeadlock;
use ast_locks_analysis::series::{Series, Stall, Trylock};
use ast_locks_analysis::verdict::{Gap, Verdict, VerdictKind};
use ast_locks_analysis::{Analysis, Reason};
use ast_locks_model::{InputFormat, Snapshot, Thread, Warning};

/// What the renderers draw from.
#[derive(Debug, Clone, Copy)]
pub struct Report<'r, 'a> {
    /// The analysed snapshot.
    pub snapshot: &'r Snapshot<'a>,
    /// Its analysis.
    pub analysis: &'r Analysis,
    /// The verdict on it.
    pub verdict: &'r Verdict,
    /// Parser warnings for the whole input.
    pub warnings: &'r [Warning],
    /// How many snapshots the input held. Default 1.
    pub snapshots: usize,
    /// Which of them is analysed (0-based). Default 0.
    pub index: usize,
    /// The input's name for headings (`core-show-locks.txt`, `<stdin>`). Default empty.
    pub source: &'r str,
    /// What kind of input the snapshot was read from. Default: `core show locks`.
    pub format: InputFormat,
    /// Other inputs joined to it (`gdb`, `owners`), for the heading. Default: none.
    pub joined: &'r [&'r str],
    /// Notes from joining inputs (owners not found, locks free when looked up). Default: none.
    pub notes: &'r [String],
    /// Inputs that do not belong together (owner look-ups or backtraces that
    /// match nothing in the dump), said on the first screen. Default: none.
    pub mismatches: &'r [String],
    /// Why snapshots were left out of the series (pasted twice, another
    /// process), said on the first screen.
    pub series_notes: &'r [String],
    /// Addresses whose owners were looked up in gdb. Default: none.
    pub looked_up: &'r [u64],
    /// What several snapshots say together, when there are several. Default: none.
    pub series: Option<&'r Series>,
    /// Holders of awaited locks held longer than the stall threshold. Default: none.
    pub stalls: &'r [Stall],
    /// The stall threshold as given (`5s`). Default: empty.
    pub stall_after: &'r str,
    /// The awaited lock held longest, whatever the threshold (21+ timings). Default: none.
    pub longest_held: Option<&'r Stall>,
    /// Lock-order cycles seen in any snapshot. Default: none.
    pub potential: &'r [PotentialDeadlock],
    /// Failed trylocks of the analysed snapshot. Default: none.
    pub trylocks: &'r [Trylock],
}

impl<'r, 'a> Report<'r, 'a> {
    /// A report on the snapshot a diagnosis reports in detail (`snapshot`), with
    /// everything the diagnosis found; the input's name and what was joined to it
    /// are left for the caller to set.
    pub fn diagnosed(
        snapshot: &'r Snapshot<'a>,
        diagnosis: &'r Diagnosis,
        warnings: &'r [Warning],
    ) -> Self {
        Report {
            snapshot,
            analysis: diagnosis.analysis(),
            verdict: &diagnosis.verdict,
            warnings,
            snapshots: diagnosis.snapshots,
            index: diagnosis.index,
            source: "",
            format: snapshot.format,
            joined: &[],
            notes: &[],
            mismatches: &[],
            series_notes: &diagnosis.series_notes,
            looked_up: &[],
            series: diagnosis.series.as_ref(),
            stalls: &diagnosis.stalls,
            stall_after: "",
            longest_held: diagnosis.longest_held.as_ref(),
            potential: &diagnosis.potential,
            trylocks: &diagnosis.trylocks,
        }
    }

    /// What the first screen must say about the input beside the verdict.
    pub fn caveats(&self) -> impl Iterator<Item = &'r str> {
        self.mismatches
            .iter()
            .chain(self.series_notes)
            .map(String::as_str)
    }

    /// The program the input is of, for commands to copy: the one it names,
    /// else Asterisk's.
    pub fn program(&self) -> &str {
        if let Some(p) = self.snapshot.program.as_deref() {
            return p;
        }
        let asterisk = self.format != InputFormat::Gdb
            || self
                .snapshot
                .threads
                .iter()
                .flat_map(|t| &t.stack)
                .any(|f| {
                    f.function.starts_with("ast_")
                        || f.function.starts_with("__ast_")
                        || f.function.starts_with("__ao2_")
                });
        if asterisk {
            "/usr/sbin/asterisk"
        } else {
            "PROGRAM"
        }
    }

    /// The input's name in a command to copy (`FILE` when it has none).
    pub fn file_arg(&self) -> &str {
        if self.source.is_empty() || self.source == "<stdin>" || self.source.contains(' ') {
            "FILE"
        } else {
            self.source
        }
    }

    /// The verdict's line as every format prints it first: for an undetermined
    /// verdict, with the first thing to do.
    pub fn headline(&self) -> String {
        let mut line = self.verdict.headline.clone();
        if let Some(first) = self.verdict.gaps.first() {
            let file = self.file_arg();
            let hint = match first {
                Gap::OwnersNotLookedUp { .. } => {
                    format!("run `ast-locks gdb-commands {file}` to look the owners up")
                }
                Gap::HeldByReaders { .. } => "find the readers in the backtraces".to_string(),
                Gap::OwnerNotInPaste { .. } => {
                    "ask for the whole `thread apply all bt`".to_string()
                }
                Gap::CutShort { .. } => "ask for the whole dump".to_string(),
                Gap::PartialPaste { .. } => "ask for `thread apply all bt`".to_string(),
                Gap::NoAddress { .. } => "ask for the backtrace as gdb prints it".to_string(),
                Gap::Unreadable { .. } => "ask for the dump as a file".to_string(),
                Gap::ReaderBehindWriter { .. } => "see --rwlock-policy".to_string(),
            };
            line.push_str(" — ");
            line.push_str(&hint);
        }
        line
    }

    /// What to do about each gap of an undetermined verdict.
    pub fn undetermined_steps(&self) -> Vec<Step> {
        if self.verdict.kind != VerdictKind::Undetermined {
            return Vec::new();
        }
        let file = self.file_arg();
        let program = self.program();
        self.verdict
            .gaps
            .iter()
            .map(|g| match g {
                Gap::OwnersNotLookedUp { .. } => Step {
                    facts: Vec::new(),
                    say: "A backtrace does not say who holds a lock. Look the owners up in gdb \
                          (or let `ast-locks capture --core CORE --binary PROGRAM` do all of it):"
                        .to_string(),
                    commands: vec![
                        format!("ast-locks gdb-commands {file} > owners.gdb"),
                        format!("gdb -batch -x owners.gdb {program} CORE > owners.txt   # or: -p PID"),
                        format!("ast-locks {file} --owners owners.txt"),
                    ],
                },
                Gap::HeldByReaders { .. } => Step::say(
                    "glibc does not record the readers of a rwlock: find the threads that took it \
                     for reading in the backtraces (their frames name it), or take `core show locks` \
                     from a DEBUG_THREADS build",
                ),
                Gap::OwnerNotInPaste { .. } => Step {
                    facts: Vec::new(),
                    say: "Ask for the whole `thread apply all bt` of the same moment (every thread), \
                          with the owner look-ups:"
                        .to_string(),
                    commands: vec![format!("ast-locks gdb-commands {file}")],
                },
                Gap::PartialPaste { .. } => Step {
                    facts: Vec::new(),
                    say: "Ask for every thread's backtrace of the same moment (`thread apply all bt`, \
                          or ast_coredumper's -full.txt), with the owner look-ups:"
                        .to_string(),
                    commands: vec![
                        format!("gdb -batch -ex 'thread apply all bt' {program} CORE > bt.txt   # or: -p PID"),
                        "ast-locks gdb-commands bt.txt".to_string(),
                    ],
                },
                Gap::NoAddress { .. } => Step::say(
                    "The frames do not show the lock's address: ask for the backtrace as gdb prints it \
                     (`thread apply all bt`), with the C library's debug symbols installed \
                     (libc6-dbg, glibc-debuginfo)",
                ),
                Gap::CutShort { .. } => Step::say(
                    "Ask for the whole `core show locks` output, from its `Currently Held Locks` \
                     banner to the closing `=====` line",
                ),
                Gap::Unreadable { .. } => Step::say(
                    "The lines under Input warnings could not be read: ask for the dump as a file \
                     attachment rather than pasted text",
                ),
                Gap::ReaderBehindWriter { .. } => Step::say(
                    "If this platform prefers writers (glibc does not), rerun with \
                     `--rwlock-policy writer-preferring`; with glibc, take a second dump: a reader \
                     still waiting there is not explained by the locks the dump shows",
                ),
            })
            .collect()
    }

    /// True when the owner of this lock was looked up (and found to be no listed
    /// thread: a rwlock held by readers, or an owner that exited).
    pub fn was_looked_up(&self, lock: usize) -> bool {
        let (_, addr) = self.analysis.lock_label(self.snapshot, lock);
        ast_locks_model::parse_address(addr).is_some_and(|a| self.looked_up.contains(&a))
    }

    /// What the input was, for headings: `core show locks (21+, Asterisk 22.0.0)`,
    /// `gdb backtraces + owners`.
    pub fn describe_input(&self) -> String {
        let s = self.snapshot;
        let mut about = match self.format {
            InputFormat::CoreShowLocks => "core show locks".to_string(),
            InputFormat::CoredumperLocks => "ast_coredumper locks table".to_string(),
            InputFormat::Gdb => "gdb backtraces".to_string(),
        };
        if let Some(g) = s.generation {
            about.push_str(&format!(" ({g}"));
            if let Some(v) = &s.version {
                about.push_str(&format!(", Asterisk {v}"));
            }
            about.push(')');
        }
        for j in self.joined {
            about.push_str(" + ");
            about.push_str(j);
        }
        about
    }

    /// What a thread is doing according to its stack, with its top application
    /// frame: `is in a condition wait in bridge_manager_thread() at bridge.c:4891`.
    pub fn activity(&self, t: usize) -> Option<String> {
        let th = &self.snapshot.threads[t];
        let a = th.activity.as_ref()?;
        let mut s = a.kind.describe().to_string();
        if let Some(f) = a.frame.and_then(|i| th.stack.get(i)) {
            s.push_str(&format!(" in {}()", f.function));
            if let (Some(file), Some(line)) = (&f.file, f.line) {
                s.push_str(&format!(" at {file}:{line}"));
            }
        }
        Some(s)
    }

    fn thread(&self, i: usize) -> &'r Thread<'a> {
        &self.snapshot.threads[i]
    }

    /// Who keeps thread `t` from the lock it waits for, and why: holders of it,
    /// and (writer preference) the writers queued before it.
    pub fn in_the_way(&self, t: usize) -> Vec<(usize, Reason)> {
        let Some((lock, _)) = self.analysis.waits[t] else {
            return Vec::new();
        };
        self.analysis
            .edges
            .iter()
            .filter(|e| e.waiter == t && e.lock == lock)
            .map(|e| (e.blocker, e.reason))
            .collect()
    }

    /// `held by A; queued behind the waiting writer B`, each thread named by `name`.
    pub fn in_the_way_text(&self, t: usize, name: impl Fn(usize) -> String) -> String {
        let who = |reason: Reason| -> Vec<String> {
            self.in_the_way(t)
                .into_iter()
                .filter(|&(_, r)| r == reason)
                .map(|(b, _)| {
                    if b == t {
                        "itself".to_string()
                    } else {
                        name(b)
                    }
                })
                .collect()
        };
        let (holders, writers) = (who(Reason::Holds), who(Reason::QueuedWriter));
        let mut parts = Vec::new();
        if !holders.is_empty() {
            parts.push(format!("held by {}", holders.join(", ")));
        }
        if !writers.is_empty() {
            parts.push(format!(
                "queued behind the waiting {} {}",
                if writers.len() == 1 {
                    "writer"
                } else {
                    "writers"
                },
                writers.join(", ")
            ));
        }
        parts.join("; ")
    }

    /// How a thread is named in reports, with its LWP and name:
    /// `thread 164 (LWP 27844, pbx_thread)` for gdb's numbered threads,
    /// `thread 0x7f… (LWP 123, pbx_thread)` for a dump's, `process 21253 (udp
    /// receiver)`, `unnamed stack 1`.
    pub fn thread_label(&self, i: usize) -> String {
        let t = self.thread(i);
        let who = self.thread_ref(i);
        let mut more = Vec::new();
        if let (Some(lwp), false) = (t.lwp, who.starts_with("process ")) {
            more.push(format!("LWP {lwp}"));
        }
        let name = self.thread_name(i);
        if !name.is_empty() {
            more.push(name.to_string());
        }
        if more.is_empty() {
            who
        } else {
            format!("{who} ({})", more.join(", "))
        }
    }

    /// What a thread is called: the name gdb printed when it tells threads
    /// apart (`poller 5`), else the start routine (Asterisk's threads all carry
    /// the process's name), else the dump's name for it.
    pub fn thread_name(&self, i: usize) -> &str {
        let t = self.thread(i);
        let telling = t.gdb_num.is_some()
            && !t.name.is_empty()
            && self
                .snapshot
                .threads
                .iter()
                .filter(|o| o.name == t.name)
                .count()
                == 1;
        if telling {
            &t.name
        } else {
            t.short_name()
        }
    }

    /// Threads spinning in a trylock loop and waiting for no lock, in dump order.
    pub fn spinning(&self) -> Vec<usize> {
        (0..self.snapshot.threads.len())
            .filter(|&t| {
                self.analysis.waits[t].is_none()
                    && self.snapshot.threads[t]
                        .activity
                        .as_ref()
                        .is_some_and(|a| a.kind == ast_locks_model::ActivityKind::Spin)
            })
            .collect()
    }

    /// A thread's short name for lists: `thread 164`, `0x7f67a15356c0`,
    /// `process 21253`, `unnamed stack 1`.
    pub fn thread_ref(&self, i: usize) -> String {
        let t = self.thread(i);
        if let Some(n) = t.gdb_num {
            return format!("thread {n}");
        }
        if let Some(pid) = t.id.strip_prefix("PID ") {
            return format!("process {pid}");
        }
        if t.id.starts_with("unnamed stack ") {
            return t.id.to_string();
        }
        format!("thread {}", t.id)
    }

    /// A lock as reports name it: `&chan->lock 0x7f…`, or, when the input does
    /// not show its address, `a mutex (address not shown)`.
    pub fn lock_text(&self, lock: usize) -> String {
        let (name, addr) = self.analysis.lock_label(self.snapshot, lock);
        match (name.is_empty(), addr.is_empty()) {
            (true, false) => addr.to_string(),
            (false, false) => format!("{name} {addr}"),
            (false, true) => format!("{name} (address not shown)"),
            (true, true) => {
                let first = self.analysis.locks.get(lock).first;
                let kind = self.snapshot.threads[first.thread].entries[first.entry].kind;
                format!(
                    "{} (address not shown)",
                    match kind {
                        ast_locks_model::LockKind::RdLock | ast_locks_model::LockKind::WrLock =>
                            "a rwlock",
                        _ => "a mutex",
                    }
                )
            }
        }
    }
}

/// Something to do next: what to do, and the commands that do it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// What to do, for a person.
    pub say: String,
    /// What the input shows that the step is about, one line each (may be none).
    pub facts: Vec<String>,
    /// Commands to run, in order (may be none).
    pub commands: Vec<String>,
}

impl Step {
    /// A step without commands.
    pub fn say(text: &str) -> Step {
        Step {
            say: text.to_string(),
            facts: Vec::new(),
            commands: Vec::new(),
        }
    }
}

/// Blocked threads with the same wait: the same lock, taken at the same place,
/// with the same top frames. Reports print each group as one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    /// The threads, in dump order.
    pub threads: Vec<usize>,
    /// The lock they wait for.
    pub lock: usize,
}

/// How many top frames must agree for two waits to fold.
const FOLD_FRAMES: usize = 3;

impl Report<'_, '_> {
    /// Group `threads` (blocked threads) by identical wait, first appearance first.
    pub fn fold(&self, threads: &[usize]) -> Vec<Fold> {
        let mut groups: Vec<Fold> = Vec::new();
        let mut index: std::collections::HashMap<(usize, String), usize> =
            std::collections::HashMap::new();
        for &t in threads {
            let Some((lock, ei)) = self.analysis.waits[t] else {
                continue;
            };
            let e = &self.snapshot.threads[t].entries[ei];
            let mut key = e.location.to_string();
            for f in e.backtrace.iter().take(FOLD_FRAMES) {
                key.push('\n');
                // The same code reached the same way prints the same frame lines.
                key.push_str(f);
            }
            let g = *index.entry((lock, key)).or_insert_with(|| {
                groups.push(Fold {
                    threads: Vec::new(),
                    lock,
                });
                groups.len() - 1
            });
            groups[g].threads.push(t);
        }
        groups
    }

    /// Identical waits folded into groups, or (verbose) one group per thread.
    pub fn groups(&self, threads: &[usize], verbose: bool) -> Vec<Fold> {
        if !verbose {
            return self.fold(threads);
        }
        threads
            .iter()
            .filter_map(|&t| {
                let (lock, _) = self.analysis.waits[t]?;
                Some(Fold {
                    threads: vec![t],
                    lock,
                })
            })
            .collect()
    }

    /// What every report says after naming the input: `, snapshot 2 of 3; 3
    /// threads, 2 locks, 3 waiting`.
    pub fn counts(&self) -> String {
        let plural = |n: usize, one: &str| {
            if n == 1 {
                format!("{n} {one}")
            } else {
                format!("{n} {one}s")
            }
        };
        let mut out = String::new();
        if self.snapshots > 1 {
            out.push_str(&format!(
                ", snapshot {} of {}",
                self.index + 1,
                self.snapshots
            ));
        }
        let waiting = self.analysis.waits.iter().filter(|x| x.is_some()).count();
        out.push_str(&format!(
            "; {}, {}, {waiting} waiting",
            plural(self.snapshot.threads.len(), "thread"),
            plural(self.analysis.locks.len(), "lock")
        ));
        out
    }

    /// Where a waiting thread asked for its lock: `file:line function()`.
    pub fn wait_site(&self, t: usize) -> Option<String> {
        let (_, ei) = self.analysis.waits[t]?;
        let loc = &self.snapshot.threads[t].entries[ei].location;
        (!loc.file.is_empty()).then(|| loc.to_string())
    }
}
