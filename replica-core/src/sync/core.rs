//! The sync protocol with one peer, as a state machine: messages in →
//! changes to validate and apply, and messages out. No I/O, no clock, no
//! randomness: the iroh transport and the simulations drive the very same code.
//!
//! Per document it runs Automerge's sync protocol (heads, needs and a Bloom
//! filter of what the sender has, so only what the peer lacks is sent, also
//! after weeks apart) — but never lets Automerge carry a change: the changes
//! travel beside the protocol message, each with its author's signature, and
//! the shell admits them through validation before anything is applied.
//!
//! Use: send [`PeerSync::hello`] first; for each message received call
//! [`PeerSync::receive`] and admit the changes it returns; then call
//! [`PeerSync::poll`] (also whenever local documents change) and send what it
//! returns.

use std::collections::{BTreeMap, BTreeSet};

use crdt_schema::automerge::sync;
use crdt_schema::automerge::{Automerge, ChangeHash, ReadDoc};
use crdt_schema::{DocId, Document};
use keys::Signature;

use super::wire::{DocHeads, MAX_CHANGE_BYTES, MAX_CHECKPOINTS, PROTOCOL_VERSION, Wire};
use crate::checkpoint::SignedCheckpoint;
use crate::validate::SignedChange;

/// What the protocol needs of the local replica.
pub trait Docs {
    /// Every document held.
    fn ids(&self) -> Vec<DocId>;
    /// A document awake in memory (empty if not held yet); `None` while it
    /// rests ([`Docs::resting`]).
    fn doc_mut(&mut self, id: &DocId) -> Option<&mut Document>;
    /// The heads of a document that rests: held on disk, not in memory. An
    /// exchange with a peer level with it needs no more than those; for
    /// anything else the protocol asks for it to be woken
    /// ([`PeerSync::take_to_wake`]). None rests by default.
    fn resting(&self, id: &DocId) -> Option<&[ChangeHash]> {
        let _ = id;
        None
    }
    /// The protocol sent a message of this document, awake: an exchange
    /// is under way, so it should not be put to rest yet. Nothing by default.
    fn exchanged(&mut self, id: &DocId) {
        let _ = id;
    }
    /// The stored signature of a change.
    fn signature(&self, id: &DocId, hash: &ChangeHash) -> Option<Signature>;
    /// Changes the replica lacks that changes it holds pending depend on.
    /// Pending changes live outside the Automerge document, so Automerge
    /// cannot ask for their dependencies itself: when a peer's Bloom filter
    /// gives a false positive, the peer sends a change's dependents but not
    /// the change, and only asking for it by hash recovers.
    fn missing_deps(&self, id: &DocId) -> BTreeSet<ChangeHash>;
    /// The checkpoints from number `seq` on, at most `limit`, each with its
    /// number (see `checkpoint::Checkpoints::after`). None by default.
    fn checkpoints_after(&self, seq: u64, limit: usize) -> Vec<(u64, SignedCheckpoint)> {
        let _ = (seq, limit);
        Vec::new()
    }
}

/// Most hashes asked for by name in one message.
const MAX_NEED: usize = 1024;
/// Signatures of a peer's checkpoints remembered per connection (not sent
/// back to it).
const MAX_HEARD: usize = 100_000;
/// Checkpoint messages one poll sends at the most.
const CHECKPOINT_MESSAGES_PER_POLL: usize = 4;

/// Why a peer's message ends the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("peer speaks protocol version {0}, this node {PROTOCOL_VERSION}")]
    Version(u32),
    #[error("peer sent Hello twice")]
    DoubleHello,
    #[error("peer sent a sync message before Hello")]
    NoHello,
    #[error("bad document name `{0}`")]
    BadDoc(String),
    #[error("bad sync message for {doc}: {reason}")]
    BadMessage { doc: String, reason: String },
    #[error("peer put changes inside the sync message for {0} (unsigned)")]
    UnsignedChanges(String),
    #[error("bad signed change for {doc}: {reason}")]
    BadChange { doc: String, reason: String },
    #[error("bad checkpoint: {0}")]
    BadCheckpoint(String),
}

/// Changes a peer sent for one document: to be validated, then applied.
#[derive(Debug)]
pub struct Incoming {
    pub doc: DocId,
    pub changes: Vec<SignedChange>,
}

