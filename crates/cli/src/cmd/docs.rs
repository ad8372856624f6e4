//! `ast-locks completions SHELL` and `ast-locks man`: generated from the same
//! definition as `--help`.

use crate::args::Cli;
use crate::output::ignore_broken_pipe;
use crate::{Failure, Outcome};
use clap::CommandFactory;
use std::io;

/// The top-level entry point for `completions`.
pub fn completions(shell: clap_complete::Shell) -> Result<Outcome, Failure> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "ast-locks", &mut io::stdout());
    Ok(Outcome::Clean)
}

/// The top-level entry point for `man`.
pub fn man() -> Result<Outcome, Failure> {
    clap_mangen::Man::new(Cli::command())
        .render(&mut io::stdout())
        .or_else(ignore_broken_pipe)?;
    Ok(Outcome::Clean)
}
