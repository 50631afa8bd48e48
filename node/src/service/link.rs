//! What the month-end link to the scoring database is given: each
//! district-month's report as scored, with the state it was scored at.

use std::collections::BTreeMap;

use crdt_schema::{
    DistrictId, DocId, EntryStatus, Month, MonthDoc, Report, Sources, explain_month,
};

use super::{Read, Result, Service, ServiceError, known_district};
use crate::read;

/// Where to link, from what the IT officer gave (the `tally link` flags or
/// node.toml's `[link]`): the URL, the password from `password_file` or
/// else the environment's `TALLY_LINK_PASSWORD`, the CA certificate for TLS.
pub fn target(
    url: &str,
    password_file: Option<&std::path::Path>,
    ca_file: Option<&std::path::Path>,
) -> Result<link::Target> {
    let password = match password_file {
        Some(p) => {
            let bytes = crate::input::read_bounded(p, 4096, "password file")?;
            let text = String::from_utf8(bytes).map_err(|_| ServiceError::LinkPassword {
                path: p.to_path_buf(),
            })?;
            Some(zeroize::Zeroizing::new(
                text.trim_end_matches(['\r', '\n']).to_string(),
            ))
        }
        None => std::env::var("TALLY_LINK_PASSWORD")
            .ok()
            .map(zeroize::Zeroizing::new),
    };
    let ca = match ca_file {
        Some(p) => Some(crate::input::read_bounded(p, 1 << 20, "CA certificate")?),
        None => None,
    };
    Ok(link::Target::new(
        url,
        password.as_deref().map(String::as_str),
        ca.as_deref(),
    )?)
}

/// One district-month for the link: the report and what identifies it.
#[derive(Debug, Clone)]
pub struct LinkMonth {
    pub report: Report,
    /// The month document's heads, as hex.
    pub heads: Vec<String>,
    /// The seal change's stated time, seconds since 1970.
    pub sealed_at: Option<i64>,
    /// The seal change's signature, hex.
    pub seal_signature: Option<String>,
    /// The other documents the seal names, `D02=h1,h2;…`.
    pub sources: String,
    pub entries: Vec<link::EntryInput>,
}

impl LinkMonth {
    /// What the link crate writes for this district-month.
    pub fn input<'a>(&'a self, all: &'a LinkMonths) -> link::MonthInput<'a> {
        link::MonthInput {
            prison: &all.prison,
            report: &self.report,
            names: &all.names,
            heads: self.heads.clone(),
            sealed_at: self.sealed_at,
            seal_signature: self.seal_signature.clone(),
            sources: self.sources.clone(),
            entries: self.entries.clone(),
        }
    }
}

/// The prison's months to link, with the names the rows carry.
#[derive(Debug, Clone)]
pub struct LinkMonths {
    pub prison: String,
    pub names: BTreeMap<String, String>,
    pub months: Vec<LinkMonth>,
}

impl Service {
    /// The reports of `month` (one district, or all; with `sealed_only`,
    /// only those with a seal, the others not scored) with their documents'
    /// heads, the seal's time and every entry with its state.
    pub fn link_months(
        &self,
        month: Month,
        district: Option<&DistrictId>,
        sealed_only: bool,
    ) -> Result<Read<LinkMonths>> {
        let _lock = self.store.lock_shared()?;
        let mut issues = Vec::new();
        let registry = self.registry(Some(month), &mut issues)?;
        let districts: Vec<DistrictId> = match district {
            Some(d) => {
                known_district(&registry, d)?;
                vec![d.clone()]
            }
            None => registry.districts.keys().cloned().collect(),
        };
        // District-months are scored in parallel, as `tally score` does.
        let one = |d: &DistrictId| -> Result<Option<(LinkMonth, Vec<String>)>> {
            let mut issues = Vec::new();
            let loaded = self
                .store
                .load(&DocId::month(d.clone(), month))?
                .typed(MonthDoc::from_document)?;
            issues.extend(loaded.issues.iter().cloned());
            let facts = loaded.doc.facts();
            if sealed_only && facts.seal.is_none() {
                return Ok(None);
            }
            let (others, found) = read::other_sources(&self.store, &registry, &facts)?;
            issues.extend(found);
            let sources = Sources::new(&registry, &facts, &others)?;
            let report = crdt_schema::score_month(&registry, &sources)?;
            let am = loaded.doc.document().automerge();
            let sealed_at = facts
                .seal
                .as_ref()
                .and_then(|s| am.get_change_meta_by_hash(&s.change))
                .map(|m| m.timestamp);
            let seal_signature = facts
                .seal
                .as_ref()
                .and_then(|s| loaded.signatures.get(&s.change))
                .map(|sig| hex::encode(sig.to_bytes()));
            let seal_sources = facts
                .seal
                .as_ref()
                .map(|s| {
                    s.seal
                        .sources
                        .iter()
                        .map(|(d, h)| format!("{d}={}", h.join(",")))
                        .collect::<Vec<_>>()
                        .join(";")
                })
                .unwrap_or_default();
            // An entry is one fact (its id is its content), even when the
            // same one was written in two districts' documents (one counted,
            // one not): kept once, as the score counts it.
            let mut entries: BTreeMap<(String, String), link::EntryInput> = BTreeMap::new();
            for e in explain_month(&registry, &sources)? {
                let no = e.result.inmate_no.to_string();
                for a in e.adjustments {
                    let entry = link::EntryInput {
                        inmate_no: no.clone(),
                        id: a.id.to_string(),
                        date: a.date.to_string(),
                        // As the score counts it (a correction's amount).
                        points_cp: a.counted_cp.0,
                        reason: a.reason,
                        status: a.status.as_str().to_string(),
                    };
                    let key = (entry.inmate_no.clone(), entry.id.clone());
                    let keep = entries
                        .get(&key)
                        .is_none_or(|old| old.status == EntryStatus::NotCounted.as_str());
                    if keep {
                        entries.insert(key, entry);
                    }
                }
            }
            let month = LinkMonth {
                report,
                heads: loaded
                    .doc
                    .document()
                    .heads()
                    .iter()
                    .map(|h| h.to_string())
                    .collect(),
                sealed_at,
                seal_signature,
                sources: seal_sources,
                entries: entries.into_values().collect(),
            };
            Ok(Some((month, issues)))
        };
        let mut months = Vec::new();
        for scored in read::parallel_map(&districts, one) {
            if let Some((month, found)) = scored? {
                issues.extend(found);
                months.push(month);
            }
        }
        Ok(Read {
            value: LinkMonths {
                prison: registry.prison.clone().unwrap_or_default(),
                names: registry
                    .inmates
                    .iter()
                    .map(|(no, e)| (no.to_string(), e.value.name.clone()))
                    .collect(),
                months,
            },
            issues,
        })
    }
}
