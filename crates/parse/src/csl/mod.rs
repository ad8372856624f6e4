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

use crate::clean::{clean_line, untouched_frame, Cleaned};
use crate::ParseError;
use ast_locks_model::{Backtrace, Dump, Generation, LockEntry, Snapshot, Thread, Warning};
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
    /// The text being read (the whole input, or one chunk of a parallel parse):
    /// line offsets are into it.
    text: &'a str,
    /// `text[start..end]` is the last entry's backtrace while it is one unbroken
    /// span of frame lines as printed.
    span: Option<(usize, usize)>,
    dump: Dump<'a>,
    /// Finished snapshots with the evidence of their generation (decided at the end,
    /// after the chunks of a parallel parse are merged).
    done: Vec<(Snapshot<'a>, Evidence)>,
    snapshot: Option<(Snapshot<'a>, Evidence)>,
    thread: Option<Thread<'a>>,
    pending_version: Option<&'a str>,
    run: Option<Unrecognised>,
    first_text: Option<(usize, usize, &'a str)>,
    saw_banner_or_thread: bool,
    /// Past the lines around the banner (a spacer or legend line was read).
    past_top: bool,
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
        if let Some(mut t) = self.thread.take() {
            // A big dump has one of these per thread and per entry: vectors that grew
            // by doubling keep up to twice what they hold, so give the rest back.
            for e in &mut t.entries {
                e.backtrace.shrink_to_fit();
            }
            self.span = None;
            t.entries.shrink_to_fit();
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

    /// A line of `=` only: the dump's closing line when it comes after the top
    /// frame (the lines around the banner) or after a thread block.
    fn border(&mut self, lineno: usize) {
        let past_top = self.past_top;
        if self.thread.is_some() {
            // Inside a thread block: not where a dump ends.
            return;
        }
        if let Some((s, _)) = &mut self.snapshot {
            if past_top || !s.threads.is_empty() {
                s.end_line = Some(lineno);
            }
        }
    }

    fn finish_snapshot(&mut self) {
        if let Some((s, ev)) = self.snapshot.take() {
            // Stray lines before any banner or thread (a lone timing or legend line)
            // leave an empty, banner-less snapshot behind: that is no snapshot.
            if s.banner_line.is_none() && s.threads.is_empty() {
                return;
            }
            self.done.push((s, ev));
        }
    }

    fn last_entry(&mut self) -> Option<&mut LockEntry<'a>> {
        self.thread.as_mut().and_then(|t| t.entries.last_mut())
    }

    /// Keep a frame line (`s`, cleaned from `raw`, which starts at offset `at` of
    /// the text) in the last entry's backtrace: as part of the span of the input
    /// when it continues it untouched, else as a copy.
    /// `untouched` says that cleaning removed at most the indentation and the line end.
    fn frame(&mut self, at: usize, raw: &'a str, s: &'a str, untouched: bool) -> bool {
        let Some(e) = self.thread.as_mut().and_then(|t| t.entries.last_mut()) else {
            return false;
        };
        let end = at + raw.len();
        match self.span {
            Some((start, last)) if untouched && last + 1 == at => {
                self.span = Some((start, end));
                e.backtrace = Backtrace::from_lines(&self.text[start..end]);
            }
            None if untouched && e.backtrace.is_empty() => {
                self.span = Some((at, end));
                e.backtrace = Backtrace::from_lines(raw);
            }
            _ => {
                self.span = None;
                e.backtrace.push(s);
            }
        }
        true
    }

    fn line(&mut self, lineno: usize, at: usize, raw: &'a str) {
        // Nine lines in ten of a big dump are frames continuing the current span,
        // untouched: a tab, then the frame, with no paste decoration at the end.
        if let Some((_, last)) = self.span {
            if last + 1 == at
                && untouched_frame(raw)
                && frame::looks_like_frame(&raw[1..])
                && self.frame(at, raw, &raw[1..], true)
            {
                return;
            }
        }
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
        if let Some(parts) = glued(s) {
            for part in parts {
                self.text(lineno, at, raw, start, part);
            }
            return;
        }
        self.text(lineno, at, raw, start, s);
    }

    /// One line of the dump's text (`s`, cleaned from `raw` where it starts at
    /// `start`), classified and recorded.
    fn text(&mut self, lineno: usize, at: usize, raw: &'a str, start: usize, s: &'a str) {
        let parsed = classify(s);
        let in_thread = self.thread.is_some();
        if !matches!(parsed, DumpLine::Plain(_) | DumpLine::Other(_)) || !in_thread {
            self.flush_run();
        }
        match parsed {
            DumpLine::Spacer => self.past_top = true,
            DumpLine::Border => self.border(lineno),
            DumpLine::Legend(v21) => {
                self.past_top = true;
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
                self.past_top = false;
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
                if let Some((s, _)) = &mut self.snapshot {
                    // Threads after a closing line: it was not the end.
                    s.end_line = None;
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
                    self.span = None;
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
            DumpLine::Malformed(what, e) => {
                if what == "lock line" || what == "thread header" {
                    // What it said about a thread's locks is missing.
                    self.snapshot
                        .get_or_insert_with(Default::default)
                        .0
                        .unreadable
                        .push(lineno);
                }
                self.warn(
                    lineno,
                    format!(
                        "column {}: {what} not understood, expected {}; line ignored: `{}`",
                        start + e.column + 1,
                        e.expected,
                        excerpt(s)
                    ),
                )
            }
            DumpLine::Plain(text) => {
                if !in_thread {
                    return;
                }
                // The frame's parts are read on demand (frame::parts): here only its shape.
                if !(frame::looks_like_frame(text)
                    && self.frame(at, raw, text, std::ptr::eq(text, raw.trim())))
                {
                    self.unrecognised(lineno, text);
                }
            }
        }
    }

    /// Close what is open at the end of the (chunk of) input. `last` is false for
    /// every chunk but the last of a parallel parse: the next chunk starts with a
    /// thread header, so an open thread lacks its end line rather than the input
    /// being cut.
    fn close(&mut self, last: bool) {
        self.flush_run();
        if !last {
            self.finish_thread(Some("the next thread header"));
            self.finish_snapshot();
            return;
        }
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
    }

    fn finish(mut self, input: &str) -> Result<Dump<'a>, ParseError> {
        self.close(true);
        if !self.saw_banner_or_thread {
            return Err(match self.first_text {
                None => ParseError::Empty,
                Some(_) if input.contains('\0') => ParseError::Binary,
                Some((line, column, _)) => ParseError::NoDump {
                    line,
                    column,
                    found: crate::first_lines(input),
                },
            });
        }
        Ok(into_dump(self.done, self.dump.warnings))
    }
}

fn into_dump<'a>(done: Vec<(Snapshot<'a>, Evidence)>, mut warnings: Vec<Warning>) -> Dump<'a> {
    warnings.sort_by_key(|w| w.line);
    Dump {
        snapshots: done
            .into_iter()
            .map(|(mut s, ev)| {
                s.generation = ev.generation();
                // Up to half of a vector that grew by doubling is spare: the model
                // lives as long as the report is made, so give it back.
                s.threads.shrink_to_fit();
                s
            })
            .collect(),
        warnings,
        ..Dump::default()
    }
}

