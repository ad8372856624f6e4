//! Which references of an object were never released.
//!
//! A release is matched to the reference it most likely undoes: first one taken
//! by the same function of the same file in the same thread, then by the same
//! function in any thread, then in the same file and thread, then in the same
//! thread, then any; among equals the oldest (the creator's reference is the one
//! a creator's release undoes, and work handed to another thread is released in
//! the order it was handed over). Container code's releases (`Remove obj from
//! container`, `container_destruct called`) undo container links first. What
//! no release matched is what the report names as never released.

use ast_locks_model::refs::RefEvent;

const LINK: &str = "Container node creation";
const UNLINKS: [&str; 2] = ["Remove obj from container", "container_destruct called"];

/// A reference not yet matched: its event and how much of its change is left.
struct Open {
    index: usize,
    left: i64,
}

/// The references never released: (index into `history`, how much of that
/// line's change is left), oldest first.
pub fn unreleased(history: &[RefEvent]) -> Vec<(usize, i64)> {
    let mut open: Vec<Open> = Vec::new();
    for (index, event) in history.iter().enumerate() {
        if event.delta > 0 {
            open.push(Open {
                index,
                left: event.delta,
            });
            continue;
        }
        let mut need = -event.delta;
        while need > 0 {
            let Some(i) = best_match(history, &open, event) else {
                break;
            };
            let take = need.min(open[i].left);
            open[i].left -= take;
            need -= take;
            if open[i].left == 0 {
                open.remove(i);
            }
        }
    }
    open.into_iter().map(|o| (o.index, o.left)).collect()
}

/// The open reference `release` most likely undoes.
fn best_match(history: &[RefEvent], open: &[Open], release: &RefEvent) -> Option<usize> {
    let unlink = UNLINKS.contains(&release.tag.as_str());
    let tiers: [&dyn Fn(&RefEvent) -> bool; 6] = [
        &|o| unlink && o.tag == LINK,
        &|o| o.function == release.function && o.file == release.file && o.thread == release.thread,
        &|o| o.function == release.function && o.file == release.file,
        &|o| o.file == release.file && o.thread == release.thread,
        &|o| o.thread == release.thread,
        &|_| true,
    ];
    tiers
        .iter()
        .find_map(|tier| open.iter().position(|o| tier(&history[o.index])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ast_locks_model::refs::LineState;

    fn ev(line_no: u64, delta: i64, thread: u32, site: &str, tag: &str) -> RefEvent {
        let mut parts = site.split(':');
        let file = parts.next().unwrap_or_default().to_string();
        let line = parts.next().and_then(|l| l.parse().ok()).unwrap_or(0);
        let function = parts.next().unwrap_or_default().to_string();
        RefEvent {
            line_no,
            addr: 1,
            delta,
            thread: Some(thread),
            file,
            line,
            function,
            state: LineState::Count(1),
            tag: tag.to_string(),
        }
    }

    fn left(history: &[RefEvent]) -> Vec<u64> {
        unreleased(history)
            .into_iter()
            .map(|(i, _)| history[i].line_no)
            .collect()
    }

    #[test]
    fn a_stray_reference_in_another_function_is_the_one_left() {
        // R2-leak, object 0x55d79c5a7318, lines 7578-7582.
        let h = [
            ev(7578, 1, 28766, "res_refs_demo.c:382:r2_leaks", "r2 alloc"),
            ev(
                7579,
                1,
                28766,
                "res_refs_demo.c:388:r2_leaks",
                "r2 extra ref",
            ),
            ev(
                7580,
                -1,
                28766,
                "res_refs_demo.c:389:r2_leaks",
                "r2 drop extra ref",
            ),
            ev(
                7581,
                1,
                28766,
                "res_refs_demo.c:356:r2_leak_site_a",
                "r2 leak site A: ref never released",
            ),
            ev(
                7582,
                -1,
                28766,
                "res_refs_demo.c:403:r2_leaks",
                "r2 release creator ref",
            ),
        ];
        assert_eq!(left(&h), [7581]);
    }

    #[test]
    fn the_creator_releases_its_own_reference_after_linking() {
        // alloc, link into a registry, release the creator's reference.
        let h = [
            ev(1, 1, 7, "res_refs_demo.c:382:r2_leaks", "r2 alloc"),
            ev(2, 1, 7, "res_refs_demo.c:388:r2_leaks", "r2 extra ref"),
            ev(
                3,
                -1,
                7,
                "res_refs_demo.c:389:r2_leaks",
                "r2 drop extra ref",
            ),
            ev(4, 1, 7, "res_refs_demo.c:399:r2_leaks", "r2 registry link"),
            ev(
                5,
                -1,
                7,
                "res_refs_demo.c:403:r2_leaks",
                "r2 release creator ref",
            ),
        ];
        assert_eq!(left(&h), [4]);
    }

    #[test]
    fn same_thread_before_any_thread_and_container_code_undoes_links() {
        let h = [
            ev(1, 1, 7, "chan_pjsip.c:10:alloc", "alloc"),
            ev(2, 1, 8, "chan_pjsip.c:20:worker", "for the worker"),
            ev(3, 1, 7, "chan_pjsip.c:30:link", "Container node creation"),
            ev(4, 1, 9, "chan_pjsip.c:40:dialog", "dialog ref"),
            ev(5, -1, 8, "taskprocessor.c:5:run", ""),
            ev(
                6,
                -1,
                3,
                "astobj2_container.c:641:container_destruct",
                "container_destruct called",
            ),
            ev(7, -1, 7, "chan_pjsip.c:11:alloc", "creator done"),
        ];
        assert_eq!(left(&h), [4]);
    }

    #[test]
    fn a_release_by_two_undoes_two_references_and_partial_changes_are_left() {
        let h = [
            ev(1, 1, 7, "a.c:1:f", ""),
            ev(2, 3, 7, "a.c:2:g", "three"),
            ev(3, -2, 7, "a.c:3:g", ""),
        ];
        assert_eq!(unreleased(&h), [(0, 1), (1, 1)]);
    }

    #[test]
    fn more_releases_than_references_leaves_nothing() {
        let h = [ev(1, 1, 7, "a.c:1:f", ""), ev(2, -2, 7, "a.c:3:g", "")];
        assert!(unreleased(&h).is_empty());
    }
}
