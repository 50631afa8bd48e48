//! The prison's registry document: districts, the inmate roster, products,
//! procedures with their standard-time versions, and rule sets.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{Change, ROOT, ReadDoc, ScalarValue, ValueRef};

use crate::schema::{RegistryValue, Scalar, decode_registry};

use crate::calendar::{Date, Month};
use crate::doc::{ChangeMeta, Document, SchemaError, Tx};
use crate::facts::{Entry, Problem};
use crate::ids::{DistrictId, InmateNo, ProcedureId, ProductId};
use crate::layout::{DocId, KeyHex, META_PRISON, RegistryKey};
use crate::records::{Inmate, ProcedureVersion, RecordError, check_text};
use crate::ruleset::RuleSet;

/// The registry document of one prison.
#[derive(Debug)]
pub struct RegistryDoc {
    doc: Document,
}

/// Typed writes to the registry, inside one transaction.
pub struct RegistryWriter<'t, 'a> {
    tx: &'t mut Tx<'a>,
}

impl RegistryWriter<'_, '_> {
    pub fn set_prison(&mut self, name: &str) -> Result<bool, SchemaError> {
        check_text("prison name", name)?;
        self.tx.put(META_PRISON, ScalarValue::Str(name.into()))
    }

    pub fn put_district(&mut self, id: &DistrictId, name: &str) -> Result<bool, SchemaError> {
        check_text("district name", name)?;
        let key = RegistryKey::District(id.clone()).to_string();
        self.tx.put(&key, ScalarValue::Str(name.into()))
    }

    pub fn put_inmate(&mut self, no: &InmateNo, inmate: &Inmate) -> Result<bool, SchemaError> {
        inmate.validate()?;
        let key = RegistryKey::Inmate(no.clone()).to_string();
        let json = serde_json::to_string(inmate).expect("an inmate always serializes");
        self.tx.put(&key, ScalarValue::Str(json.into()))
    }

    /// A transfer: from `date` (the first day there) the inmate is in `district`.
    pub fn put_transfer(
        &mut self,
        no: &InmateNo,
        date: Date,
        district: &DistrictId,
    ) -> Result<bool, SchemaError> {
        let key = RegistryKey::Transfer(no.clone(), date).to_string();
        self.tx
            .put(&key, ScalarValue::Str(district.as_str().into()))
    }

    /// Withdraws a transfer recorded in error.
    pub fn delete_transfer(&mut self, no: &InmateNo, date: Date) -> Result<bool, SchemaError> {
        let key = RegistryKey::Transfer(no.clone(), date).to_string();
        self.tx.delete(&key)
    }

    pub fn put_product(&mut self, id: &ProductId, name: &str) -> Result<bool, SchemaError> {
        check_text("product name", name)?;
        let key = RegistryKey::Product(id.clone()).to_string();
        self.tx.put(&key, ScalarValue::Str(name.into()))
    }

    /// Writes a product only if the registry has none of that id yet.
    pub fn ensure_product(&mut self, id: &ProductId) -> Result<bool, SchemaError> {
        let key = RegistryKey::Product(id.clone()).to_string();
        if self.tx.get_str(&key)?.is_some() {
            return Ok(false);
        }
        self.tx.put(&key, ScalarValue::Str(id.as_str().into()))
    }

    /// A standard-time version of `id` in force from `from` (a later `from`
    /// of the same procedure is a new version; the old one stays).
    pub fn put_procedure_version(
        &mut self,
        id: &ProcedureId,
        from: Date,
        version: &ProcedureVersion,
    ) -> Result<bool, SchemaError> {
        version.validate()?;
        let key = RegistryKey::Procedure(id.clone(), from).to_string();
        let json = serde_json::to_string(version).expect("a procedure always serializes");
        self.tx.put(&key, ScalarValue::Str(json.into()))
    }

    /// A signed trust record (officer certificate, revocation or device
    /// enrolment) as JSON. Its signature is the `keys` layer's to check.
    pub fn put_trust(&mut self, key: &RegistryKey, json: &str) -> Result<bool, SchemaError> {
        match key {
            RegistryKey::Officer(_) | RegistryKey::Revocation(_) | RegistryKey::Device(_) => {
                self.tx.put(&key.to_string(), ScalarValue::Str(json.into()))
            }
            other => Err(SchemaError::Record(RecordError::Malformed {
                value: other.to_string(),
                reason: "not a trust record path".into(),
            })),
        }
    }

    pub fn put_rule_set(&mut self, rules: &RuleSet) -> Result<bool, SchemaError> {
        rules.validate()?;
        let key = RegistryKey::RuleSet(rules.effective_from).to_string();
        self.tx.put(&key, ScalarValue::Str(rules.encode().into()))
    }
}

impl RegistryDoc {
    pub fn new() -> RegistryDoc {
        RegistryDoc {
            doc: Document::new(DocId::Registry),
        }
    }

