//! The scoring engine: `(registry facts, month facts) → report`, a pure function.
//!
//! Every rule of RULES.md lives here, in integers only. Divisions truncate
//! toward zero and are done once, on `i128` numerators, after every
//! multiplication (RULES.md, "Units"). Nothing here reads a clock, a file or a
//! `HashMap`: same facts in, same bytes out.

pub mod team;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::calendar::{Date, Month, Week};
use crate::facts::Entry;
use crate::facts::Problem;
use crate::ids::{DistrictId, InmateNo, ProcedureId};
use crate::layout::{AdjustmentId, ApprovalTarget, ContentId, DocId, MonthKey};
use crate::month::{InmateMonth, MonthFacts};
use crate::records::{Adjustment, Attendance, DayType, Grade, Inmate, NoQuotaGrade};
use crate::registry::{Custody, RegistryFacts};
use crate::report::{
    Flag, InmateResult, PostingStatus, ProblemOut, Report, ReportBody, ReportDigest, SealStatus,
    TransferredOut, UnallocatedTeamCount,
};
use crate::ruleset::{BaseBasis, Continuity, RuleSet};
use crate::schema::Outcome;
use crate::units::{Bp, Cp};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScoreError {
    #[error("no rule set is in force for {0}: add one effective from this month or earlier")]
    NoRuleSet(Month),
    #[error("{date} is not in {month}")]
    DateOutsideMonth { date: Date, month: Month },
    #[error(
        "the report of {district}/{month} reads {other}'s document (an inmate held there this month is reported here), which was not given"
    )]
    MissingSource {
        district: DistrictId,
        month: Month,
        other: DistrictId,
    },
}

/// One procedure's contribution to a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineFigures {
    pub procedure: ProcedureId,
    /// The inmate's own counted quantity.
    pub own: u64,
    /// The inmate's share of the team count (largest remainder).
    pub team_share: u64,
    /// Standard time `t_p` of the version in force that day, if any.
    pub std_ms: Option<u64>,
    /// Date the version in force took effect.
    pub version_from: Option<Date>,
    /// `(own + team_share) × t_p`.
    pub earned_ms: i64,
}

impl LineFigures {
    pub fn quantity(&self) -> u64 {
        self.own + self.team_share
    }
}

/// The daily record (日记载) of one inmate on one day, with every figure derived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayFigures {
    pub date: Date,
    /// The district holding the inmate that day, whose document the day's
    /// records are read from.
    pub district: Option<DistrictId>,
    /// `None`: no attendance record, which counts as a rest day.
    pub day_type: Option<DayType>,
    /// Available minutes `A`.
    pub minutes: u32,
    /// Grade coefficient `g` (bp).
    pub grade_bp: u32,
    pub no_quota_grade: Option<NoQuotaGrade>,
    /// `REQ_ms = A × 60000 × g / 10000` (work days; 0 otherwise).
    pub req_ms: i64,
    /// `EARNED_ms = Σ q_p × t_p`.
    pub earned_ms: i64,
    /// `r = EARNED × 10000 / REQ` (work days only).
    pub rate_bp: Option<Bp>,
    /// Daily factor `f` (labor days only).
    pub factor_bp: Option<Bp>,
    pub lines: Vec<LineFigures>,
    /// A record behind this day is in conflict.
    pub conflict: bool,
}

impl DayFigures {
    /// A day with nothing counted (the board's row for records written
    /// where the inmate was not held).
    pub(crate) fn nothing(date: Date) -> DayFigures {
        DayFigures {
            date,
            district: None,
            day_type: None,
            minutes: 0,
            grade_bp: 0,
            no_quota_grade: None,
            req_ms: 0,
            earned_ms: 0,
            rate_bp: None,
            factor_bp: None,
            lines: Vec::new(),
            conflict: false,
        }
    }
}

/// Whether an entry counts, or what it waits for (RULES.md, decision levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    Counted,
    /// Waits for the district scoring group's weekly review (`needs_review`).
    AwaitingReview,
    /// Passed by the group (or computed, as the over-fulfilment bonus), and
    /// waits for the prison scoring working group's approval (`needs_approval`).
    AwaitingApproval,
    /// 退回: the group returned it; it does not count.
    Returned,
    /// Not counted: the inmate has no labor day this month, so every figure is 0.
    Void,
    /// Never counts: written in a district's document for a date the inmate
    /// was not in that district (or not in custody); listed in `problems`.
    NotCounted,
}

impl EntryStatus {
    /// The code the report's JSON and the scoring database carry.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryStatus::Counted => "counted",
            EntryStatus::AwaitingReview => "awaiting_review",
            EntryStatus::AwaitingApproval => "awaiting_approval",
            EntryStatus::Returned => "returned",
            EntryStatus::Void => "void",
            EntryStatus::NotCounted => "not_counted",
        }
    }

    /// Whether the amount waits (is pending) rather than counts or not.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            EntryStatus::AwaitingReview | EntryStatus::AwaitingApproval
        )
    }
}

/// Who decides an entry (RULES.md, decision levels; Art. 25, 27).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 当场: a small deduction, counted as entered.
    Spot,
    /// The district scoring group, at its weekly review.
    Group,
    /// The group, then the prison scoring working group's approval.
    PrisonGroup,
    /// The chief's approval (rule sets of the former procedure).
    Chief,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Spot => "spot",
            Level::Group => "group",
            Level::PrisonGroup => "prison_group",
            Level::Chief => "chief",
        }
    }
}

/// The review that decided an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionLine {
    pub review: ContentId,
    pub week: Week,
    pub held: Date,
    pub members: u32,
    pub in_favour: u32,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdjustmentLine {
    pub id: AdjustmentId,
    /// The district whose document holds it, whose group reviews it.
    pub district: DistrictId,
    pub date: Date,
    /// As entered.
    pub points_cp: Cp,
    /// As it counts (or waits): the corrected amount after a correction, 0
    /// when returned.
    pub counted_cp: Cp,
    pub reason: String,
    pub evidence: String,
    pub special: bool,
    pub no_post: bool,
    pub level: Level,
    pub decision: Option<DecisionLine>,
    pub status: EntryStatus,
}

