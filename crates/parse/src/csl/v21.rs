//! Asterisk 21 and later: the lock line has no tail; each entry is followed by
//! a timing line, and the banner carries the time of the dump.
//!
//! `===      H:MM:SS.uuuuuu, H:MM:SS.uuuuuu, H:MM:SS.uuuuuu (<times locked>, <attempts>[ - suspended])`
//! gives last locked, last failed and held for. The legend line says
//! `(attempts, times locked)` but the code prints times locked first.

use ast_locks_model::{Clock, Timing};
use nom::bytes::complete::tag;
use nom::character::complete::{char, digit1};
use nom::combinator::opt;
use nom::{IResult, Parser};
use std::borrow::Cow;

/// What a timing line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimingLine<'a> {
    /// The three clocks.
    pub timing: Timing<'a>,
    /// First number in the parentheses.
    pub times_locked: u32,
    /// Second number in the parentheses.
    pub attempts: u32,
    /// ` - suspended` before the closing parenthesis.
    pub suspended: bool,
}

/// `H:MM:SS.uuuuuu` with any number of hour digits.
///
/// Written by hand rather than with nom: a 21+ dump has one timing line per lock
/// entry, three clocks each, and this is on the parser's hottest path.
pub fn clock(i: &str) -> IResult<&str, Clock<'_>> {
    let b = i.as_bytes();
    let mut at = 0usize;
    let digits = |at: &mut usize| -> bool {
        let start = *at;
        while b.get(*at).is_some_and(u8::is_ascii_digit) {
            *at += 1;
        }
        *at > start
    };
    let fail = || nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Digit));
    for sep in [b':', b':', b'.'] {
        if !digits(&mut at) || b.get(at) != Some(&sep) {
            return Err(fail());
        }
        at += 1;
    }
    if !digits(&mut at) {
        return Err(fail());
    }
    let text = &i[..at];
    Ok((
        &i[at..],
        Clock {
            text: Cow::Borrowed(text),
            micros: clock_micros(text),
        },
    ))
}

fn clock_micros(text: &str) -> Option<u64> {
    let (hms, frac) = text.split_once('.')?;
    let mut parts = hms.split(':');
    let h: u64 = parts.next()?.parse().ok()?;
    let m: u64 = parts.next()?.parse().ok()?;
    let s: u64 = parts.next()?.parse().ok()?;
    if frac.len() > 6 {
        return None;
    }
    let mut us: u64 = frac.parse().ok()?;
    for _ in frac.len()..6 {
        us *= 10;
    }
    h.checked_mul(3600)?
        .checked_add(m.checked_mul(60)?)?
        .checked_add(s)?
        .checked_mul(1_000_000)?
        .checked_add(us)
}

fn number(i: &str) -> IResult<&str, u32> {
    nom::combinator::map_res(digit1, str::parse).parse(i)
}

/// The body of a timing line (after `===` and its blanks).
pub fn timing_line(i: &str) -> IResult<&str, TimingLine<'_>> {
    let (i, last_locked) = clock(i)?;
    let (i, _) = tag(", ").parse(i)?;
    let (i, last_failed) = clock(i)?;
    let (i, _) = tag(", ").parse(i)?;
    let (i, held_for) = clock(i)?;
    let (i, _) = tag(" (").parse(i)?;
    let (i, times_locked) = number(i)?;
    let (i, _) = tag(", ").parse(i)?;
    let (i, attempts) = number(i)?;
    let (i, suspended) = opt(tag(" - suspended")).parse(i)?;
    let (i, _) = char(')').parse(i)?;
    Ok((
        i,
        TimingLine {
            timing: Timing {
                last_locked,
                last_failed,
                held_for,
            },
            times_locked,
            attempts,
            suspended: suspended.is_some(),
        },
    ))
}

/// ` at Time: <clock>` after `Currently Held Locks`.
pub fn banner_time(i: &str) -> Option<&str> {
    let rest = i.strip_prefix(" at Time: ")?;
    let end = rest.find(' ').unwrap_or(rest.len());
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_line_table() {
        /// (line, Some((last locked, last failed, held for, times, attempts, suspended)))
        type Row<'r> = (&'r str, Option<(u64, u64, u64, u32, u32, bool)>);
        let rows: &[Row] = &[
            (
                "498697:44:26.882753, 00:00:00.000000, 00:00:02.989754 (1, 1)",
                Some((1_795_311_866_882_753, 0, 2_989_754, 1, 1, false)),
            ),
            (
                "00:00:01.5, 00:00:00.000000, 01:02:03.000004 (0, 277)",
                Some((1_500_000, 0, 3_723_000_004, 0, 277, false)),
            ),
            (
                "1:00:00.000000, 0:00:00.000000, 0:00:00.000001 (2, 3 - suspended)",
                Some((3_600_000_000, 0, 1, 2, 3, true)),
            ),
            ("498697:44:26.882753, 00:00:00.000000 (1, 1)", None),
            (
                "498697:44:26.882753, 00:00:00.000000, 00:00:02.989754",
                None,
            ),
        ];
        for (input, want) in rows {
            let got = timing_line(input)
                .ok()
                .filter(|(r, _)| r.is_empty())
                .map(|(_, t)| {
                    (
                        t.timing.last_locked.micros.unwrap_or(u64::MAX),
                        t.timing.last_failed.micros.unwrap_or(u64::MAX),
                        t.timing.held_for.micros.unwrap_or(u64::MAX),
                        t.times_locked,
                        t.attempts,
                        t.suspended,
                    )
                });
            assert_eq!(got, *want, "{input}");
        }
    }

    #[test]
    fn huge_hours_do_not_overflow() {
        let (_, c) = clock("99999999999999999999:00:00.000000").unwrap();
        assert_eq!(c.micros, None);
        assert_eq!(c.text, "99999999999999999999:00:00.000000");
    }

    #[test]
    fn banner_time_table() {
        assert_eq!(
            banner_time(" at Time: 498697:44:29.872492 ======"),
            Some("498697:44:29.872492")
        );
        assert_eq!(banner_time(" ======"), None);
    }
}
