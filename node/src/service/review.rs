//! The district scoring group's procedure (RULES.md, decision levels and
//! weekly review): the month's entries with their level and state, and the
//! weekly review (周评议) the chief records for the group.

use std::collections::BTreeMap;

use crdt_schema::{
    AdjustmentLine, Date, Decision, DistrictId, DocId, InmateNo, Month, MonthFacts, Outcome,
    Review, Sources, Week, Year, explain_month,
};

use std::path::Path;

use super::{Read, Result, Service, ServiceError, known_district};
use crate::export::Format;
use crate::export::sheets::{self, Sheet};
use crate::session::{Committed, Identity};

/// The weekly sheets' rows of a month, week by week.
pub type WeekRows = Vec<(Week, Vec<crdt_schema::WeekRow>)>;

/// A district-month's procedure as its screens show it.
#[derive(Debug, Clone)]
pub struct MonthProcedure {
    pub entries: Vec<EntryRow>,
    pub applications: Vec<ApplicationRow>,
    pub weeks: WeekRows,
}

/// The explanations of every report reading a district's document, by
/// reporting district.
type Readers = Vec<(DistrictId, Vec<crdt_schema::InmateExplanation>)>;

/// Every entry written in `district`'s document, as the report that scores
/// its inmate's month treats it, in date then id order.
fn entry_rows(readers: &Readers, district: &DistrictId) -> Vec<EntryRow> {
    // Entries of the document count in whichever report scores the
    // inmate's month: every district's of the month that reads it.
    let mut rows = Vec::new();
    for (d, explained) in readers {
        for e in explained {
            for line in &e.adjustments {
                if line.district == *district {
                    rows.push(EntryRow {
                        inmate_no: e.result.inmate_no.clone(),
                        scored_by: d.clone(),
                        line: line.clone(),
                    });
                }
            }
        }
    }
    // One fact once (an entry explained by two reports: the one that counts it).
    let mut by_key: BTreeMap<(InmateNo, String), EntryRow> = BTreeMap::new();
    for row in rows {
        let key = (row.inmate_no.clone(), row.line.id.to_string());
        let keep_old = by_key
            .get(&key)
            .is_some_and(|old| old.line.status != crdt_schema::EntryStatus::NotCounted);
        if !keep_old {
            by_key.insert(key, row);
        }
    }
    let mut rows: Vec<EntryRow> = by_key.into_values().collect();
    rows.sort_by(|a, b| {
        (a.line.date, &a.line.id, &a.inmate_no).cmp(&(b.line.date, &b.line.id, &b.inmate_no))
    });
    rows
}

/// The weekly rows of every week touching `month`, this month's part.
fn week_rows(readers: &Readers, district: &DistrictId, month: Month) -> WeekRows {
    let explained: Vec<&crdt_schema::InmateExplanation> =
        readers.iter().flat_map(|(_, e)| e.iter()).collect();
    let mut weeks = Vec::new();
    let mut week = Week::of(month.first());
    while let Some(w) = week.filter(|w| w.monday() <= month.last()) {
        weeks.push((
            w,
            crdt_schema::week_sheet(explained.iter().copied(), w, district),
        ));
        week = w.next();
    }
    weeks
}

/// One entry of a district's month document, as the score treats it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EntryRow {
    pub inmate_no: InmateNo,
    /// The district whose report scores the inmate's month.
    pub scored_by: DistrictId,
    #[serde(flatten)]
    pub line: AdjustmentLine,
}

/// What the chief records of a weekly review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewInput {
    pub district: DistrictId,
    pub week: Week,
    pub held: Date,
    pub members: u32,
    pub present: u32,
    pub in_favour: u32,
    /// Entry id → outcome.
    pub decisions: Vec<(String, Outcome)>,
    pub dissent: String,
}

/// What a review wrote: per month document, its id and decisions.
#[derive(Debug, Clone)]
pub struct Reviewed {
    pub records: Vec<(Month, crdt_schema::ContentId, usize)>,
    pub committed: Committed,
}

