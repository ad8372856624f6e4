//! Undo what pasting does to a dump, one line at a time.
//!
//! Dumps reach us through mail, tickets, chats and logs. Each of those adds
//! something in front of or around the lines (quote marks, timestamps, fences)
//! or changes their ends (CRLF). This module finds the part of a line that
//! Asterisk printed and says where it starts, so grammar errors can still point
//! at the right column of the original line.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1, take_while_m_n};
use nom::character::complete::{char, one_of, space0};
use nom::combinator::{opt, recognize};
use nom::{IResult, Parser};

/// What a cleaned line turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cleaned {
    /// Paste decoration only (a fence, a `{noformat}` marker, a CLI prompt echo): skip it.
    Decoration,
    /// The dump text is `line[start..end]`.
    Text { start: usize, end: usize },
}

/// True when nothing at the end of a line is what pasting adds there (CR, blanks,
/// a closing marker or fence).
fn clean_end(bytes: &[u8]) -> bool {
    !matches!(bytes.last(), Some(b'\r' | b' ' | b'\t' | b'}' | b'`'))
}

/// True for a line as Asterisk prints a frame, untouched by pasting: one tab, the
/// frame (`[0x…` or `/path…`), and a clean end. Cleaning it removes the tab only.
pub fn untouched_frame(line: &str) -> bool {
    let bytes = line.as_bytes();
    bytes.first() == Some(&b'\t')
        && bytes.get(1).is_some_and(|b| *b == b'[' || *b == b'/')
        && clean_end(bytes)
}

/// Find the dump text inside one raw line (without its `\n`).
pub fn clean_line(line: &str) -> Cleaned {
    let bytes = line.as_bytes();
    // Fast path for the lines Asterisk prints, untouched by pasting: `===…`, or a
    // frame indented by one tab. Almost every line of a big dump is one.
    if bytes.starts_with(b"===") && clean_end(bytes) {
        return Cleaned::Text {
            start: 0,
            end: bytes.len(),
        };
    }
    if untouched_frame(line) {
        return Cleaned::Text {
            start: 1,
            end: bytes.len(),
        };
    }
    let end = line.trim_end().len();
    let mut s = &line[..end];
    loop {
        let before = s.len();
        s = s.trim_start();
        // E-mail quoting: `> `, `>> `, `> > `.
        if let Some(rest) = s.strip_prefix('>') {
            s = rest;
        }
        if let Ok((rest, _)) = log_timestamp(s) {
            s = rest;
        }
        if let Some(rest) = strip_jira_marker(s) {
            s = rest;
        }
        if s.len() == before {
            break;
        }
    }
    if s.starts_with("```") || s.starts_with("~~~") || is_cli_prompt(s) {
        return Cleaned::Decoration;
    }
    // A closing marker glued to the end of the last line of a paste.
    let mut t = s;
    for marker in ["{noformat}", "{code}", "```"] {
        if let Some(rest) = t.strip_suffix(marker) {
            t = rest.trim_end();
        }
    }
    if t.is_empty() {
        return Cleaned::Text { start: end, end };
    }
    // Anything before `===` on a dump line is a prefix someone's logger or tool added
    // (syslog host and program, a custom timestamp): the dump's own lines start there.
    if !t.starts_with("===") {
        if let Some(pos) = t.find("===") {
            if t[..pos].ends_with(|c: char| c.is_whitespace() || c == ':' || c == ']') {
                t = &t[pos..];
            }
        }
    }
    // `t` is a sub-slice of `line`; its offset is the distance between their starts.
    let start = t.as_ptr() as usize - line.as_ptr() as usize;
    Cleaned::Text {
        start,
        end: start + t.len(),
    }
}

/// `host*CLI> core show locks` (the console prompt echoed with the command).
fn is_cli_prompt(s: &str) -> bool {
    let first = s.split_whitespace().next().unwrap_or("");
    first.ends_with("*CLI>") || first == "CLI>" || s.contains("*CLI> ")
}

/// `{noformat}`, `{code}`, `{code:title=x|borderStyle=solid}` at the start of a line.
fn strip_jira_marker(s: &str) -> Option<&str> {
    if let Some(rest) = s.strip_prefix("{noformat}") {
        return Some(rest);
    }
    let rest = s.strip_prefix("{code")?;
    let close = rest.find('}')?;
    let inner = &rest[..close];
    if inner.is_empty() || inner.starts_with(':') {
        Some(&rest[close + 1..])
    } else {
        None
    }
}

fn digits(n: usize) -> impl Fn(&str) -> IResult<&str, &str> {
    move |i| take_while_m_n(n, n, |c: char| c.is_ascii_digit()).parse(i)
}

/// Timestamps that loggers and tools put in front of a line, followed by blanks:
/// `[Nov 22 01:53:03]` / `[2026-11-22 01:53:03.123]` (anything bracketed with a digit
/// and a colon, which no backtrace frame has), ISO 8601 (`2026-11-22T01:53:03.123Z`),
/// and syslog / `ts` style (`Nov 22 01:53:03`).
fn log_timestamp(i: &str) -> IResult<&str, &str> {
    let (rest, stamp) = alt((bracketed_stamp, iso_stamp, syslog_stamp)).parse(i)?;
    // A timestamp must be followed by a blank or the end, else it was part of the line.
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Verify,
        )));
    }
    let (rest, _) = space0(rest)?;
    Ok((rest, stamp))
}

