//! Fitting a plain-text report to a width: long lines break at spaces (a path
//! longer than the width after a `/`), continued under their own indent plus
//! four; nothing is cut. Colour codes take no room. A line that starts with
//! [`WHOLE`] is a command to copy: it is written whole, without the marker.

/// Put first on a line that must not be broken (a command to copy and paste).
pub const WHOLE: char = '\u{1}';

/// Wrap every line of `text` to `width` columns (0: leave lines as they are).
pub fn wrap(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        if let Some(whole) = line.strip_prefix(WHOLE) {
            out.push_str(whole);
            continue;
        }
        if width == 0 || columns(body) <= width {
            out.push_str(line);
            continue;
        }
        wrap_line(&mut out, body, width);
        out.push_str(end);
    }
    out
}

/// One long line, broken into pieces no wider than `width`.
fn wrap_line(out: &mut String, body: &str, width: usize) {
    let indent = body.len() - body.trim_start_matches(' ').len();
    // A continuation is indented deeper, but never so deep that nothing fits.
    let hang = (indent + 4).min(width / 2);
    let mut used = 0;
    let mut first = true;
    for word in body[indent..].split(' ') {
        let room = if first {
            width - indent.min(width / 2)
        } else {
            width - hang
        };
        if word.is_empty() && used == 0 {
            continue;
        }
        let mut word = word;
        loop {
            let w = columns(word);
            let gap = usize::from(used > 0);
            if used + gap + w <= room {
                if used == 0 {
                    out.push_str(&" ".repeat(if first { indent } else { hang }));
                } else {
                    out.push(' ');
                }
                out.push_str(word);
                used += gap + w;
                break;
            }
            if used > 0 {
                out.push('\n');
                used = 0;
                first = false;
                continue;
            }
            // A word wider than the line: break it after a `/` if it has one in reach.
            let (head, tail) = split_word(word, room);
            out.push_str(&" ".repeat(if first { indent } else { hang }));
            out.push_str(head);
            out.push('\n');
            first = false;
            word = tail;
        }
    }
}

/// The longest head of `word` that fits `room` columns, preferably ending in `/`.
fn split_word(word: &str, room: usize) -> (&str, &str) {
    let mut fit = 0;
    let mut slash = None;
    for (n, (i, c)) in word.char_indices().enumerate() {
        if n >= room.max(1) {
            break;
        }
        fit = i + c.len_utf8();
        if c == '/' && n > 0 {
            slash = Some(fit);
        }
    }
    let at = slash.unwrap_or(fit);
    word.split_at(at)
}

/// Columns a piece of text takes on a terminal: ANSI colour codes take none.
fn columns(s: &str) -> usize {
    let mut n = 0;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for e in chars.by_ref() {
                if e == 'm' {
                    break;
                }
            }
        } else {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn short_lines_are_left_alone() {
        assert_eq!(wrap("a b\n  c\n", 10), "a b\n  c\n");
        assert_eq!(wrap("no newline", 5 * 100), "no newline");
    }

    #[test]
    fn long_lines_break_at_spaces_under_a_deeper_indent() {
        let got = wrap("  holds lock 0x1 taken at a.c:1 f()\n", 20);
        assert_eq!(got, "  holds lock 0x1\n      taken at a.c:1\n      f()\n");
        for line in got.lines() {
            assert!(line.len() <= 20, "{line:?}");
        }
    }

    #[test]
    fn nothing_is_lost() {
        let text = "    waits for &s1_mutex_b 0x7f67a50f1140 (mutex, at res_deadlock_demo.c:67 s1_thread_a()), held by thread 0x7f67a14b86c0 (LWP 32381, s1_thread_b)\n";
        for width in [20, 40, 60, 100] {
            let got = wrap(text, width);
            let letters: String = got.split_whitespace().collect();
            assert_eq!(
                letters,
                text.split_whitespace().collect::<String>(),
                "width {width}"
            );
            assert!(got.lines().all(|l| l.chars().count() <= width), "{got}");
        }
    }

    #[test]
    fn a_path_wider_than_the_line_breaks_after_a_slash() {
        let got = wrap("at /usr/src/asterisk/channels/chan_pjsip.c:123\n", 24);
        assert_eq!(
            got,
            "at\n    /usr/src/asterisk/\n    channels/\n    chan_pjsip.c:123\n"
        );
    }

    #[test]
    fn colour_codes_take_no_room() {
        let red = "\x1b[1;31mDEADLOCK:\x1b[0m 1 cycle";
        assert_eq!(wrap(red, 18), red);
    }

    #[test]
    fn commands_to_copy_stay_whole() {
        let cmd = "    gdb -batch -x owners.gdb /usr/sbin/asterisk CORE > owners.txt";
        assert_eq!(
            wrap(&format!("{}{cmd}\nnext\n", super::WHOLE), 20),
            format!("{cmd}\nnext\n")
        );
    }

    #[test]
    fn zero_width_wraps_nothing() {
        let long = "x ".repeat(200);
        assert_eq!(wrap(&long, 0), long);
    }
}
