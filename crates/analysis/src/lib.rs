//! Who waits for whom in one lock-dump snapshot, which threads are deadlocked,
//! and what every other blocked thread is stuck behind.
//!
//! [`analyze`] builds the waits-for graph between threads (an edge waiter →
//! blocker for every thread that keeps a waiting thread from its lock) with the
//! lock semantics of Asterisk: mutexes are recursive, rwlocks admit many readers
//! or one writer, trylock failures are not waits, suspended entries are not held.
//! Deadlocks are the strongly connected components of that graph (Tarjan); each
//! comes with its shortest cycle. Every other waiting thread gets a root: the
//! deadlock it is transitively stuck behind, a holder that waits for nothing
//! tracked, or a lock whose holder no listed thread is.
//!
//! ```
//! use ast_locks_analysis::{analyze, Options};
//! use ast_locks_model::{LockEntry, LockKind, LockState, Snapshot, Thread};
//!
//! let mut a = Thread::new("0xa");
//! a.entries.push(LockEntry::new(0, LockState::Held, LockKind::Mutex, "0x1"));
//! a.entries.push(LockEntry::new(1, LockState::Waiting, LockKind::Mutex, "0x2"));
//! let mut b = Thread::new("0xb");
//! b.entries.push(LockEntry::new(0, LockState::Held, LockKind::Mutex, "0x2"));
//! b.entries.push(LockEntry::new(1, LockState::Waiting, LockKind::Mutex, "0x1"));
//! let snapshot = Snapshot { threads: vec![a, b], ..Snapshot::default() };
//!
//! let analysis = analyze(&snapshot, &Options::default());
//! assert_eq!(analysis.deadlocks.len(), 1);
//! assert_eq!(analysis.deadlocks[0].cycle, vec![0, 1]);
//! ```

pub mod diagnose;
pub mod lockorder;
pub mod refs;
pub mod series;
pub mod verdict;

use ast_locks_model::{Location, LockKind, LockState, Snapshot};
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::{HashMap, VecDeque};

/// A word-at-a-time multiplicative hash (the FxHash idea) for the lock map: its
/// keys are short address strings from the dump, not keys chosen against a
/// server, and SipHash, or a byte-at-a-time hash, costs more than the rest of a
/// lookup for them.
#[derive(Default, Clone, Copy)]
struct BuildWordHash;

struct WordHash(u64);

impl WordHash {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::hash::Hasher for WordHash {
    fn finish(&self) -> u64 {
        // The product's well-mixed high bits brought down to where the table takes
        // its index: lock addresses are aligned, so their low bits alone say little.
        self.0.rotate_left(26)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.add(<[u8; 8]>::try_from(w).map_or(0, u64::from_le_bytes));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }
}

impl std::hash::BuildHasher for BuildWordHash {
    type Hasher = WordHash;
    fn build_hasher(&self) -> WordHash {
        WordHash(0)
    }
}

/// How waiting readers of a rwlock relate to waiting writers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum RwLockPolicy {
    /// glibc's behaviour (Asterisk asks for writer preference, glibc gives reader
    /// preference): a waiting reader is blocked only by a writer that holds the lock.
    #[default]
    ReaderPreferring,
    /// A platform that honours writer preference: a waiting reader is also blocked
    /// by every waiting writer, so a reader re-taking a read lock behind a waiting
    /// writer deadlocks with it.
    WriterPreferring,
}

/// Analysis options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Rwlock semantics. Default: [`RwLockPolicy::ReaderPreferring`] (glibc).
    pub rwlock_policy: RwLockPolicy,
}

/// An entry of a thread: `snapshot.threads[thread].entries[entry]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryRef {
    /// Index of the thread in the snapshot.
    pub thread: usize,
    /// Index of the entry in the thread.
    pub entry: usize,
}

/// One lock (one address) and who holds, waits for, or failed to get it: a view
/// into [`Locks`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lock<'x> {
    /// The first entry that names this lock; its name and address stand for the lock.
    pub first: EntryRef,
    /// Entries that hold it now (held, not suspended), in dump order.
    pub holders: &'x [EntryRef],
    /// Entries waiting for it (only each thread's effective wait), in dump order.
    pub waiters: &'x [EntryRef],
}

