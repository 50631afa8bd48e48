//! A replica backed by its data directory: the pure [`Core`] of
//! `replica-core` with the store as its [`Persist`]. Accepted changes are
//! appended (fsynced) *before* they are applied in memory and offered to other
//! peers, so nothing acknowledged is ever lost; [`Replica::refresh`] picks up
//! what other processes (a CLI write beside the daemon) stored.

use std::collections::BTreeMap;

use crdt_schema::DocId;
use crdt_schema::automerge::ChangeHash;

pub use replica_core::replica::{
    AdmitError, Admitted, Core, Held, InMemory, Kept, MAX_PENDING, Persist, PersistResult, WaitOn,
    Waiting,
};

use crate::store::{LogState, Store, StoreError};
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
}

/// Storage for [`Core::admit`]: the store, and the log state of each document.
struct Stored<'a> {
    store: &'a Store,
    logs: &'a mut BTreeMap<DocId, LogState>,
}

fn boxed(e: StoreError) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(e)
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
    /// changes kept pending for a restart.
    pub fn open(store: Store) -> Result<Replica, StoreError> {
        let mut core = Core::new(store.authority()?);
        let mut logs = BTreeMap::new();
        let mut opened_with = Vec::new();
        {
            let _lock = store.lock_shared()?;
            // Loaded on every core: a year's 400 documents take seconds.
            let ids: Vec<DocId> = std::iter::once(DocId::Registry)
                .chain(store.month_ids()?)
                .collect();
            let loaded = crate::read::parallel_map(&ids, |id| store.load(id));
            for (id, loaded) in ids.into_iter().zip(loaded) {
                let (doc, signatures, issues, log) = loaded?.into_parts();
                opened_with.extend(issues);
                logs.insert(id, log);
                core.insert(Held::new(doc, signatures));
            }
        }
        // Every quarantine, also of a month none of whose changes got in yet.
        for id in store.quarantine_ids()? {
            let (kept, issues) = store.quarantined_reporting(&id)?;
            opened_with.extend(issues);
            core.restore(&id, kept);
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
        Ok(Replica {
            core,
            store,
            logs,
            opened_with,
        })
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
        for id in self.store.month_ids()? {
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
            let held = self.core.held_mut(&id).expect("listed above");
            let log = self.logs.entry(id.clone()).or_default();
            let r = self
                .store
                .refresh_parts(&mut held.doc, &mut held.signatures, log)?;
            for issue in &r.issues {
                tracing::warn!("{issue}");
            }
            if r.changed && !changed.contains(&id) {
                changed.push(id);
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
    fn checkpoints(&mut self, cps: Vec<SignedCheckpoint>) -> Result<usize, ReplicaError> {
        Replica::admit_checkpoints(self, cps)
    }
}
