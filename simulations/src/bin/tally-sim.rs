//! `tally-sim`: run seeded simulations; print failing seeds and their traces.
//!
//! ```text
//! tally-sim --seeds 1..200 --nodes 100          # the soak
//! tally-sim --seeds 17 --nodes 20               # replay one seed exactly
//! tally-sim --seeds 1..20 --nodes 20 --baseline # signed vs unsigned cost
//! ```

use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use simulations::world::{self, Bug, Config, Mode, Outcome};

#[derive(Debug, Parser)]
#[command(
    name = "tally-sim",
    about = "Deterministic many-node simulations of tally"
)]
struct Args {
    /// Seeds to run: `N` or `A..B` (inclusive).
    #[arg(long, default_value = "1..10")]
    seeds: String,
    /// Nodes per run (up to 100 and beyond).
    #[arg(long, default_value_t = 20)]
    nodes: usize,
    /// Simulated days.
    #[arg(long, default_value_t = 31)]
    days: u64,
    /// Hostile nodes (default: one in ten).
    #[arg(long)]
    hostile: Option<usize>,
    /// Districts (default: nodes / 10, between 2 and 10).
    #[arg(long)]
    districts: Option<usize>,
    /// Run without network faults (and so without crashes).
    #[arg(long)]
    no_faults: bool,
    /// Crashes without bad blocks (by default one crash in two also flips a
    /// block of a document file on the crashed node's disk).
    #[arg(long)]
    no_bad_blocks: bool,
    /// No checkpoints signed (by default the records office and each
    /// district's first PC sign theirs every evening).
    #[arg(long)]
    no_checkpoints: bool,
    /// No resting (by default every honest node puts its months to rest
    /// each evening: the next write or exchange wakes them).
    #[arg(long)]
    no_rest: bool,
    /// Also run unsigned Automerge sync on the same workload and compare.
    #[arg(long)]
    baseline: bool,
    /// Seeds run at once (default: the machine's cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Write every event of the run to this file (one seed only).
    #[arg(long)]
    trace: Option<std::path::PathBuf>,
    /// Plant a bug to see it caught: node N applies its peers' changes
    /// without validating them.
    #[arg(long, value_name = "N")]
    plant_unchecked_apply: Option<usize>,
    /// Plant a bug to see it caught: node N's disk acknowledges appends it
    /// never syncs (acknowledging before the fsync); its restarts lose them.
    #[arg(long, value_name = "N", conflicts_with = "plant_unchecked_apply")]
    plant_ack_before_fsync: Option<usize>,
}

fn seeds(s: &str) -> Result<Vec<u64>> {
    if let Some((a, b)) = s.split_once("..") {
        let a: u64 = a.parse().context("--seeds start")?;
        let b: u64 = b.parse().context("--seeds end")?;
        if b < a {
            bail!("--seeds {s}: empty range");
        }
        Ok((a..=b).collect())
    } else {
        Ok(vec![s.parse().context("--seeds")?])
    }
}

fn config(a: &Args, seed: u64, mode: Mode) -> Config {
    let mut c = Config::new(seed, a.nodes);
    c.mode = mode;
    c.days = a.days;
    c.faults = !a.no_faults;
    c.bad_blocks = !a.no_bad_blocks;
    c.checkpoints = !a.no_checkpoints;
    c.rest = !a.no_rest;
    if let Some(h) = a.hostile {
        c.hostile = h;
    }
    if let Some(d) = a.districts {
        c.districts = d;
    }
    if a.baseline {
        c.hostile = 0;
    }
    c.full_trace = a.trace.is_some();
    c.bug = a
        .plant_unchecked_apply
        .map(|node| Bug::UncheckedApply { node })
        .or(a
            .plant_ack_before_fsync
            .map(|node| Bug::AckBeforeFsync { node }));
    c
}

struct Run {
    signed: (Outcome, Duration),
    unsigned: Option<(Outcome, Duration)>,
}

