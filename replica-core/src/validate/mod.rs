//! Deciding whether a signed change may enter a document. Pure: no I/O, no
//! clock — the same change with the same history gets the same verdict on
//! every machine.
//!
//! A change is accepted only when all of these hold:
//! 1. it names an author (a valid, non-weak Ed25519 key) and its actor is
//!    bound to that author;
//! 2. the author's strict signature covers this document's name and the
//!    change hash (which covers every dependency), so it cannot be replayed
//!    into another document;
//! 3. an authority-signed certificate for the key covers the change's stated
//!    date;
//! 4. the author's revocation is not in the change's causal history (the
//!    registry's own history for registry changes; the registry heads the
//!    change was written against for month changes) — a revocation
//!    concurrent with the change leaves it accepted, and flagged;
//! 5. every operation is a put or delete of a top-level record whose path and
//!    value pass the schema check, and the certificate's role and district
//!    allow that record class in that document.
//!
//! A change that cannot be judged yet (missing dependencies, registry heads
//! not yet here, an unknown key) is *pending*, not refused.

pub mod history;
pub mod signed;
pub mod trust;

use std::collections::BTreeSet;
use std::fmt;

use crdt_schema::automerge::legacy::OpType;
use crdt_schema::automerge::{Automerge, Change, ChangeHash, ExpandedChange};
use crdt_schema::schema::{RecordClass, Scalar, check_op};
use crdt_schema::{ChangeNote, Date, DocId, RegistryKey};
use std::collections::BTreeMap;

use keys::{Certificate, PreparedKey, PublicKey, Role};

pub use history::{History, Staged};
pub use signed::SignedChange;
pub use trust::{Ancestry, Trust};

/// China Standard Time, for turning a change's stated Unix time into the date
/// a certificate's validity is written in.
const CST_OFFSET_SECS: i64 = 8 * 3600;

/// The civil date (in China Standard Time) of a Unix time.
pub fn date_of(unix: i64) -> Option<Date> {
    // A stated time is the author's word: one at the edge of i64 has no date
    // (and must not overflow where overflow checks are on).
    Date::from_ordinal(unix.checked_add(CST_OFFSET_SECS)?.div_euclid(86_400))
}

/// Why a change was refused. The text is part of what every node reports.
///
/// Stored as it is in a replica's quarantine (postcard: a variant is its
/// index), so variants are only ever added at the end.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Refusal {
    NoAuthor,
    BadAuthorKey(String),
    ActorNotBound,
    BadSignature,
    BadNote(String),
    NotValidOn {
        officer: String,
        date: String,
        from: Date,
        to: Date,
    },
    BadStatedTime(i64),
    Revoked {
        officer: String,
    },
    Malformed {
        what: String,
    },
    NotAllowed {
        officer: String,
        role: Role,
        district: Option<String>,
        doc: String,
        what: String,
    },
    BadTrustRecord {
        key: String,
        reason: String,
    },
    /// Another change of the document already has this change's actor and
    /// sequence number: two copies of one data directory wrote as the same
    /// device. Automerge cannot hold both; the later one arriving is refused
    /// (and kept in quarantine) rather than stalling every sync.
    SeqReused {
        seq: u64,
    },
    /// A refusal stored by a version of tally that kept only its text (or by
    /// a newer version, in a form this one does not read): its words, as
    /// stored. Never the outcome of judging.
    Recorded {
        reason: String,
    },
}

/// The highest sequence number of each actor in a document, as of the
/// heads it was read at: what [`Refusal::SeqReused`] is decided on. Read
/// again from the document whenever its heads moved without it.
#[derive(Debug, Default, Clone)]
pub struct ActorSeqs {
    heads: Option<Vec<ChangeHash>>,
    max: BTreeMap<Vec<u8>, u64>,
}

impl ActorSeqs {
    /// Up to date with `doc` (read whole once, then kept by [`ActorSeqs::note`]
    /// and [`ActorSeqs::settle`]).
    pub fn current(&mut self, doc: &Automerge) {
        let heads = doc.get_heads();
        if self.heads.as_ref() == Some(&heads) {
            return;
        }
        self.max.clear();
        for c in doc.get_changes_meta(&[]) {
            let m = self.max.entry(c.actor.to_bytes().to_vec()).or_default();
            *m = (*m).max(c.seq);
        }
        self.heads = Some(heads);
    }

