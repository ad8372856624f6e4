//! What a picture shows: the nodes and edges every graph format draws (DOT, SVG,
//! mermaid, HTML), chosen by [`ViewOptions`] so that a 300-thread dump does not
//! drown its two deadlocked threads among idle holders.

use crate::Report;
use ast_locks_analysis::{Reason, Root};
use ast_locks_model::LockKind;
use std::collections::BTreeSet;

/// Which graph to draw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ViewKind {
    /// Thread → thread waits-for edges.
    #[default]
    Threads,
    /// Bipartite: thread → lock (waits) and lock → thread (held by).
    Locks,
}

/// Which part of the graph to draw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViewOptions {
    /// Draw every thread and lock, not only those involved in a wait. Default: `false`.
    pub all: bool,
    /// Draw the neighbourhood of the threads or locks this matches: a thread id, an LWP,
    /// a lock address, or a glob (`*`, `?`) on lock or thread names. Default: none.
    pub focus: Option<String>,
    /// Draw at most this many nodes, most important first. Default: no limit.
    pub max_nodes: Option<usize>,
    /// Threads-only or bipartite. Default: [`ViewKind::Threads`].
    pub kind: ViewKind,
}

/// How a node or edge is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Look {
    /// Part of a deadlock: red and bold.
    Hot,
    /// A holder others are stuck behind: orange.
    Stalled,
    /// An unknown holder, or an edge to one: dashed.
    Unknown,
    /// A read-lock hold in the bipartite view: dashed.
    Reader,
    /// Everything else.
    Plain,
}

/// What a node stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeKind {
    /// A thread (index in the snapshot).
    Thread(usize),
    /// The missing holder of a lock (lock index).
    UnknownHolder(usize),
    /// A lock (lock index), in the bipartite view.
    Lock(usize),
}

/// A node to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VNode {
    /// A stable identifier safe in any output format (`t3`, `u1`, `l7`).
    pub key: String,
    /// What it stands for.
    pub kind: NodeKind,
    /// Label lines, first the most telling.
    pub label: Vec<String>,
    /// How to draw it.
    pub look: Look,
}

/// An edge to draw, between two node indexes of [`View::nodes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VEdge {
    /// Index of the source node.
    pub from: usize,
    /// Index of the target node.
    pub to: usize,
    /// Label lines.
    pub label: Vec<String>,
    /// How to draw it.
    pub look: Look,
    /// The lock this edge is about.
    pub lock: usize,
}

/// The picture's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// The verdict, plus a note when nodes were left out.
    pub title: String,
    /// Nodes in a stable order: threads in dump order, then locks, then unknown holders.
    pub nodes: Vec<VNode>,
    /// Edges in a stable order.
    pub edges: Vec<VEdge>,
    /// Threads of the snapshot that are not drawn.
    pub threads_left_out: usize,
    /// Nodes dropped by `max_nodes`.
    pub capped: usize,
}

/// `*` and `?` glob match, whole string.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matcher with backtracking to the last `*`: linear in practice.
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

