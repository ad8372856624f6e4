//! Asterisk refs logs: object lifetimes, leaks with the references that were
//! never released, releases of freed objects, counts driven below zero, and
//! whether Asterisk was stopped so that a leak means anything.
//!
//! [`diagnose_refs`] streams a log through every core (memory follows the
//! objects alive at one time, not the file) and returns the one
//! [`RefsDiagnosis`] every refs renderer reads.
//!
//! ```
//! use ast_locks_analysis::refs::{diagnose_refs, RefsOptions};
//! use ast_locks_model::refs::{LineBytes, LineKey, LineState, RefLine, RefLineError, RefsGrammar};
//!
//! // A toy grammar: `addr delta` per line, `c` for a constructor, `d` for a destructor.
//! fn parse(bytes: LineBytes<'_>, _key: Option<LineKey>) -> Result<RefLine<'_>, RefLineError> {
//!     let bad = RefLineError { column: 1, expected: "addr delta" };
//!     let text = std::str::from_utf8(bytes.line()).map_err(|_| bad.clone())?;
//!     let mut f = text.split(' ');
//!     let addr = f.next().and_then(|a| u64::from_str_radix(a, 16).ok()).ok_or(bad.clone())?;
//!     let (delta, state) = match f.next() {
//!         Some("c") => (1, LineState::Constructor { overhead: None, size: Some(8) }),
//!         Some("d") => (-1, LineState::Destructor { lock: ast_locks_model::refs::LockUse::None }),
//!         Some(d) => (d.parse().map_err(|_| bad.clone())?, LineState::Count(1)),
//!         None => return Err(bad),
//!     };
//!     Ok(RefLine { addr, delta, thread: Some(1), file: b"a.c", line: 1, function: b"f", state, tag: b"" })
//! }
//! fn key(line: &[u8]) -> Option<LineKey> {
//!     let first = line.split(|&b| b == b' ').next()?;
//!     let addr = u64::from_str_radix(std::str::from_utf8(first).ok()?, 16).ok()?;
//!     Some(LineKey { addr, end: first.len() as u32 })
//! }
//!
//! let log = b"a c\na +1\na d\nb c\n";
//! let d = diagnose_refs(&log[..], RefsGrammar { key, parse }, &RefsOptions::default()).unwrap();
//! assert_eq!(d.leaks.len(), 1);
//! assert_eq!(d.leaks[0].addr, 0xb);
//! assert_eq!(d.verdict(), "LEAKS: 1 object from 1 allocation site");
//! ```

mod engine;
mod findings;
pub mod matching;
mod shard;

pub use shard::Outcome;

use ast_locks_model::refs::{LineState, LockUse, RefEvent, RefLine, RefsFormat, RefsGrammar};
use std::io::Read;

/// How to read a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefsOptions {
    /// Worker threads; 0 uses every core.
    pub threads: usize,
    /// Keep every lifetime at this address for [`RefsDiagnosis::history`].
    pub history: Option<u64>,
    /// Lines kept per lifetime before the released ones are dropped (a global
    /// object referenced all day would otherwise grow without bound).
    pub max_events: usize,
    /// Warnings kept (all are counted).
    pub max_warnings: usize,
    /// Invalid references kept in detail (all are counted).
    pub max_invalid: usize,
    /// Destroyed lifetimes remembered per worker, to name the release that
    /// freed an object a later line refers to.
    pub graveyard: usize,
    /// Bytes read at a time (1 MiB). A line longer than this is reported and
    /// skipped, so it should be far above any refs line; smaller values are
    /// for tests of what crosses from one read to the next.
    pub chunk_bytes: usize,
}

impl Default for RefsOptions {
    fn default() -> RefsOptions {
        RefsOptions {
            threads: 0,
            history: None,
            max_events: 4096,
            max_warnings: 100,
            max_invalid: 10_000,
            graveyard: 1 << 15,
            chunk_bytes: 1 << 20,
        }
    }
}

