//! The refs report as Markdown for a ticket (GitHub, GitLab, Gitea): the
//! verdict as a heading, leaks by site in a table, each leaked object with the
//! references never released, invalid references, the leak map in mermaid, and
//! histories folded in `<details>`.

use super::text::history_line;
use super::{count, input_line, notes, plural, stop_sentence, where_text, RefsReport, SHORT_LIST};
use crate::markdown::code;
use ast_locks_analysis::refs::{InvalidKind, Leak, LeakSite};
use ast_locks_model::refs::{addr_text, RefEvent};
use std::io::{self, Write};

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn site(e: &RefEvent) -> String {
    let tag = if e.tag.is_empty() {
        "(untagged)".to_string()
    } else {
        code(&e.tag)
    };
    format!("{} {}", code(&e.site()), tag)
}

/// Write the report.
pub fn write(w: &mut impl Write, r: &RefsReport<'_>) -> io::Result<()> {
    let d = r.diagnosis;
    writeln!(w, "## ast-locks refs: {}\n", d.verdict())?;
    writeln!(w, "{}\n", code(&input_line(r)))?;
    writeln!(w, "{}\n", stop_sentence(d))?;
    for note in notes(d) {
        writeln!(w, "> **Note:** {note}\n")?;
    }
    sites(w, "Leaks by site", &d.leak_sites, &d.leaks)?;
    objects(w, r, "Leaked objects", &d.leaks)?;
    invalid(w, r)?;
    if !d.skewed.is_empty() {
        writeln!(
            w,
            "### Alive at the end, made before the log began ({})\n\nA leak cannot be told from an object in use.\n",
            d.skewed.len()
        )?;
        writeln!(
            w,
            "| object | first seen | count then | left |\n|---|---|---:|---:|"
        )?;
        for s in d
            .skewed
            .iter()
            .take(if r.verbose { usize::MAX } else { SHORT_LIST })
        {
            writeln!(
                w,
                "| {} | {} ({}) | {} | {} |",
                code(&addr_text(s.addr)),
                cell(&site(&s.first)),
                where_text(&s.first),
                s.count_at_start,
                s.refs_left
            )?;
        }
        writeln!(w)?;
    }
    if !d.shutdown_leaks.is_empty() {
        sites(
            w,
            "Alive only because no cleanups ran",
            &d.shutdown_sites,
            &d.shutdown_leaks,
        )?;
    }
    if !d.leak_sites.is_empty() || !d.shutdown_sites.is_empty() {
        writeln!(
            w,
            "### Leak map\n\n```mermaid\n{}```\n",
            super::map::mermaid(r)
        )?;
    }
    if d.input.warnings_total > 0 {
        writeln!(
            w,
            "<details><summary>{} skipped</summary>\n\n```text",
            plural(d.input.warnings_total, "line")
        )?;
        for (line, message) in &d.input.warnings {
            writeln!(w, "line {line}: {message}")?;
        }
        writeln!(w, "```\n\n</details>\n")?;
    }
    writeln!(w, "<sub>Made by ast-locks refs.</sub>")
}

fn sites(w: &mut impl Write, title: &str, sites: &[LeakSite], leaks: &[Leak]) -> io::Result<()> {
    if sites.is_empty() {
        return Ok(());
    }
    writeln!(
        w,
        "### {title} ({})\n",
        plural(leaks.len() as u64, "object")
    )?;
    writeln!(
        w,
        "| objects | bytes | allocated at | still holding the reference taken at |\n|---:|---:|---|---|"
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
                    code(tag)
                };
                format!("{} {tag}", code(&s.to_string()))
            })
            .collect();
        let members = if g.members > 0 {
            format!(" (and {} inside)", plural(g.members, "object"))
        } else {
            String::new()
        };
        writeln!(
            w,
            "| {}{} | {} | {} | {} |",
            count(g.leaks.len() as u64),
            members,
            count(g.bytes + g.member_bytes),
            cell(&site(&first.allocated)),
            cell(&held.join("<br>"))
        )?;
    }
    writeln!(w)
}

fn objects(w: &mut impl Write, r: &RefsReport<'_>, title: &str, leaks: &[Leak]) -> io::Result<()> {
    if leaks.is_empty() {
        return Ok(());
    }
    writeln!(w, "### {title}\n")?;
    let shown = if r.verbose { leaks.len() } else { SHORT_LIST };
    for leak in leaks.iter().take(shown) {
        let inside = leak
            .held_by
            .map(|c| {
                format!(
                    " (inside the leaked container {}, held only by it)",
                    code(&addr_text(c))
                )
            })
            .unwrap_or_default();
        writeln!(
            w,
            "- {} from {} ({}), {} left{inside}",
            code(&addr_text(leak.addr)),
            site(&leak.allocated),
            where_text(&leak.allocated),
            plural(leak.refs_left.max(0) as u64, "reference")
        )?;
        for u in &leak.unreleased {
            if u.event.line_no == leak.allocated.line_no {
                writeln!(w, "  - its creator's reference was never released")?;
            } else {
                writeln!(
                    w,
                    "  - the {} taken at {} ({}) was never released",
                    u.event.delta_text(),
                    site(&u.event),
                    where_text(&u.event)
                )?;
            }
        }
        writeln!(w, "\n  <details><summary>history</summary>\n\n  ```text")?;
        for e in &leak.history {
            writeln!(w, "  {}", history_line(e))?;
        }
        writeln!(w, "  ```\n\n  </details>\n")?;
    }
    if leaks.len() > shown {
        writeln!(
            w,
            "… and {} more.\n",
            plural((leaks.len() - shown) as u64, "object")
        )?;
    }
    Ok(())
}

fn invalid(w: &mut impl Write, r: &RefsReport<'_>) -> io::Result<()> {
    let d = r.diagnosis;
    if d.invalid.is_empty() {
        return Ok(());
    }
    writeln!(w, "### Invalid references ({})\n", d.invalid.len())?;
    writeln!(
        w,
        "| object | what | at | freed by | allocated at |\n|---|---|---|---|---|"
    )?;
    let shown = if r.verbose {
        usize::MAX
    } else {
        SHORT_LIST * 4
    };
    for i in d.invalid.iter().take(shown) {
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
            "| {} | {what} | {} ({}) | {} | {} |",
            code(&addr_text(i.addr)),
            cell(&format!("{} {}", i.at.delta_text(), site(&i.at))),
            where_text(&i.at),
            cell(&opt(&i.destroyed_at)),
            cell(&opt(&i.allocated))
        )?;
    }
    writeln!(w)
}
