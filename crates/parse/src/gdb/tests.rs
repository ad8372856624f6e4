use super::*;
use ast_locks_model::{ActivityKind, LockKind, StackFrame};

#[test]
fn header_table() {
    /// (line, Some((number, pthread id, LWP, name)))
    type Row<'r> = (
        &'r str,
        Option<(u32, Option<&'r str>, Option<u64>, Option<&'r str>)>,
    );
    let rows: &[Row] = &[
        (
            "Thread 24 (Thread 0x7f67a14b86c0 (LWP 32381) \"asterisk\"):",
            Some((24, Some("0x7f67a14b86c0"), Some(32381), Some("asterisk"))),
        ),
        (
            "Thread 24 (Thread 0x7f67a14b86c0 (LWP 32381)):",
            Some((24, Some("0x7f67a14b86c0"), Some(32381), None)),
        ),
        (
            "Thread 3 (Thread 0x7f0c2d4ff700 (LWP 4) \"name with \"quotes\"\"):",
            Some((
                3,
                Some("0x7f0c2d4ff700"),
                Some(4),
                Some("name with \"quotes\""),
            )),
        ),
        ("Thread 2 (LWP 123):", Some((2, None, Some(123), None))),
        ("Thread 1 (process 42):", Some((1, None, Some(42), None))),
        (
            "Thread 1 (Thread 0xb7fe0b40 (LWP 1234)):",
            Some((1, Some("0xb7fe0b40"), Some(1234), None)),
        ),
        ("Thread apply all bt", None),
        ("Thread 2 (LWP 123)", None),
    ];
    for (line, want) in rows {
        let got = header(line).map(|h| (h.num, h.pthread, h.lwp, h.name));
        assert_eq!(got, *want, "{line}");
    }
}

/// (line, level, address, function, file, line, library)
type FrameRow = (
    &'static str,
    u32,
    Option<&'static str>,
    &'static str,
    Option<&'static str>,
    Option<u32>,
    Option<&'static str>,
);

#[test]
fn frame_shapes_across_glibc_and_gdb_versions() {
    let rows: &[FrameRow] = &[
        // glibc 2.36+ with debug info: inlined frames have no address.
        ("#0  futex_wait (private=0, expected=2, futex_word=0x7f67a50f1100 <s1_mutex_a>) at ../sysdeps/nptl/futex-internal.h:146",
         0, None, "futex_wait", Some("../sysdeps/nptl/futex-internal.h"), Some(146), None),
        ("#2  0x00007f67a441e4da in lll_mutex_lock_optimized (mutex=0x7f67a50f1100 <s1_mutex_a>) at ./nptl/pthread_mutex_lock.c:48",
         2, Some("0x00007f67a441e4da"), "lll_mutex_lock_optimized", Some("./nptl/pthread_mutex_lock.c"), Some(48), None),
        // glibc 2.17 (CentOS 7) without debug info.
        ("#0  0x00007f3b2c5b154d in __lll_lock_wait () from /lib64/libpthread.so.0",
         0, Some("0x00007f3b2c5b154d"), "__lll_lock_wait", None, None, Some("/lib64/libpthread.so.0")),
        ("#1  0x00007f3b2c5ace9b in _L_lock_883 () from /lib64/libpthread.so.0",
         1, Some("0x00007f3b2c5ace9b"), "_L_lock_883", None, None, Some("/lib64/libpthread.so.0")),
        // Asterisk frames with @entry arguments and strings holding parentheses.
        ("#3  0x000055dc275f701c in __ast_rwlock_rdlock (filename=0x55dc27707a60 \"pbx.c\", line=8534, func=0x55dc2770a3f0 <__PRETTY_FUNCTION__.1> \"ast_rdlock_context\", t=t@entry=0x7f6da80b7210, name=0x55dc27707b2e \"&(&con)->lock\") at lock.c:914",
         3, Some("0x000055dc275f701c"), "__ast_rwlock_rdlock", Some("lock.c"), Some(914), None),
        ("#5  0x00000000004b6a1c in ?? ()", 5, Some("0x00000000004b6a1c"), "??", None, None, None),
        ("#4  <signal handler called>", 4, None, "<signal handler called>", None, None, None),
        ("#6  0x000055d0 in main (argc=1, argv=0x7ffd) at asterisk.c:4402", 6, Some("0x000055d0"), "main", Some("asterisk.c"), Some(4402), None),
    ];
    for &(line, level, address, function, file, lineno, library) in rows {
        let f = frame(line).unwrap_or_else(|| panic!("no frame from {line}"));
        assert_eq!(f.level, level, "{line}");
        assert_eq!(f.address.as_deref(), address, "{line}");
        assert_eq!(&*f.function, function, "{line}");
        assert_eq!(f.file.as_deref(), file, "{line}");
        assert_eq!(f.line, lineno, "{line}");
        assert_eq!(f.library.as_deref(), library, "{line}");
    }
}

