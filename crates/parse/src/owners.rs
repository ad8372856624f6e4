//! Lock owners looked up in gdb: who holds each awaited lock, which a backtrace
//! alone cannot tell.
//!
//! Read forms:
//! - `x/3dw ADDR` → `0x7f67a50f1100 <s1_mutex_a>:\t2\t1\t32380`: lock word, count,
//!   owner LWP (x86-64 glibc `pthread_mutex_t`);
//! - `p *(pthread_mutex_t *) ADDR` → `$1 = {__data = {__lock = 2, __count = 0, __owner = 3803, …`;
//! - `p *(pthread_rwlock_t *) ADDR` → `… __cur_writer = 3803 …` (`__writer` before glibc
//!   2.25; the writer only: glibc does not record readers);
//! - `bt full` locals named `__owner = N` under a lock-wait frame (see [`from_locals`]).
//!
//! For the `p` forms the address comes from the command echoed before the value:
//! `ast-locks gdb-commands` prints `echo === p *(pthread_mutex_t *) ADDR` markers.

use ast_locks_model::{parse_address, Snapshot};

/// One owner found (the model's [`Owner`]).
pub use ast_locks_model::Owner;

/// True when the text holds owner look-ups.
pub fn looks_like(input: &str) -> bool {
    input.lines().take(100_000).any(|l| x3dw(l).is_some())
        || input.contains("__owner = ")
        || input.contains("__cur_writer = ")
}

/// `0x7f67a50f1100 <s1_mutex_a>:\t2\t1\t32380` → (addr, third word).
pub(crate) fn x3dw(line: &str) -> Option<(u64, u64)> {
    let line = line.trim();
    let (head, words) = line.split_once(':')?;
    let addr_text = head.split_whitespace().next()?;
    if !addr_text.starts_with("0x") {
        return None;
    }
    let addr = parse_address(addr_text)?;
    let nums: Vec<i64> = words
        .split_whitespace()
        .map(|w| w.parse::<i64>())
        .collect::<Result<_, _>>()
        .ok()?;
    if nums.len() < 3 {
        return None;
    }
    Some((addr, u64::try_from(nums[2]).ok()?))
}

