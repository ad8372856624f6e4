//! One self-contained HTML file to attach to a ticket: the verdict, each
//! deadlock's table and what to do about it, the picture (inline SVG from the
//! built-in renderer), a table of the threads (those in a wait first; on a big
//! dump the others folded by kind), and collapsible backtraces. No network fetch: CSS and a
//! few lines of JavaScript are inline. Clicking a thread or lock, in the picture
//! or the table, highlights its edges and rows; the first deadlock is highlighted
//! when the page opens.

use crate::svg;
use crate::view::View;
use crate::Report;
use ast_locks_analysis::Root;
use std::io::{self, Write};

/// Text inside an element or a quoted attribute.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; margin: 0 0 .2em; }
h1.deadlock { color: #c00; } h1.waits { color: #a60; } h1.calm { color: #080; }
h2 { font-size: 1.1em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
.about { color: #555; margin: 0; }
.note { color: #8a5a00; margin: .3em 0 0; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; }
#graph { overflow: auto; border: 1px solid #ddd; padding: .5em; max-height: 80vh; }
#graph svg { max-width: none; }
#graph text { pointer-events: none; }
#graph .node, #graph .edge { cursor: pointer; }
#graph .node.sel rect, #graph .node.sel ellipse { stroke: #06c !important; stroke-width: 5px !important; }
#graph .edge.lit path { stroke: #06c !important; stroke-width: 4px !important; }
#graph .node.hot.sel rect { stroke: #c00 !important; stroke-width: 6px !important; }
#graph .edge.hot.lit path { stroke: #c00 !important; stroke-width: 5px !important; }
table { border-collapse: collapse; margin-top: .5em; }
th, td { border: 1px solid #ddd; padding: .25em .5em; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
tr[data-key] { cursor: pointer; }
tr.hot td:first-child { border-left: 4px solid #c00; }
tr.sel { background: #e8f1fb; }
span.lock { white-space: nowrap; }
span.lock.lit { background: #cde3f7; }
details { margin: .3em 0; } summary { cursor: pointer; }
pre { background: #f7f7f7; padding: .5em; overflow: auto; }
div.next { margin: .5em 0; } div.next ul { margin: .2em 0; }
table.deadlock tr td:first-child { border-left: 4px solid #c00; }
.warn { color: #a60; }
"#;

const SCRIPT: &str = r#"
(function () {
  function all(sel) { return Array.prototype.slice.call(document.querySelectorAll(sel)); }
  function clear() {
    all('.sel').forEach(function (e) { e.classList.remove('sel'); });
    all('.lit').forEach(function (e) { e.classList.remove('lit'); });
  }
  // One key: light everything touching it. Several (a deadlock): light the
  // edges between them only, which is the cycle.
  function select(keys) {
    clear();
    keys.forEach(function (key) {
      all('[data-key="' + key + '"]').forEach(function (e) { e.classList.add('sel'); });
    });
    if (keys.length === 1) {
      var key = keys[0];
      all('[data-from="' + key + '"],[data-to="' + key + '"],[data-lock="' + key + '"]')
        .forEach(function (e) { e.classList.add('lit'); });
    } else {
      all('[data-from]').forEach(function (e) {
        if (keys.indexOf(e.getAttribute('data-from')) >= 0 && keys.indexOf(e.getAttribute('data-to')) >= 0) {
          e.classList.add('lit');
        }
      });
    }
  }
  document.addEventListener('click', function (ev) {
    var el = ev.target.closest('[data-key]');
    if (!el) { return; }
    var key = el.getAttribute('data-key');
    var group = el.getAttribute('data-group');
    select(group ? group.split(' ') : [key]);
  });
  var first = document.body.getAttribute('data-first-deadlock');
  if (first) { select(first.split(' ')); }
})();
"#;

/// Threads not involved in any wait listed one row each up to this many; past
/// it, identical ones fold into one row, so a 100k-thread dump stays a few MB.
const OTHERS_LISTED: usize = 200;

/// Input warnings listed before the rest are counted.
const WARNINGS_LISTED: usize = 200;

/// Write the page: what is wrong and what to do first (the first deadlock fits
/// the first screen), then the picture, the threads involved before the rest,
/// and the backtraces.
pub fn write(w: &mut impl Write, r: &Report<'_, '_>, v: &View) -> io::Result<()> {
    let page = Page::new(r);
    head(w, r)?;
    verdict(w, r)?;
    deadlocks(w, &page)?;
    blocked(w, &page)?;
    to_decide(w, r)?;
    potential(w, r)?;
    stalls(w, r)?;
    graph(w, v)?;
    threads(w, &page)?;
    anomalies(w, r)?;
    backtraces(w, &page)?;
    writeln!(w, "<script>{SCRIPT}</script>")?;
    writeln!(w, "</body>")?;
    writeln!(w, "</html>")
}

/// What the sections share: the report, and which threads it is about.
struct Page<'p, 'r, 'a> {
    r: &'p Report<'r, 'a>,
    /// The deadlock each thread belongs to.
    deadlock_of: Vec<Option<usize>>,
    /// Threads in a deadlock or a wait chain (waiters, the threads they wait
    /// behind), in dump order.
    involved: Vec<usize>,
}

impl<'p, 'r, 'a> Page<'p, 'r, 'a> {
    fn new(r: &'p Report<'r, 'a>) -> Self {
        let a = r.analysis;
        let mut deadlock_of = vec![None; r.snapshot.threads.len()];
        for (d, dl) in a.deadlocks.iter().enumerate() {
            for &t in &dl.threads {
                deadlock_of[t] = Some(d);
            }
        }
        let mut involved: Vec<usize> = a.deadlocks.iter().flat_map(|d| d.threads.clone()).collect();
        for b in &a.blocked {
            involved.extend(b.via.iter().copied());
        }
        for g in &a.roots {
            if let Root::Holder(h) = g.root {
                involved.push(h);
            }
        }
        involved.sort_unstable();
        involved.dedup();
        Page {
            r,
            deadlock_of,
            involved,
        }
    }

    fn is_involved(&self, t: usize) -> bool {
        self.involved.binary_search(&t).is_ok()
    }

    /// A lock, clickable: it lights the edges through it.
    fn lock_span(&self, li: usize) -> String {
        let (name, addr) = self.r.analysis.lock_label(self.r.snapshot, li);
        if addr.is_empty() {
            return format!(
                "<span class=\"lock\" data-key=\"l{li}\" data-lock=\"l{li}\">{}</span>",
                esc(&self.r.lock_text(li))
            );
        }
        format!(
            "<span class=\"lock\" data-key=\"l{li}\" data-lock=\"l{li}\"><code>{}</code> <code>{}</code></span>",
            esc(name),
            esc(addr)
        )
    }

    /// A thread as every report names it, with its LWP and name.
    fn thread(&self, t: usize) -> String {
        format!("<code>{}</code>", esc(&self.r.thread_label(t)))
    }
}

/// The document head: title, style, the first deadlock to light on open.
fn head(w: &mut impl Write, r: &Report<'_, '_>) -> io::Result<()> {
    let first_deadlock: String = r
        .analysis
        .deadlocks
        .first()
        .map(|d| {
            d.threads
                .iter()
                .map(|t| format!("t{t}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    writeln!(w, "<!DOCTYPE html>")?;
    writeln!(w, "<html lang=\"en\">")?;
    writeln!(w, "<head>")?;
    writeln!(w, "<meta charset=\"utf-8\">")?;
    writeln!(
        w,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
    )?;
    writeln!(w, "<title>ast-locks: {}</title>", esc(&r.headline()))?;
    writeln!(w, "<style>{STYLE}</style>")?;
    writeln!(w, "</head>")?;
    writeln!(w, "<body data-first-deadlock=\"{}\">", esc(&first_deadlock))
}

/// The verdict, what the input was, and what must be said beside it.
fn verdict(w: &mut impl Write, r: &Report<'_, '_>) -> io::Result<()> {
    let a = r.analysis;
    let class = if !a.deadlocks.is_empty() {
        "deadlock"
    } else if r.verdict.kind == ast_locks_analysis::verdict::VerdictKind::Undetermined {
        "undetermined"
    } else if !a.blocked.is_empty() {
        "waits"
    } else {
        "calm"
    };
    writeln!(w, "<h1 class=\"{class}\">{}</h1>", esc(&r.headline()))?;
    let mut about = String::new();
    if !r.source.is_empty() {
        about.push_str(&format!("<code>{}</code>: ", esc(r.source)));
    }
    about.push_str(&esc(&r.describe_input()));
    about.push_str(&esc(&r.counts()));
    if r.snapshot.truncated {
        about.push_str("; <strong>the dump is truncated</strong>");
    }
    writeln!(w, "<p class=\"about\">{about}</p>")?;
    for c in r.caveats() {
        writeln!(w, "<p class=\"note\"><strong>Note:</strong> {}</p>", esc(c))?;
    }
    if let Some(series) = r.series {
        writeln!(
            w,
            "<p class=\"series\"><strong>{}</strong></p>",
            esc(&series.headline())
        )?;
    }
    Ok(())
}

/// Each deadlock: one row per member (what it holds, where and for how long,
/// what it waits for and where), then what to do.
fn deadlocks(w: &mut impl Write, page: &Page<'_, '_, '_>) -> io::Result<()> {
    let r = page.r;
    let a = r.analysis;
    for (d, dl) in a.deadlocks.iter().enumerate() {
        writeln!(
            w,
            "<h2>Deadlock {}: {} thread{}</h2>",
            d + 1,
            dl.threads.len(),
            if dl.threads.len() == 1 { "" } else { "s" }
        )?;
        let group: Vec<String> = dl.threads.iter().map(|t| format!("t{t}")).collect();
        writeln!(w, "<table class=\"deadlock\">")?;
        writeln!(
            w,
            "<thead><tr><th>thread</th><th>holds</th><th>taken at</th><th>held for</th><th>waits for</th><th>where it waits</th><th>held by</th></tr></thead>"
        )?;
        writeln!(w, "<tbody>")?;
        let order = dl.members_in_cycle_order();
        for t in order {
            let held = held_cells(page, t);
            let (waits, site, by) = wait_cells(page, t);
            writeln!(
                w,
                "<tr data-key=\"t{t}\" data-group=\"{}\" class=\"hot\"><td>{}</td>{held}<td>{waits}</td><td>{site}</td><td>{by}</td></tr>",
                group.join(" "),
                page.thread(t)
            )?;
        }
        writeln!(w, "</tbody>")?;
        writeln!(w, "</table>")?;
        next_steps(w, &r.deadlock_steps(d))?;
    }
    Ok(())
}

/// The `holds`, `taken at` and `held for` cells of a thread's row.
fn held_cells(page: &Page<'_, '_, '_>, t: usize) -> String {
    let held = page.r.held(t);
    let locks: Vec<String> = held.iter().map(|h| page.lock_span(h.lock)).collect();
    let taken: Vec<String> = held
        .iter()
        .map(|h| {
            h.taken_at
                .as_deref()
                .map_or("owner per gdb".to_string(), |at| {
                    format!("<code>{}</code>", esc(at))
                })
        })
        .collect();
    let held_for: Vec<String> = held
        .iter()
        .map(|h| h.held_for.as_deref().map(esc).unwrap_or_default())
        .collect();
    format!(
        "<td>{}</td><td>{}</td><td>{}</td>",
        locks.join("<br>"),
        taken.join("<br>"),
        held_for.join("<br>")
    )
}

/// The `waits for`, `where it waits` and `held by` cells of a thread's row.
fn wait_cells(page: &Page<'_, '_, '_>, t: usize) -> (String, String, String) {
    let r = page.r;
    match r.analysis.waits[t] {
        Some((li, _)) => (
            page.lock_span(li),
            r.wait_site(t)
                .map(|x| format!("<code>{}</code>", esc(&x)))
                .unwrap_or_default(),
            r.in_the_way_text(t, |b| page.thread(b)),
        ),
        None => (String::new(), String::new(), String::new()),
    }
}

/// What to do next about a finding.
fn next_steps(w: &mut impl Write, steps: &[crate::Step]) -> io::Result<()> {
    for step in steps {
        write!(
            w,
            "<div class=\"next\"><strong>Next:</strong> {}",
            esc(&step.say)
        )?;
        if !step.facts.is_empty() {
            let facts: Vec<String> = step
                .facts
                .iter()
                .map(|f| format!("<li>{}</li>", esc(f)))
                .collect();
            write!(w, "<ul>{}</ul>", facts.join(""))?;
        }
        if !step.commands.is_empty() {
            let lines: Vec<String> = step.commands.iter().map(|c| esc(c)).collect();
            write!(w, "<pre>{}</pre>", lines.join("\n"))?;
        }
        writeln!(w, "</div>")?;
    }
    Ok(())
}

/// The blocked threads by what they are stuck behind, with what to do about
/// a stalled holder.
fn blocked(w: &mut impl Write, page: &Page<'_, '_, '_>) -> io::Result<()> {
    let r = page.r;
    let a = r.analysis;
    if a.roots.is_empty() {
        return Ok(());
    }
    writeln!(w, "<h2>Blocked threads, by what they are stuck behind</h2>")?;
    writeln!(w, "<ul>")?;
    for g in &a.roots {
        let n = g.threads.len();
        let threads = if n == 1 { "thread" } else { "threads" };
        let what = match g.root {
            Root::Deadlock(d) => format!("<strong>deadlock {}</strong>", d + 1),
            Root::Holder(h) => format!("stalled holder {}", page.thread(h)),
            Root::UnknownHolder(li) => format!("an unknown holder of {}", page.lock_span(li)),
        };
        writeln!(w, "<li>{n} {threads} behind {what}")?;
        if let Root::Holder(h) = g.root {
            if let Some(doing) = r.activity(h) {
                writeln!(w, "<br>it {}", esc(&doing))?;
            }
            next_steps(w, &r.holder_steps(h))?;
        }
        writeln!(w, "</li>")?;
    }
    writeln!(w, "</ul>")
}

/// What to do when the input cannot decide.
fn to_decide(w: &mut impl Write, r: &Report<'_, '_>) -> io::Result<()> {
    let steps = r.undetermined_steps();
    if steps.is_empty() {
        return Ok(());
    }
    writeln!(w, "<h2>To decide</h2>")?;
    writeln!(w, "<ul>")?;
    for step in steps {
        write!(w, "<li>{}", esc(&step.say))?;
        if !step.commands.is_empty() {
            let lines: Vec<String> = step.commands.iter().map(|c| esc(c)).collect();
            write!(w, "<pre>{}</pre>", lines.join("\n"))?;
        }
        writeln!(w, "</li>")?;
    }
    writeln!(w, "</ul>")
}

/// Lock-order cycles: deadlocks waiting to happen.
fn potential(w: &mut impl Write, r: &Report<'_, '_>) -> io::Result<()> {
    if r.potential.is_empty() {
        return Ok(());
    }
    writeln!(w, "<h2>Potential deadlocks (lock order)</h2>")?;
    writeln!(w, "<ul>")?;
    for p in r.potential {
        let mut ring: Vec<String> = p
            .classes
            .iter()
            .map(|c| format!("<code>{}</code>", esc(c)))
            .collect();
        ring.push(format!("<code>{}</code>", esc(&p.classes[0])));
        writeln!(
            w,
            "<li>{} ({})</li>",
            ring.join(" &rarr; "),
            p.confidence.label()
        )?;
    }
    writeln!(w, "</ul>")?;
    next_steps(w, &r.potential_steps())
}

/// Awaited locks held longer than the threshold.
fn stalls(w: &mut impl Write, r: &Report<'_, '_>) -> io::Result<()> {
    if r.stalls.is_empty() {
        return Ok(());
    }
    writeln!(w, "<h2>Stalls</h2>")?;
    writeln!(w, "<ul>")?;
    for x in r.stalls {
        let (name, addr) = r.analysis.lock_label(r.snapshot, x.lock);
        writeln!(
            w,
            "<li><code>{}</code> has held <code>{}</code> <code>{}</code> for {}; {} waiting</li>",
            esc(&r.thread_label(x.thread)),
            esc(name),
            esc(addr),
            esc(&x.held_for),
            x.waiters
        )?;
    }
    writeln!(w, "</ul>")
}

/// The picture, inline.
fn graph(w: &mut impl Write, v: &View) -> io::Result<()> {
    writeln!(w, "<h2>Waits-for graph</h2>")?;
    if v.threads_left_out > 0 {
        writeln!(
            w,
            "<p class=\"about\">{} threads not involved in any wait are not drawn.</p>",
            v.threads_left_out
        )?;
    }
    writeln!(w, "<div id=\"graph\">")?;
    match svg::builtin(v) {
        Ok(picture) => {
            // The XML declaration and doctype are not allowed inside HTML.
            let start = picture.find("<svg").unwrap_or(0);
            w.write_all(&picture.as_bytes()[start..])?;
        }
        Err(e) => writeln!(
            w,
            "<p class=\"warn\">No picture: {}</p>",
            esc(&e.to_string())
        )?,
    }
    writeln!(w, "</div>")
}

/// Every thread: the involved ones first, then the rest, one row each while
/// they are few, folded by identical locks when they are many.
fn threads(w: &mut impl Write, page: &Page<'_, '_, '_>) -> io::Result<()> {
    let s = page.r.snapshot;
    writeln!(w, "<h2>Threads</h2>")?;
    writeln!(
        w,
        "<p class=\"about\">Click a thread or a lock to highlight it in the graph. Threads in a wait come first.</p>"
    )?;
    writeln!(w, "<table id=\"threads\">")?;
    writeln!(
        w,
        "<thead><tr><th>thread</th><th>holds</th><th>taken at</th><th>held for</th><th>waits for</th><th>where it waits</th><th>held by</th><th>stuck behind</th></tr></thead>"
    )?;
    writeln!(w, "<tbody>")?;
    for &t in &page.involved {
        thread_row(w, page, t)?;
    }
    let others: Vec<usize> = (0..s.threads.len())
        .filter(|&t| !page.is_involved(t))
        .collect();
    if others.len() <= OTHERS_LISTED {
        for &t in &others {
            thread_row(w, page, t)?;
        }
    } else {
        folded_rows(w, page, &others)?;
    }
    writeln!(w, "</tbody>")?;
    writeln!(w, "</table>")
}

/// One thread's row.
fn thread_row(w: &mut impl Write, page: &Page<'_, '_, '_>, t: usize) -> io::Result<()> {
    let r = page.r;
    let a = r.analysis;
    let (waits, site, by) = wait_cells(page, t);
    let root = match (
        page.deadlock_of[t],
        a.blocked.binary_search_by_key(&t, |b| b.thread),
    ) {
        (Some(d), _) => format!("<strong>deadlock {}</strong>", d + 1),
        (None, Ok(i)) => match a.blocked[i].root {
            Root::Deadlock(d) => format!("deadlock {}", d + 1),
            Root::Holder(h) => format!("stalled holder {}", page.thread(h)),
            Root::UnknownHolder(li) => format!("unknown holder of {}", page.lock_span(li)),
        },
        (None, Err(_)) => String::new(),
    };
    let hot = if page.deadlock_of[t].is_some() {
        " class=\"hot\""
    } else {
        ""
    };
    writeln!(
        w,
        "<tr data-key=\"t{t}\"{hot}><td>{}</td>{}<td>{waits}</td><td>{site}</td><td>{by}</td><td>{root}</td></tr>",
        page.thread(t),
        held_cells(page, t)
    )
}

/// Threads in no wait, many of them: one row per kind (same start routine,
/// same locks taken at the same places), most numerous first, the first
/// [`OTHERS_LISTED`] kinds shown and the rest counted.
fn folded_rows(w: &mut impl Write, page: &Page<'_, '_, '_>, others: &[usize]) -> io::Result<()> {
    let s = page.r.snapshot;
    let mut kinds: Vec<(String, Vec<usize>)> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for &t in others {
        let th = &s.threads[t];
        let mut key = th.short_name().to_string();
        for e in th.holding() {
            key.push_str(&format!("\n{} {}", e.location, e.name));
        }
        let k = *index.entry(key.clone()).or_insert_with(|| {
            kinds.push((key, Vec::new()));
            kinds.len() - 1
        });
        kinds[k].1.push(t);
    }
    // Most numerous first; ties in dump order (the sort is stable).
    kinds.sort_by_key(|k| std::cmp::Reverse(k.1.len()));
    for (_, members) in kinds.iter().take(OTHERS_LISTED) {
        let t = members[0];
        let like = if members.len() == 1 {
            page.thread(t)
        } else {
            format!("{} threads like {}", members.len(), page.thread(t))
        };
        writeln!(
            w,
            "<tr data-key=\"t{t}\"><td>{like}</td>{}<td></td><td></td><td></td><td></td></tr>",
            held_cells(page, t)
        )?;
    }
    if kinds.len() > OTHERS_LISTED {
        let rest: usize = kinds[OTHERS_LISTED..].iter().map(|k| k.1.len()).sum();
        writeln!(
            w,
            "<tr><td colspan=\"8\">… {rest} more threads in no wait, of {} other kinds (the dump lists them)</td></tr>",
            kinds.len() - OTHERS_LISTED
        )?;
    }
    Ok(())
}

/// What should not happen, and what the parser could not read.
fn anomalies(w: &mut impl Write, r: &Report<'_, '_>) -> io::Result<()> {
    let a = r.analysis;
    if a.anomalies.is_empty() && r.warnings.is_empty() {
        return Ok(());
    }
    writeln!(w, "<h2>Anomalies and input warnings</h2>")?;
    writeln!(w, "<ul>")?;
    for x in &a.anomalies {
        writeln!(
            w,
            "<li><code>{}</code>: {}</li>",
            esc(&r.thread_label(x.thread)),
            esc(&x.message)
        )?;
    }
    for x in r.warnings.iter().take(WARNINGS_LISTED) {
        writeln!(
            w,
            "<li class=\"warn\">line {}: {}</li>",
            x.line,
            esc(&x.message)
        )?;
    }
    if r.warnings.len() > WARNINGS_LISTED {
        writeln!(
            w,
            "<li class=\"warn\">… {} more input warnings (the text report with --verbose lists them)</li>",
            r.warnings.len() - WARNINGS_LISTED
        )?;
    }
    writeln!(w, "</ul>")
}

/// Backtraces: of every thread while the dump is small, else of the threads
/// the report is about (the others are in the dump).
fn backtraces(w: &mut impl Write, page: &Page<'_, '_, '_>) -> io::Result<()> {
    let s = page.r.snapshot;
    writeln!(w, "<h2>Backtraces</h2>")?;
    let all = s.threads.len() <= OTHERS_LISTED + page.involved.len();
    let shown: Vec<usize> = if all {
        let mut order = page.involved.clone();
        order.extend((0..s.threads.len()).filter(|&t| !page.is_involved(t)));
        order
    } else {
        writeln!(
            w,
            "<p class=\"about\">Of the {} threads involved in a wait; the other {} are in the dump.</p>",
            page.involved.len(),
            s.threads.len() - page.involved.len()
        )?;
        page.involved.clone()
    };
    for t in shown {
        backtrace(w, page, t)?;
    }
    Ok(())
}

/// One thread's lock entries with their frames, open for a deadlock's members.
fn backtrace(w: &mut impl Write, page: &Page<'_, '_, '_>, t: usize) -> io::Result<()> {
    let th = &page.r.snapshot.threads[t];
    let open = if page.deadlock_of[t].is_some() {
        " open"
    } else {
        ""
    };
    writeln!(
        w,
        "<details id=\"bt-t{t}\"{open}><summary>{}</summary><pre>",
        page.thread(t)
    )?;
    for e in &th.entries {
        writeln!(
            w,
            "{}Lock #{} ({}): {} {} {} {} {}",
            esc(e.state.prefix()),
            e.index,
            esc(&e.location.file),
            e.kind.label(),
            e.location.line,
            esc(&e.location.function),
            esc(&e.name),
            esc(&e.addr)
        )?;
        for f in e.backtrace.iter() {
            writeln!(w, "    {}", esc(f))?;
        }
        for l in &e.locked_here {
            writeln!(
                w,
                "    Locked Here: {} line {} ({})",
                esc(&l.file),
                l.line,
                esc(&l.function)
            )?;
        }
    }
    writeln!(w, "</pre></details>")
}
