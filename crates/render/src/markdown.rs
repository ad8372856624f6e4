//! A Markdown report to paste into a GitHub issue or comment: the verdict, a
//! mermaid flowchart of the focused graph (GitHub draws it), the deadlock table,
//! the ranked roots with identical waits folded, unknown holders, and every
//! involved thread's backtraces in `<details>` blocks. Plain CommonMark plus
//! GitHub's tables.

use crate::view::{Look, View};
use crate::Report;
use ast_locks_analysis::Root;
use std::io::{self, Write};

/// Markdown report options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarkdownOptions {
    /// One row per blocked thread instead of one per identical wait. Default: `false`.
    pub verbose: bool,
}

/// An inline code span that holds `s` whatever backticks it contains.
pub fn code(s: &str) -> String {
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') || s.is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// A table cell: pipes escaped (GitHub splits cells on them even in code spans),
/// line breaks flattened.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Plain text in Markdown: the characters that would start markup are escaped.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\`*_[]<>|&~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A mermaid label: quoted, with the characters that end or confuse a quoted
/// label written as mermaid entity codes.
pub fn mermaid_label(lines: &[String]) -> String {
    let mut out = String::from("\"");
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push_str("<br/>");
        }
        for c in line.chars() {
            match c {
                '"' => out.push_str("#quot;"),
                '<' => out.push_str("#lt;"),
                '>' => out.push_str("#gt;"),
                '&' => out.push_str("#amp;"),
                '#' => out.push_str("#35;"),
                '|' => out.push_str("#124;"),
                '`' => out.push_str("#96;"),
                '\n' | '\r' => out.push(' '),
                c => out.push(c),
            }
        }
    }
    out.push('"');
    out
}

/// The mermaid flowchart of a view.
pub fn mermaid(v: &View) -> String {
    let mut m = String::from("flowchart TD\n");
    for n in &v.nodes {
        let label = mermaid_label(&n.label);
        let shape = match n.kind {
            crate::view::NodeKind::Lock(_) => format!("{}(({label}))", n.key),
            _ => format!("{}[{label}]", n.key),
        };
        m.push_str(&format!("  {shape}\n"));
    }
    for e in &v.edges {
        let arrow = match e.look {
            Look::Unknown | Look::Reader => "-.->",
            Look::Hot => "==>",
            _ => "-->",
        };
        m.push_str(&format!(
            "  {} {arrow}|{}| {}\n",
            v.nodes[e.from].key,
            mermaid_label(&e.label),
            v.nodes[e.to].key
        ));
    }
    m.push_str("  classDef hot stroke:#d00,stroke-width:3px,color:#b00\n");
    m.push_str("  classDef stalled stroke:#e80,stroke-width:3px\n");
    m.push_str("  classDef unknown stroke-dasharray:5 5\n");
    for (class, look) in [
        ("hot", Look::Hot),
        ("stalled", Look::Stalled),
        ("unknown", Look::Unknown),
    ] {
        let keys: Vec<&str> = v
            .nodes
            .iter()
            .filter(|n| n.look == look)
            .map(|n| n.key.as_str())
            .collect();
        if !keys.is_empty() {
            m.push_str(&format!("  class {} {class}\n", keys.join(",")));
        }
    }
    let hot: Vec<String> = v
        .edges
        .iter()
        .enumerate()
        .filter(|(_, e)| e.look == Look::Hot)
        .map(|(i, _)| i.to_string())
        .collect();
    if !hot.is_empty() {
        m.push_str(&format!(
            "  linkStyle {} stroke:#d00,stroke-width:3px\n",
            hot.join(",")
        ));
    }
    m
}

fn lock_ref(r: &Report<'_, '_>, li: usize) -> String {
    let (name, addr) = r.analysis.lock_label(r.snapshot, li);
    if addr.is_empty() {
        return text(&r.lock_text(li));
    }
    format!("{} {}", code(name), code(addr))
}

