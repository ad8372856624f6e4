//! Backtrace lines under a lock entry. All generations print the same shapes;
//! which one depends on how Asterisk was built, not on its version.

use ast_locks_model::{FrameParts, FrameShape};
use nom::bytes::complete::{tag, take_while1};
use nom::character::complete::{char, digit1};
use nom::combinator::recognize;
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};

fn hex_addr(i: &str) -> IResult<&str, &str> {
    recognize((tag("0x"), take_while1(|c: char| c.is_ascii_hexdigit()))).parse(i)
}

/// A cheap test of whether a line (leading indentation removed) has a frame's
/// shape: what the parser keeps as a frame. Its parts are read later, on demand.
pub fn looks_like_frame(s: &str) -> bool {
    let b = s.as_bytes();
    // `] ` and ` [0x` found with a one-byte search: a substring searcher set up
    // for every line of a big dump costs more than the test.
    let closes = || memchr::memchr_iter(b']', b).any(|at| b.get(at + 1) == Some(&b' '));
    let opens = || {
        memchr::memchr_iter(b'[', b)
            .any(|at| at > 0 && b[at - 1] == b' ' && b[at..].starts_with(b"[0x"))
    };
    ((s.starts_with("[0x") || s.starts_with("[inlined]")) && closes())
        || (s.ends_with(']') && opens())
        || s == "No backtrace to print"
        || s == "Couldn't retrieve backtrace symbols"
}

/// The parts of one frame line (leading indentation already removed).
/// `None` when the line has none of the known shapes.
pub fn parts(s: &str) -> Option<FrameParts<'_>> {
    if s == "No backtrace to print" || s == "Couldn't retrieve backtrace symbols" {
        return Some(FrameParts {
            shape: FrameShape::Missing,
            ..FrameParts::default()
        });
    }
    if let Ok((body, addr)) = delimited(
        char::<&str, nom::error::Error<&str>>('['),
        alt_addr,
        tag("] "),
    )
    .parse(s)
    {
        return better(addr, body);
    }
    symbols(s)
}

/// True when the whole of `s` is `0x` and hex digits.
pub fn is_hex_addr(s: &str) -> bool {
    matches!(hex_addr(s), Ok(("", _)))
}

fn alt_addr(i: &str) -> IResult<&str, &str> {
    nom::branch::alt((hex_addr, tag("inlined"))).parse(i)
}

/// BETTER_BACKTRACES: `[0x…] module file.c:245 function()`, `[inlined] …`,
/// `[0x…] module <unknown>()`.
fn better<'a>(addr: &'a str, body: &'a str) -> Option<FrameParts<'a>> {
    let mut words = body.splitn(2, ' ');
    let module = words.next().filter(|m| !m.is_empty())?;
    let after = words.next().unwrap_or("");
    let (file, line, func) = match file_line(after) {
        Ok((func, (file, line))) => (Some(file), Some(line), func.trim_start()),
        Err(_) => (None, None, after),
    };
    let function = func.strip_suffix("()").unwrap_or(func);
    let inlined = addr == "inlined";
    Some(FrameParts {
        shape: if inlined {
            FrameShape::Inlined
        } else {
            FrameShape::Better
        },
        module: Some(module),
        function: (!function.is_empty()).then_some(function),
        offset: None,
        address: (!inlined).then_some(addr),
        file,
        line,
    })
}

fn file_line(i: &str) -> IResult<&str, (&str, u32)> {
    let (i, file) = take_while1(|c: char| c != ':' && c != ' ').parse(i)?;
    let (i, line) = preceded(char(':'), digit1).parse(i)?;
    let (i, _) = char(' ').parse(i)?;
    let line = line
        .parse()
        .map_err(|_| nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Digit)))?;
    Ok((i, (file, line)))
}

