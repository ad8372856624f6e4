//! One self-contained HTML file to attach to a ticket: the verdict, the picture
//! (inline SVG from the built-in renderer), a table of every thread with what it
//! holds and waits for, and collapsible backtraces. No network fetch: CSS and a
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
th, td { border: 1px solid #ddd; padding: .25em .5em; text-align: left; vertical-align: top; }
tr[data-key] { cursor: pointer; }
tr.hot td:first-child { border-left: 4px solid #c00; }
tr.sel { background: #e8f1fb; }
span.lock { white-space: nowrap; }
span.lock.lit { background: #cde3f7; }
details { margin: .3em 0; } summary { cursor: pointer; }
pre { background: #f7f7f7; padding: .5em; overflow: auto; }
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

/// Write the page.
pub fn write(w: &mut impl Write, r: &Report<'_, '_>, v: &View) -> io::Result<()> {
    let s = r.snapshot;
    let a = r.analysis;
    let verdict = &r.headline();
    let class = if !a.deadlocks.is_empty() {
        "deadlock"
    } else if r.verdict.kind == ast_locks_analysis::verdict::VerdictKind::Undetermined {
        "undetermined"
    } else if !a.blocked.is_empty() {
        "waits"
    } else {
        "calm"
    };
    let first_deadlock: String = a
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
    writeln!(w, "<title>ast-locks: {}</title>", esc(verdict))?;
    writeln!(w, "<style>{STYLE}</style>")?;
    writeln!(w, "</head>")?;
    writeln!(w, "<body data-first-deadlock=\"{}\">", esc(&first_deadlock))?;
    writeln!(w, "<h1 class=\"{class}\">{}</h1>", esc(verdict))?;
    let mut about = String::new();
    if !r.source.is_empty() {
        about.push_str(&format!("<code>{}</code>: ", esc(r.source)));
    }
    about.push_str(&esc(&r.describe_input()));
    about.push_str(&esc(&r.counts()));
    if s.truncated {
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
    let steps = r.undetermined_steps();
    if !steps.is_empty() {
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
        writeln!(w, "</ul>")?;
    }
    if !r.potential.is_empty() {
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
    }
    if !r.stalls.is_empty() {
        writeln!(w, "<h2>Stalls</h2>")?;
        writeln!(w, "<ul>")?;
        for x in r.stalls {
            let (name, addr) = a.lock_label(s, x.lock);
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
        writeln!(w, "</ul>")?;
    }

    writeln!(w, "<h2>Waits-for graph</h2>")?;
    if v.threads_left_out > 0 {
        writeln!(
            w,
            "<p class=\"about\">{} threads not involved in any wait are not drawn; the table lists every thread.</p>",
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
    writeln!(w, "</div>")?;

    // Every thread.
    writeln!(w, "<h2>Threads</h2>")?;
    writeln!(
        w,
        "<p class=\"about\">Click a thread or a lock to highlight it in the graph.</p>"
    )?;
    writeln!(w, "<table id=\"threads\">")?;
    writeln!(
        w,
        "<thead><tr><th>thread</th><th>holds</th><th>waits for</th><th>held by</th><th>stuck behind</th></tr></thead>"
    )?;
    writeln!(w, "<tbody>")?;
    let lock_span = |li: usize| {
        let (name, addr) = a.lock_label(s, li);
        if addr.is_empty() {
            return format!(
                "<span class=\"lock\" data-key=\"l{li}\" data-lock=\"l{li}\">{}</span>",
                esc(&r.lock_text(li))
            );
        }
        format!(
            "<span class=\"lock\" data-key=\"l{li}\" data-lock=\"l{li}\"><code>{}</code> <code>{}</code></span>",
            esc(name),
            esc(addr)
        )
    };
    let mut deadlock_of = vec![None; s.threads.len()];
    for (d, dl) in a.deadlocks.iter().enumerate() {
        for &t in &dl.threads {
            deadlock_of[t] = Some(d);
        }
    }
    for (t, th) in s.threads.iter().enumerate() {
        let holds: Vec<String> = a.held_locks(s, t).into_iter().map(lock_span).collect();
        let (waits, by) = match a.waits[t] {
            Some((li, _)) => {
                let by =
                    r.in_the_way_text(t, |b| format!("<code>{}</code>", esc(&r.thread_label(b))));
                (lock_span(li), by)
            }
            None => (String::new(), String::new()),
        };
        let root = match (
            deadlock_of[t],
            a.blocked.binary_search_by_key(&t, |b| b.thread),
        ) {
            (Some(d), _) => format!("<strong>deadlock {}</strong>", d + 1),
            (None, Ok(i)) => match a.blocked[i].root {
                Root::Deadlock(d) => format!("deadlock {}", d + 1),
                Root::Holder(h) => {
                    format!("stalled holder <code>{}</code>", esc(&r.thread_label(h)))
                }
                Root::UnknownHolder(li) => format!("unknown holder of {}", lock_span(li)),
            },
            (None, Err(_)) => String::new(),
        };
        let hot = if deadlock_of[t].is_some() {
            " class=\"hot\""
        } else {
            ""
        };
        writeln!(
            w,
            "<tr data-key=\"t{t}\"{hot}><td><code>{}</code>{}{}</td><td>{}</td><td>{waits}</td><td>{by}</td><td>{root}</td></tr>",
            esc(&th.id),
            th.lwp.map(|l| format!(" LWP {l}")).unwrap_or_default(),
            if th.short_name().is_empty() {
                String::new()
            } else {
                format!(" ({})", esc(th.short_name()))
            },
            holds.join("<br>")
        )?;
    }
    writeln!(w, "</tbody>")?;
    writeln!(w, "</table>")?;

    if !a.anomalies.is_empty() || !r.warnings.is_empty() {
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
        for x in r.warnings {
            writeln!(
                w,
                "<li class=\"warn\">line {}: {}</li>",
                x.line,
                esc(&x.message)
            )?;
        }
        writeln!(w, "</ul>")?;
    }

    writeln!(w, "<h2>Backtraces</h2>")?;
    for (t, th) in s.threads.iter().enumerate() {
        let open = if deadlock_of[t].is_some() {
            " open"
        } else {
            ""
        };
        writeln!(
            w,
            "<details id=\"bt-t{t}\"{open}><summary><code>{}</code> {}</summary><pre>",
            esc(&th.id),
            esc(&th.name)
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
        writeln!(w, "</pre></details>")?;
    }
    writeln!(w, "<script>{SCRIPT}</script>")?;
    writeln!(w, "</body>")?;
    writeln!(w, "</html>")
}
