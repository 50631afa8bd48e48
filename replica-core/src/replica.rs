//! A replica's documents held in memory: what a node serves to its peers and
//! what the simulations run by the hundred.
//!
//! [`Core`] is pure: documents, signatures, the registry's trust, the
//! quarantine and the changes still pending. Changes from anywhere — a peer, a
//! bundle, a local write — are admitted through [`Validator::admit`]; what
//! happens to them on disk is the [`Persist`] given: nothing for the
//! simulations ([`InMemory`]), the store for the node's replica, which appends
//! accepted changes (fsynced) *before* they are applied in memory and offered
//! to other peers, so nothing acknowledged is ever lost.

use std::collections::{BTreeMap, BTreeSet};

use crdt_schema::automerge::ChangeHash;
use crdt_schema::{DocId, Document};
use keys::{PublicKey, Signature};

use crate::checkpoint::{Checkpoint, Checkpoints, MAX_CHECKPOINT_HEADS, SignedCheckpoint};
use crate::sync::{Docs, Incoming};
use crate::validate::trust::Checked;
use crate::validate::{ActorSeqs, Refusal, SignedChange, Trust, Validator, Wait};

/// A document at rest: held on disk only, in memory no more than what a
/// peer level with it is answered with (its heads) and what a checkpoint of
/// it states (its number of changes). A year of sealed months held whole
/// would take a node's memory past what a district PC has; resting, they
/// take a few hundred bytes each, and are woken — read from storage — when a
/// peer lacks some of their changes, brings new ones, or a write touches them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resting {
    /// The document's heads, as Automerge orders them.
    heads: Vec<ChangeHash>,
    /// How many changes the document holds.
    changes: usize,
}

impl Resting {
    /// What a document leaves in memory when it rests; `None` for one with
    /// no changes (nothing to rest).
    pub fn of(doc: &Document) -> Option<Resting> {
        let am = doc.automerge();
        if am.is_empty() {
            return None;
        }
        Some(Resting {
            heads: am.get_heads(),
            changes: crdt_schema::automerge::ReadDoc::stats(am).num_changes as usize,
        })
    }

    /// What a document left in memory when it rested, as kept elsewhere
    /// (the node's rest index): `heads` in Automerge's order. `None` for
    /// no heads (a document with no changes does not rest).
    pub fn new(heads: Vec<ChangeHash>, changes: usize) -> Option<Resting> {
        (!heads.is_empty()).then_some(Resting { heads, changes })
    }

    pub fn heads(&self) -> &[ChangeHash] {
        &self.heads
    }

    /// How many changes the document holds.
    pub fn changes(&self) -> usize {
        self.changes
    }
}

/// A document of a replica: awake in memory, or resting on disk.
#[derive(Debug)]
enum Slot {
    /// Boxed: a held document is kilobytes before its contents.
    Awake(Box<Held>),
    Resting(Resting),
}

impl Slot {
    fn awake(&self) -> Option<&Held> {
        match self {
            Slot::Awake(h) => Some(h),
            Slot::Resting(_) => None,
        }
    }

    fn awake_mut(&mut self) -> Option<&mut Held> {
        match self {
            Slot::Awake(h) => Some(h),
            Slot::Resting(_) => None,
        }
    }

    /// Its heads (empty for a document with no changes).
    fn heads(&self) -> Vec<ChangeHash> {
        match self {
            Slot::Awake(h) => h.doc.heads(),
            Slot::Resting(r) => r.heads.clone(),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Slot::Awake(h) => h.doc.automerge().is_empty(),
            Slot::Resting(_) => false,
        }
    }
}

/// The registry among a replica's documents: always there, always awake.
fn registry_of(docs: &BTreeMap<DocId, Slot>) -> &Held {
    docs.get(&DocId::Registry)
        .and_then(Slot::awake)
        .expect("the registry is inserted at start and never rests")
}

/// A document as a replica holds it: its changes and each one's signature.
#[derive(Debug)]
pub struct Held {
    pub doc: Document,
    /// The signature of every change in the document.
    pub signatures: BTreeMap<ChangeHash, Signature>,
    /// Each actor's highest sequence number (kept across admissions).
    pub seqs: ActorSeqs,
}

impl Held {
    /// A document not held yet.
    pub fn fresh(id: DocId) -> Held {
        Held::new(Document::new(id), BTreeMap::new())
    }

    /// A document as stored.
    pub fn new(doc: Document, signatures: BTreeMap<ChangeHash, Signature>) -> Held {
        Held {
            doc,
            signatures,
            seqs: ActorSeqs::default(),
        }
    }
}

