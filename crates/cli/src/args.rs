//! The command line: every argument, option and subcommand, as clap reads them,
//! and the small conversions from their values to the library's types.

use ast_locks_parse::InputKind;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};

pub const EXAMPLES: &str = "\
Examples:
  ast-locks core-show-locks.txt                       report on a dump (text on a terminal)
  asterisk -rx 'core show locks' | ast-locks -f text  straight from the CLI
  ast-locks core-show-locks.txt | circo -Tsvg > d.svg the picture, by Graphviz
  ast-locks core-show-locks.txt -o deadlock.svg       the picture without Graphviz
  ast-locks core-show-locks.txt -o report.md          for a GitHub issue (mermaid)
  ast-locks core-show-locks.txt -o report.html        one file to attach to a ticket
  ast-locks -f json core-show-locks.txt | jq .deadlocks
  ast-locks refs /var/log/asterisk/refs               reference leaks (see ast-locks refs --help)
  ast-locks watch --backtraces                        keep the evidence of a freeze

Exit status: 0 no deadlock, 1 deadlock found, 2 error, 3 undetermined (the input
cannot prove or exclude a deadlock: the first line says what is missing).";

/// Find and show deadlocks in Asterisk lock dumps: `core show locks`, gdb
/// backtraces (with owner look-ups), ast_coredumper lock tables.
#[derive(Debug, Parser)]
#[command(
    name = "ast-locks",
    version,
    about,
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Dump files to read (`.gz` is read transparently); `-` or nothing reads
    /// standard input. Files of different kinds (core show locks, backtraces,
    /// owner look-ups) are joined as one moment; files of the same kind are
    /// snapshots in time order, of which the last is analysed.
    pub files: Vec<PathBuf>,

    #[command(flatten)]
    pub read: ReadOpts,

    #[command(flatten)]
    pub opts: Opts,
}

/// How to read dump files: the options of the default mode only (`capture`
/// reads what gdb prints).
#[derive(Debug, Clone, Args)]
pub struct ReadOpts {
    /// What the dump files are [default: told from their content]
    #[arg(long, value_enum, value_name = "KIND")]
    pub input: Option<InputArg>,

    /// gdb look-ups of lock owners (`x/3dw ADDR` or `p *(pthread_mutex_t *) ADDR`
    /// output), as made by `ast-locks gdb-commands`
    #[arg(long, value_name = "FILE")]
    pub owners: Vec<PathBuf>,

    /// Which snapshot to analyse when the input holds several dumps (1 = first)
    /// [default: the last]
    #[arg(long, value_name = "N", value_parser = parse_snapshot)]
    pub snapshot: Option<usize>,
}

impl ReadOpts {
    /// Hand the reading options to the report.
    pub fn apply(&self, opts: &mut Opts) {
        opts.input = self.input;
        opts.owners = self.owners.clone();
        opts.snapshot = self.snapshot;
    }
}

/// How to read, analyse and report: shared by reading files and `capture`.
#[derive(Debug, Clone, Args)]
pub struct Opts {
    /// Output format [default: from the -o extension, else text on a terminal and
    /// dot otherwise]
    #[arg(short, long, value_enum)]
    pub format: Option<Format>,

    /// Write the output to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Rwlock semantics: glibc prefers readers; writer-preferring also blocks
    /// waiting readers behind waiting writers.
    #[arg(long, value_enum, default_value_t = Policy::ReaderPreferring)]
    pub rwlock_policy: Policy,

    /// When to colour the text report (never when NO_COLOR is set)
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,

    /// List every blocked thread and warning instead of folding identical waits
    #[arg(short, long)]
    pub verbose: bool,

    /// Text: wrap lines to this many columns, 0 for never [default: 100, or a
    /// narrower terminal's width]
    #[arg(long, value_name = "COLUMNS")]
    pub width: Option<usize>,

    /// Pictures: draw every thread and lock, not only those involved in a wait
    #[arg(long)]
    pub all: bool,

