//! The document of one district's month: attendance, procedure assignments,
//! per-inmate and per-team counts, adjustments and approvals.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use automerge::{Automerge, Change, ChangeHash, ROOT, ReadDoc, ScalarValue, ValueRef};

use crate::calendar::{Date, Month};
use crate::doc::{ChangeMeta, Document, SchemaError, Tx};
use crate::facts::{Entry, Problem, values_differ};
use crate::ids::{DistrictId, InmateNo, ProcedureId};
use crate::layout::{AdjustmentId, ApprovalTarget, ContentId, DocId, MonthKey};
use crate::records::{Adjustment, Attendance, check_quantity};
use crate::schema::{
    Acknowledgement, Answer, Application, Confirmation, MonthValue, Objection, Posting, Review,
    Scalar, Seal, decode_month,
};
use crate::units::Cp;

/// The document of one district-month.
#[derive(Debug)]
pub struct MonthDoc {
    doc: Document,
    district: DistrictId,
    month: Month,
}

/// Typed writes to a month document, inside one transaction. Every date must
/// fall in the document's month.
pub struct MonthWriter<'t, 'a> {
    tx: &'t mut Tx<'a>,
    doc: DocId,
    month: Month,
}

impl MonthWriter<'_, '_> {
    fn day(&self, date: Date) -> Result<u8, SchemaError> {
        if self.month.contains(date) {
            Ok(date.day())
        } else {
            Err(SchemaError::DateOutsideMonth {
                date,
                doc: self.doc.clone(),
            })
        }
    }

    fn put_quantity(&mut self, key: MonthKey, quantity: u64) -> Result<bool, SchemaError> {
        let q = check_quantity(i64::try_from(quantity).unwrap_or(i64::MAX))?;
        self.tx.put(&key.to_string(), ScalarValue::Int(q as i64))
    }

    pub fn put_attendance(
        &mut self,
        inmate: &InmateNo,
        date: Date,
        attendance: &Attendance,
    ) -> Result<bool, SchemaError> {
        let key = MonthKey::Attendance(inmate.clone(), self.day(date)?);
        self.tx.put(
            &key.to_string(),
            ScalarValue::Str(attendance.encode().into()),
        )
    }

    pub fn delete_attendance(
        &mut self,
        inmate: &InmateNo,
        date: Date,
    ) -> Result<bool, SchemaError> {
        let key = MonthKey::Attendance(inmate.clone(), self.day(date)?);
        self.tx.delete(&key.to_string())
    }

    pub fn put_count(
        &mut self,
        inmate: &InmateNo,
        date: Date,
        procedure: &ProcedureId,
        quantity: u64,
    ) -> Result<bool, SchemaError> {
        let key = MonthKey::Count(inmate.clone(), self.day(date)?, procedure.clone());
        self.put_quantity(key, quantity)
    }

    pub fn delete_count(
        &mut self,
        inmate: &InmateNo,
        date: Date,
        procedure: &ProcedureId,
    ) -> Result<bool, SchemaError> {
        let key = MonthKey::Count(inmate.clone(), self.day(date)?, procedure.clone());
        self.tx.delete(&key.to_string())
    }

    /// Assigns `inmate` to `procedure` on `date`: they share that day's team count.
    pub fn put_assignment(
        &mut self,
        inmate: &InmateNo,
        date: Date,
        procedure: &ProcedureId,
    ) -> Result<bool, SchemaError> {
        let key = MonthKey::Assignment(inmate.clone(), self.day(date)?, procedure.clone());
        self.tx.put(&key.to_string(), ScalarValue::Int(1))
    }

    pub fn delete_assignment(
        &mut self,
        inmate: &InmateNo,
        date: Date,
        procedure: &ProcedureId,
    ) -> Result<bool, SchemaError> {
        let key = MonthKey::Assignment(inmate.clone(), self.day(date)?, procedure.clone());
        self.tx.delete(&key.to_string())
    }

    /// The warehoused count (入库数) of a procedure for the district's team on `date`.
    pub fn put_team_count(
        &mut self,
        date: Date,
        procedure: &ProcedureId,
        quantity: u64,
    ) -> Result<bool, SchemaError> {
        let key = MonthKey::TeamCount(self.day(date)?, procedure.clone());
        self.put_quantity(key, quantity)
    }

