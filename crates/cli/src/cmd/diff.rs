//! `ast-locks diff OLD NEW`: what appeared, disappeared and persisted between
//! two dumps of one process.

use crate::args::DiffFormat;
use crate::input::Input;
use crate::join::join_inputs;
use crate::output::to_stdout;
use crate::{Failure, Outcome};
use ast_locks_analysis::{analyze, Options};
use std::path::Path;

/// The top-level entry point for `diff`.
pub fn run(old: &Path, new: &Path, format: DiffFormat) -> Result<Outcome, Failure> {
    let options = Options::default();
    let old_inputs = [Input::read(old, None)?];
    let new_inputs = [Input::read(new, None)?];
    let old_m = join_inputs(&old_inputs)?;
    let new_m = join_inputs(&new_inputs)?;
    let (Some(os), Some(ns)) = (old_m.dump.snapshots.last(), new_m.dump.snapshots.last()) else {
        return Err(Failure("no snapshot found".to_string()));
    };
    let (oa, na) = (analyze(os, &options), analyze(ns, &options));
    let d = ast_locks_analysis::series::diff((os, &oa), (ns, &na));
    let mut out = Vec::new();
    let written = match format {
        DiffFormat::Text => {
            ast_locks_render::diff::write_text(&mut out, &d, old_m.name, new_m.name)
        }
        DiffFormat::Json => {
            ast_locks_render::diff::write_json(&mut out, &d, old_m.name, new_m.name)
        }
    };
    written.map_err(|e| Failure(format!("cannot render the diff: {e}")))?;
    to_stdout(&out)?;
    Ok(Outcome::Clean)
}
