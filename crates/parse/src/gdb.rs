//! gdb `thread apply all bt` and `bt full` output (also ast_coredumper's
//! `-brief.txt` and `-full.txt`), for production builds without DEBUG_THREADS.
//!
//! Each `Thread N (Thread 0x… (LWP n) "name"):` block becomes a thread with its
//! stack. The stack is classified: a thread whose innermost frames are a lock wait
//! (`__lll_lock_wait`, `pthread_mutex_lock`, `pthread_rwlock_rdlock`/`wrlock`, the
//! Asterisk wrappers) gets a `Waiting for` entry with the lock address from the
//! frame arguments and, from Asterisk's wrapper frames, the lock name and the
//! place that asked for it. Other threads are classified (condition wait, poll,
//! sleep, …) with their top application frame. Who holds a lock is not in a
//! backtrace: see [`crate::owners`].

use crate::clean::{clean_line, Cleaned};
use ast_locks_model::{
    Activity, ActivityKind, Dump, InputFormat, Location, LockEntry, LockKind, LockState, Snapshot,
    StackFrame, Thread, Warning,
};
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

/// Parse a thread header line.
pub fn header(i: &str) -> Option<Header<'_>> {
    let (i, num) = preceded(
        tag::<_, _, nom::error::Error<&str>>("Thread "),
        number::<u32>,
    )
    .parse(i)
    .ok()?;
    let i = i.strip_prefix(" (")?;
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
            let end = rest.rfind('"')?;
            (&rest[end + 1..], Some(&rest[..end]))
        }
        None => (i, None),
    };
    i.strip_prefix("):")?;
    Some(Header {
        num,
        pthread,
        lwp,
        name,
    })
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
/// `?? ()`, `<signal handler called>`).
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
    let open = rest.find(" (").or_else(|| rest.find('('))?;
    f.function = Cow::Borrowed(rest[..open].trim_end());
    let paren = open + rest[open..].find('(')?;
    let Some(close) = balanced(&rest[paren..]).map(|c| paren + c) else {
        // Cut line: keep what is there.
        f.args = Cow::Borrowed(&rest[paren + 1..]);
        return Some(f);
    };
    f.args = Cow::Borrowed(&rest[paren + 1..close]);
    let tail = rest[close + 1..].trim();
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
    }
    Some(f)
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

/// Asterisk's lock wrappers: the frames that name the lock and who asked for it.
const AST_LOCK_WRAPPERS: &[&str] = &[
    "__ast_pthread_mutex_lock",
    "__ast_pthread_mutex_trylock",
    "__ast_rwlock_rdlock",
    "__ast_rwlock_wrlock",
    "__ast_rwlock_timedrdlock",
    "__ast_rwlock_timedwrlock",
    "__ao2_lock",
    "__ao2_trylock",
    "ao2_lock",
];

/// Other wrappers that are not where the application waits.
const AST_OTHER_WRAPPERS: &[&str] = &[
    "__ast_cond_wait",
    "__ast_cond_timedwait",
    "ast_sem_wait",
    "ast_sem_timedwait",
    "__ast_sem_wait",
    "__ast_sem_timedwait",
];

/// What a C library function says about the wait, innermost decider first.
fn decide(function: &str) -> Option<(ActivityKind, Option<LockKind>)> {
    let f = function;
    let has = |p: &str| f.contains(p);
    if has("pthread_rwlock_rdlock")
        || has("pthread_rwlock_timedrdlock")
        || has("pthread_rwlock_clockrdlock")
    {
        return Some((ActivityKind::LockWait, Some(LockKind::RdLock)));
    }
    if has("pthread_rwlock_wrlock")
        || has("pthread_rwlock_timedwrlock")
        || has("pthread_rwlock_clockwrlock")
    {
        return Some((ActivityKind::LockWait, Some(LockKind::WrLock)));
    }
    if f == "__lll_lock_wait_private" {
        // A C library internal lock (malloc arenas, stdio): not an application lock.
        return Some((ActivityKind::Other, None));
    }
    if has("pthread_mutex_lock")
        || has("pthread_mutex_timedlock")
        || has("pthread_mutex_clocklock")
        || has("pthread_mutex_cond_lock")
        || has("lll_lock_wait")
        || f.starts_with("_L_lock_")
        || f == "lll_mutex_lock_optimized"
    {
        return Some((ActivityKind::LockWait, Some(LockKind::Mutex)));
    }
    if has("pthread_cond_wait") || has("pthread_cond_timedwait") || has("pthread_cond_clockwait") {
        return Some((ActivityKind::CondWait, None));
    }
    if has("sem_wait") || has("sem_timedwait") || has("sem_clockwait") {
        return Some((ActivityKind::SemWait, None));
    }
    if matches!(
        f,
        "poll"
            | "__poll"
            | "__GI___poll"
            | "ppoll"
            | "__ppoll"
            | "epoll_wait"
            | "__GI_epoll_wait"
            | "epoll_pwait"
            | "select"
            | "__select"
            | "___select"
            | "pselect"
            | "__pselect"
    ) || f.ends_with("epoll_wait")
    {
        return Some((ActivityKind::Poll, None));
    }
    if has("nanosleep") || matches!(f, "usleep" | "sleep" | "__sleep") {
        return Some((ActivityKind::Sleep, None));
    }
    if matches!(
        f,
        "read"
            | "__read"
            | "__libc_read"
            | "__GI___libc_read"
            | "recv"
            | "__libc_recv"
            | "recvfrom"
            | "__libc_recvfrom"
            | "recvmsg"
            | "__libc_recvmsg"
            | "accept"
            | "__libc_accept"
            | "accept4"
            | "write"
            | "__libc_write"
            | "__GI___libc_write"
            | "send"
            | "__libc_send"
            | "sendto"
            | "__libc_sendto"
            | "connect"
            | "__libc_connect"
    ) {
        return Some((ActivityKind::Io, None));
    }
    if has("pthread_join") || has("pthread_clockjoin") || has("pthread_timedjoin") {
        return Some((ActivityKind::Join, None));
    }
    None
}

