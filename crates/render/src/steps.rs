//! What to do next about each finding, said the same way by every report:
//! a deadlock names the code sites that take its locks in opposite orders and
//! what to attach to a ticket; a stalled holder says how to get its backtrace.
//! (What to do when the input cannot decide is [`Report::undetermined_steps`].)

use crate::{Report, Step};
use ast_locks_model::InputFormat;

/// A lock a thread holds, as the report tables show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The lock (index into the analysis's locks).
    pub lock: usize,
    /// `file:line function()` where it was taken; none when the input does
    /// not say (gdb's owner look-ups).
    pub taken_at: Option<String>,
    /// How long it has been held, as the dump prints it (21+ timings).
    pub held_for: Option<String>,
}

impl Report<'_, '_> {
    /// The next steps for deadlock `d` (an index into the analysis's deadlocks).
    pub fn deadlock_steps(&self, d: usize) -> Vec<Step> {
        let Some(dl) = self.analysis.deadlocks.get(d) else {
            return Vec::new();
        };
        let mut steps = Vec::new();
        if let [alone] = dl.threads[..] {
            steps.push(self.relock_step(alone));
        } else {
            steps.push(self.opposite_order_step(&dl.cycle, &dl.cycle_locks));
        }
        steps.push(self.ticket_step());
        steps
    }

    /// The next step for a stalled holder: its backtrace says what it does
    /// while it keeps the lock, and a second snapshot tells stuck from slow.
    pub fn holder_steps(&self, h: usize) -> Vec<Step> {
        let who = self.thread_label(h);
        if self.format == InputFormat::Gdb {
            return vec![Step::say(&format!(
                "{who} holds what the others wait for: its own backtrace (in the input) shows what \
                 it does instead of unlocking; a second capture a few seconds later tells a stuck \
                 holder from a slow one"
            ))];
        }
        vec![Step {
            facts: Vec::new(),
            say: format!(
                "Get the backtrace of {who} to see what it does while it keeps the lock, and \
                 take a second dump a few seconds later (a holder still there is stuck, not slow):"
            ),
            commands: vec![
                "ast-locks capture --pid $(pidof asterisk) --save-to evidence/".to_string(),
                "asterisk -rx 'core show locks' > second.txt".to_string(),
                format!("ast-locks {} second.txt", self.file_arg()),
            ],
        }]
    }

    /// The next step for lock-order cycles: nothing is stuck yet, but the two
    /// code paths deadlock when they run at once.
    pub fn potential_steps(&self) -> Vec<Step> {
        if self.potential.is_empty() {
            return Vec::new();
        }
        vec![Step::say(
            "These code paths take the same locks in opposite orders: they deadlock the day they \
             run at the same moment. Choose one order and make the other path follow it (or take \
             the second lock with a trylock and back off); the sites above are where to look",
        )]
    }

    /// A thread that waits for a lock it holds: the second lock is the bug.
    fn relock_step(&self, t: usize) -> Step {
        let site = self
            .wait_site(t)
            .map(|s| format!(" at {s}"))
            .unwrap_or_default();
        Step::say(&format!(
            "The lock is taken a second time{site} by the thread that holds it: unlock it before \
             that call, or make the caller skip the lock when it already holds it"
        ))
    }

    /// Each cycle member's held lock and where it took it, then the lock it
    /// asks for and where: the opposite orders a fix must make one.
    fn opposite_order_step(&self, cycle: &[usize], cycle_locks: &[usize]) -> Step {
        let n = cycle.len();
        let mut facts = Vec::new();
        for (i, &t) in cycle.iter().enumerate() {
            // What the previous member waits for is what this one holds.
            let (Some(&held), Some(&wanted)) =
                (cycle_locks.get((i + n - 1) % n), cycle_locks.get(i))
            else {
                continue;
            };
            let taken = self
                .taken_site(t, held)
                .map(|s| format!(" at {s}"))
                .unwrap_or_else(|| " (where: see its backtrace)".to_string());
            let asks = self
                .wait_site(t)
                .map(|s| format!(" at {s}"))
                .unwrap_or_default();
            facts.push(format!(
                "{}: took {}{taken}, then asks for {}{asks}",
                self.thread_label(t),
                self.lock_text(held),
                self.lock_text(wanted)
            ));
        }
        Step {
            say: "The locks are taken in opposite orders here; make these code paths take them in \
                  one order (or take the second with a trylock and back off):"
                .to_string(),
            facts,
            commands: Vec::new(),
        }
    }

    /// What a bug marshal needs beside this report.
    fn ticket_step(&self) -> Step {
        let file = self.file_arg();
        if self.format == InputFormat::Gdb {
            return Step {
                facts: Vec::new(),
                say: "For a ticket, attach the backtraces as a file and this report:".to_string(),
                commands: vec![format!("ast-locks {file} -o report.md")],
            };
        }
        Step {
            facts: Vec::new(),
            say: "For a ticket, attach the dump as a file, this report, and every thread's backtrace \
                  of the same moment:"
                .to_string(),
            commands: vec![
                format!("ast-locks {file} -o report.md"),
                "ast-locks capture --pid $(pidof asterisk) --save-to evidence/".to_string(),
            ],
        }
    }

    /// The locks thread `t` holds, with where it took each and for how long
    /// (first entry per lock, in entry order): the rows of the report tables.
    pub fn held(&self, t: usize) -> Vec<Held> {
        let mut out: Vec<Held> = Vec::new();
        let thread = &self.snapshot.threads[t];
        for (e, &lock) in thread.entries.iter().zip(self.analysis.entry_locks(t)) {
            if e.is_holding() && !out.iter().any(|h| h.lock == lock) {
                out.push(Held {
                    lock,
                    taken_at: (!e.location.file.is_empty()).then(|| e.location.to_string()),
                    held_for: e.timing.as_ref().map(|x| x.held_for().text.to_string()),
                });
            }
        }
        out
    }

    /// Where thread `t` took `lock`, when the input says.
    fn taken_site(&self, t: usize, lock: usize) -> Option<String> {
        let thread = &self.snapshot.threads[t];
        thread
            .entries
            .iter()
            .zip(self.analysis.entry_locks(t))
            .find(|(e, &l)| l == lock && e.is_holding() && !e.location.file.is_empty())
            .map(|(e, _)| e.location.to_string())
    }
}
