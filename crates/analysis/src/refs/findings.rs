//! From what the workers found to the diagnosis, in named steps: merge the
//! shards, split the objects alive at the end into leaks and skewed objects,
//! name each leak's unreleased references, tell how Asterisk was stopped and set
//! apart what only a graceful stop releases, put members under their leaked
//! containers, and group the leaks by site.

use super::engine::Scanned;
use super::shard::{Alive, Extra, CONSTRUCTED};
use super::*;
use std::collections::BTreeMap;

pub(super) fn diagnose(
    scanned: Scanned,
    grammar: &RefsGrammar,
    opts: &RefsOptions,
) -> Result<RefsDiagnosis, RefsError> {
    let merged = merge(scanned, opts);
    if merged.input.parsed_lines == 0 {
        return Err(RefsError::NotARefsLog {
            first_lines: merged.first_lines.join(" / "),
        });
    }
    let Merged {
        input,
        mut counts,
        invalid,
        alive,
        startup_constructed,
        startup_example,
        history,
        ..
    } = merged;
    let (candidates, skewed, extras) = split_alive(alive, grammar);
    let graceful = graceful_stop(startup_constructed, counts.startup_alive, startup_example);
    let (mut leaks, mut shutdown_leaks) = set_apart_shutdown(candidates, graceful.known);
    place_members(&mut leaks, &extras);
    place_members(&mut shutdown_leaks, &extras);
    counts.alive_at_end = (leaks.len() + shutdown_leaks.len() + skewed.len()) as u64;
    counts.leaked = leaks.len() as u64;
    counts.shutdown = shutdown_leaks.len() as u64;
    counts.skewed_alive = skewed.len() as u64;
    let leak_sites = group(&leaks);
    let unreleased_sites = by_unreleased_site(&leaks);
    let shutdown_sites = group(&shutdown_leaks);
    Ok(RefsDiagnosis {
        input,
        counts,
        graceful,
        leaks,
        shutdown_leaks,
        leak_sites,
        unreleased_sites,
        shutdown_sites,
        invalid,
        skewed,
        history: history.map(|h| h.into_history(grammar)),
    })
}

struct Merged {
    input: RefsInput,
    counts: RefsCounts,
    invalid: Vec<Invalid>,
    alive: Vec<Alive>,
    first_lines: Vec<String>,
    startup_constructed: u64,
    startup_example: Option<RefEvent>,
    history: Option<HistoryParts>,
}

struct HistoryParts {
    addr: u64,
    lifetimes: Vec<super::shard::HistoryLifetime>,
    invalid: Vec<RefEvent>,
    dropped: u64,
}

impl HistoryParts {
    fn into_history(mut self, grammar: &RefsGrammar) -> AddressHistory {
        self.lifetimes.sort_by_key(|h| h.lifetime.start);
        AddressHistory {
            addr: self.addr,
            lifetimes: self
                .lifetimes
                .iter()
                .map(|h| (h.outcome, h.lifetime.events(grammar), h.lifetime.elided))
                .collect(),
            invalid: self.invalid,
            dropped: self.dropped,
        }
    }
}

/// Step 1: one view of every shard's results.
fn merge(scanned: Scanned, opts: &RefsOptions) -> Merged {
    let mut counts = RefsCounts::default();
    let mut variant = Variant::default();
    let mut warnings = Vec::new();
    let (mut warnings_total, mut empty_lines, mut parsed_lines) = (0, 0, 0);
    let mut invalid = Vec::new();
    let mut alive = Vec::new();
    let mut startup_constructed = 0;
    let mut startup_example: Option<RefEvent> = None;
    let mut history = opts.history.map(|addr| HistoryParts {
        addr,
        lifetimes: Vec::new(),
        invalid: Vec::new(),
        dropped: 0,
    });
    for shard in scanned.shards {
        let out = shard.out;
        counts.add(&out.counts);
        variant.merge(&out.variant);
        warnings.extend(out.warnings);
        warnings_total += out.warnings_total;
        empty_lines += out.empty_lines;
        parsed_lines += out.parsed_lines;
        invalid.extend(out.invalid);
        startup_constructed += out.init_constructed;
        if let Some(e) = out.init_example {
            if startup_example
                .as_ref()
                .is_none_or(|s| e.line_no < s.line_no)
            {
                startup_example = Some(e);
            }
        }
        if let Some(h) = history.as_mut() {
            h.lifetimes.extend(out.history);
            h.invalid.extend(out.history_invalid);
            h.dropped += out.history_dropped;
        }
        alive.extend(shard.alive);
    }
    warnings.sort();
    warnings.truncate(opts.max_warnings);
    invalid.sort_by_key(|i| i.at.line_no);
    invalid.truncate(opts.max_invalid);
    alive.sort_by_key(|a| a.lifetime.start);
    Merged {
        input: RefsInput {
            variant,
            bytes: scanned.bytes,
            lines: scanned.lines,
            parsed_lines,
            empty_lines,
            warnings,
            warnings_total,
            read_error: scanned.read_error,
        },
        counts,
        invalid,
        alive,
        first_lines: scanned.first_lines,
        startup_constructed,
        startup_example,
        history,
    }
}

