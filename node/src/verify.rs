//! Independent verification of a bundle (`tally verify`): rebuild every
//! document from nothing, admitting each change only if it passes exactly the
//! validation a replica applies, against an authority key the verifier
//! supplies (never one taken from the bundle); recompute every report; check
//! it against the chief's seal.

use std::collections::BTreeMap;

use crdt_schema::automerge::Automerge;
use crdt_schema::{
    ChangeNote, DocId, Document, MonthDoc, RegistryDoc, digest_to_seal, score_month,
};
use keys::PublicKey;
use serde::Serialize;

use crate::bundle::Bundle;
use crate::validate::{SignedChange, Trust, Validator, Verdict};

/// One signer's share of the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signer {
    pub officer_no: String,
    pub name: String,
    pub role: String,
    pub district: Option<String>,
    pub changes: u32,
    /// Changes made concurrently with a revocation of this key (accepted, flagged).
    pub concurrent_with_revocation: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SealCheck {
    /// Officer number of the chief who sealed.
    pub by: String,
    pub sealed_digest: String,
    /// The report recomputed at the sealed state equals the sealed digest.
    pub matches: bool,
    /// Inmates changed after the seal.
    pub amended: u32,
    /// The report now equals the sealed digest.
    pub current: bool,
    /// The report no longer matches though no record changed: the registry did.
    pub registry_changed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthCheck {
    pub district: String,
    pub month: String,
    /// Digest of the report recomputed from the verified changes.
    pub digest: Option<String>,
    pub changes: u32,
    pub inmates: u32,
    pub seal: Option<SealCheck>,
}

/// The outcome of `tally verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    /// The single month's digest, for a one-district bundle.
    pub digest: Option<String>,
    pub prison: String,
    pub authority: String,
    pub registry_changes: u32,
    pub months: Vec<MonthCheck>,
    pub signers: Vec<Signer>,
    /// Everything that failed, each with its precise reason.
    pub problems: Vec<String>,
    /// Things worth knowing that are not failures (unsealed month …).
    pub notes: Vec<String>,
}

struct Tally {
    signers: BTreeMap<PublicKey, Signer>,
    problems: Vec<String>,
}

impl Tally {
    fn signed_by(&mut self, officer: &keys::Certificate, concurrent_revocation: bool) {
        let b = &officer.body;
        let s = self.signers.entry(b.public_key).or_insert_with(|| Signer {
            officer_no: b.officer_no.clone(),
            name: b.name.clone(),
            role: b.role.to_string(),
            district: b.district.as_ref().map(|d| d.to_string()),
            changes: 0,
            concurrent_with_revocation: 0,
        });
        s.changes += 1;
        s.concurrent_with_revocation += u32::from(concurrent_revocation);
    }

    fn judged(&mut self, doc: &DocId, sc: &SignedChange, verdict: &Verdict) -> bool {
        let short = &sc.hash().to_string()[..12];
        match verdict {
            Verdict::Accept {
                officer,
                concurrent_revocation,
            } => {
                self.signed_by(officer, *concurrent_revocation);
                true
            }
            Verdict::Refuse(r) => {
                self.problems.push(format!("{doc}: change {short}: {r}"));
                false
            }
            Verdict::Pending(p) => {
                self.problems
                    .push(format!("{doc}: change {short}: cannot be verified: {p}"));
                false
            }
        }
    }
}

