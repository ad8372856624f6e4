//! The plain-text refs report, sized for an SSH session: the verdict, the log
//! and how Asterisk was stopped; then leaks by site, each leaked object with the
//! references never released, invalid references with the release that freed
//! the object, objects that cannot be judged, and warnings.

use super::{
    count, input_line, notes, plural, site_and_tag, size_text, stop_sentence, where_text,
    RefsReport, SHORT_LIST,
};
use anstyle::{AnsiColor, Style};
use ast_locks_analysis::refs::{InvalidKind, Leak, LeakSite, RefsDiagnosis};
use ast_locks_model::refs::{addr_text, RefEvent};
use std::io::{self, Write};

/// Text options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextOptions {
    /// ANSI colours (the binary decides from the terminal and NO_COLOR).
    pub color: bool,
}

struct Paint {
    on: bool,
}

impl Paint {
    fn with(&self, style: Style, s: &str) -> String {
        if self.on {
            format!("{}{s}{}", style.render(), style.render_reset())
        } else {
            s.to_string()
        }
    }
    fn bad(&self, s: &str) -> String {
        self.with(Style::new().bold().fg_color(Some(AnsiColor::Red.into())), s)
    }
    fn good(&self, s: &str) -> String {
        self.with(
            Style::new().bold().fg_color(Some(AnsiColor::Green.into())),
            s,
        )
    }
    fn warn(&self, s: &str) -> String {
        self.with(
            Style::new().bold().fg_color(Some(AnsiColor::Yellow.into())),
            s,
        )
    }
    fn head(&self, s: &str) -> String {
        self.with(Style::new().bold(), s)
    }
}

/// Write the report.
pub fn write(w: &mut impl Write, r: &RefsReport<'_>, opts: &TextOptions) -> io::Result<()> {
    let p = Paint { on: opts.color };
    let d = r.diagnosis;
    write_head(w, r, &p)?;
    write_sites(w, r, &p, "Leaks by site", &d.leak_sites, &d.leaks)?;
    write_unreleased_sites(w, r, &p)?;
    write_leaks(w, r, &p, "Leaked objects", &d.leaks)?;
    write_invalid(w, r, &p)?;
    write_skewed(w, r, &p)?;
    if !d.shutdown_leaks.is_empty() {
        write_sites(
            w,
            r,
            &p,
            "Alive only because no cleanups ran, by site",
            &d.shutdown_sites,
            &d.shutdown_leaks,
        )?;
        if r.verbose {
            write_leaks(
                w,
                r,
                &p,
                "Alive only because no cleanups ran",
                &d.shutdown_leaks,
            )?;
        }
    }
    write_warnings(w, r, &p)?;
    write_footer(w, r)
}

/// The verdict, the log, how Asterisk was stopped, and notes.
fn write_head(w: &mut impl Write, r: &RefsReport<'_>, p: &Paint) -> io::Result<()> {
    let d = r.diagnosis;
    let verdict = d.verdict();
    let painted = if d.findings().is_empty() {
        p.good(&verdict)
    } else if d.leaks.is_empty() && d.counts.invalid == 0 {
        p.warn(&verdict)
    } else {
        p.bad(&verdict)
    };
    writeln!(w, "{painted}")?;
    writeln!(w, "{}", input_line(r))?;
    writeln!(w, "{}", stop_sentence(d))?;
    for note in notes(d) {
        writeln!(w, "{}", p.warn(&format!("Note: {note}")))?;
    }
    Ok(())
}

/// Leaks grouped by allocation site and unreleased sites.
fn write_sites(
    w: &mut impl Write,
    r: &RefsReport<'_>,
    p: &Paint,
    title: &str,
    sites: &[LeakSite],
    leaks: &[Leak],
) -> io::Result<()> {
    if sites.is_empty() {
        return Ok(());
    }
    let bytes: u64 = sites.iter().map(|s| s.bytes + s.member_bytes).sum();
    writeln!(w)?;
    writeln!(
        w,
        "{}",
        p.head(&format!(
            "{title} ({}{})",
            plural(leaks.len() as u64, "object"),
            bytes_suffix(bytes)
        ))
    )?;
    let shown = if r.verbose { sites.len() } else { SHORT_LIST };
    for site in sites.iter().take(shown) {
        write_site(w, r, site, leaks)?;
    }
    if sites.len() > shown {
        writeln!(
            w,
            "  … and {} (--verbose lists them all)",
            plural((sites.len() - shown) as u64, "more site")
        )?;
    }
    Ok(())
}

