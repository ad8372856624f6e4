//! The comma-separated refs line: `addr,delta,tid,file,line,func,state,tag`.
//!
//! This is the hot loop of a multi-gigabyte log, so the line is read once, left
//! to right: each number is read digit by digit until the byte after it, which
//! must be the comma (a digit is never a comma, so a number's end is where its
//! field ends), and only the two names and an unusual state are searched for
//! their comma, eight bytes at a time. The state field, which has a grammar of
//! its own, is read in the `state` module when it is not a plain count.

mod masks;

use super::{has_byte, parse_addr, state};
use ast_locks_model::refs::{LineBytes, LineState, LockUse, RefLine, RefLineError};

/// What each of the seven comma-terminated fields must be, for the message.
const EXPECTED: [&str; 7] = [
    "an object address (0x…)",
    "a reference change (+1, -1, …)",
    "a thread id (digits)",
    "a source file name",
    "a line number",
    "a function name",
    "a state (**constructor**, **destructor**, **invalid** or a count)",
];

/// Read one CSV line (no newline).
pub fn parse(line: &[u8]) -> Result<RefLine<'_>, RefLineError> {
    let addr_end = find_comma(line, 0).ok_or_else(|| fail(line, 0, 0))?;
    let addr = parse_addr(&line[..addr_end]).ok_or_else(|| fail(line, 0, 0))?;
    bytewise(line, addr, addr_end)
}

/// Read the fields after the address, which is `addr` and ends with the comma
/// at `addr_end` (the reading thread has already read it to route the line):
/// from the mask of its commas when the bytes after the line can be read
/// ahead into and the line is of the usual shape, else byte by byte.
pub fn parse_after_address(
    bytes: LineBytes<'_>,
    addr: u64,
    addr_end: usize,
) -> Result<RefLine<'_>, RefLineError> {
    match masks::read(bytes, addr, addr_end) {
        Some(read) => Ok(read),
        None => bytewise(bytes.line(), addr, addr_end),
    }
}

/// The fields after the address, one at a time, left to right.
fn bytewise(line: &[u8], addr: u64, addr_end: usize) -> Result<RefLine<'_>, RefLineError> {
    let start = addr_end + 1;
    let (delta, end) = signed(line, start)
        .filter(|(d, _)| *d != 0)
        .ok_or_else(|| fail(line, 1, start))?;
    let start = end + 1;
    let (thread, end) = small(line, start).ok_or_else(|| fail(line, 2, start))?;
    let file_start = end + 1;
    let file_end = find_comma(line, file_start)
        .filter(|&end| end > file_start)
        .ok_or_else(|| fail(line, 3, file_start))?;
    let start = file_end + 1;
    let (line_number, end) = small(line, start).ok_or_else(|| fail(line, 4, start))?;
    let function_start = end + 1;
    let function_end =
        find_comma(line, function_start).ok_or_else(|| fail(line, 5, function_start))?;
    let start = function_end + 1;
    let (state, end) = state_field(line, start).ok_or_else(|| fail(line, 6, start))?;
    Ok(RefLine {
        addr,
        delta,
        thread: Some(thread),
        file: &line[file_start..file_end],
        line: line_number,
        function: &line[function_start..function_end],
        state,
        tag: &line[end + 1..],
    })
}

/// Why field `field`, which starts at `start`, could not be read: a line with
/// fewer than seven commas was cut short, whatever else is wrong with it.
#[cold]
fn fail(line: &[u8], field: usize, start: usize) -> RefLineError {
    let commas = line.iter().filter(|&&b| b == b',').count();
    match commas {
        0..=5 => RefLineError {
            column: line.len() + 1,
            expected: "8 comma-separated fields (the line is cut short)",
        },
        6 => RefLineError {
            column: line.len() + 1,
            expected: "`,` and a tag after the state (the line is cut short)",
        },
        _ => RefLineError {
            column: start + 1,
            expected: EXPECTED[field],
        },
    }
}

/// Decimal digits from `start` up to a comma: the value and where the comma is.
/// At most 19 digits, which always fit.
#[inline]
fn unsigned(line: &[u8], start: usize) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (count, &b) in line.get(start..)?.iter().enumerate() {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return (b == b',' && (1..=19).contains(&count)).then_some((value, start + count));
        }
        value = value.wrapping_mul(10).wrapping_add(u64::from(digit));
    }
    None
}

