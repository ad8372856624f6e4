//! Potential deadlocks from lock order, the lockdep idea done offline on dumps.
//!
//! A thread that holds lock A while it holds or waits for lock B (a later entry in
//! its list) shows the order A → B. Two orders that form a cycle (A → B in one
//! thread, B → A in another, in any snapshot) can deadlock the day two threads
//! meet in them, even when nothing is blocked now. Orders are collected twice:
//! by address (the same two locks: strong evidence) and by name class (the C
//! expression that named the lock, such as `&chan->lock`: many locks share it, so
//! a class-level cycle may be two unrelated locks).

use ast_locks_model::{Location, LockEntry, LockState, Snapshot, Thread};
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Where one ordered pair was seen.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Evidence {
    /// Snapshot index (0-based).
    pub snapshot: usize,
    /// Thread id as printed.
    pub thread: String,
    /// Where A was taken.
    pub first_at: Option<String>,
    /// Where B was taken (or asked for).
    pub then_at: Option<String>,
    /// True when B was being waited for, not yet held.
    pub waiting: bool,
    /// A's address.
    pub first_addr: String,
    /// B's address.
    pub then_addr: String,
}

/// How sure a potential deadlock is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Confidence {
    /// The same two addresses were seen taken in both orders.
    SameLocks,
    /// Only the name classes form a cycle: the locks may be different objects.
    NameClassOnly,
}

impl Confidence {
    /// A short label for reports and JSON.
    pub fn label(self) -> &'static str {
        match self {
            Confidence::SameLocks => "same-locks",
            Confidence::NameClassOnly => "name-class-only",
        }
    }
}

/// A cycle in the lock-order graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PotentialDeadlock {
    /// The name classes around the shortest cycle, in order (each is taken before the next).
    pub classes: Vec<String>,
    /// For each step `classes[i] → classes[i+1]`, the evidence seen (the first
    /// [`MAX_EVIDENCE`] sightings).
    pub steps: Vec<Vec<Evidence>>,
    /// For each step, how many times it was seen in all.
    pub counts: Vec<usize>,
    /// How sure it is.
    pub confidence: Confidence,
    /// For [`Confidence::SameLocks`], the addresses around the cycle.
    pub addresses: Vec<String>,
}

/// A name-class pair a user declared harmless: `A -> B`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Suppression {
    /// The class taken first.
    pub first: String,
    /// The class taken second.
    pub then: String,
}

/// Read a suppressions file: one `A -> B` pair per line, `#` starts a comment.
/// Returns the pairs, or the 1-based line of the first line that is not one.
pub fn parse_suppressions(text: &str) -> Result<Vec<Suppression>, (usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = match line.find('#') {
            // A `#` inside a lock name is unlikely; a comment after blanks is the rule.
            Some(at) if at == 0 || line[..at].ends_with([' ', '\t']) => &line[..at],
            _ => line,
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((a, b)) = line.split_once(" -> ") else {
            return Err((
                i + 1,
                format!("expected `<lock name> -> <lock name>`, found `{line}`"),
            ));
        };
        out.push(Suppression {
            first: a.trim().to_string(),
            then: b.trim().to_string(),
        });
    }
    Ok(out)
}

/// Sightings kept as evidence for one step of a potential deadlock: a common
/// pair in a big dump is seen thousands of times, and the first few tell the story.
pub const MAX_EVIDENCE: usize = 20;

/// Entries of one thread considered for lock order. Asterisk tracks at most 64
/// locks per thread (AST_MAX_LOCKS); a longer list is not a real dump's shape, and
/// its pairs grow with the square of its length.
pub const MAX_ORDER_ENTRIES: usize = 256;

/// One sighting of an order: which snapshot, thread and entries (by index), and
/// the two addresses as numbers when both are ones. A big dump has one for nearly
/// every thread, so it is kept small: 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    snapshot: u32,
    thread: u32,
    first: u16,
    then: u16,
    /// Whether `addrs` holds the two addresses (kept apart from them so that the
    /// sighting stays 32 bytes, not 40).
    numeric: bool,
    addrs: (u64, u64),
}

impl Seen {
    fn entries<'s, 'a>(
        &self,
        snapshots: &[&'s Snapshot<'a>],
    ) -> (&'s Thread<'a>, &'s LockEntry<'a>, &'s LockEntry<'a>) {
        let t = &snapshots[self.snapshot as usize].threads[self.thread as usize];
        (
            t,
            &t.entries[usize::from(self.first)],
            &t.entries[usize::from(self.then)],
        )
    }

