//! The thread/lock model shared by every ast-locks crate: what a lock dump says,
//! with no parsing and no analysis in it.
//!
//! A [`Dump`] is what one input held: one or more [`Snapshot`]s (several dumps can be
//! concatenated in one file), each a list of [`Thread`]s in the order Asterisk printed
//! them, each with its [`LockEntry`]s in order. Text fields borrow from the input
//! (`Cow<'a, str>`) so a large dump is not copied line by line; a line that was not
//! valid UTF-8 is carried as an owned, repaired copy instead.
//!
//! ```
//! use ast_locks_model::{LockEntry, LockKind, LockState, Snapshot, Thread};
//!
//! let mut thread = Thread::new("0x7f67a15356c0");
//! thread.lwp = Some(32380);
//! let mut entry = LockEntry::new(0, LockState::Waiting, LockKind::Mutex, "0x7f67a50f1140");
//! entry.name = "&s1_mutex_b".into();
//! thread.entries.push(entry);
//! let snapshot = Snapshot { threads: vec![thread], ..Snapshot::default() };
//! assert_eq!(snapshot.threads[0].waiting().map(|e| &*e.addr), Some("0x7f67a50f1140"));
//! ```

pub mod refs;

use std::borrow::Cow;
use std::fmt;

/// Text borrowed from the input where possible.
pub type Text<'a> = Cow<'a, str>;

/// Which family of Asterisk releases printed a `core show locks` dump.
///
/// The families differ in the thread header (LWP since 12), the tail of a lock
/// line (`(times locked)`, `- suspended` since 12, none in 21+) and the timing
/// line that 21+ prints under every entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Generation {
    /// Asterisk 1.6 to 11: `(times locked)` tail, no LWP.
    V1_6To11,
    /// Asterisk 12 to 20: LWP in the thread header, optional `- suspended`, trylock failures.
    V12To20,
    /// Asterisk 21 and later: no tail on the lock line; a timing line follows it.
    V21Plus,
}

impl Generation {
    /// The label used in reports and in the JSON contract (`"1.6-11"`, `"12-20"`, `"21+"`).
    pub fn label(self) -> &'static str {
        match self {
            Generation::V1_6To11 => "1.6-11",
            Generation::V12To20 => "12-20",
            Generation::V21Plus => "21+",
        }
    }

    /// All generations, oldest first.
    pub const ALL: [Generation; 3] = [
        Generation::V1_6To11,
        Generation::V12To20,
        Generation::V21Plus,
    ];
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What kind of input a dump was read from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum InputFormat {
    /// `core show locks` (DEBUG_THREADS builds).
    #[default]
    CoreShowLocks,
    /// The lock table or CSV that ast_coredumper's `show_locks` gdb macro writes.
    CoredumperLocks,
    /// gdb `thread apply all bt` / `bt full` output.
    Gdb,
}

impl InputFormat {
    /// The label used in reports, options and the JSON contract.
    pub fn label(self) -> &'static str {
        match self {
            InputFormat::CoreShowLocks => "core-show-locks",
            InputFormat::CoredumperLocks => "coredumper-locks",
            InputFormat::Gdb => "gdb",
        }
    }
}

impl fmt::Display for InputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Everything read from one input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dump<'a> {
    /// What kind of input it was.
    pub format: InputFormat,
    /// The snapshots in input order; each banner starts a new one.
    pub snapshots: Vec<Snapshot<'a>>,
    /// Lines that were not understood, with where they were.
    pub warnings: Vec<Warning>,
}

/// A recoverable problem in the input, with the 1-based line it was found on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Warning {
    /// 1-based line number in the input.
    pub line: usize,
    /// What was wrong, for a person.
    pub message: String,
}

