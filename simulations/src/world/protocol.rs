//! What the simulated nodes run, behind one trait: tally's protocol (the
//! daemon's own code) or the baseline it is measured against. The run
//! ([`super::World`]) schedules, connects and delivers; a [`Protocol`] says
//! what a node does with each.

use std::collections::BTreeMap;
use std::sync::Arc;

use crdt_schema::automerge::{Change, ChangeHash};
use crdt_schema::{DocId, Document};
use keys::SecretKey;
use node::replica::{Core, Replica, Rest};
use node::store::{Disk, Store};
use node::sync::{Docs, Incoming, PeerSync};
use node::validate::SignedChange;
use replica_core::driver::{self, Admit, StepError};
use replica_core::replica::Admitted;

use super::invariants::{self, Invariant};
use super::{Bug, Config, Event, World};
use crate::baseline::PlainNode;
use crate::disk::SimDisk;
use crate::prison::SimPrison;

/// What a delivered message led to.
pub struct Delivered {
    /// Messages back to the sender.
    pub replies: Vec<Vec<u8>>,
    /// The node gained changes: it offers them on its other sessions.
    pub gained: bool,
}

/// A sync protocol under simulation.
pub trait Protocol: Sized + 'static {
    /// One node's state.
    type Node;
    /// Whether the protocol defends itself: hostile nodes take part only then.
    const DEFENDED: bool;

    fn node(cfg: &Config, n: usize, prison: &SimPrison) -> Self::Node;
    /// One of the records office's first changes (the registry's genesis,
    /// then the roster's) of `doc`.
    fn genesis(node: &mut Self::Node, doc: &DocId, change: &SignedChange);
    /// A document as the node holds it, to write on.
    fn document(node: &Self::Node, doc: &DocId) -> Option<Document>;
    /// The heads of the node's registry (what a change is written against).
    fn registry_heads(node: &Self::Node) -> Vec<ChangeHash>;
    /// A change as this protocol carries it: signed by `key`, or not.
    fn seal(key: &SecretKey, doc: &DocId, change: Change) -> SignedChange;
    /// A local write; whether the node acknowledged it.
    fn write(w: &mut World<Self>, node: usize, doc: &DocId, change: SignedChange) -> bool;
    /// Opens a session with `peer`: the messages that greet it.
    fn open(node: &mut Self::Node, peer: usize) -> Vec<Vec<u8>>;
    /// Ends the session with `peer`, keeping what it saves.
    fn close(node: &mut Self::Node, peer: usize);
    /// The peers the node has a session with.
    fn peers(node: &Self::Node) -> Vec<usize>;
    /// What the node sends on each session after a change: (peer, message).
    fn offer(node: &mut Self::Node) -> Vec<(usize, Vec<u8>)>;
    /// A message from `from` arrives at `to`; an error closes the connection.
    fn deliver(
        w: &mut World<Self>,
        from: usize,
        to: usize,
        seq: u64,
        bytes: &[u8],
    ) -> Result<Delivered, String>;
    /// A restart (sessions already closed); `keep`: the saved sync state survives.
    fn restart(w: &mut World<Self>, node: usize, keep: bool);
    /// Heads of every document the node holds.
    fn heads(node: &Self::Node) -> BTreeMap<DocId, Vec<ChangeHash>>;
    /// How node `b`'s copy of `doc` differs from node `a`'s, in words.
    fn difference(w: &World<Self>, a: usize, b: usize, doc: &DocId) -> String {
        let _ = doc;
        let _ = w;
        format!("node {b} differs from node {a}")
    }
    /// A hostile node's act of the day (none where there are none).
    fn hostile(w: &mut World<Self>, node: usize, day: u64) {
        let _ = (w, node, day);
    }
    /// The node signs checkpoints of what changed (none where there are none).
    fn checkpoint(w: &mut World<Self>, node: usize) {
        let _ = (w, node);
    }
    /// Checkpoints the node holds.
    fn checkpoints_held(node: &Self::Node) -> usize {
        let _ = node;
        0
    }
    /// The node puts documents nothing touched lately to rest (none where
    /// nothing rests).
    fn rest(w: &mut World<Self>, node: usize) {
        let _ = (w, node);
    }
    /// The node wakes every resting document (reads it back from storage).
    fn wake_all(w: &mut World<Self>, node: usize) {
        let _ = (w, node);
    }
    /// The invariants checked after every heal, in order.
    fn invariants() -> Vec<&'static dyn Invariant<Self>>;
}