/// What a posting wrote.
#[derive(Debug, Clone)]
pub struct Posted {
    pub digest: String,
    pub first_day: Date,
    pub last_day: Date,
    pub committed: Committed,
}

impl Service {
    /// The chief posts (公示) the month's report as it stands, from
    /// `first_day`: a signed record of the digest posted. The posting lasts
    /// the rule set's working days; what it shows leaves out entries marked
    /// not for posting, which count all the same.
    pub fn post(
        &self,
        who: &Identity,
        time: i64,
        district: &DistrictId,
        month: Month,
        first_day: Date,
    ) -> Result<Posted> {
        let done = self.write(who, time, format!("post {district} {month}"), |s| {
            let registry = s.registry_facts_through(Year::of_month(month))?;
            known_district(&registry, district)?;
            let facts = s.month(district, month)?.facts();
            let others: Vec<MonthFacts> = crate::close::other_sources(s, &registry, &facts)?
                .into_iter()
                .map(|(f, _)| f)
                .collect();
            let sources = Sources::new(&registry, &facts, &others)?;
            let report = crdt_schema::score_month(&registry, &sources)?;
            let posting = crdt_schema::Posting {
                digest: report.digest.0.clone(),
                first_day,
            };
            posting.check(month).map_err(ServiceError::BadReview)?;
            let rules = registry
                .rule_set_for(month)
                .cloned()
                .unwrap_or_else(|| crdt_schema::RuleSet::standard(month));
            let last_day = rules.posting_end(first_day);
            s.write_month(district, month, |w| w.put_posting(&posting))?;
            Ok((posting.digest, last_day))
        })?;
        let ((digest, last_day), committed) = done.value;
        Ok(Posted {
            digest,
            first_day,
            last_day,
            committed,
        })
    }

    /// Every entry written in `district`'s document of `month`, with its
    /// id, level, decision and state, in date then id order.
    pub fn entries(&self, district: &DistrictId, month: Month) -> Result<Read<Vec<EntryRow>>> {
        let _lock = self.store.lock_shared()?;
        let mut issues = Vec::new();
        let registry = self.registry(Some(month), &mut issues)?;
        known_district(&registry, district)?;
        let readers = self.readers_explained(&registry, district, month, &mut issues)?;
        let rows = entry_rows(&readers, district);
        Ok(Read {
            value: rows,
            issues,
        })
    }

    /// The explanations of every report of `month` that reads `district`'s
    /// document (its own, and those of districts an inmate moved to), by
    /// reporting district (under the caller's lock).
    fn readers_explained(
        &self,
        registry: &crdt_schema::RegistryFacts,
        district: &DistrictId,
        month: Month,
        issues: &mut Vec<String>,
    ) -> Result<Readers> {
        let mut out = Vec::new();
        for d in registry.districts.keys() {
            if d != district && !registry.sources_of(d, month).contains(district) {
                continue;
            }
            let (facts, others) = self.month_sources(registry, d, month, issues)?;
            let sources = Sources::new(registry, &facts, &others)?;
            out.push((d.clone(), explain_month(registry, &sources)?));
        }
        Ok(out)
    }

    /// What the procedure's screens show of a district-month, read once:
    /// its entries (as [`Service::entries`]), applications (as
    /// [`Service::applications`]) and weekly rows (this month's part of [`Service::weekly_sheet`]).
    pub fn month_procedure(
        &self,
        district: &DistrictId,
        month: Month,
    ) -> Result<Read<MonthProcedure>> {
        let _lock = self.store.lock_shared()?;
        let mut issues = Vec::new();
        let registry = self.registry(Some(month), &mut issues)?;
        known_district(&registry, district)?;
        let readers = self.readers_explained(&registry, district, month, &mut issues)?;
        let loaded = self.load_month(district, month, &mut issues)?;
        Ok(Read {
            value: MonthProcedure {
                entries: entry_rows(&readers, district),
                applications: application_rows(&registry, &loaded.doc.facts(), month),
                weeks: week_rows(&readers, district, month),
            },
            issues,
        })
    }

