//! One seeded run: N nodes driven through the very sans-IO core the node
//! daemon runs (`node::sync::PeerSync`, `node::replica::Core`), over the
//! simulated network of [`crate::net`], through a month of prison work,
//! faults and hostile nodes; invariants checked after every heal.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};

use crdt_schema::automerge::ChangeHash;
use crdt_schema::automerge::sync::State;
use crdt_schema::{
    Attendance, ChangeMeta, DistrictId, DocId, Document, KeyHex, Month, MonthDoc, MonthWriter,
    RegistryDoc, RegistryKey, SchemaError, day_digest, score_month,
};
use keys::SecretKey;
use std::path::PathBuf;
use std::sync::Arc;

use node::replica::{Core, Replica};
use node::store::{Disk, Store};
use node::sync::{Docs, Incoming, PeerSync, Wire};
use node::validate::{Refusal, SignedChange};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use replica_core::driver::{self, Admit, StepError};
use replica_core::replica::Admitted;

use crate::baseline::PlainNode;
use crate::disk::SimDisk;
use crate::net::{DAY, Delivery, Faults, HOUR, Net, link};
use crate::prison::{
    Behaviour, INMATES_PER_DISTRICT, MONTH, MONTH_START, PROCEDURE, SimPrison, inmate,
};

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
        }
    }
}

/// An invariant that did not hold, with the events that led to it.
#[derive(Debug, Clone)]
pub struct Failure {
    pub invariant: &'static str,
    pub detail: String,
    pub trace: Vec<String>,
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
}

pub struct Outcome {
    pub seed: u64,
    pub failure: Option<Failure>,
    pub stats: Stats,
    /// Every event (the last [`TRACE_LIMIT`]), when asked for.
    pub trace: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    DailyWrite { node: usize, day: u64 },
    Concurrent { node: usize, day: u64 },
    Confirm { node: usize, day: u64 },
    Hostile { node: usize, day: u64 },
    Revoke { node: usize },
    Reconnect { a: usize, b: usize },
    Restart { node: usize, keep: bool },
    Topology,
    Heal,
}

struct SimNode {
    /// The daemon's own replica over this node's simulated disk.
    replica: Replica,
    disk: Arc<SimDisk>,
    plain: PlainNode,
    sessions: BTreeMap<usize, PeerSync>,
    saved: BTreeMap<usize, BTreeMap<DocId, Vec<u8>>>,
    acknowledged: BTreeSet<(DocId, ChangeHash)>,
}

impl SimNode {
    /// Whether the node holds (applied) a change; every applied change has
    /// its signature recorded, a cheaper test than asking Automerge.
    fn holds(&self, doc: &DocId, h: &ChangeHash) -> bool {
        Docs::signature(&self.replica.core, doc, h).is_some()
    }
}

pub struct World {
    cfg: Config,
    prison: SimPrison,
    nodes: Vec<SimNode>,
    net: Net,
    now: u64,
    schedule: BinaryHeap<Reverse<(u64, u64, Action)>>,
    seq: u64,
    /// Links broken by a lost message, and until when.
    broken: BTreeMap<(usize, usize), u64>,
    /// No fault applies (while settling after a heal).
    healing: bool,
    /// Changes that must never be applied anywhere, with the document.
    invalid: BTreeSet<(DocId, ChangeHash)>,
    /// Per revoked node, the registry change that revoked its officer.
    revocations: BTreeMap<usize, ChangeHash>,
    trace: VecDeque<(u64, usize, String)>,
    rng: ChaCha8Rng,
    /// An invariant a crash broke (checked as the node restarts).
    crash_failure: Option<Failure>,
    pub stats: Stats,
}

pub const TRACE_LIMIT: usize = 200_000;

/// Where node `n`'s data directory is on its simulated disk.
fn node_root(n: usize) -> PathBuf {
    PathBuf::from(format!("/sim/node{n}"))
}

fn month() -> Month {
    MONTH.parse().expect("month")
}

fn month_doc(d: &DistrictId) -> DocId {
    DocId::month(d.clone(), month())
}

