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
    /// `deadlock`, `no-deadlock` or `undetermined`.
    verdict_kind: &'static str,
    /// What the input lacks, when the verdict is undetermined.
    undetermined: Vec<GapJ>,
    threads: Lazy<Box<dyn Iterator<Item = ThreadJ<'r>> + 'r>>,
    locks: Lazy<Box<dyn Iterator<Item = LockJ<'r>> + 'r>>,
    deadlocks: Vec<DeadlockJ<'r>>,
    blocked: Vec<BlockedJ<'r>>,
    anomalies: Vec<AnomalyJ<'r>>,
    stalls: Vec<StallJ<'r>>,
    longest_held: Option<StallJ<'r>>,
    potential_deadlocks: Vec<PotentialJ<'r>>,
    trylock_failures: Vec<TrylockJ<'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    series: Option<SeriesJ<'r>>,
}

/// A list written as it is made, never held whole: the threads and locks of
/// a big dump would otherwise be a second copy of it in memory.
struct Lazy<I>(std::cell::RefCell<Option<I>>);

impl<I> Lazy<I> {
    fn new(items: I) -> Self {
        Lazy(std::cell::RefCell::new(Some(items)))
    }
}

impl<I: Iterator> Serialize for Lazy<I>
where
    I::Item: Serialize,
{
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Written once: the document is serialised once.
        let items = self.0.borrow_mut().take();
        serializer.collect_seq(items.into_iter().flatten())
    }
}

#[derive(Serialize)]
struct GapJ {
    kind: &'static str,
    message: String,
}

#[derive(Serialize)]
struct StallJ<'r> {
    thread: &'r str,
    lock: &'r str,
    held_for: &'r str,
    held_for_seconds: f64,
    waiters: usize,
}

#[derive(Serialize)]
struct EvidenceJ<'r> {
    snapshot: usize,
    thread: &'r str,
    first_addr: &'r str,
    first_at: Option<&'r str>,
    then_addr: &'r str,
    then_at: Option<&'r str>,
    waiting: bool,
}

#[derive(Serialize)]
struct StepJ<'r> {
    first: &'r str,
    then: &'r str,
    /// How many times this order was seen; `evidence` holds the first ones.
    count: usize,
    evidence: Vec<EvidenceJ<'r>>,
}

#[derive(Serialize)]
struct PotentialJ<'r> {
    classes: &'r [String],
    confidence: &'static str,
    addresses: &'r [String],
    steps: Vec<StepJ<'r>>,
}

#[derive(Serialize)]
struct TrylockJ<'r> {
    thread: &'r str,
    lock: &'r str,
    name: &'r str,
    attempts: Option<u32>,
    suspect: bool,
}

#[derive(Serialize)]
struct KeyJ<'r> {
    id: &'r str,
    lwp: Option<u64>,
}

#[derive(Serialize)]
struct SeriesCycleJ<'r> {
    threads: Vec<KeyJ<'r>>,
    locks: &'r [String],
    seen: &'r [bool],
}

#[derive(Serialize)]
struct ConvoyJ<'r> {
    lock: &'r str,
    name: &'r str,
    sizes: &'r [usize],
    holders: Vec<Option<KeyJ<'r>>>,
    growing: bool,
}

#[derive(Serialize)]
struct SeriesWaitJ<'r> {
    thread: KeyJ<'r>,
    lock: &'r str,
    holders: Vec<KeyJ<'r>>,
    seen: &'r [bool],
}

#[derive(Serialize)]
struct SeriesJ<'r> {
    snapshots: usize,
    verdict: &'static str,
    headline: String,
    deadlocks: Vec<SeriesCycleJ<'r>>,
    convoys: Vec<ConvoyJ<'r>>,
    waits: Vec<SeriesWaitJ<'r>>,
}

#[derive(Serialize)]
struct Input<'r> {
    format: &'static str,
    joined: &'r [&'r str],
    notes: &'r [String],
    /// Inputs that do not belong together (owner look-ups or backtraces of another process?).
    mismatches: &'r [String],
    /// Why snapshots were left out of the series.
    series_notes: &'r [String],
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
    /// gdb's thread number (`Thread 164`), when the input came from gdb.
    gdb_thread: Option<u32>,
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
    /// The lock's address; null when the input does not show it.
    lock: Option<&'r str>,
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

fn stall<'r>(r: &Report<'r, '_>, x: &'r ast_locks_analysis::series::Stall) -> StallJ<'r> {
    StallJ {
        thread: &r.snapshot.threads[x.thread].id,
        lock: r.analysis.lock_label(r.snapshot, x.lock).1,
        held_for: &x.held_for,
        held_for_seconds: x.held_for_micros as f64 / 1e6,
        waiters: x.waiters,
    }
}

