//! The grammar of gdb's lines: thread headers, frame lines, and the parts of a
//! frame's argument list.

use ast_locks_model::StackFrame;
use nom::bytes::complete::{tag, take_while1};
use nom::character::complete::{char, digit1, space1};
use nom::combinator::opt;
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};
use std::borrow::Cow;

/// `Thread 24 (Thread 0x7f67a14b86c0 (LWP 32381) "asterisk"):` and its shorter forms
/// (`Thread 2 (LWP 123):`, `Thread 1 (process 42):`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    /// gdb's thread number.
    pub num: u32,
    /// The pthread id (`0x7f67a14b86c0`), when printed.
    pub pthread: Option<&'a str>,
    /// The kernel thread id.
    pub lwp: Option<u64>,
    /// The thread name gdb printed in quotes.
    pub name: Option<&'a str>,
}

fn number<T: std::str::FromStr>(i: &str) -> IResult<&str, T> {
    nom::combinator::map_res(digit1, str::parse::<T>).parse(i)
}

/// Parse a thread header line: `Thread N (target):`.
pub fn header(i: &str) -> Option<Header<'_>> {
    let (i, num) = preceded(
        tag::<_, _, nom::error::Error<&str>>("Thread "),
        number::<u32>,
    )
    .parse(i)
    .ok()?;
    let i = i.strip_prefix(" (")?;
    let (i, target) = target(i)?;
    i.strip_prefix("):")?;
    Some(target.numbered(num))
}

/// What gdb calls a thread, without its number: `Thread 0x… (LWP n) "name"`,
/// `LWP n`, `process n`. Returns the rest of the text.
fn target(i: &str) -> Option<(&str, Header<'_>)> {
    let (i, pthread, lwp) = if let Some(rest) = i.strip_prefix("Thread ") {
        let (rest, id) =
            take_while1::<_, &str, nom::error::Error<&str>>(|c: char| c != ' ' && c != ')')
                .parse(rest)
                .ok()?;
        let (rest, lwp) = opt(delimited(tag(" (LWP "), number::<u64>, char(')')))
            .parse(rest)
            .ok()?;
        (rest, Some(id), lwp)
    } else if let Some(rest) = i.strip_prefix("LWP ") {
        let (rest, lwp) = number::<u64>(rest).ok()?;
        (rest, None, Some(lwp))
    } else if let Some(rest) = i.strip_prefix("process ") {
        let (rest, pid) = number::<u64>(rest).ok()?;
        (rest, None, Some(pid))
    } else {
        return None;
    };
    let (i, name) = match i.strip_prefix(" \"") {
        Some(rest) => {
            // The name ends at the first quote followed by the header's `)`, a
            // blank or the end: names can hold quotes, a frame after it strings.
            let end = rest
                .char_indices()
                .find(|&(at, c)| {
                    c == '"'
                        && (at + 1 == rest.len() || rest[at + 1..].starts_with([')', ' ', '\t']))
                })
                .map(|(at, _)| at)?;
            (&rest[end + 1..], Some(&rest[..end]))
        }
        None => (i, None),
    };
    Some((
        i,
        Header {
            num: 0,
            pthread,
            lwp,
            name,
        },
    ))
}

impl<'a> Header<'a> {
    fn numbered(self, num: u32) -> Header<'a> {
        Header { num, ..self }
    }
}

/// `[Switching to thread 164 (Thread 0x7f3111c5a700 (LWP 27844))]` and
/// `[Current thread is 1 (Thread 0x7f448b97c6c0 (LWP 637628))]`: gdb naming the
/// thread it shows next.
pub fn switching(i: &str) -> Option<Header<'_>> {
    let rest = i
        .strip_prefix("[Switching to thread ")
        .or_else(|| i.strip_prefix("[Current thread is "))?;
    let (rest, num) = number::<u32>(rest).ok()?;
    let Some(rest) = rest.strip_prefix(" (") else {
        return Some(Header {
            num,
            pthread: None,
            lwp: None,
            name: None,
        });
    };
    let (rest, target) = target(rest)?;
    rest.starts_with(')').then(|| target.numbered(num))
}

