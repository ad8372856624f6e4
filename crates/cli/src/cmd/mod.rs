//! One module per mode of the binary, each with a `run` entry point.

pub mod capture;
pub mod diff;
pub mod docs;
pub mod gdb_commands;
pub mod refs;
pub mod report;
pub mod watch;
