//! Hang or contention: what several snapshots of one process say together, how
//! long awaited locks have been held (Asterisk 21+ prints it), and trylock loops.
//!
//! A single dump is not an atomic snapshot and a busy PBX always has waiters. A
//! wait that persists (same thread, same lock, same holder) across snapshots taken
//! apart in time, a cycle present in every snapshot, or a convoy that grows behind
//! the same holder tell a freeze from contention.

use crate::{Analysis, Root};
use ast_locks_model::{LockState, Snapshot};

/// A thread across snapshots: its id and LWP as printed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ThreadKey {
    /// Thread id as printed.
    pub id: String,
    /// LWP, when printed.
    pub lwp: Option<u64>,
}

impl ThreadKey {
    fn of(s: &Snapshot<'_>, t: usize) -> ThreadKey {
        ThreadKey {
            id: s.threads[t].id.to_string(),
            lwp: s.threads[t].lwp,
        }
    }
}

impl std::fmt::Display for ThreadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.lwp {
            Some(l) => write!(f, "thread {} (LWP {l})", self.id),
            None => write!(f, "thread {}", self.id),
        }
    }
}

/// `both` snapshots, `all 3` snapshots.
pub fn all_of(n: usize) -> String {
    if n == 2 {
        "both".to_string()
    } else {
        format!("all {n}")
    }
}

/// A holder that has held an awaited lock longer than the threshold (21+ timings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stall {
    /// Holder thread index.
    pub thread: usize,
    /// Lock index.
    pub lock: usize,
    /// How long it has been held, in microseconds.
    pub held_for_micros: u64,
    /// The held-for value as printed.
    pub held_for: String,
    /// How many threads wait for the lock.
    pub waiters: usize,
}

/// Holders of awaited locks held longer than `after_micros`, longest first.
pub fn stalls(s: &Snapshot<'_>, a: &Analysis, after_micros: u64) -> Vec<Stall> {
    let mut out = Vec::new();
    for (li, lock) in a.locks.iter().enumerate() {
        if lock.waiters.is_empty() {
            continue;
        }
        for h in lock.holders {
            let e = &s.threads[h.thread].entries[h.entry];
            let Some(timing) = &e.timing else { continue };
            let Some(us) = timing.held_for().micros else {
                continue;
            };
            if us > after_micros {
                out.push(Stall {
                    thread: h.thread,
                    lock: li,
                    held_for_micros: us,
                    held_for: timing.held_for().text.to_string(),
                    waiters: lock.waiters.len(),
                });
            }
        }
    }
    out.sort_by(|x, y| {
        y.held_for_micros
            .cmp(&x.held_for_micros)
            .then(x.thread.cmp(&y.thread))
    });
    out
}

/// The awaited lock held longest (21+ timings), whatever the threshold.
pub fn longest_held(s: &Snapshot<'_>, a: &Analysis) -> Option<Stall> {
    stalls(s, a, 0).into_iter().next()
}

/// A failed trylock, with how often it was tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trylock {
    /// Thread index.
    pub thread: usize,
    /// Entry index in the thread.
    pub entry: usize,
    /// Attempts (21+), when printed.
    pub attempts: Option<u32>,
    /// True when the count suggests a back-off loop that does not get through.
    pub suspect: bool,
}

/// Attempts from which a failing trylock looks like a loop that never gets the lock.
pub const TRYLOCK_SUSPECT_ATTEMPTS: u32 = 100;

/// Every tried-and-failed entry; suspect when tried at least
/// [`TRYLOCK_SUSPECT_ATTEMPTS`] times.
pub fn trylocks(s: &Snapshot<'_>) -> Vec<Trylock> {
    let mut out = Vec::new();
    for (ti, t) in s.threads.iter().enumerate() {
        for (ei, e) in t.entries.iter().enumerate() {
            if e.state == LockState::TriedAndFailed {
                out.push(Trylock {
                    thread: ti,
                    entry: ei,
                    attempts: e.attempts,
                    suspect: e.attempts.is_some_and(|n| n >= TRYLOCK_SUSPECT_ATTEMPTS),
                });
            }
        }
    }
    out
}