    /// The chief records the group's weekly review: its members, those
    /// present and in favour, and a decision for each entry named by id
    /// (an entry of the district's document, dated no later than the
    /// week's Sunday). A week across two months is written into both
    /// documents, each with the decisions of its own entries.
    pub fn review(&self, who: &Identity, time: i64, input: &ReviewInput) -> Result<Reviewed> {
        let note = format!("review {} {}", input.district, input.week);
        let done = self.write(who, time, note, |s| {
            let registry = s.registry().facts();
            known_district(&registry, &input.district)?;
            let months: Vec<Month> = {
                let mut m: Vec<Month> = input.week.dates().map(|d| d.month()).collect();
                // Undecided entries of the weeks before, in the month the
                // week begins in, may be decided too.
                m.dedup();
                m
            };
            let sunday = input.week.dates().last().unwrap_or(input.week.monday());
            // Entry id → (month, inmate, date), from the documents.
            let mut index: BTreeMap<String, Vec<(Month, InmateNo, Date)>> = BTreeMap::new();
            for &m in &months {
                let facts: MonthFacts = s.month(&input.district, m)?.facts();
                for (no, rec) in &facts.inmates {
                    for (id, e) in &rec.adjustments {
                        index.entry(id.to_string()).or_default().push((
                            m,
                            no.clone(),
                            e.value.date,
                        ));
                    }
                }
            }
            let mut by_month: BTreeMap<Month, Vec<Decision>> = BTreeMap::new();
            for (id, outcome) in &input.decisions {
                let found = index.get(id).map(Vec::as_slice).unwrap_or_default();
                let [(m, inmate, date)] = found else {
                    return Err(ServiceError::BadReview(if found.is_empty() {
                        format!(
                            "no entry {id} in {}'s documents of {}",
                            input.district,
                            months
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(" or ")
                        )
                    } else {
                        format!(
                            "entry {id} names more than one inmate's entry: give them one by one"
                        )
                    }));
                };
                if *date > sunday || *date > input.held {
                    return Err(ServiceError::BadReview(format!(
                        "entry {id} is dated {date}, after the week {} or the day {} the review was held",
                        input.week, input.held
                    )));
                }
                let entry_id = crdt_schema::ContentId::parse(id)
                    .map_err(|e| ServiceError::BadReview(e.to_string()))?;
                if let Outcome::Correct { points_cp } = outcome {
                    let entered = s
                        .month(&input.district, *m)?
                        .facts()
                        .inmates
                        .get(inmate)
                        .and_then(|i| i.adjustments.get(&entry_id))
                        .map(|e| e.value.points_cp);
                    if entered.is_some_and(|p| (p > crdt_schema::Cp::ZERO) != (*points_cp > crdt_schema::Cp::ZERO)) {
                        return Err(ServiceError::BadReview(format!(
                            "entry {id} is corrected to {points_cp}, the other sign: a correction keeps the entry's sign (return it instead)"
                        )));
                    }
                }
                by_month.entry(*m).or_default().push(Decision {
                    inmate: inmate.clone(),
                    entry: crdt_schema::ContentId::parse(id)
                        .map_err(|e| ServiceError::BadReview(e.to_string()))?,
                    outcome: *outcome,
                });
            }
            if by_month.is_empty() {
                by_month.insert(input.week.monday().month(), Vec::new());
            }
            let mut records = Vec::new();
            for (m, decisions) in by_month {
                let review = Review {
                    week: input.week,
                    held: input.held,
                    members: input.members,
                    present: input.present,
                    in_favour: input.in_favour,
                    decisions,
                    dissent: input.dissent.clone(),
                };
                review.check().map_err(ServiceError::BadReview)?;
                let n = review.decisions.len();
                let id = s.write_month(&input.district, m, |w| w.put_review(&review))?;
                records.push((m, id, n));
            }
            Ok(records)
        })?;
        let (records, committed) = done.value;
        Ok(Reviewed { records, committed })
    }
}

