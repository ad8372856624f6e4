//! Deterministic synthetic `core show locks` dumps of any size, for benchmarks and
//! for tests that need more threads than a hand-written dump.
//!
//! The shape follows real dumps: most threads hold one to three channel locks and
//! wait for nothing; some form convoys behind a holder; a few form cycles. Every
//! entry carries 6–14 BETTER_BACKTRACES frames and, in 21+, a timing line.
//!
//! ```
//! let spec = ast_locks_synth::Spec { threads: 200, cycles: vec![2, 3], convoys: vec![5], seed: 1 };
//! let text = ast_locks_synth::dump(&spec, ast_locks_model::Generation::V21Plus);
//! assert!(String::from_utf8(text).unwrap().contains("=== Thread ID:"));
//! ```

pub mod refs;

use ast_locks_model::{
    Backtrace, Clock, Generation, Location, LockEntry, LockKind, LockState, Snapshot, Thread,
    Timing,
};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// Total number of threads. Default: 1000.
    pub threads: usize,
    /// One deadlock cycle per element, of that many threads. Default: none.
    pub cycles: Vec<usize>,
    /// One convoy per element: that many waiters behind one stalled holder. Default: none.
    pub convoys: Vec<usize>,
    /// Seed of the generator; the same spec gives the same bytes. Default: 1.
    pub seed: u64,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            threads: 1000,
            cycles: Vec::new(),
            convoys: Vec::new(),
            seed: 1,
        }
    }
}

/// A small xorshift generator: deterministic across platforms and runs.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

const FUNCS: [&str; 6] = [
    "ast_channel_callback",
    "__ast_read",
    "ast_hangup",
    "bridge_channel_depart",
    "pbx_exec",
    "ast_sip_session_suspend",
];
const FILES: [&str; 5] = [
    "channel.c",
    "bridge.c",
    "pbx.c",
    "res_pjsip_session.c",
    "astobj2.c",
];

fn frames(rng: &mut Rng) -> Backtrace<'static> {
    (0..6 + rng.below(9))
        .map(|_| {
            let f = FUNCS[rng.below(FUNCS.len() as u64) as usize];
            let file = FILES[rng.below(FILES.len() as u64) as usize];
            let line = 100 + rng.below(9000);
            let addr = 0x55d0_0000_0000u64 + rng.below(1 << 24);
            format!("[0x{addr:x}] asterisk {file}:{line} {f}()")
        })
        .collect()
}

fn entry(
    rng: &mut Rng,
    index: u32,
    state: LockState,
    lock: u64,
    at: (&'static str, u32),
) -> LockEntry<'static> {
    let mut e = LockEntry::new(
        index,
        state,
        LockKind::Mutex,
        format!("0x{:x}", 0x7f00_0000_0000u64 + lock * 0x40),
    );
    e.name = if lock % 7 == 0 {
        "&channels->lock".into()
    } else {
        "&chan->lock".into()
    };
    e.location = Location {
        file: "channel.c".into(),
        line: at.1,
        function: at.0.into(),
    };
    e.times_locked = Some(1);
    e.attempts = Some(1);
    e.timing = Some(Timing::new(
        Clock::from_micros(1_795_311_866_000_000 + rng.below(1_000_000)),
        Clock::from_micros(0),
        Clock::from_micros(rng.below(5_000_000)),
    ));
    e.backtrace = frames(rng);
    if state == LockState::Waiting {
        e.locked_here.push(Location {
            file: "channel.c".into(),
            line: 2612,
            function: "ast_hangup".into(),
        });
    }
    e
}

/// The snapshot a spec describes. Cycles come first in the dump order only if the
/// seed puts them there: special threads are spread through the dump.
pub fn snapshot(spec: &Spec) -> Snapshot<'static> {
    let mut rng = Rng(spec.seed.max(1));
    let n = spec.threads;
    // Lock ids: each thread i owns locks 4i..4i+3; cycles and convoys reuse them.
    let mut waits: Vec<Option<u64>> = vec![None; n];
    let mut special = vec![false; n];
    let mut next = 0usize;
    let mut take = |k: usize, special: &mut Vec<bool>| -> Option<Vec<usize>> {
        // Spread special threads: one every n / 64 positions or so.
        let stride = (n / 64).max(1);
        let mut out = Vec::new();
        while out.len() < k && next < n * 2 {
            let t = (next * stride + next / 64) % n;
            next += 1;
            if !special[t] {
                special[t] = true;
                out.push(t);
            }
        }
        (out.len() == k).then_some(out)
    };
    for &len in &spec.cycles {
        if let Some(members) = take(len.max(1), &mut special) {
            for (i, &t) in members.iter().enumerate() {
                let next_member = members[(i + 1) % members.len()];
                waits[t] = Some(next_member as u64 * 4);
            }
        }
    }
    for &len in &spec.convoys {
        if let Some(members) = take(len + 1, &mut special) {
            let holder = members[0];
            for &t in &members[1..] {
                waits[t] = Some(holder as u64 * 4);
            }
        }
    }
    let mut threads = Vec::with_capacity(n);
    for (i, wait) in waits.iter().enumerate() {
        let mut t = Thread::new(format!("0x{:x}", 0x7f10_0000_0000u64 + (i as u64) * 0x1000));
        t.lwp = Some(10_000 + i as u64);
        let routine = ["pbx_thread", "netconsole", "tps_processing_function"][i % 3];
        t.start = None;
        t.name = format!("{routine:<20} started at [ 4781] pbx.c ast_pbx_start()").into();
        let held = 1 + rng.below(3);
        for k in 0..held {
            let e = entry(
                &mut rng,
                k as u32,
                LockState::Held,
                i as u64 * 4 + k,
                ("ast_hangup", 2612),
            );
            t.entries.push(e);
        }
        if let Some(lock) = wait {
            let e = entry(
                &mut rng,
                held as u32,
                LockState::Waiting,
                *lock,
                ("ast_channel_callback", 935),
            );
            t.entries.push(e);
        }
        threads.push(t);
    }
    Snapshot {
        generation: Some(Generation::V21Plus),
        version: Some("22.0.0".into()),
        threads,
        ..Snapshot::default()
    }
}

/// The dump text of a spec, printed as `generation` prints it.
pub fn dump(spec: &Spec, generation: Generation) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = ast_locks_render::dump::write(&mut out, &snapshot(spec), generation);
    out
}
