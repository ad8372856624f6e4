//! The shared real logs against their truth files, and the lifetime rules of
//! REFS-FORMAT §4 on small hand-written logs.

use super::*;
use serde_json::Value;

fn dir(name: &str) -> String {
    format!(
        "{}/../../testdata/refs/22.0.0/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn diagnose_bytes(log: &[u8], threads: usize) -> RefsDiagnosis {
    let opts = RefsOptions {
        threads,
        ..RefsOptions::default()
    };
    diagnose_refs(log, ast_locks_parse::refs::GRAMMAR, &opts).expect("a refs log")
}

fn real(name: &str) -> (RefsDiagnosis, Value) {
    let log = std::fs::read(format!("{}/refs", dir(name))).expect("log");
    let truth = std::fs::read_to_string(format!("{}/truth.json", dir(name))).expect("truth");
    (
        diagnose_bytes(&log, 2),
        serde_json::from_str(&truth).expect("json"),
    )
}

fn addrs(v: &Value) -> Vec<u64> {
    let mut out: Vec<u64> = v
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|a| a.as_str())
        .filter_map(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).ok())
        .collect();
    out.sort_unstable();
    out
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

/// `res_refs_demo.c:356:r2_leak_site_a` → (file, line, function).
fn site(s: &str) -> (String, u32, String) {
    let mut p = s.split(':');
    let file = p.next().unwrap_or_default().to_string();
    let line = p.next().and_then(|l| l.parse().ok()).unwrap_or(0);
    (file, line, p.next().unwrap_or_default().to_string())
}

fn site_of(e: &RefEvent) -> (String, u32, String) {
    (e.file.clone(), e.line, e.function.clone())
}

#[test]
fn every_truth_leak_is_reported_with_its_allocation_and_culprit_site() {
    for name in ["R2-leak", "R2-leak-core-stop-now"] {
        let (d, truth) = real(name);
        let expected = &truth["intentional_anomalies"];
        let leaked: Vec<u64> = d.leaks.iter().map(|l| l.addr).collect();
        let truth_addrs: Vec<Value> = expected
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["addr"].clone())
            .collect();
        assert_eq!(sorted(leaked), addrs(&Value::Array(truth_addrs)), "{name}");
        for anomaly in expected.as_array().unwrap() {
            let addr = u64::from_str_radix(
                anomaly["addr"].as_str().unwrap().trim_start_matches("0x"),
                16,
            )
            .unwrap();
            let leak = d.leaks.iter().find(|l| l.addr == addr).expect("leak");
            assert_eq!(
                site_of(&leak.allocated),
                site(anomaly["alloc_site"].as_str().unwrap()),
                "{name}"
            );
            assert_eq!(leak.allocated.tag, anomaly["alloc_tag"].as_str().unwrap());
            assert_eq!(leak.unreleased.len(), 1, "{name} {addr:#x}");
            let culprit = &leak.unreleased[0].event;
            assert_eq!(
                site_of(culprit),
                site(anomaly["culprit_site"].as_str().unwrap()),
                "{name}"
            );
            let tag = anomaly
                .get("culprit_tag")
                .and_then(Value::as_str)
                .unwrap_or("");
            assert_eq!(culprit.tag, tag, "{name}");
            assert_eq!(
                leak.refs_left.to_string(),
                anomaly["final_refcount"].as_str().unwrap()
            );
            let history = &anomaly["verified_against_refs"];
            assert_eq!(
                leak.allocated.line_no,
                history["constructor_line_no"].as_u64().unwrap()
            );
        }
        // Two objects from site A, one from site B: two groups, one allocation site.
        assert_eq!(d.leak_sites.len(), 2, "{name}");
        assert_eq!(d.leak_sites[0].leaks.len(), 2);
        assert_eq!(d.leak_allocation_sites(), 1);
    }
}

#[test]
fn a_stop_without_cleanups_is_told_and_its_objects_set_apart() {
    let (d, truth) = real("R2-leak-core-stop-now");
    let fp = &truth["false_positive_leaks"];
    assert_eq!(d.graceful.known, Some(false));
    assert_eq!(
        d.shutdown_leaks.len() as u64,
        fp["count_open_at_eof_not_intentional"].as_u64().unwrap()
    );
    assert_eq!(
        d.counts.alive_at_end,
        truth["counts"]["objects_open_at_eof (alive at end of log)"]
            .as_u64()
            .unwrap()
    );
    let shutdown: Vec<u64> = d.shutdown_leaks.iter().map(|l| l.addr).collect();
    for key in [
        "module_objects_held_until_unload_open_at_eof",
        "module_containers_released_at_unload_open_at_eof",
    ] {
        for a in addrs(&fp[key]) {
            assert!(
                shutdown.contains(&a),
                "{a:#x} ({key}) should be apart from the leaks"
            );
        }
    }
    for name in ["R1-clean", "R2-leak", "R4-over-release"] {
        assert_eq!(real(name).0.graceful.known, Some(true), "{name}");
    }
}