/// Every lock of a snapshot, by index in order of first appearance.
///
/// A busy PBX's dump names a lock in nearly every entry, and most are held by one
/// thread and awaited by none; so the holders and waiters of all locks are kept
/// in two flat lists, each lock's share a range of them, rather than two small
/// vectors per lock. [`Locks::get`] gives one lock as a [`Lock`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Locks {
    first: Vec<EntryRef>,
    /// `holder_end[i]`: where lock i's holders end in `holders` (they start where
    /// lock i-1's end).
    holder_end: Vec<usize>,
    holders: Vec<EntryRef>,
    waiter_end: Vec<usize>,
    waiters: Vec<EntryRef>,
}

impl Locks {
    /// How many locks there are.
    pub fn len(&self) -> usize {
        self.first.len()
    }

    /// True when the snapshot names no lock.
    pub fn is_empty(&self) -> bool {
        self.first.is_empty()
    }

    /// Lock `i`. Panics when `i` is not below [`Locks::len`], as indexing a slice does.
    pub fn get(&self, i: usize) -> Lock<'_> {
        Lock {
            first: self.first[i],
            holders: &self.holders[span(&self.holder_end, i)],
            waiters: &self.waiters[span(&self.waiter_end, i)],
        }
    }

    /// Every lock, by index.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Lock<'_>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

/// Group `i`'s range in a flat list whose groups end at `ends`.
fn span(ends: &[usize], i: usize) -> std::ops::Range<usize> {
    (if i == 0 { 0 } else { ends[i - 1] })..ends[i]
}

/// Entries grouped by lock in dump order: a counting sort of `(lock, entry)`
/// pairs already in dump order. Returns the end offsets and the entries.
fn group_by_lock(
    locks: usize,
    members: impl Iterator<Item = (usize, EntryRef)> + Clone,
) -> (Vec<usize>, Vec<EntryRef>) {
    let mut end = vec![0usize; locks];
    for (li, _) in members.clone() {
        end[li] += 1;
    }
    let mut total = 0;
    for e in end.iter_mut() {
        total += *e;
        // For now the start; each member placed moves it on, to the end.
        *e = total - *e;
    }
    let mut out = vec![
        EntryRef {
            thread: 0,
            entry: 0
        };
        total
    ];
    for (li, at) in members {
        out[end[li]] = at;
        end[li] += 1;
    }
    (end, out)
}

/// Why a waiter is blocked by another thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// The other thread holds the lock in a mode that excludes the waiter.
    Holds,
    /// Writer-preferring rwlock: the other thread is a waiting writer queued first.
    QueuedWriter,
}

/// An edge of the waits-for graph: `waiter` cannot proceed until `blocker` releases `lock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Edge {
    /// Thread index of the waiting thread.
    pub waiter: usize,
    /// Thread index of the thread in its way.
    pub blocker: usize,
    /// Lock index.
    pub lock: usize,
    /// Why.
    pub reason: Reason,
}

/// A set of threads that wait for each other (a strongly connected component of
/// the waits-for graph with a real cycle in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadlock {
    /// Member threads, in dump order.
    pub threads: Vec<usize>,
    /// Locks on the edges between members, in order of first appearance.
    pub locks: Vec<usize>,
    /// A shortest cycle: each thread waits for the next, the last for the first.
    /// Starts at the member that comes first in the dump among shortest cycles.
    pub cycle: Vec<usize>,
    /// The lock each cycle step waits on (`cycle_locks[i]`: `cycle[i]` → `cycle[i+1]`).
    pub cycle_locks: Vec<usize>,
}

impl Deadlock {
    /// The members as reports list them: the shortest cycle in its order,
    /// then the rest of the component in dump order.
    pub fn members_in_cycle_order(&self) -> Vec<usize> {
        let mut order = self.cycle.clone();
        order.extend(self.threads.iter().filter(|t| !self.cycle.contains(t)));
        order
    }
}

/// What a blocked thread is ultimately stuck behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Root {
    /// Deadlock number (index into [`Analysis::deadlocks`]).
    Deadlock(usize),
    /// A thread that holds what is awaited and itself waits for no tracked lock.
    Holder(usize),
    /// A lock (index) that no listed thread holds.
    UnknownHolder(usize),
}

/// A waiting thread that is not part of a deadlock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// Thread index.
    pub thread: usize,
    /// The lock it waits for.
    pub lock: usize,
    /// What it is ultimately stuck behind.
    pub root: Root,
    /// The chain of threads from this one to the root's thread (both included);
    /// for an unknown holder it ends at the last waiting thread.
    pub via: Vec<usize>,
}