impl AdjustmentLine {
    fn new(
        id: &AdjustmentId,
        a: &Adjustment,
        status: EntryStatus,
        district: &DistrictId,
    ) -> AdjustmentLine {
        AdjustmentLine {
            id: id.clone(),
            district: district.clone(),
            date: a.date,
            points_cp: a.points_cp,
            counted_cp: a.points_cp,
            reason: a.reason.clone(),
            evidence: a.evidence.clone(),
            special: a.special,
            no_post: a.no_post,
            level: Level::Group,
            decision: None,
            status,
        }
    }
}

/// The correction an answered application makes of an entry of `no`, from
/// the reporting district's document: the prison group's final answer to a
/// 复核 before the group's answer to a 复查. `(amount, final)`.
/// A correction to another sign (a deduction into a bonus) corrects
/// nothing; to 0 the entry does not count.
fn answered_correction(
    f: &MonthFacts,
    no: &InmateNo,
    id: &AdjustmentId,
    entered: Cp,
) -> Option<(Cp, bool)> {
    use crate::schema::{AnswerOutcome, ApplicationKind};
    let mut best: Option<(ApplicationKind, Date, Cp)> = None;
    for (aid, a) in &f.applications {
        let a = &a.value;
        if a.inmate != *no || a.entry.as_ref() != Some(id) {
            continue;
        }
        if let Some(ans) = f.answer_of(aid, a)
            && let AnswerOutcome::Corrected { points_cp } = ans.outcome
            && (points_cp == Cp::ZERO || (points_cp > Cp::ZERO) == (entered > Cp::ZERO))
        {
            let key = (a.kind, ans.decided, points_cp);
            if best.as_ref().is_none_or(|b| (b.0, b.1) < (key.0, key.1)) {
                best = Some(key);
            }
        }
    }
    best.map(|(kind, _, cp)| (cp, kind == ApplicationKind::Review))
}

/// Whether an application of `no` in the reporting district's document
/// awaits its answer (`under_review`).
fn open_application(f: &MonthFacts, no: &InmateNo) -> bool {
    f.open_applications().any(|(_, a)| a.inmate == *no)
}

/// The group's decision of an entry of `no` in `f`: the latest review (by
/// the date held, then week and id) that decides it.
fn decision_of(f: &MonthFacts, no: &InmateNo, id: &AdjustmentId) -> Option<DecisionLine> {
    f.reviews
        .iter()
        .filter_map(|(rid, r)| {
            let r = &r.value;
            r.decisions
                .iter()
                .find(|d| d.inmate == *no && d.entry == *id)
                .map(|d| DecisionLine {
                    review: rid.clone(),
                    week: r.week,
                    held: r.held,
                    members: r.members,
                    in_favour: r.in_favour,
                    outcome: d.outcome,
                })
        })
        .max_by(|a, b| (a.held, a.week, &a.review).cmp(&(b.held, b.week, &b.review)))
}

/// One inmate's result with the day-by-day figures behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InmateExplanation {
    pub result: InmateResult,
    /// `K`: calendar days of the month.
    pub calendar_days: u32,
    pub overfulfil_status: Option<EntryStatus>,
    pub days: Vec<DayFigures>,
    pub adjustments: Vec<AdjustmentLine>,
}

/// The month documents one district's report is computed from: its own,
/// and the documents of every other district that held, on some day of the
/// month, an inmate it reports (RULES.md, "Districts and transfers": each
/// day's records are read from the document of the district holding the
/// inmate that day). [`Sources::new`] refuses to build without one of them,
/// so a report can never be computed from fewer documents than it reads.
#[derive(Debug, Clone)]
pub struct Sources<'a> {
    own: &'a MonthFacts,
    others: BTreeMap<&'a DistrictId, &'a MonthFacts>,
}

impl<'a> Sources<'a> {
    /// The sources of `own`'s report among `others` (documents of the same
    /// month; ones the report does not read are ignored, so a caller may pass
    /// every district's). A district with no document yet is an empty one:
    /// pass [`MonthFacts::empty`].
    pub fn new(
        registry: &RegistryFacts,
        own: &'a MonthFacts,
        others: impl IntoIterator<Item = &'a MonthFacts>,
    ) -> Result<Sources<'a>, ScoreError> {
        let needed = registry.sources_of(&own.district, own.month);
        let mut map = BTreeMap::new();
        for f in others {
            if f.month == own.month && needed.contains(&f.district) {
                map.insert(&f.district, f);
            }
        }
        if let Some(missing) = needed.iter().find(|d| !map.contains_key(d)) {
            return Err(ScoreError::MissingSource {
                district: own.district.clone(),
                month: own.month,
                other: missing.clone(),
            });
        }
        Ok(Sources { own, others: map })
    }

    /// A district's own document alone: for a report no transfer touches
    /// (still checked: it fails if the registry says otherwise).
    pub fn alone(registry: &RegistryFacts, own: &'a MonthFacts) -> Result<Sources<'a>, ScoreError> {
        Sources::new(registry, own, [])
    }

    /// The reporting district's document.
    pub fn own(&self) -> &'a MonthFacts {
        self.own
    }

    /// The other districts' documents read, in district order.
    pub fn others(&self) -> impl Iterator<Item = &'a MonthFacts> + '_ {
        self.others.values().copied()
    }

    /// The document of `district`, if the report reads it.
    pub fn get(&self, district: &DistrictId) -> Option<&'a MonthFacts> {
        if *district == self.own.district {
            Some(self.own)
        } else {
            self.others.get(district).copied()
        }
    }

    fn all(&self) -> impl Iterator<Item = &'a MonthFacts> + '_ {
        std::iter::once(self.own).chain(self.others())
    }
}