/// A node running tally: the daemon's own [`Replica`] over its simulated
/// disk, with one `PeerSync` per open connection.
pub struct TallyNode {
    pub replica: Replica,
    pub disk: Arc<SimDisk>,
    pub sessions: BTreeMap<usize, PeerSync>,
    /// Each peer's sync state, kept across connections (not across a
    /// restart that loses it).
    pub saved: BTreeMap<usize, BTreeMap<DocId, Vec<u8>>>,
}

impl TallyNode {
    /// Whether the node holds (applied) a change; every applied change has
    /// its signature recorded, a cheaper test than asking Automerge.
    pub fn holds(&self, doc: &DocId, h: &ChangeHash) -> bool {
        Docs::signature(&self.replica.core, doc, h).is_some()
    }

    /// Whether the change is in the node's document or, if that rests, in
    /// what its storage holds of it.
    pub fn applied_or_stored(&self, doc: &DocId, h: &ChangeHash) -> bool {
        if self.replica.core.is_resting(doc) {
            return self
                .replica
                .store()
                .load(doc)
                .is_ok_and(|l| l.doc.automerge().get_change_meta_by_hash(h).is_some());
        }
        self.applied(doc, h)
    }

    /// Whether the change is in the node's document: applied, not only
    /// kept waiting for what it follows (after a bad block). What the
    /// invariants ask (of a resting document: not in memory, so no; the
    /// checks that need storage wake it first).
    pub fn applied(&self, doc: &DocId, h: &ChangeHash) -> bool {
        self.replica
            .core
            .document(doc)
            .is_some_and(|d| d.automerge().get_change_meta_by_hash(h).is_some())
    }
}

/// Where node `n`'s data directory is on its simulated disk.
pub(crate) fn node_root(n: usize) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("/sim/node{n}"))
}

/// How a simulated node's replica rests: every month, unless `--no-rest`
/// — honest nodes only (a hostile node's acts read its documents whole).
pub(crate) fn rest_policy(cfg: &Config, honest: bool) -> Rest {
    if cfg.rest && honest {
        Rest::Months
    } else {
        Rest::Never
    }
}

/// tally: signed changes, validated, through the daemon's driver step.
pub struct Tally;

impl Protocol for Tally {
    type Node = TallyNode;
    const DEFENDED: bool = true;

    fn node(cfg: &Config, n: usize, prison: &SimPrison) -> TallyNode {
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
        TallyNode {
            replica: Replica::open_resting(
                store,
                rest_policy(cfg, prison.behaviour[n].is_honest()),
            )
            .expect("an empty replica"),
            disk,
            sessions: BTreeMap::new(),
            saved: BTreeMap::new(),
        }
    }

    fn genesis(node: &mut TallyNode, doc: &DocId, change: &SignedChange) {
        let a = node
            .replica
            .admit(Incoming {
                doc: doc.clone(),
                changes: vec![change.clone()],
            })
            .expect("a simulated disk");
        assert_eq!(a.accepted, 1, "the genesis change is valid");
    }

    fn document(node: &TallyNode, doc: &DocId) -> Option<Document> {
        if node.replica.core.is_resting(doc) {
            // As the app reads a month to write on it: from storage.
            return node.replica.store().load(doc).ok().map(|l| l.doc);
        }
        node.replica.core.document(doc).map(Document::fork)
    }

    fn rest(w: &mut World<Tally>, node: usize) {
        // Resting drops what memory holds beyond storage: what a node with
        // a bug applied there is judged first.
        if let Some(v) = invariants::NoInvalidApplied::at(w, node) {
            let f = w.fail_now(
                invariants::NoInvalidApplied.name(),
                v.detail,
                v.node,
                v.change.as_ref(),
            );
            w.crash_failure = Some(f);
            return;
        }
        // Every month, touched or not (the daemon waits for a quiet
        // minute; here every exchange after the evening meets a resting
        // document, and every write wakes one), with the rest index.
        let documents = w.nodes[node].replica.rest_all();
        if documents > 0 {
            w.log(node, Event::Rested { documents });
        }
    }

    fn wake_all(w: &mut World<Tally>, node: usize) {
        let resting = w.nodes[node].replica.core.resting_ids();
        if resting.is_empty() {
            return;
        }
        if let Err(e) = w.nodes[node].replica.wake(&resting) {
            w.crash_failure = Some(w.fail_now(
                "a resting document wakes",
                format!("node {node}: {e}"),
                Some(node),
                None,
            ));
        }
    }

