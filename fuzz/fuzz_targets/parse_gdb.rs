//! The Gdb parser on any bytes: never panics, and what it reads analyses.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(dump) = ast_locks_parse::parse_kind(data, ast_locks_parse::InputKind::Gdb) {
        for s in &dump.snapshots {
            let _ = ast_locks_analysis::analyze(s, &ast_locks_analysis::Options::default());
        }
    }
});
