//! Reading the inputs: files, gzip and standard input, with overlong lines cut
//! while reading so that memory stays bounded, and telling what each input is.

use crate::args::Opts;
use crate::Failure;
use ast_locks_parse::InputKind;
use std::io::{self, BufRead, Read};
use std::path::{Path, PathBuf};

/// The longest line kept. No dump line comes near it; longer lines (a wrong file:
/// a log with megabyte lines, random bytes) are cut, so memory stays bounded by
/// the number of lines, not by what one line holds.
pub const MAX_LINE: usize = 1 << 20;

/// How much is read at a time: read straight into the buffer's free space, then
/// checked for overlong lines.
const READ_CHUNK: u64 = 8 << 20;

/// Read everything, cutting lines longer than [`MAX_LINE`]. Returns the bytes and
/// how many lines were cut.
pub fn read_bounded(mut r: impl Read, capacity: usize) -> io::Result<(Vec<u8>, usize)> {
    let mut buf = Vec::with_capacity(capacity);
    // Length of the last, unfinished line as read (cut lines count in full).
    let mut line_len = 0usize;
    let mut cut = 0usize;
    let mut cutting = false;
    loop {
        let start = buf.len();
        let n = (&mut r).take(READ_CHUNK).read_to_end(&mut buf)?;
        if n == 0 {
            break;
        }
        // A short read means the input ended (one Ctrl-D on a terminal ends
        // it: asking again would wait for a second one).
        let ended = (n as u64) < READ_CHUNK;
        if !cutting && line_len + n <= MAX_LINE {
            // No line can reach the limit inside this chunk: keep it whole.
            line_len = match memchr::memrchr(b'\n', &buf[start..]) {
                Some(last) => n - last - 1,
                None => line_len + n,
            };
            if ended {
                break;
            }
            continue;
        }
        // Compact the chunk in place, keeping at most MAX_LINE bytes of each line.
        let end = buf.len();
        let (mut read, mut write) = (start, start);
        while read < end {
            let newline = memchr::memchr(b'\n', &buf[read..end]).map(|at| read + at);
            let seg = newline.unwrap_or(end) - read;
            let kept = seg.min(MAX_LINE.saturating_sub(line_len));
            buf.copy_within(read..read + kept, write);
            write += kept;
            line_len += seg;
            if kept < seg && !cutting {
                cut += 1;
                cutting = true;
            }
            match newline {
                Some(at) => {
                    if let Some(b) = buf.get_mut(write) {
                        *b = b'\n';
                    }
                    write += 1;
                    line_len = 0;
                    cutting = false;
                    read = at + 1;
                }
                None => read = end,
            }
        }
        buf.truncate(write);
        if ended {
            break;
        }
    }
    Ok((buf, cut))
}

/// Text saved as UTF-16 (PowerShell's `>`, Notepad's "Unicode"), recognised by
/// its byte-order mark, as UTF-8; a UTF-8 byte-order mark is dropped. Other
/// bytes are returned as they are.
pub fn decode_utf16(bytes: Vec<u8>) -> Vec<u8> {
    let little = match bytes.get(..2) {
        Some([0xff, 0xfe]) => true,
        Some([0xfe, 0xff]) => false,
        _ => {
            return match bytes.strip_prefix(&[0xef, 0xbb, 0xbf]) {
                Some(rest) => rest.to_vec(),
                None => bytes,
            }
        }
    };
    let units = bytes[2..].chunks_exact(2).map(|p| {
        if little {
            u16::from_le_bytes([p[0], p[1]])
        } else {
            u16::from_be_bytes([p[0], p[1]])
        }
    });
    let text: String = char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    text.into_bytes()
}

/// On a terminal, reading standard input looks like a hang: say what it waits for.
pub fn hint_when_stdin_is_a_terminal(what: &str) {
    use std::io::IsTerminal;
    if io::stdin().is_terminal() {
        crate::output::say(&format!(
            "reading {what} from standard input; paste it, then press Ctrl-D (or give a file: ast-locks FILE)"
        ));
    }
}

