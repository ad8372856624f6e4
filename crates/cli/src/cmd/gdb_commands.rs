//! `ast-locks gdb-commands FILE`: the gdb commands that look up the owner of
//! every awaited lock, to run on the core or process and feed back with `--owners`.

use crate::input;
use crate::output::{say, to_stdout};
use crate::{Failure, Outcome};
use ast_locks_parse::InputKind;
use std::path::Path;

/// The top-level entry point for `gdb-commands`.
pub fn run(file: &Path) -> Result<Outcome, Failure> {
    let (name, bytes, _) = input::read_input(file)?;
    let name = &name;
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
    let count = ast_locks_render::gdbcmd::write(&mut out, snapshot, name)
        .map_err(|e| Failure(format!("cannot render the commands: {e}")))?;
    to_stdout(&out)?;
    say(&format!(
        "{count} awaited lock{} in {name}",
        if count == 1 { "" } else { "s" }
    ));
    Ok(Outcome::Clean)
}
