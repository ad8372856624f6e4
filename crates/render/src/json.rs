//! The JSON contract (schema_version 1) for scripts and monitoring.
//!
//! Fields are only ever added, never renamed. Thread ids and addresses are
//! exactly as printed in the dump; lists follow dump order.

use crate::Report;
use ast_locks_analysis::Root;
use serde::Serialize;
use std::io::{self, Write};

/// The schema version this module writes.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Doc<'r> {
    schema_version: u32,
    input: Input<'r>,
    verdict: String,
    threads: Vec<ThreadJ<'r>>,
    locks: Vec<LockJ<'r>>,
    deadlocks: Vec<DeadlockJ<'r>>,
    blocked: Vec<BlockedJ<'r>>,
    anomalies: Vec<AnomalyJ<'r>>,
}

#[derive(Serialize)]
struct Input<'r> {
    format: &'static str,
    joined: &'r [&'r str],
    notes: &'r [String],
    generation: Option<&'static str>,
    version: Option<&'r str>,
    snapshots: usize,
    /// 1-based number of the analysed snapshot.
    analysed_snapshot: usize,
    truncated: bool,
    warnings: Vec<WarningJ<'r>>,
}

#[derive(Serialize)]
struct WarningJ<'r> {
    line: usize,
    message: &'r str,
}

#[derive(Serialize)]
struct ThreadJ<'r> {
    id: &'r str,
    lwp: Option<u64>,
    name: &'r str,
    start_routine: Option<&'r str>,
    activity: Option<ActivityJ<'r>>,
    holds: Vec<&'r str>,
    waits_for: Option<WaitJ<'r>>,
}

#[derive(Serialize)]
struct ActivityJ<'r> {
    kind: &'static str,
    function: Option<&'r str>,
    file: Option<&'r str>,
    line: Option<u32>,
}

#[derive(Serialize)]
struct WaitJ<'r> {
    lock: &'r str,
    kind: &'static str,
}

#[derive(Serialize)]
struct LocJ<'r> {
    file: &'r str,
    line: u32,
    function: &'r str,
}

#[derive(Serialize)]
struct LockJ<'r> {
    addr: &'r str,
    name: &'r str,
    holders: Vec<&'r str>,
    waiters: Vec<&'r str>,
    locked_here: Vec<LocJ<'r>>,
}

#[derive(Serialize)]
struct DeadlockJ<'r> {
    threads: Vec<&'r str>,
    locks: Vec<&'r str>,
    shortest_cycle: Vec<&'r str>,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum RootJ<'r> {
    Deadlock(usize),
    Holder(&'r str),
    UnknownHolder(&'r str),
}

#[derive(Serialize)]
struct BlockedJ<'r> {
    thread: &'r str,
    lock: &'r str,
    root: RootJ<'r>,
    via: Vec<&'r str>,
}

#[derive(Serialize)]
struct AnomalyJ<'r> {
    thread: &'r str,
    message: &'r str,
}

fn dedup(mut v: Vec<&str>) -> Vec<&str> {
    let mut seen = Vec::new();
    v.retain(|x| {
        let fresh = !seen.contains(x);
        seen.push(*x);
        fresh
    });
    v
}

/// Write the JSON document, pretty-printed, with a final newline.
pub fn write(w: &mut impl Write, r: &Report<'_, '_>) -> io::Result<()> {
    let s = r.snapshot;
    let a = r.analysis;
    let tid = |i: usize| -> &str { &s.threads[i].id };
    let addr = |li: usize| -> &str { a.lock_label(s, li).1 };
    let doc = Doc {
        schema_version: SCHEMA_VERSION,
        input: Input {
            format: r.format.label(),
            joined: r.joined,
            notes: r.notes,
            generation: s.generation.map(|g| g.label()),
            version: s.version.as_deref(),
            snapshots: r.snapshots,
            analysed_snapshot: r.index + 1,
            truncated: s.truncated,
            warnings: r
                .warnings
                .iter()
                .map(|w| WarningJ {
                    line: w.line,
                    message: &w.message,
                })
                .collect(),
        },
        verdict: a.verdict(s),
        threads: s
            .threads
            .iter()
            .enumerate()
            .map(|(i, t)| ThreadJ {
                id: &t.id,
                lwp: t.lwp,
                name: &t.name,
                start_routine: t.start.as_ref().map(|st| st.routine.as_ref()),
                activity: t.activity.as_ref().map(|act| {
                    let f = act.frame.and_then(|i| t.stack.get(i));
                    ActivityJ {
                        kind: act.kind.label(),
                        function: f.map(|f| f.function.as_ref()),
                        file: f.and_then(|f| f.file.as_deref()),
                        line: f.and_then(|f| f.line),
                    }
                }),
                holds: a.held_locks(s, i).into_iter().map(addr).collect(),
                waits_for: a.waits[i].map(|(li, ei)| WaitJ {
                    lock: addr(li),
                    kind: t.entries[ei].kind.label(),
                }),
            })
            .collect(),
        locks: a
            .locks
            .iter()
            .enumerate()
            .map(|(li, l)| {
                let (name, address) = a.lock_label(s, li);
                LockJ {
                    addr: address,
                    name,
                    holders: dedup(l.holders.iter().map(|h| tid(h.thread)).collect()),
                    waiters: l.waiters.iter().map(|h| tid(h.thread)).collect(),
                    locked_here: a
                        .locked_here(s, li)
                        .into_iter()
                        .map(|loc| LocJ {
                            file: &loc.file,
                            line: loc.line,
                            function: &loc.function,
                        })
                        .collect(),
                }
            })
            .collect(),
        deadlocks: a
            .deadlocks
            .iter()
            .map(|d| DeadlockJ {
                threads: d.threads.iter().map(|&t| tid(t)).collect(),
                locks: d.locks.iter().map(|&l| addr(l)).collect(),
                shortest_cycle: d.cycle.iter().map(|&t| tid(t)).collect(),
            })
            .collect(),
        blocked: a
            .blocked
            .iter()
            .map(|b| BlockedJ {
                thread: tid(b.thread),
                lock: addr(b.lock),
                root: match b.root {
                    Root::Deadlock(d) => RootJ::Deadlock(d),
                    Root::Holder(h) => RootJ::Holder(tid(h)),
                    Root::UnknownHolder(l) => RootJ::UnknownHolder(addr(l)),
                },
                via: b.via.iter().map(|&t| tid(t)).collect(),
            })
            .collect(),
        anomalies: a
            .anomalies
            .iter()
            .map(|x| AnomalyJ {
                thread: tid(x.thread),
                message: &x.message,
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *w, &doc).map_err(|e| match e.io_error_kind() {
        // Keep the kind so that callers can tell a closed pipe from a real failure.
        Some(kind) => io::Error::new(kind, e),
        None => io::Error::other(e),
    })?;
    writeln!(w)
}