/// One `core show locks` output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot<'a> {
    /// The generation the lines were printed in, from per-line evidence (not the banner).
    /// `None` when nothing in the snapshot tells (no thread, or only ambiguous lines).
    pub generation: Option<Generation>,
    /// The `=== <version>` line printed by Asterisk 12+ above the banner, when present.
    pub version: Option<Text<'a>>,
    /// The `at Time:` value of a 21+ banner, as printed.
    pub time: Option<Text<'a>>,
    /// 1-based line of the banner (`=== Currently Held Locks`), `None` when the input
    /// started directly with thread blocks.
    pub banner_line: Option<usize>,
    /// The threads, in the order the dump lists them.
    pub threads: Vec<Thread<'a>>,
    /// True when the input ended inside a thread block of this snapshot.
    pub truncated: bool,
    /// What kind of input the snapshot was read from. `core show locks` and
    /// ast_coredumper tables list every tracked holder; gdb backtraces name no
    /// holder at all, only what the owner look-ups in [`Snapshot::owners`] add.
    pub format: InputFormat,
    /// 1-based line of the `=====` line that closes a `core show locks` dump after
    /// its last thread: `None` when the input stops before it (a paste cut short,
    /// or an excerpt of a few thread blocks), so threads may be missing.
    pub end_line: Option<usize>,
    /// 1-based lines that announced a thread header or a lock line but could not
    /// be read, even after rejoining wrapped lines: what they said is missing.
    pub unreadable: Vec<usize>,
    /// gdb's look-ups of the owners of awaited locks, as applied to the threads.
    pub owners: Vec<Owner>,
    /// True when the input shows every thread of the process, each with its
    /// whole stack: gdb's `thread apply all bt` (threads 1 to N), `core show
    /// locks` aside (see [`Snapshot::end_line`]).
    pub all_threads: bool,
    /// The program the input names (`Core was generated by `/usr/bin/rtpengine …'`,
    /// `gdb /usr/sbin/asterisk core`), when it names one.
    pub program: Option<Text<'a>>,
}

/// gdb's answer to "who owns the lock at this address" (`x/3dw ADDR`, `p *mutex`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Owner {
    /// The lock's address.
    pub addr: u64,
    /// The owning thread's LWP; 0 means the lock was free when looked up (for a
    /// rwlock: no writer holds it, readers may).
    pub lwp: u64,
    /// True when read from a rwlock's writer field.
    pub rwlock_writer: bool,
}

/// One `=== Thread ID:` block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Thread<'a> {
    /// The id exactly as printed (`0x7f0c2d4ff700` or a decimal number).
    pub id: Text<'a>,
    /// The id as a number, when it is one.
    pub numeric_id: Option<u64>,
    /// The kernel thread id (`LWP:12345`, Asterisk 12+), when printed.
    pub lwp: Option<u64>,
    /// The text inside the parentheses of the header, as printed.
    pub name: Text<'a>,
    /// The structured form of the name, when it has one.
    pub start: Option<ThreadStart<'a>>,
    /// The lock entries, in order.
    pub entries: Vec<LockEntry<'a>>,
    /// 1-based line of the header.
    pub line: usize,
    /// The debugger's thread number (`Thread 24 (…)` in gdb), when the input came from gdb.
    pub gdb_num: Option<u32>,
    /// The thread's stack from a debugger, innermost frame first; empty when not captured.
    pub stack: Vec<StackFrame<'a>>,
    /// What the stack says the thread is doing, when a stack was captured.
    pub activity: Option<Activity>,
    /// True when the stack is only the thread's innermost frame (a row of gdb's
    /// `info threads`), not its whole backtrace.
    pub innermost_only: bool,
}

/// One frame of a debugger backtrace (`#4  0x… in func (args) at file.c:80`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackFrame<'a> {
    /// The frame line as printed, without its locals.
    pub raw: Text<'a>,
    /// Frame number (`#4`).
    pub level: u32,
    /// The program counter, when printed (`0x00005625d407bc14`).
    pub address: Option<Text<'a>>,
    /// Function name (`??` when unknown).
    pub function: Text<'a>,
    /// The argument list as printed, without the outer parentheses.
    pub args: Text<'a>,
    /// Source file (`at lock.c:353`).
    pub file: Option<Text<'a>>,
    /// Source line.
    pub line: Option<u32>,
    /// Library (`from /lib64/libpthread.so.0`) when there is no source.
    pub library: Option<Text<'a>>,
    /// `bt full` locals (`name = value`), as printed.
    pub locals: Vec<Text<'a>>,
}

/// What a thread is doing, read from its stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    /// The kind of wait or work.
    pub kind: ActivityKind,
    /// Index into [`Thread::stack`] of the first frame of the application (above
    /// the C library and Asterisk's lock, condition and semaphore wrappers).
    pub frame: Option<usize>,
}

