//! One worker's share of the addresses: the lifetime state machine of
//! docs/refs.md ("Lifetimes, not addresses"), fed one line at a time.
//!
//! An address holds at most one *current* lifetime and one *closing* lifetime.
//! Closing lifetimes are those whose destructor line was written while releases
//! of other threads are still to come (a late line), and those a constructor at
//! the same address superseded before their destructor line arrived (the memory
//! was freed and handed out again before the destructor line was written).
//! Lifetimes end when they were destroyed and their changes sum to zero; the
//! lines of a finished lifetime are dropped at once, so memory follows the
//! objects alive at one time, not the length of the log.

use super::{Invalid, InvalidKind, RefsCounts, Variant};
use ast_locks_model::refs::{LineBytes, LineKey, LineState, RefEvent, RefLine, RefsGrammar};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;

/// The lifetime began with a constructor line.
pub(super) const CONSTRUCTED: u8 = 1;
/// Its destructor line was seen (or, in the legacy format, its count reached 0).
pub(super) const DESTROYED: u8 = 2;
/// A release took its count below zero: the object is never freed.
pub(super) const BROKEN: u8 = 4;
/// Allocated by Asterisk's startup (a core `*_init` function).
pub(super) const INIT: u8 = 8;
/// Read from a legacy log: no destructor lines to wait for.
const LEGACY: u8 = 16;

/// Default tags astobj2 writes (`main/astobj2_container.c`).
pub(super) const ITERATOR_INIT: &[u8] = b"Init iterator with container.";
pub(super) const ITERATOR_DESTROY: &[u8] = b"Unref iterator in ao2_iterator_destroy";
pub(super) const ITERATOR_NEXT: &[u8] = b"Next iterator object.";
pub(super) const CONTAINER_ALLOC: &[u8] = b"__ao2_container_alloc";

/// One object's life, as far as the log shows it.
pub(super) struct Lifetime {
    /// Line number of its first line.
    pub start: u64,
    /// The sum of its changes (for a skewed lifetime, from the first line's count).
    pub sum: i64,
    pub flags: u8,
    /// The count the first line implies, for a lifetime without a constructor.
    pub count_at_start: i64,
    /// Its lines as written, one after the other.
    raw: Vec<u8>,
    events: Vec<Stored>,
    /// Lines dropped by [`Lifetime::compact`].
    pub elided: u64,
    compact_at: usize,
    /// Which stored line destroyed it.
    destroyed_by: Option<usize>,
    /// The lines from this one on are still only in the chunk being read
    /// ([`NONE_PENDING`]: none are): most lifetimes end in the chunk they
    /// began in, and their lines are then never copied.
    pending_from: u32,
    pub extra: Option<Box<Extra>>,
}

const NONE_PENDING: u32 = u32::MAX;

/// Where one stored line is: in the lifetime's own bytes, or, while pending,
/// in the chunk being read.
#[derive(Clone, Copy)]
struct Stored {
    line_no: u64,
    start: u32,
    len: u32,
}

/// A line being applied: its number, its bytes, and where they start in the
/// chunk being read, which is kept until the shard is told the chunk is done.
#[derive(Clone, Copy)]
pub(super) struct ChunkLine<'a> {
    pub no: u64,
    pub bytes: &'a [u8],
    pub at: u32,
    pub chunk: &'a [u8],
}

impl ChunkLine<'_> {
    /// Its place in the chunk.
    fn stored(&self) -> Stored {
        Stored {
            line_no: self.no,
            start: self.at,
            len: u32::try_from(self.bytes.len()).unwrap_or(u32::MAX),
        }
    }
}

/// What only a few lifetimes need: container iterations and iterator steps.
#[derive(Default)]
pub(super) struct Extra {
    /// Allocated as a container, or iterated as one.
    pub container: bool,
    /// Iterations begun and not yet ended: (thread, line).
    open_windows: Vec<(u32, u64)>,
    /// Ended iterations: (thread, first line, last line); the latest are kept.
    pub windows: VecDeque<(u32, u64, u64)>,
    /// Lines where an iterator handed this object out: (thread, line).
    pub iterated: VecDeque<(u32, u64)>,
}

const MAX_WINDOWS: usize = 256;
const MAX_ITERATED: usize = 16;

impl Lifetime {
    fn new(start: u64, sum: i64, flags: u8) -> Lifetime {
        Lifetime {
            start,
            sum,
            flags,
            count_at_start: sum,
            raw: Vec::new(),
            events: Vec::new(),
            elided: 0,
            compact_at: 0,
            destroyed_by: None,
            pending_from: NONE_PENDING,
            extra: None,
        }
    }

    fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// Add a line, kept as its place in the chunk until [`Lifetime::settle`];
    /// whether it is the first such line (the caller then notes the address).
    fn push(&mut self, line: &ChunkLine<'_>) -> bool {
        let first = self.pending_from == NONE_PENDING;
        if first {
            self.pending_from = u32::try_from(self.events.len()).unwrap_or(NONE_PENDING);
        }
        self.events.push(line.stored());
        first
    }

    /// Copy the lines still only in `chunk` into the lifetime's own bytes.
    fn settle(&mut self, chunk: &[u8]) {
        let Some(pending) = self.events.get_mut(self.pending_from as usize..) else {
            return;
        };
        if self.raw.is_empty() {
            self.raw
                .reserve(pending.iter().map(|s| s.len as usize).sum::<usize>() * 2);
        }
        for s in pending {
            let start = s.start as usize;
            let bytes = chunk.get(start..start + s.len as usize).unwrap_or_default();
            s.start = u32::try_from(self.raw.len()).unwrap_or(u32::MAX);
            self.raw.extend_from_slice(bytes);
        }
        self.pending_from = NONE_PENDING;
    }

    /// Stored line `i`: its place in the chunk while it is pending, else its
    /// bytes.
    fn burial(&self, i: usize) -> Option<Burial<'_>> {
        let s = *self.events.get(i)?;
        Some(if i >= self.pending_from as usize {
            Burial::InChunk(s)
        } else {
            Burial::Bytes(s.line_no, self.line(&s))
        })
    }

    /// A stored line of a settled lifetime.
    fn line(&self, s: &Stored) -> &[u8] {
        let start = s.start as usize;
        self.raw
            .get(start..start + s.len as usize)
            .unwrap_or_default()
    }

    fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// Every stored line as an event (lines that do not parse again are left out;
    /// they all parsed once). Of a settled lifetime.
    pub fn events(&self, grammar: &RefsGrammar) -> Vec<RefEvent> {
        self.events
            .iter()
            .filter_map(|s| {
                (grammar.parse)(self.line(s).into(), None)
                    .ok()
                    .map(|l| l.to_event(s.line_no))
            })
            .collect()
    }

    fn first(&self, grammar: &RefsGrammar) -> Option<RefEvent> {
        let s = self.events.first()?;
        (grammar.parse)(self.line(s).into(), None)
            .ok()
            .map(|l| l.to_event(s.line_no))
    }

    /// The line that destroyed it.
    fn destroyer(&self) -> Option<Burial<'_>> {
        self.burial(self.destroyed_by?)
    }

    /// Its constructor line, if the log shows it.
    fn constructor(&self) -> Option<Burial<'_>> {
        if !self.has(CONSTRUCTED) {
            return None;
        }
        self.burial(0)
    }

    /// A lifetime with very many lines (a global object referenced all day)
    /// keeps its constructor and the references not yet released, and counts
    /// the rest, so that it cannot grow without bound.
    fn compact(&mut self, grammar: &RefsGrammar, floor: usize, chunk: &[u8]) {
        self.settle(chunk);
        let events = self.events(grammar);
        let mut keep: Vec<bool> = vec![false; self.events.len()];
        if let Some(first) = keep.first_mut() {
            *first = self.has(CONSTRUCTED);
        }
        if events.len() == self.events.len() {
            for (index, _) in super::matching::unreleased(&events) {
                keep[index] = true;
            }
        }
        let destroyed_by = self.destroyed_by;
        let mut raw = Vec::new();
        let mut kept = Vec::new();
        let mut new_destroyer = None;
        for (i, s) in self.events.iter().enumerate() {
            if keep[i] || Some(i) == destroyed_by {
                if Some(i) == destroyed_by {
                    new_destroyer = Some(kept.len());
                }
                let start = raw.len();
                raw.extend_from_slice(self.line(s));
                kept.push(Stored {
                    line_no: s.line_no,
                    start: u32::try_from(start).unwrap_or(u32::MAX),
                    len: s.len,
                });
            }
        }
        self.elided += (self.events.len() - kept.len()) as u64;
        self.raw = raw;
        self.events = kept;
        self.destroyed_by = new_destroyer;
        self.compact_at = (self.events.len() * 2).max(floor);
    }
}

/// A line and its number.
type NumberedLine<'a> = (u64, &'a [u8]);

/// What is at one address.
#[derive(Default)]
struct Slot {
    current: Option<Lifetime>,
    closing: Option<Box<Lifetime>>,
}

impl Slot {
    fn settle(&mut self, chunk: &[u8]) {
        if let Some(current) = self.current.as_mut() {
            current.settle(chunk);
        }
        if let Some(closing) = self.closing.as_mut() {
            closing.settle(chunk);
        }
    }
}