    /// Records a bonus or deduction; its id derives from its date, points and
    /// reason, so recording the same fact twice is one entry.
    pub fn put_adjustment(
        &mut self,
        inmate: &InmateNo,
        adjustment: &Adjustment,
    ) -> Result<(AdjustmentId, bool), SchemaError> {
        adjustment.validate()?;
        self.day(adjustment.date)?;
        let id = adjustment_id(inmate, adjustment);
        let key = MonthKey::Adjustment(inmate.clone(), id.clone());
        let json = serde_json::to_string(adjustment).expect("an adjustment always serializes");
        let written = self
            .tx
            .put(&key.to_string(), ScalarValue::Str(json.into()))?;
        Ok((id, written))
    }

    pub fn delete_adjustment(
        &mut self,
        inmate: &InmateNo,
        id: &AdjustmentId,
    ) -> Result<bool, SchemaError> {
        let key = MonthKey::Adjustment(inmate.clone(), id.clone());
        self.tx.delete(&key.to_string())
    }

    /// The chief's approval of an amount: it counts only while the amount
    /// awaiting approval is exactly this one.
    pub fn put_approval(
        &mut self,
        inmate: &InmateNo,
        target: ApprovalTarget,
        amount: Cp,
    ) -> Result<bool, SchemaError> {
        let key = MonthKey::Approval(inmate.clone(), target);
        self.tx.put(&key.to_string(), ScalarValue::Int(amount.0))
    }

    /// The prison scoring working group's approval of `amount` (rule sets
    /// with decision levels).
    pub fn put_group_approval(
        &mut self,
        inmate: &InmateNo,
        target: ApprovalTarget,
        amount: Cp,
    ) -> Result<bool, SchemaError> {
        let key = MonthKey::GroupApproval(inmate.clone(), target);
        self.tx.put(&key.to_string(), ScalarValue::Int(amount.0))
    }

    /// A second officer's confirmation of an inmate's day: it carries the
    /// digest of the records confirmed ([`day_digest`]), so any later edit of
    /// them leaves the day unconfirmed again.
    pub fn put_confirmation(
        &mut self,
        inmate: &InmateNo,
        date: Date,
        digest: &ContentId,
    ) -> Result<bool, SchemaError> {
        let key = MonthKey::Confirmation(inmate.clone(), self.day(date)?);
        let value = Confirmation::new(digest.clone(), self.tx.author()).encode();
        self.tx
            .put(&key.to_string(), ScalarValue::Str(value.into()))
    }

    /// A second officer's confirmation of a team count ([`team_digest`]).
    pub fn put_team_confirmation(
        &mut self,
        date: Date,
        procedure: &ProcedureId,
        digest: &ContentId,
    ) -> Result<bool, SchemaError> {
        let key = MonthKey::TeamConfirmation(self.day(date)?, procedure.clone());
        let value = Confirmation::new(digest.clone(), self.tx.author()).encode();
        self.tx
            .put(&key.to_string(), ScalarValue::Str(value.into()))
    }

    /// The chief's seal: the heads and report digest the chief signs off.
    pub fn put_seal(&mut self, seal: &Seal) -> Result<bool, SchemaError> {
        let json = serde_json::to_string(seal).expect("a seal always serializes");
        self.tx
            .put(&MonthKey::Seal.to_string(), ScalarValue::Str(json.into()))
    }

    /// A procurator's objection.
    pub fn put_objection(&mut self, o: &Objection) -> Result<ContentId, SchemaError> {
        crate::records::check_text("objection", &o.text)?;
        if let Some(d) = o.date {
            self.day(d)?;
        }
        let id = o.id();
        let json = serde_json::to_string(o).expect("an objection always serializes");
        self.tx.put(
            &MonthKey::Objection(id.clone()).to_string(),
            ScalarValue::Str(json.into()),
        )?;
        Ok(id)
    }

    /// The inmate's acknowledgement of the monthly sheet (one per inmate;
    /// a later one replaces it, the history keeps both).
    pub fn put_acknowledgement(
        &mut self,
        inmate: &InmateNo,
        a: &Acknowledgement,
    ) -> Result<bool, SchemaError> {
        a.check(self.month).map_err(SchemaError::BadPosting)?;
        let json = serde_json::to_string(a).expect("an acknowledgement always serializes");
        self.tx.put(
            &MonthKey::Acknowledgement(inmate.clone()).to_string(),
            ScalarValue::Str(json.into()),
        )
    }

    /// An application for 复查 or 复核, as an officer records it.
    pub fn put_application(&mut self, a: &Application) -> Result<ContentId, SchemaError> {
        a.check(self.month).map_err(SchemaError::BadPosting)?;
        let id = a.id();
        let json = serde_json::to_string(a).expect("an application always serializes");
        self.tx.put(
            &MonthKey::Application(id.clone()).to_string(),
            ScalarValue::Str(json.into()),
        )?;
        Ok(id)
    }

