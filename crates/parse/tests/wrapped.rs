//! A dump hard-wrapped by a mail client, Jira or a terminal reads as the dump
//! itself: every test dump, wrapped at any width from 40 to 200 columns, as
//! `fold` and as `fold -s` cut it, gives the same snapshots, threads, locks,
//! frames and waits-for analysis as the unwrapped dump.

mod common;
use ast_locks_analysis::{analyze, Options};
use ast_locks_model::Dump;
use ast_locks_parse::InputKind;
use common::without_lines;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

/// GNU `fold -w WIDTH` (`-s`: break after the last blank that fits): columns
/// counted per byte, a tab to the next multiple of 8, a carriage return back to 0.
fn fold(text: &str, width: usize, spaces: bool) -> String {
    fn advance(column: usize, c: char) -> usize {
        match c {
            '\t' => (column / 8 + 1) * 8,
            '\r' => 0,
            _ => column + c.len_utf8(),
        }
    }
    let mut out = String::with_capacity(text.len() + text.len() / width);
    let mut line: Vec<char> = Vec::new();
    let mut column = 0;
    for c in text.chars() {
        if c == '\n' {
            out.extend(line.drain(..));
            out.push('\n');
            column = 0;
            continue;
        }
        loop {
            let next = advance(column, c);
            if next <= width {
                column = next;
                line.push(c);
                break;
            }
            if spaces {
                if let Some(blank) = line.iter().rposition(|c| *c == ' ' || *c == '\t') {
                    out.extend(line.drain(..=blank));
                    out.push('\n');
                    column = line.iter().fold(0, |col, c| advance(col, *c));
                    continue;
                }
            }
            if line.is_empty() {
                column = next;
                line.push(c);
                break;
            }
            out.extend(line.drain(..));
            out.push('\n');
            column = 0;
        }
    }
    out.extend(line);
    out
}

#[test]
fn fold_cuts_as_gnu_fold_does() {
    assert_eq!(fold("aaaa bbbb cccc", 10, false), "aaaa bbbb \ncccc");
    assert_eq!(fold("aaaa bbbb cccc", 7, false), "aaaa bb\nbb cccc");
    assert_eq!(fold("aaaa bbbb cccc", 7, true), "aaaa \nbbbb \ncccc");
    assert_eq!(fold("\tab", 9, false), "\ta\nb");
    assert_eq!(fold("abcdefgh\nab", 4, true), "abcd\nefgh\nab");
}

/// Every dump of testdata/ (every kind but owner look-ups).
fn dumps() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    let mut out = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).expect("testdata") {
            let p = e.expect("entry").path();
            if p.is_dir() && !p.ends_with("golden") && !p.ends_with("refs") {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "txt") {
                let bytes = std::fs::read(&p).expect("read");
                let readable = ast_locks_parse::detect(&bytes).is_some_and(|k| {
                    k != ast_locks_parse::InputKind::Owners
                        && ast_locks_parse::parse_kind(&bytes, k).is_ok()
                });
                if readable {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    assert!(out.len() >= 40, "{out:?}");
    out
}

/// What a reading says, line numbers, warnings and `bt full` locals aside: the
/// kind of input, every snapshot's threads with their locks and stacks, and the
/// waits-for analysis.
fn reading(text: &str) -> (Option<InputKind>, Dump<'static>, Vec<String>) {
    let kind = ast_locks_parse::detect(text.as_bytes());
    let parsed =
        ast_locks_parse::parse_kind(text.as_bytes(), kind.unwrap_or(InputKind::CoreShowLocks));
    let mut dump = without_lines(parsed.expect("parses"));
    dump.warnings.clear();
    for s in &mut dump.snapshots {
        for t in &mut s.threads {
            for f in &mut t.stack {
                f.locals.clear();
            }
        }
    }
    let analyses = dump
        .snapshots
        .iter()
        .map(|s| {
            let a = analyze(s, &Options::default());
            format!(
                "{:?} {:?} {:?} {:?}",
                a.deadlocks, a.blocked, a.roots, a.anomalies
            )
        })
        .collect();
    (kind, dump, analyses)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn a_wrapped_dump_reads_as_the_dump(
        file in proptest::sample::select(dumps()),
        width in 40usize..=200,
        spaces in any::<bool>(),
    ) {
        let text = std::fs::read_to_string(&file).expect("utf-8 dump");
        let wrapped = fold(&text, width, spaces);
        prop_assert_eq!(reading(&wrapped), reading(&text), "{} at {} columns{}", file.display(), width, if spaces { ", fold -s" } else { "" });
    }
}

#[test]
fn every_dump_at_every_width_reads_as_the_dump() {
    for file in dumps() {
        let text = std::fs::read_to_string(&file).expect("utf-8 dump");
        let want = reading(&text);
        for width in 40..=200 {
            for spaces in [false, true] {
                let got = reading(&fold(&text, width, spaces));
                if got != want && std::env::var_os("WRAPPED_DEBUG").is_some() {
                    std::fs::write("/tmp/want.txt", format!("{want:#?}")).ok();
                    std::fs::write("/tmp/got.txt", format!("{got:#?}")).ok();
                    std::fs::write("/tmp/wrapped.txt", fold(&text, width, spaces)).ok();
                }
                assert!(
                    got == want,
                    "{} at {width} columns{}",
                    file.display(),
                    if spaces { ", fold -s" } else { "" }
                );
            }
        }
    }
}
