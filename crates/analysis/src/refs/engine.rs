//! Reading a log on every core: one thread reads chunks of whole lines, finds
//! where each line starts and which worker owns its address, and hands every
//! worker the chunk with its own lines listed; each worker applies the lines of
//! its addresses, so that each address's lines are applied in file order by one
//! worker and no locking is needed.

use super::shard::{Shard, ShardOptions, ShardResult};
use super::RefsOptions;
use ast_locks_model::refs::{LineKey, RefsGrammar, READ_AHEAD};
use memchr::{memchr, memchr_iter, memrchr};
use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use wide::u8x16;

/// Chunks queued per worker. Every worker gets every chunk, so the reading
/// thread waits for the slowest; a deep queue lets a worker that is ahead
/// (its addresses had cheaper lines lately) keep going instead of idling
/// while the other catches up: 3 left a core idle a tenth of the time on a
/// two-core machine, 8 is 9 % faster there for 7 MiB more.
const QUEUE: usize = 8;
/// Of a line longer than a chunk, keep this much (it is reported, not read).
const HEAD: usize = 256;

/// Whole lines, and the lines among them that were cut because they were
/// longer than a chunk.
struct Chunk {
    /// The lines, then [`READ_AHEAD`] zero bytes, so that the parser can read
    /// ahead from the start of every line, the last included.
    data: Vec<u8>,
    /// (offset of the line in `data`, its real length).
    cut: Vec<(usize, u64)>,
    /// Lines before this chunk.
    first_line: u64,
    /// Where each line starts, and one past the end of the last (plus one for
    /// its newline).
    starts: Vec<u32>,
    /// For each worker, the lines of its addresses.
    own: Vec<Vec<Routed>>,
}

/// A line of a worker's: which line of the chunk, and its key as the reading
/// thread read it (so that the worker does not read the address again). Sixteen
/// bytes, not the 32 of an index and an `Option<LineKey>`: the reading thread
/// writes one for every line, into memory the workers read last.
#[derive(Clone, Copy)]
struct Routed {
    addr: u64,
    index: u32,
    /// Where the address ends, or [`NO_KEY`].
    end: u32,
}

const NO_KEY: u32 = u32::MAX;

impl Routed {
    fn new(index: u32, key: Option<LineKey>) -> Routed {
        match key {
            // An address never ends that far into a line.
            Some(LineKey { addr, end }) if end != NO_KEY => Routed { addr, index, end },
            _ => Routed {
                addr: 0,
                index,
                end: NO_KEY,
            },
        }
    }

    fn key(&self) -> Option<LineKey> {
        (self.end != NO_KEY).then_some(LineKey {
            addr: self.addr,
            end: self.end,
        })
    }
}

/// What reading the whole input gave.
pub(super) struct Scanned {
    pub bytes: u64,
    pub lines: u64,
    /// The input stopped with an error after some of it was read.
    pub read_error: Option<String>,
    /// The first lines of the input, for a message when none is a refs line.
    pub first_lines: Vec<String>,
    pub shards: Vec<ShardResult>,
}

/// Read `input` to its end with `opts.threads` workers.
pub(super) fn scan<R: Read + Send>(
    input: R,
    grammar: RefsGrammar,
    opts: &RefsOptions,
) -> io::Result<Scanned> {
    let workers = opts.workers();
    let shard_opts = ShardOptions {
        max_events: opts.max_events,
        max_warnings: opts.max_warnings,
        max_invalid: opts.max_invalid,
        graveyard: opts.graveyard,
        history: opts.history,
    };
    std::thread::scope(|scope| {
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for id in 0..workers {
            let (tx, rx) = sync_channel::<Arc<Chunk>>(QUEUE);
            senders.push(tx);
            let shard_opts = &shard_opts;
            handles.push(scope.spawn(move || {
                let mut shard = Shard::new(grammar, shard_opts);
                for chunk in rx {
                    apply(&mut shard, &chunk, id);
                }
                shard.finish()
            }));
        }
        let mut split = Splitter {
            grammar,
            workers,
            lines: 0,
            first_lines: Vec::new(),
        };
        let read = read_chunks(input, opts.chunk_bytes.max(HEAD * 2), &senders, &mut split);
        drop(senders);
        let mut shards = Vec::new();
        for handle in handles {
            let result = handle
                .join()
                .map_err(|_| io::Error::other("a worker thread stopped unexpectedly"))?;
            shards.push(result);
        }
        let (bytes, read_error) = read?;
        let Splitter {
            lines, first_lines, ..
        } = split;
        Ok(Scanned {
            bytes,
            lines,
            read_error,
            first_lines,
            shards,
        })
    })
}

