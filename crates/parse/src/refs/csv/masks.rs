//! The usual CSV line read from a mask of its commas. The line's first 128
//! bytes are compared with `,` sixteen at a time, whatever their length, into
//! one 128-bit mask (the bytes after the line, which the caller lets us read,
//! are masked off), and the fields' ends are its set bits. Each number is then
//! checked and read as one word, eight digits at once.
//!
//! Reading byte by byte, each field's start waits for the end of the field
//! before it, found one byte and one branch at a time; here the commas are
//! found all at once, and the fields are read independently of each other.
//!
//! Only what this reader is sure of is read here: any line it does not take
//! (a number of more than eight digits, a state other than a count or one of
//! the starred forms, a seventh comma past byte 128, fewer than 128 bytes to
//! read) goes to the byte-by-byte reader, which also words every error. So
//! this reader can only be faster, never different: the tests compare the two.

use ast_locks_model::refs::LockUse;
use ast_locks_model::refs::{LineBytes, LineState, RefLine, READ_AHEAD};
use wide::u8x16;

/// The line, or `None` when the byte-by-byte reader must read it.
#[inline]
pub(super) fn read(bytes: LineBytes<'_>, addr: u64, addr_end: usize) -> Option<RefLine<'_>> {
    let line = bytes.line();
    let ahead: &[u8; READ_AHEAD] = bytes.ahead().get(..READ_AHEAD)?.try_into().ok()?;
    // The six commas after the address's, in order. Commas past the line's
    // end come after all of its own, and the tag's range below is checked
    // against the line: a line with fewer commas is not read here.
    let mut rest = commas(ahead) & !low_bits(addr_end + 1);
    let mut next = || {
        let at = rest.trailing_zeros() as usize;
        rest &= rest.wrapping_sub(1);
        (at < READ_AHEAD).then_some(at)
    };
    let delta_end = next()?;
    let thread_end = next()?;
    let file_end = next()?;
    let line_end = next()?;
    let function_end = next()?;
    let state_end = next()?;

    let delta = signed(ahead, addr_end + 1, delta_end).filter(|&d| d != 0)?;
    let thread = decimal(ahead, delta_end + 1, thread_end)?;
    let file_start = thread_end + 1;
    if file_end == file_start {
        return None;
    }
    let line_number = decimal(ahead, file_end + 1, line_end)?;
    let function_start = line_end + 1;
    let state_start = function_end + 1;
    let state = if ahead[state_start] == b'*' {
        starred(ahead, state_start, state_end)?
    } else {
        LineState::Count(signed(ahead, state_start, state_end)?)
    };
    Some(RefLine {
        addr,
        delta,
        thread: Some(u32::try_from(thread).ok()?),
        file: line.get(file_start..file_end)?,
        line: u32::try_from(line_number).ok()?,
        function: line.get(function_start..function_end)?,
        state,
        tag: line.get(state_end + 1..)?,
    })
}

/// The starred states Asterisk writes, in `start..end`, compared eight bytes
/// at a time: `**constructor**`, `**constructor**N**M**`, `**destructor**`,
/// `**destructor**lock-state:unused|used|none**` and `**invalid**` (their
/// patterns hold no comma, so each is the whole field or not there at all).
#[inline]
fn starred(ahead: &[u8; READ_AHEAD], start: usize, end: usize) -> Option<LineState> {
    let word = |at: usize| load(ahead, at);
    let length = end - start;
    if word(start)? == text(b"**constr") && word(start + 7)? == text(b"ructor**") {
        if length == CONSTRUCTOR {
            return Some(LineState::Constructor {
                overhead: None,
                size: None,
            });
        }
        let (overhead, after) = starred_number(ahead, start + CONSTRUCTOR)?;
        let (size, after) = starred_number(ahead, after)?;
        return (after == end).then_some(LineState::Constructor {
            overhead: Some(overhead),
            size: Some(size),
        });
    }
    if word(start)? == text(b"**destru") && word(start + 6)? == text(b"ructor**") {
        let lock = start + DESTRUCTOR;
        let lock = match length - DESTRUCTOR {
            0 => LockUse::NotLogged,
            _ if word(lock)? != text(b"lock-sta") => return None,
            // "lock-sta" and "e:…**" leave out the "t" between them.
            17 if ahead.get(lock + 8) != Some(&b't') => return None,
            17 if word(lock + 9)? == text(b"e:used**") => LockUse::Used,
            17 if word(lock + 9)? == text(b"e:none**") => LockUse::None,
            19 if word(lock + 11)? == text(b"unused**") && word(lock + 8)? == text(b"te:unuse") => {
                LockUse::Unused
            }
            _ => return None,
        };
        return Some(LineState::Destructor { lock });
    }
    let invalid = length == INVALID
        && word(start)? == text(b"**invali")
        && word(start + 3)? == text(b"nvalid**");
    invalid.then_some(LineState::Invalid)
}

const CONSTRUCTOR: usize = b"**constructor**".len();
const DESTRUCTOR: usize = b"**destructor**".len();
const INVALID: usize = b"**invalid**".len();

/// Eight bytes as a word, the first lowest.
#[inline]
fn text(eight: &[u8; 8]) -> u64 {
    u64::from_le_bytes(*eight)
}

/// The eight bytes at `at`, if all are in the buffer.
#[inline]
fn load(ahead: &[u8; READ_AHEAD], at: usize) -> Option<u64> {
    let mut eight = [0u8; 8];
    eight.copy_from_slice(ahead.get(at..at + 8)?);
    Some(u64::from_le_bytes(eight))
}

/// 1 to 7 digits at `at`, then `**`: the value and where the `**` ends.
#[inline]
fn starred_number(ahead: &[u8; READ_AHEAD], at: usize) -> Option<(u64, usize)> {
    let word = load(ahead, at)?;
    let not_digit = (word.wrapping_add(0x4646_4646_4646_4646) | word.wrapping_sub(ZEROS)) & HIGH;
    // The first byte that is not a digit is seen exactly (see `all_digits`).
    let count = (not_digit.trailing_zeros() / 8) as usize;
    if !(1..=7).contains(&count) || ahead.get(at + count..at + count + 2)? != b"**" {
        return None;
    }
    // The digits to the top of the word, zeros below them: leading zeros.
    Some((eight_digits(word << (8 * (8 - count))), at + count + 2))
}

/// Bit `i` set when byte `i` is a comma.
#[inline]
fn commas(ahead: &[u8; READ_AHEAD]) -> u128 {
    let comma = u8x16::splat(b',');
    let mut mask = 0u128;
    for (k, sixteen) in ahead.chunks_exact(16).enumerate() {
        let mut block = [0u8; 16];
        block.copy_from_slice(sixteen);
        let found = u8x16::new(block).simd_eq(comma).to_bitmask();
        mask |= u128::from(found) << (16 * k);
    }
    mask
}

/// Bits `0..n`, all of them from 128 on.
#[inline]
fn low_bits(n: usize) -> u128 {
    match n {
        0 => 0,
        1..=127 => u128::MAX >> (128 - n),
        _ => u128::MAX,
    }
}

/// `+N`, `-N` or `N` in `start..end`.
#[inline(always)]
fn signed(ahead: &[u8; READ_AHEAD], start: usize, end: usize) -> Option<i64> {
    let (negative, digits) = match ahead.get(start)? {
        b'-' => (true, start + 1),
        b'+' => (false, start + 1),
        _ => (false, start),
    };
    let magnitude = i64::try_from(decimal(ahead, digits, end)?).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// 1 to 8 digits in `start..end` and nothing else: the eight bytes that end
/// at `end` are loaded, those before `start` made `0`s (leading zeros), and
/// the word checked and read at once.
#[inline(always)]
fn decimal(ahead: &[u8; READ_AHEAD], start: usize, end: usize) -> Option<u64> {
    let count = end.checked_sub(start)?;
    if count == 1 {
        // Most changes and counts: `1`, `2`.
        let digit = ahead.get(start)?.wrapping_sub(b'0');
        return (digit <= 9).then_some(u64::from(digit));
    }
    if !(2..=8).contains(&count) {
        return None;
    }
    let mut eight = [0u8; 8];
    eight.copy_from_slice(ahead.get(end.checked_sub(8)?..end)?);
    let number = u64::MAX << (8 * (8 - count));
    let word = u64::from_le_bytes(eight) & number | ZEROS & !number;
    all_digits(word).then(|| eight_digits(word))
}

const ZEROS: u64 = 0x3030_3030_3030_3030;

/// Whether all eight bytes are `0`–`9`. A byte above `9` gets its high bit
/// set by adding 0x46, one below `0` by taking 0x30 (or, at 0xba and up,
/// both); a carry or borrow only reaches the bytes after a non-digit, whose
/// own bit is set already.
#[inline]
fn all_digits(word: u64) -> bool {
    let high = word.wrapping_add(0x4646_4646_4646_4646) | word.wrapping_sub(ZEROS);
    high & HIGH == 0
}

const HIGH: u64 = 0x8080_8080_8080_8080;

/// The value of eight ASCII digits, the first in the lowest byte: pairs,
/// then fours, then all eight, by multiplication.
#[inline]
fn eight_digits(word: u64) -> u64 {
    let digits = word & 0x0f0f_0f0f_0f0f_0f0f;
    let pairs = (digits.wrapping_mul(10 << 8 | 1) >> 8) & 0x00ff_00ff_00ff_00ff;
    let fours = (pairs.wrapping_mul(100 << 16 | 1) >> 16) & 0x0000_ffff_0000_ffff;
    fours.wrapping_mul(10_000 << 32 | 1) >> 32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refs::line_key;
    use crate::refs::tests::REAL_LINES;

    #[test]
    fn the_usual_lines_are_read_here_as_byte_by_byte() {
        // Every state Asterisk writes but `lock-state:lockobj` and the like
        // (15.7 with DEBUG_THREADS) is read from the mask, not left to the
        // byte reader.
        for line in REAL_LINES {
            let mut padded = line.as_bytes().to_vec();
            padded.resize(line.len() + READ_AHEAD, 0);
            let bytes = LineBytes::within(&padded, line.len());
            let key = line_key(line.as_bytes()).expect("an address");
            let end = key.end as usize;
            let read = read(bytes, key.addr, end);
            assert!(read.is_some(), "{line}");
            assert_eq!(
                read,
                super::super::bytewise(line.as_bytes(), key.addr, end).ok(),
                "{line}"
            );
        }
    }

    /// `text` at the end of 8 bytes of padding, in a full read-ahead buffer.
    fn padded(text: &str) -> ([u8; READ_AHEAD], usize, usize) {
        let mut ahead = [b'x'; READ_AHEAD];
        ahead[8..8 + text.len()].copy_from_slice(text.as_bytes());
        (ahead, 8, 8 + text.len())
    }

    #[test]
    fn numbers_of_every_length_up_to_eight_digits() {
        for (text, value) in [
            ("0", 0u64),
            ("1", 1),
            ("9", 9),
            ("12", 12),
            ("123", 123),
            ("28975", 28975),
            ("1234567", 1_234_567),
            ("99999999", 99_999_999),
            ("00000000", 0),
            ("10000000", 10_000_000),
        ] {
            let (ahead, start, end) = padded(text);
            assert_eq!(decimal(&ahead, start, end), Some(value), "{text}");
        }
    }

    #[test]
    fn numbers_this_reader_leaves_to_the_byte_reader() {
        for text in [
            "",
            "123456789",
            "1-2",
            "1 2",
            "+1",
            "12a",
            "a12",
            "a",
            "/",
            ":",
            "+",
            "-",
            ",",
        ] {
            let (ahead, start, end) = padded(text);
            assert_eq!(decimal(&ahead, start, end), None, "{text:?}");
        }
    }

    #[test]
    fn every_byte_that_is_not_a_digit_is_seen_at_every_place() {
        for place in 0..8 {
            for byte in 0..=255u8 {
                let mut word = *b"12345678";
                word[place] = byte;
                let expect = byte.is_ascii_digit();
                assert_eq!(
                    all_digits(u64::from_le_bytes(word)),
                    expect,
                    "byte {byte:#x} at {place}"
                );
            }
        }
    }
}
