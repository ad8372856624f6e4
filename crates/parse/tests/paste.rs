//! What people paste: every mangling in the table, applied to real dumps of each
//! generation, must read back to the same model as the clean dump.

mod common;
use common::without_lines;

fn sample(rel: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(rel);
    std::fs::read_to_string(p).expect("sample readable")
}

fn each_line(text: &str, f: impl Fn(&str) -> String) -> String {
    text.split('\n').map(f).collect::<Vec<_>>().join("\n")
}

type Mangle = fn(&str) -> String;

const MANGLES: &[(&str, Mangle)] = &[
    ("CRLF line ends", |t| t.replace('\n', "\r\n")),
    ("tabs became 8 spaces", |t| t.replace('\t', "        ")),
    ("tabs became 2 spaces", |t| t.replace('\t', "  ")),
    ("`> ` e-mail quoting", |t| {
        each_line(t, |l| format!("> {l}"))
    }),
    ("`>> ` e-mail quoting", |t| {
        each_line(t, |l| format!(">> {l}"))
    }),
    ("`> > ` e-mail quoting", |t| {
        each_line(t, |l| format!("> > {l}"))
    }),
    ("leading CLI prompt line", |t| {
        format!("pbx01*CLI> core show locks\n{t}")
    }),
    ("markdown fence", |t| format!("```\n{t}\n```\n")),
    ("markdown fence with language", |t| {
        format!("Dump:\n\n```text\n{t}\n```\nThanks\n")
    }),
    ("markdown indented code block", |t| {
        each_line(t, |l| format!("    {l}"))
    }),
    ("Jira {noformat}", |t| {
        format!("{{noformat}}\n{t}\n{{noformat}}\n")
    }),
    ("Jira {code}", |t| {
        format!("{{code:title=locks.txt}}\n{t}\n{{code}}\n")
    }),
    ("bracketed log timestamp", |t| {
        each_line(t, |l| format!("[Nov 22 01:53:03] {l}"))
    }),
    ("bracketed ISO timestamp", |t| {
        each_line(t, |l| format!("[2026-11-22 01:53:03.123] {l}"))
    }),
    ("ISO 8601 timestamp", |t| {
        each_line(t, |l| format!("2026-11-22T01:53:03.123456+00:00 {l}"))
    }),
    ("ts / syslog timestamp", |t| {
        each_line(t, |l| format!("Nov  2 01:53:03 {l}"))
    }),
    ("trailing junk after the dump", |t| {
        format!("{t}\n-- \nJohn Doe\nSent from my phone\n...\n")
    }),
    ("leading chatter", |t| {
        format!("Hi all,\nthe PBX froze again, here is the output:\n\n{t}")
    }),
    ("quoted CRLF Jira paste", |t| {
        format!(
            "{{noformat}}\n{}\n{{noformat}}",
            each_line(t, |l| format!("> {l}"))
        )
        .replace('\n', "\r\n")
    }),
];

#[test]
fn paste_variants_read_back_the_same_model() {
    for rel in [
        "asterisk-22.0.0-s1-abba/core-show-locks.txt",
        "asterisk-18.0.0-s4-convoy/core-show-locks.txt",
        "wazo-2012-excerpt.txt",
        "asterisk-1.8-testsuite/locks-fail.txt",
        "handmade/v12-two-cycle.txt",
        "handmade/v21-three-cycle.txt",
    ] {
        let clean_text = sample(rel);
        let clean =
            without_lines(ast_locks_parse::parse_str(&clean_text).expect("clean sample parses"));
        assert!(!clean.snapshots.is_empty());
        for (what, mangle) in MANGLES {
            let pasted = mangle(&clean_text);
            let got = ast_locks_parse::parse(pasted.as_bytes())
                .unwrap_or_else(|e| panic!("{rel}, {what}: {e}"));
            assert_eq!(without_lines(got), clean, "{rel}: {what}");
        }
    }
}

#[test]
fn unrecognised_lines_inside_a_block_are_warnings_with_their_line() {
    let text = sample("asterisk-22.0.0-s1-abba/core-show-locks.txt");
    let mut lines: Vec<&str> = text.split('\n').collect();
    // Inside the first thread block, after its first frame.
    lines.insert(13, "garbage that is no frame");
    lines.insert(14, "more garbage");
    let mangled = lines.join("\n");
    let dump = ast_locks_parse::parse_str(&mangled).expect("still a dump");
    assert_eq!(dump.warnings.len(), 1, "{:?}", dump.warnings);
    assert_eq!(dump.warnings[0].line, 14);
    assert!(dump.warnings[0]
        .message
        .contains("2 lines (to line 15) not understood inside thread 0x7f67a15356c0"));
    assert!(dump.warnings[0]
        .message
        .contains("garbage that is no frame"));
    // The rest still reads: both threads with both entries.
    let s = &dump.snapshots[0];
    assert_eq!(s.threads.len(), 2);
    assert!(s.threads.iter().all(|t| t.entries.len() == 2));
}