/// Kinds of thread activity that matter when a thread holds what others wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActivityKind {
    /// Blocked acquiring a mutex or rwlock.
    LockWait,
    /// Waiting on a condition variable (`ast_cond_wait`): for a signal that may never come.
    CondWait,
    /// Waiting for a task it pushed to a taskprocessor to finish (synchronous push).
    TaskWait,
    /// Waiting on a semaphore (an idle taskprocessor thread).
    SemWait,
    /// In poll, epoll or select.
    Poll,
    /// Sleeping (nanosleep, usleep, sleep).
    Sleep,
    /// Blocked in a read, write, receive or accept.
    Io,
    /// In a database call (ODBC, SQLite, PostgreSQL, MySQL, Berkeley DB).
    Database,
    /// Waiting for another thread to exit (pthread_join).
    Join,
    /// Busy in a trylock retry loop (`sched_yield ()` or `usleep ()` over a
    /// trylock), or spinning for a spin lock: not blocked, and a livelock suspect.
    Spin,
    /// None of the above: running, or a wait this tool does not know.
    Other,
}

impl ActivityKind {
    /// A few words for reports: "is in a condition wait".
    pub fn describe(self) -> &'static str {
        match self {
            ActivityKind::LockWait => "is waiting for a lock",
            ActivityKind::CondWait => "is in a condition wait",
            ActivityKind::TaskWait => "is waiting for a task to finish",
            ActivityKind::SemWait => "is waiting on a semaphore",
            ActivityKind::Poll => "is in poll/epoll",
            ActivityKind::Sleep => "is sleeping",
            ActivityKind::Io => "is blocked in I/O",
            ActivityKind::Database => "is in a database call",
            ActivityKind::Join => "is waiting for a thread to exit",
            ActivityKind::Spin => "is spinning in a trylock loop",
            ActivityKind::Other => "is running or in an unclassified wait",
        }
    }

    /// A short label for JSON (`cond-wait`).
    pub fn label(self) -> &'static str {
        match self {
            ActivityKind::LockWait => "lock-wait",
            ActivityKind::CondWait => "cond-wait",
            ActivityKind::TaskWait => "task-wait",
            ActivityKind::SemWait => "sem-wait",
            ActivityKind::Poll => "poll",
            ActivityKind::Sleep => "sleep",
            ActivityKind::Io => "io",
            ActivityKind::Database => "database",
            ActivityKind::Join => "join",
            ActivityKind::Spin => "spin",
            ActivityKind::Other => "other",
        }
    }
}

impl<'a> Thread<'a> {
    /// A thread with the given printed id and nothing else.
    pub fn new(id: impl Into<Text<'a>>) -> Self {
        let id = id.into();
        let numeric_id = parse_thread_id(&id);
        Thread {
            id,
            numeric_id,
            ..Thread::default()
        }
    }

    /// The entry this thread is blocked on: the last `Waiting for` entry.
    pub fn waiting(&self) -> Option<&LockEntry<'a>> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.state == LockState::Waiting)
    }

    /// Entries that currently hold their lock (held and not suspended).
    pub fn holding(&self) -> impl Iterator<Item = &LockEntry<'a>> {
        self.entries.iter().filter(|e| e.is_holding())
    }

    /// The start routine when the name is structured, else the raw name.
    pub fn short_name(&self) -> &str {
        match &self.start {
            Some(s) => &s.routine,
            None => &self.name,
        }
    }
}

/// Parse a thread id as Asterisk prints it: `0x…` hex or decimal.
pub fn parse_thread_id(id: &str) -> Option<u64> {
    match id.strip_prefix("0x").or_else(|| id.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => id.parse().ok(),
    }
}

/// Parse a `%p` lock address: `0x…` hex, or `(nil)` for 0.
pub fn parse_address(addr: &str) -> Option<u64> {
    if addr == "(nil)" {
        return Some(0);
    }
    let hex = addr
        .strip_prefix("0x")
        .or_else(|| addr.strip_prefix("0X"))?;
    u64::from_str_radix(hex, 16).ok()
}