/// Scores one district-month from its sources.
pub fn score_month(registry: &RegistryFacts, sources: &Sources<'_>) -> Result<Report, ScoreError> {
    let facts = sources.own;
    let scorer = Scorer::new(registry, sources)?;
    let mut problems: Vec<ProblemOut> = facts.problems.iter().cloned().map(Into::into).collect();
    let mut inmates = Vec::new();
    let mut amended = facts.amended.clone();
    let reported = scorer.reported();
    for no in &reported {
        match scorer.score_inmate(no) {
            Ok((e, mut p)) => {
                if e.result.flags.contains(&Flag::AmendedAfterSeal) {
                    amended.insert((*no).clone());
                }
                inmates.push(e.result);
                problems.extend(p.drain(..).map(Into::into));
            }
            Err(p) => problems.push(p.into()),
        }
    }
    // Records of this document for inmates it does not report: not in the
    // roster, or held elsewhere (or not in custody) on the record's day.
    for (no, rec) in &facts.inmates {
        if reported.contains(&no) {
            continue;
        }
        match scorer.roster(no) {
            Err(p) => problems.push(p.into()),
            Ok(_) => {
                let custody = registry.custody(no, facts.month);
                let mut p = Vec::new();
                scorer.stray_records(no, &facts.district, rec, &custody, &mut p);
                problems.extend(p.into_iter().map(Into::into));
            }
        }
    }
    let mut transferred_out = Vec::new();
    for (no, _) in registry.inmates_of(&facts.district, facts.month) {
        let custody = registry.custody(no, facts.month);
        if custody.reporting() != Some(&facts.district) {
            for (date, to) in custody.moves_out_of(&facts.district) {
                if !registry.districts.contains_key(to) {
                    problems.push(ProblemOut {
                        key: format!("transfer/{no}/{date}"),
                        reason: format!(
                            "transferred to {to}, which is not a district of the registry: no report scores this inmate"
                        ),
                    });
                }
                transferred_out.push(TransferredOut {
                    inmate_no: no.clone(),
                    date,
                    to: to.clone(),
                });
            }
        }
    }
    problems.sort();
    problems.dedup();
    let body = ReportBody {
        rule_set: scorer.rules.version(),
        calendar_days: u32::from(facts.month.days()),
        inmates,
        unallocated_team_counts: scorer.unallocated.clone(),
        problems,
        transferred_out,
        read_from: sources.others.keys().map(|d| (*d).clone()).collect(),
    };
    let mut report = Report::new(facts.district.clone(), facts.month, body);
    report.seal = facts.seal.as_ref().map(|s| {
        let current = s.seal.digest == report.digest.0;
        SealStatus {
            digest: s.seal.digest.clone(),
            by: hex::encode(&s.author),
            change: s.change.to_string(),
            current,
            forced: s.seal.forced.clone(),
            amended: amended.len() as u32,
            registry_changed: !current && amended.is_empty(),
        }
    });
    report.acknowledgements = facts
        .acknowledgements
        .iter()
        .filter(|(no, _)| report.body.inmates.iter().any(|i| i.inmate_no == **no))
        .map(|(no, a)| (no.clone(), a.value.clone()))
        .collect();
    // The latest posting: by its first day, then id.
    report.posting = facts
        .postings
        .iter()
        .max_by(|a, b| (a.1.value.first_day, a.0).cmp(&(b.1.value.first_day, b.0)))
        .map(|(_, p)| {
            let p = &p.value;
            PostingStatus {
                digest: p.digest.clone(),
                first_day: p.first_day,
                last_day: scorer.rules.posting_end(p.first_day),
                current: p.digest == report.digest.0,
            }
        });
    Ok(report)
}

/// The digest a chief seals: the report as it will stand once sealed, that
/// is with no amendment (the new seal covers everything up to now, in every
/// document the report reads).
pub fn digest_to_seal(
    registry: &RegistryFacts,
    sources: &Sources<'_>,
) -> Result<ReportDigest, ScoreError> {
    let unamended = |f: &MonthFacts| {
        let mut f = f.clone();
        f.amended.clear();
        f
    };
    let mut own = unamended(sources.own);
    // The new seal records the rules in force now.
    own.seal = None;
    let others: Vec<MonthFacts> = sources.others().map(unamended).collect();
    let sealed = Sources::new(registry, &own, &others)?;
    Ok(score_month(registry, &sealed)?.digest)
}

/// Scores one inmate of a district-month with every day's figures.
/// `Ok(None)` when the district does not report the inmate this month.
pub fn explain_inmate(
    registry: &RegistryFacts,
    sources: &Sources<'_>,
    inmate: &InmateNo,
) -> Result<Option<InmateExplanation>, ScoreError> {
    let scorer = Scorer::new(registry, sources)?;
    if !scorer.reported().contains(&inmate) {
        return Ok(None);
    }
    Ok(scorer.score_inmate(inmate).ok().map(|(e, _)| e))
}

/// Every inmate the district reports, day by day, from one scorer (the
/// team split and the custody of the month computed once, not per inmate).
pub fn explain_month(
    registry: &RegistryFacts,
    sources: &Sources<'_>,
) -> Result<Vec<InmateExplanation>, ScoreError> {
    let scorer = Scorer::new(registry, sources)?;
    Ok(scorer
        .reported()
        .into_iter()
        .filter_map(|no| scorer.score_inmate(no).ok().map(|(e, _)| e))
        .collect())
}

/// A team member's share of one team count.
struct Share<'a> {
    day: u8,
    procedure: &'a ProcedureId,
    quantity: u64,
    conflict: bool,
}

/// What scoring one district-month needs, computed once.
pub(crate) struct Scorer<'a> {
    pub(crate) registry: &'a RegistryFacts,
    pub(crate) sources: Sources<'a>,
    pub(crate) rules: &'a RuleSet,
    /// Team shares by the document the team count is in, then inmate.
    shares: BTreeMap<(&'a DistrictId, &'a InmateNo), Vec<Share<'a>>>,
    unallocated: Vec<UnallocatedTeamCount>,
    empty: InmateMonth,
    /// The rule set in force is not the one the month was sealed under.
    rules_changed: bool,
}