#[test]
fn truncated_dump_keeps_what_was_read() {
    let text = sample("asterisk-22.0.0-s1-abba/core-show-locks.txt");
    let cut = &text[..text
        .find("=== ---> Waiting for Lock #1 (res_deadlock_demo.c): MUTEX 80")
        .expect("line")
        + 30];
    let dump = ast_locks_parse::parse_str(cut).expect("truncated dump still reads");
    let s = &dump.snapshots[0];
    assert!(s.truncated);
    assert_eq!(s.threads.len(), 2);
    assert_eq!(
        s.threads[1].entries.len(),
        1,
        "the cut lock line is not taken as an entry"
    );
    assert!(dump
        .warnings
        .iter()
        .any(|w| w.message.contains("truncated")));
    assert!(dump
        .warnings
        .iter()
        .any(|w| w.message.contains("lock line not understood")));
}

#[test]
fn several_dumps_are_several_snapshots() {
    let a = sample("asterisk-18.0.0-s4-convoy/core-show-locks.txt");
    let b = sample("asterisk-22.0.0-s1-abba/core-show-locks.txt");
    let both = format!("{a}\nsome chatter between\n{b}");
    let dump = ast_locks_parse::parse_str(&both).expect("parses");
    assert_eq!(dump.snapshots.len(), 2);
    assert_eq!(dump.snapshots[0].threads.len(), 6);
    assert_eq!(dump.snapshots[0].version.as_deref(), Some("18.0.0"));
    assert_eq!(dump.snapshots[1].threads.len(), 2);
    assert_eq!(dump.snapshots[1].version.as_deref(), Some("22.0.0"));
    assert!(dump.warnings.is_empty(), "{:?}", dump.warnings);
}

#[test]
fn generation_is_read_from_the_lines_not_the_banner() {
    use ast_locks_model::Generation::*;
    for (rel, g) in [
        ("asterisk-22.0.0-s1-abba/core-show-locks.txt", V21Plus),
        ("asterisk-18.0.0-s4-convoy/core-show-locks.txt", V12To20),
        ("wazo-2012-excerpt.txt", V1_6To11),
        (
            "asterisk-1.8-testsuite/locks-multiple-objects-no-backtrace.txt",
            V1_6To11,
        ),
    ] {
        let text = sample(rel);
        // Without any banner line, the thread lines alone must tell.
        let bare: String = text
            .split('\n')
            .filter(|l| {
                l.starts_with("=== Thread")
                    || l.starts_with("=== -")
                    || l.starts_with("===  ")
                    || l.starts_with('\t')
                    || l.starts_with('/')
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let dump = ast_locks_parse::parse_str(&bare).expect("parses");
        assert_eq!(dump.snapshots[0].generation, Some(g), "{rel}");
    }
}

#[test]
fn what_is_not_a_dump_is_an_error_naming_the_first_text() {
    use ast_locks_parse::ParseError;
    assert_eq!(ast_locks_parse::parse(b""), Err(ParseError::Empty));
    assert_eq!(ast_locks_parse::parse(b"\r\n  \n"), Err(ParseError::Empty));
    assert_eq!(
        ast_locks_parse::parse(b"\x7fELF\x02\x01\x01\0\0\0"),
        Err(ParseError::ElfProgram)
    );
    let mut core = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
    core.extend([4, 0, 0x3e, 0]);
    assert_eq!(ast_locks_parse::parse(&core), Err(ParseError::CoreFile));
    assert_eq!(
        ast_locks_parse::parse(b"\0\x01\x02 not text \0"),
        Err(ParseError::Binary)
    );
    match ast_locks_parse::parse(b"\n\n  Thread 1 (Thread 0x7f (LWP 12)):\n#0 poll ()\n") {
        Err(ParseError::NoDump {
            line,
            column,
            found,
        }) => {
            assert_eq!((line, column), (3, 3));
            assert_eq!(found, "Thread 1 (Thread 0x7f (LWP 12)): / #0 poll ()");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn stray_lines_before_the_banner_make_no_phantom_snapshot() {
    let text = sample("asterisk-22.0.0-s1-abba/core-show-locks.txt");
    let noisy = format!(
        "===      498697:44:26.882753, 00:00:00.000000, 00:00:02.989754 (1, 1)\n\
         === <locked at>, <failed at>, <held for> (attempts, times locked)\n{text}"
    );
    let dump = ast_locks_parse::parse_str(&noisy).expect("parses");
    assert_eq!(dump.snapshots.len(), 1);
    assert_eq!(dump.snapshots[0].threads.len(), 2);
}