/// The lifetimes destroyed last, by address, to name the release that freed an
/// object when a later line refers to it. Two generations of bounded size: the
/// memory stays flat however long the log, and the last `cap` destructions at
/// least are always remembered. A grave of the chunk being read keeps only the
/// places of its lines there, and copies them when the chunk is done if it is
/// still the last grave of its address: an address is reused many times within
/// a chunk, as malloc hands the memory freed last out first.
struct Graveyard {
    current: Generation,
    previous: Generation,
    cap: usize,
    /// Addresses buried during the chunk being read.
    in_chunk: Vec<u64>,
}

#[derive(Default)]
struct Generation {
    map: FxHashMap<u64, Grave>,
    arena: Vec<u8>,
}

#[derive(Clone, Copy)]
struct Grave {
    constructor: Option<GraveLine>,
    end: GraveLine,
}

/// A buried line: in the generation's arena, or in the chunk being read.
#[derive(Clone, Copy)]
struct GraveLine {
    line_no: u64,
    start: u32,
    len: u32,
    in_chunk: bool,
}

/// A line to bury: its place in the chunk being read, or its bytes.
#[derive(Clone, Copy)]
enum Burial<'a> {
    InChunk(Stored),
    Bytes(u64, &'a [u8]),
}

const ARENA_CAP: usize = 4 << 20;

impl Burial<'_> {
    /// The line and its number (`chunk`: the chunk being read).
    fn read<'a>(self, chunk: &'a [u8]) -> NumberedLine<'a>
    where
        Self: 'a,
    {
        match self {
            Burial::InChunk(s) => {
                let start = s.start as usize;
                let bytes = chunk.get(start..start + s.len as usize);
                (s.line_no, bytes.unwrap_or_default())
            }
            Burial::Bytes(line_no, bytes) => (line_no, bytes),
        }
    }
}

impl Grave {
    fn settle(&mut self, arena: &mut Vec<u8>, chunk: &[u8]) {
        if let Some(constructor) = self.constructor.as_mut() {
            constructor.settle(arena, chunk);
        }
        self.end.settle(arena, chunk);
    }
}

impl GraveLine {
    fn read<'a>(&self, arena: &'a [u8], chunk: &'a [u8]) -> NumberedLine<'a> {
        let from = if self.in_chunk { chunk } else { arena };
        let start = self.start as usize;
        let bytes = from.get(start..start + self.len as usize);
        (self.line_no, bytes.unwrap_or_default())
    }

    /// Copy the line out of `chunk` into `arena`.
    fn settle(&mut self, arena: &mut Vec<u8>, chunk: &[u8]) {
        if self.in_chunk {
            let (_, bytes) = self.read(&[], chunk);
            self.start = u32::try_from(arena.len()).unwrap_or(u32::MAX);
            arena.extend_from_slice(bytes);
            self.in_chunk = false;
        }
    }
}

impl Graveyard {
    fn new(cap: usize) -> Graveyard {
        Graveyard {
            current: Generation::default(),
            previous: Generation::default(),
            cap,
            in_chunk: Vec::new(),
        }
    }

    fn bury(&mut self, addr: u64, constructor: Option<Burial<'_>>, end: Burial<'_>) {
        if self.current.map.len() >= self.cap || self.current.arena.len() >= ARENA_CAP {
            std::mem::swap(&mut self.current, &mut self.previous);
            self.current.map.clear();
            self.current.arena.clear();
        }
        let arena = &mut self.current.arena;
        let mut put = |burial: Burial<'_>| match burial {
            Burial::InChunk(s) => GraveLine {
                line_no: s.line_no,
                start: s.start,
                len: s.len,
                in_chunk: true,
            },
            Burial::Bytes(line_no, bytes) => {
                let start = u32::try_from(arena.len()).unwrap_or(u32::MAX);
                arena.extend_from_slice(bytes);
                GraveLine {
                    line_no,
                    start,
                    len: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
                    in_chunk: false,
                }
            }
        };
        let grave = Grave {
            constructor: constructor.map(&mut put),
            end: put(end),
        };
        self.current.map.insert(addr, grave);
        self.in_chunk.push(addr);
    }

    /// The constructor and the destroying line of the last lifetime destroyed
    /// at `addr` (`chunk`: the chunk being read).
    fn find<'a>(
        &'a self,
        addr: u64,
        chunk: &'a [u8],
    ) -> Option<(Option<NumberedLine<'a>>, NumberedLine<'a>)> {
        [&self.current, &self.previous].into_iter().find_map(|g| {
            let grave = g.map.get(&addr)?;
            let get = |line: GraveLine| line.read(&g.arena, chunk);
            Some((grave.constructor.map(get), get(grave.end)))
        })
    }

    /// Whether a lifetime was destroyed at `addr` lately.
    fn has(&self, addr: u64) -> bool {
        self.current.map.contains_key(&addr) || self.previous.map.contains_key(&addr)
    }

    /// The chunk is done: the graves buried in it copy their lines. The
    /// addresses buried are listed once a burial, so when the graveyard has
    /// fewer graves than that (a few addresses reused all the time), it is
    /// gone through whole instead.
    fn chunk_done(&mut self, chunk: &[u8]) {
        for g in [&mut self.current, &mut self.previous] {
            if g.map.len() <= self.in_chunk.len() {
                for grave in g.map.values_mut() {
                    grave.settle(&mut g.arena, chunk);
                }
            } else {
                for addr in &self.in_chunk {
                    if let Some(grave) = g.map.get_mut(addr) {
                        grave.settle(&mut g.arena, chunk);
                    }
                }
            }
        }
        self.in_chunk.clear();
    }
}

