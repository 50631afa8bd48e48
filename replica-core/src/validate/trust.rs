//! The trust state a registry holds: officer certificates, revocations (with
//! the registry change that recorded each) and device enrolments, all checked
//! against the pinned authority key.

use std::collections::{BTreeMap, BTreeSet};

use crdt_schema::automerge::{Automerge, ChangeHash, ROOT, ReadDoc, Value};
use crdt_schema::schema::Scalar;
use crdt_schema::{KeyHex, RegistryKey};
use keys::{Certificate, DeviceCert, PublicKey, Revocation};

use super::History;

/// Certificates, revocations and devices of one registry state.
#[derive(Debug, Clone)]
pub struct Trust {
    authority: PublicKey,
    officers: BTreeMap<PublicKey, Vec<Certificate>>,
    revocations: BTreeMap<PublicKey, Vec<(ChangeHash, Revocation)>>,
    devices: BTreeMap<PublicKey, DeviceCert>,
    /// Trust records that do not verify (never applied by an honest node;
    /// reported if found).
    pub problems: Vec<String>,
}

fn key_range(prefix: &str) -> std::ops::Range<String> {
    format!("{prefix}/")..format!("{prefix}0")
}

/// Checks a trust record of an incoming change: the JSON verifies under the
/// authority and names the key its path names.
pub fn check_record(
    authority: &PublicKey,
    key: &str,
    value: Option<Scalar<'_>>,
) -> Result<(), String> {
    let Some(value) = value else {
        return Err("trust records are never deleted".into());
    };
    let json = value.str()?;
    let k = RegistryKey::parse(key).map_err(|e| e.to_string())?;
    let named = |pk: &PublicKey, path: &KeyHex| {
        if pk.to_string() == path.as_str() {
            Ok(())
        } else {
            Err(format!("record is for key {pk}, stored under {path}"))
        }
    };
    match k {
        RegistryKey::Officer(p) => {
            let c = Certificate::from_json(json).map_err(|e| e.to_string())?;
            c.verify(authority).map_err(|e| e.to_string())?;
            named(&c.body.public_key, &p)
        }
        RegistryKey::Revocation(p) => {
            let r = Revocation::from_json(json).map_err(|e| e.to_string())?;
            r.verify(authority).map_err(|e| e.to_string())?;
            named(&r.body.public_key, &p)
        }
        RegistryKey::Device(p) => {
            let d = DeviceCert::from_json(json).map_err(|e| e.to_string())?;
            d.verify(authority).map_err(|e| e.to_string())?;
            named(&d.body.endpoint_id, &p)
        }
        other => Err(format!("{other} is not a trust record")),
    }
}

