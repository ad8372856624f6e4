//! ast_coredumper's `-locks.txt`: the `show_locks` gdb macro walks the same lock
//! tracking lists as `core show locks` and prints a table (or, given an argument,
//! CSV). A waiting row can be followed by `held at: <file>:<line> <function>() by
//! 0x<thread>`, which names the holder thread directly.
//!
//! In Asterisk 18 and 22 the shipped macro stops at its first lock ("There is no
//! member named tracking."), and the script hides the error: the file holds only
//! the table header. That is recognised and reported as such.

use ast_locks_model::{
    Dump, InputFormat, Location, LockEntry, LockKind, LockState, Snapshot, Thread, Warning,
};
use std::borrow::Cow;

const TABLE_HEADER: &str = "thread         status";
const CSV_HEADER: &str = "thread,status,file,line,function";

/// True when the text is an ast_coredumper locks file (with or without rows).
pub fn looks_like(input: &str) -> bool {
    input.contains("!@!@!@! locks.txt")
        || input
            .lines()
            .take(10_000)
            .any(|l| l.starts_with(TABLE_HEADER) || l.starts_with(CSV_HEADER))
}

struct Row<'a> {
    thread: &'a str,
    state: LockState,
    kind: LockKind,
    location: Location<'a>,
    name: Cow<'a, str>,
    addr: &'a str,
    times_locked: Option<u32>,
    suspended: bool,
    held_at: Option<(Location<'a>, &'a str)>,
}

fn table_row(line: &str) -> Option<Row<'_>> {
    let t: Vec<&str> = line.split_whitespace().collect();
    if t.len() < 10 || !t[0].starts_with("0x") {
        return None;
    }
    let state = match t[1] {
        "holding" => LockState::Held,
        "waiting" => LockState::Waiting,
        "failed" => LockState::TriedAndFailed,
        _ => return None,
    };
    // From the right: type, address, times locked, suspended, where-held count.
    let n = t.len();
    let (type_at, tail) = if n >= 11 && is_addr(t[n - 4]) {
        (n - 5, &t[n - 4..])
    } else if is_addr(t[n - 3]) {
        (n - 4, &t[n - 3..])
    } else {
        return None;
    };
    let kind = match t[type_at] {
        "M" => LockKind::Mutex,
        "RD" => LockKind::RdLock,
        "WR" => LockKind::WrLock,
        _ => LockKind::Unknown,
    };
    let name_words = &t[5..type_at];
    let name = if name_words.len() == 1 {
        Cow::Borrowed(name_words[0])
    } else {
        Cow::Owned(name_words.join(" "))
    };
    Some(Row {
        thread: t[0],
        state,
        kind,
        location: Location {
            file: Cow::Borrowed(t[2]),
            line: t[3].parse().ok()?,
            function: Cow::Borrowed(t[4]),
        },
        name,
        addr: tail[0],
        times_locked: tail[1].parse().ok(),
        suspended: tail.get(2).is_some_and(|s| *s != "0"),
        held_at: None,
    })
}

