//! `ast-locks`: find and show deadlocks in Asterisk lock dumps.
//!
//! Argument parsing and wiring only: reading files, gzip and stdin, choosing the
//! snapshot and the renderer, writing stdout or `-o FILE`, and turning the result
//! into an exit code (0 no deadlock, 1 deadlock found, 2 error; a closed pipe is
//! not an error).

use ast_locks_analysis::{analyze, Options, RwLockPolicy};
use ast_locks_model::{Dump, Snapshot};
use ast_locks_parse::{owners, InputKind, ParseError};
use ast_locks_render::svg::{self, Layout as GvLayout};
use ast_locks_render::view::{View, ViewKind, ViewOptions};
use ast_locks_render::{dot, html, json, markdown, text, Report};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use std::io::{self, BufRead, IsTerminal, Read, Write};
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

/// Find and show deadlocks in Asterisk lock dumps: `core show locks`, gdb
/// backtraces (with owner look-ups), ast_coredumper lock tables.
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
    /// standard input. Files of different kinds (core show locks, backtraces,
    /// owner look-ups) are joined as one moment; files of the same kind are
    /// snapshots in time order, of which the last is analysed.
    files: Vec<PathBuf>,

    #[command(flatten)]
    opts: Opts,
}

/// How to read, analyse and report: shared by reading files and `capture`.
#[derive(Debug, Args)]
struct Opts {
    /// Output format [default: from the -o extension, else text on a terminal and
    /// dot otherwise]
    #[arg(short, long, value_enum)]
    format: Option<Format>,

    /// Write the output to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// What the dump files are [default: told from their content]
    #[arg(long, value_enum, value_name = "KIND")]
    input: Option<InputArg>,

    /// gdb look-ups of lock owners (`x/3dw ADDR` or `p *(pthread_mutex_t *) ADDR`
    /// output), as made by `ast-locks gdb-commands`
    #[arg(long, value_name = "FILE")]
    owners: Vec<PathBuf>,

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

    /// Flag holders that have held an awaited lock longer than this (Asterisk 21+
    /// timings): `5s`, `500ms`, `2m`, `1h`
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    stall_after: Duration,

    /// Lock-order pairs to stop reporting as potential deadlocks: one
    /// `<lock name> -> <lock name>` per line, `#` comments
    #[arg(long, value_name = "FILE")]
    suppress: Option<PathBuf>,