/// A row of `info threads`: `* 1    Thread 0x… (LWP 637628) "rtpengine" 0x… in epoll_wait (…) at …`
/// (gdb 7.x: `  15 Thread 0x… (LWP 5768)  0x… in __lll_lock_wait () from …`).
/// Returns whether it is gdb's current thread (`*`), the thread, and the text of
/// its innermost frame.
pub fn info_threads_row(i: &str) -> Option<(bool, Header<'_>, &str)> {
    let (current, rest) = match i.trim_start().strip_prefix('*') {
        Some(r) => (true, r.trim_start()),
        None => (false, i.trim_start()),
    };
    let (rest, num) = number::<u32>(rest).ok()?;
    let rest = rest.strip_prefix([' ', '\t'])?.trim_start();
    let (rest, target) = target(rest)?;
    let frame = rest.trim_start();
    // A frame follows: `0x… in f (…)`, or an inlined `f (…) at …`.
    let starts = frame.starts_with("0x")
        || frame
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '?');
    (starts && !frame.is_empty()).then(|| (current, target.numbered(num), frame))
}

/// The characters of `s` that stand outside string literals (`"…"`, with `\`
/// escapes), so that brackets and commas inside a printed string are not counted.
fn outside_strings(s: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let (mut in_str, mut escaped) = (false, false);
    s.char_indices().filter(move |&(_, c)| {
        if in_str {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_str = false,
                _ => {}
            }
            return false;
        }
        if c == '"' {
            in_str = true;
            return false;
        }
        true
    })
}

/// The end of a balanced `(...)` starting at `s[0] == '('`, string literals respected.
fn balanced(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in outside_strings(s) {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Parse a frame line `#4  0x… in func (args) at file.c:80` (also `from lib`,
/// `?? ()`, `<signal handler called>`), and the shapes of frames typed or
/// shortened by hand: `#0  __lll_lock_wait`, `#4  topic_add_subscription at
/// stasis.c:1273`, a trailing `[annotation]`.
pub fn frame(line: &str) -> Option<StackFrame<'_>> {
    let (rest, level) = preceded(char::<&str, nom::error::Error<&str>>('#'), number::<u32>)
        .parse(line)
        .ok()?;
    let (rest, _) = space1::<&str, nom::error::Error<&str>>(rest).ok()?;
    let (rest, address) = match rest.split_once(" in ") {
        Some((a, r)) if a.starts_with("0x") && !a.contains(' ') => (r, Some(a)),
        _ => (rest, None),
    };
    let mut f = StackFrame {
        raw: Cow::Borrowed(line),
        level,
        address: address.map(Cow::Borrowed),
        ..StackFrame::default()
    };
    if rest.starts_with('<') {
        f.function = Cow::Borrowed(rest.trim_end());
        return Some(f);
    }
    let (rest, annotation) = without_annotation(rest);
    let name_end = name_end(rest);
    let name = &rest[..name_end];
    if !is_function_name(name) {
        return None;
    }
    f.function = Cow::Borrowed(name);
    let after = rest[name_end..].trim_start();
    let tail = match after.strip_prefix('(') {
        Some(_) => {
            let paren = rest.len() - after.len();
            let Some(close) = balanced(&rest[paren..]).map(|c| paren + c) else {
                // Cut line: keep what is there.
                f.args = Cow::Borrowed(&rest[paren + 1..]);
                return Some(f);
            };
            f.args = Cow::Borrowed(&rest[paren + 1..close]);
            rest[close + 1..].trim()
        }
        None => after,
    };
    if let Some(at) = tail.strip_prefix("at ") {
        match at.rsplit_once(':') {
            Some((file, n)) if n.bytes().all(|b| b.is_ascii_digit()) && !n.is_empty() => {
                f.file = Some(Cow::Borrowed(file));
                f.line = n.parse().ok();
            }
            _ => f.file = Some(Cow::Borrowed(at)),
        }
    } else if let Some(lib) = tail.strip_prefix("from ") {
        f.library = Some(Cow::Borrowed(lib));
    } else if !tail.is_empty() {
        // `#1  pthread_mutex_lock then prose`: not a frame.
        return None;
    }
    // `[Attempting to acquire lock: get_lock(lock=0x…)]`: the arguments someone
    // copied beside a frame that lost its own.
    if f.args.is_empty() {
        if let Some(open) = annotation.and_then(|a| a.find('(').map(|o| (a, o))) {
            let (a, open) = open;
            if let Some(close) = balanced(&a[open..]) {
                f.args = Cow::Borrowed(&a[open + 1..open + close]);
            }
        }
    }
    Some(f)
}

/// Where a frame's function name ends: at the first `(` or blank outside C++
/// template brackets (`std::map<int, int>::find (this=…)`).
fn name_end(rest: &str) -> usize {
    let mut depth = 0usize;
    for (i, c) in rest.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            '(' if depth == 0 => return i,
            c if c.is_whitespace() && depth == 0 => return i,
            _ => {}
        }
    }
    rest.len()
}

