//! The document of one district's month: attendance, procedure assignments,
//! per-inmate and per-team counts, adjustments and approvals.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{Automerge, Change, ROOT, ReadDoc, ScalarValue, ValueRef};
use sha2::{Digest as _, Sha256};

use crate::calendar::{Date, Month};
use crate::doc::{ChangeMeta, Document, SchemaError, Tx};
use crate::facts::{Entry, Problem, read_int, read_str, values_differ};
use crate::ids::{DistrictId, InmateNo, ProcedureId};
use crate::layout::{AdjustmentId, ApprovalTarget, DocId, MonthKey};
use crate::records::{Adjustment, Attendance, check_quantity};
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
}

/// The id of an adjustment of `inmate`: 16 hex digits of SHA-256 over its
/// inmate, date, points and reason.
pub fn adjustment_id(inmate: &InmateNo, a: &Adjustment) -> AdjustmentId {
    let mut h = Sha256::new();
    for part in [
        inmate.as_str(),
        &a.date.to_string(),
        &a.points_cp.0.to_string(),
        &a.reason,
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    AdjustmentId::from_digest(&h.finalize())
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

    pub fn facts(&self) -> MonthFacts {
        MonthFacts::read(self.district.clone(), self.month, self.doc.automerge())
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
    pub approvals: BTreeMap<ApprovalTarget, Entry<Cp>>,
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
    }
}

/// A month document's contents as plain data: what scoring reads.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthFacts {
    pub district: DistrictId,
    pub month: Month,
    pub inmates: BTreeMap<InmateNo, InmateMonth>,
    pub team_counts: BTreeMap<(u8, ProcedureId), Entry<u64>>,
    pub problems: Vec<Problem>,
}

impl MonthFacts {
    pub fn empty(district: DistrictId, month: Month) -> MonthFacts {
        MonthFacts {
            district,
            month,
            inmates: BTreeMap::new(),
            team_counts: BTreeMap::new(),
            problems: Vec::new(),
        }
    }

    /// Reads every record of the document in one ordered pass.
    pub fn read(district: DistrictId, month: Month, am: &Automerge) -> MonthFacts {
        let mut f = MonthFacts::empty(district, month);
        for item in am.map_range(ROOT, ..) {
            let key = item.key.as_ref();
            if let Err(reason) = f.read_one(am, key, &item.value, item.conflict) {
                f.problems.push(Problem {
                    key: key.to_string(),
                    reason,
                });
            }
        }
        f
    }

    fn inmate(&mut self, no: InmateNo) -> &mut InmateMonth {
        self.inmates.entry(no).or_default()
    }

    fn read_one(
        &mut self,
        am: &Automerge,
        key: &str,
        value: &ValueRef<'_>,
        conflict: bool,
    ) -> Result<(), String> {
        let k = MonthKey::parse(key, self.month).map_err(|e| e.to_string())?;
        let conflict = conflict && values_differ(am, key);
        let quantity = |v: &ValueRef<'_>| -> Result<u64, String> {
            check_quantity(read_int(v)?).map_err(|e| e.to_string())
        };
        match k {
            MonthKey::Meta(_) => {}
            MonthKey::Attendance(i, d) => {
                let a = Attendance::decode(read_str(value)?).map_err(|e| e.to_string())?;
                self.inmate(i).attendance.insert(d, Entry::new(a, conflict));
            }
            MonthKey::Count(i, d, p) => {
                let q = quantity(value)?;
                self.inmate(i)
                    .counts
                    .entry(d)
                    .or_default()
                    .insert(p, Entry::new(q, conflict));
            }
            MonthKey::Assignment(i, d, p) => {
                if read_int(value)? != 1 {
                    return Err("an assignment's value must be 1".into());
                }
                self.inmate(i).assignments.insert((d, p));
            }
            MonthKey::TeamCount(d, p) => {
                let q = quantity(value)?;
                self.team_counts.insert((d, p), Entry::new(q, conflict));
            }
            MonthKey::Adjustment(i, id) => {
                let a: Adjustment =
                    serde_json::from_str(read_str(value)?).map_err(|e| e.to_string())?;
                a.validate().map_err(|e| e.to_string())?;
                if !self.month.contains(a.date) {
                    return Err(format!(
                        "adjustment dated {} outside {}",
                        a.date, self.month
                    ));
                }
                if adjustment_id(&i, &a) != id {
                    return Err("adjustment id does not match its content".into());
                }
                self.inmate(i)
                    .adjustments
                    .insert(id, Entry::new(a, conflict));
            }
            MonthKey::Approval(i, target) => {
                let amount = Cp(read_int(value)?);
                self.inmate(i)
                    .approvals
                    .insert(target, Entry::new(amount, conflict));
            }
        }
        Ok(())
    }
}
