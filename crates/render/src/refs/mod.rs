//! Reports of refs-log diagnoses ([`ast_locks_analysis::refs::RefsDiagnosis`]),
//! in the house style of the lock reports: the verdict first, then the leaks by
//! site with the references never released, invalid references with the
//! release that freed the object, and what cannot be judged.
//!
//! One module per format: [`text`], [`markdown`], [`html`], [`json`],
//! [`refcounter`] (refcounter.py's own layout) and [`map`] (the leak map as
//! DOT, SVG or mermaid).

pub mod html;
pub mod json;
pub mod map;
pub mod markdown;
pub mod refcounter;
pub mod text;

use ast_locks_analysis::refs::{Leak, RefsDiagnosis};
use ast_locks_model::refs::{addr_text, RefEvent};

/// What a refs report shows, beside the diagnosis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefsReport<'d> {
    /// The log's name as given.
    pub name: &'d str,
    pub diagnosis: &'d RefsDiagnosis,
    /// Every object and its history, not the first few.
    pub verbose: bool,
}

/// Without `verbose`, show at most this many objects or sites per list.
pub const SHORT_LIST: usize = 8;

/// `res_refs_demo.c:356 r2_leak_site_a `tag`` (or `(untagged)`).
pub fn site_and_tag(e: &RefEvent) -> String {
    format!("{} {}", e.site(), tag_text(&e.tag))
}

/// A tag in backquotes, or `(untagged)`.
pub fn tag_text(tag: &str) -> String {
    if tag.is_empty() {
        "(untagged)".to_string()
    } else {
        format!("`{tag}`")
    }
}

/// `thread 28766, line 7581` (legacy logs have no thread).
pub fn where_text(e: &RefEvent) -> String {
    match e.thread {
        Some(t) => format!("thread {t}, line {}", e.line_no),
        None => format!("line {}", e.line_no),
    }
}

/// `40 bytes`, with the ao2 header when known.
pub fn size_text(leak: &Leak) -> Option<String> {
    let size = leak.size?;
    Some(match leak.overhead {
        Some(h) => format!("{size} bytes + {h} header"),
        None => format!("{size} bytes"),
    })
}

pub use ast_locks_analysis::refs::{plural, thousands as count};

/// What the log is, in one line: `refs log (csv, Asterisk 16.1 or later),
/// 12,265 lines; 1,677 objects, 1,674 released`.
pub fn input_line(r: &RefsReport<'_>) -> String {
    let d = r.diagnosis;
    let v = &d.input.variant;
    format!(
        "{}: refs log ({}, {}), {}; {}, {} released",
        r.name,
        v.format().label(),
        v.generation(),
        plural(d.input.lines, "line"),
        plural(d.counts.lifetimes, "object"),
        count(d.counts.finished),
    )
}

/// How Asterisk was stopped, as a sentence for the first screen.
pub fn stop_sentence(d: &RefsDiagnosis) -> String {
    let g = &d.graceful;
    let example = g
        .example
        .as_ref()
        .map(|e| format!(", e.g. {}", e.site()))
        .unwrap_or_default();
    match g.known {
        Some(true) => format!(
            "Stopped with `core stop gracefully`: all {} objects Asterisk's startup made were released.",
            count(g.startup_objects)
        ),
        Some(false) => format!(
            "Asterisk was not stopped with `core stop gracefully` (or the log was copied while it ran): \
             {} of the {} objects alive at the end are objects only a graceful stop releases \
             ({} of the {} objects its startup made are still alive{example}). They are listed apart \
             from the leaks; stop Asterisk with `core stop gracefully` to be sure of them.",
            count(d.shutdown_leaks.len() as u64),
            count(d.counts.alive_at_end),
            count(g.startup_alive),
            count(g.startup_objects),
        ),
        None => "How Asterisk was stopped is not known: the log holds none of the objects its startup \
             makes (it began after startup, or is not from Asterisk 14 or later)."
            .to_string(),
    }
}

/// Notes about what the log lacks, for every format.
pub fn notes(d: &RefsDiagnosis) -> Vec<String> {
    let mut notes = Vec::new();
    if d.input.variant.format() == ast_locks_model::refs::RefsFormat::Legacy {
        notes.push(
            "Legacy /tmp/refs logs record only the calls of source files built with REF_DEBUG: a \
             reference released in another file is missing, and its object looks leaked. The file is \
             appended to by every run of Asterisk."
                .to_string(),
        );
    }
    if let Some(e) = &d.input.read_error {
        notes.push(format!(
            "The input broke off after {} bytes ({e}): what follows is about the part read.",
            count(d.input.bytes)
        ));
    }
    if d.counts.unbalanced > 0 {
        let n = d.counts.unbalanced;
        notes.push(format!(
            "{} destroyed without {} changes summing to zero: some of {} lines are not in the log.",
            if n == 1 {
                "1 object was".to_string()
            } else {
                format!("{} objects were", count(n))
            },
            if n == 1 { "its" } else { "their" },
            if n == 1 { "its" } else { "their" },
        ));
    }
    if d.counts.superseded > 0 {
        notes.push(format!(
            "{} whose address was reused never got a destructor line: their releases are not in the log.",
            plural(d.counts.superseded, "object")
        ));
    }
    if d.counts.invalid > d.invalid.len() as u64 {
        notes.push(format!(
            "{} invalid references in all; the first {} are shown.",
            count(d.counts.invalid),
            count(d.invalid.len() as u64)
        ));
    }
    notes
}

/// The address as `%p` prints it.
pub fn addr(a: u64) -> String {
    addr_text(a)
}