/// A root and the blocked threads behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankedRoot {
    /// The root.
    pub root: Root,
    /// Blocked threads whose root this is, in dump order.
    pub threads: Vec<usize>,
}

/// Something odd worth a person's attention; not a deadlock by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anomaly {
    /// Thread index.
    pub thread: usize,
    /// What is odd, for a person.
    pub message: String,
}

/// The result of [`analyze`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Analysis {
    /// Every lock named in the snapshot, in order of first appearance.
    pub locks: Locks,
    /// For each thread (by index), the lock it waits for and the entry that says so.
    pub waits: Vec<Option<(usize, usize)>>,
    /// The lock index each entry names, all threads' entries one after another
    /// ([`Analysis::entry_locks`] gives one thread's).
    entry_lock: Vec<usize>,
    /// Where each thread's entries end in `entry_lock`.
    entry_end: Vec<usize>,
    /// Waits-for edges, sorted.
    pub edges: Vec<Edge>,
    /// Deadlocks, by their first thread's dump position.
    pub deadlocks: Vec<Deadlock>,
    /// Waiting threads outside any deadlock, in dump order.
    pub blocked: Vec<Blocked>,
    /// Roots, most blocked threads first.
    pub roots: Vec<RankedRoot>,
    /// Oddities, in dump order of their thread.
    pub anomalies: Vec<Anomaly>,
}

