//! One seeded run: N nodes through a month of prison work, faults and
//! hostile nodes over the simulated network of [`crate::net`], with the
//! invariants checked after every heal.
//!
//! The parts, one job each:
//! - this module: the run itself — the schedule of actions, the network's
//!   connections as faults and heals decide them, the event loop;
//! - [`protocol`]: what the nodes run, behind [`Protocol`] — tally's own
//!   ([`protocol::Tally`]: the daemon's `driver::step` over the daemon's
//!   `Replica` on a simulated disk) or the baseline ([`protocol::Baseline`]:
//!   plain unsigned Automerge sync), so the run knows neither;
//! - [`workload`]: the honest officers' writes (daily records, concurrent
//!   edits, confirmations, the records office's revocations);
//! - [`adversary`]: the hostile nodes' behaviours;
//! - [`invariants`]: one checker per invariant;
//! - [`trace`]: the typed events a failure carries.

pub mod adversary;
pub mod invariants;
pub mod protocol;
pub mod trace;
pub mod workload;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use crdt_schema::automerge::ChangeHash;
use crdt_schema::{DistrictId, DocId, Month};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use crate::net::{DAY, Delivery, Faults, HOUR, Net, link};
use crate::prison::{Behaviour, MONTH, SimPrison};

pub use protocol::{Baseline, Protocol, Tally};
pub use trace::{Event, TRACE_LIMIT, Trace, Traced};

/// Which protocol the nodes run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// tally: signed changes, validated, through `PeerSync`.
    Signed,
    /// The baseline: unsigned Automerge sync (no hostile nodes).
    Unsigned,
}

/// A run's parameters.
#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    pub seed: u64,
    pub nodes: usize,
    pub districts: usize,
    pub hostile: usize,
    pub days: u64,
    pub faults: bool,
    /// Extra links per node besides the one to the records office.
    pub degree: usize,
    /// Return the whole event trace (for `tally-sim --trace`).
    pub full_trace: bool,
    /// A bug planted on purpose, to show the invariants catch it.
    pub bug: Option<Bug>,
    /// Some crashes come with a bad block (acknowledged bytes of a
    /// document file flipped), by seed.
    pub bad_blocks: bool,
    /// Signers sign checkpoints every evening (and a forger forges some).
    pub checkpoints: bool,
    /// Every honest node puts its months to rest each evening (the daemon
    /// rests only sealed months; here every month rests, so resting
    /// documents meet every fault).
    pub rest: bool,
}

/// Bugs the harness can plant, to prove a broken node is caught and named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// This node applies the changes its peers send without validating them.
    UncheckedApply { node: usize },
    /// This node's disk acknowledges appends it never syncs (a write
    /// acknowledged before the fsync).
    AckBeforeFsync { node: usize },
}

impl Config {
    pub fn new(seed: u64, nodes: usize) -> Config {
        Config {
            mode: Mode::Signed,
            seed,
            nodes,
            districts: (nodes / 10).clamp(2, 10),
            hostile: (nodes / 10).max(1),
            days: 31,
            faults: true,
            degree: 2,
            full_trace: false,
            bug: None,
            bad_blocks: true,
            checkpoints: true,
            rest: true,
        }
    }
}

/// An invariant that did not hold, with the events that led to it.
#[derive(Debug, Clone)]
pub struct Failure {
    pub invariant: &'static str,
    pub detail: String,
    /// The events about the change or node involved (at most
    /// [`trace::FAILURE_CONTEXT`]), oldest first.
    pub trace: Vec<Traced>,
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub writes: u64,
    pub accepted_from_peers: u64,
    pub quarantined: u64,
    pub protocol_errors: u64,
    pub wire_bytes: u64,
    pub messages: u64,
    /// Change bytes honest nodes received from honest peers, and of those,
    /// the ones they lacked.
    pub change_bytes_received: u64,
    pub change_bytes_useful: u64,
    /// The bound on `change_bytes_received`: each change crosses each link at
    /// most once, so a node receives at most (its links × what it lacked).
    pub change_bytes_bound: u64,
    pub heals: u32,
    /// Checkpoints the records office held at the last heal (every honest
    /// node holds the same), and checkpoints forged in another device's
    /// name by hostile nodes (never kept).
    pub checkpoints: u64,
    pub forged_checkpoints: u64,
}