/// Apply a worker's own lines of a chunk.
fn apply(shard: &mut Shard, chunk: &Chunk, id: usize) {
    let Some(own) = chunk.own.get(id) else {
        return;
    };
    let mut cut = chunk.cut.iter().peekable();
    for routed in own {
        let (index, key) = (routed.index, routed.key());
        let i = index as usize;
        let (start, next) = (chunk.starts[i] as usize, chunk.starts[i + 1] as usize);
        let line_no = chunk.first_line + i as u64 + 1;
        while cut.peek().is_some_and(|(offset, _)| *offset < start) {
            cut.next();
        }
        match cut.peek() {
            Some(&&(offset, length)) if offset == start => shard.cut(line_no, length),
            _ => shard.line(line_no, &chunk.data, (start, next - 1 - start), key),
        }
    }
    shard.chunk_done(&chunk.data);
}

/// Finds the lines of a chunk and their owners (on the reading thread: one
/// pass, instead of one per worker).
struct Splitter {
    grammar: RefsGrammar,
    workers: usize,
    lines: u64,
    first_lines: Vec<String>,
}

impl Splitter {
    fn split(&mut self, mut data: Vec<u8>, cut: Vec<(usize, u64)>, lists: Lists) -> Chunk {
        let Lists {
            mut starts,
            mut own,
        } = lists;
        starts.clear();
        starts.push(0u32);
        line_starts(&data, &mut starts);
        if starts.last().is_some_and(|&s| s as usize != data.len()) {
            // The last line has no newline.
            starts.push(data.len() as u32 + 1);
        }
        let count = starts.len() - 1;
        own.resize_with(self.workers, Vec::new);
        for list in &mut own {
            list.clear();
        }
        for i in 0..count {
            let line = &data[starts[i] as usize..starts[i + 1] as usize - 1];
            if self.first_lines.len() < 3 && !line.trim_ascii().is_empty() {
                let head = &line[..line.len().min(60)];
                self.first_lines
                    .push(String::from_utf8_lossy(head).trim().to_string());
            }
            let key = (self.grammar.key)(line);
            own[self.owner(key)].push(Routed::new(i as u32, key));
        }
        let first_line = self.lines;
        self.lines += count as u64;
        data.resize(data.len() + READ_AHEAD, 0);
        Chunk {
            data,
            cut,
            first_line,
            starts,
            own,
        }
    }