    /// The two addresses as numbers, when both are ones.
    fn addrs(&self) -> Option<(u64, u64)> {
        self.numeric.then_some(self.addrs)
    }
}

/// Ordered pairs by name class, with where each was seen (indexes only: a big
/// dump has a pair for every thread holding two locks, and most are never shown).
fn collect<'s>(snapshots: &[&'s Snapshot<'_>]) -> BTreeMap<(&'s str, &'s str), Vec<Seen>> {
    let mut out: BTreeMap<(&str, &str), Vec<Seen>> = BTreeMap::new();
    // Indexes beyond u32 cannot occur (a thread header alone is 20 bytes), but
    // would end the scan rather than wrap.
    for (si, s) in (0..=u32::MAX).zip(snapshots) {
        for (ti, t) in (0..=u32::MAX).zip(&s.threads) {
            // Most threads hold one lock and wait for none: no pair.
            if t.entries.len() < 2 {
                continue;
            }
            let entries = &t.entries[..t.entries.len().min(MAX_ORDER_ENTRIES)];
            let addrs: Vec<Option<u64>> = entries.iter().map(|e| e.address()).collect();
            for (i, a) in entries.iter().enumerate() {
                if !a.is_holding() {
                    continue;
                }
                for (j, b) in entries.iter().enumerate().skip(i + 1) {
                    let takes = b.is_holding() || b.state == LockState::Waiting;
                    let same = match (addrs[i], addrs[j]) {
                        (Some(x), Some(y)) => x == y,
                        _ => b.addr == a.addr,
                    };
                    // A lock without a name (a gdb wait typed by hand) has no class.
                    if !takes || same || a.name.is_empty() || b.name.is_empty() {
                        continue;
                    }
                    out.entry((a.name.as_ref(), b.name.as_ref()))
                        .or_default()
                        .push(Seen {
                            snapshot: si,
                            thread: ti,
                            // Below MAX_ORDER_ENTRIES, so they fit.
                            first: i as u16,
                            then: j as u16,
                            numeric: addrs[i].is_some() && addrs[j].is_some(),
                            addrs: (addrs[i].unwrap_or(0), addrs[j].unwrap_or(0)),
                        });
                }
            }
        }
    }
    out
}

