//! `cargo bench -p ast-locks` (or `just bench`): parse, analyse and render synthetic
//! `core show locks` dumps of 1k and 10k threads, reported as MB/s and threads/s.
//!
//! The dumps are generated from a fixed seed: holders with 1–3 locks, convoys of
//! waiters behind some of them, a few 2-cycles, 6–14 BETTER_BACKTRACES frames per entry.

use ast_locks_analysis::{analyze, Options};
use ast_locks_model::{
    Clock, Frame, FrameShape, Generation, Location, LockEntry, LockKind, LockState, Snapshot,
    Thread, Timing,
};
use ast_locks_render::view::{View, ViewOptions};
use ast_locks_render::{dot, json, text, Report};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// A small deterministic generator (xorshift), so every run benches the same bytes.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn synthetic(threads: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut snap = Snapshot {
        generation: Some(Generation::V21Plus),
        ..Snapshot::default()
    };
    let funcs = [
        "ast_channel_callback",
        "__ast_read",
        "ast_hangup",
        "bridge_channel_depart",
        "pbx_exec",
        "ast_sip_session_suspend",
    ];
    let files = [
        "channel.c",
        "bridge.c",
        "pbx.c",
        "res_pjsip_session.c",
        "astobj2.c",
    ];
    let frame = |rng: &mut Rng| {
        let f = funcs[rng.below(funcs.len() as u64) as usize];
        let file = files[rng.below(files.len() as u64) as usize];
        let line = 100 + rng.below(9000) as u32;
        let addr = 0x55d0_0000_0000u64 + rng.below(1 << 24);
        Frame {
            raw: format!("[0x{addr:x}] asterisk {file}:{line} {f}()").into(),
            shape: FrameShape::Better,
            ..Frame::default()
        }
    };
    let lock_addr = |i: u64| format!("0x{:x}", 0x7f00_0000_0000u64 + i * 0x40);
    for i in 0..threads {
        let mut t = Thread::new(format!("0x{:x}", 0x7f10_0000_0000u64 + (i as u64) * 0x1000));
        t.lwp = Some(10_000 + i as u64);
        t.name = format!(
            "{:<20} started at [ 4781] pbx.c ast_pbx_start()",
            "pbx_thread"
        )
        .into();
        let held = 1 + rng.below(3);
        for k in 0..held {
            let backtrace = (0..6 + rng.below(9)).map(|_| frame(&mut rng)).collect();
            let e = entry(
                k as u32,
                LockState::Held,
                lock_addr(i as u64 * 4 + k),
                ("ast_hangup", 2612),
                backtrace,
            );
            t.entries.push(e);
        }
        // Every 50th thread pairs with the previous one in a 2-cycle; others wait in convoys.
        let wait = if i % 50 == 1 {
            Some((i as u64 - 1) * 4)
        } else if i % 50 == 0 && i + 1 < threads {
            Some((i as u64 + 1) * 4)
        } else if rng.below(3) == 0 {
            Some(rng.below(threads as u64 / 10 + 1) * 4 * 10)
        } else {
            None
        };
        if let Some(l) = wait {
            let backtrace = (0..6 + rng.below(9)).map(|_| frame(&mut rng)).collect();
            let mut e = entry(
                held as u32,
                LockState::Waiting,
                lock_addr(l),
                ("ast_channel_callback", 935),
                backtrace,
            );
            e.locked_here.push(Location {
                file: "channel.c".into(),
                line: 2612,
                function: "ast_hangup".into(),
            });
            t.entries.push(e);
        }
        snap.threads.push(t);
    }
    let mut out = Vec::new();
    ast_locks_render::dump::write(&mut out, &snap, Generation::V21Plus).expect("write to memory");
    out
}

/// A `&chan->lock` entry taken in `channel.c` at `(function, line)`, with 21+ timing.
fn entry(
    index: u32,
    state: LockState,
    addr: String,
    (function, line): (&'static str, u32),
    backtrace: Vec<Frame<'static>>,
) -> LockEntry<'static> {
    let mut e = LockEntry::new(index, state, LockKind::Mutex, addr);
    e.name = "&chan->lock".into();
    e.location = Location {
        file: "channel.c".into(),
        line,
        function: function.into(),
    };
    e.times_locked = Some(1);
    e.attempts = Some(1);
    e.timing = Some(Timing {
        last_locked: Clock::from_micros(1),
        last_failed: Clock::from_micros(0),
        held_for: Clock::from_micros(2),
    });
    e.backtrace = backtrace;
    e
}

/// Best of `rounds` runs of `f` (the least disturbed measurement).
fn best(rounds: usize, mut f: impl FnMut()) -> Duration {
    (0..rounds)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    println!(
        "{:>8} {:>9} {:>12} {:>12} {:>12} {:>10} {:>10} {:>10}",
        "threads", "MB", "parse MB/s", "parse+an MB/s", "threads/s", "text ms", "json ms", "dot ms"
    );
    for threads in [1_000usize, 10_000] {
        let input = synthetic(threads, 0x5eed);
        let mb = input.len() as f64 / 1e6;
        let rounds = if threads <= 1_000 { 20 } else { 5 };
        let parse = best(rounds, || {
            black_box(ast_locks_parse::parse(black_box(&input)).expect("parses"));
        });
        let both = best(rounds, || {
            let d = ast_locks_parse::parse(black_box(&input)).expect("parses");
            black_box(analyze(&d.snapshots[0], &Options::default()));
        });
        let dump = ast_locks_parse::parse(&input).expect("parses");
        let snap = &dump.snapshots[0];
        let analysis = analyze(snap, &Options::default());
        let report = Report::new(snap, &analysis, &dump.warnings);
        let render = |w: &dyn Fn(&mut Vec<u8>)| {
            best(rounds, || {
                let mut out = Vec::new();
                w(&mut out);
                black_box(out);
            })
        };
        let t_text =
            render(&|o| text::write(o, &report, &text::TextOptions::default()).expect("text"));
        let t_json = render(&|o| json::write(o, &report).expect("json"));
        let t_dot = render(&|o| {
            let view = View::new(&report, &ViewOptions::default());
            dot::write(o, &view).expect("dot")
        });
        println!(
            "{:>8} {:>9.1} {:>12.0} {:>12.0} {:>12.0} {:>10.2} {:>10.2} {:>10.2}",
            threads,
            mb,
            mb / parse.as_secs_f64(),
            mb / both.as_secs_f64(),
            threads as f64 / both.as_secs_f64(),
            t_text.as_secs_f64() * 1e3,
            t_json.as_secs_f64() * 1e3,
            t_dot.as_secs_f64() * 1e3,
        );
    }
}
