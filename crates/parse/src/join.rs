//! Joining inputs of one moment: owners looked up in gdb, and backtraces attached
//! to a `core show locks` dump (or ast_coredumper table) by LWP.

use crate::owners::Owner;
use ast_locks_model::{
    parse_address, parse_thread_id, LockEntry, LockKind, LockState, Snapshot, Warning,
};

/// Record each owner as a hold of the thread with that LWP. Returns what could not
/// be applied (owner not among the threads, lock free when looked up).
pub fn apply_owners(snapshot: &mut Snapshot<'_>, owners: &[Owner]) -> Vec<Warning> {
    let mut notes = Vec::new();
    for o in owners {
        match snapshot.owners.iter_mut().find(|k| k.addr == o.addr) {
            // A later look-up of the same lock wins.
            Some(known) => *known = *o,
            None => snapshot.owners.push(*o),
        }
        // The entries that wait for this lock give its name and printed address.
        let Some((name, addr, kind)) = snapshot
            .threads
            .iter()
            .flat_map(|t| &t.entries)
            .find(|e| parse_address(&e.addr) == Some(o.addr))
            .map(|e| (e.name.clone(), e.addr.clone(), e.kind))
        else {
            continue;
        };
        if o.lwp == 0 {
            let message = if o.rwlock_writer {
                format!("{name} {addr} has no writer: it is held by readers, which glibc does not record (look for threads that took it for reading)")
            } else {
                format!("{name} {addr} was free when its owner was looked up: the waits on it were moving")
            };
            notes.push(Warning { line: 0, message });
            continue;
        }
        let Some(t) = snapshot.threads.iter_mut().find(|t| t.lwp == Some(o.lwp)) else {
            notes.push(Warning {
                line: 0,
                message: format!(
                    "{name} {addr} is owned by LWP {} which is not among the threads read (a thread that exited holding it?)",
                    o.lwp
                ),
            });
            continue;
        };
        if t.entries.iter().any(|e| e.addr == addr && e.is_holding()) {
            continue;
        }
        let held = if o.rwlock_writer || kind.is_rwlock() {
            LockKind::WrLock
        } else {
            kind
        };
        let mut e = LockEntry::new(t.entries.len() as u32, LockState::Held, held, addr);
        e.name = name;
        t.entries.push(e);
    }
    notes
}

/// Attach the stacks of `source` (gdb backtraces) to the threads of `target`
/// (`core show locks` or ast_coredumper), matched by LWP, else by thread id.
/// Returns how many threads were matched.
pub fn attach_stacks<'a>(target: &mut Snapshot<'a>, source: Snapshot<'a>) -> usize {
    let mut matched = 0;
    let mut source = source.threads;
    for t in &mut target.threads {
        let found = source.iter().position(|s| {
            (t.lwp.is_some() && s.lwp == t.lwp)
                || (t.numeric_id.is_some() && parse_thread_id(&s.id) == t.numeric_id)
        });
        if let Some(i) = found {
            let s = source.swap_remove(i);
            t.stack = s.stack;
            t.activity = s.activity;
            t.gdb_num = s.gdb_num;
            if t.lwp.is_none() {
                t.lwp = s.lwp;
            }
            matched += 1;
        }
    }
    matched
}