    /// An answer: the group's (`final_answer` false, to a 复查) or the
    /// prison group's (to a 复核).
    pub fn put_answer(&mut self, a: &Answer, final_answer: bool) -> Result<bool, SchemaError> {
        a.check(self.month).map_err(SchemaError::BadPosting)?;
        if !final_answer {
            a.check_group().map_err(SchemaError::BadPosting)?;
        }
        let key = if final_answer {
            MonthKey::FinalAnswer(a.application.clone())
        } else {
            MonthKey::Answer(a.application.clone())
        };
        let json = serde_json::to_string(a).expect("an answer always serializes");
        self.tx.put(&key.to_string(), ScalarValue::Str(json.into()))
    }

    /// The chief's posting of the report with `digest` from `first_day`.
    pub fn put_posting(&mut self, p: &Posting) -> Result<ContentId, SchemaError> {
        p.check(self.month).map_err(SchemaError::BadPosting)?;
        let id = p.id();
        let json = serde_json::to_string(p).expect("a posting always serializes");
        self.tx.put(
            &MonthKey::Posting(id.clone()).to_string(),
            ScalarValue::Str(json.into()),
        )?;
        Ok(id)
    }

    /// A weekly review of the district scoring group: refused as every
    /// validator would refuse it (fewer than two thirds in favour with
    /// decisions, counts that do not add up, an entry decided twice).
    pub fn put_review(&mut self, r: &Review) -> Result<ContentId, SchemaError> {
        r.check().map_err(SchemaError::BadReview)?;
        let id = r.id();
        let json = serde_json::to_string(r).expect("a review always serializes");
        self.tx.put(
            &MonthKey::Review(r.week, id.clone()).to_string(),
            ScalarValue::Str(json.into()),
        )?;
        Ok(id)
    }
}

/// The digest a confirmation of an inmate's day carries: over the day's
/// attendance, own counts and team assignments, as they stand.
pub fn day_digest(rec: &InmateMonth, day: u8) -> ContentId {
    let mut parts: Vec<String> = vec![
        format!("{day:02}"),
        rec.attendance
            .get(&day)
            .map(|a| a.value.encode())
            .unwrap_or_default(),
    ];
    for (p, q) in rec.counts.get(&day).into_iter().flatten() {
        parts.push(format!("cnt {p}={}", q.value));
    }
    for (d, p) in &rec.assignments {
        if *d == day {
            parts.push(format!("asg {p}"));
        }
    }
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    ContentId::of(&refs)
}

/// The digest a confirmation of a team count carries.
pub fn team_digest(day: u8, procedure: &ProcedureId, quantity: u64) -> ContentId {
    ContentId::of(&[
        &format!("{day:02}"),
        procedure.as_str(),
        &quantity.to_string(),
    ])
}

/// The id of an adjustment of `inmate`: 16 hex digits of SHA-256 over its
/// inmate, date, points and reason.
pub fn adjustment_id(inmate: &InmateNo, a: &Adjustment) -> AdjustmentId {
    let date = a.date.to_string();
    let points = a.points_cp.0.to_string();
    let mut parts = vec![inmate.as_str(), &date, &points, &a.reason];
    // A special bonus is another fact than the same bonus unmarked (it
    // decides who approves it): part of the id, so the mark cannot be
    // dropped after a decision. Left out when unmarked: ids stay as they were.
    if a.special {
        parts.push("special");
    }
    AdjustmentId::of(&parts)
}

impl MonthDoc {
    pub fn new(district: DistrictId, month: Month) -> MonthDoc {
        MonthDoc {
            doc: Document::new(DocId::month(district.clone(), month)),
            district,
            month,
        }
    }

    pub fn from_document(doc: Document) -> Result<MonthDoc, SchemaError> {
        match doc.id().clone() {
            DocId::Month { district, month } => Ok(MonthDoc {
                doc,
                district,
                month,
            }),
            other => Err(SchemaError::NotAMonth(other)),
        }
    }

    /// Whether a month document holds a seal (current or amended since),
    /// without reading its records: what the node's link looks at on every
    /// change before it scores anything.
    pub fn has_seal(doc: &Document) -> bool {
        doc.automerge()
            .get(ROOT, MonthKey::Seal.to_string().as_str())
            .is_ok_and(|v| v.is_some())
    }

    pub fn district(&self) -> &DistrictId {
        &self.district
    }