    fn registry_heads(node: &TallyNode) -> Vec<ChangeHash> {
        node.replica
            .core
            .document(&DocId::Registry)
            .map(|d| d.heads())
            .unwrap_or_default()
    }

    fn seal(key: &SecretKey, doc: &DocId, change: Change) -> SignedChange {
        SignedChange::sign(key, doc, change)
    }

    fn write(w: &mut World<Tally>, node: usize, doc: &DocId, sc: SignedChange) -> bool {
        let h = sc.hash();
        let a = match w.nodes[node].replica.admit(Incoming {
            doc: doc.clone(),
            changes: vec![sc],
        }) {
            Ok(a) => a,
            Err(e) => {
                if w.crash_failure.is_none() {
                    w.crash_failure = Some(w.fail_now(
                        "a replica takes changes after any crash",
                        format!("node {node} could not store its own write in {doc}: {e}"),
                        Some(node),
                        None,
                    ));
                }
                return false;
            }
        };
        if a.accepted > 0 {
            w.log(
                node,
                Event::Wrote {
                    doc: doc.clone(),
                    change: h,
                },
            );
            true
        } else {
            w.log(
                node,
                Event::OwnWriteNotAccepted {
                    doc: doc.clone(),
                    change: h,
                    why: format!("{a:?}"),
                },
            );
            false
        }
    }

    fn open(node: &mut TallyNode, peer: usize) -> Vec<Vec<u8>> {
        let saved = node.saved.get(&peer).cloned().unwrap_or_default();
        let s = PeerSync::new(&saved);
        let hello = driver::start(&s, &mut node.replica.core);
        node.sessions.insert(peer, s);
        vec![hello.encode()]
    }

    fn close(node: &mut TallyNode, peer: usize) {
        if let Some(s) = node.sessions.remove(&peer) {
            node.saved.insert(peer, s.saved());
        }
    }

    fn peers(node: &TallyNode) -> Vec<usize> {
        node.sessions.keys().copied().collect()
    }

    fn offer(node: &mut TallyNode) -> Vec<(usize, Vec<u8>)> {
        let mut out = Vec::new();
        for (&p, s) in node.sessions.iter_mut() {
            // The replica itself: offering may wake a resting document.
            match driver::step(s, &mut node.replica, None) {
                Ok(stepped) => out.extend(stepped.out.into_iter().map(|m| (p, m.encode()))),
                Err(e) => {
                    unreachable!("offering reads no message, and wakes from a sound disk: {e}")
                }
            }
        }
        out
    }

    fn deliver(
        w: &mut World<Tally>,
        from: usize,
        to: usize,
        seq: u64,
        bytes: &[u8],
    ) -> Result<Delivered, String> {
        // The driver step the daemon runs, against this node's core
        // (admitting through [`admit_from`], which counts and logs).
        let Some(mut session) = w.nodes[to].sessions.remove(&from) else {
            return Ok(Delivered {
                replies: Vec::new(),
                gained: false,
            });
        };
        let stepped = driver::step(
            &mut session,
            &mut Receiving { w, to, from, seq },
            Some(bytes),
        );
        w.nodes[to].sessions.insert(from, session);
        match stepped {
            Ok(s) => Ok(Delivered {
                gained: s.gained(),
                replies: s.out.into_iter().map(|m| m.encode()).collect(),
            }),
            Err(StepError::Admit(never)) => match never {},
            Err(e) => Err(e.to_string()),
        }
    }

    fn restart(w: &mut World<Tally>, node: usize, keep: bool) {
        if !keep {
            w.nodes[node].saved.clear();
        }
        invariants::crash_and_reopen(w, node);
    }

    fn heads(node: &TallyNode) -> BTreeMap<DocId, Vec<ChangeHash>> {
        node.replica.core.heads()
    }

    fn difference(w: &World<Tally>, a: usize, b: usize, doc: &DocId) -> String {
        invariants::tally_difference(w, a, b, doc)
    }

    fn hostile(w: &mut World<Tally>, node: usize, day: u64) {
        w.hostile(node, day);
    }

    fn checkpoints_held(node: &TallyNode) -> usize {
        node.replica.core.checkpoints().len()
    }