    /// Whether `change`'s actor already has a change with its sequence number.
    pub fn reused(&self, change: &Change) -> bool {
        self.max
            .get(change.actor_id().to_bytes())
            .is_some_and(|&m| change.seq() <= m)
    }

    /// Counts `change` as held.
    pub fn note(&mut self, change: &Change) {
        let m = self
            .max
            .entry(change.actor_id().to_bytes().to_vec())
            .or_default();
        *m = (*m).max(change.seq());
    }

    /// The document now holds exactly what was noted: its new heads.
    pub fn settle(&mut self, doc: &Automerge) {
        if self.heads.is_some() {
            self.heads = Some(doc.get_heads());
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NoAuthor => write!(f, "change has no author"),
            Refusal::SeqReused { seq } => write!(
                f,
                "another change already has this actor's sequence number {seq} \
                 (two copies of one data directory writing as the same device)"
            ),
            Refusal::BadAuthorKey(e) => write!(f, "author key: {e}"),
            Refusal::ActorNotBound => write!(f, "change's actor is not bound to its author"),
            Refusal::BadSignature => write!(
                f,
                "forged or misplaced signature (does not verify for this document)"
            ),
            Refusal::BadNote(e) => write!(f, "{e}"),
            Refusal::NotValidOn {
                officer,
                date,
                from,
                to,
            } => write!(
                f,
                "officer {officer}'s certificate is not valid on {date} (valid {from} to {to})"
            ),
            Refusal::BadStatedTime(t) => write!(f, "stated time {t} is not a date"),
            Refusal::Revoked { officer } => {
                write!(
                    f,
                    "officer {officer} wrote after the revocation of their key was known"
                )
            }
            Refusal::Malformed { what } => write!(f, "malformed change: {what}"),
            Refusal::NotAllowed {
                officer,
                role,
                district,
                doc,
                what,
            } => {
                let d = district
                    .as_deref()
                    .map(|d| format!(" of {d}"))
                    .unwrap_or_default();
                write!(
                    f,
                    "officer {officer} ({role}{d}) may not write {what} in {doc}"
                )
            }
            Refusal::BadTrustRecord { key, reason } => write!(f, "trust record {key}: {reason}"),
            Refusal::Recorded { reason } => f.write_str(reason),
        }
    }
}

/// The verdict on one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accept {
        /// The certificate the change was accepted under.
        officer: Box<Certificate>,
        /// The author's key was revoked concurrently with this change.
        concurrent_revocation: bool,
    },
    Refuse(Refusal),
    /// Cannot be judged yet; says what is missing.
    Pending(Wait),
}

/// What a change that cannot be judged yet is waiting for. Callers retry it
/// only when that can have arrived: [`Wait::Changes`] when its document gains
/// changes, the others when the registry does.
///
/// Stored in a replica's quarantine as it is (postcard), so variants are
/// only ever added at the end.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Wait {
    /// Earlier changes of its own document (short hashes).
    Changes(Vec<String>),
    /// The registry change it was written against (short hash).
    RegistryChange(String),
    /// A certificate for its author's key (short key).
    Certificate(String),
    /// A wait stored by a version of tally that kept only its text: its
    /// words, as stored. What can end it is not known, so it is retried on
    /// anything. Never the outcome of judging.
    Recorded(String),
}

impl Wait {
    /// Whether only a registry change can end the wait.
    pub fn on_registry(&self) -> bool {
        matches!(self, Wait::RegistryChange(_) | Wait::Certificate(_))
    }
}

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wait::Changes(missing) => write!(f, "missing earlier changes {}", missing.join(", ")),
            Wait::RegistryChange(h) => {
                write!(f, "written against registry change {h} not yet here")
            }
            Wait::Certificate(k) => write!(f, "no certificate known for key {k}"),
            Wait::Recorded(w) => f.write_str(w),
        }
    }
}

/// Whether a role may write a record class in a document.
pub fn allowed(cert: &Certificate, doc: &DocId, class: RecordClass) -> bool {
    may_write(cert.body.role, cert.body.district.as_ref(), doc, class)
}

