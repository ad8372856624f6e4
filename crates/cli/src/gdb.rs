//! Running gdb in batch mode on a core file or a live process: the side job of
//! `capture`.

use crate::Failure;
use std::io;
use std::path::{Path, PathBuf};

/// What gdb reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A core file of `binary`.
    Core {
        /// The core file.
        core: PathBuf,
        /// The program that wrote it.
        binary: PathBuf,
    },
    /// A running process (gdb pauses it while it reads).
    Process {
        /// Its PID.
        pid: u32,
        /// Its program, when given (gdb finds it from the PID otherwise).
        binary: Option<PathBuf>,
    },
}

impl Target {
    /// How the target is named in reports: `gdb bt of core.123`.
    pub fn describe(&self) -> String {
        match self {
            Target::Core { core, .. } => format!("gdb bt of {}", core.display()),
            Target::Process { pid, .. } => format!("gdb bt of process {pid}"),
        }
    }
}

/// Run gdb in batch mode with `commands` (and a command file) on `target`, and
/// return what it printed on standard output.
pub fn run(target: &Target, commands: &[&str], script: Option<&Path>) -> Result<String, Failure> {
    let mut cmd = std::process::Command::new("gdb");
    cmd.args(["-batch", "-nx", "-q"]);
    for e in commands {
        cmd.arg("-ex").arg(e);
    }
    if let Some(script) = script {
        cmd.arg("-x").arg(script);
    }
    match target {
        Target::Core { core, binary } => {
            cmd.arg(binary).arg(core);
        }
        Target::Process { pid, binary } => {
            if let Some(b) = binary {
                cmd.arg(b);
            }
            cmd.arg("-p").arg(pid.to_string());
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

/// Every thread's backtrace.
pub fn backtraces(target: &Target) -> Result<String, Failure> {
    run(
        target,
        &["set pagination off", "set width 0", "thread apply all bt"],
        None,
    )
}

/// Run the owner look-ups in `commands` (as `ast-locks gdb-commands` writes them)
/// through a command file in a private temporary directory.
pub fn owners(target: &Target, commands: &[u8]) -> Result<String, Failure> {
    let dir = std::env::temp_dir().join(format!("ast-locks-capture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Failure(format!("{}: {e}", dir.display())))?;
    let script = dir.join("owners.gdb");
    let written = std::fs::write(&script, commands)
        .map_err(|e| Failure(format!("{}: {e}", script.display())));
    let owners = written.and_then(|()| run(target, &[], Some(&script)));
    let _ = std::fs::remove_dir_all(&dir);
    owners
}