/// The structured thread name `%-20s started at [%5d] %s %s()`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadStart<'a> {
    /// The start routine (`pbx_thread`, `do_monitor`).
    pub routine: Text<'a>,
    /// Where the thread was created.
    pub location: Location<'a>,
}

/// A place in the source: file, line, function.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location<'a> {
    /// Source file name as printed (`channel.c`).
    pub file: Text<'a>,
    /// Line number.
    pub line: u32,
    /// Function name, without `()`.
    pub function: Text<'a>,
}

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{} {}()", self.file, self.line, self.function)
    }
}

/// Whether an entry holds, waits for, or failed to get its lock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockState {
    /// The lock is held (the line has no prefix).
    #[default]
    Held,
    /// `Waiting for`: the thread is blocked acquiring it.
    Waiting,
    /// `Tried and failed to get`: a trylock that failed. Not a wait.
    TriedAndFailed,
}

impl LockState {
    /// The prefix Asterisk prints before `Lock #`.
    pub fn prefix(self) -> &'static str {
        match self {
            LockState::Held => "",
            LockState::Waiting => "Waiting for ",
            LockState::TriedAndFailed => "Tried and failed to get ",
        }
    }

    /// A short lower-case word for reports.
    pub fn label(self) -> &'static str {
        match self {
            LockState::Held => "held",
            LockState::Waiting => "waiting",
            LockState::TriedAndFailed => "tried-and-failed",
        }
    }
}

/// The lock type printed on the entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockKind {
    /// `MUTEX`: an Asterisk mutex (recursive).
    Mutex,
    /// `RDLOCK`: the read side of a rwlock.
    RdLock,
    /// `WRLOCK`: the write side of a rwlock.
    WrLock,
    /// `UNKNOWN`: the tracking code did not know; treated as exclusive.
    #[default]
    Unknown,
}

impl LockKind {
    /// The word Asterisk prints (`MUTEX`, `RDLOCK`, `WRLOCK`, `UNKNOWN`).
    pub fn label(self) -> &'static str {
        match self {
            LockKind::Mutex => "MUTEX",
            LockKind::RdLock => "RDLOCK",
            LockKind::WrLock => "WRLOCK",
            LockKind::Unknown => "UNKNOWN",
        }
    }

    /// The inverse of [`LockKind::label`].
    pub fn from_label(s: &str) -> Option<Self> {
        Some(match s {
            "MUTEX" => LockKind::Mutex,
            "RDLOCK" => LockKind::RdLock,
            "WRLOCK" => LockKind::WrLock,
            "UNKNOWN" => LockKind::Unknown,
            _ => return None,
        })
    }

    /// True for the two sides of a rwlock.
    pub fn is_rwlock(self) -> bool {
        matches!(self, LockKind::RdLock | LockKind::WrLock)
    }
}

/// One `=== ---> … Lock #i` line and what follows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockEntry<'a> {
    /// `#i`: the entry's position in the thread's list, from 0.
    pub index: u32,
    /// Held, waiting, or tried and failed.
    pub state: LockState,
    /// Mutex, read lock, write lock, unknown.
    pub kind: LockKind,
    /// Where the lock was asked for.
    pub location: Location<'a>,
    /// The C expression that named the lock (`&chan->lock`); may be shared by many locks.
    pub name: Text<'a>,
    /// The lock address as printed (`0x…` or `(nil)`): the lock's identity.
    /// Set it with [`LockEntry::new`] or [`LockEntry::set_addr`], which keep
    /// [`LockEntry::address`] in step.
    pub addr: Text<'a>,
    /// `addr` as a number, read once where the line was parsed: the analysis looks
    /// every entry's lock up by it without reading the input again.
    value: u64,
    /// Whether `value` holds the address (a flag beside the other small fields
    /// rather than an `Option`, which would cost 8 more bytes per entry).
    numeric: bool,
    /// Times locked (`(1)`), when printed.
    pub times_locked: Option<u32>,
    /// Attempts (21+ timing line), when printed.
    pub attempts: Option<u32>,
    /// `- suspended`: released while waiting on a condition, so not actually held.
    pub suspended: bool,
    /// The 21+ timing triple, when printed.
    pub timing: Option<Timing<'a>>,
    /// The backtrace frames printed under the entry.
    pub backtrace: Backtrace<'a>,
    /// `Locked Here:` locations (where the current holder took the awaited mutex).
    pub locked_here: Vec<Location<'a>>,
    /// 1-based line of the entry in the input.
    pub line: usize,
}