/// The permission table: whether an officer of `role` (of `district`, for
/// officers and chiefs) may write records of `class` into `doc`. The one
/// place it is written: the validator judges every change by it, and the app
/// decides what it offers by it.
pub fn may_write(
    role: Role,
    district: Option<&crdt_schema::DistrictId>,
    doc: &DocId,
    class: RecordClass,
) -> bool {
    use RecordClass as C;
    let own_month = matches!(doc, DocId::Month { district: d, .. } if Some(d) == district);
    match role {
        Role::Admin => true,
        Role::Records => match doc {
            DocId::Registry => matches!(class, C::Meta | C::Prison | C::Roster | C::Trust),
            DocId::Roster { .. } => matches!(class, C::Meta | C::Custody),
            DocId::Month { .. } => false,
        },
        Role::LaborSection => {
            *doc == DocId::Registry && matches!(class, C::Meta | C::Catalogue | C::RuleSet)
        }
        Role::Officer => {
            own_month
                && matches!(
                    class,
                    C::Meta | C::Daily | C::Application | C::Acknowledgement
                )
        }
        // The chief chairs the weekly review, posts and seals, and approves
        // under the former procedure (`apv/`); under the decision levels
        // approvals are the prison group's own records (`gapv/`), in every
        // district (RULES.md, decision levels).
        Role::Chief => {
            own_month
                && matches!(
                    class,
                    C::Meta
                        | C::Daily
                        | C::Approval
                        | C::Review
                        | C::Posting
                        | C::Application
                        | C::Acknowledgement
                        | C::Answer
                        | C::Seal
                )
        }
        Role::PrisonGroup => {
            matches!(doc, DocId::Month { .. })
                && matches!(class, C::Meta | C::GroupApproval | C::FinalAnswer)
        }
        Role::Procurator => {
            matches!(doc, DocId::Month { .. }) && matches!(class, C::Meta | C::Objection)
        }
    }
}

/// Judges changes against one registry state.
pub struct Validator<'a> {
    trust: &'a Trust,
    registry: &'a Automerge,
    ancestry: Ancestry,
    /// Authors' keys, decompressed and checked once.
    keys: BTreeMap<[u8; 32], Result<(PublicKey, PreparedKey), String>>,
    /// Registry anchors of change notes, parsed once per distinct note.
    notes: BTreeMap<String, Result<Vec<ChangeHash>, String>>,
    /// Signatures of the batch being admitted, checked ahead on every core:
    /// by change and signature (copies of one change may carry different
    /// signatures: a forger's and the author's), the author key checked and
    /// whether it verified.
    verified: BTreeMap<CopyOf, Checked>,
}

/// A signature checked ahead: the author key it was checked against, and
/// whether it verified.
type Checked = ([u8; 32], bool);

/// One copy of a change: its hash and the signature it came with.
type CopyOf = (ChangeHash, [u8; 64]);

/// One top-level operation of a change.
struct Op<'a> {
    key: &'a str,
    value: Option<Scalar<'a>>,
}

fn ops_of(expanded: &ExpandedChange) -> Result<Vec<Op<'_>>, Refusal> {
    use crdt_schema::automerge::legacy::{Key, ObjectId};
    expanded
        .operations
        .iter()
        .map(|op| {
            if op.obj != ObjectId::Root || op.insert {
                return Err(Refusal::Malformed {
                    what: "operation outside the document's top-level map".into(),
                });
            }
            let Key::Map(key) = &op.key else {
                return Err(Refusal::Malformed {
                    what: "sequence operation".into(),
                });
            };
            let value = match &op.action {
                OpType::Put(v) => Some(Scalar::from(v)),
                OpType::Delete => None,
                other => {
                    return Err(Refusal::Malformed {
                        what: format!("operation {other:?} at `{key}`"),
                    });
                }
            };
            Ok(Op {
                key: key.as_str(),
                value,
            })
        })
        .collect()
}

