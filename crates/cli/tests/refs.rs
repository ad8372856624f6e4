//! `ast-locks refs` through the real binary: golden outputs of the shared real
//! logs in every format (`AST_LOCKS_BLESS=1` rewrites them), the truth files'
//! addresses and culprits in the JSON, exit statuses, gzip and standard input,
//! refcounter.py's layout next to refcounter.py's own output, `--history`, and
//! what must never happen (overwriting the log, a panic on hostile input).

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const LOGS: [&str; 4] = [
    "R1-clean",
    "R2-leak",
    "R2-leak-core-stop-now",
    "R4-over-release",
];

fn log(name: &str) -> String {
    format!("testdata/refs/22.0.0/{name}/refs")
}

struct Run {
    stdout: Vec<u8>,
    stderr: String,
    code: i32,
}

fn refs(args: &[&str]) -> Run {
    refs_with_input(args, None)
}

fn refs_with_input(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ast-locks"))
        .current_dir(root())
        .arg("refs")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }
    let out = child.wait_with_output().expect("binary ends");
    Run {
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

fn json(name: &str) -> Value {
    let run = refs(&["-f", "json", &log(name)]);
    serde_json::from_slice(&run.stdout).expect("JSON")
}

fn truth(name: &str) -> Value {
    let text =
        std::fs::read_to_string(root().join(format!("testdata/refs/22.0.0/{name}/truth.json")))
            .expect("truth");
    serde_json::from_str(&text).expect("truth JSON")
}

fn strings(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// (format, golden extension)
const FORMATS: [(&str, &str); 8] = [
    ("text", "txt"),
    ("markdown", "md"),
    ("html", "html"),
    ("json", "json"),
    ("refcounter", "refcounter.txt"),
    ("dot", "dot"),
    ("svg", "svg"),
    ("mermaid", "mmd"),
];

#[test]
fn golden_outputs_of_the_real_logs_in_every_format() {
    let bless = std::env::var_os("AST_LOCKS_BLESS").is_some_and(|v| v != "0");
    let mut failures = Vec::new();
    for name in LOGS {
        for (format, ext) in FORMATS {
            let run = refs(&["--color", "never", "-f", format, &log(name)]);
            assert!(
                matches!(run.code, 0 | 1),
                "{name} {format}: exit {} {}",
                run.code,
                run.stderr
            );
            let golden = root().join(format!("testdata/golden/refs/22.0.0/{name}.{ext}"));
            if bless {
                std::fs::create_dir_all(golden.parent().expect("parent")).expect("mkdir");
                std::fs::write(&golden, &run.stdout).expect("write");
                continue;
            }
            match std::fs::read(&golden) {
                Ok(want) if want == run.stdout => {}
                Ok(_) => failures.push(format!(
                    "{} differs (review, then AST_LOCKS_BLESS=1)",
                    golden.display()
                )),
                Err(_) => {
                    failures.push(format!("missing {} (AST_LOCKS_BLESS=1)", golden.display()))
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_json_names_the_truth_leaks_with_their_culprits() {
    for name in ["R2-leak", "R2-leak-core-stop-now"] {
        let j = json(name);
        let t = truth(name);
        let anomalies = t["intentional_anomalies"].as_array().expect("anomalies");
        let want: Vec<String> = {
            let mut v: Vec<String> = anomalies
                .iter()
                .map(|a| a["addr"].as_str().unwrap().to_string())
                .collect();
            v.sort();
            v
        };
        let leaked = j["leaked"].as_array().expect("leaked");
        let mut got: Vec<String> = leaked
            .iter()
            .map(|l| l["addr"].as_str().unwrap().to_string())
            .collect();
        got.sort();
        assert_eq!(got, want, "{name}");
        for a in anomalies {
            let l = leaked
                .iter()
                .find(|l| l["addr"] == a["addr"])
                .expect("leak");
            let site = |e: &Value| {
                format!(
                    "{}:{}:{}",
                    e["file"].as_str().unwrap(),
                    e["line"],
                    e["function"].as_str().unwrap()
                )
            };
            assert_eq!(site(&l["allocated"]), a["alloc_site"].as_str().unwrap());
            assert_eq!(l["allocated"]["tag"], a["alloc_tag"]);
            let unreleased = l["unreleased"].as_array().expect("unreleased");
            assert_eq!(unreleased.len(), 1);
            assert_eq!(site(&unreleased[0]), a["culprit_site"].as_str().unwrap());
            assert_eq!(
                unreleased[0]["tag"].as_str().unwrap(),
                a.get("culprit_tag").and_then(Value::as_str).unwrap_or("")
            );
            assert_eq!(
                l["refs_left"].to_string(),
                a["final_refcount"].as_str().unwrap()
            );
        }
        let by_site = j["unreleased_sites"].as_array().expect("unreleased_sites");
        assert_eq!(by_site[0]["function"], "r2_leak_site_a");
        assert_eq!(by_site[0]["objects"], 2);
        assert_eq!(by_site[1]["function"], "r2_leak_site_b");
        assert_eq!(j["schema_version"], 1);
        assert_eq!(j["input"]["format"], "csv");
        assert_eq!(j["input"]["lines"], t["refs_file"]["lines"]);
    }
}

#[test]
fn the_json_says_how_asterisk_was_stopped_and_sets_apart_what_only_a_graceful_stop_releases() {
    let j = json("R2-leak-core-stop-now");
    let t = truth("R2-leak-core-stop-now");
    assert_eq!(j["graceful_stop"], false);
    let fp = &t["false_positive_leaks"];
    assert_eq!(
        j["shutdown_leaks"].as_array().unwrap().len() as u64,
        fp["count_open_at_eof_not_intentional"].as_u64().unwrap()
    );
    let apart: Vec<String> = j["shutdown_leaks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["addr"].as_str().unwrap().to_string())
        .collect();
    for key in [
        "module_objects_held_until_unload_open_at_eof",
        "module_containers_released_at_unload_open_at_eof",
    ] {
        for a in strings(&fp[key]) {
            assert!(apart.contains(&a), "{a}");
        }
    }
    for name in ["R1-clean", "R2-leak", "R4-over-release"] {
        assert_eq!(json(name)["graceful_stop"], true, "{name}");
    }
    let text = String::from_utf8(refs(&[&log("R2-leak-core-stop-now")]).stdout).unwrap();
    let first_screen: Vec<&str> = text.lines().take(4).collect();
    assert!(
        first_screen.iter().any(|l| l
            .starts_with("Asterisk was not stopped with `core stop gracefully`")
            && l.contains(
                "601 of the 604 objects alive at the end are objects only a graceful stop releases"
            )),
        "{first_screen:#?}"
    );
}

#[test]
fn the_json_names_the_release_that_freed_an_object_used_after_free() {
    let j = json("R4-over-release");
    let t = truth("R4-over-release");
    let invalid = j["invalid"].as_array().expect("invalid");
    assert_eq!(invalid.len(), 3);
    for a in t["intentional_anomalies"].as_array().unwrap() {
        let i = invalid
            .iter()
            .find(|i| i["addr"] == a["addr"])
            .expect("reported");
        let v = &a["verified_against_refs"];
        assert_eq!(i["at"]["line_no"], v["invalid_line_no"]);
        match a["kind"].as_str().unwrap() {
            "over_release_use_after_free" => {
                assert_eq!(i["kind"], "use-after-free");
                assert_eq!(
                    i["destroyed_at"]["line_no"],
                    v["previous_lifetime_of_address"]["destructor_line"]
                );
            }
            _ => {
                assert_eq!(i["kind"], "below-zero");
                assert!(i["destroyed_at"].is_null());
                assert_eq!(i["at"]["delta"], -2);
            }
        }
    }
}

#[test]
fn exit_status_follows_fail_on() {
    assert_eq!(refs(&[&log("R1-clean")]).code, 0);
    assert_eq!(refs(&[&log("R2-leak")]).code, 1);
    assert_eq!(refs(&["--fail-on", "invalid", &log("R2-leak")]).code, 0);
    assert_eq!(refs(&[&log("R4-over-release")]).code, 1);
    assert_eq!(
        refs(&["--fail-on", "leak", &log("R4-over-release")]).code,
        0
    );
    // Only the shutdown objects and the leaks: without `shutdown`, the leaks still count.
    assert_eq!(
        refs(&["--fail-on", "shutdown", &log("R2-leak-core-stop-now")]).code,
        1
    );
    assert_eq!(
        refs(&["--fail-on", "skewed", &log("R2-leak-core-stop-now")]).code,
        0
    );
    let missing = refs(&["testdata/refs/no-such-file"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .contains("testdata/refs/no-such-file: cannot read"),
        "{}",
        missing.stderr
    );
    let not_refs = refs(&["testdata/asterisk-22.0.0-s1-abba/core-show-locks.txt"]);
    assert_eq!(not_refs.code, 2);
    assert!(
        not_refs.stderr.contains("not a refs log"),
        "{}",
        not_refs.stderr
    );
    assert!(
        not_refs.stderr.contains("it begins:"),
        "{}",
        not_refs.stderr
    );
}

#[test]
fn gzip_and_standard_input_read_as_the_file() {
    let path = log("R2-leak");
    let plain = refs(&["-f", "json", &path]).stdout;
    let bytes = std::fs::read(root().join(&path)).unwrap();
    let piped = refs_with_input(&["-f", "json", "-"], Some(&bytes)).stdout;
    let normalise = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .replace("<stdin>", &path)
            .replace(".gz", "")
    };
    assert_eq!(normalise(&piped), normalise(&plain));
    let dir = tempdir("gz");
    let gz = dir.join("refs.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&bytes).unwrap();
    enc.finish().unwrap();
    let from_gz = refs(&["-f", "json", gz.to_str().unwrap()]).stdout;
    let from_gz = String::from_utf8_lossy(&from_gz).replace(gz.to_str().unwrap(), &path);
    assert_eq!(from_gz, normalise(&plain));
    let gz_stdin = refs_with_input(&["-f", "json"], Some(&std::fs::read(&gz).unwrap())).stdout;
    assert_eq!(normalise(&gz_stdin), normalise(&plain));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_truncated_gzip_is_read_as_far_as_it_goes_and_said() {
    let bytes = std::fs::read(root().join(log("R1-clean"))).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&bytes).unwrap();
    let gz = enc.finish().unwrap();
    let cut = &gz[..gz.len() / 2];
    let run = refs_with_input(&["-f", "json"], Some(cut));
    assert!(matches!(run.code, 0 | 1), "{}", run.stderr);
    let j: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert!(j["input"]["read_error"].is_string(), "{j}");
    assert_eq!(
        j["leaked"].as_array().unwrap().len(),
        0,
        "a cut log is not a leaking log"
    );
}

#[test]
fn the_refcounter_layout_has_refcounter_sections_and_the_same_objects() {
    for name in ["R2-leak", "R4-over-release"] {
        let ours = String::from_utf8(refs(&["-f", "refcounter", &log(name)]).stdout).unwrap();
        let theirs = std::fs::read_to_string(
            root().join(format!("testdata/refs/22.0.0/{name}/refcounter-output.txt")),
        )
        .unwrap();
        let headers = |s: &str| {
            let mut h: Vec<String> = s
                .lines()
                .filter(|l| l.starts_with("===="))
                .map(str::to_string)
                .collect();
            h.sort();
            h
        };
        assert_eq!(headers(&ours), headers(&theirs), "{name}");
    }
    // refcounter shows only the late release of a use after free; the layout
    // here also shows the release that freed the object.
    let r4 =
        String::from_utf8(refs(&["-f", "refcounter", &log("R4-over-release")]).stdout).unwrap();
    assert!(r4.contains("[28975] res_refs_demo.c:471 r4_over_release: -1 r4a owner A releases again (BUG) - [**destructor**]"), "{r4}");
    assert!(!r4.contains("implied destructor"));
    // Leaked histories are printed as refcounter prints them.
    let r2 = String::from_utf8(refs(&["-f", "refcounter", &log("R2-leak")]).stdout).unwrap();
    let theirs =
        std::fs::read_to_string(root().join("testdata/refs/22.0.0/R2-leak/refcounter-output.txt"))
            .unwrap();
    for line in theirs.lines().filter(|l| l.starts_with('[')) {
        assert!(r2.contains(line), "{line}");
    }
}

#[test]
fn history_prints_every_lifetime_at_an_address() {
    let run = refs(&["--history", "0x55a4e94e99e0", &log("R4-over-release")]);
    let text = String::from_utf8(run.stdout).unwrap();
    assert!(text.starts_with("0x55a4e94e99e0: "), "{text}");
    assert!(text.contains("line 9022 [28975] -1 res_refs_demo.c:471 r4_over_release `r4a owner A releases again (BUG)` (destructor)"), "{text}");
    assert!(text.contains("invalid lines at this address"), "{text}");
    assert!(text.contains("line 9023"), "{text}");
    let j: Value = serde_json::from_slice(
        &refs(&[
            "--history",
            "55a4e94e99e0",
            "-f",
            "json",
            &log("R4-over-release"),
        ])
        .stdout,
    )
    .unwrap();
    let lifetimes = j["history"]["lifetimes"].as_array().expect("lifetimes");
    assert!(!lifetimes.is_empty());
    assert!(lifetimes.iter().any(|l| l["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["line_no"] == 9022)));
    let bad = refs(&["--history", "zz", &log("R4-over-release")]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("is not an address"), "{}", bad.stderr);
}

#[test]
fn output_never_overwrites_the_log() {
    let dir = tempdir("overwrite");
    let copy = dir.join("refs.txt");
    std::fs::copy(root().join(log("R2-leak")), &copy).unwrap();
    let before = std::fs::read(&copy).unwrap();
    let run = refs(&[copy.to_str().unwrap(), "-o", copy.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("is an input"), "{}", run.stderr);
    assert_eq!(std::fs::read(&copy).unwrap(), before);
    // -o writes the file and says the verdict on standard error.
    let md = dir.join("report.md");
    let run = refs(&[copy.to_str().unwrap(), "-o", md.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("LEAKS: 3 objects from 1 allocation site"),
        "{}",
        run.stderr
    );
    assert!(std::fs::read_to_string(&md)
        .unwrap()
        .starts_with("## ast-locks refs: LEAKS"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_dot_leak_map_is_read_by_graphviz() {
    let run = refs(&["-f", "dot", &log("R2-leak")]);
    let dot = String::from_utf8(run.stdout).unwrap();
    assert!(dot.contains("-> u"), "{dot}");
    let Ok(mut child) = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    else {
        panic!("Graphviz `dot` is needed by this test (.ci/run installs it)");
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(dot.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("<svg"));
}

#[test]
fn hostile_inputs_end_with_warnings_not_panics() {
    // Binary garbage.
    let junk: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let run = refs_with_input(&["-f", "json"], Some(&junk));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("not a refs log"));
    // One huge line in the middle of a real log.
    let mut log_bytes = std::fs::read(root().join(log("R1-clean"))).unwrap();
    let mid = log_bytes.len() / 2;
    let cut = log_bytes[..mid].iter().rposition(|&b| b == b'\n').unwrap() + 1;
    let mut huge = log_bytes[..cut].to_vec();
    huge.extend(std::iter::repeat_n(b'x', 20 << 20));
    huge.push(b'\n');
    huge.extend_from_slice(&log_bytes[cut..]);
    let run = refs_with_input(&["-f", "json"], Some(&huge));
    let j: Value = serde_json::from_slice(&run.stdout).expect("JSON");
    assert_eq!(j["input"]["warnings_total"], 1);
    assert!(j["input"]["warnings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("20971520 bytes long"));
    assert_eq!(j["leaked"].as_array().unwrap().len(), 0);
    assert_eq!(run.code, 0);
    // Ten million empty lines.
    log_bytes.extend(std::iter::repeat_n(b'\n', 10_000_000));
    let run = refs_with_input(&["-f", "json"], Some(&log_bytes));
    let j: Value = serde_json::from_slice(&run.stdout).expect("JSON");
    assert_eq!(j["input"]["empty_lines"], 10_000_000);
    assert_eq!(j["verdict"], "CLEAN: all 1,688 objects released");
}

#[test]
fn help_shows_the_refs_examples() {
    let out = Command::new(env!("CARGO_BIN_EXE_ast-locks"))
        .args(["refs", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("ast-locks refs /var/log/asterisk/refs"),
        "{help}"
    );
    assert!(help.contains("--history <ADDR>"));
    assert!(help.contains("--fail-on"));
}

fn tempdir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ast-locks-refs-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