impl<'a> LockEntry<'a> {
    /// An entry with the given identity and nothing else.
    pub fn new(index: u32, state: LockState, kind: LockKind, addr: impl Into<Text<'a>>) -> Self {
        let mut e = LockEntry {
            index,
            state,
            kind,
            ..LockEntry::default()
        };
        e.set_addr(addr);
        e
    }

    /// Set the address as printed, and its numeric form.
    pub fn set_addr(&mut self, addr: impl Into<Text<'a>>) {
        self.addr = addr.into();
        let value = parse_address(&self.addr);
        self.numeric = value.is_some();
        self.value = value.unwrap_or_default();
    }

    /// The address as a number ([`parse_address`] of `addr`): `None` when it is no
    /// `0x…` number, `Some(0)` for `(nil)`.
    pub fn address(&self) -> Option<u64> {
        if self.numeric {
            Some(self.value)
        } else {
            parse_address(&self.addr)
        }
    }

    /// True when this entry currently holds its lock: held and not suspended.
    pub fn is_holding(&self) -> bool {
        self.state == LockState::Held && !self.suspended
    }
}

/// The 21+ line `H:MM:SS.uuuuuu, H:MM:SS.uuuuuu, H:MM:SS.uuuuuu (times, attempts)`:
/// last locked, last failed and held for.
///
/// A 21+ dump has one per lock entry, so the three clocks are kept as the one text
/// they were printed as (`A, B, C`, a span of the input) and three numbers, not as
/// three texts: 56 bytes instead of 120. [`Timing::last_locked`] and the others
/// give each as a [`Clock`].
///
/// ```
/// use ast_locks_model::{Clock, Timing};
///
/// let t = Timing::new(Clock::from_micros(5), Clock::from_micros(0), Clock::from_micros(47_750_000));
/// assert_eq!(t.held_for().text, "00:00:47.750000");
/// assert_eq!(t.held_for().micros, Some(47_750_000));
/// assert_eq!(t.text(), "00:00:00.000005, 00:00:00.000000, 00:00:47.750000");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timing<'a> {
    /// The three clocks as printed, joined by `, `.
    text: Text<'a>,
    /// Where the first and the second clock end in `text`.
    ends: [u32; 2],
    /// Each clock in microseconds; [`NO_MICROS`] when it was not well formed or
    /// did not fit.
    micros: [u64; 3],
}

/// A clock's microseconds when it has none (no real clock comes near it: it is
/// more than 500,000 years).
const NO_MICROS: u64 = u64::MAX;

impl<'a> Timing<'a> {
    /// The triple of three clocks, printed the way Asterisk prints them.
    pub fn new(last_locked: Clock<'_>, last_failed: Clock<'_>, held_for: Clock<'_>) -> Timing<'a> {
        let text = format!(
            "{}, {}, {}",
            last_locked.text, last_failed.text, held_for.text
        );
        let a = last_locked.text.len();
        let b = a + 2 + last_failed.text.len();
        Timing::printed(
            text,
            [a, b],
            [last_locked.micros, last_failed.micros, held_for.micros],
        )
    }

    /// The triple as printed: `text` holds the three clocks joined by `, `, the
    /// first ending at `ends[0]`, the second at `ends[1]`; `micros` are their values.
    /// A clock whose bounds are not in `text` reads as empty.
    pub fn printed(text: impl Into<Text<'a>>, ends: [usize; 2], micros: [Option<u64>; 3]) -> Self {
        // Lines are cut at 1 MiB, so an end beyond u32 is no real one: it reads as empty.
        let end = |e: usize| u32::try_from(e).unwrap_or(u32::MAX);
        Timing {
            text: text.into(),
            ends: [end(ends[0]), end(ends[1])],
            micros: micros.map(|m| m.unwrap_or(NO_MICROS)),
        }
    }

    /// The three clocks as printed, joined by `, `.
    pub fn text(&self) -> &str {
        &self.text
    }

    fn clock(&self, k: usize) -> Clock<'_> {
        let [a, b] = self.ends.map(|e| e as usize);
        let range = match k {
            0 => 0..a,
            1 => a.saturating_add(2)..b,
            _ => b.saturating_add(2)..self.text.len(),
        };
        Clock {
            text: Cow::Borrowed(self.text.get(range).unwrap_or_default()),
            micros: Some(self.micros[k]).filter(|&m| m != NO_MICROS),
        }
    }

