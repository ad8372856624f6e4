//! SVG pictures of a [`View`]: drawn inside the binary by layout-rs (no external
//! program, so it works on a fresh machine), or through Graphviz when asked.
//!
//! Both draw the same nodes and edges as the DOT output. Every node and edge
//! carries `id` and `data-*` attributes (thread id, lock address) so that the HTML
//! report can highlight what a click selects.

use crate::dot;
use crate::view::{Look, NodeKind, VEdge, VNode, View};
use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::render::get_shape_size;
use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
use layout::topo::layout::VisualGraph;

/// Graphviz layout programs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Layout {
    /// Layered (`dot`): chains read top to bottom.
    #[default]
    Dot,
    /// Circular (`circo`): cycles drawn as circles.
    Circo,
    /// Spring model (`neato`).
    Neato,
    /// Force directed (`fdp`).
    Fdp,
}

impl Layout {
    /// The Graphviz program's name.
    pub fn program(self) -> &'static str {
        match self {
            Layout::Dot => "dot",
            Layout::Circo => "circo",
            Layout::Neato => "neato",
            Layout::Fdp => "fdp",
        }
    }
}

/// Why an SVG could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SvgError {
    /// The Graphviz program is not installed (or not on `PATH`).
    #[error("the Graphviz program `dot` was not found (for the {layout} layout): install Graphviz (`apt-get install graphviz`) or use the built-in renderer (`--renderer builtin`)")]
    GraphvizMissing {
        /// The layout that was asked for.
        layout: &'static str,
    },
    /// Graphviz ran and failed.
    #[error("Graphviz failed: {0}")]
    GraphvizFailed(String),
    /// The built-in layout engine gave up on this graph.
    #[error("the built-in layout failed on this graph ({0}); try `--renderer graphviz` or `--max-nodes`")]
    LayoutFailed(String),
    /// The picture has more edges than the built-in layout draws in reasonable time.
    #[error("the picture is too dense for the built-in layout ({0} edges among its nodes; it draws at most {MAX_DRAWN_EDGES} when there are more than one and a half a node): use `--renderer graphviz`, or draw less with `--focus` or `--max-nodes`")]
    TooDense(usize),
    /// The picture has more nodes than the built-in layout places in a few seconds.
    #[error("the picture has {0} nodes, more than the built-in layout draws in a few seconds ({MAX_DRAWN_NODES}): use `--renderer graphviz` (`-f dot | sfdp -Tsvg` for very big graphs), draw less with `--focus` or `--max-nodes`, or leave out `--all`")]
    TooLarge(usize),
}

/// Above this many edges the built-in picture has no edge labels, and layout-rs
/// does not optimise crossings: on a dense graph with cycles its crossing
/// optimisation takes seconds from about 100 edges (2 s at 150, 8 s at 300).
pub const MAX_LABELLED_EDGES: usize = 80;

/// Above this many thread-to-thread edges the built-in picture routes every
/// wait through the lock it is for (waiter → lock → holder): a lock held by many
/// and awaited by many gives holders + waiters edges instead of their product.
pub const MAX_THREAD_EDGES: usize = 150;

/// The most edges the built-in layout is given when the picture is dense (more
/// than one and a half edges a node) after routing: unoptimised, layout-rs takes
/// seconds on a dense graph with cycles from about 300 edges, and minutes at 800.
/// A sparse picture (each waiter waits for one holder: a convoy, chains, many small
/// cycles) is drawn at any size; 800 edges take a fraction of a second.
pub const MAX_DRAWN_EDGES: usize = 200;

/// The most nodes the built-in layout is given: its time grows faster than the
/// square of the nodes (1,000 threads with `--all`: 1.2 s; 2,000: 5.6 s; 4,000:
/// 33 s; 10,000 did not finish in minutes), so past this it refuses and names
/// the alternatives rather than leave a person waiting without a word.
pub const MAX_DRAWN_NODES: usize = 1500;