#[test]
fn use_after_free_names_the_release_that_freed_and_below_zero_is_kept_apart() {
    let (d, truth) = real("R4-over-release");
    assert!(d.leaks.is_empty() && d.skewed.is_empty());
    for anomaly in truth["intentional_anomalies"].as_array().unwrap() {
        let addr = u64::from_str_radix(
            anomaly["addr"].as_str().unwrap().trim_start_matches("0x"),
            16,
        )
        .unwrap();
        let found = d.invalid.iter().find(|i| i.addr == addr).expect("invalid");
        let v = &anomaly["verified_against_refs"];
        assert_eq!(found.at.line_no, v["invalid_line_no"].as_u64().unwrap());
        assert_eq!(
            site_of(found.allocated.as_ref().unwrap()),
            site(anomaly["alloc_site"].as_str().unwrap())
        );
        match anomaly["kind"].as_str().unwrap() {
            "over_release_use_after_free" => {
                assert_eq!(found.kind, InvalidKind::UseAfterFree);
                let freed = found
                    .destroyed_at
                    .as_ref()
                    .expect("the release that freed it");
                let previous = &v["previous_lifetime_of_address"];
                assert_eq!(freed.line_no, previous["destructor_line"].as_u64().unwrap());
                assert_eq!(
                    site_of(&found.at),
                    site(anomaly["invalid_site"].as_str().unwrap())
                );
            }
            "over_release_negative_refcount" => {
                assert_eq!(found.kind, InvalidKind::BelowZero);
                assert!(found.destroyed_at.is_none());
                assert_eq!(
                    site_of(&found.at),
                    site(anomaly["culprit_site"].as_str().unwrap())
                );
            }
            other => panic!("unexpected kind {other}"),
        }
    }
    assert_eq!(d.invalid.len(), 3);
}

#[test]
fn a_clean_log_is_clean_on_any_number_of_workers() {
    let log = std::fs::read(format!("{}/refs", dir("R1-clean"))).unwrap();
    for threads in [1, 2, 3, 7] {
        let d = diagnose_bytes(&log, threads);
        assert_eq!(
            d.verdict(),
            "CLEAN: all 1,688 objects released",
            "{threads}"
        );
        assert_eq!(d.counts.finished, 1688);
        assert!(d.findings().is_empty());
    }
}

const CTOR: &str = "**constructor**24**40**";
const DTOR: &str = "**destructor**lock-state:none**";

fn line(addr: &str, delta: &str, tid: u32, site: &str, state: &str, tag: &str) -> String {
    let (file, l, func) = self::site(site);
    format!("{addr},{delta},{tid},{file},{l},{func},{state},{tag}\n")
}

#[test]
fn a_late_line_after_the_destructor_belongs_to_the_freed_object() {
    // §4.1: thread 2's -1 (2 -> 1) is written after thread 1's final -1.
    let log = [
        line("0xa", "+1", 1, "a.c:1:make", CTOR, "make"),
        line("0xa", "+1", 2, "b.c:2:take", "1", "take"),
        line("0xa", "-1", 1, "a.c:3:drop", DTOR, "drop"),
        line("0xa", "-1", 2, "b.c:4:give", "2", "late"),
    ]
    .concat();
    let d = diagnose_bytes(log.as_bytes(), 1);
    assert!(d.findings().is_empty(), "{}", d.verdict());
    assert_eq!((d.counts.finished, d.counts.unbalanced), (1, 0));
}

#[test]
fn a_constructor_before_the_previous_destructor_starts_a_second_lifetime() {
    // §4.3: the chunk was freed and handed out again before the destructor line.
    let log = [
        line("0xa", "+1", 1, "a.c:1:make", CTOR, "first"),
        line("0xa", "+1", 2, "a.c:1:make", CTOR, "second"),
        line("0xa", "+1", 2, "b.c:2:use", "1", "use second"),
        line("0xa", "-1", 1, "a.c:3:drop", DTOR, "first freed"),
        line("0xa", "-1", 2, "b.c:4:unuse", "2", "second used"),
    ]
    .concat();
    let d = diagnose_bytes(log.as_bytes(), 1);
    assert_eq!(d.leaks.len(), 1, "{}", d.verdict());
    assert_eq!(d.leaks[0].allocated.tag, "second");
    assert_eq!(d.leaks[0].refs_left, 1);
    assert!(d.leaks[0].unreleased.iter().all(|u| u.event.line_no == 2));
    assert_eq!(d.counts.finished, 1);
}

