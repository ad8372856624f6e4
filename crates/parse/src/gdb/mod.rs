//! gdb output, wherever it is: `thread apply all bt` and `bt full` files (also
//! ast_coredumper's `-brief.txt` and `-full.txt`), interactive sessions and the
//! excerpts people paste into tickets, from Asterisk or any other C server.
//!
//! Each stack becomes a thread (`reader` finds which thread each frame is
//! of); each stack is classified ([`mod@classify`]): a thread whose innermost
//! frames are a lock wait (`__lll_lock_wait`, `pthread_mutex_lock`,
//! `pthread_rwlock_rdlock`/`wrlock`, the lock wrappers of Asterisk, FreeSWITCH,
//! GLib, pjproject, the shared-memory locks of Kamailio and OpenSIPS) gets a
//! `Waiting for` entry with the lock address from the frame arguments (empty
//! when no frame shows it) and, from Asterisk's wrapper frames, the lock name
//! and the place that asked for it. Other threads are classified (condition
//! wait, poll, sleep, spinning in a trylock loop, …) with their top application
//! frame. Who holds a lock is not in a backtrace: owner look-ups printed in the
//! paste (`x/3dw`, `p *mutex`) are applied, others come from [`crate::owners`].

pub mod classify;
pub mod grammar;
pub(crate) mod reader;

pub use classify::{classify, LockWait};
pub use grammar::{
    arg, args, frame, header, hex_in, info_threads_row, string_in, switching, symbol_in, Header,
};

use crate::ParseError;
use ast_locks_model::{Dump, InputFormat, Location, LockEntry, LockState, Snapshot, Thread};
use std::borrow::Cow;

/// True when the text holds gdb frames: a frame line gdb printed
/// (`#3  0x… in f (…)`, `#1  f (…) at file.c:8`, `#0  f () from lib`), two
/// frame lines of consecutive levels however shortened (`#0  __lll_lock_wait`,
/// `#1  pthread_mutex_lock`), or a row of `info threads`.
pub fn looks_like(input: &str) -> bool {
    let mut last: Option<u32> = None;
    // The first 200,000 lines tell.
    let head = match memchr::memchr_iter(b'\n', input.as_bytes()).nth(200_000) {
        Some(end) => &input[..end],
        None => input,
    };
    for l in reader::logical_lines(head) {
        // A row of `info threads`: a thread and its innermost frame.
        if let Some((_, _, f)) = info_threads_row(&l.text) {
            if frame(&format!("#0  {f}")).is_some_and(|f| f.address.is_some() || f.file.is_some()) {
                return true;
            }
        }
        let Some(f) = frame(&l.text) else {
            continue;
        };
        let printed =
            f.address.is_some() || f.file.is_some() || f.library.is_some() || l.text.contains('(');
        if printed || last.is_some_and(|n| f.level == n + 1) {
            return true;
        }
        last = Some(f.level);
    }
    false
}

/// Parse gdb output.
pub fn parse_str(input: &str) -> Result<Dump<'_>, ParseError> {
    let lines = reader::logical_lines(input);
    let paste = reader::read(&lines);
    if paste.threads.iter().all(|t| t.stack.is_empty()) {
        return Err(match lines.first() {
            None => ParseError::Empty,
            Some(first) => ParseError::NoDump {
                line: first.line,
                column: 1,
                found: crate::first_lines(input),
            },
        });
    }
    let frames: usize = paste.threads.iter().map(|t| t.stack.len()).sum();
    if paste
        .threads
        .iter()
        .flat_map(|t| &t.stack)
        .all(|f| f.function == "??")
    {
        return Err(ParseError::NoSymbols { frames });
    }
    let mut threads = paste.threads;
    for t in &mut threads {
        classify_thread(t);
    }
    let mut snapshot = Snapshot {
        threads,
        format: InputFormat::Gdb,
        all_threads: paste.all_threads,
        program: paste.program.map(Cow::Owned),
        ..Snapshot::default()
    };
    let mut warnings = paste.warnings;
    // Owner look-ups printed in the paste count as if given with `--owners`.
    for w in crate::join::apply_owners(&mut snapshot, &paste.owners) {
        warnings.push(w);
    }
    warnings.sort_by_key(|w| w.line);
    Ok(Dump {
        format: InputFormat::Gdb,
        snapshots: vec![snapshot],
        warnings,
    })
}

/// What a thread's stack says: its activity, its start routine, and the lock
/// it waits for (with no address when no frame shows one).
fn classify_thread(t: &mut Thread<'_>) {
    let (activity, wait) = classify(&t.stack);
    t.activity = Some(activity);
    if t.start.is_none() {
        if let Some(routine) = classify::start_routine(&t.stack) {
            t.start = Some(ast_locks_model::ThreadStart {
                routine,
                location: Location::default(),
            });
        }
    }
    let Some(w) = wait else { return };
    let mut e = LockEntry::new(0, LockState::Waiting, w.kind, w.addr.unwrap_or_default());
    e.name = w.name.map(Cow::Owned).unwrap_or_default();
    e.location = w.location.unwrap_or_default();
    e.line = t.line;
    t.entries.push(e);
}

#[cfg(test)]
mod tests;