/// A frame's function as gdb prints it: a C or C++ name (`ns::f`, `f@plt`,
/// `__GI___poll`, `clock_nanosleep@GLIBC_2.2.5`, `operator()`), or `??`.
fn is_function_name(name: &str) -> bool {
    name == "??"
        || (!name.is_empty()
            && name
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '~')
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || c == ' ' || "_:@.<>~,*&$()".contains(c)))
}

/// A frame without the `[annotation]` someone wrote after it, and the annotation.
fn without_annotation(rest: &str) -> (&str, Option<&str>) {
    let trimmed = rest.trim_end();
    if trimmed.ends_with(']') {
        if let Some(open) = trimmed.rfind(" [") {
            return (
                trimmed[..open].trim_end(),
                Some(&trimmed[open + 2..trimmed.len() - 1]),
            );
        }
    }
    (trimmed, None)
}

/// Split an argument list on its top-level commas: `name=value` pairs.
pub fn args(list: &str) -> Vec<(&str, &str)> {
    let (mut depth, mut start) = (0i32, 0usize);
    let mut pieces: Vec<&str> = Vec::new();
    for (i, c) in outside_strings(list) {
        match c {
            '(' | '{' | '[' | '<' => depth += 1,
            ')' | '}' | ']' | '>' => depth -= 1,
            ',' if depth <= 0 => {
                pieces.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(&list[start..]);
    pieces
        .into_iter()
        .filter_map(|p| p.trim().split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

/// The value of the first argument named one of `names`.
pub fn arg<'a>(list: &[(&'a str, &'a str)], names: &[&str]) -> Option<&'a str> {
    list.iter()
        .find(|(k, _)| names.contains(k))
        .map(|(_, v)| strip_entry(v))
}

/// `mutex@entry=0x55…` → `0x55…`.
fn strip_entry(v: &str) -> &str {
    match v.split_once("@entry=") {
        Some((_, rest)) => rest,
        None => v,
    }
}

/// The first `0x…` in a value (`0x7f67a50f1100 <s1_mutex_a>`).
pub fn hex_in(v: &str) -> Option<&str> {
    let v = strip_entry(v);
    let start = v.find("0x")?;
    let end = v[start + 2..]
        .find(|c: char| !c.is_ascii_hexdigit())
        .map_or(v.len(), |e| start + 2 + e);
    (end > start + 2).then(|| &v[start..end])
}

/// The symbol gdb shows for a pointer (`<s1_mutex_a>`), without offsets.
pub fn symbol_in(v: &str) -> Option<&str> {
    let start = v.find(" <")? + 2;
    let end = start + v[start..].find('>')?;
    let sym = &v[start..end];
    (!sym.contains('+') && !sym.is_empty()).then_some(sym)
}

/// The string literal in a value (`0x7f… "&s1_mutex_a"`), escapes kept as printed.
pub fn string_in(v: &str) -> Option<&str> {
    let start = v.find('"')? + 1;
    let mut escaped = false;
    for (i, c) in v[start..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(&v[start..start + i]),
            _ => {}
        }
    }
    None
}
