//! Asterisk 1.6 – 11: what only this generation's lines look like.
//!
//! The lock line ends in ` (<times locked>)`; thread headers have no LWP and
//! 1.6 – 1.8 print the thread id in decimal (handled by the common header
//! grammar, which keeps the id as printed).

/// Split ` (<times locked>)` off the end of a lock line's rest.
/// Returns the text before it and the count.
pub fn count_tail(rest: &str) -> Option<(&str, u32)> {
    split_count(rest.strip_suffix(')')?)
}

/// `<before> (<digits>` → (`<before>`, digits): the part of a tail that every
/// generation up to 20 shares.
pub(crate) fn split_count(inner: &str) -> Option<(&str, u32)> {
    // The last `(` preceded by a blank (byte search: this runs for every lock line).
    let open = memchr::memrchr(b'(', inner.as_bytes())
        .filter(|&p| p > 0 && inner.as_bytes()[p - 1] == b' ')?
        - 1;
    let count = &inner[open + 2..];
    if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((&inner[..open], count.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_tail_table() {
        let rows: &[(&str, Option<(&str, u32)>)] = &[
            (
                "&netlock 0x2aaabe671a40 (1)",
                Some(("&netlock 0x2aaabe671a40", 1)),
            ),
            (
                "&(&agents)->lock 0xb64fab48 (12)",
                Some(("&(&agents)->lock 0xb64fab48", 12)),
            ),
            ("c 0x1 (1 - suspended)", None),
            ("&s1_mutex_a 0x7f67a50f1100", None),
            ("x 0x1 ()", None),
            ("x 0x1 (99999999999)", None),
        ];
        for (input, want) in rows {
            assert_eq!(count_tail(input), *want, "{input}");
        }
    }
}