    fn checkpoint(w: &mut World<Tally>, node: usize) {
        let device = w.prison.device(node);
        let at = w.stated(node);
        match w.nodes[node].replica.sign_checkpoints(&device, at, 0) {
            Ok(0) => {}
            Ok(_) => w.offer(node),
            Err(e) => {
                if w.crash_failure.is_none() {
                    w.crash_failure = Some(w.fail_now(
                        "a replica takes changes after any crash",
                        format!("node {node} could not store its checkpoints: {e}"),
                        Some(node),
                        None,
                    ));
                }
            }
        }
    }

    fn invariants() -> Vec<&'static dyn Invariant<Tally>> {
        invariants::TALLY.to_vec()
    }
}

/// Admits the changes a message from `from` carried into `to`, counting
/// and logging what they did (or, with [`Bug::UncheckedApply`], applying
/// them unchecked).
fn admit_from(w: &mut World<Tally>, to: usize, from: usize, seq: u64, inc: Incoming) -> Admitted {
    let honest = w.prison.behaviour[to].is_honest();
    let doc = inc.doc.clone();
    let size: u64 = inc.changes.iter().map(|c| c.encode().len() as u64).sum();
    let hashes: Vec<(ChangeHash, u64)> = inc
        .changes
        .iter()
        .map(|c| (c.hash(), c.encode().len() as u64))
        .collect();
    let before: std::collections::BTreeSet<ChangeHash> = hashes
        .iter()
        .filter(|(h, _)| w.nodes[to].holds(&doc, h))
        .map(|(h, _)| *h)
        .collect();
    if w.cfg.bug == Some(Bug::UncheckedApply { node: to }) {
        return apply_unchecked(w, to, from, seq, inc);
    }
    let a = match w.nodes[to].replica.admit(inc) {
        Ok(a) => a,
        // A replica that cannot take changes any more (its store refuses
        // after a crash) is a failure of tally's, named, not a panic.
        Err(e) => {
            if w.crash_failure.is_none() {
                w.crash_failure = Some(w.fail_now(
                    "a replica takes changes after any crash",
                    format!("node {to} could not admit changes of {doc}: {e}"),
                    Some(to),
                    None,
                ));
            }
            return Admitted::default();
        }
    };
    if honest && w.prison.behaviour[from].is_honest() {
        w.stats.change_bytes_received += size;
        let useful = hashes
            .iter()
            .filter(|(h, _)| !before.contains(h) && w.nodes[to].holds(&doc, h))
            .map(|(_, b)| *b)
            .sum::<u64>();
        w.stats.change_bytes_useful += useful;
        w.stats.change_bytes_bound += useful * w.net.degree(to) as u64;
    }
    if honest {
        w.stats.accepted_from_peers += a.accepted as u64;
        w.stats.quarantined += a.quarantined.len() as u64;
    }
    for (refused_in, h, refusal) in &a.quarantined {
        w.log(
            to,
            Event::Quarantined {
                seq,
                from,
                doc: refused_in.clone(),
                change: *h,
                refusal: refusal.clone(),
            },
        );
    }
    if a.accepted > 0 {
        let new: Vec<ChangeHash> = hashes
            .iter()
            .filter(|(h, _)| !before.contains(h) && w.nodes[to].holds(&doc, h))
            .map(|(h, _)| *h)
            .collect();
        w.log(
            to,
            Event::Accepted {
                seq,
                from,
                doc,
                changes: new,
            },
        );
    }
    a
}

/// [`Bug::UncheckedApply`]: what a node without validation would do.
fn apply_unchecked(
    w: &mut World<Tally>,
    to: usize,
    from: usize,
    seq: u64,
    inc: Incoming,
) -> Admitted {
    let Incoming { doc, changes } = inc;
    let new: Vec<SignedChange> = changes
        .into_iter()
        .filter(|c| !w.nodes[to].holds(&doc, &c.hash()))
        .collect();
    if !new.is_empty() {
        let n = &mut w.nodes[to];
        // Read back first if it rests (the bug skips validation, not storage).
        n.replica
            .wake(std::slice::from_ref(&doc))
            .expect("a sound simulated disk");
        Docs::doc_mut(&mut n.replica.core, &doc);
        let loaded = n.replica.core.held_mut(&doc).expect("created above");
        for c in &new {
            loaded.signatures.insert(c.hash(), c.signature);
        }
        // Automerge queues what lacks dependencies; a bad value may fail.
        let applied = loaded
            .doc
            .apply_changes(new.iter().map(|c| c.change.clone()).collect());
        w.log(
            to,
            Event::AppliedUnchecked {
                seq,
                from,
                doc,
                changes: new.iter().map(SignedChange::hash).collect(),
                error: applied.err().map(|e| e.to_string()),
            },
        );
    }
    Admitted {
        accepted: new.len(),
        ..Admitted::default()
    }
}

