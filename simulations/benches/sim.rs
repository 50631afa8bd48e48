//! What signing and validation cost against plain unsigned Automerge sync,
//! on the same seeded workload and network (`simulations::baseline`), and
//! the cost of one simulated month. A plain harness (not criterion): one
//! run is seconds long and deterministic, so its figure is its own mean.
//!
//! ```text
//! cargo bench -p simulations --bench sim
//! ```
//! Goals: signed ≤ 1.5× the baseline's wall time and ≤ 1.3× its bytes.

use std::time::{Duration, Instant};

use simulations::world::{self, Config, Mode, Outcome};

fn run(seed: u64, nodes: usize, mode: Mode) -> (Outcome, Duration) {
    let mut c = Config::new(seed, nodes);
    c.mode = mode;
    // The same workload in both modes: no hostile nodes (the baseline has
    // no way to refuse anything).
    c.hostile = 0;
    let t = Instant::now();
    let o = world::run(c);
    (o, t.elapsed())
}

fn compare(nodes: usize, seeds: std::ops::RangeInclusive<u64>) {
    let (mut st, mut ut, mut sb, mut ub) = (Duration::ZERO, Duration::ZERO, 0u64, 0u64);
    let n = seeds.clone().count();
    for seed in seeds {
        let (s, t) = run(seed, nodes, Mode::Signed);
        assert!(s.failure.is_none(), "signed run failed, seed {seed}");
        st += t;
        sb += s.stats.wire_bytes;
        let (u, t) = run(seed, nodes, Mode::Unsigned);
        assert!(u.failure.is_none(), "baseline failed, seed {seed}");
        ut += t;
        ub += u.stats.wire_bytes;
    }
    println!(
        "sim-baseline {nodes} nodes × 31 days, {n} seeds: signed {:.2?} vs unsigned {:.2?} per run = {:.2}× wall time (goal ≤ 1.5×); {:.1} MB vs {:.1} MB = {:.2}× bytes (goal ≤ 1.3×)",
        st / n as u32,
        ut / n as u32,
        st.as_secs_f64() / ut.as_secs_f64(),
        sb as f64 / 1e6 / n as f64,
        ub as f64 / 1e6 / n as f64,
        sb as f64 / ub as f64,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a name filter selects a size.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wanted = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    if wanted("nodes_20") {
        compare(20, 1..=10);
    }
    if wanted("nodes_100") {
        compare(100, 1..=2);
    }
}