fn evidence(snapshots: &[&Snapshot<'_>], seen: &Seen) -> Evidence {
    let (t, a, b) = seen.entries(snapshots);
    let at = |l: &Location<'_>| (!l.file.is_empty()).then(|| l.to_string());
    Evidence {
        snapshot: seen.snapshot as usize,
        thread: t.id.to_string(),
        first_at: at(&a.location),
        then_at: at(&b.location),
        waiting: b.state == LockState::Waiting,
        first_addr: a.addr.to_string(),
        then_addr: b.addr.to_string(),
    }
}

/// Ordered pairs seen in the snapshots: name class A → name class B, with evidence.
pub fn pairs(snapshots: &[&Snapshot<'_>]) -> BTreeMap<(String, String), Vec<Evidence>> {
    collect(snapshots)
        .into_iter()
        .map(|((a, b), seen)| {
            (
                (a.to_string(), b.to_string()),
                seen.iter().map(|x| evidence(snapshots, x)).collect(),
            )
        })
        .collect()
}

/// Shortest cycle through the strongly connected component `members` of `adj`.
fn shortest_cycle(members: &[usize], adj: &[Vec<usize>]) -> Vec<usize> {
    let inside: BTreeSet<usize> = members.iter().copied().collect();
    let mut best: Option<Vec<usize>> = None;
    for &s in members {
        let mut prev: HashMap<usize, usize> = HashMap::new();
        let mut queue = std::collections::VecDeque::from([s]);
        let mut end = None;
        'bfs: while let Some(u) = queue.pop_front() {
            for &v in &adj[u] {
                if !inside.contains(&v) {
                    continue;
                }
                if v == s {
                    end = Some(u);
                    break 'bfs;
                }
                if let std::collections::hash_map::Entry::Vacant(e) = prev.entry(v) {
                    e.insert(u);
                    queue.push_back(v);
                }
            }
        }
        let Some(mut cur) = end else { continue };
        let mut cycle = vec![cur];
        while cur != s {
            let Some(&p) = prev.get(&cur) else { break };
            cycle.push(p);
            cur = p;
        }
        cycle.reverse();
        if best.as_ref().is_none_or(|b| cycle.len() < b.len()) {
            best = Some(cycle);
        }
    }
    best.unwrap_or_default()
}

/// The cycles of a directed graph given as edges between node labels: each
/// strongly connected component of two or more nodes, as its shortest cycle.
pub fn cycles<K: Ord + Clone>(edges: &[(K, K)]) -> Vec<Vec<K>> {
    cycles_of(edges.to_vec())
}

/// [`cycles`] of edges it may consume: a big dump's address pairs are not copied.
fn cycles_of<K: Ord + Clone>(mut edges: Vec<(K, K)>) -> Vec<Vec<K>> {
    // An edge from a node nothing leads to, or to a node that leads nowhere, is on
    // no cycle. In a big dump that is nearly every address pair (a lock held by one
    // thread only), so the graph is built from what is left. A few rounds catch
    // nearly all; a long chain would need one per link, and what is left is
    // still correct, only bigger.
    edges.retain(|(a, b)| a != b);
    for _ in 0..4 {
        let mut has_in: Vec<&K> = edges.iter().map(|(_, b)| b).collect();
        let mut has_out: Vec<&K> = edges.iter().map(|(a, _)| a).collect();
        has_in.sort_unstable();
        has_in.dedup();
        has_out.sort_unstable();
        has_out.dedup();
        let keep: Vec<bool> = edges
            .iter()
            .map(|(a, b)| has_in.binary_search(&a).is_ok() && has_out.binary_search(&b).is_ok())
            .collect();
        if keep.iter().all(|k| *k) {
            break;
        }
        let mut keep = keep.into_iter();
        edges.retain(|_| keep.next().unwrap_or(true));
    }
    if edges.is_empty() {
        return Vec::new();
    }
    let edges = &edges[..];
    // Nodes numbered in label order: a sorted list and a binary search, which
    // stays cheap for the hundreds of thousands of addresses of a big dump.
    let mut names: Vec<K> = edges
        .iter()
        .flat_map(|(a, b)| [a.clone(), b.clone()])
        .collect();
    names.sort_unstable();
    names.dedup();
    let id = |k: &K| names.binary_search(k).unwrap_or_default();
    let mut adj = vec![Vec::new(); names.len()];
    for (a, b) in edges {
        let (x, y) = (id(a), id(b));
        if x != y {
            adj[x].push(y);
        }
    }
    let mut graph: DiGraph<(), ()> = DiGraph::with_capacity(names.len(), edges.len());
    for _ in 0..names.len() {
        graph.add_node(());
    }
    for (x, a) in adj.iter_mut().enumerate() {
        a.sort_unstable();
        a.dedup();
        for &y in a.iter() {
            graph.add_edge(NodeIndex::new(x), NodeIndex::new(y), ());
        }
    }
    let mut out: Vec<Vec<K>> = petgraph::algo::tarjan_scc(&graph)
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|c| {
            let mut members: Vec<usize> = c.iter().map(|n| n.index()).collect();
            members.sort_unstable();
            shortest_cycle(&members, &adj)
                .into_iter()
                .map(|i| names[i].clone())
                .collect()
        })
        .collect();
    out.sort();
    out
}

