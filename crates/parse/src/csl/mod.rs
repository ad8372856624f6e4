//! `core show locks` (Asterisk built with DEBUG_THREADS), every generation.
//!
//! The dump is read line by line: each line is cleaned of paste decoration
//! ([`crate::clean`]), classified ([`line::classify`]), and fed to a small state
//! machine that groups lines into snapshots, threads and entries. The generation
//! is decided from the lines themselves (LWP, tails, timing lines), never from
//! the banner alone, so a dump with its banner cut off still reads right.

pub mod frame;
pub mod line;
pub mod v12;
pub mod v1_6;
pub mod v21;

use crate::clean::{clean_line, Cleaned};
use crate::ParseError;
use ast_locks_model::{Dump, Generation, LockEntry, Snapshot, Thread, Warning};
use line::{classify, DumpLine, Tail};
use std::borrow::Cow;

/// What the lines of one snapshot say about its generation.
#[derive(Debug, Default, Clone, Copy)]
struct Evidence {
    v21: bool,
    v12: bool,
    v1_6: bool,
}

impl Evidence {
    fn generation(self) -> Option<Generation> {
        if self.v21 {
            Some(Generation::V21Plus)
        } else if self.v12 {
            Some(Generation::V12To20)
        } else if self.v1_6 {
            Some(Generation::V1_6To11)
        } else {
            None
        }
    }
}

/// A run of consecutive lines inside a thread block that were not understood,
/// reported as one warning.
struct Unrecognised {
    first: usize,
    last: usize,
    count: usize,
    text: String,
    thread: String,
}