#[test]
fn argument_values() {
    let a = args("filename=0x7f67a50ee042 \"res_deadlock_demo.c\", lineno=80, func=0x7f67a50ef498 <__PRETTY_FUNCTION__.19> \"s1_thread_b\", mutex_name=0x7f67a50ee036 \"&s1_mutex_a\", t=t@entry=0x7f67a50f1100 <s1_mutex_a>");
    assert_eq!(arg(&a, &["lineno"]), Some("80"));
    assert_eq!(
        arg(&a, &["mutex_name"]).and_then(string_in),
        Some("&s1_mutex_a")
    );
    assert_eq!(arg(&a, &["t"]).and_then(hex_in), Some("0x7f67a50f1100"));
    assert_eq!(arg(&a, &["t"]).and_then(symbol_in), Some("s1_mutex_a"));
    let a = args("a=0x1, s=0x2 \"with, comma (and parens)\", b={x = 1, y = 2}, c=3");
    assert_eq!(a.len(), 4);
    assert_eq!(arg(&a, &["c"]), Some("3"));
}

fn stack_of(text: &str) -> Vec<StackFrame<'_>> {
    text.lines().filter_map(|l| frame(l.trim())).collect()
}

#[test]
fn mutex_wait_through_the_asterisk_wrapper() {
    let stack = stack_of(
        "#0  futex_wait (private=0, expected=2, futex_word=0x7f67a50f1100 <s1_mutex_a>) at ../sysdeps/nptl/futex-internal.h:146
         #1  __GI___lll_lock_wait (futex=futex@entry=0x7f67a50f1100 <s1_mutex_a>, private=0) at ./nptl/lowlevellock.c:49
         #2  0x00007f67a441e4da in lll_mutex_lock_optimized (mutex=0x7f67a50f1100 <s1_mutex_a>) at ./nptl/pthread_mutex_lock.c:48
         #3  ___pthread_mutex_lock (mutex=0x7f67a50f1100 <s1_mutex_a>) at ./nptl/pthread_mutex_lock.c:128
         #4  0x00005625d407bc14 in __ast_pthread_mutex_lock (filename=0x7f67a50ee042 \"res_deadlock_demo.c\", lineno=80, func=0x7f67a50ef498 <__PRETTY_FUNCTION__.19> \"s1_thread_b\", mutex_name=0x7f67a50ee036 \"&s1_mutex_a\", t=0x7f67a50f1100 <s1_mutex_a>) at lock.c:353
         #5  0x00007f67a50eb5fa in s1_thread_b (d=0x0) at res_deadlock_demo.c:80
         #6  0x00005625d414c546 in dummy_start (data=0x5625e6155a20) at utils.c:1607",
    );
    let (activity, wait) = classify(&stack);
    assert_eq!(activity.kind, ActivityKind::LockWait);
    assert_eq!(activity.frame, Some(5));
    let w = wait.expect("a lock wait");
    assert_eq!(w.kind, LockKind::Mutex);
    assert_eq!(w.addr.as_deref(), Some("0x7f67a50f1100"));
    assert_eq!(w.name.as_deref(), Some("&s1_mutex_a"));
    let loc = w.location.expect("where");
    assert_eq!(
        (&*loc.file, loc.line, &*loc.function),
        ("res_deadlock_demo.c", 80, "s1_thread_b")
    );
}