/// How far this replica and a peer stand apart on one document, as of the
/// peer's last protocol message (what the 同步 screen lists as not yet sent
/// or received).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Lag {
    /// Changes held here that the peer lacks and this connection has not
    /// sent yet; `None` when the peer named a head this replica lacks, so
    /// what it lacks cannot be counted here.
    pub to_send: Option<usize>,
    /// Heads the peer named that this replica lacks (changes to receive).
    pub to_receive: usize,
}

/// The state of syncing with one peer.
#[derive(Debug)]
pub struct PeerSync {
    states: BTreeMap<DocId, sync::State>,
    /// Documents the peer announced (we sync those even if we lack them).
    announced: BTreeSet<DocId>,
    /// The heads the peer's Hello gave for each document it announced.
    hello_heads: BTreeMap<DocId, Vec<ChangeHash>>,
    /// Protocol messages received, to take effect once their changes are admitted.
    received: Vec<(DocId, sync::Message)>,
    /// Per document, the peer's last protocol message as received.
    last_heard: BTreeMap<DocId, Vec<u8>>,
    /// Documents whose last message repeated the one before and carried no
    /// changes: the peer learnt nothing from our answer, so answering again
    /// (with our heads unchanged) would only restart the same exchange.
    repeated: BTreeSet<DocId>,
    /// Documents whose last message held changes back for the budget: the
    /// peer repeating itself then means it is waiting for the rest, not that
    /// the exchange is stuck, so the repeat is answered.
    withheld: BTreeSet<DocId>,
    /// Per document, the missing dependencies last asked of this peer.
    asked: BTreeMap<DocId, BTreeSet<ChangeHash>>,
    /// Resting documents the last poll needed awake (a peer not level with
    /// them): their messages wait in `received`, and nothing was sent of them.
    to_wake: BTreeSet<DocId>,
    hello: bool,
    /// Checkpoints received, for the caller to take ([`PeerSync::take_checkpoints`]).
    checkpoints_in: Vec<SignedCheckpoint>,
    /// The number of the next of the replica's checkpoints to send here.
    checkpoints_sent: u64,
    /// Signatures of the checkpoints this peer sent (not sent back to it),
    /// bounded.
    checkpoints_heard: BTreeSet<Vec<u8>>,
    /// Bytes of signed changes one message may carry ([`MAX_CHANGE_BYTES`]
    /// unless a test sets a smaller one).
    budget: usize,
    /// Bytes of changes sent and received (for measurements and status).
    pub sent_change_bytes: u64,
    pub received_change_bytes: u64,
}

impl Default for PeerSync {
    fn default() -> PeerSync {
        PeerSync::new(&BTreeMap::new())
    }
}

fn parse_doc(s: &str) -> Result<DocId, ProtocolError> {
    s.parse()
        .map_err(|_| ProtocolError::BadDoc(s.chars().take(64).collect()))
}

impl PeerSync {
    /// A fresh state, or one restored from [`PeerSync::saved`] after a restart
    /// (what was shared with this peer, so the next sync sends only the rest).
    pub fn new(saved: &BTreeMap<DocId, Vec<u8>>) -> PeerSync {
        let states = saved
            .iter()
            .filter_map(|(d, bytes)| sync::State::decode(bytes).ok().map(|s| (d.clone(), s)))
            .collect();
        PeerSync {
            states,
            announced: BTreeSet::new(),
            hello_heads: BTreeMap::new(),
            received: Vec::new(),
            last_heard: BTreeMap::new(),
            repeated: BTreeSet::new(),
            withheld: BTreeSet::new(),
            asked: BTreeMap::new(),
            to_wake: BTreeSet::new(),
            hello: false,
            checkpoints_in: Vec::new(),
            checkpoints_sent: 0,
            checkpoints_heard: BTreeSet::new(),
            budget: MAX_CHANGE_BYTES,
            sent_change_bytes: 0,
            received_change_bytes: 0,
        }
    }

    /// With a per-message budget of `bytes` of changes (tests: a backlog
    /// many budgets long without writing megabytes).
    pub fn with_budget(mut self, bytes: usize) -> PeerSync {
        self.budget = bytes.min(MAX_CHANGE_BYTES);
        self
    }

    /// What to keep across restarts: per document, the heads shared with this peer.
    pub fn saved(&self) -> BTreeMap<DocId, Vec<u8>> {
        self.states
            .iter()
            .map(|(d, s)| (d.clone(), s.encode()))
            .collect()
    }