impl View {
    /// Choose and label what to draw.
    pub fn new(r: &Report<'_, '_>, opts: &ViewOptions) -> View {
        let s = r.snapshot;
        let a = r.analysis;
        let n = s.threads.len();
        let mut deadlock_of = vec![None; n];
        for (d, dl) in a.deadlocks.iter().enumerate() {
            for &t in &dl.threads {
                deadlock_of[t] = Some(d);
            }
        }
        let stalled: BTreeSet<usize> = a
            .roots
            .iter()
            .filter_map(|g| match g.root {
                Root::Holder(h) => Some(h),
                _ => None,
            })
            .collect();
        let unknown = a.unknown_holder_locks();
        let mut blocker = vec![false; n];
        for e in &a.edges {
            blocker[e.blocker] = true;
        }

        // Which threads are in the picture.
        let mut keep: Vec<bool> = (0..n)
            .map(|t| opts.all || a.waits[t].is_some() || blocker[t])
            .collect();
        if let Some(f) = &opts.focus {
            keep = focus(r, f);
        }

        // Importance for the cap: deadlocks, then roots, then the rest in dump order.
        let rank = |t: usize| -> u8 {
            if deadlock_of[t].is_some() {
                0
            } else if stalled.contains(&t) {
                1
            } else if a.waits[t].is_some() {
                2
            } else {
                3
            }
        };
        let mut capped = 0;
        if let Some(max) = opts.max_nodes {
            let mut order: Vec<usize> = (0..n).filter(|&t| keep[t]).collect();
            order.sort_by_key(|&t| (rank(t), t));
            for &t in order.iter().skip(max) {
                keep[t] = false;
                capped += 1;
            }
        }

        let mut nodes: Vec<VNode> = Vec::new();
        let mut node_of_thread = vec![None; n];
        for t in 0..n {
            if !keep[t] {
                continue;
            }
            let th = &s.threads[t];
            let mut label = vec![th.id.to_string()];
            if let Some(lwp) = th.lwp {
                label.push(format!("LWP {lwp}"));
            }
            let name = th.short_name();
            if !name.is_empty() {
                label.push(name.to_string());
            }
            let look = if deadlock_of[t].is_some() {
                Look::Hot
            } else if stalled.contains(&t) {
                Look::Stalled
            } else {
                Look::Plain
            };
            node_of_thread[t] = Some(nodes.len());
            nodes.push(VNode {
                key: format!("t{t}"),
                kind: NodeKind::Thread(t),
                label,
                look,
            });
        }
        let hot_edge =
            |w: usize, b: usize| deadlock_of[w].is_some() && deadlock_of[w] == deadlock_of[b];
        let lock_lines = |li: usize| {
            let (name, addr) = a.lock_label(s, li);
            vec![name.to_string(), addr.to_string()]
        };
        let mut edges = Vec::new();
        match opts.kind {
            ViewKind::Threads => {
                for e in &a.edges {
                    let (Some(from), Some(to)) =
                        (node_of_thread[e.waiter], node_of_thread[e.blocker])
                    else {
                        continue;
                    };
                    let mut label = lock_lines(e.lock);
                    if e.reason == Reason::QueuedWriter {
                        label.push("(queued writer)".to_string());
                    }
                    edges.push(VEdge {
                        from,
                        to,
                        label,
                        look: if hot_edge(e.waiter, e.blocker) {
                            Look::Hot
                        } else {
                            Look::Plain
                        },
                        lock: e.lock,
                    });
                }
            }
            ViewKind::Locks => {
                // Locks drawn: those a drawn thread waits for, and with --all every lock a
                // drawn thread holds.
                let mut lock_node = vec![None; a.locks.len()];
                for (li, lock) in a.locks.iter().enumerate() {
                    let awaited = lock.waiters.iter().any(|w| keep[w.thread]);
                    let held = lock.holders.iter().any(|h| keep[h.thread]);
                    if !(awaited || (opts.all && held)) {
                        continue;
                    }
                    let hot = a.deadlocks.iter().any(|d| d.locks.contains(&li));
                    let mut label = lock_lines(li);
                    // The lock's type, not one entry's mode: any read or write entry makes it a rwlock.
                    let kinds: Vec<LockKind> = lock
                        .holders
                        .iter()
                        .chain(lock.waiters)
                        .map(|e| s.threads[e.thread].entries[e.entry].kind)
                        .collect();
                    label.push(if kinds.iter().any(|k| k.is_rwlock()) {
                        "rwlock".to_string()
                    } else {
                        kinds
                            .first()
                            .map(|k| k.label().to_lowercase())
                            .unwrap_or_default()
                    });
                    lock_node[li] = Some(nodes.len());
                    nodes.push(VNode {
                        key: format!("l{li}"),
                        kind: NodeKind::Lock(li),
                        label,
                        look: if hot { Look::Hot } else { Look::Plain },
                    });
                }
                for (li, lock) in a.locks.iter().enumerate() {
                    let Some(ln) = lock_node[li] else { continue };
                    for w in lock.waiters {
                        let Some(tn) = node_of_thread[w.thread] else {
                            continue;
                        };
                        let e = &s.threads[w.thread].entries[w.entry];
                        let hot = deadlock_of[w.thread].is_some()
                            && a.deadlocks
                                .iter()
                                .any(|d| d.locks.contains(&li) && d.threads.contains(&w.thread));
                        edges.push(VEdge {
                            from: tn,
                            to: ln,
                            label: vec![format!("waits ({})", e.kind.label())],
                            look: if hot { Look::Hot } else { Look::Plain },
                            lock: li,
                        });
                    }
                    let mut seen = BTreeSet::new();
                    for h in lock.holders {
                        let Some(tn) = node_of_thread[h.thread] else {
                            continue;
                        };
                        if !seen.insert(h.thread) {
                            continue;
                        }
                        let e = &s.threads[h.thread].entries[h.entry];
                        let hot = deadlock_of[h.thread].is_some()
                            && a.deadlocks
                                .iter()
                                .any(|d| d.locks.contains(&li) && d.threads.contains(&h.thread));
                        edges.push(VEdge {
                            from: ln,
                            to: tn,
                            label: vec![format!("held by ({})", e.kind.label())],
                            look: if hot {
                                Look::Hot
                            } else if e.kind == LockKind::RdLock {
                                Look::Reader
                            } else {
                                Look::Plain
                            },
                            lock: li,
                        });
                    }
                }
            }
        }
        // Unknown holders: a dashed node, and a dashed edge from each drawn waiter
        // that nothing else blocks (in the bipartite view, from the lock).
        let mut blocked_by_someone = vec![false; n];
        for e in &a.edges {
            blocked_by_someone[e.waiter] = true;
        }
        for li in unknown {
            let (name, addr) = a.lock_label(s, li);
            let waiters: Vec<usize> = a
                .locks
                .get(li)
                .waiters
                .iter()
                .filter_map(|w| node_of_thread[w.thread].filter(|_| !blocked_by_someone[w.thread]))
                .collect();
            let lock_drawn = nodes.iter().position(|v| v.kind == NodeKind::Lock(li));
            if waiters.is_empty() && lock_drawn.is_none() {
                continue;
            }
            let un = nodes.len();
            nodes.push(VNode {
                key: format!("u{li}"),
                kind: NodeKind::UnknownHolder(li),
                label: vec!["unknown holder of".to_string(), format!("{name} {addr}")],
                look: Look::Unknown,
            });
            match lock_drawn {
                Some(ln) => edges.push(VEdge {
                    from: ln,
                    to: un,
                    label: vec!["held by".to_string()],
                    look: Look::Unknown,
                    lock: li,
                }),
                None => {
                    for w in waiters {
                        edges.push(VEdge {
                            from: w,
                            to: un,
                            label: lock_lines(li),
                            look: Look::Unknown,
                            lock: li,
                        });
                    }
                }
            }
        }

        let drawn = node_of_thread.iter().filter(|x| x.is_some()).count();
        let threads_left_out = n - drawn;
        let mut title = r.headline();
        if capped > 0 {
            title.push_str(&format!(" [{capped} more threads not drawn: --max-nodes]"));
        }
        View {
            title,
            nodes,
            edges,
            threads_left_out,
            capped,
        }
    }
}

