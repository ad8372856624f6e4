//! Lines that a mail client, Jira or a terminal wrapped, joined again.
//!
//! A dump pasted through a tool that wraps long lines (`fold`, format=flowed
//! mail, a terminal window) arrives with its lock lines and thread headers cut
//! in two or more pieces: the first still starts with `===`, the rest are loose
//! text that no grammar reads. Read as they are, the pieces lose the lock
//! addresses, and with them every wait. This module puts such pieces back onto
//! the line they were cut from, where the line is evidently incomplete (a lock
//! line without its address, a header without its closing parenthesis, a frame
//! without its end) or where joining gives a line of the same kind that reads
//! whole (an address cut in the middle). A piece is never a `===` line or a
//! frame of its own, so lines that were printed apart stay apart.
//!
//! The `core show locks` parser runs this only when a first reading found
//! lines it could not understand, and keeps whichever reading understood more.

use crate::clean::{clean_line, Cleaned};
use crate::csl::frame;
use crate::csl::line::{classify, DumpLine};
use ast_locks_model::FrameShape;
use std::borrow::Cow;

/// A text with wrapped lines joined, and where each of its lines came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejoined {
    /// The joined text.
    pub text: String,
    /// `origin[k]`: the 1-based input line that line `k + 1` of `text` starts on.
    pub origin: Vec<usize>,
    /// How many pieces were put back onto the line before them.
    pub joins: usize,
    /// The 1-based input line of the first line that was continued.
    pub first: usize,
    /// The longest first piece of a cut line, in characters: about the width
    /// the text was wrapped at.
    pub width: usize,
}

/// No line of a dump comes near this: a longer one is no cut line (and joining
/// onto it, which reads it again for every piece, would be quadratic).
const MAX_JOINED: usize = 8 << 10;

/// Join the wrapped lines of a `core show locks` dump; `None` when no line was cut.
pub fn csl(input: &str) -> Option<Rejoined> {
    let mut out = Rejoined {
        text: String::with_capacity(input.len()),
        origin: Vec::new(),
        joins: 0,
        first: 0,
        width: 0,
    };
    // The line being built: its text so far, the input line it started on, and
    // the width of its first piece.
    let mut open: Option<(Cow<'_, str>, usize, usize)> = None;
    for (i, raw) in input.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some((line, start, first_width)) =
            open.as_mut().filter(|(l, _, _)| l.len() < MAX_JOINED)
        {
            if let Some(piece) = continuation(raw, line) {
                if let Some(glue) = joins_onto(line, piece) {
                    if out.joins == 0 {
                        out.first = *start;
                    }
                    out.width = out.width.max(*first_width);
                    let line = line.to_mut();
                    line.push_str(glue);
                    line.push_str(piece);
                    out.joins += 1;
                    continue;
                }
            }
        }
        if let Some((line, start, _)) = open.take() {
            push_line(&mut out, &line, start);
        }
        open = Some((Cow::Borrowed(raw), i + 1, raw.chars().count()));
    }
    if let Some((line, start, _)) = open {
        out.text.push_str(&line);
        out.origin.push(start);
    }
    (out.joins > 0).then_some(out)
}

fn push_line(out: &mut Rejoined, line: &str, start: usize) {
    out.text.push_str(line);
    out.text.push('\n');
    out.origin.push(start);
}

/// The text a wrapped piece adds to the line before it. A piece that carries
/// the same decoration as the line it continues (`> ` quoting on every line of
/// a mail, the same timestamp) adds what follows that decoration; any other
/// piece is added as printed, for a cut can leave anything at its start
/// (`a-` + `>c 0x…`, the blanks of a padded name, the digits of a clock before
/// `===`). `None` for a line that cannot be a piece: empty, decoration only,
/// or a `===` line.
fn continuation<'r>(raw: &'r str, line: &str) -> Option<&'r str> {
    let Cleaned::Text { start, end } = clean_line(raw) else {
        return None;
    };
    let same =
        Some(decoration(raw, start)) == clean_line_start(line).map(|at| decoration(line, at));
    let (piece, text) = if same && !raw[..start].trim().is_empty() {
        (&raw[start..], &raw[start..end])
    } else {
        (raw, raw.trim())
    };
    (!text.is_empty() && !text.starts_with("===")).then_some(piece)
}