    /// When the lock was last locked (wall clock as hours since the epoch).
    pub fn last_locked(&self) -> Clock<'_> {
        self.clock(0)
    }

    /// When a lock attempt last failed (`00:00:00.000000` when never).
    pub fn last_failed(&self) -> Clock<'_> {
        self.clock(1)
    }

    /// How long the lock has been held (a duration).
    pub fn held_for(&self) -> Clock<'_> {
        self.clock(2)
    }

    /// A copy that no longer borrows from the input.
    pub fn into_owned(self) -> Timing<'static> {
        Timing {
            text: own(self.text),
            ends: self.ends,
            micros: self.micros,
        }
    }
}

/// An `H:MM:SS.uuuuuu` value: the printed text and its value in microseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Clock<'a> {
    /// As printed.
    pub text: Text<'a>,
    /// Total microseconds, when the text is well formed and fits.
    pub micros: Option<u64>,
}

impl<'a> Clock<'a> {
    /// A clock value printed the way Asterisk prints it.
    pub fn from_micros(micros: u64) -> Clock<'static> {
        let secs = micros / 1_000_000;
        let text = format!(
            "{:02}:{:02}:{:02}.{:06}",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60,
            micros % 1_000_000
        );
        Clock {
            text: Cow::Owned(text),
            micros: Some(micros),
        }
    }
}

/// The backtrace lines printed under a lock entry, kept as one text.
///
/// A busy PBX's dump holds millions of frame lines. The parser keeps the block of
/// frame lines under an entry as the one span of the input it occupies, so a frame
/// costs nothing beyond the input itself; only a block that pasting damaged (quote
/// marks, timestamps, blank lines between frames) is copied, cleaned. The lines are
/// read on demand by [`Backtrace::iter`], and their parts (module, function, offset,
/// address, or file:line) as [`FrameParts`] by `ast_locks_parse::csl::frame::parts`.
///
/// ```
/// use ast_locks_model::Backtrace;
///
/// let printed = "\t[0x55d0] asterisk lock.c:353 __ast_pthread_mutex_lock()\r\n\t[0x55d1] asterisk channel.c:80 f()";
/// let mut bt = Backtrace::from_lines(printed);
/// bt.push("[0x55d2] asterisk pbx.c:9 g()");
/// assert_eq!(bt.len(), 3);
/// assert_eq!(bt.iter().next(), Some("[0x55d0] asterisk lock.c:353 __ast_pthread_mutex_lock()"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Backtrace<'a> {
    /// Frame lines separated by `\n`, each possibly with the indentation and line
    /// end it was printed with.
    text: Text<'a>,
}

impl<'a> Backtrace<'a> {
    /// No frames.
    pub fn new() -> Self {
        Backtrace::default()
    }

    /// The frames in `text`: one per line, surrounding whitespace (indentation, a
    /// `\r`) not part of the frame, blank lines skipped. Borrowed text is not copied.
    pub fn from_lines(text: impl Into<Text<'a>>) -> Self {
        Backtrace { text: text.into() }
    }

    /// Append one frame line (the backtrace becomes an owned copy if it was borrowed).
    /// A line with nothing but whitespace is not a frame and is ignored.
    pub fn push(&mut self, frame: &str) {
        let frame = frame.trim();
        if frame.is_empty() {
            return;
        }
        let text = self.text.to_mut();
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(frame);
    }

    /// The frame lines, in order, without surrounding whitespace.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.text
            .split('\n')
            .map(str::trim)
            .filter(|l| !l.is_empty())
    }

    /// How many frames there are.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True when there is no frame.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// True when the frames are a span of the input rather than a copy.
    pub fn is_borrowed(&self) -> bool {
        matches!(self.text, Cow::Borrowed(_))
    }

    /// A copy that no longer borrows from the input.
    pub fn into_owned(self) -> Backtrace<'static> {
        Backtrace {
            text: own(self.text),
        }
    }

    /// Give back the spare capacity of an owned copy.
    pub fn shrink_to_fit(&mut self) {
        if let Cow::Owned(s) = &mut self.text {
            s.shrink_to_fit();
        }
    }
}