    /// Pictures: draw the neighbourhood of a thread id, LWP, lock address, or a
    /// glob on lock or thread names (`'&chan->*'`)
    #[arg(long, value_name = "WHAT")]
    pub focus: Option<String>,

    /// Pictures: draw at most N threads, deadlocked and root threads first
    #[arg(long, value_name = "N")]
    pub max_nodes: Option<usize>,

    /// Pictures: thread → thread waits-for edges, or threads and locks (bipartite)
    #[arg(long, value_enum, default_value_t = ViewArg::Threads)]
    pub view: ViewArg,

    /// SVG renderer: built in (no external program), or Graphviz [default: builtin,
    /// graphviz when --layout is given]
    #[arg(long, value_enum)]
    pub renderer: Option<RendererArg>,

    /// Graphviz layout program for --renderer graphviz
    #[arg(long, value_enum)]
    pub layout: Option<LayoutArg>,

    /// Flag holders that have held an awaited lock longer than this (Asterisk 21+
    /// timings): `5s`, `500ms`, `2m`, `1h`
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub stall_after: Duration,

    /// Lock-order pairs to stop reporting as potential deadlocks: one
    /// `<lock name> -> <lock name>` per line, `#` comments
    #[arg(long, value_name = "FILE")]
    pub suppress: Option<PathBuf>,

    /// What makes the exit status 1 (comma-separated)
    #[arg(long, value_enum, value_delimiter = ',', default_value = "deadlock")]
    pub fail_on: Vec<FailOn>,

    /// The snapshots were taken apart in time (by `watch`): identical ones are
    /// distinct moments.
    #[arg(skip)]
    pub taken_apart: bool,

    /// From [`ReadOpts`]: what the dump files are.
    #[arg(skip)]
    pub input: Option<InputArg>,
    /// From [`ReadOpts`]: owner look-ups.
    #[arg(skip)]
    pub owners: Vec<PathBuf>,
    /// From [`ReadOpts`]: which snapshot.
    #[arg(skip)]
    pub snapshot: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// A deadlock in the analysed snapshot
    Deadlock,
    /// An awaited lock held longer than --stall-after
    Stall,
    /// A lock-order cycle (potential deadlock) in any snapshot
    Potential,
}

/// A duration as given and in microseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duration {
    pub text: String,
    pub micros: u64,
}