    /// What makes the exit status 1 (comma-separated)
    #[arg(long, value_enum, value_delimiter = ',', default_value = "deadlock")]
    fail_on: Vec<FailOn>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOn {
    /// A deadlock in the analysed snapshot
    Deadlock,
    /// An awaited lock held longer than --stall-after
    Stall,
    /// A lock-order cycle (potential deadlock) in any snapshot
    Potential,
}

/// A duration as given and in microseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Duration {
    text: String,
    micros: u64,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| {
        format!("`{s}` is not a duration: give a number and a unit (5s, 500ms, 2m, 1h)")
    })?;
    let scale = match unit.trim() {
        "" | "s" | "sec" => 1e6,
        "ms" => 1e3,
        "us" | "µs" => 1.0,
        "m" | "min" => 60e6,
        "h" => 3600e6,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{s}`: use ms, s, m or h"
            ))
        }
    };
    let micros = value * scale;
    if !micros.is_finite() || !(0.0..=1e18).contains(&micros) {
        return Err(format!("`{s}` is out of range"));
    }
    Ok(Duration {
        text: t.to_string(),
        micros: micros as u64,
    })
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
    /// Print the gdb commands that look up the owner of every awaited lock in
    /// FILE (backtraces or a dump), to run on the core or process and feed back
    /// with --owners
    GdbCommands {
        /// Backtraces (`thread apply all bt`) or any dump naming awaited locks
        file: PathBuf,
    },
    /// Run gdb on a core file (or, explicitly, a live process) to collect every
    /// thread's backtrace and the owners of the awaited locks, then analyse them
    Capture(Box<Capture>),
    /// What appeared, disappeared and persisted between two dumps of one process
    /// (waits and deadlocks; threads matched by id and LWP)
    Diff {
        /// The earlier dump
        old: PathBuf,
        /// The later dump
        new: PathBuf,
        /// text or json
        #[arg(short, long, value_enum, default_value_t = DiffFormat::Text)]
        format: DiffFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DiffFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
struct Capture {
    /// A core file of the frozen process (with --binary)
    #[arg(long, value_name = "CORE", requires = "binary", conflicts_with = "pid")]
    core: Option<PathBuf>,

    /// The program the core file is of (`/usr/sbin/asterisk`)
    #[arg(long, value_name = "BIN")]
    binary: Option<PathBuf>,

    /// Attach to this running process instead. gdb pauses the process while it
    /// reads its threads (twice: backtraces, then lock owners).
    #[arg(long, value_name = "PID", required_unless_present = "core")]
    pid: Option<u32>,

    /// Also save what gdb printed (backtraces.txt, owners.txt) in this directory,
    /// for a ticket
    #[arg(long, value_name = "DIR")]
    save_to: Option<PathBuf>,

    #[command(flatten)]
    opts: Opts,
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
enum InputArg {
    /// `core show locks` output
    CoreShowLocks,
    /// ast_coredumper's `-locks.txt` (table or CSV)
    CoredumperLocks,
    /// gdb `thread apply all bt` / `bt full` (ast_coredumper's -brief.txt, -full.txt)
    Gdb,
}

impl InputArg {
    fn kind(self) -> InputKind {
        match self {
            InputArg::CoreShowLocks => InputKind::CoreShowLocks,
            InputArg::CoredumperLocks => InputKind::CoredumperLocks,
            InputArg::Gdb => InputKind::Gdb,
        }
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
        Some(Command::GdbCommands { file }) => gdb_commands(file),
        Some(Command::Capture(c)) => capture(c),
        Some(Command::Diff { old, new, format }) => diff(old, new, *format),
        None => load(&cli.files, &cli.opts).and_then(|inputs| report(&inputs, &cli.opts)),
    };
    // For the benchmarks: the process's peak memory, as the kernel counts it.
    if std::env::var_os("AST_LOCKS_PEAK_MEMORY").is_some() {
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:")) {
                let _ = writeln!(io::stderr(), "ast-locks: peak memory {}", line[6..].trim());
            }
        }
    }
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

/// The longest line kept. No dump line comes near it; longer lines (a wrong file:
/// a log with megabyte lines, random bytes) are cut, so memory stays bounded by
/// the number of lines, not by what one line holds.
const MAX_LINE: usize = 1 << 20;

/// How much is read at a time: read straight into the buffer's free space, then
/// checked for overlong lines.
const READ_CHUNK: u64 = 8 << 20;

/// Read everything, cutting lines longer than [`MAX_LINE`]. Returns the bytes and
/// how many lines were cut.
fn read_bounded(mut r: impl Read, capacity: usize) -> io::Result<(Vec<u8>, usize)> {
    let mut buf = Vec::with_capacity(capacity);
    // Length of the last, unfinished line as read (cut lines count in full).
    let mut line_len = 0usize;
    let mut cut = 0usize;
    let mut cutting = false;
    loop {
        let start = buf.len();
        let n = (&mut r).take(READ_CHUNK).read_to_end(&mut buf)?;
        if n == 0 {
            break;
        }
        if !cutting && line_len + n <= MAX_LINE {
            // No line can reach the limit inside this chunk: keep it whole.
            line_len = match memchr::memrchr(b'\n', &buf[start..]) {
                Some(last) => n - last - 1,
                None => line_len + n,
            };
            continue;
        }
        // Compact the chunk in place, keeping at most MAX_LINE bytes of each line.
        let end = buf.len();
        let (mut read, mut write) = (start, start);
        while read < end {
            let newline = memchr::memchr(b'\n', &buf[read..end]).map(|at| read + at);
            let seg = newline.unwrap_or(end) - read;
            let kept = seg.min(MAX_LINE.saturating_sub(line_len));
            buf.copy_within(read..read + kept, write);
            write += kept;
            line_len += seg;
            if kept < seg && !cutting {
                cut += 1;
                cutting = true;
            }
            match newline {
                Some(at) => {
                    if let Some(b) = buf.get_mut(write) {
                        *b = b'\n';
                    }
                    write += 1;
                    line_len = 0;
                    cutting = false;
                    read = at + 1;
                }
                None => read = end,
            }
        }
        buf.truncate(write);
    }
    Ok((buf, cut))
}

fn read_input(path: &Path) -> Result<(String, Vec<u8>, usize), Failure> {
    let name = if path.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    };
    let cannot = |e: io::Error| Failure(format!("{name}: cannot read: {e}"));
    let (reader, capacity): (Box<dyn Read>, usize) = if path.as_os_str() == "-" {
        (Box::new(io::stdin().lock()), 1 << 16)
    } else {
        if path.is_dir() {
            return Err(Failure(format!(
                "{name}: is a directory; expected a file holding `core show locks` output"
            )));
        }
        let file = std::fs::File::open(path).map_err(cannot)?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        // Room for the whole file at once (a cut line only makes it smaller).
        let capacity = usize::try_from(size).unwrap_or(0).min(1 << 32);
        (Box::new(file), capacity)
    };
    let mut reader = io::BufReader::with_capacity(1 << 16, reader);
    // gzip is recognised by its magic bytes, whatever the file is called.
    let gzip = reader
        .fill_buf()
        .map_err(cannot)?
        .starts_with(&[0x1f, 0x8b]);
    let (bytes, cut) = if gzip {
        read_bounded(
            flate2::read::MultiGzDecoder::new(reader),
            capacity.saturating_mul(4),
        )
        .map_err(|e| Failure(format!("{name}: cannot decompress gzip data: {e}")))?
    } else {
        read_bounded(reader, capacity).map_err(cannot)?
    };
    Ok((name, bytes, cut))
}

fn render_svg(opts: &Opts, view: &View) -> Result<Vec<u8>, Failure> {
    let graphviz = match opts.renderer {
        Some(RendererArg::Graphviz) => true,
        Some(RendererArg::Builtin) => {
            if opts.layout.is_some() {
                return Err(Failure(
                    "--layout chooses a Graphviz layout: use it with --renderer graphviz"
                        .to_string(),
                ));
            }
            false
        }
        None => opts.layout.is_some(),
    };
    let made = if graphviz {
        let layout = match opts.layout.unwrap_or(LayoutArg::Dot) {
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

/// `ast-locks gdb-commands FILE`.
fn gdb_commands(file: &Path) -> Result<bool, Failure> {
    let (name, bytes, _) = read_input(file)?;
    let kind = ast_locks_parse::detect(&bytes).unwrap_or(InputKind::Gdb);
    if kind == InputKind::Owners {
        return Err(Failure(format!(
            "{name}: this is an owners file; gdb-commands needs the backtraces (thread apply all bt)"
        )));
    }
    let dump =
        ast_locks_parse::parse_kind(&bytes, kind).map_err(|e| Failure(format!("{name}: {e}")))?;
    let Some(snapshot) = dump.snapshots.last() else {
        return Err(Failure(format!("{name}: no snapshot found")));
    };
    let mut out = Vec::new();
    let count = ast_locks_render::gdbcmd::write(&mut out, snapshot, &name)
        .map_err(|e| Failure(format!("cannot render the commands: {e}")))?;
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(&out)
        .and_then(|()| stdout.flush())
        .or_else(ignore_broken_pipe)?;
    let _ = writeln!(
        io::stderr(),
        "ast-locks: {count} awaited lock{} in {name}",
        if count == 1 { "" } else { "s" }
    );
    Ok(false)
}

/// Run gdb in batch mode with `commands` on the core or process of `c`.
fn run_gdb(c: &Capture, commands: &[String], script: Option<&Path>) -> Result<String, Failure> {
    let mut cmd = std::process::Command::new("gdb");
    cmd.args(["-batch", "-nx", "-q"]);
    for e in commands {
        cmd.arg("-ex").arg(e);
    }
    if let Some(script) = script {
        cmd.arg("-x").arg(script);
    }
    match (&c.core, &c.binary, c.pid) {
        (Some(core), Some(binary), _) => {
            cmd.arg(binary).arg(core);
        }
        (_, binary, Some(pid)) => {
            if let Some(b) = binary {
                cmd.arg(b);
            }
            cmd.arg("-p").arg(pid.to_string());
        }
        _ => {
            return Err(Failure(
                "capture needs --core CORE --binary BIN, or --pid PID".to_string(),
            ))
        }
    }
    let out = cmd.output().map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            Failure("gdb is not installed (or not on PATH): install it (`apt-get install gdb`) to capture".to_string())
        } else {
            Failure(format!("cannot run gdb: {e}"))
        }
    })?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() && !stdout.contains("Thread ") && !stdout.contains("===") {
        return Err(Failure(format!(
            "gdb failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(stdout)
}

/// `ast-locks capture`: backtraces and owners from gdb, analysed at once.
fn capture(c: &Capture) -> Result<bool, Failure> {
    if let (Some(core), Some(binary)) = (&c.core, &c.binary) {
        for (what, p) in [("core file", core), ("binary", binary)] {
            if !p.is_file() {
                return Err(Failure(format!("{}: no such {what}", p.display())));
            }
        }
    }
    if let Some(pid) = c.pid {
        let _ = writeln!(
            io::stderr(),
            "ast-locks: attaching gdb to process {pid}: it is paused while gdb reads its threads (twice: backtraces, then lock owners)"
        );
    }
    let bt = run_gdb(
        c,
        &[
            "set pagination off".to_string(),
            "set width 0".to_string(),
            "thread apply all bt".to_string(),
        ],
        None,
    )?;
    let source = match (&c.core, c.pid) {
        (Some(core), _) => format!("gdb bt of {}", core.display()),
        (None, Some(pid)) => format!("gdb bt of process {pid}"),
        _ => "gdb bt".to_string(),
    };
    let dump = ast_locks_parse::parse_kind(bt.as_bytes(), InputKind::Gdb)
        .map_err(|e| Failure(format!("{source}: {e}")))?;
    let mut commands = Vec::new();
    let count = match dump.snapshots.last() {
        Some(s) => ast_locks_render::gdbcmd::write(&mut commands, s, "the capture")
            .map_err(|e| Failure(format!("cannot render the commands: {e}")))?,
        None => 0,
    };
    let owners = if count > 0 {
        let dir = std::env::temp_dir().join(format!("ast-locks-capture-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| Failure(format!("{}: {e}", dir.display())))?;
        let script = dir.join("owners.gdb");
        std::fs::write(&script, &commands)
            .map_err(|e| Failure(format!("{}: {e}", script.display())))?;
        let owners = run_gdb(c, &[], Some(&script));
        let _ = std::fs::remove_dir_all(&dir);
        Some(owners?)
    } else {
        None
    };
    if let Some(dir) = &c.save_to {
        std::fs::create_dir_all(dir).map_err(|e| Failure(format!("{}: {e}", dir.display())))?;
        std::fs::write(dir.join("backtraces.txt"), &bt)
            .map_err(|e| Failure(format!("{}: {e}", dir.display())))?;
        if let Some(o) = &owners {
            std::fs::write(dir.join("owners.txt"), o)
                .map_err(|e| Failure(format!("{}: {e}", dir.display())))?;
        }
        let _ = writeln!(
            io::stderr(),
            "ast-locks: gdb output saved in {}",
            dir.display()
        );
    }
    drop(dump);
    let mut inputs = vec![Input {
        name: source,
        bytes: bt.into_bytes(),
        kind: InputKind::Gdb,
        given: false,
        cut: 0,
    }];
    if let Some(o) = owners {
        inputs.push(Input {
            name: "gdb owner look-ups".to_string(),
            bytes: o.into_bytes(),
            kind: InputKind::Owners,
            given: false,
            cut: 0,
        });
    }
    report(&inputs, &c.opts)
}

/// One input file, read and recognised.
struct Input {
    name: String,
    bytes: Vec<u8>,
    kind: InputKind,
    /// A file the user gave: finding nothing in it is an error, not a note.
    given: bool,
    /// Lines longer than MAX_LINE that were cut while reading.
    cut: usize,
}

/// Read every input and tell what each is.
fn load(files: &[PathBuf], opts: &Opts) -> Result<Vec<Input>, Failure> {
    let files: Vec<PathBuf> = if files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        files.to_vec()
    };
    let mut inputs = Vec::with_capacity(files.len() + opts.owners.len());
    for f in &files {
        let (name, bytes, cut) = read_input(f)?;
        let kind = match opts.input {
            Some(k) => k.kind(),
            // Unrecognised text goes to the `core show locks` parser, whose error
            // says what was expected.
            None => ast_locks_parse::detect(&bytes).unwrap_or(InputKind::CoreShowLocks),
        };
        inputs.push(Input {
            name,
            bytes,
            kind,
            given: true,
            cut,
        });
    }
    for f in &opts.owners {
        let (name, bytes, cut) = read_input(f)?;
        inputs.push(Input {
            name,
            bytes,
            kind: InputKind::Owners,
            given: true,
            cut,
        });
    }
    Ok(inputs)
}

/// Said of an input whose overlong lines were cut.
fn cut_note(cut: usize) -> String {
    if cut == 0 {
        String::new()
    } else {
        format!(
            " ({cut} line{} longer than {} MiB {} cut while reading)",
            if cut == 1 { "" } else { "s" },
            MAX_LINE >> 20,
            if cut == 1 { "was" } else { "were" }
        )
    }
}

/// The dumps of one moment, joined: the analysed dump, what was joined to it,
/// and notes from joining.
struct Moment<'a> {
    name: &'a str,
    /// Earlier dumps of the same kind, in time order: snapshots before `dump`'s.
    earlier: Vec<Dump<'a>>,
    dump: Dump<'a>,
    joined: Vec<&'static str>,
    notes: Vec<String>,
    looked_up: Vec<u64>,
}

fn join_inputs(inputs: &[Input]) -> Result<Moment<'_>, Failure> {
    // Parse every dump: a file that is not one is a mistake worth stopping on.
    let mut dumps: Vec<(&Input, Dump<'_>)> = Vec::new();
    let mut header_only = Vec::new();
    for input in inputs.iter().filter(|i| i.kind != InputKind::Owners) {
        match ast_locks_parse::parse_kind(&input.bytes, input.kind) {
            Ok(d) => dumps.push((input, d)),
            Err(e @ ParseError::HeaderOnly { .. }) => {
                header_only.push(format!("{}: {e}", input.name))
            }
            Err(e) => {
                return Err(Failure(format!(
                    "{}: {e}{}",
                    input.name,
                    cut_note(input.cut)
                )))
            }
        }
    }
    if dumps.is_empty() {
        return Err(Failure(match header_only.pop() {
            Some(msg) => msg,
            None => "no lock dump among the inputs, only owner look-ups: give the backtraces they belong to".to_string(),
        }));
    }
    let mut notes: Vec<String> = header_only;
    for input in inputs.iter().filter(|i| i.cut > 0) {
        notes.push(format!("{}:{}", input.name, cut_note(input.cut)));
    }
    // The richest kind present is analysed; files of the same kind are snapshots in
    // time order, of which the last is analysed.
    let order = [
        InputKind::CoreShowLocks,
        InputKind::CoredumperLocks,
        InputKind::Gdb,
    ];
    let Some(primary_kind) = order
        .into_iter()
        .find(|k| dumps.iter().any(|(i, _)| i.kind == *k))
    else {
        return Err(Failure("no lock dump among the inputs".to_string()));
    };
    let same: Vec<usize> = (0..dumps.len())
        .filter(|&i| dumps[i].0.kind == primary_kind)
        .collect();
    if same.len() > 1 {
        notes.push(format!(
            "{} {} inputs read as snapshots in time order; the last ({}) is the one reported in detail",
            same.len(),
            primary_kind.label(),
            dumps[same[same.len() - 1]].0.name
        ));
    }
    let last_of = |k: InputKind, dumps: &mut Vec<(&Input, Dump<'_>)>| -> Option<usize> {
        (0..dumps.len()).rev().find(|&i| dumps[i].0.kind == k)
    };
    let primary_at = same[same.len() - 1];
    let gdb_at = if primary_kind == InputKind::Gdb {
        None
    } else {
        last_of(InputKind::Gdb, &mut dumps)
    };
    let mut gdb = gdb_at.map(|i| dumps[i].1.snapshots.pop());
    let (primary_input, mut dump) = dumps.swap_remove(primary_at);
    // swap_remove moved the last element into `primary_at`: restore input order first.
    if primary_at < dumps.len() {
        let moved = dumps.pop();
        if let Some(m) = moved {
            dumps.insert(primary_at, m);
        }
    }
    let earlier: Vec<Dump<'_>> = dumps
        .into_iter()
        .filter(|(i, _)| i.kind == primary_kind)
        .map(|(_, d)| d)
        .collect();
    let mut joined = Vec::new();
    // Backtraces of the same moment: attach each thread's stack by LWP.
    let mut owners_found = Vec::new();
    if let Some(Some(bt)) = gdb.take() {
        owners_found.extend(owners::from_locals(&bt));
        if let Some(s) = dump.snapshots.last_mut() {
            let matched = ast_locks_parse::join::attach_stacks(s, bt);
            notes.push(format!(
                "backtraces attached to {matched} of {} threads (matched by LWP)",
                s.threads.len()
            ));
        }
        joined.push("gdb");
    }
    if primary_kind == InputKind::Gdb {
        if let Some(s) = dump.snapshots.last() {
            owners_found.extend(owners::from_locals(s));
        }
    }
    let owner_inputs: Vec<&Input> = inputs
        .iter()
        .filter(|i| i.kind == InputKind::Owners)
        .collect();
    for input in &owner_inputs {
        let found = owners::parse(&String::from_utf8_lossy(&input.bytes));
        if found.is_empty() && !input.given {
            notes.push(format!(
                "{}: gdb printed no owner (no memory at those addresses?)",
                input.name
            ));
        } else if found.is_empty() {
            return Err(Failure(format!(
                "{}: no owner look-up found: expected gdb `x/3dw ADDR` lines (`0x7f…: 2 1 12345`) or `p *(pthread_mutex_t *) ADDR` output",
                input.name
            )));
        }
        owners_found.extend(found);
    }
    if !owners_found.is_empty() {
        if let Some(s) = dump.snapshots.last_mut() {
            for n in ast_locks_parse::join::apply_owners(s, &owners_found) {
                notes.push(n.message);
            }
        }
        joined.push("owners");
    }
    let looked_up = owners_found.iter().map(|o| o.addr).collect();
    Ok(Moment {
        name: &primary_input.name,
        earlier,
        dump,
        joined,
        notes,
        looked_up,
    })
}

/// Analyse the inputs of one moment and write the report.
fn report(inputs: &[Input], opts: &Opts) -> Result<bool, Failure> {
    let moment = join_inputs(inputs)?;
    let name = moment.name;
    let dump = &moment.dump;
    // Every snapshot of the series, in time order: earlier files, then this one's.
    let all: Vec<&Snapshot<'_>> = moment
        .earlier
        .iter()
        .flat_map(|d| &d.snapshots)
        .chain(&dump.snapshots)
        .collect();
    let count = all.len();
    let index = match opts.snapshot {
        None => count.saturating_sub(1),
        Some(n) if n >= 1 && n <= count => n - 1,
        Some(n) => {
            return Err(Failure(format!(
                "{name}: --snapshot {n}: the input holds {count} snapshot{}",
                if count == 1 { "" } else { "s" }
            )))
        }
    };
    let Some(&snapshot) = all.get(index) else {
        return Err(Failure(format!("{name}: no snapshot found")));
    };
    let options = Options {
        rwlock_policy: match opts.rwlock_policy {
            Policy::ReaderPreferring => RwLockPolicy::ReaderPreferring,
            Policy::WriterPreferring => RwLockPolicy::WriterPreferring,
        },
    };
    let suppress = match &opts.suppress {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure(format!("{}: cannot read: {e}", path.display())))?;
            ast_locks_analysis::lockorder::parse_suppressions(&text)
                .map_err(|(line, msg)| Failure(format!("{}: line {line}: {msg}", path.display())))?
        }
        None => Vec::new(),
    };
    let (analyses, potential) = ast_locks_analysis::analyze_series(&all, &options, &suppress);
    let analysis = &analyses[index];
    let series = (count > 1).then(|| {
        let refs: Vec<&ast_locks_analysis::Analysis> = analyses.iter().collect();
        ast_locks_analysis::series::series(&all, &refs)
    });
    let stalls = ast_locks_analysis::series::stalls(snapshot, analysis, opts.stall_after.micros);
    let longest = ast_locks_analysis::series::longest_held(snapshot, analysis);
    // A lock-order cycle that did deadlock in a snapshot is reported as the deadlock.
    let deadlocked: Vec<Vec<String>> = all
        .iter()
        .zip(&analyses)
        .flat_map(|(s, a)| {
            a.deadlocks.iter().map(move |d| {
                let mut l: Vec<String> = d
                    .locks
                    .iter()
                    .map(|&l| a.lock_label(s, l).1.to_string())
                    .collect();
                l.sort();
                l
            })
        })
        .collect();
    let potential: Vec<_> = potential
        .into_iter()
        .filter(|p| {
            let mut addrs = p.addresses.clone();
            addrs.sort();
            addrs.is_empty() || !deadlocked.contains(&addrs)
        })
        .collect();
    let mut trylocks = ast_locks_analysis::series::trylocks(snapshot);
    ast_locks_analysis::series::mark_repeated_trylocks(&all[..=index], &mut trylocks);
    let report = Report {
        snapshot,
        analysis,
        warnings: &dump.warnings,
        snapshots: count,
        index,
        source: name,
        format: dump.format,
        joined: &moment.joined,
        notes: &moment.notes,
        looked_up: &moment.looked_up,
        series: series.as_ref(),
        stalls: &stalls,
        stall_after: &opts.stall_after.text,
        longest_held: longest.as_ref(),
        potential: &potential,
        trylocks: &trylocks,
    };

    let to_terminal = opts.output.is_none() && io::stdout().is_terminal();
    let format = match (opts.format, &opts.output) {
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
    let color = match opts.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => to_terminal,
    } && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());

    let view_opts = ViewOptions {
        all: opts.all,
        focus: opts.focus.clone(),
        max_nodes: opts.max_nodes,
        kind: match opts.view {
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
                verbose: opts.verbose,
            },
        ),
        Format::Json => json::write(&mut out, &report),
        Format::Dot => dot::write(&mut out, &view),
        Format::Svg => {
            out = render_svg(opts, &view)?;
            Ok(())
        }
        Format::Markdown => markdown::write(
            &mut out,
            &report,
            &view,
            &markdown::MarkdownOptions {
                verbose: opts.verbose,
            },
        ),
        Format::Html => html::write(&mut out, &report, &view),
    };
    made.map_err(|e| Failure(format!("cannot render the output: {e}")))?;
    match &opts.output {
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
                opts.max_nodes.unwrap_or_default()
            );
        } else if view.threads_left_out > 0 && !opts.all && opts.focus.is_none() {
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
    let fail = opts.fail_on.iter().any(|f| match f {
        FailOn::Deadlock => !analysis.deadlocks.is_empty(),
        FailOn::Stall => !stalls.is_empty(),
        FailOn::Potential => !potential.is_empty(),
    });
    Ok(fail)
}

/// `ast-locks diff OLD NEW`.
fn diff(old: &Path, new: &Path, format: DiffFormat) -> Result<bool, Failure> {
    let options = Options::default();
    let load_one = |p: &Path| -> Result<Vec<Input>, Failure> {
        let (name, bytes, cut) = read_input(p)?;
        let kind = ast_locks_parse::detect(&bytes).unwrap_or(InputKind::CoreShowLocks);
        Ok(vec![Input {
            name,
            bytes,
            kind,
            given: true,
            cut,
        }])
    };
    let old_inputs = load_one(old)?;
    let new_inputs = load_one(new)?;
    let old_m = join_inputs(&old_inputs)?;
    let new_m = join_inputs(&new_inputs)?;
    let (Some(os), Some(ns)) = (old_m.dump.snapshots.last(), new_m.dump.snapshots.last()) else {
        return Err(Failure("no snapshot found".to_string()));
    };
    let (oa, na) = (analyze(os, &options), analyze(ns, &options));
    let d = ast_locks_analysis::series::diff((os, &oa), (ns, &na));
    let mut out = Vec::new();
    let written = match format {
        DiffFormat::Text => {
            ast_locks_render::diff::write_text(&mut out, &d, old_m.name, new_m.name)
        }
        DiffFormat::Json => {
            ast_locks_render::diff::write_json(&mut out, &d, old_m.name, new_m.name)
        }
    };
    written.map_err(|e| Failure(format!("cannot render the diff: {e}")))?;
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(&out)
        .and_then(|()| stdout.flush())
        .or_else(ignore_broken_pipe)?;
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlong_lines_are_cut_while_reading_and_the_rest_is_kept() {
        // Two lines of 5 MiB: the second straddles the end of the first read.
        let long = "x".repeat(5 * MAX_LINE + 5);
        let mut input = format!("first\n{long}\nmiddle\n{long}");
        input.push_str("\nlast");
        let (bytes, cut) = read_bounded(input.as_bytes(), 0).expect("reads");
        assert_eq!(cut, 2);
        let text = String::from_utf8(bytes).expect("utf8");
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(lines.len(), 5);
        assert_eq!((lines[0], lines[2], lines[4]), ("first", "middle", "last"));
        assert_eq!(lines[1].len(), MAX_LINE);
        assert_eq!(lines[3].len(), MAX_LINE);
        let (same, none) = read_bounded("a\nb\n".as_bytes(), 4).expect("reads");
        assert_eq!((same.as_slice(), none), (&b"a\nb\n"[..], 0));
    }
}
