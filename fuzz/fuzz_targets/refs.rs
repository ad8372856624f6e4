//! Refs logs: every line parser on any bytes, then the whole pipeline (the
//! streaming analysis on one and on two workers, every renderer). Never
//! panics; one and two workers agree, and so does reading in small chunks; a
//! line read with its routing key, and read ahead into the bytes after it,
//! reads as alone.
#![no_main]
use ast_locks_analysis::refs::{diagnose_refs, RefsOptions};
use ast_locks_model::refs::{LineBytes, READ_AHEAD};
use ast_locks_render::refs::{self as render, RefsReport};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut padded = data.to_vec();
    padded.resize(data.len() + READ_AHEAD, 0);
    let mut start = 0;
    for line in data.split(|&b| b == b'\n') {
        let plain = ast_locks_parse::refs::parse_line(line);
        let key = ast_locks_parse::refs::line_key(line);
        let keyed = ast_locks_parse::refs::parse_keyed(line.into(), key);
        assert_eq!(plain, keyed, "reading with the routing key changes the line");
        let ahead = LineBytes::within(&padded[start..], line.len());
        let ahead = ast_locks_parse::refs::parse_keyed(ahead, key);
        assert_eq!(plain, ahead, "reading ahead past the line changes it");
        start += line.len() + 1;
    }
    let run = |threads| {
        let opts = RefsOptions { threads, max_events: 16, ..RefsOptions::default() };
        diagnose_refs(data, ast_locks_parse::refs::GRAMMAR, &opts).ok()
    };
    let (one, two) = (run(1), run(2));
    assert_eq!(one, two, "one and two workers disagree");
    // Lines of the chunk being read are kept as places in it until the chunk
    // is done: read in small chunks, the report must not change (while no
    // line is longer than a chunk, which is reported as such).
    if data.split(|&b| b == b'\n').all(|line| line.len() < 1024) {
        let opts = RefsOptions { threads: 2, max_events: 16, chunk_bytes: 2048, ..RefsOptions::default() };
        let small = diagnose_refs(data, ast_locks_parse::refs::GRAMMAR, &opts).ok();
        assert_eq!(one, small, "reading in small chunks changes the report");
    }
    if let Some(d) = one {
        let report = RefsReport { name: "fuzz", diagnosis: &d, verbose: true };
        let mut out = Vec::new();
        let _ = render::text::write(&mut out, &report, &render::text::TextOptions { color: true });
        let _ = render::markdown::write(&mut out, &report);
        let _ = render::html::write(&mut out, &report);
        let _ = render::json::write(&mut out, &report);
        let _ = render::refcounter::write(&mut out, &report);
        let _ = render::map::write_dot(&mut out, &report);
        let _ = render::map::write_svg(&mut out, &report);
        let _ = render::map::write_mermaid(&mut out, &report);
    }
});