/// Every value at `key` with the change that wrote it (several in conflict).
fn values_with_changes(am: &Automerge, key: &str) -> Vec<(String, Option<ChangeHash>)> {
    am.get_all(ROOT, key)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(v, id)| match v {
            Value::Scalar(s) => match s.as_ref() {
                crdt_schema::automerge::ScalarValue::Str(s) => {
                    Some((s.to_string(), am.hash_for_opid(&id)))
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Trust records already checked against the authority, so that rebuilding
/// [`Trust`] after each registry change verifies only the new records.
#[derive(Debug, Default, Clone)]
pub struct Checked(BTreeSet<(String, String)>);

impl Trust {
    /// Reads the trust records of a registry document.
    pub fn from_registry(authority: PublicKey, am: &Automerge) -> Trust {
        Trust::from_registry_checked(authority, am, &mut Checked::default())
    }

    /// Reads the trust records of a registry document, skipping the
    /// signature check of records in `checked` (and adding those that pass).
    /// `checked` must only ever be used with the same `authority`.
    pub fn from_registry_checked(
        authority: PublicKey,
        am: &Automerge,
        checked: &mut Checked,
    ) -> Trust {
        let mut t = Trust {
            authority,
            officers: BTreeMap::new(),
            revocations: BTreeMap::new(),
            devices: BTreeMap::new(),
            problems: Vec::new(),
        };
        for prefix in ["officer", "revoked", "device"] {
            let keys: Vec<String> = am
                .map_range(ROOT, key_range(prefix))
                .map(|i| i.key.to_string())
                .collect();
            for key in keys {
                for (json, change) in values_with_changes(am, &key) {
                    let record = (key.clone(), json);
                    let known = checked.0.contains(&record);
                    match t.add(&record.0, &record.1, change, known) {
                        Ok(()) => {
                            if !known {
                                checked.0.insert(record);
                            }
                        }
                        Err(e) => t.problems.push(format!("{key}: {e}")),
                    }
                }
            }
        }
        t
    }

    fn add(
        &mut self,
        key: &str,
        json: &str,
        change: Option<ChangeHash>,
        already_checked: bool,
    ) -> Result<(), String> {
        if !already_checked {
            check_record(&self.authority, key, Some(Scalar::Str(json)))?;
        }
        match RegistryKey::parse(key).map_err(|e| e.to_string())? {
            RegistryKey::Officer(_) => {
                let c = Certificate::from_json(json).map_err(|e| e.to_string())?;
                let list = self.officers.entry(c.body.public_key).or_default();
                if !list.contains(&c) {
                    list.push(c);
                }
            }
            RegistryKey::Revocation(_) => {
                let r = Revocation::from_json(json).map_err(|e| e.to_string())?;
                let change = change.ok_or("revocation without a recording change")?;
                self.revocations
                    .entry(r.body.public_key)
                    .or_default()
                    .push((change, r));
            }
            RegistryKey::Device(_) => {
                let d = DeviceCert::from_json(json).map_err(|e| e.to_string())?;
                self.devices.insert(d.body.endpoint_id, d);
            }
            _ => {}
        }
        Ok(())
    }

    pub fn authority(&self) -> &PublicKey {
        &self.authority
    }

    /// Valid certificates of a key.
    pub fn certificates(&self, key: &PublicKey) -> &[Certificate] {
        self.officers.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Registry changes that recorded a revocation of `key`.
    pub fn revocations(&self, key: &PublicKey) -> impl Iterator<Item = &ChangeHash> {
        self.revocations
            .get(key)
            .into_iter()
            .flatten()
            .map(|(h, _)| h)
    }

    pub fn is_revoked(&self, key: &PublicKey) -> bool {
        self.revocations.contains_key(key)
    }

    /// Every certificate, by key.
    pub fn officers(&self) -> impl Iterator<Item = (&PublicKey, &Certificate)> {
        self.officers
            .iter()
            .flat_map(|(k, v)| v.iter().map(move |c| (k, c)))
    }

    /// Certificates of an officer number (one per key issued).
    pub fn by_officer_no(&self, no: &str) -> Vec<&Certificate> {
        self.officers()
            .filter(|(_, c)| c.body.officer_no == no)
            .map(|(_, c)| c)
            .collect()
    }

    pub fn devices(&self) -> impl Iterator<Item = &DeviceCert> {
        self.devices.values()
    }

    pub fn is_enrolled(&self, endpoint: &PublicKey) -> bool {
        self.devices.contains_key(endpoint)
    }
}

/// Answers "is change X in the history of heads H?" over a document's change
/// graph, caching each history it walks.
#[derive(Debug, Default)]
pub struct Ancestry {
    cache: BTreeMap<Vec<ChangeHash>, BTreeSet<ChangeHash>>,
}

impl Ancestry {
    /// Whether `target` is one of `heads` or an ancestor of one, in `doc`.
    pub fn reaches(
        &mut self,
        doc: &dyn History,
        heads: &[ChangeHash],
        target: &ChangeHash,
    ) -> bool {
        let mut key = heads.to_vec();
        key.sort();
        if !self.cache.contains_key(&key) {
            let mut seen = BTreeSet::new();
            let mut stack: Vec<ChangeHash> = key.clone();
            while let Some(h) = stack.pop() {
                if !seen.insert(h) {
                    continue;
                }
                if let Some(deps) = doc.deps(&h) {
                    stack.extend(deps);
                }
            }
            self.cache.insert(key.clone(), seen);
        }
        self.cache[&key].contains(target)
    }
}