/// One font size everywhere: layout-rs emits one CSS class per size from a hash
/// map, so a single size keeps the output byte-identical from run to run.
const FONT: usize = 14;

fn color(l: Look) -> &'static str {
    match l {
        Look::Hot => "red",
        Look::Stalled => "darkorange",
        Look::Unknown => "gray",
        Look::Reader | Look::Plain => "black",
    }
}

/// `key="value"` with the value escaped for an XML attribute.
fn xml_attr(key: &str, value: &str) -> String {
    let mut v = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => v.push_str("&amp;"),
            '<' => v.push_str("&lt;"),
            '>' => v.push_str("&gt;"),
            '"' => v.push_str("&quot;"),
            '\'' => v.push_str("&apos;"),
            c => v.push(c),
        }
    }
    format!("{key}=\"{v}\"")
}

/// The `id`/`class`/`data-*` attributes of a node, shared with the HTML report.
pub fn node_attrs(v: &View, i: usize) -> String {
    let n = &v.nodes[i];
    let kind = match n.kind {
        NodeKind::Thread(_) => "thread",
        NodeKind::Lock(_) => "lock",
        NodeKind::UnknownHolder(_) => "unknown",
    };
    let hot = if n.look == Look::Hot { " hot" } else { "" };
    format!(
        "{} class=\"node {kind}{hot}\" {}",
        xml_attr("id", &n.key),
        xml_attr("data-key", &n.key)
    )
}

/// The attributes of an edge.
pub fn edge_attrs(v: &View, i: usize) -> String {
    let e = &v.edges[i];
    let hot = if e.look == Look::Hot { " hot" } else { "" };
    format!(
        "{} class=\"edge{hot}\" {} {} {}",
        xml_attr("id", &format!("e{i}")),
        xml_attr("data-from", &v.nodes[e.from].key),
        xml_attr("data-to", &v.nodes[e.to].key),
        xml_attr("data-lock", &format!("l{}", e.lock))
    )
}

/// The same waits with each drawn through its lock: one lock node per lock, an
/// edge from each waiter to it and from it to each holder.
fn routed_through_locks(v: &View) -> View {
    let mut out = View {
        nodes: v.nodes.clone(),
        edges: Vec::new(),
        ..v.clone()
    };
    let mut lock_node: std::collections::BTreeMap<usize, usize> = Default::default();
    let mut seen = std::collections::BTreeSet::new();
    for e in &v.edges {
        let l = *lock_node.entry(e.lock).or_insert_with(|| {
            out.nodes.push(VNode {
                key: format!("l{}", e.lock),
                kind: NodeKind::Lock(e.lock),
                label: e.label.clone(),
                look: e.look,
            });
            out.nodes.len() - 1
        });
        for (from, to) in [(e.from, l), (l, e.to)] {
            if seen.insert((from, to)) {
                out.edges.push(VEdge {
                    from,
                    to,
                    label: Vec::new(),
                    look: e.look,
                    lock: e.lock,
                });
            }
        }
    }
    out.title = format!(
        "{} [{} waits drawn through {}]",
        v.title,
        v.edges.len(),
        match lock_node.len() {
            1 => "their lock".to_string(),
            n => format!("their {n} locks"),
        }
    );
    out
}

/// Draw with the built-in layout engine.
///
/// A picture too dense for it to lay out quickly is drawn more simply: without
/// edge labels and crossing optimisation above [`MAX_LABELLED_EDGES`] edges, with
/// waits routed through their locks above [`MAX_THREAD_EDGES`], and not at all
/// ([`SvgError::TooDense`]) when still dense above [`MAX_DRAWN_EDGES`].
pub fn builtin(v: &View) -> Result<String, SvgError> {
    let thread_edges = v
        .edges
        .iter()
        .all(|e| !matches!(v.nodes.get(e.to).map(|n| n.kind), Some(NodeKind::Lock(_))));
    if thread_edges && v.edges.len() > MAX_THREAD_EDGES {
        let routed = routed_through_locks(v);
        if routed.edges.len() < v.edges.len() {
            return builtin_drawn(&routed);
        }
    }
    builtin_drawn(v)
}

