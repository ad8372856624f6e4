//! The gdb commands that look up who owns each awaited lock: a backtrace shows
//! who waits, never who holds. Run them on the same core (or process) and feed
//! the output back with `--owners`.

use ast_locks_model::{parse_address, LockState, Snapshot};
use std::io::{self, Write};

/// The awaited locks of a snapshot: (address as printed, is a rwlock, name),
/// first seen first, each once.
pub fn awaited<'s>(snapshot: &'s Snapshot<'_>) -> Vec<(&'s str, bool, &'s str)> {
    let mut out: Vec<(&str, bool, &str)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for t in &snapshot.threads {
        for e in t.entries.iter().filter(|e| e.state == LockState::Waiting) {
            let Some(addr) = parse_address(&e.addr).filter(|a| *a != 0) else {
                continue;
            };
            if !seen.insert(addr) {
                continue;
            }
            out.push((&e.addr, e.kind.is_rwlock(), &e.name));
        }
    }
    out
}

/// Write a gdb command file for `snapshot`'s awaited locks; returns how many.
/// `source` names the input in the comments.
pub fn write(w: &mut impl Write, snapshot: &Snapshot<'_>, source: &str) -> io::Result<usize> {
    let locks = awaited(snapshot);
    writeln!(
        w,
        "# gdb commands written by ast-locks: the owner of every awaited lock in {source}"
    )?;
    writeln!(
        w,
        "# On a core:   gdb -batch -x THIS_FILE /usr/sbin/asterisk CORE > owners.txt"
    )?;
    writeln!(
        w,
        "# On a process: gdb -batch -x THIS_FILE -p PID > owners.txt   (pauses it while it runs)"
    )?;
    writeln!(w, "# Then:        ast-locks {source} --owners owners.txt")?;
    writeln!(w, "# A mutex's owner is the third word of x/3dw (x86-64 glibc); a rwlock records its writer only.")?;
    writeln!(w, "set pagination off")?;
    writeln!(w, "set width 0")?;
    writeln!(w, "set print pretty off")?;
    for (addr, rwlock, name) in &locks {
        // Names go in a comment only: gdb's echo would interpret their backslashes.
        writeln!(w, "# {name}")?;
        if *rwlock {
            writeln!(w, "echo === p *(pthread_rwlock_t *) {addr}\\n")?;
            writeln!(w, "p *(pthread_rwlock_t *) {addr}")?;
        } else {
            writeln!(w, "echo === x/3dw {addr}\\n")?;
            writeln!(w, "x/3dw {addr}")?;
        }
    }
    Ok(locks.len())
}