/// What pasting put in front of a line's text, blanks aside.
fn decoration(raw: &str, start: usize) -> String {
    raw[..start]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

fn clean_line_start(raw: &str) -> Option<usize> {
    match clean_line(raw) {
        Cleaned::Text { start, .. } => Some(start),
        Cleaned::Decoration => None,
    }
}

/// The cleaned text of a raw line, when it has any.
fn cleaned(raw: &str) -> Option<&str> {
    match clean_line(raw) {
        Cleaned::Text { start, end } => Some(&raw[start..end]),
        Cleaned::Decoration => None,
    }
}

/// Whether `piece` continues `line`, and what goes between them: the line is
/// evidently incomplete, or joining gives a whole line of the same kind.
fn joins_onto(line: &str, piece: &str) -> Option<&'static str> {
    let text = cleaned(line)?;
    let piece_text = piece.trim();
    let only = |allowed: &dyn Fn(char) -> bool| piece_text.chars().all(allowed);
    let kind = classify(text);
    if let DumpLine::Plain(t) = kind {
        // The rest of a frame cut short can look like a frame of its own
        // (`…/sbin/asteris` + `k(f+0x1a) [0x4e9679]`).
        return (frame_start(t) && !frame_complete(t)).then_some("");
    }
    if frame_complete(piece_text) {
        return None;
    }
    let joins = match kind {
        DumpLine::Plain(_) => false,
        // `===      ` + a clock: a timing line cut after its blanks, or `=== ` +
        // dashes: a thread's end line (a tool that drops trailing blanks lost
        // the one between them).
        DumpLine::Spacer if line.ends_with([' ', '\t']) => true,
        DumpLine::Spacer => {
            return (only(&|c| c == '-') || only(&|c| c == '=')).then_some(" ");
        }
        DumpLine::Border => only(&|c| c == '='),
        DumpLine::ThreadEnd => only(&|c| c == '-'),
        DumpLine::Legend(_) => !text.ends_with(')'),
        DumpLine::Banner(_) => {
            only(&|c| c == '=' || c == ':' || c == '.' || c == ' ' || c.is_ascii_digit())
        }
        DumpLine::ThreadHeader(h) => !h.closed || !balanced(h.name),
        DumpLine::LockedHere(_) => !text.ends_with(')'),
        DumpLine::Timing(_) => false,
        DumpLine::Malformed(..) => true,
        // A whole lock line whose address may have been cut: the join must read whole too.
        DumpLine::Entry(..) => {
            let joined = format!("{line}{piece}");
            cleaned(&joined).is_some_and(|t| matches!(classify(t), DumpLine::Entry(..)))
        }
        // `=== Currently Held` + `Locks …`: a line that only reads once joined.
        DumpLine::Other(_) => {
            let joined = format!("{line}{piece}");
            cleaned(&joined)
                .is_some_and(|t| !matches!(classify(t), DumpLine::Other(_) | DumpLine::Plain(_)))
        }
    };
    joins.then_some("")
}

/// True when every `(` of a thread name is closed.
fn balanced(name: &str) -> bool {
    let mut depth = 0i64;
    for c in name.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
    }
    depth <= 0
}

/// A line that starts like a backtrace frame: `[0x…`, `[inlined]`, a path, or
/// `module(`.
fn frame_start(t: &str) -> bool {
    t.starts_with("[0x")
        || t.starts_with("[inlined]")
        || t.starts_with('/')
        || t.split_whitespace()
            .next()
            .is_some_and(|w| w.contains('(') && !w.starts_with('('))
}

