//! refcounter.py's own layout (`contrib/scripts/refcounter.py -n`), for people
//! and scripts used to it, with ast-locks' content:
//!
//! - sections in refcounter's order, `======== <Prefix> Objects ========` and two
//!   empty lines, then `==== <Prefix> Object <addr> history ====` per object,
//!   one `[tid] file:line func: delta tag - [state]` line per entry and two empty
//!   lines after each object;
//! - *Invalid Referenced*: for a use after free, the freed object's constructor,
//!   the release that freed it, then the late reference (refcounter shows only
//!   the last); for a count below zero the object's lines (no invented
//!   `**implied destructor**` line);
//! - *Leaked*: one lifetime per object (refcounter merges lifetimes that share an
//!   address);
//! - *Skewed*: objects alive at the end whose start is not in the log (those
//!   whose start is missing but that were released are not listed);
//! - objects alive only because no cleanups ran get a section of their own,
//!   *Alive At Shutdown*, after the leaks, so that scripts counting `Leaked
//!   Object` count the leaks.

use super::RefsReport;
use ast_locks_model::refs::{addr_text, LineState, RefEvent};
use std::io::{self, Write};

/// Write the report.
pub fn write(w: &mut impl Write, r: &RefsReport<'_>) -> io::Result<()> {
    let d = r.diagnosis;
    let invalid: Vec<(u64, Vec<&RefEvent>)> = d
        .invalid
        .iter()
        .map(|i| {
            let lines: Vec<&RefEvent> = if i.history.is_empty() {
                i.allocated
                    .iter()
                    .chain(i.destroyed_at.iter())
                    .chain(std::iter::once(&i.at))
                    .collect()
            } else {
                i.history.iter().collect()
            };
            (i.addr, lines)
        })
        .collect();
    section(w, "Invalid Referenced", &invalid)?;
    let leaked: Vec<(u64, Vec<&RefEvent>)> = d
        .leaks
        .iter()
        .map(|l| (l.addr, l.history.iter().collect()))
        .collect();
    section(w, "Leaked", &leaked)?;
    let skewed: Vec<(u64, Vec<&RefEvent>)> = d
        .skewed
        .iter()
        .map(|s| (s.addr, s.history.iter().collect()))
        .collect();
    section(w, "Skewed", &skewed)?;
    let shutdown: Vec<(u64, Vec<&RefEvent>)> = d
        .shutdown_leaks
        .iter()
        .map(|l| (l.addr, l.history.iter().collect()))
        .collect();
    section(w, "Alive At Shutdown", &shutdown)
}

fn section(w: &mut impl Write, prefix: &str, objects: &[(u64, Vec<&RefEvent>)]) -> io::Result<()> {
    if objects.is_empty() {
        return Ok(());
    }
    writeln!(w, "======== {prefix} Objects ========\n\n")?;
    for (addr, lines) in objects {
        writeln!(w, "==== {prefix} Object {} history ====", addr_text(*addr))?;
        for e in lines {
            writeln!(w, "{}", entry(e))?;
        }
        writeln!(w, "\n")?;
    }
    Ok(())
}

/// `[tid] file:line func: delta tag - [state]`, as refcounter.py prints it.
pub fn entry(e: &RefEvent) -> String {
    let state = match e.state {
        LineState::Constructor { .. } => "**constructor**".to_string(),
        LineState::Destructor { .. } => "**destructor**".to_string(),
        LineState::Invalid => "**invalid**".to_string(),
        LineState::Count(c) => c.to_string(),
        LineState::CallDestructor => "**call destructor**".to_string(),
        LineState::Unknown => String::new(),
    };
    // Destructor and invalid lines write a positive change without `+`.
    let delta = match e.state {
        LineState::Destructor { .. } | LineState::Invalid => e.delta.to_string(),
        _ => e.delta_text(),
    };
    let thread = e.thread.map(|t| t.to_string()).unwrap_or_default();
    format!(
        "[{thread}] {}:{} {}: {delta} {} - [{state}]",
        e.file, e.line, e.function, e.tag
    )
}