    pub fn from_document(doc: Document) -> Result<RegistryDoc, SchemaError> {
        if doc.id() != &DocId::Registry {
            return Err(SchemaError::WrongDocument {
                expected: DocId::Registry,
                found: doc.id().to_string(),
            });
        }
        Ok(RegistryDoc { doc })
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

    /// One signed-to-be change of typed registry writes (see [`Document::transact`]).
    pub fn write<T>(
        &mut self,
        meta: &ChangeMeta,
        f: impl FnOnce(&mut RegistryWriter<'_, '_>) -> Result<T, SchemaError>,
    ) -> Result<(T, Option<Change>), SchemaError> {
        self.doc.transact(meta, |tx| f(&mut RegistryWriter { tx }))
    }

    /// Reads every record into plain typed facts.
    pub fn facts(&self) -> RegistryFacts {
        RegistryFacts::read(self.doc.automerge())
    }
}

impl Default for RegistryDoc {
    fn default() -> Self {
        RegistryDoc::new()
    }
}

/// The registry's contents as plain data: what scoring and validation read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegistryFacts {
    pub prison: Option<String>,
    pub districts: BTreeMap<DistrictId, Entry<String>>,
    pub inmates: BTreeMap<InmateNo, Entry<Inmate>>,
    /// Transfers (调监区) of each inmate: from each date, the district named.
    pub transfers: BTreeMap<InmateNo, BTreeMap<Date, Entry<DistrictId>>>,
    pub products: BTreeMap<ProductId, Entry<String>>,
    /// Versions of each procedure, ordered by the date they take effect.
    pub procedures: BTreeMap<ProcedureId, BTreeMap<Date, Entry<ProcedureVersion>>>,
    pub rule_sets: BTreeMap<Month, Entry<RuleSet>>,
    /// Signed trust records as JSON, by key (checked by the `keys` layer).
    pub officers: BTreeMap<KeyHex, Entry<String>>,
    pub revocations: BTreeMap<KeyHex, Entry<String>>,
    pub devices: BTreeMap<KeyHex, Entry<String>>,
    /// Records that could not be read, each with its key and reason.
    pub problems: Vec<Problem>,
}

impl RegistryFacts {
    pub fn read(am: &automerge::Automerge) -> RegistryFacts {
        let mut f = RegistryFacts::default();
        for item in am.map_range(ROOT, ..) {
            let key = item.key.as_ref();
            let conflict = item.conflict && crate::facts::values_differ(am, key, None);
            if let Err(reason) = f.read_one(key, &item.value, conflict) {
                f.problems.push(Problem {
                    key: key.to_string(),
                    reason,
                });
            }
        }
        f
    }

    fn read_one(&mut self, key: &str, value: &ValueRef<'_>, conflict: bool) -> Result<(), String> {
        let k = RegistryKey::parse(key).map_err(|e| e.to_string())?;
        let v = decode_registry(&k, Scalar::from(value))?;
        match (k, v) {
            (RegistryKey::Meta(m), RegistryValue::Text(t)) if m == "prison" => {
                self.prison = Some(t)
            }
            (RegistryKey::District(d), RegistryValue::Text(t)) => {
                self.districts.insert(d, Entry::new(t, conflict));
            }
            (RegistryKey::Product(p), RegistryValue::Text(t)) => {
                self.products.insert(p, Entry::new(t, conflict));
            }
            (RegistryKey::Inmate(no), RegistryValue::Inmate(i)) => {
                self.inmates.insert(no, Entry::new(i, conflict));
            }
            (RegistryKey::Transfer(no, date), RegistryValue::Transfer(d)) => {
                self.transfers
                    .entry(no)
                    .or_default()
                    .insert(date, Entry::new(d, conflict));
            }
            (RegistryKey::Procedure(p, from), RegistryValue::Procedure(v)) => {
                self.procedures
                    .entry(p)
                    .or_default()
                    .insert(from, Entry::new(v, conflict));
            }
            (RegistryKey::RuleSet(m), RegistryValue::RuleSet(r)) => {
                self.rule_sets.insert(m, Entry::new(r, conflict));
            }
            (RegistryKey::Officer(k), RegistryValue::Trust(j)) => {
                self.officers.insert(k, Entry::new(j, conflict));
            }
            (RegistryKey::Revocation(k), RegistryValue::Trust(j)) => {
                self.revocations.insert(k, Entry::new(j, conflict));
            }
            (RegistryKey::Device(k), RegistryValue::Trust(j)) => {
                self.devices.insert(k, Entry::new(j, conflict));
            }
            (RegistryKey::Meta(_), _) => {}
            (k, v) => return Err(format!("value {v:?} does not belong at {k}")),
        }
        Ok(())
    }

    /// The rule set in force for `month`: the latest one effective not after it.
    pub fn rule_set_for(&self, month: Month) -> Option<&RuleSet> {
        self.rule_sets
            .range(..=month)
            .next_back()
            .map(|(_, e)| &e.value)
    }

    /// The version of `procedure` in force on `date`, with the date it took effect.
    pub fn procedure_on(
        &self,
        procedure: &ProcedureId,
        date: Date,
    ) -> Option<(Date, &ProcedureVersion)> {
        self.procedures
            .get(procedure)?
            .range(..=date)
            .next_back()
            .map(|(d, e)| (*d, &e.value))
    }