/// One application with its answer and deadlines (RULES.md, Art. 36).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApplicationRow {
    pub id: crdt_schema::ContentId,
    #[serde(flatten)]
    pub application: crdt_schema::Application,
    /// The last day it was in time: 3 working days from the posting's
    /// first day (a 复查) or from the answer it follows (a 复核); `None`
    /// when that day is not known (not posted, not answered).
    pub due: Option<Date>,
    pub late: bool,
    pub answer: Option<crdt_schema::Answer>,
    /// The last day the answer is in time: 5 working days from receipt.
    pub answer_due: Option<Date>,
    pub answer_late: bool,
}

impl Service {
    /// An officer records an inmate's application for 复查 (or, with
    /// `follows`, 复核) in the district's document of the month. A late
    /// application is recorded all the same.
    pub fn apply(
        &self,
        who: &Identity,
        time: i64,
        district: &DistrictId,
        month: Month,
        application: &crdt_schema::Application,
    ) -> Result<(crdt_schema::ContentId, Committed)> {
        let note = format!("application {district} {month} {}", application.inmate);
        let done = self.write(who, time, note, |s| {
            let registry = s.registry_facts_through(Year::of_month(month))?;
            known_district(&registry, district)?;
            // Recorded where the month is scored: the district holding the
            // inmate on its last custody day, whose document the report reads
            // applications from.
            if let Some(to) = registry.custody(&application.inmate, month).reporting()
                && to != district
            {
                return Err(ServiceError::ScoredElsewhere {
                    inmate: application.inmate.clone(),
                    district: district.clone(),
                    month,
                    to: to.clone(),
                });
            }
            let facts = s.month(district, month)?.facts();
            if let Some(prior) = &application.follows {
                let Some(p) = facts.applications.get(prior) else {
                    return Err(ServiceError::BadReview(format!(
                        "no application {prior} in {district} {month} for this 复核 to follow"
                    )));
                };
                if p.value.kind != crdt_schema::ApplicationKind::Recheck
                    || !facts.answers.contains_key(prior)
                {
                    return Err(ServiceError::BadReview(format!(
                        "a 复核 follows a 复查 the group has answered; {prior} is not one"
                    )));
                }
                if p.value.inmate != application.inmate
                    || p.value.entry != application.entry
                    || p.value.figure != application.figure
                {
                    return Err(ServiceError::BadReview(format!(
                        "a 复核 is of what its 复查 {prior} was: the same inmate and entry or figure"
                    )));
                }
            }
            if let Some(entry) = &application.entry {
                let held = facts
                    .inmates
                    .get(&application.inmate)
                    .is_some_and(|i| i.adjustments.contains_key(entry));
                // The entry may be in another district's document (a
                // transfer): the report's, checked by its id there.
                if !held && application.follows.is_none() {
                    let any = s
                        .registry()
                        .facts()
                        .districts
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>();
                    let mut found = false;
                    for d in any {
                        let f = s.month(&d, month)?.facts();
                        found |= f
                            .inmates
                            .get(&application.inmate)
                            .is_some_and(|i| i.adjustments.contains_key(entry));
                    }
                    if !found {
                        return Err(ServiceError::BadReview(format!(
                            "no entry {entry} of {} in {month}",
                            application.inmate
                        )));
                    }
                }
            }
            Ok(s.write_month(district, month, |w| w.put_application(application))?)
        })?;
        Ok(done.value)
    }