/// Mark as suspect the failed trylocks of the last snapshot whose thread failed to
/// get the same lock in every snapshot of the series (a back-off loop that never
/// gets through), whatever their attempt counts.
pub fn mark_repeated_trylocks(snapshots: &[&Snapshot<'_>], last: &mut [Trylock]) {
    let Some(s) = snapshots.last() else { return };
    if snapshots.len() < 2 {
        return;
    }
    for x in last.iter_mut() {
        let key = ThreadKey::of(s, x.thread);
        let addr = &s.threads[x.thread].entries[x.entry].addr;
        let everywhere = snapshots.iter().all(|snap| {
            snap.threads.iter().enumerate().any(|(ti, t)| {
                ThreadKey::of(snap, ti) == key
                    && t.entries
                        .iter()
                        .any(|e| e.state == LockState::TriedAndFailed && e.addr == *addr)
            })
        });
        if everywhere {
            x.suspect = true;
        }
    }
}

/// A wait followed across snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesWait {
    /// The waiting thread.
    pub thread: ThreadKey,
    /// The lock's address as printed.
    pub lock: String,
    /// The lock's name.
    pub name: String,
    /// Who holds it (by key), as seen in the first snapshot it appears in.
    pub holders: Vec<ThreadKey>,
    /// In which snapshots this same wait (thread, lock, holders) is seen.
    pub seen: Vec<bool>,
}

/// A deadlock followed across snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesCycle {
    /// Member threads, sorted.
    pub threads: Vec<ThreadKey>,
    /// Lock addresses, sorted.
    pub locks: Vec<String>,
    /// In which snapshots it is seen.
    pub seen: Vec<bool>,
}

/// Threads waiting on one lock, counted in each snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Convoy {
    /// The lock's address as printed.
    pub lock: String,
    /// Its name.
    pub name: String,
    /// Waiters in each snapshot.
    pub sizes: Vec<usize>,
    /// The holder in each snapshot, when one thread holds it.
    pub holders: Vec<Option<ThreadKey>>,
}

impl Convoy {
    /// Never shrinking and larger at the end than at the start.
    pub fn growing(&self) -> bool {
        self.sizes.windows(2).all(|w| w[1] >= w[0]) && self.sizes.last() > self.sizes.first()
    }

    /// The same holder in every snapshot.
    pub fn same_holder(&self) -> bool {
        self.holders.first().is_some_and(|h| h.is_some())
            && self.holders.windows(2).all(|w| w[0] == w[1])
    }
}

/// What a series of snapshots says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeriesVerdict {
    /// The same deadlock is in every snapshot (index into [`Series::cycles`]).
    ConfirmedDeadlock(usize),
    /// A holder kept the same awaited lock in every snapshot while threads waited
    /// (index into [`Series::convoys`]).
    StuckHolder(usize),
    /// A deadlock in some snapshots only (index into [`Series::cycles`]).
    TransientDeadlock(usize),
    /// Waits, but none the same in every snapshot.
    Contention,
    /// No thread waits in any snapshot.
    Calm,
}

/// The series analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// How many snapshots.
    pub snapshots: usize,
    /// Every distinct wait.
    pub waits: Vec<SeriesWait>,
    /// Every distinct deadlock.
    pub cycles: Vec<SeriesCycle>,
    /// Locks with two or more waiters in some snapshot.
    pub convoys: Vec<Convoy>,
    /// The conclusion.
    pub verdict: SeriesVerdict,
}