impl RefsOptions {
    fn workers(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
        .clamp(1, 64)
    }
}

/// Why a log could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RefsError {
    /// Reading failed before anything was read.
    #[error("cannot read the input: {0}")]
    Read(#[from] std::io::Error),
    /// Not one line of the input is a refs line.
    #[error("not a refs log: found no reference-count line (addr,delta,thread,file,line,function,state,tag){}", if .first_lines.is_empty() { "; the input is empty".to_string() } else { format!("; it begins: {}", .first_lines) })]
    NotARefsLog {
        /// The input's first lines, shortened.
        first_lines: String,
    },
}

/// Which line shapes a log holds, and so which Asterisk wrote it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Variant {
    pub csv_lines: u64,
    pub legacy_lines: u64,
    /// `**constructor**N**M**` (16.1 and later).
    pub constructor_sizes: bool,
    /// `**constructor**` alone.
    pub constructor_plain: bool,
    /// `**destructor**lock-state:X**` (15.7 and later).
    pub destructor_lock_state: bool,
    /// `**destructor**` alone.
    pub destructor_plain: bool,
    /// `**invalid**` lines (1.8.31, 11.13, 12.6, 13 and later).
    pub invalid_lines: bool,
    /// Ordinary lines with a count of `-1` (11.11–13: an invalid object).
    pub negative_counts: bool,
}

impl Variant {
    fn note(&mut self, line: &RefLine<'_>) {
        if line.thread.is_some() {
            self.csv_lines += 1;
        } else {
            self.legacy_lines += 1;
        }
        match line.state {
            LineState::Constructor { size, .. } => {
                if size.is_some() {
                    self.constructor_sizes = true;
                } else {
                    self.constructor_plain = true;
                }
            }
            LineState::Destructor { lock } => {
                if lock == LockUse::NotLogged {
                    self.destructor_plain = true;
                } else {
                    self.destructor_lock_state = true;
                }
            }
            LineState::Invalid => self.invalid_lines = true,
            LineState::Count(c) if c < 0 => self.negative_counts = true,
            _ => {}
        }
    }

    fn merge(&mut self, other: &Variant) {
        self.csv_lines += other.csv_lines;
        self.legacy_lines += other.legacy_lines;
        self.constructor_sizes |= other.constructor_sizes;
        self.constructor_plain |= other.constructor_plain;
        self.destructor_lock_state |= other.destructor_lock_state;
        self.destructor_plain |= other.destructor_plain;
        self.invalid_lines |= other.invalid_lines;
        self.negative_counts |= other.negative_counts;
    }

    /// The format most lines are in.
    pub fn format(&self) -> RefsFormat {
        if self.legacy_lines > self.csv_lines {
            RefsFormat::Legacy
        } else {
            RefsFormat::Csv
        }
    }

    /// Which Asterisk releases write these line shapes (docs/refs.md, "Line shapes read").
    pub fn generation(&self) -> &'static str {
        if self.format() == RefsFormat::Legacy {
            return "Asterisk 1.6 to 11.9";
        }
        match (self.constructor_sizes, self.destructor_lock_state) {
            (true, _) => "Asterisk 16.1 or later",
            (false, true) => "Asterisk 15.7",
            (false, false) if self.negative_counts => "Asterisk 11.11 to 13",
            (false, false) => "Asterisk 1.8.28 to 16.0",
        }
    }
}

