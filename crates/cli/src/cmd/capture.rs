//! `ast-locks capture`: backtraces and lock owners from gdb, analysed at once.

use crate::args::Capture;
use crate::cmd::report;
use crate::gdb::{self, Target};
use crate::input::Input;
use crate::{Failure, Outcome};
use ast_locks_parse::InputKind;
use std::io::{self, Write};
use std::path::Path;

/// The top-level entry point for `capture`.
pub fn run(c: &Capture) -> Result<Outcome, Failure> {
    let target = target(c)?;
    if let Target::Process { pid, .. } = &target {
        let _ = writeln!(
            io::stderr(),
            "ast-locks: attaching gdb to process {pid}: it is paused while gdb reads its threads (twice: backtraces, then lock owners)"
        );
    }
    let bt = gdb::backtraces(&target)?;
    let source = target.describe();
    let owners = look_up_owners(&target, &bt, &source)?;
    if let Some(dir) = &c.save_to {
        save(dir, &bt, owners.as_deref())?;
    }
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
    report::report(&inputs, &c.opts)
}

/// The core file and its program, or the process, checked before gdb is run.
fn target(c: &Capture) -> Result<Target, Failure> {
    match (&c.core, &c.binary, c.pid) {
        (Some(core), Some(binary), _) => {
            for (what, p) in [("core file", core), ("binary", binary)] {
                if !p.is_file() {
                    return Err(Failure(format!("{}: no such {what}", p.display())));
                }
            }
            Ok(Target::Core {
                core: core.clone(),
                binary: binary.clone(),
            })
        }
        (_, binary, Some(pid)) => Ok(Target::Process {
            pid,
            binary: binary.clone(),
        }),
        _ => Err(Failure(
            "capture needs --core CORE --binary BIN, or --pid PID".to_string(),
        )),
    }
}

/// Ask gdb for the owner of every lock the backtraces wait for; `None` when no
/// thread waits for a lock with an address.
fn look_up_owners(target: &Target, bt: &str, source: &str) -> Result<Option<String>, Failure> {
    let dump = ast_locks_parse::parse_kind(bt.as_bytes(), InputKind::Gdb)
        .map_err(|e| Failure(format!("{source}: {e}")))?;
    let mut commands = Vec::new();
    let count = match dump.snapshots.last() {
        Some(s) => ast_locks_render::gdbcmd::write(&mut commands, s, "the capture")
            .map_err(|e| Failure(format!("cannot render the commands: {e}")))?,
        None => 0,
    };
    if count == 0 {
        return Ok(None);
    }
    gdb::owners(target, &commands).map(Some)
}

/// Keep what gdb printed, for a ticket.
fn save(dir: &Path, bt: &str, owners: Option<&str>) -> Result<(), Failure> {
    let failed = |e: io::Error| Failure(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(failed)?;
    std::fs::write(dir.join("backtraces.txt"), bt).map_err(failed)?;
    if let Some(o) = owners {
        std::fs::write(dir.join("owners.txt"), o).map_err(failed)?;
    }
    let _ = writeln!(
        io::stderr(),
        "ast-locks: gdb output saved in {}",
        dir.display()
    );
    Ok(())
}
