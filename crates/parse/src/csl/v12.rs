//! Asterisk 12 – 20: what this generation added to the lines of 1.6 – 11.
//!
//! - `LWP:<n>` in the thread header when the kernel thread id is known;
//! - ` (<times locked> - suspended)` as an alternative lock-line tail;
//! - `Tried and failed to get ` entries (a failed trylock; not a wait);
//! - a `=== <version>` line above the banner (also printed by 21+).

use nom::bytes::complete::tag;
use nom::character::complete::digit1;
use nom::sequence::delimited;
use nom::{IResult, Parser};

/// ` LWP:<n>` after the thread id. `-1` (kernel id not known) is accepted and
/// read as no LWP by the caller, so such a header is not lost.
pub fn lwp(i: &str) -> IResult<&str, &str> {
    delimited(
        tag(" LWP:"),
        nom::combinator::recognize((nom::combinator::opt(tag("-")), digit1)),
        nom::combinator::peek(tag(" ")),
    )
    .parse(i)
}

/// Split ` (<times locked> - suspended)` off the end of a lock line's rest.
pub fn suspended_tail(rest: &str) -> Option<(&str, u32)> {
    super::v1_6::split_count(rest.strip_suffix(" - suspended)")?)
}

/// The version line printed above the banner: one token such as `18.0.0`,
/// `GIT-master-1234abc`, `certified/18.9-cert1`.
pub fn version(body: &str) -> Option<&str> {
    let ok = !body.is_empty()
        && !body.contains(char::is_whitespace)
        && body.chars().any(|c| c.is_ascii_digit())
        && !body.starts_with(['<', '-', '=']);
    ok.then_some(body)
}

/// `Tried and failed to get ` before `Lock #`.
pub fn tried_prefix(i: &str) -> IResult<&str, &str> {
    tag("Tried and failed to get ").parse(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suspended_tail_table() {
        let rows: &[(&str, Option<(&str, u32)>)] = &[
            (
                "&chan->lock 0x55d0c3a1b2c3 (1 - suspended)",
                Some(("&chan->lock 0x55d0c3a1b2c3", 1)),
            ),
            ("&chan->lock 0x55d0c3a1b2c3 (1)", None),
            ("&chan->lock 0x55d0c3a1b2c3 ( - suspended)", None),
        ];
        for (input, want) in rows {
            assert_eq!(suspended_tail(input), *want, "{input}");
        }
    }

    #[test]
    fn version_table() {
        for (input, want) in [
            ("22.0.0", true),
            ("GIT-master-1234abc", true),
            ("certified/18.9-cert1", true),
            ("Currently Held Locks", false),
            ("<pending> <lock#>", false),
            ("", false),
            ("-----", false),
        ] {
            assert_eq!(version(input).is_some(), want, "{input}");
        }
    }

    #[test]
    fn lwp_table() {
        assert_eq!(lwp(" LWP:32380 (x)"), Ok((" (x)", "32380")));
        assert!(lwp(" (x)").is_err());
        assert!(lwp(" LWP:abc (x)").is_err());
        assert_eq!(lwp(" LWP:-1 (x)"), Ok((" (x)", "-1")));
    }
}
