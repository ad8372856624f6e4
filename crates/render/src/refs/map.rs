//! The leak map: allocation sites on the left, the sites of the references
//! they never released on the right, an edge per pair whose width grows with
//! the number of objects. As DOT (for Graphviz), a self-contained SVG (laid out
//! here, two columns, no Graphviz needed) or a mermaid flowchart.
//!
//! The map shows the leaks; when there are none, the objects alive only
//! because no cleanups ran.

use super::{plural, RefsReport};
use ast_locks_analysis::refs::{Leak, LeakSite, Site};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// The map as nodes and weighted edges.
pub struct Map {
    pub title: String,
    /// Allocation sites: label lines.
    pub left: Vec<Vec<String>>,
    /// Unreleased-reference sites: label lines.
    pub right: Vec<Vec<String>>,
    /// (left, right, objects).
    pub edges: Vec<(usize, usize, u64)>,
}

impl Map {
    /// Build the map of a report.
    pub fn of(r: &RefsReport<'_>) -> Map {
        let d = r.diagnosis;
        let (sites, leaks, what) = if d.leaks.is_empty() && !d.shutdown_leaks.is_empty() {
            (
                &d.shutdown_sites,
                &d.shutdown_leaks,
                "alive only because no cleanups ran",
            )
        } else {
            (&d.leak_sites, &d.leaks, "leaked")
        };
        build(&d.verdict(), sites, leaks, what)
    }

    fn max_weight(&self) -> u64 {
        self.edges.iter().map(|e| e.2).max().unwrap_or(1).max(1)
    }

    /// Stroke width for an edge: 1 to 8.
    fn width(&self, weight: u64) -> f64 {
        1.0 + 7.0 * (weight as f64 / self.max_weight() as f64)
    }
}

fn build(verdict: &str, sites: &[LeakSite], leaks: &[Leak], what: &str) -> Map {
    let mut left: BTreeMap<Site, (u64, u64, String)> = BTreeMap::new();
    let mut right: BTreeMap<(Site, String), ()> = BTreeMap::new();
    let mut pairs: BTreeMap<(Site, (Site, String)), u64> = BTreeMap::new();
    for g in sites {
        let n = g.leaks.len() as u64;
        let entry = left
            .entry(g.allocated.clone())
            .or_insert((0, 0, g.tag.clone()));
        entry.0 += n;
        entry.1 += g.bytes;
        for u in &g.unreleased {
            right.insert(u.clone(), ());
            *pairs.entry((g.allocated.clone(), u.clone())).or_default() += n;
        }
    }
    let _ = leaks;
    let left_index: BTreeMap<&Site, usize> = left.keys().enumerate().map(|(i, s)| (s, i)).collect();
    let right_index: BTreeMap<&(Site, String), usize> =
        right.keys().enumerate().map(|(i, s)| (s, i)).collect();
    let edges = pairs
        .iter()
        .filter_map(|((a, u), n)| Some((*left_index.get(a)?, *right_index.get(u)?, *n)))
        .collect();
    let site_lines = |s: &Site, tag: &str| {
        let mut lines = vec![
            format!("{}:{}", s.file, s.line),
            format!("{}()", s.function),
        ];
        if !tag.is_empty() {
            lines.push(short(tag));
        }
        lines
    };
    Map {
        title: format!("{verdict} — {what}"),
        left: left
            .iter()
            .map(|(s, (n, bytes, tag))| {
                let mut lines = site_lines(s, tag);
                let size = if *bytes > 0 {
                    format!(", {}", plural(*bytes, "byte"))
                } else {
                    String::new()
                };
                lines.push(format!("{}{size}", plural(*n, "object")));
                lines
            })
            .collect(),
        right: right.keys().map(|(s, tag)| site_lines(s, tag)).collect(),
        edges,
    }
}

/// A tag, cut to 40 characters.
fn short(tag: &str) -> String {
    if tag.chars().count() > 40 {
        let cut: String = tag.chars().take(39).collect();
        format!("“{cut}…”")
    } else {
        format!("“{tag}”")
    }
}

/// A DOT string literal.
fn dot_string(lines: &[String]) -> String {
    let mut out = String::from("\"");
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push_str("\\n");
        }
        for c in line.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' | '\r' => out.push(' '),
                c => out.push(c),
            }
        }
    }
    out.push('"');
    out
}

/// The map as Graphviz DOT (`dot -Tsvg`).
pub fn write_dot(w: &mut impl Write, r: &RefsReport<'_>) -> io::Result<()> {
    let m = Map::of(r);
    writeln!(w, "digraph leak_map {{")?;
    writeln!(
        w,
        "  graph [rankdir=LR, labelloc=t, fontname=\"Helvetica\", label={}];",
        dot_string(std::slice::from_ref(&m.title))
    )?;
    writeln!(w, "  node [fontname=\"Helvetica\", fontsize=10];")?;
    writeln!(
        w,
        "  edge [fontname=\"Helvetica\", fontsize=10, color=\"#b2182b\"];"
    )?;
    for (i, lines) in m.left.iter().enumerate() {
        writeln!(
            w,
            "  l{i} [shape=box, style=filled, fillcolor=\"#fddbc7\", label={}];",
            dot_string(lines)
        )?;
    }
    for (i, lines) in m.right.iter().enumerate() {
        writeln!(w, "  u{i} [shape=ellipse, label={}];", dot_string(lines))?;
    }
    for (a, u, n) in &m.edges {
        writeln!(
            w,
            "  l{a} -> u{u} [label=\"{n}\", penwidth={:.1}];",
            m.width(*n)
        )?;
    }
    writeln!(w, "}}")
}