fn is_addr(s: &str) -> bool {
    s == "(nil)"
        || (s.starts_with("0x") && s.len() > 2 && s[2..].bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `held at: chan_sip.c:8850 sip_hangup() by 0x7fe0c17fa700`, or the same with
/// blanks instead of the colon.
fn held_at(line: &str) -> Option<(Location<'_>, &str)> {
    let rest = line.trim().strip_prefix("held at:")?.trim();
    let (place, by) = rest.rsplit_once(" by ")?;
    let words: Vec<&str> = place.split_whitespace().collect();
    let (file, lineno, function) = match words.as_slice() {
        [fl, f] => {
            let (file, n) = fl.rsplit_once(':')?;
            (file, n.parse().ok()?, *f)
        }
        [file, n, f] => (*file, n.parse().ok()?, *f),
        _ => return None,
    };
    Some((
        Location {
            file: Cow::Borrowed(file),
            line: lineno,
            function: Cow::Borrowed(function.trim_end_matches("()")),
        },
        by.trim(),
    ))
}

fn csv_row(line: &str) -> Option<Row<'_>> {
    let f: Vec<&str> = line.split(',').collect();
    if f.len() < 11 || !f[0].starts_with("0x") {
        return None;
    }
    // Lock names can hold commas: the fields after the name are fixed, count them
    // from the right (4 more when the where-held fields are there).
    let extra = if f.len() >= 15 && is_addr(f[f.len() - 1]) && f[f.len() - 3].parse::<u32>().is_ok()
    {
        4
    } else {
        0
    };
    let end = f.len() - extra; // index after where_held_count
    let pending: i64 = f[1].trim().parse().ok()?;
    let state = match pending {
        p if p > 0 => LockState::Waiting,
        p if p < 0 => LockState::TriedAndFailed,
        _ => LockState::Held,
    };
    let kind = match f[end - 5].trim() {
        "0" => LockKind::Mutex,
        "1" => LockKind::RdLock,
        "2" => LockKind::WrLock,
        _ => LockKind::Unknown,
    };
    let name_fields = &f[5..end - 5];
    let name = if name_fields.len() == 1 {
        Cow::Borrowed(name_fields[0])
    } else {
        Cow::Owned(name_fields.join(","))
    };
    let held_at = if extra == 4 {
        let w = &f[end..];
        Some((
            Location {
                file: Cow::Borrowed(w[0]),
                line: w[1].trim().parse().ok()?,
                function: Cow::Borrowed(w[2]),
            },
            w[3].trim(),
        ))
    } else {
        None
    };
    Some(Row {
        thread: f[0].trim(),
        state,
        kind,
        location: Location {
            file: Cow::Borrowed(f[2]),
            line: f[3].trim().parse().ok()?,
            function: Cow::Borrowed(f[4]),
        },
        name,
        addr: f[end - 4].trim(),
        times_locked: f[end - 3].trim().parse().ok(),
        suspended: f[end - 2].trim() != "0",
        held_at,
    })
}

fn thread_index<'a>(threads: &mut Vec<Thread<'a>>, id: &'a str, line: usize) -> usize {
    if let Some(i) = threads.iter().position(|t| t.id == id) {
        return i;
    }
    let mut t = Thread::new(id);
    t.line = line;
    threads.push(t);
    threads.len() - 1
}

/// A line that starts a row: `0x… holding`/`waiting`/`failed`, or a CSV row.
fn starts_row(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("0x") else {
        return false;
    };
    let hex = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
    let after = &rest[hex..];
    if let Some(csv) = after.strip_prefix(',') {
        // `0x<thread>,<status>,<file>,…`: a file, not a number, after the status
        // (`0x<lock addr>,1,0,1` is the end of a row cut before its address).
        let mut f = csv.split(',');
        let status = f.next().unwrap_or("");
        let file = f.next();
        return hex > 0
            && status.trim_start_matches('-').parse::<u32>().is_ok()
            && file.is_none_or(|f| f.parse::<u64>().is_err());
    }
    let word = after.split_whitespace().next().unwrap_or("");
    hex > 0 && matches!(word, "holding" | "waiting" | "failed")
}

/// The table with the rows that a mail client or a terminal cut joined again:
/// after the header, a line that is no row, no `held at:` line and no blank
/// continues the row (or `held at:` line) before it. `None` when no line was cut.
fn rejoin(input: &str) -> Option<(String, Vec<usize>)> {
    let mut text = String::with_capacity(input.len());
    let mut origin = Vec::new();
    let mut after_header = false;
    let mut continuable = false;
    let mut joins = 0;
    for (i, raw) in input.split('\n').enumerate() {
        let line = raw.trim_end_matches('\r');
        let piece = after_header
            && continuable
            && !line.trim().is_empty()
            && !starts_row(line)
            && !line.trim_start().starts_with("held at:");
        if piece {
            text.push_str(line);
            joins += 1;
            continue;
        }
        if !origin.is_empty() {
            text.push('\n');
        }
        text.push_str(line);
        origin.push(i + 1);
        if line.starts_with(TABLE_HEADER) || line.starts_with(CSV_HEADER) {
            after_header = true;
        }
        continuable = starts_row(line) || line.trim_start().starts_with("held at:");
    }
    (joins > 0).then_some((text, origin))
}

