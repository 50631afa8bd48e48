//! The simulation's promises, on small fixed runs that fit CI in a debug
//! build (the 100-node soak is `tally-sim --seeds 1..200 --nodes 100`, see
//! BENCHMARKS.md): fixed seeds converge with every invariant holding, one
//! seed replays exactly, and planted bugs are caught with a trace that names
//! the node, the message and the change. Restarts crash the node's simulated
//! disk and rebuild its replica through `Replica::open`.

use simulations::world::{self, Bug, Config, Event, Traced};

fn lines(trace: &[Traced]) -> String {
    trace.iter().map(|t| format!("{t}\n")).collect()
}

/// Panics with the broken invariant and its trace, if the run failed.
fn passed(seed: u64, o: &world::Outcome) {
    if let Some(f) = &o.failure {
        panic!(
            "seed {seed}: {}: {}\n{}",
            f.invariant,
            f.detail,
            lines(&f.trace)
        );
    }
}

fn small(seed: u64) -> Config {
    let mut c = Config::new(seed, 12);
    c.days = 10;
    c
}

#[test]
fn fixed_seeds_converge_with_every_invariant_holding() {
    for seed in 1..=3 {
        let o = world::run(small(seed));
        passed(seed, &o);
        let st = &o.stats;
        // The run did what it is meant to exercise: officers wrote, peers
        // exchanged changes, hostile changes were refused, partitions healed.
        assert!(st.writes > 0, "seed {seed}: no writes");
        assert!(st.accepted_from_peers > 0, "seed {seed}: nothing synced");
        assert!(st.quarantined > 0, "seed {seed}: no hostile change refused");
        assert!(st.heals >= 2, "seed {seed}: {} heals", st.heals);
        assert!(st.change_bytes_received <= st.change_bytes_bound);
        // The signers' checkpoints reached every honest node (the invariant
        // "equal checkpoints"): the records office's of the registry and
        // both months at the least (a district's first PC may be hostile).
        assert!(
            st.checkpoints >= 3,
            "seed {seed}: {} checkpoints",
            st.checkpoints
        );
    }
}

#[test]
fn forged_checkpoints_are_sent_and_kept_nowhere() {
    // Two hostile nodes in twelve: find a seed whose hostile pair includes
    // a forger (which also sends checkpoints in an honest device's name).
    let forged = (1..=6)
        .map(|seed| {
            let o = world::run(small(seed));
            passed(seed, &o);
            o.stats.forged_checkpoints
        })
        .find(|&n| n > 0);
    assert!(forged.is_some(), "no seed had a forger");
}

#[test]
fn default_size_runs_converge_for_a_whole_month() {
    // tally-sim's defaults: 20 nodes (2 hostile), 31 days, faults on.
    for seed in 1..=2 {
        let o = world::run(Config::new(seed, 20));
        passed(seed, &o);
        assert!(o.stats.heals >= 3, "seed {seed}: {} heals", o.stats.heals);
    }
}

#[test]
fn one_seed_replays_exactly() {
    let run = |seed| {
        let mut c = small(seed);
        c.days = 6;
        c.full_trace = true;
        world::run(c)
    };
    let (a, b) = (run(7), run(7));
    let (ta, tb) = (a.trace.expect("asked for"), b.trace.expect("asked for"));
    assert!(ta.len() > 100, "a real run: {} events", ta.len());
    assert_eq!(ta, tb, "same seed, same events in the same order");
    assert_eq!(a.stats.wire_bytes, b.stats.wire_bytes);
    assert_eq!(a.stats.messages, b.stats.messages);
    // And the seed matters.
    let c = run(8);
    assert_ne!(ta, c.trace.expect("asked for"));
}

#[test]
fn a_node_applying_unvalidated_changes_is_caught_and_named() {
    // Node 0 (the records office, linked to every node, never hostile)
    // skips validation: the hostile nodes' changes reach it directly.
    let mut c = small(3);
    c.bug = Some(Bug::UncheckedApply { node: 0 });
    let o = world::run(c);
    let f = o.failure.expect("the planted bug must break an invariant");
    assert_eq!(f.invariant, "no invalid change applied");
    // The detail names the node, the change and the message it came in.
    assert!(
        f.detail.starts_with("node 0 applied invalid change "),
        "{}",
        f.detail
    );
    assert!(f.detail.contains(", taken from message "), "{}", f.detail);
    let change = f.detail["node 0 applied invalid change ".len()..][..12].to_string();
    // The trace is short and about that change: where it was written, and
    // the message that node 0 applied it from.
    assert!(!f.trace.is_empty() && f.trace.len() <= 30, "{:?}", f.trace);
    assert!(
        f.trace.iter().all(|t| t
            .event
            .changes()
            .iter()
            .any(|h| h.to_string().starts_with(&change))),
        "{:?}",
        f.trace
    );
    assert!(
        f.trace
            .iter()
            .any(|t| t.node == 0 && matches!(t.event, Event::AppliedUnchecked { .. })),
        "{:?}",
        f.trace
    );
}

#[test]
fn a_node_acknowledging_before_the_fsync_is_caught_at_its_restart() {
    // The planted bug: a node's disk acknowledges appends it never syncs.
    // At the node's next (simulated) crash its own acknowledged writes are
    // gone from the replica `Replica::open` rebuilds — and the run says so,
    // naming the node, the change and the crash.
    let mut caught = None;
    'search: for seed in 1..=6 {
        for (node, _) in world::honest_restarts(small(seed)) {
            let mut c = small(seed);
            c.bug = Some(Bug::AckBeforeFsync { node });
            let o = world::run(c);
            if let Some(f) = o.failure {
                caught = Some((seed, node, f));
                break 'search;
            }
        }
    }
    let (seed, node, f) = caught.expect("some seed restarts a writing node");
    assert_eq!(
        f.invariant, "nothing acknowledged is lost across a crash",
        "seed {seed}: {}",
        f.detail
    );
    assert!(
        f.detail.starts_with(&format!("node {node} acknowledged ")),
        "{}",
        f.detail
    );
    assert!(
        f.trace
            .iter()
            .any(|t| t.node == node && matches!(t.event, Event::Wrote { .. })),
        "the trace shows the write: {:?}",
        f.trace
    );
    // (or the bad block the crash brought, traced with it)
    assert!(
        f.trace
            .last()
            .is_some_and(|t| t.node == node
                && matches!(t.event, Event::Crashed { .. } | Event::BadBlock { .. })),
        "and the crash that lost it: {:?}",
        f.trace
    );
}

#[test]
fn bad_blocks_cost_only_what_they_touch_and_are_reported() {
    // Crashes that flip acknowledged bytes of a log, a snapshot or a
    // quarantine: every run still converges, every one was reported when
    // the replica reopened (else the run fails), and a few seeds hit
    // every kind of file between them (a month of 20 nodes: snapshots).
    let mut kinds = std::collections::BTreeSet::new();
    for seed in 1..=8 {
        if kinds.len() == 3 {
            break;
        }
        let mut c = Config::new(seed, 20);
        c.full_trace = true;
        let o = world::run(c);
        passed(seed, &o);
        for t in o.trace.expect("asked for") {
            if let Event::BadBlock { file, .. } = t.event {
                kinds.insert(file.rsplit('.').next().unwrap_or_default().to_string());
            }
        }
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["log", "quarantine", "snap"]
    );
}
