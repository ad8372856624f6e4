//! The refs JSON contract (`schema_version` 1): fields are only ever added,
//! never renamed. Addresses are written as `%p` prints them; lists are in log
//! order (sites: containers first, then the biggest groups).

use super::RefsReport;
use ast_locks_analysis::refs::{
    AddressHistory, Invalid, Leak, LeakSite, RefsDiagnosis, Site, Skewed,
};
use ast_locks_model::refs::{addr_text, LineState, RefEvent};
use serde::Serialize;
use std::io::{self, Write};

/// The schema version this module writes.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Doc<'d> {
    schema_version: u32,
    input: InputJ<'d>,
    verdict: String,
    /// `true`: stopped with `core stop gracefully`; `false`: no cleanups ran;
    /// `null`: the log cannot tell.
    graceful_stop: Option<bool>,
    graceful_stop_evidence: GracefulJ<'d>,
    objects: ObjectsJ,
    leaked: Vec<LeakJ<'d>>,
    leak_sites: Vec<SiteGroupJ<'d>>,
    unreleased_sites: Vec<UnreleasedSiteJ<'d>>,
    invalid: Vec<InvalidJ<'d>>,
    skewed: Vec<SkewedJ<'d>>,
    shutdown_leaks: Vec<LeakJ<'d>>,
    shutdown_sites: Vec<SiteGroupJ<'d>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<HistoryJ<'d>>,
}

#[derive(Serialize)]
struct InputJ<'d> {
    file: &'d str,
    /// `csv` or `legacy`.
    format: &'static str,
    /// Which Asterisk releases write these line shapes.
    generation: &'static str,
    constructor_sizes: bool,
    destructor_lock_state: bool,
    invalid_lines: bool,
    lines: u64,
    bytes: u64,
    refs_lines: u64,
    empty_lines: u64,
    warnings: Vec<WarningJ<'d>>,
    warnings_total: u64,
    read_error: Option<&'d str>,
}

#[derive(Serialize)]
struct WarningJ<'d> {
    line: u64,
    message: &'d str,
}

#[derive(Serialize)]
struct GracefulJ<'d> {
    startup_objects: u64,
    startup_alive: u64,
    example: Option<EventJ<'d>>,
}

#[derive(Serialize)]
struct ObjectsJ {
    lifetimes: u64,
    released: u64,
    alive_at_end: u64,
    leaked: u64,
    shutdown: u64,
    skewed: u64,
    skewed_released: u64,
    unbalanced: u64,
    superseded: u64,
    invalid_references: u64,
    invalid_lines: u64,
    below_zero: u64,
    late_lines: u64,
}

/// One line of the log.
#[derive(Serialize)]
struct EventJ<'d> {
    file: &'d str,
    line: u32,
    function: &'d str,
    tag: &'d str,
    thread: Option<u32>,
    delta: i64,
    line_no: u64,
    /// `constructor`, `destructor`, `invalid`, `count`, `call-destructor`.
    kind: &'static str,
    /// The count before the change, on ordinary lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<i64>,
}

#[derive(Serialize)]
struct UnreleasedJ<'d> {
    #[serde(flatten)]
    event: EventJ<'d>,
    /// How much of `delta` is still held.
    left: i64,
}

#[derive(Serialize)]
struct LeakJ<'d> {
    addr: String,
    allocated: EventJ<'d>,
    size: Option<u64>,
    overhead: Option<u64>,
    refs_left: i64,
    unreleased: Vec<UnreleasedJ<'d>>,
    container: bool,
    /// The leaked container that alone holds it.
    held_by: Option<String>,
    also_in: Vec<String>,
    /// With --verbose: every line kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<Vec<EventJ<'d>>>,
    history_elided: u64,
}

#[derive(Serialize)]
struct SiteJ<'d> {
    file: &'d str,
    line: u32,
    function: &'d str,
    tag: &'d str,
}