#[test]
fn glibc_2_17_without_debug_info_takes_the_address_from_the_wrapper() {
    let stack = stack_of(
        "#0  0x00007f3b2c5b154d in __lll_lock_wait () from /lib64/libpthread.so.0
         #1  0x00007f3b2c5ace9b in _L_lock_883 () from /lib64/libpthread.so.0
         #2  0x00007f3b2c5acd68 in pthread_mutex_lock () from /lib64/libpthread.so.0
         #3  0x00000000004f2b42 in __ast_pthread_mutex_lock (filename=filename@entry=0x5d6f13 \"channel.c\", lineno=lineno@entry=935, func=func@entry=0x5d8a10 <__PRETTY_FUNCTION__.21> \"ast_channel_callback\", mutex_name=mutex_name@entry=0x5d6f87 \"&channels->lock\", t=t@entry=0x31963f0) at lock.c:296
         #4  0x0000000000460bd8 in ast_channel_callback (cb_fn=0x45d6c0, arg=0x0, data=0x0, ao2_flags=0) at channel.c:935",
    );
    let (activity, wait) = classify(&stack);
    assert_eq!(activity.kind, ActivityKind::LockWait);
    let w = wait.expect("a lock wait");
    assert_eq!(
        (w.kind, w.addr.as_deref(), w.name.as_deref()),
        (LockKind::Mutex, Some("0x31963f0"), Some("&channels->lock"))
    );
    assert_eq!(w.location.map(|l| l.line), Some(935));
}

#[test]
fn rwlock_waits_read_and_write() {
    let rd = stack_of(
        "#0  0x00007f6db27b1a35 in pthread_rwlock_rdlock () from /lib64/libpthread.so.0
         #1  0x000055dc275f701c in __ast_rwlock_rdlock (filename=0x55dc27707a60 \"pbx.c\", line=8534, func=0x55dc2770a3f0 <__PRETTY_FUNCTION__.1> \"ast_rdlock_context\", t=t@entry=0x7f6da80b7210, name=0x55dc27707b2e \"&con->lock\") at lock.c:914
         #2  0x000055dc276a8e1d in ast_rdlock_context (con=con@entry=0x7f6da80b7200) at pbx.c:8534",
    );
    let (_, w) = classify(&rd);
    let w = w.expect("read wait");
    assert_eq!(
        (w.kind, w.addr.as_deref(), w.name.as_deref()),
        (LockKind::RdLock, Some("0x7f6da80b7210"), Some("&con->lock"))
    );
    let wr = stack_of(
        "#0  __futex_abstimed_wait_common64 (private=0, cancel=true, abstime=0x0, op=393, expected=3, futex_word=0x55a0c0de004c <rw+12>) at ./nptl/futex-internal.c:57
         #1  __futex_abstimed_wait_common (futex_word=futex_word@entry=0x55a0c0de004c <rw+12>, expected=expected@entry=3, clockid=clockid@entry=0, abstime=abstime@entry=0x0, private=private@entry=0, cancel=cancel@entry=true) at ./nptl/futex-internal.c:87
         #2  0x00007f3a1b3b1f7b in __GI___futex_abstimed_wait64 (futex_word=futex_word@entry=0x55a0c0de004c <rw+12>, expected=expected@entry=3, clockid=clockid@entry=0, abstime=abstime@entry=0x0, private=private@entry=0) at ./nptl/futex-internal.c:139
         #3  0x00007f3a1b3b7b31 in __pthread_rwlock_wrlock_full64 (abstime=0x0, clockid=0, rwlock=0x55a0c0de0040 <rw>) at ./nptl/pthread_rwlock_common.c:730
         #4  ___pthread_rwlock_wrlock (rwlock=0x55a0c0de0040 <rw>) at ./nptl/pthread_rwlock_wrlock.c:26
         #5  0x000055a0c0ddd2d1 in writer_main (arg=0x0) at demo.c:40",
    );
    let (activity, w) = classify(&wr);
    let w = w.expect("write wait");
    assert_eq!(
        (w.kind, w.addr.as_deref(), w.name.as_deref()),
        (LockKind::WrLock, Some("0x55a0c0de0040"), Some("&rw"))
    );
    assert_eq!(activity.frame, Some(5));
    assert_eq!(
        w.location.map(|l| (l.function.into_owned(), l.line)),
        Some(("writer_main".to_string(), 40))
    );
}