/// One lifetime at the `--history` address.
pub(super) struct HistoryLifetime {
    pub lifetime: Lifetime,
    pub outcome: Outcome,
}

/// How a lifetime ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Destroyed, its changes summing to zero.
    Finished,
    /// Destroyed, but its changes do not sum to zero: lines are missing.
    Unbalanced,
    /// Still alive at the end of the log.
    Alive,
    /// Driven below zero: never freed.
    BelowZero,
    /// Its address was reused and it never got its destructor line.
    Superseded,
}

/// Keep at most this many bytes of `--history` lines.
const HISTORY_BYTES: usize = 64 << 20;

/// What a shard found, apart from the objects alive at the end.
#[derive(Default)]
pub(super) struct ShardOut {
    pub counts: RefsCounts,
    pub variant: Variant,
    pub warnings: Vec<(u64, String)>,
    pub warnings_total: u64,
    pub empty_lines: u64,
    pub parsed_lines: u64,
    pub invalid: Vec<Invalid>,
    pub init_constructed: u64,
    pub init_example: Option<RefEvent>,
    pub history: Vec<HistoryLifetime>,
    pub history_bytes: usize,
    pub history_dropped: u64,
    pub history_invalid: Vec<RefEvent>,
}

/// An object alive at the end of the log.
pub(super) struct Alive {
    pub addr: u64,
    pub lifetime: Lifetime,
}

/// What a shard hands back at the end.
pub(super) struct ShardResult {
    pub out: ShardOut,
    pub alive: Vec<Alive>,
}

/// One worker's addresses.
pub(super) struct Shard {
    grammar: RefsGrammar,
    max_events: usize,
    max_warnings: usize,
    max_invalid: usize,
    history: Option<u64>,
    slots: FxHashMap<u64, Slot>,
    /// Addresses whose lifetimes were given lines of the chunk being read.
    touched: Vec<u64>,
    graves: Graveyard,
    spare: Spare,
    out: ShardOut,
}

/// The buffers of finished lifetimes, for new ones: most objects live a few
/// lines, and allocating two buffers for each would cost more than reading them.
#[derive(Default)]
struct Spare {
    buffers: Vec<(Vec<u8>, Vec<Stored>)>,
}

/// Keep at most this many spare buffer pairs, of at most this many bytes.
const SPARE: usize = 256;
const SPARE_BYTES: usize = 4096;

impl Spare {
    fn lifetime(&mut self, start: u64, sum: i64, flags: u8) -> Lifetime {
        let mut lifetime = Lifetime::new(start, sum, flags);
        if let Some((raw, events)) = self.buffers.pop() {
            lifetime.raw = raw;
            lifetime.events = events;
        }
        lifetime
    }

    fn keep(&mut self, lifetime: Lifetime) {
        let Lifetime {
            mut raw,
            mut events,
            ..
        } = lifetime;
        if self.buffers.len() < SPARE && raw.capacity() <= SPARE_BYTES {
            raw.clear();
            events.clear();
            self.buffers.push((raw, events));
        }
    }
}

/// Knobs of a shard, from [`super::RefsOptions`].
pub(super) struct ShardOptions {
    pub max_events: usize,
    pub max_warnings: usize,
    pub max_invalid: usize,
    pub graveyard: usize,
    pub history: Option<u64>,
}

impl Shard {
    pub fn new(grammar: RefsGrammar, opts: &ShardOptions) -> Shard {
        Shard {
            grammar,
            max_events: opts.max_events.max(16),
            max_warnings: opts.max_warnings,
            max_invalid: opts.max_invalid,
            history: opts.history,
            slots: FxHashMap::default(),
            touched: Vec::new(),
            graves: Graveyard::new(opts.graveyard.max(1)),
            spare: Spare::default(),
            out: ShardOut::default(),
        }
    }

