//! Reading a log on every core: one thread reads chunks of whole lines, and
//! each worker walks every chunk but applies only the lines of its own
//! addresses, so that each address's lines are applied in file order by one
//! worker and no locking is needed. Every worker counts every line, so line
//! numbers need no coordination either.

use super::shard::{Shard, ShardOptions, ShardResult};
use super::RefsOptions;
use ast_locks_model::refs::RefsGrammar;
use memchr::{memchr, memchr_iter, memrchr};
use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;

/// Bytes read at a time.
const CHUNK: usize = 4 << 20;
/// Chunks queued per worker.
const QUEUE: usize = 3;
/// Of a line longer than a chunk, keep this much (it is reported, not read).
const HEAD: usize = 256;

/// Whole lines, and the lines among them that were cut because they were
/// longer than a chunk.
struct Chunk {
    data: Vec<u8>,
    /// (offset of the line in `data`, its real length).
    cut: Vec<(usize, u64)>,
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
                let mut worker = Worker {
                    id,
                    workers,
                    grammar,
                    shard: Shard::new(grammar, shard_opts),
                    line_no: 0,
                    first_lines: Vec::new(),
                };
                for chunk in rx {
                    worker.chunk(&chunk);
                }
                (worker.line_no, worker.first_lines, worker.shard.finish())
            }));
        }
        let read = read_chunks(input, &senders);
        drop(senders);
        let mut lines = 0;
        let mut first_lines = Vec::new();
        let mut shards = Vec::new();
        for handle in handles {
            let (n, first, result) = handle
                .join()
                .map_err(|_| io::Error::other("a worker thread stopped unexpectedly"))?;
            lines = lines.max(n);
            if first_lines.is_empty() {
                first_lines = first;
            }
            shards.push(result);
        }
        let (bytes, read_error) = read?;
        Ok(Scanned {
            bytes,
            lines,
            read_error,
            first_lines,
            shards,
        })
    })
}

struct Worker {
    id: usize,
    workers: usize,
    grammar: RefsGrammar,
    shard: Shard,
    line_no: u64,
    first_lines: Vec<String>,
}

impl Worker {
    fn chunk(&mut self, chunk: &Chunk) {
        let data = &chunk.data;
        let mut cut = chunk.cut.iter().peekable();
        let mut at = 0;
        let ends = memchr_iter(b'\n', data).chain(std::iter::once(data.len()));
        for end in ends {
            if at >= data.len() {
                break;
            }
            let line = &data[at..end];
            self.line_no += 1;
            if self.id == 0 && self.first_lines.len() < 3 && !line.trim_ascii().is_empty() {
                let head = &line[..line.len().min(60)];
                self.first_lines
                    .push(String::from_utf8_lossy(head).trim().to_string());
            }
            if self.owns(line) {
                match cut.peek() {
                    Some(&&(offset, length)) if offset == at => {
                        self.shard.cut(self.line_no, length);
                    }
                    _ => self.shard.line(self.line_no, line),
                }
            }
            if cut.peek().is_some_and(|(offset, _)| *offset == at) {
                cut.next();
            }
            at = end + 1;
        }
    }

    /// Lines of one address all go to one worker; lines without an address go
    /// to the first, which reports them.
    fn owns(&self, line: &[u8]) -> bool {
        if self.workers == 1 {
            return true;
        }
        let key = (self.grammar.key)(line);
        if key.is_empty() {
            return self.id == 0;
        }
        let mut word = [0u8; 8];
        let tail = &key[key.len().saturating_sub(8)..];
        word[..tail.len()].copy_from_slice(tail);
        let mixed = u64::from_le_bytes(word).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (mixed >> 32) as usize % self.workers == self.id
    }
}

/// Send the input to every worker in chunks of whole lines; returns the bytes
/// read and, when the input broke off after some of it was read (a truncated
/// `.gz`), why.
fn read_chunks(
    mut input: impl Read,
    senders: &[SyncSender<Arc<Chunk>>],
) -> io::Result<(u64, Option<String>)> {
    let mut total = 0u64;
    let mut carry: Vec<u8> = Vec::new();
    let mut read_error = None;
    let mut pool = Pool::default();
    loop {
        let mut data = pool.take();
        data.append(&mut carry);
        let want = CHUNK.saturating_sub(data.len());
        let before = data.len();
        let mut eof;
        match (&mut input).take(want as u64).read_to_end(&mut data) {
            Ok(n) => eof = n < want,
            Err(e) if total == 0 && data.len() == before => return Err(e),
            Err(e) => {
                read_error = Some(e.to_string());
                eof = true;
            }
        }
        total += (data.len() - before) as u64;
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
            let chunk = Arc::new(Chunk { data, cut });
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
/// mapped is filled faster than fresh pages, and the footprint stays flat.
#[derive(Default)]
struct Pool {
    sent: Vec<Arc<Chunk>>,
}

impl Pool {
    fn take(&mut self) -> Vec<u8> {
        if let Some(i) = self.sent.iter().position(|c| Arc::strong_count(c) == 1) {
            let mut chunk = self.sent.swap_remove(i);
            if let Some(c) = Arc::get_mut(&mut chunk) {
                let mut data = std::mem::take(&mut c.data);
                data.clear();
                return data;
            }
        }
        Vec::with_capacity(CHUNK + 1)
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