#[test]
fn other_activities_and_their_application_frame() {
    let rows: &[(&str, ActivityKind, &str)] = &[
        ("#0  0x00007fdccb89b545 in __GI___clock_nanosleep (clock_id=clock_id@entry=0, flags=flags@entry=0, req=req@entry=0x7fdcc8934d20, rem=rem@entry=0x7fdcc8934d20) at ../sysdeps/unix/sysv/linux/clock_nanosleep.c:48
          #1  0x00007fdccb8a0053 in __GI___nanosleep (req=req@entry=0x7fdcc8934d20, rem=rem@entry=0x7fdcc8934d20) at ../sysdeps/unix/sysv/linux/nanosleep.c:25
          #2  0x00007fdccb8b1a8c in usleep (useconds=<optimized out>) at ../sysdeps/posix/usleep.c:31
          #3  0x00007fdccc4d5a52 in s4_holder (d=0x0) at res_deadlock_demo.c:164",
         ActivityKind::Sleep, "s4_holder"),
        ("#0  __futex_abstimed_wait_common64 (private=0, cancel=true, abstime=0x0, op=393, expected=0, futex_word=0x5625e60ca3a8) at ./nptl/futex-internal.c:57
          #1  __futex_abstimed_wait_common (futex_word=futex_word@entry=0x5625e60ca3a8, expected=expected@entry=0, clockid=clockid@entry=0, abstime=abstime@entry=0x0, private=private@entry=0, cancel=cancel@entry=true) at ./nptl/futex-internal.c:87
          #2  0x00007f67a4417f7b in __GI___futex_abstimed_wait_cancelable64 (futex_word=futex_word@entry=0x5625e60ca3a8, expected=expected@entry=0, clockid=clockid@entry=0, abstime=abstime@entry=0x0, private=private@entry=0) at ./nptl/futex-internal.c:139
          #3  0x00007f67a441a5d8 in __pthread_cond_wait_common (abstime=0x0, clockid=0, mutex=0x5625e60ca358, cond=0x5625e60ca380) at ./nptl/pthread_cond_wait.c:503
          #4  ___pthread_cond_wait (cond=0x5625e60ca380, mutex=0x5625e60ca358) at ./nptl/pthread_cond_wait.c:618
          #5  0x00005625d407cc31 in __ast_cond_wait (filename=0x5625d41d1599 \"bridge.c\", lineno=4891, func=0x5625d41d4630 <__PRETTY_FUNCTION__.43> \"bridge_manager_thread\", cond_name=0x5625d41d15bc \"ao2_object_get_lockaddr(manager)\", mutex_name=0x5625d41d1590 \"manager\", cond=0x5625e60ca380, t=0x5625e60ca358) at lock.c:609
          #6  0x00005625d3fd4c9c in bridge_manager_thread (data=0x5625e60ca3d0) at bridge.c:4891",
         ActivityKind::CondWait, "bridge_manager_thread"),
        ("#0  0x00007f67a448e26f in __GI___poll (fds=0x7fff09c43138, nfds=1, timeout=-1) at ../sysdeps/unix/sysv/linux/poll.c:29
          #1  0x00005625d3fb44d1 in monitor_sig_flags (unused=0x0) at asterisk.c:3966",
         ActivityKind::Poll, "monitor_sig_flags"),
        ("#0  0x00007f1 in __GI___poll (fds=0x7f, nfds=1, timeout=-1) at ../sysdeps/unix/sysv/linux/poll.c:29
          #1  0x00007f2 in pqSocketPoll (sock=5, forRead=1, forWrite=0, end_time=-1) at fe-misc.c:1067
          #2  0x00007f3 in pqWait (forRead=1, forWrite=0, conn=0x55) at fe-misc.c:1007
          #3  0x00007f4 in PQgetResult (conn=0x55) at fe-exec.c:1979
          #4  0x00007f5 in realtime_pgsql (database=0x1, tablename=0x2) at res_config_pgsql.c:420",
         ActivityKind::Database, "pqSocketPoll"),
        ("#0  __futex_abstimed_wait_common64 (private=0, cancel=true, abstime=0x0, op=393, expected=0, futex_word=0x1) at ./nptl/futex-internal.c:57
          #1  0x00007f in ___pthread_cond_wait (cond=0x1, mutex=0x2) at ./nptl/pthread_cond_wait.c:618
          #2  0x00005 in __ast_cond_wait (filename=0x1 \"res_pjsip.c\", lineno=2100, func=0x2 \"ast_sip_push_task_wait\", cond_name=0x3 \"&std.cond\", mutex_name=0x4 \"&std.lock\", cond=0x5, t=0x6) at lock.c:609
          #3  0x00007f in ast_sip_push_task_wait (serializer=0x1, sip_task=0x2, task_data=0x3) at res_pjsip.c:2100
          #4  0x00007f in ast_sip_push_task_wait_serializer (serializer=0x1, sip_task=0x2, task_data=0x3) at res_pjsip.c:2150",
         ActivityKind::TaskWait, "ast_sip_push_task_wait"),
    ];
    for (text, kind, top) in rows {
        let stack = stack_of(text);
        let (activity, wait) = classify(&stack);
        assert_eq!(activity.kind, *kind, "{top}");
        assert!(wait.is_none());
        assert_eq!(activity.frame.map(|i| &*stack[i].function), Some(*top));
    }
}