    /// Every document not level with the peer, by what its last message
    /// said of its heads; documents it has not spoken of yet are left out.
    pub fn lag(&self, docs: &mut dyn Docs) -> BTreeMap<DocId, Lag> {
        let mut out = BTreeMap::new();
        for (id, state) in &self.states {
            let Some(theirs) = &state.their_heads else {
                continue;
            };
            let mut theirs_sorted = theirs.clone();
            theirs_sorted.sort();
            if let Some(resting) = docs.resting(id) {
                let mut ours = resting.to_vec();
                ours.sort();
                if ours != theirs_sorted {
                    // Not level, and the document is on disk: what the peer
                    // lacks is not counted, what it has that we lack is
                    // bounded by its heads not among ours.
                    let to_receive = theirs.iter().filter(|h| !ours.contains(h)).count();
                    out.insert(
                        id.clone(),
                        Lag {
                            to_send: None,
                            to_receive,
                        },
                    );
                }
                continue;
            }
            let Some(doc) = docs.doc_mut(id) else {
                continue;
            };
            let doc = doc.automerge();
            let mut ours = doc.get_heads();
            ours.sort();
            if ours == theirs_sorted {
                continue;
            }
            let to_receive = theirs
                .iter()
                .filter(|h| doc.get_change_meta_by_hash(h).is_none())
                .count();
            // With every head of theirs held, the changes they lack are
            // exactly those not behind their heads; some may be on the way.
            let to_send = (to_receive == 0).then(|| {
                doc.get_changes_meta(theirs)
                    .iter()
                    .filter(|c| !state.sent_hashes.contains(&c.hash))
                    .count()
            });
            if to_receive > 0 || to_send.is_some_and(|n| n > 0) {
                out.insert(
                    id.clone(),
                    Lag {
                        to_send,
                        to_receive,
                    },
                );
            }
        }
        out
    }

    /// The first message of a connection: our inventory.
    pub fn hello(&self, docs: &mut dyn Docs) -> Wire {
        let ids = docs.ids();
        Wire::Hello {
            version: PROTOCOL_VERSION,
            docs: ids
                .into_iter()
                .map(|id| {
                    let heads = heads_of(docs, &id).into_iter().map(|h| h.0).collect();
                    DocHeads {
                        doc: id.to_string(),
                        heads,
                    }
                })
                .collect(),
        }
    }

    /// Takes one message from the peer. Returns the signed changes it carries,
    /// for the caller to validate and apply before the next [`PeerSync::poll`].
    /// An error means the peer misbehaved: close the connection.
    pub fn receive(&mut self, wire: Wire) -> Result<Option<Incoming>, ProtocolError> {
        match wire {
            Wire::Hello { version, docs } => {
                if version != PROTOCOL_VERSION {
                    return Err(ProtocolError::Version(version));
                }
                if self.hello {
                    return Err(ProtocolError::DoubleHello);
                }
                self.hello = true;
                for d in docs {
                    let id = parse_doc(&d.doc)?;
                    self.hello_heads
                        .insert(id.clone(), d.heads.iter().map(|h| ChangeHash(*h)).collect());
                    self.announced.insert(id);
                }
                Ok(None)
            }
            Wire::Sync {
                doc,
                message,
                changes,
            } => {
                if !self.hello {
                    return Err(ProtocolError::NoHello);
                }
                let id = parse_doc(&doc)?;
                let same = self.last_heard.get(&id) == Some(&message);
                if same && changes.is_empty() {
                    self.repeated.insert(id.clone());
                } else {
                    self.repeated.remove(&id);
                    self.last_heard.insert(id.clone(), message.clone());
                }
                let mut msg =
                    sync::Message::decode(&message).map_err(|e| ProtocolError::BadMessage {
                        doc: doc.clone(),
                        reason: e.to_string(),
                    })?;
                if !msg.changes.is_empty() {
                    return Err(ProtocolError::UnsignedChanges(doc));
                }
                // Capabilities stay unannounced, so Automerge never answers
                // with a whole-document save (which could carry no signatures).
                msg.flags = None;
                let mut signed = Vec::with_capacity(changes.len());
                for bytes in &changes {
                    self.received_change_bytes += bytes.len() as u64;
                    signed.push(SignedChange::decode(bytes).map_err(|e| {
                        ProtocolError::BadChange {
                            doc: doc.clone(),
                            reason: e.to_string(),
                        }
                    })?);
                }
                self.announced.insert(id.clone());
                self.received.push((id.clone(), msg));
                Ok(Some(Incoming {
                    doc: id,
                    changes: signed,
                }))
            }
            Wire::Checkpoints(list) => {
                if !self.hello {
                    return Err(ProtocolError::NoHello);
                }
                for bytes in &list {
                    let cp = SignedCheckpoint::decode(bytes)
                        .map_err(|e| ProtocolError::BadCheckpoint(e.to_string()))?;
                    if self.checkpoints_heard.len() < MAX_HEARD {
                        self.checkpoints_heard.insert(cp.signature.clone());
                    }
                    self.checkpoints_in.push(cp);
                }
                Ok(None)
            }
        }
    }