/// The map as a mermaid flowchart (for Markdown).
pub fn mermaid(r: &RefsReport<'_>) -> String {
    let m = Map::of(r);
    let mut out = String::from("flowchart LR\n");
    for (i, lines) in m.left.iter().enumerate() {
        out.push_str(&format!(
            "  l{i}[{}]\n",
            crate::markdown::mermaid_label(lines)
        ));
    }
    for (i, lines) in m.right.iter().enumerate() {
        out.push_str(&format!(
            "  u{i}([{}])\n",
            crate::markdown::mermaid_label(lines)
        ));
    }
    for (a, u, n) in &m.edges {
        out.push_str(&format!("  l{a} -- \"{n}\" --> u{u}\n"));
    }
    for (i, (_, _, n)) in m.edges.iter().enumerate() {
        out.push_str(&format!(
            "  linkStyle {i} stroke-width:{:.0}px\n",
            m.width(*n)
        ));
    }
    out
}

/// Write the mermaid flowchart alone.
pub fn write_mermaid(w: &mut impl Write, r: &RefsReport<'_>) -> io::Result<()> {
    w.write_all(mermaid(r).as_bytes())
}

const NODE_W: f64 = 300.0;
const LINE_H: f64 = 15.0;
const GAP: f64 = 14.0;
const COLUMN_GAP: f64 = 220.0;
const MARGIN: f64 = 20.0;
const TITLE_H: f64 = 36.0;

/// The map as a self-contained SVG, laid out in two columns.
pub fn write_svg(w: &mut impl Write, r: &RefsReport<'_>) -> io::Result<()> {
    let m = Map::of(r);
    let place = |nodes: &[Vec<String>]| -> Vec<(f64, f64)> {
        let mut y = MARGIN + TITLE_H;
        nodes
            .iter()
            .map(|lines| {
                let h = lines.len() as f64 * LINE_H + 12.0;
                let at = (y, h);
                y += h + GAP;
                at
            })
            .collect()
    };
    let left = place(&m.left);
    let right = place(&m.right);
    let bottom = |p: &[(f64, f64)]| p.last().map_or(MARGIN + TITLE_H, |(y, h)| y + h);
    let height = bottom(&left).max(bottom(&right)) + MARGIN;
    let width = MARGIN * 2.0 + NODE_W * 2.0 + COLUMN_GAP;
    let esc = crate::html::esc;
    writeln!(
        w,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">"
    )?;
    writeln!(w, "<title>{}</title>", esc(&m.title))?;
    writeln!(w, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>")?;
    writeln!(
        w,
        "<text x=\"{MARGIN}\" y=\"{:.0}\" font-size=\"14\" font-weight=\"bold\">{}</text>",
        MARGIN + 14.0,
        esc(&m.title)
    )?;
    let x_left = MARGIN;
    let x_right = MARGIN + NODE_W + COLUMN_GAP;
    for (a, u, n) in &m.edges {
        let (ya, ha) = left[*a];
        let (yu, hu) = right[*u];
        let (x1, y1) = (x_left + NODE_W, ya + ha / 2.0);
        let (x2, y2) = (x_right, yu + hu / 2.0);
        let mid = (x1 + x2) / 2.0;
        writeln!(
            w,
            "<path d=\"M{x1:.1},{y1:.1} C{mid:.1},{y1:.1} {mid:.1},{y2:.1} {x2:.1},{y2:.1}\" fill=\"none\" stroke=\"#b2182b\" stroke-opacity=\"0.7\" stroke-width=\"{:.1}\"/>",
            m.width(*n)
        )?;
        writeln!(
            w,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#b2182b\">{n}</text>",
            mid,
            (y1 + y2) / 2.0 - 4.0
        )?;
    }
    let boxes = |w: &mut dyn Write,
                 nodes: &[Vec<String>],
                 at: &[(f64, f64)],
                 x: f64,
                 fill: &str,
                 rx: u32|
     -> io::Result<()> {
        for (lines, (y, h)) in nodes.iter().zip(at) {
            writeln!(
                w,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{NODE_W}\" height=\"{h:.1}\" rx=\"{rx}\" fill=\"{fill}\" stroke=\"#444\"/>"
            )?;
            for (i, line) in lines.iter().enumerate() {
                writeln!(
                    w,
                    "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                    x + 8.0,
                    y + 17.0 + i as f64 * LINE_H,
                    esc(line)
                )?;
            }
        }
        Ok(())
    };
    boxes(w, &m.left, &left, x_left, "#fddbc7", 2)?;
    boxes(w, &m.right, &right, x_right, "#f7f7f7", 12)?;
    writeln!(w, "</svg>")
}