/// Why admitting changes failed: storage could not keep them (nothing of
/// the batch was applied past what storage acknowledged), or the document
/// rejected changes the validator accepted (a bug, reported as such).
#[derive(Debug, thiserror::Error)]
pub enum AdmitError {
    #[error(transparent)]
    Persist(Box<dyn std::error::Error + Send + Sync>),
    #[error("{doc}: {source}")]
    Schema {
        doc: DocId,
        #[source]
        source: Box<crdt_schema::SchemaError>,
    },
}

/// What [`Persist`] reports: the shell's own error, kept whole.
pub type PersistResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Most changes kept waiting per document: a peer cannot grow the pending
/// pool without bound by sending changes nobody can judge.
pub const MAX_PENDING: usize = 10_000;

/// Most refusals kept (in memory and on disk) for one document: a peer
/// replaying or forging changes into a document fills its share, not the
/// disk. Past it a refusal is still judged and reported, and judged again
/// if it comes again.
pub const MAX_REFUSED: usize = 10_000;

/// What admitting a batch of incoming changes did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Admitted {
    pub accepted: usize,
    pub already: usize,
    /// Refused: the document it came in (a registry change can wake others'
    /// waiting changes, and one change can be replayed into many), the
    /// change, and why.
    pub quarantined: Vec<(DocId, ChangeHash, Refusal)>,
    /// Refusals past [`MAX_REFUSED`] of their document: judged and reported
    /// here, neither kept nor stored.
    pub unkept: usize,
    /// Left pending (or dropped past [`MAX_PENDING`]).
    pub pending: usize,
}

/// Where admitted changes go besides memory: the imperative shell's side of
/// [`Core::admit`]. Every method may fail; a failure ends the admission.
pub trait Persist {
    /// Brings a document up to date with storage before judging (what other
    /// writers stored meanwhile).
    fn refresh(&mut self, doc: &DocId, held: &mut Held) -> PersistResult;
    /// Stores accepted changes; called before they are applied.
    fn accepted(&mut self, doc: &DocId, changes: &[SignedChange]) -> PersistResult;
    /// After accepted changes were applied to `held`: storage may fold its
    /// log into a snapshot now (not before: the snapshot would lack them).
    fn applied(&mut self, doc: &DocId, held: &Held) -> PersistResult {
        let _ = (doc, held);
        Ok(())
    }
    /// Keeps a refused change with why it was refused.
    fn refused(&mut self, doc: &DocId, change: &SignedChange, why: &Refusal) -> PersistResult;
    /// Changes kept as pending (by [`Persist::pending`]) that have now been
    /// accepted: storage need not keep them for a restart any longer.
    fn resolved(&mut self, doc: &DocId, hashes: &[ChangeHash]) -> PersistResult {
        let _ = (doc, hashes);
        Ok(())
    }
    /// Keeps a change that cannot be judged yet, so a restart does not lose it.
    fn pending(&mut self, doc: &DocId, change: &SignedChange, why: &Wait) -> PersistResult;
    /// Reads a resting document back from storage, whole, for changes to
    /// be judged against it. None rests where nothing is stored: by
    /// default, an error.
    fn wake(&mut self, doc: &DocId) -> Result<Held, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!("{doc} rests, and nothing here can read it back").into())
    }
}

/// Why a change is kept outside its document: what a replica's quarantine
/// holds for each change, and what a restart reads back ([`Core::restore`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kept {
    /// Refused, for good.
    Refused(Refusal),
    /// Not judged yet: waits for what the [`Wait`] names.
    Pending(Wait),
}

impl std::fmt::Display for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Kept::Refused(r) => write!(f, "{r}"),
            Kept::Pending(w) => write!(f, "pending: {w}"),
        }
    }
}

/// No storage: for simulations and tests.
pub struct InMemory;

impl Persist for InMemory {
    fn refresh(&mut self, _: &DocId, _: &mut Held) -> PersistResult {
        Ok(())
    }
    fn accepted(&mut self, _: &DocId, _: &[SignedChange]) -> PersistResult {
        Ok(())
    }
    fn refused(&mut self, _: &DocId, _: &SignedChange, _: &Refusal) -> PersistResult {
        Ok(())
    }
    fn pending(&mut self, _: &DocId, _: &SignedChange, _: &Wait) -> PersistResult {
        Ok(())
    }
}

/// What can end a pending change's wait, and so when it is judged again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitOn {
    /// Earlier changes of its own document: retried when the document gains some.
    Changes,
    /// A registry change (a certificate, the registry state it was written
    /// against): retried when the registry gains changes.
    Registry,
    /// Not known (read back from storage): retried on either.
    Unknown,
}

impl From<&Wait> for WaitOn {
    fn from(w: &Wait) -> WaitOn {
        match w {
            Wait::Changes(_) => WaitOn::Changes,
            Wait::RegistryChange(_) | Wait::Certificate(_) => WaitOn::Registry,
            Wait::Recorded(_) => WaitOn::Unknown,
        }
    }
}

