//! The refs report as one self-contained HTML file for a ticket: no scripts,
//! no external resources; leaks by site, each object with the references never
//! released and its history folded, invalid references, the leak map as SVG.

use super::text::history_line;
use super::{count, input_line, notes, plural, stop_sentence, where_text, RefsReport};
use crate::html::esc;
use ast_locks_analysis::refs::{InvalidKind, Leak, LeakSite};
use ast_locks_model::refs::{addr_text, RefEvent};
use std::io::{self, Write};

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}\
code,pre{font-family:ui-monospace,monospace}pre{background:#f6f8fa;padding:.6em;overflow:auto}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.3em .6em;vertical-align:top;text-align:left}\
h1.bad{color:#b2182b}h1.good{color:#1a7f37}.note{background:#fff8c5;padding:.5em}";

fn site(e: &RefEvent) -> String {
    let tag = if e.tag.is_empty() {
        "(untagged)".to_string()
    } else {
        format!("<code>{}</code>", esc(&e.tag))
    };
    format!("<code>{}</code> {tag}", esc(&e.site()))
}

/// Write the report.
pub fn write(w: &mut impl Write, r: &RefsReport<'_>) -> io::Result<()> {
    let d = r.diagnosis;
    let verdict = d.verdict();
    let class = if d.findings().is_empty() {
        "good"
    } else {
        "bad"
    };
    writeln!(
        w,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>",
        esc(&verdict)
    )?;
    writeln!(w, "<h1 class=\"{class}\">{}</h1>", esc(&verdict))?;
    writeln!(w, "<p><code>{}</code></p>", esc(&input_line(r)))?;
    writeln!(w, "<p>{}</p>", esc(&stop_sentence(d)))?;
    for note in notes(d) {
        writeln!(w, "<p class=\"note\">{}</p>", esc(&note))?;
    }
    sites(w, "Leaks by site", &d.leak_sites, &d.leaks)?;
    objects(w, "Leaked objects", &d.leaks)?;
    invalid(w, r)?;
    if !d.skewed.is_empty() {
        writeln!(
            w,
            "<h2>Alive at the end, made before the log began ({})</h2><p>A leak cannot be told from an object in use.</p><table><tr><th>object</th><th>first seen</th><th>count then</th><th>left</th></tr>",
            d.skewed.len()
        )?;
        for s in &d.skewed {
            writeln!(
                w,
                "<tr><td><code>{}</code></td><td>{} ({})</td><td>{}</td><td>{}</td></tr>",
                addr_text(s.addr),
                site(&s.first),
                where_text(&s.first),
                s.count_at_start,
                s.refs_left
            )?;
        }
        writeln!(w, "</table>")?;
    }
    if !d.shutdown_leaks.is_empty() {
        sites(
            w,
            "Alive only because no cleanups ran",
            &d.shutdown_sites,
            &d.shutdown_leaks,
        )?;
        objects(
            w,
            "Objects alive only because no cleanups ran",
            &d.shutdown_leaks,
        )?;
    }
    if !d.leak_sites.is_empty() || !d.shutdown_sites.is_empty() {
        writeln!(w, "<h2>Leak map</h2>")?;
        super::map::write_svg(w, r)?;
    }
    if d.input.warnings_total > 0 {
        writeln!(
            w,
            "<details><summary>{} skipped</summary><pre>",
            plural(d.input.warnings_total, "line")
        )?;
        for (line, message) in &d.input.warnings {
            writeln!(w, "line {line}: {}", esc(message))?;
        }
        writeln!(w, "</pre></details>")?;
    }
    writeln!(
        w,
        "<p><small>Made by ast-locks refs.</small></p></body></html>"
    )
}

fn sites(w: &mut impl Write, title: &str, sites: &[LeakSite], leaks: &[Leak]) -> io::Result<()> {
    if sites.is_empty() {
        return Ok(());
    }
    writeln!(
        w,
        "<h2>{} ({})</h2><table><tr><th>objects</th><th>bytes</th><th>allocated at</th><th>still holding the reference taken at</th></tr>",
        esc(title),
        plural(leaks.len() as u64, "object")
    )?;
    for g in sites {
        let first = &leaks[g.leaks[0]];
        let held: Vec<String> = g
            .unreleased
            .iter()
            .map(|(s, tag)| {
                let tag = if tag.is_empty() {
                    "(untagged)".to_string()
                } else {
                    format!("<code>{}</code>", esc(tag))
                };
                format!("<code>{}</code> {tag}", esc(&s.to_string()))
            })
            .collect();
        let members = if g.members > 0 {
            format!(" (and {} inside)", plural(g.members, "object"))
        } else {
            String::new()
        };
        writeln!(
            w,
            "<tr><td>{}{members}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            count(g.leaks.len() as u64),
            count(g.bytes + g.member_bytes),
            site(&first.allocated),
            held.join("<br>")
        )?;
    }
    writeln!(w, "</table>")
}

fn objects(w: &mut impl Write, title: &str, leaks: &[Leak]) -> io::Result<()> {
    if leaks.is_empty() {
        return Ok(());
    }
    writeln!(w, "<h2>{}</h2><ul>", esc(title))?;
    for leak in leaks {
        let inside = leak
            .held_by
            .map(|c| {
                format!(
                    " (inside the leaked container <code>{}</code>, held only by it)",
                    addr_text(c)
                )
            })
            .unwrap_or_default();
        writeln!(
            w,
            "<li><code>{}</code> from {} ({}), {} left{inside}<ul>",
            addr_text(leak.addr),
            site(&leak.allocated),
            where_text(&leak.allocated),
            plural(leak.refs_left.max(0) as u64, "reference")
        )?;
        for u in &leak.unreleased {
            if u.event.line_no == leak.allocated.line_no {
                writeln!(w, "<li>its creator's reference was never released</li>")?;
            } else {
                writeln!(
                    w,
                    "<li>the {} taken at {} ({}) was never released</li>",
                    u.event.delta_text(),
                    site(&u.event),
                    where_text(&u.event)
                )?;
            }
        }
        writeln!(w, "</ul><details><summary>history</summary><pre>")?;
        for e in &leak.history {
            writeln!(w, "{}", esc(&history_line(e)))?;
        }
        writeln!(w, "</pre></details></li>")?;
    }
    writeln!(w, "</ul>")
}

fn invalid(w: &mut impl Write, r: &RefsReport<'_>) -> io::Result<()> {
    let d = r.diagnosis;
    if d.invalid.is_empty() {
        return Ok(());
    }
    writeln!(
        w,
        "<h2>Invalid references ({})</h2><table><tr><th>object</th><th>what</th><th>at</th><th>freed by</th><th>allocated at</th></tr>",
        d.invalid.len()
    )?;
    for i in &d.invalid {
        let what = match i.kind {
            InvalidKind::UseAfterFree => "use after free",
            InvalidKind::BelowZero => "below zero (never freed)",
            InvalidKind::Unknown => "object not in the log",
        };
        let opt = |e: &Option<RefEvent>| {
            e.as_ref()
                .map(|e| format!("{} ({})", site(e), where_text(e)))
                .unwrap_or_else(|| "—".to_string())
        };
        writeln!(
            w,
            "<tr><td><code>{}</code></td><td>{what}</td><td>{} {} ({})</td><td>{}</td><td>{}</td></tr>",
            addr_text(i.addr),
            i.at.delta_text(),
            site(&i.at),
            where_text(&i.at),
            opt(&i.destroyed_at),
            opt(&i.allocated)
        )?;
    }
    let _ = r.verbose;
    writeln!(w, "</table>")
}
