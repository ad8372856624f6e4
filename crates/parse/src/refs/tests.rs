//! One row per line shape Asterisk has written, and per way a line goes bad.

use super::*;
use ast_locks_model::refs::{LineBytes, LineState, LockUse, READ_AHEAD};

fn ok(line: &str) -> RefLine<'_> {
    match parse_line(line.as_bytes()) {
        Ok(l) => l,
        Err(e) => panic!("{line}: {e}"),
    }
}

#[test]
fn csv_line_shapes_of_every_generation() {
    let ctor = |overhead, size| LineState::Constructor { overhead, size };
    let dtor = |lock| LineState::Destructor { lock };
    #[rustfmt::skip]
    let table: &[(&str, u64, i64, LineState, &str)] = &[
        // 16.1 and later: sizes and lock-state
        ("0x55a4e94e99e0,+1,28975,res_refs_demo.c,465,r4_over_release,**constructor**64**40**,r4a alloc (owner A)",
            0x55a4e94e99e0, 1, ctor(Some(64), Some(40)), "r4a alloc (owner A)"),
        ("0x55a4e94e99e0,-1,28975,res_refs_demo.c,471,r4_over_release,**destructor**lock-state:unused**,r4a owner A releases again (BUG)",
            0x55a4e94e99e0, -1, dtor(LockUse::Unused), "r4a owner A releases again (BUG)"),
        ("0x1,-1,1,a.c,1,f,**destructor**lock-state:used**,", 1, -1, dtor(LockUse::Used), ""),
        ("0x1,-1,1,a.c,1,f,**destructor**lock-state:none**,", 1, -1, dtor(LockUse::None), ""),
        // 15.7 with DEBUG_THREADS: lockobj is a value of its own
        ("0x1,-1,1,a.c,1,f,**destructor**lock-state:lockobj**,", 1, -1, dtor(LockUse::Lockobj), ""),
        ("0x1,-1,1,a.c,1,f,**destructor**lock-state:invalid**,", 1, -1, dtor(LockUse::Invalid), ""),
        // 1.8.28 to 16.0: no sizes, no lock-state
        ("0x8930fd8,+1,4021,chan_sip.c,8123,build_peer,**constructor**,allocate a peer struct",
            0x8930fd8, 1, ctor(None, None), "allocate a peer struct"),
        ("0x8930fd8,-1,4021,chan_sip.c,3421,unref_peer,**destructor**,unref peer",
            0x8930fd8, -1, dtor(LockUse::NotLogged), "unref peer"),
        // invalid: bad magic, or below zero (a release by 2)
        ("0x55a4e9502d78,-2,28975,res_refs_demo.c,500,r4_over_release,**invalid**,r4c release by 2 (BUG)",
            0x55a4e9502d78, -2, LineState::Invalid, "r4c release by 2 (BUG)"),
        // a destructor or invalid line with a positive change has no `+`
        ("0x1,1,7,a.c,9,f,**invalid**,late", 1, 1, LineState::Invalid, "late"),
        // counts, including 11.11–13's -1 for an invalid object, and big ones
        ("0x56067c92bed0,+1,28671,res_refs_demo.c,257,r1_clean,1,", 0x56067c92bed0, 1, LineState::Count(1), ""),
        ("0x1,-1,7,a.c,9,f,-1,bad", 1, -1, LineState::Count(-1), "bad"),
        ("0x1,+5,7,a.c,9,f,100000,many", 1, 5, LineState::Count(100_000), "many"),
        // tags with commas, spaces and an empty tag
        ("0x55f3cd773c18,+1,28435,codec.c,303,__ast_codec_register_with_format,**constructor**24**96**,ITU G.722.1 Annex C, (Siren14, licensed from Polycom)",
            0x55f3cd773c18, 1, ctor(Some(24), Some(96)), "ITU G.722.1 Annex C, (Siren14, licensed from Polycom)"),
        ("0x1,+1,7,a.c,9,f,1,a,b,,c", 1, 1, LineState::Count(1), "a,b,,c"),
        // CRLF from a copy through Windows
        ("0x1,+1,7,a.c,9,f,1,crlf\r", 1, 1, LineState::Count(1), "crlf"),
        // uppercase hex and 64-bit addresses
        ("0xFFFFFFFFFFFFFFF0,+1,7,a.c,9,f,1,", 0xFFFF_FFFF_FFFF_FFF0, 1, LineState::Count(1), ""),
    ];
    for (line, addr, delta, state, tag) in table {
        let l = ok(line);
        assert_eq!(
            (l.addr, l.delta, l.state),
            (*addr, *delta, *state),
            "{line}"
        );
        assert_eq!(l.tag, tag.as_bytes(), "{line}");
    }
    let l =
        ok("0x55a4e94e99e0,+1,28975,res_refs_demo.c,469,r4_over_release,1,r4a owner B takes ref");
    assert_eq!(l.thread, Some(28975));
    assert_eq!(
        (l.file, l.line, l.function),
        (&b"res_refs_demo.c"[..], 469, &b"r4_over_release"[..])
    );
}