fn builtin_drawn(v: &View) -> Result<String, SvgError> {
    if v.nodes.len() > MAX_DRAWN_NODES {
        return Err(SvgError::TooLarge(v.nodes.len()));
    }
    if v.edges.len() > MAX_DRAWN_EDGES && 2 * v.edges.len() > 3 * v.nodes.len() {
        return Err(SvgError::TooDense(v.edges.len()));
    }
    if v.nodes.is_empty() {
        return Ok(titled(
            "<svg width=\"10\" height=\"10\" viewBox=\"0 0 10 10\" xmlns=\"http://www.w3.org/2000/svg\">\n</svg>\n",
            &v.title,
            None,
        ));
    }
    let draw = |optimize: bool, labels: bool| {
        let dir = Orientation::TopToBottom;
        let mut vg = VisualGraph::new(dir);
        let mut handles = Vec::with_capacity(v.nodes.len());
        for (i, n) in v.nodes.iter().enumerate() {
            let shape = match n.kind {
                NodeKind::Lock(_) => ShapeKind::Circle(n.label.join("\n")),
                _ => ShapeKind::new_box(&n.label.join("\n")),
            };
            let width = if n.look == Look::Hot || n.look == Look::Stalled {
                3
            } else {
                1
            };
            let look = StyleAttr::new(
                Color::fast(color(n.look)),
                width,
                Some(Color::fast("white")),
                if n.look == Look::Unknown { 12 } else { 0 },
                FONT,
            );
            let size = get_shape_size(dir, &shape, FONT, false);
            let el = Element::create_with_properties(shape, look, dir, size, node_attrs(v, i));
            handles.push(vg.add_node(el));
        }
        for (i, e) in v.edges.iter().enumerate() {
            let style = match e.look {
                Look::Unknown | Look::Reader => LineStyleKind::Dashed,
                _ => LineStyleKind::Normal,
            };
            let width = if e.look == Look::Hot { 3 } else { 1 };
            let look = StyleAttr::new(Color::fast(color(e.look)), width, None, 0, FONT);
            let line = |end: LineEndKind, attrs: String| {
                Arrow::with_properties(
                    LineEndKind::None,
                    end,
                    style,
                    "",
                    &look,
                    attrs,
                    &None,
                    &None,
                )
            };
            if !labels || e.label.is_empty() {
                vg.add_edge(
                    line(LineEndKind::Arrow, edge_attrs(v, i)),
                    handles[e.from],
                    handles[e.to],
                );
                continue;
            }
            // The label is a node of its own between the two halves of the
            // edge, so the edge ends at it instead of running through its
            // text (layout-rs draws an edge label across its own edge).
            let text = ShapeKind::new_box(&e.label.join("\n"));
            let size = get_shape_size(dir, &text, FONT, false);
            let plain =
                StyleAttr::new(Color::fast("white"), 0, Some(Color::fast("white")), 0, FONT);
            let label = vg.add_node(Element::create_with_properties(
                text,
                plain,
                dir,
                size,
                "class=\"edge-label\"".to_string(),
            ));
            let first_half = edge_attrs(v, i).replacen(
                &format!("id=\"e{i}\""),
                &format!("id=\"e{i}-label\""),
                1,
            );
            vg.add_edge(line(LineEndKind::None, first_half), handles[e.from], label);
            vg.add_edge(
                line(LineEndKind::Arrow, edge_attrs(v, i)),
                label,
                handles[e.to],
            );
        }
        let mut svg = SVGWriter::new();
        vg.do_it(false, !optimize, false, &mut svg);
        // layout-rs sizes its canvas from rough text estimates (labels get clipped, a
        // blank band is added); the laid-out boxes, edge labels included, are exact.
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for h in vg.iter_nodes() {
            let (tl, br) = vg.pos(h).bbox(true);
            x0 = x0.min(tl.x);
            y0 = y0.min(tl.y);
            x1 = x1.max(br.x);
            y1 = y1.max(br.y);
        }
        const MARGIN: f64 = 16.0;
        (
            svg.finalize(),
            (x0 - MARGIN, y0 - MARGIN, x1 + MARGIN, y1 + MARGIN),
        )
    };
    // layout-rs asserts on some graphs (a dense bipartite graph can give it a
    // zero-length vector). Its panic is caught and its message kept off the
    // terminal, and the drawing is tried again more simply: without its crossing
    // optimisation, then without edge labels.
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut drawn = Err(Box::new("not drawn") as Box<dyn std::any::Any + Send>);
    // Every edge label is a node of its own to layout-rs, whose cost grows quickly
    // with nodes: a dense picture is drawn without them (the title says so).
    let labelled = v.edges.len() <= MAX_LABELLED_EDGES;
    let tries: &[(bool, bool)] = if labelled {
        &[(true, true), (false, true), (false, false)]
    } else {
        &[(false, false)]
    };
    for &(optimize, labels) in tries {
        drawn = std::panic::catch_unwind(|| draw(optimize, labels));
        if drawn.is_ok() {
            break;
        }
    }
    std::panic::set_hook(quiet);
    match drawn {
        Ok((svg, bbox)) => Ok(titled(
            &labels_on_top(&svg)
            .replace(
                "font-family: Times, serif;",
                "font-family: Helvetica, Arial, sans-serif;",
            )
            // A white halo keeps labels legible where an edge passes under them.
            .replacen(
                "<style>\n",
                "<style>\ntext { paint-order: stroke; stroke: #fff; stroke-width: 4px; stroke-linejoin: round; }\n",
                1,
            ),
            &if labelled {
                v.title.clone()
            } else {
                format!(
                    "{} [{} edges: labels left out, see the DOT or HTML table]",
                    v.title,
                    v.edges.len()
                )
            },
            Some(bbox),
        )),
        Err(p) => {
            let why = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "internal error".to_string());
            Err(SvgError::LayoutFailed(why))
        }
    }
}

