//! Joining the inputs of one moment: a dump, the backtraces of the same moment
//! (attached to its threads by LWP) and gdb's look-ups of lock owners; further
//! dumps of the analysed kind are the earlier snapshots of a series.

use crate::input::{cut_note, Input};
use crate::Failure;
use ast_locks_model::{Dump, Snapshot};
use ast_locks_parse::owners::{self, Owner};
use ast_locks_parse::{InputKind, ParseError};

/// The dumps of one moment, joined: the analysed dump, what was joined to it,
/// and notes from joining.
pub struct Moment<'a> {
    /// The analysed input's name.
    pub name: &'a str,
    /// Earlier dumps of the same kind, in time order: snapshots before `dump`'s.
    pub earlier: Vec<Dump<'a>>,
    /// The analysed dump; its last snapshot has the backtraces and owners joined.
    pub dump: Dump<'a>,
    /// The kinds of input joined to it (`gdb`, `owners`), for the heading.
    pub joined: Vec<&'static str>,
    /// What joining found worth saying.
    pub notes: Vec<String>,
    /// Inputs that match nothing of the dump they were joined to.
    pub mismatches: Vec<String>,
    /// The addresses whose owners were looked up.
    pub looked_up: Vec<u64>,
}

impl<'a> Moment<'a> {
    /// Every snapshot of the series, in time order: the earlier dumps', then this one's.
    pub fn snapshots(&self) -> Vec<&Snapshot<'a>> {
        self.earlier
            .iter()
            .flat_map(|d| &d.snapshots)
            .chain(&self.dump.snapshots)
            .collect()
    }
}

/// The kinds that can be analysed, richest first: the richest present is
/// analysed, and the others joined to it.
const RICHEST_FIRST: [InputKind; 3] = [
    InputKind::CoreShowLocks,
    InputKind::CoredumperLocks,
    InputKind::Gdb,
];

/// Join the inputs into one moment.
pub fn join_inputs(inputs: &[Input]) -> Result<Moment<'_>, Failure> {
    let (mut dumps, mut notes) = parse_dumps(inputs)?;
    for input in inputs.iter().filter(|i| i.cut > 0) {
        notes.push(format!("{}:{}", input.name, cut_note(input.cut)));
    }
    let Some(primary_kind) = RICHEST_FIRST
        .into_iter()
        .find(|k| dumps.iter().any(|(i, _)| i.kind == *k))
    else {
        return Err(Failure("no lock dump among the inputs".to_string()));
    };
    let same = dumps.iter().filter(|(i, _)| i.kind == primary_kind).count();
    // The last input of the primary kind is the moment; the others came before it.
    let Some(primary_at) = dumps.iter().rposition(|(i, _)| i.kind == primary_kind) else {
        return Err(Failure("no lock dump among the inputs".to_string()));
    };
    if same > 1 {
        notes.push(format!(
            "{same} {} inputs read as snapshots in time order; the last ({}) is the one reported in detail",
            primary_kind.label(),
            dumps[primary_at].0.name
        ));
    }
    let backtraces = if primary_kind == InputKind::Gdb {
        None
    } else {
        dumps
            .iter_mut()
            .rev()
            .find(|(i, _)| i.kind == InputKind::Gdb)
            .and_then(|(_, d)| d.snapshots.pop())
    };
    let (primary, mut dump) = dumps.remove(primary_at);
    let earlier: Vec<Dump<'_>> = dumps
        .into_iter()
        .filter(|(i, _)| i.kind == primary_kind)
        .map(|(_, d)| d)
        .collect();

    let mut joined = Vec::new();
    let mut mismatches = Vec::new();
    let mut owners_found = Vec::new();
    if let Some(bt) = backtraces {
        owners_found.extend(owners::from_locals(&bt));
        notes.extend(attach_backtraces(&mut dump, bt, &mut mismatches));
        joined.push("gdb");
    }
    if primary_kind == InputKind::Gdb {
        if let Some(s) = dump.snapshots.last() {
            owners_found.extend(owners::from_locals(s));
        }
    }
    let given = read_owners(inputs, &mut notes)?;
    if let Some(s) = dump.snapshots.last() {
        mismatches.extend(owners_mismatch(s, &given));
    }
    owners_found.extend(given);
    if !owners_found.is_empty() {
        if let Some(s) = dump.snapshots.last_mut() {
            for n in ast_locks_parse::join::apply_owners(s, &owners_found) {
                notes.push(n.message);
            }
        }
        joined.push("owners");
    }
    let looked_up = owners_found.iter().map(|o| o.addr).collect();
    Ok(Moment {
        name: &primary.name,
        earlier,
        dump,
        joined,
        notes,
        mismatches,
        looked_up,
    })
}

