//! Graphviz DOT of the waits-for graph, built with graphviz-rust's DOT structures
//! and printer, so that `ast-locks dump.txt | dot -Tsvg` (or `circo`) just works.
//!
//! What is drawn comes from [`crate::view::View`]: by default the threads involved in a
//! wait; deadlocked threads and the edges between them are red and bold, holders that
//! others are stuck behind orange, unknown holders dashed.

use crate::view::{Look, View};
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

fn node_id(s: &str) -> NodeId {
    NodeId(Id::Plain(s.to_string()), None)
}

fn look(attrs: &mut Vec<Attribute>, l: Look) {
    match l {
        Look::Hot => {
            attrs.push(attr("color", plain("red")));
            attrs.push(attr("fontcolor", plain("red")));
            attrs.push(attr("penwidth", plain("2")));
            attrs.push(attr("style", plain("bold")));
        }
        Look::Stalled => {
            attrs.push(attr("color", plain("darkorange")));
            attrs.push(attr("penwidth", plain("2")));
        }
        Look::Unknown | Look::Reader => attrs.push(attr("style", plain("dashed"))),
        Look::Plain => {}
    }
}

/// Build the graph of a view.
pub fn graph(v: &View) -> Graph {
    let mut stmts: Vec<Stmt> = vec![
        Stmt::GAttribute(GraphAttributes::Graph(vec![
            attr("label", quoted(&v.title)),
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
    for n in &v.nodes {
        let mut attrs = vec![attr("label", quoted(&n.label.join("\n")))];
        if matches!(n.kind, crate::view::NodeKind::Lock(_)) {
            attrs.push(attr("shape", plain("ellipse")));
        }
        look(&mut attrs, n.look);
        stmts.push(Stmt::Node(Node::new(node_id(&n.key), attrs)));
    }
    for e in &v.edges {
        let mut attrs = vec![attr("label", quoted(&e.label.join("\n")))];
        look(&mut attrs, e.look);
        stmts.push(Stmt::Edge(Edge {
            ty: EdgeTy::Pair(
                Vertex::N(node_id(&v.nodes[e.from].key)),
                Vertex::N(node_id(&v.nodes[e.to].key)),
            ),
            attributes: attrs,
        }));
    }
    Graph::DiGraph {
        id: quoted("ast-locks"),
        strict: false,
        stmts,
    }
}

/// The DOT text of a view.
pub fn to_string(v: &View) -> String {
    graph(v).print(&mut PrinterContext::default())
}

/// Write the DOT text of a view.
pub fn write(w: &mut impl Write, v: &View) -> io::Result<()> {
    writeln!(w, "{}", to_string(v))
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