/// A snapshot number: they count from 1.
fn parse_snapshot(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("snapshots count from 1 (the first is 1)".to_string()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a snapshot number (1, 2, …)")),
    }
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
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
pub enum Command {
    /// Print the help of ast-locks or of a subcommand (`ast-locks help refs`)
    Help {
        /// The subcommand
        subcommand: Option<String>,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): of ast-locks, or of a subcommand
    /// (`ast-locks man refs`); `--dir DIR` writes every page there
    Man {
        /// The subcommand whose page to print
        subcommand: Option<String>,
        /// Write every page (ast-locks.1, ast-locks-refs.1, …) into DIR
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Reference leaks (with the references never released), use after free and
    /// releases below zero in an Asterisk refs log (`refdebug = yes`): what
    /// refcounter.py does, and more
    Refs(Box<RefsArgs>),
    /// Watch a live Asterisk: poll `core show locks` (or, without DEBUG_THREADS,
    /// whether the CLI answers at all) and, when a freeze is confirmed, keep the
    /// evidence in a folder (snapshots, reports, gdb backtraces) before anyone
    /// restarts it
    Watch(Box<WatchArgs>),
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
        /// Which snapshot of OLD to compare, when it holds several (1 = first)
        /// [default: the last]
        #[arg(long, value_name = "N", value_parser = parse_snapshot)]
        old_snapshot: Option<usize>,
        /// Which snapshot of NEW to compare [default: the last]
        #[arg(long, value_name = "N", value_parser = parse_snapshot)]
        new_snapshot: Option<usize>,
    },
}

pub const REFS_EXAMPLES: &str = "\
Examples:
  ast-locks refs /var/log/asterisk/refs           leaks, use after free, below zero
  ast-locks refs refs.gz -o report.md             for a ticket (tables, leak map)
  ast-locks refs refs -f refcounter               refcounter.py's layout
  ast-locks refs refs --history 0x55d79c5a7318    every lifetime at one address
  ast-locks refs refs -f json | jq '.leaked[].unreleased'
  ast-locks refs refs -o leaks.svg                the leak map

Exit status: 0 nothing --fail-on names, 1 a finding (leaks, invalid references,
skewed objects or objects only a graceful stop releases, by default), 2 error.";

/// `ast-locks refs`: what to read and how to report.
#[derive(Debug, Args)]
#[command(after_help = REFS_EXAMPLES)]
pub struct RefsArgs {
    /// The refs log (`/var/log/asterisk/refs`, or the legacy `/tmp/refs`); `.gz`
    /// is read transparently; `-` or nothing reads standard input
    pub file: Option<PathBuf>,

    /// Output format [default: from the -o extension, else text]
    #[arg(short, long, value_enum)]
    pub format: Option<RefsFormatArg>,

    /// Write the output to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Print every lifetime at this address (text or json)
    #[arg(long, value_name = "ADDR", value_parser = parse_address)]
    pub history: Option<u64>,

    /// Every object, site and invalid reference, with its history
    #[arg(short, long)]
    pub verbose: bool,

    /// What makes the exit status 1 (comma-separated)
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "leak,invalid,skewed,shutdown"
    )]
    pub fail_on: Vec<RefsFailOn>,

    /// When to colour the text report (never when NO_COLOR is set)
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,

    /// Worker threads [default: one per core]
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,

    /// No progress bar on standard error
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RefsFormatArg {
    /// Report for people (verdict first)
    #[value(alias = "txt")]
    Text,
    /// Markdown for a ticket, with the leak map in mermaid
    #[value(alias = "md")]
    Markdown,
    /// Self-contained HTML, histories folded
    Html,
    /// JSON for scripts (schema_version 1)
    Json,
    /// refcounter.py's layout (sections, per-object histories)
    Refcounter,
    /// The leak map as Graphviz DOT
    Dot,
    /// The leak map as SVG (no Graphviz needed)
    Svg,
    /// The leak map as a mermaid flowchart
    Mermaid,
}

impl RefsFormatArg {
    /// The format a file name asks for.
    pub fn from_extension(path: &Path) -> Option<RefsFormatArg> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "txt" | "text" => RefsFormatArg::Text,
            "md" | "markdown" => RefsFormatArg::Markdown,
            "html" | "htm" => RefsFormatArg::Html,
            "json" => RefsFormatArg::Json,
            "dot" | "gv" => RefsFormatArg::Dot,
            "svg" => RefsFormatArg::Svg,
            "mmd" | "mermaid" => RefsFormatArg::Mermaid,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RefsFailOn {
    /// Objects alive at the end with a reference never released
    Leak,
    /// References to freed objects, releases below zero
    Invalid,
    /// Objects alive at the end whose start is not in the log
    Skewed,
    /// Objects alive only because Asterisk was not stopped gracefully
    Shutdown,
}

/// `0x55d79c5a7318` (or without `0x`).
fn parse_address(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let hex = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    u64::from_str_radix(hex, 16).map_err(|_| format!("`{s}` is not an address (0x55d79c5a7318)"))
}

pub const WATCH_EXAMPLES: &str = "\
Examples:
  ast-locks watch                                  poll every 30s; evidence in ./ast-locks-incident-<UTC>/
  ast-locks watch --backtraces --exec 'systemctl restart asterisk'
  ast-locks watch --command \"docker exec pbx asterisk -rx 'core show locks'\"
  ast-locks watch --every 10s --out /var/tmp/freeze --keep-going

Exit status: 0 stopped (SIGINT, SIGTERM) with no incident, 1 an incident was
recorded, 2 error (the first poll failed, bad arguments).";

/// `ast-locks watch`: what to poll, when it is an incident, what to keep.
#[derive(Debug, Args)]
#[command(after_help = WATCH_EXAMPLES)]
pub struct WatchArgs {
    /// How often to poll: `30s`, `500ms`, `2m`
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub every: Duration,

