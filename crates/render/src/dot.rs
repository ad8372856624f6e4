//! Graphviz DOT of the waits-for graph, built with graphviz-rust's DOT structures
//! and printer, so that `ast-locks dump.txt | dot -Tsvg` (or `circo`) just works.
//!
//! Nodes are threads (id, LWP, start routine); an edge goes from a waiting thread
//! to each thread in its way, labelled with the lock name and address. Deadlocked
//! threads and the edges between them are red and bold. A wait whose holder no
//! listed thread is points to a dashed "unknown holder" node.

use crate::Report;
use ast_locks_analysis::Root;
use graphviz_rust::dot_structures::{
    Attribute, Edge, EdgeTy, Graph, GraphAttributes, Id, Node, NodeId, Stmt, Vertex,
};
use graphviz_rust::printer::{DotPrinter, PrinterContext};
use std::io::{self, Write};

/// A DOT string literal: quotes and backslashes escaped, real newlines as `\n`.
fn quoted(s: &str) -> Id {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    Id::Escaped(out)
}

fn attr(k: &str, v: Id) -> Attribute {
    Attribute(Id::Plain(k.to_string()), v)
}

fn plain(v: &str) -> Id {
    Id::Plain(v.to_string())
}

fn node_id(s: String) -> NodeId {
    NodeId(Id::Plain(s), None)
}

fn hot(attrs: &mut Vec<Attribute>) {
    attrs.push(attr("color", plain("red")));
    attrs.push(attr("fontcolor", plain("red")));
    attrs.push(attr("penwidth", plain("2")));
    attrs.push(attr("style", plain("bold")));
}

/// Build the graph.
pub fn graph(r: &Report<'_, '_>) -> Graph {
    let s = r.snapshot;
    let a = r.analysis;
    let mut in_deadlock = vec![None; s.threads.len()];
    for (d, dl) in a.deadlocks.iter().enumerate() {
        for &t in &dl.threads {
            in_deadlock[t] = Some(d);
        }
    }
    let mut stmts: Vec<Stmt> = vec![
        Stmt::GAttribute(GraphAttributes::Graph(vec![
            attr("label", quoted(&a.verdict(s))),
            attr("labelloc", plain("t")),
            // Room for the labels of a 2-cycle's two arcs (circo) and between ranks (dot).
            attr("mindist", plain("2.5")),
            attr("nodesep", plain("0.8")),
            attr("ranksep", plain("0.9")),
            attr("fontname", quoted("Helvetica")),
        ])),
        Stmt::GAttribute(GraphAttributes::Node(vec![
            attr("shape", plain("box")),
            attr("fontname", quoted("Helvetica")),
        ])),
        Stmt::GAttribute(GraphAttributes::Edge(vec![
            attr("fontname", quoted("Helvetica")),
            attr("fontsize", plain("10")),
        ])),
    ];
    for (i, t) in s.threads.iter().enumerate() {
        let mut label = t.id.to_string();
        if let Some(lwp) = t.lwp {
            label.push_str(&format!("\nLWP {lwp}"));
        }
        let name = t.short_name();
        if !name.is_empty() {
            label.push('\n');
            label.push_str(name);
        }
        let mut attrs = vec![attr("label", quoted(&label))];
        if in_deadlock[i].is_some() {
            hot(&mut attrs);
        } else if a.roots.iter().any(|g| g.root == Root::Holder(i)) {
            attrs.push(attr("color", plain("darkorange")));
            attrs.push(attr("penwidth", plain("2")));
        }
        stmts.push(Stmt::Node(Node::new(node_id(format!("t{i}")), attrs)));
    }
    for e in &a.edges {
        let (name, addr) = a.lock_label(s, e.lock);
        let mut label = format!("{name}\n{addr}");
        if e.reason == ast_locks_analysis::Reason::QueuedWriter {
            label.push_str("\n(queued writer)");
        }
        let mut attrs = vec![attr("label", quoted(&label))];
        if in_deadlock[e.waiter].is_some() && in_deadlock[e.waiter] == in_deadlock[e.blocker] {
            hot(&mut attrs);
        }
        stmts.push(Stmt::Edge(Edge {
            ty: EdgeTy::Pair(
                Vertex::N(node_id(format!("t{}", e.waiter))),
                Vertex::N(node_id(format!("t{}", e.blocker))),
            ),
            attributes: attrs,
        }));
    }
    let mut blocked_by_someone = vec![false; s.threads.len()];
    for e in &a.edges {
        blocked_by_someone[e.waiter] = true;
    }
    for g in &a.roots {
        let Root::UnknownHolder(li) = g.root else {
            continue;
        };
        let (name, addr) = a.lock_label(s, li);
        stmts.push(Stmt::Node(Node::new(
            node_id(format!("u{li}")),
            vec![
                attr(
                    "label",
                    quoted(&format!("unknown holder of\n{name} {addr}")),
                ),
                attr("style", plain("dashed")),
                attr("shape", plain("box")),
            ],
        )));
        for w in &a.locks[li].waiters {
            if blocked_by_someone[w.thread] {
                continue;
            }
            stmts.push(Stmt::Edge(Edge {
                ty: EdgeTy::Pair(
                    Vertex::N(node_id(format!("t{}", w.thread))),
                    Vertex::N(node_id(format!("u{li}"))),
                ),
                attributes: vec![
                    attr("label", quoted(&format!("{name}\n{addr}"))),
                    attr("style", plain("dashed")),
                ],
            }));
        }
    }
    Graph::DiGraph {
        id: quoted("ast-locks"),
        strict: false,
        stmts,
    }
}

/// Write the DOT text.
pub fn write(w: &mut impl Write, r: &Report<'_, '_>) -> io::Result<()> {
    let mut ctx = PrinterContext::default();
    let text = graph(r).print(&mut ctx);
    writeln!(w, "{text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_what_dot_needs() {
        let rows: &[(&str, &str)] = &[
            ("&chan->lock", "\"&chan->lock\""),
            ("say \"hi\"", "\"say \\\"hi\\\"\""),
            ("back\\slash", "\"back\\\\slash\""),
            ("two\nlines", "\"two\\nlines\""),
            ("{}[];", "\"{}[];\""),
        ];
        for (input, want) in rows {
            assert_eq!(quoted(input), Id::Escaped(want.to_string()), "{input}");
        }
    }
}