#[test]
fn legacy_line_shapes() {
    #[rustfmt::skip]
    let table: &[(&str, u64, i64, LineState, &str, &str)] = &[
        ("0x8930fd8 +1   chan_sip.c:21467:reload_config (link peer into peer table) [@1]",
            0x8930fd8, 1, LineState::Count(1), "link peer into peer table", "reload_config"),
        ("0x8930fd8 -1   chan_sip.c:3421:unref_peer (unref_peer: from sip_destroy_peer_fn (nested (parens))) [@2]",
            0x8930fd8, -1, LineState::Count(2), "unref_peer: from sip_destroy_peer_fn (nested (parens))", "unref_peer"),
        ("0x8930fd8 =1   chan_sip.c:21460:build_peer (allocate a peer struct)",
            0x8930fd8, 1, LineState::Constructor { overhead: None, size: None }, "allocate a peer struct", "build_peer"),
        ("0x8930fd8 **call destructor** chan_sip.c:3421:unref_peer (unref peer)",
            0x8930fd8, 0, LineState::CallDestructor, "unref peer", "unref_peer"),
        // 1.8.0 and 10: -1 for an object that failed the magic check
        ("0xb7a03e10 -1   chan_iax2.c:1700:iax2_destroy_helper (bad) [@-1]",
            0xb7a03e10, -1, LineState::Count(-1), "bad", "iax2_destroy_helper"),
        ("0xb7a03e10 +1   a.c:1:f () [@3]", 0xb7a03e10, 1, LineState::Count(3), "", "f"),
    ];
    for (line, addr, delta, state, tag, function) in table {
        let l = ok(line);
        assert_eq!(
            (l.addr, l.delta, l.state),
            (*addr, *delta, *state),
            "{line}"
        );
        assert_eq!(
            (l.tag, l.function, l.thread),
            (tag.as_bytes(), function.as_bytes(), None),
            "{line}"
        );
    }
}

#[test]
fn damaged_lines_say_where_and_what() {
    #[rustfmt::skip]
    let table: &[(&str, usize, &str)] = &[
        ("", 1, "address"),
        ("garbage", 8, "address"),
        ("0x1,+1,7,a.c,9,f", 17, "cut short"),
        ("0x1,+1,7,a.c,9,f,1", 19, "tag after the state"),
        ("0xZZ,+1,7,a.c,9,f,1,", 1, "object address"),
        ("0x1,x,7,a.c,9,f,1,", 5, "reference change"),
        ("0x1,0,7,a.c,9,f,1,", 5, "reference change"),
        ("0x1,+1,T,a.c,9,f,1,", 8, "thread id"),
        ("0x1,+1,7,,9,f,1,", 10, "file"),
        ("0x1,+1,7,a.c,x,f,1,", 14, "line number"),
        ("0x1,+1,7,a.c,9,f,**constructor,", 18, "state"),
        ("0x1,+1,7,a.c,9,f,**destructor**lock-state:maybe**,", 18, "state"),
        ("0x1,+1,7,a.c,9,f,two,", 18, "state"),
        ("0x1 +1   nolocation (t) [@1]", 10, "file:line:function"),
        ("0x1 ?1   a.c:1:f (t) [@1]", 5, "change"),
        ("0x1 +1   a.c:1:f no parens", 18, "tag in parentheses"),
    ];
    for (line, column, expected) in table {
        let e = parse_line(line.as_bytes()).expect_err(line);
        assert_eq!(e.column, *column, "{line}: {e}");
        assert!(e.expected.contains(expected), "{line}: {e}");
    }
}

#[test]
fn the_key_is_the_address_as_written() {
    assert_eq!(key(b"0x1a2b,+1,..."), b"0x1a2b");
    assert_eq!(key(b"0x1a2b +1 ..."), b"0x1a2b");
    assert_eq!(key(b""), b"");
    assert!(key(&[b'7'; 1000]).len() <= MAX_ADDR + 1);
}