/// Frames that belong to the C library or to Asterisk's wait wrappers, not to the
/// code that decided to wait.
fn is_wrapper(f: &StackFrame<'_>) -> bool {
    let name: &str = &f.function;
    if AST_LOCK_WRAPPERS.contains(&name) || AST_OTHER_WRAPPERS.contains(&name) {
        return true;
    }
    if decide(name).is_some() {
        return true;
    }
    if name.starts_with("__GI_")
        || name.starts_with("___")
        || name.starts_with("__futex")
        || name.starts_with("futex_")
        || name.starts_with("lll_")
        || name.starts_with("__lll_")
        || name.starts_with("_L_")
        || name.starts_with("__new_sem")
        || name == "do_futex_wait"
        || name == "syscall"
        || name == "__syscall_cancel_arch"
        || name == "__internal_syscall_cancel"
        || name == "__syscall_cancel"
        || name == "??"
    {
        return true;
    }
    let libc_file = f.file.as_deref().is_some_and(|file| {
        file.starts_with("./nptl/")
            || file.starts_with("../nptl/")
            || file.starts_with("../sysdeps/")
            || file.starts_with("./sysdeps/")
            || file.contains("/glibc")
    });
    let libc_lib = f
        .library
        .as_deref()
        .is_some_and(|l| l.contains("libc.so") || l.contains("libpthread.so"));
    libc_file || libc_lib
}

/// Database client libraries: a thread inside one is "in a database call".
fn is_database(function: &str) -> bool {
    function.starts_with("SQL")
        || function.starts_with("sqlite3")
        || function.starts_with("PQ")
        || function.starts_with("pq")
        || function.starts_with("mysql_")
        || function.starts_with("__db_")
        || function.starts_with("__bam_")
        || function.contains("odbc")
}

/// Synchronous task pushes: a condition wait under one waits for a task to finish.
fn is_task_wait(function: &str) -> bool {
    (function.contains("push_task")
        && (function.contains("wait") || function.contains("synchronous")))
        || function.contains("taskprocessor_push_wait")
        || function == "ast_sip_push_task_wait_servant"
        || function == "ast_sip_push_task_wait_serializer"
        || function == "ast_threadpool_push_wait"
        || function == "stasis_message_router_publish_sync"
}

/// A lock wait read from a stack. Its text is copied out of the frames (only
/// waiting threads have one, so the copy is small).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockWait {
    /// Mutex, read or write lock.
    pub kind: LockKind,
    /// The lock address (`0x…`), when any frame shows it.
    pub addr: Option<String>,
    /// The lock's name: the wrapper's `mutex_name`/`name`/`var` string, else `&symbol`.
    pub name: Option<String>,
    /// Where the application asked for the lock.
    pub location: Option<Location<'static>>,
}