impl<'a> Builder<'a> {
    fn new(text: &'a str) -> Self {
        Builder {
            text,
            span: None,
            dump: Dump::default(),
            done: Vec::new(),
            snapshot: None,
            thread: None,
            pending_version: None,
            run: None,
            first_text: None,
            saw_banner_or_thread: false,
            past_top: false,
        }
    }
}

/// The `===` lines that a terminal glued onto one line behind runs of blanks
/// (a window copied as one long line): the banner, the legend, the spacers and
/// the closing line of a dump with no thread, `=== Currently Held Locks ...   ===
///   =======`. `None` for a line that is one line.
fn glued(s: &str) -> Option<Vec<&str>> {
    // Thread headers and lock lines, nearly every line of a big dump, never are.
    if !s.starts_with("===") || s.starts_with("=== Thread ID:") || s.starts_with("=== --->") {
        return None;
    }
    memchr::memmem::find(s.as_bytes(), b"  ===")?;
    let mut parts = Vec::new();
    let mut from = 0;
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(off) = memchr::memmem::find(&bytes[i..], b"  ===") {
        let blanks = i + off;
        let next = blanks + 2;
        parts.push(s[from..blanks].trim_end());
        from = next;
        i = next;
    }
    parts.push(&s[from..]);
    Some(parts.into_iter().filter(|p| !p.is_empty()).collect())
}

/// Inputs smaller than this are parsed on one thread: the split is not worth it.
const PARALLEL_MIN_BYTES: usize = 4 << 20;

