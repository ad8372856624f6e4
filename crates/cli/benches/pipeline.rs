//! `cargo bench -p ast-locks --bench pipeline` (or `just bench`): parse, analyse
//! (the waits-for analysis and the lock-order pass, side by side as the binary
//! runs them) and render synthetic `core show locks` dumps of 1k, 10k and 100k threads, next to
//! `wc -l` and a minimal Python line scan of the same file, plus the end-to-end
//! and memory figures of docs/performance.md. Prints Markdown tables.
//!
//! The dumps come from `ast-locks-synth` with a fixed seed: holders with 1–3 locks,
//! two convoys and three cycles at every size, 6–14 BETTER_BACKTRACES frames per entry.
//! `AST_LOCKS_BENCH_SIZES=1000,10000` chooses the sizes.

use ast_locks_analysis::{analyze, analyze_series, lockorder, Options};
use ast_locks_render::view::{View, ViewOptions};
use ast_locks_render::{dot, json, svg, text, Report};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn synthetic(threads: usize) -> Vec<u8> {
    // Some cycles and some convoys, as many at every size: what grows is the
    // number of threads that hold locks nobody waits for.
    let spec = ast_locks_synth::Spec {
        threads,
        cycles: vec![2, 2, 3],
        convoys: vec![10, 25],
        seed: 7,
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

/// Best wall time of a command over `rounds` runs.
fn best_cmd(rounds: usize, program: &str, args: &[&str]) -> Option<Duration> {
    let mut times = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let out = Command::new(program).args(args).output().ok()?;
        if !out.status.success() && out.status.code() != Some(1) {
            return None;
        }
        times.push(t.elapsed());
    }
    times.into_iter().min()
}

fn binary() -> PathBuf {
    // target/release/deps/pipeline-… → target/release/ast-locks
    let exe = std::env::current_exe().expect("bench path");
    exe.parent()
        .and_then(Path::parent)
        .map(|d| d.join("ast-locks"))
        .expect("target dir")
}

fn peak_memory_kib(file: &Path) -> Option<u64> {
    let out = Command::new(binary())
        .env("AST_LOCKS_PEAK_MEMORY", "1")
        .args(["-f", "text"])
        .arg(file)
        .output()
        .ok()?;
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err.lines().find(|l| l.contains("peak memory"))?;
    line.split_whitespace().rev().nth(1)?.parse().ok()
}

const PY_SCAN: &str = "import sys\nn = 0\nfor line in open(sys.argv[1], 'rb'):\n    if line.startswith(b'=== Thread ID:'):\n        n += 1\nprint(n)\n";

fn main() {
    let sizes: Vec<usize> = std::env::var("AST_LOCKS_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000]);
    let dir = std::env::temp_dir().join("ast-locks-bench");
    std::fs::create_dir_all(&dir).expect("temp dir");
    println!("| threads | input MB | parse ms | analysis ms | lock order ms | parse MB/s | parse+analyse MB/s | parse+analyse threads/s | text ms | json ms | dot ms | `wc -l` MB/s | wc ÷ ast-locks | Python scan MB/s | ast-locks ÷ Python | peak memory ÷ input |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut svg_line = String::new();
    let mut e2e_line = String::new();
    for &threads in &sizes {
        let input = synthetic(threads);
        let file = dir.join(format!("synthetic-{threads}.txt"));
        std::fs::write(&file, &input).expect("write");
        let mb = input.len() as f64 / 1e6;
        let rounds = match threads {
            0..=2_000 => 30,
            2_001..=20_000 => 10,
            _ => 7,
        };
        let parse = best(rounds, || {
            black_box(ast_locks_parse::parse(black_box(&input)).expect("parses"));
        });
        let dump = ast_locks_parse::parse(&input).expect("parses");
        let snap = &dump.snapshots[0];
        let t_analyze = best(rounds, || {
            black_box(analyze(snap, &Options::default()));
        });
        let t_order = best(rounds, || {
            black_box(lockorder::potential_deadlocks(&[snap], &[]));
        });
        // What the binary does: parse, then the waits-for analysis and the
        // lock-order pass side by side.
        let both = best(rounds, || {
            let d = ast_locks_parse::parse(black_box(&input)).expect("parses");
            black_box(analyze_series(&[&d.snapshots[0]], &Options::default(), &[]));
        });
        let diagnosis = ast_locks_analysis::diagnose::diagnose(&[snap], &Default::default())
            .expect("one snapshot");
        let report = Report::diagnosed(snap, &diagnosis, &dump.warnings);
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
        let path = file.to_str().expect("utf8 path");
        let wc = best_cmd(5, "wc", &["-l", path]);
        let py = best_cmd(3, "python3", &["-c", PY_SCAN, path]);
        let peak = peak_memory_kib(&file);
        let rate = |d: Duration| mb / d.as_secs_f64();
        let cell = |x: Option<String>| x.unwrap_or_else(|| "n/a".to_string());
        println!(
            "| {threads} | {mb:.1} | {:.1} | {:.1} | {:.1} | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} | {} |",
            parse.as_secs_f64() * 1e3,
            t_analyze.as_secs_f64() * 1e3,
            t_order.as_secs_f64() * 1e3,
            rate(parse),
            rate(both),
            threads as f64 / both.as_secs_f64(),
            t_text.as_secs_f64() * 1e3,
            t_json.as_secs_f64() * 1e3,
            t_dot.as_secs_f64() * 1e3,
            cell(wc.map(|d| format!("{:.0}", rate(d)))),
            cell(wc.map(|d| format!("{:.1}×", both.as_secs_f64() / d.as_secs_f64()))),
            cell(py.map(|d| format!("{:.0}", rate(d)))),
            cell(py.map(|d| format!("{:.1}×", d.as_secs_f64() / both.as_secs_f64()))),
            cell(peak.map(|k| format!("{:.2}", k as f64 * 1024.0 / input.len() as f64))),
        );
        // Built-in SVG of the default (focused) picture: its cost must not grow with
        // the threads that are not drawn.
        let view = View::new(&report, &ViewOptions::default());
        let t_svg = best(3, || {
            let v = View::new(&report, &ViewOptions::default());
            black_box(svg::builtin(&v).expect("svg"));
        });
        svg_line.push_str(&format!(
            "| {threads} | {} | {:.1} |\n",
            view.nodes.len(),
            t_svg.as_secs_f64() * 1e3
        ));
        if let Some(d) = best_cmd(20, binary().to_str().expect("utf8"), &["-f", "text", path]) {
            e2e_line.push_str(&format!("| {threads} | {:.1} |\n", d.as_secs_f64() * 1e3));
        }
    }
    println!();
    println!("| threads | nodes in the default picture | built-in SVG ms (view + layout) |");
    println!("|---:|---:|---:|");
    print!("{svg_line}");
    println!();
    println!("| threads | `ast-locks -f text FILE` end to end, ms (best of 20) |");
    println!("|---:|---:|");
    print!("{e2e_line}");
}