/// Two backtraces are equal when their frames are, however they were kept.
impl PartialEq for Backtrace<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Backtrace<'_> {}

impl<S: AsRef<str>> FromIterator<S> for Backtrace<'static> {
    fn from_iter<I: IntoIterator<Item = S>>(frames: I) -> Self {
        let mut bt = Backtrace::new();
        for f in frames {
            bt.push(f.as_ref());
        }
        bt
    }
}

/// The parts of a backtrace line, where its shape gives them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameParts<'a> {
    /// Which printer produced the line.
    pub shape: FrameShape,
    /// Binary or library (`/usr/sbin/asterisk`, `asterisk`, `libc.so.6`).
    pub module: Option<&'a str>,
    /// Function name, when printed.
    pub function: Option<&'a str>,
    /// `+0x…` offset inside the function or module (`backtrace_symbols`).
    pub offset: Option<&'a str>,
    /// `[0x…]` address.
    pub address: Option<&'a str>,
    /// Source file (BETTER_BACKTRACES).
    pub file: Option<&'a str>,
    /// Source line (BETTER_BACKTRACES).
    pub line: Option<u32>,
}

/// The printer a backtrace line came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum FrameShape {
    /// glibc `backtrace_symbols()`: `module(function+0x1a) [0x4e9679]`.
    Symbols,
    /// Asterisk BETTER_BACKTRACES (libbfd): `[0x…] module file.c:245 function()`.
    Better,
    /// BETTER_BACKTRACES inlined frame: `[inlined] module file.c:3767 function()`.
    Inlined,
    /// `No backtrace to print` / `Couldn't retrieve backtrace symbols`.
    Missing,
    /// Anything else kept as raw text.
    #[default]
    Other,
}

fn own(t: Text<'_>) -> Text<'static> {
    Cow::Owned(t.into_owned())
}

fn own_opt(t: Option<Text<'_>>) -> Option<Text<'static>> {
    t.map(own)
}

impl Dump<'_> {
    /// A copy that no longer borrows from the input.
    pub fn into_owned(self) -> Dump<'static> {
        Dump {
            format: self.format,
            snapshots: self
                .snapshots
                .into_iter()
                .map(Snapshot::into_owned)
                .collect(),
            warnings: self.warnings,
        }
    }
}

impl Snapshot<'_> {
    /// A copy that no longer borrows from the input.
    pub fn into_owned(self) -> Snapshot<'static> {
        Snapshot {
            generation: self.generation,
            version: own_opt(self.version),
            time: own_opt(self.time),
            banner_line: self.banner_line,
            threads: self.threads.into_iter().map(Thread::into_owned).collect(),
            truncated: self.truncated,
            format: self.format,
            end_line: self.end_line,
            unreadable: self.unreadable,
            owners: self.owners,
            all_threads: self.all_threads,
            program: own_opt(self.program),
        }
    }
}

impl Thread<'_> {
    /// A copy that no longer borrows from the input.
    pub fn into_owned(self) -> Thread<'static> {
        Thread {
            id: own(self.id),
            numeric_id: self.numeric_id,
            lwp: self.lwp,
            name: own(self.name),
            start: self.start.map(|s| ThreadStart {
                routine: own(s.routine),
                location: s.location.into_owned(),
            }),
            entries: self
                .entries
                .into_iter()
                .map(LockEntry::into_owned)
                .collect(),
            line: self.line,
            gdb_num: self.gdb_num,
            stack: self.stack.into_iter().map(StackFrame::into_owned).collect(),
            activity: self.activity,
            innermost_only: self.innermost_only,
        }
    }
}

impl StackFrame<'_> {
    /// A copy that no longer borrows from the input.
    pub fn into_owned(self) -> StackFrame<'static> {
        StackFrame {
            raw: own(self.raw),
            level: self.level,
            address: own_opt(self.address),
            function: own(self.function),
            args: own(self.args),
            file: own_opt(self.file),
            line: self.line,
            library: own_opt(self.library),
            locals: self.locals.into_iter().map(own).collect(),
        }
    }
}