/// The number after `key = ` in a gdb struct print.
pub(crate) fn field(text: &str, key: &str) -> Option<u64> {
    let at = text.find(key)? + key.len();
    let rest = text[at..].trim_start();
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Read every owner in an owners file, in order; later look-ups of the same
/// address win.
pub fn parse(input: &str) -> Vec<Owner> {
    let mut out: Vec<Owner> = Vec::new();
    let mut current: Option<(u64, bool)> = None;
    for line in input.lines() {
        if let Some((addr, lwp)) = x3dw(line) {
            out.push(Owner {
                addr,
                lwp,
                rwlock_writer: false,
            });
            continue;
        }
        // A `p *(pthread_…_t *) ADDR` command, echoed by gdb or by our markers.
        if let Some(at) = line
            .find("pthread_mutex_t")
            .or_else(|| line.find("pthread_rwlock_t"))
        {
            let rw = line[at..].starts_with("pthread_rwlock_t");
            if let Some(addr) = line[at..]
                .split(|c: char| c.is_whitespace() || c == ')' || c == '(' || c == '*')
                .find(|w| w.starts_with("0x"))
                .and_then(parse_address)
            {
                current = Some((addr, rw));
            }
        }
        if let Some((addr, rw)) = current {
            let value = if rw {
                // glibc 2.25+ calls the writer `__cur_writer`, older ones `__writer`.
                field(line, "__cur_writer =").or_else(|| field(line, "__writer ="))
            } else {
                field(line, "__owner =")
            };
            if let Some(lwp) = value {
                out.push(Owner {
                    addr,
                    lwp,
                    rwlock_writer: rw,
                });
                current = None;
            }
        }
    }
    out
}

/// Owners shown in `bt full` locals of a thread's lock-wait frames: a local
/// `__owner = N` printed under one of the frames below the application frame.
/// Only the wait's own frames are read: Asterisk's tracking structures hold other
/// mutexes whose owners say nothing about this wait.
pub fn from_locals(snapshot: &Snapshot<'_>) -> Vec<Owner> {
    let mut out = Vec::new();
    for t in &snapshot.threads {
        let (Some(e), Some(activity)) = (t.waiting(), &t.activity) else {
            continue;
        };
        let Some(addr) = parse_address(&e.addr) else {
            continue;
        };
        let region = &t.stack[..activity.frame.unwrap_or(t.stack.len())];
        for f in region {
            for local in &f.locals {
                let local = local.trim();
                if let Some(v) = local
                    .strip_prefix("__owner = ")
                    .or_else(|| local.strip_prefix("owner = "))
                {
                    if let Ok(lwp) = v.trim().parse::<u64>() {
                        out.push(Owner {
                            addr,
                            lwp,
                            rwlock_writer: false,
                        });
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_forms_table() {
        let text = "\
[New LWP 32380]
=== x/3dw 0x7f67a50f1100
0x7f67a50f1100 <s1_mutex_a>:\t2\t1\t32380
0x7f67a50f1140:\t2\t1\t32381
0x55ae2104d060 <a>:\t0\t0\t0
=== p *(pthread_mutex_t *) 0x31963f0
$1 = {__data = {__lock = 2, __count = 1, __owner = 9100, __nusers = 1, __kind = 1, __spins = 0, __elision = 0, __list = {__prev = 0x0, __next = 0x0}}, __size = \"\\002\", __align = 4294967298}
(gdb) p *(pthread_rwlock_t *)0x5612aa0c7e40
$2 = {__data = {__readers = 11, __writers = 0, __wrphase_futex = 1, __writers_futex = 1, __pad3 = 0, __pad4 = 0, __cur_writer = 6003, __shared = 0}, __size = \"\", __align = 11}
";
        let got = parse(text);
        assert_eq!(
            got,
            vec![
                Owner {
                    addr: 0x7f67a50f1100,
                    lwp: 32380,
                    rwlock_writer: false
                },
                Owner {
                    addr: 0x7f67a50f1140,
                    lwp: 32381,
                    rwlock_writer: false
                },
                Owner {
                    addr: 0x55ae2104d060,
                    lwp: 0,
                    rwlock_writer: false
                },
                Owner {
                    addr: 0x31963f0,
                    lwp: 9100,
                    rwlock_writer: false
                },
                Owner {
                    addr: 0x5612aa0c7e40,
                    lwp: 6003,
                    rwlock_writer: true
                },
            ]
        );
        assert!(looks_like(text));
        assert!(!looks_like("Thread 1 (LWP 2):\n#0  poll () at x.c:1\n"));
    }

    #[test]
    fn owners_from_bt_full_locals_of_the_wait_frames_only() {
        let text = "\
Thread 2 (Thread 0x7f0000000200 (LWP 202)):
#0  __lll_lock_wait (futex=futex@entry=0x5600000010a0 <m>, private=0) at lowlevellock.c:52
        __owner = 201
#1  0x00007f in __GI___pthread_mutex_lock (mutex=0x5600000010a0 <m>) at ../nptl/pthread_mutex_lock.c:80
        id = <optimized out>
#2  0x000056 in worker (arg=0x0) at demo.c:9
        reentr_mutex = {__data = {__lock = 1, __count = 1, __owner = 999, __nusers = 1}}
        __owner = 777

Thread 1 (Thread 0x7f0000000100 (LWP 201)):
#0  0x00007f in __GI___clock_nanosleep (clock_id=0, flags=0, req=0x7ffc, rem=0x7ffc) at ../sysdeps/unix/sysv/linux/clock_nanosleep.c:48
#1  0x000056 in holder (arg=0x0) at demo.c:4
";
        let dump = crate::gdb::parse_str(text).expect("parses");
        let found = from_locals(&dump.snapshots[0]);
        // The application frame's locals (an unrelated tracking mutex, a local of the
        // same name) are not read.
        assert_eq!(
            found,
            vec![Owner {
                addr: 0x5600000010a0,
                lwp: 201,
                rwlock_writer: false
            }]
        );
    }

    #[test]
    fn real_owner_files() {
        for (file, want) in [
            (
                "asterisk-22.0.0-s1-abba/gdb-mutex-x3dw.txt",
                vec![(0x7f67a50f1100u64, 32380u64), (0x7f67a50f1140, 32381)],
            ),
            (
                "asterisk-18.0.0-s4-convoy/gdb-mutex-x3dw.txt",
                vec![(0x7fdccc4db240, 2823)],
            ),
        ] {
            let text = std::fs::read_to_string(format!(
                "{}/../../testdata/{file}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .expect("sample");
            let got: Vec<(u64, u64)> = parse(&text).into_iter().map(|o| (o.addr, o.lwp)).collect();
            assert_eq!(got, want, "{file}");
        }
    }
}
