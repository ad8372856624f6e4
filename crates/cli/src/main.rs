//! `ast-locks`: find and show deadlocks in Asterisk lock dumps.
//!
//! Argument parsing and wiring only: reading files and stdin, choosing the
//! snapshot and the renderer, and turning the result into an exit code
//! (0 no deadlock, 1 deadlock found, 2 error; a closed pipe is not an error).

use ast_locks_analysis::{analyze, Options, RwLockPolicy};
use ast_locks_render::svg::{self, Layout as GvLayout};
use ast_locks_render::view::{View, ViewKind, ViewOptions};
use ast_locks_render::{dot, json, text, Report};
use clap::{Parser, ValueEnum};
use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

const EXAMPLES: &str = "\
Examples:
  ast-locks core-show-locks.txt                 report on a dump (text on a terminal)
  asterisk -rx 'core show locks' | ast-locks -f text
  ast-locks core-show-locks.txt | circo -Tsvg > deadlock.svg
  ast-locks -f json core-show-locks.txt | jq .deadlocks

Exit status: 0 no deadlock, 1 deadlock found, 2 error.";

/// Find and show deadlocks in Asterisk `core show locks` dumps.
#[derive(Debug, Parser)]
#[command(name = "ast-locks", version, about, after_help = EXAMPLES)]
struct Cli {
    /// Dump files to read; `-` or nothing reads standard input. With several
    /// files, the last one is analysed.
    files: Vec<PathBuf>,

    /// Output format [default: text on a terminal, dot otherwise]
    #[arg(short, long, value_enum)]
    format: Option<Format>,

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

    /// List every blocked thread and warning in the text report
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

/// What went wrong, already worded for the user.
struct Failure(String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(deadlock) => ExitCode::from(u8::from(deadlock)),
        Err(Failure(msg)) => {
            let _ = writeln!(io::stderr(), "ast-locks: {msg}");
            ExitCode::from(2)
        }
    }
}

fn read_input(path: &PathBuf) -> Result<(String, Vec<u8>), Failure> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .map_err(|e| Failure(format!("<stdin>: cannot read: {e}")))?;
        return Ok(("<stdin>".to_string(), buf));
    }
    let name = path.display().to_string();
    if path.is_dir() {
        return Err(Failure(format!(
            "{name}: is a directory; expected a file holding `core show locks` output"
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| Failure(format!("{name}: cannot read: {e}")))?;
    Ok((name, bytes))
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
    let stdout = io::stdout();
    let is_tty = stdout.is_terminal();
    let format = cli
        .format
        .unwrap_or(if is_tty { Format::Text } else { Format::Dot });
    let color = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => is_tty,
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
    let picture = matches!(format, Format::Dot | Format::Svg);
    let view = picture.then(|| View::new(&report, &view_opts));
    // The picture is made before anything is written, so a renderer failure is a
    // clean error with nothing half-printed.
    let svg_bytes = match (&view, format) {
        (Some(v), Format::Svg) => Some(render_svg(cli, v)?),
        _ => None,
    };
    let mut out = io::BufWriter::new(stdout.lock());
    let written = match format {
        Format::Text => text::write(
            &mut out,
            &report,
            &text::TextOptions {
                color,
                verbose: cli.verbose,
            },
        ),
        Format::Json => json::write(&mut out, &report),
        Format::Dot => match &view {
            Some(v) => dot::write(&mut out, v),
            None => Ok(()),
        },
        Format::Svg => out.write_all(svg_bytes.as_deref().unwrap_or_default()),
    }
    .and_then(|()| out.flush());
    match written {
        Ok(()) => {}
        // The reader went away (`| head`): what it wanted it has.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(Failure(format!("cannot write the output: {e}"))),
    }
    if let Some(v) = &view {
        if v.capped > 0 {
            let _ = writeln!(
                io::stderr(),
                "ast-locks: {} threads left out of the picture by --max-nodes {}",
                v.capped,
                cli.max_nodes.unwrap_or_default()
            );
        } else if v.threads_left_out > 0 && !cli.all && cli.focus.is_none() {
            let _ = writeln!(
                io::stderr(),
                "ast-locks: {} thread{} not involved in any wait not drawn (--all draws them)",
                v.threads_left_out,
                if v.threads_left_out == 1 { "" } else { "s" }
            );
        }
    }
    if picture && !dump.warnings.is_empty() {
        let _ = writeln!(
            io::stderr(),
            "ast-locks: {name}: {} input warning{} (first at line {}: {}); `-f text` lists them",
            dump.warnings.len(),
            if dump.warnings.len() == 1 { "" } else { "s" },
            dump.warnings[0].line,
            dump.warnings[0].message
        );
    }
    Ok(!analysis.deadlocks.is_empty())
}