    /// A line too long to read whole.
    pub fn cut(&mut self, line_no: u64, length: u64) {
        self.warn(
            line_no,
            format!("{length} bytes long, not a refs line (those are about 100 bytes): skipped"),
        );
    }

    /// Read line `line_no`, the `len` bytes at `at` in `chunk`, and apply it.
    /// The lines of a chunk are kept as places in it until [`Shard::chunk_done`].
    pub fn line(
        &mut self,
        line_no: u64,
        chunk: &[u8],
        (at, len): (usize, usize),
        key: Option<LineKey>,
    ) {
        let bytes = LineBytes::within(chunk.get(at..).unwrap_or_default(), len);
        let bytes = match bytes.line().last() {
            Some(b'\r') => bytes.shortened(1),
            _ => bytes,
        };
        let raw = bytes.line();
        if raw.first().is_none_or(u8::is_ascii_whitespace)
            && raw.iter().all(u8::is_ascii_whitespace)
        {
            self.out.empty_lines += 1;
            return;
        }
        // Read in place: a line read is over a hundred bytes, not moved.
        let read = (self.grammar.parse)(bytes, key);
        let parsed = match &read {
            Ok(p) => p,
            Err(e) => {
                let shown = excerpt(raw);
                return self.warn(line_no, format!("{e}; the line reads `{shown}`"));
            }
        };
        self.out.parsed_lines += 1;
        self.out.variant.note(parsed);
        let line = ChunkLine {
            no: line_no,
            bytes: raw,
            at: u32::try_from(at).unwrap_or(u32::MAX),
            chunk,
        };
        match parsed.state {
            LineState::Constructor { .. } => self.construct(line, parsed),
            LineState::Invalid => self.invalid(line, parsed),
            LineState::Count(c) if c < 0 => self.invalid(line, parsed),
            LineState::Destructor { .. } => self.destructor(line, parsed),
            // Written after the `-1` that freed the object; it changes nothing.
            LineState::CallDestructor => {}
            LineState::Count(_) | LineState::Unknown => self.change(line, parsed),
        }
    }

    /// The chunk whose lines were given is done: the lifetimes still alive
    /// and the last graves copy the lines of it they keep.
    pub fn chunk_done(&mut self, chunk: &[u8]) {
        self.graves.chunk_done(chunk);
        // Addresses are listed once a lifetime; with fewer addresses alive
        // than that, every one is gone through instead.
        if self.slots.len() <= self.touched.len() {
            for slot in self.slots.values_mut() {
                slot.settle(chunk);
            }
        } else {
            for addr in &self.touched {
                if let Some(slot) = self.slots.get_mut(addr) {
                    slot.settle(chunk);
                }
            }
        }
        self.touched.clear();
    }

    fn warn(&mut self, line_no: u64, message: String) {
        self.out.warnings_total += 1;
        if self.out.warnings.len() < self.max_warnings {
            self.out.warnings.push((line_no, message));
        }
    }

