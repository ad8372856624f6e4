//! Asterisk refs logs, every shape Asterisk has written since 1.6: one line at a
//! time, borrowed, so that a multi-gigabyte log streams through.
//!
//! - [`csv`]: `addr,delta,tid,file,line,func,state,tag` (1.8.28/11.10/12.3 and
//!   later), with every state variant: `**constructor**`, `**constructor**N**M**`,
//!   `**destructor**`, `**destructor**lock-state:X**`, `**invalid**` and integers
//!   (including `-1`); the tag is the rest of the line and may hold commas.
//! - [`legacy`]: the space-separated `/tmp/refs` lines of 1.6 to 11.9
//!   (`0x8930fd8 +1   chan_sip.c:21467:reload_config (tag) [@1]`, `=1` constructors,
//!   `**call destructor**`).
//!
//! [`GRAMMAR`] is what the streaming analysis is given.
//!
//! ```
//! use ast_locks_model::refs::LineState;
//! let line = b"0x55a4e9502d78,-2,28975,res_refs_demo.c,500,r4_over_release,**invalid**,r4c release by 2 (BUG)";
//! let parsed = ast_locks_parse::refs::parse_line(line).unwrap();
//! assert_eq!((parsed.addr, parsed.delta, parsed.state), (0x55a4e9502d78, -2, LineState::Invalid));
//! assert_eq!(parsed.tag, b"r4c release by 2 (BUG)");
//! ```

pub mod csv;
pub mod legacy;
mod state;
#[cfg(test)]
mod tests;

use ast_locks_model::refs::{LineBytes, LineKey, RefLine, RefLineError, RefsFormat, RefsGrammar};
use wide::bytemuck::cast;
use wide::{i16x8, u16x8, u8x16};

/// The refs grammar, for [`ast_locks_model::refs::RefsGrammar`] users.
pub const GRAMMAR: RefsGrammar = RefsGrammar {
    key: line_key,
    parse: parse_keyed,
};

/// The address a line is about and where it ends, for [`parse_keyed`]. The
/// reading thread calls this for every line of a log, so the usual address
/// (`0x` and up to 16 hex digits, then `,` or a space) is read sixteen digits
/// at a time; anything else is read by [`key`] and `parse_addr`.
pub fn line_key(line: &[u8]) -> Option<LineKey> {
    if let Some(found) = hex_key(line) {
        return Some(found);
    }
    let key = key(line);
    let addr = parse_addr(key)?;
    Some(LineKey {
        addr,
        end: u32::try_from(key.len()).ok()?,
    })
}

/// `0x`, 1 to 16 hex digits and the separator, without a branch per digit:
/// the sixteen bytes after `0x` are classified and turned into nibbles at
/// once (one SSE2 register), neighbouring nibbles joined into bytes, and the
/// eight bytes read as one word.
fn hex_key(line: &[u8]) -> Option<LineKey> {
    let (prefix, digits) = (line.get(..2)?, line.get(2..18)?);
    if prefix != b"0x" && prefix != b"0X" {
        return None;
    }
    let mut sixteen = [0u8; 16];
    sixteen.copy_from_slice(digits);
    let bytes = u8x16::new(sixteen);
    // A digit less `0` is at most 9; a letter, lowercased, less `a`, at most 5
    // (both unsigned: whatever is below wraps to a large value).
    let digit = bytes - u8x16::splat(b'0');
    let is_digit = digit.min(u8x16::splat(9)).simd_eq(digit);
    let letter = (bytes | u8x16::splat(0x20)) - u8x16::splat(b'a');
    let is_letter = letter.min(u8x16::splat(5)).simd_eq(letter);
    let hex = (is_digit | is_letter).to_bitmask();
    // Digits run from the start up to the first byte that is not one.
    let count = (!hex).trailing_zeros().min(16) as usize;
    if count == 0 || !matches!(line.get(2 + count), Some(b',' | b' ')) {
        return None;
    }
    let nibbles = (digit & is_digit) | ((letter + u8x16::splat(10)) & is_letter);
    // Each 16-bit lane holds two digits, the first in its low byte: join them
    // into one byte, the first digit high, and narrow the lanes to bytes.
    let lanes: u16x8 = cast(nibbles);
    let pairs = ((lanes << 4) | (lanes >> 8)) & u16x8::splat(0x00ff);
    let pairs: i16x8 = cast(pairs);
    let packed = u8x16::narrow_i16x8(pairs, pairs).to_array();
    let mut eight = [0u8; 8];
    eight.copy_from_slice(&packed[..8]);
    // The first digit is the most significant; what follows the last digit
    // is shifted out.
    let all = u64::from_be_bytes(eight);
    Some(LineKey {
        addr: all >> (4 * (16 - count)),
        end: 2 + count as u32,
    })
}