    /// The checkpoints received since last asked, for the replica to judge
    /// and keep (signature, enrolled device, later than the one held).
    pub fn take_checkpoints(&mut self) -> Vec<SignedCheckpoint> {
        std::mem::take(&mut self.checkpoints_in)
    }

    /// Lets received protocol messages take effect (after their changes were
    /// admitted), then produces what to send: for each document, the next
    /// round of the sync protocol with the signed changes the peer lacks.
    ///
    /// A resting document is answered from its heads while the peer is
    /// level with it; otherwise its message waits and nothing is sent of
    /// it: the caller wakes the documents [`PeerSync::take_to_wake`] names
    /// and polls again ([`crate::driver::step`] does).
    pub fn poll(&mut self, docs: &mut dyn Docs) -> Vec<Wire> {
        self.to_wake.clear();
        for (id, msg) in std::mem::take(&mut self.received) {
            let state = self.states.entry(id.clone()).or_default();
            if let Some(resting) = docs.resting(&id) {
                // Once one message of a document waits, the later ones wait
                // behind it: taken in out of order they would confuse its state.
                if self.to_wake.contains(&id) || !receive_level(state, &msg, resting) {
                    self.to_wake.insert(id.clone());
                    self.received.push((id, msg));
                }
                continue;
            }
            let Some(doc) = docs.doc_mut(&id) else {
                continue;
            };
            // Automerge reads empty heads as "the peer lost all its data" and
            // forgets what it sent. Within one connection a peer cannot lose
            // data: empty heads only mean our changes are still on the way
            // (messages cross), so keep the record and do not send them twice.
            let kept = msg
                .heads
                .is_empty()
                .then(|| (state.sent_hashes.clone(), state.last_sent_heads.clone()));
            // Cannot fail: the message carries no changes (checked on receipt).
            let _ = doc.receive_sync_message(state, msg);
            if let Some((sent, last)) = kept {
                state.sent_hashes = sent;
                state.last_sent_heads = last;
            }
        }
        if !self.hello {
            return Vec::new();
        }
        let mut ids: BTreeSet<DocId> = docs.ids().into_iter().collect();
        ids.extend(self.announced.iter().cloned());
        let mut out = Vec::new();
        for id in ids {
            // A message of its own waits for it to wake: nothing is sent
            // before it is taken in.
            if self.to_wake.contains(&id) {
                continue;
            }
            if let Some(w) = self.generate(docs, &id) {
                out.push(w);
            }
        }
        // The checkpoints this connection has not carried yet (but those
        // this peer sent), in messages within the bounds; at most a few
        // messages' worth a poll, the rest at the next.
        let mut batch = Vec::new();
        let mut bytes = 0usize;
        let mut messages = 0;
        let limit = MAX_CHECKPOINTS * CHECKPOINT_MESSAGES_PER_POLL;
        for (n, cp) in docs.checkpoints_after(self.checkpoints_sent, limit) {
            if self.checkpoints_heard.contains(&cp.signature) {
                self.checkpoints_sent = n + 1;
                continue;
            }
            let encoded = cp.encode();
            if !batch.is_empty()
                && (batch.len() == MAX_CHECKPOINTS || bytes + encoded.len() > self.budget)
            {
                out.push(Wire::Checkpoints(std::mem::take(&mut batch)));
                bytes = 0;
                messages += 1;
                if messages == CHECKPOINT_MESSAGES_PER_POLL {
                    break;
                }
            }
            bytes += encoded.len();
            batch.push(encoded);
            self.checkpoints_sent = n + 1;
        }
        if !batch.is_empty() {
            out.push(Wire::Checkpoints(batch));
        }
        out
    }