#[test]
fn a_log_whose_start_is_missing_gives_skewed_objects_not_leaks() {
    let log = [
        line("0xa", "+1", 1, "a.c:5:use", "3", "use"),
        line("0xb", "-1", 1, "a.c:6:drop", "2", "drop"),
        line("0xb", "-1", 1, "a.c:7:drop", DTOR, "drop"),
    ]
    .concat();
    let d = diagnose_bytes(log.as_bytes(), 1);
    assert!(d.leaks.is_empty());
    assert_eq!(d.skewed.len(), 1);
    assert_eq!((d.skewed[0].addr, d.skewed[0].count_at_start), (0xa, 4));
    assert_eq!(d.counts.skewed_finished, 1);
    assert_eq!(d.graceful.known, None);
}

#[test]
fn damaged_lines_are_warnings_with_their_numbers_and_the_rest_is_read() {
    let log = [
        line("0xa", "+1", 1, "a.c:1:make", CTOR, "make"),
        "0xa,-1,1,a.c,2\n".to_string(),
        "\u{0}\u{1}binary\n".to_string(),
        "\n".to_string(),
        line("0xb", "+1", 1, "a.c:1:make", CTOR, "make"),
        line("0xb", "-1", 1, "a.c:3:drop", DTOR, "drop"),
    ]
    .concat();
    let d = diagnose_bytes(log.as_bytes(), 2);
    assert_eq!(d.input.warnings_total, 2);
    assert_eq!(d.input.warnings[0].0, 2);
    assert_eq!(d.input.warnings[1].0, 3);
    assert_eq!(d.input.empty_lines, 1);
    assert_eq!(d.leaks.len(), 1);
    assert_eq!(d.leaks[0].addr, 0xa);
}

#[test]
fn nothing_readable_is_an_error_that_quotes_the_input() {
    let err = diagnose_refs(
        &b"hello\nworld\n"[..],
        ast_locks_parse::refs::GRAMMAR,
        &RefsOptions::default(),
    )
    .expect_err("not a refs log");
    assert!(
        err.to_string().contains("it begins: hello / world"),
        "{err}"
    );
    let empty = diagnose_refs(
        &b""[..],
        ast_locks_parse::refs::GRAMMAR,
        &RefsOptions::default(),
    )
    .expect_err("empty");
    assert!(empty.to_string().contains("the input is empty"), "{empty}");
}

#[test]
fn members_of_a_leaked_container_are_shown_under_it() {
    let c = "**constructor**64**136**";
    let log = [
        line(
            "0xc",
            "+1",
            1,
            "res_x.c:10:load",
            c,
            "__ao2_container_alloc_hash",
        ),
        line("0xm", "+1", 1, "res_x.c:20:add", CTOR, "member"),
        line(
            "0xm",
            "+1",
            1,
            "res_x.c:21:add",
            "1",
            "Container node creation",
        ),
        line("0xm", "-1", 1, "res_x.c:22:add", "2", "creator done"),
        // An iteration of the container hands the member out.
        line(
            "0xc",
            "+1",
            1,
            "astobj2_container.c:492:ao2_iterator_init",
            "1",
            "Init iterator with container.",
        ),
        line(
            "0xm",
            "+1",
            1,
            "res_x.c:30:show",
            "1",
            "Next iterator object.",
        ),
        line("0xm", "-1", 1, "res_x.c:31:show", "2", ""),
        line(
            "0xc",
            "-1",
            1,
            "astobj2_container.c:540:ao2_iterator_destroy",
            "2",
            "Unref iterator in ao2_iterator_destroy",
        ),
    ]
    .concat()
    .replace("0xm", "0xd");
    let d = diagnose_bytes(log.as_bytes(), 2);
    assert_eq!(d.leaks.len(), 2);
    let member = d.leaks.iter().find(|l| l.addr == 0xd).unwrap();
    assert_eq!(member.held_by, Some(0xc));
    let container = d.leaks.iter().find(|l| l.addr == 0xc).unwrap();
    assert!(container.container);
    assert_eq!(
        d.leak_sites.len(),
        1,
        "the member is counted under its container"
    );
    assert_eq!(d.leak_sites[0].members, 1);
}
