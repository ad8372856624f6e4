//! `ast-locks refs`: read a refs log once, start to end (on every core, with a
//! progress bar for a person waiting), and write the report or one address's
//! history.

use crate::args::{RefsArgs, RefsFailOn, RefsFormatArg};
use crate::input::open_stream;
use crate::output::Destination;
use crate::{progress, Failure, Outcome};
use ast_locks_analysis::refs::{diagnose_refs, RefsDiagnosis, RefsFinding, RefsOptions};
use ast_locks_render::refs::{self as render, RefsReport};
use std::io::Write;

pub fn run(a: &RefsArgs) -> Result<Outcome, Failure> {
    let dest = Destination {
        file: a.output.as_ref(),
    };
    let format = choose_format(a)?;
    let mut bar = None;
    let stream = open_stream(a.file.as_deref(), "a refs log", |raw, size| {
        let b = progress::bar(a.quiet, size);
        let counted = progress::wrap(b.as_ref(), raw);
        bar = b;
        counted
    })?;
    let inputs: Vec<&std::path::Path> = stream.path.as_deref().into_iter().collect();
    crate::output::refuse_overwriting(a.output.as_ref(), &inputs)?;
    let opts = RefsOptions {
        threads: a.threads,
        history: a.history,
        ..RefsOptions::default()
    };
    let name = stream.name.clone();
    let diagnosis = diagnose_refs(stream.reader, ast_locks_parse::refs::GRAMMAR, &opts);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let d = diagnosis.map_err(|e| Failure(format!("{name}: {e}")))?;
    let report = RefsReport {
        name: &name,
        diagnosis: &d,
        verbose: a.verbose,
    };
    let mut out = Vec::new();
    write_output(&mut out, a, &report, format, &dest)
        .map_err(|e| Failure(format!("cannot write the output: {e}")))?;
    dest.write(&out)?;
    if a.output.is_some() {
        crate::output::say(&d.verdict());
    }
    Ok(outcome(&d, &a.fail_on))
}

/// `-f`, else what `-o`'s extension says, else text; the two must agree.
fn choose_format(a: &RefsArgs) -> Result<RefsFormatArg, Failure> {
    let implied = a
        .output
        .as_ref()
        .map(|p| (p, RefsFormatArg::from_extension(p)));
    match (a.format, implied) {
        (Some(f), Some((path, Some(other)))) if other != f => Err(Failure(format!(
            "{}: the extension says {other:?} but --format says {f:?}: drop one of them",
            path.display()
        ))),
        (Some(f), _) => Ok(f),
        (None, Some((_, Some(f)))) => Ok(f),
        (None, Some((path, None))) => Err(crate::output::unknown_extension(
            path,
            "ast-locks refs FILE -f dot",
        )),
        (None, None) => Ok(RefsFormatArg::Text),
    }
}

fn write_output(
    out: &mut Vec<u8>,
    a: &RefsArgs,
    report: &RefsReport<'_>,
    format: RefsFormatArg,
    dest: &Destination<'_>,
) -> std::io::Result<()> {
    if a.history.is_some() {
        return match format {
            RefsFormatArg::Json => render::json::write(out, report),
            _ => render::text::write_address_history(out, report),
        };
    }
    match format {
        RefsFormatArg::Text => {
            let color = dest.color(a.color);
            render::text::write(out, report, &render::text::TextOptions { color })
        }
        RefsFormatArg::Markdown => render::markdown::write(out, report),
        RefsFormatArg::Html => render::html::write(out, report),
        RefsFormatArg::Json => render::json::write(out, report),
        RefsFormatArg::Refcounter => render::refcounter::write(out, report),
        RefsFormatArg::Dot => render::map::write_dot(out, report),
        RefsFormatArg::Svg => render::map::write_svg(out, report),
        RefsFormatArg::Mermaid => render::map::write_mermaid(out, report),
    }?;
    out.flush()
}

/// Exit 1 when a finding `--fail-on` names is present.
fn outcome(d: &RefsDiagnosis, fail_on: &[RefsFailOn]) -> Outcome {
    let named = |f: RefsFinding| {
        fail_on.iter().any(|x| {
            matches!(
                (x, f),
                (RefsFailOn::Leak, RefsFinding::Leak)
                    | (RefsFailOn::Invalid, RefsFinding::Invalid)
                    | (RefsFailOn::Skewed, RefsFinding::Skewed)
                    | (RefsFailOn::Shutdown, RefsFinding::Shutdown)
            )
        })
    };
    if d.findings().into_iter().any(named) {
        Outcome::Finding
    } else {
        Outcome::Clean
    }
}
