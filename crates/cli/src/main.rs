//! `ast-locks`: find and show deadlocks in Asterisk lock dumps.
//!
//! Argument parsing and wiring only: reading files, gzip and stdin, choosing the
//! snapshot and the renderer, writing stdout or `-o FILE`, and turning the result
//! into an exit code (0 no deadlock, 1 deadlock found, 2 error; a closed pipe is
//! not an error).

use ast_locks_analysis::{analyze, Options, RwLockPolicy};
use ast_locks_render::svg::{self, Layout as GvLayout};
use ast_locks_render::view::{View, ViewKind, ViewOptions};
use ast_locks_render::{dot, html, json, markdown, text, Report};
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const EXAMPLES: &str = "\
Examples:
  ast-locks core-show-locks.txt                 report on a dump (text on a terminal)
  asterisk -rx 'core show locks' | ast-locks -f text
  ast-locks core-show-locks.txt | circo -Tsvg > deadlock.svg
  ast-locks core-show-locks.txt -o deadlock.svg     picture without Graphviz
  ast-locks core-show-locks.txt -o report.md        for a GitHub issue (mermaid)
  ast-locks core-show-locks.txt -o report.html      one file to attach to a ticket
  ast-locks -f json core-show-locks.txt | jq .deadlocks

Exit status: 0 no deadlock, 1 deadlock found, 2 error.";

/// Find and show deadlocks in Asterisk `core show locks` dumps.
#[derive(Debug, Parser)]
#[command(
    name = "ast-locks",
    version,
    about,
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Dump files to read (`.gz` is read transparently); `-` or nothing reads
    /// standard input. Several files are snapshots in time order: the last is analysed.
    files: Vec<PathBuf>,

    /// Output format [default: from the -o extension, else text on a terminal and
    /// dot otherwise]
    #[arg(short, long, value_enum)]
    format: Option<Format>,

    /// Write the output to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Rwlock semantics: glibc prefers readers; writer-preferring also blocks
    /// waiting readers behind waiting writers.
    #[arg(long, value_enum, default_value_t = Policy::ReaderPreferring)]
    rwlock_policy: Policy,

    /// Which snapshot to analyse when the input holds several dumps (1 = first)
    /// [default: the last]
    #[arg(long, value_name = "N")]
    snapshot: Option<usize>,

    /// When to colour the text report (never when NO_COLOR is set)
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,

    /// List every blocked thread and warning instead of folding identical waits
    #[arg(short, long)]
    verbose: bool,

    /// Pictures: draw every thread and lock, not only those involved in a wait
    #[arg(long)]
    all: bool,

    /// Pictures: draw the neighbourhood of a thread id, LWP, lock address, or a
    /// glob on lock or thread names (`'&chan->*'`)
    #[arg(long, value_name = "WHAT")]
    focus: Option<String>,

    /// Pictures: draw at most N threads, deadlocked and root threads first
    #[arg(long, value_name = "N")]
    max_nodes: Option<usize>,

    /// Pictures: thread → thread waits-for edges, or threads and locks (bipartite)
    #[arg(long, value_enum, default_value_t = ViewArg::Threads)]
    view: ViewArg,

    /// SVG renderer: built in (no external program), or Graphviz [default: builtin,
    /// graphviz when --layout is given]
    #[arg(long, value_enum)]
    renderer: Option<RendererArg>,

    /// Graphviz layout program for --renderer graphviz
    #[arg(long, value_enum)]
    layout: Option<LayoutArg>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to standard output
    Man,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Deadlock report for people
    Text,
    /// Graphviz DOT of the waits-for graph
    Dot,
    /// JSON for scripts (schema_version 1)
    Json,
    /// SVG picture of the waits-for graph
    Svg,
    /// Markdown report with a mermaid graph, for GitHub issues
    Markdown,
    /// Self-contained HTML report, for attaching to a ticket
    Html,
}