/// layout-rs draws labels first and edges over them; move every `<text>` to the end
/// of the document so labels (with their white halo) are painted last.
fn labels_on_top(svg: &str) -> String {
    let mut body = String::with_capacity(svg.len());
    let mut texts = String::new();
    let mut rest = svg;
    while let Some(start) = rest.find("<text") {
        let Some(len) = rest[start..].find("</text>") else {
            break;
        };
        let end = start + len + "</text>".len();
        body.push_str(&rest[..start]);
        let text = &rest[start..end];
        // layout-rs writes an empty `<textPath>` for every edge without a
        // label on its path (ours sit beside the edge): nothing to keep.
        if !(text.contains("<textPath") && text.contains("></textPath></text>")) {
            texts.push_str(text);
            texts.push('\n');
        }
        rest = &rest[end..];
    }
    body.push_str(rest);
    match body.rfind("</svg>") {
        Some(close) => format!("{}{texts}{}", &body[..close], &body[close..]),
        None => svg.to_string(),
    }
}

/// Put the title above the picture: the `<svg>` element is rewritten with a view
/// box that holds `bbox` (the drawing) and a band for the title above it.
fn titled(svg: &str, title: &str, bbox: Option<(f64, f64, f64, f64)>) -> String {
    const BAND: f64 = 36.0;
    let Some(start) = svg.find("<svg ") else {
        return svg.to_string();
    };
    let Some(end) = svg[start..].find('>').map(|e| start + e + 1) else {
        return svg.to_string();
    };
    let (x0, y0, x1, y1) = bbox.unwrap_or((0.0, 0.0, 10.0, 10.0));
    // 8.5 px a character of 16 px sans-serif is a safe width for the title.
    let title_w = title.chars().count() as f64 * 8.5 + 20.0;
    let w = (x1 - x0).max(title_w);
    let left = (x0 + x1) / 2.0 - w / 2.0;
    let top = y0 - BAND;
    let h = y1 - top;
    let mut text = String::new();
    for c in title.chars() {
        match c {
            '&' => text.push_str("&amp;"),
            '<' => text.push_str("&lt;"),
            '>' => text.push_str("&gt;"),
            c => text.push(c),
        }
    }
    format!(
        "{}<svg width=\"{w}\" height=\"{h}\" viewBox=\"{left} {top} {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">\n\
         <rect x=\"{left}\" y=\"{top}\" width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n\
         <text class=\"title\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"16\">{text}</text>\n{}",
        &svg[..start],
        (x0 + x1) / 2.0,
        y0 - BAND / 2.0,
        &svg[end..]
    )
}