/// How many lifetimes ended how.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefsCounts {
    /// Lifetimes seen (constructors, and first lines of objects made before the log began).
    pub lifetimes: u64,
    /// Lifetimes that ended in the log.
    pub finished: u64,
    /// Of those, lifetimes whose start is not in the log.
    pub skewed_finished: u64,
    /// Destroyed, but with changes that do not sum to zero (lines missing).
    pub unbalanced: u64,
    /// Whose address was reused before their destructor line, which never came.
    pub superseded: u64,
    /// `**invalid**` lines and `-1` counts.
    pub invalid_lines: u64,
    /// Lines of a freed object written after its lifetime had ended (a late
    /// release whose lifetime the log had already closed).
    pub late_lines: u64,
    /// Invalid references found (use after free, below zero, unknown objects).
    pub invalid: u64,
    /// Objects driven below zero, still "alive" at the end (never freed).
    pub below_zero_alive: u64,
    /// Objects Asterisk's startup made that are alive at the end.
    pub startup_alive: u64,
    /// Objects Asterisk's startup made that were released.
    pub startup_released: u64,
    /// Objects alive at the end of the log.
    pub alive_at_end: u64,
    /// Of those: leaks, shutdown leaks, skewed.
    pub leaked: u64,
    pub shutdown: u64,
    pub skewed_alive: u64,
}

impl RefsCounts {
    fn add(&mut self, o: &RefsCounts) {
        self.lifetimes += o.lifetimes;
        self.finished += o.finished;
        self.skewed_finished += o.skewed_finished;
        self.unbalanced += o.unbalanced;
        self.superseded += o.superseded;
        self.invalid_lines += o.invalid_lines;
        self.late_lines += o.late_lines;
        self.invalid += o.invalid;
        self.below_zero_alive += o.below_zero_alive;
        self.startup_alive += o.startup_alive;
        self.startup_released += o.startup_released;
    }
}

/// What kind of invalid reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum InvalidKind {
    /// A reference to an object already freed (bad magic).
    UseAfterFree,
    /// A release that took the count below zero: the object is never freed.
    BelowZero,
    /// A reference to an address no earlier line explains (freed before the log
    /// began, or not an astobj2 object).
    Unknown,
}

impl InvalidKind {
    /// The label of the JSON contract.
    pub fn label(self) -> &'static str {
        match self {
            InvalidKind::UseAfterFree => "use-after-free",
            InvalidKind::BelowZero => "below-zero",
            InvalidKind::Unknown => "unknown-object",
        }
    }
}

/// One invalid reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub addr: u64,
    pub kind: InvalidKind,
    /// The invalid line.
    pub at: RefEvent,
    /// The release that destroyed the object (use after free).
    pub destroyed_at: Option<RefEvent>,
    /// The object's constructor, when the log has it.
    pub allocated: Option<RefEvent>,
    /// Below zero: the object's lines up to the invalid one.
    pub history: Vec<RefEvent>,
}

/// What was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefsInput {
    pub variant: Variant,
    pub bytes: u64,
    pub lines: u64,
    /// Lines that are refs lines.
    pub parsed_lines: u64,
    pub empty_lines: u64,
    /// (line number, message), first ones only.
    pub warnings: Vec<(u64, String)>,
    pub warnings_total: u64,
    /// The input broke off with this error (a truncated `.gz`).
    pub read_error: Option<String>,
}

/// A reference never released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreleased {
    pub event: RefEvent,
    /// How much of its change is still held (`+2` half released: 1).
    pub left: i64,
}

/// An object alive at the end of the log, with its culprits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    pub addr: u64,
    /// Its constructor line.
    pub allocated: RefEvent,
    /// What the caller asked for, and the ao2 header, when the log says.
    pub size: Option<u64>,
    pub overhead: Option<u64>,
    /// The count left.
    pub refs_left: i64,
    pub unreleased: Vec<Unreleased>,
    /// Its lines (released pairs dropped from very long histories: `elided`).
    pub history: Vec<RefEvent>,
    pub elided: u64,
    /// It is a container (allocated or iterated as one).
    pub container: bool,
    /// Held only by this leaked container (shown under it).
    pub held_by: Option<u64>,
    /// Other leaked containers the log shows it in.
    pub also_in: Vec<u64>,
}

impl Leak {
    /// Bytes the object holds (header and data), when the log says.
    pub fn bytes(&self) -> Option<u64> {
        Some(self.size? + self.overhead.unwrap_or(0))
    }
}

/// `file:line function`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Site {
    pub file: String,
    pub line: u32,
    pub function: String,
}