/// Verifies a bundle's bytes against `authority`.
pub fn verify(bytes: &[u8], authority: &PublicKey) -> VerifyReport {
    let mut report = VerifyReport {
        ok: false,
        digest: None,
        prison: String::new(),
        authority: authority.to_string(),
        registry_changes: 0,
        months: Vec::new(),
        signers: Vec::new(),
        problems: Vec::new(),
        notes: Vec::new(),
    };
    let bundle = match Bundle::decode(bytes) {
        Ok(b) => b,
        Err(e) => {
            report.problems.push(e.to_string());
            return report;
        }
    };
    report.prison = bundle.header.prison.clone();
    if bundle.header.authority != authority.to_string() {
        report.notes.push(format!(
            "the exporter trusted authority {}…, not the one given",
            bundle.header.authority.chars().take(16).collect::<String>()
        ));
    }
    let mut tally = Tally {
        signers: BTreeMap::new(),
        problems: Vec::new(),
    };

    // The registry, change by change: each is judged against the trust its
    // predecessors established.
    let mut registry = Automerge::new();
    let mut trust = Trust::from_registry(*authority, &registry);
    let Bundle {
        header: _,
        registry: registry_changes,
        months,
    } = bundle;
    let no_months = months.is_empty();
    let had_registry = !registry_changes.is_empty();
    for sc in registry_changes {
        let verdict = Validator::new(&trust, &registry).judge(&DocId::Registry, &registry, &sc);
        if tally.judged(&DocId::Registry, &sc, &verdict) {
            if let Err(e) = registry.apply_changes([sc.change]) {
                tally.problems.push(format!("registry: {e}"));
                continue;
            }
            report.registry_changes += 1;
            trust = Trust::from_registry(*authority, &registry);
        }
    }
    if had_registry && trust.officers().next().is_none() {
        tally.problems.push(
            "no certificate in the bundle verifies under the given authority key: the bundle is from another authority"
                .into(),
        );
    }
    let registry = match Document::from_automerge(DocId::Registry, registry)
        .and_then(RegistryDoc::from_document)
    {
        Ok(r) => r,
        Err(e) => {
            tally.problems.push(format!("registry: {e}"));
            report.problems = tally.problems;
            return report;
        }
    };
    let facts = registry.facts();

    // Each month document is verified on its own (they are independent
    // given the registry): in parallel, the results merged in document order
    // so the report never depends on scheduling.
    let months: Vec<(DocId, Vec<SignedChange>)> = months.into_iter().collect();
    let checked = crate::read::parallel_into(months, |(doc_id, changes)| {
        check_month(&doc_id, changes, &trust, &registry, &facts)
    });
    for m in checked {
        for (officer, concurrent) in &m.signers {
            tally.signed_by(officer, *concurrent);
        }
        tally.problems.extend(m.problems);
        report.notes.extend(m.notes);
        report.months.extend(m.check);
    }
    if no_months {
        tally
            .problems
            .push("the bundle holds no month document".into());
    }
    for s in tally.signers.values() {
        if s.concurrent_with_revocation > 0 {
            report.notes.push(format!(
                "{} changes by officer {} were made concurrently with the revocation of their key",
                s.concurrent_with_revocation, s.officer_no
            ));
        }
    }
    report.signers = tally.signers.into_values().collect();
    report
        .signers
        .sort_by(|a, b| a.officer_no.cmp(&b.officer_no));
    report.problems = tally.problems;
    report.ok = report.problems.is_empty();
    if report.months.len() == 1 {
        report.digest = report.months[0].digest.clone();
    }
    report
}

/// What verifying one month document found.
struct MonthOutcome {
    check: Option<MonthCheck>,
    /// The certificate behind each accepted change, and whether it was made
    /// concurrently with a revocation.
    signers: Vec<(Box<keys::Certificate>, bool)>,
    problems: Vec<String>,
    notes: Vec<String>,
}

