//! The audit trail of an inmate-month: for every record behind the inmate's
//! figures, every signed change that wrote it — who (officer number, name,
//! role), when (as the author stated), what, and whether the signature checks.

use std::collections::{BTreeMap, BTreeSet};

use crdt_schema::automerge::legacy::{Key, ObjectId, OpType};
use crdt_schema::automerge::{Automerge, ChangeHash, ROOT, ReadDoc};
use crdt_schema::schema::Scalar;
use crdt_schema::{ChangeNote, DocId, InmateNo, MonthFacts, MonthKey, RegistryKey};
use keys::{PublicKey, Signature};
use serde::Serialize;

use crate::validate::{SignedChange, Trust, date_of};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureStatus {
    Valid,
    Invalid,
    Missing,
}

impl SignatureStatus {
    pub fn label_zh(self) -> &'static str {
        match self {
            SignatureStatus::Valid => "签名有效",
            SignatureStatus::Invalid => "签名无效",
            SignatureStatus::Missing => "无签名",
        }
    }
}

/// One write of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Write {
    pub change: String,
    pub officer_no: Option<String>,
    pub name: Option<String>,
    pub role: Option<String>,
    /// The author's key (hex), whether or not a certificate names it.
    pub author: String,
    /// Seconds since the epoch, as the author stated.
    pub time: i64,
    /// The stated date (China Standard Time).
    pub date: Option<String>,
    pub message: String,
    /// The value written; `None` for a deletion.
    pub value: Option<String>,
    /// This write's value is the record's current value.
    pub current: bool,
    pub signature: SignatureStatus,
    /// The author's key was revoked concurrently with this change.
    pub concurrent_revocation: bool,
}

/// Every write of one record, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordTrail {
    /// The document the record is in.
    pub doc: String,
    pub key: String,
    pub writes: Vec<Write>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditTrail {
    pub inmate_no: InmateNo,
    pub district: String,
    pub month: String,
    pub records: Vec<RecordTrail>,
}

fn value_text(v: Option<Scalar<'_>>) -> Option<String> {
    v.map(|v| match v {
        Scalar::Str(s) => s.to_string(),
        Scalar::Int(i) => i.to_string(),
        Scalar::Other(w) => format!("<{w}>"),
    })
}

/// The changes of `am` touching the keys `wanted` accepts, as writes.
fn trail(
    doc: &DocId,
    am: &Automerge,
    signatures: &BTreeMap<ChangeHash, Signature>,
    trust: &Trust,
    wanted: &dyn Fn(&str) -> bool,
) -> BTreeMap<String, Vec<Write>> {
    // The change behind each current value, to mark it.
    let mut out: BTreeMap<String, Vec<Write>> = BTreeMap::new();
    for change in am.get_changes(&[]) {
        let expanded = change.decode();
        let touched: Vec<(String, Option<String>)> = expanded
            .operations
            .iter()
            .filter(|op| op.obj == ObjectId::Root)
            .filter_map(|op| match (&op.key, &op.action) {
                (Key::Map(k), OpType::Put(v)) if wanted(k) => {
                    Some((k.to_string(), value_text(Some(Scalar::from(v)))))
                }
                (Key::Map(k), OpType::Delete) if wanted(k) => Some((k.to_string(), None)),
                _ => None,
            })
            .collect();
        if touched.is_empty() {
            continue;
        }
        let hash = change.hash();
        let author = crate::validate::signed::author_of(&change, am)
            .and_then(|a| PublicKey::from_slice(&a).ok());
        let cert = author.and_then(|k| trust.certificates(&k).first().cloned());
        let signature = match (signatures.get(&hash), author) {
            (None, _) => SignatureStatus::Missing,
            (Some(_), None) => SignatureStatus::Invalid,
            (Some(sig), Some(author)) => {
                let sc = SignedChange {
                    change: change.clone(),
                    signature: *sig,
                };
                if sc.verify(doc, &author) {
                    SignatureStatus::Valid
                } else {
                    SignatureStatus::Invalid
                }
            }
        };
        let note = ChangeNote::of(change.message()).unwrap_or_default();
        for (key, value) in touched {
            let current = am
                .get_all(ROOT, key.as_str())
                .unwrap_or_default()
                .iter()
                .any(|(_, id)| am.hash_for_opid(id) == Some(hash));
            out.entry(key).or_default().push(Write {
                change: hash.to_string(),
                officer_no: cert.as_ref().map(|c| c.body.officer_no.clone()),
                name: cert.as_ref().map(|c| c.body.name.clone()),
                role: cert.as_ref().map(|c| c.body.role.to_string()),
                author: author.map(|k| k.to_string()).unwrap_or_default(),
                time: change.timestamp(),
                date: date_of(change.timestamp()).map(|d| d.to_string()),
                message: note.msg.clone(),
                value,
                current,
                signature,
                concurrent_revocation: author.is_some_and(|k| trust.is_revoked(&k)),
            });
        }
    }
    out
}

