//! The `===` lines common to every generation: what each line is, and the
//! grammar of thread headers, lock lines and `Locked Here` lines. The parts
//! that differ by generation are in [`super::v1_6`], [`super::v12`] and [`super::v21`].

use super::{v12, v1_6, v21};
use ast_locks_model::{Location, LockEntry, LockKind, LockState, ThreadStart};
use nom::branch::alt;
use nom::bytes::complete::{tag, take_while1};
use nom::character::complete::{char, digit1, space0};
use nom::combinator::map_res;
use nom::{IResult, Parser};
use std::borrow::Cow;

/// A grammar failure inside one line: the byte column (0-based, in the cleaned
/// text) where it stopped and what it expected there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrammarError {
    /// 0-based byte offset in the cleaned line.
    pub column: usize,
    /// What was expected at that point.
    pub expected: &'static str,
}

/// How the lock line ended, which tells its generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// ` (<n>)`: 1.6 – 20.
    Count,
    /// ` (<n> - suspended)`: 12 – 20.
    Suspended,
    /// Nothing after the address: 21+.
    Bare,
}

/// A thread header's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    pub id: &'a str,
    pub lwp: Option<u64>,
    pub name: &'a str,
    pub start: Option<ThreadStart<'a>>,
    /// False when the closing parenthesis is missing (a cut line).
    pub closed: bool,
}

