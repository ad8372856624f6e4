//! The report on one moment (the default mode, and what `capture` ends with):
//! join the inputs, diagnose, render in the chosen format, write.

use crate::args::{FailOn, Format, LayoutArg, Opts, Policy, RendererArg, ViewArg};
use crate::input::{self, Input};
use crate::join::{join_inputs, Moment};
use crate::output::{say, Destination};
use crate::{Failure, Outcome};
use ast_locks_analysis::diagnose::{diagnose, DiagnoseError, DiagnoseOptions, Diagnosis};
use ast_locks_analysis::verdict::VerdictKind;
use ast_locks_analysis::{lockorder, Options, RwLockPolicy};
use ast_locks_render::svg::{self, Layout as GvLayout};
use ast_locks_render::view::{View, ViewKind, ViewOptions};
use ast_locks_render::{dot, html, json, markdown, text, Report};
use std::path::PathBuf;

/// The top-level entry point for reading dump files and reporting on them.
pub fn run(files: &[PathBuf], opts: &Opts) -> Result<Outcome, Failure> {
    let named: Vec<&std::path::Path> = files
        .iter()
        .chain(&opts.owners)
        .chain(&opts.suppress)
        .map(PathBuf::as_path)
        .collect();
    crate::output::refuse_overwriting(opts.output.as_ref(), &named)?;
    let inputs = input::load(files, opts)?;
    report(&inputs, opts)
}

/// Analyse the inputs of one moment and write the report.
pub fn report(inputs: &[Input], opts: &Opts) -> Result<Outcome, Failure> {
    report_with(inputs, opts, &[])
}

/// The report, with what the tool that made the inputs warned of (gdb during
/// a capture) said on its first screen.
pub fn report_with(inputs: &[Input], opts: &Opts, warned: &[String]) -> Result<Outcome, Failure> {
    let mut moment = join_inputs(inputs)?;
    moment.mismatches.extend(warned.iter().cloned());
    let snapshots = moment.snapshots();
    let diagnosis = diagnose_moment(&moment, &snapshots, opts)?;
    let report = report_of(&moment, snapshots[diagnosis.index], &diagnosis, opts);
    let destination = Destination {
        file: opts.output.as_ref(),
    };
    let format = destination.format(opts.format)?;
    let view = View::new(&report, &view_options(opts));
    if opts.focus.is_some() && view.nodes.is_empty() {
        return Err(focus_matches_nothing(&report, opts));
    }
    let look = Look {
        color: destination.color(opts.color),
        width: destination.width(opts.width),
    };
    if format == Format::Json {
        // Streamed: the JSON of a big dump is bigger than the dump's text.
        destination.stream(|mut w| json::write(&mut w, &report))?;
    } else {
        let out = render(&report, &view, format, look, opts)?;
        destination.write(&out)?;
    }
    if opts.output.is_some() {
        // The report went to a file: the verdict still reaches the terminal.
        say(&report.headline());
    }
    if matches!(
        format,
        Format::Dot | Format::Svg | Format::Markdown | Format::Html
    ) {
        picture_notes(&moment, &view, opts);
    }
    Ok(outcome(&diagnosis, &opts.fail_on))
}

/// The report of one moment in several formats, each to its file, without a
/// word on standard error (for `watch`, which says what it wrote); returns the
/// headline.
pub fn write_reports(
    inputs: &[Input],
    opts: &Opts,
    files: &[(Format, PathBuf)],
) -> Result<String, Failure> {
    let moment = join_inputs(inputs)?;
    let snapshots = moment.snapshots();
    let diagnosis = diagnose_moment(&moment, &snapshots, opts)?;
    let report = report_of(&moment, snapshots[diagnosis.index], &diagnosis, opts);
    let view = View::new(&report, &view_options(opts));
    for (format, path) in files {
        let look = Look {
            color: false,
            width: opts.width.unwrap_or(text::WIDTH),
        };
        let out = render(&report, &view, *format, look, opts)?;
        let destination = Destination { file: Some(path) };
        destination.write(&out)?;
    }
    Ok(report.headline())
}

