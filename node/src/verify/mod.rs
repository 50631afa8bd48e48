//! Independent verification of a bundle (`tally verify`): rebuild every
//! document from nothing, admitting each change only if it passes exactly the
//! validation a replica applies, against an authority key the verifier
//! supplies (never one taken from the bundle); recompute every report; check
//! it against the chief's seal.

use std::collections::BTreeMap;

use crdt_schema::automerge::Automerge;
use crdt_schema::{
    ChangeNote, DistrictId, DocId, Document, MonthDoc, RegistryDoc, digest_to_seal, score_month,
};
use keys::PublicKey;
use serde::Serialize;

use crate::bundle::Bundle;
use crate::validate::{SignedChange, Trust, Validator, Verdict};

pub mod finding;
pub use finding::{Note, Problem};

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
    /// The rule's procedure of the month, as recomputed.
    pub procedure: Option<ProcedureCheck>,
}

/// The month's procedure (RULES.md, decision levels; weekly review;
/// posting): what the procuratorate checks of "the source of the scores".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcedureCheck {
    /// Whether the month's rule set has the decision levels.
    pub decision_levels: bool,
    /// Entries of the month's reports by level and state (`group/counted`: 12).
    pub entries: BTreeMap<String, u32>,
    /// The weekly reviews in this document, in week then held order.
    pub reviews: Vec<ReviewCheck>,
    pub posting: Option<crdt_schema::report::PostingStatus>,
    /// Applications: (kind, answered) counts.
    pub applications: BTreeMap<String, u32>,
    /// Acknowledgements of the monthly sheets by state.
    pub acknowledgements: BTreeMap<String, u32>,
}

/// One weekly review with its votes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewCheck {
    pub week: String,
    pub held: String,
    pub members: u32,
    pub present: u32,
    pub in_favour: u32,
    pub passed: u32,
    pub corrected: u32,
    pub returned: u32,
    pub dissent: String,
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
    pub problems: Vec<Problem>,
    /// Things worth knowing that are not failures (unsealed month …).
    pub notes: Vec<Note>,
    /// The device whose signed statement says what the bundle carries
    /// (its enrolment label and key), when it has one that verifies.
    pub exported_by: Option<String>,
    /// Whether that device is one the authority enrolled.
    pub exporter_enrolled: bool,
    /// What the verifier's own checkpoints said of the bundle, when it had
    /// some (`tally verify --data DIR`).
    pub witnessed: Option<WitnessCheck>,
}

/// What a verifier collected on its own, independently of the bundle: the
/// checkpoints its replica kept (from every node it synced with, and those
/// they relayed), and the devices its own registry enrolls.
#[derive(Debug, Clone, Default)]
pub struct Witnesses {
    pub checkpoints: Vec<replica_core::checkpoint::SignedCheckpoint>,
    /// Enrolled devices' keys and labels.
    pub devices: BTreeMap<[u8; 32], String>,
    /// What is verified is the verifier's own replica, not a bundle: what
    /// it lacks of a checkpoint has not reached it yet (a note).
    pub own: bool,
    /// The changes the verifier's own replica holds, by document, with the
    /// time each states: a change a bundle lacks that is among them is an
    /// omission proven by a signed change in hand, not only by a device's word.
    pub held: BTreeMap<DocId, BTreeMap<crdt_schema::automerge::ChangeHash, i64>>,
}

/// The bundle against the verifier's checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WitnessCheck {
    /// Checkpoints of the documents the bundle is of.
    pub checkpoints: u32,
    /// Of how many devices.
    pub devices: u32,
    /// Checkpoints whose heads the bundle lacks and that predate its export
    /// (each a problem: an omission).
    pub omissions: u32,
    /// Checkpoints whose heads the bundle lacks, taken after its export
    /// (notes: changed since).
    pub since_export: u32,
}

impl VerifyReport {
    /// For a verifier who accepts only bundles an enrolled device signed
    /// (`tally verify --require-statement`): anything else fails, said why.
    pub fn require_statement(&mut self) {
        if !self.exporter_enrolled {
            self.ok = false;
            self.problems.push(Problem::StatementRequired);
        }
    }
}