/// glibc `backtrace_symbols()`: `module(function+0x1a) [0x4e9679]`, `module() [0x…]`,
/// `module(+0x5955) [0x…]`, `module [0x…]`.
fn symbols(s: &str) -> Option<FrameParts<'_>> {
    let open = s.rfind(" [")?;
    let (left, right) = (&s[..open], &s[open + 2..]);
    let address = right.strip_suffix(']').filter(|a| is_hex_addr(a))?;
    let (module, function, offset) = match left.strip_suffix(')') {
        Some(inner) => {
            let paren = inner.rfind('(')?;
            let sym = &inner[paren + 1..];
            let (function, offset) = match sym.rfind('+') {
                Some(plus) => (&sym[..plus], Some(&sym[plus..])),
                None => (sym, None),
            };
            (&inner[..paren], function, offset)
        }
        None => (left, "", None),
    };
    if module.is_empty() || (module.contains(' ') && !module.starts_with('/')) {
        return None;
    }
    let offset = offset.filter(|o| o.strip_prefix('+').is_some_and(is_hex_addr));
    Some(FrameParts {
        shape: FrameShape::Symbols,
        module: Some(module),
        function: (!function.is_empty()).then_some(function),
        offset,
        address: Some(address),
        file: None,
        line: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (line, shape, module, function, offset, address, file, line)
    type Row = (
        &'static str,
        FrameShape,
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        Option<u32>,
    );

    #[test]
    fn frame_shapes_table() {
        use FrameShape::*;
        let rows: &[Row] = &[
            (
                "/usr/sbin/asterisk(__ast_pthread_mutex_lock+0xae) [0x812351e]",
                Symbols,
                Some("/usr/sbin/asterisk"),
                Some("__ast_pthread_mutex_lock"),
                Some("+0xae"),
                Some("0x812351e"),
                None,
                None,
            ),
            (
                "/usr/sbin/asterisk() [0x80ef7a5]",
                Symbols,
                Some("/usr/sbin/asterisk"),
                None,
                None,
                Some("0x80ef7a5"),
                None,
                None,
            ),
            (
                "/lib/i686/cmov/libpthread.so.0(+0x5955) [0xb7324955]",
                Symbols,
                Some("/lib/i686/cmov/libpthread.so.0"),
                None,
                Some("+0x5955"),
                Some("0xb7324955"),
                None,
                None,
            ),
            (
                "/lib64/libc.so.6(clone+0x6d) [0x3d1ccd44bd]",
                Symbols,
                Some("/lib64/libc.so.6"),
                Some("clone"),
                Some("+0x6d"),
                Some("0x3d1ccd44bd"),
                None,
                None,
            ),
            (
                "/usr/local/asterisk-1.8.6.0/sbin/asterisk [0x446cec]",
                Symbols,
                Some("/usr/local/asterisk-1.8.6.0/sbin/asterisk"),
                None,
                None,
                Some("0x446cec"),
                None,
                None,
            ),
            (
                "[0x5625d407bb48] asterisk lock.c:277 __ast_pthread_mutex_lock()",
                Better,
                Some("asterisk"),
                Some("__ast_pthread_mutex_lock"),
                None,
                Some("0x5625d407bb48"),
                Some("lock.c"),
                Some(277),
            ),
            (
                "[0x7f67a449b8ec] libc.so.6 clone3.S:83 clone3()",
                Better,
                Some("libc.so.6"),
                Some("clone3"),
                None,
                Some("0x7f67a449b8ec"),
                Some("clone3.S"),
                Some(83),
            ),
            (
                "[inlined] asterisk channel.c:3767 __ast_read()",
                Inlined,
                Some("asterisk"),
                Some("__ast_read"),
                None,
                None,
                Some("channel.c"),
                Some(3767),
            ),
            (
                "[0x55d0c3a1b2c3] asterisk <unknown>()",
                Better,
                Some("asterisk"),
                Some("<unknown>"),
                None,
                Some("0x55d0c3a1b2c3"),
                None,
                None,
            ),
            (
                "No backtrace to print",
                Missing,
                None,
                None,
                None,
                None,
                None,
                None,
            ),
            (
                "Couldn't retrieve backtrace symbols",
                Missing,
                None,
                None,
                None,
                None,
                None,
                None,
            ),
        ];
        for &(line, shape, module, function, offset, address, file, lineno) in rows {
            let f = parts(line).unwrap_or_else(|| panic!("no frame from {line:?}"));
            assert!(looks_like_frame(line), "{line}");
            assert_eq!(f.shape, shape, "{line}");
            assert_eq!(f.module, module, "{line}");
            assert_eq!(f.function, function, "{line}");
            assert_eq!(f.offset, offset, "{line}");
            assert_eq!(f.address, address, "{line}");
            assert_eq!(f.file, file, "{line}");
            assert_eq!(f.line, lineno, "{line}");
        }
    }

    #[test]
    fn not_frames() {
        for line in [
            "...",
            "hello world",
            "Thread 2 (LWP 12)",
            "[0x12",
            "foo [bar]",
            "core show locks",
        ] {
            assert!(parts(line).is_none(), "{line:?} taken for a frame");
            assert!(!looks_like_frame(line), "{line:?} looks like a frame");
        }
    }
}