#[derive(Serialize)]
struct SiteGroupJ<'d> {
    allocated: SiteJ<'d>,
    unreleased: Vec<SiteJ<'d>>,
    objects: usize,
    bytes: u64,
    addrs: Vec<String>,
    members: u64,
    member_bytes: u64,
}

#[derive(Serialize)]
struct UnreleasedSiteJ<'d> {
    #[serde(flatten)]
    site: SiteJ<'d>,
    objects: u64,
    allocation_sites: u64,
}

#[derive(Serialize)]
struct InvalidJ<'d> {
    addr: String,
    /// `use-after-free`, `below-zero`, `unknown-object`.
    kind: &'static str,
    at: EventJ<'d>,
    destroyed_at: Option<EventJ<'d>>,
    allocated: Option<EventJ<'d>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<Vec<EventJ<'d>>>,
}

#[derive(Serialize)]
struct SkewedJ<'d> {
    addr: String,
    first: EventJ<'d>,
    count_at_start: i64,
    refs_left: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<Vec<EventJ<'d>>>,
}

#[derive(Serialize)]
struct HistoryJ<'d> {
    addr: String,
    lifetimes: Vec<LifetimeJ<'d>>,
    invalid: Vec<EventJ<'d>>,
    dropped: u64,
}

#[derive(Serialize)]
struct LifetimeJ<'d> {
    /// `released`, `unbalanced`, `alive`, `below-zero`, `superseded`.
    outcome: &'static str,
    events: Vec<EventJ<'d>>,
    elided: u64,
}

fn event(e: &RefEvent) -> EventJ<'_> {
    let (kind, count) = match e.state {
        LineState::Constructor { .. } => ("constructor", None),
        LineState::Destructor { .. } => ("destructor", None),
        LineState::Invalid => ("invalid", None),
        LineState::Count(c) => ("count", Some(c)),
        LineState::CallDestructor => ("call-destructor", None),
        LineState::Unknown => ("count", None),
    };
    EventJ {
        file: &e.file,
        line: e.line,
        function: &e.function,
        tag: &e.tag,
        thread: e.thread,
        delta: e.delta,
        line_no: e.line_no,
        kind,
        count,
    }
}

fn events(list: &[RefEvent]) -> Vec<EventJ<'_>> {
    list.iter().map(event).collect()
}

fn leak(l: &Leak, verbose: bool) -> LeakJ<'_> {
    LeakJ {
        addr: addr_text(l.addr),
        allocated: event(&l.allocated),
        size: l.size,
        overhead: l.overhead,
        refs_left: l.refs_left,
        unreleased: l
            .unreleased
            .iter()
            .map(|u| UnreleasedJ {
                event: event(&u.event),
                left: u.left,
            })
            .collect(),
        container: l.container,
        held_by: l.held_by.map(addr_text),
        also_in: l.also_in.iter().map(|a| addr_text(*a)).collect(),
        history: verbose.then(|| events(&l.history)),
        history_elided: l.elided,
    }
}

fn site<'d>(s: &'d Site, tag: &'d str) -> SiteJ<'d> {
    SiteJ {
        file: &s.file,
        line: s.line,
        function: &s.function,
        tag,
    }
}

fn group<'d>(g: &'d LeakSite, leaks: &'d [Leak]) -> SiteGroupJ<'d> {
    SiteGroupJ {
        allocated: site(&g.allocated, &g.tag),
        unreleased: g.unreleased.iter().map(|(s, t)| site(s, t)).collect(),
        objects: g.leaks.len(),
        bytes: g.bytes,
        addrs: g.leaks.iter().map(|&i| addr_text(leaks[i].addr)).collect(),
        members: g.members,
        member_bytes: g.member_bytes,
    }
}

fn invalid(i: &Invalid, verbose: bool) -> InvalidJ<'_> {
    InvalidJ {
        addr: addr_text(i.addr),
        kind: i.kind.label(),
        at: event(&i.at),
        destroyed_at: i.destroyed_at.as_ref().map(event),
        allocated: i.allocated.as_ref().map(event),
        history: (verbose && !i.history.is_empty()).then(|| events(&i.history)),
    }
}

