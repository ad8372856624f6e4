//! `ast-locks completions SHELL` and `ast-locks man`: generated from the same
//! definition as `--help`.

use crate::args::Cli;
use crate::output::ignore_broken_pipe;
use crate::{Failure, Outcome};
use clap::CommandFactory;
use std::io;

/// The top-level entry point for `help`: the long help of ast-locks or of one
/// subcommand.
pub fn help(subcommand: Option<&str>) -> Result<Outcome, Failure> {
    let mut top = Cli::command();
    let text = match subcommand {
        None => top.render_long_help(),
        Some(name) => {
            top.build();
            let Some(sub) = top.find_subcommand_mut(name) else {
                let names = subcommand_names();
                return Err(Failure(format!(
                    "no subcommand `{name}`: the subcommands are {}",
                    names.join(", ")
                )));
            };
            sub.render_long_help()
        }
    };
    crate::output::to_stdout(text.to_string().as_bytes())?;
    Ok(Outcome::Clean)
}

/// The top-level entry point for `completions`.
pub fn completions(shell: clap_complete::Shell) -> Result<Outcome, Failure> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "ast-locks", &mut io::stdout());
    Ok(Outcome::Clean)
}

/// The top-level entry point for `man`: `ast-locks(1)` on standard output, the
/// page of one subcommand (`ast-locks man refs` is `ast-locks-refs(1)`), or,
/// with `--dir DIR`, every page written there as `ast-locks.1`,
/// `ast-locks-capture.1`, ….
pub fn man(subcommand: Option<&str>, dir: Option<&std::path::Path>) -> Result<Outcome, Failure> {
    let pages = pages();
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(|e| Failure(format!("{}: {e}", dir.display())))?;
        for (name, cmd) in pages {
            let path = dir.join(format!("{name}.1"));
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .map_err(|e| Failure(format!("cannot render {name}(1): {e}")))?;
            std::fs::write(&path, out)
                .map_err(|e| Failure(format!("{}: cannot write: {e}", path.display())))?;
        }
        return Ok(Outcome::Clean);
    }
    let wanted = subcommand.map_or("ast-locks".to_string(), |s| format!("ast-locks-{s}"));
    let Some((_, cmd)) = pages.into_iter().find(|(name, _)| *name == wanted) else {
        let names = subcommand_names();
        return Err(Failure(format!(
            "no manual page for `{}`: the subcommands are {}",
            subcommand.unwrap_or_default(),
            names.join(", ")
        )));
    };
    clap_mangen::Man::new(cmd)
        .render(&mut io::stdout())
        .or_else(ignore_broken_pipe)?;
    Ok(Outcome::Clean)
}

/// The subcommands' names, for messages that list them.
fn subcommand_names() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

/// Every manual page: `ast-locks` and one per subcommand, named as man names them.
fn pages() -> Vec<(String, clap::Command)> {
    let top = Cli::command();
    let version = top.get_version().unwrap_or_default().to_string();
    let mut pages = vec![("ast-locks".to_string(), top.clone())];
    for sub in top.get_subcommands() {
        let name = format!("ast-locks-{}", sub.get_name());
        let page = sub.clone().name(name.clone()).version(version.clone());
        pages.push((name, page));
    }
    pages
}
