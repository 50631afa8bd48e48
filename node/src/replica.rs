//! A replica backed by its data directory: the pure [`Core`] of
//! `replica-core` with the store as its [`Persist`]. Accepted changes are
//! appended (fsynced) *before* they are applied in memory and offered to other
//! peers, so nothing acknowledged is ever lost; [`Replica::refresh`] picks up
//! what other processes (a CLI write beside the daemon) stored.

use std::collections::BTreeMap;

use crdt_schema::DocId;
use crdt_schema::automerge::ChangeHash;

pub use replica_core::replica::{
    AdmitError, Admitted, Core, Held, InMemory, Kept, MAX_PENDING, Persist, PersistResult, Resting,
    WaitOn, Waiting,
};

use crdt_schema::{Document, MonthDoc};

use crate::store::{LogState, RestEntry, Store, StoreError};
use crate::sync::Incoming;
use crate::validate::{Refusal, SignedChange, Wait};
use replica_core::checkpoint::SignedCheckpoint;

/// A replica backed by its data directory.
pub struct Replica {
    pub core: Core,
    store: Store,
    /// Where each document's log stands (the core holds the documents).
    logs: BTreeMap<DocId, LogState>,
    /// What opening found damaged and skipped (torn or corrupt records, a
    /// damaged snapshot), as the log says it.
    opened_with: Vec<String>,
    /// Which documents may rest.
    rest: Rest,
    /// What the rest index on disk holds: each resting document's files
    /// and heads, so the next start need not read it.
    rest_index: BTreeMap<DocId, RestEntry>,
}

/// Storage for [`Core::admit`]: the store, and the log state of each document.
struct Stored<'a> {
    store: &'a Store,
    logs: &'a mut BTreeMap<DocId, LogState>,
}

fn boxed(e: StoreError) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(e)
}

/// Which documents a replica lets rest (held on disk only, see
/// [`Resting`]) once nothing has touched them for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rest {
    /// None: every document stays in memory (the simulations' replicas,
    /// and one-shot commands).
    Never,
    /// Sealed months: closed, so changes to them are rare, and a year of
    /// them held whole would take a district PC's memory. What the daemon
    /// runs with.
    Sealed,
    /// Every month: what the simulations run with, so that resting
    /// documents, the rest index and waking meet every fault they plant.
    Months,
}

impl Rest {
    /// Whether `doc` may rest.
    pub fn allows(self, id: &DocId, doc: &Document) -> bool {
        match self {
            Rest::Never => false,
            Rest::Sealed => *id != DocId::Registry && MonthDoc::has_seal(doc),
            Rest::Months => *id != DocId::Registry,
        }
    }
}

/// A document read from storage whole, its log state kept for appends.
fn wake_from(
    store: &Store,
    logs: &mut BTreeMap<DocId, LogState>,
    id: &DocId,
) -> Result<Held, StoreError> {
    let (doc, signatures, issues, log) = store.load(id)?.into_parts();
    for issue in &issues {
        tracing::warn!("{issue}");
    }
    logs.insert(id.clone(), log);
    Ok(Held::new(doc, signatures))
}

impl Persist for Stored<'_> {
    fn refresh(&mut self, doc: &DocId, held: &mut Held) -> PersistResult {
        let log = self.logs.entry(doc.clone()).or_default();
        let r = self
            .store
            .refresh_parts(&mut held.doc, &mut held.signatures, log)
            .map_err(boxed)?;
        for issue in &r.issues {
            tracing::warn!("{issue}");
        }
        Ok(())
    }

    fn accepted(&mut self, doc: &DocId, changes: &[SignedChange]) -> PersistResult {
        let log = self.logs.entry(doc.clone()).or_default();
        self.store.append_log(doc, log, changes).map_err(boxed)
    }

    fn applied(&mut self, doc: &DocId, held: &Held) -> PersistResult {
        let log = self.logs.entry(doc.clone()).or_default();
        self.store
            .maybe_compact_parts(&held.doc, &held.signatures, log)
            .map(|_| ())
            .map_err(boxed)
    }

    fn refused(&mut self, doc: &DocId, change: &SignedChange, why: &Refusal) -> PersistResult {
        self.store
            .quarantine(doc, change, &Kept::Refused(why.clone()))
            .map(|_| ())
            .map_err(boxed)
    }

    fn resolved(&mut self, doc: &DocId, hashes: &[ChangeHash]) -> PersistResult {
        self.store.resolve_pending(doc, hashes).map_err(boxed)
    }

    fn pending(&mut self, doc: &DocId, change: &SignedChange, why: &Wait) -> PersistResult {
        self.store
            .quarantine(doc, change, &Kept::Pending(why.clone()))
            .map(|_| ())
            .map_err(boxed)
    }

    fn wake(&mut self, doc: &DocId) -> Result<Held, Box<dyn std::error::Error + Send + Sync>> {
        wake_from(self.store, self.logs, doc).map_err(boxed)
    }
}