/// A node receiving one message, as the driver sees it: its core, and
/// admission through the world (which counts, logs and plants bugs).
struct Receiving<'w> {
    w: &'w mut World<Tally>,
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
        Ok(admit_from(self.w, self.to, self.from, self.seq, incoming))
    }
    /// As the daemon's replica wakes them; a disk that cannot be read is
    /// a failure of the run (the step then ends the connection: the
    /// documents stay asleep).
    fn wake(&mut self, ids: &[DocId]) -> Result<(), Self::Error> {
        if let Err(e) = self.w.nodes[self.to].replica.wake(ids) {
            let f = self.w.fail_now(
                "a resting document wakes",
                format!("node {}: {e}", self.to),
                Some(self.to),
                None,
            );
            self.w.crash_failure = Some(f);
        }
        Ok(())
    }
    /// Kept, and stored, by the node's replica as the daemon's are.
    fn checkpoints(
        &mut self,
        cps: Vec<replica_core::checkpoint::SignedCheckpoint>,
    ) -> Result<usize, Self::Error> {
        let (w, to) = (&mut *self.w, self.to);
        Ok(match w.nodes[to].replica.admit_checkpoints(cps) {
            Ok(n) => n,
            Err(e) => {
                if w.crash_failure.is_none() {
                    w.crash_failure = Some(w.fail_now(
                        "a replica takes changes after any crash",
                        format!("node {to} could not store checkpoints: {e}"),
                        Some(to),
                        None,
                    ));
                }
                0
            }
        })
    }
}

/// The baseline: plain, unsigned Automerge sync ([`PlainNode`]), with no
/// validation and so no hostile nodes.
pub struct Baseline;

impl Protocol for Baseline {
    type Node = PlainNode;
    const DEFENDED: bool = false;

    fn node(_: &Config, _: usize, _: &SimPrison) -> PlainNode {
        PlainNode::default()
    }

    fn genesis(node: &mut PlainNode, doc: &DocId, change: &SignedChange) {
        node.docs
            .entry(doc.clone())
            .or_default()
            .apply_changes([change.change.clone()])
            .expect("genesis applies");
    }

    fn document(node: &PlainNode, doc: &DocId) -> Option<Document> {
        let am = node.docs.get(doc)?.fork();
        Document::from_automerge(doc.clone(), am).ok()
    }

    fn registry_heads(node: &PlainNode) -> Vec<ChangeHash> {
        node.docs
            .get(&DocId::Registry)
            .map(|d| d.get_heads())
            .unwrap_or_default()
    }

    fn seal(_: &SecretKey, _: &DocId, change: Change) -> SignedChange {
        // The baseline signs nothing.
        SignedChange {
            change,
            signature: keys::Signature::from_bytes([0; 64]),
        }
    }

    fn write(w: &mut World<Baseline>, node: usize, doc: &DocId, sc: SignedChange) -> bool {
        let d = w.nodes[node].docs.entry(doc.clone()).or_default();
        d.apply_changes([sc.change]).is_ok()
    }

    fn open(node: &mut PlainNode, peer: usize) -> Vec<Vec<u8>> {
        node.open(peer)
    }

    fn close(node: &mut PlainNode, peer: usize) {
        node.close(peer, true);
    }

    fn peers(node: &PlainNode) -> Vec<usize> {
        node.peers()
    }

    fn offer(node: &mut PlainNode) -> Vec<(usize, Vec<u8>)> {
        let mut out = Vec::new();
        for p in node.peers() {
            out.extend(node.poll(p).into_iter().map(|m| (p, m)));
        }
        out
    }

    fn deliver(
        w: &mut World<Baseline>,
        from: usize,
        to: usize,
        _: u64,
        bytes: &[u8],
    ) -> Result<Delivered, String> {
        let (replies, gained) = w.nodes[to].receive(from, bytes)?;
        Ok(Delivered { replies, gained })
    }

    fn restart(w: &mut World<Baseline>, node: usize, keep: bool) {
        if !keep {
            w.nodes[node].forget_saved();
        }
    }

    fn heads(node: &PlainNode) -> BTreeMap<DocId, Vec<ChangeHash>> {
        node.heads()
    }

    fn invariants() -> Vec<&'static dyn Invariant<Baseline>> {
        vec![&invariants::EqualHeads]
    }
}