    pub fn month(&self) -> Month {
        self.month
    }

    pub fn document(&self) -> &Document {
        &self.doc
    }

    pub fn document_mut(&mut self) -> &mut Document {
        &mut self.doc
    }

    pub fn into_document(self) -> Document {
        self.doc
    }

    /// One signed-to-be change of typed month writes (see [`Document::transact`]).
    pub fn write<T>(
        &mut self,
        meta: &ChangeMeta,
        f: impl FnOnce(&mut MonthWriter<'_, '_>) -> Result<T, SchemaError>,
    ) -> Result<(T, Option<Change>), SchemaError> {
        let doc = self.doc.id().clone();
        let month = self.month;
        self.doc
            .transact(meta, |tx| f(&mut MonthWriter { tx, doc, month }))
    }

    /// The authors of an inmate's day records as they stand (attendance,
    /// counts, assignments): who may not confirm them.
    pub fn day_writers(&self, inmate: &InmateNo, day: u8) -> Vec<Vec<u8>> {
        let am = self.doc.automerge();
        let mut out = authors_of(
            am,
            &MonthKey::Attendance(inmate.clone(), day).to_string(),
            None,
        );
        for kind in ["cnt", "asg"] {
            let keys: Vec<String> = am
                .map_range(
                    ROOT,
                    format!("{kind}/{inmate}/{day:02}/")..format!("{kind}/{inmate}/{day:02}0"),
                )
                .map(|i| i.key.to_string())
                .collect();
            for k in keys {
                out.extend(authors_of(am, &k, None));
            }
        }
        out
    }

    /// The authors of a team count as it stands.
    pub fn team_writers(&self, day: u8, procedure: &ProcedureId) -> Vec<Vec<u8>> {
        authors_of(
            self.doc.automerge(),
            &MonthKey::TeamCount(day, procedure.clone()).to_string(),
            None,
        )
    }

    pub fn facts(&self) -> MonthFacts {
        MonthFacts::read(self.district.clone(), self.month, self.doc.automerge())
    }

    /// The head sets of this document from which only seals follow: the
    /// current heads, then those before each seal that ends its history
    /// (at most 16). A change writing nothing but the month's seal changes no
    /// record another district's report reads, so a reader whose seal
    /// recorded any of these reads what it sealed without going back in
    /// history ([`MonthFacts::as_read_by`]). The walk stops at a change that
    /// writes anything else, and where the history forks.
    pub fn heads_before_seals(&self) -> Vec<Vec<ChangeHash>> {
        use automerge::legacy::{Key, ObjectId};
        let am = self.doc.automerge();
        let seal_key = MonthKey::Seal.to_string();
        let mut out = vec![am.get_heads()];
        while out.len() < 16 {
            let [head] = out[out.len() - 1][..] else {
                break;
            };
            let Some(change) = am.get_change_by_hash(&head) else {
                break;
            };
            let only_seal = change.decode().operations.iter().all(|op| {
                op.obj == ObjectId::Root
                    && !op.insert
                    && matches!(&op.key, Key::Map(k) if k.as_str() == seal_key)
            });
            if !only_seal || change.deps().is_empty() {
                break;
            }
            out.push(change.deps().to_vec());
        }
        out
    }

    /// This document's facts as another district's report reads them (an
    /// inmate held here this month is reported there): `amended` is the
    /// inmates changed since the heads that report's seal recorded for this
    /// document (`Seal::sources`; a seal that recorded none for it read it
    /// as empty), none when that report is not sealed. Heads not in this document (not synced yet, or forged) leave
    /// every inmate of it amended: the sealed state cannot be shown to hold.
    pub fn facts_for(&self, reader: &MonthFacts) -> MonthFacts {
        let current = MonthFacts::read_at(
            self.district.clone(),
            self.month,
            self.doc.automerge(),
            None,
        );
        self.facts_for_read(current, reader)
    }