/// What one cleaned line of a dump is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DumpLine<'a> {
    /// A frame line of `=` only.
    Border,
    /// `===` alone.
    Spacer,
    /// A legend line; `true` for the 21+ `<locked at>` legend.
    Legend(bool),
    /// `=== Currently Held Locks[ at Time: T]`.
    Banner(Option<&'a str>),
    /// `=== Thread ID: …`.
    ThreadHeader(Header<'a>),
    /// `=== ---> … Lock #i …`.
    Entry(LockEntry<'a>, Tail),
    /// The 21+ timing line.
    Timing(v21::TimingLine<'a>),
    /// `=== --- ---> Locked Here: …`.
    LockedHere(Location<'a>),
    /// `=== ----…`: end of a thread block.
    ThreadEnd,
    /// `=== <something else>`.
    Other(&'a str),
    /// A line that announced itself as one of the above but did not follow its grammar.
    Malformed(&'static str, GrammarError),
    /// Not a `===` line (a backtrace frame, or text around the dump).
    Plain(&'a str),
}

/// Classify one cleaned line.
pub fn classify(s: &str) -> DumpLine<'_> {
    let Some(rest) = s.strip_prefix("===") else {
        return DumpLine::Plain(s);
    };
    if rest.is_empty() {
        return DumpLine::Spacer;
    }
    if rest.bytes().all(|b| b == b'=') {
        return DumpLine::Border;
    }
    let body = rest.trim_start();
    let body_col = s.len() - body.len();
    let at = |e: GrammarError| GrammarError {
        column: e.column + body_col,
        expected: e.expected,
    };
    if !rest.starts_with([' ', '\t']) {
        return DumpLine::Other(body);
    }
    if let Some(h) = body.strip_prefix("Thread ID:") {
        return match header(h) {
            Ok(h) => DumpLine::ThreadHeader(h),
            Err(e) => DumpLine::Malformed(
                "thread header",
                at(GrammarError {
                    column: e.column + "Thread ID:".len(),
                    ..e
                }),
            ),
        };
    }
    if let Some(l) = body.strip_prefix("--- ---> Locked Here:") {
        return match locked_here(l) {
            Some(loc) => DumpLine::LockedHere(loc),
            None => DumpLine::Malformed(
                "Locked Here line",
                at(GrammarError {
                    column: "--- ---> Locked Here:".len(),
                    expected: "` <file> line <n> (<function>)`",
                }),
            ),
        };
    }
    if let Some(l) = body.strip_prefix("---> ") {
        return match lock_line(l) {
            Ok((e, tail)) => DumpLine::Entry(e, tail),
            Err(e) => DumpLine::Malformed(
                "lock line",
                at(GrammarError {
                    column: e.column + "---> ".len(),
                    ..e
                }),
            ),
        };
    }
    if body.len() >= 3 && body.bytes().all(|b| b == b'-') {
        return DumpLine::ThreadEnd;
    }
    if let Some(b) = body.strip_prefix("Currently Held Locks") {
        return DumpLine::Banner(v21::banner_time(b));
    }
    if body.starts_with("<locked at>") {
        return DumpLine::Legend(true);
    }
    if body.starts_with("<pending>") || body.starts_with("<file>") {
        return DumpLine::Legend(false);
    }
    // A version line (`=== 22.0.0`) also starts with a digit; a timing line has
    // commas (a one-byte search, not a substring searcher per line).
    if body.starts_with(|c: char| c.is_ascii_digit())
        && memchr::memchr(b',', body.as_bytes()).is_some()
    {
        return match v21::timing_line(body) {
            Ok(("", t)) => DumpLine::Timing(t),
            Ok((r, _)) | Err(nom::Err::Error(nom::error::Error { input: r, .. })) => {
                DumpLine::Malformed(
                    "timing line",
                    at(GrammarError {
                        column: body.len() - r.len(),
                        expected:
                            "`H:MM:SS.uuuuuu, H:MM:SS.uuuuuu, H:MM:SS.uuuuuu (<times locked>, <attempts>)`",
                    }),
                )
            }
            Err(_) => DumpLine::Malformed(
                "timing line",
                at(GrammarError {
                    column: 0,
                    expected: "a timing line",
                }),
            ),
        };
    }
    DumpLine::Other(body)
}

fn err(rest: &str, whole: &str, expected: &'static str) -> GrammarError {
    GrammarError {
        column: whole.len() - rest.len(),
        expected,
    }
}

/// The part after `Thread ID:`: ` <id>[ LWP:<n>] (<name>)`.
pub fn header(whole: &str) -> Result<Header<'_>, GrammarError> {
    let (i, _) =
        space0::<&str, nom::error::Error<&str>>(whole).map_err(|_| err(whole, whole, "a blank"))?;
    let (i, id) = take_while1::<_, &str, nom::error::Error<&str>>(|c: char| !c.is_whitespace())
        .parse(i)
        .map_err(|_| err(i, whole, "a thread id"))?;
    let (i, lwp) = match v12::lwp(i) {
        Ok((i, n)) => (i, n.parse().ok()),
        Err(_) => (i, None),
    };
    let i = i
        .strip_prefix(" (")
        .ok_or_else(|| err(i, whole, "` (<thread name>)` after the thread id"))?;
    let (name, closed) = match i.strip_suffix(')') {
        Some(n) => (n, true),
        None => (i, false),
    };
    Ok(Header {
        id,
        lwp,
        name,
        start: if closed { thread_start(name) } else { None },
        closed,
    })
}

/// `%-20s started at [%5d] %s %s()`.
pub fn thread_start(name: &str) -> Option<ThreadStart<'_>> {
    // One searcher for every header of the dump, not one set up per header.
    static STARTED_AT: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b" started at ["));
    let at = STARTED_AT.find(name.as_bytes())?;
    let (routine, rest) = (&name[..at], &name[at + " started at [".len()..]);
    let routine = routine.trim_end();
    if routine.is_empty() {
        return None;
    }
    let (rest, line) = (
        space0::<&str, nom::error::Error<&str>>,
        map_res(digit1, str::parse::<u32>),
        tag("] "),
    )
        .parse(rest)
        .ok()
        .map(|(r, (_, l, _))| (r, l))?;
    let (file, function) = rest.split_once(' ')?;
    let function = function.strip_suffix("()")?;
    if file.is_empty() || function.is_empty() {
        return None;
    }
    Some(ThreadStart {
        routine: Cow::Borrowed(routine),
        location: Location {
            file: Cow::Borrowed(file),
            line,
            function: Cow::Borrowed(function),
        },
    })
}

fn state(i: &str) -> IResult<&str, LockState> {
    alt((
        tag("Waiting for ").map(|_| LockState::Waiting),
        v12::tried_prefix.map(|_| LockState::TriedAndFailed),
        tag("").map(|_| LockState::Held),
    ))
    .parse(i)
}

/// The part after `---> `:
/// `<prefix>Lock #<i> (<file>): <TYPE> <line> <function> <lock name> <address><tail>`.
pub fn lock_line(whole: &str) -> Result<(LockEntry<'_>, Tail), GrammarError> {
    type E<'x> = nom::error::Error<&'x str>;
    let (i, st) = state(whole).map_err(|_| err(whole, whole, "a lock state"))?;
    let (i, index) = (tag::<_, _, E>("Lock #"), map_res(digit1, str::parse::<u32>))
        .parse(i)
        .map(|(r, (_, n))| (r, n))
        .map_err(|_| err(i, whole, "`Lock #<index>`"))?;
    let (i, file) = i
        .strip_prefix(" (")
        .and_then(|r| {
            // `): ` ends the file name; memchr finds the `)` without building a
            // substring searcher for every lock line.
            let mut from = 0;
            while let Some(p) = memchr::memchr(b')', &r.as_bytes()[from..]) {
                let at = from + p;
                if r[at..].starts_with("): ") {
                    return Some((&r[at + 3..], &r[..at]));
                }
                from = at + 1;
            }
            None
        })
        .ok_or_else(|| err(i, whole, "` (<file>): ` after the lock index"))?;
    let (i, kind) = take_while1::<_, &str, E>(|c: char| c.is_ascii_uppercase())
        .parse(i)
        .ok()
        .and_then(|(r, k)| LockKind::from_label(k).map(|k| (r, k)))
        .ok_or_else(|| err(i, whole, "a lock type (MUTEX, RDLOCK, WRLOCK or UNKNOWN)"))?;
    let (i, line) = (
        char::<_, E>(' '),
        map_res(digit1, str::parse::<u32>),
        char(' '),
    )
        .parse(i)
        .map(|(r, (_, l, _))| (r, l))
        .map_err(|_| err(i, whole, "a line number after the lock type"))?;
    let (i, function) = take_while1::<_, &str, E>(|c: char| c != ' ')
        .parse(i)
        .map_err(|_| err(i, whole, "the function that took the lock"))?;
    let rest = i
        .strip_prefix(' ')
        .ok_or_else(|| err(i, whole, "a lock name and address after the function"))?;
    let (body, times_locked, tail) = if let Some((b, n)) = v12::suspended_tail(rest) {
        (b, Some(n), Tail::Suspended)
    } else if let Some((b, n)) = v1_6::count_tail(rest) {
        (b, Some(n), Tail::Count)
    } else {
        (rest, None, Tail::Bare)
    };
    // The address is the last token: lock names are C expressions that may hold
    // anything, but the address never has a blank in it.
    let body = body.trim_end();
    let (name, addr) = match body.rfind(' ') {
        Some(sp) => (body[..sp].trim_end(), &body[sp + 1..]),
        None => ("", body),
    };
    if !(super::frame::is_hex_addr(addr) || addr == "(nil)") {
        let col = whole.len() - rest.len() + (addr.as_ptr() as usize - rest.as_ptr() as usize);
        return Err(GrammarError {
            column: col,
            expected: "a lock address (`0x…` or `(nil)`) as the last field",
        });
    }
    let mut e = LockEntry::new(index, st, kind, addr);
    e.location = Location {
        file: Cow::Borrowed(file),
        line,
        function: Cow::Borrowed(function),
    };
    e.name = Cow::Borrowed(name);
    e.times_locked = times_locked;
    e.suspended = tail == Tail::Suspended;
    Ok((e, tail))
}

/// The part after `Locked Here:`: ` <file> line <n> (<function>)`.
pub fn locked_here(i: &str) -> Option<Location<'_>> {
    let i = i.strip_prefix(' ')?;
    let (file, rest) = i.split_once(" line ")?;
    let (n, rest) = rest.split_once(" (")?;
    let function = rest.strip_suffix(')')?;
    Some(Location {
        file: Cow::Borrowed(file),
        line: n.parse().ok()?,
        function: Cow::Borrowed(function),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_header_table() {
        // (line after "Thread ID:", id, lwp, routine, start line, file, function)
        type Row = (
            &'static str,
            &'static str,
            Option<u64>,
            Option<(&'static str, u32, &'static str, &'static str)>,
            &'static str,
        );
        let rows: &[Row] = &[
            (" 1098918224 (do_monitor           started at [25114] chan_sip.c restart_monitor())", "1098918224", None,
             Some(("do_monitor", 25114, "chan_sip.c", "restart_monitor")), "do_monitor           started at [25114] chan_sip.c restart_monitor()"),
            (" 0xb71ffb70 (tps_processing_function started at [  457] taskprocessor.c ast_taskprocessor_get())", "0xb71ffb70", None,
             Some(("tps_processing_function", 457, "taskprocessor.c", "ast_taskprocessor_get")), "tps_processing_function started at [  457] taskprocessor.c ast_taskprocessor_get()"),
            (" 0x7f67a15356c0 LWP:32380 (s1_thread_a          started at [  305] res_deadlock_demo.c load_module())", "0x7f67a15356c0", Some(32380),
             Some(("s1_thread_a", 305, "res_deadlock_demo.c", "load_module")), "s1_thread_a          started at [  305] res_deadlock_demo.c load_module()"),
            (" 0x7f0c2d4ff700 LWP:12345 (main thread)", "0x7f0c2d4ff700", Some(12345), None, "main thread"),
            (" 0x1 (weird (nested) name)", "0x1", None, None, "weird (nested) name"),
            (" 0x7f0c2d4ff700 LWP:-1 (main thread)", "0x7f0c2d4ff700", None, None, "main thread"),
        ];
        for &(input, id, lwp, start, name) in rows {
            let h = header(input).unwrap_or_else(|e| panic!("{input}: {e:?}"));
            assert_eq!(h.id, id);
            assert_eq!(h.lwp, lwp);
            assert_eq!(h.name, name);
            assert!(h.closed);
            let got = h.start.map(|s| {
                (
                    s.routine.into_owned(),
                    s.location.line,
                    s.location.file.into_owned(),
                    s.location.function.into_owned(),
                )
            });
            let want =
                start.map(|(r, l, f, func)| (r.to_string(), l, f.to_string(), func.to_string()));
            assert_eq!(got, want, "{input}");
        }
        let cut = header(" 0x1 LWP:5 (do_monitor  started at [").unwrap();
        assert!(!cut.closed);
        assert_eq!(
            header(" 0x1").unwrap_err().expected,
            "` (<thread name>)` after the thread id"
        );
    }

    #[test]
    fn lock_line_table() {
        use LockKind::*;
        use LockState::*;
        // (line after "---> ", state, index, file, kind, line, function, name, addr, times, tail)
        type Row = (
            &'static str,
            LockState,
            u32,
            &'static str,
            LockKind,
            u32,
            &'static str,
            &'static str,
            &'static str,
            Option<u32>,
            Tail,
        );
        let rows: &[Row] = &[
            ("Lock #0 (chan_sip.c): MUTEX 24629 handle_request_do &netlock 0x2aaabe671a40 (1)",
             Held, 0, "chan_sip.c", Mutex, 24629, "handle_request_do", "&netlock", "0x2aaabe671a40", Some(1), Tail::Count),
            ("Waiting for Lock #2 (chan_agent.c): MUTEX 430 device_state_cb &p->lock 0x96a1a60 (1)",
             Waiting, 2, "chan_agent.c", Mutex, 430, "device_state_cb", "&p->lock", "0x96a1a60", Some(1), Tail::Count),
            ("Lock #0 (event.c): RDLOCK 1488 handle_event &(&ast_event_subs[event_types[i]])->lock 0x822aa78 (1)",
             Held, 0, "event.c", RdLock, 1488, "handle_event", "&(&ast_event_subs[event_types[i]])->lock", "0x822aa78", Some(1), Tail::Count),
            ("Tried and failed to get Lock #1 (chan_sip.c): MUTEX 100 f &pvt->lock 0x10 (0)",
             TriedAndFailed, 1, "chan_sip.c", Mutex, 100, "f", "&pvt->lock", "0x10", Some(0), Tail::Count),
            ("Lock #1 (channel.c): WRLOCK 9 g &chan->lock 0xab (2 - suspended)",
             Held, 1, "channel.c", WrLock, 9, "g", "&chan->lock", "0xab", Some(2), Tail::Suspended),
            ("Waiting for Lock #1 (res_deadlock_demo.c): MUTEX 67 s1_thread_a &s1_mutex_b 0x7f67a50f1140",
             Waiting, 1, "res_deadlock_demo.c", Mutex, 67, "s1_thread_a", "&s1_mutex_b", "0x7f67a50f1140", None, Tail::Bare),
            ("Lock #0 (x.c): UNKNOWN 1 f lock name with spaces 0x1 (3)",
             Held, 0, "x.c", Unknown, 1, "f", "lock name with spaces", "0x1", Some(3), Tail::Count),
            ("Lock #0 (x.c): MUTEX 1 f nil_lock (nil) (1)",
             Held, 0, "x.c", Mutex, 1, "f", "nil_lock", "(nil)", Some(1), Tail::Count),
        ];
        for &(input, st, index, file, kind, line, function, name, addr, times, tail) in rows {
            let (e, t) = lock_line(input).unwrap_or_else(|e| panic!("{input}: {e:?}"));
            assert_eq!(
                (
                    e.state,
                    e.index,
                    &*e.location.file,
                    e.kind,
                    e.location.line,
                    &*e.location.function
                ),
                (st, index, file, kind, line, function),
                "{input}"
            );
            assert_eq!(
                (&*e.name, &*e.addr, e.times_locked, t),
                (name, addr, times, tail),
                "{input}"
            );
            assert_eq!(e.suspended, tail == Tail::Suspended);
        }
    }

    #[test]
    fn lock_line_errors_say_what_was_expected() {
        let rows: &[(&str, &str, usize)] = &[
            (
                "Waiting for Lock #1 (chan",
                "` (<file>): ` after the lock index",
                19,
            ),
            ("Lock #x (a.c): MUTEX 1 f n 0x1", "`Lock #<index>`", 0),
            (
                "Lock #0 (a.c): MUTEXX 1 f n 0x1 (1)",
                "a lock type (MUTEX, RDLOCK, WRLOCK or UNKNOWN)",
                15,
            ),
            (
                "Lock #0 (a.c): MUTEX 1 f &chan->lock (1)",
                "a lock address (`0x…` or `(nil)`) as the last field",
                25,
            ),
        ];
        for &(input, expected, column) in rows {
            let e = lock_line(input).unwrap_err();
            assert_eq!((e.expected, e.column), (expected, column), "{input}");
        }
    }

    #[test]
    fn classify_table() {
        assert_eq!(
            classify("==============================="),
            DumpLine::Border
        );
        assert_eq!(classify("==="), DumpLine::Spacer);
        assert_eq!(
            classify("=== -------------------------------------------------------------------"),
            DumpLine::ThreadEnd
        );
        assert_eq!(
            classify("=== Currently Held Locks =============="),
            DumpLine::Banner(None)
        );
        assert_eq!(classify("=== Currently Held Locks"), DumpLine::Banner(None));
        assert_eq!(
            classify("=== Currently Held Locks at Time: 498697:44:29.872492 ====="),
            DumpLine::Banner(Some("498697:44:29.872492"))
        );
        assert_eq!(
            classify("=== <locked at>, <failed at>, <held for> (attempts, times locked)"),
            DumpLine::Legend(true)
        );
        assert_eq!(classify("=== <pending> <lock#> (<file>): <lock type> <line num> <function> <lock name> <lock addr> (times locked)"), DumpLine::Legend(false));
        assert_eq!(classify("=== 22.0.0"), DumpLine::Other("22.0.0"));
        assert_eq!(
            classify("/usr/sbin/asterisk() [0x1]"),
            DumpLine::Plain("/usr/sbin/asterisk() [0x1]")
        );
        assert!(matches!(
            classify("===      498697:44:26.882753, 00:00:00.000000, 00:00:02.989754 (1, 1)"),
            DumpLine::Timing(_)
        ));
        assert!(
            matches!(classify("=== --- ---> Locked Here: channel.c line 3767 (__ast_read)"), DumpLine::LockedHere(l) if l.line == 3767 && l.function == "__ast_read")
        );
        match classify("=== ---> Waiting for Lock #1 (chan") {
            DumpLine::Malformed(what, e) => assert_eq!((what, e.column), ("lock line", 28)),
            other => panic!("{other:?}"),
        }
        match classify("===      498697:44:26.882753, 00:00:00.000000, 00:00:02.98 (1") {
            DumpLine::Malformed(what, _) => assert_eq!(what, "timing line"),
            other => panic!("{other:?}"),
        }
    }
}
