//! The scoring engine: `(registry facts, month facts) → report`, a pure function.
//!
//! Every rule of RULES.md lives here, in integers only. Divisions truncate
//! toward zero and are done once, on `i128` numerators, after every
//! multiplication (RULES.md, "Units"). Nothing here reads a clock, a file or a
//! `HashMap`: same facts in, same bytes out.

pub mod team;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::calendar::{Date, Month};
use crate::facts::Problem;
use crate::ids::{InmateNo, ProcedureId};
use crate::layout::{AdjustmentId, ApprovalTarget};
use crate::month::{InmateMonth, MonthFacts};
use crate::records::{Adjustment, DayType, Grade, Inmate, NoQuotaGrade};
use crate::registry::RegistryFacts;
use crate::report::{
    Flag, InmateResult, ProblemOut, Report, ReportBody, ReportDigest, SealStatus,
    UnallocatedTeamCount,
};
use crate::ruleset::{Continuity, RuleSet};
use crate::units::{Bp, Cp};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScoreError {
    #[error("no rule set is in force for {0}: add one effective from this month or earlier")]
    NoRuleSet(Month),
    #[error("{date} is not in {month}")]
    DateOutsideMonth { date: Date, month: Month },
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

/// Whether an adjustment counts, or waits for the chief.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    Counted,
    Pending,
    /// Not counted: the inmate has no labor day this month, so every figure is 0.
    Void,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdjustmentLine {
    pub id: AdjustmentId,
    pub date: Date,
    pub points_cp: Cp,
    pub reason: String,
    pub evidence: String,
    pub status: EntryStatus,
}

impl AdjustmentLine {
    fn new(id: &AdjustmentId, a: &Adjustment, status: EntryStatus) -> AdjustmentLine {
        AdjustmentLine {
            id: id.clone(),
            date: a.date,
            points_cp: a.points_cp,
            reason: a.reason.clone(),
            evidence: a.evidence.clone(),
            status,
        }
    }
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

/// Scores one district-month.
pub fn score_month(registry: &RegistryFacts, facts: &MonthFacts) -> Result<Report, ScoreError> {
    let scorer = Scorer::new(registry, facts)?;
    let mut problems: Vec<ProblemOut> = facts.problems.iter().cloned().map(Into::into).collect();
    let mut inmates = Vec::new();
    for no in scorer.inmates() {
        match scorer.score_inmate(no) {
            Ok((e, mut p)) => {
                inmates.push(e.result);
                problems.extend(p.drain(..).map(Into::into));
            }
            Err(p) => problems.push(p.into()),
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
    };
    let mut report = Report::new(facts.district.clone(), facts.month, body);
    report.seal = facts.seal.as_ref().map(|s| {
        let current = s.seal.digest == report.digest.0;
        SealStatus {
            digest: s.seal.digest.clone(),
            by: hex::encode(&s.author),
            change: s.change.to_string(),
            current,
            amended: facts.amended.len() as u32,
            registry_changed: !current && facts.amended.is_empty(),
        }
    });
    Ok(report)
}

/// The digest a chief seals: the report as it will stand once sealed, that
/// is with no amendment (the new seal covers everything up to now).
pub fn digest_to_seal(
    registry: &RegistryFacts,
    facts: &MonthFacts,
) -> Result<ReportDigest, ScoreError> {
    let mut sealed = facts.clone();
    sealed.amended.clear();
    Ok(score_month(registry, &sealed)?.digest)
}

/// Scores one inmate of a district-month with every day's figures.
/// `Ok(None)` when the inmate has neither a roster entry nor records here.
pub fn explain_inmate(
    registry: &RegistryFacts,
    facts: &MonthFacts,
    inmate: &InmateNo,
) -> Result<Option<InmateExplanation>, ScoreError> {
    let scorer = Scorer::new(registry, facts)?;
    if !scorer.inmates().contains(&inmate) {
        return Ok(None);
    }
    Ok(scorer.score_inmate(inmate).ok().map(|(e, _)| e))
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
    pub(crate) facts: &'a MonthFacts,
    pub(crate) rules: &'a RuleSet,
    shares: BTreeMap<&'a InmateNo, Vec<Share<'a>>>,
    unallocated: Vec<UnallocatedTeamCount>,
    empty: InmateMonth,
}

impl<'a> Scorer<'a> {
    pub(crate) fn new(
        registry: &'a RegistryFacts,
        facts: &'a MonthFacts,
    ) -> Result<Scorer<'a>, ScoreError> {
        let rules = registry
            .rule_set_for(facts.month)
            .ok_or(ScoreError::NoRuleSet(facts.month))?;
        let mut s = Scorer {
            registry,
            facts,
            rules,
            shares: BTreeMap::new(),
            unallocated: Vec::new(),
            empty: InmateMonth::default(),
        };
        s.split_team_counts();
        Ok(s)
    }

    /// Available minutes `A` of a record.
    fn minutes(&self, minutes: Option<u32>) -> u32 {
        minutes.unwrap_or(self.rules.default_minutes)
    }

    /// Splits every team count among the assigned inmates who worked that day,
    /// in proportion to their available minutes.
    fn split_team_counts(&mut self) {
        // (day, procedure) → members in ascending inmate number, with their minutes.
        let mut teams: BTreeMap<(u8, &'a ProcedureId), Vec<(&'a InmateNo, u64)>> = BTreeMap::new();
        for (no, rec) in &self.facts.inmates {
            for (day, procedure) in &rec.assignments {
                if let Some(att) = rec.attendance.get(day)
                    && att.value.day_type == DayType::Work
                {
                    let a = u64::from(self.minutes(att.value.minutes));
                    teams.entry((*day, procedure)).or_default().push((no, a));
                }
            }
        }
        for ((day, procedure), count) in &self.facts.team_counts {
            let members = teams
                .get(&(*day, procedure))
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let weights: Vec<u64> = members.iter().map(|(_, a)| *a).collect();
            if weights.iter().sum::<u64>() == 0 {
                if count.value > 0 {
                    self.unallocated.push(UnallocatedTeamCount {
                        date: self
                            .facts
                            .month
                            .day(*day)
                            .expect("day parsed within the month"),
                        procedure: procedure.clone(),
                        quantity: count.value,
                    });
                }
                continue;
            }
            let shares = team::largest_remainder(count.value, &weights);
            for ((no, _), quantity) in members.iter().zip(shares) {
                self.shares.entry(no).or_default().push(Share {
                    day: *day,
                    procedure,
                    quantity,
                    conflict: count.conflict,
                });
            }
        }
    }

    /// Inmates in the report: the district's roster in custody during the
    /// month, and anyone with records in the month document.
    pub(crate) fn inmates(&self) -> Vec<&'a InmateNo> {
        let mut v: Vec<&InmateNo> = self
            .registry
            .inmates_of(&self.facts.district, self.facts.month)
            .map(|(no, _)| no)
            .chain(self.facts.inmates.keys())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    fn records(&self, no: &InmateNo) -> &InmateMonth {
        self.facts.inmates.get(no).unwrap_or(&self.empty)
    }

    fn roster(&self, no: &InmateNo) -> Result<&'a Inmate, Problem> {
        self.registry
            .inmates
            .get(no)
            .map(|e| &e.value)
            .ok_or_else(|| Problem {
                key: format!("inmate/{no}"),
                reason: format!(
                    "records in {}/{} for an inmate not in the roster; not scored",
                    self.facts.district, self.facts.month
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

    /// The figures of one day (all but the stoppage factor, which needs the month).
    pub(crate) fn day_figures(
        &self,
        no: &InmateNo,
        inmate: &Inmate,
        rec: &InmateMonth,
        day: u8,
        problems: &mut Vec<Problem>,
    ) -> DayFigures {
        let date = self.facts.month.day(day).expect("day within the month");
        let att = rec.attendance.get(&day);
        let mut conflict = att.is_some_and(|a| a.conflict);

        // Own counts and team shares of the day, merged per procedure.
        let mut lines: BTreeMap<&ProcedureId, (u64, u64)> = BTreeMap::new();
        for (p, e) in rec.counts.get(&day).into_iter().flatten() {
            lines.entry(p).or_default().0 += e.value;
            conflict |= e.conflict;
        }
        for s in self.shares.get(no).map(Vec::as_slice).unwrap_or(&[]) {
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
                        key: format!("cnt/{no}/{day:02}/{p}"),
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

        let (day_type, minutes, grade_bp, no_quota_grade) = match att {
            Some(a) => {
                let a = &a.value;
                let nq = match a.grade {
                    Grade::NoQuota(g) => Some(g),
                    _ => None,
                };
                (
                    Some(a.day_type),
                    self.minutes(a.minutes),
                    self.grade(inmate, date, a.grade),
                    nq,
                )
            }
            None => (None, 0, 0, None),
        };
        let is_work = day_type == Some(DayType::Work);
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

    /// Whether every daily record of the inmate, and every team count they
    /// share in, carries a valid second signature.
    fn all_confirmed(&self, no: &InmateNo, rec: &InmateMonth) -> bool {
        rec.record_days().iter().all(|d| rec.confirmed.contains(d))
            && self.shares.get(no).is_none_or(|shares| {
                shares.iter().all(|s| {
                    self.facts
                        .team_confirmed
                        .contains(&(s.day, s.procedure.clone()))
                })
            })
    }

    /// The month of one inmate. `Err` when the inmate is not in the roster.
    pub(crate) fn score_inmate(
        &self,
        no: &InmateNo,
    ) -> Result<(InmateExplanation, Vec<Problem>), Problem> {
        let inmate = self.roster(no)?;
        let rec = self.records(no);
        let month = self.facts.month;
        let mut problems = Vec::new();
        let share_days: Vec<u8> = self
            .shares
            .get(no)
            .map(|v| v.iter().map(|s| s.day).collect())
            .unwrap_or_default();
        let mut days: Vec<DayFigures> = (1..=month.days())
            .filter(|d| {
                rec.attendance.contains_key(d)
                    || rec.counts.contains_key(d)
                    || share_days.contains(d)
            })
            .map(|d| self.day_figures(no, inmate, rec, d, &mut problems))
            .collect();

        // C: days in custody, less days recorded as not in custody (transfers).
        let custody_days = month
            .dates()
            .filter(|d| {
                inmate.in_custody(*d)
                    && rec
                        .attendance
                        .get(&d.day())
                        .is_none_or(|a| a.value.day_type != DayType::NotInCustody)
            })
            .count() as i64;
        let k = i64::from(month.days());

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

        let mut flags = Vec::new();
        let conflict = rec.has_conflict() || days.iter().any(|d| d.conflict);
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
            adjustments.extend(
                rec.adjustments
                    .iter()
                    .map(|(id, e)| AdjustmentLine::new(id, &e.value, EntryStatus::Void)),
            );
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

            // Approvals (Art. 27): large amounts count only once approved for exactly that amount.
            let approved = |target: ApprovalTarget, amount: Cp| {
                rec.approvals
                    .get(&target)
                    .is_some_and(|e| e.value == amount)
            };
            let mut counted_bonus = Cp::ZERO;
            let ob = result.overfulfil_bonus_cp;
            if ob > Cp::ZERO {
                if ob >= self.rules.approval_bonus_cp
                    && !approved(ApprovalTarget::OverfulfilmentBonus, ob)
                {
                    result.pending_bonus_cp += ob;
                    overfulfil_status = Some(EntryStatus::Pending);
                } else {
                    counted_bonus += ob;
                    overfulfil_status = Some(EntryStatus::Counted);
                }
            }
            for (id, e) in &rec.adjustments {
                let a: &Adjustment = &e.value;
                let p = a.points_cp;
                let target = ApprovalTarget::Adjustment(id.clone());
                let status = if p > Cp::ZERO {
                    if p >= self.rules.approval_bonus_cp && !approved(target, p) {
                        result.pending_bonus_cp += p;
                        EntryStatus::Pending
                    } else {
                        result.other_bonus_cp += p;
                        EntryStatus::Counted
                    }
                } else if -p >= self.rules.approval_deduct_cp && !approved(target, p) {
                    result.pending_deduct_cp += -p;
                    EntryStatus::Pending
                } else {
                    result.deduct_cp += -p;
                    EntryStatus::Counted
                };
                adjustments.push(AdjustmentLine::new(id, a, status));
            }
            result.bonus_cp = (counted_bonus + result.other_bonus_cp).min(self.rules.cap_cp);
            result.labor_cp = result.base_cp + result.bonus_cp - result.deduct_cp;

            if result.labor_cp < self.rules.base_cp {
                flags.push(Flag::BelowBase);
            }
            if result.pending_bonus_cp > Cp::ZERO || result.pending_deduct_cp > Cp::ZERO {
                flags.push(Flag::NeedsApproval);
            }
            if outlier {
                flags.push(Flag::RateOutlier);
            }
        }
        if conflict {
            flags.push(Flag::Conflict);
        }
        if self.rules.requires_confirmation && !self.all_confirmed(no, rec) {
            flags.push(Flag::Unconfirmed);
        }
        if self.facts.amended.contains(no) {
            flags.push(Flag::AmendedAfterSeal);
        }
        flags.sort();
        result.flags = flags;
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