/// `` `thread 164` (LWP 27844, pbx_thread) ``: the thread's short name in code,
/// its LWP and name after it.
fn thread_ref(r: &Report<'_, '_>, t: usize) -> String {
    let label = r.thread_label(t);
    let who = r.thread_ref(t);
    let rest = label.strip_prefix(who.as_str()).unwrap_or("");
    format!("{}{}", code(&who), text(rest))
}

/// Write the report.
pub fn write(
    w: &mut impl Write,
    r: &Report<'_, '_>,
    v: &View,
    opts: &MarkdownOptions,
) -> io::Result<()> {
    heading(w, r)?;
    picture(w, v)?;
    deadlocks(w, r)?;
    blocked(w, r, opts)?;
    spinning(w, r)?;
    unknown_holders(w, r)?;
    stalls(w, r)?;
    potential(w, r)?;
    anomalies(w, r)?;
    to_decide(w, r)?;
    backtraces(w, r)?;
    warnings(w, r)
}

/// The verdict, what the input was, and what the first screen must say beside it.
fn heading(w: &mut impl Write, r: &Report<'_, '_>) -> io::Result<()> {
    let s = r.snapshot;
    writeln!(w, "## ast-locks: {}", text(&r.headline()))?;
    writeln!(w)?;
    if let Some(series) = r.series {
        writeln!(w, "**{}**", text(&series.headline()))?;
        writeln!(w)?;
    }
    let mut about = String::new();
    if !r.source.is_empty() {
        about.push_str(&format!("{}: ", code(r.source)));
    }
    about.push_str(&text(&r.describe_input()));
    about.push_str(&r.counts());
    if s.truncated {
        about.push_str("; **the dump is truncated**");
    }
    writeln!(w, "{about}")?;
    let caveats: Vec<&str> = r.caveats().collect();
    if !caveats.is_empty() {
        writeln!(w)?;
        for c in caveats {
            writeln!(w, "- **Note:** {}", text(c))?;
        }
    }
    Ok(())
}

/// The mermaid graph GitHub draws.
fn picture(w: &mut impl Write, v: &View) -> io::Result<()> {
    if !v.nodes.is_empty() {
        writeln!(w)?;
        writeln!(w, "```mermaid")?;
        write!(w, "{}", mermaid(v))?;
        writeln!(w, "```")?;
        if v.threads_left_out > 0 {
            writeln!(w)?;
            writeln!(
                w,
                "_{} threads not involved in any wait are not drawn._",
                v.threads_left_out
            )?;
        }
    }
    Ok(())
}

/// Each deadlock: its table, then what to do.
fn deadlocks(w: &mut impl Write, r: &Report<'_, '_>) -> io::Result<()> {
    let a = r.analysis;
    for (d, dl) in a.deadlocks.iter().enumerate() {
        writeln!(w)?;
        writeln!(
            w,
            "### Deadlock {}: {} thread{}",
            d + 1,
            dl.threads.len(),
            if dl.threads.len() == 1 { "" } else { "s" }
        )?;
        writeln!(w)?;
        if let [alone] = dl.threads[..] {
            if let Some((li, _)) = a.waits[alone] {
                writeln!(
                    w,
                    "{} waits for {} that it already holds: a non-recursive lock taken twice.",
                    thread_ref(r, alone),
                    lock_ref(r, li)
                )?;
                writeln!(w)?;
            }
        } else if dl.threads.len() > 2 {
            let steps: Vec<String> = dl
                .cycle
                .iter()
                .chain(dl.cycle.first())
                .map(|&t| thread_ref(r, t))
                .collect();
            writeln!(w, "Shortest cycle: {}", steps.join(" → "))?;
            writeln!(w)?;
        }
        deadlock_table(w, r, dl)?;
        next_steps(w, &r.deadlock_steps(d))?;
    }
    Ok(())
}