/// Checks the exporter's statement: signed by the device it names, covering
/// exactly the bytes before it and stating what the bundle carries; the
/// device enrolled by the authority. Returns who exported the bundle, and
/// whether the authority enrolled that device.
fn exporter(
    statement: Option<&crate::bundle::SignedStatement>,
    content_digest: &[u8; 32],
    carried: &[crate::bundle::StatedDocument],
    trust: &Trust,
    problems: &mut Vec<Problem>,
    notes: &mut Vec<Note>,
) -> (Option<String>, bool) {
    let Some(st) = statement else {
        notes.push(Note::NoStatement);
        return (None, false);
    };
    let key = match st.verifies() {
        Ok(k) => k,
        Err(e) => {
            problems.push(Problem::Statement(e.to_string()));
            return (None, false);
        }
    };
    if st.statement.content != hex::encode(content_digest) {
        problems.push(Problem::StatementContent);
        return (None, false);
    }
    if st.statement.documents != carried {
        problems.push(Problem::StatementDocuments);
        return (None, false);
    }
    let short = &st.statement.device[..16.min(st.statement.device.len())];
    let when = crate::validate::date_of(st.statement.exported_at)
        .map(|d| d.to_string())
        .unwrap_or_else(|| st.statement.exported_at.to_string());
    match trust.devices().find(|d| d.body.endpoint_id == key) {
        Some(d) => (Some(format!("{} ({short}…) on {when}", d.body.label)), true),
        None => {
            notes.push(Note::UnenrolledExporter {
                device: short.to_string(),
            });
            (Some(format!("unenrolled device {short}… on {when}")), false)
        }
    }
}

struct Tally {
    signers: BTreeMap<PublicKey, Signer>,
    problems: Vec<Problem>,
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
        let change = Problem::short(&sc.hash());
        match verdict {
            Verdict::Accept {
                officer,
                concurrent_revocation,
            } => {
                self.signed_by(officer, *concurrent_revocation);
                true
            }
            Verdict::Refuse(r) => {
                self.problems.push(Problem::Refused {
                    doc: doc.clone(),
                    change,
                    refusal: r.clone(),
                });
                false
            }
            Verdict::Pending(p) => {
                self.problems.push(Problem::Unverifiable {
                    doc: doc.clone(),
                    change,
                    wait: p.clone(),
                });
                false
            }
        }
    }
}

/// Verifies a bundle's bytes against `authority`.
pub fn verify(bytes: &[u8], authority: &PublicKey) -> VerifyReport {
    verify_against(bytes, authority, None)
}

