//! `cargo bench -p ast-locks --bench refs` (part of `just bench`): `ast-locks refs`
//! end to end on synthetic refs logs of the real shape (`ast-locks-synth refs`:
//! about 84 bytes a line and 4 lines an object, objects of many threads in
//! flight, addresses reused as malloc reuses them, late lines after destructors,
//! a few leaks), next to `wc -l` and refcounter.py `-n` on the same cached file,
//! run in turn (A B A B …) so that a slower moment of the machine slows both;
//! the ratios are the medians of each round's own ratio, so that the machine's
//! drift over the run does not enter them. Prints a Markdown table for
//! docs/performance.md.
//!
//! - `AST_LOCKS_REFS_BENCH_MB=100,500,2048` chooses the sizes (MiB);
//! - `REFCOUNTER=/path/to/refcounter.py` adds refcounter.py (Asterisk's
//!   `contrib/scripts/refcounter.py`; not part of this project);
//! - `AST_LOCKS_REFS_BENCH_ROUNDS=5` the runs per figure (the median is shown).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn binary() -> PathBuf {
    // target/release/deps/refs-… → target/release/ast-locks
    let exe = std::env::current_exe().expect("bench path");
    exe.parent()
        .and_then(Path::parent)
        .map(|d| d.join("ast-locks"))
        .expect("target dir")
}

/// Wall time of one run; `None` when the program cannot run.
fn time(program: &Path, args: &[&str]) -> Option<Duration> {
    let t = Instant::now();
    let status = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    (status.code().is_some_and(|c| c <= 5)).then(|| t.elapsed())
}

fn median(mut v: Vec<Duration>) -> Option<Duration> {
    v.sort();
    v.get(v.len() / 2).copied()
}

/// The kernel's peak resident size of one `ast-locks refs` run, in KiB.
fn peak_kib(file: &str) -> Option<u64> {
    let out = Command::new(binary())
        .env("AST_LOCKS_PEAK_MEMORY", "1")
        .args(["refs", "-q", "-f", "json", file])
        .output()
        .ok()?;
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err.lines().find(|l| l.contains("peak memory"))?;
    line.split_whitespace().rev().nth(1)?.parse().ok()
}

fn main() {
    let sizes: Vec<u64> = std::env::var("AST_LOCKS_REFS_BENCH_MB")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100, 500, 2048]);
    let rounds: usize = std::env::var("AST_LOCKS_REFS_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let refcounter = std::env::var_os("REFCOUNTER").map(PathBuf::from);
    let dir = std::env::temp_dir().join("ast-locks-bench");
    std::fs::create_dir_all(&dir).expect("temp dir");
    println!("| log | lines | objects | ast-locks refs s | ast-locks MB/s | `wc -l` s | ast-locks ÷ wc | refcounter.py -n s | refcounter ÷ ast-locks | peak RSS MiB | leaks found / made |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for mb in sizes {
        let file = dir.join(format!("refs-{mb}m.log"));
        let spec = ast_locks_synth::refs::RefsSpec {
            bytes: mb << 20,
            leaks: 20,
            seed: 7,
        };
        let made = {
            let f = std::fs::File::create(&file).expect("create");
            let mut w = std::io::BufWriter::new(f);
            let made = ast_locks_synth::refs::write(&spec, &mut w).expect("write");
            std::io::Write::flush(&mut w).expect("flush");
            made
        };
        let path = file.to_str().expect("utf8 path");
        // Warm the page cache, and check the report.
        let out = Command::new(binary())
            .args(["refs", "-q", "-f", "json", path])
            .output()
            .expect("ast-locks runs");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let found = json["leaked"].as_array().map_or(0, Vec::len);
        let (mut ours, mut wc, mut theirs) = (Vec::new(), Vec::new(), Vec::new());
        let (mut over_wc, mut over_ours) = (Vec::new(), Vec::new());
        for i in 0..rounds {
            let o = time(&binary(), &["refs", "-q", "-f", "json", path]);
            let w = time(Path::new("wc"), &["-l", path]);
            // refcounter.py is slow: three runs are enough.
            let t = refcounter.as_ref().filter(|_| i < 3).and_then(|rc| {
                time(
                    Path::new("python3"),
                    &[rc.to_str().unwrap_or(""), "-f", path, "-n"],
                )
            });
            if let Some(o) = o {
                over_wc.extend(w.map(|w| o.as_secs_f64() / w.as_secs_f64()));
                over_ours.extend(t.map(|t| t.as_secs_f64() / o.as_secs_f64()));
            }
            ours.extend(o);
            wc.extend(w);
            theirs.extend(t);
        }
        let secs = |d: Option<Duration>| {
            d.map_or("n/a".to_string(), |d| format!("{:.3}", d.as_secs_f64()))
        };
        let (o, w, t) = (median(ours), median(wc), median(theirs));
        let ratio = |mut r: Vec<f64>| {
            r.sort_by(f64::total_cmp);
            r.get(r.len() / 2)
                .map_or("n/a".to_string(), |r| format!("{r:.1}×"))
        };
        let rate = o.map_or("n/a".to_string(), |d| {
            format!("{:.0}", made.bytes as f64 / 1e6 / d.as_secs_f64())
        });
        let peak =
            peak_kib(path).map_or("n/a".to_string(), |k| format!("{:.0}", k as f64 / 1024.0));
        println!(
            "| {:.0} MB | {} | {} | {} | {rate} | {} | {} | {} | {} | {peak} | {found} / {} |",
            made.bytes as f64 / 1e6,
            made.lines,
            made.objects,
            secs(o),
            secs(w),
            ratio(over_wc),
            secs(t),
            ratio(over_ours),
            made.leaked.len(),
        );
        let _ = std::fs::remove_file(&file);
    }
}
