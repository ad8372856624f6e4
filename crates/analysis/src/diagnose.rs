//! The whole diagnosis of one input, as every renderer needs it: the analysis of
//! each snapshot, what the series says, stalls, lock-order cycles that did not
//! deadlock, and failed trylocks.
//!
//! ```
//! use ast_locks_analysis::diagnose::{diagnose, DiagnoseOptions};
//! use ast_locks_model::{LockEntry, LockKind, LockState, Snapshot, Thread};
//!
//! let mut a = Thread::new("0xa");
//! a.entries.push(LockEntry::new(0, LockState::Held, LockKind::Mutex, "0x1"));
//! a.entries.push(LockEntry::new(1, LockState::Waiting, LockKind::Mutex, "0x2"));
//! let mut b = Thread::new("0xb");
//! b.entries.push(LockEntry::new(0, LockState::Held, LockKind::Mutex, "0x2"));
//! b.entries.push(LockEntry::new(1, LockState::Waiting, LockKind::Mutex, "0x1"));
//! let snapshot = Snapshot { threads: vec![a, b], ..Snapshot::default() };
//!
//! let d = diagnose(&[&snapshot], &DiagnoseOptions::default()).unwrap();
//! assert_eq!(d.analysis().deadlocks.len(), 1);
//! assert!(d.series.is_none());
//! ```

use crate::lockorder::{PotentialDeadlock, Suppression};
use crate::series::{self, Series, Stall, Trylock};
use crate::verdict::{verdict, Verdict};
use crate::{analyze_series, Analysis, Options};
use ast_locks_model::Snapshot;

/// What to diagnose and how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiagnoseOptions {
    /// Lock semantics for the waits-for analysis.
    pub analysis: Options,
    /// Which snapshot to report in detail, 0-based. Default: the last.
    pub snapshot: Option<usize>,
    /// Lock-order pairs not to report as potential deadlocks.
    pub suppress: Vec<Suppression>,
    /// Holders of an awaited lock held longer than this (microseconds) are
    /// stalls. Default 0: every timed holder of an awaited lock.
    pub stall_after_micros: u64,
    /// The snapshots were taken apart in time (by `watch`), so identical ones
    /// are distinct moments, not one pasted twice. Default: `false`.
    pub taken_apart: bool,
}

/// Why there is nothing to diagnose.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiagnoseError {
    /// The input held no snapshot at all.
    #[error("no snapshot found")]
    NoSnapshot,
    /// The snapshot asked for is not in the input.
    #[error("snapshot {asked} was asked for: the input holds {count} snapshot{}", if *.count == 1 { "" } else { "s" })]
    NoSuchSnapshot {
        /// The snapshot asked for, 1-based as the user gives it.
        asked: usize,
        /// How many there are.
        count: usize,
    },
}

/// Everything the renderers draw from, beside the snapshot itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// How many snapshots the input held.
    pub snapshots: usize,
    /// The snapshot reported in detail (0-based, of all the input's snapshots).
    pub index: usize,
    /// The snapshots read as the series (0-based, in time order): those of the
    /// reported snapshot's process, one of each run of identical snapshots.
    pub members: Vec<usize>,
    /// The analysis of every member, in the order of `members`.
    pub analyses: Vec<Analysis>,
    /// What the members say together, when there are several.
    pub series: Option<Series>,
    /// Why snapshots were left out of the series (the same moment pasted
    /// twice, dumps of another process), for the first screen.
    pub series_notes: Vec<String>,
    /// Holders of awaited locks held longer than the threshold, longest first.
    pub stalls: Vec<Stall>,
    /// The awaited lock held longest, whatever the threshold (21+ timings).
    pub longest_held: Option<Stall>,
    /// Lock-order cycles of any snapshot, less those that did deadlock (those
    /// are reported as the deadlock).
    pub potential: Vec<PotentialDeadlock>,
    /// Failed trylocks of the reported snapshot; suspect when they fail in every
    /// snapshot up to it.
    pub trylocks: Vec<Trylock>,
    /// The verdict on the reported snapshot.
    pub verdict: Verdict,
}

impl Diagnosis {
    /// The analysis of the snapshot reported in detail.
    pub fn analysis(&self) -> &Analysis {
        let at = self
            .members
            .iter()
            .position(|&m| m == self.index)
            .unwrap_or_default();
        &self.analyses[at]
    }
}