/// One row per deadlocked thread: what it holds (where taken, for how long),
/// what it waits for, who holds that, and where it waits.
fn deadlock_table(
    w: &mut impl Write,
    r: &Report<'_, '_>,
    dl: &ast_locks_analysis::Deadlock,
) -> io::Result<()> {
    let a = r.analysis;
    writeln!(
        w,
        "| thread | holds | taken at | held for | waits for | held by | where it waits |"
    )?;
    writeln!(w, "|---|---|---|---|---|---|---|")?;
    let order = dl.members_in_cycle_order();
    for t in order {
        let held = r.held(t);
        let holds: Vec<String> = held.iter().map(|h| lock_ref(r, h.lock)).collect();
        let taken: Vec<String> = held
            .iter()
            .map(|h| {
                h.taken_at
                    .as_deref()
                    .map_or("(owner per gdb)".to_string(), code)
            })
            .collect();
        let held_for: Vec<String> = held
            .iter()
            .map(|h| h.held_for.clone().unwrap_or_default())
            .collect();
        let (waits, by, site) = match a.waits[t] {
            Some((li, _)) => (
                lock_ref(r, li),
                r.in_the_way_text(t, |b| thread_ref(r, b)),
                r.wait_site(t).map(|x| code(&x)).unwrap_or_default(),
            ),
            None => (String::new(), String::new(), String::new()),
        };
        writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} |",
            cell(&thread_ref(r, t)),
            cell(&holds.join("<br>")),
            cell(&taken.join("<br>")),
            cell(&held_for.join("<br>")),
            cell(&waits),
            cell(&by),
            cell(&site)
        )?;
    }
    Ok(())
}

/// A finding's next steps: what to do, the lines of the input it is about,
/// the commands to run.
fn next_steps(w: &mut impl Write, steps: &[crate::Step]) -> io::Result<()> {
    for step in steps {
        writeln!(w)?;
        writeln!(w, "**Next:** {}", text(&step.say))?;
        if !step.facts.is_empty() {
            writeln!(w)?;
            for f in &step.facts {
                writeln!(w, "- {}", text(f))?;
            }
        }
        if !step.commands.is_empty() {
            writeln!(w)?;
            writeln!(w, "```sh")?;
            for c in &step.commands {
                writeln!(w, "{c}")?;
            }
            writeln!(w, "```")?;
        }
    }
    Ok(())
}

/// The blocked threads, grouped by what they are stuck behind.
fn blocked(w: &mut impl Write, r: &Report<'_, '_>, opts: &MarkdownOptions) -> io::Result<()> {
    let a = r.analysis;
    if !a.roots.is_empty() {
        writeln!(w)?;
        writeln!(w, "### Blocked threads, by what they are stuck behind")?;
        writeln!(w)?;
        for (i, g) in a.roots.iter().enumerate() {
            let what = match g.root {
                Root::Deadlock(d) => format!("**deadlock {}**", d + 1),
                Root::Holder(h) => match r.activity(h) {
                    Some(doing) => format!(
                        "stalled holder {}, which {}",
                        thread_ref(r, h),
                        text(&doing)
                    ),
                    None => format!("stalled holder {}", thread_ref(r, h)),
                },
                Root::UnknownHolder(li) => format!("an unknown holder of {}", lock_ref(r, li)),
            };
            let n = g.threads.len();
            let threads = if n == 1 { "thread" } else { "threads" };
            writeln!(w, "{}. {n} {threads} behind {what}", i + 1)?;
            let groups = r.groups(&g.threads, opts.verbose);
            for fold in groups {
                let site = r
                    .wait_site(fold.threads[0])
                    .map(|x| format!(" at {}", code(&x)))
                    .unwrap_or_default();
                if fold.threads.len() == 1 {
                    writeln!(
                        w,
                        "   - {} waits for {}{site}",
                        thread_ref(r, fold.threads[0]),
                        lock_ref(r, fold.lock)
                    )?;
                } else {
                    let ids: Vec<String> = fold.threads.iter().map(|&t| thread_ref(r, t)).collect();
                    writeln!(
                        w,
                        "   - {} threads wait for {}{site}: {}",
                        fold.threads.len(),
                        lock_ref(r, fold.lock),
                        ids.join(", ")
                    )?;
                }
            }
        }
        // What to do about each stalled holder, after the list.
        for g in &a.roots {
            if let Root::Holder(h) = g.root {
                next_steps(w, &r.holder_steps(h))?;
            }
        }
    }
    Ok(())
}