/// Parse `core show locks` text, on as many threads as the machine has when the
/// input is large (`AST_LOCKS_THREADS` sets the count, for tests and benchmarks).
///
/// When lines were not understood, the text is read a second time with the
/// lines that wrapping cut joined again ([`crate::rejoin`]), and the reading that
/// understood more is kept.
pub fn parse_str(input: &str) -> Result<Dump<'_>, ParseError> {
    let threads = std::env::var("AST_LOCKS_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n >= 1)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let first = parse_str_threads(input, threads);
    match &first {
        Ok(d) if d.warnings.is_empty() => return first,
        // Nothing a join could make readable.
        Err(ParseError::Empty | ParseError::Binary) => return first,
        _ => {}
    }
    let Some(joined) = crate::rejoin::csl(input) else {
        return first;
    };
    let Ok(mut second) = rejoined(&joined).map(Dump::into_owned) else {
        return first;
    };
    let damage = |d: &Dump<'_>| {
        let unreadable: usize = d.snapshots.iter().map(|s| s.unreadable.len()).sum();
        (unreadable, d.warnings.len())
    };
    if first.as_ref().is_ok_and(|d| damage(d) <= damage(&second)) {
        return first;
    }
    second.warnings.push(Warning {
        line: joined.first,
        message: format!(
            "the dump was wrapped (at about {} columns): {} cut line{} joined again",
            joined.width,
            joined.joins,
            if joined.joins == 1 { " was" } else { "s were" }
        ),
    });
    second.warnings.sort_by_key(|w| w.line);
    Ok(second)
}

/// Parse on at most `threads` threads. The result is the same whatever the count:
/// the input is cut only at `=== Thread ID:` lines of a single snapshot, and the
/// pieces are joined in order.
pub fn parse_str_threads(input: &str, threads: usize) -> Result<Dump<'_>, ParseError> {
    parse_chunked(input, threads, PARALLEL_MIN_BYTES)
}

/// The lines of `text` (split at `\n`), each with its offset.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut from = 0;
    let mut ends = memchr::memchr_iter(b'\n', text.as_bytes());
    std::iter::from_fn(move || {
        let start = from;
        let end = match ends.next() {
            Some(end) => end,
            None if start <= text.len() => text.len(),
            None => return None,
        };
        from = end + 1;
        text.get(start..end).map(|line| (start, line))
    })
}

fn read_lines<'a>(b: &mut Builder<'a>, text: &'a str, first_line: usize) {
    for (i, (at, raw)) in lines(text).enumerate() {
        b.line(first_line + i + 1, at, raw);
    }
}

/// Read a text whose lines were rejoined, numbering each line as the input
/// line it started on.
fn rejoined(joined: &crate::rejoin::Rejoined) -> Result<Dump<'_>, ParseError> {
    let text = joined.text.as_str();
    let mut b = Builder::new(text);
    for (i, (at, raw)) in lines(text).enumerate() {
        b.line(joined.origin.get(i).copied().unwrap_or(i + 1), at, raw);
    }
    b.finish(text)
}

fn sequential(input: &str) -> Result<Dump<'_>, ParseError> {
    let mut b = Builder::new(input);
    read_lines(&mut b, input, 0);
    b.finish(input)
}