/// [`unsigned`] that fits 32 bits (a thread id, a line number).
#[inline]
fn small(line: &[u8], start: usize) -> Option<(u32, usize)> {
    let (value, end) = unsigned(line, start)?;
    Some((u32::try_from(value).ok()?, end))
}

/// `+N`, `-N` or `N` up to a comma.
#[inline]
fn signed(line: &[u8], start: usize) -> Option<(i64, usize)> {
    let (negative, digits) = match line.get(start)? {
        b'-' => (true, start + 1),
        b'+' => (false, start + 1),
        _ => (false, start),
    };
    let (magnitude, end) = unsigned(line, digits)?;
    let magnitude = i64::try_from(magnitude).ok()?;
    Some((if negative { -magnitude } else { magnitude }, end))
}

/// The state up to its comma: a count, and the constructor, destructor and
/// invalid forms Asterisk writes, read directly; anything else by
/// [`state::csv`].
#[inline]
fn state_field(line: &[u8], start: usize) -> Option<(LineState, usize)> {
    let read = if line.get(start) == Some(&b'*') {
        starred(line, start)
    } else {
        signed(line, start).map(|(count, end)| (LineState::Count(count), end))
    };
    read.or_else(|| {
        let end = find_comma(line, start)?;
        Some((state::csv(&line[start..end])?, end))
    })
}

/// `**constructor**`, `**constructor**N**M**`, `**destructor**`,
/// `**destructor**lock-state:used|unused|none**` and `**invalid**`, each
/// followed by its comma.
fn starred(line: &[u8], start: usize) -> Option<(LineState, usize)> {
    let rest = line.get(start..)?;
    let (state, length) = if let Some(sizes) = rest.strip_prefix(b"**constructor**") {
        const AT: usize = b"**constructor**".len();
        if sizes.first() == Some(&b',') {
            let plain = LineState::Constructor {
                overhead: None,
                size: None,
            };
            (plain, AT)
        } else {
            let (overhead, end) = digits_then(sizes, 0, b"**")?;
            let (size, end) = digits_then(sizes, end, b"**")?;
            let state = LineState::Constructor {
                overhead: Some(overhead),
                size: Some(size),
            };
            (state, AT + end)
        }
    } else if let Some(lock) = rest.strip_prefix(b"**destructor**") {
        const AT: usize = b"**destructor**".len();
        let (lock, length) = if lock.first() == Some(&b',') {
            (LockUse::NotLogged, 0)
        } else if lock.starts_with(b"lock-state:unused**") {
            (LockUse::Unused, b"lock-state:unused**".len())
        } else if lock.starts_with(b"lock-state:used**") {
            (LockUse::Used, b"lock-state:used**".len())
        } else if lock.starts_with(b"lock-state:none**") {
            (LockUse::None, b"lock-state:none**".len())
        } else {
            return None;
        };
        (LineState::Destructor { lock }, AT + length)
    } else if rest.starts_with(b"**invalid**") {
        (LineState::Invalid, b"**invalid**".len())
    } else {
        return None;
    };
    (rest.get(length) == Some(&b',')).then_some((state, start + length))
}

/// 1 to 19 digits from `from`, then `stop`: the value and where `stop` ends.
fn digits_then(bytes: &[u8], from: usize, stop: &[u8]) -> Option<(u64, usize)> {
    let digits = bytes.get(from..)?;
    let count = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if !(1..=19).contains(&count) || !digits[count..].starts_with(stop) {
        return None;
    }
    let value = digits[..count]
        .iter()
        .fold(0u64, |v, &b| v * 10 + u64::from(b - b'0'));
    Some((value, from + count + stop.len()))
}

/// The first comma at or after `from`, eight bytes at a time.
#[inline]
fn find_comma(line: &[u8], from: usize) -> Option<usize> {
    let mut base = from;
    while let Some(word) = line.get(base..base + 8) {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(word);
        let mask = has_byte(u64::from_le_bytes(eight), b',');
        if mask != 0 {
            return Some(base + (mask.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    line.get(base..)?
        .iter()
        .position(|&b| b == b',')
        .map(|i| base + i)
}