/// Threads in the neighbourhood of what `pattern` names.
fn focus(r: &Report<'_, '_>, pattern: &str) -> Vec<bool> {
    let s = r.snapshot;
    let a = r.analysis;
    let n = s.threads.len();
    let p = pattern.to_ascii_lowercase();
    let mut seed = vec![false; n];
    for (t, th) in s.threads.iter().enumerate() {
        let lwp = th.lwp.map(|l| l.to_string()).unwrap_or_default();
        if th.id.eq_ignore_ascii_case(&p)
            || lwp == p
            || glob(pattern, th.short_name())
            || glob(pattern, &th.name)
        {
            seed[t] = true;
        }
    }
    for (li, lock) in a.locks.iter().enumerate() {
        let (name, addr) = a.lock_label(s, li);
        if addr.eq_ignore_ascii_case(&p) || glob(pattern, name) {
            for e in lock.holders.iter().chain(lock.waiters) {
                seed[e.thread] = true;
            }
        }
    }
    // The seeds, the threads they wait for all the way to their roots, and the
    // threads waiting directly on them.
    let mut keep = seed.clone();
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for e in &a.edges {
        out[e.waiter].push(e.blocker);
        if seed[e.blocker] {
            keep[e.waiter] = true;
        }
    }
    let mut visited = seed.clone();
    let mut stack: Vec<usize> = (0..n).filter(|&t| seed[t]).collect();
    while let Some(t) = stack.pop() {
        for &b in &out[t] {
            keep[b] = true;
            if !visited[b] {
                visited[b] = true;
                stack.push(b);
            }
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn glob_table() {
        for (p, t, want) in [
            ("&chan->lock", "&chan->lock", true),
            ("*chan*", "&chan->lock", true),
            ("&?han->lock", "&chan->lock", true),
            ("*->lock", "&(&agents)->lock", true),
            ("chan", "&chan->lock", false),
            ("*", "", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
        ] {
            assert_eq!(glob(p, t), want, "{p} ~ {t}");
        }
    }
}
