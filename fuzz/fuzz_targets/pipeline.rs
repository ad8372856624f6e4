//! Everything a user can reach from one input: detection, parsing, owners from
//! locals, analysis, series, lock order, and every renderer.
#![no_main]
use ast_locks_analysis::diagnose::{diagnose, DiagnoseOptions};
use ast_locks_analysis::{Options, RwLockPolicy};
use ast_locks_render::view::{View, ViewKind, ViewOptions};
use ast_locks_render::{dot, gdbcmd, html, json, markdown, svg, text, Report};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let kind = ast_locks_parse::detect(data).unwrap_or(ast_locks_parse::InputKind::CoreShowLocks);
    if kind == ast_locks_parse::InputKind::Owners {
        return;
    }
    let Ok(mut dump) = ast_locks_parse::parse_kind(data, kind) else {
        return;
    };
    if let Some(s) = dump.snapshots.last_mut() {
        let owners = ast_locks_parse::owners::from_locals(s);
        let _ = ast_locks_parse::join::apply_owners(s, &owners);
    }
    let all: Vec<_> = dump.snapshots.iter().collect();
    for policy in [RwLockPolicy::ReaderPreferring, RwLockPolicy::WriterPreferring] {
        let options = DiagnoseOptions { analysis: Options { rwlock_policy: policy }, ..DiagnoseOptions::default() };
        let Ok(diagnosis) = diagnose(&all, &options) else { continue };
        if let Some(s) = &diagnosis.series {
            let _ = s.headline();
        }
        let snapshot = all[diagnosis.index];
        let mut report = Report::diagnosed(snapshot, &diagnosis, &dump.warnings);
        report.format = dump.format;
        let mut out = Vec::new();
        let _ = text::write(&mut out, &report, &text::TextOptions { color: true, verbose: true, width: 40 });
        let _ = json::write(&mut out, &report);
        let _ = gdbcmd::write(&mut out, snapshot, "fuzz");
        for kind in [ViewKind::Threads, ViewKind::Locks] {
            let view = View::new(&report, &ViewOptions { kind, focus: Some("*a*".into()), ..ViewOptions::default() });
            let _ = dot::write(&mut out, &view);
            let _ = markdown::write(&mut out, &report, &view, &markdown::MarkdownOptions::default());
            // The built-in layout engine is exercised on small pictures only: it is
            // a dependency, and its own cost grows with the graph.
            if view.nodes.len() <= 40 {
                let _ = svg::builtin(&view);
                let _ = html::write(&mut out, &report, &view);
            }
        }
    }
});