/// Who wrote the acknowledgement of each inmate's monthly sheet (the
/// current value's change, as its signature and certificate say): the
/// recording officer the 月评表 names.
pub fn acknowledged_by(
    month_doc: &DocId,
    month: &Automerge,
    signatures: &BTreeMap<ChangeHash, Signature>,
    trust: &Trust,
) -> BTreeMap<InmateNo, Write> {
    let DocId::Month { month: m, .. } = month_doc else {
        return BTreeMap::new();
    };
    let is_ack = |key: &str| matches!(MonthKey::parse(key, *m), Ok(MonthKey::Acknowledgement(_)));
    trail(month_doc, month, signatures, trust, &is_ack)
        .into_iter()
        .filter_map(|(key, writes)| {
            let Ok(MonthKey::Acknowledgement(no)) = MonthKey::parse(&key, *m) else {
                return None;
            };
            // The write of the value the report shows (Automerge's winner
            // among concurrent ones), and only if its signature holds.
            let winner = month
                .get(ROOT, key.as_str())
                .ok()
                .flatten()
                .and_then(|(_, id)| month.hash_for_opid(&id))
                .map(|h| h.to_string())?;
            writes
                .into_iter()
                .find(|w| w.change == winner && w.signature == SignatureStatus::Valid)
                .map(|w| (no, w))
        })
        .collect()
}

/// The audit trail of `inmate` in a district-month: the inmate's own records,
/// the team counts they share in, and their roster entries (the registry's,
/// and those of `rosters`: the shards up to the month's year).
#[allow(clippy::too_many_arguments)]
pub fn audit_inmate(
    month_doc: &DocId,
    month: &Automerge,
    month_signatures: &BTreeMap<ChangeHash, Signature>,
    facts: &MonthFacts,
    registry: &Automerge,
    registry_signatures: &BTreeMap<ChangeHash, Signature>,
    rosters: &[RosterShard<'_>],
    trust: &Trust,
    inmate: &InmateNo,
) -> AuditTrail {
    let DocId::Month { district, month: m } = month_doc else {
        unreachable!("audit_inmate is given a month document")
    };
    let teams: BTreeSet<String> = facts
        .inmates
        .get(inmate)
        .map(|rec| {
            rec.assignments
                .iter()
                .flat_map(|(d, p)| {
                    [
                        MonthKey::TeamCount(*d, p.clone()).to_string(),
                        MonthKey::TeamConfirmation(*d, p.clone()).to_string(),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    let mine = |key: &str| -> bool {
        teams.contains(key)
            || MonthKey::parse(key, *m)
                .ok()
                .is_some_and(|k| k.inmate() == Some(inmate))
    };
    let roster_key = RegistryKey::Inmate(inmate.clone()).to_string();
    let mut records = Vec::new();
    for (key, writes) in trail(
        &DocId::Registry,
        registry,
        registry_signatures,
        trust,
        &|k| k == roster_key,
    ) {
        records.push(RecordTrail {
            doc: DocId::Registry.to_string(),
            key,
            writes,
        });
    }
    // The inmate's admission, release and transfers in the roster's shards
    // the month reads.
    for shard in rosters {
        let DocId::Roster { year } = shard.id else {
            continue;
        };
        let theirs = |k: &str| {
            crdt_schema::RosterKey::parse(k, year)
                .ok()
                .is_some_and(|k| k.inmate() == Some(inmate))
        };
        for (key, writes) in trail(&shard.id, shard.doc, shard.signatures, trust, &theirs) {
            records.push(RecordTrail {
                doc: shard.id.to_string(),
                key,
                writes,
            });
        }
    }
    for (key, writes) in trail(month_doc, month, month_signatures, trust, &mine) {
        records.push(RecordTrail {
            doc: month_doc.to_string(),
            key,
            writes,
        });
    }
    AuditTrail {
        inmate_no: inmate.clone(),
        district: district.to_string(),
        month: m.to_string(),
        records,
    }
}

/// A roster shard and its changes' signatures, for [`audit_inmate`].
pub struct RosterShard<'a> {
    pub id: DocId,
    pub doc: &'a Automerge,
    pub signatures: &'a BTreeMap<ChangeHash, Signature>,
}