/// Parse a locks file (rows that pasting cut are joined first).
pub fn parse_str(input: &str) -> Result<Dump<'_>, crate::ParseError> {
    match rejoin(input) {
        None => parse_lines(input, |i| i + 1),
        Some((joined, origin)) => {
            parse_lines(&joined, |i| origin.get(i).copied().unwrap_or(i + 1)).map(Dump::into_owned)
        }
    }
}

/// Parse a locks file whose line `i` (0-based) is input line `lineno(i)`.
fn parse_lines(
    input: &str,
    lineno: impl Fn(usize) -> usize,
) -> Result<Dump<'_>, crate::ParseError> {
    let mut threads: Vec<Thread<'_>> = Vec::new();
    let mut warnings = Vec::new();
    let mut header_line = None;
    let mut rows = 0usize;
    // (thread index, entry index) of the last waiting row, for its `held at:` line.
    let mut last_wait: Option<(usize, usize)> = None;
    let mut holders: Vec<(usize, usize, Location<'_>, &str, usize)> = Vec::new();
    for (i, raw) in input.split('\n').enumerate() {
        let lineno = lineno(i);
        let line = raw.trim_end_matches('\r');
        if line.starts_with(TABLE_HEADER) || line.starts_with(CSV_HEADER) {
            header_line = Some(lineno);
            continue;
        }
        if header_line.is_none() {
            continue;
        }
        if let Some((loc, by)) = held_at(line) {
            match last_wait {
                Some((t, e)) => holders.push((t, e, loc, by, lineno)),
                None => warnings.push(Warning {
                    line: lineno,
                    message: "`held at:` line with no waiting row before it; ignored".to_string(),
                }),
            }
            continue;
        }
        let row = if line.contains(',') {
            csv_row(line)
        } else {
            table_row(line)
        };
        let Some(row) = row else {
            if line.trim_start().starts_with("0x") {
                warnings.push(Warning {
                    line: lineno,
                    message: format!("lock row not understood: `{}`", crate::excerpt(line)),
                });
            }
            continue;
        };
        rows += 1;
        let ti = thread_index(&mut threads, row.thread, lineno);
        let t = &mut threads[ti];
        let mut e = LockEntry::new(t.entries.len() as u32, row.state, row.kind, row.addr);
        e.location = row.location;
        e.name = row.name;
        e.times_locked = row.times_locked;
        e.suspended = row.suspended;
        e.line = lineno;
        t.entries.push(e);
        let ei = t.entries.len() - 1;
        last_wait = (row.state == LockState::Waiting).then_some((ti, ei));
        if let (Some((loc, by)), Some(w)) = (row.held_at, last_wait) {
            holders.push((w.0, w.1, loc, by, lineno));
        }
    }
    if rows == 0 {
        return Err(match header_line {
            Some(line) => crate::ParseError::HeaderOnly { line },
            None => crate::ParseError::NoDump {
                line: 1,
                column: 1,
                found: crate::first_lines(input),
            },
        });
    }
    // `held at … by 0x<thread>` names the holder: its hold is recorded on that
    // thread, even when the thread's own rows are missing.
    for (wt, we, loc, by, lineno) in holders {
        let (name, addr, kind) = {
            let e = &threads[wt].entries[we];
            (e.name.clone(), e.addr.clone(), e.kind)
        };
        threads[wt].entries[we].locked_here.push(loc.clone());
        let by_norm = ast_locks_model::parse_thread_id(by);
        let hi = match threads
            .iter()
            .position(|t| t.id == by || (by_norm.is_some() && t.numeric_id == by_norm))
        {
            Some(i) => i,
            None => thread_index(&mut threads, by, lineno),
        };
        let holds = threads[hi]
            .entries
            .iter()
            .any(|e| e.addr == addr && e.is_holding());
        if !holds && hi != wt {
            let h = &mut threads[hi];
            let held_kind = if kind == LockKind::RdLock {
                LockKind::WrLock
            } else {
                kind
            };
            let mut e = LockEntry::new(h.entries.len() as u32, LockState::Held, held_kind, addr);
            e.name = name;
            e.location = loc;
            e.line = lineno;
            h.entries.push(e);
        }
    }
    Ok(Dump {
        format: InputFormat::CoredumperLocks,
        snapshots: vec![Snapshot {
            threads,
            format: InputFormat::CoredumperLocks,
            ..Snapshot::default()
        }],
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "\
!@!@!@! locks.txt !@!@!@!

                                                                                                                    where_held count-|
                                                                                                                         suspended-| |
                                                                                                        type- |     times locked-| | |
thread         status   file                   line function                             lock name            | lock addr        | | |
0x7f3a1c2fd700 holding  channel.c                2612 ast_hangup                           chan                 M     0x7f3a08012a40  1 0 1
0x7f3a1c2fd700 waiting  bridge.c                 1431 bridge_channel_depart                &bridge->lock        M     0x7f3a0801d320  1 0 1
               held at: bridge.c:2210 bridge_manager_service() by 0x7f3a1c1f0700
0x7f3a1c1f0700 waiting  channel.c                3820 ast_channel_lock_both                chan                 M     0x7f3a08012a40  1 0 1
               held at: channel.c:2612 ast_hangup() by 0x7f3a1c2fd700
0x7f3a1bf80700 failed   pbx.c                     100 pbx_exec                             &con->lock           RD    0x7f3a08020000  0 0 0
";

    #[test]
    fn table_rows_and_held_at_give_the_holders() {
        let d = parse_str(TABLE).expect("parses");
        assert_eq!(d.format, InputFormat::CoredumperLocks);
        let s = &d.snapshots[0];
        let ids: Vec<&str> = s.threads.iter().map(|t| &*t.id).collect();
        assert_eq!(ids, ["0x7f3a1c2fd700", "0x7f3a1c1f0700", "0x7f3a1bf80700"]);
        // The bridge manager's own hold is not in the table: `held at` supplies it.
        let mgr = &s.threads[1];
        assert!(mgr.entries.iter().any(|e| e.is_holding()
            && e.addr == "0x7f3a0801d320"
            && e.location.function == "bridge_manager_service"));
        assert_eq!(mgr.waiting().map(|e| &*e.addr), Some("0x7f3a08012a40"));
        assert_eq!(s.threads[0].waiting().map(|e| e.locked_here.len()), Some(1));
        assert_eq!(s.threads[2].entries[0].state, LockState::TriedAndFailed);
        assert_eq!(s.threads[2].entries[0].kind, LockKind::RdLock);
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    }

    #[test]
    fn csv_rows() {
        let text = "\
thread,status,file,line,function,lock_name,lock_type,lock_addr,times_locked,suspended,where_held_count,where_held_file,where_held_line,where_held_function,there_held_thread
0x7f3a1c2fd700,0,channel.c,2612,ast_hangup,chan,0,0x7f3a08012a40,1,0,1
0x7f3a1c2fd700,1,bridge.c,1431,bridge_channel_depart,&bridge->lock,0,0x7f3a0801d320,1,0,1,bridge.c,2210,bridge_manager_service,0x7f3a1c1f0700
0x7f3a1c1f0700,1,channel.c,3820,ast_channel_lock_both,chan,0,0x7f3a08012a40,1,0,1,channel.c,2612,ast_hangup,0x7f3a1c2fd700
0x7f3a1bf80700,-1,x.c,1,f,odd,name,2,0x10,0,0,0
";
        let d = parse_str(text).expect("parses");
        let s = &d.snapshots[0];
        assert_eq!(s.threads.len(), 3);
        assert!(s.threads[1]
            .entries
            .iter()
            .any(|e| e.is_holding() && e.addr == "0x7f3a0801d320"));
        let odd = &s.threads[2].entries[0];
        assert_eq!(
            (&*odd.name, odd.kind, odd.state),
            ("odd,name", LockKind::WrLock, LockState::TriedAndFailed)
        );
    }

    #[test]
    fn header_only_file_is_recognised() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/asterisk-22.0.0-s1-abba/ast_coredumper-locks.txt"
        ))
        .expect("sample");
        assert!(looks_like(&text));
        assert!(matches!(
            parse_str(&text),
            Err(crate::ParseError::HeaderOnly { .. })
        ));
    }
}