/// Step 2: objects alive at the end with a constructor are leak candidates;
/// without one they began before the log did and cannot be judged.
fn split_alive(alive: Vec<Alive>, grammar: &RefsGrammar) -> (Vec<Leak>, Vec<Skewed>, Extras) {
    let mut extras = Extras::new();
    let mut leaks = Vec::new();
    let mut skewed = Vec::new();
    for Alive { addr, lifetime } in alive {
        let history = lifetime.events(grammar);
        let Some(first) = history.first().cloned() else {
            continue;
        };
        if lifetime.flags & CONSTRUCTED == 0 {
            skewed.push(Skewed {
                addr,
                first,
                count_at_start: lifetime.count_at_start,
                refs_left: lifetime.sum,
                history,
                elided: lifetime.elided,
            });
            continue;
        }
        let (overhead, size) = match first.state {
            LineState::Constructor { overhead, size } => (overhead, size),
            _ => (None, None),
        };
        let unreleased = matching::unreleased(&history)
            .into_iter()
            .map(|(i, left)| Unreleased {
                event: history[i].clone(),
                left,
            })
            .collect();
        leaks.push(Leak {
            addr,
            allocated: first,
            size,
            overhead,
            refs_left: lifetime.sum,
            unreleased,
            history,
            elided: lifetime.elided,
            container: lifetime.extra.as_ref().is_some_and(|e| e.container),
            held_by: None,
            also_in: Vec::new(),
        });
        if let Some(extra) = lifetime.extra {
            extras.insert(addr, extra);
        }
    }
    (leaks, skewed, extras)
}

/// The iteration evidence of the leak candidates, by address, for
/// [`place_members`] (kept beside the leaks so that `Leak` stays plain data).
type Extras = BTreeMap<u64, Box<Extra>>;

/// Step 3: how Asterisk was stopped. A graceful stop runs the cleanups that
/// release what startup made (docs/refs.md, "A stop without cleanups"): none of those objects alive
/// means they ran; any of them alive means they did not run, or did not
/// finish (the log was cut, or copied while Asterisk ran).
fn graceful_stop(
    startup_objects: u64,
    startup_alive: u64,
    example: Option<RefEvent>,
) -> GracefulStop {
    let known = (startup_objects > 0).then_some(startup_alive == 0);
    GracefulStop {
        known,
        startup_objects,
        startup_alive,
        example,
    }
}

/// Step 4: when no cleanups ran, an object alive at the end whose every
/// remaining reference is one a graceful stop would have released — held by
/// Asterisk's core, kept by its creator (its constructor's reference, or one
/// taken where it was allocated: stored or linked for later), or a container
/// link — is set apart from the leaks of the code under test.
fn set_apart_shutdown(candidates: Vec<Leak>, graceful: Option<bool>) -> (Vec<Leak>, Vec<Leak>) {
    if graceful != Some(false) {
        return (candidates, Vec::new());
    }
    candidates.into_iter().partition(|leak| {
        !leak.unreleased.iter().all(|u| {
            let r = &u.event;
            !is_module_file(r.file.as_bytes())
                || r.line_no == leak.allocated.line_no
                || (r.function == leak.allocated.function && r.file == leak.allocated.file)
                || r.tag == "Container node creation"
        })
    })
}