impl Format {
    /// The format a file name asks for.
    fn from_extension(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "txt" | "text" => Format::Text,
            "dot" | "gv" => Format::Dot,
            "json" => Format::Json,
            "svg" => Format::Svg,
            "md" | "markdown" => Format::Markdown,
            "html" | "htm" => Format::Html,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Policy {
    ReaderPreferring,
    WriterPreferring,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ViewArg {
    /// Thread → thread edges
    Threads,
    /// Threads and locks: waits and holds edges
    Locks,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RendererArg {
    Builtin,
    Graphviz,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LayoutArg {
    Dot,
    Circo,
    Neato,
    Fdp,
}

/// What went wrong, already worded for the user.
struct Failure(String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::Completions { shell }) => {
            let mut cmd = Cli::command();
            clap_complete::generate(*shell, &mut cmd, "ast-locks", &mut io::stdout());
            Ok(false)
        }
        Some(Command::Man) => clap_mangen::Man::new(Cli::command())
            .render(&mut io::stdout())
            .map(|()| false)
            .or_else(|e| ignore_broken_pipe(e).map(|()| false)),
        None => run(&cli),
    };
    match result {
        Ok(deadlock) => ExitCode::from(u8::from(deadlock)),
        Err(Failure(msg)) => {
            let _ = writeln!(io::stderr(), "ast-locks: {msg}");
            ExitCode::from(2)
        }
    }
}

/// A closed pipe (`| head`) means the reader has what it wanted.
fn ignore_broken_pipe(e: io::Error) -> Result<(), Failure> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(Failure(format!("cannot write the output: {e}")))
    }
}

fn read_input(path: &Path) -> Result<(String, Vec<u8>), Failure> {
    let (name, raw) = if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .map_err(|e| Failure(format!("<stdin>: cannot read: {e}")))?;
        ("<stdin>".to_string(), buf)
    } else {
        let name = path.display().to_string();
        if path.is_dir() {
            return Err(Failure(format!(
                "{name}: is a directory; expected a file holding `core show locks` output"
            )));
        }
        let bytes =
            std::fs::read(path).map_err(|e| Failure(format!("{name}: cannot read: {e}")))?;
        (name, bytes)
    };
    // gzip is recognised by its magic bytes, whatever the file is called.
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| Failure(format!("{name}: cannot decompress gzip data: {e}")))?;
        return Ok((name, out));
    }
    Ok((name, raw))
}

fn render_svg(cli: &Cli, view: &View) -> Result<Vec<u8>, Failure> {
    let graphviz = match cli.renderer {
        Some(RendererArg::Graphviz) => true,
        Some(RendererArg::Builtin) => {
            if cli.layout.is_some() {
                return Err(Failure(
                    "--layout chooses a Graphviz layout: use it with --renderer graphviz"
                        .to_string(),
                ));
            }
            false
        }
        None => cli.layout.is_some(),
    };
    let made = if graphviz {
        let layout = match cli.layout.unwrap_or(LayoutArg::Dot) {
            LayoutArg::Dot => GvLayout::Dot,
            LayoutArg::Circo => GvLayout::Circo,
            LayoutArg::Neato => GvLayout::Neato,
            LayoutArg::Fdp => GvLayout::Fdp,
        };
        svg::graphviz(view, layout)
    } else {
        svg::builtin(view).map(String::into_bytes)
    };
    made.map_err(|e| Failure(e.to_string()))
}