#[test]
fn binary_and_huge_fields_are_errors_not_panics() {
    let junk: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    for chunk in junk.chunks(37) {
        let _ = parse_line(chunk);
    }
    let long_number = format!("0x1,+{},7,a.c,9,f,1,", "9".repeat(40));
    assert!(parse_line(long_number.as_bytes()).is_err());
    let long_line = format!("0x1,{}", ",".repeat(100_000));
    assert!(parse_line(long_line.as_bytes()).is_err());
}

/// The CSV line as the format describes it, read the plain way: split on the
/// first seven commas, then read each field. The one-pass reader must agree
/// with it on every line, good or bad, to the column of an error.
fn csv_by_splitting(line: &[u8]) -> Result<RefLine<'_>, RefLineError> {
    let commas: Vec<usize> = line
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b',')
        .map(|(i, _)| i)
        .take(7)
        .collect();
    if commas.len() < 7 {
        return Err(RefLineError {
            column: line.len() + 1,
            expected: if commas.len() == 6 {
                "`,` and a tag after the state (the line is cut short)"
            } else {
                "8 comma-separated fields (the line is cut short)"
            },
        });
    }
    let start = |i: usize| if i == 0 { 0 } else { commas[i - 1] + 1 };
    let field = |i: usize| &line[start(i)..commas[i]];
    let err = |i: usize, expected| RefLineError {
        column: start(i) + 1,
        expected,
    };
    let addr = parse_addr(field(0)).ok_or_else(|| err(0, "an object address (0x…)"))?;
    let delta = parse_signed(field(1))
        .filter(|d| *d != 0)
        .ok_or_else(|| err(1, "a reference change (+1, -1, …)"))?;
    let thread = parse_unsigned(field(2))
        .and_then(|t| u32::try_from(t).ok())
        .ok_or_else(|| err(2, "a thread id (digits)"))?;
    if field(3).is_empty() {
        return Err(err(3, "a source file name"));
    }
    let number = parse_unsigned(field(4))
        .and_then(|l| u32::try_from(l).ok())
        .ok_or_else(|| err(4, "a line number"))?;
    let state = state::csv(field(6)).ok_or_else(|| {
        err(
            6,
            "a state (**constructor**, **destructor**, **invalid** or a count)",
        )
    })?;
    Ok(RefLine {
        addr,
        delta,
        thread: Some(thread),
        file: field(3),
        line: number,
        function: field(5),
        state,
        tag: &line[commas[6] + 1..],
    })
}

/// Pieces real lines are made of, and pieces that break them.
fn csv_piece() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    prop_oneof![
        Just(",".to_string()),
        Just("0x55d79c5001c0".to_string()),
        Just("0X1".to_string()),
        Just("0x".to_string()),
        Just("+1".to_string()),
        Just("-1".to_string()),
        Just("-".to_string()),
        Just("+".to_string()),
        Just("0".to_string()),
        Just("28792".to_string()),
        Just("4294967296".to_string()),
        Just("99999999999999999999".to_string()),
        Just("9223372036854775808".to_string()),
        Just("1000000000000000000".to_string()),
        Just("res_pjsip.c".to_string()),
        Just("ast_sip_create_dialog_uac".to_string()),
        Just("**constructor**64**159**".to_string()),
        Just("**constructor**".to_string()),
        Just("**destructor**lock-state:unused**".to_string()),
        Just("**destructor**".to_string()),
        Just("**invalid**".to_string()),
        Just("*".to_string()),
        Just(" ".to_string()),
        Just("dialog ref".to_string()),
        "[0-9]{1,3}",
        "[0-9a-fx,+*-]{1,6}",
        any::<u8>().prop_map(|b| char::from(b).to_string()),
    ]
}

/// One field of a line: mostly what belongs there, sometimes anything.
fn csv_field(i: usize) -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let good: Vec<&'static str> = match i {
        0 => vec![
            "0x55d79c5001c0",
            "0x1",
            "0XfFfF",
            "0xffffffffffffffff0",
            "0x",
            "0x12345678901234567",
        ],
        1 | 6 => vec![
            "+1",
            "-1",
            "1",
            "+1000000000000000000",
            "-9223372036854775807",
            "-0",
            "+",
            "2",
            "007",
        ],
        2 | 4 => vec![
            "28792",
            "1",
            "4294967295",
            "4294967296",
            "1000000000000000000",
            "",
            "0",
        ],
        _ => vec![
            "res_pjsip.c",
            "f",
            "",
            "a b",
            "**constructor**64**159**",
            "**destructor**",
            "**destructor**lock-state:unused**",
            "**invalid**",
            "**constructor**",
            "dialog ref",
        ],
    };
    prop_oneof![
        5 => proptest::sample::select(good).prop_map(str::to_string),
        1 => csv_piece(),
    ]
}

