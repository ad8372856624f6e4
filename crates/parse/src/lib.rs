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
pub mod csl;

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
    /// The input has text but no `=== Thread ID:` block and no banner.
    /// `line` and `column` are 1-based and point at the first line of text.
    #[error(
        "line {line}, column {column}: no `=== Thread ID:` block found (first text: `{found}`); \
         is this the output of `core show locks` from a DEBUG_THREADS build?"
    )]
    NoDump {
        /// 1-based line of the first text.
        line: usize,
        /// 1-based column of the first text.
        column: usize,
        /// The start of that line.
        found: String,
    },
}

/// Parse a lock dump from bytes.
///
/// Invalid UTF-8 is replaced (U+FFFD) with a warning naming the first line it
/// was found on; it is never fatal. Valid input is borrowed, not copied.
pub fn parse(input: &[u8]) -> Result<Dump<'_>, ParseError> {
    match std::str::from_utf8(input) {
        Ok(s) => csl::parse_str(s),
        Err(e) => {
            let line = 1 + input[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            let repaired = String::from_utf8_lossy(input);
            let mut dump = csl::parse_str(&repaired)?.into_owned();
            dump.warnings.push(Warning {
                line,
                message: "invalid UTF-8 replaced with U+FFFD (first at this line)".to_string(),
            });
            dump.warnings.sort_by_key(|w| w.line);
            Ok(dump)
        }
    }
}

/// Parse a lock dump from text.
pub fn parse_str(input: &str) -> Result<Dump<'_>, ParseError> {
    csl::parse_str(input)
}
