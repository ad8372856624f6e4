//! Keeping the evidence of a freeze: the side job of `watch` that writes one
//! folder per incident (the snapshots as captured, the reports, gdb's output)
//! and runs the command the user gave for it.

use crate::output::say;
use crate::Failure;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// `20261202T100102Z`: now, in UTC, for folder names and status lines.
pub fn utc_stamp(t: SystemTime) -> String {
    let (date, (h, m, s)) = civil(t);
    format!("{}{:02}{:02}T{h:02}{m:02}{s:02}Z", date.0, date.1, date.2)
}

/// `10:01:02`, in UTC.
pub fn utc_time(t: SystemTime) -> String {
    let (_, (h, m, s)) = civil(t);
    format!("{h:02}:{m:02}:{s:02}")
}

type Date = (i64, u32, u32);

/// The UTC calendar date and time of `t` (days to civil date after Howard
/// Hinnant's algorithm).
fn civil(t: SystemTime) -> (Date, (u64, u64, u64)) {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    ((y, m, d), (rest / 3600, rest % 3600 / 60, rest % 60))
}

/// A new folder for an incident: `asked`, or `ast-locks-incident-<UTC>` in the
/// current directory; an existing folder is never written into (a suffix is
/// added).
pub fn create_folder(asked: Option<&Path>, now: SystemTime) -> Result<PathBuf, Failure> {
    let base = match asked {
        Some(p) => p.to_path_buf(),
        None => PathBuf::from(format!("ast-locks-incident-{}", utc_stamp(now))),
    };
    let mut path = base.clone();
    let mut n = 1;
    loop {
        match std::fs::create_dir_all(
            path.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
        )
        .and_then(|()| std::fs::create_dir(&path))
        {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => {
                n += 1;
                path = PathBuf::from(format!("{}-{n}", base.display()));
            }
            Err(e) => {
                return Err(Failure(format!(
                    "{}: cannot create the incident folder: {e}",
                    path.display()
                )))
            }
        }
    }
}

/// Write one file of the incident.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), Failure> {
    let path = dir.join(name);
    std::fs::write(&path, bytes)
        .map_err(|e| Failure(format!("{}: cannot write: {e}", path.display())))
}

/// Run the user's `--exec` command with the folder and the verdict in its
/// environment; its failure is said, not fatal (the evidence is kept).
pub fn exec(command: &str, dir: &Path, verdict: &str) {
    let status = Command::new("sh")
        .args(["-c", command])
        .env("AST_LOCKS_INCIDENT", dir)
        .env("AST_LOCKS_VERDICT", verdict)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => say(&format!("--exec `{command}` ended with {s}")),
        Err(e) => say(&format!("--exec `{command}`: cannot run it: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn stamps_are_utc_calendar_times() {
        let t = UNIX_EPOCH + Duration::from_secs(1_796_205_662); // 2026-12-02 10:01:02 UTC
        assert_eq!(utc_stamp(t), "20261202T100102Z");
        assert_eq!(utc_time(t), "10:01:02");
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101T000000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(&utc_stamp(leap)[..8], "20000229");
    }
}