    /// [`MonthDoc::facts_for`] from this document's facts as
    /// [`MonthDoc::facts`] read them: a month's reports read each other's
    /// documents, and each is then read once, not once per reader.
    pub fn facts_for_read(&self, current: MonthFacts, reader: &MonthFacts) -> MonthFacts {
        let am = self.doc.automerge();
        if current.as_read_by(&[&am.get_heads()], reader).is_some() {
            let mut f = current;
            f.amended.clear();
            return f;
        }
        let mut f = current;
        f.amended.clear();
        let Some(seal) = reader.seal.as_ref() else {
            return f;
        };
        // A sealed report that did not read this document then (a transfer
        // recorded after the seal): as if sealed when it was empty, so every
        // record of it read now shows as an amendment.
        let none = Vec::new();
        let heads = seal.seal.sources.get(&self.district).unwrap_or(&none);
        let parsed: Option<Vec<ChangeHash>> = heads.iter().map(|h| h.parse().ok()).collect();
        match parsed {
            Some(h) if h == am.get_heads() => {}
            Some(h) if h.iter().all(|c| am.get_change_by_hash(c).is_some()) => {
                let sealed = MonthFacts::read_at(self.district.clone(), self.month, am, Some(&h));
                f.amended = f.differences(&sealed);
            }
            _ => f.amended = f.inmates.keys().cloned().collect(),
        }
        f
    }
}

/// Everything one inmate has in a month document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InmateMonth {
    pub attendance: BTreeMap<u8, Entry<Attendance>>,
    /// Own counts by day, then procedure.
    pub counts: BTreeMap<u8, BTreeMap<ProcedureId, Entry<u64>>>,
    pub assignments: BTreeSet<(u8, ProcedureId)>,
    pub adjustments: BTreeMap<AdjustmentId, Entry<Adjustment>>,
    /// The chief's approvals (the former procedure's).
    pub approvals: BTreeMap<ApprovalTarget, Entry<Cp>>,
    /// The prison scoring working group's approvals.
    pub group_approvals: BTreeMap<ApprovalTarget, Entry<Cp>>,
    /// Confirmations as written.
    pub confirmations: BTreeMap<u8, Entry<Confirmation>>,
    /// Days whose records are confirmed: a confirmation matching the current
    /// records, by an officer who wrote none of them.
    pub confirmed: BTreeSet<u8>,
}

impl InmateMonth {
    /// Whether any of this inmate's records is in conflict.
    pub fn has_conflict(&self) -> bool {
        self.attendance.values().any(|e| e.conflict)
            || self
                .counts
                .values()
                .flat_map(BTreeMap::values)
                .any(|e| e.conflict)
            || self.adjustments.values().any(|e| e.conflict)
            || self.approvals.values().any(|e| e.conflict)
            || self.group_approvals.values().any(|e| e.conflict)
    }

    /// Days with daily records (attendance, counts or assignments).
    pub fn record_days(&self) -> BTreeSet<u8> {
        let mut days: BTreeSet<u8> = self.attendance.keys().copied().collect();
        days.extend(self.counts.keys().copied());
        days.extend(self.assignments.iter().map(|(d, _)| *d));
        days
    }
}

/// The seal in force, with the change that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct SealState {
    pub seal: Seal,
    /// The change that wrote the seal: the state it seals is this change's.
    pub change: ChangeHash,
    pub author: Vec<u8>,
    pub conflict: bool,
}

/// A month document's contents as plain data: what scoring reads.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthFacts {
    pub district: DistrictId,
    pub month: Month,
    pub inmates: BTreeMap<InmateNo, InmateMonth>,
    pub team_counts: BTreeMap<(u8, ProcedureId), Entry<u64>>,
    pub team_confirmations: BTreeMap<(u8, ProcedureId), Entry<Confirmation>>,
    /// Team counts confirmed by an officer who did not write them.
    pub team_confirmed: BTreeSet<(u8, ProcedureId)>,
    pub seal: Option<SealState>,
    /// Inmates whose records differ from the sealed state (amendments).
    pub amended: BTreeSet<InmateNo>,
    pub objections: BTreeMap<ContentId, Entry<Objection>>,
    /// The district scoring group's weekly reviews, by id.
    pub reviews: BTreeMap<ContentId, Entry<Review>>,
    /// The chief's postings of the report, by id.
    pub postings: BTreeMap<ContentId, Entry<Posting>>,
    /// Applications for 复查 and 复核, by id.
    pub applications: BTreeMap<ContentId, Entry<Application>>,
    /// The district group's answers (`ans/`), by the application answered.
    pub answers: BTreeMap<ContentId, Entry<Answer>>,
    /// The prison group's final answers (`fans/`), by the application answered.
    pub final_answers: BTreeMap<ContentId, Entry<Answer>>,
    /// Inmates' acknowledgements of their monthly sheets.
    pub acknowledgements: BTreeMap<InmateNo, Entry<Acknowledgement>>,
    pub problems: Vec<Problem>,
}

