//! The verdict on one snapshot: a deadlock, no deadlock, or undetermined.
//!
//! A cycle in the waits-for graph is a deadlock whatever else the input lacks.
//! Without one, "no deadlock" is said only when the input could have shown one:
//! a `core show locks` dump whole from banner to closing line (it lists every
//! tracked holder, so a lock no listed thread holds is orphaned, not unknown),
//! or backtraces whose awaited locks all had their owners looked up. When
//! what is missing could hide a cycle (owners not looked up, a paste cut short,
//! lock lines that could not be read, a read lock whose outcome depends on the
//! platform's rwlock policy), the verdict is undetermined, with each gap named.

use crate::{Analysis, Options, RwLockPolicy};
use ast_locks_model::{InputFormat, LockKind, LockState, Snapshot};

/// The three verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VerdictKind {
    /// The threads of a cycle wait for each other.
    Deadlock,
    /// The input could show a deadlock and shows none.
    NoDeadlock,
    /// The input can neither prove nor exclude a deadlock.
    Undetermined,
}

impl VerdictKind {
    /// The label of the JSON contract: `deadlock`, `no-deadlock`, `undetermined`.
    pub fn label(self) -> &'static str {
        match self {
            VerdictKind::Deadlock => "deadlock",
            VerdictKind::NoDeadlock => "no-deadlock",
            VerdictKind::Undetermined => "undetermined",
        }
    }
}

/// Something the input lacks that could hide a deadlock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gap {
    /// Threads wait for locks whose owners the input does not name, and nobody
    /// asked gdb: backtraces without owner look-ups.
    OwnersNotLookedUp {
        /// The awaited locks (lock indexes).
        locks: Vec<usize>,
        /// The threads waiting for them.
        threads: Vec<usize>,
        /// True when every one of them is a mutex.
        mutexes: bool,
    },
    /// gdb was asked and cannot name who holds these rwlocks: readers, whom
    /// glibc does not record.
    HeldByReaders {
        /// The awaited rwlocks.
        locks: Vec<usize>,
        /// The threads waiting for them.
        threads: Vec<usize>,
    },
    /// gdb names owners that are not among the threads of a paste that is not
    /// the whole `thread apply all bt`.
    OwnerNotInPaste {
        /// The awaited locks.
        locks: Vec<usize>,
        /// The owners' LWPs.
        lwps: Vec<u64>,
    },
    /// The dump is not whole: no banner, no closing line, or the input ends
    /// inside a thread block. Threads may be missing.
    CutShort {
        /// The input starts with thread blocks (no `Currently Held Locks` banner).
        no_banner: bool,
        /// No closing `=====` line after the last thread.
        no_end: bool,
        /// The input ends inside a thread block.
        truncated: bool,
        /// Threads waiting for locks that no listed thread holds: their holders
        /// may be among the threads left out.
        unknown_holders: Vec<usize>,
    },
    /// gdb stacks that are not every thread of the process: a paste of some
    /// threads, a bare `bt`, processes named in prose.
    PartialPaste {
        /// How many stacks the paste shows.
        shown: usize,
        /// The highest gdb thread number the paste names, when it names any.
        numbered_up_to: Option<u32>,
        /// Threads known by their innermost frame only (`info threads`).
        innermost_only: usize,
    },
    /// Threads wait for a lock whose address no frame shows (frames typed by
    /// hand, a C library without symbols).
    NoAddress {
        /// The waiting threads.
        threads: Vec<usize>,
    },
    /// Lock lines or thread headers that could not be read, by input line.
    Unreadable {
        /// 1-based input lines.
        lines: Vec<usize>,
    },
    /// A thread waits for a read lock it already holds while a writer waits:
    /// glibc grants it (no deadlock); a platform that prefers writers does not
    /// (a deadlock with the writer). Which one the dump shows depends on the
    /// platform.
    ReaderBehindWriter {
        /// The reader.
        thread: usize,
        /// The rwlock.
        lock: usize,
    },
}