/// Analyse every snapshot of a series and find its potential deadlocks (lock
/// order, less the suppressed pairs), as the `ast-locks` binary does. The
/// lock-order pass reads every thread again, independently of the waits-for
/// analysis, so it runs on a second thread beside it and costs no wall time on a
/// machine with two cores.
pub fn analyze_series(
    snapshots: &[&Snapshot<'_>],
    options: &Options,
    suppress: &[lockorder::Suppression],
) -> (Vec<Analysis>, Vec<lockorder::PotentialDeadlock>) {
    std::thread::scope(|scope| {
        let order = scope.spawn(|| lockorder::potential_deadlocks(snapshots, suppress));
        let analyses = snapshots.iter().map(|s| analyze(s, options)).collect();
        let potential = order
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (analyses, potential)
    })
}

/// Analyse one snapshot.
pub fn analyze<'s>(snapshot: &'s Snapshot<'_>, options: &Options) -> Analysis {
    let mut a = Analysis::default();
    let n = snapshot.threads.len();
    let entries: usize = snapshot.threads.iter().map(|t| t.entries.len()).sum();
    // The address is the identity: as a number when it is one (so the map holds
    // no pointer back into the input), else as printed. `(nil)` is no identity, so
    // each gets its own lock.
    let mut by_value: HashMap<u64, usize, BuildWordHash> =
        HashMap::with_capacity_and_hasher(entries, BuildWordHash);
    let mut by_text: HashMap<&str, usize, BuildWordHash> = HashMap::default();
    let mut first: Vec<EntryRef> = Vec::with_capacity(entries);
    let mut lock_of = |e: &'s ast_locks_model::LockEntry<'_>, at: EntryRef| -> usize {
        let new = first.len();
        let i = match e.address() {
            // `(nil)`, or a wait whose address the input does not show: no identity.
            Some(0) if e.addr == "(nil)" => new,
            None if e.addr.is_empty() => new,
            Some(value) => *by_value.entry(value).or_insert(new),
            None => *by_text.entry(e.addr.as_ref()).or_insert(new),
        };
        if i == new {
            first.push(at);
        }
        i
    };
    a.entry_lock.reserve(entries);
    a.entry_end.reserve(n);
    a.waits = vec![None; n];
    let mut holding: Vec<bool> = Vec::with_capacity(entries);
    let mut waiters: Vec<(usize, EntryRef)> = Vec::new();
    for (ti, t) in snapshot.threads.iter().enumerate() {
        let ids = a.entry_lock.len();
        for (ei, e) in t.entries.iter().enumerate() {
            a.entry_lock.push(lock_of(
                e,
                EntryRef {
                    thread: ti,
                    entry: ei,
                },
            ));
            holding.push(e.is_holding());
        }
        a.entry_end.push(a.entry_lock.len());
        let is_waiting = |e: &&ast_locks_model::LockEntry<'_>| e.state == LockState::Waiting;
        let last_wait = t.entries.iter().rposition(|e| is_waiting(&e));
        if let Some(ei) = last_wait {
            let waiting = t.entries.iter().filter(is_waiting).count();
            let li = a.entry_lock[ids + ei];
            a.waits[ti] = Some((li, ei));
            waiters.push((
                li,
                EntryRef {
                    thread: ti,
                    entry: ei,
                },
            ));
            if waiting > 1 {
                a.anomalies.push(Anomaly {
                    thread: ti,
                    message: format!(
                        "{} `Waiting for` entries; a thread blocks on one lock at a time, so the last (Lock #{}) is taken as its wait",
                        waiting,
                        t.entries[ei].index
                    ),
                });
            }
        }
    }
    drop((by_value, by_text));
    let held = {
        let (entry_lock, entry_end, holding) = (&a.entry_lock, &a.entry_end, &holding);
        (0..entry_end.len()).flat_map(move |ti| {
            let all = span(entry_end, ti);
            let start = all.start;
            all.filter(|&k| holding[k]).map(move |k| {
                (
                    entry_lock[k],
                    EntryRef {
                        thread: ti,
                        entry: k - start,
                    },
                )
            })
        })
    };
    let (holder_end, holders) = group_by_lock(first.len(), held);
    drop(holding);
    let (waiter_end, waiters) = group_by_lock(first.len(), waiters.into_iter());
    a.locks = Locks {
        first,
        holder_end,
        holders,
        waiter_end,
        waiters,
    };

    // Holders in exclusive mode of the same lock in two threads: not a consistent snapshot.
    for lock in a.locks.iter().filter(|l| l.holders.len() > 1) {
        let exclusive: Vec<&EntryRef> = lock
            .holders
            .iter()
            .filter(|h| entry(snapshot, **h).kind != LockKind::RdLock)
            .collect();
        let mut threads: Vec<usize> = lock.holders.iter().map(|h| h.thread).collect();
        threads.dedup();
        if !exclusive.is_empty() && threads.len() > 1 {
            let e = entry(snapshot, lock.first);
            let names: Vec<&str> = threads
                .iter()
                .map(|&t| snapshot.threads[t].id.as_ref())
                .collect();
            a.anomalies.push(Anomaly {
                thread: threads[1],
                message: format!(
                    "{} {} is held exclusively by more than one thread ({}): the dump is not a consistent snapshot",
                    e.name,
                    e.addr,
                    names.join(", ")
                ),
            });
        }
    }

    let mut self_wait = vec![false; n];
    for (ti, self_waits) in self_wait.iter_mut().enumerate() {
        let Some((li, ei)) = a.waits[ti] else {
            continue;
        };
        let want = snapshot.threads[ti].entries[ei].kind;
        let lock = a.locks.get(li);
        let own: Vec<LockKind> = lock
            .holders
            .iter()
            .filter(|h| h.thread == ti)
            .map(|h| entry(snapshot, *h).kind)
            .collect();
        let mut edges = Vec::new();
        for h in lock.holders {
            if h.thread == ti {
                continue;
            }
            let held = entry(snapshot, *h).kind;
            // A reader is only kept out by an exclusive holder; everything else
            // (mutex, writer, unknown) is kept out by any holder.
            if want != LockKind::RdLock || held != LockKind::RdLock {
                edges.push((h.thread, Reason::Holds));
            }
        }
        if want == LockKind::RdLock && options.rwlock_policy == RwLockPolicy::WriterPreferring {
            for w in lock.waiters {
                if w.thread != ti && entry(snapshot, *w).kind == LockKind::WrLock {
                    edges.push((w.thread, Reason::QueuedWriter));
                }
            }
        }
        let e = &snapshot.threads[ti].entries[ei];
        if !own.is_empty() {
            let rw_self = match want {
                // rwlocks are not recursive: asking again for a lock you hold blocks,
                // except a second read lock when no writer is preferred.
                LockKind::WrLock => own.iter().any(|k| k.is_rwlock()),
                LockKind::RdLock => own.contains(&LockKind::WrLock),
                // The C library says this blocked thread owns the mutex it waits
                // for: a non-recursive mutex locked twice (a recursive one would
                // have been granted).
                LockKind::Mutex | LockKind::Unknown => owns_per_glibc(snapshot, ti, e),
            };
            let queued_writer = lock
                .waiters
                .iter()
                .any(|w| w.thread != ti && entry(snapshot, *w).kind == LockKind::WrLock);
            if rw_self {
                *self_waits = true;
                edges.push((ti, Reason::Holds));
            } else if want == LockKind::RdLock
                && options.rwlock_policy == RwLockPolicy::ReaderPreferring
                && queued_writer
            {
                a.anomalies.push(Anomaly {
                    thread: ti,
                    message: format!(
                        "waits for a read lock on {} {} that it already holds while a writer waits: glibc grants it; a platform that prefers writers would not, and the two would deadlock (--rwlock-policy writer-preferring reads it so)",
                        e.name, e.addr
                    ),
                });
            } else if want == LockKind::Mutex || want == LockKind::Unknown {
                a.anomalies.push(Anomaly {
                    thread: ti,
                    message: format!(
                        "waits for {} {} which it already holds: Asterisk mutexes are recursive, so this is not a self-deadlock by itself (an untracked holder, or a stale entry)",
                        e.name, e.addr
                    ),
                });
            }
        }
        for (blocker, reason) in edges {
            a.edges.push(Edge {
                waiter: ti,
                blocker,
                lock: li,
                reason,
            });
        }
    }
    a.edges.sort();
    a.edges.dedup_by_key(|e| (e.waiter, e.blocker, e.lock));

    // Only threads on an edge can be in a cycle or on a way to a root: the graph
    // is theirs, however many other threads the dump lists.
    let mut involved: Vec<usize> = a.edges.iter().flat_map(|e| [e.waiter, e.blocker]).collect();
    involved.sort_unstable();
    involved.dedup();
    let node = |t: usize| NodeIndex::new(involved.binary_search(&t).unwrap_or_default());
    let mut graph: DiGraph<usize, usize> = DiGraph::with_capacity(involved.len(), a.edges.len());
    for &ti in &involved {
        graph.add_node(ti);
    }
    for e in &a.edges {
        graph.add_edge(node(e.waiter), node(e.blocker), e.lock);
    }
    let mut out: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    for e in &a.edges {
        out[e.waiter].push((e.blocker, e.lock));
    }

    // Tarjan gives components in reverse topological order: every component's
    // successors come before it, which the root computation below relies on.
    let sccs: Vec<Vec<usize>> = petgraph::algo::tarjan_scc(&graph)
        .into_iter()
        .map(|comp| comp.into_iter().map(|ix| involved[ix.index()]).collect())
        .collect();
    let mut comp_of = vec![usize::MAX; n];
    let mut cyclic: Vec<Vec<usize>> = Vec::new();
    for comp in &sccs {
        let mut members: Vec<usize> = comp.clone();
        members.sort_unstable();
        if members.len() > 1 || self_wait[members[0]] {
            cyclic.push(members);
        }
    }
    cyclic.sort();
    for (d, members) in cyclic.iter().enumerate() {
        for &m in members {
            comp_of[m] = d;
        }
    }
    for members in cyclic {
        let (cycle, cycle_locks) = shortest_cycle(&members, &out, &comp_of);
        let mut locks: Vec<usize> = a
            .edges
            .iter()
            .filter(|e| {
                comp_of[e.waiter] == comp_of[members[0]] && comp_of[e.blocker] == comp_of[e.waiter]
            })
            .map(|e| e.lock)
            .collect();
        locks.sort_unstable();
        locks.dedup();
        a.deadlocks.push(Deadlock {
            threads: members,
            locks,
            cycle,
            cycle_locks,
        });
    }

    // Root of every thread, in reverse topological order of components.
    // best[t] = (root, distance, next hop).
    let mut best: Vec<Option<(Root, usize, Option<usize>)>> = vec![None; n];
    // A waiter on no edge (nobody holds its lock) is its own root.
    for (t, wait) in a.waits.iter().enumerate() {
        if let Some((li, _)) = wait {
            if out[t].is_empty() {
                best[t] = Some((Root::UnknownHolder(*li), 0, None));
            }
        }
    }
    for comp in &sccs {
        for &t in comp {
            if comp_of[t] != usize::MAX {
                best[t] = Some((Root::Deadlock(comp_of[t]), 0, None));
                continue;
            }
            if out[t].is_empty() {
                best[t] = Some(match a.waits[t] {
                    Some((li, _)) => (Root::UnknownHolder(li), 0, None),
                    None => (Root::Holder(t), 0, None),
                });
                continue;
            }
            let mut choice: Option<(bool, usize, Root, usize)> = None;
            for &(v, _) in &out[t] {
                let Some((root, dist, _)) = best[v] else {
                    continue;
                };
                let is_deadlock = matches!(root, Root::Deadlock(_));
                // Prefer a deadlock (it never resolves), then the nearest root.
                let key = (!is_deadlock, dist + 1, root, v);
                if choice.is_none_or(|c| key < c) {
                    choice = Some(key);
                }
            }
            best[t] = choice.map(|(_, dist, root, v)| (root, dist, Some(v)));
        }
    }
    for t in 0..n {
        let Some((li, _)) = a.waits[t] else {
            continue;
        };
        if comp_of[t] != usize::MAX {
            continue;
        }
        let Some((root, _, _)) = best[t] else {
            continue;
        };
        let mut via = vec![t];
        let mut cur = t;
        while let Some((_, _, Some(next))) = best[cur] {
            via.push(next);
            cur = next;
            if via.len() > n {
                break;
            }
        }
        a.blocked.push(Blocked {
            thread: t,
            lock: li,
            root,
            via,
        });
    }
    let mut groups: Vec<RankedRoot> = Vec::new();
    let mut group_of: HashMap<Root, usize> = HashMap::new();
    for b in &a.blocked {
        let g = *group_of.entry(b.root).or_insert_with(|| {
            groups.push(RankedRoot {
                root: b.root,
                threads: Vec::new(),
            });
            groups.len() - 1
        });
        groups[g].threads.push(b.thread);
    }
    // Stable sort: among equal counts, deadlocks first, then the root met first.
    groups.sort_by_key(|g| {
        (
            std::cmp::Reverse(g.threads.len()),
            !matches!(g.root, Root::Deadlock(_)),
        )
    });
    a.roots = groups;
    a.anomalies.sort_by_key(|x| x.thread);
    a
}