impl Series {
    /// The conclusion in one line.
    pub fn headline(&self) -> String {
        let n = self.snapshots;
        let keys = |ks: &[ThreadKey]| {
            ks.iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match &self.verdict {
            SeriesVerdict::ConfirmedDeadlock(c) => {
                let c = &self.cycles[*c];
                format!(
                    "FREEZE CONFIRMED: the same deadlock in {} snapshots: {} (locks {})",
                    all_of(n),
                    keys(&c.threads),
                    c.locks.join(", ")
                )
            }
            SeriesVerdict::StuckHolder(i) => {
                let c = &self.convoys[*i];
                let holder = c.holders[0].as_ref().map(|h| h.to_string()).unwrap_or_default();
                let sizes: Vec<String> = c.sizes.iter().map(|s| s.to_string()).collect();
                format!(
                    "FREEZE LIKELY: {holder} held {} {} in {} snapshots while threads waited ({})",
                    c.name,
                    c.lock,
                    all_of(n),
                    sizes.join(" → ")
                )
            }
            SeriesVerdict::TransientDeadlock(c) => {
                let cy = &self.cycles[*c];
                let k = cy.seen.iter().filter(|s| **s).count();
                format!(
                    "POSSIBLE TRANSIENT: a deadlock seen in {k} of {n} snapshots: {}",
                    keys(&cy.threads)
                )
            }
            SeriesVerdict::Contention => format!(
                "CONTENTION, NOT A HANG: threads wait in the snapshots, but no wait is the same in {}",
                all_of(n)
            ),
            SeriesVerdict::Calm => format!("no freeze: no thread waits in any of the {n} snapshots"),
        }
    }
}

/// Follow waits, deadlocks and convoys across snapshots (in time order).
pub fn series(snapshots: &[&Snapshot<'_>], analyses: &[&Analysis]) -> Series {
    let n = snapshots.len();
    let mut waits: Vec<SeriesWait> = Vec::new();
    let mut cycles: Vec<SeriesCycle> = Vec::new();
    let mut convoys: Vec<Convoy> = Vec::new();
    for (si, (s, a)) in snapshots.iter().zip(analyses).enumerate() {
        for (t, w) in a.waits.iter().enumerate() {
            let Some((li, _)) = w else { continue };
            let (name, addr) = a.lock_label(s, *li);
            let mut holders: Vec<ThreadKey> = a
                .edges
                .iter()
                .filter(|e| e.waiter == t && e.lock == *li)
                .map(|e| ThreadKey::of(s, e.blocker))
                .collect();
            holders.sort();
            let key = ThreadKey::of(s, t);
            match waits
                .iter_mut()
                .find(|x| x.thread == key && x.lock == addr && x.holders == holders)
            {
                Some(x) => x.seen[si] = true,
                None => {
                    let mut seen = vec![false; n];
                    seen[si] = true;
                    waits.push(SeriesWait {
                        thread: key,
                        lock: addr.to_string(),
                        name: name.to_string(),
                        holders,
                        seen,
                    });
                }
            }
        }
        for d in &a.deadlocks {
            let mut threads: Vec<ThreadKey> =
                d.threads.iter().map(|&t| ThreadKey::of(s, t)).collect();
            threads.sort();
            let mut locks: Vec<String> = d
                .locks
                .iter()
                .map(|&l| a.lock_label(s, l).1.to_string())
                .collect();
            locks.sort();
            match cycles
                .iter_mut()
                .find(|c| c.threads == threads && c.locks == locks)
            {
                Some(c) => c.seen[si] = true,
                None => {
                    let mut seen = vec![false; n];
                    seen[si] = true;
                    cycles.push(SeriesCycle {
                        threads,
                        locks,
                        seen,
                    });
                }
            }
        }
        for (li, lock) in a.locks.iter().enumerate() {
            if lock.waiters.is_empty() {
                continue;
            }
            let (name, addr) = a.lock_label(s, li);
            let mut holder_threads: Vec<usize> = lock.holders.iter().map(|h| h.thread).collect();
            holder_threads.dedup();
            let holder = match holder_threads.as_slice() {
                [one] => Some(ThreadKey::of(s, *one)),
                _ => None,
            };
            let c = match convoys.iter_mut().position(|c| c.lock == addr) {
                Some(i) => &mut convoys[i],
                None => {
                    convoys.push(Convoy {
                        lock: addr.to_string(),
                        name: name.to_string(),
                        sizes: vec![0; n],
                        holders: vec![None; n],
                    });
                    let last = convoys.len() - 1;
                    &mut convoys[last]
                }
            };
            c.sizes[si] = lock.waiters.len();
            c.holders[si] = holder;
        }
    }
    convoys.retain(|c| c.sizes.iter().any(|&s| s >= 2) || c.same_holder());
    let all = |seen: &[bool]| seen.iter().all(|s| *s);
    let stuck_root = |c: &Convoy| -> bool {
        // The holder must itself be a root (not waiting) in the last snapshot, or
        // the convoy is only a symptom of something further down.
        c.same_holder()
            && c.sizes.iter().all(|&s| s >= 1)
            && analyses.last().is_some_and(|a| {
                a.roots.iter().any(|r| match r.root {
                    Root::Holder(h) => snapshots
                        .last()
                        .is_some_and(|s| Some(ThreadKey::of(s, h)) == c.holders[n - 1]),
                    _ => false,
                })
            })
    };
    let verdict = if let Some(i) = cycles.iter().position(|c| all(&c.seen)) {
        SeriesVerdict::ConfirmedDeadlock(i)
    } else if let Some(i) = (0..convoys.len())
        .filter(|&i| stuck_root(&convoys[i]))
        .max_by_key(|&i| (convoys[i].sizes.last().copied(), std::cmp::Reverse(i)))
    {
        SeriesVerdict::StuckHolder(i)
    } else if let Some(i) = (0..cycles.len()).max_by_key(|&i| {
        (
            cycles[i].seen.iter().filter(|s| **s).count(),
            std::cmp::Reverse(i),
        )
    }) {
        SeriesVerdict::TransientDeadlock(i)
    } else if !waits.is_empty() {
        SeriesVerdict::Contention
    } else {
        SeriesVerdict::Calm
    };
    Series {
        snapshots: n,
        waits,
        cycles,
        convoys,
        verdict,
    }
}

/// What changed between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diff {
    /// Waits only in the new snapshot.
    pub appeared: Vec<SeriesWait>,
    /// Waits only in the old one.
    pub disappeared: Vec<SeriesWait>,
    /// Waits in both.
    pub persisted: Vec<SeriesWait>,
    /// Deadlocks only in the new one.
    pub new_deadlocks: Vec<SeriesCycle>,
    /// Deadlocks only in the old one.
    pub gone_deadlocks: Vec<SeriesCycle>,
    /// Deadlocks in both.
    pub kept_deadlocks: Vec<SeriesCycle>,
}

impl Diff {
    /// True when nothing appeared or disappeared.
    pub fn unchanged(&self) -> bool {
        self.appeared.is_empty()
            && self.disappeared.is_empty()
            && self.new_deadlocks.is_empty()
            && self.gone_deadlocks.is_empty()
    }
}

/// Compare two snapshots.
pub fn diff(old: (&Snapshot<'_>, &Analysis), new: (&Snapshot<'_>, &Analysis)) -> Diff {
    let s = series(&[old.0, new.0], &[old.1, new.1]);
    let mut d = Diff::default();
    for w in s.waits {
        match (w.seen[0], w.seen[1]) {
            (true, true) => d.persisted.push(w),
            (true, false) => d.disappeared.push(w),
            _ => d.appeared.push(w),
        }
    }
    for c in s.cycles {
        match (c.seen[0], c.seen[1]) {
            (true, true) => d.kept_deadlocks.push(c),
            (true, false) => d.gone_deadlocks.push(c),
            _ => d.new_deadlocks.push(c),
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{analyze, Options};
    use ast_locks_model::{Clock, LockEntry, LockKind, Thread, Timing};
    use proptest::prelude::*;

    fn t(id: &str, lwp: u64, entries: &[(LockState, &str)]) -> Thread<'static> {
        let mut th = Thread::new(id.to_string());
        th.lwp = Some(lwp);
        for (i, &(st, addr)) in entries.iter().enumerate() {
            let mut e = LockEntry::new(i as u32, st, LockKind::Mutex, addr.to_string());
            e.name = format!("lock{addr}").into();
            th.entries.push(e);
        }
        th
    }

    fn snap(threads: Vec<Thread<'static>>) -> Snapshot<'static> {
        Snapshot {
            threads,
            ..Snapshot::default()
        }
    }

    fn run(snaps: &[Snapshot<'static>]) -> Series {
        let analyses: Vec<Analysis> = snaps
            .iter()
            .map(|s| analyze(s, &Options::default()))
            .collect();
        let refs: Vec<&Snapshot<'_>> = snaps.iter().collect();
        let arefs: Vec<&Analysis> = analyses.iter().collect();
        series(&refs, &arefs)
    }

    use LockState::{Held, Waiting};

    fn abba() -> Vec<Thread<'static>> {
        vec![
            t("0xa", 1, &[(Held, "0x1"), (Waiting, "0x2")]),
            t("0xb", 2, &[(Held, "0x2"), (Waiting, "0x1")]),
        ]
    }

    #[test]
    fn a_cycle_in_every_snapshot_is_a_confirmed_freeze() {
        let s = run(&[snap(abba()), snap(abba()), snap(abba())]);
        assert_eq!(s.verdict, SeriesVerdict::ConfirmedDeadlock(0));
        assert!(s
            .headline()
            .starts_with("FREEZE CONFIRMED: the same deadlock in all 3 snapshots"));
    }

    #[test]
    fn a_cycle_seen_once_is_a_possible_transient() {
        let quiet = || snap(vec![t("0xc", 3, &[(Held, "0x1")])]);
        let s = run(&[quiet(), snap(abba()), quiet()]);
        assert_eq!(s.verdict, SeriesVerdict::TransientDeadlock(0));
        assert_eq!(s.cycles[0].seen, vec![false, true, false]);
    }

    #[test]
    fn a_growing_convoy_behind_one_holder_is_a_likely_freeze() {
        let snap_n = |n: u64| {
            let mut ts = vec![t("0xh", 9, &[(Held, "0x1")])];
            for i in 0..n {
                ts.push(t(&format!("0x{i}"), 100 + i, &[(Waiting, "0x1")]));
            }
            snap(ts)
        };
        let s = run(&[snap_n(2), snap_n(3), snap_n(5)]);
        assert_eq!(s.verdict, SeriesVerdict::StuckHolder(0));
        assert_eq!(s.convoys[0].sizes, vec![2, 3, 5]);
        assert!(s.convoys[0].growing());
        assert!(s.headline().contains("(2 → 3 → 5)"));
    }

    #[test]
    fn changing_waits_are_contention() {
        let a = snap(vec![
            t("0xh", 9, &[(Held, "0x1")]),
            t("0xw", 10, &[(Waiting, "0x1")]),
        ]);
        let b = snap(vec![
            t("0xg", 11, &[(Held, "0x2")]),
            t("0xv", 12, &[(Waiting, "0x2")]),
        ]);
        assert_eq!(run(&[a, b]).verdict, SeriesVerdict::Contention);
        let calm = || snap(vec![t("0xh", 9, &[(Held, "0x1")])]);
        assert_eq!(run(&[calm(), calm()]).verdict, SeriesVerdict::Calm);
    }

    #[test]
    fn stalls_need_timings_and_the_threshold() {
        let mut s = snap(vec![
            t("0xh", 9, &[(Held, "0x1")]),
            t("0xw", 10, &[(Waiting, "0x1")]),
        ]);
        let a0 = analyze(&s, &Options::default());
        assert!(stalls(&s, &a0, 0).is_empty(), "no timing, no stall");
        s.threads[0].entries[0].timing = Some(Timing::new(
            Clock::from_micros(0),
            Clock::from_micros(0),
            Clock::from_micros(47_750_000),
        ));
        let a = analyze(&s, &Options::default());
        assert_eq!(stalls(&s, &a, 5_000_000).len(), 1);
        assert!(stalls(&s, &a, 60_000_000).is_empty());
        assert_eq!(
            longest_held(&s, &a).map(|x| x.held_for),
            Some("00:00:47.750000".to_string())
        );
    }

    #[test]
    fn trylock_loops_are_suspect() {
        let mut s = snap(vec![t(
            "0xa",
            1,
            &[(Held, "0x1"), (LockState::TriedAndFailed, "0x2")],
        )]);
        assert!(!trylocks(&s)[0].suspect);
        s.threads[0].entries[1].attempts = Some(277);
        assert!(trylocks(&s)[0].suspect);
    }

    fn any_snapshot() -> impl Strategy<Value = Snapshot<'static>> {
        prop::collection::vec(
            (
                prop::collection::vec(0u8..4, 0..3),
                prop::option::of(0u8..4),
            ),
            0..6,
        )
        .prop_map(|threads| {
            snap(
                threads
                    .into_iter()
                    .enumerate()
                    .map(|(i, (held, wait))| {
                        let mut e: Vec<(LockState, String)> =
                            held.into_iter().map(|l| (Held, format!("0x{l}"))).collect();
                        if let Some(w) = wait {
                            e.push((Waiting, format!("0x{w}")));
                        }
                        let refs: Vec<(LockState, &str)> =
                            e.iter().map(|(s, a)| (*s, a.as_str())).collect();
                        t(&format!("0x{i:x}"), i as u64, &refs)
                    })
                    .collect(),
            )
        })
    }

    proptest! {
        #[test]
        fn a_dump_compared_with_itself_has_nothing_changed(s in any_snapshot()) {
            let a = analyze(&s, &Options::default());
            let d = diff((&s, &a), (&s, &a));
            prop_assert!(d.unchanged());
            prop_assert_eq!(d.persisted.len(), a.waits.iter().filter(|w| w.is_some()).count());
            prop_assert_eq!(d.kept_deadlocks.len(), a.deadlocks.len());
        }
    }
}