    /// Lines of one address all go to one worker; lines without an address go
    /// to the first, which reports them.
    fn owner(&self, key: Option<LineKey>) -> usize {
        if self.workers == 1 {
            return 0;
        }
        let Some(LineKey { addr: w, .. }) = key else {
            return 0;
        };
        // Mix every bit of the address, and take the top bits of the product,
        // which depend on all of them.
        let mixed = (w ^ (w >> 32) ^ (w >> 17)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        ((u128::from(mixed) * self.workers as u128) >> 64) as usize
    }
}

/// Where each line after the first starts: one past each newline. Sixteen
/// bytes are compared at a time into a mask of 64, whose bits are then read
/// off: a refs line is about 80 bytes, so a search call per line (memchr)
/// costs more than the search.
fn line_starts(data: &[u8], starts: &mut Vec<u32>) {
    let newline = u8x16::splat(b'\n');
    let mut blocks = data.chunks_exact(64);
    let mut base = 0u32;
    for block in &mut blocks {
        let mut mask = 0u64;
        for (k, sixteen) in block.chunks_exact(16).enumerate() {
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(sixteen);
            let equal = u8x16::new(bytes).simd_eq(newline).to_bitmask();
            mask |= u64::from(equal) << (k * 16);
        }
        while mask != 0 {
            starts.push(base + mask.trailing_zeros() + 1);
            mask &= mask - 1;
        }
        base += 64;
    }
    starts.extend(memchr_iter(b'\n', blocks.remainder()).map(|nl| base + nl as u32 + 1));
}

/// Send the input to every worker in chunks of whole lines; returns the bytes
/// read and, when the input broke off after some of it was read (a truncated
/// `.gz`), why.
fn read_chunks(
    mut input: impl Read,
    chunk_bytes: usize,
    senders: &[SyncSender<Arc<Chunk>>],
    split: &mut Splitter,
) -> io::Result<(u64, Option<String>)> {
    let mut total = 0u64;
    let mut carry: Vec<u8> = Vec::new();
    let mut read_error = None;
    let mut pool = Pool::default();
    loop {
        let (mut data, lists) = pool.take();
        // Keep the buffer's bytes initialised from one chunk to the next:
        // only a longer chunk needs zeroing.
        let size = chunk_bytes.max(carry.len() + 1);
        if data.len() < size {
            data.reserve_exact(size + READ_AHEAD - data.len());
            data.resize(size, 0);
        }
        data.truncate(size);
        data[..carry.len()].copy_from_slice(&carry);
        let mut filled = carry.len();
        carry.clear();
        let mut eof = false;
        while filled < size {
            match input.read(&mut data[filled..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => {
                    filled += n;
                    total += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if total == 0 => return Err(e),
                Err(e) => {
                    read_error = Some(e.to_string());
                    eof = true;
                    break;
                }
            }
        }
        data.truncate(filled);
        let mut cut = Vec::new();
        match memrchr(b'\n', &data) {
            Some(last) => {
                carry.extend_from_slice(&data[last + 1..]);
                data.truncate(last + 1);
            }
            None if !eof => {
                // One line longer than a chunk: keep its head, skip to its end.
                let (length, rest, ended) = skip_line(&mut input, data.len() as u64, &mut total);
                if let Err(e) = &ended {
                    read_error = Some(e.to_string());
                }
                eof = !matches!(ended, Ok(true));
                carry = rest;
                data.truncate(HEAD);
                data.push(b'\n');
                cut.push((0, length));
            }
            // The end of the input, and no newline: the last line as it is.
            None => {}
        }
        if eof && !carry.is_empty() {
            data.append(&mut carry);
        }
        if !data.is_empty() {
            let chunk = Arc::new(split.split(data, cut, lists));
            for tx in senders {
                if tx.send(Arc::clone(&chunk)).is_err() {
                    return Err(io::Error::other("a worker thread stopped unexpectedly"));
                }
            }
            pool.sent(chunk);
        }
        if eof {
            return Ok((total, read_error));
        }
    }
}

/// Chunk buffers the workers are done with, used again: memory already
/// mapped and in this core's cache is filled faster than fresh pages (and
/// than memory the workers freed last), and the footprint stays flat.
#[derive(Default)]
struct Pool {
    sent: Vec<Arc<Chunk>>,
}

/// The line lists of a chunk, to be filled again.
#[derive(Default)]
struct Lists {
    starts: Vec<u32>,
    own: Vec<Vec<Routed>>,
}

impl Pool {
    fn take(&mut self) -> (Vec<u8>, Lists) {
        if let Some(i) = self.sent.iter().position(|c| Arc::strong_count(c) == 1) {
            let mut chunk = self.sent.swap_remove(i);
            if let Some(c) = Arc::get_mut(&mut chunk) {
                let lists = Lists {
                    starts: std::mem::take(&mut c.starts),
                    own: std::mem::take(&mut c.own),
                };
                return (std::mem::take(&mut c.data), lists);
            }
        }
        (Vec::new(), Lists::default())
    }

    fn sent(&mut self, chunk: Arc<Chunk>) {
        // As many as can be in flight: queued, being read, and one spare.
        if self.sent.len() < QUEUE + 3 {
            self.sent.push(chunk);
        }
    }
}

/// Read past the rest of a line: its whole length, what follows its newline,
/// and whether a newline was found (`Ok(false)`: the input ended first).
fn skip_line(
    input: &mut impl Read,
    mut length: u64,
    total: &mut u64,
) -> (u64, Vec<u8>, io::Result<bool>) {
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return (length, Vec::new(), Ok(false)),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return (length, Vec::new(), Err(e)),
        };
        *total += n as u64;
        if let Some(nl) = memchr(b'\n', &buf[..n]) {
            return (length + nl as u64, buf[nl + 1..n].to_vec(), Ok(true));
        }
        length += n as u64;
    }
}
