//! The write path: every command that changes data goes through a
//! [`WriteSession`].
//!
//! A session holds the data directory's exclusive lock, loads the documents it
//! touches, makes typed writes in memory (through crdt-schema's one
//! transaction API) and only at [`WriteSession::commit`] appends the resulting
//! changes to the logs. A write that fails validation part-way therefore
//! leaves nothing on disk.

use std::collections::BTreeMap;

use crdt_schema::automerge::Change;
use crdt_schema::{
    ChangeMeta, DistrictId, DocId, Month, MonthDoc, MonthWriter, RegistryDoc, RegistryWriter,
    SchemaError,
};

use crate::store::{Loaded, Lock, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{doc}: {source}")]
    Schema {
        doc: DocId,
        #[source]
        source: Box<SchemaError>,
    },
}

/// What a committed session wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Committed {
    /// Documents that received a change.
    pub documents: Vec<DocId>,
    pub changes: usize,
}

pub struct WriteSession<'s> {
    store: &'s Store,
    _lock: Lock,
    meta: ChangeMeta,
    registry: Loaded<RegistryDoc>,
    months: BTreeMap<(DistrictId, Month), Loaded<MonthDoc>>,
    pending: BTreeMap<DocId, Vec<Change>>,
    /// Problems found while loading (torn or corrupt records), for the caller to report.
    pub issues: Vec<String>,
}

impl<'s> WriteSession<'s> {
    /// Takes the exclusive lock and loads the registry.
    pub fn begin(store: &'s Store, meta: ChangeMeta) -> Result<WriteSession<'s>, WriteError> {
        let lock = store.lock_exclusive()?;
        let registry = store
            .load(&DocId::Registry)?
            .typed(RegistryDoc::from_document)?;
        let issues = registry.issues.clone();
        Ok(WriteSession {
            store,
            _lock: lock,
            meta,
            registry,
            months: BTreeMap::new(),
            pending: BTreeMap::new(),
            issues,
        })
    }

    pub fn registry(&self) -> &RegistryDoc {
        &self.registry.doc
    }

    /// Loads (once) and returns a district-month document.
    pub fn month(&mut self, district: &DistrictId, month: Month) -> Result<&MonthDoc, WriteError> {
        Ok(&self.month_entry(district, month)?.doc)
    }

    fn month_entry(
        &mut self,
        district: &DistrictId,
        month: Month,
    ) -> Result<&mut Loaded<MonthDoc>, WriteError> {
        let key = (district.clone(), month);
        if !self.months.contains_key(&key) {
            let id = DocId::month(district.clone(), month);
            let loaded = self.store.load(&id)?.typed(MonthDoc::from_document)?;
            self.issues.extend(loaded.issues.iter().cloned());
            self.months.insert(key.clone(), loaded);
        }
        Ok(self.months.get_mut(&key).expect("inserted above"))
    }

    fn record(&mut self, doc: DocId, change: Option<Change>) {
        if let Some(c) = change {
            self.pending.entry(doc).or_default().push(c);
        }
    }

    /// One change of typed registry writes.
    pub fn write_registry<T>(
        &mut self,
        f: impl FnOnce(&mut RegistryWriter<'_, '_>) -> Result<T, SchemaError>,
    ) -> Result<T, WriteError> {
        let (out, change) =
            self.registry
                .doc
                .write(&self.meta, f)
                .map_err(|source| WriteError::Schema {
                    doc: DocId::Registry,
                    source: Box::new(source),
                })?;
        self.record(DocId::Registry, change);
        Ok(out)
    }

    /// One change of typed writes to a district-month document.
    pub fn write_month<T>(
        &mut self,
        district: &DistrictId,
        month: Month,
        f: impl FnOnce(&mut MonthWriter<'_, '_>) -> Result<T, SchemaError>,
    ) -> Result<T, WriteError> {
        let meta = self.meta.clone();
        let loaded = self.month_entry(district, month)?;
        let id = loaded.doc.document().id().clone();
        let (out, change) = loaded
            .doc
            .write(&meta, f)
            .map_err(|source| WriteError::Schema {
                doc: id.clone(),
                source: Box::new(source),
            })?;
        self.record(id, change);
        Ok(out)
    }

    /// Appends every change made to its document's log (fsynced), and folds
    /// large logs into snapshots. Returns what was written.
    pub fn commit(self) -> Result<Committed, WriteError> {
        self.finish(false)
    }

    /// Like [`WriteSession::commit`], then folds every touched document into a
    /// fresh snapshot (after bulk writes, so the next load is one snapshot read).
    pub fn commit_compacted(self) -> Result<Committed, WriteError> {
        self.finish(true)
    }

    fn finish(mut self, compact_all: bool) -> Result<Committed, WriteError> {
        let mut done = Committed::default();
        let pending = std::mem::take(&mut self.pending);
        for (id, changes) in &pending {
            match id {
                DocId::Registry => {
                    self.store.append(&mut self.registry, changes)?;
                    if compact_all {
                        self.store.compact(&mut self.registry)?;
                    } else {
                        self.store.maybe_compact(&mut self.registry)?;
                    }
                }
                DocId::Month { district, month } => {
                    let loaded = self
                        .months
                        .get_mut(&(district.clone(), *month))
                        .expect("a month with changes was loaded");
                    self.store.append(loaded, changes)?;
                    if compact_all {
                        self.store.compact(loaded)?;
                    } else {
                        self.store.maybe_compact(loaded)?;
                    }
                }
            }
            done.documents.push(id.clone());
            done.changes += changes.len();
        }
        Ok(done)
    }
}
