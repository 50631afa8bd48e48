//! The write path: every command that changes data goes through a
//! [`WriteSession`].
//!
//! A session holds the data directory's exclusive lock, loads the documents it
//! touches, makes typed writes in memory through crdt-schema's one
//! transaction API, signs each resulting change with the writer's key and
//! judges it exactly as any other node would ([`crate::validate`]) — so a write
//! this node would refuse from a peer is refused here too. Only at
//! [`WriteSession::commit`] are the signed changes appended to the logs; a
//! write that fails part-way leaves nothing on disk.

use std::collections::BTreeMap;

use crdt_schema::{
    ChangeMeta, Date, DistrictId, DocId, Inmate, InmateNo, Month, MonthDoc, MonthWriter,
    RegistryDoc, RegistryFacts, RegistryWriter, RosterDoc, RosterFacts, RosterWriter, SchemaError,
    Year,
};
use keys::{Certificate, PublicKey, SecretKey};

use crate::store::{Loaded, Lock, Store, StoreError};
use crate::validate::{Refusal, SignedChange, Trust, Validator, Verdict, Wait};

/// One write of [`WriteSession::put_roster`] to a roster shard.
enum RosterOp {
    Admit(InmateNo, Inmate),
    WithdrawAdmission(InmateNo),
    Release(InmateNo, Date),
    WithdrawRelease(InmateNo),
    Transfer(InmateNo, Date, DistrictId),
}

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
    #[error("refused: {0}")]
    Refused(Refusal),
    #[error("cannot write yet: {0}")]
    Pending(Wait),
    #[error(
        "officer {officer}'s certificate is signed by another authority than this replica's ({}…): \
         the key belongs to another prison and cannot write here",
        authority.chars().take(16).collect::<String>()
    )]
    ForeignCertificate { officer: String, authority: String },
    #[error("the session already refused a write; nothing more can be written in it")]
    Poisoned,
    /// Storage failed part-way; what had been appended (to `documents`
    /// documents) was rolled back.
    #[error("{source}: nothing of this write was stored ({documents} document(s) rolled back)")]
    NotWritten {
        #[source]
        source: StoreError,
        documents: usize,
    },
    /// Storage failed part-way and rolling back failed too: the write is
    /// still not there (readers stop before it), and the next writer on this
    /// data directory rolls it back.
    #[error(
        "{source}: not stored; rolling back failed too ({rollback}): readers do not see the \
         unfinished write, and the next write on this data directory removes it"
    )]
    Unfinished {
        #[source]
        source: Box<StoreError>,
        rollback: Box<StoreError>,
    },
}

/// Who is writing: an unlocked key and the certificate the authority issued for it.
#[derive(Debug)]
pub struct Identity {
    pub key: SecretKey,
    pub certificate: Certificate,
}

impl Identity {
    pub fn public(&self) -> PublicKey {
        self.key.public()
    }

    /// "J0001 王警官 (officer of D01)".
    pub fn describe(&self) -> String {
        let b = &self.certificate.body;
        let district = b
            .district
            .as_ref()
            .map(|d| format!(" of {d}"))
            .unwrap_or_default();
        format!("{} {} ({}{district})", b.officer_no, b.name, b.role)
    }
}

/// What a committed session wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Committed {
    /// Documents that received a change.
    pub documents: Vec<DocId>,
    pub changes: usize,
    /// What went wrong after the write was stored (a log not folded into
    /// its snapshot): nothing is lost, but it is said.
    pub warnings: Vec<String>,
}

pub struct WriteSession<'s> {
    store: &'s Store,
    _lock: Lock,
    identity: &'s Identity,
    time: i64,
    message: String,
    trust: Trust,
    registry: Loaded<RegistryDoc>,
    /// Roster shards loaded to be written.
    rosters: BTreeMap<Year, Loaded<RosterDoc>>,
    /// The facts of every stored roster shard, read once (each shard
    /// loaded and dropped in turn) and kept up to date with this session's
    /// writes.
    roster_facts: Option<BTreeMap<Year, RosterFacts>>,
    /// The heads of each shard read into `roster_facts`.
    roster_heads: BTreeMap<Year, Vec<crdt_schema::automerge::ChangeHash>>,
    months: BTreeMap<(DistrictId, Month), Loaded<MonthDoc>>,
    pending: BTreeMap<DocId, Vec<SignedChange>>,
    poisoned: bool,
    /// The data directory's writer id: with the officer's key prefix, the
    /// actor of every change written here ([`Store::writer_id`]).
    writer_id: [u8; 8],
    /// Problems found while loading (torn or corrupt records), for the caller to report.
    pub issues: Vec<String>,
}

