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

    /// Check what can be checked before gdb runs: the files exist, the process
    /// is there.
    pub fn check(&self) -> Result<(), Failure> {
        match self {
            Target::Core { core, binary } => {
                for (what, p) in [("core file", core), ("binary", binary)] {
                    if !p.is_file() {
                        return Err(Failure(format!("{}: no such {what}", p.display())));
                    }
                }
            }
            Target::Process { pid, binary } => {
                if Path::new("/proc/self").exists() && !Path::new(&format!("/proc/{pid}")).exists()
                {
                    return Err(Failure(format!(
                        "process {pid} does not exist (no /proc/{pid}): give the PID of the running program (`pidof asterisk`)"
                    )));
                }
                if let Some(b) = binary.as_ref().filter(|b| !b.is_file()) {
                    return Err(Failure(format!("{}: no such binary", b.display())));
                }
            }
        }
        Ok(())
    }
}

/// What gdb printed: its standard output, and the warnings it gave on the side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Standard output.
    pub stdout: String,
    /// `warning: …` lines of its standard error, first seen first, each once.
    pub warnings: Vec<String>,
    /// The rest of its standard error (why it could not read the target).
    pub errors: Vec<String>,
}

/// Run gdb in batch mode with `commands` (and a command file) on `target`.
pub fn run(target: &Target, commands: &[&str], script: Option<&Path>) -> Result<Output, Failure> {
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
    let mut output = Output {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        ..Output::default()
    };
    for line in String::from_utf8_lossy(&out.stderr).lines() {
        let line = line.trim();
        let into = if line.starts_with("warning:") {
            &mut output.warnings
        } else {
            &mut output.errors
        };
        if !line.is_empty() && !into.iter().any(|l| l == line) {
            into.push(line.to_string());
        }
    }
    Ok(output)
}

/// Every thread's backtrace. gdb that printed no thread could not read the
/// target: its own words say why.
pub fn backtraces(target: &Target) -> Result<Output, Failure> {
    let out = run(
        target,
        &["set pagination off", "set width 0", "thread apply all bt"],
        None,
    )?;
    if !out.stdout.contains("Thread ") && !out.stdout.contains("#0 ") {
        let said: Vec<&str> = out
            .errors
            .iter()
            .chain(&out.warnings)
            .map(String::as_str)
            .take(3)
            .collect();
        return Err(Failure(format!(
            "gdb printed no thread of {}: {}",
            match target {
                Target::Core { core, .. } => core.display().to_string(),
                Target::Process { pid, .. } => format!("process {pid}"),
            },
            if said.is_empty() {
                "it said nothing".to_string()
            } else {
                said.join("; ")
            }
        )));
    }
    Ok(out)
}

/// Run the owner look-ups in `commands` (as `ast-locks gdb-commands` writes them)
/// through a command file in a private temporary directory.
pub fn owners(target: &Target, commands: &[u8]) -> Result<Output, Failure> {
    let dir = std::env::temp_dir().join(format!("ast-locks-capture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Failure(format!("{}: {e}", dir.display())))?;
    let script = dir.join("owners.gdb");
    let written = std::fs::write(&script, commands)
        .map_err(|e| Failure(format!("{}: {e}", script.display())));
    let owners = written.and_then(|()| run(target, &[], Some(&script)));
    let _ = std::fs::remove_dir_all(&dir);
    owners
}
