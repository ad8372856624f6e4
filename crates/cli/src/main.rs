//! `ast-locks`: find and show deadlocks in Asterisk lock dumps.
//!
//! The binary is glue: it parses the arguments, hands each mode to its module
//! under `cmd/`, and turns what the mode returned into the exit status, in one
//! place (0 no finding, 1 finding, 2 error, 3 undetermined; a closed pipe is not
//! an error).
//! Reading inputs (`input`), joining them (`join`), running gdb (`gdb`) and
//! writing the output (`output`) are modules of their own; the diagnosis is
//! built below the binary, in `ast_locks_analysis::diagnose`.

mod args;
mod cmd;
mod gdb;
mod incident;
mod input;
mod join;
mod output;
mod probe;
mod progress;

use args::{Cli, Command};
use clap::Parser;
use std::process::ExitCode;

/// What went wrong, already worded for the user.
pub struct Failure(String);

/// What a mode found, for the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing that `--fail-on` asks about: exit 0.
    Clean,
    /// A finding `--fail-on` asks about (a deadlock by default): exit 1.
    Finding,
    /// No such finding, but the input cannot prove or exclude a deadlock: exit 3.
    Undetermined,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::Help { subcommand }) => cmd::docs::help(subcommand.as_deref()),
        Some(Command::Completions { shell }) => cmd::docs::completions(*shell),
        Some(Command::Man { subcommand, dir }) => {
            cmd::docs::man(subcommand.as_deref(), dir.as_deref())
        }
        Some(Command::GdbCommands { file }) => cmd::gdb_commands::run(file),
        Some(Command::Capture(c)) => cmd::capture::run(c),
        Some(Command::Refs(r)) => cmd::refs::run(r),
        Some(Command::Watch(w)) => cmd::watch::run(w),
        Some(Command::Diff {
            old,
            new,
            format,
            old_snapshot,
            new_snapshot,
        }) => cmd::diff::run((old, *old_snapshot), (new, *new_snapshot), *format),
        None => {
            let mut opts = cli.opts.clone();
            cli.read.apply(&mut opts);
            cmd::report::run(&cli.files, &opts)
        }
    };
    report_peak_memory();
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Finding) => ExitCode::from(1),
        Ok(Outcome::Undetermined) => ExitCode::from(3),
        Err(Failure(msg)) => {
            output::say(&msg);
            ExitCode::from(2)
        }
    }
}

/// For the benchmarks: the process's peak memory, as the kernel counts it.
fn report_peak_memory() {
    if std::env::var_os("AST_LOCKS_PEAK_MEMORY").is_none() {
        return;
    }
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:")) {
            output::say(&format!("peak memory {}", line[6..].trim()));
        }
    }
}