#[test]
fn real_22_sample_reads_the_cycle() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/asterisk-22.0.0-s1-abba/gdb-thread-apply-all-bt.txt"
    ))
    .expect("sample");
    let dump = parse_str(&text).expect("parses");
    let s = &dump.snapshots[0];
    assert_eq!(s.threads.len(), 24);
    let waits: Vec<(u64, &str, &str, &str)> = s
        .threads
        .iter()
        .filter_map(|t| {
            let e = t.waiting()?;
            Some((t.lwp?, &*e.addr, &*e.name, t.short_name()))
        })
        .collect();
    assert_eq!(
        waits,
        vec![
            (32380, "0x7f67a50f1140", "&s1_mutex_b", "s1_thread_a"),
            (32381, "0x7f67a50f1100", "&s1_mutex_a", "s1_thread_b")
        ]
    );
    assert!(dump.warnings.is_empty(), "{:?}", dump.warnings);
}

#[test]
fn thread_identities_table() {
    // (line, parser, number, pthread id, LWP, name)
    type Row<'r> = (
        &'r str,
        fn(&str) -> Option<Header<'_>>,
        u32,
        Option<&'r str>,
        Option<u64>,
        Option<&'r str>,
    );
    let rows: &[Row] = &[
        (
            "[Switching to thread 164 (Thread 0x7f3111c5a700 (LWP 27844))]",
            switching,
            164,
            Some("0x7f3111c5a700"),
            Some(27844),
            None,
        ),
        (
            "[Current thread is 1 (Thread 0x7f448b97c6c0 (LWP 637628))]",
            switching,
            1,
            Some("0x7f448b97c6c0"),
            Some(637628),
            None,
        ),
        (
            "[Switching to thread 2 (LWP 123)]",
            switching,
            2,
            None,
            Some(123),
            None,
        ),
        ("Thread 3 (process 42):", header, 3, None, Some(42), None),
    ];
    for (line, parse, num, pthread, lwp, name) in rows {
        let h = parse(line).unwrap_or_else(|| panic!("{line}"));
        assert_eq!(
            (h.num, h.pthread, h.lwp, h.name),
            (*num, *pthread, *lwp, *name),
            "{line}"
        );
    }
    // `info threads` rows, gdb 13 and gdb 7.
    type InfoRow<'r> = (&'r str, bool, u32, u64, Option<&'r str>, &'r str);
    let rows: &[InfoRow] = &[
        ("* 1    Thread 0x7f448b97c6c0 (LWP 637628) \"rtpengine\" 0x00007f44 in epoll_wait (epfd=3) at x.c:30", true, 1, 637628, Some("rtpengine"), "0x00007f44 in epoll_wait (epfd=3) at x.c:30"),
        ("  37   Thread 0x7f44717fa6c0 (LWP 637648) \"poller 5\"  futex_wait (private=0) at f.h:146", false, 37, 637648, Some("poller 5"), "futex_wait (private=0) at f.h:146"),
        ("  15 Thread 0x7f034f5d2720 (LWP 5768)  0x00007f034db2c09e in __lll_lock_wait_private () from /lib64/libc.so.6", false, 15, 5768, None, "0x00007f034db2c09e in __lll_lock_wait_private () from /lib64/libc.so.6"),
    ];
    for (line, current, num, lwp, name, frame_text) in rows {
        let (c, h, f) = info_threads_row(line).unwrap_or_else(|| panic!("{line}"));
        assert_eq!(
            (c, h.num, h.lwp, h.name, f),
            (*current, *num, Some(*lwp), *name, *frame_text),
            "{line}"
        );
    }
    for not in [
        "  Id   Target Id   Frame",
        "12 threads wait",
        "#3  f () at x.c:1",
    ] {
        assert!(info_threads_row(not).is_none(), "{not}");
    }
}