    fn construct(&mut self, line: ChunkLine<'_>, parsed: &RefLine<'_>) {
        let line_no = line.no;
        let mut flags = CONSTRUCTED;
        if parsed.thread.is_none() {
            flags |= LEGACY;
        }
        if is_startup(parsed) {
            flags |= INIT;
            self.out.init_constructed += 1;
            if self.out.init_example.is_none() {
                self.out.init_example = Some(parsed.to_event(line_no));
            }
        }
        let mut lifetime = self.spare.lifetime(line_no, 1, flags);
        lifetime.push(&line);
        self.touched.push(parsed.addr);
        if parsed.tag.starts_with(CONTAINER_ALLOC) {
            lifetime.extra().container = true;
        }
        self.out.counts.lifetimes += 1;
        // One look-up in the common case: a free address.
        let previous = match self.slots.entry(parsed.addr) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(Slot {
                    current: Some(lifetime),
                    closing: None,
                });
                return;
            }
            std::collections::hash_map::Entry::Occupied(mut o) => {
                o.get_mut().current.replace(lifetime)
            }
        };
        if let Some(previous) = previous {
            // The address was handed out again before the previous object's
            // destructor line was written , or that object's releases are
            // missing from the log (legacy logs record only some files).
            // A lifetime the log shows without its start cannot be waited
            // for: its end may be in the part that is missing.
            if previous.has(LEGACY) || !previous.has(CONSTRUCTED) {
                self.end(parsed.addr, previous, Outcome::Superseded, line.chunk);
            } else {
                self.park(parsed.addr, previous, line.chunk);
            }
        }
    }

    /// Park a lifetime that waits for its destructor or late lines; an older
    /// one still parked there is given up on.
    fn park(&mut self, addr: u64, lifetime: Lifetime, chunk: &[u8]) {
        let slot = self.slots.entry(addr).or_default();
        if let Some(older) = slot.closing.replace(Box::new(lifetime)) {
            let outcome = if older.has(DESTROYED) {
                Outcome::Unbalanced
            } else {
                Outcome::Superseded
            };
            self.end(addr, *older, outcome, chunk);
        }
    }

    /// An ordinary change (`+1`, `-1`, …).
    fn change(&mut self, line: ChunkLine<'_>, parsed: &RefLine<'_>) {
        let (addr, line_no) = (parsed.addr, line.no);
        let count = match parsed.state {
            LineState::Count(c) => Some(c),
            _ => None,
        };
        let Some(slot) = self.slots.get_mut(&addr) else {
            if self.graves.has(addr) {
                // The object here was freed, and no constructor came since: a
                // release that happened before the free and was written after
                // it , not a new object.
                self.out.counts.late_lines += 1;
                return;
            }
            return self.skewed_start(line, parsed, count);
        };
        let to_closing = match (&slot.current, &slot.closing) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(current), Some(closing)) => {
                parsed.delta < 0 && count != Some(current.sum) && closing.can_take(parsed.delta)
            }
        };
        if to_closing {
            if let Some(closing) = slot.closing.as_mut() {
                closing.sum += parsed.delta;
                if closing.push(&line) {
                    self.touched.push(addr);
                }
                if closing.has(DESTROYED) && closing.sum == 0 {
                    if let Some(done) = slot.closing.take() {
                        self.end(addr, *done, Outcome::Finished, line.chunk);
                        self.tidy(addr);
                    }
                }
            }
            return;
        }
        let Some(current) = slot.current.as_mut() else {
            return self.skewed_start(line, parsed, count);
        };
        current.sum += parsed.delta;
        if current.push(&line) {
            self.touched.push(addr);
        }
        note_iteration(current, parsed, line_no);
        if current.has(LEGACY) && current.sum <= 0 {
            // Legacy objects without a destructor callback get no destructor
            // line: a count of zero is their end.
            current.flags |= DESTROYED;
            current.destroyed_by = Some(current.events.len() - 1);
            if let Some(done) = slot.current.take() {
                self.end(addr, done, Outcome::Finished, line.chunk);
                self.tidy(addr);
            }
            return;
        }
        if current.events.len() > current.compact_at.max(self.max_events)
            && self.history != Some(addr)
        {
            current.compact(&self.grammar, self.max_events, line.chunk);
        }
    }

    /// The first line of an address is not a constructor: the log began after
    /// the object was made. Its count is the printed count plus this change.
    fn skewed_start(&mut self, line: ChunkLine<'_>, parsed: &RefLine<'_>, count: Option<i64>) {
        let line_no = line.no;
        let sum = count.unwrap_or(0).saturating_add(parsed.delta);
        self.out.counts.lifetimes += 1;
        if sum <= 0 {
            self.out.counts.skewed_finished += 1;
            return;
        }
        let legacy = if parsed.thread.is_none() { LEGACY } else { 0 };
        let mut lifetime = self.spare.lifetime(line_no, sum, legacy);
        lifetime.push(&line);
        self.touched.push(parsed.addr);
        note_iteration(&mut lifetime, parsed, line_no);
        self.slots.entry(parsed.addr).or_default().current = Some(lifetime);
    }

    fn destructor(&mut self, line: ChunkLine<'_>, parsed: &RefLine<'_>) {
        let addr = parsed.addr;
        let Some(slot) = self.slots.get_mut(&addr) else {
            // Destroyed without a line before: the log began after it was made.
            self.out.counts.lifetimes += 1;
            self.out.counts.skewed_finished += 1;
            self.graves.bury(addr, None, Burial::InChunk(line.stored()));
            return;
        };
        // A superseded lifetime waits for exactly this line .
        // Of two candidates, the one this release completes; both or neither:
        // the older.
        let completes = |l: &Lifetime| l.sum + parsed.delta <= 0;
        let closing_waits = slot.closing.as_ref().is_some_and(|c| {
            !c.has(DESTROYED) && (completes(c) || !slot.current.as_ref().is_some_and(completes))
        });
        if closing_waits {
            if let Some(closing) = slot.closing.as_mut() {
                if closing.destroyed(&line, parsed.delta) {
                    self.touched.push(addr);
                }
                if closing.sum <= 0 {
                    if let Some(done) = slot.closing.take() {
                        let outcome = balance(&done);
                        self.end(addr, *done, outcome, line.chunk);
                        self.tidy(addr);
                    }
                }
            }
            return;
        }
        let Some(mut current) = slot.current.take() else {
            // Destroyed without a line before: the log began after it was made.
            self.out.counts.lifetimes += 1;
            self.out.counts.skewed_finished += 1;
            self.graves.bury(addr, None, Burial::InChunk(line.stored()));
            return;
        };
        let first_pending = current.destroyed(&line, parsed.delta);
        if current.sum <= 0 {
            if slot.closing.is_none() {
                self.slots.remove(&addr);
            }
            let outcome = balance(&current);
            self.end(addr, current, outcome, line.chunk);
        } else {
            if first_pending {
                self.touched.push(addr);
            }
            // Releases of other threads are still to be written .
            self.park(addr, current, line.chunk);
        }
    }

    fn invalid(&mut self, line: ChunkLine<'_>, parsed: &RefLine<'_>) {
        let (addr, line_no) = (parsed.addr, line.no);
        self.out.counts.invalid_lines += 1;
        let at = parsed.to_event(line_no);
        let mut empty = Slot::default();
        let slot = self.slots.get_mut(&addr).unwrap_or(&mut empty);
        if let Some(current) = slot.current.as_mut() {
            if current.sum + parsed.delta < 0 {
                // The count would go below zero: the object is never freed.
                current.flags |= BROKEN;
                current.sum += parsed.delta;
                current.push(&line);
                current.settle(line.chunk);
                let history = current.events(&self.grammar);
                let allocated = if current.has(CONSTRUCTED) {
                    current.first(&self.grammar)
                } else {
                    None
                };
                return self.record(Invalid {
                    addr,
                    kind: InvalidKind::BelowZero,
                    at,
                    destroyed_at: None,
                    allocated,
                    history,
                });
            }
        }
        if self.history == Some(addr) {
            self.out.history_invalid.push(at.clone());
        }
        // A reference to freed memory: name the lifetime destroyed last here.
        let (allocated, destroyed_at) = match slot.closing.as_ref().filter(|c| c.has(DESTROYED)) {
            Some(closing) => (
                closing
                    .constructor()
                    .map(|b| b.read(line.chunk))
                    .map(|l| to_event(&self.grammar, l)),
                closing
                    .destroyer()
                    .map(|b| b.read(line.chunk))
                    .map(|l| to_event(&self.grammar, l)),
            ),
            None => match self.graves.find(addr, line.chunk) {
                Some((constructor, end)) => (
                    constructor.map(|l| to_event(&self.grammar, l)),
                    Some(to_event(&self.grammar, end)),
                ),
                None => (None, None),
            },
        };
        let (allocated, destroyed_at) = (allocated.flatten(), destroyed_at.flatten());
        let kind = if destroyed_at.is_some() {
            InvalidKind::UseAfterFree
        } else {
            InvalidKind::Unknown
        };
        self.record(Invalid {
            addr,
            kind,
            at,
            destroyed_at,
            allocated,
            history: Vec::new(),
        });
    }

    fn record(&mut self, invalid: Invalid) {
        self.out.counts.invalid += 1;
        if self.out.invalid.len() < self.max_invalid {
            self.out.invalid.push(invalid);
        }
    }

    /// Forget an address that holds nothing any more.
    fn tidy(&mut self, addr: u64) {
        if self
            .slots
            .get(&addr)
            .is_some_and(|s| s.current.is_none() && s.closing.is_none())
        {
            self.slots.remove(&addr);
        }
    }

    /// A lifetime is over: count it, remember how it ended, drop its lines.
    fn end(&mut self, addr: u64, mut lifetime: Lifetime, outcome: Outcome, chunk: &[u8]) {
        let counts = &mut self.out.counts;
        counts.finished += 1;
        match outcome {
            Outcome::Unbalanced => counts.unbalanced += 1,
            Outcome::Superseded => counts.superseded += 1,
            _ => {}
        }
        if !lifetime.has(CONSTRUCTED) {
            counts.skewed_finished += 1;
        }
        if lifetime.has(INIT) {
            counts.startup_released += 1;
        }
        if let Some(end) = lifetime.destroyer() {
            self.graves.bury(addr, lifetime.constructor(), end);
        }
        if self.history == Some(addr) {
            lifetime.settle(chunk);
            self.keep_history(lifetime, outcome);
        } else {
            self.spare.keep(lifetime);
        }
    }

    fn keep_history(&mut self, lifetime: Lifetime, outcome: Outcome) {
        let interesting = outcome != Outcome::Finished;
        if self.out.history_bytes + lifetime.raw.len() > HISTORY_BYTES && !interesting {
            self.out.history_dropped += 1;
            return;
        }
        self.out.history_bytes += lifetime.raw.len();
        self.out.history.push(HistoryLifetime { lifetime, outcome });
    }

    /// The end of the log: what is still alive.
    pub fn finish(mut self) -> ShardResult {
        let mut alive = Vec::new();
        let mut slots: Vec<(u64, Slot)> = self.slots.drain().collect();
        slots.sort_unstable_by_key(|(addr, _)| *addr);
        for (addr, slot) in slots {
            if let Some(closing) = slot.closing {
                let outcome = if closing.has(DESTROYED) {
                    Outcome::Unbalanced
                } else {
                    Outcome::Superseded
                };
                // Every chunk is done: nothing is pending.
                self.end(addr, *closing, outcome, &[]);
            }
            let Some(lifetime) = slot.current else {
                continue;
            };
            if lifetime.has(BROKEN) {
                self.out.counts.below_zero_alive += 1;
                if self.history == Some(addr) {
                    self.keep_history(lifetime, Outcome::BelowZero);
                }
                continue;
            }
            if lifetime.sum <= 0 {
                // Balanced, but its destructor line is not in the log (cut short).
                self.out.counts.finished += 1;
                if lifetime.has(INIT) {
                    self.out.counts.startup_released += 1;
                }
                continue;
            }
            if lifetime.has(INIT) {
                self.out.counts.startup_alive += 1;
            }
            if self.history == Some(addr) {
                self.out.history.push(HistoryLifetime {
                    lifetime: lifetime.clone_lines(),
                    outcome: Outcome::Alive,
                });
            }
            alive.push(Alive { addr, lifetime });
        }
        ShardResult {
            out: self.out,
            alive,
        }
    }
}

