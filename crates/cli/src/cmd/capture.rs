//! `ast-locks capture`: backtraces and lock owners from gdb, analysed at once.

use crate::args::Capture;
use crate::cmd::report;
use crate::gdb::{self, Target};
use crate::input::Input;
use crate::output::say;
use crate::{Failure, Outcome};
use ast_locks_parse::InputKind;
use std::io;
use std::path::Path;

/// The top-level entry point for `capture`.
pub fn run(c: &Capture) -> Result<Outcome, Failure> {
    let target = target(c)?;
    target.check()?;
    if let Target::Process { pid, .. } = &target {
        say(&format!(
            "attaching gdb to process {pid}: it is paused while gdb reads its threads (twice: backtraces, then lock owners)"
        ));
    }
    let Captured {
        backtraces,
        owners,
        said,
    } = capture(&target)?;
    for line in &said {
        say(line);
    }
    if let Some(dir) = &c.save_to {
        save(dir, &backtraces, owners.as_deref())?;
    }
    let inputs = inputs(&target, backtraces, owners);
    report::report_with(&inputs, &c.opts, &said).map_err(|Failure(msg)| {
        if msg.contains("no frame") {
            Failure(format!("{msg}{}", binary_hint(&target, &said)))
        } else {
            Failure(msg)
        }
    })
}

/// What gdb gave: the backtraces, the owner look-ups, and its warnings as the
/// first screen says them.
pub struct Captured {
    pub backtraces: String,
    pub owners: Option<String>,
    pub said: Vec<String>,
}

/// Backtraces, then the owners of the locks they wait for.
pub fn capture(target: &Target) -> Result<Captured, Failure> {
    let bt = gdb::backtraces(target)?;
    let mut warnings = bt.warnings.clone();
    let owners = look_up_owners(target, &bt.stdout)?;
    if let Some(o) = &owners {
        warnings.extend(
            o.warnings
                .iter()
                .filter(|w| !bt.warnings.contains(w))
                .cloned(),
        );
    }
    Ok(Captured {
        backtraces: bt.stdout,
        owners: owners.map(|o| o.stdout),
        said: gdb_said(&warnings),
    })
}

/// The captured texts as inputs of one moment.
pub fn inputs(target: &Target, backtraces: String, owners: Option<String>) -> Vec<Input> {
    let mut inputs = vec![Input {
        name: target.describe(),
        bytes: backtraces.into_bytes(),
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
    inputs
}

/// gdb's warnings as the first screen says them: the ones that make the
/// backtraces doubtful in full, the rest counted.
fn gdb_said(warnings: &[String]) -> Vec<String> {
    const SHOWN: usize = 4;
    let mut out: Vec<String> = warnings
        .iter()
        .take(SHOWN)
        .map(|w| format!("gdb said: {w}"))
        .collect();
    if warnings.len() > SHOWN {
        out.push(format!("gdb said {} more warnings", warnings.len() - SHOWN));
    }
    out
}

/// Said of backtraces without a symbol: what `--binary` likely is.
fn binary_hint(target: &Target, warnings: &[String]) -> String {
    let Target::Core { core, binary } = target else {
        return String::new();
    };
    let mismatch = warnings.iter().any(|w| w.contains("may not match"));
    format!(
        "; {} is {}not the program that wrote {}{}: give the program the core came from (`file {}` names it)",
        binary.display(),
        if mismatch { "" } else { "probably " },
        core.display(),
        if mismatch { " (gdb: the core file may not match the executable)" } else { "" },
        core.display()
    )
}

/// The core file and its program, or the process.
fn target(c: &Capture) -> Result<Target, Failure> {
    match (&c.core, &c.binary, c.pid) {
        (Some(core), Some(binary), _) => Ok(Target::Core {
            core: core.clone(),
            binary: binary.clone(),
        }),
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
/// thread waits for a lock with an address (or the backtraces do not read: the
/// report says why).
fn look_up_owners(target: &Target, bt: &str) -> Result<Option<gdb::Output>, Failure> {
    let Ok(dump) = ast_locks_parse::parse_kind(bt.as_bytes(), InputKind::Gdb) else {
        return Ok(None);
    };
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
    say(&format!("gdb output saved in {}", dir.display()));
    Ok(())
}