fn bracketed_stamp(i: &str) -> IResult<&str, &str> {
    let (rest, inner) = recognize((
        char('['),
        take_while1(|c: char| c != ']' && c != '['),
        char(']'),
    ))
    .parse(i)?;
    let body = &inner[1..inner.len() - 1];
    if body.contains(':') && body.chars().any(|c| c.is_ascii_digit()) && !body.starts_with("0x") {
        Ok((rest, inner))
    } else {
        Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Verify,
        )))
    }
}

fn clock(i: &str) -> IResult<&str, &str> {
    recognize((
        digits(2),
        char(':'),
        digits(2),
        char(':'),
        digits(2),
        opt((one_of(".,"), take_while1(|c: char| c.is_ascii_digit()))),
    ))
    .parse(i)
}

fn iso_stamp(i: &str) -> IResult<&str, &str> {
    recognize((
        digits(4),
        char('-'),
        digits(2),
        char('-'),
        digits(2),
        one_of("T "),
        clock,
        opt(alt((
            tag("Z"),
            recognize((one_of("+-"), digits(2), opt(char(':')), digits(2))),
        ))),
    ))
    .parse(i)
}

fn syslog_stamp(i: &str) -> IResult<&str, &str> {
    recognize((
        take_while_m_n(3, 3, |c: char| c.is_ascii_alphabetic()),
        char(' '),
        take_while(|c: char| c == ' '),
        take_while_m_n(1, 2, |c: char| c.is_ascii_digit()),
        char(' '),
        clock,
    ))
    .parse(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(line: &str) -> Option<&str> {
        match clean_line(line) {
            Cleaned::Decoration => None,
            Cleaned::Text { start, end } => Some(&line[start..end]),
        }
    }

    #[test]
    fn paste_variants_table() {
        let d = "=== Thread ID: 0x1 (x)";
        let f = "/usr/sbin/asterisk(ast_bt_get_addresses+0x19) [0x812a024]";
        let cases: &[(&str, Option<&str>)] = &[
            ("=== Thread ID: 0x1 (x)", Some(d)),
            ("=== Thread ID: 0x1 (x)\r", Some(d)),
            ("> === Thread ID: 0x1 (x)", Some(d)),
            (">> === Thread ID: 0x1 (x)", Some(d)),
            ("> > === Thread ID: 0x1 (x)", Some(d)),
            ("   === Thread ID: 0x1 (x)  ", Some(d)),
            ("[Nov 22 01:53:03] === Thread ID: 0x1 (x)", Some(d)),
            ("[2026-11-22 01:53:03.123] === Thread ID: 0x1 (x)", Some(d)),
            (
                "2026-11-22T01:53:03.123456+00:00 === Thread ID: 0x1 (x)",
                Some(d),
            ),
            ("2026-11-22 01:53:03,123 === Thread ID: 0x1 (x)", Some(d)),
            ("Nov  2 01:53:03 === Thread ID: 0x1 (x)", Some(d)),
            (
                "Nov 22 01:53:03 pbx asterisk[1234]: === Thread ID: 0x1 (x)",
                Some(d),
            ),
            ("{noformat}=== Thread ID: 0x1 (x)", Some(d)),
            ("=== Thread ID: 0x1 (x){noformat}", Some(d)),
            ("{code:title=locks}=== Thread ID: 0x1 (x)", Some(d)),
            (
                "\t/usr/sbin/asterisk(ast_bt_get_addresses+0x19) [0x812a024]",
                Some(f),
            ),
            (
                "        /usr/sbin/asterisk(ast_bt_get_addresses+0x19) [0x812a024]",
                Some(f),
            ),
            (
                "> \t/usr/sbin/asterisk(ast_bt_get_addresses+0x19) [0x812a024]",
                Some(f),
            ),
            (
                "[Nov 22 01:53:03] \t/usr/sbin/asterisk(ast_bt_get_addresses+0x19) [0x812a024]",
                Some(f),
            ),
            (
                "\t[0x5625d407bb48] asterisk lock.c:277 __ast_pthread_mutex_lock()",
                Some("[0x5625d407bb48] asterisk lock.c:277 __ast_pthread_mutex_lock()"),
            ),
            (
                "\t[inlined] asterisk channel.c:3767 __ast_read()",
                Some("[inlined] asterisk channel.c:3767 __ast_read()"),
            ),
            ("```", None),
            ("```text", None),
            ("{noformat}", Some("")),
            ("{code}", Some("")),
            ("pbx*CLI> core show locks", None),
            ("*CLI> core show locks", None),
            ("", Some("")),
        ];
        for (input, want) in cases {
            assert_eq!(text(input), *want, "input {input:?}");
        }
    }
}