    /// The resting documents the last [`PeerSync::poll`] could not answer
    /// from their heads (the peer is not level with them): wake these and
    /// poll again. Nothing of them was sent, and their messages wait.
    pub fn take_to_wake(&mut self) -> Vec<DocId> {
        std::mem::take(&mut self.to_wake).into_iter().collect()
    }

    fn generate(&mut self, docs: &mut dyn Docs, id: &DocId) -> Option<Wire> {
        let state = self.states.entry(id.clone()).or_default();
        // Nothing heard from the peer since our last message and nothing new
        // here: Automerge would answer `None`, but only after building a Bloom
        // filter of the document — per peer, per document, on every poll.
        let heads = heads_of(docs, id);
        if state.have_responded && state.last_sent_heads == heads {
            // ... or nothing new here and the peer holds exactly what we hold:
            // Automerge would also answer `None`, after the same work.
            let level = state.their_heads.as_ref() == Some(&heads)
                && state.their_need.as_ref().is_none_or(Vec::is_empty);
            if state.in_flight || level {
                return None;
            }
        }
        // Two replicas whose heads can never become equal — the peer holds a
        // change this replica refused (a hostile or revoked writer's) — would
        // otherwise answer each other for ever: Automerge stops only when the
        // heads match. When the peer's message repeats its last one and ours
        // would too, stay silent until either side has something new.
        let missing = docs.missing_deps(id);
        let asked = self.asked.get(id).is_some_and(|a| missing.is_subset(a));
        if self.repeated.contains(id)
            && !self.withheld.contains(id)
            && asked
            && state.have_responded
            && state.last_sent_heads == heads
        {
            return None;
        }
        let before: BTreeSet<ChangeHash> = state.sent_hashes.clone();
        // What the peer asked for by name goes first: its pending changes
        // wait on exactly these.
        let needed: BTreeSet<ChangeHash> = state.their_need.iter().flatten().copied().collect();
        if let Some(resting) = docs.resting(id) {
            // The peer's Hello named our heads: it holds everything we
            // hold, so that is what we share — what Automerge would learn
            // from its first message, known before it (the side that sent
            // a document last may never have heard it arrive, and would
            // otherwise wake it at every reconnection to say so). A peer
            // whose Hello lied answers with other heads, and that wakes it.
            if state.their_heads.is_none()
                && !same_set(&state.shared_heads, resting)
                && self
                    .hello_heads
                    .get(id)
                    .is_some_and(|h| same_set(h, resting))
            {
                state.shared_heads = resting.to_vec();
            }
            return match generate_level(state, resting) {
                Level::Silent => None,
                Level::Send(msg) => Some(Wire::Sync {
                    doc: id.to_string(),
                    message: msg.encode(),
                    changes: Vec::new(),
                }),
                Level::Wake => {
                    self.to_wake.insert(id.clone());
                    None
                }
            };
        }
        let doc = docs.doc_mut(id)?;
        // `None` leaves the dependencies unasked only when no answer from
        // this peer is possible: one is in flight (we ask on the reply) or
        // its heads equal ours (it lacks them as we do).
        let mut msg = doc.generate_sync_message(state)?;
        for h in missing.iter().take(MAX_NEED) {
            if !msg.need.contains(h) {
                msg.need.push(*h);
            }
        }
        // The encoding expects them sorted.
        msg.need.sort();
        self.asked.insert(id.clone(), missing);
        let doc = doc.automerge();
        let new: Vec<ChangeHash> = state.sent_hashes.difference(&before).copied().collect();
        // The changes to send, dependencies first, within the byte budget;
        // what does not fit is unmarked so a later round sends it. Once one
        // change does not fit, none after it goes either: a later change may
        // depend on it, and would wait at the peer for a dependency that is
        // not coming in this message (a backlog of many budgets then stalled).
        let mut changes = Vec::new();
        let mut bytes = 0usize;
        let mut unsent = Vec::new();
        // Changes held back, and so every change that depends on one of them.
        let mut withheld: BTreeSet<ChangeHash> = BTreeSet::new();
        let mut full = false;
        let their_heads = state.their_heads.clone().unwrap_or_default();
        for change in causal_order(doc, &new, &needed, &their_heads) {
            let h = change.hash();
            let raw = change.raw_bytes().len() + 64;
            full |= bytes + raw > self.budget && !changes.is_empty();
            let blocked = full || change.deps().iter().any(|d| withheld.contains(d));
            let signature = if blocked {
                None
            } else {
                docs.signature(id, &h)
            };
            match signature {
                Some(signature) => {
                    bytes += raw;
                    changes.push(SignedChange { change, signature }.encode());
                }
                None => {
                    withheld.insert(h);
                    unsent.push(h);
                }
            }
        }
        if unsent.is_empty() {
            self.withheld.remove(id);
        } else {
            self.withheld.insert(id.clone());
        }
        let state = self.states.get_mut(id).expect("inserted above");
        for h in unsent {
            state.sent_hashes.remove(&h);
        }
        self.sent_change_bytes += bytes as u64;
        docs.exchanged(id);
        msg.changes = Vec::<Vec<u8>>::new().into();
        msg.flags = None;
        Some(Wire::Sync {
            doc: id.to_string(),
            message: msg.encode(),
            changes,
        })
    }
}