#[test]
fn frames_typed_or_shortened_by_hand() {
    // (line, function, file, line, arguments)
    type TypedRow<'r> = (&'r str, &'r str, Option<&'r str>, Option<u32>, &'r str);
    let rows: &[TypedRow] = &[
        ("#0  __lll_lock_wait", "__lll_lock_wait", None, None, ""),
        (
            "#1  pthread_mutex_lock",
            "pthread_mutex_lock",
            None,
            None,
            "",
        ),
        (
            "#4  topic_add_subscription at stasis.c:1273",
            "topic_add_subscription",
            Some("stasis.c"),
            Some(1273),
            "",
        ),
        (
            "#3 get_lock [Attempting to acquire lock: get_lock(lock=0x7f87e2bec228)]",
            "get_lock",
            None,
            None,
            "lock=0x7f87e2bec228",
        ),
        (
            "#5  0x000055 in std::map<int, int>::find (this=0x1) at map.h:10",
            "std::map<int, int>::find",
            Some("map.h"),
            Some(10),
            "this=0x1",
        ),
        (
            "#0  0x00007f42e82ef775 in clock_nanosleep@GLIBC_2.2.5 () from /lib64/libc.so.6",
            "clock_nanosleep@GLIBC_2.2.5",
            None,
            None,
            "",
        ),
    ];
    for (line, function, file, lineno, args) in rows {
        let f = frame(line).unwrap_or_else(|| panic!("{line}"));
        assert_eq!(
            (&*f.function, f.file.as_deref(), f.line, &*f.args),
            (*function, *file, *lineno, *args),
            "{line}"
        );
    }
    for not in ["#1 is the culprit here", "# Heading", "#12345"] {
        assert!(frame(not).is_none(), "{not}");
    }
}

fn paste(text: &str) -> ast_locks_model::Snapshot<'static> {
    let dump = parse_str(text).expect("reads").into_owned();
    dump.snapshots.into_iter().next().expect("a snapshot")
}

#[test]
fn owner_evidence_printed_in_the_paste() {
    let frames = "[Switching to thread 7 (Thread 0x7f00 (LWP 700))]\n\
#0  __lll_lock_wait (futex=futex@entry=0x5610, private=0) at lowlevellock.c:52\n\
#1  0x00007f in __GI___pthread_mutex_lock (mutex=0x5610) at ../nptl/pthread_mutex_lock.c:80\n\
#2  0x000055 in __ast_pthread_mutex_lock (filename=0x1 \"chan.c\", lineno=9, func=0x2 \"f\", mutex_name=0x3 \"&l\", t=0x5610) at lock.c:353\n\
#3  0x000056 in f () at chan.c:9\n";
    // (what follows the stack, the owner LWP read)
    let rows: &[(&str, u64)] = &[
        ("(gdb) x/3dw 0x5610\n0x5610:\t2\t1\t701\n", 701),
        ("(gdb) x/3d 0x5610\n0x5610 <lock>: 2       1       702\n", 702),
        ("(gdb) frame 1\n#1  0x00007f in __GI___pthread_mutex_lock (mutex=0x5610) at ../nptl/pthread_mutex_lock.c:80\n(gdb) p *mutex\n$1 = {__data = {__lock = 2, __count = 0, __owner = 703, __nusers = 1}, __align = 2}\n", 703),
        ("(gdb) frame 1\n(gdb) p mutex->__data.__owner\n$2 = 704\n", 704),
        ("(gdb) p *(pthread_mutex_t *) 0x5610\n$3 = pthread_mutex_t = {Type = Normal, Status = Acquired, possibly with waiters, Owner ID = 705, Robust = No, Shared = No, Protocol = None}\n", 705),
        ("(gdb) frame 2\n(gdb) p *t\n$4 = {mutex = {__data = {__lock = 2, __count = 1, __owner = 706, __nusers = 1, __kind = 1}}, track = 0x0, flags = {tracking = 1, setup = 1}}\n", 706),
    ];
    for (evidence, lwp) in rows {
        let s = paste(&format!("{frames}{evidence}"));
        let owners: Vec<(u64, u64)> = s.owners.iter().map(|o| (o.addr, o.lwp)).collect();
        assert_eq!(owners, vec![(0x5610, *lwp)], "{evidence}");
    }
    // The owner is the waiting thread itself: it holds what it waits for.
    let s = paste(&format!("{frames}(gdb) x/3dw 0x5610\n0x5610:\t2\t1\t700\n"));
    let t = &s.threads[0];
    assert_eq!(t.gdb_num, Some(7));
    assert!(
        t.entries
            .iter()
            .any(|e| e.is_holding() && e.addr == "0x5610"),
        "{t:?}"
    );
}