impl Site {
    pub fn of(e: &RefEvent) -> Site {
        Site {
            file: e.file.clone(),
            line: e.line,
            function: e.function.clone(),
        }
    }
}

impl std::fmt::Display for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{} {}", self.file, self.line, self.function)
    }
}

/// Leaks with the same allocation site and the same unreleased references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeakSite {
    pub allocated: Site,
    /// The allocation tag of the first of them.
    pub tag: String,
    /// The sites (and tags) of the references they still hold.
    pub unreleased: Vec<(Site, String)>,
    /// Indices into the leak list, by allocation line.
    pub leaks: Vec<usize>,
    pub bytes: u64,
    /// Containers: members held only by them, and those members' bytes.
    pub members: u64,
    pub member_bytes: u64,
}

/// The references never released that were taken at one site (and tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreleasedSite {
    pub site: Site,
    pub tag: String,
    /// Leaked objects that still hold such a reference.
    pub objects: u64,
    /// From how many allocation sites those objects come.
    pub allocation_sites: u64,
}

/// An object alive at the end whose start is not in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skewed {
    pub addr: u64,
    pub first: RefEvent,
    /// The count its first line implies (printed count plus that line's change).
    pub count_at_start: i64,
    pub refs_left: i64,
    pub history: Vec<RefEvent>,
    pub elided: u64,
}

/// How Asterisk was stopped, told from its startup objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GracefulStop {
    /// `Some(true)`: the cleanups of `core stop gracefully` ran; `Some(false)`:
    /// they did not (`core stop now`, SIGTERM, a crash, or the log was copied
    /// while Asterisk ran); `None`: the log cannot tell.
    pub known: Option<bool>,
    /// Objects Asterisk's startup made (core `*_init` functions).
    pub startup_objects: u64,
    /// Of those, alive at the end.
    pub startup_alive: u64,
    /// One of them.
    pub example: Option<RefEvent>,
}

/// Every lifetime at one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressHistory {
    pub addr: u64,
    pub lifetimes: Vec<(Outcome, Vec<RefEvent>, u64)>,
    /// Invalid lines at the address (they belong to no lifetime).
    pub invalid: Vec<RefEvent>,
    /// Clean lifetimes not kept (the address had too many to keep).
    pub dropped: u64,
}

/// What a refs log shows, as every refs renderer needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefsDiagnosis {
    pub input: RefsInput,
    pub counts: RefsCounts,
    pub graceful: GracefulStop,
    /// Leaks, by allocation line.
    pub leaks: Vec<Leak>,
    /// Objects alive only because no cleanups ran (when `graceful.known` is
    /// `Some(false)`).
    pub shutdown_leaks: Vec<Leak>,
    pub leak_sites: Vec<LeakSite>,
    /// The leaks by the site of the reference they still hold, most objects
    /// first: which code forgets to release.
    pub unreleased_sites: Vec<UnreleasedSite>,
    pub shutdown_sites: Vec<LeakSite>,
    /// By line.
    pub invalid: Vec<Invalid>,
    pub skewed: Vec<Skewed>,
    pub history: Option<AddressHistory>,
}

/// What can make `ast-locks refs` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefsFinding {
    Leak,
    Invalid,
    Skewed,
    Shutdown,
}

impl RefsDiagnosis {
    /// The findings present.
    pub fn findings(&self) -> Vec<RefsFinding> {
        let mut found = Vec::new();
        if !self.leaks.is_empty() {
            found.push(RefsFinding::Leak);
        }
        if self.counts.invalid > 0 {
            found.push(RefsFinding::Invalid);
        }
        if !self.skewed.is_empty() {
            found.push(RefsFinding::Skewed);
        }
        if !self.shutdown_leaks.is_empty() {
            found.push(RefsFinding::Shutdown);
        }
        found
    }

    /// Invalid references of one kind.
    pub fn invalid_of(&self, kind: InvalidKind) -> impl Iterator<Item = &Invalid> {
        self.invalid.iter().filter(move |i| i.kind == kind)
    }