/// Verifies a bundle's bytes against `authority` and, given what the
/// verifier collected on its own, against the checkpoints every enrolled
/// device signed of what it held: a checkpoint of a document the bundle is
/// of, whose heads the bundle's history lacks, is a change that device had
/// on that date and the exporter left out.
pub fn verify_against(
    bytes: &[u8],
    authority: &PublicKey,
    witnesses: Option<&Witnesses>,
) -> VerifyReport {
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
        exported_by: None,
        exporter_enrolled: false,
        witnessed: None,
    };
    let bundle = match Bundle::decode(bytes) {
        Ok(b) => b,
        Err(e) => {
            report.problems.push(Problem::Bundle(e));
            return report;
        }
    };
    if bundle.header.authority != authority.to_string() {
        report.notes.push(Note::OtherAuthority {
            header: bundle.header.authority.clone(),
        });
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
        header,
        registry: registry_changes,
        months,
        statement,
        content_digest,
    } = bundle;
    let carried = crate::bundle::carried(&registry_changes, &months);
    // Every change the bundle carries, by document: what a witness's
    // checkpoint is held against.
    let mut history: BTreeMap<
        DocId,
        std::collections::BTreeSet<crdt_schema::automerge::ChangeHash>,
    > = BTreeMap::new();
    history.insert(
        DocId::Registry,
        registry_changes.iter().map(SignedChange::hash).collect(),
    );
    for (doc, changes) in &months {
        history.insert(
            doc.clone(),
            changes.iter().map(SignedChange::hash).collect(),
        );
    }
    // When the bundle was made, at the earliest: not before the statement
    // says (a statement that verifies), nor before the latest change it
    // carries was written — an exporter cannot backdate its statement to
    // turn what it left out into "written after the export".
    let stated = statement.as_ref().filter(|st| st.verifies().is_ok());
    let exporter_key: Option<[u8; 32]> = stated
        .and_then(|st| hex::decode(&st.statement.device).ok())
        .and_then(|b| b.try_into().ok());
    let latest_carried = registry_changes
        .iter()
        .chain(months.values().flatten())
        .map(|c| c.change.timestamp())
        .max();
    let exported_at = match (stated.map(|st| st.statement.exported_at), latest_carried) {
        (Some(s), Some(c)) => Some(s.max(c)),
        (s, c) => s.or(c),
    };
    let no_months = !months.keys().any(|d| matches!(d, DocId::Month { .. }));
    let had_registry = !registry_changes.is_empty();
    for sc in registry_changes {
        let verdict = Validator::new(&trust, &registry).judge(&DocId::Registry, &registry, &sc);
        if tally.judged(&DocId::Registry, &sc, &verdict) {
            if let Err(e) = registry.apply_changes([sc.change]) {
                tally.problems.push(Problem::Document {
                    doc: DocId::Registry,
                    reason: e.to_string(),
                });
                continue;
            }
            report.registry_changes += 1;
            trust = Trust::from_registry(*authority, &registry);
        }
    }
    if had_registry && trust.officers().next().is_none() {
        tally.problems.push(Problem::ForeignAuthority);
    }
    let registry = match Document::from_automerge(DocId::Registry, registry)
        .and_then(RegistryDoc::from_document)
    {
        Ok(r) => r,
        Err(e) => {
            tally.problems.push(Problem::Document {
                doc: DocId::Registry,
                reason: e.to_string(),
            });
            report.problems = tally.problems;
            return report;
        }
    };
    let facts = registry.facts();
    // What is shown as verified comes from signed records only: the
    // prison's name is the registry's, not the bundle's unsigned header.
    match &facts.prison {
        Some(name) => {
            report.prison = name.clone();
            if *name != header.prison {
                tally.problems.push(Problem::HeaderPrison {
                    header: header.prison.clone(),
                    registry: name.clone(),
                });
            }
        }
        None => report.notes.push(Note::NoPrisonName {
            header: header.prison.clone(),
        }),
    }
    (report.exported_by, report.exporter_enrolled) = exporter(
        statement.as_ref(),
        &content_digest,
        &carried,
        &trust,
        &mut tally.problems,
        &mut report.notes,
    );

    // Each month document is rebuilt on its own (they are independent given
    // the registry), then each report is recomputed from its document and
    // the other districts' documents it reads (transfers): in parallel, the
    // results merged in document order so the report never depends on
    // scheduling.
    let months: Vec<(DocId, Vec<SignedChange>)> = months.into_iter().collect();
    let mut rebuilt = crate::read::parallel_into(months, |(doc_id, changes)| {
        rebuild_month(&doc_id, changes, &trust, &registry)
    });
    // The roster's shards the bundle carries, laid over the registry as
    // the month's reports read them (those up to its year).
    let shards: Vec<crdt_schema::RosterFacts> = rebuilt
        .iter()
        .filter_map(|r| r.roster.as_ref().map(crdt_schema::RosterDoc::facts))
        .collect();
    let base = facts;
    let facts = base
        .clone()
        .with_roster_through(&shards, crdt_schema::Year::of_month(header.month));
    // A one-district bundle: that district's report is the one it is for.
    // Its document has no changes when nothing was recorded there (the
    // export carries only documents with changes): it is scored empty.
    let named: Option<DocId> = match header.district.as_deref().map(str::parse::<DistrictId>) {
        None => None,
        Some(Ok(d)) => Some(DocId::month(d, header.month)),
        Some(Err(e)) => {
            tally.problems.push(Problem::HeaderDistrict(e.to_string()));
            None
        }
    };
    // The header is not signed: a district or month it names must be one
    // the verified registry and the carried documents bear out.
    let named = named.filter(|id| {
        let DocId::Month { district, month } = id else {
            return false;
        };
        if !facts.districts.contains_key(district) {
            tally
                .problems
                .push(Problem::UnknownDistrict(district.clone()));
            return false;
        }
        let carried = rebuilt
            .iter()
            .any(|r| matches!(&r.id, DocId::Month { month: m, .. } if m == month));
        if !carried {
            tally.problems.push(Problem::MonthNotCarried(*month));
            return false;
        }
        true
    });
    if let Some(id) = &named
        && !rebuilt.iter().any(|r| &r.id == id)
        && let DocId::Month { district, month } = id
    {
        report.notes.push(Note::ScoredEmpty { doc: id.clone() });
        rebuilt.push(Rebuilt::empty(district.clone(), *month));
        rebuilt.sort_by(|a, b| a.id.cmp(&b.id));
    }
    let docs: BTreeMap<DocId, &MonthDoc> = rebuilt
        .iter()
        .filter_map(|r| r.doc.as_ref().map(|d| (r.id.clone(), d)))
        .collect();
    // Which documents the named district's report reads: in a one-district
    // bundle they are there as its sources, and their own reports may read
    // documents the bundle does not carry. Decided from the verified
    // registry, never from the (unsigned) header alone.
    let sources_of_named: Vec<DocId> = match &named {
        Some(DocId::Month { district, month }) => facts
            .sources_of(district, *month)
            .into_iter()
            .map(|d| DocId::month(d, *month))
            .collect(),
        _ => Vec::new(),
    };
    let scored: Vec<&Rebuilt> = rebuilt.iter().collect();
    // Once per year the documents are of, not once per document.
    let by_year: BTreeMap<crdt_schema::Year, crdt_schema::RegistryFacts> = rebuilt
        .iter()
        .filter_map(|r| match r.id {
            DocId::Month { month, .. } => Some(crdt_schema::Year::of_month(month)),
            _ => None,
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|y| (y, base.clone().with_roster_through(&shards, y)))
        .collect();
    let rosters: BTreeMap<crdt_schema::Year, &crdt_schema::RosterDoc> = rebuilt
        .iter()
        .filter_map(|r| r.roster.as_ref().map(|d| (d.year(), d)))
        .collect();
    let checked = crate::read::parallel_map(&scored, |r| {
        let source_only = sources_of_named.contains(&r.id);
        let read = Read {
            docs: &docs,
            rosters: &rosters,
            registry: &registry,
            by_year: &by_year,
            trust: &trust,
        };
        check_report(r, &read, source_only)
    });
    for r in &rebuilt {
        for (officer, concurrent) in &r.signers {
            tally.signed_by(officer, *concurrent);
        }
        tally.problems.extend(r.problems.iter().cloned());
    }
    for m in checked {
        tally.problems.extend(m.problems);
        report.notes.extend(m.notes);
        report.months.extend(m.check);
    }
    if no_months {
        tally.problems.push(Problem::NoMonth);
    }
    for s in tally.signers.values() {
        if s.concurrent_with_revocation > 0 {
            report.notes.push(Note::ConcurrentRevocation {
                officer: s.officer_no.clone(),
                changes: s.concurrent_with_revocation,
            });
        }
    }
    report.signers = tally.signers.into_values().collect();
    report
        .signers
        .sort_by(|a, b| a.officer_no.cmp(&b.officer_no));
    if let Some(w) = witnesses {
        report.witnessed = Some(witness(
            w,
            &history,
            &header,
            Export {
                at: exported_at,
                device: exporter_key,
                by: report.exported_by.as_deref(),
            },
            &mut tally.problems,
            &mut report.notes,
        ));
    }
    report.problems = tally.problems;
    report.ok = report.problems.is_empty();
    report.digest = match &named {
        Some(DocId::Month { district, month }) => report
            .months
            .iter()
            .find(|m| m.district == district.as_str() && m.month == month.to_string())
            .and_then(|m| m.digest.clone()),
        _ if report.months.len() == 1 => report.months[0].digest.clone(),
        _ => None,
    };
    report
}

