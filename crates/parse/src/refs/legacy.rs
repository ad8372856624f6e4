//! The legacy `/tmp/refs` line (Asterisk 1.6 to 11.9), space separated and
//! without a thread id:
//!
//! ```text
//! 0x8930fd8 +1   chan_sip.c:21467:reload_config (link peer into peer table) [@1]
//! 0x8930fd8 =1   chan_sip.c:21460:build_peer (allocate a peer struct)
//! 0x8930fd8 **call destructor** chan_sip.c:3421:unref_peer (unref peer)
//! ```
//!
//! `[@N]` is the count before the change (`-1` for an invalid object in 1.8.0
//! and 10); the tag is in parentheses and may itself hold parentheses.

use super::{parse_addr, parse_signed, parse_unsigned};
use ast_locks_model::refs::{LineState, RefLine, RefLineError};
use nom::branch::alt;
use nom::bytes::complete::{tag, take_till1, take_while1};
use nom::character::complete::space1;
use nom::combinator::{map_opt, value};
use nom::{IResult, Parser};

/// What the second field is.
#[derive(Clone, Copy)]
enum Change {
    Constructor,
    CallDestructor,
    Delta(i64),
}

/// Read one legacy line (no newline).
pub fn parse(line: &[u8]) -> Result<RefLine<'_>, RefLineError> {
    let at = |rest: &[u8]| line.len() - rest.len() + 1;
    let fail = |rest: &[u8], expected| RefLineError {
        column: at(rest),
        expected,
    };
    let (rest, addr) = map_opt(take_till1(|b| b == b' '), parse_addr)
        .parse(line)
        .map_err(|_: nom::Err<()>| fail(line, "an object address (0x…)"))?;
    let rest = after_spaces(rest).ok_or_else(|| fail(rest, "a space after the address"))?;
    let (rest, change) =
        change(rest).map_err(|_| fail(rest, "a change (+1, -1, =1 or **call destructor**)"))?;
    let rest = after_spaces(rest).ok_or_else(|| fail(rest, "a space after the change"))?;
    let (rest, (file, line_number, function)) =
        location(rest).map_err(|_| fail(rest, "file:line:function"))?;
    let (tag_text, count) = tag_and_count(rest.trim_ascii_start())
        .ok_or_else(|| fail(rest.trim_ascii_start(), "a tag in parentheses"))?;
    let (delta, state) = match change {
        Change::Constructor => (
            1,
            LineState::Constructor {
                overhead: None,
                size: None,
            },
        ),
        Change::CallDestructor => (0, LineState::CallDestructor),
        Change::Delta(d) => (d, count.map_or(LineState::Unknown, LineState::Count)),
    };
    Ok(RefLine {
        addr,
        delta,
        thread: None,
        file,
        line: line_number,
        function,
        state,
        tag: tag_text,
    })
}

/// What follows one or more spaces.
fn after_spaces(i: &[u8]) -> Option<&[u8]> {
    space1::<_, ()>(i).ok().map(|(rest, _)| rest)
}

fn change(i: &[u8]) -> IResult<&[u8], Change, ()> {
    alt((
        value(Change::Constructor, tag(&b"=1"[..])),
        value(Change::CallDestructor, tag(&b"**call destructor**"[..])),
        map_opt(
            take_while1(|b: u8| b == b'+' || b == b'-' || b.is_ascii_digit()),
            |d: &[u8]| parse_signed(d).filter(|d| *d != 0).map(Change::Delta),
        ),
    ))
    .parse(i)
}

/// File, line and function.
type Location<'a> = (&'a [u8], u32, &'a [u8]);

/// `file:line:function`, up to the next space.
fn location(i: &[u8]) -> IResult<&[u8], Location<'_>, ()> {
    map_opt(take_till1(|b| b == b' '), |loc: &[u8]| {
        let mut parts = loc.splitn(3, |&b| b == b':');
        let file = parts.next().filter(|f| !f.is_empty())?;
        let line = parse_unsigned(parts.next()?).and_then(|l| u32::try_from(l).ok())?;
        let function = parts.next()?;
        Some((file, line, function))
    })
    .parse(i)
}

/// `(tag) [@N]` or `(tag)`: the tag is everything between the first `(` and
/// the last `)`.
fn tag_and_count(rest: &[u8]) -> Option<(&[u8], Option<i64>)> {
    let inner = rest.strip_prefix(b"(")?;
    let (body, count) = match inner.iter().rposition(|&b| b == b'[') {
        Some(open) if inner[open..].starts_with(b"[@") && inner.ends_with(b"]") => {
            let number = &inner[open + 2..inner.len() - 1];
            (inner[..open].trim_ascii_end(), Some(parse_signed(number)?))
        }
        _ => (inner.trim_ascii_end(), None),
    };
    let tag_text = body.strip_suffix(b")")?;
    Some((tag_text, count))
}