fn skewed(s: &Skewed, verbose: bool) -> SkewedJ<'_> {
    SkewedJ {
        addr: addr_text(s.addr),
        first: event(&s.first),
        count_at_start: s.count_at_start,
        refs_left: s.refs_left,
        history: verbose.then(|| events(&s.history)),
    }
}

fn history(h: &AddressHistory) -> HistoryJ<'_> {
    use ast_locks_analysis::refs::Outcome;
    HistoryJ {
        addr: addr_text(h.addr),
        lifetimes: h
            .lifetimes
            .iter()
            .map(|(outcome, list, elided)| LifetimeJ {
                outcome: match outcome {
                    Outcome::Finished => "released",
                    Outcome::Unbalanced => "unbalanced",
                    Outcome::Alive => "alive",
                    Outcome::BelowZero => "below-zero",
                    Outcome::Superseded => "superseded",
                },
                events: events(list),
                elided: *elided,
            })
            .collect(),
        invalid: events(&h.invalid),
        dropped: h.dropped,
    }
}

fn objects(d: &RefsDiagnosis) -> ObjectsJ {
    let c = &d.counts;
    ObjectsJ {
        lifetimes: c.lifetimes,
        released: c.finished,
        alive_at_end: c.alive_at_end,
        leaked: c.leaked,
        shutdown: c.shutdown,
        skewed: c.skewed_alive,
        skewed_released: c.skewed_finished,
        unbalanced: c.unbalanced,
        superseded: c.superseded,
        invalid_references: c.invalid,
        invalid_lines: c.invalid_lines,
        below_zero: c.below_zero_alive,
        late_lines: c.late_lines,
    }
}

/// Write the JSON document.
pub fn write(w: &mut impl Write, r: &RefsReport<'_>) -> io::Result<()> {
    let d = r.diagnosis;
    let v = &d.input.variant;
    let doc = Doc {
        schema_version: SCHEMA_VERSION,
        input: InputJ {
            file: r.name,
            format: v.format().label(),
            generation: v.generation(),
            constructor_sizes: v.constructor_sizes,
            destructor_lock_state: v.destructor_lock_state,
            invalid_lines: v.invalid_lines,
            lines: d.input.lines,
            bytes: d.input.bytes,
            refs_lines: d.input.parsed_lines,
            empty_lines: d.input.empty_lines,
            warnings: d
                .input
                .warnings
                .iter()
                .map(|(line, message)| WarningJ {
                    line: *line,
                    message,
                })
                .collect(),
            warnings_total: d.input.warnings_total,
            read_error: d.input.read_error.as_deref(),
        },
        verdict: d.verdict(),
        graceful_stop: d.graceful.known,
        graceful_stop_evidence: GracefulJ {
            startup_objects: d.graceful.startup_objects,
            startup_alive: d.graceful.startup_alive,
            example: d.graceful.example.as_ref().map(event),
        },
        objects: objects(d),
        leaked: d.leaks.iter().map(|l| leak(l, r.verbose)).collect(),
        leak_sites: d.leak_sites.iter().map(|g| group(g, &d.leaks)).collect(),
        unreleased_sites: d
            .unreleased_sites
            .iter()
            .map(|u| UnreleasedSiteJ {
                site: site(&u.site, &u.tag),
                objects: u.objects,
                allocation_sites: u.allocation_sites,
            })
            .collect(),
        invalid: d.invalid.iter().map(|i| invalid(i, r.verbose)).collect(),
        skewed: d.skewed.iter().map(|s| skewed(s, r.verbose)).collect(),
        shutdown_leaks: d
            .shutdown_leaks
            .iter()
            .map(|l| leak(l, r.verbose))
            .collect(),
        shutdown_sites: d
            .shutdown_sites
            .iter()
            .map(|g| group(g, &d.shutdown_leaks))
            .collect(),
        history: d.history.as_ref().map(history),
    };
    serde_json::to_writer_pretty(&mut *w, &doc).map_err(io::Error::other)?;
    writeln!(w)
}
