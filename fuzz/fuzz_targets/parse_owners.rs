//! Owner look-ups on any text: never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ast_locks_parse::owners::parse(&String::from_utf8_lossy(data));
});