/// Threads busy in a trylock loop.
fn spinning(w: &mut impl Write, r: &Report<'_, '_>) -> io::Result<()> {
    let spinners = r.spinning();
    if !spinners.is_empty() {
        writeln!(w)?;
        writeln!(w, "### Spinning (busy, not blocked: livelock suspects)")?;
        writeln!(w)?;
        for t in spinners {
            writeln!(
                w,
                "- {} {}",
                thread_ref(r, t),
                text(&r.activity(t).unwrap_or_default())
            )?;
        }
    }
    Ok(())
}

/// Awaited locks that no listed thread holds.
fn unknown_holders(w: &mut impl Write, r: &Report<'_, '_>) -> io::Result<()> {
    let s = r.snapshot;
    let a = r.analysis;
    let unknown = a.unknown_holder_locks();
    if !unknown.is_empty() {
        writeln!(w)?;
        writeln!(w, "### Unknown holders")?;
        writeln!(w)?;
        for li in unknown {
            let hints: Vec<String> = a
                .locked_here(s, li)
                .iter()
                .map(|l| code(&format!("{} line {} ({})", l.file, l.line, l.function)))
                .collect();
            let hints = if hints.is_empty() {
                "no `Locked Here` line".to_string()
            } else {
                format!("Locked Here: {}", hints.join(", "))
            };
            writeln!(
                w,
                "- {}: no listed thread holds it; {hints}",
                lock_ref(r, li)
            )?;
        }
        writeln!(w)?;
        writeln!(
            w,
            "Likely causes: the lock was taken outside the tracked lock wrappers, a thread exited \
             holding it, the per-thread lock tracking limit was reached, or the dump is not a \
             consistent snapshot."
        )?;
    }
    Ok(())
}

/// Awaited locks held longer than the threshold.
fn stalls(w: &mut impl Write, r: &Report<'_, '_>) -> io::Result<()> {
    if !r.stalls.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            "### Stalls (awaited locks held longer than {})",
            r.stall_after
        )?;
        writeln!(w)?;
        for x in r.stalls {
            writeln!(
                w,
                "- {} has held {} for {}; {} waiting",
                thread_ref(r, x.thread),
                lock_ref(r, x.lock),
                x.held_for,
                x.waiters
            )?;
        }
    }
    Ok(())
}

/// Lock-order cycles: deadlocks waiting to happen.
fn potential(w: &mut impl Write, r: &Report<'_, '_>) -> io::Result<()> {
    if !r.potential.is_empty() {
        writeln!(w)?;
        writeln!(w, "### Potential deadlocks (lock order)")?;
        writeln!(w)?;
        for p in r.potential {
            let mut ring: Vec<String> = p.classes.iter().map(|c| code(c)).collect();
            ring.push(code(&p.classes[0]));
            writeln!(w, "- {} ({})", ring.join(" → "), p.confidence.label())?;
            for (k, ev) in p.steps.iter().enumerate() {
                if let Some(e) = ev.first() {
                    writeln!(
                        w,
                        "  - {} then {}: thread {} (snapshot {}) at {} then {}",
                        code(&p.classes[k]),
                        code(&p.classes[(k + 1) % p.classes.len()]),
                        code(&e.thread),
                        e.snapshot + 1,
                        code(e.first_at.as_deref().unwrap_or("?")),
                        code(e.then_at.as_deref().unwrap_or("?"))
                    )?;
                }
            }
        }
    }
    next_steps(w, &r.potential_steps())
}