#[test]
fn stacks_are_sorted_into_their_threads() {
    // A bare bt, then another: two unnamed stacks.
    let s = paste("#0  __lll_lock_wait () at x.S:1\n#1  0x1 in pthread_mutex_lock (mutex=0x10) at m.c:2\n#2  0x2 in a () at a.c:3\n\nand another one:\n#0  poll () at p.c:1\n#1  0x3 in b () at b.c:4\n");
    let ids: Vec<&str> = s.threads.iter().map(|t| &*t.id).collect();
    assert_eq!(ids, ["unnamed stack 1", "unnamed stack 2"]);
    // Pieces of one stack pasted apart: levels go on, one stack.
    let s = paste("#0  __lll_lock_wait () at x.S:1\n#1  0x1 in pthread_mutex_lock (mutex=0x10) at m.c:2\nthen, further down:\n#7  0x2 in a () at a.c:3\n#8  0x3 in main () at m.c:1\n");
    assert_eq!(s.threads.len(), 1);
    assert_eq!(
        s.threads[0]
            .stack
            .iter()
            .map(|f| f.level)
            .collect::<Vec<_>>(),
        [0, 1, 7, 8]
    );
    // A session: `thread 2`, `bt`, then `thread apply all bt` shows it again.
    let s = paste("(gdb) thread 2\n[Switching to thread 2 (Thread 0xb (LWP 12))]\n#0  poll () at p.c:1\n(gdb) bt\n#0  poll () at p.c:1\n#1  0x3 in b () at b.c:4\n(gdb) thread apply all bt\n\nThread 2 (Thread 0xb (LWP 12)):\n#0  poll () at p.c:1\n#1  0x3 in b () at b.c:4\n\nThread 1 (Thread 0xa (LWP 11)):\n#0  pause () at p.c:9\n");
    let ids: Vec<(&str, Option<u32>, usize)> = s
        .threads
        .iter()
        .map(|t| (&*t.id, t.gdb_num, t.stack.len()))
        .collect();
    assert_eq!(ids, [("0xa", Some(1), 1), ("0xb", Some(2), 2)]);
    assert!(s.all_threads);
    // Processes named before their stacks (`kamctl trap`).
    let s = paste("---start 21253 -----\n#0  0x1 in syscall () from /lib64/libc.so.6\n#1  0x2 in futex_get (lock=0x7f03) at futexlock.h:121\n---end 21253 ---\n---start 21247 ---\n#0  0x1 in epoll_wait () from /lib64/libc.so.6\n");
    let ids: Vec<(&str, Option<u64>)> = s.threads.iter().map(|t| (&*t.id, t.lwp)).collect();
    assert_eq!(
        ids,
        [("PID 21253", Some(21253)), ("PID 21247", Some(21247))]
    );
    assert_eq!(s.threads[0].waiting().map(|e| &*e.addr), Some("0x7f03"));
    assert!(!s.all_threads);
}

#[test]
fn what_the_paste_says_of_its_program() {
    let rows: &[(&str, Option<&str>)] = &[
        ("Core was generated by `/usr/bin/rtpengine --config-file=/etc/r.conf'.\n#0  poll () at p.c:1\n", Some("/usr/bin/rtpengine")),
        ("root@pbx:~# gdb /usr/sbin/asterisk core.27801\n#0  poll () at p.c:1\n", Some("/usr/sbin/asterisk")),
        ("$ gdb -p 4242 kamailio\n#0  poll () at p.c:1\n", Some("kamailio")),
        ("gdb attached to it:\n#0  poll () at p.c:1\n", None),
        ("Reading symbols from /usr/sbin/opensips...\n#0  poll () at p.c:1\n", Some("/usr/sbin/opensips")),
    ];
    for (text, want) in rows {
        assert_eq!(paste(text).program.as_deref(), *want, "{text}");
    }
}

