//! Every hand-made and real dump, re-printed in the 12–20 and 21+ shapes (and
//! 1.6–11 where it has nothing newer), must give the same analysis: the verdict
//! depends on what the threads hold and wait for, not on how Asterisk printed it.

use ast_locks_analysis::{analyze, Options};
use ast_locks_model::{Generation, LockState};
use std::path::Path;

fn dumps() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    let mut out = Vec::new();
    for dir in [
        root.clone(),
        root.join("handmade"),
        root.join("asterisk-1.8-testsuite"),
        root.join("asterisk-18.0.0-s4-convoy"),
        root.join("asterisk-22.0.0-s1-abba"),
    ] {
        for e in std::fs::read_dir(&dir).expect("testdata") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "txt") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn analysis_is_the_same_whichever_generation_printed_the_dump() {
    let mut checked = 0;
    for path in dumps() {
        let bytes = std::fs::read(&path).expect("read");
        // Owner look-ups and the header-only ast_coredumper file hold no threads.
        let kind = ast_locks_parse::detect(&bytes).expect("a known input");
        if kind == ast_locks_parse::InputKind::Owners {
            continue;
        }
        let Ok(dump) = ast_locks_parse::parse_kind(&bytes, kind) else {
            continue;
        };
        for snapshot in &dump.snapshots {
            // gdb's owner look-ups (and the self-deadlocks they prove) are not
            // what `core show locks` can print.
            // Nor are threads named by gdb's number or a PID (`LWP 12`, `PID 21253`).
            if !snapshot.owners.is_empty() || snapshot.threads.iter().any(|t| t.id.contains(' ')) {
                continue;
            }
            let want = analyze(snapshot, &Options::default());
            // 1.6–11 cannot print trylock failures or suspended entries.
            let newer_only = snapshot
                .threads
                .iter()
                .flat_map(|t| &t.entries)
                .any(|e| e.suspended || e.state == LockState::TriedAndFailed);
            for g in Generation::ALL {
                if g == Generation::V1_6To11 && newer_only {
                    continue;
                }
                let mut text = Vec::new();
                ast_locks_render::dump::write(&mut text, snapshot, g).expect("print");
                let again = ast_locks_parse::parse(&text).expect("re-printed dump parses");
                assert_eq!(again.snapshots.len(), 1);
                assert_eq!(again.snapshots[0].generation, Some(g), "{}", path.display());
                let got = analyze(&again.snapshots[0], &Options::default());
                assert_eq!(got.deadlocks, want.deadlocks, "{} as {g}", path.display());
                assert_eq!(got.blocked, want.blocked, "{} as {g}", path.display());
                assert_eq!(got.anomalies, want.anomalies, "{} as {g}", path.display());
                assert_eq!(
                    got.verdict(&again.snapshots[0]),
                    want.verdict(snapshot),
                    "{} as {g}",
                    path.display()
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 55, "only {checked} re-printed dumps checked");
}
