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
    let fail = || nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Digit));
    // One pass: hours, minutes, seconds, then the fraction, each accumulated as read
    // (checked: hours have any number of digits).
    let mut at = 0usize;
    let mut fields = [0u64; 4];
    let mut overflow = false;
    let mut frac_digits = 0usize;
    for (k, sep) in [Some(b':'), Some(b':'), Some(b'.'), None]
        .into_iter()
        .enumerate()
    {
        let start = at;
        while let Some(d) = b.get(at).filter(|c| c.is_ascii_digit()) {
            match fields[k]
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d - b'0')))
            {
                Some(v) => fields[k] = v,
                None => overflow = true,
            }
            at += 1;
        }
        if at == start {
            return Err(fail());
        }
        if k == 3 {
            frac_digits = at - start;
        }
        if let Some(sep) = sep {
            if b.get(at) != Some(&sep) {
                return Err(fail());
            }
            at += 1;
        }
    }
    let [h, m, sec, frac] = fields;
    let micros = if overflow || frac_digits > 6 {
        None
    } else {
        let us = frac * 10u64.pow((6 - frac_digits) as u32);
        h.checked_mul(3600)
            .and_then(|x| x.checked_add(m.checked_mul(60)?))
            .and_then(|x| x.checked_add(sec))
            .and_then(|x| x.checked_mul(1_000_000))
            .and_then(|x| x.checked_add(us))
    };
    Ok((
        &i[at..],
        Clock {
            text: Cow::Borrowed(&i[..at]),
            micros,
        },
    ))
}

fn number(i: &str) -> IResult<&str, u32> {
    nom::combinator::map_res(digit1, str::parse).parse(i)
}

/// The body of a timing line (after `===` and its blanks).
pub fn timing_line(line: &str) -> IResult<&str, TimingLine<'_>> {
    let (i, last_locked) = clock(line)?;
    let (i, _) = tag(", ").parse(i)?;
    let (i, last_failed) = clock(i)?;
    let (i, _) = tag(", ").parse(i)?;
    let (i, held_for) = clock(i)?;
    // The clocks are kept as the one span they were printed as.
    let clocks = &line[..line.len() - i.len()];
    let first_end = last_locked.text.len();
    let ends = [first_end, first_end + 2 + last_failed.text.len()];
    let (i, _) = tag(" (").parse(i)?;
    let (i, times_locked) = number(i)?;
    let (i, _) = tag(", ").parse(i)?;
    let (i, attempts) = number(i)?;
    let (i, suspended) = opt(tag(" - suspended")).parse(i)?;
    let (i, _) = char(')').parse(i)?;
    Ok((
        i,
        TimingLine {
            timing: Timing::printed(
                clocks,
                ends,
                [last_locked.micros, last_failed.micros, held_for.micros],
            ),
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
                        t.timing.last_locked().micros.unwrap_or(u64::MAX),
                        t.timing.last_failed().micros.unwrap_or(u64::MAX),
                        t.timing.held_for().micros.unwrap_or(u64::MAX),
                        t.times_locked,
                        t.attempts,
                        t.suspended,
                    )
                });
            assert_eq!(got, *want, "{input}");
        }
    }

    #[test]
    fn timing_keeps_each_clock_as_printed_in_one_span() {
        let line = "1:00:00.5, 0:00:00.000000, 99999999999999999999:00:00.000000 (2, 3)";
        let (_, t) = timing_line(line).unwrap();
        let t = t.timing;
        assert_eq!(t.last_locked().text, "1:00:00.5");
        assert_eq!(t.last_locked().micros, Some(3_600_500_000));
        assert_eq!(t.last_failed().text, "0:00:00.000000");
        assert_eq!(t.held_for().text, "99999999999999999999:00:00.000000");
        assert_eq!(t.held_for().micros, None);
        assert_eq!(t.text().as_ptr(), line.as_ptr(), "borrowed from the line");
        assert_eq!(t.text().len(), line.find(" (").unwrap());
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