/// Why a replica could not take changes.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Admit(#[from] AdmitError),
}

impl Replica {
    /// Loads the registry and every month document of the store, and the
    /// changes kept pending for a restart; every document stays in memory.
    pub fn open(store: Store) -> Result<Replica, StoreError> {
        Replica::open_resting(store, Rest::Never)
    }

    /// Loads the store as [`Replica::open`] does, letting the documents
    /// `rest` allows rest from the start: each is read, its heads kept, and
    /// dropped before the next ones are read, so a year of sealed months
    /// never sits in memory at once.
    pub fn open_resting(store: Store, rest: Rest) -> Result<Replica, StoreError> {
        let mut core = Core::new(store.authority()?);
        let mut logs = BTreeMap::new();
        let mut opened_with = Vec::new();
        let _lock = store.lock_shared()?;
        // Every quarantine first, also of a month none of whose changes got
        // in yet: a document with changes pending is judged against, so it
        // does not rest.
        for id in store.quarantine_ids()? {
            let (kept, issues) = store.quarantined_reporting(&id)?;
            opened_with.extend(issues);
            core.restore(&id, kept);
        }
        // Loaded on every core: a year's 400 documents take seconds.
        let ids: Vec<DocId> = store.doc_ids()?;
        let pending: std::collections::BTreeSet<DocId> = core.pending().keys().cloned().collect();
        let index = match rest {
            Rest::Never => BTreeMap::new(),
            Rest::Sealed | Rest::Months => store.rest_index(),
        };
        /// A document as opening found it.
        enum Opened {
            /// Whole in memory (boxed: a held document is kilobytes).
            Awake(Box<Held>),
            /// At rest, with its rest index entry (read, or made now).
            Resting(Resting, Option<RestEntry>),
        }
        let opened = crate::read::parallel_map(&ids, |id| {
            // Files unchanged since the document was put to rest: its
            // heads are the index's, and it is not read.
            if let Some(entry) = index.get(id).filter(|_| !pending.contains(id))
                && let Some(resting) = entry.resting()
                && let Some(log) = store.rest_matches(id, entry)?
            {
                return Ok((
                    Opened::Resting(resting, Some(entry.clone())),
                    Vec::new(),
                    log,
                ));
            }
            let (doc, signatures, issues, log) = store.load(id)?.into_parts();
            let resting = (!pending.contains(id) && rest.allows(id, &doc))
                .then(|| Resting::of(&doc))
                .flatten();
            Ok(match resting {
                Some(r) => {
                    let entry = store.rest_entry(id, &log, r.heads(), r.changes())?;
                    (Opened::Resting(r, entry), issues, log)
                }
                None => (
                    Opened::Awake(Box::new(Held::new(doc, signatures))),
                    issues,
                    log,
                ),
            })
        });
        let mut rest_index = BTreeMap::new();
        for (id, opened) in ids.into_iter().zip(opened) {
            let (opened, issues, log) = opened?;
            opened_with.extend(issues);
            logs.insert(id.clone(), log);
            match opened {
                Opened::Awake(held) => core.insert(*held),
                Opened::Resting(resting, entry) => {
                    if core.insert_resting(id.clone(), resting) {
                        if let Some(entry) = entry {
                            rest_index.insert(id, entry);
                        }
                    } else {
                        // Not to rest after all (cannot happen with the
                        // filters above): held whole rather than lost.
                        let held = wake_from(&store, &mut logs, &id)?;
                        core.insert(held);
                    }
                }
            }
        }
        if rest != Rest::Never && rest_index != index {
            // A cache: a failure to write it costs the next start time only.
            if let Err(e) = store.write_rest_index(&rest_index) {
                tracing::warn!("the rest index: {e}");
            }
        }
        // The checkpoints kept, judged again under this registry (they are
        // on disk already: nothing to store of them).
        let (checkpoints, issues) = store.checkpoints()?;
        opened_with.extend(issues);
        core.admit_checkpoints(checkpoints);
        core.take_new_checkpoints();
        for issue in &opened_with {
            tracing::warn!("{issue}");
        }
        drop(_lock);
        Ok(Replica {
            core,
            store,
            logs,
            opened_with,
            rest,
            rest_index,
        })
    }