pub struct Outcome {
    pub seed: u64,
    pub failure: Option<Failure>,
    pub stats: Stats,
    /// Every event (the last [`TRACE_LIMIT`]), when asked for.
    pub trace: Option<Vec<Traced>>,
}

/// Runs one seed with the protocol its configuration names.
pub fn run(cfg: Config) -> Outcome {
    match cfg.mode {
        Mode::Signed => World::<Tally>::new(cfg).run(),
        Mode::Unsigned => World::<Baseline>::new(cfg).run(),
    }
}

/// Honest nodes of tally's run of `cfg` that restart (a simulated crash)
/// after their second day, with when: where a bug in what survives a crash
/// can show.
pub fn honest_restarts(cfg: Config) -> Vec<(usize, u64)> {
    let w = World::<Tally>::new(cfg);
    w.net
        .faults
        .restarts
        .iter()
        .filter(|(n, t, _)| *n > 0 && *t >= 2 * DAY && w.prison.behaviour[*n].is_honest())
        .map(|(n, t, _)| (*n, *t))
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Action {
    DailyWrite {
        node: usize,
        day: u64,
    },
    Concurrent {
        node: usize,
        day: u64,
    },
    Confirm {
        node: usize,
        day: u64,
    },
    Hostile {
        node: usize,
        day: u64,
    },
    Revoke {
        node: usize,
    },
    /// A node signs checkpoints of what changed (the daemon does it every
    /// second, once a document's last one is a minute old).
    Checkpoint {
        node: usize,
    },
    /// A node puts its months to rest (the daemon rests sealed months a
    /// minute after their last exchange).
    Rest {
        node: usize,
    },
    Reconnect {
        a: usize,
        b: usize,
    },
    Restart {
        node: usize,
        keep: bool,
    },
    Topology,
    Heal,
}

/// One run of protocol `P`.
pub struct World<P: Protocol> {
    pub(crate) cfg: Config,
    pub(crate) prison: SimPrison,
    pub(crate) nodes: Vec<P::Node>,
    /// Per node, what it acknowledged: written and (by its disk) synced.
    pub(crate) acknowledged: Vec<BTreeSet<(DocId, ChangeHash)>>,
    /// Per node, what of that a bad block took and peers have yet to bring
    /// back (checked at the next heal, with everything acknowledged).
    pub(crate) restoring: Vec<BTreeSet<(DocId, ChangeHash)>>,
    pub(crate) net: Net,
    pub(crate) now: u64,
    schedule: BinaryHeap<Reverse<(u64, u64, Action)>>,
    seq: u64,
    /// Links broken by a lost message, and until when.
    broken: BTreeMap<(usize, usize), u64>,
    /// No fault applies (while settling after a heal).
    healing: bool,
    /// Changes that must never be applied anywhere, with the document.
    pub(crate) invalid: BTreeSet<(DocId, ChangeHash)>,
    /// Signatures of checkpoints forged in another device's name: never kept.
    pub(crate) forged_checkpoints: BTreeSet<Vec<u8>>,
    /// Per revoked node, the registry change that revoked its officer.
    pub(crate) revocations: BTreeMap<usize, ChangeHash>,
    pub(crate) trace: Trace,
    pub(crate) rng: ChaCha8Rng,
    /// An invariant broken as it happened (at a restart, or a replica
    /// refusing to store): ends the run at once.
    pub(crate) crash_failure: Option<Failure>,
    pub stats: Stats,
}

pub(crate) fn month() -> Month {
    MONTH.parse().expect("month")
}

pub(crate) fn month_doc(d: &DistrictId) -> DocId {
    DocId::month(d.clone(), month())
}

impl<P: Protocol> World<P> {
    pub fn new(mut cfg: Config) -> World<P> {
        if !P::DEFENDED {
            cfg.hostile = 0;
        }
        let prison = SimPrison::build(cfg.seed, cfg.nodes, cfg.districts, cfg.hostile);
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5157_0000);
        let faults = if cfg.faults {
            Faults::draw(&mut rng, cfg.nodes, cfg.days)
        } else {
            Faults::none(cfg.nodes)
        };
        let net = Net::new(cfg.seed, cfg.nodes, cfg.degree, faults);
        let nodes = (0..cfg.nodes).map(|n| P::node(&cfg, n, &prison)).collect();
        let mut w = World {
            acknowledged: vec![BTreeSet::new(); cfg.nodes],
            restoring: vec![BTreeSet::new(); cfg.nodes],
            cfg,
            prison,
            nodes,
            net,
            now: 0,
            schedule: BinaryHeap::new(),
            seq: 0,
            broken: BTreeMap::new(),
            healing: false,
            invalid: BTreeSet::new(),
            forged_checkpoints: BTreeSet::new(),
            revocations: BTreeMap::new(),
            trace: Trace::default(),
            rng,
            crash_failure: None,
            stats: Stats::default(),
        };
        // The records office starts with the registry and the roster.
        let genesis = w.prison.genesis.clone();
        P::genesis(&mut w.nodes[0], &DocId::Registry, &genesis);
        w.acknowledged[0].insert((DocId::Registry, genesis.hash()));
        let (roster, first) = w.prison.roster.clone();
        P::genesis(&mut w.nodes[0], &roster, &first);
        w.acknowledged[0].insert((roster, first.hash()));
        w.plan();
        w
    }

    fn at(&mut self, t: u64, a: Action) {
        self.seq += 1;
        self.schedule.push(Reverse((t, self.seq, a)));
    }

    pub(crate) fn log(&mut self, node: usize, event: Event) {
        self.trace.push(Traced {
            at: self.now,
            node,
            event,
        });
    }

    /// Nodes of a district, in order; the first writes the daily records.
    pub(crate) fn district_nodes(&self, d: usize) -> Vec<usize> {
        (1..self.cfg.nodes)
            .filter(|n| (n - 1) % self.cfg.districts == d)
            .collect()
    }

    /// The schedule of a month: every district's daily writes (and, some
    /// days, a concurrent one), confirmations, the hostile nodes' acts,
    /// revocations, the faults' starts and ends, and the heals.
    fn plan(&mut self) {
        let days = self.cfg.days;
        for day in 0..days {
            for d in 0..self.cfg.districts {
                let members = self.district_nodes(d);
                let Some(&primary) = members.first() else {
                    continue;
                };
                let jitter = self.rng.random_range(0..HOUR);
                self.at(
                    day * DAY + 18 * HOUR + jitter,
                    Action::DailyWrite { node: primary, day },
                );
                if members.len() > 1 {
                    let other = members[1 + self.rng.random_range(0..members.len() - 1)];
                    self.at(
                        day * DAY + 20 * HOUR + jitter,
                        Action::Confirm { node: other, day },
                    );
                    if self.rng.random_range(0..100) < 20 {
                        let c = members[1 + self.rng.random_range(0..members.len() - 1)];
                        self.at(
                            day * DAY + 18 * HOUR + jitter + 1,
                            Action::Concurrent { node: c, day },
                        );
                    }
                }
            }
            for n in 1..self.cfg.nodes {
                if !self.prison.behaviour[n].is_honest() {
                    self.at(day * DAY + 12 * HOUR, Action::Hostile { node: n, day });
                }
            }
            // The records office and each district's first PC sign
            // checkpoints every evening (every node relays them all): every
            // node checks every signer's, so signers × documents × nodes
            // verifications a day — all hundred nodes signing made a
            // 100-node run four times as long for no other invariant.
            let mut signers = vec![0];
            for d in 0..self.cfg.districts {
                signers.extend(self.district_nodes(d).first());
            }
            for n in signers {
                if self.cfg.checkpoints && self.prison.behaviour[n].is_honest() {
                    self.at(day * DAY + 23 * HOUR, Action::Checkpoint { node: n });
                }
            }
            if self.cfg.rest {
                for n in 0..self.cfg.nodes {
                    if self.prison.behaviour[n].is_honest() {
                        self.at(day * DAY + 22 * HOUR, Action::Rest { node: n });
                    }
                }
            }
        }
        let revoked: Vec<usize> = (1..self.cfg.nodes)
            .filter(|&n| self.prison.behaviour[n] == Behaviour::Revoked)
            .collect();
        for (i, n) in revoked.into_iter().enumerate() {
            let day = (days / 2 + i as u64).min(days.saturating_sub(1));
            self.at(day * DAY + 9 * HOUR, Action::Revoke { node: n });
        }
        let faults = self.net.faults.clone();
        for (s, e, _) in &faults.partitions {
            self.at(*s, Action::Topology);
            self.at(*e, Action::Topology);
        }
        for (_, s, e) in &faults.offline {
            self.at(*s, Action::Topology);
            self.at(*e, Action::Topology);
        }
        for (n, t, keep) in &faults.restarts {
            self.at(
                *t,
                Action::Restart {
                    node: *n,
                    keep: *keep,
                },
            );
        }
        for day in [8, 16, 24] {
            if day < days {
                self.at(day * DAY, Action::Heal);
            }
        }
        self.at(days * DAY, Action::Heal);
        self.at(0, Action::Topology);
    }

    pub(crate) fn online(&self, n: usize) -> bool {
        self.healing || !self.net.faults.is_offline(n, self.now)
    }

    fn should_be_up(&self, a: usize, b: usize) -> bool {
        self.online(a)
            && self.online(b)
            && (self.healing || !self.net.faults.partitioned(a, b, self.now))
            && self
                .broken
                .get(&link(a, b))
                .is_none_or(|&t| t <= self.now || self.healing)
    }

    /// Ends the sessions of a link, keeping what each side saves.
    pub(crate) fn disconnect(&mut self, a: usize, b: usize) {
        if self.net.epoch(a, b).is_none() {
            return;
        }
        self.net.disconnect(a, b);
        for (x, y) in [(a, b), (b, a)] {
            P::close(&mut self.nodes[x], y);
        }
    }

    /// Opens a connection: each side opens its session and greets the other.
    fn connect(&mut self, a: usize, b: usize) {
        if self.net.epoch(a, b).is_some() {
            return;
        }
        self.net.connect(a, b);
        for (x, y) in [(a, b), (b, a)] {
            for m in P::open(&mut self.nodes[x], y) {
                self.send(x, y, m);
            }
        }
    }

    fn topology(&mut self) {
        let links: Vec<(usize, usize)> = self.net.links.iter().copied().collect();
        for (a, b) in links {
            let up = self.net.epoch(a, b).is_some();
            let want = self.should_be_up(a, b);
            if up && !want {
                self.disconnect(a, b);
            } else if !up && want {
                self.connect(a, b);
            }
        }
    }

    /// Sends a message; a lost one breaks the connection, and both ends
    /// retry after a backoff.
    pub(crate) fn send(&mut self, from: usize, to: usize, bytes: Vec<u8>) {
        let faulty = !self.healing;
        if !self.net.send(self.now, from, to, bytes, faulty) {
            self.log(from, Event::ConnectionBroken { peer: to });
            self.disconnect(from, to);
            let back = self.rng.random_range(100..2000);
            self.broken.insert(link(from, to), self.now + back);
            self.at(self.now + back, Action::Reconnect { a: from, b: to });
        }
    }

    /// Offers `node`'s documents on every open session.
    pub(crate) fn offer(&mut self, node: usize) {
        for (peer, m) in P::offer(&mut self.nodes[node]) {
            self.send(node, peer, m);
        }
    }

    fn deliver(&mut self, d: Delivery) {
        let Delivery {
            from,
            to,
            epoch,
            seq,
            bytes,
        } = d;
        if self.net.epoch(from, to) != Some(epoch) {
            return;
        }
        match P::deliver(self, from, to, seq, &bytes) {
            Ok(delivered) => {
                for m in delivered.replies {
                    self.send(to, from, m);
                }
                if delivered.gained {
                    self.offer(to);
                }
            }
            Err(reason) => self.violation(to, from, reason),
        }
    }

    /// The protocol refused what a peer sent: the connection closes, and is
    /// tried again a second later.
    fn violation(&mut self, node: usize, peer: usize, reason: String) {
        self.stats.protocol_errors += 1;
        self.log(node, Event::ProtocolClosed { peer, reason });
        self.disconnect(node, peer);
        let back = 1000;
        self.broken.insert(link(node, peer), self.now + back);
        self.at(self.now + back, Action::Reconnect { a: node, b: peer });
    }

    fn act(&mut self, action: Action) {
        match action {
            Action::DailyWrite { node, day } => self.daily_write(node, day),
            Action::Concurrent { node, day } => self.concurrent_write(node, day),
            Action::Confirm { node, day } => self.confirm(node, day),
            Action::Revoke { node } => self.revoke(node),
            Action::Hostile { node, day } => P::hostile(self, node, day),
            Action::Checkpoint { node } => P::checkpoint(self, node),
            Action::Rest { node } => P::rest(self, node),
            Action::Reconnect { a, b } => {
                self.broken.remove(&link(a, b));
                if self.should_be_up(a, b) {
                    self.connect(a, b);
                }
            }
            Action::Restart { node, keep } => {
                self.log(
                    node,
                    Event::Restart {
                        keep_sync_state: keep,
                    },
                );
                for p in P::peers(&self.nodes[node]) {
                    self.disconnect(node, p);
                }
                P::restart(self, node, keep);
                self.topology();
            }
            Action::Topology => self.topology(),
            Action::Heal => {}
        }
    }

    /// Runs the network without faults until nothing is in flight.
    fn settle(&mut self) {
        self.healing = true;
        self.topology();
        let mut guard = 0u64;
        while let Some((t, d)) = self.net.pop() {
            self.now = self.now.max(t);
            self.deliver(d);
            guard += 1;
            assert!(guard < 50_000_000, "the network never settled");
        }
        self.healing = false;
    }

    /// Runs the whole month; checks the invariants after every heal.
    pub fn run(mut self) -> Outcome {
        while let Some(Reverse((t, _, action))) = self.schedule.pop() {
            // Messages due before the next action go first.
            while self.net.next_time().is_some_and(|nt| nt <= t) {
                let (nt, d) = self.net.pop().expect("peeked");
                self.now = self.now.max(nt);
                self.deliver(d);
                if let Some(f) = self.crash_failure.take() {
                    return self.finish(Some(f));
                }
            }
            self.now = self.now.max(t);
            if action == Action::Heal {
                self.settle();
                // What each node's storage holds of its resting documents
                // is what the invariants read: waking them reads it.
                for n in 0..self.nodes.len() {
                    P::wake_all(&mut self, n);
                }
                self.stats.heals += 1;
                self.stats.checkpoints = P::checkpoints_held(&self.nodes[0]) as u64;
                self.stats.forged_checkpoints = self.forged_checkpoints.len() as u64;
                if let Some(f) = self.crash_failure.take() {
                    return self.finish(Some(f));
                }
                if let Some(f) = self.check() {
                    return self.finish(Some(f));
                }
                self.topology();
                continue;
            }
            self.act(action);
            if let Some(f) = self.crash_failure.take() {
                return self.finish(Some(f));
            }
        }
        self.finish(None)
    }

    /// Every invariant of the protocol, in order; the first broken one.
    fn check(&self) -> Option<Failure> {
        P::invariants().iter().find_map(|inv| {
            inv.check(self).map(|v| Failure {
                invariant: inv.name(),
                trace: self.trace.context(v.node, v.change.as_ref()),
                detail: v.detail,
            })
        })
    }

    fn finish(mut self, failure: Option<Failure>) -> Outcome {
        self.stats.wire_bytes = self.net.bytes;
        self.stats.messages = self.net.messages;
        let trace = self
            .cfg
            .full_trace
            .then(|| self.trace.all().cloned().collect());
        Outcome {
            seed: self.cfg.seed,
            failure,
            stats: self.stats,
            trace,
        }
    }

    pub(crate) fn honest(&self) -> Vec<usize> {
        (0..self.cfg.nodes)
            .filter(|&n| self.prison.behaviour[n].is_honest())
            .collect()
    }

    /// A failure found as it happened (at a crash), with its context.
    pub(crate) fn fail_now(
        &self,
        invariant: &'static str,
        detail: String,
        node: Option<usize>,
        change: Option<&ChangeHash>,
    ) -> Failure {
        Failure {
            invariant,
            detail,
            trace: self.trace.context(node, change),
        }
    }
}