/// Classify a stack: what the thread is doing, its top application frame, and
/// the lock wait when it is one.
pub fn classify(stack: &[StackFrame<'_>]) -> (Activity, Option<LockWait>) {
    let top = stack.iter().position(|f| !is_wrapper(f));
    let region = &stack[..top.unwrap_or(stack.len())];
    let decided = region.iter().find_map(|f| decide(&f.function));
    let mut kind = decided.map_or(ActivityKind::Other, |d| d.0);
    // What the application frames above the wait say.
    let app = &stack[top.unwrap_or(stack.len())..];
    if kind != ActivityKind::LockWait {
        if app.iter().take(12).any(|f| is_database(&f.function)) {
            kind = ActivityKind::Database;
        } else if kind == ActivityKind::CondWait
            && app.iter().take(6).any(|f| is_task_wait(&f.function))
        {
            kind = ActivityKind::TaskWait;
        }
    }
    let activity = Activity { kind, frame: top };
    let Some((ActivityKind::LockWait, Some(lock_kind))) = decided else {
        return (activity, None);
    };

    // The lock: the Asterisk wrapper knows its name and who asked; the C library
    // frames know the address.
    // The outermost wrapper is the one the application called (`__ao2_lock` above
    // `__ast_pthread_mutex_lock`): its arguments say who asked.
    let wrapper = region
        .iter()
        .rev()
        .find(|f| AST_LOCK_WRAPPERS.contains(&&*f.function));
    let wrapper_args = wrapper.map(|f| args(&f.args)).unwrap_or_default();
    let mut addr = None;
    let mut sym = None;
    for f in region {
        let a = args(&f.args);
        if let Some(v) = arg(&a, &["mutex", "rwlock"]) {
            addr = hex_in(v);
            sym = symbol_in(v);
            break;
        }
    }
    // The Asterisk mutex wrapper's `t` is the lock it was asked to take (for ao2
    // objects, the mutex inside the object's header: what `core show locks` prints).
    let inner_wrapper = region
        .iter()
        .find(|f| AST_LOCK_WRAPPERS.contains(&&*f.function) && f.function != "__ao2_lock");
    if let Some(v) = inner_wrapper.and_then(|f| arg(&args(&f.args), &["t", "rwlock", "mutex"])) {
        if addr.is_none() {
            addr = hex_in(v);
            sym = symbol_in(v);
        }
    }
    if addr.is_none() {
        // Mutexes only: the futex word is the mutex's first field.
        if lock_kind == LockKind::Mutex {
            for f in region {
                if let Some(v) = arg(&args(&f.args), &["futex", "futex_word"]) {
                    addr = hex_in(v);
                    sym = symbol_in(v);
                    break;
                }
            }
        }
    }
    let mut name: Option<String> = None;
    for f in region
        .iter()
        .filter(|f| AST_LOCK_WRAPPERS.contains(&&*f.function))
    {
        let a = args(&f.args);
        if let Some(s) = arg(&a, &["mutex_name", "name", "var"]).and_then(string_in) {
            name = Some(s.to_string());
            break;
        }
    }
    if name.is_none() {
        name = sym.map(|s| format!("&{s}"));
    }
    let location = match (
        arg(&wrapper_args, &["filename", "file"]).and_then(string_in),
        arg(&wrapper_args, &["lineno", "line"])
            .and_then(|v| v.split_whitespace().next()?.parse::<u32>().ok()),
        arg(&wrapper_args, &["func"]).and_then(string_in),
    ) {
        (Some(file), Some(line), Some(function)) => Some(Location {
            file: Cow::Owned(file.to_string()),
            line,
            function: Cow::Owned(function.to_string()),
        }),
        _ => top.and_then(|t| {
            let f = &stack[t];
            Some(Location {
                file: Cow::Owned(f.file.as_deref()?.to_string()),
                line: f.line?,
                function: Cow::Owned(f.function.to_string()),
            })
        }),
    };
    (
        activity,
        Some(LockWait {
            kind: lock_kind,
            addr: addr.map(str::to_string),
            name,
            location,
        }),
    )
}

/// The thread's start routine: the frame that `dummy_start` (Asterisk) or
/// `start_thread` (glibc) called.
fn start_routine<'a>(stack: &[StackFrame<'a>]) -> Option<Cow<'a, str>> {
    let outer = stack
        .iter()
        .position(|f| f.function == "dummy_start")
        .or_else(|| stack.iter().position(|f| f.function == "start_thread"))?;
    let f = stack.get(outer.checked_sub(1)?)?;
    (f.function != "??").then(|| f.function.clone())
}

struct Builder<'a> {
    threads: Vec<Thread<'a>>,
    warnings: Vec<Warning>,
}