impl Gap {
    /// A short label for JSON: `owners-not-looked-up`, `held-by-readers`, …
    pub fn label(&self) -> &'static str {
        match self {
            Gap::OwnersNotLookedUp { .. } => "owners-not-looked-up",
            Gap::HeldByReaders { .. } => "held-by-readers",
            Gap::OwnerNotInPaste { .. } => "owner-not-in-paste",
            Gap::PartialPaste { .. } => "partial-paste",
            Gap::NoAddress { .. } => "no-address",
            Gap::CutShort { .. } => "cut-short",
            Gap::Unreadable { .. } => "unreadable-lines",
            Gap::ReaderBehindWriter { .. } => "reader-behind-writer",
        }
    }

    /// What is missing, in a few words for the headline.
    pub fn describe(&self) -> String {
        match self {
            Gap::OwnersNotLookedUp {
                locks,
                threads,
                mutexes,
            } => format!(
                "{} for {} whose {} not in the input",
                waits(threads.len()),
                match (locks.len(), mutexes) {
                    (1, true) => "a mutex",
                    (1, false) => "a lock",
                    (_, true) => "mutexes",
                    (_, false) => "locks",
                },
                if locks.len() == 1 {
                    "owner is"
                } else {
                    "owners are"
                }
            ),
            Gap::HeldByReaders { locks, threads } => format!(
                "{} for {} held by readers, whom gdb cannot name",
                waits(threads.len()),
                plural(locks.len(), "rwlock", "rwlocks")
            ),
            Gap::OwnerNotInPaste { lwps, .. } => format!(
                "the {} of awaited locks ({}) {} not among the pasted threads",
                if lwps.len() == 1 { "owner" } else { "owners" },
                lwps.iter()
                    .map(|l| format!("LWP {l}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if lwps.len() == 1 { "is" } else { "are" }
            ),
            Gap::PartialPaste {
                innermost_only, ..
            } if *innermost_only > 0 => format!(
                "the paste shows only the innermost frame of {} (`info threads`): whole stacks are needed",
                plural(*innermost_only, "thread", "threads")
            ),
            Gap::PartialPaste {
                shown,
                numbered_up_to,
                ..
            } => match numbered_up_to {
                Some(n) if *n as usize > *shown => format!(
                    "the paste shows {} of at least {n} threads: the others may hold or wait for locks",
                    shown
                ),
                _ => format!(
                    "the paste shows {} and not the whole process: the rest may hold or wait for locks",
                    plural(*shown, "stack", "stacks")
                ),
            },
            Gap::NoAddress { threads } => format!(
                "{} for a lock whose address the paste does not show",
                waits(threads.len())
            ),
            Gap::CutShort {
                no_banner,
                no_end,
                truncated,
                unknown_holders,
            } => {
                let what = if *no_banner && *no_end {
                    "the input holds only part of a dump (no banner, no closing line)"
                } else if *truncated {
                    "the dump is cut short inside a thread block"
                } else if *no_banner {
                    "the dump starts without its banner"
                } else {
                    "the dump ends without its closing line"
                };
                if unknown_holders.is_empty() {
                    format!("{what}: threads may be missing")
                } else {
                    format!(
                        "{what}: {} for {} whose {} may be among the threads left out",
                        waits(unknown_holders.len()),
                        if unknown_holders.len() == 1 {
                            "a lock"
                        } else {
                            "locks"
                        },
                        if unknown_holders.len() == 1 {
                            "holder"
                        } else {
                            "holders"
                        }
                    )
                }
            }
            Gap::Unreadable { lines } => format!(
                "{} could not be read (first at line {})",
                plural(lines.len(), "lock line", "lock lines"),
                lines.first().copied().unwrap_or_default()
            ),
            Gap::ReaderBehindWriter { .. } => {
                "a thread waits for a read lock it already holds while a writer waits: \
                 a deadlock where the platform prefers writers, none with glibc"
                    .to_string()
            }
        }
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `1 thread waits`, `2 threads wait`.
fn waits(n: usize) -> String {
    if n == 1 {
        "1 thread waits".to_string()
    } else {
        format!("{n} threads wait")
    }
}

/// The verdict on one snapshot, and what the input lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Which of the three.
    pub kind: VerdictKind,
    /// The one-line verdict (`DEADLOCK: …`, `no cycle: …`, `UNDETERMINED: …`).
    pub headline: String,
    /// What could hide a deadlock, when undetermined (empty otherwise).
    pub gaps: Vec<Gap>,
}

/// Decide the verdict of `snapshot` from its analysis.
pub fn verdict(snapshot: &Snapshot<'_>, analysis: &Analysis, options: &Options) -> Verdict {
    if !analysis.deadlocks.is_empty() {
        return Verdict {
            kind: VerdictKind::Deadlock,
            headline: analysis.verdict(snapshot),
            gaps: Vec::new(),
        };
    }
    let gaps = gaps(snapshot, analysis, options);
    if gaps.is_empty() {
        return Verdict {
            kind: VerdictKind::NoDeadlock,
            headline: analysis.verdict(snapshot),
            gaps,
        };
    }
    let parts: Vec<String> = gaps.iter().map(Gap::describe).collect();
    Verdict {
        kind: VerdictKind::Undetermined,
        headline: format!("UNDETERMINED: {}", parts.join("; ")),
        gaps,
    }
}

/// Everything the input lacks that could hide a cycle, in a fixed order.
fn gaps(s: &Snapshot<'_>, a: &Analysis, options: &Options) -> Vec<Gap> {
    let mut out = Vec::new();
    if !s.unreadable.is_empty() {
        out.push(Gap::Unreadable {
            lines: s.unreadable.clone(),
        });
    }
    let unknown = unknown_holder_waits(a);
    match s.format {
        InputFormat::CoreShowLocks => out.extend(cut_short(s, &unknown)),
        InputFormat::CoredumperLocks => {}
        InputFormat::Gdb => {
            if !whole_gdb(s) {
                out.push(Gap::PartialPaste {
                    shown: s.threads.len(),
                    numbered_up_to: s.threads.iter().filter_map(|t| t.gdb_num).max(),
                    innermost_only: s.threads.iter().filter(|t| t.innermost_only).count(),
                });
            }
            out.extend(owner_gaps(s, a, &unknown));
        }
    }
    if options.rwlock_policy == RwLockPolicy::ReaderPreferring {
        out.extend(reader_behind_writer(s, a));
    }
    out
}

/// The locks that blocked threads are stuck behind and that no listed thread
/// holds, each with every thread that waits for it directly.
fn unknown_holder_waits(a: &Analysis) -> Vec<(usize, usize)> {
    a.unknown_holder_locks()
        .into_iter()
        .flat_map(|l| a.locks.get(l).waiters.iter().map(move |w| (w.thread, l)))
        .collect()
}

/// A `core show locks` dump without its banner or closing line, or cut inside a block.
fn cut_short(s: &Snapshot<'_>, unknown: &[(usize, usize)]) -> Option<Gap> {
    let no_banner = s.banner_line.is_none();
    let no_end = s.end_line.is_none();
    (no_banner || no_end || s.truncated).then(|| Gap::CutShort {
        no_banner,
        no_end,
        truncated: s.truncated,
        unknown_holders: unknown.iter().map(|&(t, _)| t).collect(),
    })
}

/// gdb backtraces: each lock awaited behind an unknown holder, by what gdb said of it.
fn owner_gaps(s: &Snapshot<'_>, a: &Analysis, unknown: &[(usize, usize)]) -> Vec<Gap> {
    let (mut unasked, mut unasked_threads) = (Vec::new(), Vec::new());
    let (mut readers, mut reader_threads) = (Vec::new(), Vec::new());
    let (mut absent, mut absent_lwps) = (Vec::new(), Vec::new());
    let mut no_address = Vec::new();
    let whole = whole_gdb(s);
    for &(thread, lock) in unknown {
        let first = a.locks.get(lock).first;
        let e = &s.threads[first.thread].entries[first.entry];
        if e.addr.is_empty() {
            no_address.push(thread);
            continue;
        }
        let answer = e
            .address()
            .and_then(|v| s.owners.iter().find(|o| o.addr == v));
        match answer {
            None => {
                push_unique(&mut unasked, lock);
                unasked_threads.push(thread);
            }
            Some(o) if o.lwp == 0 && (o.rwlock_writer || e.kind.is_rwlock()) => {
                push_unique(&mut readers, lock);
                reader_threads.push(thread);
            }
            // A free mutex: the waits on it were moving.
            Some(o) if o.lwp == 0 => {}
            // An owner that is no thread of a whole capture exited holding it:
            // the lock is orphaned, which the input does show.
            Some(_) if whole => {}
            Some(o) => {
                push_unique(&mut absent, lock);
                absent_lwps.push(o.lwp);
            }
        }
    }
    let mut out = Vec::new();
    if !no_address.is_empty() {
        out.push(Gap::NoAddress {
            threads: no_address,
        });
    }
    if !unasked.is_empty() {
        let mutexes = unasked.iter().all(|&l| {
            let first = a.locks.get(l).first;
            s.threads[first.thread].entries[first.entry].kind == LockKind::Mutex
        });
        out.push(Gap::OwnersNotLookedUp {
            locks: unasked,
            threads: unasked_threads,
            mutexes,
        });
    }
    if !readers.is_empty() {
        out.push(Gap::HeldByReaders {
            locks: readers,
            threads: reader_threads,
        });
    }
    if !absent.is_empty() {
        absent_lwps.sort_unstable();
        absent_lwps.dedup();
        out.push(Gap::OwnerNotInPaste {
            locks: absent,
            lwps: absent_lwps,
        });
    }
    out
}

fn push_unique(v: &mut Vec<usize>, x: usize) {
    if !v.contains(&x) {
        v.push(x);
    }
}

/// True when the backtraces are every thread of the process, each with its stack.
pub fn whole_gdb(s: &Snapshot<'_>) -> bool {
    s.all_threads
}

/// A reader waiting for a read lock it holds while a writer waits for the same lock.
fn reader_behind_writer(s: &Snapshot<'_>, a: &Analysis) -> Option<Gap> {
    for (t, wait) in a.waits.iter().enumerate() {
        let Some((lock, ei)) = *wait else { continue };
        if s.threads[t].entries[ei].kind != LockKind::RdLock {
            continue;
        }
        let l = a.locks.get(lock);
        let holds = l.holders.iter().any(|h| h.thread == t);
        let writer_waits = l.waiters.iter().any(|w| {
            let e = &s.threads[w.thread].entries[w.entry];
            w.thread != t && e.kind == LockKind::WrLock && e.state == LockState::Waiting
        });
        if holds && writer_waits {
            return Some(Gap::ReaderBehindWriter { thread: t, lock });
        }
    }
    None
}