/// A change that cannot be judged yet.
#[derive(Debug, Clone)]
pub struct Waiting {
    pub change: SignedChange,
    pub on: WaitOn,
}

/// What led to judging a document's pending changes again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// The document received changes.
    Changes,
    /// The registry gained changes.
    Registry,
    /// The document gained changes of its own pending pool (woken by the
    /// registry): what waited on those can go in now.
    Gained,
}

impl Retry {
    fn wakes(self, on: WaitOn) -> bool {
        matches!(
            (self, on),
            (_, WaitOn::Unknown)
                | (Retry::Changes | Retry::Gained, WaitOn::Changes)
                | (Retry::Registry, WaitOn::Registry)
        )
    }
}

/// The documents of a replica and what it knows about them.
pub struct Core {
    authority: PublicKey,
    docs: BTreeMap<DocId, Slot>,
    /// Documents woken, inserted or changed since [`Core::rest_untouched`]
    /// last ran: not put to rest at its next run.
    touched: BTreeSet<DocId>,
    trust: Trust,
    /// The registry heads `trust` was read at.
    trust_heads: Vec<ChangeHash>,
    /// Trust records whose signatures were checked already.
    checked: Checked,
    /// The registry heads when changes pending on the registry were last retried.
    retried_at: Vec<ChangeHash>,
    /// Refused changes with why, never applied.
    /// By document: a change's refusal is its document's (a valid change
    /// replayed into another is refused there, and must still enter its own).
    quarantine: BTreeMap<(DocId, ChangeHash), Refusal>,
    /// Changes that cannot be judged yet (a dependency, a certificate or the
    /// registry state they were written against has not arrived), judged
    /// again when what they wait for can have arrived.
    pending: BTreeMap<DocId, BTreeMap<ChangeHash, Waiting>>,
    /// The latest checkpoint of each enrolled device for each document.
    checkpoints: Checkpoints,
    /// Checkpoints whose signature verifies but whose device the registry
    /// does not enroll yet (the registry may still be on its way, or a bad
    /// block took it): the latest of each device and document, judged again
    /// whenever the trust changes. In memory, bounded in count and bytes.
    unconfirmed: BTreeMap<([u8; 32], String), (PublicKey, SignedCheckpoint)>,
    /// Bytes of `unconfirmed`'s checkpoints' heads.
    unconfirmed_bytes: usize,
    /// The enrolled devices' keys, decompressed once per registry state:
    /// what their checkpoints are verified with.
    device_keys: BTreeMap<[u8; 32], (PublicKey, keys::PreparedKey)>,
    /// Checkpoints kept since [`Core::take_new_checkpoints`] last took
    /// them: what storage has yet to keep.
    new_checkpoints: Vec<SignedCheckpoint>,
}

/// Most checkpoints of devices not yet enrolled kept waiting for the
/// registry: a replica whose registry is behind (new, or a bad block took
/// it) must hold every device's of every document meanwhile, or a peer that
/// sent them once would not send them again.
pub const MAX_UNCONFIRMED: usize = 200_000;
/// Most bytes those may take, counted by [`unconfirmed_size`] (a
/// stranger's flood stops here).
pub const MAX_UNCONFIRMED_BYTES: usize = 32 * 1024 * 1024;

/// What a waiting checkpoint counts against [`MAX_UNCONFIRMED_BYTES`]: its
/// heads, its document's name, and the rest of it (device, counts, time,
/// signature), so that checkpoints naming nothing are not free.
pub fn unconfirmed_size(cp: &SignedCheckpoint) -> usize {
    32 * cp.checkpoint.heads.len() + cp.checkpoint.doc.len() + 160
}

impl Core {
    /// An empty replica trusting `authority`.
    pub fn new(authority: PublicKey) -> Core {
        let registry = Held::fresh(DocId::Registry);
        let mut checked = Checked::default();
        let trust = Trust::from_registry_checked(authority, registry.doc.automerge(), &mut checked);
        Core {
            authority,
            docs: BTreeMap::from([(DocId::Registry, Slot::Awake(Box::new(registry)))]),
            touched: BTreeSet::new(),
            trust,
            trust_heads: Vec::new(),
            checked,
            retried_at: Vec::new(),
            quarantine: BTreeMap::new(),
            pending: BTreeMap::new(),
            checkpoints: Checkpoints::default(),
            unconfirmed: BTreeMap::new(),
            unconfirmed_bytes: 0,
            device_keys: BTreeMap::new(),
            new_checkpoints: Vec::new(),
        }
    }

    /// Adds a document as stored (trusted: it passed validation when
    /// stored), or wakes a resting one with what storage holds of it.
    pub fn insert(&mut self, held: Held) {
        let id = held.doc.id().clone();
        self.docs.insert(id.clone(), Slot::Awake(Box::new(held)));
        if id == DocId::Registry {
            self.refresh_trust();
        } else {
            self.touched.insert(id);
        }
    }

