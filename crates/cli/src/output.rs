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
        let implied = self.file.map(|p| (p, Format::from_extension(p)));
        match (asked, implied) {
            (Some(f), Some((path, Some(other)))) if other != f => Err(Failure(format!(
                "{}: the extension says {} but --format says {}: drop one, or name the file .{}",
                path.display(),
                format_name(other),
                format_name(f),
                format_extension(f)
            ))),
            (Some(f), _) => Ok(f),
            (None, Some((_, Some(f)))) => Ok(f),
            (None, Some((path, None))) => Err(unknown_extension(path, "ast-locks FILE")),
            (None, None) if self.is_terminal() => Ok(Format::Text),
            (None, None) => Ok(Format::Dot),
        }
    }

    /// The text report's width: as asked, else 100 columns, or fewer on a
    /// narrower terminal. Files and pipes get 100, so their bytes do not depend
    /// on the terminal the command ran in.
    pub fn width(&self, asked: Option<usize>) -> usize {
        if let Some(w) = asked {
            return w;
        }
        let terminal = self
            .is_terminal()
            .then(|| terminal_size::terminal_size_of(io::stdout()))
            .flatten()
            .map(|(terminal_size::Width(w), _)| usize::from(w));
        // Below 40 columns nothing reads well; wrapping harder only scatters the words.
        terminal.map_or(ast_locks_render::text::WIDTH, |w| {
            w.clamp(40, ast_locks_render::text::WIDTH)
        })
    }

    /// Whether to colour: `--color always` and `never` as said; `auto` on a
    /// terminal, by the conventions anstream implements (`NO_COLOR`,
    /// `CLICOLOR`, `CLICOLOR_FORCE`, `TERM=dumb`), never into a file.
    pub fn color(&self, asked: Color) -> bool {
        match asked {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                self.file.is_none()
                    && anstream::AutoStream::choice(&io::stdout()) != anstream::ColorChoice::Never
            }
        }
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

impl Destination<'_> {
    /// Write the output as `make` produces it, without holding it all in
    /// memory (JSON of a big dump): to standard output through a buffer, or to
    /// a temporary file beside `-o FILE` that becomes FILE only when complete,
    /// so a failure still leaves no half-written file.
    pub fn stream(
        &self,
        make: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), Failure> {
        let Some(path) = self.file else {
            let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
            return make(&mut out)
                .and_then(|()| out.flush())
                .or_else(ignore_broken_pipe);
        };
        let cannot = |e: io::Error| Failure(format!("{}: cannot write: {e}", path.display()));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let partial = path.with_file_name(format!(".{name}.partial-{}", std::process::id()));
        let written = std::fs::File::create(&partial).and_then(|f| {
            let mut out = io::BufWriter::with_capacity(1 << 16, f);
            make(&mut out)?;
            out.into_inner().map_err(|e| e.into_error())?.sync_all()
        });
        match written.and_then(|()| std::fs::rename(&partial, path)) {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                Err(cannot(e))
            }
        }
    }
}

/// The name of a format as `--format` takes it.
fn format_name(f: Format) -> &'static str {
    match f {
        Format::Text => "text",
        Format::Dot => "dot",
        Format::Json => "json",
        Format::Svg => "svg",
        Format::Markdown => "markdown",
        Format::Html => "html",
    }
}

/// The usual extension of a format.
fn format_extension(f: Format) -> &'static str {
    match f {
        Format::Text => "txt",
        Format::Markdown => "md",
        other => format_name(other),
    }
}

/// `-o` with an extension no format has; for a bitmap, how to get one.
pub fn unknown_extension(path: &std::path::Path, dot_command: &str) -> Failure {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if matches!(
        ext.as_str(),
        "png" | "jpg" | "jpeg" | "gif" | "pdf" | "webp"
    ) {
        let stem = path.with_extension("");
        return Failure(format!(
            "{}: ast-locks writes SVG, not {}: `-o {}.svg`, then `rsvg-convert {}.svg -o {}` (librsvg), or pipe the DOT into Graphviz: `{dot_command} | dot -T{ext} -o {}`",
            path.display(),
            ext.to_ascii_uppercase(),
            stem.display(),
            stem.display(),
            path.display(),
            path.display()
        ));
    }
    Failure(format!(
        "{}: cannot tell the format from the extension (.txt .dot .json .svg .md .html): give --format",
        path.display()
    ))
}

/// The output file must not be one of the inputs.
pub fn refuse_overwriting(
    output: Option<&std::path::PathBuf>,
    inputs: &[&std::path::Path],
) -> Result<(), Failure> {
    let Some(out) = output else {
        return Ok(());
    };
    let Ok(out_real) = std::fs::canonicalize(out) else {
        return Ok(());
    };
    for input in inputs {
        if std::fs::canonicalize(input).is_ok_and(|i| i == out_real) {
            return Err(Failure(format!(
                "{}: is an input; give another file to -o",
                out.display()
            )));
        }
    }
    Ok(())
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