impl Location<'_> {
    /// A copy that no longer borrows from the input.
    pub fn into_owned(self) -> Location<'static> {
        Location {
            file: own(self.file),
            line: self.line,
            function: own(self.function),
        }
    }
}

impl Clock<'_> {
    /// A copy that no longer borrows from the input.
    pub fn into_owned(self) -> Clock<'static> {
        Clock {
            text: own(self.text),
            micros: self.micros,
        }
    }
}

impl LockEntry<'_> {
    /// A copy that no longer borrows from the input.
    pub fn into_owned(self) -> LockEntry<'static> {
        LockEntry {
            index: self.index,
            state: self.state,
            kind: self.kind,
            location: self.location.into_owned(),
            name: own(self.name),
            addr: own(self.addr),
            value: self.value,
            numeric: self.numeric,
            times_locked: self.times_locked,
            attempts: self.attempts,
            suspended: self.suspended,
            timing: self.timing.map(Timing::into_owned),
            backtrace: self.backtrace.into_owned(),
            locked_here: self
                .locked_here
                .into_iter()
                .map(Location::into_owned)
                .collect(),
            line: self.line,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_ids_as_printed() {
        let rows: &[(&str, Option<u64>)] = &[
            ("0x7f67a15356c0", Some(0x7f67a15356c0)),
            ("1098918224", Some(1098918224)),
            ("0xffffffffffffffff", Some(u64::MAX)),
            ("0x1ffffffffffffffff", None),
            ("main", None),
            ("", None),
        ];
        for (id, want) in rows {
            assert_eq!(parse_thread_id(id), *want, "{id}");
        }
    }

    #[test]
    fn addresses_as_printed() {
        let rows: &[(&str, Option<u64>)] = &[
            ("0x7f67a50f1100", Some(0x7f67a50f1100)),
            ("(nil)", Some(0)),
            ("&chan->lock", None),
            ("0x", None),
        ];
        for (a, want) in rows {
            assert_eq!(parse_address(a), *want, "{a}");
        }
    }

    #[test]
    fn clock_prints_like_asterisk() {
        assert_eq!(Clock::from_micros(0).text, "00:00:00.000000");
        assert_eq!(Clock::from_micros(2_989_754).text, "00:00:02.989754");
        assert_eq!(
            Clock::from_micros(1_795_311_866_882_753).text,
            "498697:44:26.882753"
        );
    }

    #[test]
    fn waiting_is_the_last_waiting_entry_and_suspended_is_not_holding() {
        let mut t = Thread::new("0x1");
        t.entries.push(LockEntry::new(
            0,
            LockState::Waiting,
            LockKind::Mutex,
            "0x10",
        ));
        let mut held = LockEntry::new(1, LockState::Held, LockKind::Mutex, "0x20");
        held.suspended = true;
        t.entries.push(held);
        t.entries.push(LockEntry::new(
            2,
            LockState::Waiting,
            LockKind::Mutex,
            "0x30",
        ));
        assert_eq!(t.waiting().map(|e| e.index), Some(2));
        assert_eq!(t.holding().count(), 0);
    }

    #[test]
    fn a_backtrace_is_its_frames_however_it_was_kept() {
        let printed = "\t[0x1] a x.c:1 f()\r\n\t[0x2] a x.c:2 g()";
        let span = Backtrace::from_lines(printed);
        assert!(span.is_borrowed());
        let copied: Backtrace<'_> = ["[0x1] a x.c:1 f()", "  [0x2] a x.c:2 g()  "]
            .into_iter()
            .collect();
        assert!(!copied.is_borrowed());
        assert_eq!(span, copied);
        assert_eq!(span.len(), 2);
        assert_eq!(span.iter().last(), Some("[0x2] a x.c:2 g()"));
        let mut grown = Backtrace::from_lines("\t[0x1] a x.c:1 f()\n\n");
        grown.push("\t[0x2] a x.c:2 g()");
        grown.push(" \t ");
        assert_eq!(grown, span);
        assert_ne!(grown, Backtrace::from_lines("[0x1] a x.c:1 f()"));
        assert!(Backtrace::from_lines("\n \r\n").is_empty());
        assert_eq!(span.clone().into_owned(), span);
    }
}
