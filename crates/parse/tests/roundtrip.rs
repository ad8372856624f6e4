//! Random models printed in each generation's format parse back to the same model.

mod common;
use ast_locks_model::{
    Clock, Generation, Location, LockEntry, LockKind, LockState, Snapshot, Thread, ThreadStart,
    Timing,
};
use common::without_lines;
use proptest::prelude::*;
use std::borrow::Cow;

fn ident() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,15}"
}

fn file() -> impl Strategy<Value = String> {
    "[a-z_]{1,12}\\.c"
}

fn lock_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("&chan->lock".to_string()),
        Just("&(&agents)->lock".to_string()),
        Just("&(&ast_event_subs[event_types[i]])->lock".to_string()),
        Just("a->c".to_string()),
        Just("c".to_string()),
        Just("lock name with spaces".to_string()),
        Just("odd (3) name".to_string()),
        "[&a-z_][a-z_>.\\-\\[\\]()&]{0,15}",
    ]
}

/// Frame lines of each printer's shape. The parts of each are checked too: the
/// model keeps the text, `frame::parts` reads it.
fn frame() -> impl Strategy<Value = String> {
    prop_oneof![
        (ident(), any::<u32>(), any::<u64>())
            .prop_map(|(f, off, addr)| format!("/usr/sbin/asterisk({f}+0x{off:x}) [0x{addr:x}]")),
        (ident(), file(), 1u32..100_000, any::<u64>())
            .prop_map(|(f, file, line, addr)| format!("[0x{addr:x}] asterisk {file}:{line} {f}()")),
        Just("No backtrace to print".to_string()),
    ]
    .prop_map(|raw| {
        assert!(ast_locks_parse::csl::frame::parts(&raw).is_some(), "{raw}");
        raw
    })
}

fn location() -> impl Strategy<Value = Location<'static>> {
    (file(), 1u32..100_000, ident()).prop_map(|(f, l, func)| Location {
        file: f.into(),
        line: l,
        function: func.into(),
    })
}

fn clock() -> impl Strategy<Value = Clock<'static>> {
    (0u64..2_000_000_000_000_000).prop_map(Clock::from_micros)
}

fn entry(g: Generation) -> impl Strategy<Value = LockEntry<'static>> {
    let state = if g == Generation::V1_6To11 {
        prop_oneof![Just(LockState::Held), Just(LockState::Waiting)].boxed()
    } else {
        prop_oneof![
            Just(LockState::Held),
            Just(LockState::Waiting),
            Just(LockState::TriedAndFailed)
        ]
        .boxed()
    };
    let kind = prop_oneof![
        Just(LockKind::Mutex),
        Just(LockKind::RdLock),
        Just(LockKind::WrLock),
        Just(LockKind::Unknown)
    ];
    (
        state,
        kind,
        location(),
        lock_name(),
        prop_oneof![
            (0u64..16).prop_map(|a| format!("0x{:x}", 0x7f00_0000_1000u64 + a * 0x40)),
            Just("(nil)".to_string())
        ],
        0u32..1000,
        0u32..1000,
        any::<bool>(),
        (clock(), clock(), clock()),
        prop::collection::vec(frame(), 0..4),
        prop::collection::vec(location(), 0..3),
    )
        .prop_map(
            move |(
                state,
                kind,
                location,
                name,
                addr,
                times,
                attempts,
                suspended,
                (a, b, c),
                backtrace,
                here,
            )| {
                let v21 = g == Generation::V21Plus;
                let mut e = LockEntry::new(0, state, kind, addr);
                e.location = location;
                e.name = name.into();
                e.times_locked = Some(times);
                e.attempts = v21.then_some(attempts);
                e.suspended = suspended && g != Generation::V1_6To11;
                e.timing = v21.then_some(Timing::new(a, b, c));
                e.backtrace = backtrace.into_iter().collect();
                if state == LockState::Waiting {
                    e.locked_here = here;
                }
                e
            },
        )
}

fn thread(g: Generation) -> impl Strategy<Value = Thread<'static>> {
    (
        any::<u64>(),
        any::<bool>(),
        proptest::option::of(1u64..4_000_000),
        prop_oneof![
            (ident(), 1u32..99_999, file(), ident()).prop_map(|(r, l, f, func)| {
                let name = format!("{r:<20} started at [{l:>5}] {f} {func}()");
                (
                    name,
                    Some(ThreadStart {
                        routine: r.into(),
                        location: Location {
                            file: f.into(),
                            line: l,
                            function: func.into(),
                        },
                    }),
                )
            }),
            "[A-Za-z][A-Za-z ]{0,20}[a-z]".prop_map(|n| (n, None)),
        ],
        prop::collection::vec(entry(g), 0..5),
    )
        .prop_map(move |(id, decimal, lwp, (name, start), mut entries)| {
            for (i, e) in entries.iter_mut().enumerate() {
                e.index = i as u32;
            }
            let id = if decimal && g == Generation::V1_6To11 {
                id.to_string()
            } else {
                format!("0x{id:x}")
            };
            let mut t = Thread::new(id);
            t.lwp = if g == Generation::V1_6To11 { None } else { lwp };
            t.name = name.into();
            t.start = start;
            t.entries = entries;
            t
        })
}

fn snapshot() -> impl Strategy<Value = Snapshot<'static>> {
    prop_oneof![
        Just(Generation::V1_6To11),
        Just(Generation::V12To20),
        Just(Generation::V21Plus)
    ]
    .prop_flat_map(|g| {
        (
            prop::collection::vec(thread(g), 0..6),
            "[0-9]{1,2}\\.[0-9]\\.[0-9]",
        )
            .prop_map(move |(threads, version)| Snapshot {
                generation: Some(g),
                version: (g != Generation::V1_6To11).then_some(Cow::Owned(version)),
                time: (g == Generation::V21Plus).then_some(Cow::Borrowed("498697:44:29.872492")),
                banner_line: Some(0),
                threads,
                end_line: Some(0),
                ..Snapshot::default()
            })
    })
}

/// The case count: `PROPTEST_CASES` when set (`just fuzz` raises it), else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(1000)))]

    #[test]
    fn printed_models_parse_back_unchanged(s in snapshot()) {
        let g = s.generation.expect("set");
        let mut text = Vec::new();
        ast_locks_render::dump::write(&mut text, &s, g).expect("print");
        let parsed = ast_locks_parse::parse(&text).expect("printed dump parses");
        prop_assert!(parsed.warnings.is_empty(), "{:?}\n{}", parsed.warnings, String::from_utf8_lossy(&text));
        let parsed = without_lines(parsed);
        prop_assert_eq!(parsed.snapshots.len(), 1);
        prop_assert_eq!(&parsed.snapshots[0], &s, "{}", String::from_utf8_lossy(&text));
    }
}
