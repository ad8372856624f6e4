//! Reference-count logs (Asterisk's `refs` file, `refdebug = yes`): one line of
//! the log as the parser reads it, and the owned event the reports show.
//!
//! This is a family of its own, apart from the thread/lock model: a refs log is
//! a stream of `+N`/`-N` changes to astobj2 objects, read line by line without
//! keeping the file.
//!
//! ```
//! use ast_locks_model::refs::{LineState, RefLine};
//!
//! let line = RefLine {
//!     addr: 0x55d79c5a7318,
//!     delta: 1,
//!     thread: Some(28766),
//!     file: b"res_refs_demo.c",
//!     line: 356,
//!     function: b"r2_leak_site_a",
//!     state: LineState::Count(1),
//!     tag: b"r2 leak site A: ref never released",
//! };
//! assert!(!line.state.is_constructor());
//! assert_eq!(line.to_event(7581).site(), "res_refs_demo.c:356 r2_leak_site_a");
//! ```

use std::fmt;

/// Which writer produced a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RefsFormat {
    /// Comma-separated `addr,delta,tid,file,line,func,state,tag` (Asterisk
    /// 1.8.28, 11.10, 12.3, 13 and later).
    Csv,
    /// Space-separated `/tmp/refs` lines without a thread id (Asterisk 1.6 to
    /// 1.8.27, 10, 11.0–11.9, 12.0–12.2).
    Legacy,
}

impl RefsFormat {
    /// The label used in reports and in the JSON contract.
    pub fn label(self) -> &'static str {
        match self {
            RefsFormat::Csv => "csv",
            RefsFormat::Legacy => "legacy",
        }
    }
}

/// What a line's state field says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineState {
    /// `**constructor**`, with `**overhead**size**` since Asterisk 16.1; the
    /// legacy format's `=1`.
    Constructor {
        /// The ao2 header (including the lock) in bytes.
        overhead: Option<u64>,
        /// The size the caller asked for.
        size: Option<u64>,
    },
    /// `**destructor**`, with `lock-state:X**` since 15.7: the count reached
    /// zero and the object was freed.
    Destructor {
        /// What the lock-state part said, if there was one.
        lock: LockUse,
    },
    /// `**invalid**`: a reference to a freed (bad magic) object, or one that
    /// would drive the count below zero (Asterisk 14 and later).
    Invalid,
    /// An ordinary change: the count before it (CSV), or `[@N]` (legacy).
    /// `-1` is how 11.11–13 wrote a reference to an invalid object.
    Count(i64),
    /// The legacy `**call destructor**` line, written after the `-1` that freed
    /// the object; it changes nothing.
    CallDestructor,
    /// A legacy line with no `[@N]`.
    Unknown,
}

impl LineState {
    pub fn is_constructor(&self) -> bool {
        matches!(self, LineState::Constructor { .. })
    }
}

/// The `lock-state:` part of a destructor line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockUse {
    /// No lock-state part (Asterisk before 15.7, or without DEBUG_THREADS).
    NotLogged,
    Used,
    Unused,
    None,
    Lockobj,
    Invalid,
}

impl LockUse {
    pub fn label(self) -> &'static str {
        match self {
            LockUse::NotLogged => "",
            LockUse::Used => "used",
            LockUse::Unused => "unused",
            LockUse::None => "none",
            LockUse::Lockobj => "lockobj",
            LockUse::Invalid => "invalid",
        }
    }
}

/// One line of a refs log, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefLine<'a> {
    /// The object's address (`%p`).
    pub addr: u64,
    /// The change: `+1` for a constructor, 0 for a legacy `**call destructor**`.
    pub delta: i64,
    /// The kernel thread id (LWP); the legacy format has none.
    pub thread: Option<u32>,
    pub file: &'a [u8],
    pub line: u32,
    pub function: &'a [u8],
    pub state: LineState,
    /// What the caller said (`ao2_t_*`); empty for untagged calls. May hold commas.
    pub tag: &'a [u8],
}