/// A frame line that reads whole: `backtrace_symbols()` ends with its `[0x…]`,
/// BETTER_BACKTRACES with its function's `()`.
fn frame_complete(t: &str) -> bool {
    if !frame::looks_like_frame(t) {
        return false;
    }
    match frame::parts(t).map(|p| p.shape) {
        Some(FrameShape::Better | FrameShape::Inlined) => t.ends_with(')'),
        Some(_) => true,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str =
        "=== ---> Lock #0 (res_deadlock_demo.c): MUTEX 63 s1_thread_a &s1_mutex_a 0x7f67a50f1100";

    #[test]
    fn pieces_go_back_onto_the_line_they_were_cut_from() {
        // (wrapped text, the line it must give back)
        let rows: &[(&str, &str)] = &[
            // fold -s: cut after a blank, the blank kept at the end.
            (
                "=== ---> Lock #0 (res_deadlock_demo.c): MUTEX 63 s1_thread_a \n&s1_mutex_a 0x7f67a50f1100",
                LOCK,
            ),
            // fold: cut inside the address, the first piece reads as a whole line.
            (
                "=== ---> Lock #0 (res_deadlock_demo.c): MUTEX 63 s1_thread_a &s1_mutex_a 0x7f67a5\n0f1100",
                LOCK,
            ),
            // Three pieces.
            (
                "=== ---> Lock #0 (res_deadlock_demo.c): MU\nTEX 63 s1_thread_a &s1_mut\nex_a 0x7f67a50f1100",
                LOCK,
            ),
            // Quoted mail: each piece behind its own `> `.
            (
                "> === ---> Lock #0 (res_deadlock_demo.c): MUTEX 63 s1_thread_a\r\n> &s1_mutex_a 0x7f67a50f1100",
                "> === ---> Lock #0 (res_deadlock_demo.c): MUTEX 63 s1_thread_a&s1_mutex_a 0x7f67a50f1100",
            ),
            (
                "=== Thread ID: 0x7f67a15356c0 LWP:32380 (s1_thread_a          started \nat [  305] res_deadlock_demo.c load_module())",
                "=== Thread ID: 0x7f67a15356c0 LWP:32380 (s1_thread_a          started at [  305] res_deadlock_demo.c load_module())",
            ),
            // The cut fell between the two closing parentheses.
            (
                "=== Thread ID: 0x1 LWP:2 (a          started at [  305] x.c load_module()\n)",
                "=== Thread ID: 0x1 LWP:2 (a          started at [  305] x.c load_module())",
            ),
            (
                "\t[0x7f67a50eb497] res_deadlock_demo.so res_deadlock_demo.c:64 \ns1_thread_a()",
                "\t[0x7f67a50eb497] res_deadlock_demo.so res_deadlock_demo.c:64 s1_thread_a()",
            ),
            (
                "/usr/sbin/asterisk(__ast_pthread_mutex_lock+0xae) \n[0x812351e]",
                "/usr/sbin/asterisk(__ast_pthread_mutex_lock+0xae) [0x812351e]",
            ),
            (
                "===      498697:44:26.882753, 00:00:00.000000, 00:00:02.989\n754 (1, 1)",
                "===      498697:44:26.882753, 00:00:00.000000, 00:00:02.989754 (1, 1)",
            ),
        ];
        for (wrapped, want) in rows {
            let got = csl(wrapped).unwrap_or_else(|| panic!("joins {wrapped:?}"));
            assert_eq!(got.text.trim_end_matches('\n'), *want, "{wrapped:?}");
            assert_eq!(got.origin[0], 1);
        }
    }

    #[test]
    fn lines_printed_apart_stay_apart() {
        let rows: &[&str] = &[
            // A lock line, its timing line and a frame.
            "=== ---> Lock #0 (a.c): MUTEX 63 f &m 0x10\n===      1:00:00.000000, 00:00:00.000000, 00:00:01.000000 (1, 1)\n\t[0x1] asterisk a.c:1 f()",
            // A whole lock line and prose after the dump.
            "=== ---> Lock #0 (a.c): MUTEX 63 f &m 0x10 (1)\nthanks for looking",
            // A thread end and a sentence.
            "=== -------------------------------------------------------------------\nSee above.",
            // Two frames of backtrace_symbols.
            "/usr/sbin/asterisk(f+0x1) [0x1]\n/usr/sbin/asterisk(g+0x1) [0x2]",
            // Prose, then prose.
            "Here is the dump\nfrom last night",
        ];
        for text in rows {
            assert_eq!(csl(text), None, "{text:?}");
        }
    }

    #[test]
    fn line_numbers_are_those_of_the_input() {
        let got = csl("a\n=== ---> Lock #0 (a.c): MUTEX 1 f\n &m 0x10 (1)\nb\n").expect("joins");
        assert_eq!(
            got.text,
            "a\n=== ---> Lock #0 (a.c): MUTEX 1 f &m 0x10 (1)\nb\n"
        );
        assert_eq!(got.origin, vec![1, 2, 4, 5]);
        assert_eq!((got.joins, got.first), (1, 2));
    }
}