    /// The answer to an application: to a 复查 by the district group (the
    /// chief records it), to a 复核 by the prison group, final.
    pub fn answer(
        &self,
        who: &Identity,
        time: i64,
        district: &DistrictId,
        month: Month,
        answer: &crdt_schema::Answer,
    ) -> Result<Committed> {
        let note = format!("answer {district} {month} {}", answer.application);
        let done = self.write(who, time, note, |s| {
            known_district(&s.registry().facts(), district)?;
            let facts = s.month(district, month)?.facts();
            let Some(a) = facts.applications.get(&answer.application) else {
                return Err(ServiceError::BadReview(format!(
                    "no application {} in {district} {month}",
                    answer.application
                )));
            };
            if answer.decided < a.value.received {
                return Err(ServiceError::BadReview(format!(
                    "answered {} before the application was received ({})",
                    answer.decided, a.value.received
                )));
            }
            if a.value.entry.is_none()
                && matches!(answer.outcome, crdt_schema::AnswerOutcome::Corrected { .. })
            {
                return Err(ServiceError::BadReview(
                    "a figure applied against is corrected by correcting its records, not by an amount"
                        .into(),
                ));
            }
            // A correction keeps the entry's sign (a deduction is not
            // answered into a bonus); 0 is "does not count".
            if let (Some(entry), crdt_schema::AnswerOutcome::Corrected { points_cp }) =
                (&a.value.entry, answer.outcome)
                && points_cp != crdt_schema::Cp::ZERO
            {
                let registry = s.registry().facts();
                let mut entered = None;
                for d in registry.districts.keys() {
                    let f = s.month(d, month)?.facts();
                    if let Some(e) = f
                        .inmates
                        .get(&a.value.inmate)
                        .and_then(|i| i.adjustments.get(entry))
                    {
                        entered = Some(e.value.points_cp);
                    }
                }
                if entered.is_some_and(|p| (p > crdt_schema::Cp::ZERO) != (points_cp > crdt_schema::Cp::ZERO)) {
                    return Err(ServiceError::BadReview(format!(
                        "entry {entry} is corrected to {points_cp}, the other sign: a correction keeps the entry's sign (0: it does not count)"
                    )));
                }
            }
            let is_final = a.value.kind == crdt_schema::ApplicationKind::Review;
            s.write_month(district, month, |w| w.put_answer(answer, is_final))?;
            Ok(())
        })?;
        Ok(done.value.1)
    }

    /// The month's applications with their answers and deadlines.
    pub fn applications(
        &self,
        district: &DistrictId,
        month: Month,
    ) -> Result<Read<Vec<ApplicationRow>>> {
        let _lock = self.store.lock_shared()?;
        let mut issues = Vec::new();
        let registry = self.registry(Some(month), &mut issues)?;
        known_district(&registry, district)?;
        let loaded = self.load_month(district, month, &mut issues)?;
        let facts = loaded.doc.facts();
        Ok(Read {
            value: application_rows(&registry, &facts, month),
            issues,
        })
    }
}

impl Service {
    /// The posted sheet of a district-month (HTML), see
    /// [`crate::export::html::posted_sheet`].
    pub fn posted_sheet(&self, district: &DistrictId, month: Month) -> Result<Read<Vec<u8>>> {
        let _lock = self.store.lock_shared()?;
        let mut issues = Vec::new();
        let registry = self.registry(Some(month), &mut issues)?;
        known_district(&registry, district)?;
        let (facts, others) = self.month_sources(&registry, district, month, &mut issues)?;
        let (report, explained) = report_and_explained(&registry, &facts, &others)?;
        Ok(Read {
            value: crate::export::html::posted_sheet(&registry, &report, &explained).into_bytes(),
            issues,
        })
    }
}

impl Service {
    /// An officer records what the inmate did with the paper monthly sheet.
    pub fn acknowledge(
        &self,
        who: &Identity,
        time: i64,
        district: &DistrictId,
        month: Month,
        inmate: &InmateNo,
        ack: &crdt_schema::Acknowledgement,
    ) -> Result<Committed> {
        let note = format!("acknowledgement {district} {month} {inmate}");
        let done = self.write(who, time, note, |s| {
            let registry = s.registry_facts_through(Year::of_month(month))?;
            known_district(&registry, district)?;
            if !registry.inmates.contains_key(inmate) {
                return Err(ServiceError::UnknownInmate {
                    inmate: inmate.clone(),
                    district: district.clone(),
                    month,
                });
            }
            // The sheet is the report's: recorded where the month is scored,
            // or it would be signed and never shown.
            match registry.custody(inmate, month).reporting() {
                Some(to) if to != district => {
                    return Err(ServiceError::ScoredElsewhere {
                        inmate: inmate.clone(),
                        district: district.clone(),
                        month,
                        to: to.clone(),
                    });
                }
                None => {
                    return Err(ServiceError::UnknownInmate {
                        inmate: inmate.clone(),
                        district: district.clone(),
                        month,
                    });
                }
                Some(_) => {}
            }
            s.write_month(district, month, |w| w.put_acknowledgement(inmate, ack))?;
            Ok(())
        })?;
        Ok(done.value.1)
    }
}