/// The diagnosis of a moment's snapshots, with errors worded for the user.
fn diagnose_moment(
    moment: &Moment<'_>,
    snapshots: &[&ast_locks_model::Snapshot<'_>],
    opts: &Opts,
) -> Result<Diagnosis, Failure> {
    diagnose(snapshots, &diagnose_options(opts)?).map_err(|e| match e {
        DiagnoseError::NoSuchSnapshot { asked, count } => {
            snapshot_out_of_range(moment, asked, count)
        }
        DiagnoseError::NoSnapshot => Failure(format!("{}: {e}", moment.name)),
    })
}

/// What the renderers read: the diagnosis and the moment's notes.
fn report_of<'r, 'a>(
    moment: &'r Moment<'a>,
    snapshot: &'r ast_locks_model::Snapshot<'a>,
    diagnosis: &'r Diagnosis,
    opts: &'r Opts,
) -> Report<'r, 'a> {
    Report {
        source: moment.name,
        format: moment.dump.format,
        joined: &moment.joined,
        notes: &moment.notes,
        mismatches: &moment.mismatches,
        looked_up: &moment.looked_up,
        stall_after: &opts.stall_after.text,
        ..Report::diagnosed(snapshot, diagnosis, &moment.dump.warnings)
    }
}

/// `--focus` named nothing in the dump: say what there is.
fn focus_matches_nothing(report: &Report<'_, '_>, opts: &Opts) -> Failure {
    let s = report.snapshot;
    let threads: Vec<String> = s
        .threads
        .iter()
        .take(5)
        .map(|t| match t.lwp {
            Some(lwp) => format!("{} (LWP {lwp}, {})", t.id, t.short_name()),
            None => format!("{} ({})", t.id, t.short_name()),
        })
        .collect();
    let a = report.analysis;
    let locks: Vec<String> = (0..a.locks.len())
        .take(5)
        .map(|li| {
            let (name, addr) = a.lock_label(s, li);
            format!("{name} {addr}")
        })
        .collect();
    Failure(format!(
        "--focus {}: matches no thread id, LWP, thread name, lock address or lock name in {}; threads: {}{}; locks: {}{}",
        opts.focus.as_deref().unwrap_or(""),
        report.source,
        threads.join(", "),
        if s.threads.len() > 5 { ", …" } else { "" },
        if locks.is_empty() { "none".to_string() } else { locks.join(", ") },
        if a.locks.len() > 5 { ", …" } else { "" },
    ))
}

/// The diagnosis options the arguments ask for, with the suppressions file read.
fn diagnose_options(opts: &Opts) -> Result<DiagnoseOptions, Failure> {
    let suppress = match &opts.suppress {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure(format!("{}: cannot read: {e}", path.display())))?;
            lockorder::parse_suppressions(&text)
                .map_err(|(line, msg)| Failure(format!("{}: line {line}: {msg}", path.display())))?
        }
        None => Vec::new(),
    };
    Ok(DiagnoseOptions {
        analysis: Options {
            rwlock_policy: match opts.rwlock_policy {
                Policy::ReaderPreferring => RwLockPolicy::ReaderPreferring,
                Policy::WriterPreferring => RwLockPolicy::WriterPreferring,
            },
        },
        // `--snapshot` counts from 1 (its parser refuses 0).
        snapshot: opts.snapshot.map(|n| n.saturating_sub(1)),
        suppress,
        stall_after_micros: opts.stall_after.micros,
        taken_apart: opts.taken_apart,
    })
}

fn snapshot_out_of_range(moment: &Moment<'_>, asked: usize, count: usize) -> Failure {
    Failure(format!(
        "{}: --snapshot {asked}: the input holds {count} snapshot{}",
        moment.name,
        if count == 1 { "" } else { "s" }
    ))
}