/// Find the potential deadlocks in the snapshots, less the suppressed pairs.
pub fn potential_deadlocks(
    snapshots: &[&Snapshot<'_>],
    suppress: &[Suppression],
) -> Vec<PotentialDeadlock> {
    let pairs = collect(snapshots);
    let suppressed = |a: &str, b: &str| suppress.iter().any(|s| s.first == a && s.then == b);
    // Name-class level. Pairs within one class (two channels locked together) are
    // no edge here: a class cannot be ordered against itself by name.
    let class_edges: Vec<(&str, &str)> = pairs
        .keys()
        .filter(|(a, b)| a != b && !suppressed(a, b))
        .copied()
        .collect();
    if class_edges.is_empty() {
        return Vec::new();
    }
    let class_cycles = cycles(&class_edges);
    if class_cycles.is_empty() {
        return Vec::new();
    }
    // Address level, only over the classes that form cycles.
    let in_cycle: BTreeSet<&str> = class_cycles.iter().flatten().copied().collect();
    let mut addr_edges: Vec<(u64, u64)> = pairs
        .iter()
        .filter(|((a, b), _)| !suppressed(a, b) && in_cycle.contains(a) && in_cycle.contains(b))
        .flat_map(|(_, seen)| seen.iter().filter_map(|x| x.addrs()))
        .collect();
    addr_edges.sort_unstable();
    addr_edges.dedup();
    let addr_cycles = if addr_edges.is_empty() {
        Vec::new()
    } else {
        cycles_of(addr_edges)
    };
    let cycle_edges: HashSet<(u64, u64)> = addr_cycles
        .iter()
        .flat_map(|c| (0..c.len()).map(move |i| (c[i], c[(i + 1) % c.len()])))
        .collect();
    let mut out = Vec::new();
    for classes in class_cycles {
        let steps: Vec<&Vec<Seen>> = (0..classes.len())
            .filter_map(|i| pairs.get(&(classes[i], classes[(i + 1) % classes.len()])))
            .collect();
        // The same locks in both orders: an address cycle whose every step is one of
        // this class cycle's steps.
        let seen_here: HashSet<(u64, u64)> = steps
            .iter()
            .flat_map(|seen| seen.iter().filter_map(|x| x.addrs()))
            .filter(|e| cycle_edges.contains(e))
            .collect();
        let step_has = |edge: (u64, u64)| seen_here.contains(&edge);
        let same = addr_cycles.iter().find(|c| {
            c.len() == classes.len() && (0..c.len()).all(|i| step_has((c[i], c[(i + 1) % c.len()])))
        });
        // Each address as the dump printed it, from a sighting that names it.
        let printed = |addr: u64| {
            steps.iter().flat_map(|seen| seen.iter()).find_map(|x| {
                let (_, a, b) = x.entries(snapshots);
                match x.addrs() {
                    Some((p, _)) if p == addr => Some(a.addr.to_string()),
                    Some((_, q)) if q == addr => Some(b.addr.to_string()),
                    _ => None,
                }
            })
        };
        out.push(PotentialDeadlock {
            classes: classes.iter().map(|c| c.to_string()).collect(),
            counts: steps.iter().map(|seen| seen.len()).collect(),
            steps: steps
                .iter()
                .map(|seen| {
                    seen.iter()
                        .take(MAX_EVIDENCE)
                        .map(|x| evidence(snapshots, x))
                        .collect()
                })
                .collect(),
            confidence: if same.is_some() {
                Confidence::SameLocks
            } else {
                Confidence::NameClassOnly
            },
            addresses: same
                .map(|c| c.iter().filter_map(|&a| printed(a)).collect())
                .unwrap_or_default(),
        });
    }
    out.sort_by(|a, b| {
        a.confidence
            .cmp(&b.confidence)
            .then(a.classes.cmp(&b.classes))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ast_locks_model::LockKind;
    use proptest::prelude::*;

    fn t(id: &str, entries: &[(LockState, &str, &str)]) -> Thread<'static> {
        let mut th = Thread::new(id.to_string());
        for (i, &(st, name, addr)) in entries.iter().enumerate() {
            let mut e = LockEntry::new(i as u32, st, LockKind::Mutex, addr.to_string());
            e.name = name.to_string().into();
            e.location = Location {
                file: "x.c".into(),
                line: 10 + i as u32,
                function: format!("f_{id}").into(),
            };
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

    use LockState::{Held, Waiting};

    #[test]
    fn inversion_between_two_threads_not_blocked() {
        // Neither waits: A→B in one thread, B→A in another, the same two locks.
        let s = snap(vec![
            t(
                "0x1",
                &[(Held, "&agents", "0xa"), (Held, "&p->lock", "0xb")],
            ),
            t(
                "0x2",
                &[(Held, "&p->lock", "0xb"), (Held, "&agents", "0xa")],
            ),
        ]);
        let found = potential_deadlocks(&[&s], &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].classes, ["&agents", "&p->lock"]);
        assert_eq!(found[0].confidence, Confidence::SameLocks);
        assert_eq!(
            found[0].steps[0][0].first_at.as_deref(),
            Some("x.c:10 f_0x1()")
        );
        assert_eq!(found[0].steps[1][0].thread, "0x2");
    }

    #[test]
    fn same_class_different_objects_is_name_class_only_and_says_so() {
        let s = snap(vec![
            t(
                "0x1",
                &[(Held, "&agents", "0xa"), (Held, "&p->lock", "0xb")],
            ),
            t(
                "0x2",
                &[(Held, "&p->lock", "0xc"), (Waiting, "&agents", "0xd")],
            ),
        ]);
        let found = potential_deadlocks(&[&s], &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].confidence, Confidence::NameClassOnly);
        assert!(found[0].addresses.is_empty());
    }

    #[test]
    fn nesting_within_one_class_is_no_cycle_and_suppressions_silence() {
        let s = snap(vec![
            t(
                "0x1",
                &[(Held, "&chan->lock", "0xa"), (Held, "&chan->lock", "0xb")],
            ),
            t(
                "0x2",
                &[(Held, "&chan->lock", "0xb"), (Held, "&chan->lock", "0xa")],
            ),
        ]);
        assert!(potential_deadlocks(&[&s], &[]).is_empty());
        let s = snap(vec![
            t("0x1", &[(Held, "A", "0xa"), (Held, "B", "0xb")]),
            t("0x2", &[(Held, "B", "0xb"), (Held, "A", "0xa")]),
        ]);
        let sup = parse_suppressions("# known\nB -> A   # reviewed in #123\n").expect("parses");
        assert!(potential_deadlocks(&[&s], &sup).is_empty());
        assert_eq!(parse_suppressions("A B").unwrap_err().0, 1);
    }

    #[test]
    fn evidence_across_snapshots() {
        let s1 = snap(vec![t("0x1", &[(Held, "A", "0xa"), (Held, "B", "0xb")])]);
        let s2 = snap(vec![t("0x2", &[(Held, "B", "0xb"), (Waiting, "A", "0xa")])]);
        let found = potential_deadlocks(&[&s1, &s2], &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].steps[1][0].snapshot, 1);
        assert!(found[0].steps[1][0].waiting);
    }

    /// Brute force: does the class graph have a cycle (of two or more classes)?
    fn has_cycle(edges: &BTreeSet<(u8, u8)>) -> bool {
        let nodes: BTreeSet<u8> = edges.iter().flat_map(|&(a, b)| [a, b]).collect();
        nodes.iter().any(|&s| {
            let mut seen = BTreeSet::new();
            let mut stack: Vec<u8> = edges
                .iter()
                .filter(|e| e.0 == s && e.1 != s)
                .map(|e| e.1)
                .collect();
            while let Some(u) = stack.pop() {
                if u == s {
                    return true;
                }
                if seen.insert(u) {
                    stack.extend(edges.iter().filter(|e| e.0 == u && e.1 != u).map(|e| e.1));
                }
            }
            false
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn a_lock_order_cycle_is_reported_iff_the_pair_graph_has_one(
            threads in prop::collection::vec(prop::collection::vec((0u8..4, any::<bool>()), 0..4), 1..6)
        ) {
            let mut edges = BTreeSet::new();
            let built: Vec<Thread<'static>> = threads.iter().enumerate().map(|(i, locks)| {
                let entries: Vec<(LockState, String, String)> = locks.iter().enumerate().map(|(j, &(l, wait))| {
                    // Only the last entry may be a wait.
                    let st = if wait && j + 1 == locks.len() { Waiting } else { Held };
                    (st, format!("L{l}"), format!("0x{l:x}"))
                }).collect();
                for (a, ea) in entries.iter().enumerate() {
                    if ea.0 != Held { continue; }
                    for eb in &entries[a + 1..] {
                        if ea.2 != eb.2 {
                            edges.insert((ea.1.as_bytes()[1], eb.1.as_bytes()[1]));
                        }
                    }
                }
                let refs: Vec<(LockState, &str, &str)> = entries.iter().map(|(s, n, a)| (*s, n.as_str(), a.as_str())).collect();
                t(&format!("0x{i}"), &refs)
            }).collect();
            let s = snap(built);
            let found = potential_deadlocks(&[&s], &[]);
            prop_assert_eq!(!found.is_empty(), has_cycle(&edges));
            for f in &found {
                // Each step of a reported cycle was seen.
                for step in &f.steps {
                    prop_assert!(!step.is_empty());
                }
            }
        }
    }
}