/// What is known of a bundle's export: when (at the earliest), by which
/// device, and that device as its enrolment names it.
struct Export<'a> {
    at: Option<i64>,
    device: Option<[u8; 32]>,
    by: Option<&'a str>,
}

/// Holds the bundle against what the verifier collected on its own, for
/// every document the bundle carries or its header says it is of (the
/// registry, the month's documents — its district's, for a one-district
/// bundle): each enrolled device's checkpoint from before the export whose
/// heads the bundle lacks (`Omits`), and the changes the verifier's own
/// replica holds, written before the export, that the bundle lacks
/// (`LacksHeld`: this catches an omission a device's later checkpoint
/// would leave only as a note).
fn witness(
    w: &Witnesses,
    history: &BTreeMap<DocId, std::collections::BTreeSet<crdt_schema::automerge::ChangeHash>>,
    header: &crate::bundle::Header,
    export: Export<'_>,
    problems: &mut Vec<Problem>,
    notes: &mut Vec<Note>,
) -> WitnessCheck {
    let district = header
        .district
        .as_deref()
        .and_then(|d| d.parse::<DistrictId>().ok());
    let in_scope = |doc: &DocId| {
        history.contains_key(doc)
            || match doc {
                DocId::Registry => true,
                // The roster a month of its year reads.
                DocId::Roster { year } => *year <= crdt_schema::Year::of_month(header.month),
                DocId::Month { district: d, month } => {
                    *month == header.month && district.as_ref().is_none_or(|x| x == d)
                }
            }
    };
    let mut check = WitnessCheck {
        checkpoints: 0,
        devices: 0,
        omissions: 0,
        since_export: 0,
    };
    let mut devices = std::collections::BTreeSet::new();
    let empty = std::collections::BTreeSet::new();
    for cp in &w.checkpoints {
        let Some(label) = w.devices.get(&cp.checkpoint.device) else {
            continue;
        };
        let Ok(doc) = cp.doc() else { continue };
        if !in_scope(&doc) || cp.verify().is_err() {
            continue;
        }
        check.checkpoints += 1;
        devices.insert(cp.checkpoint.device);
        let held = history.get(&doc).unwrap_or(&empty);
        let lacking: Vec<crdt_schema::automerge::ChangeHash> = cp
            .checkpoint
            .head_hashes()
            .into_iter()
            .filter(|h| !held.contains(h))
            .collect();
        let missing = lacking.len() as u32;
        if missing == 0 {
            continue;
        }
        let in_hand = w.held.get(&doc).map_or(0, |here| {
            lacking.iter().filter(|h| here.contains_key(h)).count()
        }) as u32;
        let device = format!("{label} ({}…)", &hex::encode(cp.checkpoint.device)[..16]);
        let on = crate::validate::date_of(cp.checkpoint.at)
            .map_or_else(|| cp.checkpoint.at.to_string(), |d| d.to_string());
        match export.at {
            _ if w.own => notes.push(Note::NotYetReceived {
                doc,
                device,
                on,
                missing,
            }),
            Some(t) if cp.checkpoint.at > t => {
                check.since_export += 1;
                notes.push(Note::ChangedSinceExport {
                    doc,
                    device,
                    on,
                    missing,
                });
            }
            _ => {
                check.omissions += 1;
                problems.push(Problem::Omits {
                    doc,
                    device,
                    on,
                    missing,
                    in_hand,
                    changes: cp.checkpoint.changes,
                    by_exporter: export.device == Some(cp.checkpoint.device),
                    exporter: export.by.map(str::to_string),
                });
            }
        }
    }
    check.devices = devices.len() as u32;
    // The changes this replica holds of those documents that the bundle
    // lacks, written (as their authors state) before it was made.
    if !w.own
        && let Some(t) = export.at
    {
        for (doc, here) in &w.held {
            if !in_scope(doc) {
                continue;
            }
            let held = history.get(doc).unwrap_or(&empty);
            let before: Vec<i64> = here
                .iter()
                .filter(|(h, at)| **at <= t && !held.contains(*h))
                .map(|(_, at)| *at)
                .collect();
            if let (Some(first), Some(last)) = (before.iter().min(), before.iter().max()) {
                check.omissions += 1;
                let day = |t: i64| {
                    crate::validate::date_of(t).map_or_else(|| t.to_string(), |d| d.to_string())
                };
                problems.push(Problem::LacksHeld {
                    doc: doc.clone(),
                    changes: before.len() as u32,
                    first: day(*first),
                    last: day(*last),
                    exporter: export.by.map(str::to_string),
                });
            }
        }
    }
    check
}

