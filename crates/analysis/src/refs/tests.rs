//! The shared real logs against their truth files, and the lifetime rules of
//! docs/refs.md ("Lifetimes, not addresses") on small hand-written logs.

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
    // Thread 2's -1 (2 -> 1) is written after thread 1's final -1.
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
    // The chunk was freed and handed out again before the destructor line.
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

mod generated {
    //! A generated history, interleaved at random, is reported with exactly
    //! the leaks and invalid references it was built with.
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Fate {
        Released,
        /// An extra `+1` at `res_leak.c:77 keep` that nobody releases.
        Leaked,
        /// Released once more after it was freed.
        UseAfterFree,
        /// Released by 2 while its count is 1: never freed.
        BelowZero,
    }

    #[derive(Debug, Clone)]
    struct Object {
        fate: Fate,
        creator: u32,
        /// (thread, site line) of each reference taken and released again.
        pairs: Vec<(u32, u32)>,
        /// The last pair's release is written after the destructor line.
        late: bool,
    }

    fn object() -> impl Strategy<Value = Object> {
        (
            prop_oneof![6 => Just(Fate::Released), 2 => Just(Fate::Leaked), 1 => Just(Fate::UseAfterFree), 1 => Just(Fate::BelowZero)],
            1u32..5,
            proptest::collection::vec((1u32..5, 10u32..20), 0..4),
            any::<bool>(),
        )
            .prop_map(|(fate, creator, pairs, late)| Object {
                fate,
                late: late && !pairs.is_empty() && fate == Fate::Released,
                creator,
                pairs,
            })
    }

    /// The lines of one object, in the order they are written.
    fn lines(addr: u64, o: &Object) -> Vec<String> {
        let at =
            |delta: &str, tid: u32, file: &str, line: u32, func: &str, state: &str, tag: &str| {
                format!("{addr:#x},{delta},{tid},{file},{line},{func},{state},{tag}")
            };
        let mut out = vec![at(
            "+1",
            o.creator,
            "res_gen.c",
            1,
            "make",
            "**constructor**24**16**",
            "made",
        )];
        if o.fate == Fate::BelowZero {
            out.push(at(
                "-2",
                o.creator,
                "res_gen.c",
                9,
                "drop_twice",
                "**invalid**",
                "by two",
            ));
            return out;
        }
        let mut count = 1;
        for (tid, line) in &o.pairs {
            out.push(at(
                "+1",
                *tid,
                "res_gen.c",
                *line,
                "use",
                &count.to_string(),
                "use",
            ));
            count += 1;
        }
        if o.fate == Fate::Leaked {
            out.push(at(
                "+1",
                o.creator,
                "res_leak.c",
                77,
                "keep",
                &count.to_string(),
                "kept",
            ));
            count += 1;
        }
        let mut late = None;
        for (i, (tid, line)) in o.pairs.iter().enumerate().rev() {
            let l = at(
                "-1",
                *tid,
                "res_gen.c",
                line + 100,
                "unuse",
                &count.to_string(),
                "",
            );
            count -= 1;
            if o.late && i == o.pairs.len() - 1 {
                late = Some(l);
            } else {
                out.push(l);
            }
        }
        if late.is_some() {
            // In file order the destructor line comes first: it is the release
            // that took the count to zero, so it read 1 even though the late
            // release wrote its line after it.
            count = 1;
        }
        let final_state = if o.fate == Fate::Leaked {
            count.to_string()
        } else {
            "**destructor**lock-state:none**".to_string()
        };
        out.push(at(
            "-1",
            o.creator,
            "res_gen.c",
            2,
            "unmake",
            &final_state,
            "unmade",
        ));
        out.extend(late);
        if o.fate == Fate::UseAfterFree {
            out.push(at("-1", 7, "res_gen.c", 3, "again", "**invalid**", "again"));
        }
        out
    }

    /// A generated log: its objects, its text, and each object's address.
    fn history() -> impl Strategy<Value = (Vec<Object>, String, Vec<u64>)> {
        (
            proptest::collection::vec(object(), 1..30),
            1usize..5,
            proptest::collection::vec(0usize..64, 0..400),
        )
            .prop_map(|(objects, addresses, order)| {
                let (log, addr_of) = build(&objects, addresses, &order);
                (objects, log, addr_of)
            })
    }