impl RefLine<'_> {
    /// The owned event, at line `line_no` of the log.
    pub fn to_event(&self, line_no: u64) -> RefEvent {
        RefEvent {
            line_no,
            addr: self.addr,
            delta: self.delta,
            thread: self.thread,
            file: String::from_utf8_lossy(self.file).into_owned(),
            line: self.line,
            function: String::from_utf8_lossy(self.function).into_owned(),
            state: self.state,
            tag: String::from_utf8_lossy(self.tag).into_owned(),
        }
    }
}

/// Why a line is not a refs line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefLineError {
    /// 1-based column where reading stopped.
    pub column: usize,
    /// What was expected there.
    pub expected: &'static str,
}

impl fmt::Display for RefLineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: expected {}", self.column, self.expected)
    }
}

impl std::error::Error for RefLineError {}

/// How a log's lines are read: given by the parser, used by the analysis, so
/// that neither depends on the other.
#[derive(Clone, Copy)]
pub struct RefsGrammar {
    /// The object's address, read cheaply from the start of a line (`None`
    /// when there is none): lines about the same address go to the same worker.
    pub key: fn(&[u8]) -> Option<LineKey>,
    /// The whole line, given the key [`RefsGrammar::key`] read from this very
    /// line when there is one (so that the address is read once), or `None`.
    pub parse: for<'a> fn(LineBytes<'a>, Option<LineKey>) -> Result<RefLine<'a>, RefLineError>,
}

/// How far past the start of a line a parser may read, at most.
pub const READ_AHEAD: usize = 128;

/// A line, and the bytes that follow it in the input, which a parser may
/// read ahead into (whole blocks at a time, the line's end found afterwards)
/// but never takes as part of the line. A reader that gives each line at
/// least [`READ_AHEAD`] bytes from its start lets the parser read fastest.
#[derive(Debug, Clone, Copy)]
pub struct LineBytes<'a> {
    bytes: &'a [u8],
    len: usize,
}

impl<'a> LineBytes<'a> {
    /// A line with nothing after it.
    pub fn new(line: &'a [u8]) -> LineBytes<'a> {
        LineBytes {
            bytes: line,
            len: line.len(),
        }
    }

    /// The first `len` bytes of `bytes` (all of them if there are fewer), the
    /// rest to read ahead into.
    pub fn within(bytes: &'a [u8], len: usize) -> LineBytes<'a> {
        LineBytes {
            bytes,
            len: len.min(bytes.len()),
        }
    }

    /// The line itself.
    pub fn line(&self) -> &'a [u8] {
        self.bytes.get(..self.len).unwrap_or(self.bytes)
    }

    /// The line and the bytes after it.
    pub fn ahead(&self) -> &'a [u8] {
        self.bytes
    }

    /// The line without its last `n` bytes (a `\r`, say); what follows is
    /// unchanged.
    pub fn shortened(self, n: usize) -> LineBytes<'a> {
        LineBytes {
            bytes: self.bytes,
            len: self.len.saturating_sub(n),
        }
    }
}

impl<'a> From<&'a [u8]> for LineBytes<'a> {
    fn from(line: &'a [u8]) -> LineBytes<'a> {
        LineBytes::new(line)
    }
}

/// A line's address as the routing pass read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineKey {
    pub addr: u64,
    /// Where the address ends: the index of the byte after it.
    pub end: u32,
}

impl fmt::Debug for RefsGrammar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefsGrammar")
    }
}

/// One line of the log as the reports show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefEvent {
    /// 1-based line number in the log.
    pub line_no: u64,
    pub addr: u64,
    pub delta: i64,
    pub thread: Option<u32>,
    pub file: String,
    pub line: u32,
    pub function: String,
    pub state: LineState,
    pub tag: String,
}

impl RefEvent {
    /// `file:line function`.
    pub fn site(&self) -> String {
        format!("{}:{} {}", self.file, self.line, self.function)
    }

    /// `file:line`.
    pub fn place(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    /// The change as Asterisk writes it on a ref line: `+1`, `-2`.
    pub fn delta_text(&self) -> String {
        if self.delta > 0 {
            format!("+{}", self.delta)
        } else {
            self.delta.to_string()
        }
    }
}

/// An address as `%p` prints it.
pub fn addr_text(addr: u64) -> String {
    format!("{addr:#x}")
}
