//! Deterministic synthetic refs logs of the real shape (docs/refs.md): about
//! 80 bytes a line and 4 lines an object, objects of many threads in flight
//! at once, addresses reused as malloc reuses them (last freed, first given),
//! late lines after a destructor now and then, startup objects released by a
//! graceful stop at the end, and a given number of leaks whose culprit is
//! known.
//!
//! ```
//! let spec = ast_locks_synth::refs::RefsSpec { bytes: 100_000, leaks: 3, seed: 1 };
//! let mut log = Vec::new();
//! let made = ast_locks_synth::refs::write(&spec, &mut log).unwrap();
//! assert_eq!(made.leaked.len(), 3);
//! assert!(log.len() as u64 >= spec.bytes);
//! ```

use std::io::{self, Write};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefsSpec {
    /// At least this many bytes of log.
    pub bytes: u64,
    /// Objects that keep a reference nobody releases.
    pub leaks: usize,
    pub seed: u64,
}

/// What was generated: the truth to check a report against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Made {
    pub lines: u64,
    pub bytes: u64,
    pub objects: u64,
    /// The leaked objects' addresses (their culprit is
    /// [`LEAK_SITE`]).
    pub leaked: Vec<u64>,
}

/// Where the leaked reference is taken: `res_leaky.c:433 leaky_hold` with tag `link member`.
pub const LEAK_SITE: (&str, u32, &str, &str) = ("res_leaky.c", 433, "leaky_hold", "link member");

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// (file, line, function, tag) of an object's four lines: made, referenced,
/// released, destroyed.
type Kind = [(&'static str, u32, &'static str, &'static str); 4];

const KINDS: [Kind; 4] = [
    [
        ("channel.c", 1121, "__ast_channel_alloc_ap", "ast_channel"),
        (
            "res_pjsip_session.c",
            2312,
            "ast_sip_session_alloc",
            "session ref",
        ),
        ("res_pjsip_session.c", 2400, "session_destructor", ""),
        ("channel.c", 3117, "ast_channel_release", "release channel"),
    ],
    [
        ("stasis_message.c", 148, "stasis_message_create_full", "msg"),
        ("stasis.c", 1386, "dispatch_message", ""),
        ("stasis.c", 1294, "dispatch_exec_sync", ""),
        ("stasis.c", 1509, "publish_msg", ""),
    ],
    [
        ("taskprocessor.c", 1257, "ast_taskprocessor_push", "task"),
        ("taskprocessor.c", 1290, "taskprocessor_push", "queue"),
        ("taskprocessor.c", 1305, "tps_task_free", ""),
        ("taskprocessor.c", 1310, "ast_taskprocessor_execute", "done"),
    ],
    [
        (
            "res_pjsip.c",
            2180,
            "ast_sip_create_dialog_uac",
            "dialog ref",
        ),
        ("pjsip_distributor.c", 610, "find_dialog", "found"),
        ("pjsip_distributor.c", 640, "distributor", ""),
        ("res_pjsip.c", 2230, "dialog_destroy", "dialog"),
    ],
];

const STARTUP: [(&str, u32, &str); 3] = [
    ("named_locks.c", 54, "ast_named_locks_init"),
    ("taskprocessor.c", 370, "ast_tps_init"),
    ("pbx.c", 8991, "ast_pbx_init"),
];

/// One object in flight.
struct Live {
    addr: u64,
    kind: usize,
    maker: u32,
    user: u32,
    step: u8,
    late: bool,
    leak: bool,
}

struct Out<'w, W: Write> {
    w: &'w mut W,
    buf: Vec<u8>,
    made: Made,
}

impl<W: Write> Out<'_, W> {
    #[allow(clippy::too_many_arguments)]
    fn line(
        &mut self,
        addr: u64,
        delta: &str,
        tid: u32,
        site: (&str, u32, &str, &str),
        state: &str,
    ) -> io::Result<()> {
        let (file, line, func, tag) = site;
        let start = self.buf.len();
        writeln!(
            self.buf,
            "{addr:#x},{delta},{tid},{file},{line},{func},{state},{tag}"
        )?;
        self.made.lines += 1;
        self.made.bytes += (self.buf.len() - start) as u64;
        if self.buf.len() > 1 << 20 {
            self.w.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }
}

/// Write a log to `w`.
pub fn write<W: Write>(spec: &RefsSpec, w: &mut W) -> io::Result<Made> {
    let mut rng = Rng(spec.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut out = Out {
        w,
        buf: Vec::with_capacity(2 << 20),
        made: Made::default(),
    };
    let main_tid = 28766u32;
    let threads: Vec<u32> = (0..24).map(|i| main_tid + 10 + i).collect();
    // Startup objects, released by the graceful stop at the end.
    let startup: Vec<u64> = (0..STARTUP.len() as u64)
        .map(|i| 0x55d7_9c40_0000 + i * 0x700)
        .collect();
    for (addr, (file, line, func)) in startup.iter().zip(STARTUP) {
        let ctor = "**constructor**64**1672**";
        out.line(
            *addr,
            "+1",
            main_tid,
            (file, line, func, "__ao2_container_alloc_hash"),
            ctor,
        )?;
    }
    // Free addresses, last freed first given (as malloc does).
    let mut free: Vec<u64> = (0..4096u64)
        .rev()
        .map(|i| 0x55d7_9c50_0000 + i * 0x70)
        .collect();
    let mut next_fresh = 0x7f5a_1000_0000u64;
    let mut live: Vec<Live> = Vec::new();
    // Leaks spread evenly over the log.
    let leak_every = if spec.leaks == 0 {
        u64::MAX
    } else {
        (spec.bytes / 350 / spec.leaks as u64).max(1)
    };
    let mut object = 0u64;
    while out.made.bytes < spec.bytes || !live.is_empty() {
        let room = out.made.bytes < spec.bytes && live.len() < 32;
        if room && (live.is_empty() || rng.below(3) == 0) {
            let addr = free.pop().unwrap_or_else(|| {
                next_fresh += 0x90;
                next_fresh
            });
            object += 1;
            let leak = object % leak_every == 0 && out.made.leaked.len() < spec.leaks;
            let kind = rng.below(KINDS.len() as u64) as usize;
            let maker = threads[rng.below(threads.len() as u64) as usize];
            let user = threads[rng.below(threads.len() as u64) as usize];
            let size = format!("**constructor**64**{}**", 40 + rng.below(400));
            out.line(addr, "+1", maker, KINDS[kind][0], &size)?;
            if leak {
                out.line(addr, "+1", maker, LEAK_SITE, "1")?;
                out.made.leaked.push(addr);
            }
            live.push(Live {
                addr,
                kind,
                maker,
                user,
                step: 1,
                late: rng.below(500) == 0,
                leak,
            });
            continue;
        }
        let i = rng.below(live.len() as u64) as usize;
        let o = &mut live[i];
        let base = if o.leak { 2 } else { 1 };
        let site = KINDS[o.kind][o.step as usize];
        let (addr, maker, user) = (o.addr, o.maker, o.user);
        match (o.step, o.late) {
            (1, _) => out.line(addr, "+1", user, site, &base.to_string())?,
            (2, false) => out.line(addr, "-1", user, site, &(base + 1).to_string())?,
            // A late line: the releaser's -1 is written after the destructor.
            (2, true) => out.line(
                addr,
                "-1",
                maker,
                KINDS[o.kind][3],
                "**destructor**lock-state:unused**",
            )?,
            (3, false) if o.leak => out.line(addr, "-1", maker, site, "2")?,
            (3, false) => out.line(addr, "-1", maker, site, "**destructor**lock-state:unused**")?,
            (3, true) => out.line(addr, "-1", user, KINDS[o.kind][2], "2")?,
            _ => {}
        }
        o.step += 1;
        if o.step == 4 {
            let done = live.swap_remove(i);
            if !done.leak {
                free.push(done.addr);
            }
        }
    }
    for (addr, (file, line, func)) in startup.iter().zip(STARTUP) {
        let dtor = "**destructor**lock-state:used**";
        out.line(*addr, "-1", main_tid, (file, line, func, "cleanup"), dtor)?;
    }
    out.made.objects = object + startup.len() as u64;
    let Out { w, buf, made } = out;
    w.write_all(&buf)?;
    Ok(made)
}