/// A district-month's report and every inmate's explanation, from one set
/// of sources.
fn report_and_explained(
    registry: &crdt_schema::RegistryFacts,
    facts: &MonthFacts,
    others: &[MonthFacts],
) -> Result<(crdt_schema::Report, Vec<crdt_schema::InmateExplanation>)> {
    let sources = Sources::new(registry, facts, others)?;
    Ok((
        crdt_schema::score_month(registry, &sources)?,
        explain_month(registry, &sources)?,
    ))
}

/// The applications of a month document with their answers and deadlines
/// (RULES.md, Art. 36), in order of receipt: a function of the document and
/// the rule set's calendar.
fn application_rows(
    registry: &crdt_schema::RegistryFacts,
    facts: &MonthFacts,
    month: Month,
) -> Vec<ApplicationRow> {
    let rules = registry
        .rule_set_for(month)
        .cloned()
        .unwrap_or_else(|| crdt_schema::RuleSet::standard(month));
    // The posting the applications run from: the latest (a re-posting
    // starts the period again), the one the report shows.
    let posted = facts.postings.values().map(|p| p.value.first_day).max();
    let mut rows: Vec<ApplicationRow> = facts
        .applications
        .iter()
        .map(|(id, a)| {
            let a = a.value.clone();
            let answer = facts.answer_of(id, &a).cloned();
            let from = match &a.follows {
                None => posted,
                Some(prior) => facts.answers.get(prior).map(|e| e.value.decided),
            };
            let due = from.and_then(|d| rules.working_days_end(d, 3));
            let answer_due = rules.working_days_end(a.received, 5);
            ApplicationRow {
                id: id.clone(),
                late: due.is_some_and(|d| a.received > d),
                answer_late: answer
                    .as_ref()
                    .zip(answer_due)
                    .is_some_and(|(ans, d)| ans.decided > d),
                due,
                answer,
                answer_due,
                application: a,
            }
        })
        .collect();
    rows.sort_by(|a, b| (a.application.received, &a.id).cmp(&(b.application.received, &b.id)));
    rows
}

impl Service {
    /// The weekly sheet (周评议表) of `district` for `week`: its reviews and,
    /// per inmate, the week's labor days, rate and entries, from the
    /// report of every month the week touches.
    pub fn weekly_sheet(&self, district: &DistrictId, week: Week) -> Result<Read<Sheet>> {
        let _lock = self.store.lock_shared()?;
        let mut issues = Vec::new();
        let registry = self.registry(Some(week.sunday().month()), &mut issues)?;
        known_district(&registry, district)?;
        let mut months: Vec<Month> = week.dates().map(|d| d.month()).collect();
        months.dedup();
        let mut explained = Vec::new();
        // A review of a week across two months is one record in each
        // document (each with its own entries' decisions): shown as one.
        let mut reviews: BTreeMap<(Date, u32, u32, u32, String), Review> = BTreeMap::new();
        for m in months {
            // Each month as its own year's reports read the roster (a week
            // can start in December and end in January).
            let of_month = self.registry(Some(m), &mut issues)?;
            for (_, e) in self.readers_explained(&of_month, district, m, &mut issues)? {
                explained.extend(e);
            }
            let loaded = self.load_month(district, m, &mut issues)?;
            let facts = loaded.doc.facts();
            for r in facts.reviews.values().filter(|r| r.value.week == week) {
                let r = &r.value;
                let key = (r.held, r.members, r.present, r.in_favour, r.dissent.clone());
                reviews
                    .entry(key)
                    .and_modify(|known| known.decisions.extend(r.decisions.iter().cloned()))
                    .or_insert_with(|| r.clone());
            }
        }
        let rows = crdt_schema::week_sheet(&explained, week, district);
        let reviews: Vec<Review> = reviews.into_values().collect();
        Ok(Read {
            value: sheets::weekly_sheet(&registry, district, week, &rows, &reviews),
            issues,
        })
    }

