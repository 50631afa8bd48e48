//! What the screens show, read on the worker: a district's day and month
//! (`DistrictView`: the entry rows, the report, the board, the rates, the
//! conflicts and what awaits approval) — the one read only the app makes;
//! the others are `node::service`'s. Every figure comes from the node
//! crate's own scoring and audit, the same code every peer and the CLI run.

use std::collections::BTreeMap;

use crdt_schema::{
    Attendance, Board, Date, DistrictId, DocId, InmateNo, Month, MonthDoc, MonthRates, ProcedureId,
    RegistryDoc, Report, Sources, Week, WeekRow, board, month_rates, score_month,
};
use node::audit;
use node::close::{self, Approved};
use node::store::{DocVersion, Store};
use node::validate::Trust;

use super::Worker;

/// Why a district's view could not be read: error values the screen says
/// in the officer's language (`ui::words`).
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// The data directory or a document could not be read.
    #[error(transparent)]
    Store(#[from] node::store::StoreError),
    /// Another district's document the report reads could not be read.
    #[error(transparent)]
    Read(#[from] node::read::ReadError),
    /// The month could not be scored (a figure the rules cannot compute).
    #[error(transparent)]
    Score(#[from] crdt_schema::ScoreError),
    /// The month's procedure could not be read.
    #[error(transparent)]
    Service(#[from] node::service::ServiceError),
    /// What awaits approval could not be computed.
    #[error(transparent)]
    Close(#[from] node::close::CloseError),
}

/// One inmate's line of the daily entry grid, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRow {
    pub inmate_no: InmateNo,
    pub name: String,
    pub attendance: Option<Attendance>,
    /// The inmate's own counts that day.
    pub counts: Vec<(ProcedureId, u64)>,
    /// A record of the day holds concurrent conflicting values.
    pub conflict: bool,
    /// The procedure the inmate is likely on: assigned to it that day, else
    /// the one last counted earlier in the month (the grid offers it).
    pub usual: Option<ProcedureId>,
}

/// A district's month as the screens show it, for one date.
#[derive(Debug, Clone)]
pub struct DistrictView {
    pub district: DistrictId,
    pub district_name: String,
    pub month: Month,
    pub date: Date,
    pub rows: Vec<EntryRow>,
    /// Procedures in force on `date`: id and name.
    pub procedures: Vec<(ProcedureId, String)>,
    pub report: Report,
    pub board: Board,
    /// Daily rates over the month, for the charts.
    pub rates: MonthRates,
    /// Records of the month holding concurrent, differing values.
    pub conflicts: Vec<Conflict>,
    /// Whether the month's rule set has the decision levels (the prison
    /// group approves) or the former procedure (the chief does).
    pub decision_levels: bool,
    /// The name of every inmate in the report (released or transferred
    /// ones included), from the registry.
    pub names: BTreeMap<InmateNo, String>,
    /// What awaits the chief's approval, inmate by inmate, entry by entry.
    pub pending: BTreeMap<InmateNo, Vec<Approved>>,
    /// Every entry of the district's document of the month, with its id,
    /// level and state (`tally entries`): what the weekly review decides.
    pub entries: Vec<node::service::review::EntryRow>,
    /// The month's applications (复查、复核) with answers and deadlines
    /// (`tally applications`).
    pub applications: Vec<node::service::review::ApplicationRow>,
    /// The weekly sheet of every week touching the month, this month's
    /// days of it (`tally weekly` writes a week across two months whole).
    pub weeks: Vec<(Week, Vec<WeekRow>)>,
    /// What of the procedure stands between the month and its seal today
    /// (the posting not ended, applications unanswered): the seal waits,
    /// or is forced and says so.
    pub not_done: Vec<close::NotDone>,
}

/// A record two officers wrote concurrently with different values: each
/// value with who wrote it, for the chief to pick one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub inmate_no: InmateNo,
    /// The record's path (`cnt/…`, `att/…`).
    pub key: String,
    pub values: Vec<ConflictValue>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictValue {
    /// The value as the audit trail shows it; `None`: the record deleted.
    pub value: Option<String>,
    /// "J001 王警官".
    pub written_by: String,
}

/// The last view read, with the versions on disk of the two documents it
/// was read from.
pub(super) struct ViewCache {
    /// The registry's, then every district's document of the month (a
    /// report, its entries and its weekly sheets read other districts'
    /// documents when inmates moved).
    versions: Vec<DocVersion>,
    /// The districts whose documents `versions` stamps.
    districts: Vec<DistrictId>,
    /// The day it was read (what waits for the seal changes with it).
    today: Date,
    view: DistrictView,
}

impl Worker {
    /// The district on `date`; answered from the last view when neither the
    /// registry nor the month changed on disk since (the screens reload every
    /// few seconds, and scoring a month again for nothing would keep this
    /// thread, and a core of the district PC, busy).
    pub(super) fn load(
        &mut self,
        district: &DistrictId,
        date: Date,
    ) -> Result<DistrictView, ViewError> {
        let store = self.store()?;
        let _lock = store.lock_shared()?;
        // The roster's shards are stamped too (one appears when its year's
        // first fact is recorded).
        let rosters = store.roster_ids().unwrap_or_default();
        let versions_of = |districts: &[DistrictId]| -> Vec<DocVersion> {
            std::iter::once(store.version(&DocId::Registry))
                .chain(rosters.iter().map(|id| store.version(id)))
                .chain(
                    districts
                        .iter()
                        .map(|d| store.version(&DocId::month(d.clone(), date.month()))),
                )
                .collect()
        };
        if let Some(c) = &self.view_cache
            && c.view.district == *district
            && c.view.date == date
            && c.versions == versions_of(&c.districts)
            && c.today == crate::clock::today()
        {
            return Ok(c.view.clone());
        }
        // Taken before reading: a write landing in between makes the next
        // load read again rather than keep a view older than its key.
        let districts: Vec<DistrictId> = store
            .load(&DocId::Registry)?
            .typed(RegistryDoc::from_document)?
            .doc
            .facts()
            .districts
            .keys()
            .cloned()
            .collect();
        let versions = versions_of(&districts);
        let mut view = read_view(&store, district, date)?;
        drop(_lock);
        // The procedure's reads are the service's, as `tally entries`,
        // `tally applications` and `tally weekly` make them (under a lock of
        // their own; a change in between only makes the next load read again).
        let service = node::service::Service::open(&self.data)?;
        let procedure = service.month_procedure(district, date.month())?.value;
        view.entries = procedure.entries;
        view.applications = procedure.applications;
        view.weeks = procedure.weeks;
        self.view_cache = Some(ViewCache {
            versions,
            districts,
            today: crate::clock::today(),
            view: view.clone(),
        });
        Ok(view)
    }
}

/// The month's records in conflict, each value with its writer (from the
/// audit trail, which reads the same signed changes).
fn conflicts(
    store: &Store,
    registry: &node::store::Loaded<RegistryDoc>,
    id: &DocId,
    loaded: &node::store::Loaded<MonthDoc>,
    facts: &crdt_schema::MonthFacts,
) -> Result<Vec<Conflict>, ViewError> {
    let in_conflict: Vec<&InmateNo> = facts
        .inmates
        .iter()
        .filter(|(_, m)| m.has_conflict())
        .map(|(no, _)| no)
        .collect();
    if in_conflict.is_empty() {
        return Ok(Vec::new());
    }
    let trust = Trust::from_registry(store.authority()?, registry.doc.document().automerge());
    let mut out = Vec::new();
    for no in in_conflict {
        let trail = audit::audit_inmate(
            id,
            loaded.doc.document().automerge(),
            &loaded.signatures,
            facts,
            registry.doc.document().automerge(),
            &registry.signatures,
            // Only the month's records can be in conflict here.
            &[],
            &trust,
            no,
        );
        for rec in trail.records {
            let current: Vec<ConflictValue> = rec
                .writes
                .iter()
                .filter(|w| w.current)
                .map(|w| ConflictValue {
                    value: w.value.clone(),
                    written_by: format!(
                        "{} {}",
                        w.officer_no.as_deref().unwrap_or("?"),
                        w.name.as_deref().unwrap_or("")
                    ),
                })
                .collect();
            let differ = current.windows(2).any(|p| p[0].value != p[1].value);
            if current.len() > 1 && differ {
                out.push(Conflict {
                    inmate_no: no.clone(),
                    key: rec.key,
                    values: current,
                });
            }
        }
    }
    Ok(out)
}

/// Reads and scores the district on `date` (under the caller's lock).
fn read_view(store: &Store, district: &DistrictId, date: Date) -> Result<DistrictView, ViewError> {
    let registry_doc = store
        .load(&DocId::Registry)?
        .typed(RegistryDoc::from_document)?;
    let month = date.month();
    let shards = node::read::roster_facts(
        store,
        Some(crdt_schema::Year::of_month(month)),
        &mut Vec::new(),
    )?;
    let registry = registry_doc.doc.facts().with_roster(&shards);
    let id = DocId::month(district.clone(), month);
    let loaded = store.load(&id)?.typed(MonthDoc::from_document)?;
    let facts = loaded.doc.facts();
    let conflicts = conflicts(store, &registry_doc, &id, &loaded, &facts)?;
    let (others, _) = node::read::other_sources(store, &registry, &facts)?;
    let sources = Sources::new(&registry, &facts, &others)?;
    let report = score_month(&registry, &sources)?;
    let board = board(&registry, &facts, date)?;
    let rates = month_rates(&registry, &facts)?;
    let day = date.day();
    let rows = registry
        .inmates
        .iter()
        // The inmates this district holds that day (in custody, transfers
        // applied): a record typed for anyone else would not count.
        .filter(|(no, _)| registry.district_on(no, date) == Some(district))
        .map(|(no, e)| {
            let m = facts.inmates.get(no);
            let att = m.and_then(|m| m.attendance.get(&day));
            let counts = m
                .and_then(|m| m.counts.get(&day))
                .map(|c| c.iter().map(|(p, e)| (p.clone(), e.value)).collect())
                .unwrap_or_default();
            let conflict = att.is_some_and(|a| a.conflict)
                || m.and_then(|m| m.counts.get(&day))
                    .is_some_and(|c| c.values().any(|e| e.conflict));
            let usual = m.and_then(|m| {
                m.assignments
                    .iter()
                    .find(|(d, _)| *d == day)
                    .map(|(_, p)| p.clone())
                    .or_else(|| {
                        m.counts
                            .range(..day)
                            .next_back()
                            .and_then(|(_, c)| c.keys().next().cloned())
                    })
            });
            EntryRow {
                inmate_no: no.clone(),
                name: e.value.name.clone(),
                attendance: att.map(|a| a.value),
                counts,
                conflict,
                usual,
            }
        })
        .collect();
    let procedures = registry
        .procedures
        .iter()
        .filter_map(|(p, versions)| {
            versions
                .range(..=date)
                .next_back()
                .map(|(_, v)| (p.clone(), v.value.name.clone()))
        })
        .collect();
    let names = report
        .body
        .inmates
        .iter()
        .filter_map(|r| {
            registry
                .inmates
                .get(&r.inmate_no)
                .map(|e| (r.inmate_no.clone(), e.value.name.clone()))
        })
        .collect();
    let mut pending = BTreeMap::new();
    for r in &report.body.inmates {
        if r.pending_bonus_cp.0 != 0 || r.pending_deduct_cp.0 != 0 {
            let p = close::pending_approvals(&registry, &sources, district, month, &r.inmate_no)?;
            // What waits for the group's review is not for approval yet.
            if !p.is_empty() {
                pending.insert(r.inmate_no.clone(), p);
            }
        }
    }
    Ok(DistrictView {
        names,
        pending,
        entries: Vec::new(),
        applications: Vec::new(),
        weeks: Vec::new(),
        not_done: close::not_done(&registry, &facts, month, crate::clock::today()),
        district: district.clone(),
        district_name: registry
            .districts
            .get(district)
            .map(|e| e.value.clone())
            .unwrap_or_default(),
        month,
        date,
        rows,
        procedures,
        report,
        board,
        rates,
        conflicts,
        decision_levels: registry
            .rule_set_for(month)
            .is_some_and(|r| r.decision_levels),
    })
}