/// Real lines of each state Asterisk writes.
pub(super) const REAL_LINES: [&str; 9] = [
    "0x55d79c5001c0,+1,28792,res_pjsip.c,2180,ast_sip_create_dialog_uac,**constructor**64**159**,dialog ref",
    "0x55d79c500380,-1,28792,taskprocessor.c,1305,tps_task_free,2,",
    "0x55d79c500150,-1,28793,res_pjsip.c,2230,dialog_destroy,**destructor**lock-state:unused**,dialog",
    "0x55f3cd773c18,+1,28435,codec.c,303,__ast_codec_register_with_format,**constructor**24**96**,ITU G.722.1 Annex C, (Siren14, licensed from Polycom)",
    "0x55a4e9502d78,-2,28975,res_refs_demo.c,500,r4_over_release,**invalid**,r4c release by 2 (BUG)",
    "0x8930fd8,+1,4021,chan_sip.c,8123,build_peer,**constructor**,allocate a peer struct",
    "0x55a4e94e99e0,-1,28975,res_refs_demo.c,471,r4_over_release,**destructor**lock-state:used**,r4a",
    "0x55a4e94e99e0,-1,28975,res_refs_demo.c,471,r4_over_release,**destructor**lock-state:none**,",
    "0x8930fd8,-1,4021,chan_sip.c,3421,unref_peer,**destructor**,unref peer",
];

/// Bytes that may follow a line in a chunk: more lines (commas, digits,
/// stars) and anything else, up to past the read-ahead.
fn trailing_bytes() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let byte = prop_oneof![
        Just(b','),
        Just(b'*'),
        Just(b'1'),
        Just(b'\n'),
        Just(b'\r'),
        any::<u8>()
    ];
    proptest::collection::vec(byte, 0..160)
}

/// `line` read with its key and the bytes after it to read ahead into (and
/// zeros up to [`READ_AHEAD`], as the reading thread pads a chunk).
fn read_ahead<'a>(
    buffer: &'a mut Vec<u8>,
    line: &[u8],
    after: &[u8],
) -> Result<RefLine<'a>, RefLineError> {
    buffer.clear();
    buffer.extend_from_slice(line);
    buffer.extend_from_slice(after);
    buffer.resize(buffer.len().max(line.len() + READ_AHEAD), 0);
    let key = line_key(line);
    parse_keyed(LineBytes::within(buffer, line.len()), key)
}