/// Step 5: a leaked object the log shows inside a leaked container (an
/// iterator of that container handed it out) and that holds no more
/// references than its container links is shown under the container.
fn place_members(leaks: &mut [Leak], extras: &Extras) {
    let windows: Vec<(u32, u64, u64, u64)> = leaks
        .iter()
        .filter(|l| l.container)
        .filter_map(|l| extras.get(&l.addr).map(|e| (l.addr, e)))
        .flat_map(|(addr, e)| e.windows.iter().map(move |&(t, s, end)| (t, s, end, addr)))
        .collect();
    if windows.is_empty() {
        return;
    }
    let leaked: std::collections::BTreeSet<u64> = leaks.iter().map(|l| l.addr).collect();
    for leak in leaks.iter_mut() {
        let iterated: Vec<(u32, u64)> = extras
            .get(&leak.addr)
            .map(|e| e.iterated.iter().copied().collect())
            .unwrap_or_default();
        let mut containers: Vec<u64> = iterated
            .iter()
            .flat_map(|&(thread, line)| {
                windows
                    .iter()
                    .filter(move |w| w.0 == thread && w.1 < line && line < w.2)
                    .map(|w| w.3)
            })
            .filter(|c| *c != leak.addr && leaked.contains(c))
            .collect();
        containers.sort_unstable();
        containers.dedup();
        let held: i64 = leak.unreleased.iter().map(|u| u.left).sum();
        match containers.first() {
            Some(&first) if held as usize <= containers.len() => {
                leak.held_by = Some(first);
                leak.also_in = containers[1..].to_vec();
            }
            Some(_) => leak.also_in = containers,
            None => {}
        }
    }
}

/// Step 6: leaks with the same allocation site and the same unreleased sites,
/// containers first, then the biggest groups.
fn group(leaks: &[Leak]) -> Vec<LeakSite> {
    type Key = (Site, Vec<(Site, String)>);
    let mut groups: BTreeMap<Key, LeakSite> = BTreeMap::new();
    let by_addr: BTreeMap<u64, usize> =
        leaks.iter().enumerate().map(|(i, l)| (l.addr, i)).collect();
    let mut members: BTreeMap<usize, (u64, u64)> = BTreeMap::new();
    for leak in leaks {
        if let Some(c) = leak.held_by.and_then(|c| by_addr.get(&c)) {
            let m = members.entry(*c).or_default();
            m.0 += 1;
            m.1 += leak.bytes().unwrap_or(0);
        }
    }
    for (i, leak) in leaks.iter().enumerate() {
        if leak.held_by.is_some() {
            continue;
        }
        let mut unreleased: Vec<(Site, String)> = leak
            .unreleased
            .iter()
            .map(|u| (Site::of(&u.event), u.event.tag.clone()))
            .collect();
        unreleased.sort();
        unreleased.dedup();
        let key = (Site::of(&leak.allocated), unreleased.clone());
        let g = groups.entry(key).or_insert_with(|| LeakSite {
            allocated: Site::of(&leak.allocated),
            tag: leak.allocated.tag.clone(),
            unreleased,
            leaks: Vec::new(),
            bytes: 0,
            members: 0,
            member_bytes: 0,
        });
        g.leaks.push(i);
        g.bytes += leak.bytes().unwrap_or(0);
        if let Some((n, bytes)) = members.get(&i) {
            g.members += n;
            g.member_bytes += bytes;
        }
    }
    let mut out: Vec<LeakSite> = groups.into_values().collect();
    out.sort_by(|a, b| {
        let container = |g: &LeakSite| g.leaks.iter().any(|&i| leaks[i].container);
        container(b)
            .cmp(&container(a))
            .then(b.leaks.len().cmp(&a.leaks.len()))
            .then(a.leaks[0].cmp(&b.leaks[0]))
    });
    out
}

/// Step 7: the leaks by unreleased site (an object counted once per site).
fn by_unreleased_site(leaks: &[Leak]) -> Vec<UnreleasedSite> {
    let mut sites: BTreeMap<(Site, String), (u64, std::collections::BTreeSet<Site>)> =
        BTreeMap::new();
    for leak in leaks.iter().filter(|l| l.held_by.is_none()) {
        let mut seen = std::collections::BTreeSet::new();
        for u in &leak.unreleased {
            let key = (Site::of(&u.event), u.event.tag.clone());
            if seen.insert(key.clone()) {
                let entry = sites.entry(key).or_default();
                entry.0 += 1;
                entry.1.insert(Site::of(&leak.allocated));
            }
        }
    }
    let mut out: Vec<UnreleasedSite> = sites
        .into_iter()
        .map(|((site, tag), (objects, allocs))| UnreleasedSite {
            site,
            tag,
            objects,
            allocation_sites: allocs.len() as u64,
        })
        .collect();
    out.sort_by(|a, b| b.objects.cmp(&a.objects).then_with(|| a.site.cmp(&b.site)));
    out
}
