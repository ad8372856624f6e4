//! A progress bar on standard error for work a person waits on (a refs log of
//! gigabytes), only when standard error is a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Read};

/// A bar over the bytes of a stream of `size` bytes (a spinner when unknown),
/// or nothing when `quiet` or standard error is not a terminal.
pub fn bar(quiet: bool, size: Option<u64>) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match size {
        Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{spinner} {bytes} {bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    Some(bar)
}

/// `reader`, counted on `bar` when there is one.
pub fn wrap(bar: Option<&ProgressBar>, reader: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
    match bar {
        Some(b) => Box::new(b.wrap_read(reader)),
        None => reader,
    }
}
