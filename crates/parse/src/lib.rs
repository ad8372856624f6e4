//! Parsers for Asterisk lock dumps: bytes in, an [`ast_locks_model::Dump`] out.
//!
//! Today this reads `core show locks` from every Asterisk generation that prints
//! it (1.6 – 11, 12 – 20, 21+), including the damage that pasting does: CRLF,
//! tabs turned into spaces, `> ` quoting, CLI prompts, markdown fences, Jira
//! `{noformat}` / `{code}` markers, log timestamps, trailing junk, truncation and
//! several dumps in one file. Lines that are not understood inside a thread
//! block become [`ast_locks_model::Warning`]s; only an input that holds no dump
//! at all is an error.
//!
//! ```
//! let text = b"=== Thread ID: 0x1 (main)\n=== ---> Waiting for Lock #0 (a.c): MUTEX 7 f &l 0x10 (1)\n";
//! let dump = ast_locks_parse::parse(text).unwrap();
//! let thread = &dump.snapshots[0].threads[0];
//! assert_eq!(thread.waiting().map(|e| &*e.addr), Some("0x10"));
//! assert_eq!(dump.warnings.len(), 1); // no end line: the dump is truncated
//! ```

pub mod clean;
pub mod coredumper;
pub mod csl;
pub mod gdb;
pub mod join;
pub mod owners;
pub mod refs;
pub mod rejoin;

/// Show at most this many characters of a line in a message.
const EXCERPT: usize = 100;

/// The first lines of text of an input (three at most, each cut short), for
/// a message that quotes them.
pub(crate) fn first_lines(input: &str) -> String {
    let lines: Vec<String> = input
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(3)
        .map(|l| excerpt_to(l, 60))
        .collect();
    lines.join(" / ")
}

fn excerpt_to(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

/// The start of a line, for messages.
pub(crate) fn excerpt(s: &str) -> String {
    match s.char_indices().nth(EXCERPT) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

use ast_locks_model::{Dump, Warning};

/// Why an input could not be read as a lock dump at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The input has no text: no bytes, or blank lines only.
    #[error("the input is empty: expected the output of `core show locks`")]
    Empty,
    /// The input is binary (it holds NUL bytes) and no dump was found in it.
    #[error("the input is binary data, not text: expected the output of `core show locks`")]
    Binary,
    /// The input has text, but nothing ast-locks reads: no `core show locks`
    /// thread block or banner, no gdb frame, no ast_coredumper lock row, no
    /// owner look-up. `line` and `column` are 1-based and point at the first
    /// line of text.
    #[error(
        "line {line}, column {column}: nothing to read: found no `core show locks` thread block \
         (`=== Thread ID: …`), no gdb frame (`#0  0x… in …`), no ast_coredumper lock row and no \
         owner look-up (`x/3dw`); the input starts with: `{found}`"
    )]
    NoDump {
        /// 1-based line of the first text.
        line: usize,
        /// 1-based column of the first text.
        column: usize,
        /// The first lines of text.
        found: String,
    },
    /// An ast_coredumper locks file with its table header and no row: the
    /// `show_locks` gdb macro failed (Asterisk 18 and 22 ship one that stops with
    /// "There is no member named tracking.").
    #[error(
        "line {line}: this ast_coredumper locks file holds only its table header: its show_locks \
         gdb macro failed (in Asterisk 18 and 22 it stops at \"There is no member named tracking.\"). \
         Use `core show locks` output, or the backtraces ast_coredumper wrote beside it \
         (<core>-brief.txt or -full.txt), with `ast-locks gdb-commands` for the owners"
    )]
    HeaderOnly {
        /// 1-based line of the table header.
        line: usize,
    },
    /// The input is an ELF core file (a process image), not text.
    #[error(
        "this is a core file (ELF core dump), not a lock dump: let ast-locks read its threads \
         with gdb: `ast-locks capture --core FILE --binary /usr/sbin/asterisk`"
    )]
    CoreFile,
    /// gdb backtraces in which no frame names a function (every one `?? ()`):
    /// gdb was given another program than the one that wrote the core, or a
    /// stripped one. Nothing can be read from them.
    #[error(
        "no frame of the {frames} gdb printed names a function (all `?? ()`): gdb read the core \
         with another program than the one that wrote it, or a stripped one"
    )]
    NoSymbols {
        /// How many frames there were.
        frames: usize,
    },
    /// The input is an ELF program or library.
    #[error("this is an ELF program or library, not a lock dump: expected the output of `core show locks` or gdb backtraces")]
    ElfProgram,
}