/// The author of every value currently at `key` (several when in conflict).
fn authors_of(am: &Automerge, key: &str, heads: Option<&[ChangeHash]>) -> Vec<Vec<u8>> {
    let all = match heads {
        Some(h) => am.get_all_at(ROOT, key, h),
        None => am.get_all(ROOT, key),
    };
    all.unwrap_or_default()
        .iter()
        .filter_map(|(_, id)| am.hash_for_opid(id))
        .filter_map(|h| am.get_change_meta_by_hash(&h))
        .filter_map(|m| m.author.map(|a| a.as_bytes().to_vec()))
        .collect()
}

/// A confirmation counts when it was signed by the officer it names, and
/// that officer wrote none of the records confirmed.
fn confirmed_by_another(c: &Confirmation, signers: &[Vec<u8>], writers: &[Vec<u8>]) -> bool {
    !signers.is_empty() && signers.iter().all(|s| c.names(s) && !writers.contains(s))
}

impl MonthFacts {
    /// These facts (of a document at `heads`, as [`MonthDoc::facts`] read
    /// them) as `reader`'s report reads them, when that needs nothing else
    /// of the document: the reader is not sealed, or its seal recorded
    /// exactly these heads for this document (nothing amended since). `None`
    /// when the sealed state must be read from the document
    /// ([`MonthDoc::facts_for`]).
    ///
    /// `same` are head sets of the document at which these facts were the
    /// same in every record a reader compares: the current heads, and those
    /// before its trailing seals ([`MonthDoc::heads_before_seals`]).
    ///
    /// Borrowed when these facts have no amendment of their own to clear:
    /// every report of a month reads most other districts' documents, and a
    /// copy of each for each reader made scoring a month quadratic in its
    /// districts (a tenth of a year-old prison's scoring time).
    pub fn as_read_by(
        &self,
        same: &[&[ChangeHash]],
        reader: &MonthFacts,
    ) -> Option<Cow<'_, MonthFacts>> {
        let unchanged = match reader.seal.as_ref() {
            None => true,
            Some(seal) => seal.seal.sources.get(&self.district).is_some_and(|sealed| {
                same.iter().any(|heads| {
                    sealed.len() == heads.len()
                        && sealed
                            .iter()
                            .zip(heads.iter())
                            .all(|(s, h)| s.parse::<ChangeHash>().is_ok_and(|s| s == *h))
                })
            }),
        };
        unchanged.then(|| {
            if self.amended.is_empty() {
                Cow::Borrowed(self)
            } else {
                let mut f = self.clone();
                f.amended.clear();
                Cow::Owned(f)
            }
        })
    }

    /// The answer to application `id`, from whoever answers its kind: the
    /// district group (`ans/`) a 复查, the prison group (`fans/`) a 复核.
    pub fn answer_of(&self, id: &ContentId, a: &Application) -> Option<&Answer> {
        let answers = match a.kind {
            crate::schema::ApplicationKind::Recheck => &self.answers,
            crate::schema::ApplicationKind::Review => &self.final_answers,
        };
        answers.get(id).map(|e| &e.value)
    }

    /// Applications not yet answered, with their ids.
    pub fn open_applications(&self) -> impl Iterator<Item = (&ContentId, &Application)> {
        self.applications
            .iter()
            .map(|(id, a)| (id, &a.value))
            .filter(|(id, a)| self.answer_of(id, a).is_none())
    }

    pub fn empty(district: DistrictId, month: Month) -> MonthFacts {
        MonthFacts {
            district,
            month,
            inmates: BTreeMap::new(),
            team_counts: BTreeMap::new(),
            team_confirmations: BTreeMap::new(),
            team_confirmed: BTreeSet::new(),
            seal: None,
            amended: BTreeSet::new(),
            objections: BTreeMap::new(),
            reviews: BTreeMap::new(),
            postings: BTreeMap::new(),
            applications: BTreeMap::new(),
            answers: BTreeMap::new(),
            final_answers: BTreeMap::new(),
            acknowledgements: BTreeMap::new(),
            problems: Vec::new(),
        }
    }

    /// Reads every record of the document in one ordered pass, resolves
    /// confirmations, and compares with the sealed state if there is one.
    pub fn read(district: DistrictId, month: Month, am: &Automerge) -> MonthFacts {
        let mut f = MonthFacts::read_at(district.clone(), month, am, None);
        if let Some(seal) = &f.seal
            && am.get_heads() != [seal.change]
        {
            let sealed = MonthFacts::read_at(district, month, am, Some(&[seal.change]));
            f.amended = f.differences(&sealed);
        }
        f
    }

    /// Reads the document as it was at `heads` (or now), without the seal comparison.
    fn read_at(
        district: DistrictId,
        month: Month,
        am: &Automerge,
        heads: Option<&[ChangeHash]>,
    ) -> MonthFacts {
        let doc = DocId::month(district.clone(), month);
        let mut f = MonthFacts::empty(district, month);
        let items: Box<dyn Iterator<Item = automerge::iter::MapRangeItem<'_>>> = match heads {
            Some(h) => Box::new(am.map_range_at(ROOT, .., h)),
            None => Box::new(am.map_range(ROOT, ..)),
        };
        let mut seal_id = None;
        for item in items {
            let key = item.key.as_ref();
            let conflict = item.conflict && values_differ(am, key, heads);
            match f.read_one(&doc, key, &item.value, conflict) {
                Ok(true) => seal_id = Some(item.id()),
                Ok(false) => {}
                Err(reason) => f.problems.push(Problem {
                    key: key.to_string(),
                    reason,
                }),
            }
        }
        if let (Some(id), Some(seal)) = (seal_id, f.seal.as_mut())
            && let Some(h) = am.hash_for_opid(&id)
        {
            seal.change = h;
            seal.author = am
                .get_change_meta_by_hash(&h)
                .and_then(|m| m.author.map(|a| a.as_bytes().to_vec()))
                .unwrap_or_default();
        }
        f.resolve_confirmations(am, heads);
        f
    }

    /// A confirmation counts when it matches the records as they stand and
    /// its author wrote none of them.
    fn resolve_confirmations(&mut self, am: &Automerge, heads: Option<&[ChangeHash]>) {
        for (no, rec) in &mut self.inmates {
            let mut confirmed = BTreeSet::new();
            for (day, c) in &rec.confirmations {
                if c.conflict || c.value.digest != day_digest(rec, *day) {
                    continue;
                }
                let cfm_key = MonthKey::Confirmation(no.clone(), *day).to_string();
                let confirmers = authors_of(am, &cfm_key, heads);
                let mut keys = vec![MonthKey::Attendance(no.clone(), *day).to_string()];
                for p in rec.counts.get(day).into_iter().flat_map(BTreeMap::keys) {
                    keys.push(MonthKey::Count(no.clone(), *day, p.clone()).to_string());
                }
                for (d, p) in &rec.assignments {
                    if d == day {
                        keys.push(MonthKey::Assignment(no.clone(), *d, p.clone()).to_string());
                    }
                }
                let writers: Vec<Vec<u8>> =
                    keys.iter().flat_map(|k| authors_of(am, k, heads)).collect();
                if confirmed_by_another(&c.value, &confirmers, &writers) {
                    confirmed.insert(*day);
                }
            }
            rec.confirmed = confirmed;
        }
        let mut team_confirmed = BTreeSet::new();
        for ((day, p), c) in &self.team_confirmations {
            let Some(count) = self.team_counts.get(&(*day, p.clone())) else {
                continue;
            };
            if c.conflict || count.conflict || c.value.digest != team_digest(*day, p, count.value) {
                continue;
            }
            let confirmers = authors_of(
                am,
                &MonthKey::TeamConfirmation(*day, p.clone()).to_string(),
                heads,
            );
            let writers = authors_of(am, &MonthKey::TeamCount(*day, p.clone()).to_string(), heads);
            if confirmed_by_another(&c.value, &confirmers, &writers) {
                team_confirmed.insert((*day, p.clone()));
            }
        }
        self.team_confirmed = team_confirmed;
    }

    /// Inmates whose facts differ from `sealed`'s: their own records, or a
    /// team count they share in.
    fn differences(&self, sealed: &MonthFacts) -> BTreeSet<InmateNo> {
        let empty = InmateMonth::default();
        let mut out: BTreeSet<InmateNo> = self
            .inmates
            .keys()
            .chain(sealed.inmates.keys())
            .filter(|no| {
                self.inmates.get(*no).unwrap_or(&empty) != sealed.inmates.get(*no).unwrap_or(&empty)
            })
            .cloned()
            .collect();
        let team_keys: BTreeSet<&(u8, ProcedureId)> = self
            .team_counts
            .keys()
            .chain(sealed.team_counts.keys())
            .chain(self.team_confirmations.keys())
            .chain(sealed.team_confirmations.keys())
            .collect();
        // An application or answer since the seal changes its inmate.
        for (id, a) in self.applications.iter().chain(sealed.applications.iter()) {
            if self.applications.get(id) != sealed.applications.get(id)
                || self.answers.get(id) != sealed.answers.get(id)
                || self.final_answers.get(id) != sealed.final_answers.get(id)
            {
                out.insert(a.value.inmate.clone());
            }
        }
        // A review since the seal (or one gone from it) changes the inmates
        // it decides for.
        for (id, r) in self.reviews.iter().chain(sealed.reviews.iter()) {
            if self.reviews.get(id) != sealed.reviews.get(id) {
                out.extend(r.value.decisions.iter().map(|d| d.inmate.clone()));
            }
        }
        for k in team_keys {
            let changed = self.team_counts.get(k) != sealed.team_counts.get(k)
                || self.team_confirmed.contains(k) != sealed.team_confirmed.contains(k);
            if changed {
                for facts in [self, sealed] {
                    for (no, rec) in &facts.inmates {
                        if rec.assignments.contains(k) {
                            out.insert(no.clone());
                        }
                    }
                }
            }
        }
        out
    }

    fn inmate(&mut self, no: InmateNo) -> &mut InmateMonth {
        self.inmates.entry(no).or_default()
    }

    /// Reads one record; `Ok(true)` when it is the seal.
    fn read_one(
        &mut self,
        doc: &DocId,
        key: &str,
        value: &ValueRef<'_>,
        conflict: bool,
    ) -> Result<bool, String> {
        let k = MonthKey::parse(key, self.month).map_err(|e| e.to_string())?;
        let v = decode_month(doc, &k, Scalar::from(value))?;
        match (k, v) {
            (MonthKey::Attendance(i, d), MonthValue::Attendance(a)) => {
                self.inmate(i).attendance.insert(d, Entry::new(a, conflict));
            }
            (MonthKey::Count(i, d, p), MonthValue::Quantity(q)) => {
                self.inmate(i)
                    .counts
                    .entry(d)
                    .or_default()
                    .insert(p, Entry::new(q, conflict));
            }
            (MonthKey::Assignment(i, d, p), MonthValue::Assigned) => {
                self.inmate(i).assignments.insert((d, p));
            }
            (MonthKey::TeamCount(d, p), MonthValue::Quantity(q)) => {
                self.team_counts.insert((d, p), Entry::new(q, conflict));
            }
            (MonthKey::Adjustment(i, id), MonthValue::Adjustment(a)) => {
                self.inmate(i)
                    .adjustments
                    .insert(id, Entry::new(a, conflict));
            }
            (MonthKey::Approval(i, t), MonthValue::Approval(cp)) => {
                self.inmate(i).approvals.insert(t, Entry::new(cp, conflict));
            }
            (MonthKey::GroupApproval(i, t), MonthValue::Approval(cp)) => {
                self.inmate(i)
                    .group_approvals
                    .insert(t, Entry::new(cp, conflict));
            }
            (MonthKey::Confirmation(i, d), MonthValue::Confirmation(c)) => {
                self.inmate(i)
                    .confirmations
                    .insert(d, Entry::new(c, conflict));
            }
            (MonthKey::TeamConfirmation(d, p), MonthValue::Confirmation(c)) => {
                self.team_confirmations
                    .insert((d, p), Entry::new(c, conflict));
            }
            (MonthKey::Seal, MonthValue::Seal(seal)) => {
                self.seal = Some(SealState {
                    seal,
                    change: ChangeHash([0; 32]),
                    author: Vec::new(),
                    conflict,
                });
                return Ok(true);
            }
            (MonthKey::Objection(id), MonthValue::Objection(o)) => {
                self.objections.insert(id, Entry::new(o, conflict));
            }
            (MonthKey::Review(_, id), MonthValue::Review(r)) => {
                self.reviews.insert(id, Entry::new(r, conflict));
            }
            (MonthKey::Posting(id), MonthValue::Posting(p)) => {
                self.postings.insert(id, Entry::new(p, conflict));
            }
            (MonthKey::Application(id), MonthValue::Application(a)) => {
                self.applications.insert(id, Entry::new(a, conflict));
            }
            // The key says who answered (the validator's roles hold it).
            (MonthKey::Answer(id), MonthValue::Answer(a)) => {
                self.answers.insert(id, Entry::new(a, conflict));
            }
            (MonthKey::FinalAnswer(id), MonthValue::Answer(a)) => {
                self.final_answers.insert(id, Entry::new(a, conflict));
            }
            (MonthKey::Acknowledgement(i), MonthValue::Acknowledgement(a)) => {
                self.acknowledgements.insert(i, Entry::new(a, conflict));
            }
            (MonthKey::Meta(_), _) => {}
            (k, v) => return Err(format!("value {v:?} does not belong at {k}")),
        }
        Ok(false)
    }
}