    /// How many invalid references of one kind (all of them, also those not
    /// kept in detail).
    pub fn invalid_count(&self, kind: InvalidKind) -> usize {
        self.invalid_of(kind).count()
    }

    /// Allocation sites of the leaks.
    pub fn leak_allocation_sites(&self) -> usize {
        let mut sites: Vec<&RefEvent> = self.leaks.iter().map(|l| &l.allocated).collect();
        sites.sort_by(|a, b| (&a.file, a.line, &a.function).cmp(&(&b.file, b.line, &b.function)));
        sites.dedup_by(|a, b| (&a.file, a.line, &a.function) == (&b.file, b.line, &b.function));
        sites.len()
    }

    /// The one-line verdict: `LEAKS: 3 objects from 1 allocation site; USE AFTER FREE: 2`.
    pub fn verdict(&self) -> String {
        let mut parts = Vec::new();
        if !self.leaks.is_empty() {
            let sites = self.leak_allocation_sites();
            parts.push(format!(
                "LEAKS: {} from {} allocation site{}",
                plural(self.leaks.len() as u64, "object"),
                sites,
                if sites == 1 { "" } else { "s" }
            ));
        }
        for (kind, label) in [
            (InvalidKind::UseAfterFree, "USE AFTER FREE"),
            (InvalidKind::BelowZero, "BELOW ZERO"),
            (InvalidKind::Unknown, "INVALID OBJECT"),
        ] {
            let n = self.invalid_count(kind);
            if n > 0 {
                parts.push(format!("{label}: {n}"));
            }
        }
        if self.counts.invalid > self.invalid.len() as u64 {
            parts.push(format!(
                "{} more invalid references",
                self.counts.invalid - self.invalid.len() as u64
            ));
        }
        if !self.shutdown_leaks.is_empty() {
            parts.push(format!(
                "NOT STOPPED GRACEFULLY: {} alive that only a graceful stop releases",
                plural(self.shutdown_leaks.len() as u64, "object")
            ));
        }
        if !self.skewed.is_empty() {
            parts.push(format!(
                "SKEWED: {} alive whose start is not in the log",
                plural(self.skewed.len() as u64, "object")
            ));
        }
        if parts.is_empty() {
            return format!(
                "CLEAN: all {} released",
                plural(self.counts.lifetimes, "object")
            );
        }
        parts.join("; ")
    }
}

/// `1 object`, `3 objects`, `1,688 objects`.
pub fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{} {word}s", thousands(n))
    }
}

/// `12,265`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Read a refs log to its end and diagnose it.
pub fn diagnose_refs<R: Read + Send>(
    input: R,
    grammar: RefsGrammar,
    opts: &RefsOptions,
) -> Result<RefsDiagnosis, RefsError> {
    let scanned = engine::scan(input, grammar, opts)?;
    findings::diagnose(scanned, &grammar, opts)
}

/// A loadable module's source file (apps, channels, res, …) rather than
/// Asterisk's core (main/): the module file prefixes, less the core files that
/// share them.
pub fn is_module_file(file: &[u8]) -> bool {
    const PREFIXES: [&[u8]; 11] = [
        b"app_", b"bridge_", b"cdr_", b"cel_", b"chan_", b"codec_", b"format_", b"func_", b"pbx_",
        b"res_", b"test_",
    ];
    const CORE: [&[u8]; 12] = [
        b"bridge_after.c",
        b"bridge_basic.c",
        b"bridge_channel.c",
        b"bridge_roles.c",
        b"bridging_after.c",
        b"bridging_basic.c",
        b"bridging_channel.c",
        b"bridging_roles.c",
        b"codec_builtin.c",
        b"format_cache.c",
        b"format_cap.c",
        b"format_compatibility.c",
    ];
    PREFIXES.iter().any(|p| file.starts_with(p)) && !CORE.contains(&file)
}

#[cfg(test)]
mod tests;