/// Diagnose the snapshots of an input, in time order: the chosen one in detail,
/// and, with it, the series of its process.
pub fn diagnose(
    snapshots: &[&Snapshot<'_>],
    options: &DiagnoseOptions,
) -> Result<Diagnosis, DiagnoseError> {
    let index = chosen_snapshot(snapshots.len(), options.snapshot)?;
    let (members, series_notes) = members(snapshots, index, options.taken_apart);
    let series_of: Vec<&Snapshot<'_>> = members.iter().map(|&m| snapshots[m]).collect();
    let (analyses, potential) = analyze_series(&series_of, &options.analysis, &options.suppress);
    let at = members.iter().position(|&m| m == index).unwrap_or_default();
    let snapshot = snapshots[index];
    let analysis = &analyses[at];
    let series = (series_of.len() > 1).then(|| {
        let refs: Vec<&Analysis> = analyses.iter().collect();
        series::series(&series_of, &refs)
    });
    let stalls = series::stalls(snapshot, analysis, options.stall_after_micros);
    let longest_held = series::longest_held(snapshot, analysis);
    let potential = not_deadlocked(potential, &series_of, &analyses);
    let mut trylocks = series::trylocks(snapshot);
    series::mark_repeated_trylocks(&series_of[..=at], &mut trylocks);
    let verdict = verdict(snapshot, analysis, &options.analysis);
    Ok(Diagnosis {
        snapshots: snapshots.len(),
        index,
        members,
        analyses,
        series,
        series_notes,
        stalls,
        longest_held,
        potential,
        trylocks,
        verdict,
    })
}

/// The snapshots that make the series of snapshot `index`: a snapshot identical
/// to the one before it (clocks included) is the same moment pasted twice and
/// counts once; a snapshot that cannot be of the same process as the one before
/// it (another version, a clock that goes back, no thread in common) starts
/// another series. Returns the members, in order, and what was said of the rest.
fn members(
    snapshots: &[&Snapshot<'_>],
    index: usize,
    taken_apart: bool,
) -> (Vec<usize>, Vec<String>) {
    let mut notes = Vec::new();
    // One of each run of identical snapshots: the chosen one, else the last.
    let mut kept: Vec<usize> = Vec::new();
    let mut run_start = 0;
    for i in 0..snapshots.len() {
        let same_as_last = !taken_apart
            && kept
                .last()
                .is_some_and(|&k| same_moment(snapshots[k], snapshots[i]));
        if same_as_last {
            let k = kept.len() - 1;
            if kept[k] != index {
                kept[k] = i;
            }
            continue;
        }
        if !kept.is_empty() && run_start + 1 < i {
            notes.push(identical_note(run_start, i - 1));
        }
        run_start = i;
        kept.push(i);
    }
    if snapshots.len() > 1 && run_start + 1 < snapshots.len() {
        notes.push(identical_note(run_start, snapshots.len() - 1));
    }
    // The run of one process that holds the chosen snapshot.
    let mut runs: Vec<Vec<usize>> = Vec::new();
    for (w, &k) in kept.iter().enumerate() {
        let why = (w > 0)
            .then(|| other_process(snapshots[kept[w - 1]], snapshots[k]))
            .flatten();
        match (runs.last_mut(), why) {
            (Some(run), None) => run.push(k),
            (_, why) => {
                if let Some(why) = why {
                    notes.push(format!(
                        "snapshots {} and {} are not of one process ({why}): not read as one series",
                        kept[w - 1] + 1,
                        k + 1
                    ));
                }
                runs.push(vec![k]);
            }
        }
    }
    let members = runs
        .iter()
        .find(|run| run.contains(&index))
        .cloned()
        .unwrap_or_else(|| vec![index]);
    if runs.len() > 1 {
        notes.push(match members.as_slice() {
            [one] => format!(
                "snapshot {} is reported alone (--snapshot N reports another)",
                one + 1
            ),
            [first, second] => format!(
                "snapshots {} and {} are read as the series (--snapshot N reports another)",
                first + 1,
                second + 1
            ),
            many => format!(
                "snapshots {} to {} are read as the series (--snapshot N reports another)",
                many[0] + 1,
                many[many.len() - 1] + 1
            ),
        });
    }
    (members, notes)
}

fn identical_note(first: usize, last: usize) -> String {
    let which = if last == first + 1 {
        format!("snapshots {} and {}", first + 1, last + 1)
    } else {
        format!("snapshots {} to {}", first + 1, last + 1)
    };
    format!(
        "{which} are identical, clocks and all: one moment pasted more than once, read as one (a freeze shows in dumps taken apart in time)"
    )
}

/// Why snapshot `b` cannot follow `a` in one process, if it cannot.
fn other_process(a: &Snapshot<'_>, b: &Snapshot<'_>) -> Option<String> {
    if let (Some(va), Some(vb)) = (&a.version, &b.version) {
        if va != vb {
            return Some(format!("Asterisk {va}, then {vb}"));
        }
    }
    if let (Some(ta), Some(tb)) = (
        a.time.as_deref().and_then(clock_micros),
        b.time.as_deref().and_then(clock_micros),
    ) {
        if tb < ta {
            return Some(format!(
                "the clock goes back from {} to {}",
                a.time.as_deref().unwrap_or_default(),
                b.time.as_deref().unwrap_or_default()
            ));
        }
    }
    // Threads come and go between dumps of one process, but its locks stay where
    // they are (globals, long-lived objects); a new process has new addresses.
    if a.threads.is_empty() || b.threads.is_empty() {
        return None;
    }
    let key = |t: &ast_locks_model::Thread<'_>| (t.id.to_string(), t.lwp);
    let threads: std::collections::HashSet<_> = a.threads.iter().map(key).collect();
    let locks: std::collections::HashSet<&str> = a
        .threads
        .iter()
        .flat_map(|t| &t.entries)
        .map(|e| e.addr.as_ref())
        .collect();
    let shared = b.threads.iter().any(|t| {
        threads.contains(&key(t)) || t.entries.iter().any(|e| locks.contains(e.addr.as_ref()))
    });
    (!shared).then(|| "no thread and no lock in common".to_string())
}

/// `H:MM:SS.uuuuuu` (any number of hour digits) in microseconds.
fn clock_micros(t: &str) -> Option<u64> {
    let mut parts = t.trim().splitn(3, ':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    let (secs, micros) = s.split_once('.').unwrap_or((s, "0"));
    let h: u64 = h.parse().ok()?;
    let m: u64 = m.parse().ok()?;
    let secs: u64 = secs.parse().ok()?;
    let micros: u64 = micros.parse().ok()?;
    h.checked_mul(3600)?
        .checked_add(m * 60 + secs)?
        .checked_mul(1_000_000)?
        .checked_add(micros)
}

/// The same dump, line numbers aside.
fn same_moment(a: &Snapshot<'_>, b: &Snapshot<'_>) -> bool {
    a.version == b.version
        && a.time == b.time
        && a.threads.len() == b.threads.len()
        && a.threads.iter().zip(&b.threads).all(|(x, y)| {
            x.id == y.id
                && x.lwp == y.lwp
                && x.name == y.name
                && x.entries.len() == y.entries.len()
                && x.entries
                    .iter()
                    .zip(&y.entries)
                    .all(|(e, f)| unlined(e) == unlined(f))
        })
}

fn unlined<'a>(e: &ast_locks_model::LockEntry<'a>) -> ast_locks_model::LockEntry<'a> {
    let mut e = e.clone();
    e.line = 0;
    e
}

/// The 0-based index of the snapshot to report.
fn chosen_snapshot(count: usize, asked: Option<usize>) -> Result<usize, DiagnoseError> {
    match asked {
        _ if count == 0 => Err(DiagnoseError::NoSnapshot),
        None => Ok(count - 1),
        Some(i) if i < count => Ok(i),
        Some(i) => Err(DiagnoseError::NoSuchSnapshot {
            asked: i.saturating_add(1),
            count,
        }),
    }
}

/// Lock-order cycles that did not deadlock in any snapshot: one that did is
/// reported as the deadlock.
fn not_deadlocked(
    potential: Vec<PotentialDeadlock>,
    snapshots: &[&Snapshot<'_>],
    analyses: &[Analysis],
) -> Vec<PotentialDeadlock> {
    let deadlocked: Vec<Vec<&str>> = snapshots
        .iter()
        .zip(analyses)
        .flat_map(|(s, a)| {
            a.deadlocks.iter().map(move |d| {
                let mut locks: Vec<&str> = d.locks.iter().map(|&l| a.lock_label(s, l).1).collect();
                locks.sort_unstable();
                locks
            })
        })
        .collect();
    potential
        .into_iter()
        .filter(|p| {
            let mut addrs: Vec<&str> = p.addresses.iter().map(String::as_str).collect();
            addrs.sort_unstable();
            addrs.is_empty() || !deadlocked.contains(&addrs)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reported_snapshot_is_the_last_unless_one_is_asked_for() {
        let rows: &[(usize, Option<usize>, Result<usize, DiagnoseError>)] = &[
            (3, None, Ok(2)),
            (3, Some(0), Ok(0)),
            (3, Some(2), Ok(2)),
            (
                3,
                Some(3),
                Err(DiagnoseError::NoSuchSnapshot { asked: 4, count: 3 }),
            ),
            (0, None, Err(DiagnoseError::NoSnapshot)),
            (0, Some(0), Err(DiagnoseError::NoSnapshot)),
        ];
        for (count, asked, want) in rows {
            assert_eq!(&chosen_snapshot(*count, *asked), want, "{count} {asked:?}");
        }
        assert_eq!(
            DiagnoseError::NoSuchSnapshot { asked: 2, count: 1 }.to_string(),
            "snapshot 2 was asked for: the input holds 1 snapshot"
        );
    }

    fn snapshot(
        version: &str,
        time: Option<&'static str>,
        threads: &[(&'static str, &'static str)],
    ) -> Snapshot<'static> {
        use ast_locks_model::{LockEntry, LockKind, LockState, Thread};
        Snapshot {
            version: Some(version.to_string().into()),
            time: time.map(Into::into),
            threads: threads
                .iter()
                .map(|&(id, lock)| {
                    let mut t = Thread::new(id);
                    t.entries
                        .push(LockEntry::new(0, LockState::Held, LockKind::Mutex, lock));
                    t
                })
                .collect(),
            ..Snapshot::default()
        }
    }

    #[test]
    fn a_series_is_one_process_over_time() {
        let a = snapshot("18.9.0", None, &[("0x1", "0x10")]);
        let mut a_again = a.clone();
        a_again.threads[0].line = 40; // the same dump further down the file
        let b = snapshot("18.9.0", None, &[("0x2", "0x10")]); // other thread, same lock
        let other = snapshot("22.0.0", None, &[("0x1", "0x10")]);
        let stranger = snapshot("18.9.0", None, &[("0x9", "0x90")]);
        let late = snapshot("22.0.0", Some("10:00:00.000000"), &[("0x1", "0x10")]);
        let early = snapshot("22.0.0", Some("09:00:00.000000"), &[("0x1", "0x10")]);
        // (snapshots, chosen, members, notes that must appear)
        type Row<'r> = (Vec<&'r Snapshot<'r>>, usize, Vec<usize>, &'r [&'r str]);
        let rows: &[Row<'_>] = &[
            (vec![&a, &b], 1, vec![0, 1], &[]),
            (
                vec![&a, &a_again],
                1,
                vec![1],
                &["snapshots 1 and 2 are identical"],
            ),
            (
                vec![&a, &a_again, &a],
                0,
                vec![0],
                &["snapshots 1 to 3 are identical"],
            ),
            (
                vec![&a, &a_again, &b],
                2,
                vec![1, 2],
                &["snapshots 1 and 2 are identical"],
            ),
            (
                vec![&a, &other],
                1,
                vec![1],
                &[
                    "(Asterisk 18.9.0, then 22.0.0)",
                    "snapshot 2 is reported alone",
                ],
            ),
            (
                vec![&a, &b, &other],
                0,
                vec![0, 1],
                &["snapshots 1 and 2 are read as the series"],
            ),
            (
                vec![&a, &stranger],
                1,
                vec![1],
                &["no thread and no lock in common"],
            ),
            (
                vec![&late, &early],
                1,
                vec![1],
                &["the clock goes back from 10:00:00.000000 to 09:00:00.000000"],
            ),
            (vec![&early, &late], 1, vec![0, 1], &[]),
        ];
        for (snaps, chosen, want, notes) in rows {
            let (members, said) = members(snaps, *chosen, false);
            assert_eq!(&members, want, "{said:?}");
            for n in *notes {
                assert!(said.iter().any(|s| s.contains(n)), "{n}: {said:?}");
            }
            if notes.is_empty() {
                assert!(said.is_empty(), "{said:?}");
            }
        }
    }
}