struct Builder<'a> {
    dump: Dump<'a>,
    snapshot: Option<(Snapshot<'a>, Evidence)>,
    thread: Option<Thread<'a>>,
    pending_version: Option<&'a str>,
    run: Option<Unrecognised>,
    first_text: Option<(usize, usize, &'a str)>,
    saw_banner_or_thread: bool,
}

use crate::excerpt;

impl<'a> Builder<'a> {
    fn warn(&mut self, line: usize, message: String) {
        self.dump.warnings.push(Warning { line, message });
    }

    fn flush_run(&mut self) {
        if let Some(r) = self.run.take() {
            let message = if r.count == 1 {
                format!("not understood inside thread {}: `{}`", r.thread, r.text)
            } else {
                format!(
                    "{} lines (to line {}) not understood inside thread {}; first: `{}`",
                    r.count, r.last, r.thread, r.text
                )
            };
            self.warn(r.first, message);
        }
    }

    fn unrecognised(&mut self, lineno: usize, text: &str) {
        if let Some(r) = &mut self.run {
            if r.last + 1 == lineno {
                r.last = lineno;
                r.count += 1;
                return;
            }
        }
        self.flush_run();
        let thread = self
            .thread
            .as_ref()
            .map(|t| t.id.to_string())
            .unwrap_or_default();
        self.run = Some(Unrecognised {
            first: lineno,
            last: lineno,
            count: 1,
            text: excerpt(text),
            thread,
        });
    }

    fn evidence(&mut self) -> &mut Evidence {
        &mut self.snapshot.get_or_insert_with(Default::default).1
    }

    fn finish_thread(&mut self, ended_by: Option<&str>) {
        if let Some(t) = self.thread.take() {
            if let Some(what) = ended_by {
                self.warn(
                    t.line,
                    format!(
                        "thread {} has no `=== ----` end line before {what}; its block was read up to there",
                        t.id
                    ),
                );
            }
            self.snapshot
                .get_or_insert_with(Default::default)
                .0
                .threads
                .push(t);
        }
    }

    fn finish_snapshot(&mut self) {
        if let Some((mut s, ev)) = self.snapshot.take() {
            // Stray lines before any banner or thread (a lone timing or legend line)
            // leave an empty, banner-less snapshot behind: that is no snapshot.
            if s.banner_line.is_none() && s.threads.is_empty() {
                return;
            }
            s.generation = ev.generation();
            self.dump.snapshots.push(s);
        }
    }

    fn last_entry(&mut self) -> Option<&mut LockEntry<'a>> {
        self.thread.as_mut().and_then(|t| t.entries.last_mut())
    }

    fn line(&mut self, lineno: usize, raw: &'a str) {
        let (start, end) = match clean_line(raw) {
            Cleaned::Decoration => return,
            Cleaned::Text { start, end } => (start, end),
        };
        let s = &raw[start..end];
        if s.is_empty() {
            return;
        }
        if self.first_text.is_none() {
            self.first_text = Some((lineno, start + 1, s));
        }
        let parsed = classify(s);
        let in_thread = self.thread.is_some();
        if !matches!(parsed, DumpLine::Plain(_) | DumpLine::Other(_)) || !in_thread {
            self.flush_run();
        }
        match parsed {
            DumpLine::Border | DumpLine::Spacer => {}
            DumpLine::Legend(v21) => {
                if v21 {
                    self.evidence().v21 = true;
                }
            }
            DumpLine::Banner(time) => {
                if in_thread {
                    // The previous dump stopped mid-thread before this one began.
                    self.finish_thread(Some("the next banner"));
                    if let Some((s, _)) = &mut self.snapshot {
                        s.truncated = true;
                    }
                }
                self.finish_snapshot();
                self.saw_banner_or_thread = true;
                let version = self.pending_version.take();
                let ev = Evidence {
                    v21: time.is_some(),
                    v12: version.is_some(),
                    v1_6: true,
                };
                self.snapshot = Some((
                    Snapshot {
                        banner_line: Some(lineno),
                        version: version.map(Cow::Borrowed),
                        time: time.map(Cow::Borrowed),
                        ..Snapshot::default()
                    },
                    ev,
                ));
            }
            DumpLine::ThreadHeader(h) => {
                self.finish_thread(Some("the next thread header"));
                self.saw_banner_or_thread = true;
                self.pending_version = None;
                let ev = self.evidence();
                ev.v1_6 = true;
                if h.lwp.is_some() {
                    ev.v12 = true;
                }
                if !h.closed {
                    self.warn(
                        lineno,
                        format!("thread header cut short (no closing `)`): `{}`", excerpt(s)),
                    );
                }
                let mut t = Thread::new(h.id);
                t.lwp = h.lwp;
                t.name = Cow::Borrowed(h.name);
                t.start = h.start;
                t.line = lineno;
                self.thread = Some(t);
            }
            DumpLine::Entry(mut e, tail) => {
                e.line = lineno;
                if !in_thread {
                    self.warn(
                        lineno,
                        format!(
                            "lock line outside a thread block (no `=== Thread ID:` line before it); ignored: `{}`",
                            excerpt(s)
                        ),
                    );
                    return;
                }
                if e.state == ast_locks_model::LockState::TriedAndFailed {
                    self.evidence().v12 = true;
                }
                let ev = self.evidence();
                match tail {
                    Tail::Bare => ev.v21 = true,
                    Tail::Suspended => ev.v12 = true,
                    Tail::Count => ev.v1_6 = true,
                }
                if let Some(t) = self.thread.as_mut() {
                    t.entries.push(e);
                }
            }
            DumpLine::Timing(tl) => {
                self.evidence().v21 = true;
                match self.last_entry() {
                    Some(e) => {
                        e.timing = Some(tl.timing);
                        e.times_locked = Some(tl.times_locked);
                        e.attempts = Some(tl.attempts);
                        e.suspended |= tl.suspended;
                    }
                    None => self.warn(
                        lineno,
                        "timing line with no lock line before it; ignored".to_string(),
                    ),
                }
            }
            DumpLine::LockedHere(loc) => match self.last_entry() {
                Some(e) => e.locked_here.push(loc),
                None => self.warn(
                    lineno,
                    format!(
                        "`Locked Here` line with no lock line before it; ignored: `{}`",
                        excerpt(s)
                    ),
                ),
            },
            DumpLine::ThreadEnd => self.finish_thread(None),
            DumpLine::Other(body) => {
                if in_thread {
                    self.unrecognised(lineno, s);
                } else if let Some(v) = v12::version(body) {
                    self.pending_version = Some(v);
                }
            }
            DumpLine::Malformed(what, e) => self.warn(
                lineno,
                format!(
                    "column {}: {what} not understood, expected {}; line ignored: `{}`",
                    start + e.column + 1,
                    e.expected,
                    excerpt(s)
                ),
            ),
            DumpLine::Plain(text) => {
                if !in_thread {
                    return;
                }
                // The frame's parts are read on demand (frame::parts): here only its shape.
                let is_frame = frame::looks_like_frame(text);
                match (self.last_entry(), is_frame) {
                    (Some(e), true) => e.backtrace.push(ast_locks_model::Frame {
                        raw: Cow::Borrowed(text),
                    }),
                    _ => self.unrecognised(lineno, text),
                }
            }
        }
    }

    fn finish(mut self, input: &str) -> Result<Dump<'a>, ParseError> {
        self.flush_run();
        if let Some(t) = &self.thread {
            let (id, line) = (t.id.to_string(), t.line);
            self.warn(
                line,
                format!("the input ends inside the block of thread {id}: the dump is truncated; what was read is used"),
            );
            if let Some((s, _)) = &mut self.snapshot {
                s.truncated = true;
            } else {
                self.snapshot = Some((
                    Snapshot {
                        truncated: true,
                        ..Snapshot::default()
                    },
                    Evidence::default(),
                ));
            }
            self.finish_thread(None);
        }
        self.finish_snapshot();
        if !self.saw_banner_or_thread {
            return Err(match self.first_text {
                None => ParseError::Empty,
                Some(_) if input.contains('\0') => ParseError::Binary,
                Some((line, column, found)) => ParseError::NoDump {
                    line,
                    column,
                    found: excerpt(found),
                },
            });
        }
        self.dump.warnings.sort_by_key(|w| w.line);
        Ok(self.dump)
    }
}

/// Parse `core show locks` text.
pub fn parse_str(input: &str) -> Result<Dump<'_>, ParseError> {
    let mut b = Builder {
        dump: Dump::default(),
        snapshot: None,
        thread: None,
        pending_version: None,
        run: None,
        first_text: None,
        saw_banner_or_thread: false,
    };
    for (i, raw) in input.split('\n').enumerate() {
        b.line(i + 1, raw);
    }
    b.finish(input)
}