/// One month document rebuilt from a bundle's changes.
struct Rebuilt {
    id: DocId,
    /// `None` when the accepted changes do not form a month document.
    doc: Option<MonthDoc>,
    /// A roster shard (`None` for a month document).
    roster: Option<crdt_schema::RosterDoc>,
    accepted: u32,
    /// The certificate behind each accepted change, and whether it was made
    /// concurrently with a revocation.
    signers: Vec<(Box<keys::Certificate>, bool)>,
    problems: Vec<Problem>,
}

impl Rebuilt {
    /// A district-month with no changes: an empty document.
    fn empty(district: DistrictId, month: crdt_schema::Month) -> Rebuilt {
        Rebuilt {
            id: DocId::month(district.clone(), month),
            doc: Some(MonthDoc::new(district, month)),
            roster: None,
            accepted: 0,
            signers: Vec::new(),
            problems: Vec::new(),
        }
    }
}

/// What recomputing one district-month's report found.
struct MonthOutcome {
    check: Option<MonthCheck>,
    problems: Vec<Problem>,
    notes: Vec<Note>,
}

/// Rebuilds one month document from `changes` under the verified registry.
fn rebuild_month(
    doc_id: &DocId,
    changes: Vec<SignedChange>,
    trust: &Trust,
    registry: &RegistryDoc,
) -> Rebuilt {
    let mut out = Rebuilt {
        id: doc_id.clone(),
        doc: None,
        roster: None,
        accepted: 0,
        signers: Vec::new(),
        problems: Vec::new(),
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
    out.accepted = admission.accepted.len() as u32;
    out.signers = admission
        .accepted
        .iter()
        .map(|a| (a.officer.clone(), a.concurrent_revocation))
        .collect();
    for (sc, r) in &admission.refused {
        out.problems.push(Problem::Refused {
            doc: doc_id.clone(),
            change: Problem::short(&sc.hash()),
            refusal: r.clone(),
        });
    }
    for (sc, p) in &admission.pending {
        out.problems.push(Problem::Unverifiable {
            doc: doc_id.clone(),
            change: Problem::short(&sc.hash()),
            wait: p.clone(),
        });
    }
    let mut am = Automerge::new();
    let batch: Vec<_> = admission
        .accepted
        .into_iter()
        .map(|a| a.change.change)
        .collect();
    if let Err(e) = am.apply_changes(batch) {
        out.problems.push(Problem::Document {
            doc: doc_id.clone(),
            reason: e.to_string(),
        });
    }
    match doc_id {
        DocId::Month { .. } => {
            match Document::from_automerge(doc_id.clone(), am).and_then(MonthDoc::from_document) {
                Ok(m) => out.doc = Some(m),
                Err(e) => out.problems.push(Problem::Document {
                    doc: doc_id.clone(),
                    reason: e.to_string(),
                }),
            }
        }
        DocId::Roster { .. } => {
            match Document::from_automerge(doc_id.clone(), am)
                .and_then(crdt_schema::RosterDoc::from_document)
            {
                Ok(r) => out.roster = Some(r),
                Err(e) => out.problems.push(Problem::Document {
                    doc: doc_id.clone(),
                    reason: e.to_string(),
                }),
            }
        }
        DocId::Registry => {}
    }
    out
}

/// A month document as it stood at `heads`, if the bundle holds them.
fn month_at(doc: &MonthDoc, heads: &[crdt_schema::automerge::ChangeHash]) -> Option<MonthDoc> {
    let am = doc.document().automerge().fork_at(heads).ok()?;
    Document::from_automerge(doc.document().id().clone(), am)
        .and_then(MonthDoc::from_document)
        .ok()
}

/// Recomputes one district-month's report, from its document and the other
/// districts' documents it reads, and checks it against the chief's seal.
/// What every report's check reads: the rebuilt documents, the verified
/// registry (with its roster) and trust.
struct Read<'a> {
    docs: &'a BTreeMap<DocId, &'a MonthDoc>,
    rosters: &'a BTreeMap<crdt_schema::Year, &'a crdt_schema::RosterDoc>,
    registry: &'a RegistryDoc,
    /// The verified registry with the roster's shards carried, by year:
    /// each report reads it as a month of its own year does (not by the
    /// header's month, which nothing signs).
    by_year: &'a BTreeMap<crdt_schema::Year, crdt_schema::RegistryFacts>,
    trust: &'a Trust,
}