pub fn read_input(path: &Path) -> Result<(String, Vec<u8>, usize), Failure> {
    let name = if path.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    };
    let cannot = |e: io::Error| Failure(format!("{name}: cannot read: {e}"));
    let (reader, capacity): (Box<dyn Read>, usize) = if path.as_os_str() == "-" {
        hint_when_stdin_is_a_terminal("a dump");
        (Box::new(io::stdin().lock()), 1 << 16)
    } else {
        if path.is_dir() {
            return Err(Failure(format!(
                "{name}: is a directory; expected a file holding `core show locks` output"
            )));
        }
        let file = std::fs::File::open(path).map_err(cannot)?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        // Room for the whole file at once (a cut line only makes it smaller).
        let capacity = usize::try_from(size).unwrap_or(0).min(1 << 32);
        (Box::new(file), capacity)
    };
    let mut reader = io::BufReader::with_capacity(1 << 16, reader);
    // gzip is recognised by its magic bytes, whatever the file is called.
    let gzip = reader
        .fill_buf()
        .map_err(cannot)?
        .starts_with(&[0x1f, 0x8b]);
    let (bytes, cut) = if gzip {
        read_bounded(
            flate2::read::MultiGzDecoder::new(reader),
            capacity.saturating_mul(4),
        )
        .map_err(|e| Failure(format!("{name}: cannot decompress gzip data: {e}")))?
    } else {
        read_bounded(reader, capacity).map_err(cannot)?
    };
    Ok((name, decode_utf16(bytes), cut))
}

/// A stream to read once, start to end (refs logs are read this way: they can
/// be gigabytes): its name, the reader (gzip undone) and the size on disk.
pub struct Stream {
    pub name: String,
    pub reader: Box<dyn Read + Send>,
    /// The file itself, to refuse writing the output over it.
    pub path: Option<std::path::PathBuf>,
}

/// Open a file (`-` or nothing: standard input) as a [`Stream`]; `counted`
/// wraps the raw bytes before gzip is undone (for a progress bar).
pub fn open_stream(
    path: Option<&Path>,
    what: &str,
    counted: impl FnOnce(Box<dyn Read + Send>, Option<u64>) -> Box<dyn Read + Send>,
) -> Result<Stream, Failure> {
    let stdin = path.is_none_or(|p| p.as_os_str() == "-");
    let name = match path {
        Some(p) if !stdin => p.display().to_string(),
        _ => "<stdin>".to_string(),
    };
    let cannot = |e: io::Error| Failure(format!("{name}: cannot read: {e}"));
    let (raw, size, file_path): (Box<dyn Read + Send>, Option<u64>, _) = match path {
        Some(p) if !stdin => {
            if p.is_dir() {
                return Err(Failure(format!("{name}: is a directory; expected {what}")));
            }
            let file = std::fs::File::open(p).map_err(cannot)?;
            let size = file.metadata().ok().map(|m| m.len());
            (Box::new(file), size, Some(p.to_path_buf()))
        }
        _ => {
            hint_when_stdin_is_a_terminal(what);
            (Box::new(io::stdin()), None, None)
        }
    };
    let mut reader = io::BufReader::with_capacity(1 << 16, counted(raw, size));
    // gzip is recognised by its magic bytes, whatever the file is called.
    let gzip = reader
        .fill_buf()
        .map_err(cannot)?
        .starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn Read + Send> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    Ok(Stream {
        name,
        reader,
        path: file_path,
    })
}

/// One input file, read and recognised.
pub struct Input {
    /// The file's name for messages (`<stdin>` for standard input).
    pub name: String,
    /// Its bytes, overlong lines cut.
    pub bytes: Vec<u8>,
    /// What it is.
    pub kind: InputKind,
    /// A file the user gave: finding nothing in it is an error, not a note.
    pub given: bool,
    /// Lines longer than MAX_LINE that were cut while reading.
    pub cut: usize,
}

