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
    /// How many snapshots were diagnosed.
    pub snapshots: usize,
    /// The snapshot reported in detail (0-based).
    pub index: usize,
    /// The analysis of every snapshot, in order.
    pub analyses: Vec<Analysis>,
    /// What the snapshots say together, when there are several.
    pub series: Option<Series>,
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
}

impl Diagnosis {
    /// The analysis of the snapshot reported in detail.
    pub fn analysis(&self) -> &Analysis {
        &self.analyses[self.index]
    }
}

/// Diagnose a series of snapshots of one process, in time order.
pub fn diagnose(
    snapshots: &[&Snapshot<'_>],
    options: &DiagnoseOptions,
) -> Result<Diagnosis, DiagnoseError> {
    let index = chosen_snapshot(snapshots.len(), options.snapshot)?;
    let (analyses, potential) = analyze_series(snapshots, &options.analysis, &options.suppress);
    let snapshot = snapshots[index];
    let analysis = &analyses[index];
    let series = (snapshots.len() > 1).then(|| {
        let refs: Vec<&Analysis> = analyses.iter().collect();
        series::series(snapshots, &refs)
    });
    let stalls = series::stalls(snapshot, analysis, options.stall_after_micros);
    let longest_held = series::longest_held(snapshot, analysis);
    let potential = not_deadlocked(potential, snapshots, &analyses);
    let mut trylocks = series::trylocks(snapshot);
    series::mark_repeated_trylocks(&snapshots[..=index], &mut trylocks);
    Ok(Diagnosis {
        snapshots: snapshots.len(),
        index,
        analyses,
        series,
        stalls,
        longest_held,
        potential,
        trylocks,
    })
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
}