impl<'a> Builder<'a> {
    fn finish_thread(&mut self) {
        let Some(t) = self.threads.last_mut() else {
            return;
        };
        if t.activity.is_some() {
            return;
        }
        let (activity, wait) = classify(&t.stack);
        t.activity = Some(activity);
        if t.start.is_none() {
            if let Some(routine) = start_routine(&t.stack) {
                t.start = Some(ast_locks_model::ThreadStart {
                    routine,
                    location: Location::default(),
                });
            }
        }
        if let Some(w) = wait {
            match w.addr {
                Some(addr) => {
                    let mut e = LockEntry::new(0, LockState::Waiting, w.kind, addr);
                    e.name = w.name.map(Cow::Owned).unwrap_or_default();
                    e.location = w.location.unwrap_or_default();
                    e.line = t.line;
                    t.entries.push(e);
                }
                None => self.warnings.push(Warning {
                    line: t.line,
                    message: format!(
                        "thread {} waits for a {} whose address no frame shows (no debug symbols for the C library?)",
                        t.id,
                        if w.kind == LockKind::Mutex { "mutex" } else { "rwlock" }
                    ),
                }),
            }
        }
    }
}

/// True when the text looks like gdb backtraces: a `Thread N (` header followed
/// by a `#0 ` frame.
pub fn looks_like(input: &str) -> bool {
    let mut saw_header = false;
    for raw in input.lines().take(200_000) {
        let Cleaned::Text { start, end } = clean_line(raw) else {
            continue;
        };
        let s = &raw[start..end];
        if header(s).is_some() {
            saw_header = true;
        } else if saw_header && s.starts_with("#0 ") {
            return true;
        }
    }
    false
}

/// Parse gdb backtraces.
pub fn parse_str(input: &str) -> Result<Dump<'_>, crate::ParseError> {
    let mut b = Builder {
        threads: Vec::new(),
        warnings: Vec::new(),
    };
    let mut first_text = None;
    for (i, raw) in input.split('\n').enumerate() {
        let lineno = i + 1;
        let (start, end) = match clean_line(raw) {
            Cleaned::Decoration => continue,
            Cleaned::Text { start, end } => (start, end),
        };
        let s = &raw[start..end];
        if s.is_empty() {
            continue;
        }
        if first_text.is_none() {
            first_text = Some((lineno, start + 1, s));
        }
        if let Some(h) = header(s) {
            b.finish_thread();
            let id = match (h.pthread, h.lwp) {
                (Some(p), _) => Cow::Borrowed(p),
                (None, Some(lwp)) => Cow::Owned(format!("LWP {lwp}")),
                (None, None) => Cow::Owned(format!("gdb thread {}", h.num)),
            };
            let mut t = Thread::new(id);
            t.lwp = h.lwp;
            t.gdb_num = Some(h.num);
            t.name = Cow::Borrowed(h.name.unwrap_or(""));
            t.line = lineno;
            b.threads.push(t);
            continue;
        }
        let Some(t) = b.threads.last_mut() else {
            continue;
        };
        if t.activity.is_some() {
            // After the thread's frames ended (a blank line or other output), text
            // belongs to no thread.
            continue;
        }
        if s.starts_with('#') {
            match frame(s) {
                Some(f) => t.stack.push(f),
                None => b.warnings.push(Warning {
                    line: lineno,
                    message: format!("frame line not understood: `{}`", crate::excerpt(s)),
                }),
            }
        } else if raw.starts_with([' ', '\t']) {
            // `bt full` locals, indented under their frame.
            if let Some(f) = t.stack.last_mut() {
                if s != "No locals." && s != "No symbol table info available." {
                    f.locals.push(Cow::Borrowed(s));
                }
            }
        } else if s.starts_with("No locals.")
            || s.starts_with("No symbol table info")
            || s.starts_with("Backtrace stopped")
            || s.starts_with("--Type <RET>")
        {
            // gdb's own remarks inside a thread's block.
        } else if !t.stack.is_empty() {
            b.finish_thread();
        }
    }
    b.finish_thread();
    if b.threads.is_empty() {
        return Err(match first_text {
            None => crate::ParseError::Empty,
            Some((line, column, found)) => crate::ParseError::NoDump {
                line,
                column,
                found: crate::excerpt(found),
            },
        });
    }
    let frames: usize = b.threads.iter().map(|t| t.stack.len()).sum();
    if frames > 0
        && b.threads
            .iter()
            .flat_map(|t| &t.stack)
            .all(|f| f.function == "??")
    {
        return Err(crate::ParseError::NoSymbols { frames });
    }
    // gdb lists threads from the highest number down; dump order is creation order.
    b.threads.sort_by_key(|t| t.gdb_num);
    Ok(Dump {
        format: InputFormat::Gdb,
        snapshots: vec![Snapshot {
            threads: b.threads,
            format: InputFormat::Gdb,
            ..Snapshot::default()
        }],
        warnings: b.warnings,
    })
}

#[cfg(test)]
mod tests;