fn write_site(
    w: &mut impl Write,
    r: &RefsReport<'_>,
    site: &LeakSite,
    leaks: &[Leak],
) -> io::Result<()> {
    let n = site.leaks.len() as u64;
    let first = &leaks[site.leaks[0]];
    let what = if first.container {
        "container"
    } else {
        "object"
    };
    writeln!(
        w,
        "  {}{} from {} {}",
        plural(n, what),
        bytes_paren(site.bytes),
        site.allocated,
        super::tag_text(&site.tag)
    )?;
    let verb = if n == 1 { "holds" } else { "hold" };
    for (s, tag) in &site.unreleased {
        if *s == site.allocated && *tag == site.tag {
            writeln!(
                w,
                "    still {verb} {} creator's reference",
                if n == 1 { "its" } else { "their" }
            )?;
        } else {
            writeln!(
                w,
                "    still {verb} the reference taken at {s} {}",
                super::tag_text(tag)
            )?;
        }
    }
    if site.members > 0 {
        writeln!(
            w,
            "    and {} inside, held only by {}{}",
            plural(site.members, "object"),
            if n == 1 { "it" } else { "them" },
            bytes_paren(site.member_bytes)
        )?;
    }
    let shown = if r.verbose {
        site.leaks.len()
    } else {
        SHORT_LIST
    };
    let mut addrs: Vec<String> = site
        .leaks
        .iter()
        .take(shown)
        .map(|&i| addr_text(leaks[i].addr))
        .collect();
    if site.leaks.len() > shown {
        addrs.push(format!(
            "… {} more",
            count((site.leaks.len() - shown) as u64)
        ));
    }
    writeln!(w, "    {}", addrs.join(", "))
}

/// Which code forgets to release, when the leaks come from more than one
/// group: each unreleased site with its objects.
fn write_unreleased_sites(w: &mut impl Write, r: &RefsReport<'_>, p: &Paint) -> io::Result<()> {
    let d = r.diagnosis;
    if d.leak_sites.len() < 2 || d.unreleased_sites.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(w, "{}", p.head("References never released, by site"))?;
    let shown = if r.verbose {
        d.unreleased_sites.len()
    } else {
        SHORT_LIST
    };
    for u in d.unreleased_sites.iter().take(shown) {
        writeln!(
            w,
            "  {} {}: held by {} from {}",
            u.site,
            super::tag_text(&u.tag),
            plural(u.objects, "object"),
            plural(u.allocation_sites, "allocation site")
        )?;
    }
    if d.unreleased_sites.len() > shown {
        writeln!(
            w,
            "  … and {} (--verbose lists them all)",
            plural((d.unreleased_sites.len() - shown) as u64, "more site")
        )?;
    }
    Ok(())
}

/// Each leaked object with what it still holds.
fn write_leaks(
    w: &mut impl Write,
    r: &RefsReport<'_>,
    p: &Paint,
    title: &str,
    leaks: &[Leak],
) -> io::Result<()> {
    let top: Vec<&Leak> = leaks.iter().filter(|l| l.held_by.is_none()).collect();
    if top.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(w, "{}", p.head(title))?;
    let shown = if r.verbose { top.len() } else { SHORT_LIST };
    for leak in top.iter().take(shown) {
        write_leak(w, r, leak, "  ")?;
        for member in leaks.iter().filter(|m| m.held_by == Some(leak.addr)) {
            writeln!(w, "    inside it, held only by it:")?;
            write_leak(w, r, member, "      ")?;
        }
    }
    if top.len() > shown {
        writeln!(
            w,
            "  … and {} (--verbose lists them all)",
            plural((top.len() - shown) as u64, "more object")
        )?;
    }
    Ok(())
}

fn write_leak(w: &mut impl Write, r: &RefsReport<'_>, leak: &Leak, indent: &str) -> io::Result<()> {
    let a = &leak.allocated;
    let size = size_text(leak)
        .map(|s| format!("; {s}"))
        .unwrap_or_default();
    writeln!(
        w,
        "{indent}{} {} from {} ({}{size}), {} left",
        if leak.container {
            "container"
        } else {
            "object"
        },
        addr_text(leak.addr),
        site_and_tag(a),
        where_text(a),
        plural(leak.refs_left.max(0) as u64, "reference"),
    )?;
    for u in &leak.unreleased {
        let e = &u.event;
        let change = if u.left == e.delta {
            e.delta_text()
        } else {
            format!("{} ({} of it)", e.delta_text(), u.left)
        };
        let what = if e.line_no == a.line_no {
            "its creator's reference".to_string()
        } else {
            format!("the {change} taken at {}", site_and_tag(e))
        };
        writeln!(w, "{indent}  {what} ({}) was never released", where_text(e))?;
    }
    if !leak.also_in.is_empty() {
        let list: Vec<String> = leak.also_in.iter().map(|a| addr_text(*a)).collect();
        writeln!(
            w,
            "{indent}  also inside the leaked container {}",
            list.join(", ")
        )?;
    }
    if r.verbose {
        write_lines(w, &leak.history, leak.elided, &format!("{indent}  "))?;
    }
    Ok(())
}

