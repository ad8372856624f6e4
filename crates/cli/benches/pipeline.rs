//! `cargo bench -p ast-locks` (or `just bench`): parse, analyse and render synthetic
//! `core show locks` dumps of 1k and 10k threads, reported as MB/s and threads/s.
//!
//! The dumps come from `ast-locks-synth` with a fixed seed: holders with 1–3 locks,
//! convoys of waiters, a few 2-cycles, 6–14 BETTER_BACKTRACES frames per entry.

use ast_locks_analysis::{analyze, Options};
use ast_locks_render::view::{View, ViewOptions};
use ast_locks_render::{dot, json, text, Report};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn synthetic(threads: usize, seed: u64) -> Vec<u8> {
    let spec = ast_locks_synth::Spec {
        threads,
        cycles: vec![2; threads / 100],
        convoys: vec![10; threads / 100],
        seed,
    };
    ast_locks_synth::dump(&spec, ast_locks_model::Generation::V21Plus)
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