/// True when gdb's owner look-up names thread `ti` as the owner of the mutex
/// its entry `e` waits for, while its stack shows it blocked acquiring it.
fn owns_per_glibc(snapshot: &Snapshot<'_>, ti: usize, e: &ast_locks_model::LockEntry<'_>) -> bool {
    let t = &snapshot.threads[ti];
    let blocked = t
        .activity
        .as_ref()
        .is_some_and(|a| a.kind == ast_locks_model::ActivityKind::LockWait);
    blocked
        && e.address().is_some_and(|addr| {
            snapshot
                .owners
                .iter()
                .any(|o| o.addr == addr && o.lwp != 0 && Some(o.lwp) == t.lwp)
        })
}

fn entry<'s, 'a>(snapshot: &'s Snapshot<'a>, at: EntryRef) -> &'s ast_locks_model::LockEntry<'a> {
    &snapshot.threads[at.thread].entries[at.entry]
}

/// The shortest cycle inside one component, by BFS from each member in dump order.
fn shortest_cycle(
    members: &[usize],
    out: &[Vec<(usize, usize)>],
    comp_of: &[usize],
) -> (Vec<usize>, Vec<usize>) {
    let comp = comp_of[members[0]];
    let mut best: Option<(Vec<usize>, Vec<usize>)> = None;
    let mut prev: HashMap<usize, (usize, usize)> = HashMap::new();
    for &s in members {
        if let Some((c, _)) = &best {
            if c.len() == 1 {
                break;
            }
        }
        prev.clear();
        let mut queue = VecDeque::from([s]);
        let mut found: Option<(usize, usize)> = None;
        'bfs: while let Some(u) = queue.pop_front() {
            for &(v, lock) in &out[u] {
                if comp_of[v] != comp {
                    continue;
                }
                if v == s {
                    found = Some((u, lock));
                    break 'bfs;
                }
                if let std::collections::hash_map::Entry::Vacant(slot) = prev.entry(v) {
                    slot.insert((u, lock));
                    queue.push_back(v);
                }
            }
        }
        let Some((last, closing_lock)) = found else {
            continue;
        };
        let mut cycle = vec![last];
        let mut locks = vec![closing_lock];
        let mut cur = last;
        while cur != s {
            let Some(&(p, lock)) = prev.get(&cur) else {
                break;
            };
            cycle.push(p);
            locks.push(lock);
            cur = p;
        }
        cycle.reverse();
        locks.reverse();
        // Now locks[i] is the lock cycle[i] waits for.
        if best.as_ref().is_none_or(|(c, _)| cycle.len() < c.len()) {
            best = Some((cycle, locks));
        }
    }
    best.unwrap_or_else(|| (members.to_vec(), Vec::new()))
}