/// ELF files: a core (`ET_CORE`) or anything else (programs, libraries).
fn elf_error(input: &[u8]) -> Option<ParseError> {
    if !input.starts_with(b"\x7fELF") {
        return None;
    }
    // e_type is the 16-bit field at offset 16, in the byte order e_ident[5] gives.
    let e_type = match (input.get(5), input.get(16), input.get(17)) {
        (Some(2), Some(&hi), Some(&lo)) => u16::from_be_bytes([hi, lo]),
        (_, Some(&lo), Some(&hi)) => u16::from_le_bytes([lo, hi]),
        _ => 0,
    };
    Some(if e_type == 4 {
        ParseError::CoreFile
    } else {
        ParseError::ElfProgram
    })
}

/// The kinds of input ast-locks reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputKind {
    /// `core show locks`.
    CoreShowLocks,
    /// ast_coredumper's locks table or CSV.
    CoredumperLocks,
    /// gdb backtraces (`thread apply all bt`, `bt full`).
    Gdb,
    /// gdb look-ups of lock owners (`x/3dw`, `p *(pthread_mutex_t *)`).
    Owners,
}

impl InputKind {
    /// The label used in options and messages.
    pub fn label(self) -> &'static str {
        match self {
            InputKind::CoreShowLocks => "core-show-locks",
            InputKind::CoredumperLocks => "coredumper-locks",
            InputKind::Gdb => "gdb",
            InputKind::Owners => "owners",
        }
    }
}

/// Tell what an input is from its content. `None` when it is none of them (the
/// `core show locks` parser then says what was expected).
pub fn detect(input: &[u8]) -> Option<InputKind> {
    // The `core show locks` markers are searched in the bytes: no copy, no UTF-8
    // check of a large input just to find out what it is.
    if memchr::memmem::find(input, b"=== Thread ID:").is_some()
        || memchr::memmem::find(input, b"=== Currently Held Locks").is_some()
    {
        return Some(InputKind::CoreShowLocks);
    }
    let text = String::from_utf8_lossy(input);
    let text = text.as_ref();
    if coredumper::looks_like(text) {
        return Some(InputKind::CoredumperLocks);
    }
    if gdb::looks_like(text) {
        return Some(InputKind::Gdb);
    }
    if owners::looks_like(text) {
        return Some(InputKind::Owners);
    }
    None
}

/// Parse a lock dump of a known kind (not [`InputKind::Owners`]: see [`owners::parse`]).
pub fn parse_kind(input: &[u8], kind: InputKind) -> Result<Dump<'_>, ParseError> {
    if let Some(e) = elf_error(input) {
        return Err(e);
    }
    fn parse_text(s: &str, kind: InputKind) -> Result<Dump<'_>, ParseError> {
        match kind {
            InputKind::CoreShowLocks | InputKind::Owners => csl::parse_str(s),
            InputKind::CoredumperLocks => coredumper::parse_str(s),
            InputKind::Gdb => gdb::parse_str(s),
        }
    }
    match std::str::from_utf8(input) {
        Ok(s) => parse_text(s, kind),
        Err(e) => {
            let line = 1 + input[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            let repaired = String::from_utf8_lossy(input);
            let mut dump = parse_text(&repaired, kind)?.into_owned();
            dump.warnings.push(Warning {
                line,
                message: "invalid UTF-8 replaced with U+FFFD (first at this line)".to_string(),
            });
            dump.warnings.sort_by_key(|w| w.line);
            Ok(dump)
        }
    }
}

/// Parse a `core show locks` dump from bytes.
///
/// Invalid UTF-8 is replaced (U+FFFD) with a warning naming the first line it
/// was found on; it is never fatal. Valid input is borrowed, not copied.
pub fn parse(input: &[u8]) -> Result<Dump<'_>, ParseError> {
    parse_kind(input, InputKind::CoreShowLocks)
}

/// Parse a lock dump from text.
pub fn parse_str(input: &str) -> Result<Dump<'_>, ParseError> {
    csl::parse_str(input)
}