#[test]
fn lines_read_ahead_into_what_follows_read_as_alone() {
    // What follows a line is never part of it: more fields, a long tag, a
    // line of digits and commas.
    let afters: [&[u8]; 4] = [b"", b",,,,,,,,", b"\n0x1,+1,7,a.c,9,f,1,", &[b'7'; 200]];
    for line in REAL_LINES {
        let line = line.as_bytes();
        for after in afters {
            let mut buffer = Vec::new();
            assert_eq!(
                read_ahead(&mut buffer, line, after),
                parse_line(line),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }
}

#[test]
fn states_next_to_the_usual_ones_read_ahead_as_alone() {
    // One byte off each starred form, a number too long or missing, and the
    // forms only the byte reader knows.
    for state in [
        "**constructor****",
        "**constructor******",
        "**constructor**64****",
        "**constructor**64**",
        "**constructor**64**1",
        "**constructor**a**1**",
        "**constructor**12345678**1**",
        "**constructor**1**123456789**",
        "**constructor*",
        "**constructorx*",
        "**destructor**lock-state:",
        "**destructor**lock-state:usedx*",
        "**destructor**lock-stale:used**",
        "**destructor**lock-stat:unused**",
        "**destructor**lock-stateXunused**",
        "**destructor**lock-state:none***",
        "**destructor**lock-state:lockobj**",
        "**destructor**lock-state:invalid**",
        "**destructor*",
        "**destructorx**",
        "**invalid**x",
        "**invali**",
        "**invalid*",
        "*",
        "**",
        "+5",
        "-0",
        "123456789",
    ] {
        let line = format!("0x55d79c5001c0,-1,28792,res_pjsip.c,2230,f,{state},tag");
        let line = line.as_bytes();
        let mut buffer = Vec::new();
        assert_eq!(
            read_ahead(&mut buffer, line, b",1,2,3"),
            parse_line(line),
            "{state}"
        );
    }
}

/// The routing key read byte by byte.
fn key_by_bytes(line: &[u8]) -> Option<LineKey> {
    let key = key(line);
    Some(LineKey {
        addr: parse_addr(key)?,
        end: key.len() as u32,
    })
}

#[test]
fn addresses_are_read_sixteen_digits_at_a_time_as_one_by_one() {
    for line in [
        "0x55d79c5001c0,+1,28792,res_pjsip.c,2180,f,1,",
        "0xffffffffffffffff,+1,7,a.c,9,f,1,",
        "0XFFFFFFFFFFFFFFF0 +1   a.c:1:f (t) [@1]",
        "0x1,+1,7,a.c,9,f,1,tag long enough to read sixteen",
        "0x1ffffffffffffffff,+1,7,a.c,9,f,1,",
        "0xg,+1,7,a.c,9,f,1,...................",
        "0x,+1,7,a.c,9,f,1,......................",
        "0x12\t34,+1,7,a.c,9,f,1,..................",
        // each neighbour of a digit range in ASCII
        "0x12/,+1,7,a.c,9,f,1,....................",
        "0x12:,+1,7,a.c,9,f,1,....................",
        "0x12@,+1,7,a.c,9,f,1,....................",
        "0x12G,+1,7,a.c,9,f,1,....................",
        "0x12`,+1,7,a.c,9,f,1,....................",
        "0x12g,+1,7,a.c,9,f,1,....................",
        "0x12\u{b1},+1,7,a.c,9,f,1,...................",
    ] {
        let line = line.as_bytes();
        assert_eq!(
            hex_key(line).or_else(|| key_by_bytes(line)),
            key_by_bytes(line),
            "{}",
            String::from_utf8_lossy(line)
        );
    }
    assert_eq!(
        hex_key(b"0xAbC9,+1,7,a.c,9,f,1,xxxxxxxx").map(|k| (k.addr, k.end)),
        Some((0xabc9, 6))
    );
}

proptest::proptest! {
    #[test]
    fn addresses_read_at_once_are_read_as_byte_by_byte(
        digits in "[0-9a-fA-F]{0,18}",
        prefix in proptest::prop_oneof![proptest::strategy::Just("0x"), proptest::strategy::Just("0X"), proptest::strategy::Just("x0")],
        junk in proptest::prelude::any::<u8>(),
        at in 0usize..20,
        rest in "[ ,+0-9a-zA-Z:/@`\\[\\]\t]{0,24}",
    ) {
        let mut line = format!("{prefix}{digits}{rest}").into_bytes();
        if at < line.len() {
            line[at] = junk;
        }
        proptest::prop_assert_eq!(line_key(&line), key_by_bytes(&line));
    }

    #[test]
    fn one_pass_csv_reader_agrees_with_splitting_on_every_line(
        fields in (0..8usize).map(csv_field).collect::<Vec<_>>(),
        keep in proptest::prop_oneof![3 => proptest::strategy::Just(8usize), 1 => 0usize..8],
        tail in proptest::collection::vec(csv_piece(), 0..3),
        after in trailing_bytes(),
    ) {
        let line = format!("{}{}", fields[..keep].join(","), tail.concat());
        let line = line.as_bytes();
        proptest::prop_assert_eq!(csv::parse(line), csv_by_splitting(line));
        proptest::prop_assert_eq!(parse_keyed(line.into(), line_key(line)), parse_line(line));
        let mut buffer = Vec::new();
        proptest::prop_assert_eq!(read_ahead(&mut buffer, line, &after), parse_line(line));
    }

    #[test]
    fn one_pass_csv_reader_agrees_on_real_lines_with_one_byte_changed(
        which in 0usize..REAL_LINES.len(),
        at in 0usize..120,
        byte in proptest::prelude::any::<u8>(),
        cut in proptest::prelude::any::<bool>(),
        after in trailing_bytes(),
    ) {
        let mut line = REAL_LINES[which].as_bytes().to_vec();
        let at = at % line.len();
        if cut {
            line.truncate(at);
        } else {
            line[at] = byte;
        }
        proptest::prop_assert_eq!(csv::parse(&line), csv_by_splitting(&line));
        proptest::prop_assert_eq!(parse_keyed(line[..].into(), line_key(&line)), parse_line(&line));
        let mut buffer = Vec::new();
        proptest::prop_assert_eq!(read_ahead(&mut buffer, &line, &after), parse_line(&line));
    }
}