/// Parse every input but the owner look-ups: a file that is not a dump is a
/// mistake worth stopping on, except an ast_coredumper table that holds only its
/// header (its gdb macro failed), which is a note. Returns the dumps in input
/// order and the notes.
#[allow(clippy::type_complexity)]
fn parse_dumps(inputs: &[Input]) -> Result<(Vec<(&Input, Dump<'_>)>, Vec<String>), Failure> {
    let mut dumps = Vec::new();
    let mut header_only = Vec::new();
    for input in inputs.iter().filter(|i| i.kind != InputKind::Owners) {
        match ast_locks_parse::parse_kind(&input.bytes, input.kind) {
            Ok(d) => dumps.push((input, d)),
            Err(e @ ParseError::HeaderOnly { .. }) => {
                header_only.push(format!("{}: {e}", input.name))
            }
            Err(e) => {
                return Err(Failure(format!(
                    "{}: {e}{}",
                    input.name,
                    cut_note(input.cut)
                )))
            }
        }
    }
    if dumps.is_empty() {
        return Err(Failure(match header_only.pop() {
            Some(msg) => msg,
            None => "no lock dump among the inputs, only owner look-ups: give the backtraces they belong to".to_string(),
        }));
    }
    Ok((dumps, header_only))
}

/// Attach each thread's stack of `bt` to the dump's last snapshot, by LWP.
/// Backtraces that match no thread of the dump are a mismatch.
fn attach_backtraces<'a>(
    dump: &mut Dump<'a>,
    bt: Snapshot<'a>,
    mismatches: &mut Vec<String>,
) -> Option<String> {
    let s = dump.snapshots.last_mut()?;
    let stacks = bt.threads.len();
    let matched = ast_locks_parse::join::attach_stacks(s, bt);
    if matched == 0 && stacks > 0 && !s.threads.is_empty() {
        mismatches.push(format!(
            "none of the {stacks} backtraces matches a thread of the dump by LWP or id: backtraces of another process or moment?"
        ));
    }
    Some(format!(
        "backtraces attached to {matched} of {} threads (matched by LWP)",
        s.threads.len()
    ))
}

/// Owner look-ups given with `--owners` that name no lock of the snapshot, or
/// only owners that are none of its threads.
fn owners_mismatch(s: &Snapshot<'_>, given: &[Owner]) -> Option<String> {
    if given.is_empty() {
        return None;
    }
    let locks: std::collections::HashSet<u64> = s
        .threads
        .iter()
        .flat_map(|t| &t.entries)
        .filter_map(|e| e.address())
        .collect();
    let named = given.iter().filter(|o| locks.contains(&o.addr)).count();
    if named == 0 {
        return Some(if given.len() == 1 {
            "the owner look-up names no lock of the dump: a look-up of another process or core?"
                .to_string()
        } else {
            format!(
                "none of the {} owner look-ups names a lock of the dump: look-ups of another process or core?",
                given.len()
            )
        });
    }
    let lwps: std::collections::HashSet<u64> = s.threads.iter().filter_map(|t| t.lwp).collect();
    let owned = given
        .iter()
        .filter(|o| o.lwp != 0 && locks.contains(&o.addr));
    let (mut owners, mut strangers) = (0, 0);
    for o in owned {
        owners += 1;
        if !lwps.contains(&o.lwp) {
            strangers += 1;
        }
    }
    (owners > 0 && strangers == owners && !lwps.is_empty()).then(|| {
        format!(
            "none of the {owners} owners gdb named (by LWP) is a thread of the dump: look-ups of another process or core?"
        )
    })
}

/// The owners in the owner look-up inputs. Finding none in a file the user gave
/// is an error; in gdb's own answer during a capture, a note.
fn read_owners(inputs: &[Input], notes: &mut Vec<String>) -> Result<Vec<Owner>, Failure> {
    let mut all = Vec::new();
    for input in inputs.iter().filter(|i| i.kind == InputKind::Owners) {
        let found = owners::parse(&String::from_utf8_lossy(&input.bytes));
        if found.is_empty() && !input.given {
            notes.push(format!(
                "{}: gdb printed no owner (no memory at those addresses?)",
                input.name
            ));
        } else if found.is_empty() {
            return Err(Failure(format!(
                "{}: no owner look-up found: expected gdb `x/3dw ADDR` lines (`0x7f…: 2 1 12345`) or `p *(pthread_mutex_t *) ADDR` output",
                input.name
            )));
        }
        all.extend(found);
    }
    Ok(all)
}
