use super::*;
use ast_locks_model::{LockEntry, Thread};
use proptest::prelude::*;

use LockKind::{Mutex, RdLock, WrLock};
use LockState::{Held, TriedAndFailed, Waiting};

/// A thread `id` with entries `(state, kind, addr)`.
fn t(id: &str, entries: &[(LockState, LockKind, &str)]) -> Thread<'static> {
    let mut th = Thread::new(id.to_string());
    for (i, &(st, kind, addr)) in entries.iter().enumerate() {
        let mut e = LockEntry::new(i as u32, st, kind, addr.to_string());
        e.name = format!("lock_{addr}").into();
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

fn run(s: &Snapshot<'_>) -> Analysis {
    analyze(s, &Options::default())
}

#[test]
fn two_cycle_is_a_deadlock() {
    let s = snap(vec![
        t("0xa", &[(Held, Mutex, "0x1"), (Waiting, Mutex, "0x2")]),
        t("0xb", &[(Held, Mutex, "0x2"), (Waiting, Mutex, "0x1")]),
        t("0xc", &[(Waiting, Mutex, "0x2")]),
    ]);
    let a = run(&s);
    assert_eq!(a.deadlocks.len(), 1);
    assert_eq!(a.deadlocks[0].threads, vec![0, 1]);
    assert_eq!(a.deadlocks[0].cycle, vec![0, 1]);
    assert_eq!(a.deadlocks[0].cycle_locks, vec![1, 0]);
    assert_eq!(a.blocked.len(), 1);
    assert_eq!(a.blocked[0].root, Root::Deadlock(0));
    assert_eq!(a.blocked[0].via, vec![2, 1]);
    assert!(a
        .verdict(&s)
        .starts_with("DEADLOCK: 1 cycle (2 threads), 1 more thread stuck behind it"));
}

#[test]
fn three_cycle_reports_its_shortest_cycle() {
    // a→b→c→a plus a chord c→b makes the SCC {a,b,c} with shortest cycle b→c→b.
    let s = snap(vec![
        t("0xa", &[(Held, Mutex, "0x1"), (Waiting, Mutex, "0x2")]),
        t("0xb", &[(Held, Mutex, "0x2"), (Waiting, Mutex, "0x3")]),
        t("0xc", &[(Held, Mutex, "0x3"), (Waiting, Mutex, "0x1")]),
    ]);
    let a = run(&s);
    assert_eq!(a.deadlocks.len(), 1);
    assert_eq!(a.deadlocks[0].cycle, vec![0, 1, 2]);
    assert_eq!(a.deadlocks[0].locks, vec![0, 1, 2]);
}

#[test]
fn bigger_component_gives_its_minimal_story_first() {
    // 0 waits for 0x2 held by 1 and 3 (readers); 1 waits for 0x3 held by 2; 2 waits 0x1 held by 0;
    // 3 waits 0x1 too: SCC {0,1,2,3}, shortest cycle 0→3→0.
    let s = snap(vec![
        t("0xa", &[(Held, Mutex, "0x1"), (Waiting, WrLock, "0x2")]),
        t(
            "0xb",
            &[
                (Held, RdLock, "0x2"),
                (Held, Mutex, "0x3"),
                (Waiting, Mutex, "0x4"),
            ],
        ),
        t("0xc", &[(Held, Mutex, "0x4"), (Waiting, Mutex, "0x1")]),
        t("0xd", &[(Held, RdLock, "0x2"), (Waiting, Mutex, "0x1")]),
    ]);
    let a = run(&s);
    assert_eq!(a.deadlocks.len(), 1);
    assert_eq!(a.deadlocks[0].threads, vec![0, 1, 2, 3]);
    assert_eq!(a.deadlocks[0].cycle, vec![0, 3]);
}

#[test]
fn convoy_behind_stalled_holder() {
    let mut threads = vec![t("0x1", &[(Held, Mutex, "0xm")])];
    for i in 0..5 {
        threads.push(t(&format!("0x{}", i + 2), &[(Waiting, Mutex, "0xm")]));
    }
    let s = snap(threads);
    let a = run(&s);
    assert!(a.deadlocks.is_empty());
    assert_eq!(a.blocked.len(), 5);
    assert_eq!(a.roots.len(), 1);
    assert_eq!(a.roots[0].root, Root::Holder(0));
    assert_eq!(a.roots[0].threads, vec![1, 2, 3, 4, 5]);
    assert_eq!(
        a.verdict(&s),
        "no cycle: 5 threads wait, all behind 1 stalled holder"
    );
}

#[test]
fn chain_root_is_the_end_of_the_chain() {
    let s = snap(vec![
        t("0x1", &[(Waiting, Mutex, "0xb")]),
        t("0x2", &[(Held, Mutex, "0xb"), (Waiting, Mutex, "0xc")]),
        t("0x3", &[(Held, Mutex, "0xc")]),
    ]);
    let a = run(&s);
    assert_eq!(a.blocked[0].root, Root::Holder(2));
    assert_eq!(a.blocked[0].via, vec![0, 1, 2]);
    assert_eq!(a.roots[0].threads, vec![0, 1]);
}

#[test]
fn unknown_holder() {
    let s = snap(vec![
        t("0x1", &[(Waiting, Mutex, "0xu")]),
        t("0x2", &[(Waiting, Mutex, "0xu")]),
    ]);
    let a = run(&s);
    assert_eq!(a.roots.len(), 1);
    assert_eq!(a.roots[0].root, Root::UnknownHolder(0));
    assert_eq!(
        a.verdict(&s),
        "no cycle: 2 threads wait, all behind 1 unknown holder"
    );
}

#[test]
fn rwlock_writer_blocked_by_every_reader_reader_not_blocked_by_reader() {
    let s = snap(vec![
        t("0x1", &[(Held, RdLock, "0xr")]),
        t("0x2", &[(Held, RdLock, "0xr")]),
        t("0x3", &[(Waiting, WrLock, "0xr")]),
        t("0x4", &[(Waiting, RdLock, "0xr")]),
    ]);
    let a = run(&s);
    let pairs: Vec<(usize, usize)> = a.edges.iter().map(|e| (e.waiter, e.blocker)).collect();
    assert_eq!(pairs, vec![(2, 0), (2, 1)]);
    // The reader has no holder in its way: its holder is unknown under glibc semantics.
    assert_eq!(a.blocked[1].root, Root::UnknownHolder(0));
}

#[test]
fn writer_preferring_reader_retake_is_a_cycle() {
    let s = snap(vec![
        t("0x1", &[(Held, RdLock, "0xr"), (Waiting, RdLock, "0xr")]),
        t("0x2", &[(Waiting, WrLock, "0xr")]),
    ]);
    let glibc = run(&s);
    assert!(glibc.deadlocks.is_empty());
    let wp = analyze(
        &s,
        &Options {
            rwlock_policy: RwLockPolicy::WriterPreferring,
        },
    );
    assert_eq!(wp.deadlocks.len(), 1);
    assert_eq!(wp.deadlocks[0].cycle, vec![0, 1]);
}

#[test]
fn rwlock_upgrade_is_a_self_deadlock() {
    let s = snap(vec![t(
        "0x1",
        &[(Held, RdLock, "0xr"), (Waiting, WrLock, "0xr")],
    )]);
    let a = run(&s);
    assert_eq!(a.deadlocks.len(), 1);
    assert_eq!(a.deadlocks[0].cycle, vec![0]);
}

#[test]
fn recursive_mutex_wait_is_an_anomaly_not_a_cycle() {
    let s = snap(vec![t(
        "0x1",
        &[(Held, Mutex, "0xm"), (Waiting, Mutex, "0xm")],
    )]);
    let a = run(&s);
    assert!(a.deadlocks.is_empty());
    assert_eq!(a.anomalies.len(), 1);
    assert!(a.anomalies[0].message.contains("recursive"));
}

#[test]
fn recursive_double_hold_is_fine() {
    let s = snap(vec![t(
        "0x1",
        &[(Held, Mutex, "0xm"), (Held, Mutex, "0xm")],
    )]);
    let a = run(&s);
    assert!(a.anomalies.is_empty());
    assert_eq!(
        a.verdict(&s),
        "no cycle: no thread waits (1 thread holds 1 lock)"
    );
}

#[test]
fn tried_and_failed_is_not_a_wait() {
    let s = snap(vec![
        t(
            "0x1",
            &[(Held, Mutex, "0xa"), (TriedAndFailed, Mutex, "0xb")],
        ),
        t("0x2", &[(Held, Mutex, "0xb"), (Waiting, Mutex, "0xa")]),
    ]);
    let a = run(&s);
    assert!(a.deadlocks.is_empty());
    assert_eq!(a.blocked[0].root, Root::Holder(0));
}

#[test]
fn suspended_entry_is_not_held() {
    let mut s = snap(vec![
        t("0x1", &[(Held, Mutex, "0xa")]),
        t("0x2", &[(Waiting, Mutex, "0xa")]),
    ]);
    s.threads[0].entries[0].suspended = true;
    let a = run(&s);
    assert!(a.edges.is_empty());
    assert_eq!(a.blocked[0].root, Root::UnknownHolder(0));
}

#[test]
fn inconsistent_snapshot_is_an_anomaly() {
    let s = snap(vec![
        t("0x1", &[(Held, Mutex, "0xa")]),
        t("0x2", &[(Held, Mutex, "0xa")]),
    ]);
    let a = run(&s);
    assert_eq!(a.anomalies.len(), 1);
    assert!(a.anomalies[0].message.contains("not a consistent snapshot"));
}

#[test]
fn empty_snapshot_says_no_locks_held() {
    let s = snap(vec![]);
    assert_eq!(
        run(&s).verdict(&s),
        "no deadlock: no locks held (the dump lists no thread)"
    );
}

// ---- property tests: the analysis against a brute-force oracle ----

/// Per thread: held entries (lock, kind code), suspended flags, and an optional wait.
type Spec = Vec<(Vec<(u8, u8, bool)>, Option<(u8, u8)>, Option<u8>)>;

fn kind(lock: u8, code: u8) -> LockKind {
    // Locks 0 and 1 are mutexes, 2 and 3 rwlocks.
    if lock < 2 {
        Mutex
    } else if code % 2 == 0 {
        RdLock
    } else {
        WrLock
    }
}

fn build(spec: &Spec) -> Snapshot<'static> {
    let mut threads = Vec::new();
    for (i, (held, wait, failed)) in spec.iter().enumerate() {
        let mut th = Thread::new(format!("0x{:x}", i + 1));
        for &(lock, code, suspended) in held {
            let mut e = LockEntry::new(
                th.entries.len() as u32,
                Held,
                kind(lock, code),
                format!("0x{lock}"),
            );
            e.suspended = suspended;
            th.entries.push(e);
        }
        if let Some(lock) = failed {
            th.entries.push(LockEntry::new(
                th.entries.len() as u32,
                TriedAndFailed,
                kind(*lock, 0),
                format!("0x{lock}"),
            ));
        }
        if let Some((lock, code)) = wait {
            th.entries.push(LockEntry::new(
                th.entries.len() as u32,
                Waiting,
                kind(*lock, *code),
                format!("0x{lock}"),
            ));
        }
        threads.push(th);
    }
    snap(threads)
}