impl Analysis {
    /// The lock index each of a thread's entries names, in entry order.
    pub fn entry_locks(&self, thread: usize) -> &[usize] {
        &self.entry_lock[span(&self.entry_end, thread)]
    }

    /// Distinct locks a thread holds now (held, not suspended), in entry order.
    pub fn held_locks(&self, snapshot: &Snapshot<'_>, thread: usize) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (e, &li) in snapshot.threads[thread]
            .entries
            .iter()
            .zip(self.entry_locks(thread))
        {
            if e.is_holding() && seen.insert(li) {
                out.push(li);
            }
        }
        out
    }

    /// Locks waited for whose holder the dump does not name, in root rank order.
    pub fn unknown_holder_locks(&self) -> Vec<usize> {
        self.roots
            .iter()
            .filter_map(|g| match g.root {
                Root::UnknownHolder(l) => Some(l),
                _ => None,
            })
            .collect()
    }

    /// The `Locked Here` locations given for a lock by its waiters, first seen first.
    pub fn locked_here<'s, 'a>(
        &self,
        snapshot: &'s Snapshot<'a>,
        lock: usize,
    ) -> Vec<&'s Location<'a>> {
        let mut out: Vec<&Location<'a>> = Vec::new();
        for w in self.locks.get(lock).waiters {
            for loc in &entry(snapshot, *w).locked_here {
                if !out.contains(&loc) {
                    out.push(loc);
                }
            }
        }
        out
    }