    /// Adds a document as stored, at rest: `resting` is what its stored
    /// state reads as ([`Resting::of`]). Not the registry (every judgement
    /// reads it), and not one with changes pending (they are judged against
    /// it): those are inserted awake. Returns whether it rests.
    pub fn insert_resting(&mut self, id: DocId, resting: Resting) -> bool {
        if id == DocId::Registry
            || self.pending.contains_key(&id)
            || self.docs.get(&id).is_some_and(|s| s.awake().is_some())
        {
            return false;
        }
        self.docs.insert(id, Slot::Resting(resting));
        true
    }

    /// Puts a document to rest: only its heads and its number of changes
    /// stay in memory until something wakes it ([`Persist::wake`], or the
    /// shell's [`Core::insert`] after [`PeerSync::take_to_wake`]). Not the
    /// registry, not a document with changes pending, not one with no
    /// changes. Returns whether it rests now.
    ///
    /// [`PeerSync::take_to_wake`]: crate::sync::PeerSync::take_to_wake
    pub fn rest(&mut self, id: &DocId) -> bool {
        if *id == DocId::Registry || self.pending.contains_key(id) {
            return false;
        }
        let Some(Slot::Awake(held)) = self.docs.get(id) else {
            return matches!(self.docs.get(id), Some(Slot::Resting(_)));
        };
        let Some(resting) = Resting::of(&held.doc) else {
            return false;
        };
        self.docs.insert(id.clone(), Slot::Resting(resting));
        true
    }

    /// Puts to rest the documents awake that `may_rest` allows and that
    /// were not woken, inserted or changed since the last call (nor have
    /// changes pending): what a shell calls now and then, so a document a
    /// peer woke rests again once the exchange is over. Returns how many.
    pub fn rest_untouched(&mut self, may_rest: impl Fn(&DocId, &Document) -> bool) -> usize {
        let candidates: Vec<DocId> = self
            .docs
            .iter()
            .filter(|(id, slot)| {
                !self.touched.contains(*id) && slot.awake().is_some_and(|h| may_rest(id, &h.doc))
            })
            .map(|(id, _)| id.clone())
            .collect();
        self.touched.clear();
        candidates.into_iter().filter(|id| self.rest(id)).count()
    }

    /// Marks a document as in use (changed from storage, or in an
    /// exchange): the next [`Core::rest_untouched`] leaves it awake.
    pub fn touch(&mut self, id: &DocId) {
        if *id != DocId::Registry && self.docs.get(id).is_some_and(|s| s.awake().is_some()) {
            self.touched.insert(id.clone());
        }
    }

    /// Whether a document rests (held on disk only).
    pub fn is_resting(&self, id: &DocId) -> bool {
        matches!(self.docs.get(id), Some(Slot::Resting(_)))
    }

    /// What a resting document left in memory.
    pub fn resting_state(&self, id: &DocId) -> Option<&Resting> {
        match self.docs.get(id)? {
            Slot::Resting(r) => Some(r),
            Slot::Awake(_) => None,
        }
    }