fn write_lines(
    w: &mut impl Write,
    history: &[RefEvent],
    elided: u64,
    indent: &str,
) -> io::Result<()> {
    writeln!(w, "{indent}history:")?;
    for e in history {
        writeln!(w, "{indent}  {}", history_line(e))?;
    }
    if elided > 0 {
        writeln!(w, "{indent}  ({} released pairs not kept)", count(elided))?;
    }
    Ok(())
}

/// One line of a history: `7581 [28766] +1 res_refs_demo.c:356 r2_leak_site_a `tag` (count 1)`.
pub fn history_line(e: &RefEvent) -> String {
    use ast_locks_model::refs::LineState;
    let state = match e.state {
        LineState::Constructor { .. } => "constructor".to_string(),
        LineState::Destructor { .. } => "destructor".to_string(),
        LineState::Invalid => "invalid".to_string(),
        LineState::Count(c) => format!("count {c}"),
        LineState::CallDestructor => "call destructor".to_string(),
        LineState::Unknown => "count ?".to_string(),
    };
    let thread = e.thread.map(|t| format!(" [{t}]")).unwrap_or_default();
    format!(
        "line {}{thread} {} {} ({state})",
        e.line_no,
        e.delta_text(),
        site_and_tag(e)
    )
}

/// Use after free, below zero, unknown objects.
fn write_invalid(w: &mut impl Write, r: &RefsReport<'_>, p: &Paint) -> io::Result<()> {
    let d = r.diagnosis;
    let shown = if r.verbose { usize::MAX } else { SHORT_LIST };
    let uaf: Vec<_> = d.invalid_of(InvalidKind::UseAfterFree).collect();
    if !uaf.is_empty() {
        writeln!(w)?;
        writeln!(w, "{}", p.head(&format!("Use after free ({})", uaf.len())))?;
        for i in uaf.iter().take(shown) {
            writeln!(
                w,
                "  {}: the {} at {} ({}) refers to a freed object",
                addr_text(i.addr),
                i.at.delta_text(),
                site_and_tag(&i.at),
                where_text(&i.at)
            )?;
            if let Some(e) = &i.destroyed_at {
                writeln!(
                    w,
                    "    freed by the {} at {} ({})",
                    e.delta_text(),
                    site_and_tag(e),
                    where_text(e)
                )?;
            }
            if let Some(e) = &i.allocated {
                writeln!(
                    w,
                    "    allocated at {} ({})",
                    site_and_tag(e),
                    where_text(e)
                )?;
            }
        }
        more(w, uaf.len(), shown)?;
    }
    let below: Vec<_> = d.invalid_of(InvalidKind::BelowZero).collect();
    if !below.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            "{}",
            p.head(&format!(
                "Released below zero ({}): never freed",
                below.len()
            ))
        )?;
        for i in below.iter().take(shown) {
            writeln!(
                w,
                "  {}: the {} at {} ({}) takes its count below zero",
                addr_text(i.addr),
                i.at.delta_text(),
                site_and_tag(&i.at),
                where_text(&i.at)
            )?;
            if let Some(e) = &i.allocated {
                writeln!(
                    w,
                    "    allocated at {} ({})",
                    site_and_tag(e),
                    where_text(e)
                )?;
            }
            if r.verbose {
                write_lines(w, &i.history, 0, "    ")?;
            }
        }
        more(w, below.len(), shown)?;
    }
    let unknown: Vec<_> = d.invalid_of(InvalidKind::Unknown).collect();
    if !unknown.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            "{}",
            p.head(&format!(
                "Invalid references to objects the log does not show ({}): freed before the log began, or not astobj2 objects",
                unknown.len()
            ))
        )?;
        for i in unknown.iter().take(shown) {
            writeln!(
                w,
                "  {}: the {} at {} ({})",
                addr_text(i.addr),
                i.at.delta_text(),
                site_and_tag(&i.at),
                where_text(&i.at)
            )?;
        }
        more(w, unknown.len(), shown)?;
    }
    Ok(())
}