/// Draw through Graphviz (`dot -K<layout> -Tsvg`).
pub fn graphviz(v: &View, layout: Layout) -> Result<Vec<u8>, SvgError> {
    use graphviz_rust::cmd::{CommandArg, Format, Layout as GvLayout};
    let gv_layout = match layout {
        Layout::Dot => GvLayout::Dot,
        Layout::Circo => GvLayout::Circo,
        Layout::Neato => GvLayout::Neato,
        Layout::Fdp => GvLayout::Fdp,
    };
    graphviz_rust::exec_dot(
        dot::to_string(v),
        vec![
            CommandArg::Layout(gv_layout),
            CommandArg::Format(Format::Svg),
        ],
    )
    .map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            SvgError::GraphvizMissing {
                layout: layout.program(),
            }
        } else {
            SvgError::GraphvizFailed(e.to_string())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_edge_label_is_a_node_its_edge_ends_at() {
        // Drawn as layout-rs's own edge label, the edge ran through the text.
        let svg = builtin(&view(2, &[(0, 1, 0), (1, 0, 1)])).expect("drawn");
        assert_eq!(svg.matches("class=\"edge-label\"").count(), 2, "{svg}");
        for half in [
            "id=\"e0-label\"",
            "id=\"e0\"",
            "id=\"e1-label\"",
            "id=\"e1\"",
        ] {
            assert_eq!(svg.matches(half).count(), 1, "{half}: {svg}");
        }
    }

    #[test]
    fn no_empty_text_path_is_written() {
        let svg = builtin(&view(2, &[(0, 1, 0), (1, 0, 1)])).expect("drawn");
        assert!(!svg.contains("></textPath>"), "{svg}");
        assert!(
            svg.contains("lock 0") && svg.contains("lock 1"),
            "labels kept: {svg}"
        );
    }

    fn view(nodes: usize, edges: &[(usize, usize, usize)]) -> View {
        View {
            title: "t".to_string(),
            nodes: (0..nodes)
                .map(|i| VNode {
                    key: format!("t{i}"),
                    kind: NodeKind::Thread(i),
                    label: vec![format!("thread {i}")],
                    look: Look::Plain,
                })
                .collect(),
            edges: edges
                .iter()
                .map(|&(from, to, lock)| VEdge {
                    from,
                    to,
                    label: vec![format!("lock {lock}")],
                    look: Look::Plain,
                    lock,
                })
                .collect(),
            threads_left_out: 0,
            capped: 0,
        }
    }

    #[test]
    fn a_big_sparse_picture_is_drawn_and_a_dense_one_is_refused() {
        // A convoy of 400 waiters behind one holder, each wait for its own lock
        // entry of the same lock: routing would not make it smaller, and it is sparse.
        let convoy: Vec<_> = (1..=400).map(|w| (w, 0, 7)).collect();
        let drawn = builtin(&view(401, &convoy)).expect("a convoy is drawn");
        assert!(drawn.contains("<svg"));
        // 30 threads, every ordered pair an edge for a lock of its own: nothing to
        // route through, 870 edges among 30 nodes.
        let dense: Vec<_> = (0..30)
            .flat_map(|a| {
                (0..30)
                    .filter(move |b| *b != a)
                    .map(move |b| (a, b, a * 30 + b))
            })
            .collect();
        assert!(matches!(
            builtin(&view(30, &dense)),
            Err(SvgError::TooDense(870))
        ));
    }
}