fn run(cli: &Cli) -> Result<bool, Failure> {
    let files: Vec<PathBuf> = if cli.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        cli.files.clone()
    };
    let mut inputs = Vec::with_capacity(files.len());
    for f in &files {
        inputs.push(read_input(f)?);
    }
    if inputs.len() > 1 {
        let _ = writeln!(
            io::stderr(),
            "ast-locks: {} files given: they are taken as snapshots in time order; only the last ({}) is analysed",
            inputs.len(),
            inputs[inputs.len() - 1].0
        );
    }
    // Every file must be a dump, even the ones not analysed: a wrong file is a mistake worth stopping on.
    let mut parsed = Vec::with_capacity(inputs.len());
    for (name, bytes) in &inputs {
        let dump = ast_locks_parse::parse(bytes).map_err(|e| Failure(format!("{name}: {e}")))?;
        parsed.push((name.as_str(), dump));
    }
    let Some((name, dump)) = parsed.last() else {
        return Err(Failure("no input".to_string()));
    };
    let count = dump.snapshots.len();
    let index = match cli.snapshot {
        None => count.saturating_sub(1),
        Some(n) if n >= 1 && n <= count => n - 1,
        Some(n) => {
            return Err(Failure(format!(
                "{name}: --snapshot {n}: the input holds {count} snapshot{}",
                if count == 1 { "" } else { "s" }
            )))
        }
    };
    let Some(snapshot) = dump.snapshots.get(index) else {
        return Err(Failure(format!("{name}: no snapshot found")));
    };
    let options = Options {
        rwlock_policy: match cli.rwlock_policy {
            Policy::ReaderPreferring => RwLockPolicy::ReaderPreferring,
            Policy::WriterPreferring => RwLockPolicy::WriterPreferring,
        },
    };
    let analysis = analyze(snapshot, &options);
    let report = Report {
        snapshot,
        analysis: &analysis,
        warnings: &dump.warnings,
        snapshots: count,
        index,
        source: name,
    };

    let to_terminal = cli.output.is_none() && io::stdout().is_terminal();
    let format = match (cli.format, &cli.output) {
        (Some(f), _) => f,
        (None, Some(path)) => Format::from_extension(path).ok_or_else(|| {
            Failure(format!(
                "{}: cannot tell the format from the extension (.txt .dot .json .svg .md .html): give --format",
                path.display()
            ))
        })?,
        (None, None) if to_terminal => Format::Text,
        (None, None) => Format::Dot,
    };
    let color = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => to_terminal,
    } && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());

    let view_opts = ViewOptions {
        all: cli.all,
        focus: cli.focus.clone(),
        max_nodes: cli.max_nodes,
        kind: match cli.view {
            ViewArg::Threads => ViewKind::Threads,
            ViewArg::Locks => ViewKind::Locks,
        },
    };
    let picture = matches!(
        format,
        Format::Dot | Format::Svg | Format::Markdown | Format::Html
    );
    let view = View::new(&report, &view_opts);

    // The whole output is made before anything is written, so a failure leaves
    // no half-written file and a closed pipe costs nothing.
    let mut out: Vec<u8> = Vec::new();
    let made = match format {
        Format::Text => text::write(
            &mut out,
            &report,
            &text::TextOptions {
                color,
                verbose: cli.verbose,
            },
        ),
        Format::Json => json::write(&mut out, &report),
        Format::Dot => dot::write(&mut out, &view),
        Format::Svg => {
            out = render_svg(cli, &view)?;
            Ok(())
        }
        Format::Markdown => markdown::write(
            &mut out,
            &report,
            &view,
            &markdown::MarkdownOptions {
                verbose: cli.verbose,
            },
        ),
        Format::Html => html::write(&mut out, &report, &view),
    };
    made.map_err(|e| Failure(format!("cannot render the output: {e}")))?;
    match &cli.output {
        Some(path) => std::fs::write(path, &out)
            .map_err(|e| Failure(format!("{}: cannot write: {e}", path.display())))?,
        None => {
            let mut stdout = io::stdout().lock();
            stdout
                .write_all(&out)
                .and_then(|()| stdout.flush())
                .or_else(ignore_broken_pipe)?;
        }
    }

    if picture {
        if view.capped > 0 {
            let _ = writeln!(
                io::stderr(),
                "ast-locks: {} threads left out of the picture by --max-nodes {}",
                view.capped,
                cli.max_nodes.unwrap_or_default()
            );
        } else if view.threads_left_out > 0 && !cli.all && cli.focus.is_none() {
            let _ = writeln!(
                io::stderr(),
                "ast-locks: {} thread{} not involved in any wait not drawn (--all draws them)",
                view.threads_left_out,
                if view.threads_left_out == 1 { "" } else { "s" }
            );
        }
        if !dump.warnings.is_empty() {
            let _ = writeln!(
                io::stderr(),
                "ast-locks: {name}: {} input warning{} (first at line {}: {}); `-f text` lists them",
                dump.warnings.len(),
                if dump.warnings.len() == 1 { "" } else { "s" },
                dump.warnings[0].line,
                dump.warnings[0].message
            );
        }
    }
    Ok(!analysis.deadlocks.is_empty())
}