/// What the dump shows that should not happen.
fn anomalies(w: &mut impl Write, r: &Report<'_, '_>) -> io::Result<()> {
    let a = r.analysis;
    if !a.anomalies.is_empty() {
        writeln!(w)?;
        writeln!(w, "### Anomalies")?;
        writeln!(w)?;
        for x in &a.anomalies {
            writeln!(w, "- {}: {}", thread_ref(r, x.thread), text(&x.message))?;
        }
    }
    Ok(())
}

/// What to do when the input cannot decide.
fn to_decide(w: &mut impl Write, r: &Report<'_, '_>) -> io::Result<()> {
    let steps = r.undetermined_steps();
    if !steps.is_empty() {
        writeln!(w)?;
        writeln!(w, "### To decide")?;
        writeln!(w)?;
        for step in steps {
            writeln!(w, "- {}", text(&step.say))?;
            if !step.commands.is_empty() {
                writeln!(w)?;
                writeln!(w, "  ```sh")?;
                for c in &step.commands {
                    writeln!(w, "  {c}")?;
                }
                writeln!(w, "  ```")?;
            }
        }
    }
    Ok(())
}

/// Backtraces of the threads the report is about.
fn backtraces(w: &mut impl Write, r: &Report<'_, '_>) -> io::Result<()> {
    let s = r.snapshot;
    let a = r.analysis;
    // Backtraces of the threads the report is about.
    let mut involved: Vec<usize> = a.deadlocks.iter().flat_map(|d| d.threads.clone()).collect();
    for b in &a.blocked {
        involved.extend(b.via.iter().copied());
    }
    involved.sort_unstable();
    involved.dedup();
    if !involved.is_empty() {
        writeln!(w)?;
        writeln!(w, "### Backtraces")?;
        for t in involved {
            let th = &s.threads[t];
            writeln!(w)?;
            writeln!(
                w,
                "<details><summary>{}</summary>",
                html_text(&r.thread_label(t))
            )?;
            writeln!(w)?;
            let mut body = String::new();
            for e in &th.entries {
                body.push_str(&crate::dump::lock_line(e));
                body.push('\n');
                for f in e.backtrace.iter() {
                    body.push('\t');
                    body.push_str(f);
                    body.push('\n');
                }
                for l in &e.locked_here {
                    body.push_str(&format!(
                        "=== --- ---> Locked Here: {} line {} ({})\n",
                        l.file, l.line, l.function
                    ));
                }
            }
            let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
            let fence = "`".repeat(longest.max(2) + 1);
            writeln!(w, "{fence}text")?;
            write!(w, "{body}")?;
            writeln!(w, "{fence}")?;
            writeln!(w)?;
            writeln!(w, "</details>")?;
        }
    }
    Ok(())
}

/// What the parser could not read.
fn warnings(w: &mut impl Write, r: &Report<'_, '_>) -> io::Result<()> {
    if !r.warnings.is_empty() {
        writeln!(w)?;
        writeln!(w, "### Input warnings")?;
        writeln!(w)?;
        for x in r.warnings {
            writeln!(w, "- line {}: {}", x.line, text(&x.message))?;
        }
    }
    Ok(())
}

/// Text inside an HTML element.
fn html_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_hold_any_backticks() {
        assert_eq!(code("&chan->lock"), "`&chan->lock`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x`"), "`` `x` ``");
    }

    #[test]
    fn mermaid_labels_escape_what_ends_them() {
        let rows: &[(&str, &str)] = &[
            ("&chan->lock", "\"#amp;chan-#gt;lock\""),
            ("say \"hi\"", "\"say #quot;hi#quot;\""),
            ("a[0]", "\"a[0]\""),
            ("x|y", "\"x#124;y\""),
            ("#1", "\"#35;1\""),
        ];
        for (input, want) in rows {
            assert_eq!(mermaid_label(&[input.to_string()]), *want, "{input}");
        }
    }
}