    /// The documents at rest.
    pub fn resting_ids(&self) -> Vec<DocId> {
        self.docs
            .iter()
            .filter(|(_, s)| matches!(s, Slot::Resting(_)))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// How many documents rest.
    pub fn resting_count(&self) -> usize {
        self.docs
            .values()
            .filter(|s| matches!(s, Slot::Resting(_)))
            .count()
    }

    /// The registry (always awake).
    fn registry(&self) -> &Held {
        registry_of(&self.docs)
    }

    /// Reads the registry's trust again if the registry changed since.
    pub fn refresh_trust(&mut self) {
        let registry = registry_of(&self.docs).doc.automerge();
        let heads = registry.get_heads();
        if heads != self.trust_heads {
            self.trust = Trust::from_registry_checked(self.authority, registry, &mut self.checked);
            self.trust_heads = heads;
            self.device_keys = self
                .trust
                .devices()
                .filter_map(|d| {
                    let key = d.body.endpoint_id;
                    key.prepare().ok().map(|p| (*key.as_bytes(), (key, p)))
                })
                .collect();
            // Devices enrolled since: their checkpoints count now. Only
            // theirs are judged again (a registry caught up one change at a
            // time would otherwise re-judge every waiting one at each).
            let now_enrolled: Vec<([u8; 32], String)> = self
                .unconfirmed
                .iter()
                .filter(|(_, (device, _))| self.trust.is_enrolled(device))
                .map(|(k, _)| k.clone())
                .collect();
            let mut waiting = Vec::with_capacity(now_enrolled.len());
            for k in now_enrolled {
                if let Some((device, cp)) = self.unconfirmed.remove(&k) {
                    self.unconfirmed_bytes -= unconfirmed_size(&cp);
                    waiting.push((device, cp));
                }
            }
            self.judge_checkpoints(waiting);
        }
    }

    fn registry_heads(&self) -> Vec<ChangeHash> {
        self.registry().doc.heads()
    }

    /// What storage kept of a document's changes outside it, in the order
    /// kept: the last record of a change counts (pending, then refused), and
    /// a change refused stays refused. What a restart reads back.
    pub fn restore(&mut self, doc: &DocId, kept: impl IntoIterator<Item = (Kept, SignedChange)>) {
        for (why, sc) in kept {
            let hash = sc.hash();
            match why {
                // Retried on anything: what it waited for may have been
                // stored (by another process) while this replica was down.
                Kept::Pending(_) => {
                    if !self.quarantine.contains_key(&(doc.clone(), hash)) {
                        self.pending.entry(doc.clone()).or_default().insert(
                            hash,
                            Waiting {
                                on: WaitOn::Unknown,
                                change: sc,
                            },
                        );
                    }
                }
                Kept::Refused(r) => {
                    if let Some(pool) = self.pending.get_mut(doc) {
                        pool.remove(&hash);
                    }
                    self.quarantine.insert((doc.clone(), hash), r);
                }
            }
        }
        self.pending.retain(|_, pool| !pool.is_empty());
    }

    /// Takes checkpoints (a peer's, or read back from storage): those with
    /// a valid signature of a device the registry enrolls, later than the
    /// one held of that device and document. Returns those kept.
    pub fn admit_checkpoints(
        &mut self,
        checkpoints: Vec<SignedCheckpoint>,
    ) -> Vec<SignedCheckpoint> {
        self.refresh_trust();
        // Of several of one device and document, only the latest counts;
        // repeats and older ones than held are dropped before any signature
        // is checked. Each signature is checked once, here; a checkpoint
        // waiting for its device's enrolment is not checked again.
        let mut best: BTreeMap<([u8; 32], String), SignedCheckpoint> = BTreeMap::new();
        for cp in checkpoints {
            if !self.checkpoints.would_keep(&cp) {
                continue;
            }
            let key = (cp.checkpoint.device, cp.checkpoint.doc.clone());
            match best.get(&key) {
                Some(b) if b.rank_key() >= cp.rank_key() => {}
                _ => {
                    best.insert(key, cp);
                }
            }
        }
        let verified = best
            .into_values()
            .filter_map(|cp| match self.device_keys.get(&cp.checkpoint.device) {
                Some((device, prepared)) => {
                    cp.verify_prepared(prepared).ok().map(|()| (*device, cp))
                }
                None => cp.verify().ok().map(|device| (device, cp)),
            })
            .collect();
        self.judge_checkpoints(verified)
    }

    /// Checkpoints of devices the registry does not enroll (yet), waiting.
    pub fn unconfirmed_checkpoints(&self) -> impl Iterator<Item = &SignedCheckpoint> {
        self.unconfirmed.values().map(|(_, cp)| cp)
    }

    /// How many checkpoints wait for their device's enrolment.
    pub fn unconfirmed_len(&self) -> usize {
        self.unconfirmed.len()
    }

    /// What those count against [`MAX_UNCONFIRMED_BYTES`].
    pub fn unconfirmed_bytes(&self) -> usize {
        self.unconfirmed_bytes
    }

    /// Keeps the checkpoints of enrolled devices (later than what is held);
    /// those of devices not enrolled yet wait.
    fn judge_checkpoints(
        &mut self,
        checkpoints: Vec<(PublicKey, SignedCheckpoint)>,
    ) -> Vec<SignedCheckpoint> {
        let mut kept = Vec::new();
        for (device, cp) in checkpoints {
            if self.trust.is_enrolled(&device) {
                if self
                    .checkpoints
                    .admit_verified(cp.clone(), &device, &self.trust)
                {
                    kept.push(cp);
                }
            } else {
                let key = (cp.checkpoint.device, cp.checkpoint.doc.clone());
                let size = unconfirmed_size(&cp);
                // What the bytes would be without the one it replaces: a
                // later checkpoint naming more heads is held to the bound too.
                let without = match self.unconfirmed.get(&key) {
                    Some((_, held)) if held.rank_key() >= cp.rank_key() => continue,
                    Some((_, held)) => self.unconfirmed_bytes - unconfirmed_size(held),
                    None if self.unconfirmed.len() >= MAX_UNCONFIRMED => continue,
                    None => self.unconfirmed_bytes,
                };
                if without + size <= MAX_UNCONFIRMED_BYTES {
                    self.unconfirmed_bytes = without + size;
                    self.unconfirmed.insert(key, (device, cp));
                }
            }
        }
        self.new_checkpoints.extend(kept.iter().cloned());
        kept
    }

    /// The checkpoints kept since last asked: for storage to keep.
    pub fn take_new_checkpoints(&mut self) -> Vec<SignedCheckpoint> {
        std::mem::take(&mut self.new_checkpoints)
    }

    /// The checkpoints held.
    pub fn checkpoints(&self) -> &Checkpoints {
        &self.checkpoints
    }

    /// This device's checkpoints of what changed: for each document whose
    /// heads differ from its last checkpoint here, one stated at `at` —
    /// unless that last one is less than `every` seconds old (the next call
    /// after that takes it). Nothing when the device is not enrolled (no
    /// one would keep them). Returns those made.
    pub fn sign_checkpoints(
        &mut self,
        key: &keys::SecretKey,
        at: i64,
        every: i64,
    ) -> Vec<SignedCheckpoint> {
        self.refresh_trust();
        let device = key.public();
        if !self.trust.is_enrolled(&device) {
            return Vec::new();
        }
        let mut made = Vec::new();
        for (id, slot) in &self.docs {
            let (heads, changes) = match slot {
                Slot::Awake(held) => {
                    let am = held.doc.automerge();
                    if am.is_empty() {
                        continue;
                    }
                    let changes = crdt_schema::automerge::ReadDoc::stats(am).num_changes;
                    (am.get_heads(), changes)
                }
                Slot::Resting(r) => (r.heads.clone(), r.changes as u64),
            };
            if heads.len() > MAX_CHECKPOINT_HEADS {
                continue;
            }
            let mut sorted: Vec<[u8; 32]> = heads.iter().map(|h| h.0).collect();
            sorted.sort();
            // Not while the last is fresh — but a clock set back (the last
            // is in the future) does not stop checkpoints for ever.
            if let Some(last) = self.checkpoints.latest(&device, id)
                && (last.checkpoint.heads == sorted
                    || (0..every).contains(&(at - last.checkpoint.at)))
            {
                continue;
            }
            made.push(Checkpoint::of(&device, id, &heads, changes, at).sign(key));
        }
        made.retain(|cp| self.checkpoints.admit(cp.clone(), &self.trust) == Ok(true));
        self.new_checkpoints.extend(made.iter().cloned());
        made
    }

    /// The changes refused, by document, and why.
    pub fn quarantine(&self) -> &BTreeMap<(DocId, ChangeHash), Refusal> {
        &self.quarantine
    }

    /// Whether a change was refused here as a change of `doc`.
    pub fn refused(&self, doc: &DocId, hash: &ChangeHash) -> Option<&Refusal> {
        self.quarantine.get(&(doc.clone(), *hash))
    }

    /// How many refusals of `doc` are kept.
    pub fn refused_in(&self, doc: &DocId) -> usize {
        self.quarantine
            .range((doc.clone(), ChangeHash([0; 32]))..=(doc.clone(), ChangeHash([0xff; 32])))
            .count()
    }

    /// The changes waiting to be judged, by document.
    pub fn pending(&self) -> &BTreeMap<DocId, BTreeMap<ChangeHash, Waiting>> {
        &self.pending
    }

    /// The changes of a document waiting to be judged.
    pub fn pending_of(&self, doc: &DocId) -> Option<&BTreeMap<ChangeHash, Waiting>> {
        self.pending.get(doc)
    }

    /// Whether a change of `doc` waits to be judged.
    pub fn is_pending(&self, doc: &DocId, hash: &ChangeHash) -> bool {
        self.pending.get(doc).is_some_and(|p| p.contains_key(hash))
    }

    /// How many changes wait to be judged, in every document.
    pub fn pending_count(&self) -> usize {
        self.pending.values().map(BTreeMap::len).sum()
    }

    pub fn trust(&self) -> &Trust {
        &self.trust
    }

    /// A document awake in memory (`None` if not held, or resting).
    pub fn document(&self, id: &DocId) -> Option<&Document> {
        self.docs.get(id)?.awake().map(|l| &l.doc)
    }

    /// A document awake in memory (`None` if not held, or resting).
    pub fn held_mut(&mut self, id: &DocId) -> Option<&mut Held> {
        self.docs.get_mut(id)?.awake_mut()
    }

    /// The documents held, by id.
    pub fn doc_ids(&self) -> Vec<DocId> {
        self.docs.keys().cloned().collect()
    }

    pub fn contains(&self, id: &DocId) -> bool {
        self.docs.contains_key(id)
    }

    /// Endpoint ids of the devices enrolled in the registry.
    pub fn enrolled(&self) -> BTreeSet<[u8; 32]> {
        self.trust
            .devices()
            .map(|d| *d.body.endpoint_id.as_bytes())
            .collect()
    }

    /// Heads of every document held, awake or resting.
    pub fn heads(&self) -> BTreeMap<DocId, Vec<ChangeHash>> {
        self.docs
            .iter()
            .filter(|(_, l)| !l.is_empty())
            .map(|(id, l)| (id.clone(), l.heads()))
            .collect()
    }

    /// Every signed change of a document awake, in causal order (none of
    /// one resting: wake it first).
    pub fn signed_changes(&self, id: &DocId) -> Vec<SignedChange> {
        let Some(l) = self.docs.get(id).and_then(Slot::awake) else {
            return Vec::new();
        };
        l.doc
            .automerge()
            .get_changes(&[])
            .into_iter()
            .filter_map(|change| {
                let signature = *l.signatures.get(&change.hash())?;
                Some(SignedChange { change, signature })
            })
            .collect()
    }

    /// Validates changes (a peer's, a bundle's or a local write's), stores
    /// the accepted ones through `persist`, then applies them. Changes of the
    /// document pending on earlier changes are judged again with them; when
    /// the registry gains changes (from this batch or from storage), every
    /// document's changes pending on the registry are, until nothing more
    /// enters the registry.
    pub fn admit(
        &mut self,
        incoming: Incoming,
        persist: &mut dyn Persist,
    ) -> Result<Admitted, AdmitError> {
        let mut out = Admitted::default();
        let Incoming { doc, changes } = incoming;
        self.admit_doc(&doc, changes, Retry::Changes, persist, &mut out)?;
        // Also catches registry changes another process stored (`Replica::refresh`).
        while self.registry_heads() != self.retried_at {
            self.retried_at = self.registry_heads();
            let waiting: Vec<DocId> = self.pending.keys().cloned().collect();
            for d in waiting {
                self.admit_doc(&d, Vec::new(), Retry::Registry, persist, &mut out)?;
            }
        }
        out.pending = self.pending_count();
        Ok(out)
    }

    fn admit_doc(
        &mut self,
        doc: &DocId,
        changes: Vec<SignedChange>,
        retry: Retry,
        persist: &mut dyn Persist,
        out: &mut Admitted,
    ) -> Result<(), AdmitError> {
        let mut batch: Vec<SignedChange> = changes
            .into_iter()
            .filter(|c| {
                let seen = self.quarantine.contains_key(&(doc.clone(), c.hash()));
                out.already += usize::from(seen);
                !seen
            })
            .collect();
        // Changes waiting on what this admission can bring; with none new
        // for the document, nothing it waits on has arrived.
        let mut retried = BTreeSet::new();
        let accepted_before = out.accepted;
        if (retry != Retry::Changes || !batch.is_empty())
            && let Some(pool) = self.pending.get_mut(doc)
        {
            let woken: Vec<ChangeHash> = pool
                .iter()
                .filter(|(_, w)| retry.wakes(w.on))
                .map(|(h, _)| *h)
                .collect();
            for h in woken {
                if let Some(w) = pool.remove(&h) {
                    batch.push(w.change);
                    retried.insert(h);
                }
            }
        }
        if batch.is_empty() {
            return Ok(());
        }
        if self.is_resting(doc) {
            let held = persist.wake(doc).map_err(AdmitError::Persist)?;
            self.docs.insert(doc.clone(), Slot::Awake(Box::new(held)));
        }
        self.touched.insert(doc.clone());
        self.docs
            .entry(doc.clone())
            .or_insert_with(|| Slot::Awake(Box::new(Held::fresh(doc.clone()))));
        if let Some(reg) = self.held_mut(&DocId::Registry) {
            persist
                .refresh(&DocId::Registry, reg)
                .map_err(AdmitError::Persist)?;
        }
        if *doc != DocId::Registry {
            persist
                .refresh(doc, self.held_mut(doc).expect("awake above"))
                .map_err(AdmitError::Persist)?;
        }
        self.refresh_trust();
        // Registry changes one at a time: each may change the trust that judges the next.
        let batches: Vec<Vec<SignedChange>> = if *doc == DocId::Registry {
            batch.into_iter().map(|c| vec![c]).collect()
        } else {
            vec![batch]
        };
        for batch in batches {
            // Taken out while the documents are read (the registry can be the
            // target); put back only once what it noted is applied — after a
            // failed append or apply the document keeps none (it is read
            // again), or the changes noted would be refused as reused later.
            let mut seqs = std::mem::take(&mut self.held_mut(doc).expect("awake above").seqs);
            let registry = self.registry().doc.automerge();
            let target = self.document(doc).expect("awake above").automerge();
            let a = Validator::new(&self.trust, registry).admit(doc, target, batch, &mut seqs);
            out.already += a.already;
            out.accepted += a.accepted.len();
            let signed = a.signed();
            // Accepted now, so no longer waiting: retried from the pool, or
            // arrived again (from another peer) while its copy waited there.
            let pool = self.pending.get_mut(doc);
            let resolved: Vec<ChangeHash> = match pool {
                Some(pool) => signed
                    .iter()
                    .map(SignedChange::hash)
                    .filter(|h| pool.remove(h).is_some() || retried.contains(h))
                    .collect(),
                None => signed
                    .iter()
                    .map(SignedChange::hash)
                    .filter(|h| retried.contains(h))
                    .collect(),
            };
            let held = self
                .docs
                .get_mut(doc)
                .and_then(Slot::awake_mut)
                .expect("awake above");
            if !signed.is_empty() {
                persist
                    .accepted(doc, &signed)
                    .map_err(AdmitError::Persist)?;
            }
            for sc in &signed {
                held.signatures.insert(sc.hash(), sc.signature);
            }
            let any = !signed.is_empty();
            held.doc
                .apply_validated_changes(signed.into_iter().map(|s| s.change).collect())
                .map_err(|source| AdmitError::Schema {
                    doc: doc.clone(),
                    source: Box::new(source),
                })?;
            seqs.settle(held.doc.automerge());
            held.seqs = seqs;
            if any {
                persist.applied(doc, held).map_err(AdmitError::Persist)?;
            }
            if !resolved.is_empty() {
                persist
                    .resolved(doc, &resolved)
                    .map_err(AdmitError::Persist)?;
            }
            if !a.refused.is_empty() {
                let mut kept = self.refused_in(doc);
                for (sc, r) in a.refused {
                    if kept < MAX_REFUSED {
                        persist.refused(doc, &sc, &r).map_err(AdmitError::Persist)?;
                        self.quarantine.insert((doc.clone(), sc.hash()), r.clone());
                        kept += 1;
                    } else {
                        out.unkept += 1;
                    }
                    out.quarantined.push((doc.clone(), sc.hash(), r));
                }
            }
            let pool = self.pending.entry(doc.clone()).or_default();
            for (sc, why) in a.pending {
                if pool.len() < MAX_PENDING && !pool.contains_key(&sc.hash()) {
                    // Kept on disk once, when it first had to wait.
                    if !retried.contains(&sc.hash()) {
                        persist
                            .pending(doc, &sc, &why)
                            .map_err(AdmitError::Persist)?;
                    }
                    pool.insert(
                        sc.hash(),
                        Waiting {
                            on: WaitOn::from(&why),
                            change: sc,
                        },
                    );
                }
            }
            if pool.is_empty() {
                self.pending.remove(doc);
            }
            if *doc == DocId::Registry {
                self.refresh_trust();
            }
        }
        // Changes the registry let in can be what others of this document
        // waited on (a day's save after the one whose certificate was late):
        // judge those again now, not when the next change happens to arrive.
        if retry == Retry::Registry
            && out.accepted > accepted_before
            && self
                .pending
                .get(doc)
                .is_some_and(|p| p.values().any(|w| Retry::Gained.wakes(w.on)))
        {
            self.admit_doc(doc, Vec::new(), Retry::Gained, persist, out)?;
        }
        Ok(())
    }
}

impl Docs for Core {
    fn ids(&self) -> Vec<DocId> {
        self.docs
            .iter()
            .filter(|(_, l)| !l.is_empty())
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn doc_mut(&mut self, id: &DocId) -> Option<&mut Document> {
        self.docs
            .entry(id.clone())
            .or_insert_with(|| Slot::Awake(Box::new(Held::fresh(id.clone()))))
            .awake_mut()
            .map(|h| &mut h.doc)
    }

    fn resting(&self, id: &DocId) -> Option<&[ChangeHash]> {
        match self.docs.get(id)? {
            Slot::Resting(r) => Some(&r.heads),
            Slot::Awake(_) => None,
        }
    }

    fn exchanged(&mut self, id: &DocId) {
        self.touch(id);
    }

    fn signature(&self, id: &DocId, hash: &ChangeHash) -> Option<Signature> {
        self.docs.get(id)?.awake()?.signatures.get(hash).copied()
    }

    fn checkpoints_after(&self, seq: u64, limit: usize) -> Vec<(u64, SignedCheckpoint)> {
        self.checkpoints
            .after(seq, limit)
            .into_iter()
            .map(|(n, cp)| (n, cp.clone()))
            .collect()
    }

    fn missing_deps(&self, id: &DocId) -> BTreeSet<ChangeHash> {
        let Some(pool) = self.pending.get(id) else {
            return BTreeSet::new();
        };
        // Every change held has its signature recorded: a cheap membership test.
        let held = self
            .docs
            .get(id)
            .and_then(Slot::awake)
            .map(|l| &l.signatures);
        pool.values()
            .filter(|w| w.on != WaitOn::Registry)
            .flat_map(|w| w.change.change.deps().iter().copied())
            .filter(|d| {
                !pool.contains_key(d)
                    && !self.quarantine.contains_key(&(id.clone(), *d))
                    && !held.is_some_and(|s| s.contains_key(d))
            })
            .collect()
    }
}