fn view_options(opts: &Opts) -> ViewOptions {
    ViewOptions {
        all: opts.all,
        focus: opts.focus.clone(),
        max_nodes: opts.max_nodes,
        kind: match opts.view {
            ViewArg::Threads => ViewKind::Threads,
            ViewArg::Locks => ViewKind::Locks,
        },
    }
}

/// How the text report looks where it goes.
#[derive(Debug, Clone, Copy)]
struct Look {
    color: bool,
    width: usize,
}

/// The whole output, made before anything is written, so a failure leaves no
/// half-written file and a closed pipe costs nothing.
fn render(
    report: &Report<'_, '_>,
    view: &View,
    format: Format,
    look: Look,
    opts: &Opts,
) -> Result<Vec<u8>, Failure> {
    let mut out: Vec<u8> = Vec::new();
    let made = match format {
        Format::Text => text::write(
            &mut out,
            report,
            &text::TextOptions {
                color: look.color,
                verbose: opts.verbose,
                width: look.width,
            },
        ),
        Format::Json => json::write(&mut out, report),
        Format::Dot => dot::write(&mut out, view),
        Format::Svg => return render_svg(opts, view),
        Format::Markdown => markdown::write(
            &mut out,
            report,
            view,
            &markdown::MarkdownOptions {
                verbose: opts.verbose,
            },
        ),
        Format::Html => html::write(&mut out, report, view),
    };
    made.map_err(|e| Failure(format!("cannot render the output: {e}")))?;
    Ok(out)
}

fn render_svg(opts: &Opts, view: &View) -> Result<Vec<u8>, Failure> {
    let graphviz = match opts.renderer {
        Some(RendererArg::Graphviz) => true,
        Some(RendererArg::Builtin) => {
            if opts.layout.is_some() {
                return Err(Failure(
                    "--layout chooses a Graphviz layout: use it with --renderer graphviz"
                        .to_string(),
                ));
            }
            false
        }
        None => opts.layout.is_some(),
    };
    let made = if graphviz {
        let layout = match opts.layout.unwrap_or(LayoutArg::Dot) {
            LayoutArg::Dot => GvLayout::Dot,
            LayoutArg::Circo => GvLayout::Circo,
            LayoutArg::Neato => GvLayout::Neato,
            LayoutArg::Fdp => GvLayout::Fdp,
        };
        svg::graphviz(view, layout)
    } else {
        svg::builtin(view).map(String::into_bytes)
    };
    made.map_err(|e| Failure(e.to_string()))
}

/// What a picture leaves out, and the input warnings it cannot show, said on
/// standard error.
fn picture_notes(moment: &Moment<'_>, view: &View, opts: &Opts) {
    if view.capped > 0 {
        say(&format!(
            "{} threads left out of the picture by --max-nodes {}",
            view.capped,
            opts.max_nodes.unwrap_or_default()
        ));
    } else if view.threads_left_out > 0 && !opts.all && opts.focus.is_none() {
        say(&format!(
            "{} thread{} not involved in any wait not drawn (--all draws them)",
            view.threads_left_out,
            if view.threads_left_out == 1 { "" } else { "s" }
        ));
    }
    let warnings = &moment.dump.warnings;
    if let Some(first) = warnings.first() {
        say(&format!(
            "{}: {} input warning{} (first at line {}: {}); `-f text` lists them",
            moment.name,
            warnings.len(),
            if warnings.len() == 1 { "" } else { "s" },
            first.line,
            first.message
        ));
    }
}

/// A finding when one of the `--fail-on` kinds is there; else undetermined
/// when the input cannot prove or exclude a deadlock.
fn outcome(d: &Diagnosis, fail_on: &[FailOn]) -> Outcome {
    let fail = fail_on.iter().any(|f| match f {
        FailOn::Deadlock => !d.analysis().deadlocks.is_empty(),
        FailOn::Stall => !d.stalls.is_empty(),
        FailOn::Potential => !d.potential.is_empty(),
    });
    if fail {
        Outcome::Finding
    } else if d.verdict.kind == VerdictKind::Undetermined {
        Outcome::Undetermined
    } else {
        Outcome::Clean
    }
}
