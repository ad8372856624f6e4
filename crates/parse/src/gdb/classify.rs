//! What a stack says a thread is doing: the lock it waits for (from the C
//! library's frames and the lock wrappers of Asterisk and other servers), a
//! trylock loop it spins in, or the kind of wait or work, with its first
//! application frame.

use super::grammar::{arg, args, hex_in, string_in, symbol_in};
use ast_locks_model::{Activity, ActivityKind, Location, LockKind, StackFrame};
use std::borrow::Cow;

/// Lock wrappers of Asterisk and the other servers whose tickets carry gdb
/// pastes: the frames that name the lock and who asked for it. Below them the
/// C library waits; a wrapper over a stripped C library (`?? ()`) still says
/// that the thread waits for a lock.
const LOCK_WRAPPERS: &[&str] = &[
    // Asterisk.
    "__ast_pthread_mutex_lock",
    "__ast_rwlock_rdlock",
    "__ast_rwlock_wrlock",
    "__ast_rwlock_timedrdlock",
    "__ast_rwlock_timedwrlock",
    "__ao2_lock",
    "ao2_lock",
    // FreeSWITCH (APR below it).
    "switch_mutex_lock",
    "apr_thread_mutex_lock",
    "switch_thread_rwlock_rdlock",
    "switch_thread_rwlock_wrlock",
    "apr_thread_rwlock_rdlock",
    "apr_thread_rwlock_wrlock",
    // GLib (rtpengine and other GLib programs).
    "g_mutex_lock",
    "g_mutex_lock_slowpath",
    "g_rec_mutex_lock",
    "g_rw_lock_reader_lock",
    "g_rw_lock_writer_lock",
    // pjproject (Asterisk's res_pjsip, baresip).
    "pj_mutex_lock",
    "pj_lock_acquire",
    "pj_grp_lock_acquire",
    "grp_lock_acquire",
    "pj_rwmutex_lock_read",
    "pj_rwmutex_lock_write",
];

/// Trylock wrappers: a thread in one is not waiting.
const TRYLOCK_WRAPPERS: &[&str] = &["__ast_pthread_mutex_trylock", "__ao2_trylock"];

/// Shared-memory locks of Kamailio and OpenSIPS processes: the lock is the
/// `lock=` argument, and a process that cannot have it spins (`sched_yield`)
/// or sleeps in the kernel (futex) until it can.
const SHM_LOCKS: &[&str] = &[
    "futex_get",
    "get_lock",
    "lock_get",
    "_lock_get",
    "spin_lock",
];

/// Retry loops that give the CPU back between trylocks: a thread in one is
/// busy, not blocked.
fn is_retry_loop(function: &str) -> bool {
    function.contains("trylock")
        || function.contains("lock_all")
        || function.contains("deadlock_avoidance")
        || function == "ast_channel_lock_both"
}

/// Other wrappers that are not where the application waits.
const OTHER_WRAPPERS: &[&str] = &[
    "__ast_cond_wait",
    "__ast_cond_timedwait",
    "ast_sem_wait",
    "ast_sem_timedwait",
    "__ast_sem_wait",
    "__ast_sem_timedwait",
];