    /// Puts to rest the documents [`Rest`] allows that nothing woke or
    /// changed since the last call: a month a peer woke rests again once
    /// the exchange is over. Returns how many now rest.
    pub fn rest_idle(&mut self) -> usize {
        let rest = self.rest;
        let before: std::collections::BTreeSet<DocId> =
            self.core.resting_ids().into_iter().collect();
        let n = self.core.rest_untouched(|id, doc| rest.allows(id, doc));
        if n > 0 {
            self.index_resting(&before);
        }
        n
    }

    /// Puts every document [`Rest`] allows to rest now, touched or not
    /// (the simulations' evening). Returns how many now rest.
    pub fn rest_all(&mut self) -> usize {
        let rest = self.rest;
        let before: std::collections::BTreeSet<DocId> =
            self.core.resting_ids().into_iter().collect();
        let allowed: Vec<DocId> = self
            .core
            .doc_ids()
            .into_iter()
            .filter(|id| {
                self.core
                    .document(id)
                    .is_some_and(|doc| rest.allows(id, doc))
            })
            .collect();
        let n = allowed.iter().filter(|id| self.core.rest(id)).count();
        if n > 0 {
            self.index_resting(&before);
        }
        n
    }

    /// Brings the rest index up to date with the documents at rest: the
    /// entries of those that rested throughout (`before`, and still), and a
    /// new one for each put to rest since, whose files are as it was read.
    fn index_resting(&mut self, before: &std::collections::BTreeSet<DocId>) {
        let mut index = BTreeMap::new();
        for id in self.core.doc_ids() {
            let Some(resting) = self.core.resting_state(&id) else {
                continue;
            };
            let entry = if before.contains(&id) {
                self.rest_index.get(&id).cloned()
            } else {
                self.logs.get(&id).and_then(|log| {
                    self.store
                        .rest_entry(&id, log, resting.heads(), resting.changes())
                        .ok()
                        .flatten()
                })
            };
            if let Some(e) = entry {
                index.insert(id, e);
            }
        }
        if index != self.rest_index {
            match self.store.write_rest_index(&index) {
                Ok(()) => self.rest_index = index,
                Err(e) => tracing::warn!("the rest index: {e}"),
            }
        }
    }

    /// Wakes resting documents: reads each back from storage whole, on
    /// every core (a new peer wakes a year of months at once).
    pub fn wake(&mut self, ids: &[DocId]) -> Result<(), StoreError> {
        let _lock = self.store.lock_shared()?;
        let resting: Vec<DocId> = ids
            .iter()
            .filter(|id| self.core.is_resting(id))
            .cloned()
            .collect();
        let store = &self.store;
        let loaded = crate::read::parallel_map(&resting, |id| store.load(id));
        for (id, loaded) in resting.into_iter().zip(loaded) {
            let (doc, signatures, issues, log) = loaded?.into_parts();
            for issue in &issues {
                tracing::warn!("{issue}");
            }
            self.logs.insert(id, log);
            self.core.insert(Held::new(doc, signatures));
        }
        Ok(())
    }

    /// Whether a month is sealed, read from memory (a resting month is
    /// sealed: only sealed months rest).
    pub fn is_sealed(&self, id: &DocId) -> bool {
        self.core.is_resting(id) || self.core.document(id).is_some_and(MonthDoc::has_seal)
    }