const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
const BYTE_ONES: u64 = 0x0101_0101_0101_0101;

/// [`parse_line`], given the [`line_key`] of this line when the caller has
/// read it already: the CSV reader then starts after the address. Given the
/// bytes after the line to read ahead into, it reads fastest.
pub fn parse_keyed(
    bytes: LineBytes<'_>,
    key: Option<LineKey>,
) -> Result<RefLine<'_>, RefLineError> {
    let bytes = match bytes.line().last() {
        Some(b'\r') => bytes.shortened(1),
        _ => bytes,
    };
    let line = bytes.line();
    match key {
        Some(LineKey { addr, end }) if line.get(end as usize) == Some(&b',') => {
            csv::parse_after_address(bytes, addr, end as usize)
        }
        _ => parse_line(line),
    }
}

/// An address is at most this long (`0x` and 16 hex digits, or `(nil)`).
const MAX_ADDR: usize = 18;

/// The address as written: the bytes before the first `,` (CSV) or space
/// (legacy). Called for every line of a log by every worker, so the first 16
/// bytes are searched a word at a time.
pub fn key(line: &[u8]) -> &[u8] {
    if let Some(word) = line.get(..16) {
        for (half, bytes) in word.chunks_exact(8).enumerate() {
            let mut eight = [0u8; 8];
            eight.copy_from_slice(bytes);
            let w = u64::from_le_bytes(eight);
            let found = has_byte(w, b',') | has_byte(w, b' ');
            if found != 0 {
                let end = half * 8 + (found.trailing_zeros() / 8) as usize;
                return &line[..end];
            }
        }
    }
    let head = &line[..line.len().min(MAX_ADDR + 1)];
    match head.iter().position(|&b| b == b',' || b == b' ') {
        Some(end) => &head[..end],
        None => head,
    }
}

/// The high bit of every byte of `w` that equals `b` (exact for the lowest
/// such byte, which is all [`key`] and the CSV reader's comma search need).
pub(crate) fn has_byte(w: u64, b: u8) -> u64 {
    let x = w ^ (BYTE_ONES * u64::from(b));
    x.wrapping_sub(BYTE_ONES) & !x & HIGH_BITS
}

/// Which format a line is in, from the byte after its address.
pub fn format_of(line: &[u8]) -> Option<RefsFormat> {
    match line.get(key(line).len()) {
        Some(b',') => Some(RefsFormat::Csv),
        Some(b' ') => Some(RefsFormat::Legacy),
        _ => None,
    }
}

/// Read one line (without its newline; a trailing `\r` is ignored).
pub fn parse_line(line: &[u8]) -> Result<RefLine<'_>, RefLineError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match format_of(line) {
        Some(RefsFormat::Csv) => csv::parse(line),
        Some(RefsFormat::Legacy) => legacy::parse(line),
        None => Err(RefLineError {
            column: key(line).len() + 1,
            expected: "an object address followed by `,` or a space",
        }),
    }
}

/// `0x` and lowercase or uppercase hex digits, as glibc's `%p` prints them.
pub(crate) fn parse_addr(text: &[u8]) -> Option<u64> {
    let hex = text
        .strip_prefix(b"0x")
        .or_else(|| text.strip_prefix(b"0X"))?;
    if hex.is_empty() || hex.len() > 16 {
        return None;
    }
    // Table-driven: no branch per digit (this runs for every line).
    let mut value = 0u64;
    let mut bad = 0u8;
    for &b in hex {
        let digit = HEX[b as usize];
        bad |= digit;
        value = value << 4 | u64::from(digit & 0x0f);
    }
    (bad & 0x80 == 0).then_some(value)
}

/// Hex digit values; 0x80 for anything else.
const HEX: [u8; 256] = {
    let mut t = [0x80u8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Decimal digits, with an optional sign: `+1`, `-2`, `3`.
pub(crate) fn parse_signed(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = parse_unsigned(digits)?;
    let magnitude = i64::try_from(magnitude).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// Decimal digits only.
pub(crate) fn parse_unsigned(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut value = 0u64;
    let mut bad = false;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        bad |= d > 9;
        value = value.wrapping_mul(10).wrapping_add(u64::from(d));
    }
    (!bad).then_some(value)
}