    /// The monthly sheets (月评表) of a district-month, one page per inmate
    /// of its report.
    pub fn monthly_sheets(&self, district: &DistrictId, month: Month) -> Result<Read<Sheet>> {
        let _lock = self.store.lock_shared()?;
        let mut issues = Vec::new();
        // The documents themselves, read once: the acknowledgements' signers
        // come from their changes.
        let (registry_doc, found) = crate::read::registry(&self.store)?;
        issues.extend(found);
        let shards =
            crate::read::roster_facts(&self.store, Some(Year::of_month(month)), &mut issues)?;
        let registry = registry_doc.facts().with_roster(&shards);
        known_district(&registry, district)?;
        let loaded = self.load_month(district, month, &mut issues)?;
        let facts = loaded.doc.facts();
        let (others, found) = crate::read::other_sources(&self.store, &registry, &facts)?;
        issues.extend(found);
        let (report, explained) = report_and_explained(&registry, &facts, &others)?;
        let applications = application_rows(&registry, &facts, month);
        let id = DocId::month(district.clone(), month);
        let trust = crate::validate::Trust::from_registry(
            self.store.authority()?,
            registry_doc.document().automerge(),
        );
        let recorded_by: BTreeMap<InmateNo, String> = crate::audit::acknowledged_by(
            &id,
            loaded.doc.document().automerge(),
            &loaded.signatures,
            &trust,
        )
        .into_iter()
        .map(|(no, w)| {
            let who = match (w.officer_no, w.name) {
                (Some(n), Some(name)) => format!("{n} {name}"),
                _ => format!("{}…", w.author.get(..16).unwrap_or(&w.author)),
            };
            (no, who)
        })
        .collect();
        Ok(Read {
            value: sheets::monthly_sheets(
                &registry,
                &report,
                &explained,
                &applications,
                &recorded_by,
            ),
            issues,
        })
    }

    /// A sheet written to `path` in `format`, atomically; the bytes written.
    pub fn write_sheet(&self, sheet: &Sheet, format: Format, path: &Path) -> Result<usize> {
        let bytes = match format {
            Format::Xlsx => sheets::to_xlsx(sheet)?,
            Format::Html => sheets::to_html(sheet).into_bytes(),
        };
        crate::store::write_atomic(path, &bytes)?;
        Ok(bytes.len())
    }
}

/// One district's line of what awaits the prison scoring working group.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GroupQueueLine {
    pub district: DistrictId,
    pub name: String,
    /// Inmates with an amount awaiting the prison group's approval
    /// (`needs_approval`).
    pub inmates: usize,
}

impl Service {
    /// What awaits the prison group's approval in every district of the
    /// month, district by district (those with nothing waiting included,
    /// so the list shows every district was looked at).
    pub fn awaiting_prison_group(&self, month: Month) -> Result<Read<Vec<GroupQueueLine>>> {
        let scored = self.score(None, month)?;
        let registry = &scored.value.registry;
        let lines = scored
            .value
            .reports
            .iter()
            .map(|r| GroupQueueLine {
                district: r.district.clone(),
                name: crate::export::district_name(registry, &r.district).to_string(),
                inmates: r
                    .body
                    .inmates
                    .iter()
                    .filter(|i| i.flags.contains(&crdt_schema::Flag::NeedsApproval))
                    .count(),
            })
            .collect();
        Ok(Read {
            value: lines,
            issues: scored.issues,
        })
    }
}