    /// What opening found damaged and skipped (empty on a sound disk).
    pub fn opened_with(&self) -> &[String] {
        &self.opened_with
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Picks up what other processes stored. Returns the documents that changed.
    pub fn refresh(&mut self) -> Result<Vec<DocId>, StoreError> {
        let _lock = self.store.lock_shared()?;
        let mut changed = Vec::new();
        let stored = self.store.doc_ids()?;
        for id in stored.into_iter().filter(|id| *id != DocId::Registry) {
            if !self.core.contains(&id) {
                let (doc, signatures, issues, log) = self.store.load(&id)?.into_parts();
                for issue in &issues {
                    tracing::warn!("{issue}");
                }
                self.logs.insert(id.clone(), log);
                self.core.insert(Held::new(doc, signatures));
                changed.push(id);
            }
        }
        for id in self.core.doc_ids() {
            if self.core.is_resting(&id) {
                // Written to by another process (an amendment of a sealed
                // month): read back whole.
                let log = self.logs.entry(id.clone()).or_default();
                if self.store.stored_since(&id, log)? {
                    let held = wake_from(&self.store, &mut self.logs, &id)?;
                    self.core.insert(held);
                    changed.push(id);
                }
                continue;
            }
            let Some(held) = self.core.held_mut(&id) else {
                continue;
            };
            let log = self.logs.entry(id.clone()).or_default();
            let r = self
                .store
                .refresh_parts(&mut held.doc, &mut held.signatures, log)?;
            for issue in &r.issues {
                tracing::warn!("{issue}");
            }
            if r.changed {
                self.core.touch(&id);
                if !changed.contains(&id) {
                    changed.push(id);
                }
            }
        }
        if changed.contains(&DocId::Registry) {
            self.core.refresh_trust();
        }
        Ok(changed)
    }

    /// Validates, stores and applies changes a peer sent, under the data
    /// directory's exclusive lock.
    pub fn admit(&mut self, incoming: Incoming) -> Result<Admitted, ReplicaError> {
        let _lock = self.store.lock_exclusive()?;
        let mut persist = Stored {
            store: &self.store,
            logs: &mut self.logs,
        };
        let a = self.core.admit(incoming, &mut persist)?;
        // Registry changes may have enrolled devices whose checkpoints waited.
        self.save_checkpoints()?;
        Ok(a)
    }

    /// Takes the checkpoints a peer sent: keeps (and stores) those of
    /// enrolled devices later than what is held. Returns how many.
    pub fn admit_checkpoints(&mut self, cps: Vec<SignedCheckpoint>) -> Result<usize, ReplicaError> {
        let kept = self.core.admit_checkpoints(cps).len();
        if kept > 0 {
            let _lock = self.store.lock_exclusive()?;
            self.save_checkpoints()?;
        }
        Ok(kept)
    }

    /// This device's checkpoints of what changed since its last ones (at
    /// most one per document every `every` seconds), stored. Returns how
    /// many were made: none when the device is not enrolled.
    pub fn sign_checkpoints(
        &mut self,
        key: &keys::SecretKey,
        at: i64,
        every: i64,
    ) -> Result<usize, ReplicaError> {
        let made = self.core.sign_checkpoints(key, at, every).len();
        if made > 0 {
            let _lock = self.store.lock_exclusive()?;
            self.save_checkpoints()?;
        }
        Ok(made)
    }

    /// Stores the checkpoints the core kept since last time; once the file
    /// holds mostly superseded ones, rewrites it with the latest only.
    fn save_checkpoints(&mut self) -> Result<(), StoreError> {
        let new = self.core.take_new_checkpoints();
        if new.is_empty() {
            return Ok(());
        }
        let records = self.store.append_checkpoints(&new)?;
        // What a rewrite keeps: a file of more than twice that is mostly
        // superseded (counting only the enrolled ones, a rewrite keeping
        // many waiting would be followed by another at every save).
        let live = self.core.checkpoints().len() + self.core.unconfirmed_len();
        if records > 2 * live + 1024 {
            // The latest of each device and document, and those read back
            // that still wait for their device's enrolment.
            self.store.rewrite_checkpoints(
                self.core
                    .checkpoints()
                    .iter()
                    .chain(self.core.unconfirmed_checkpoints()),
            )?;
        }
        Ok(())
    }
}

/// The daemon's connections step through [`replica_core::driver::step`]
/// against the replica: changes admitted through the store.
impl replica_core::driver::Admit for Replica {
    type Error = ReplicaError;
    fn core(&mut self) -> &mut Core {
        &mut self.core
    }
    fn admit(&mut self, incoming: Incoming) -> Result<Admitted, ReplicaError> {
        Replica::admit(self, incoming)
    }
    fn wake(&mut self, ids: &[DocId]) -> Result<(), ReplicaError> {
        Ok(Replica::wake(self, ids)?)
    }
    fn checkpoints(&mut self, cps: Vec<SignedCheckpoint>) -> Result<usize, ReplicaError> {
        Replica::admit_checkpoints(self, cps)
    }
}