fn parse_chunked(input: &str, threads: usize, min_bytes: usize) -> Result<Dump<'_>, ParseError> {
    let bytes = input.as_bytes();
    if threads < 2 || input.len() < min_bytes {
        return sequential(input);
    }
    let mut starts = vec![0usize];
    for k in 1..threads {
        let target = input.len() * k / threads;
        let from = target.max(starts[starts.len() - 1]);
        let Some(off) = memchr::memmem::find(&bytes[from..], b"\n=== Thread ID:") else {
            break;
        };
        let at = from + off + 1;
        if at > starts[starts.len() - 1] {
            starts.push(at);
        }
    }
    if starts.len() < 2 {
        return sequential(input);
    }
    let mut ranges = Vec::with_capacity(starts.len());
    let mut line = 0usize;
    let mut prev = 0usize;
    for (k, &start) in starts.iter().enumerate() {
        line += memchr::memchr_iter(b'\n', &bytes[prev..start]).count();
        prev = start;
        let end = starts.get(k + 1).copied().unwrap_or(input.len());
        ranges.push((start, end, line));
    }
    let last = ranges.len() - 1;
    let parts: Vec<Builder<'_>> = std::thread::scope(|scope| {
        let handles: Vec<_> = ranges
            .iter()
            .enumerate()
            .map(|(k, &(start, end, first_line))| {
                scope.spawn(move || {
                    // A chunk ends with the newline before the next header: drop the
                    // empty piece after it so line numbers stay those of the input.
                    let text = &input[start..end];
                    let text = if k < last {
                        text.strip_suffix('\n').unwrap_or(text)
                    } else {
                        text
                    };
                    let mut b = Builder::new(text);
                    read_lines(&mut b, text, first_line);
                    b.close(k == last);
                    b
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    // A banner after the first piece starts another snapshot, which joining the
    // pieces as one would lose: such inputs (several dumps pasted in one file) are
    // read again in one pass. Looking for banners beforehand would cost a scan of
    // the whole input every time.
    if parts
        .iter()
        .skip(1)
        .any(|p| p.done.iter().any(|(s, _)| s.banner_line.is_some()))
    {
        return sequential(input);
    }
    let mut parts = parts.into_iter();
    let Some(mut first) = parts.next() else {
        return sequential(input);
    };
    let mut warnings = std::mem::take(&mut first.dump.warnings);
    let mut done = first.done;
    let parts: Vec<Builder<'_>> = parts.collect();
    // Room for every thread at once: growing by doubling while the pieces are
    // still held would need up to twice the threads' memory.
    if let Some((into, _)) = done.last_mut() {
        let more: usize = parts
            .iter()
            .flat_map(|p| &p.done)
            .map(|(s, _)| s.threads.len())
            .sum();
        into.threads.reserve_exact(more);
    }
    for mut p in parts {
        warnings.append(&mut p.dump.warnings);
        for (s, ev) in p.done {
            match done.last_mut() {
                // The later pieces continue the first one's snapshot.
                Some((into, into_ev)) => {
                    into.threads.extend(s.threads);
                    into.truncated |= s.truncated;
                    into.unreadable.extend(s.unreadable);
                    // The closing line, if any, is in the last piece.
                    into.end_line = s.end_line;
                    into_ev.v21 |= ev.v21;
                    into_ev.v12 |= ev.v12;
                    into_ev.v1_6 |= ev.v1_6;
                }
                None => done.push((s, ev)),
            }
        }
    }
    Ok(into_dump(done, warnings))
}

#[cfg(test)]
mod parallel_tests {
    use super::*;

    #[test]
    fn any_thread_count_and_chunk_size_gives_the_sequential_result() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata");
        let mut files = Vec::new();
        for sub in [
            "",
            "/handmade",
            "/asterisk-1.8-testsuite",
            "/asterisk-22.0.0-s1-abba",
            "/asterisk-18.0.0-s4-convoy",
            "/series",
        ] {
            for e in std::fs::read_dir(format!("{dir}{sub}")).expect("testdata") {
                let p = e.expect("entry").path();
                if p.extension().is_some_and(|x| x == "txt") {
                    files.push(p);
                }
            }
        }
        files.sort();
        let mut compared = 0;
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            let want = sequential(&text);
            for threads in [2, 3, 4, 8] {
                // Chunks of any size, so that small files are cut too.
                let got = parse_chunked(&text, threads, 0);
                assert_eq!(got, want, "{} on {threads} threads", f.display());
                compared += 1;
            }
        }
        assert!(compared > 50);
    }

    #[test]
    fn frames_of_an_untouched_dump_borrow_one_span_per_entry() {
        let text = "=== Thread ID: 0x1 LWP:1 (main)\r\n\
=== ---> Lock #0 (a.c): MUTEX 1 f &l 0x10\r\n\
\t[0x1] asterisk a.c:1 f()\r\n\
\t[0x2] asterisk a.c:2 g()\r\n\
=== ---> Lock #1 (a.c): MUTEX 1 f &l 0x20\n\
> \t[0x3] asterisk a.c:3 h()\n\
\t[0x4] asterisk a.c:4 i()\n\
=== -------------------------------------------------------------------\n";
        let dump = sequential(text).expect("parses");
        let entries = &dump.snapshots[0].threads[0].entries;
        assert!(entries[0].backtrace.is_borrowed());
        assert_eq!(
            entries[0].backtrace.iter().collect::<Vec<_>>(),
            ["[0x1] asterisk a.c:1 f()", "[0x2] asterisk a.c:2 g()"]
        );
        // A quoted line is cleaned, so that entry's frames are a copy.
        assert!(!entries[1].backtrace.is_borrowed());
        assert_eq!(entries[1].backtrace.len(), 2);
    }
}