fn check_report(r: &Rebuilt, read: &Read<'_>, source_only: bool) -> MonthOutcome {
    let Read {
        docs,
        rosters,
        registry,
        by_year,
        trust,
    } = *read;
    let mut out = MonthOutcome {
        check: None,
        problems: Vec::new(),
        notes: Vec::new(),
    };
    let doc_id = &r.id;
    let (DocId::Month { district, month }, Some(m)) = (doc_id, r.doc.as_ref()) else {
        return out;
    };
    let month = *month;
    let Some(facts) = by_year.get(&crdt_schema::Year::of_month(month)) else {
        return out;
    };
    let mut check = MonthCheck {
        district: district.to_string(),
        month: month.to_string(),
        digest: None,
        changes: r.accepted,
        inmates: 0,
        seal: None,
        procedure: None,
    };
    let mf = m.facts();
    // The other documents the report reads, as it reads them; one the
    // bundle lacks cannot be recomputed.
    let mut others = Vec::new();
    for d in facts.sources_of(district, month) {
        match docs.get(&DocId::month(d.clone(), month)) {
            Some(doc) => others.push(doc.facts_for(&mf)),
            // In a one-district bundle, a source's own sources need not be
            // there: that report is not the bundle's, and is not recomputed.
            None if source_only => {
                out.notes.push(Note::SourceNotRecomputed {
                    doc: doc_id.clone(),
                    source: d.clone(),
                });
                return out;
            }
            // Not carried: no changes were recorded there, or the bundle is
            // incomplete. Read as empty and said; a seal that read changes
            // there does not match.
            None => {
                out.notes.push(Note::SourceMissing {
                    doc: doc_id.clone(),
                    source: d.clone(),
                });
                let empty = MonthDoc::new(d.clone(), month);
                others.push(empty.facts_for(&mf));
            }
        }
    }
    if !others.is_empty() {
        out.notes.push(Note::ReadsSources {
            doc: doc_id.clone(),
            sources: others.iter().map(|f| f.district.clone()).collect(),
        });
    }
    let scored = crdt_schema::Sources::new(facts, &mf, &others).and_then(|sources| {
        let report = score_month(facts, &sources)?;
        let explained = crdt_schema::explain_month(facts, &sources)?;
        Ok((report, explained))
    });
    match scored {
        Ok((r, explained)) => {
            check.digest = Some(r.digest.0.clone());
            check.inmates = r.body.inmates.len() as u32;
            let mut entries: BTreeMap<String, u32> = BTreeMap::new();
            for e in &explained {
                for a in &e.adjustments {
                    if a.status != crdt_schema::EntryStatus::NotCounted {
                        *entries
                            .entry(format!("{}/{}", a.level.as_str(), a.status.as_str()))
                            .or_default() += 1;
                    }
                }
            }
            let mut reviews: Vec<ReviewCheck> = mf
                .reviews
                .values()
                .map(|rv| {
                    let rv = &rv.value;
                    let n = |o: fn(&crdt_schema::Outcome) -> bool| {
                        rv.decisions.iter().filter(|d| o(&d.outcome)).count() as u32
                    };
                    ReviewCheck {
                        week: rv.week.to_string(),
                        held: rv.held.to_string(),
                        members: rv.members,
                        present: rv.present,
                        in_favour: rv.in_favour,
                        passed: n(|o| matches!(o, crdt_schema::Outcome::Pass)),
                        corrected: n(|o| matches!(o, crdt_schema::Outcome::Correct { .. })),
                        returned: n(|o| matches!(o, crdt_schema::Outcome::Return)),
                        dissent: rv.dissent.clone(),
                    }
                })
                .collect();
            reviews.sort_by(|a, b| (&a.week, &a.held).cmp(&(&b.week, &b.held)));
            // A decision of an entry this document does not hold decides nothing: said.
            for rv in mf.reviews.values() {
                for d in &rv.value.decisions {
                    let here = mf
                        .inmates
                        .get(&d.inmate)
                        .is_some_and(|i| i.adjustments.contains_key(&d.entry));
                    if !here {
                        out.notes.push(Note::DecidesNothing {
                            doc: doc_id.clone(),
                            week: rv.value.week,
                            entry: d.entry.to_string(),
                            inmate: d.inmate.clone(),
                        });
                    }
                }
            }
            check.procedure = Some(ProcedureCheck {
                decision_levels: facts
                    .rule_set_for(month)
                    .is_some_and(|rs| rs.decision_levels),
                entries,
                reviews,
                posting: r.posting.clone(),
                applications: {
                    let mut m: BTreeMap<String, u32> = BTreeMap::new();
                    for (id, a) in &mf.applications {
                        let answered = mf.answer_of(id, &a.value).is_some();
                        *m.entry(format!(
                            "{}/{}",
                            a.value.kind.as_str(),
                            if answered { "answered" } else { "open" }
                        ))
                        .or_default() += 1;
                    }
                    m
                },
                acknowledgements: {
                    let mut m: BTreeMap<String, u32> = BTreeMap::new();
                    for a in r.acknowledgements.values() {
                        *m.entry(a.state.as_str().to_string()).or_default() += 1;
                    }
                    m
                },
            });
            if let Some(seal) = &mf.seal {
                // The report at the sealed state, as the chief saw it:
                // the month as the seal's change saw it, scored with
                // the registry as it stood then (the heads its note
                // names) — a standard time changed since is no forgery —
                // and every other document it read at the heads the seal
                // recorded for it.
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
                    out.notes.push(Note::NoRegistryAtSeal {
                        doc: doc_id.clone(),
                    });
                }
                // The roster's shards at the heads the seal recorded (none:
                // the registry's own roster). One the bundle does not carry
                // at those heads leaves the sealed report unrecomputable: no
                // match, as for a missing source document — never the
                // current roster instead.
                let mut roster_then = Vec::new();
                let mut others_found = true;
                for (year, heads) in &seal.seal.roster {
                    let at = heads
                        .iter()
                        .map(|h| h.parse().ok())
                        .collect::<Option<Vec<crdt_schema::automerge::ChangeHash>>>()
                        .zip(rosters.get(year))
                        .and_then(|(h, doc)| doc.document().automerge().fork_at(&h).ok())
                        .map(|am| crdt_schema::RosterFacts::read(*year, &am));
                    match at {
                        Some(f) => roster_then.push(f),
                        None => {
                            others_found = false;
                            out.notes.push(Note::SealRosterMissing {
                                doc: doc_id.clone(),
                                year: *year,
                            });
                        }
                    }
                }
                let registry_then = registry_then.map(|f| f.with_roster(&roster_then));
                let sealed_registry = registry_then.as_ref().unwrap_or(facts);
                let mut sealed_others = Vec::new();
                for (d, heads) in &seal.seal.sources {
                    let parsed: Option<Vec<_>> = heads.iter().map(|h| h.parse().ok()).collect();
                    // Sealed empty: the document had no changes then.
                    let at = if heads.is_empty() {
                        Some(MonthDoc::new(d.clone(), month))
                    } else {
                        docs.get(&DocId::month(d.clone(), month))
                            .zip(parsed)
                            .and_then(|(doc, h)| month_at(doc, &h))
                    };
                    match at {
                        Some(sd) => sealed_others.push(sd.facts()),
                        None => {
                            others_found = false;
                            out.notes.push(Note::SealSourceMissing {
                                doc: doc_id.clone(),
                                source: d.clone(),
                            });
                        }
                    }
                }
                let matches = others_found
                    && month_at(m, &[seal.change])
                        .and_then(|sd| {
                            let sf = sd.facts();
                            crdt_schema::Sources::new(sealed_registry, &sf, &sealed_others)
                                .and_then(|s| digest_to_seal(sealed_registry, &s))
                                .ok()
                        })
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
                    out.problems.push(Problem::SealMismatch {
                        doc: doc_id.clone(),
                        sealed: seal.seal.digest.clone(),
                    });
                }
                // The seal waits for the posting's end and every answer
                // (RULES.md, month close), unless it says it was forced: the
                // procedure as the chief's replica held it when sealing, on
                // the date the seal's change states.
                let sealed_on = m
                    .document()
                    .automerge()
                    .get_change_meta_by_hash(&seal.change)
                    .and_then(|meta| crate::validate::date_of(meta.timestamp));
                // Only under the registry the seal was written against: a
                // rule set published since (another calendar, decision
                // levels) must not turn an honest seal into a problem.
                let names_registry = m
                    .document()
                    .automerge()
                    .get_change_meta_by_hash(&seal.change)
                    .and_then(|meta| ChangeNote::of(meta.message.as_deref()).ok())
                    .and_then(|note| note.registry_heads().ok())
                    .is_some_and(|heads| !heads.is_empty());
                let has_wait = sealed_registry
                    .rule_set_for(month)
                    .is_some_and(|r| r.decision_levels);
                if !names_registry && has_wait {
                    // Every seal tally writes names the registry it was
                    // written against: one that does not cannot show it waited.
                    out.problems.push(Problem::SealNamesNoRegistry {
                        doc: doc_id.clone(),
                    });
                } else if registry_then.is_none() {
                    out.notes.push(Note::WaitNotChecked {
                        doc: doc_id.clone(),
                    });
                } else if let (Some(on), Some(sd)) = (sealed_on, month_at(m, &[seal.change])) {
                    let waiting = crate::close::not_done(sealed_registry, &sd.facts(), month, on);
                    if seal.seal.forced.is_empty() && !waiting.is_empty() {
                        out.problems.push(Problem::SealedEarly {
                            doc: doc_id.clone(),
                            on,
                            not_done: waiting,
                        });
                    } else if !seal.seal.forced.is_empty() {
                        out.notes.push(Note::Forced {
                            doc: doc_id.clone(),
                            on,
                            forced: seal.seal.forced.clone(),
                        });
                    }
                }
                let amended = r.seal.as_ref().map_or(0, |s| s.amended);
                if amended > 0 {
                    out.notes.push(Note::Amended {
                        doc: doc_id.clone(),
                        inmates: amended,
                    });
                }
                let current = r.digest.0 == seal.seal.digest;
                if !current && amended == 0 {
                    out.notes.push(Note::RegistryChanged {
                        doc: doc_id.clone(),
                    });
                }
                check.seal = Some(SealCheck {
                    by,
                    sealed_digest: seal.seal.digest.clone(),
                    matches,
                    amended,
                    current,
                    registry_changed: !current && amended == 0,
                });
            } else {
                out.notes.push(Note::NotSealed {
                    doc: doc_id.clone(),
                });
            }
        }
        Err(e) => out.problems.push(Problem::Score {
            doc: doc_id.clone(),
            reason: e.to_string(),
        }),
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