/// Does thread `t` wait for something thread `u` has, straight from the rules?
fn oracle_blocks(s: &Snapshot<'_>, t: usize, u: usize, policy: RwLockPolicy) -> bool {
    let Some(w) = s.threads[t]
        .entries
        .iter()
        .rev()
        .find(|e| e.state == Waiting)
    else {
        return false;
    };
    let holds = |x: usize| -> Vec<LockKind> {
        s.threads[x]
            .entries
            .iter()
            .filter(|e| e.state == Held && !e.suspended && e.addr == w.addr)
            .map(|e| e.kind)
            .collect()
    };
    if t == u {
        let mine = holds(t);
        return match w.kind {
            WrLock => mine.iter().any(|k| *k == RdLock || *k == WrLock),
            RdLock => mine.contains(&WrLock),
            _ => false,
        };
    }
    let theirs = holds(u);
    if theirs.iter().any(|&m| !(w.kind == RdLock && m == RdLock)) {
        return true;
    }
    if policy == RwLockPolicy::WriterPreferring && w.kind == RdLock {
        if let Some(uw) = s.threads[u]
            .entries
            .iter()
            .rev()
            .find(|e| e.state == Waiting)
        {
            return uw.addr == w.addr && uw.kind == WrLock;
        }
    }
    false
}