/// What a C library function says about the wait, innermost decider first.
fn decide(function: &str) -> Option<(ActivityKind, Option<LockKind>)> {
    let f = function;
    let has = |p: &str| f.contains(p);
    if has("pthread_rwlock_rdlock")
        || has("pthread_rwlock_timedrdlock")
        || has("pthread_rwlock_clockrdlock")
    {
        return Some((ActivityKind::LockWait, Some(LockKind::RdLock)));
    }
    if has("pthread_rwlock_wrlock")
        || has("pthread_rwlock_timedwrlock")
        || has("pthread_rwlock_clockwrlock")
    {
        return Some((ActivityKind::LockWait, Some(LockKind::WrLock)));
    }
    if f == "__lll_lock_wait_private" {
        // A C library internal lock (malloc arenas, stdio): not an application lock.
        return Some((ActivityKind::Other, None));
    }
    if has("pthread_mutex_lock")
        || has("pthread_mutex_timedlock")
        || has("pthread_mutex_clocklock")
        || has("pthread_mutex_cond_lock")
        || has("lll_lock_wait")
        || f.starts_with("_L_lock_")
        || f == "lll_mutex_lock_optimized"
        || f == "g_mutex_lock_slowpath"
        || f == "futex_get"
    {
        return Some((ActivityKind::LockWait, Some(LockKind::Mutex)));
    }
    if has("pthread_cond_wait") || has("pthread_cond_timedwait") || has("pthread_cond_clockwait") {
        return Some((ActivityKind::CondWait, None));
    }
    if has("sem_wait") || has("sem_timedwait") || has("sem_clockwait") {
        return Some((ActivityKind::SemWait, None));
    }
    if matches!(
        f,
        "poll"
            | "__poll"
            | "__GI___poll"
            | "ppoll"
            | "__ppoll"
            | "epoll_wait"
            | "__GI_epoll_wait"
            | "epoll_pwait"
            | "select"
            | "__select"
            | "___select"
            | "pselect"
            | "__pselect"
    ) || f.ends_with("epoll_wait")
    {
        return Some((ActivityKind::Poll, None));
    }
    if is_yield(f) {
        return Some((ActivityKind::Spin, None));
    }
    if is_sleep(f) {
        return Some((ActivityKind::Sleep, None));
    }
    if matches!(
        f,
        "read"
            | "__read"
            | "__libc_read"
            | "__GI___libc_read"
            | "recv"
            | "__libc_recv"
            | "recvfrom"
            | "__libc_recvfrom"
            | "recvmsg"
            | "__libc_recvmsg"
            | "accept"
            | "__libc_accept"
            | "accept4"
            | "write"
            | "__libc_write"
            | "__GI___libc_write"
            | "send"
            | "__libc_send"
            | "sendto"
            | "__libc_sendto"
            | "connect"
            | "__libc_connect"
    ) {
        return Some((ActivityKind::Io, None));
    }
    if has("pthread_join") || has("pthread_clockjoin") || has("pthread_timedjoin") {
        return Some((ActivityKind::Join, None));
    }
    None
}

/// `sched_yield ()` and its glibc names.
fn is_yield(f: &str) -> bool {
    f.ends_with("sched_yield")
}

fn is_sleep(f: &str) -> bool {
    f.contains("nanosleep") || matches!(f, "usleep" | "sleep" | "__sleep")
}

/// Frames that belong to the C library or to a lock or wait wrapper, not to the
/// code that decided to wait.
fn is_wrapper(f: &StackFrame<'_>) -> bool {
    let name: &str = &f.function;
    if LOCK_WRAPPERS.contains(&name)
        || TRYLOCK_WRAPPERS.contains(&name)
        || OTHER_WRAPPERS.contains(&name)
        || SHM_LOCKS.contains(&name)
    {
        return true;
    }
    if decide(name).is_some() {
        return true;
    }
    if name.starts_with("__GI_")
        || name.starts_with("___")
        || name.starts_with("__futex")
        || name.starts_with("futex_")
        || name.starts_with("lll_")
        || name.starts_with("__lll_")
        || name.starts_with("_L_")
        || name.starts_with("__new_sem")
        || name == "do_futex_wait"
        || name == "syscall"
        || name == "__syscall_cancel_arch"
        || name == "__internal_syscall_cancel"
        || name == "__syscall_cancel"
        || name == "??"
    {
        return true;
    }
    let libc_file = f.file.as_deref().is_some_and(|file| {
        file.starts_with("./nptl/")
            || file.starts_with("../nptl/")
            || file.starts_with("../sysdeps/")
            || file.starts_with("./sysdeps/")
            || file.contains("/glibc")
    });
    let libc_lib = f
        .library
        .as_deref()
        .is_some_and(|l| l.contains("libc.so") || l.contains("libpthread.so"));
    libc_file || libc_lib
}

/// Database client libraries: a thread inside one is "in a database call".
fn is_database(function: &str) -> bool {
    function.starts_with("SQL")
        || function.starts_with("sqlite3")
        || function.starts_with("PQ")
        || function.starts_with("pq")
        || function.starts_with("mysql_")
        || function.starts_with("__db_")
        || function.starts_with("__bam_")
        || function.contains("odbc")
}

