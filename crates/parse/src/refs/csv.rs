//! The comma-separated refs line: `addr,delta,tid,file,line,func,state,tag`.
//!
//! This is the hot loop of a multi-gigabyte log, so the fields are found with
//! `memchr` rather than a combinator per byte; the state field, which has a
//! grammar of its own, is read in [`super::state`].

use super::{parse_addr, parse_signed, parse_unsigned, state};
use ast_locks_model::refs::{RefLine, RefLineError};

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
    let fields = split(line)?;
    let err = |i: usize| RefLineError {
        column: fields.starts[i] + 1,
        expected: EXPECTED[i],
    };
    let addr = parse_addr(fields.get(line, 0)).ok_or_else(|| err(0))?;
    let delta = parse_signed(fields.get(line, 1))
        .filter(|d| *d != 0)
        .ok_or_else(|| err(1))?;
    let thread = parse_unsigned(fields.get(line, 2))
        .and_then(|t| u32::try_from(t).ok())
        .ok_or_else(|| err(2))?;
    let file = fields.get(line, 3);
    if file.is_empty() {
        return Err(err(3));
    }
    let line_number = parse_unsigned(fields.get(line, 4))
        .and_then(|l| u32::try_from(l).ok())
        .ok_or_else(|| err(4))?;
    let state = state::csv(fields.get(line, 6)).ok_or_else(|| err(6))?;
    Ok(RefLine {
        addr,
        delta,
        thread: Some(thread),
        file,
        line: line_number,
        function: fields.get(line, 5),
        state,
        tag: &line[fields.tag..],
    })
}

/// Where the seven fields and the tag start.
struct Fields {
    starts: [usize; 7],
    ends: [usize; 7],
    tag: usize,
}

impl Fields {
    fn get<'a>(&self, line: &'a [u8], i: usize) -> &'a [u8] {
        &line[self.starts[i]..self.ends[i]]
    }
}

/// Split on the first seven commas: the tag keeps the rest, commas and all.
/// Eight bytes at a time: this runs for every line of a log.
fn split(line: &[u8]) -> Result<Fields, RefLineError> {
    let mut commas = [0usize; 7];
    let mut found = 0;
    let mut base = 0;
    'words: while let Some(word) = line.get(base..base + 8) {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(word);
        let mut mask = comma_bytes(u64::from_le_bytes(eight));
        while mask != 0 {
            commas[found] = base + (mask.trailing_zeros() / 8) as usize;
            found += 1;
            if found == 7 {
                break 'words;
            }
            mask &= mask - 1;
        }
        base += 8;
    }
    if found < 7 {
        for (i, &b) in line.iter().enumerate().skip(base) {
            if b == b',' {
                commas[found] = i;
                found += 1;
                if found == 7 {
                    break;
                }
            }
        }
    }
    if found < 7 {
        return Err(RefLineError {
            column: line.len() + 1,
            expected: if found == 6 {
                "`,` and a tag after the state (the line is cut short)"
            } else {
                "8 comma-separated fields (the line is cut short)"
            },
        });
    }
    let mut starts = [0usize; 7];
    for i in 1..7 {
        starts[i] = commas[i - 1] + 1;
    }
    Ok(Fields {
        starts,
        ends: commas,
        tag: commas[6] + 1,
    })
}

/// The high bit of every byte of `w` that is a comma. Exact: each byte is
/// compared on its own (no borrow runs between bytes), so every comma is
/// found, as [`split`] needs.
fn comma_bytes(w: u64) -> u64 {
    const LOWS: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = w ^ 0x2c2c_2c2c_2c2c_2c2c;
    // A byte of x is zero exactly where w had a comma.
    let y = (x & LOWS).wrapping_add(LOWS);
    !(y | x | LOWS)
}