fn key(k: &ast_locks_analysis::series::ThreadKey) -> KeyJ<'_> {
    KeyJ {
        id: &k.id,
        lwp: k.lwp,
    }
}

fn series(s: &ast_locks_analysis::series::Series) -> SeriesJ<'_> {
    use ast_locks_analysis::series::SeriesVerdict;
    SeriesJ {
        snapshots: s.snapshots,
        verdict: match s.verdict {
            SeriesVerdict::ConfirmedDeadlock(_) => "confirmed-deadlock",
            SeriesVerdict::StuckHolder(_) => "stuck-holder",
            SeriesVerdict::TransientDeadlock(_) => "transient-deadlock",
            SeriesVerdict::Contention => "contention",
            SeriesVerdict::Calm => "calm",
        },
        headline: s.headline(),
        deadlocks: s
            .cycles
            .iter()
            .map(|c| SeriesCycleJ {
                threads: c.threads.iter().map(key).collect(),
                locks: &c.locks,
                seen: &c.seen,
            })
            .collect(),
        convoys: s
            .convoys
            .iter()
            .map(|c| ConvoyJ {
                lock: &c.lock,
                name: &c.name,
                sizes: &c.sizes,
                holders: c.holders.iter().map(|h| h.as_ref().map(key)).collect(),
                growing: c.growing(),
            })
            .collect(),
        waits: s
            .waits
            .iter()
            .map(|w| SeriesWaitJ {
                thread: key(&w.thread),
                lock: &w.lock,
                holders: w.holders.iter().map(key).collect(),
                seen: &w.seen,
            })
            .collect(),
    }
}

fn dedup(mut v: Vec<&str>) -> Vec<&str> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|x| seen.insert(*x));
    v
}

/// Write the JSON document, pretty-printed, with a final newline.
pub fn write(w: &mut impl Write, r: &Report<'_, '_>) -> io::Result<()> {
    let s = r.snapshot;
    let a = r.analysis;
    let tid = move |i: usize| -> &str { &s.threads[i].id };
    let addr = move |li: usize| -> &str { a.lock_label(s, li).1 };
    let doc = Doc {
        schema_version: SCHEMA_VERSION,
        input: Input {
            format: r.format.label(),
            joined: r.joined,
            notes: r.notes,
            mismatches: r.mismatches,
            series_notes: r.series_notes,
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
        verdict: r.headline(),
        verdict_kind: r.verdict.kind.label(),
        undetermined: r
            .verdict
            .gaps
            .iter()
            .map(|g| GapJ {
                kind: g.label(),
                message: g.describe(),
            })
            .collect(),
        threads: Lazy::new(Box::new(s.threads.iter().enumerate().map(move |(i, t)| {
            ThreadJ {
                id: &t.id,
                lwp: t.lwp,
                gdb_thread: t.gdb_num,
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
                    lock: Some(addr(li)).filter(|a| !a.is_empty()),
                    kind: t.entries[ei].kind.label(),
                }),
            }
        }))),
        locks: Lazy::new(Box::new(a.locks.iter().enumerate().map(move |(li, l)| {
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
        }))),
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
        stalls: r.stalls.iter().map(|x| stall(r, x)).collect(),
        longest_held: r.longest_held.map(|x| stall(r, x)),
        potential_deadlocks: r
            .potential
            .iter()
            .map(|p| PotentialJ {
                classes: &p.classes,
                confidence: p.confidence.label(),
                addresses: &p.addresses,
                steps: p
                    .steps
                    .iter()
                    .enumerate()
                    .map(|(k, ev)| StepJ {
                        first: &p.classes[k],
                        then: &p.classes[(k + 1) % p.classes.len()],
                        count: p.counts.get(k).copied().unwrap_or(ev.len()),
                        evidence: ev
                            .iter()
                            .map(|e| EvidenceJ {
                                snapshot: e.snapshot + 1,
                                thread: &e.thread,
                                first_addr: &e.first_addr,
                                first_at: e.first_at.as_deref(),
                                then_addr: &e.then_addr,
                                then_at: e.then_at.as_deref(),
                                waiting: e.waiting,
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
        trylock_failures: r
            .trylocks
            .iter()
            .map(|x| {
                let e = &s.threads[x.thread].entries[x.entry];
                TrylockJ {
                    thread: tid(x.thread),
                    lock: &e.addr,
                    name: &e.name,
                    attempts: x.attempts,
                    suspect: x.suspect,
                }
            })
            .collect(),
        series: r.series.map(series),
    };
    serde_json::to_writer_pretty(&mut *w, &doc).map_err(|e| match e.io_error_kind() {
        // Keep the kind so that callers can tell a closed pipe from a real failure.
        Some(kind) => io::Error::new(kind, e),
        None => io::Error::other(e),
    })?;
    writeln!(w)
}