    /// Objects on a few addresses, each address's objects one after the other,
    /// the addresses interleaved as `order` says. Returns the log and, per
    /// object, its address.
    fn build(objects: &[Object], addresses: usize, order: &[usize]) -> (String, Vec<u64>) {
        let mut queues: Vec<Vec<String>> = vec![Vec::new(); addresses];
        let mut addr_of = Vec::new();
        let mut retired = vec![false; addresses];
        let mut next_fresh = 0x7f00_0000_0000u64;
        for (i, o) in objects.iter().enumerate() {
            let slot = i % addresses;
            // A leaked or never-freed object keeps its address for good.
            let addr = if retired[slot] {
                next_fresh += 0x40;
                next_fresh
            } else {
                0x55d7_9c50_0000 + slot as u64 * 0x70
            };
            if matches!(o.fate, Fate::Leaked | Fate::BelowZero) && !retired[slot] {
                retired[slot] = true;
            }
            addr_of.push(addr);
            let q = if addr >= 0x7f00_0000_0000 {
                addresses - 1
            } else {
                slot
            };
            queues[q].extend(lines(addr, o));
        }
        let mut log = String::new();
        let mut at = vec![0usize; addresses];
        let mut k = 0;
        loop {
            let open: Vec<usize> = (0..addresses)
                .filter(|q| at[*q] < queues[*q].len())
                .collect();
            if open.is_empty() {
                break;
            }
            let q = open[order.get(k).copied().unwrap_or(0) % open.len()];
            k += 1;
            log.push_str(&queues[q][at[q]]);
            log.push('\n');
            at[q] += 1;
        }
        (log, addr_of)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn a_generated_history_is_reported_with_exactly_what_it_was_built_with(
            (objects, log, addr_of) in history(),
            threads in 1usize..4,
        ) {
            let d = diagnose_bytes(log.as_bytes(), threads);
            let mut want_leaks: Vec<u64> = objects.iter().zip(&addr_of).filter(|(o, _)| o.fate == Fate::Leaked).map(|(_, a)| *a).collect();
            want_leaks.sort_unstable();
            let mut got: Vec<u64> = d.leaks.iter().map(|l| l.addr).collect();
            got.sort_unstable();
            prop_assert_eq!(&got, &want_leaks, "{}", log);
            for leak in &d.leaks {
                prop_assert_eq!(leak.unreleased.len(), 1);
                prop_assert_eq!(leak.unreleased[0].event.place(), "res_leak.c:77");
            }
            let count = |f: Fate| objects.iter().filter(|o| o.fate == f).count();
            prop_assert_eq!(d.invalid_count(InvalidKind::UseAfterFree), count(Fate::UseAfterFree), "{}", log);
            prop_assert_eq!(d.invalid_count(InvalidKind::BelowZero), count(Fate::BelowZero), "{}", log);
            prop_assert_eq!(d.invalid_count(InvalidKind::Unknown), 0);
            for i in d.invalid_of(InvalidKind::UseAfterFree) {
                let freed = i.destroyed_at.as_ref().expect("the release that freed it");
                prop_assert_eq!(freed.place(), "res_gen.c:2");
            }
            prop_assert!(d.skewed.is_empty(), "{}", log);
            prop_assert_eq!(d.counts.unbalanced, 0, "{}", log);
        }

        #[test]
        fn a_log_missing_its_start_never_shows_a_false_leak(
            (objects, log, addr_of) in history(),
            cut in 0usize..200,
        ) {
            let lines: Vec<&str> = log.lines().collect();
            let cut = cut.min(lines.len().saturating_sub(1));
            let tail = lines[cut..].join("\n");
            let Ok(d) = diagnose_refs(tail.as_bytes(), ast_locks_parse::refs::GRAMMAR, &RefsOptions::default()) else {
                return Ok(());
            };
            let leaked: Vec<u64> = objects.iter().zip(&addr_of).filter(|(o, _)| o.fate == Fate::Leaked).map(|(_, a)| *a).collect();
            for leak in &d.leaks {
                prop_assert!(leaked.contains(&leak.addr), "{:#x} is no leak:\n{}", leak.addr, tail);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Lifetimes and graves keep the lines of the chunk being read only
        /// as places in it, and copy them when it is done: whatever is read
        /// at a time, the report is the same, down to the lines it quotes.
        #[test]
        fn the_size_of_a_read_never_changes_the_report(
            (_, log, _) in history(),
            chunk_bytes in 512usize..4096,
            threads in 1usize..3,
        ) {
            let whole = diagnose_bytes(log.as_bytes(), threads);
            let opts = RefsOptions { threads, chunk_bytes, ..RefsOptions::default() };
            let parts = diagnose_refs(log.as_bytes(), ast_locks_parse::refs::GRAMMAR, &opts).expect("a refs log");
            prop_assert_eq!(parts, whole, "{}", log);
        }
    }

    #[test]
    fn a_clean_real_log_cut_anywhere_shows_no_leak() {
        let log = std::fs::read_to_string(format!("{}/refs", dir("R1-clean"))).unwrap();
        let lines: Vec<&str> = log.lines().collect();
        for cut in (1..lines.len()).step_by(211) {
            for part in [lines[..cut].join("\n"), lines[cut..].join("\n")] {
                let d = diagnose_bytes(part.as_bytes(), 2);
                assert!(d.leaks.is_empty(), "cut at {cut}: {}", d.verdict());
                assert_eq!(d.counts.invalid, 0);
            }
        }
    }
}

#[test]
fn an_address_written_two_ways_is_one_object_on_any_number_of_workers() {
    // Found by fuzzing: `0xABC` and `0x0abc` are one address, and their lines
    // must reach the same worker.
    let log = [
        line("0xABC", "+1", 1, "a.c:1:make", CTOR, "made"),
        line("0x0abc", "+1", 1, "b.c:2:take", "1", "take"),
        line("0xabc", "-1", 1, "b.c:3:give", "2", "give"),
        line("0x0ABC", "-1", 1, "a.c:4:drop", DTOR, "drop"),
    ]
    .concat();
    for threads in [1, 2, 3, 4] {
        let d = diagnose_bytes(log.as_bytes(), threads);
        assert!(d.findings().is_empty(), "{threads}: {}", d.verdict());
        assert_eq!(d.counts.finished, 1);
    }
}

#[test]
fn the_real_logs_read_in_small_pieces_give_the_same_report() {
    // Objects alive across a read, graves made in one read and looked up in
    // a later one, containers whose members span many reads.
    for name in [
        "R1-clean",
        "R2-leak",
        "R2-leak-core-stop-now",
        "R4-over-release",
    ] {
        let log = std::fs::read(format!("{}/refs", dir(name))).expect("log");
        for threads in [1, 2] {
            let whole = diagnose_bytes(&log, threads);
            for chunk_bytes in [512, 777, 4096, 65536] {
                let opts = RefsOptions {
                    threads,
                    chunk_bytes,
                    ..RefsOptions::default()
                };
                let parts = diagnose_refs(&log[..], ast_locks_parse::refs::GRAMMAR, &opts)
                    .expect("a refs log");
                assert!(
                    parts == whole,
                    "{name}, {threads} workers, {chunk_bytes}-byte reads"
                );
            }
        }
    }
}

#[test]
fn a_use_after_free_reads_later_names_the_release_that_freed() {
    // The object is freed in the first read; its line of freed memory comes
    // reads later, after other objects reused the graves' chunk buffers.
    let mut log = [
        line("0x10", "+1", 1, "a.c:1:make", CTOR, "made"),
        line("0x10", "-1", 2, "b.c:9:last_release", DTOR, "freed"),
    ]
    .concat();
    for i in 0..200u32 {
        let addr = format!("{:#x}", 0x1000 + u64::from(i % 7) * 0x40);
        log += &line(&addr, "+1", 3, "c.c:5:other", CTOR, "other");
        log += &line(&addr, "-1", 3, "c.c:6:other_done", DTOR, "other done");
    }
    log += &line("0x10", "-1", 4, "d.c:7:bad_release", "**invalid**", "late");
    for chunk_bytes in [512, 1000, 1 << 20] {
        let opts = RefsOptions {
            threads: 1,
            chunk_bytes,
            ..RefsOptions::default()
        };
        let d = diagnose_refs(log.as_bytes(), ast_locks_parse::refs::GRAMMAR, &opts)
            .expect("a refs log");
        let found = d.invalid_of(InvalidKind::UseAfterFree).next();
        let found = found.unwrap_or_else(|| panic!("{chunk_bytes}: {}", d.verdict()));
        let freed = found.destroyed_at.as_ref().expect("the release that freed");
        assert_eq!((freed.place(), freed.line_no), ("b.c:9".to_string(), 2));
        assert_eq!(freed.tag, "freed");
        let made = found.allocated.as_ref().expect("its allocation");
        assert_eq!(
            (made.place(), made.tag.as_str()),
            ("a.c:1".to_string(), "made")
        );
    }
}