/// A document's heads, awake or resting (empty if not held).
fn heads_of(docs: &mut dyn Docs, id: &DocId) -> Vec<ChangeHash> {
    match docs.resting(id) {
        Some(heads) => heads.to_vec(),
        None => docs.doc_mut(id).map(|d| d.heads()).unwrap_or_default(),
    }
}

/// Whether `hashes`, as a set, are exactly `heads`.
fn same_set(hashes: &[ChangeHash], heads: &[ChangeHash]) -> bool {
    let a: BTreeSet<&ChangeHash> = hashes.iter().collect();
    let b: BTreeSet<&ChangeHash> = heads.iter().collect();
    a == b
}

/// Takes a peer's message for a resting document whose heads are `heads`,
/// when the peer is level with it: what Automerge's `receive_sync_message`
/// does to `state` then, computed from the heads alone. The peer is level
/// when its heads are ours, it needs nothing, and what it says it has is
/// ours exactly (so nothing of ours is missing at its end). Returns false,
/// leaving `state` as it was, otherwise: the document must be woken.
pub(super) fn receive_level(
    state: &mut sync::State,
    msg: &sync::Message,
    heads: &[ChangeHash],
) -> bool {
    let have: Vec<ChangeHash> = msg
        .have
        .iter()
        .flat_map(|h| h.last_sync.iter().copied())
        .collect();
    let level = !heads.is_empty()
        && msg.heads == heads
        && msg.need.is_empty()
        && msg.changes.is_empty()
        && msg.flags.is_none()
        && (msg.have.is_empty() || same_set(&have, heads));
    if !level {
        return false;
    }
    state.in_flight = false;
    // Every change held is behind the peer's heads: none was sent unseen.
    state.sent_hashes.clear();
    // Its heads are ours.
    state.last_sent_heads.clone_from(&msg.heads);
    state.shared_heads.clone_from(&msg.heads);
    state.their_have = Some(msg.have.clone());
    state.their_heads = Some(msg.heads.clone());
    state.their_need = Some(msg.need.clone());
    true
}

/// What a resting document answers.
#[derive(Debug)]
pub(super) enum Level {
    /// Nothing to say (Automerge's `None`).
    Silent,
    /// This message, with no changes: the peer lacks none.
    Send(sync::Message),
    /// The peer is not (known to be) level: the document must be woken.
    Wake,
}

/// Automerge's `generate_sync_message` for a resting document whose heads
/// are `heads`, computed from the heads alone — possible while everything
/// the state records of the peer (its heads, what it said it has, what we
/// last shared) is exactly those heads, so that nothing is to be sent, the
/// Bloom filter of what we have since our last sync is empty, and nothing
/// of ours is missing at its end. Anything else: [`Level::Wake`], `state`
/// untouched. A test holds this to Automerge's own answer, message bytes
/// and state.
pub(super) fn generate_level(state: &mut sync::State, heads: &[ChangeHash]) -> Level {
    let their_heads_ok = state
        .their_heads
        .as_ref()
        .is_none_or(|h| h.iter().all(|x| heads.contains(x)));
    let their_have_ok = state.their_have.as_ref().is_none_or(|have| {
        let all: Vec<ChangeHash> = have
            .iter()
            .flat_map(|h| h.last_sync.iter().copied())
            .collect();
        have.is_empty() || same_set(&all, heads)
    });
    let computable = !heads.is_empty()
        && their_heads_ok
        && their_have_ok
        && state.their_need.as_ref().is_none_or(Vec::is_empty)
        && same_set(&state.shared_heads, heads)
        && !state.read_only
        && !state.peer_read_only
        && !state.needs_reset
        && state.their_capabilities.is_none();
    if !computable {
        return Level::Wake;
    }
    let heads_unchanged = state.last_sent_heads == heads;
    let heads_equal = state.their_heads.as_deref() == Some(heads);
    if heads_unchanged && state.have_responded && (heads_equal || state.in_flight) {
        return Level::Silent;
    }
    state.have_responded = true;
    state.last_sent_heads = heads.to_vec();
    state.in_flight = true;
    let bloom = sync::BloomFilter::from_hashes(std::iter::empty::<ChangeHash>());
    Level::Send(sync::Message {
        heads: heads.to_vec(),
        need: Vec::new(),
        have: vec![sync::Have {
            last_sync: state.shared_heads.clone(),
            bloom,
        }],
        changes: Vec::<Vec<u8>>::new().into(),
        flags: None,
        version: sync::MessageVersion::V1,
    })
}