    /// The name and address that stand for a lock.
    pub fn lock_label<'s>(&self, snapshot: &'s Snapshot<'_>, lock: usize) -> (&'s str, &'s str) {
        let e = entry(snapshot, self.locks.get(lock).first);
        (&e.name, &e.addr)
    }

    /// The one-line verdict: what is wrong, or why nothing is.
    pub fn verdict(&self, snapshot: &Snapshot<'_>) -> String {
        let plural = |n: usize, one: &str, many: &str| {
            if n == 1 {
                format!("{n} {one}")
            } else {
                format!("{n} {many}")
            }
        };
        if !self.deadlocks.is_empty() {
            let members: usize = self.deadlocks.iter().map(|d| d.threads.len()).sum();
            let mut s = format!(
                "DEADLOCK: {} ({})",
                plural(self.deadlocks.len(), "cycle", "cycles"),
                plural(members, "thread", "threads")
            );
            let behind = self
                .blocked
                .iter()
                .filter(|b| matches!(b.root, Root::Deadlock(_)))
                .count();
            if behind > 0 {
                s.push_str(&format!(
                    ", {} stuck behind it",
                    plural(behind, "more thread", "more threads")
                ));
            }
            let others = self.blocked.len() - behind;
            if others > 0 {
                s.push_str(&format!(
                    ", {} waiting elsewhere",
                    plural(others, "thread", "threads")
                ));
            }
            return s;
        }
        if snapshot.threads.is_empty() {
            return "no deadlock: no locks held (the dump lists no thread)".to_string();
        }
        if self.blocked.is_empty() {
            let held = self.locks.iter().filter(|l| !l.holders.is_empty()).count();
            return format!(
                "no cycle: no thread waits ({} {} {})",
                plural(snapshot.threads.len(), "thread", "threads"),
                if snapshot.threads.len() == 1 {
                    "holds"
                } else {
                    "hold"
                },
                plural(held, "lock", "locks")
            );
        }
        let holders = self
            .roots
            .iter()
            .filter(|r| matches!(r.root, Root::Holder(_)))
            .count();
        let unknown = self.roots.len() - holders;
        let mut parts = Vec::new();
        if holders > 0 {
            parts.push(plural(holders, "stalled holder", "stalled holders"));
        }
        if unknown > 0 {
            parts.push(plural(unknown, "unknown holder", "unknown holders"));
        }
        let waiting = self.blocked.len();
        format!(
            "no cycle: {} {}, {} {}",
            plural(waiting, "thread", "threads"),
            if waiting == 1 { "waits" } else { "wait" },
            if self.roots.len() == 1 && waiting > 1 {
                "all behind"
            } else {
                "behind"
            },
            parts.join(" and ")
        )
    }
}

#[cfg(test)]
mod tests;
