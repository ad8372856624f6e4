//! Print a snapshot back as `core show locks` text of a chosen generation.
//!
//! Used to generate synthetic dumps (benchmarks, big-graph tests) and to check
//! that the parser reads back exactly what each generation prints.

use ast_locks_model::{Generation, LockEntry, Snapshot, Thread};
use std::io::{self, Write};

const BORDER: &str = "=======================================================================";
const THREAD_END: &str = "=== -------------------------------------------------------------------";

/// Write `snapshot` the way Asterisk of `generation` prints `core show locks`.
///
/// Fields a generation does not print are left out (LWP before 12, timing lines
/// before 21, `- suspended` in 1.6 – 11); a 21+ entry with no timing gets zeros.
pub fn write(
    w: &mut impl Write,
    snapshot: &Snapshot<'_>,
    generation: Generation,
) -> io::Result<()> {
    writeln!(w, "{BORDER}")?;
    match generation {
        Generation::V1_6To11 => {
            writeln!(
                w,
                "=== Currently Held Locks =============================================="
            )?;
        }
        Generation::V12To20 => {
            writeln!(w, "=== {}", snapshot.version.as_deref().unwrap_or("18.0.0"))?;
            writeln!(w, "=== Currently Held Locks")?;
        }
        Generation::V21Plus => {
            writeln!(w, "=== {}", snapshot.version.as_deref().unwrap_or("22.0.0"))?;
            writeln!(
                w,
                "=== Currently Held Locks at Time: {} =================",
                snapshot.time.as_deref().unwrap_or("498697:44:29.872492")
            )?;
        }
    }
    writeln!(w, "{BORDER}")?;
    writeln!(w, "===")?;
    let legend =
        "=== <pending> <lock#> (<file>): <lock type> <line num> <function> <lock name> <lock addr>";
    if generation == Generation::V21Plus {
        writeln!(w, "{legend}")?;
        writeln!(
            w,
            "=== <locked at>, <failed at>, <held for> (attempts, times locked)"
        )?;
    } else {
        writeln!(w, "{legend} (times locked)")?;
    }
    writeln!(w, "===")?;
    for t in &snapshot.threads {
        thread(w, t, generation)?;
    }
    writeln!(w, "{BORDER}")
}

fn thread(w: &mut impl Write, t: &Thread<'_>, g: Generation) -> io::Result<()> {
    write!(w, "=== Thread ID: {}", t.id)?;
    if let (Some(lwp), true) = (t.lwp, g >= Generation::V12To20) {
        write!(w, " LWP:{lwp}")?;
    }
    writeln!(w, " ({})", t.name)?;
    for e in &t.entries {
        entry(w, e, g)?;
    }
    writeln!(w, "{THREAD_END}")?;
    writeln!(w, "===")
}

/// A lock line up to its address, as every generation prints it
/// (`=== ---> Waiting for Lock #1 (a.c): MUTEX 67 f &m 0x…`), without its tail.
pub fn lock_line(e: &LockEntry<'_>) -> String {
    format!(
        "=== ---> {}Lock #{} ({}): {} {} {} {} {}",
        e.state.prefix(),
        e.index,
        e.location.file,
        e.kind.label(),
        e.location.line,
        e.location.function,
        e.name,
        e.addr
    )
}

fn entry(w: &mut impl Write, e: &LockEntry<'_>, g: Generation) -> io::Result<()> {
    write!(w, "{}", lock_line(e))?;
    let times = e.times_locked.unwrap_or(1);
    match g {
        Generation::V1_6To11 => writeln!(w, " ({times})")?,
        Generation::V12To20 if e.suspended => writeln!(w, " ({times} - suspended)")?,
        Generation::V12To20 => writeln!(w, " ({times})")?,
        Generation::V21Plus => {
            writeln!(w)?;
            let clocks = match &e.timing {
                Some(t) => t.text(),
                None => "00:00:00.000000, 00:00:00.000000, 00:00:00.000000",
            };
            write!(w, "===      {clocks} ({times}, {}", e.attempts.unwrap_or(1))?;
            writeln!(w, "{})", if e.suspended { " - suspended" } else { "" })?;
        }
    }
    for f in e.backtrace.iter() {
        writeln!(w, "\t{f}")?;
    }
    for l in &e.locked_here {
        writeln!(
            w,
            "=== --- ---> Locked Here: {} line {} ({})",
            l.file, l.line, l.function
        )?;
    }
    Ok(())
}