/// Shortest cycle length through `start` in the oracle graph, if any.
fn oracle_cycle_len(adj: &[Vec<bool>], start: usize) -> Option<usize> {
    let n = adj.len();
    let mut dist = vec![usize::MAX; n];
    let mut queue = VecDeque::from([(start, 0usize)]);
    while let Some((u, d)) = queue.pop_front() {
        for v in 0..n {
            if adj[u][v] {
                if v == start {
                    return Some(d + 1);
                }
                if dist[v] == usize::MAX {
                    dist[v] = d + 1;
                    queue.push_back((v, d + 1));
                }
            }
        }
    }
    None
}

fn spec_strategy() -> impl Strategy<Value = Spec> {
    let held = prop::collection::vec((0u8..4, 0u8..2, prop::bool::weighted(0.1)), 0..3);
    let wait = prop::option::weighted(0.7, (0u8..4, 0u8..2));
    let failed = prop::option::weighted(0.1, 0u8..4);
    prop::collection::vec((held, wait, failed), 1..7)
}

/// The case count: `PROPTEST_CASES` when set (`just fuzz` raises it), else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(2000)))]

    #[test]
    fn deadlocks_are_exactly_the_cycles(spec in spec_strategy(), wp in any::<bool>()) {
        let policy = if wp { RwLockPolicy::WriterPreferring } else { RwLockPolicy::ReaderPreferring };
        let s = build(&spec);
        let a = analyze(&s, &Options { rwlock_policy: policy });
        let n = s.threads.len();
        let adj: Vec<Vec<bool>> = (0..n).map(|t| (0..n).map(|u| oracle_blocks(&s, t, u, policy)).collect()).collect();

        // Same edges as the oracle.
        let mut got: Vec<(usize, usize)> = a.edges.iter().map(|e| (e.waiter, e.blocker)).collect();
        got.dedup();
        let want: Vec<(usize, usize)> = (0..n).flat_map(|t| (0..n).map(move |u| (t, u))).filter(|&(t, u)| adj[t][u]).collect();
        prop_assert_eq!(&got, &want);

        // Every thread on a cycle is in a deadlock, and only those.
        let on_cycle: Vec<usize> = (0..n).filter(|&t| oracle_cycle_len(&adj, t).is_some()).collect();
        let mut in_deadlock: Vec<usize> = a.deadlocks.iter().flat_map(|d| d.threads.clone()).collect();
        in_deadlock.sort_unstable();
        prop_assert_eq!(&in_deadlock, &on_cycle);

        for d in &a.deadlocks {
            // The reported cycle is a real cycle of waits...
            for i in 0..d.cycle.len() {
                let (x, y) = (d.cycle[i], d.cycle[(i + 1) % d.cycle.len()]);
                prop_assert!(adj[x][y], "cycle step {} -> {} is not a wait", x, y);
            }
            // ...and a shortest one among the component's cycles.
            let min = d.threads.iter().filter_map(|&t| oracle_cycle_len(&adj, t)).min();
            prop_assert_eq!(Some(d.cycle.len()), min);
            // Members reach each other.
            for &x in &d.threads {
                for &y in &d.threads {
                    prop_assert!(reaches(&adj, x, y));
                }
            }
        }

        // Roots: a blocked thread that can reach a deadlock is rooted in one; otherwise
        // its chain ends at a holder that waits for nothing or at a lock with no holder.
        for b in &a.blocked {
            let reaches_cycle = on_cycle.iter().any(|&c| reaches(&adj, b.thread, c));
            prop_assert_eq!(matches!(b.root, Root::Deadlock(_)), reaches_cycle);
            for w in b.via.windows(2) {
                prop_assert!(adj[w[0]][w[1]]);
            }
            let end = *b.via.last().unwrap();
            match b.root {
                Root::Holder(h) => {
                    prop_assert_eq!(end, h);
                    prop_assert!(a.waits[h].is_none());
                }
                Root::UnknownHolder(l) => {
                    prop_assert!(adj[end].iter().all(|x| !x));
                    prop_assert_eq!(a.waits[end].map(|w| w.0), Some(l));
                }
                Root::Deadlock(d) => prop_assert!(a.deadlocks[d].threads.contains(&end)),
            }
        }
        let ranked: usize = a.roots.iter().map(|r| r.threads.len()).sum();
        prop_assert_eq!(ranked, a.blocked.len());
    }
}