/// The changes of `hashes`, rebuilt from the document. Automerge rebuilds a
/// change by walking the document's operations, so asking change by change
/// walks them once per change: serving a first sync of a year's documents
/// took a minute of one core. The changes the peer lacks are taken in one
/// walk instead — all those not behind its heads we hold, of which `hashes`
/// are a part — and any left out (heads of theirs we do not hold) one by one,
/// as are a few.
fn fetch(
    doc: &Automerge,
    hashes: &[ChangeHash],
    their_heads: &[ChangeHash],
) -> BTreeMap<ChangeHash, crdt_schema::automerge::Change> {
    let wanted: BTreeSet<ChangeHash> = hashes.iter().copied().collect();
    let mut out = BTreeMap::new();
    // A few are cheaper asked for by hash than all a diverged peer lacks.
    if wanted.len() >= 8 {
        let held: Vec<ChangeHash> = their_heads
            .iter()
            .filter(|h| doc.get_change_meta_by_hash(h).is_some())
            .copied()
            .collect();
        for c in doc.get_changes(&held) {
            if wanted.contains(&c.hash()) {
                out.insert(c.hash(), c);
            }
        }
    }
    for h in &wanted {
        if !out.contains_key(h)
            && let Some(c) = doc.get_change_by_hash(h)
        {
            out.insert(*h, c);
        }
    }
    out
}

/// The changes of `hashes` in an order where each follows its dependencies
/// among them: Kahn's algorithm, linear in the changes and their
/// dependencies (a rescan of the rest for every change ready was quadratic
/// in a long chain of one writer's saves). Of the changes ready, those in
/// `first` go first (what the peer asked for), then by hash, so the order is
/// the same on every replica.
fn causal_order(
    doc: &Automerge,
    hashes: &[ChangeHash],
    first: &BTreeSet<ChangeHash>,
    their_heads: &[ChangeHash],
) -> Vec<crdt_schema::automerge::Change> {
    let mut changes = fetch(doc, hashes, their_heads);
    // For each change, how many of its dependencies are among `changes` and
    // not yet out; for each, the changes waiting on it.
    let mut waiting_on: BTreeMap<ChangeHash, usize> = BTreeMap::new();
    let mut dependents: BTreeMap<ChangeHash, Vec<ChangeHash>> = BTreeMap::new();
    for (h, c) in &changes {
        let mut n = 0;
        for d in c.deps() {
            if changes.contains_key(d) {
                n += 1;
                dependents.entry(*d).or_default().push(*h);
            }
        }
        waiting_on.insert(*h, n);
    }
    // Ordered by (not asked for, hash).
    let key = |h: ChangeHash| (!first.contains(&h), h);
    let mut ready: BTreeSet<(bool, ChangeHash)> = waiting_on
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(h, _)| key(*h))
        .collect();
    let mut out = Vec::with_capacity(changes.len());
    while let Some((_, h)) = ready.pop_first() {
        if let Some(c) = changes.remove(&h) {
            out.push(c);
        }
        for d in dependents.remove(&h).unwrap_or_default() {
            if let Some(n) = waiting_on.get_mut(&d) {
                *n -= 1;
                if *n == 0 {
                    ready.insert(key(d));
                }
            }
        }
    }
    // A cycle cannot happen in a hash graph; were one there, send the rest.
    out.extend(changes.into_values());
    out
}
