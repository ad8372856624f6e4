//! The state field of a CSV line, in every variant Asterisk has written.

use super::{parse_signed, parse_unsigned};
use ast_locks_model::refs::{LineState, LockUse};
use nom::branch::alt;
use nom::bytes::complete::{tag, take_while1};
use nom::combinator::{all_consuming, map, map_opt, opt, value};
use nom::sequence::{delimited, preceded, terminated};
use nom::{IResult, Parser};

/// `**constructor**`, `**constructor**N**M**`, `**destructor**`,
/// `**destructor**lock-state:X**`, `**invalid**`, or a count (`-1` included).
pub(super) fn csv(field: &[u8]) -> Option<LineState> {
    if !field.starts_with(b"**") {
        // The common case, a count: no combinator needed.
        return parse_signed(field).map(LineState::Count);
    }
    if let Some(state) = common(field) {
        return Some(state);
    }
    all_consuming(alt((constructor, destructor, invalid)))
        .parse(field)
        .ok()
        .map(|(_, s)| s)
}

/// The fields one log writes millions of times, compared whole.
fn common(field: &[u8]) -> Option<LineState> {
    let destructor = |lock| Some(LineState::Destructor { lock });
    match field {
        b"**destructor**lock-state:unused**" => destructor(LockUse::Unused),
        b"**destructor**lock-state:used**" => destructor(LockUse::Used),
        b"**destructor**lock-state:none**" => destructor(LockUse::None),
        b"**destructor**" => destructor(LockUse::NotLogged),
        b"**invalid**" => Some(LineState::Invalid),
        _ => {
            let sizes = field
                .strip_prefix(b"**constructor**")?
                .strip_suffix(b"**")?;
            let mid = sizes.iter().position(|&b| b == b'*')?;
            let overhead = parse_unsigned(&sizes[..mid])?;
            let size = parse_unsigned(sizes[mid..].strip_prefix(b"**")?)?;
            Some(LineState::Constructor {
                overhead: Some(overhead),
                size: Some(size),
            })
        }
    }
}

fn constructor(i: &[u8]) -> IResult<&[u8], LineState> {
    map(
        preceded(
            tag(&b"**constructor**"[..]),
            opt((
                terminated(number, tag(&b"**"[..])),
                terminated(number, tag(&b"**"[..])),
            )),
        ),
        |sizes| LineState::Constructor {
            overhead: sizes.map(|(o, _)| o),
            size: sizes.map(|(_, s)| s),
        },
    )
    .parse(i)
}

fn destructor(i: &[u8]) -> IResult<&[u8], LineState> {
    map(
        preceded(
            tag(&b"**destructor**"[..]),
            opt(delimited(
                tag(&b"lock-state:"[..]),
                lock_use,
                tag(&b"**"[..]),
            )),
        ),
        |lock| LineState::Destructor {
            lock: lock.unwrap_or(LockUse::NotLogged),
        },
    )
    .parse(i)
}

fn lock_use(i: &[u8]) -> IResult<&[u8], LockUse> {
    alt((
        value(LockUse::Used, tag(&b"used"[..])),
        value(LockUse::Unused, tag(&b"unused"[..])),
        value(LockUse::None, tag(&b"none"[..])),
        value(LockUse::Lockobj, tag(&b"lockobj"[..])),
        value(LockUse::Invalid, tag(&b"invalid"[..])),
    ))
    .parse(i)
}

fn invalid(i: &[u8]) -> IResult<&[u8], LineState> {
    value(LineState::Invalid, tag(&b"**invalid**"[..])).parse(i)
}

fn number(i: &[u8]) -> IResult<&[u8], u64> {
    map_opt(take_while1(|b: u8| b.is_ascii_digit()), parse_unsigned).parse(i)
}