impl Lifetime {
    fn can_take(&self, delta: i64) -> bool {
        if self.has(DESTROYED) {
            self.sum + delta >= 0
        } else {
            // Superseded: its own destructor line is still to come.
            self.sum + delta >= 1
        }
    }

    /// The destructor line; whether it is the first pending line.
    fn destroyed(&mut self, line: &ChunkLine<'_>, delta: i64) -> bool {
        self.sum += delta;
        let first = self.push(line);
        self.flags |= DESTROYED;
        self.destroyed_by = Some(self.events.len() - 1);
        first
    }

    fn clone_lines(&self) -> Lifetime {
        Lifetime {
            start: self.start,
            sum: self.sum,
            flags: self.flags,
            count_at_start: self.count_at_start,
            raw: self.raw.clone(),
            events: self.events.clone(),
            elided: self.elided,
            compact_at: self.compact_at,
            destroyed_by: self.destroyed_by,
            pending_from: self.pending_from,
            extra: None,
        }
    }
}

fn to_event(grammar: &RefsGrammar, (line_no, raw): (u64, &[u8])) -> Option<RefEvent> {
    (grammar.parse)(raw.into(), None)
        .ok()
        .map(|l| l.to_event(line_no))
}

fn balance(lifetime: &Lifetime) -> Outcome {
    if lifetime.sum == 0 {
        Outcome::Finished
    } else {
        Outcome::Unbalanced
    }
}