impl<'a> Validator<'a> {
    pub fn new(trust: &'a Trust, registry: &'a Automerge) -> Validator<'a> {
        Validator {
            trust,
            registry,
            ancestry: Ancestry::default(),
            keys: BTreeMap::new(),
            notes: BTreeMap::new(),
            verified: BTreeMap::new(),
        }
    }

    /// An author's key, decompressed and checked once.
    fn key(&mut self, bytes: [u8; 32]) -> Result<(PublicKey, PreparedKey), String> {
        self.keys
            .entry(bytes)
            .or_insert_with(|| {
                let k = PublicKey::from_bytes(bytes).map_err(|e| e.to_string())?;
                let p = k.prepare().map_err(|e| e.to_string())?;
                Ok((k, p))
            })
            .clone()
    }

    /// Checks the signatures of a large `batch` on every core, before its
    /// changes are judged one by one in order ([`Validator::admit`]): a
    /// signature verifies or not whatever the order, so the verdicts are the
    /// same, only sooner (a first sync verifies hundreds of thousands). Only
    /// changes whose author the trust records certify are checked ahead (or
    /// any author's, in the registry, whose changes may carry their own
    /// certificate): a stranger's flood still costs a lookup each. And only
    /// changes that can be judged now — their dependencies in the document
    /// or the batch, their registry anchor held — as judging checks a
    /// signature only then: a change left waiting is not verified again at
    /// every retry.
    fn verify_ahead(&mut self, doc: &DocId, history: &dyn History, batch: &[SignedChange]) {
        const AHEAD_FROM: usize = 64;
        self.verified.clear();
        if batch.len() < AHEAD_FROM {
            return;
        }
        // An actor's later changes inherit the author its first one named.
        let mut authors: BTreeMap<&crdt_schema::automerge::ActorId, Vec<u8>> = BTreeMap::new();
        for sc in batch {
            if let Some(a) = sc.change.author() {
                authors.insert(sc.change.actor_id(), a.as_bytes().to_vec());
            }
        }
        let in_batch: BTreeSet<ChangeHash> = batch.iter().map(SignedChange::hash).collect();
        let mut work: Vec<(&SignedChange, [u8; 32], PreparedKey)> = Vec::new();
        for sc in batch {
            let judged_now = sc
                .change
                .deps()
                .iter()
                .all(|d| in_batch.contains(d) || history.contains(d));
            if !judged_now {
                continue;
            }
            let message = sc.change.message().unwrap_or("");
            if !self.notes.contains_key(message) {
                let parsed = ChangeNote::of(sc.change.message()).and_then(|n| n.registry_heads());
                self.notes.insert(message.to_string(), parsed);
            }
            let anchored = self.notes[message].as_ref().is_ok_and(|anchor| {
                anchor
                    .iter()
                    .all(|h| self.registry.get_change_meta_by_hash(h).is_some())
            });
            if !anchored {
                continue;
            }
            let actor = sc.change.actor_id();
            let author = match sc.change.author() {
                Some(a) => Some(a.as_bytes().to_vec()),
                None => authors
                    .get(actor)
                    .cloned()
                    .or_else(|| history.actor_author(actor)),
            };
            let Some(bytes) = author.and_then(|a| <[u8; 32]>::try_from(a.as_slice()).ok()) else {
                continue;
            };
            let Ok((key, prepared)) = self.key(bytes) else {
                continue;
            };
            if *doc != DocId::Registry && self.trust.certificates(&key).is_empty() {
                continue;
            }
            work.push((sc, bytes, prepared));
        }
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8);
        if work.len() < AHEAD_FROM || threads < 2 {
            return;
        }
        let chunk = work.len().div_ceil(threads);
        let done: Vec<Vec<(CopyOf, Checked)>> = std::thread::scope(|s| {
            let handles: Vec<_> = work
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || {
                        part.iter()
                            .map(|(sc, by, key)| {
                                let checked = (*by, sc.verify_prepared(doc, key));
                                ((sc.hash(), sc.signature.to_bytes()), checked)
                            })
                            .collect()
                    })
                })
                .collect();
            // A part that failed is simply verified again when judged.
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        });
        self.verified = done.into_iter().flatten().collect();
    }

    /// Judges `sc` for `doc`. `target` is the document it would enter (to
    /// check its dependencies are there); for registry changes it is the
    /// registry itself.
    pub fn judge(&mut self, doc: &DocId, target: &dyn History, sc: &SignedChange) -> Verdict {
        match self.judge_inner(doc, target, sc) {
            Ok(v) => v,
            Err(r) => Verdict::Refuse(r),
        }
    }

    fn judge_inner(
        &mut self,
        doc: &DocId,
        target: &dyn History,
        sc: &SignedChange,
    ) -> Result<Verdict, Refusal> {
        let change: &Change = &sc.change;
        // 1. Author and actor.
        // Dependencies must be present to judge (and to apply); they carry
        // the author of an actor's later changes.
        let missing: Vec<String> = change
            .deps()
            .iter()
            .filter(|h| !target.contains(h))
            .map(|h| h.to_string()[..12].to_string())
            .collect();
        if !missing.is_empty() {
            return Ok(Verdict::Pending(Wait::Changes(missing)));
        }
        let author = signed::author_with(change, target).ok_or(Refusal::NoAuthor)?;
        let bytes: [u8; 32] = author
            .as_slice()
            .try_into()
            .map_err(|_| Refusal::BadAuthorKey(format!("{} bytes is not a key", author.len())))?;
        let (author, prepared) = self.key(bytes).map_err(Refusal::BadAuthorKey)?;
        if !crdt_schema::doc::actor_matches_author(change.actor_id(), author.as_bytes()) {
            return Err(Refusal::ActorNotBound);
        }
        // Notes repeat (one save after another): parse each distinct one once.
        let message = change.message().unwrap_or("");
        if !self.notes.contains_key(message) {
            let parsed = ChangeNote::of(change.message()).and_then(|n| n.registry_heads());
            self.notes.insert(message.to_string(), parsed);
        }
        let anchor = self.notes[message].clone().map_err(Refusal::BadNote)?;
        if let Some(h) = anchor
            .iter()
            .find(|h| self.registry.get_change_meta_by_hash(h).is_none())
        {
            return Ok(Verdict::Pending(Wait::RegistryChange(
                h.to_string()[..12].to_string(),
            )));
        }
        // A key the registry has no certificate for waits before its
        // signature is checked: a flood of changes by unknown keys costs a
        // lookup each, not a verification each time it is retried.
        // (Registry changes may carry their author's certificate: below.)
        let unknown_key =
            |author: &PublicKey| Wait::Certificate(author.to_string()[..16].to_string());
        if *doc != DocId::Registry && self.trust.certificates(&author).is_empty() {
            return Ok(Verdict::Pending(unknown_key(&author)));
        }
        // 2. Signature over the document name and the change hash (checked
        // ahead, on every core, for a large batch: `verify_ahead`).
        let verified = match self.verified.get(&(sc.hash(), sc.signature.to_bytes())) {
            Some((by, ok)) if *by == bytes => *ok,
            _ => sc.verify_prepared(doc, &prepared),
        };
        if !verified {
            return Err(Refusal::BadSignature);
        }
        let expanded = change.decode();
        let ops = ops_of(&expanded)?;

        // 3. A certificate covering the stated date. Registry changes may
        // carry the author's own certificate (the first change of a prison).
        let date = date_of(change.timestamp()).ok_or(Refusal::BadStatedTime(change.timestamp()))?;
        let mut certs: Vec<&Certificate> = self.trust.certificates(&author).iter().collect();
        let mut own: Vec<Certificate> = Vec::new();
        if *doc == DocId::Registry {
            for op in &ops {
                if let (Ok(RegistryKey::Officer(k)), Some(Scalar::Str(json))) =
                    (RegistryKey::parse(op.key), op.value)
                    && k.as_str() == author.to_string()
                    && let Ok(c) = Certificate::from_json(json)
                    && c.verify(self.trust.authority()).is_ok()
                {
                    own.push(c);
                }
            }
        }
        certs.extend(own.iter());
        if certs.is_empty() {
            return Ok(Verdict::Pending(unknown_key(&author)));
        }
        let Some(cert) = certs.iter().find(|c| c.body.valid_on(date)).copied() else {
            let c = &certs[0].body;
            return Err(Refusal::NotValidOn {
                officer: c.officer_no.clone(),
                date: date.to_string(),
                from: c.valid_from,
                to: c.valid_to,
            });
        };

        // 4. Revocation: refused if known to the change, flagged if concurrent.
        let mut concurrent_revocation = false;
        for &recorded in self.trust.revocations(&author) {
            let known = match doc {
                DocId::Registry => self.ancestry.reaches(target, change.deps(), &recorded),
                DocId::Roster { .. } | DocId::Month { .. } => {
                    self.ancestry
                        .reaches(self.registry as &dyn History, &anchor, &recorded)
                }
            };
            if known {
                return Err(Refusal::Revoked {
                    officer: cert.body.officer_no.clone(),
                });
            }
            concurrent_revocation = true;
        }

        // 5. Every operation: schema, then role × document × record class.
        let doc_name = doc.to_string();
        for op in &ops {
            let class =
                check_op(doc, op.key, op.value).map_err(|what| Refusal::Malformed { what })?;
            if !allowed(cert, doc, class) {
                return Err(Refusal::NotAllowed {
                    officer: cert.body.officer_no.clone(),
                    role: cert.body.role,
                    district: cert.body.district.as_ref().map(|d| d.to_string()),
                    doc: doc_name,
                    what: format!("`{}`", op.key),
                });
            }
            if class == RecordClass::Trust {
                trust::check_record(self.trust.authority(), op.key, op.value).map_err(
                    |reason| Refusal::BadTrustRecord {
                        key: op.key.to_string(),
                        reason,
                    },
                )?;
            }
        }
        Ok(Verdict::Accept {
            officer: Box::new(cert.clone()),
            concurrent_revocation,
        })
    }
}