impl World {
    pub fn new(mut cfg: Config) -> World {
        if cfg.mode == Mode::Unsigned {
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
        let mut nodes: Vec<SimNode> = (0..cfg.nodes)
            .map(|n| {
                let disk = Arc::new(if cfg.bug == Some(Bug::AckBeforeFsync { node: n }) {
                    SimDisk::skipping_sync()
                } else {
                    SimDisk::default()
                });
                let store = Store::init_on(
                    disk.clone() as Arc<dyn Disk>,
                    &node_root(n),
                    "模拟监狱",
                    &prison.authority.public(),
                )
                .expect("a simulated disk");
                (disk, Replica::open(store).expect("an empty replica"))
            })
            .map(|(disk, replica)| SimNode {
                replica,
                disk,
                plain: PlainNode::default(),
                sessions: BTreeMap::new(),
                saved: BTreeMap::new(),
                acknowledged: BTreeSet::new(),
            })
            .collect();
        // The records office starts with the registry.
        let genesis = prison.genesis.clone();
        let a = nodes[0]
            .replica
            .admit(Incoming {
                doc: DocId::Registry,
                changes: vec![genesis.clone()],
            })
            .expect("a simulated disk");
        assert_eq!(a.accepted, 1, "the genesis change is valid");
        nodes[0]
            .acknowledged
            .insert((DocId::Registry, genesis.hash()));
        nodes[0]
            .plain
            .docs
            .entry(DocId::Registry)
            .or_default()
            .apply_changes([genesis.change.clone()])
            .expect("genesis applies");
        let mut w = World {
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
            revocations: BTreeMap::new(),
            trace: VecDeque::new(),
            rng,
            crash_failure: None,
            stats: Stats::default(),
        };
        w.plan();
        w
    }

    /// Honest nodes that restart (a simulated crash) after their second
    /// day, with when: where a bug in what survives a crash can show.
    pub fn honest_restarts(&self) -> Vec<(usize, u64)> {
        self.net
            .faults
            .restarts
            .iter()
            .filter(|(n, t, _)| *n > 0 && *t >= 2 * DAY && self.prison.behaviour[*n].is_honest())
            .map(|(n, t, _)| (*n, *t))
            .collect()
    }

    fn at(&mut self, t: u64, a: Action) {
        self.seq += 1;
        self.schedule.push(Reverse((t, self.seq, a)));
    }

    fn log(&mut self, node: usize, what: impl Into<String>) {
        if self.trace.len() >= TRACE_LIMIT {
            self.trace.pop_front();
        }
        self.trace.push_back((self.now, node, what.into()));
    }

    /// Nodes of a district, in order; the first writes the daily records.
    fn district_nodes(&self, d: usize) -> Vec<usize> {
        (1..self.cfg.nodes)
            .filter(|n| (n - 1) % self.cfg.districts == d)
            .collect()
    }

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

    fn online(&self, n: usize) -> bool {
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
    fn disconnect(&mut self, a: usize, b: usize) {
        if self.net.epoch(a, b).is_none() {
            return;
        }
        self.net.disconnect(a, b);
        for (x, y) in [(a, b), (b, a)] {
            if let Some(s) = self.nodes[x].sessions.remove(&y) {
                self.nodes[x].saved.insert(y, s.saved());
            }
            self.nodes[x].plain.close(y, true);
        }
    }

    /// Opens a connection: fresh sessions from what each side saved, Hello both ways.
    fn connect(&mut self, a: usize, b: usize) {
        if self.net.epoch(a, b).is_some() {
            return;
        }
        self.net.connect(a, b);
        if self.cfg.mode == Mode::Unsigned {
            for (x, y) in [(a, b), (b, a)] {
                for m in self.nodes[x].plain.open(y) {
                    self.net_send_raw(x, y, m);
                }
            }
            return;
        }
        for (x, y) in [(a, b), (b, a)] {
            let saved = self.nodes[x].saved.get(&y).cloned().unwrap_or_default();
            let s = PeerSync::new(&saved);
            let hello = driver::start(&s, &mut self.nodes[x].replica.core);
            self.nodes[x].sessions.insert(y, s);
            self.send(x, y, hello);
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

    fn send(&mut self, from: usize, to: usize, w: Wire) {
        self.net_send_raw(from, to, w.encode());
    }

    fn net_send_raw(&mut self, from: usize, to: usize, bytes: Vec<u8>) {
        let faulty = !self.healing;
        if !self.net.send(self.now, from, to, bytes, faulty) {
            // Lost: the connection breaks; both ends retry after a backoff.
            self.log(from, format!("connection to {to} broken (lost message)"));
            self.disconnect(from, to);
            let back = self.rng.random_range(100..2000);
            self.broken.insert(link(from, to), self.now + back);
            self.at(self.now + back, Action::Reconnect { a: from, b: to });
        }
    }

    /// Offers `node`'s documents on every open session.
    fn offer(&mut self, node: usize) {
        if self.cfg.mode == Mode::Unsigned {
            for p in self.nodes[node].plain.peers() {
                for m in self.nodes[node].plain.poll(p) {
                    self.net_send_raw(node, p, m);
                }
            }
            return;
        }
        let peers: Vec<usize> = self.nodes[node].sessions.keys().copied().collect();
        for p in peers {
            let out = {
                let n = &mut self.nodes[node];
                let Some(s) = n.sessions.get_mut(&p) else {
                    continue;
                };
                match driver::step(s, &mut n.replica.core, None) {
                    Ok(stepped) => stepped.out,
                    Err(e) => unreachable!("offering reads no message: {e}"),
                }
            };
            for w in out {
                self.send(node, p, w);
            }
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
        if self.cfg.mode == Mode::Unsigned {
            match self.nodes[to].plain.receive(from, &bytes) {
                Ok((replies, gained)) => {
                    for m in replies {
                        self.net_send_raw(to, from, m);
                    }
                    if gained {
                        self.offer(to);
                    }
                }
                Err(e) => self.violation(to, from, e),
            }
            return;
        }
        // The driver step the daemon runs, against this node's core
        // (admitting through [`World::admit_from`]).
        let Some(mut session) = self.nodes[to].sessions.remove(&from) else {
            return;
        };
        let stepped = driver::step(
            &mut session,
            &mut Receiving {
                w: self,
                to,
                from,
                seq,
            },
            Some(&bytes),
        );
        self.nodes[to].sessions.insert(from, session);
        let stepped = match stepped {
            Ok(s) => s,
            Err(StepError::Admit(never)) => match never {},
            Err(e) => return self.violation(to, from, e.to_string()),
        };
        let accepted = stepped.accepted();
        for w in stepped.out {
            self.send(to, from, w);
        }
        if accepted > 0 {
            self.offer(to);
        }
    }

    /// Admits the changes a message from `from` carried into `to`, counting
    /// and logging what they did (or, with [`Bug::UncheckedApply`],
    /// applying them unchecked).
    fn admit_from(&mut self, to: usize, from: usize, seq: u64, inc: Incoming) -> Admitted {
        let honest = self.prison.behaviour[to].is_honest();
        let doc = inc.doc.clone();
        let size: u64 = inc.changes.iter().map(|c| c.encode().len() as u64).sum();
        let hashes: Vec<(ChangeHash, u64)> = inc
            .changes
            .iter()
            .map(|c| (c.hash(), c.encode().len() as u64))
            .collect();
        let before: BTreeSet<ChangeHash> = hashes
            .iter()
            .filter(|(h, _)| self.nodes[to].holds(&doc, h))
            .map(|(h, _)| *h)
            .collect();
        if self.cfg.bug == Some(Bug::UncheckedApply { node: to }) {
            return self.apply_unchecked(to, from, seq, inc);
        }
        let a = self.nodes[to].replica.admit(inc).expect("a simulated disk");
        if honest && self.prison.behaviour[from].is_honest() {
            self.stats.change_bytes_received += size;
            let now_have = |w: &World, h: &ChangeHash| w.nodes[to].holds(&doc, h);
            let useful = hashes
                .iter()
                .filter(|(h, _)| !before.contains(h) && now_have(self, h))
                .map(|(_, b)| *b)
                .sum::<u64>();
            self.stats.change_bytes_useful += useful;
            self.stats.change_bytes_bound += useful * self.net.degree(to) as u64;
        }
        if honest {
            self.stats.accepted_from_peers += a.accepted as u64;
            self.stats.quarantined += a.quarantined.len() as u64;
        }
        for (h, reason) in &a.quarantined {
            self.log(
                to,
                format!(
                    "message {seq} from {from}: quarantined {} in {doc}: {reason}",
                    &h.to_string()[..12]
                ),
            );
        }
        if a.accepted > 0 {
            let new: Vec<String> = hashes
                .iter()
                .filter(|(h, _)| !before.contains(h) && self.nodes[to].holds(&doc, h))
                .map(|(h, _)| h.to_string()[..12].to_string())
                .collect();
            self.log(
                to,
                format!(
                    "message {seq} from {from}: accepted {} of {doc}",
                    new.join(" ")
                ),
            );
        }
        a
    }

    /// [`Bug::UncheckedApply`]: what a node without validation would do.
    fn apply_unchecked(&mut self, to: usize, from: usize, seq: u64, inc: Incoming) -> Admitted {
        let Incoming { doc, changes } = inc;
        let new: Vec<SignedChange> = changes
            .into_iter()
            .filter(|c| !self.nodes[to].holds(&doc, &c.hash()))
            .collect();
        if !new.is_empty() {
            let n = &mut self.nodes[to];
            Docs::doc_mut(&mut n.replica.core, &doc);
            let loaded = n.replica.core.held_mut(&doc).expect("created above");
            for c in &new {
                loaded.signatures.insert(c.hash(), c.signature);
            }
            // Automerge queues what lacks dependencies; a bad value may fail.
            let applied = loaded
                .doc
                .apply_changes(new.iter().map(|c| c.change.clone()).collect());
            let hashes: Vec<String> = new
                .iter()
                .map(|c| c.hash().to_string()[..12].to_string())
                .collect();
            self.log(
                to,
                format!(
                    "message {seq} from {from}: applied unchecked {} of {doc}{}",
                    hashes.join(" "),
                    applied.err().map(|e| format!(" ({e})")).unwrap_or_default()
                ),
            );
        }
        Admitted {
            accepted: new.len(),
            ..Admitted::default()
        }
    }

    fn violation(&mut self, node: usize, peer: usize, reason: String) {
        self.stats.protocol_errors += 1;
        self.log(node, format!("closing connection to {peer}: {reason}"));
        self.disconnect(node, peer);
        let back = 1000;
        self.broken.insert(link(node, peer), self.now + back);
        self.at(self.now + back, Action::Reconnect { a: node, b: peer });
    }

    /// The stated time of `node` at the current simulated time (its clock skewed).
    fn stated(&self, node: usize) -> i64 {
        MONTH_START + (self.now / 1000) as i64 + self.net.faults.skew_s[node]
    }

    /// A change of `doc` written at `node` as `key` (not yet judged).
    fn make_change(
        &mut self,
        node: usize,
        key: &SecretKey,
        doc: &DocId,
        f: impl FnOnce(&mut MonthWriter<'_, '_>) -> Result<(), SchemaError>,
    ) -> Option<SignedChange> {
        let core = &self.nodes[node].replica.core;
        let mut base = if self.cfg.mode == Mode::Unsigned {
            let plain = self.nodes[node]
                .plain
                .docs
                .get(doc)
                .map(|d| d.fork())
                .unwrap_or_default();
            Document::from_automerge(doc.clone(), plain).ok()?
        } else {
            core.document(doc)
                .map(Document::fork)
                .unwrap_or_else(|| Document::new(doc.clone()))
        };
        // The actor from the seed, not from the OS: a run replays exactly.
        base.set_actor_suffix(key.public().as_bytes(), self.rng.random());
        let core = &self.nodes[node].replica.core;
        let mut m = MonthDoc::from_document(base).ok()?;
        let meta = ChangeMeta {
            author: key.public().as_bytes().to_vec(),
            time: self.stated(node),
            message: "sim".into(),
            registry_heads: core
                .document(&DocId::Registry)
                .map(|d| d.heads())
                .unwrap_or_default(),
        };
        let (_, c) = m.write(&meta, f).ok()?;
        let c = c?;
        if self.cfg.mode == Mode::Unsigned {
            // The baseline signs nothing.
            return Some(SignedChange {
                change: c,
                signature: keys::Signature::from_bytes([0; 64]),
            });
        }
        Some(SignedChange::sign(key, doc, c))
    }

    /// An honest local write: judged by the node's own validator, acknowledged if accepted.
    fn write_local(&mut self, node: usize, sc: SignedChange, doc: DocId) {
        self.stats.writes += 1;
        let h = sc.hash();
        if self.cfg.mode == Mode::Unsigned {
            let d = self.nodes[node].plain.docs.entry(doc.clone()).or_default();
            if d.apply_changes([sc.change]).is_ok() {
                self.nodes[node].acknowledged.insert((doc, h));
                self.offer(node);
            }
            return;
        }
        let a = self.nodes[node]
            .replica
            .admit(Incoming {
                doc: doc.clone(),
                changes: vec![sc],
            })
            .expect("a simulated disk");
        if a.accepted > 0 {
            self.nodes[node].acknowledged.insert((doc.clone(), h));
            self.log(node, format!("wrote {} in {doc}", &h.to_string()[..12]));
            self.offer(node);
        } else {
            self.log(
                node,
                format!(
                    "own write {} in {doc} not accepted: {:?}",
                    &h.to_string()[..12],
                    a
                ),
            );
        }
    }

    fn daily(&mut self, node: usize, day: u64, counts: u64) -> Option<(DocId, SignedChange)> {
        let d = self.prison.staff[node].district.clone();
        let di = self.prison.districts.iter().position(|x| *x == d)?;
        let date = month().day(day as u8 + 1)?;
        let doc = month_doc(&d);
        let key = self.prison.staff[node].key_copy();
        let sc = self.make_change(node, &key, &doc, |w| {
            for i in 0..INMATES_PER_DISTRICT {
                w.put_attendance(
                    &inmate(di, i),
                    date,
                    &Attendance::from_fields("work", "480", "").expect("att"),
                )?;
                w.put_count(
                    &inmate(di, i),
                    date,
                    &PROCEDURE.parse().expect("procedure"),
                    counts + u64::from(i),
                )?;
            }
            Ok(())
        })?;
        Some((doc, sc))
    }

    fn act(&mut self, action: Action) {
        match action {
            Action::DailyWrite { node, day } => {
                if !self.online(node) && !self.prison.behaviour[node].is_honest() {
                    return;
                }
                let q = self.rng.random_range(400..560);
                if self.prison.behaviour[node].is_honest()
                    && let Some((doc, sc)) = self.daily(node, day, q)
                {
                    self.write_local(node, sc, doc);
                }
            }
            Action::Concurrent { node, day } => {
                if self.prison.behaviour[node].is_honest()
                    && let Some((doc, sc)) = self.daily(node, day, 900)
                {
                    self.write_local(node, sc, doc);
                }
            }
            Action::Confirm { node, day } => {
                if !self.prison.behaviour[node].is_honest() {
                    return;
                }
                let d = self.prison.staff[node].district.clone();
                let doc = month_doc(&d);
                let existing = if self.cfg.mode == Mode::Unsigned {
                    let Some(p) = self.nodes[node].plain.docs.get(&doc) else {
                        return;
                    };
                    Document::from_automerge(doc.clone(), p.fork()).expect("month")
                } else {
                    let Some(e) = self.nodes[node].replica.core.document(&doc) else {
                        return;
                    };
                    e.fork()
                };
                let facts = MonthDoc::from_document(existing).expect("month").facts();
                let dd = day as u8 + 1;
                let Some(date) = month().day(dd) else { return };
                let to_confirm: Vec<_> = facts
                    .inmates
                    .iter()
                    .filter(|(_, r)| r.record_days().contains(&dd))
                    .map(|(no, r)| (no.clone(), day_digest(r, dd)))
                    .collect();
                if to_confirm.is_empty() {
                    return;
                }
                let key = self.prison.staff[node].key_copy();
                if let Some(sc) = self.make_change(node, &key, &doc, |w| {
                    for (no, dg) in &to_confirm {
                        w.put_confirmation(no, date, dg)?;
                    }
                    Ok(())
                }) {
                    self.write_local(node, sc, doc);
                }
            }
            Action::Revoke { node } => {
                let rev = self.prison.revocation(node);
                let mut base = self.nodes[0]
                    .replica
                    .core
                    .document(&DocId::Registry)
                    .expect("registry")
                    .fork();
                base.set_actor_suffix(self.prison.admin.public().as_bytes(), self.rng.random());
                let mut reg = RegistryDoc::from_document(base).expect("registry");
                let meta = ChangeMeta {
                    author: self.prison.admin.public().as_bytes().to_vec(),
                    time: self.stated(0),
                    message: "revoke".into(),
                    registry_heads: vec![],
                };
                let (_, c) = reg
                    .write(&meta, |w| {
                        w.put_trust(
                            &RegistryKey::Revocation(KeyHex::from_bytes(
                                rev.body.public_key.as_bytes(),
                            )),
                            &rev.to_json(),
                        )
                        .map(|_| ())
                    })
                    .expect("revocation");
                let sc =
                    SignedChange::sign(&self.prison.admin, &DocId::Registry, c.expect("change"));
                self.revocations.insert(node, sc.hash());
                self.log(
                    0,
                    format!(
                        "revoked node {node}'s officer in {}",
                        &sc.hash().to_string()[..12]
                    ),
                );
                self.write_local(0, sc, DocId::Registry);
            }
            Action::Hostile { node, day } => self.hostile(node, day),
            Action::Reconnect { a, b } => {
                self.broken.remove(&link(a, b));
                if self.should_be_up(a, b) {
                    self.connect(a, b);
                }
            }
            Action::Restart { node, keep } => {
                self.log(
                    node,
                    format!(
                        "restart (sync state {})",
                        if keep { "kept" } else { "lost" }
                    ),
                );
                let peers: Vec<usize> = self.nodes[node].sessions.keys().copied().collect();
                for p in peers {
                    self.disconnect(node, p);
                }
                if !keep {
                    self.nodes[node].saved.clear();
                    self.nodes[node].plain.forget_saved();
                }
                if self.cfg.mode == Mode::Signed {
                    self.crash_and_reopen(node);
                }
                self.topology();
            }
            Action::Topology => self.topology(),
            Action::Heal => {}
        }
    }

    /// A power cut at `node`: its disk keeps what was synced (a write under
    /// way torn, by seed), and the replica is rebuilt from it by
    /// `Replica::open`, as the daemon starts. Then nothing it acknowledged
    /// may be missing, and every change it held pending must still be
    /// pending (or since accepted, or refused).
    fn crash_and_reopen(&mut self, node: usize) {
        let pending_before: Vec<(DocId, ChangeHash)> = self.nodes[node]
            .replica
            .core
            .pending()
            .iter()
            .flat_map(|(d, pool)| pool.keys().map(move |h| (d.clone(), *h)))
            .collect();
        let tear = self.rng.random_range(0..2u8) == 0;
        let crash = self.nodes[node].disk.crash(&mut self.rng, tear);
        let disk = self.nodes[node].disk.clone() as Arc<dyn Disk>;
        let reopened = Store::open_on(disk, &node_root(node))
            .and_then(Replica::open)
            .map_err(|e| e.to_string());
        let replica = match reopened {
            Ok(r) => r,
            Err(e) => {
                self.crash_failure = self.fail(
                    "a replica reopens after any crash",
                    format!("node {node}: {e}"),
                    Some(node),
                    None,
                );
                return;
            }
        };
        self.nodes[node].replica = replica;
        self.log(
            node,
            format!(
                "crashed ({} unsynced bytes lost, {} bytes of a write under way torn) and reopened from its disk",
                crash.lost, crash.torn
            ),
        );
        let n = &self.nodes[node];
        let lost = n.acknowledged.iter().find(|(d, h)| !n.holds(d, h)).cloned();
        if let Some((d, h)) = lost {
            let short = h.to_string()[..12].to_string();
            self.crash_failure = self.fail(
                "nothing acknowledged is lost across a crash",
                format!("node {node} acknowledged {short} in {d} and lost it in a crash"),
                Some(node),
                Some(&short),
            );
            // And the crash that lost it.
            if let (Some(f), Some(e)) = (self.crash_failure.as_mut(), self.trace.back()) {
                f.trace.push(show_event(e));
            }
            return;
        }
        let core = &self.nodes[node].replica.core;
        let dropped = pending_before.into_iter().find(|(d, h)| {
            !(core.is_pending(d, h)
                || core.refused(h).is_some()
                || Docs::signature(core, d, h).is_some())
        });
        if let Some((d, h)) = dropped {
            let short = h.to_string()[..12].to_string();
            self.crash_failure = self.fail(
                "pending changes survive restarts",
                format!("node {node} held {short} of {d} pending and lost it in a crash"),
                Some(node),
                Some(&short),
            );
        }
    }

    /// Sends `sc` as a change of `doc` to every peer `node` is connected to.
    fn push_raw(&mut self, node: usize, doc: &DocId, changes: Vec<SignedChange>) {
        let base = self.nodes[node]
            .replica
            .core
            .document(doc)
            .map(Document::fork)
            .unwrap_or_else(|| Document::new(doc.clone()));
        let Some(mut msg) = base.generate_sync_message(&mut State::new()) else {
            return;
        };
        msg.changes = Vec::<Vec<u8>>::new().into();
        let wire = Wire::Sync {
            doc: doc.to_string(),
            message: msg.encode(),
            changes: changes.iter().map(SignedChange::encode).collect(),
        };
        let peers: Vec<usize> = self.nodes[node].sessions.keys().copied().collect();
        for p in peers {
            self.send(node, p, wire.clone());
        }
    }

    fn hostile(&mut self, node: usize, day: u64) {
        let b = self.prison.behaviour[node];
        let d = self.prison.staff[node].district.clone();
        let di = self
            .prison
            .districts
            .iter()
            .position(|x| *x == d)
            .unwrap_or(0);
        let doc = month_doc(&d);
        let date = month().day(day as u8 + 1).expect("day");
        let q: u64 = self.rng.random_range(9000..9999);
        let put = move |w: &mut MonthWriter<'_, '_>| {
            w.put_count(
                &inmate(di, 0),
                date,
                &PROCEDURE.parse().expect("procedure"),
                q,
            )
            .map(|_| ())
        };
        match b {
            Behaviour::Honest => {}
            Behaviour::Forger => {
                // In the name of an honest officer of the district, signed with our key.
                let victim = self
                    .district_nodes(di)
                    .into_iter()
                    .find(|&n| self.prison.behaviour[n].is_honest());
                let Some(victim) = victim else { return };
                let victim_key = self.prison.staff[victim].key_copy();
                let own = self.prison.staff[node].key_copy();
                if let Some(mut sc) = self.make_change(node, &victim_key, &doc, put) {
                    sc = SignedChange::sign(&own, &doc, sc.change);
                    self.invalid.insert((doc.clone(), sc.hash()));
                    self.log(
                        node,
                        format!("forges {} in {doc}", &sc.hash().to_string()[..12]),
                    );
                    self.push_raw(node, &doc, vec![sc]);
                }
            }
            Behaviour::OutOfDistrict => {
                let districts = self.prison.districts.len();
                let other = self.prison.districts[(di + 1) % self.prison.districts.len()].clone();
                let odoc = month_doc(&other);
                let own = self.prison.staff[node].key_copy();
                if let Some(sc) = self.make_change(node, &own, &odoc, |w| {
                    w.put_count(
                        &inmate((di + 1) % districts, 0),
                        date,
                        &PROCEDURE.parse().expect("procedure"),
                        q,
                    )
                    .map(|_| ())
                }) {
                    self.invalid.insert((odoc.clone(), sc.hash()));
                    self.log(
                        node,
                        format!(
                            "writes out of district {} in {odoc}",
                            &sc.hash().to_string()[..12]
                        ),
                    );
                    self.push_raw(node, &odoc, vec![sc]);
                }
            }
            Behaviour::Replayer => {
                let valid = self.nodes[node].replica.core.signed_changes(&doc);
                if let Some(sc) = valid.last().cloned() {
                    let other =
                        month_doc(&self.prison.districts[(di + 1) % self.prison.districts.len()]);
                    self.invalid.insert((other.clone(), sc.hash()));
                    self.log(
                        node,
                        format!(
                            "replays {} of {doc} into {other}",
                            &sc.hash().to_string()[..12]
                        ),
                    );
                    self.push_raw(node, &other, vec![sc]);
                }
            }
            Behaviour::Revoked => {
                let own = self.prison.staff[node].key_copy();
                if let Some(sc) = self.make_change(node, &own, &doc, put) {
                    // Written knowing the revocation (it is in the registry heads
                    // the change states) → invalid everywhere; before → concurrent, valid.
                    let knows = self.revocations.get(&node).is_some_and(|r| {
                        self.nodes[node]
                            .replica
                            .core
                            .document(&DocId::Registry)
                            .is_some_and(|reg| reg.automerge().get_change_meta_by_hash(r).is_some())
                    });
                    if knows {
                        self.invalid.insert((doc.clone(), sc.hash()));
                    }
                    self.log(
                        node,
                        format!(
                            "revoked officer writes {} (knows: {knows})",
                            &sc.hash().to_string()[..12]
                        ),
                    );
                    self.push_raw(node, &doc, vec![sc]);
                }
            }
            Behaviour::Garbage => {
                let peers: Vec<usize> = self.nodes[node].sessions.keys().copied().collect();
                for p in peers {
                    let len = self.rng.random_range(1..200);
                    let junk: Vec<u8> = (0..len).map(|_| self.rng.random()).collect();
                    self.log(node, format!("sends {len} bytes of garbage to {p}"));
                    if !self.net.send(self.now, node, p, junk, false) {
                        self.disconnect(node, p);
                    }
                }
            }
            Behaviour::Flooder => {
                let mut flood = Vec::new();
                for i in 0..200u64 {
                    let stranger = SecretKey::from_seed(&seed_of(self.cfg.seed, day, i));
                    if let Some(sc) = self.make_change(node, &stranger, &doc, put) {
                        self.invalid.insert((doc.clone(), sc.hash()));
                        flood.push(sc);
                    }
                }
                self.log(
                    node,
                    format!("floods {} changes by unknown keys", flood.len()),
                );
                self.push_raw(node, &doc, flood);
            }
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
            }
            self.now = self.now.max(t);
            if action == Action::Heal {
                self.settle();
                self.stats.heals += 1;
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

    fn finish(mut self, failure: Option<Failure>) -> Outcome {
        self.stats.wire_bytes = self.net.bytes;
        self.stats.messages = self.net.messages;
        let trace = self
            .cfg
            .full_trace
            .then(|| self.trace.iter().map(show_event).collect());
        Outcome {
            seed: self.cfg.seed,
            failure,
            stats: self.stats,
            trace,
        }
    }

    fn honest(&self) -> Vec<usize> {
        (0..self.cfg.nodes)
            .filter(|&n| self.prison.behaviour[n].is_honest())
            .collect()
    }

    /// The events behind a failure, oldest first: with a change (`needle`),
    /// those that mention it — where it was written, and what became of it
    /// at `node` (or everywhere); without one, the last events of `node`.
    fn trace_of(&self, node: Option<usize>, needle: Option<&str>) -> Vec<String> {
        let events: Vec<&(u64, usize, String)> = match needle {
            Some(k) => {
                let about: Vec<_> = self
                    .trace
                    .iter()
                    .filter(|(_, _, s)| s.contains(k))
                    .collect();
                let origin = about.first().copied();
                origin
                    .into_iter()
                    .chain(
                        about
                            .iter()
                            .skip(1)
                            .copied()
                            .filter(|(_, n, _)| node.is_none_or(|x| x == *n)),
                    )
                    .collect()
            }
            None => self
                .trace
                .iter()
                .filter(|(_, n, _)| node.is_none_or(|x| x == *n))
                .collect(),
        };
        let skip = events.len().saturating_sub(30);
        events.into_iter().skip(skip).map(show_event).collect()
    }

    fn fail(
        &self,
        invariant: &'static str,
        detail: String,
        node: Option<usize>,
        needle: Option<&str>,
    ) -> Option<Failure> {
        Some(Failure {
            invariant,
            detail,
            trace: self.trace_of(node, needle),
        })
    }

    /// How two nodes' copies of `doc` differ: the changes one holds and the
    /// other lacks, and whether the other holds them pending (and on what).
    fn head_difference(&self, a: usize, b: usize, doc: &DocId) -> String {
        let hashes = |n: usize| -> BTreeSet<ChangeHash> {
            self.nodes[n]
                .replica
                .core
                .document(doc)
                .map(|d| {
                    d.automerge()
                        .get_changes(&[])
                        .iter()
                        .map(|c| c.hash())
                        .collect()
                })
                .unwrap_or_default()
        };
        let (ha, hb) = (hashes(a), hashes(b));
        let lacks = |n: usize, missing: Vec<&ChangeHash>| -> String {
            missing
                .iter()
                .take(5)
                .map(|h| {
                    let at = match self.nodes[n]
                        .replica
                        .core
                        .pending_of(doc)
                        .and_then(|p| p.get(*h))
                    {
                        Some(w) => format!(" (pending there, on {:?})", w.on),
                        None if self.nodes[n].replica.core.refused(h).is_some() => {
                            " (refused there)".to_string()
                        }
                        None => String::new(),
                    };
                    format!("{}{at}", &h.to_string()[..12])
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let b_lacks: Vec<&ChangeHash> = ha.difference(&hb).collect();
        let a_lacks: Vec<&ChangeHash> = hb.difference(&ha).collect();
        format!(
            "node {b} and node {a} differ on {doc}: node {b} lacks {} change(s) [{}], node {a} lacks {} [{}]",
            b_lacks.len(),
            lacks(b, b_lacks.clone()),
            a_lacks.len(),
            lacks(a, a_lacks.clone()),
        )
    }

    /// The invariants of the issue, over honest nodes.
    fn check(&self) -> Option<Failure> {
        let honest = self.honest();
        let first = honest[0];
        if self.cfg.mode == Mode::Unsigned {
            let heads = self.nodes[first].plain.heads();
            for &n in &honest[1..] {
                if self.nodes[n].plain.heads() != heads {
                    return self.fail(
                        "equal heads",
                        format!("node {n} differs from node {first}"),
                        Some(n),
                        None,
                    );
                }
            }
            return None;
        }
        // 1. No invalid change applied anywhere (checked first: it is the
        // cause when heads differ because of it).
        for (doc, h) in &self.invalid {
            for &n in &honest {
                if self.nodes[n]
                    .replica
                    .core
                    .document(doc)
                    .is_some_and(|d| d.automerge().get_change_meta_by_hash(h).is_some())
                {
                    let hs = h.to_string();
                    let short = &hs[..12];
                    let arrival = self
                        .trace
                        .iter()
                        .find(|(_, m, s)| *m == n && s.contains(short) && s.starts_with("message"))
                        .and_then(|(_, _, s)| s.split(':').next())
                        .map(|m| format!(", taken from {m}"))
                        .unwrap_or_default();
                    return self.fail(
                        "no invalid change applied",
                        format!("node {n} applied invalid change {short} in {doc}{arrival}"),
                        Some(n),
                        Some(short),
                    );
                }
            }
        }
        let heads = self.nodes[first].replica.core.heads();
        // 2. Equal heads everywhere.
        for &n in &honest[1..] {
            let h = self.nodes[n].replica.core.heads();
            if h != heads {
                let doc = heads
                    .keys()
                    .chain(h.keys())
                    .find(|d| heads.get(*d) != h.get(*d))
                    .cloned()
                    .expect("a difference");
                let detail = self.head_difference(first, n, &doc);
                return self.fail("equal heads", detail, Some(n), None);
            }
        }
        // ... and equal report digests for every district-month.
        let digest = |n: usize| -> BTreeMap<DocId, String> {
            let core = &self.nodes[n].replica.core;
            let registry = RegistryDoc::from_document(
                core.document(&DocId::Registry).expect("registry").fork(),
            )
            .expect("registry")
            .facts();
            heads
                .keys()
                .filter(|d| matches!(d, DocId::Month { .. }))
                .map(|d| {
                    let facts = MonthDoc::from_document(core.document(d).expect("doc").fork())
                        .expect("month")
                        .facts();
                    (
                        d.clone(),
                        crdt_schema::Sources::alone(&registry, &facts)
                            .and_then(|s| score_month(&registry, &s))
                            .map(|r| r.digest.0)
                            .unwrap_or_default(),
                    )
                })
                .collect()
        };
        let reference = digest(first);
        for &n in &honest[1..] {
            if digest(n) != reference {
                return self.fail(
                    "equal digests",
                    format!("node {n}'s reports differ from node {first}'s"),
                    Some(n),
                    None,
                );
            }
        }
        // 3. Every acknowledged change everywhere.
        for &n in &honest {
            for (doc, h) in &self.nodes[n].acknowledged {
                for &m in &honest {
                    let has = self.nodes[m]
                        .replica
                        .core
                        .document(doc)
                        .is_some_and(|d| d.automerge().get_change_meta_by_hash(h).is_some());
                    if !has {
                        let hs = h.to_string();
                        return self.fail(
                            "no acknowledged change lost",
                            format!(
                                "change {} acknowledged by node {n} is missing at node {m}",
                                &hs[..12]
                            ),
                            None,
                            Some(&hs[..12]),
                        );
                    }
                }
            }
        }
        // 4. The same reason for the same refused change on every node.
        let mut reasons: BTreeMap<ChangeHash, (usize, Refusal)> = BTreeMap::new();
        for &n in &honest {
            for (h, r) in self.nodes[n].replica.core.quarantine() {
                match reasons.get(h) {
                    Some((m, other)) if other != r => {
                        let hs = h.to_string();
                        return self.fail(
                            "same refusal everywhere",
                            format!(
                                "change {}: node {m} says `{other}`, node {n} says `{r}`",
                                &hs[..12]
                            ),
                            None,
                            Some(&hs[..12]),
                        );
                    }
                    Some(_) => {}
                    None => {
                        reasons.insert(*h, (n, r.clone()));
                    }
                }
            }
        }
        // 5. Bytes within the stated bound of the useful changes.
        if self.stats.change_bytes_received > self.stats.change_bytes_bound {
            return self.fail(
                "bytes within bound",
                format!(
                    "honest nodes received {} B of changes from honest peers for {} B they lacked; bound (each change once per link) {} B",
                    self.stats.change_bytes_received, self.stats.change_bytes_useful, self.stats.change_bytes_bound
                ),
                None,
                None,
            );
        }
        None
    }
}

fn show_event((t, n, s): &(u64, usize, String)) -> String {
    format!(
        "day {:>2} {:>9.5}h  node {n:>3}: {s}",
        t / DAY + 1,
        (t % DAY) as f64 / HOUR as f64
    )
}

fn seed_of(seed: u64, day: u64, i: u64) -> [u8; 32] {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&seed.to_le_bytes());
    s[8..16].copy_from_slice(&day.to_le_bytes());
    s[16..24].copy_from_slice(&i.to_le_bytes());
    s[24] = 0xF1;
    s
}

/// A node receiving one message, as the driver sees it: its core, and
/// admission through the world (which counts, logs and plants bugs).
struct Receiving<'w> {
    w: &'w mut World,
    to: usize,
    from: usize,
    seq: u64,
}

impl Admit for Receiving<'_> {
    type Error = std::convert::Infallible;
    fn core(&mut self) -> &mut Core {
        &mut self.w.nodes[self.to].replica.core
    }
    fn admit(&mut self, incoming: Incoming) -> Result<Admitted, Self::Error> {
        Ok(self.w.admit_from(self.to, self.from, self.seq, incoming))
    }
}
