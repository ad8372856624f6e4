//! `ast-locks diff OLD NEW`: what appeared, disappeared and persisted between
//! two dumps of one process.

use crate::args::DiffFormat;
use crate::input::Input;
use crate::join::join_inputs;
use crate::output::to_stdout;
use crate::{Failure, Outcome};
use ast_locks_analysis::{analyze, Options};
use ast_locks_render::diff::Side;
use std::path::Path;

/// The top-level entry point for `diff`: each side is a file and which of its
/// snapshots to compare (1-based; the last when not given).
pub fn run(
    old: (&Path, Option<usize>),
    new: (&Path, Option<usize>),
    format: DiffFormat,
) -> Result<Outcome, Failure> {
    let options = Options::default();
    let old_inputs = [Input::read(old.0, None)?];
    let new_inputs = [Input::read(new.0, None)?];
    let old_m = join_inputs(&old_inputs)?;
    let new_m = join_inputs(&new_inputs)?;
    let (os, old_side) = side(&old_m, old.1, "--old-snapshot")?;
    let (ns, new_side) = side(&new_m, new.1, "--new-snapshot")?;
    let (oa, na) = (analyze(os, &options), analyze(ns, &options));
    let d = ast_locks_analysis::series::diff((os, &oa), (ns, &na));
    let mut out = Vec::new();
    let written = match format {
        DiffFormat::Text => ast_locks_render::diff::write_text(&mut out, &d, old_side, new_side),
        DiffFormat::Json => ast_locks_render::diff::write_json(&mut out, &d, old_side, new_side),
    };
    written.map_err(|e| Failure(format!("cannot render the diff: {e}")))?;
    to_stdout(&out)?;
    Ok(Outcome::Clean)
}

/// The snapshot of one side to compare, and how the diff names it.
fn side<'m, 'a>(
    m: &'m crate::join::Moment<'a>,
    asked: Option<usize>,
    option: &str,
) -> Result<(&'m ast_locks_model::Snapshot<'a>, Side<'m>), Failure> {
    let all = m.snapshots();
    let count = all.len();
    let at = match asked {
        None if count > 0 => count - 1,
        Some(n) if (1..=count).contains(&n) => n - 1,
        Some(n) => {
            return Err(Failure(format!(
                "{}: {option} {n}: the input holds {count} snapshot{}",
                m.name,
                if count == 1 { "" } else { "s" }
            )))
        }
        None => return Err(Failure(format!("{}: no snapshot found", m.name))),
    };
    Ok((
        all[at],
        Side {
            name: m.name,
            snapshot: at + 1,
            snapshots: count,
        },
    ))
}
