//! `ast-locks diff OLD NEW`: what appeared, disappeared and persisted between two
//! snapshots, as text or JSON.

use ast_locks_analysis::series::{Diff, SeriesCycle, SeriesWait, ThreadKey};
use serde::Serialize;
use std::io::{self, Write};

fn keys(ks: &[ThreadKey]) -> String {
    ks.iter()
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn wait_line(w: &SeriesWait) -> String {
    let by = if w.holders.is_empty() {
        "no listed holder".to_string()
    } else {
        format!("held by {}", keys(&w.holders))
    };
    format!("{} waits for {} {} ({by})", w.thread, w.name, w.lock)
}

fn cycle_line(c: &SeriesCycle) -> String {
    format!(
        "deadlock of {} through {}",
        keys(&c.threads),
        c.locks.join(", ")
    )
}

/// One side of a diff: the input's name and which of its snapshots is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Side<'a> {
    /// The input's name.
    pub name: &'a str,
    /// The compared snapshot, 1-based.
    pub snapshot: usize,
    /// How many snapshots the input holds.
    pub snapshots: usize,
}

impl std::fmt::Display for Side<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)?;
        if self.snapshots > 1 {
            write!(f, " (snapshot {} of {})", self.snapshot, self.snapshots)?;
        }
        Ok(())
    }
}

/// Write the difference for people.
pub fn write_text(w: &mut impl Write, d: &Diff, old: Side<'_>, new: Side<'_>) -> io::Result<()> {
    writeln!(w, "ast-locks diff: {old} -> {new}")?;
    if d.unchanged() {
        writeln!(
            w,
            "nothing changed: {} wait{} and {} deadlock{} persist",
            d.persisted.len(),
            if d.persisted.len() == 1 { "" } else { "s" },
            d.kept_deadlocks.len(),
            if d.kept_deadlocks.len() == 1 { "" } else { "s" }
        )?;
        return Ok(());
    }
    let sections: [(&str, &str, Vec<String>); 6] = [
        (
            "new deadlocks",
            "+",
            d.new_deadlocks.iter().map(cycle_line).collect(),
        ),
        (
            "deadlocks gone",
            "-",
            d.gone_deadlocks.iter().map(cycle_line).collect(),
        ),
        (
            "deadlocks persisting",
            "=",
            d.kept_deadlocks.iter().map(cycle_line).collect(),
        ),
        ("appeared", "+", d.appeared.iter().map(wait_line).collect()),
        (
            "disappeared",
            "-",
            d.disappeared.iter().map(wait_line).collect(),
        ),
        (
            "persisted",
            "=",
            d.persisted.iter().map(wait_line).collect(),
        ),
    ];
    for (title, mark, lines) in sections {
        if lines.is_empty() {
            continue;
        }
        writeln!(w, "{title} ({}):", lines.len())?;
        for l in lines {
            writeln!(w, "  {mark} {l}")?;
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct WaitJ<'d> {
    thread: &'d str,
    lwp: Option<u64>,
    lock: &'d str,
    name: &'d str,
    holders: Vec<&'d str>,
}

#[derive(Serialize)]
struct CycleJ<'d> {
    threads: Vec<&'d str>,
    locks: &'d [String],
}

#[derive(Serialize)]
struct DiffJ<'d> {
    old: &'d str,
    new: &'d str,
    /// The compared snapshot of each side, 1-based.
    old_snapshot: usize,
    new_snapshot: usize,
    unchanged: bool,
    appeared: Vec<WaitJ<'d>>,
    disappeared: Vec<WaitJ<'d>>,
    persisted: Vec<WaitJ<'d>>,
    new_deadlocks: Vec<CycleJ<'d>>,
    gone_deadlocks: Vec<CycleJ<'d>>,
    kept_deadlocks: Vec<CycleJ<'d>>,
}

fn wait(x: &SeriesWait) -> WaitJ<'_> {
    WaitJ {
        thread: &x.thread.id,
        lwp: x.thread.lwp,
        lock: &x.lock,
        name: &x.name,
        holders: x.holders.iter().map(|h| h.id.as_str()).collect(),
    }
}

fn cycle(c: &SeriesCycle) -> CycleJ<'_> {
    CycleJ {
        threads: c.threads.iter().map(|t| t.id.as_str()).collect(),
        locks: &c.locks,
    }
}

/// Write the difference as JSON.
pub fn write_json(w: &mut impl Write, d: &Diff, old: Side<'_>, new: Side<'_>) -> io::Result<()> {
    let doc = DiffJ {
        old: old.name,
        new: new.name,
        old_snapshot: old.snapshot,
        new_snapshot: new.snapshot,
        unchanged: d.unchanged(),
        appeared: d.appeared.iter().map(wait).collect(),
        disappeared: d.disappeared.iter().map(wait).collect(),
        persisted: d.persisted.iter().map(wait).collect(),
        new_deadlocks: d.new_deadlocks.iter().map(cycle).collect(),
        gone_deadlocks: d.gone_deadlocks.iter().map(cycle).collect(),
        kept_deadlocks: d.kept_deadlocks.iter().map(cycle).collect(),
    };
    serde_json::to_writer_pretty(&mut *w, &doc).map_err(|e| match e.io_error_kind() {
        Some(kind) => io::Error::new(kind, e),
        None => io::Error::other(e),
    })?;
    writeln!(w)
}