/// Synchronous task pushes: a condition wait under one waits for a task to finish.
fn is_task_wait(function: &str) -> bool {
    (function.contains("push_task")
        && (function.contains("wait") || function.contains("synchronous")))
        || function.contains("taskprocessor_push_wait")
        || function == "ast_sip_push_task_wait_servant"
        || function == "ast_sip_push_task_wait_serializer"
        || function == "ast_threadpool_push_wait"
        || function == "stasis_message_router_publish_sync"
}

/// A lock wait read from a stack. Its text is copied out of the frames (only
/// waiting threads have one, so the copy is small).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockWait {
    /// Mutex, read or write lock.
    pub kind: LockKind,
    /// The lock address (`0x…`), when any frame shows it.
    pub addr: Option<String>,
    /// The lock's name: the wrapper's `mutex_name`/`name`/`var` string, else `&symbol`.
    pub name: Option<String>,
    /// Where the application asked for the lock.
    pub location: Option<Location<'static>>,
}

/// Classify a stack: what the thread is doing, its top application frame, and
/// the lock wait when it is one.
pub fn classify(stack: &[StackFrame<'_>]) -> (Activity, Option<LockWait>) {
    let top = stack.iter().position(|f| !is_wrapper(f));
    let region = &stack[..top.unwrap_or(stack.len())];
    let app = &stack[top.unwrap_or(stack.len())..];
    let decided = region.iter().find_map(|f| decide(&f.function));
    let (mut kind, lock_kind) = match decided {
        Some(d) => (d.0, d.1),
        None => match wrapper_wait(region) {
            // A lock wrapper over frames without symbols (a stripped C library).
            Some(k) => (ActivityKind::LockWait, Some(k)),
            None => (ActivityKind::Other, None),
        },
    };
    let shm = region.iter().find(|f| SHM_LOCKS.contains(&&*f.function));
    match kind {
        // `sched_yield` under a shared-memory lock: spinning for that lock.
        ActivityKind::Spin if shm.is_some() => {}
        // `sched_yield` or a sleep directly under a retry loop: busy, not blocked.
        ActivityKind::Spin => {}
        ActivityKind::Sleep if app.first().is_some_and(|f| is_retry_loop(&f.function)) => {
            kind = ActivityKind::Spin;
        }
        ActivityKind::LockWait => {}
        _ => {
            if app.iter().take(12).any(|f| is_database(&f.function)) {
                kind = ActivityKind::Database;
            } else if kind == ActivityKind::CondWait
                && app.iter().take(6).any(|f| is_task_wait(&f.function))
            {
                kind = ActivityKind::TaskWait;
            }
        }
    }
    let activity = Activity { kind, frame: top };
    let lock_kind = match (kind, lock_kind, shm) {
        (ActivityKind::LockWait, Some(k), _) => k,
        // A spin lock of shared memory: the process waits for it, busily.
        (ActivityKind::Spin | ActivityKind::LockWait, _, Some(_)) => LockKind::Mutex,
        _ => return (activity, None),
    };
    (activity, Some(lock_wait(stack, region, top, lock_kind)))
}

/// The kind of lock a wrapper waits for when no C library frame says it.
fn wrapper_wait(region: &[StackFrame<'_>]) -> Option<LockKind> {
    if region
        .iter()
        .any(|f| TRYLOCK_WRAPPERS.contains(&&*f.function))
    {
        return None;
    }
    let w = region
        .iter()
        .find(|f| LOCK_WRAPPERS.contains(&&*f.function))?;
    let name: &str = &w.function;
    Some(
        if name.contains("rdlock") || name.contains("reader") || name.contains("read") {
            LockKind::RdLock
        } else if name.contains("wrlock") || name.contains("writer") || name.contains("write") {
            LockKind::WrLock
        } else {
            LockKind::Mutex
        },
    )
}

/// The lock a waiting stack waits for: its address, name and the place that
/// asked for it.
fn lock_wait(
    stack: &[StackFrame<'_>],
    region: &[StackFrame<'_>],
    top: Option<usize>,
    lock_kind: LockKind,
) -> LockWait {
    // The outermost Asterisk wrapper is the one the application called
    // (`__ao2_lock` above `__ast_pthread_mutex_lock`): its arguments say who asked.
    let wrapper = region
        .iter()
        .rev()
        .find(|f| LOCK_WRAPPERS.contains(&&*f.function));
    let wrapper_args = wrapper.map(|f| args(&f.args)).unwrap_or_default();
    let (addr, sym) = lock_address(region, lock_kind);
    let mut name: Option<String> = None;
    for f in region
        .iter()
        .filter(|f| LOCK_WRAPPERS.contains(&&*f.function))
    {
        let a = args(&f.args);
        if let Some(s) = arg(&a, &["mutex_name", "name", "var"]).and_then(string_in) {
            name = Some(s.to_string());
            break;
        }
    }
    if name.is_none() {
        name = sym.map(|s| format!("&{s}"));
    }
    let location = match (
        arg(&wrapper_args, &["filename", "file"]).and_then(string_in),
        arg(&wrapper_args, &["lineno", "line"])
            .and_then(|v| v.split_whitespace().next()?.parse::<u32>().ok()),
        arg(&wrapper_args, &["func"]).and_then(string_in),
    ) {
        (Some(file), Some(line), Some(function)) => Some(Location {
            file: Cow::Owned(file.to_string()),
            line,
            function: Cow::Owned(function.to_string()),
        }),
        _ => top.and_then(|t| {
            let f = &stack[t];
            Some(Location {
                file: Cow::Owned(f.file.as_deref()?.to_string()),
                line: f.line?,
                function: Cow::Owned(f.function.to_string()),
            })
        }),
    };
    LockWait {
        kind: lock_kind,
        addr: addr.map(str::to_string),
        name,
        location,
    }
}

/// The address of the awaited lock, and gdb's symbol for it: the C library's
/// `mutex=`/`rwlock=` (the pthread lock itself), else the Asterisk wrapper's `t`
/// (for ao2 objects the mutex in the object's header, as `core show locks`
/// prints it), else another wrapper's or a shared-memory lock's argument, else
/// (mutexes only) the futex word, which is the mutex's first field.
fn lock_address<'s>(
    region: &'s [StackFrame<'_>],
    lock_kind: LockKind,
) -> (Option<&'s str>, Option<&'s str>) {
    let first = |names: &[&str], only: &dyn Fn(&StackFrame<'_>) -> bool| {
        region.iter().filter(|f| only(f)).find_map(|f| {
            let v = arg(&args(&f.args), names)?;
            Some((hex_in(v)?, symbol_in(v)))
        })
    };
    let c_library = |f: &StackFrame<'_>| decide(&f.function).is_some();
    let asterisk = |f: &StackFrame<'_>| {
        LOCK_WRAPPERS.contains(&&*f.function) && f.function.starts_with("__ast")
    };
    let wrappers = |f: &StackFrame<'_>| {
        LOCK_WRAPPERS.contains(&&*f.function) || SHM_LOCKS.contains(&&*f.function)
    };
    let found = first(&["mutex", "rwlock"], &c_library)
        .or_else(|| first(&["t", "rwlock", "mutex"], &asterisk))
        .or_else(|| first(&["mutex", "lock", "rwlock", "grp_lock", "rw"], &wrappers))
        .or_else(|| {
            if lock_kind == LockKind::Mutex {
                first(&["futex", "futex_word"], &|_| true)
            } else {
                None
            }
        });
    match found {
        Some((addr, sym)) => (Some(addr), sym),
        None => (None, None),
    }
}

/// The thread's start routine: the frame that `dummy_start` (Asterisk) or
/// `start_thread` (glibc) called.
pub(crate) fn start_routine<'a>(stack: &[StackFrame<'a>]) -> Option<Cow<'a, str>> {
    let outer = stack
        .iter()
        .position(|f| f.function == "dummy_start")
        .or_else(|| stack.iter().position(|f| f.function == "start_thread"))?;
    let f = stack.get(outer.checked_sub(1)?)?;
    (f.function != "??").then(|| f.function.clone())
}