    /// The command that prints `core show locks` (run with `sh -c`)
    #[arg(
        long,
        value_name = "CMD",
        default_value = "asterisk -rx 'core show locks'"
    )]
    pub command: String,

    /// The liveness probe used when `core show locks` is not available (builds
    /// without DEBUG_THREADS)
    #[arg(
        long,
        value_name = "CMD",
        default_value = "asterisk -rx 'core show uptime'"
    )]
    pub probe: String,

    /// A command that has not answered after this long hangs
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Snapshots kept in memory (and written to an incident folder)
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub keep: u32,

    /// Consecutive snapshots with the same deadlock (or probes that hang) that
    /// make an incident
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub confirm: u32,

    /// A holder that keeps an awaited lock this long is a likely freeze
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub stall_after: Duration,

    /// The incident folder [default: ./ast-locks-incident-<UTC time>]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// On an incident, also take gdb backtraces and lock owners of the process
    /// (it is paused for a moment)
    #[arg(long)]
    pub backtraces: bool,

    /// The Asterisk process for --backtraces [default: `pidof asterisk`]
    #[arg(long, value_name = "PID")]
    pub pid: Option<u32>,

    /// Run this after an incident was written (`sh -c`; the folder is in
    /// AST_LOCKS_INCIDENT, the verdict in AST_LOCKS_VERDICT)
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,

    /// Go on watching after an incident instead of exiting 1
    #[arg(long)]
    pub keep_going: bool,

    /// No status line per poll on standard error
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct Capture {
    /// A core file of the frozen process (with --binary)
    #[arg(long, value_name = "CORE", requires = "binary", conflicts_with = "pid")]
    pub core: Option<PathBuf>,

    /// The program the core file is of (`/usr/sbin/asterisk`)
    #[arg(long, value_name = "BIN")]
    pub binary: Option<PathBuf>,

    /// Attach to this running process instead. gdb pauses the process while it
    /// reads its threads (twice: backtraces, then lock owners).
    #[arg(long, value_name = "PID", required_unless_present = "core")]
    pub pid: Option<u32>,

    /// Also save what gdb printed (backtraces.txt, owners.txt) in this directory,
    /// for a ticket
    #[arg(long, value_name = "DIR")]
    pub save_to: Option<PathBuf>,

    #[command(flatten)]
    pub opts: Opts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Deadlock report for people
    #[value(alias = "txt")]
    Text,
    /// Graphviz DOT of the waits-for graph
    Dot,
    /// JSON for scripts (schema_version 1)
    Json,
    /// SVG picture of the waits-for graph
    Svg,
    /// Markdown report with a mermaid graph, for GitHub issues
    #[value(alias = "md")]
    Markdown,
    /// Self-contained HTML report, for attaching to a ticket
    Html,
}

impl Format {
    /// The format a file name asks for.
    pub fn from_extension(path: &Path) -> Option<Format> {
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
pub enum InputArg {
    /// `core show locks` output
    CoreShowLocks,
    /// ast_coredumper's `-locks.txt` (table or CSV)
    CoredumperLocks,
    /// gdb `thread apply all bt` / `bt full` (ast_coredumper's -brief.txt, -full.txt)
    Gdb,
}

impl InputArg {
    pub fn kind(self) -> InputKind {
        match self {
            InputArg::CoreShowLocks => InputKind::CoreShowLocks,
            InputArg::CoredumperLocks => InputKind::CoredumperLocks,
            InputArg::Gdb => InputKind::Gdb,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Policy {
    ReaderPreferring,
    WriterPreferring,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ViewArg {
    /// Thread → thread edges
    Threads,
    /// Threads and locks: waits and holds edges
    Locks,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RendererArg {
    Builtin,
    Graphviz,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LayoutArg {
    Dot,
    Circo,
    Neato,
    Fdp,
}