impl Input {
    /// Read a file the user gave (`-` is standard input) and tell what it is,
    /// unless `kind` says.
    pub fn read(path: &Path, kind: Option<InputKind>) -> Result<Input, Failure> {
        let (name, bytes, cut) = read_input(path)?;
        let kind = match kind {
            Some(k) => k,
            // Unrecognised text goes to the `core show locks` parser, whose error
            // says what was expected.
            None => ast_locks_parse::detect(&bytes).unwrap_or(InputKind::CoreShowLocks),
        };
        Ok(Input {
            name,
            bytes,
            kind,
            given: true,
            cut,
        })
    }
}

/// Read every input the arguments name (standard input when they name none),
/// and tell what each is.
pub fn load(files: &[PathBuf], opts: &Opts) -> Result<Vec<Input>, Failure> {
    let stdin = [PathBuf::from("-")];
    let files = if files.is_empty() { &stdin[..] } else { files };
    let mut inputs = Vec::with_capacity(files.len() + opts.owners.len());
    for f in files {
        inputs.push(Input::read(f, opts.input.map(|k| k.kind()))?);
    }
    for f in &opts.owners {
        inputs.push(Input::read(f, Some(InputKind::Owners))?);
    }
    Ok(inputs)
}

/// Said of an input whose overlong lines were cut.
pub fn cut_note(cut: usize) -> String {
    if cut == 0 {
        String::new()
    } else {
        format!(
            " ({cut} line{} longer than {} MiB {} cut while reading)",
            if cut == 1 { "" } else { "s" },
            MAX_LINE >> 20,
            if cut == 1 { "was" } else { "were" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlong_lines_are_cut_while_reading_and_the_rest_is_kept() {
        // Two lines of 5 MiB: the second straddles the end of the first read.
        let long = "x".repeat(5 * MAX_LINE + 5);
        let mut input = format!("first\n{long}\nmiddle\n{long}");
        input.push_str("\nlast");
        let (bytes, cut) = read_bounded(input.as_bytes(), 0).expect("reads");
        assert_eq!(cut, 2);
        let text = String::from_utf8(bytes).expect("utf8");
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(lines.len(), 5);
        assert_eq!((lines[0], lines[2], lines[4]), ("first", "middle", "last"));
        assert_eq!(lines[1].len(), MAX_LINE);
        assert_eq!(lines[3].len(), MAX_LINE);
        let (same, none) = read_bounded("a\nb\n".as_bytes(), 4).expect("reads");
        assert_eq!((same.as_slice(), none), (&b"a\nb\n"[..], 0));
    }

    /// A terminal: each read returns what was typed up to Ctrl-D, then the next
    /// read would wait for more.
    struct Terminal(Vec<Vec<u8>>);

    impl Read for Terminal {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            match self.0.first_mut() {
                None => panic!("read again after Ctrl-D: the user must press it twice"),
                Some(chunk) if chunk.is_empty() => {
                    self.0.remove(0);
                    Ok(0)
                }
                Some(chunk) => {
                    let n = chunk.len().min(out.len());
                    out[..n].copy_from_slice(&chunk[..n]);
                    chunk.drain(..n);
                    Ok(n)
                }
            }
        }
    }

    #[test]
    fn one_ctrl_d_ends_the_input_on_a_terminal() {
        let typed = Terminal(vec![b"=== Thread ID: 0x1\n".to_vec(), Vec::new()]);
        let (bytes, _) = read_bounded(typed, 0).expect("reads");
        assert_eq!(bytes, b"=== Thread ID: 0x1\n");
    }

    #[test]
    fn utf16_with_a_byte_order_mark_is_read_as_text() {
        let text = "=== Thread ID: 0x1 (é)\r\n";
        let le: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let be: Vec<u8> = [0xfe, 0xff]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(decode_utf16(le), text.as_bytes());
        assert_eq!(decode_utf16(be), text.as_bytes());
        let bom8: Vec<u8> = [0xef, 0xbb, 0xbf].into_iter().chain(text.bytes()).collect();
        assert_eq!(decode_utf16(bom8), text.as_bytes());
        assert_eq!(decode_utf16(b"plain".to_vec()), b"plain");
    }
}