/// The hashes of `changes`, for callers that track what they accepted.
pub fn hashes(changes: &[SignedChange]) -> BTreeSet<ChangeHash> {
    changes.iter().map(|c| c.change.hash()).collect()
}

#[cfg(test)]
mod tests;

/// An accepted change with what it was accepted under.
#[derive(Debug)]
pub struct Admitted {
    pub change: SignedChange,
    pub officer: Box<Certificate>,
    pub concurrent_revocation: bool,
}

/// The outcome of judging a batch of incoming changes for one document.
#[derive(Debug, Default)]
pub struct Admission {
    /// Accepted, in an order that applies (each after its dependencies).
    pub accepted: Vec<Admitted>,
    /// Changes the document already holds.
    pub already: usize,
    pub refused: Vec<(SignedChange, Refusal)>,
    pub pending: Vec<(SignedChange, Wait)>,
}

impl Admission {
    /// The accepted signed changes.
    pub fn signed(&self) -> Vec<SignedChange> {
        self.accepted.iter().map(|a| a.change.clone()).collect()
    }
}

impl Validator<'_> {
    /// Judges `incoming` for `doc`, whose current history is `base`: each
    /// change against what `base` and the changes accepted before it hold.
    /// Changes are taken in the order given, and those pending only on a
    /// change later in the batch are retried until nothing more is accepted,
    /// so the order the batch arrived in does not change the outcome.
    pub fn admit(
        &mut self,
        doc: &DocId,
        base: &Automerge,
        incoming: Vec<SignedChange>,
        seqs: &mut ActorSeqs,
    ) -> Admission {
        seqs.current(base);
        let mut out = Admission::default();
        let mut staged = Staged::new(base);
        let mut todo: Vec<SignedChange> = Vec::new();
        for sc in incoming {
            if base.get_change_meta_by_hash(&sc.hash()).is_some() {
                out.already += 1;
            } else {
                todo.push(sc);
            }
        }
        self.verify_ahead(doc, &staged, &todo);
        loop {
            let mut progress = false;
            let mut still = Vec::new();
            for sc in todo {
                if staged.contains(&sc.hash()) {
                    out.already += 1;
                    continue;
                }
                match self.judge(doc, &staged, &sc) {
                    Verdict::Accept { .. } if seqs.reused(&sc.change) => {
                        let seq = sc.change.seq();
                        out.refused.push((sc, Refusal::SeqReused { seq }));
                    }
                    Verdict::Accept {
                        officer,
                        concurrent_revocation,
                    } => {
                        seqs.note(&sc.change);
                        staged.add(&sc.change, officer.body.public_key.as_bytes().to_vec());
                        out.accepted.push(Admitted {
                            change: sc,
                            officer,
                            concurrent_revocation,
                        });
                        progress = true;
                    }
                    Verdict::Refuse(r) => out.refused.push((sc, r)),
                    Verdict::Pending(p) => still.push((sc, p)),
                }
            }
            if !progress || still.is_empty() {
                out.pending = still;
                break;
            }
            todo = still.into_iter().map(|(sc, _)| sc).collect();
        }
        self.verified.clear();
        out
    }
}
