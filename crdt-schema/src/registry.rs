//! The prison's registry document: districts, the inmate roster, products,
//! procedures with their standard-time versions, and rule sets.

use std::collections::BTreeMap;

use automerge::{Change, ROOT, ReadDoc, ScalarValue, ValueRef};

use crate::calendar::{Date, Month};
use crate::doc::{ChangeMeta, Document, SchemaError, Tx};
use crate::facts::{Entry, Problem, read_str};
use crate::ids::{DistrictId, InmateNo, ProcedureId, ProductId};
use crate::layout::{DocId, META_PRISON, RegistryKey, prefix_range};
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
    pub products: BTreeMap<ProductId, Entry<String>>,
    /// Versions of each procedure, ordered by the date they take effect.
    pub procedures: BTreeMap<ProcedureId, BTreeMap<Date, Entry<ProcedureVersion>>>,
    pub rule_sets: BTreeMap<Month, Entry<RuleSet>>,
    /// Records that could not be read, each with its key and reason.
    pub problems: Vec<Problem>,
}

fn decode_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, RecordError> {
    serde_json::from_str(s).map_err(|e| RecordError::Malformed {
        value: s.chars().take(80).collect(),
        reason: e.to_string(),
    })
}

impl RegistryFacts {
    pub fn read(am: &automerge::Automerge) -> RegistryFacts {
        let mut f = RegistryFacts::default();
        if let Ok(Some((automerge::Value::Scalar(s), _))) = am.get(ROOT, META_PRISON)
            && let ScalarValue::Str(s) = s.as_ref()
        {
            f.prison = Some(s.to_string());
        }
        for prefix in ["district/", "inmate/", "product/", "procedure/", "ruleset/"] {
            for item in am.map_range(ROOT, prefix_range(prefix)) {
                let key = item.key.as_ref();
                if let Err(reason) = f.read_one(am, key, &item.value, item.conflict) {
                    f.problems.push(Problem {
                        key: key.to_string(),
                        reason,
                    });
                }
            }
        }
        f
    }

    fn read_one(
        &mut self,
        am: &automerge::Automerge,
        key: &str,
        value: &ValueRef<'_>,
        conflict: bool,
    ) -> Result<(), String> {
        let k = RegistryKey::parse(key).map_err(|e| e.to_string())?;
        let s = read_str(value)?;
        let conflict = conflict && crate::facts::values_differ(am, key);
        let text = |field: &'static str| -> Result<Entry<String>, String> {
            check_text(field, s).map_err(|e| e.to_string())?;
            Ok(Entry::new(s.to_string(), conflict))
        };
        match k {
            RegistryKey::District(d) => {
                self.districts.insert(d, text("district name")?);
            }
            RegistryKey::Product(p) => {
                self.products.insert(p, text("product name")?);
            }
            RegistryKey::Inmate(no) => {
                let i: Inmate = decode_json(s).map_err(|e| e.to_string())?;
                i.validate().map_err(|e| e.to_string())?;
                self.inmates.insert(no, Entry::new(i, conflict));
            }
            RegistryKey::Procedure(p, from) => {
                let v: ProcedureVersion = decode_json(s).map_err(|e| e.to_string())?;
                v.validate().map_err(|e| e.to_string())?;
                self.procedures
                    .entry(p)
                    .or_default()
                    .insert(from, Entry::new(v, conflict));
            }
            RegistryKey::RuleSet(m) => {
                let r = RuleSet::decode(s).map_err(|e| e.to_string())?;
                if r.effective_from != m {
                    return Err(format!(
                        "rule set says it is effective from {}",
                        r.effective_from
                    ));
                }
                self.rule_sets.insert(m, Entry::new(r, conflict));
            }
            RegistryKey::Meta(_) => {}
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

    /// Roster inmates of `district` in custody on at least one day of `month`.
    pub fn inmates_of(
        &self,
        district: &DistrictId,
        month: Month,
    ) -> impl Iterator<Item = (&InmateNo, &Inmate)> {
        self.inmates.iter().filter_map(move |(no, e)| {
            let i = &e.value;
            let overlaps =
                i.admitted <= month.last() && i.released.is_none_or(|r| r >= month.first());
            (&i.district == district && overlaps).then_some((no, i))
        })
    }
}