/// Rebuilds one month document from `changes` under the verified registry,
/// recomputes its report and checks it against the chief's seal.
fn check_month(
    doc_id: &DocId,
    changes: Vec<SignedChange>,
    trust: &Trust,
    registry: &RegistryDoc,
    facts: &crdt_schema::RegistryFacts,
) -> MonthOutcome {
    let mut out = MonthOutcome {
        check: None,
        signers: Vec::new(),
        problems: Vec::new(),
        notes: Vec::new(),
    };
    // Judge change by change against what was accepted before it, then
    // apply everything accepted in one batch.
    let empty = Automerge::new();
    let admission = Validator::new(trust, registry.document().automerge()).admit(
        doc_id,
        &empty,
        changes,
        &mut crate::validate::ActorSeqs::default(),
    );
    let accepted = admission.accepted.len() as u32;
    out.signers = admission
        .accepted
        .iter()
        .map(|a| (a.officer.clone(), a.concurrent_revocation))
        .collect();
    for (sc, r) in &admission.refused {
        out.problems.push(format!(
            "{doc_id}: change {}: {r}",
            &sc.hash().to_string()[..12]
        ));
    }
    for (sc, p) in &admission.pending {
        out.problems.push(format!(
            "{doc_id}: change {}: cannot be verified: {p}",
            &sc.hash().to_string()[..12]
        ));
    }
    let mut am = Automerge::new();
    let batch: Vec<_> = admission
        .accepted
        .into_iter()
        .map(|a| a.change.change)
        .collect();
    if let Err(e) = am.apply_changes(batch) {
        out.problems.push(format!("{doc_id}: {e}"));
    }
    let DocId::Month { district, month } = doc_id else {
        return out;
    };
    let mut check = MonthCheck {
        district: district.to_string(),
        month: month.to_string(),
        digest: None,
        changes: accepted,
        inmates: 0,
        seal: None,
    };
    match Document::from_automerge(doc_id.clone(), am).and_then(MonthDoc::from_document) {
        Ok(m) => {
            let mf = m.facts();
            match score_month(facts, &mf) {
                Ok(r) => {
                    check.digest = Some(r.digest.0.clone());
                    check.inmates = r.body.inmates.len() as u32;
                    if let Some(seal) = &mf.seal {
                        // The report at the sealed state, as the chief saw it:
                        // the month as the seal's change saw it, scored with
                        // the registry as it stood then (the heads its note
                        // names) — a standard time changed since is no forgery.
                        let registry_then = m
                            .document()
                            .automerge()
                            .get_change_meta_by_hash(&seal.change)
                            .and_then(|meta| ChangeNote::of(meta.message.as_deref()).ok())
                            .and_then(|note| note.registry_heads().ok())
                            .filter(|heads| !heads.is_empty())
                            .and_then(|heads| registry.document().automerge().fork_at(&heads).ok())
                            .and_then(|am| Document::from_automerge(DocId::Registry, am).ok())
                            .and_then(|d| RegistryDoc::from_document(d).ok())
                            .map(|r| r.facts());
                        if registry_then.is_none() {
                            out.notes.push(format!(
                                "{doc_id}: the registry as it stood at the seal is not in the bundle; the sealed state is compared under the current registry"
                            ));
                        }
                        let sealed_registry = registry_then.as_ref().unwrap_or(facts);
                        let sealed_state = m.document().automerge().fork_at(&[seal.change]);
                        let matches = sealed_state
                            .ok()
                            .and_then(|am| Document::from_automerge(doc_id.clone(), am).ok())
                            .and_then(|d| MonthDoc::from_document(d).ok())
                            .and_then(|sd| digest_to_seal(sealed_registry, &sd.facts()).ok())
                            .is_some_and(|d| d.0 == seal.seal.digest);
                        let by = PublicKey::from_slice(&seal.author)
                            .ok()
                            .and_then(|k| {
                                trust
                                    .certificates(&k)
                                    .first()
                                    .map(|c| c.body.officer_no.clone())
                            })
                            .unwrap_or_else(|| hex::encode(&seal.author));
                        if !matches {
                            out.problems.push(format!(
                                "{doc_id}: seal mismatch: the report recomputed at the sealed state is not the digest {} the chief sealed",
                                &seal.seal.digest[..16]
                            ));
                        }
                        if !mf.amended.is_empty() {
                            out.notes.push(format!(
                                "{doc_id}: {} inmate(s) amended after the seal (flagged amended_after_seal)",
                                mf.amended.len()
                            ));
                        }
                        let current = r.digest.0 == seal.seal.digest;
                        if !current && mf.amended.is_empty() {
                            out.notes.push(format!(
                                "{doc_id}: the report no longer matches the seal though no record changed since: the registry (standard times, roster, rules) did"
                            ));
                        }
                        check.seal = Some(SealCheck {
                            by,
                            sealed_digest: seal.seal.digest.clone(),
                            matches,
                            amended: mf.amended.len() as u32,
                            current,
                            registry_changed: !current && mf.amended.is_empty(),
                        });
                    } else {
                        out.notes.push(format!("{doc_id}: not sealed"));
                    }
                }
                Err(e) => out.problems.push(format!("{doc_id}: {e}")),
            }
        }
        Err(e) => out.problems.push(format!("{doc_id}: {e}")),
    }
    out.check = Some(check);
    out
}

/// The registry's changes, in causal order, signed as stored.
pub fn signed_changes(
    am: &Automerge,
    signatures: &BTreeMap<crdt_schema::automerge::ChangeHash, keys::Signature>,
) -> Result<Vec<SignedChange>, String> {
    am.get_changes(&[])
        .into_iter()
        .map(|change| {
            let h = change.hash();
            let signature = *signatures.get(&h).ok_or_else(|| {
                format!("change {} has no stored signature", &h.to_string()[..12])
            })?;
            Ok(SignedChange { change, signature })
        })
        .collect()
}