/// Where a record lives, for a problem's key: a path of the reporting
/// district's document as it is, one of another district's document with
/// that document's name before it.
fn record_key(own: &DistrictId, doc: &MonthFacts, path: String) -> String {
    if doc.district == *own {
        path
    } else {
        format!("{}:{path}", DocId::month(doc.district.clone(), doc.month))
    }
}

impl<'a> Scorer<'a> {
    pub(crate) fn new(
        registry: &'a RegistryFacts,
        sources: &Sources<'a>,
    ) -> Result<Scorer<'a>, ScoreError> {
        let month = sources.own.month;
        let rules = registry
            .rule_set_for(month)
            .ok_or(ScoreError::NoRuleSet(month))?;
        // RULES.md: publishing a version over a sealed month amends it.
        let rules_changed = sources
            .own
            .seal
            .as_ref()
            .and_then(|s| s.seal.rules.as_ref())
            .is_some_and(|sealed| *sealed != rules.digest());
        let mut s = Scorer {
            registry,
            sources: sources.clone(),
            rules,
            shares: BTreeMap::new(),
            unallocated: Vec::new(),
            empty: InmateMonth::default(),
            rules_changed,
        };
        for facts in sources.all() {
            s.split_team_counts(facts);
        }
        Ok(s)
    }

    /// A scorer of one document's days alone (the board and the charts show
    /// one district's days, which are read from its own document only).
    pub(crate) fn single(
        registry: &'a RegistryFacts,
        own: &'a MonthFacts,
    ) -> Result<Scorer<'a>, ScoreError> {
        let sources = Sources {
            own,
            others: BTreeMap::new(),
        };
        Scorer::new(registry, &sources)
    }

    fn month(&self) -> Month {
        self.sources.own.month
    }

    fn district(&self) -> &'a DistrictId {
        &self.sources.own.district
    }

    /// Available minutes `A` of a record.
    fn minutes(&self, minutes: Option<u32>) -> u32 {
        minutes.unwrap_or(self.rules.default_minutes)
    }

    /// The attendance of `no` on `day` in `doc` as scoring reads it: none
    /// where the record is `not_in_custody` on a day the roster holds the
    /// inmate in custody (custody comes from the roster alone).
    fn attendance(rec: &'a InmateMonth, day: u8) -> Option<&'a Entry<Attendance>> {
        rec.attendance
            .get(&day)
            .filter(|a| a.value.day_type != DayType::NotInCustody)
    }

    /// Splits every team count of `facts` among the inmates assigned in that
    /// document who worked that day there (held by its district, with a
    /// `work` record), in proportion to their available minutes.
    fn split_team_counts(&mut self, facts: &'a MonthFacts) {
        // (day, procedure) → members in ascending inmate number, with their minutes.
        let mut teams: BTreeMap<(u8, &'a ProcedureId), Vec<(&'a InmateNo, u64)>> = BTreeMap::new();
        for (no, rec) in &facts.inmates {
            for (day, procedure) in &rec.assignments {
                // Held by this document's district that day; an inmate not
                // in the roster keeps the share it always took (the count
                // is split as written; the report names the inmate).
                let held_here = !self.registry.inmates.contains_key(no)
                    || facts
                        .month
                        .day(*day)
                        .and_then(|date| self.registry.district_on(no, date))
                        == Some(&facts.district);
                if held_here
                    && let Some(att) = Scorer::attendance(rec, *day)
                    && att.value.day_type == DayType::Work
                {
                    let a = u64::from(self.minutes(att.value.minutes));
                    teams.entry((*day, procedure)).or_default().push((no, a));
                }
            }
        }
        let own = facts.district == self.sources.own.district;
        for ((day, procedure), count) in &facts.team_counts {
            let members = teams
                .get(&(*day, procedure))
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let weights: Vec<u64> = members.iter().map(|(_, a)| *a).collect();
            if weights.iter().sum::<u64>() == 0 {
                if count.value > 0
                    && own
                    && let Some(date) = facts.month.day(*day)
                {
                    self.unallocated.push(UnallocatedTeamCount {
                        date,
                        procedure: procedure.clone(),
                        quantity: count.value,
                    });
                }
                continue;
            }
            let shares = team::largest_remainder(count.value, &weights);
            for ((no, _), quantity) in members.iter().zip(shares) {
                self.shares
                    .entry((&facts.district, no))
                    .or_default()
                    .push(Share {
                        day: *day,
                        procedure,
                        quantity,
                        conflict: count.conflict,
                    });
            }
        }
    }

    /// Inmates this district reports: those it holds on the last custody
    /// day of the month, and anyone with records in its document who is not
    /// in the roster (reported as a problem).
    pub(crate) fn reported(&self) -> Vec<&'a InmateNo> {
        let district = self.district();
        let month = self.month();
        let mut v: Vec<&InmateNo> = self
            .registry
            .inmates_of(district, month)
            .map(|(no, _)| no)
            .filter(|no| self.registry.custody(no, month).reporting() == Some(district))
            .chain(
                self.sources
                    .own
                    .inmates
                    .keys()
                    .filter(|no| !self.registry.inmates.contains_key(*no)),
            )
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Inmates whose days this document holds: the board's and the charts'.
    pub(crate) fn held(&self) -> Vec<&'a InmateNo> {
        let mut v: Vec<&InmateNo> = self
            .registry
            .inmates_of(self.district(), self.month())
            .map(|(no, _)| no)
            .collect();
        v.sort();
        v
    }

    fn records_in(&self, district: &DistrictId, no: &InmateNo) -> &InmateMonth {
        self.sources
            .get(district)
            .and_then(|f| f.inmates.get(no))
            .unwrap_or(&self.empty)
    }

    pub(crate) fn roster(&self, no: &InmateNo) -> Result<&'a Inmate, Problem> {
        self.registry
            .inmates
            .get(no)
            .map(|e| &e.value)
            .ok_or_else(|| Problem {
                key: format!("inmate/{no}"),
                reason: format!(
                    "records in {}/{} for an inmate not in the roster; not scored",
                    self.district(),
                    self.month()
                ),
            })
    }

    /// Grade coefficient `g` of a record: its own, else the ramp for a new
    /// worker, else the rule set's default.
    fn grade(&self, inmate: &Inmate, date: Date, grade: Grade) -> u32 {
        match grade {
            Grade::Coefficient(bp) => bp,
            Grade::Default | Grade::NoQuota(_) => match self.rules.ramp {
                Some(r) if date.days_since(inmate.admitted) < i64::from(r.days) => r.grade_bp,
                _ => self.rules.default_grade_bp,
            },
        }
    }

    /// Problems for the daily records and entries of `no` in `doc`'s
    /// document (`rec`) on days that document's district did not hold them.
    pub(crate) fn stray_records(
        &self,
        no: &InmateNo,
        doc: &DistrictId,
        rec: &InmateMonth,
        custody: &Custody<'_>,
        out: &mut Vec<Problem>,
    ) {
        let Some(facts) = self.sources.get(doc) else {
            return;
        };
        let month = facts.month;
        let why = |day: u8| -> Option<String> {
            match custody.holder(day) {
                Some(h) if h == doc => None,
                Some(h) => Some(format!(
                    "the inmate was in {h} on {}, not in {doc}: a record of that day counts only in {h}'s document",
                    month.day(day).map(|d| d.to_string()).unwrap_or_default()
                )),
                None => Some(format!(
                    "the inmate was not in custody on {}",
                    month.day(day).map(|d| d.to_string()).unwrap_or_default()
                )),
            }
        };
        let key = |path: String| record_key(self.district(), facts, path);
        for (day, a) in &rec.attendance {
            // `not_in_custody` on a day out of custody is the truth, not a stray record.
            if a.value.day_type == DayType::NotInCustody && custody.holder(*day).is_none() {
                continue;
            }
            if let Some(w) = why(*day) {
                out.push(Problem {
                    key: key(MonthKey::Attendance(no.clone(), *day).to_string()),
                    reason: format!("attendance does not count: {w}"),
                });
            }
        }
        for (day, counts) in &rec.counts {
            if let Some(w) = why(*day) {
                for p in counts.keys() {
                    out.push(Problem {
                        key: key(MonthKey::Count(no.clone(), *day, p.clone()).to_string()),
                        reason: format!("count does not count: {w}"),
                    });
                }
            }
        }
        for (day, p) in &rec.assignments {
            if let Some(w) = why(*day) {
                out.push(Problem {
                    key: key(MonthKey::Assignment(no.clone(), *day, p.clone()).to_string()),
                    reason: format!("team assignment does not count: {w}"),
                });
            }
        }
        for (id, a) in &rec.adjustments {
            if let Some(w) = why(a.value.date.day()) {
                out.push(Problem {
                    key: key(MonthKey::Adjustment(no.clone(), id.clone()).to_string()),
                    reason: format!("entry does not count: {w}"),
                });
            }
        }
    }

    /// The figures of one day as scoring counts them (all but the stoppage
    /// factor, which needs the month), read from the document of `holder`,
    /// the district holding the inmate that day. Records of the day that do
    /// not count (RULES.md, "Records that do not count") are left out of
    /// every figure and each is pushed to `uncounted`.
    pub(crate) fn day_figures(
        &self,
        no: &InmateNo,
        inmate: &Inmate,
        holder: &DistrictId,
        day: u8,
        problems: &mut Vec<Problem>,
        uncounted: &mut Vec<Problem>,
    ) -> DayFigures {
        let month = self.month();
        let date = month.day(day).expect("day within the month");
        let rec = self.records_in(holder, no);
        let key = |path: String| match self.sources.get(holder) {
            Some(f) => record_key(self.district(), f, path),
            None => path,
        };
        if let Some(a) = rec.attendance.get(&day)
            && a.value.day_type == DayType::NotInCustody
        {
            uncounted.push(Problem {
                key: key(MonthKey::Attendance(no.clone(), day).to_string()),
                reason: format!(
                    "not_in_custody does not count: the roster holds the inmate in custody in {holder} on {date} (custody comes from the roster and transfers); the day is read as having no attendance record"
                ),
            });
        }
        let att = Scorer::attendance(rec, day);
        let day_type = att.map(|a| a.value.day_type);
        let is_work = day_type == Some(DayType::Work);
        let mut conflict = att.is_some_and(|a| a.conflict);
        let not_work = |what: &str| match day_type {
            None => format!(
                "{what} on a day with no attendance record does not count (only a work day's counts do)"
            ),
            Some(t) => format!(
                "{what} on a {} day does not count (only a work day's counts do)",
                t.as_str()
            ),
        };

        // Own counts and team shares of the day, merged per procedure.
        let mut lines: BTreeMap<&ProcedureId, (u64, u64)> = BTreeMap::new();
        for (p, e) in rec.counts.get(&day).into_iter().flatten() {
            if is_work {
                lines.entry(p).or_default().0 += e.value;
                conflict |= e.conflict;
            } else {
                uncounted.push(Problem {
                    key: key(MonthKey::Count(no.clone(), day, p.clone()).to_string()),
                    reason: not_work(&format!("count {}", e.value)),
                });
            }
        }
        if !is_work {
            for (d, p) in &rec.assignments {
                if *d == day {
                    uncounted.push(Problem {
                        key: key(MonthKey::Assignment(no.clone(), day, p.clone()).to_string()),
                        reason: not_work("team assignment"),
                    });
                }
            }
        }
        for s in self
            .shares
            .get(&(holder, no))
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            if s.day == day {
                lines.entry(s.procedure).or_default().1 += s.quantity;
                conflict |= s.conflict;
            }
        }
        let mut earned: i128 = 0;
        let lines: Vec<LineFigures> = lines
            .into_iter()
            .map(|(p, (own, team_share))| {
                let version = self.registry.procedure_on(p, date);
                if version.is_none() {
                    problems.push(Problem {
                        key: key(format!("cnt/{no}/{day:02}/{p}")),
                        reason: format!("procedure {p} has no standard time in force on {date}; count not valued"),
                    });
                }
                let std_ms = version.map(|(_, v)| v.std_ms);
                let e = i128::from(own + team_share) * i128::from(std_ms.unwrap_or(0));
                earned += e;
                LineFigures {
                    procedure: p.clone(),
                    own,
                    team_share,
                    std_ms,
                    version_from: version.map(|(d, _)| d),
                    earned_ms: e as i64,
                }
            })
            .collect();

        let (minutes, grade_bp, no_quota_grade) = match att {
            Some(a) => {
                let a = &a.value;
                let nq = match a.grade {
                    Grade::NoQuota(g) => Some(g),
                    _ => None,
                };
                (
                    self.minutes(a.minutes),
                    self.grade(inmate, date, a.grade),
                    nq,
                )
            }
            None => (0, 0, None),
        };
        // REQ_ms = A × 60000 × g / 10000, one division.
        let req: i128 = if is_work {
            i128::from(minutes) * 60_000 * i128::from(grade_bp) / 10_000
        } else {
            0
        };
        let rate_bp = is_work.then(|| {
            Bp(if req > 0 {
                (earned * 10_000 / req) as i64
            } else {
                0
            })
        });
        let factor_bp = match day_type {
            Some(DayType::Work) => rate_bp.map(|r| r.min(Bp::ONE)),
            Some(DayType::Sick | DayType::Confined | DayType::Absent) => Some(Bp(0)),
            Some(DayType::NoQuota) => no_quota_grade.map(|g| self.rules.no_quota.factor(g)),
            // Stoppage needs the month's earlier work days: filled in by the caller.
            _ => None,
        };
        DayFigures {
            date,
            district: Some(holder.clone()),
            day_type,
            minutes,
            grade_bp,
            no_quota_grade,
            req_ms: req as i64,
            earned_ms: earned as i64,
            rate_bp,
            factor_bp,
            lines,
            conflict,
        }
    }

    /// Whether every daily record of the inmate that its day's document
    /// holds, and every team count they share in, carries a valid second
    /// signature.
    fn all_confirmed(&self, no: &InmateNo, custody: &Custody<'_>) -> bool {
        let own = &self.sources.own.district;
        let records = self.sources.all().all(|f| {
            f.inmates.get(no).is_none_or(|rec| {
                rec.record_days()
                    .iter()
                    .filter(|d| match custody.holder(**d) {
                        Some(h) => h == &f.district,
                        // Out of custody: the reporting document's records
                        // of those days still need their second signature.
                        None => &f.district == own,
                    })
                    .all(|d| rec.confirmed.contains(d))
            })
        });
        let teams =
            self.shares
                .iter()
                .filter(|((_, n), _)| *n == no)
                .all(|((district, _), shares)| {
                    self.sources.get(district).is_some_and(|f| {
                        shares
                            .iter()
                            .all(|s| f.team_confirmed.contains(&(s.day, s.procedure.clone())))
                    })
                });
        records && teams
    }

    /// The month of one inmate, over every custody day whichever district
    /// held them. `Err` when the inmate is not in the roster.
    pub(crate) fn score_inmate(
        &self,
        no: &InmateNo,
    ) -> Result<(InmateExplanation, Vec<Problem>), Problem> {
        let inmate = self.roster(no)?;
        let month = self.month();
        let custody = self.registry.custody(no, month);
        let mut problems = Vec::new();
        let mut uncounted = Vec::new();
        for f in self.sources.all() {
            if let Some(rec) = f.inmates.get(no) {
                self.stray_records(no, &f.district, rec, &custody, &mut uncounted);
            }
        }
        let mut days: Vec<DayFigures> = Vec::new();
        for d in 1..=month.days() {
            let Some(holder) = custody.holder(d) else {
                continue;
            };
            let rec = self.records_in(holder, no);
            let has_records = rec.attendance.contains_key(&d)
                || rec.counts.contains_key(&d)
                || rec.assignments.iter().any(|(day, _)| *day == d)
                || self
                    .shares
                    .get(&(holder, no))
                    .is_some_and(|v| v.iter().any(|s| s.day == d));
            if has_records {
                days.push(self.day_figures(no, inmate, holder, d, &mut problems, &mut uncounted));
            }
        }

        // C: days in custody, from the roster and transfers alone.
        let custody_days = i64::from(custody.custody_days());
        let k = i64::from(month.days());

        // Under `base_basis = monthly` every work day's factor is the month's
        // rate R_m = ΣEARNED × 10000 / ΣREQ (one division), capped at 100%.
        if self.rules.base_basis == BaseBasis::Monthly {
            let work = |d: &&mut DayFigures| d.day_type == Some(DayType::Work);
            let (e, r) = days
                .iter_mut()
                .filter(work)
                .fold((0i128, 0i128), |(e, r), d| {
                    (e + i128::from(d.earned_ms), r + i128::from(d.req_ms))
                });
            let rm = if r > 0 { e * 10_000 / r } else { 0 };
            let f = Bp((rm.min(10_000)) as i64);
            for d in days.iter_mut().filter(work) {
                d.factor_bp = Some(f);
            }
        }

        // Daily factors in date order; stoppage takes the floor-average of the
        // earlier work days' factors (100% if none).
        let (mut work_f_sum, mut work_n) = (0i64, 0i64);
        let (mut labor_days, mut factor_sum) = (0i64, 0i64);
        let (mut earned_sum, mut req_sum) = (0i128, 0i128);
        let (mut run, mut best_run, mut all_over) = (0u32, 0u32, true);
        let mut outlier = false;
        let mut any_exempt = false;
        for d in &mut days {
            match d.day_type {
                Some(DayType::Work) => {
                    let f = d.factor_bp.expect("work days have a factor").0;
                    work_f_sum += f;
                    work_n += 1;
                    earned_sum += i128::from(d.earned_ms);
                    req_sum += i128::from(d.req_ms);
                    let r = d.rate_bp.expect("work days have a rate");
                    outlier |= r > self.rules.outlier_rate_bp;
                    if r >= Bp::ONE {
                        run += 1;
                        best_run = best_run.max(run);
                    } else {
                        run = 0;
                        all_over = false;
                    }
                }
                Some(DayType::Stoppage) => {
                    d.factor_bp = Some(Bp(if work_n == 0 {
                        10_000
                    } else {
                        work_f_sum / work_n
                    }));
                    run = 0;
                }
                Some(DayType::Exempt) => any_exempt = true,
                Some(t) if t.is_labor_day() => run = 0,
                _ => {}
            }
            if let Some(f) = d.factor_bp
                && d.day_type.is_some_and(DayType::is_labor_day)
            {
                labor_days += 1;
                factor_sum += f.0;
            }
        }

        // Entries count from the document of the district holding the
        // inmate on their date; approvals are the reporting district's.
        let own = self.records_in(self.district(), no);
        // Each entry with the document it was written in, whose group's
        // reviews decide it.
        let mut entries: Vec<(&AdjustmentId, &Entry<Adjustment>, bool, &MonthFacts)> = Vec::new();
        for f in self.sources.all() {
            if let Some(rec) = f.inmates.get(no) {
                for (id, e) in &rec.adjustments {
                    let counts = custody.holder(e.value.date.day()) == Some(&f.district);
                    entries.push((id, e, counts, f));
                }
            }
        }
        entries.sort_by(|a, b| a.0.cmp(b.0));

        let mut flags = Vec::new();
        // Any record of the inmate's month in conflict, counted or not (a
        // conflict is never resolved in silence), and a transfer of theirs
        // written two ways at once.
        let conflict = days.iter().any(|d| d.conflict)
            || self
                .sources
                .all()
                .any(|f| f.inmates.get(no).is_some_and(InmateMonth::has_conflict))
            || self
                .registry
                .transfers
                .get(no)
                .is_some_and(|t| t.values().any(|e| e.conflict));
        let mut result = InmateResult {
            inmate_no: no.clone(),
            base_cp: Cp::ZERO,
            bonus_cp: Cp::ZERO,
            pending_bonus_cp: Cp::ZERO,
            deduct_cp: Cp::ZERO,
            pending_deduct_cp: Cp::ZERO,
            labor_cp: Cp::ZERO,
            flags: Vec::new(),
            custody_days: custody_days as u32,
            labor_days: labor_days as u32,
            work_days: work_n as u32,
            factor_sum_bp: factor_sum,
            base_num: 0,
            base_den: 0,
            earned_ms: earned_sum as i64,
            req_ms: req_sum as i64,
            over_bp: Bp(0),
            over_eligible: false,
            overfulfil_bonus_cp: Cp::ZERO,
            other_bonus_cp: Cp::ZERO,
        };
        let mut adjustments: Vec<AdjustmentLine> = Vec::new();
        let mut overfulfil_status = None;

        if labor_days == 0 {
            // No labor day: every figure 0 (RULES.md, "Monthly labor base").
            flags.push(if any_exempt {
                Flag::Exempt
            } else {
                Flag::BelowBase
            });
            adjustments.extend(entries.iter().map(|(id, e, counts, source)| {
                let status = if *counts {
                    EntryStatus::Void
                } else {
                    EntryStatus::NotCounted
                };
                AdjustmentLine::new(id, &e.value, status, &source.district)
            }));
        } else {
            // BASE_cp = base × C × Σf / (K × D × 10000), one division.
            let base_num = i128::from(self.rules.base_cp.0)
                * i128::from(custody_days)
                * i128::from(factor_sum);
            let base_den = i128::from(k) * i128::from(labor_days) * 10_000;
            result.base_num = base_num as i64;
            result.base_den = base_den as i64;
            result.base_cp = Cp((base_num / base_den) as i64);

            // Over-fulfilment: over_bp = ΣEARNED × 10000 / ΣREQ − 10000, not below 0.
            if req_sum > 0 {
                let over = earned_sum * 10_000 / req_sum - 10_000;
                result.over_bp = Bp(over.max(0) as i64);
            }
            result.over_eligible = match self.rules.continuity {
                Continuity::EveryWorkDay { min_work_days } => {
                    all_over && work_n >= i64::from(min_work_days)
                }
                Continuity::Run { days } => best_run >= days,
            };
            if result.over_eligible {
                // BONUS_cp = min(cap, over_bp × num / den).
                let b = i128::from(result.over_bp.0) * i128::from(self.rules.bonus_num)
                    / i128::from(self.rules.bonus_den);
                result.overfulfil_bonus_cp = Cp((b as i64).min(self.rules.cap_cp.0));
            }

            // Approvals (Art. 27): large amounts count only once approved for
            // exactly that amount — by the prison group under the decision
            // levels, by the chief under the former procedure.
            let levels = self.rules.decision_levels;
            let approvals = if levels {
                &own.group_approvals
            } else {
                &own.approvals
            };
            let approved = |target: ApprovalTarget, amount: Cp| {
                approvals.get(&target).is_some_and(|e| e.value == amount)
            };
            let mut counted_bonus = Cp::ZERO;
            let ob = result.overfulfil_bonus_cp;
            // The over-fulfilment bonus is computed, not proposed: no group
            // decision, but the prison group's approval from 500 cp.
            if ob > Cp::ZERO {
                if ob >= self.rules.approval_bonus_cp
                    && !approved(ApprovalTarget::OverfulfilmentBonus, ob)
                {
                    result.pending_bonus_cp += ob;
                    overfulfil_status = Some(EntryStatus::AwaitingApproval);
                } else {
                    counted_bonus += ob;
                    overfulfil_status = Some(EntryStatus::Counted);
                }
            }
            let needs_prison = |a: &Adjustment, amount: Cp| {
                a.special
                    || amount >= self.rules.approval_bonus_cp
                    || -amount >= self.rules.approval_deduct_cp
            };
            for (id, e, counts, source) in &entries {
                let a: &Adjustment = &e.value;
                let p = a.points_cp;
                let target = ApprovalTarget::Adjustment((*id).clone());
                let spot = !a.special && p < Cp::ZERO && -p <= self.rules.spot_deduct_max_cp;
                let mut line = AdjustmentLine::new(id, a, EntryStatus::Counted, &source.district);
                if !levels {
                    // The former procedure: counted as entered, the chief
                    // approving at the approval lines; an answered
                    // application's correction counts as decided.
                    let corrected = answered_correction(self.sources.own(), no, id, p);
                    let p = corrected.map_or(p, |(c, _)| c);
                    line.counted_cp = p;
                    let status = if !counts {
                        EntryStatus::NotCounted
                    } else if corrected.is_some_and(|(c, _)| c == Cp::ZERO) {
                        EntryStatus::Returned
                    } else if corrected.is_none() && needs_prison(a, p) && !approved(target, p) {
                        EntryStatus::AwaitingApproval
                    } else {
                        EntryStatus::Counted
                    };
                    line.level = if needs_prison(a, p) {
                        Level::Chief
                    } else {
                        Level::Spot
                    };
                    match (status, p > Cp::ZERO) {
                        (EntryStatus::Counted, true) => result.other_bonus_cp += p,
                        (EntryStatus::Counted, false) => result.deduct_cp += -p,
                        (EntryStatus::AwaitingApproval, true) => result.pending_bonus_cp += p,
                        (EntryStatus::AwaitingApproval, false) => result.pending_deduct_cp += -p,
                        _ => {}
                    }
                    line.status = status;
                    adjustments.push(line);
                    continue;
                }
                line.decision = decision_of(source, no, id);
                // A correction keeps the entry's sign (a deduction is not
                // corrected into a bonus): one that does not decides nothing.
                let same_sign = |c: Cp| (c > Cp::ZERO) == (p > Cp::ZERO);
                if line.decision.as_ref().is_some_and(|d| {
                    matches!(d.outcome, Outcome::Correct { points_cp } if !same_sign(points_cp))
                }) {
                    line.decision = None;
                }
                let mut amount = match line.decision.as_ref().map(|d| d.outcome) {
                    Some(Outcome::Return) => None,
                    Some(Outcome::Correct { points_cp }) => Some((points_cp, true)),
                    Some(Outcome::Pass) => Some((p, true)),
                    None => Some((p, spot)),
                };
                // An answer to an application against the entry (Art. 36):
                // the prison group's final one is the amount that counts;
                // the group's correction takes the place of its decision.
                let mut final_amount = false;
                if let Some((corrected, is_final)) =
                    answered_correction(self.sources.own(), no, id, p)
                {
                    amount = (corrected != Cp::ZERO).then_some((corrected, true));
                    final_amount = is_final;
                }
                // Who decides follows the amount as it stands (a correction's).
                let effective = amount.map_or(p, |(x, _)| x);
                line.level = if needs_prison(a, effective) {
                    Level::PrisonGroup
                } else if line.decision.is_none() && spot {
                    Level::Spot
                } else {
                    Level::Group
                };
                line.status = match amount {
                    _ if !counts => EntryStatus::NotCounted,
                    None => {
                        line.counted_cp = Cp::ZERO;
                        EntryStatus::Returned
                    }
                    Some((amount, decided)) => {
                        line.counted_cp = amount;
                        let status = if !decided {
                            EntryStatus::AwaitingReview
                        } else if !final_amount
                            && needs_prison(a, amount)
                            && !approved(target, amount)
                        {
                            EntryStatus::AwaitingApproval
                        } else {
                            EntryStatus::Counted
                        };
                        match (status, amount > Cp::ZERO) {
                            (EntryStatus::Counted, true) => result.other_bonus_cp += amount,
                            (EntryStatus::Counted, false) => result.deduct_cp += -amount,
                            (_, true) => result.pending_bonus_cp += amount,
                            (_, false) => result.pending_deduct_cp += -amount,
                        }
                        status
                    }
                };
                adjustments.push(line);
            }
            result.bonus_cp = (counted_bonus + result.other_bonus_cp).min(self.rules.cap_cp);
            result.labor_cp = result.base_cp + result.bonus_cp - result.deduct_cp;

            if result.labor_cp < self.rules.base_cp {
                flags.push(Flag::BelowBase);
            }
            if adjustments
                .iter()
                .any(|l| l.status == EntryStatus::AwaitingReview)
            {
                flags.push(Flag::NeedsReview);
            }
            if overfulfil_status == Some(EntryStatus::AwaitingApproval)
                || adjustments
                    .iter()
                    .any(|l| l.status == EntryStatus::AwaitingApproval)
            {
                flags.push(Flag::NeedsApproval);
            }
            if outlier {
                flags.push(Flag::RateOutlier);
            }
        }
        if !uncounted.is_empty() {
            flags.push(Flag::RecordsNotCounted);
        }
        if open_application(self.sources.own(), no) {
            flags.push(Flag::UnderReview);
        }
        if conflict {
            flags.push(Flag::Conflict);
        }
        if self.rules.requires_confirmation && !self.all_confirmed(no, &custody) {
            flags.push(Flag::Unconfirmed);
        }
        if self.sources.all().any(|f| f.amended.contains(no)) || self.rules_changed {
            flags.push(Flag::AmendedAfterSeal);
        }
        flags.sort();
        result.flags = flags;
        problems.extend(uncounted);
        Ok((
            InmateExplanation {
                result,
                calendar_days: u32::from(month.days()),
                overfulfil_status,
                days,
                adjustments,
            },
            problems,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::EntryStatus;

    #[test]
    fn entry_status_codes_are_the_reports() {
        for s in [
            EntryStatus::Counted,
            EntryStatus::AwaitingReview,
            EntryStatus::AwaitingApproval,
            EntryStatus::Returned,
            EntryStatus::Void,
            EntryStatus::NotCounted,
        ] {
            assert_eq!(
                serde_json::to_string(&s).expect("serializes"),
                format!("\"{}\"", s.as_str())
            );
        }
    }
}