fn reaches(adj: &[Vec<bool>], from: usize, to: usize) -> bool {
    if from == to {
        return true;
    }
    let n = adj.len();
    let mut seen = vec![false; n];
    let mut stack = vec![from];
    while let Some(u) = stack.pop() {
        for v in 0..n {
            if adj[u][v] && !seen[v] {
                if v == to {
                    return true;
                }
                seen[v] = true;
                stack.push(v);
            }
        }
    }
    false
}

#[test]
fn an_address_is_one_lock_however_it_is_printed() {
    // %p in one place, gdb's zero-padded upper-case copy in another; words that are
    // no number stay apart by their text, and `(nil)` is never one lock.
    let s = snap(vec![
        t(
            "0xa",
            &[(Held, Mutex, "0x7f67a50f1140"), (Waiting, Mutex, "&l")],
        ),
        t(
            "0xb",
            &[(Held, Mutex, "&l"), (Waiting, Mutex, "0x00007F67A50F1140")],
        ),
        t("0xc", &[(Held, Mutex, "(nil)"), (Held, Mutex, "(nil)")]),
    ]);
    let a = run(&s);
    assert_eq!(a.locks.len(), 4);
    assert_eq!(a.deadlocks.len(), 1);
    assert_eq!(a.deadlocks[0].threads, vec![0, 1]);
}
