//! Where and how the output goes: the format asked for or implied by `-o`,
//! colour, and writing standard output or a file, with a closed pipe taken as
//! the reader having what it wanted.

use crate::args::{Color, Format};
use crate::Failure;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

/// Where the output goes.
#[derive(Debug, Clone, Copy)]
pub struct Destination<'o> {
    /// `-o FILE`, or standard output.
    pub file: Option<&'o PathBuf>,
}

impl Destination<'_> {
    /// True when the output is read by a person at a terminal.
    pub fn is_terminal(&self) -> bool {
        self.file.is_none() && io::stdout().is_terminal()
    }

    /// The format `-f` gives, else the one `-o`'s extension implies, else text
    /// for a terminal and DOT for a pipe.
    pub fn format(&self, asked: Option<Format>) -> Result<Format, Failure> {
        match (asked, self.file) {
            (Some(f), _) => Ok(f),
            (None, Some(path)) => Format::from_extension(path).ok_or_else(|| {
                Failure(format!(
                    "{}: cannot tell the format from the extension (.txt .dot .json .svg .md .html): give --format",
                    path.display()
                ))
            }),
            (None, None) if self.is_terminal() => Ok(Format::Text),
            (None, None) => Ok(Format::Dot),
        }
    }

    /// Whether to colour: as asked, on a terminal by default, never with `NO_COLOR`.
    pub fn color(&self, asked: Color) -> bool {
        let wanted = match asked {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => self.is_terminal(),
        };
        wanted && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
    }

    /// Write the whole output, made beforehand so that a failure leaves no
    /// half-written file.
    pub fn write(&self, out: &[u8]) -> Result<(), Failure> {
        match self.file {
            Some(path) => std::fs::write(path, out)
                .map_err(|e| Failure(format!("{}: cannot write: {e}", path.display()))),
            None => to_stdout(out),
        }
    }
}

/// Write everything to standard output.
pub fn to_stdout(out: &[u8]) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(out)
        .and_then(|()| stdout.flush())
        .or_else(ignore_broken_pipe)
}

/// A closed pipe (`| head`) means the reader has what it wanted.
pub fn ignore_broken_pipe(e: io::Error) -> Result<(), Failure> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(Failure(format!("cannot write the output: {e}")))
    }
}

/// A line for the person at the terminal, on standard error.
pub fn say(line: &str) {
    let _ = writeln!(io::stderr(), "ast-locks: {line}");
}