fn more(w: &mut impl Write, total: usize, shown: usize) -> io::Result<()> {
    if total > shown {
        writeln!(
            w,
            "  … and {} more (--verbose lists them all)",
            count((total - shown) as u64)
        )?;
    }
    Ok(())
}

/// Objects alive at the end whose start is not in the log.
fn write_skewed(w: &mut impl Write, r: &RefsReport<'_>, p: &Paint) -> io::Result<()> {
    let d: &RefsDiagnosis = r.diagnosis;
    if d.skewed.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(
        w,
        "{}",
        p.head(&format!(
            "Alive at the end, made before the log began ({}): a leak cannot be told from an object in use",
            d.skewed.len()
        ))
    )?;
    let shown = if r.verbose { usize::MAX } else { SHORT_LIST };
    for s in d.skewed.iter().take(shown) {
        writeln!(
            w,
            "  {}: first seen at {} ({}) with a count of {}; {} left",
            addr_text(s.addr),
            site_and_tag(&s.first),
            where_text(&s.first),
            s.count_at_start,
            s.refs_left
        )?;
        if r.verbose {
            write_lines(w, &s.history, s.elided, "    ")?;
        }
    }
    more(w, d.skewed.len(), shown)
}

fn write_warnings(w: &mut impl Write, r: &RefsReport<'_>, p: &Paint) -> io::Result<()> {
    let input = &r.diagnosis.input;
    if input.warnings_total == 0 {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(
        w,
        "{}",
        p.warn(&format!(
            "Warnings ({}): lines that are not refs lines were skipped",
            count(input.warnings_total)
        ))
    )?;
    let shown = if r.verbose {
        input.warnings.len()
    } else {
        SHORT_LIST
    };
    for (line, message) in input.warnings.iter().take(shown) {
        writeln!(w, "  {}: line {line}: {message}", r.name)?;
    }
    if input.warnings_total > shown as u64 {
        writeln!(
            w,
            "  … and {} more",
            count(input.warnings_total - shown.min(input.warnings.len()) as u64)
        )?;
    }
    Ok(())
}

fn write_footer(w: &mut impl Write, r: &RefsReport<'_>) -> io::Result<()> {
    let d = r.diagnosis;
    if r.verbose || (d.leaks.is_empty() && d.invalid.is_empty() && d.skewed.is_empty()) {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(
        w,
        "--verbose shows every object's history; --history ADDR every lifetime at one address."
    )
}

fn bytes_suffix(bytes: u64) -> String {
    if bytes == 0 {
        String::new()
    } else {
        format!(", {}", plural(bytes, "byte"))
    }
}

fn bytes_paren(bytes: u64) -> String {
    if bytes == 0 {
        String::new()
    } else {
        format!(" ({})", plural(bytes, "byte"))
    }
}

/// Every lifetime at the `--history` address.
pub fn write_address_history(w: &mut impl Write, r: &RefsReport<'_>) -> io::Result<()> {
    use ast_locks_analysis::refs::Outcome;
    let Some(h) = &r.diagnosis.history else {
        return Ok(());
    };
    let n = h.lifetimes.len() as u64 + h.dropped;
    writeln!(
        w,
        "{}: {} in {}",
        addr_text(h.addr),
        plural(n, "lifetime"),
        r.name
    )?;
    for (i, (outcome, events, elided)) in h.lifetimes.iter().enumerate() {
        let span = match (events.first(), events.last()) {
            (Some(a), Some(b)) => format!("lines {}–{}", a.line_no, b.line_no),
            _ => String::new(),
        };
        let how = match outcome {
            Outcome::Finished => "released",
            Outcome::Unbalanced => "destroyed, but its changes do not sum to zero",
            Outcome::Alive => "alive at the end",
            Outcome::BelowZero => "released below zero, never freed",
            Outcome::Superseded => {
                "its address was reused before its destructor line, which never came"
            }
        };
        writeln!(w)?;
        writeln!(w, "lifetime {}: {span}, {how}", i + 1)?;
        for e in events {
            writeln!(w, "  {}", history_line(e))?;
        }
        if *elided > 0 {
            writeln!(w, "  ({} released pairs not kept)", count(*elided))?;
        }
    }
    if h.dropped > 0 {
        writeln!(w)?;
        writeln!(
            w,
            "({} more lifetimes, all released, not kept: the address had too many)",
            count(h.dropped)
        )?;
    }
    if !h.invalid.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            "invalid lines at this address (they change no lifetime):"
        )?;
        for e in &h.invalid {
            writeln!(w, "  {}", history_line(e))?;
        }
    }
    Ok(())
}