/// Container iterations and iterator steps, for showing members under a
/// leaked container.
fn note_iteration(lifetime: &mut Lifetime, parsed: &RefLine<'_>, line_no: u64) {
    let Some(thread) = parsed.thread else {
        return;
    };
    let tag = parsed.tag;
    if tag == ITERATOR_INIT && parsed.delta > 0 {
        let extra = lifetime.extra();
        extra.container = true;
        extra.open_windows.push((thread, line_no));
    } else if tag == ITERATOR_DESTROY && parsed.delta < 0 {
        let extra = lifetime.extra();
        if let Some(i) = extra.open_windows.iter().rposition(|(t, _)| *t == thread) {
            let (_, start) = extra.open_windows.remove(i);
            if extra.windows.len() == MAX_WINDOWS {
                extra.windows.pop_front();
            }
            extra.windows.push_back((thread, start, line_no));
        }
    } else if tag == ITERATOR_NEXT && parsed.delta > 0 {
        let extra = lifetime.extra();
        if extra.iterated.len() == MAX_ITERATED {
            extra.iterated.pop_front();
        }
        extra.iterated.push_back((thread, line_no));
    }
}

/// Made by Asterisk's startup: a core `*_init` function (these objects live
/// until the cleanups of a graceful stop).
fn is_startup(parsed: &RefLine<'_>) -> bool {
    parsed.function.ends_with(b"_init") && !super::is_module_file(parsed.file)
}

/// At most 80 characters of a line, for a message.
fn excerpt(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(&raw[..raw.len().min(200)]).into_owned();
    let mut shown: String = text
        .chars()
        .map(|c| if c.is_control() { '�' } else { c })
        .take(80)
        .collect();
    if text.chars().count() > 80 || raw.len() > 200 {
        shown.push('…');
    }
    shown
}