#[test]
fn spinning_and_waiting_without_an_address() {
    let spin = stack_of(
        "#0  0x00007fa37a4ac017 in __GI_sched_yield () at ../sysdeps/unix/syscall-template.S:120
         #1  0x000055c9d8a4334c in ast_unreal_lock_all (p=0x1, outchan=0x2, outowner=0x3) at core_unreal.c:73
         #2  0x000055c9d8a433a2 in ast_unreal_queue_frame (p=0x1) at core_unreal.c:240",
    );
    let (activity, wait) = classify(&spin);
    assert_eq!(
        (activity.kind, activity.frame),
        (ActivityKind::Spin, Some(1))
    );
    assert!(wait.is_none());
    // OpenSIPS: a spin lock that cannot be had, with its address.
    let shm = stack_of(
        "#0  0x00007feb5b4232f7 in sched_yield () from /lib64/libc.so.6
         #1  0x00000000004bd305 in get_lock (lock=0x7feb478bbc40) at fastlock.h:182
         #2  tcpconn_destroy (tcpconn=0x7feb478bbc28) at net/net_tcp.c:1502",
    );
    let (activity, wait) = classify(&shm);
    assert_eq!(activity.kind, ActivityKind::Spin);
    assert_eq!(wait.and_then(|w| w.addr).as_deref(), Some("0x7feb478bbc40"));
    // Typed by hand: a lock wait whose address no frame shows.
    let typed =
        stack_of("#0  __lll_lock_wait\n#1  pthread_mutex_lock\n#2  ast_hangup at channel.c:2612");
    let (activity, wait) = classify(&typed);
    assert_eq!(activity.kind, ActivityKind::LockWait);
    let w = wait.expect("a wait");
    assert_eq!((w.kind, w.addr), (LockKind::Mutex, None));
    // A wrapper over a C library without symbols.
    let stripped = stack_of(
        "#0  0x00007f1 in ?? () from /lib64/libpthread.so.0
         #1  0x00007f2 in ?? () from /lib64/libpthread.so.0
         #2  0x000055 in switch_mutex_lock (lock=0x7f9c3c02a350) at src/switch_apr.c:319
         #3  0x000056 in conference_list_pretty (conference=0x1) at mod_conference.c:1744",
    );
    let (activity, wait) = classify(&stripped);
    assert_eq!(activity.kind, ActivityKind::LockWait);
    assert_eq!(wait.and_then(|w| w.addr).as_deref(), Some("0x7f9c3c02a350"));
}

#[test]
fn gdb_and_mail_line_cuts_are_joined() {
    // gdb's own width (four blanks), and a 40-column fold.
    let lines = reader::logical_lines("#2  0x000055f4ea1ed3c8 in __ast_pthread_mutex_lock (filename=<optimized out>, lineno=lineno@entry=639, func=<optimized out>,\n    mutex_name=mutex_name@entry=0x55f4ea34c5dc \"caller\", t=<optimized out>) at lock.c:353\n#0  futex_wait (private=0, expected=2, futex_word=0x55c9d8a460c0 <self_lock>)\n    at ../sysdeps/nptl/futex-internal.h:146\n#1  0x000055d80d1112a4 in monitor_sig_fl\nags (unused=0x0) at asterisk.c:33\n73\n");
    let texts: Vec<&str> = lines.iter().map(|l| &*l.text).collect();
    assert_eq!(
        texts,
        [
            "#2  0x000055f4ea1ed3c8 in __ast_pthread_mutex_lock (filename=<optimized out>, lineno=lineno@entry=639, func=<optimized out>, mutex_name=mutex_name@entry=0x55f4ea34c5dc \"caller\", t=<optimized out>) at lock.c:353",
            "#0  futex_wait (private=0, expected=2, futex_word=0x55c9d8a460c0 <self_lock>) at ../sysdeps/nptl/futex-internal.h:146",
            "#1  0x000055d80d1112a4 in monitor_sig_flags (unused=0x0) at asterisk.c:3373",
        ]
    );
    // gdb's echo of the source line is not a cut line number.
    let lines =
        reader::logical_lines("#3  f (a=1) at x.c:93\n93\t./x.c: No such file or directory.\n");
    assert_eq!(lines.len(), 2);
}