fn timed(c: Config) -> (Outcome, Duration) {
    let t = Instant::now();
    let o = world::run(c);
    (o, t.elapsed())
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    let seeds = seeds(&args.seeds)?;
    if args.nodes < 3 {
        bail!("--nodes must be at least 3");
    }
    for (flag, n) in [
        ("--plant-unchecked-apply", args.plant_unchecked_apply),
        ("--plant-ack-before-fsync", args.plant_ack_before_fsync),
    ] {
        if let Some(n) = n
            && n >= args.nodes
        {
            bail!("{flag} {n}: there are only {} nodes", args.nodes);
        }
    }
    if args.trace.is_some() && seeds.len() != 1 {
        bail!("--trace needs exactly one seed");
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .max(1);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(u64, Run)>> = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&seed) = seeds.get(i) else { break };
                    let signed = timed(config(&args, seed, Mode::Signed));
                    let unsigned = args.baseline.then(|| timed(config(&args, seed, Mode::Unsigned)));
                    let (o, t) = &signed;
                    let st = &o.stats;
                    let line = match &o.failure {
                        None => format!(
                            "seed {seed:>4}: ok    {} writes, {} changes accepted from peers, {} quarantined, {} connections closed for protocol errors, {} heals, {} messages, {:.2} MB on the wire, change bytes {:.2}× the useful ones (bound {:.2}×), {} checkpoints held everywhere ({} forged, kept nowhere), {t:.1?}",
                            st.writes,
                            st.accepted_from_peers,
                            st.quarantined,
                            st.protocol_errors,
                            st.heals,
                            st.messages,
                            st.wire_bytes as f64 / 1e6,
                            st.change_bytes_received as f64 / st.change_bytes_useful.max(1) as f64,
                            st.change_bytes_bound as f64 / st.change_bytes_useful.max(1) as f64,
                            st.checkpoints,
                            st.forged_checkpoints,
                        ),
                        Some(f) => format!("seed {seed:>4}: FAILED {}: {}", f.invariant, f.detail),
                    };
                    println!("{line}");
                    if let Some(f) = &o.failure {
                        for l in &f.trace {
                            println!("    {l}");
                        }
                    }
                    if let (Some(path), Some(trace)) = (&args.trace, &signed.0.trace)
                        && let Err(e) = std::fs::write(
                            path,
                            trace.iter().map(|t| format!("{t}\n")).collect::<String>(),
                        )
                    {
                        eprintln!("error: writing {}: {e}", path.display());
                    }
                    results.lock().expect("no panics while holding").push((seed, Run { signed, unsigned }));
                }
            });
        }
    });
    let mut results = results.into_inner().expect("threads done");
    results.sort_by_key(|(s, _)| *s);
    let failing: Vec<u64> = results
        .iter()
        .filter(|(_, r)| r.signed.0.failure.is_some())
        .map(|(s, _)| *s)
        .collect();
    println!(
        "\n{} of {} seeds passed ({} nodes, {} days, {}), {:.1?}",
        results.len() - failing.len(),
        results.len(),
        args.nodes,
        args.days,
        if args.no_faults {
            "no faults"
        } else if args.no_bad_blocks {
            "faults on, no bad blocks"
        } else {
            "faults and bad blocks on"
        },
        started.elapsed()
    );
    if args.baseline {
        let (mut st, mut ut, mut sb, mut ub) = (Duration::ZERO, Duration::ZERO, 0u64, 0u64);
        for (_, r) in &results {
            st += r.signed.1;
            sb += r.signed.0.stats.wire_bytes;
            if let Some((o, t)) = &r.unsigned {
                ut += *t;
                ub += o.stats.wire_bytes;
                if let Some(f) = &o.failure {
                    println!("baseline failed too: {}: {}", f.invariant, f.detail);
                }
            }
        }
        println!(
            "signed vs unsigned Automerge sync, same workload: wall time {:.2?} vs {:.2?} = {:.2}×, bytes {:.2} MB vs {:.2} MB = {:.2}×",
            st,
            ut,
            st.as_secs_f64() / ut.as_secs_f64().max(1e-9),
            sb as f64 / 1e6,
            ub as f64 / 1e6,
            sb as f64 / ub.max(1) as f64
        );
    }
    if failing.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        // The same command line, for one seed.
        let mut replay = Vec::new();
        let mut argv = std::env::args().skip(1);
        while let Some(a) = argv.next() {
            if a == "--seeds" || a == "--jobs" {
                argv.next();
            } else if !(a.starts_with("--seeds=") || a.starts_with("--jobs=")) {
                replay.push(a);
            }
        }
        println!(
            "failing seeds: {failing:?}  (replay one: tally-sim --seeds N {})",
            replay.join(" ")
        );
        Ok(ExitCode::FAILURE)
    }
}