    /// The district holding `no` on `date`: none when the inmate is not in
    /// the roster or not in custody that day; else the district of the
    /// latest transfer on or before the date, else the roster's.
    pub fn district_on(&self, no: &InmateNo, date: Date) -> Option<&DistrictId> {
        let inmate = &self.inmates.get(no)?.value;
        if !inmate.in_custody(date) {
            return None;
        }
        let moved = self
            .transfers
            .get(no)
            .and_then(|t| t.range(..=date).next_back())
            .map(|(_, e)| &e.value);
        Some(moved.unwrap_or(&inmate.district))
    }

    /// Who held `no` on each day of `month` (RULES.md, "Districts and transfers").
    pub fn custody(&self, no: &InmateNo, month: Month) -> Custody<'_> {
        // As `district_on` day by day, with the inmate and their transfers
        // looked up once (this runs for every inmate a report reads).
        let inmate = self.inmates.get(no).map(|e| &e.value);
        let moves = self.transfers.get(no);
        Custody {
            month,
            days: month
                .dates()
                .map(|d| {
                    let i = inmate.filter(|i| i.in_custody(d))?;
                    let moved = moves
                        .and_then(|t| t.range(..=d).next_back())
                        .map(|(_, e)| &e.value);
                    Some(moved.unwrap_or(&i.district))
                })
                .collect(),
        }
    }

    /// Whether `no` changes district during `month`: a transfer dated after
    /// its first day (and not after its last). Otherwise one district holds
    /// the inmate on every day of the month they are in custody.
    fn moves_within(&self, no: &InmateNo, month: Month) -> bool {
        self.transfers.get(no).is_some_and(|t| {
            t.range(month.first()..=month.last())
                .any(|(d, _)| *d > month.first())
        })
    }

    /// Inmates held by `district` on at least one day of `month`.
    pub fn inmates_of(
        &self,
        district: &DistrictId,
        month: Month,
    ) -> impl Iterator<Item = (&InmateNo, &Inmate)> {
        self.inmates.iter().filter_map(move |(no, e)| {
            let i = &e.value;
            let overlaps =
                i.admitted <= month.last() && i.released.is_none_or(|r| r >= month.first());
            let held = overlaps
                && if self.moves_within(no, month) {
                    self.custody(no, month).districts().contains(district)
                } else if self.transfers.contains_key(no) {
                    // In custody on this day (the stay overlaps the month).
                    let day = i.admitted.max(month.first());
                    self.district_on(no, day) == Some(district)
                } else {
                    &i.district == district
                };
            held.then_some((no, i))
        })
    }

    /// The other districts whose month documents `district`'s report for
    /// `month` reads: every district that held, on some day of the month,
    /// an inmate `district` reports (the one holding them on the last
    /// custody day).
    pub fn sources_of(&self, district: &DistrictId, month: Month) -> BTreeSet<DistrictId> {
        let mut out = BTreeSet::new();
        // Only an inmate moved during the month is held by two districts.
        for no in self
            .transfers
            .keys()
            .filter(|no| self.moves_within(no, month))
        {
            let c = self.custody(no, month);
            if c.reporting() == Some(district) {
                out.extend(
                    c.districts()
                        .into_iter()
                        .filter(|d| *d != district)
                        .cloned(),
                );
            }
        }
        out
    }
}

/// Which district held one inmate on each day of one month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Custody<'a> {
    pub month: Month,
    /// By day of the month, from the 1st: the holding district, or `None`
    /// when not in custody.
    pub days: Vec<Option<&'a DistrictId>>,
}

impl<'a> Custody<'a> {
    /// The district holding the inmate on `day` (1-based).
    pub fn holder(&self, day: u8) -> Option<&'a DistrictId> {
        self.days
            .get(usize::from(day).wrapping_sub(1))
            .copied()
            .flatten()
    }

    /// `C`: days in custody.
    pub fn custody_days(&self) -> u32 {
        self.days.iter().filter(|d| d.is_some()).count() as u32
    }

    /// The district that scores the month: the one holding the inmate on
    /// the last custody day (调入监区汇总).
    pub fn reporting(&self) -> Option<&'a DistrictId> {
        self.days.iter().rev().find_map(|d| *d)
    }

    /// Every district that held the inmate this month.
    pub fn districts(&self) -> BTreeSet<&'a DistrictId> {
        self.days.iter().filter_map(|d| *d).collect()
    }

    /// Moves out of `district` during the month: the first day elsewhere
    /// and the district moved to.
    pub fn moves_out_of(&self, district: &DistrictId) -> Vec<(Date, &'a DistrictId)> {
        let mut out = Vec::new();
        let mut prev: Option<&DistrictId> = None;
        for (i, d) in self.days.iter().enumerate() {
            if let (Some(p), Some(now)) = (prev, *d)
                && p == district
                && now != district
                && let Some(date) = self.month.day(i as u8 + 1)
            {
                out.push((date, now));
            }
            if d.is_some() {
                prev = *d;
            }
        }
        out
    }
}