impl<'s> WriteSession<'s> {
    /// Takes the exclusive lock and loads the registry. `time` is the time
    /// the writer states for its changes (seconds since the epoch).
    pub fn begin(
        store: &'s Store,
        identity: &'s Identity,
        time: i64,
        message: impl Into<String>,
    ) -> Result<WriteSession<'s>, WriteError> {
        // Waiting would not help a key another prison's authority certified.
        let authority = store.authority()?;
        if identity.certificate.verify(&authority).is_err() {
            return Err(WriteError::ForeignCertificate {
                officer: identity.certificate.body.officer_no.clone(),
                authority: authority.to_string(),
            });
        }
        let lock = store.lock_exclusive()?;
        let writer_id = store.writer_id()?;
        let registry = store
            .load(&DocId::Registry)?
            .typed(RegistryDoc::from_document)?;
        let trust = Trust::from_registry(authority, registry.doc.document().automerge());
        let issues = registry.issues.clone();
        Ok(WriteSession {
            store,
            _lock: lock,
            identity,
            time,
            message: message.into(),
            trust,
            registry,
            rosters: BTreeMap::new(),
            roster_facts: None,
            roster_heads: BTreeMap::new(),
            months: BTreeMap::new(),
            pending: BTreeMap::new(),
            poisoned: false,
            writer_id,
            issues,
        })
    }

    pub fn registry(&self) -> &RegistryDoc {
        &self.registry.doc
    }

    pub fn trust(&self) -> &Trust {
        &self.trust
    }

    /// The facts of every roster shard stored (with this session's writes).
    pub fn roster_facts(&mut self) -> Result<&BTreeMap<Year, RosterFacts>, WriteError> {
        if self.roster_facts.is_none() {
            let mut all = BTreeMap::new();
            for id in self.store.roster_ids()? {
                let DocId::Roster { year } = id else { continue };
                let loaded = self.store.load(&id)?.typed(RosterDoc::from_document)?;
                self.issues.extend(loaded.issues.iter().cloned());
                all.insert(year, loaded.doc.facts());
                self.roster_heads
                    .insert(year, loaded.doc.document().heads());
            }
            for (year, loaded) in &self.rosters {
                all.insert(*year, loaded.doc.facts());
                self.roster_heads
                    .insert(*year, loaded.doc.document().heads());
            }
            self.roster_facts = Some(all);
        }
        Ok(self.roster_facts.get_or_insert_default())
    }

    /// The registry with its roster as it stands now: every shard laid over
    /// the registry's own ([`RegistryFacts::with_roster`]).
    pub fn registry_facts(&mut self) -> Result<RegistryFacts, WriteError> {
        let base = self.registry.doc.facts();
        Ok(base.with_roster(self.roster_facts()?.values()))
    }

    /// The heads of every roster shard up to `year`, as hex, by year: what
    /// a seal records of the roster its report read (`Seal::roster`).
    pub fn roster_heads_through(
        &mut self,
        year: Year,
    ) -> Result<BTreeMap<Year, Vec<String>>, WriteError> {
        self.roster_facts()?;
        Ok(self
            .roster_heads
            .range(..=year)
            .map(|(y, h)| (*y, h.iter().map(|h| h.to_string()).collect()))
            .collect())
    }

    /// The registry with the roster as a month of `year` reads it: the
    /// shards up to that year.
    pub fn registry_facts_through(&mut self, year: Year) -> Result<RegistryFacts, WriteError> {
        let base = self.registry.doc.facts();
        Ok(base.with_roster_through(self.roster_facts()?.values(), year))
    }

    pub fn identity(&self) -> &Identity {
        self.identity
    }

    /// Writes from now on as `identity` (the demo acts as many officers).
    pub fn set_identity(&mut self, identity: &'s Identity) {
        self.identity = identity;
    }

    /// The note of the changes written from now on.
    pub fn set_message(&mut self, message: impl Into<String>) {
        self.message = message.into();
    }

    /// States `time` for the changes written from now on.
    pub fn set_time(&mut self, time: i64) {
        self.time = time;
    }

    /// The time the changes written now state (seconds since 1970).
    pub fn time(&self) -> i64 {
        self.time
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

    fn roster_entry(&mut self, year: Year) -> Result<&mut Loaded<RosterDoc>, WriteError> {
        if !self.rosters.contains_key(&year) {
            let loaded = self
                .store
                .load(&DocId::Roster { year })?
                .typed(RosterDoc::from_document)?;
            self.issues.extend(loaded.issues.iter().cloned());
            self.rosters.insert(year, loaded);
        }
        Ok(self.rosters.get_mut(&year).expect("inserted above"))
    }

    fn meta(&self, registry_heads: Vec<crdt_schema::automerge::ChangeHash>) -> ChangeMeta {
        ChangeMeta {
            author: self.identity.public().as_bytes().to_vec(),
            time: self.time,
            message: self.message.clone(),
            registry_heads,
        }
    }

    /// Signs a new change and judges it as a peer would.
    fn admit(
        &mut self,
        doc: DocId,
        change: Option<crdt_schema::automerge::Change>,
    ) -> Result<(), WriteError> {
        let Some(change) = change else { return Ok(()) };
        let sc = SignedChange::sign(&self.identity.key, &doc, change);
        let registry = self.registry.doc.document().automerge();
        let target = match &doc {
            DocId::Registry => registry,
            DocId::Roster { year } => self
                .rosters
                .get(year)
                .expect("written roster shard is loaded")
                .doc
                .document()
                .automerge(),
            DocId::Month { district, month } => self
                .months
                .get(&(district.clone(), *month))
                .expect("written month is loaded")
                .doc
                .document()
                .automerge(),
        };
        let verdict = Validator::new(&self.trust, registry).judge(&doc, target, &sc);
        match verdict {
            Verdict::Accept { .. } => {
                if doc == DocId::Registry {
                    self.trust = Trust::from_registry(*self.trust.authority(), registry);
                }
                self.pending.entry(doc).or_default().push(sc);
                Ok(())
            }
            Verdict::Refuse(r) => {
                self.poisoned = true;
                Err(WriteError::Refused(r))
            }
            Verdict::Pending(p) => {
                self.poisoned = true;
                Err(WriteError::Pending(p))
            }
        }
    }

    /// One signed change of typed registry writes.
    pub fn write_registry<T>(
        &mut self,
        f: impl FnOnce(&mut RegistryWriter<'_, '_>) -> Result<T, SchemaError>,
    ) -> Result<T, WriteError> {
        if self.poisoned {
            return Err(WriteError::Poisoned);
        }
        let meta = self.meta(Vec::new());
        // This officer on this device: one actor, its sequence continued.
        self.registry
            .doc
            .document_mut()
            .set_actor_suffix(&meta.author, self.writer_id);
        let (out, change) =
            self.registry
                .doc
                .write(&meta, f)
                .map_err(|source| WriteError::Schema {
                    doc: DocId::Registry,
                    source: Box::new(source),
                })?;
        self.admit(DocId::Registry, change)?;
        Ok(out)
    }

    /// One signed change of typed writes to the roster shard of `year`,
    /// anchored at the registry heads this session holds.
    pub fn write_roster<T>(
        &mut self,
        year: Year,
        f: impl FnOnce(&mut RosterWriter<'_, '_>) -> Result<T, SchemaError>,
    ) -> Result<T, WriteError> {
        if self.poisoned {
            return Err(WriteError::Poisoned);
        }
        let meta = self.meta(self.registry.doc.document().heads());
        let writer_id = self.writer_id;
        let loaded = self.roster_entry(year)?;
        let id = DocId::Roster { year };
        loaded
            .doc
            .document_mut()
            .set_actor_suffix(&meta.author, writer_id);
        let (out, change) = loaded
            .doc
            .write(&meta, f)
            .map_err(|source| WriteError::Schema {
                doc: id.clone(),
                source: Box::new(source),
            })?;
        let wrote = change.is_some();
        self.admit(id, change)?;
        if wrote && let Some(all) = self.roster_facts.as_mut() {
            let doc = &self.rosters[&year].doc;
            all.insert(year, doc.facts());
            self.roster_heads.insert(year, doc.document().heads());
        }
        Ok(out)
    }

    /// Records inmates (admissions with their release) and transfers, each
    /// fact in the document it belongs to: an inmate the registry itself
    /// holds (a data directory from before the roster's shards) is
    /// rewritten there, as before; any other inmate's admission goes to the
    /// shard of its date, its release to the shard of the release's, and a
    /// fact moved to another year by a corrected date is withdrawn from its
    /// old shard. Transfers go to the shard of their date. One change per
    /// document; a fact already recorded as given is not written again.
    /// Returns how many records changed.
    pub fn put_roster(
        &mut self,
        inmates: &[(InmateNo, Inmate)],
        transfers: &[(InmateNo, Date, DistrictId)],
    ) -> Result<usize, WriteError> {
        if inmates.is_empty() && transfers.is_empty() {
            return Ok(0);
        }
        let legacy = self.registry.doc.facts();
        let shards = self.roster_facts()?;
        // Every shard holding an admission (or a release) of an inmate: two
        // writers may have moved one concurrently, and a write puts it back
        // in one shard only.
        let admitted_in = |no: &InmateNo| -> Vec<(Year, &crdt_schema::Entry<Inmate>)> {
            shards
                .iter()
                .filter_map(|(y, f)| f.admissions.get(no).map(|e| (*y, e)))
                .collect()
        };
        let released_in = |no: &InmateNo| -> Vec<(Year, &crdt_schema::Entry<Date>)> {
            shards
                .iter()
                .filter_map(|(y, f)| f.releases.get(no).map(|e| (*y, e)))
                .collect()
        };
        let mut in_registry: Vec<(InmateNo, Inmate)> = Vec::new();
        let mut ops: BTreeMap<Year, Vec<RosterOp>> = BTreeMap::new();
        for (no, inmate) in inmates {
            let admissions = admitted_in(no);
            if admissions.is_empty() && legacy.inmates.contains_key(no) {
                in_registry.push((no.clone(), inmate.clone()));
                continue;
            }
            let year = Year::of(inmate.admitted);
            let admission = Inmate {
                released: None,
                ..inmate.clone()
            };
            // As recorded: in its year's shard alone, not in conflict.
            let same = matches!(admissions.as_slice(),
                [(y, e)] if *y == year && e.value == admission && !e.conflict);
            if !same {
                for (old, _) in admissions.iter().filter(|(y, _)| *y != year) {
                    ops.entry(*old)
                        .or_default()
                        .push(RosterOp::WithdrawAdmission(no.clone()));
                }
                ops.entry(year)
                    .or_default()
                    .push(RosterOp::Admit(no.clone(), admission));
            }
            let releases = released_in(no);
            let same = match inmate.released {
                None => releases.is_empty(),
                Some(d) => matches!(releases.as_slice(),
                    [(y, e)] if *y == Year::of(d) && e.value == d && !e.conflict),
            };
            if !same {
                let keep = inmate.released.map(Year::of);
                for (old, _) in releases.iter().filter(|(y, _)| Some(*y) != keep) {
                    ops.entry(*old)
                        .or_default()
                        .push(RosterOp::WithdrawRelease(no.clone()));
                }
                if let Some(d) = inmate.released {
                    ops.entry(Year::of(d))
                        .or_default()
                        .push(RosterOp::Release(no.clone(), d));
                }
            }
        }
        for (no, date, to) in transfers {
            ops.entry(Year::of(*date))
                .or_default()
                .push(RosterOp::Transfer(no.clone(), *date, to.clone()));
        }
        let mut changed = 0;
        if !in_registry.is_empty() {
            changed += self.write_registry(|w| {
                let mut n = 0;
                for (no, i) in &in_registry {
                    n += usize::from(w.put_inmate(no, i)?);
                }
                Ok(n)
            })?;
        }
        for (year, ops) in ops {
            changed += self.write_roster(year, |w| {
                let mut n = 0;
                for op in &ops {
                    let wrote = match op {
                        RosterOp::Admit(no, i) => w.admit(no, i)?,
                        RosterOp::WithdrawAdmission(no) => w.withdraw_admission(no)?,
                        RosterOp::Release(no, d) => w.release(no, *d)?,
                        RosterOp::WithdrawRelease(no) => w.withdraw_release(no)?,
                        RosterOp::Transfer(no, d, to) => w.put_transfer(no, *d, to)?,
                    };
                    n += usize::from(wrote);
                }
                Ok(n)
            })?;
        }
        Ok(changed)
    }

    /// One signed change of typed writes to a district-month document,
    /// anchored at the registry heads this session holds.
    pub fn write_month<T>(
        &mut self,
        district: &DistrictId,
        month: Month,
        f: impl FnOnce(&mut MonthWriter<'_, '_>) -> Result<T, SchemaError>,
    ) -> Result<T, WriteError> {
        if self.poisoned {
            return Err(WriteError::Poisoned);
        }
        let meta = self.meta(self.registry.doc.document().heads());
        let writer_id = self.writer_id;
        let loaded = self.month_entry(district, month)?;
        let id = loaded.doc.document().id().clone();
        // This officer on this device: one actor, its sequence continued.
        loaded
            .doc
            .document_mut()
            .set_actor_suffix(&meta.author, writer_id);
        let (out, change) = loaded
            .doc
            .write(&meta, f)
            .map_err(|source| WriteError::Schema {
                doc: id.clone(),
                source: Box::new(source),
            })?;
        self.admit(id, change)?;
        Ok(out)
    }

    /// Appends every signed change to its document's log (fsynced), and folds
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
        if self.poisoned {
            return Err(WriteError::Poisoned);
        }
        let mut done = Committed::default();
        let pending = std::mem::take(&mut self.pending);
        let total: usize = pending.values().map(Vec::len).sum();
        if total == 0 {
            return Ok(done);
        }
        // Every write is made whole by an intent record — until it is
        // removed, a crash or a failure leaves it wholly absent (even one
        // record: its append can fail after the bytes reached the file).
        // A log tally cannot read at all is kept aside whole (`.damaged`)
        // before the append starts it again, so a rollback never cuts into
        // bytes it did not write: they are kept.
        {
            let before: Vec<(DocId, u64)> = pending
                .keys()
                .map(|id| (id.clone(), self.log_len(id)))
                .collect();
            self.store
                .begin_intent(&before)
                .map_err(|source| WriteError::NotWritten {
                    source,
                    documents: 0,
                })?;
        }
        let mut appended = 0;
        for (id, changes) in &pending {
            let result = crate::fault::before_append(appended).and_then(|()| match id {
                DocId::Registry => self.store.append(&mut self.registry, changes),
                DocId::Roster { year } => {
                    let loaded = self
                        .rosters
                        .get_mut(year)
                        .expect("a roster shard with changes was loaded");
                    self.store.append(loaded, changes)
                }
                DocId::Month { district, month } => {
                    let loaded = self
                        .months
                        .get_mut(&(district.clone(), *month))
                        .expect("a month with changes was loaded");
                    self.store.append(loaded, changes)
                }
            });
            if let Err(source) = result {
                return Err(self.undo(source, appended));
            }
            appended += 1;
            done.documents.push(id.clone());
            done.changes += changes.len();
        }
        if let Err(source) =
            crate::fault::before_append(appended).and_then(|()| self.store.end_intent())
        {
            if self.store.intent_pending() {
                return Err(self.undo(source, appended));
            }
            // The intent is gone, so the write stands (the commit point
            // passed); only its removal's durability is in doubt.
            done.warnings.push(format!(
                "stored; the end of the write could not be confirmed on disk: {source}"
            ));
        }
        // Stored. Folding logs into snapshots is housekeeping: a failure
        // here loses nothing (the next write folds them), so it is said, not
        // returned as the write's failure.
        for id in pending.keys() {
            let r = match id {
                DocId::Registry if compact_all => self.store.compact(&mut self.registry),
                DocId::Registry => self.store.maybe_compact(&mut self.registry).map(|_| ()),
                DocId::Roster { year } => {
                    let loaded = self
                        .rosters
                        .get_mut(year)
                        .expect("a roster shard with changes was loaded");
                    if compact_all {
                        self.store.compact(loaded)
                    } else {
                        self.store.maybe_compact(loaded).map(|_| ())
                    }
                }
                DocId::Month { district, month } => {
                    let loaded = self
                        .months
                        .get_mut(&(district.clone(), *month))
                        .expect("a month with changes was loaded");
                    if compact_all {
                        self.store.compact(loaded)
                    } else {
                        self.store.maybe_compact(loaded).map(|_| ())
                    }
                }
            };
            if let Err(e) = r {
                done.warnings
                    .push(format!("{id}: stored, not compacted: {e}"));
            }
        }
        // A daemon on this data directory offers the changes to its peers at once.
        crate::net::notify(self.store.root());
        Ok(done)
    }

    fn log_len(&self, id: &DocId) -> u64 {
        match id {
            DocId::Registry => self.registry.log_len(),
            DocId::Roster { year } => self.rosters.get(year).map_or(0, |r| r.log_len()),
            DocId::Month { district, month } => self
                .months
                .get(&(district.clone(), *month))
                .map_or(0, |m| m.log_len()),
        }
    }

    /// A write failed after `appended` documents: rolls them back (the
    /// intent says how far) and says what is on disk.
    fn undo(&self, source: StoreError, appended: usize) -> WriteError {
        match self.store.roll_back_intent() {
            Ok(_) => WriteError::NotWritten {
                source,
                documents: appended,
            },
            Err(rollback) => WriteError::Unfinished {
                source: Box::new(source),
                rollback: Box::new(rollback),
            },
        }
    }
}
