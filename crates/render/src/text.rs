//! The plain-text report, sized for an SSH session: the verdict first, then each
//! deadlock thread by thread, the blocked threads grouped by root (most blocked
//! first), unknown holders with their `Locked Here` hints, anomalies, warnings.

use crate::Report;
use ast_locks_analysis::verdict::VerdictKind;
use ast_locks_analysis::{RankedRoot, Root};
use ast_locks_model::{LockEntry, LockKind};
use std::io::{self, Write};

/// Text report options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextOptions {
    /// ANSI colours. Default: `false` (the binary turns it on for terminals without `NO_COLOR`).
    pub color: bool,
    /// List every blocked thread and warning instead of the first few. Default: `false`.
    pub verbose: bool,
    /// Wrap lines to this many columns (0: never wrap). Default: [`WIDTH`].
    pub width: usize,
}

/// The width a report fits unless told otherwise: wide enough for a lock line
/// with its site, narrow enough for a split terminal.
pub const WIDTH: usize = 100;

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            color: false,
            verbose: false,
            width: WIDTH,
        }
    }
}

/// Without `verbose`, show at most this many threads per root and warnings.
const SHORT_LIST: usize = 8;

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn red(&self, s: &str) -> String {
        self.paint("1;31", s)
    }
    fn green(&self, s: &str) -> String {
        self.paint("1;32", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
}

fn kind_word(e: &LockEntry<'_>) -> &'static str {
    match e.kind {
        LockKind::Mutex => "mutex",
        LockKind::RdLock => "read lock",
        LockKind::WrLock => "write lock",
        LockKind::Unknown => "lock",
    }
}

fn taken_at(e: &LockEntry<'_>) -> String {
    if e.location.file.is_empty() {
        return "an unknown place".to_string();
    }
    format!(
        "{}:{} {}()",
        e.location.file, e.location.line, e.location.function
    )
}

/// `1 thread waits`, `3 threads wait`.
fn waits(n: usize) -> String {
    if n == 1 {
        "1 thread waits".to_string()
    } else {
        format!("{n} threads wait")
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Write the report: the verdict first, then each section that has something
/// to say.
pub fn write(w: &mut impl Write, r: &Report<'_, '_>, opts: &TextOptions) -> io::Result<()> {
    let mut out = Vec::new();
    sections(&mut out, r, opts)?;
    let text = String::from_utf8_lossy(&out);
    w.write_all(crate::wrap::wrap(&text, opts.width).as_bytes())
}

/// Each section that has something to say, in reading order.
fn sections(w: &mut impl Write, r: &Report<'_, '_>, opts: &TextOptions) -> io::Result<()> {
    let st = Style { on: opts.color };
    headline(w, r, &st)?;
    about(w, r, &st)?;
    if let Some(series) = r.series {
        series_block(w, r, series)?;
    }
    deadlocks(w, r, &st)?;
    blocked(w, r, &st, opts)?;
    unknown_holders(w, r, &st)?;
    stalls(w, r, &st)?;
    potential(w, r, &st)?;
    trylocks(w, r, &st)?;
    spinning(w, r, &st)?;
    excerpt_threads(w, r, &st)?;
    notes(w, r, &st)?;
    anomalies(w, r, &st)?;
    next_steps(w, r, &st)?;
    warnings(w, r, &st, opts)
}

/// The verdict (and, for several snapshots, what the series says above it),
/// each one line that scripts can take with `head -n 1`: never wrapped.
fn headline(w: &mut impl Write, r: &Report<'_, '_>, st: &Style) -> io::Result<()> {
    use ast_locks_analysis::series::SeriesVerdict;
    let a = r.analysis;
    let verdict = &r.headline();
    let painted = match r.verdict.kind {
        VerdictKind::Deadlock => st.red(verdict),
        VerdictKind::Undetermined => st.yellow(verdict),
        VerdictKind::NoDeadlock if a.blocked.is_empty() => st.green(verdict),
        VerdictKind::NoDeadlock => st.yellow(verdict),
    };
    if r.verdict.kind == VerdictKind::Undetermined {
        // What cannot be decided comes first, whatever the series says.
        writeln!(w, "{}{painted}", crate::wrap::WHOLE)?;
    }
    if let Some(series) = r.series {
        let line = series.headline();
        let painted = match series.verdict {
            SeriesVerdict::ConfirmedDeadlock(_) | SeriesVerdict::StuckHolder(_) => st.red(&line),
            SeriesVerdict::Calm => st.green(&line),
            _ => st.yellow(&line),
        };
        writeln!(w, "{}{painted}", crate::wrap::WHOLE)?;
    }
    if r.verdict.kind != VerdictKind::Undetermined {
        writeln!(w, "{}{painted}", crate::wrap::WHOLE)?;
    }
    Ok(())
}

/// The input, its counts, and the awaited lock held longest.
fn about(w: &mut impl Write, r: &Report<'_, '_>, st: &Style) -> io::Result<()> {
    let (s, a) = (r.snapshot, r.analysis);
    let mut about = String::new();
    if !r.source.is_empty() {
        about.push_str(r.source);
        about.push_str(": ");
    }
    about.push_str(&r.describe_input());
    about.push_str(&r.counts());
    if s.truncated {
        about.push_str("; the dump is truncated");
    }
    writeln!(w, "{about}")?;
    for caveat in r.caveats() {
        writeln!(w, "{}", st.yellow(&format!("Note: {caveat}")))?;
    }
    if !a.deadlocks.is_empty() {
        return Ok(());
    }
    if let Some(l) = r.longest_held {
        let (name, addr) = a.lock_label(s, l.lock);
        // Threads stuck behind the holder through others count too.
        let behind = a
            .roots
            .iter()
            .find(|g| g.root == Root::Holder(l.thread))
            .map_or(0, |g| g.threads.len());
        let all = if behind > l.waiters {
            format!(", {behind} in all behind its holder")
        } else {
            String::new()
        };
        writeln!(
            w,
            "{}",
            st.bold(&format!(
                "Longest-held awaited lock: {name} {addr}, held by {} for {}; {} for it{all}",
                r.thread_label(l.thread),
                l.held_for,
                waits(l.waiters),
            ))
        )?;
    }
    Ok(())
}

/// Each deadlock, thread by thread.
fn deadlocks(w: &mut impl Write, r: &Report<'_, '_>, st: &Style) -> io::Result<()> {
    let a = r.analysis;
    for (d, dl) in a.deadlocks.iter().enumerate() {
        writeln!(w)?;
        writeln!(
            w,
            "{}",
            st.red(&format!(
                "Deadlock {}: {}",
                d + 1,
                plural(dl.threads.len(), "thread", "threads")
            ))
        )?;
        if let [alone] = dl.threads[..] {
            self_deadlock(w, r, st, alone)?;
        } else {
            if dl.threads.len() > 2 {
                let steps: Vec<String> = dl
                    .cycle
                    .iter()
                    .chain(dl.cycle.first())
                    .map(|&t| r.thread_label(t))
                    .collect();
                writeln!(w, "  shortest cycle: {}", steps.join(" → "))?;
            }
            let order = dl.members_in_cycle_order();
            for t in order {
                thread_block(w, r, st, t)?;
            }
        }
        let behind = a
            .blocked
            .iter()
            .filter(|b| b.root == Root::Deadlock(d))
            .count();
        if behind > 0 {
            writeln!(
                w,
                "  {} stuck behind this deadlock (see below)",
                plural(behind, "more thread is", "more threads are")
            )?;
        }
        next(w, st, &r.deadlock_steps(d))?;
    }
    Ok(())
}

/// A command to copy: indented, never wrapped.
fn command(w: &mut impl Write, c: &str) -> io::Result<()> {
    writeln!(w, "{}    {c}", crate::wrap::WHOLE)
}

/// A finding's next steps, under it.
fn next(w: &mut impl Write, st: &Style, steps: &[crate::Step]) -> io::Result<()> {
    for step in steps {
        writeln!(w, "  {} {}", st.bold("Next:"), step.say)?;
        for f in &step.facts {
            writeln!(w, "    {f}")?;
        }
        for c in &step.commands {
            command(w, c)?;
        }
    }
    Ok(())
}

/// The blocked threads, grouped by what they are stuck behind.
fn blocked(
    w: &mut impl Write,
    r: &Report<'_, '_>,
    st: &Style,
    opts: &TextOptions,
) -> io::Result<()> {
    if r.analysis.roots.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(
        w,
        "{}",
        st.bold("Blocked threads, by what they are stuck behind:")
    )?;
    for g in &r.analysis.roots {
        root_block(w, r, st, g, opts)?;
    }
    Ok(())
}

/// Awaited locks that no listed thread holds, with what the input says of them.
fn unknown_holders(w: &mut impl Write, r: &Report<'_, '_>, st: &Style) -> io::Result<()> {
    let (s, a) = (r.snapshot, r.analysis);
    let unknown = a.unknown_holder_locks();
    if unknown.is_empty() {
        return Ok(());
    }
    let gdb = r.format == ast_locks_model::InputFormat::Gdb;
    writeln!(w)?;
    writeln!(
        w,
        "{}",
        st.bold("Unknown holders (no listed thread holds the lock):")
    )?;
    for &li in &unknown {
        let lock = r.lock_text(li);
        let waiters: Vec<String> = a
            .locks
            .get(li)
            .waiters
            .iter()
            .map(|x| r.thread_label(x.thread))
            .collect();
        writeln!(
            w,
            "  {lock}: {}; waited for by {}",
            if gdb {
                "owner unknown"
            } else {
                "its holder is not listed"
            },
            waiters.join(", ")
        )?;
        let hints = a.locked_here(s, li);
        if hints.is_empty() && !gdb {
            writeln!(
                w,
                "    no `Locked Here` line (printed only for awaited mutexes)"
            )?;
        }
        for loc in hints {
            writeln!(
                w,
                "    Locked Here: {} line {} ({})",
                loc.file, loc.line, loc.function
            )?;
        }
    }
    if gdb && unknown.iter().all(|&l| r.was_looked_up(l)) {
        writeln!(
            w,
            "  gdb was asked: see the notes below (readers of a rwlock are not recorded by glibc)."
        )?;
    } else if r
        .verdict
        .gaps
        .iter()
        .any(|g| matches!(g, ast_locks_analysis::verdict::Gap::CutShort { .. }))
    {
        writeln!(
            w,
            "  The input is not the whole dump: the holders may be among the threads it left out."
        )?;
    } else if !gdb {
        writeln!(
            w,
            "  Likely causes: the lock was taken outside the tracked lock wrappers, a thread exited \
             holding it, the per-thread lock tracking limit was reached, or the dump is not a \
             consistent snapshot (take another one)."
        )?;
    }
    Ok(())
}

/// Awaited locks held longer than the threshold.
fn stalls(w: &mut impl Write, r: &Report<'_, '_>, st: &Style) -> io::Result<()> {
    if r.stalls.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(
        w,
        "{}",
        st.bold(&format!(
            "Stalls (awaited locks held longer than {}):",
            r.stall_after
        ))
    )?;
    for x in r.stalls {
        let (name, addr) = r.analysis.lock_label(r.snapshot, x.lock);
        writeln!(
            w,
            "  {} has held {name} {addr} for {}; {} for it",
            r.thread_label(x.thread),
            x.held_for,
            waits(x.waiters)
        )?;
    }
    Ok(())
}

/// Lock-order cycles: deadlocks waiting to happen.
fn potential(w: &mut impl Write, r: &Report<'_, '_>, st: &Style) -> io::Result<()> {
    use ast_locks_analysis::lockorder::Confidence;
    if r.potential.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(
        w,
        "{}",
        st.bold("Potential deadlocks (lock order; nothing needs to be blocked now):")
    )?;
    for (i, p) in r.potential.iter().enumerate() {
        let mut ring = p.classes.clone();
        ring.extend(p.classes.first().cloned());
        let how = match p.confidence {
            Confidence::SameLocks => format!(
                "the same locks ({}) taken in both orders",
                p.addresses.join(", ")
            ),
            Confidence::NameClassOnly => {
                "by name class only: these may be different objects that share a name".to_string()
            }
        };
        writeln!(w, "  {}. {}  [{how}]", i + 1, ring.join(" → "))?;
        for (k, ev) in p.steps.iter().enumerate() {
            let (first, then) = (&p.classes[k], &p.classes[(k + 1) % p.classes.len()]);
            for e in ev.iter().take(3) {
                writeln!(
                    w,
                    "     {first} then {then}: thread {} (snapshot {}) took {first} {} at {}, then {} {then} {} at {}",
                    e.thread,
                    e.snapshot + 1,
                    e.first_addr,
                    e.first_at.as_deref().unwrap_or("?"),
                    if e.waiting { "waits for" } else { "took" },
                    e.then_addr,
                    e.then_at.as_deref().unwrap_or("?"),
                )?;
            }
            let total = p.counts.get(k).copied().unwrap_or(ev.len());
            if total > 3 {
                writeln!(w, "     … and {} more times", total - 3)?;
            }
        }
    }
    next(w, st, &r.potential_steps())
}

/// Trylocks that failed, and the retry loops that never get through.
fn trylocks(w: &mut impl Write, r: &Report<'_, '_>, st: &Style) -> io::Result<()> {
    if r.trylocks.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(w, "{}", st.bold("Failed trylocks:"))?;
    for x in r.trylocks {
        let e = &r.snapshot.threads[x.thread].entries[x.entry];
        let attempts = x
            .attempts
            .map(|n| format!(", {n} attempts"))
            .unwrap_or_default();
        writeln!(
            w,
            "  {} failed to get {} {} at {}{attempts}{}",
            r.thread_label(x.thread),
            e.name,
            e.addr,
            taken_at(e),
            if x.suspect {
                ": a retry loop that does not get through (livelock or back-off?)"
            } else {
                ""
            }
        )?;
    }
    Ok(())
}

/// Threads busy in a trylock loop: not blocked, and livelock suspects.
fn spinning(w: &mut impl Write, r: &Report<'_, '_>, st: &Style) -> io::Result<()> {
    let spinners = r.spinning();
    if spinners.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(
        w,
        "{}",
        st.bold("Spinning (busy, not blocked: livelock suspects):")
    )?;
    for t in spinners {
        let doing = r.activity(t).unwrap_or_default();
        writeln!(w, "  {} {doing}", r.thread_label(t))?;
    }
    Ok(())
}

/// In an excerpt of backtraces, what its other threads are doing: a bug marshal
/// reads a paste thread by thread.
fn excerpt_threads(w: &mut impl Write, r: &Report<'_, '_>, st: &Style) -> io::Result<()> {
    const AT_MOST: usize = 20;
    let s = r.snapshot;
    if r.format != ast_locks_model::InputFormat::Gdb || s.all_threads || s.threads.len() > AT_MOST {
        return Ok(());
    }
    let spinning = r.spinning();
    let others: Vec<usize> = (0..s.threads.len())
        .filter(|&t| r.analysis.waits[t].is_none() && !spinning.contains(&t))
        .collect();
    if others.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(w, "{}", st.bold("The paste's other threads:"))?;
    for t in others {
        let doing = if s.threads[t].stack.is_empty() {
            "is named, but the paste shows none of its frames".to_string()
        } else {
            r.activity(t).unwrap_or_default()
        };
        writeln!(w, "  {} {doing}", r.thread_label(t))?;
    }
    Ok(())
}

/// What joining the inputs found worth saying.
fn notes(w: &mut impl Write, r: &Report<'_, '_>, st: &Style) -> io::Result<()> {
    if r.notes.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(w, "{}", st.bold("Notes:"))?;
    for n in r.notes {
        writeln!(w, "  {n}")?;
    }
    Ok(())
}

/// Oddities that are not a deadlock by themselves.
fn anomalies(w: &mut impl Write, r: &Report<'_, '_>, st: &Style) -> io::Result<()> {
    if r.analysis.anomalies.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(w, "{}", st.bold("Anomalies:"))?;
    for x in &r.analysis.anomalies {
        writeln!(w, "  {}: {}", r.thread_label(x.thread), x.message)?;
    }
    Ok(())
}

/// What to do next, when the input cannot decide.
fn next_steps(w: &mut impl Write, r: &Report<'_, '_>, st: &Style) -> io::Result<()> {
    let steps = r.undetermined_steps();
    if steps.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(w, "{}", st.bold("To decide:"))?;
    for step in steps {
        writeln!(w, "  {}", step.say)?;
        for c in &step.commands {
            command(w, c)?;
        }
    }
    Ok(())
}

/// What the parser could not read.
fn warnings(
    w: &mut impl Write,
    r: &Report<'_, '_>,
    st: &Style,
    opts: &TextOptions,
) -> io::Result<()> {
    if r.warnings.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(
        w,
        "{}",
        st.bold(&format!("Input warnings ({}):", r.warnings.len()))
    )?;
    let shown = if opts.verbose {
        r.warnings.len()
    } else {
        SHORT_LIST
    };
    for x in r.warnings.iter().take(shown) {
        writeln!(w, "  line {}: {}", x.line, x.message)?;
    }
    if r.warnings.len() > shown {
        writeln!(
            w,
            "  … {} more (--verbose lists them all)",
            r.warnings.len() - shown
        )?;
    }
    Ok(())
}

/// A thread deadlocked with itself: it waits for a lock it already holds.
fn self_deadlock(w: &mut impl Write, r: &Report<'_, '_>, st: &Style, t: usize) -> io::Result<()> {
    let Some((li, ei)) = r.analysis.waits[t] else {
        return thread_block(w, r, st, t);
    };
    let e = &r.snapshot.threads[t].entries[ei];
    writeln!(
        w,
        "  {} {} {} {} that it already holds",
        st.bold(&r.thread_label(t)),
        st.red("waits for"),
        kind_word(e),
        r.lock_text(li)
    )?;
    let how = if e.kind == LockKind::Mutex {
        "a non-recursive mutex locked twice"
    } else {
        "a rwlock taken again by its holder"
    };
    writeln!(w, "    at {}: {how}", taken_at(e))
}

/// A deadlocked thread: what it holds and what it waits for, and who holds that.
fn thread_block(w: &mut impl Write, r: &Report<'_, '_>, st: &Style, t: usize) -> io::Result<()> {
    let s = r.snapshot;
    let a = r.analysis;
    writeln!(w, "  {}", st.bold(&r.thread_label(t)))?;
    for e in s.threads[t].holding() {
        let held_for = e
            .timing
            .as_ref()
            .map(|t| format!(", held for {}", t.held_for().text))
            .unwrap_or_default();
        writeln!(
            w,
            "    holds     {} {} ({}{}{held_for})",
            e.name,
            e.addr,
            kind_word(e),
            if e.location.file.is_empty() {
                ", owner per gdb".to_string()
            } else {
                format!(", taken at {}", taken_at(e))
            }
        )?;
    }
    if let Some((li, ei)) = a.waits[t] {
        let e = &s.threads[t].entries[ei];
        let way = r.in_the_way_text(t, |b| r.thread_label(b));
        writeln!(
            w,
            "    {} {} ({}, at {}){}",
            st.red("waits for"),
            r.lock_text(li),
            kind_word(e),
            taken_at(e),
            if way.is_empty() {
                String::new()
            } else {
                format!(", {way}")
            }
        )?;
    }
    Ok(())
}

fn root_block(
    w: &mut impl Write,
    r: &Report<'_, '_>,
    st: &Style,
    g: &RankedRoot,
    opts: &TextOptions,
) -> io::Result<()> {
    let s = r.snapshot;
    let a = r.analysis;
    let n = plural(g.threads.len(), "thread", "threads");
    match g.root {
        Root::Deadlock(d) => {
            writeln!(w, "  {n} behind {}", st.red(&format!("deadlock {}", d + 1)))?;
        }
        Root::Holder(h) => {
            writeln!(
                w,
                "  {n} behind {} {}",
                st.yellow("stalled holder"),
                st.bold(&r.thread_label(h))
            )?;
            let awaited: Vec<String> = s.threads[h]
                .entries
                .iter()
                .zip(a.entry_locks(h))
                .filter(|(e, li)| e.is_holding() && !a.locks.get(**li).waiters.is_empty())
                .map(|(e, _)| {
                    if e.location.file.is_empty() {
                        format!("{} {} (owner per gdb)", e.name, e.addr)
                    } else {
                        format!("{} {} (taken at {})", e.name, e.addr, taken_at(e))
                    }
                })
                .collect();
            let doing = r
                .activity(h)
                .unwrap_or_else(|| "waits for no tracked lock".to_string());
            writeln!(w, "    it holds {} and {doing}", awaited.join(", "))?;
        }
        Root::UnknownHolder(li) => {
            let (_, addr) = a.lock_label(s, li);
            if addr.is_empty() {
                writeln!(
                    w,
                    "  {n} behind {}, whose holder the paste cannot show",
                    st.yellow(&r.lock_text(li))
                )?;
            } else {
                let who = if r.format != ast_locks_model::InputFormat::Gdb {
                    "an unknown holder"
                } else if r.was_looked_up(li) {
                    "a holder gdb could not name"
                } else {
                    "an owner not yet looked up"
                };
                writeln!(w, "  {n} behind {} of {}", st.yellow(who), r.lock_text(li))?;
            }
        }
    }
    // Threads with the same wait fold into one line unless --verbose asks for each.
    let groups = r.groups(&g.threads, opts.verbose);
    let shown = if opts.verbose {
        groups.len()
    } else {
        SHORT_LIST
    };
    for fold in groups.iter().take(shown) {
        let t = fold.threads[0];
        // `blocked` is sorted by thread index.
        let Ok(at) = a.blocked.binary_search_by_key(&t, |b| b.thread) else {
            continue;
        };
        let b = &a.blocked[at];
        let lock = r.lock_text(b.lock);
        let site = r
            .wait_site(t)
            .map(|w| format!(" at {w}"))
            .unwrap_or_default();
        // The heading names a stalled holder already; other roots are not a
        // thread, so the last thread of the chain is worth naming.
        let named_in_heading = matches!(b.root, Root::Holder(_));
        let chain = if b.via.len() > 2 || (b.via.len() == 2 && !named_in_heading) {
            let ids: Vec<String> = b.via[1..].iter().map(|&x| r.thread_label(x)).collect();
            format!(", via {}", ids.join(" → "))
        } else {
            String::new()
        };
        if fold.threads.len() == 1 {
            writeln!(w, "    {} waits for {lock}{site}{chain}", r.thread_label(t))?;
        } else {
            const IDS: usize = 4;
            let ids: Vec<String> = fold
                .threads
                .iter()
                .take(IDS)
                .map(|&x| r.thread_label(x))
                .collect();
            let more = if fold.threads.len() > IDS {
                ", …"
            } else {
                ""
            };
            writeln!(
                w,
                "    {} threads wait for {lock}{site}{chain}: {}{more} (--verbose lists each)",
                fold.threads.len(),
                ids.join(", ")
            )?;
        }
    }
    if groups.len() > shown {
        let rest: usize = groups[shown..].iter().map(|f| f.threads.len()).sum();
        writeln!(w, "    … {rest} more (--verbose lists them all)")?;
    }
    if let Root::Holder(h) = g.root {
        next(w, st, &r.holder_steps(h))?;
    }
    Ok(())
}

/// What the snapshot series says beyond its headline: cycles, convoys, persistent waits.
fn series_block(
    w: &mut impl Write,
    _r: &Report<'_, '_>,
    series: &ast_locks_analysis::series::Series,
) -> io::Result<()> {
    let n = series.snapshots;
    for c in &series.cycles {
        let k = c.seen.iter().filter(|x| **x).count();
        let keys: Vec<String> = c.threads.iter().map(|t| t.to_string()).collect();
        writeln!(
            w,
            "  deadlock of {} in {k} of {n} snapshots{}",
            keys.join(", "),
            if k == n {
                " (persistent)"
            } else {
                " (transient)"
            }
        )?;
    }
    for c in &series.convoys {
        let sizes: Vec<String> = c.sizes.iter().map(|x| x.to_string()).collect();
        let holder = if c.same_holder() {
            c.holders[0]
                .as_ref()
                .map(|h| format!(", same holder {h} throughout"))
                .unwrap_or_default()
        } else {
            String::new()
        };
        writeln!(
            w,
            "  waiters on {} {}: {}{}{holder}",
            c.name,
            c.lock,
            sizes.join(" → "),
            if c.growing() { " (growing)" } else { "" }
        )?;
    }
    let persistent = series
        .waits
        .iter()
        .filter(|x| x.seen.iter().all(|s| *s))
        .count();
    writeln!(
        w,
        "  {persistent} of {} distinct waits persist in {} snapshots",
        series.waits.len(),
        ast_locks_analysis::series::all_of(series.snapshots)
    )?;
    Ok(())
}
