//! Rule sets (规则版本): every parameter of RULES.md, versioned by the month
//! from which it is in force.
//!
//! A month is always scored with the rule set in force for that month (the one
//! with the latest `effective_from` not after it), so publishing a new rule set
//! never rewrites a past month's score.

use serde::{Deserialize, Serialize};

use crate::calendar::{Date, Month};
use crate::records::{NoQuotaGrade, RecordError};
use crate::units::{Bp, Cp};

/// How continuous over-fulfilment (连续超额) is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Continuity {
    /// Every `work` day has `r ≥ 100%`, and there are at least this many work days.
    EveryWorkDay { min_work_days: u32 },
    /// Some run of this many consecutive labor days, all `work` with `r ≥ 100%`.
    /// Days that are not labor days (rest, study) neither break nor extend a run.
    Run { days: u32 },
}

/// What a work day's factor of the labor base is measured against
/// (RULES.md, `base_basis`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaseBasis {
    /// Each work day's own rate: `f = min(100%, r)`.
    #[default]
    Daily,
    /// The month's rate over its work days, `R_m = ΣEARNED × 10000 / ΣREQ`,
    /// for every work day: a short day is made up by a long one.
    Monthly,
}

impl BaseBasis {
    fn is_daily(&self) -> bool {
        *self == BaseBasis::Daily
    }
}

/// A lower grade coefficient for new workers: applies where the attendance
/// record leaves the grade empty and the day is within `days` of admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ramp {
    pub days: u32,
    pub grade_bp: u32,
}

/// The no-quota grade table, in bp of the daily factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoQuotaTable {
    #[serde(rename = "突出")]
    pub outstanding: Bp,
    #[serde(rename = "优秀")]
    pub excellent: Bp,
    #[serde(rename = "良好")]
    pub good: Bp,
    #[serde(rename = "一般")]
    pub fair: Bp,
    #[serde(rename = "缺勤")]
    pub absent: Bp,
}

impl NoQuotaTable {
    pub fn factor(&self, grade: NoQuotaGrade) -> Bp {
        match grade {
            NoQuotaGrade::Outstanding => self.outstanding,
            NoQuotaGrade::Excellent => self.excellent,
            NoQuotaGrade::Good => self.good,
            NoQuotaGrade::Fair => self.fair,
            NoQuotaGrade::Absent => self.absent,
        }
    }
}

/// Every parameter of the labor-scoring rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// First month this rule set applies to; also its version label.
    pub effective_from: Month,
    /// The labor base (劳动改造基础分), 30 points.
    pub base_cp: Cp,
    /// Default available minutes `A` of a day.
    pub default_minutes: u32,
    /// Default grade coefficient `g`.
    pub default_grade_bp: u32,
    pub ramp: Option<Ramp>,
    pub no_quota: NoQuotaTable,
    pub continuity: Continuity,
    /// Bonus per bp over 100%: `bonus_num / bonus_den` cp.
    pub bonus_num: u32,
    pub bonus_den: u32,
    /// Cap of all labor bonuses of the part (Art. 10: 50% of the base).
    pub cap_cp: Cp,
    /// A bonus of at least this much needs the prison group's approval (Art. 27).
    pub approval_bonus_cp: Cp,
    /// A deduction of at least this much needs the prison group's approval (Art. 27).
    pub approval_deduct_cp: Cp,
    /// A daily rate above this is held for review (`rate_outlier`).
    pub outlier_rate_bp: Bp,
    /// Whether daily records need a second officer's confirmation to count
    /// as confirmed in the official report.
    pub requires_confirmation: bool,
    /// What a work day's base factor is measured against. Absent in rule
    /// sets written before it existed (and left out when `daily`), so their
    /// encoding, and every report scored with them, is unchanged.
    #[serde(default, skip_serializing_if = "BaseBasis::is_daily")]
    pub base_basis: BaseBasis,
    /// A deduction of at most this much is decided on the spot (当场) and
    /// counts as entered; every other entry waits for the district group's
    /// review. Left out of the encoding at its default (200), so rule sets
    /// written before it existed encode as they did.
    #[serde(
        default = "default_spot_deduct_max",
        skip_serializing_if = "is_default_spot_deduct_max"
    )]
    pub spot_deduct_max_cp: Cp,
    /// The rule's decision levels (RULES.md; Art. 25, 27): entries other
    /// than spot deductions count once the district group has passed them
    /// at a weekly review, and the prison scoring working group approves
    /// what reaches the approval lines. Absent (false) in rule sets written
    /// before it existed, which keep the former procedure (every entry
    /// counts as entered, the chief approves at the approval lines), so
    /// their months score, and their seals hold, as they did.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub decision_levels: bool,
    /// The posting (公示) lasts this many working days (Art. 35; default 3).
    #[serde(
        default = "default_posting_working_days",
        skip_serializing_if = "is_default_posting_working_days"
    )]
    pub posting_working_days: u32,
    /// Weekdays that are not working days (法定节假日), in date order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<Date>,
    /// Weekend days that are working days (调休 make-up days), in date order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workdays: Vec<Date>,
}

/// RULES.md's default posting length, in working days.
pub const POSTING_WORKING_DAYS: u32 = 3;

fn default_posting_working_days() -> u32 {
    POSTING_WORKING_DAYS
}

fn is_default_posting_working_days(n: &u32) -> bool {
    *n == POSTING_WORKING_DAYS
}

/// Most holidays or make-up days one rule set lists.
pub const MAX_CALENDAR_DAYS: usize = 400;

/// RULES.md's default: deductions up to 2 points are decided on the spot.
pub const SPOT_DEDUCT_MAX_CP: Cp = Cp(200);

fn default_spot_deduct_max() -> Cp {
    SPOT_DEDUCT_MAX_CP
}

fn is_default_spot_deduct_max(cp: &Cp) -> bool {
    *cp == SPOT_DEDUCT_MAX_CP
}

impl RuleSet {
    /// The defaults of RULES.md, in force from `effective_from`.
    pub fn standard(effective_from: Month) -> RuleSet {
        RuleSet {
            effective_from,
            base_cp: Cp(3000),
            default_minutes: 480,
            default_grade_bp: 10_000,
            ramp: None,
            no_quota: NoQuotaTable {
                outstanding: Bp(10_000),
                excellent: Bp(10_000),
                good: Bp(10_000),
                fair: Bp(8000),
                absent: Bp(0),
            },
            continuity: Continuity::EveryWorkDay { min_work_days: 1 },
            bonus_num: 1,
            bonus_den: 2,
            cap_cp: Cp(1500),
            approval_bonus_cp: Cp(500),
            approval_deduct_cp: Cp(1000),
            outlier_rate_bp: Bp(20_000),
            requires_confirmation: false,
            base_basis: BaseBasis::Daily,
            spot_deduct_max_cp: SPOT_DEDUCT_MAX_CP,
            decision_levels: true,
            posting_working_days: POSTING_WORKING_DAYS,
            holidays: Vec::new(),
            workdays: Vec::new(),
        }
    }

    /// Whether `d` is a working day: Monday to Friday, except the rule set's
    /// holidays, plus its make-up days (RULES.md, rule sets).
    pub fn is_working_day(&self, d: Date) -> bool {
        if self.workdays.binary_search(&d).is_ok() {
            return true;
        }
        d.weekday() <= 5 && self.holidays.binary_search(&d).is_err()
    }

    /// The last day of a period of `n` working days beginning on `start`
    /// (counted as the first when it is a working day, else the next
    /// working day is): the end of a posting, or the last day an
    /// application or an answer is in time (Art. 35, 36). `None` only past
    /// the supported years.
    pub fn working_days_end(&self, start: Date, n: u32) -> Option<Date> {
        let mut d = start;
        let mut counted = 0;
        loop {
            if self.is_working_day(d) {
                counted += 1;
                if counted >= n.max(1) {
                    return Some(d);
                }
            }
            d = d.succ()?;
        }
    }

    /// The last day of a posting beginning on `first_day`.
    pub fn posting_end(&self, first_day: Date) -> Date {
        self.working_days_end(first_day, self.posting_working_days)
            .unwrap_or(first_day)
    }

    /// The version label that goes into the report and its digest.
    pub fn version(&self) -> String {
        self.effective_from.to_string()
    }

    pub fn validate(&self) -> Result<(), RecordError> {
        let range = |field: &str, v: i64, min: i64, max: i64| {
            if (min..=max).contains(&v) {
                Ok(())
            } else {
                Err(RecordError::OutOfRange {
                    field: field.to_string(),
                    value: v.to_string(),
                    min,
                    max,
                })
            }
        };
        range("base_cp", self.base_cp.0, 1, 100_000)?;
        range("default_minutes", self.default_minutes.into(), 1, 1440)?;
        range("default_grade_bp", self.default_grade_bp.into(), 1, 30_000)?;
        if let Some(r) = self.ramp {
            range("ramp.days", r.days.into(), 1, 366)?;
            range("ramp.grade_bp", r.grade_bp.into(), 1, 30_000)?;
        }
        for g in NoQuotaGrade::ALL {
            range("no_quota grade", self.no_quota.factor(g).0, 0, 10_000)?;
        }
        match self.continuity {
            Continuity::EveryWorkDay { min_work_days } => {
                range("min_work_days", min_work_days.into(), 1, 31)?
            }
            Continuity::Run { days } => range("run days", days.into(), 1, 31)?,
        }
        range("bonus_num", self.bonus_num.into(), 0, 10_000)?;
        range("bonus_den", self.bonus_den.into(), 1, 10_000)?;
        range("cap_cp", self.cap_cp.0, 0, 100_000)?;
        range("approval_bonus_cp", self.approval_bonus_cp.0, 0, 100_000)?;
        range("approval_deduct_cp", self.approval_deduct_cp.0, 0, 100_000)?;
        range("outlier_rate_bp", self.outlier_rate_bp.0, 10_000, 1_000_000)?;
        range(
            "posting_working_days",
            self.posting_working_days.into(),
            1,
            30,
        )?;
        for (field, days) in [("holidays", &self.holidays), ("workdays", &self.workdays)] {
            if days.len() > MAX_CALENDAR_DAYS || !days.windows(2).all(|w| w[0] < w[1]) {
                return Err(RecordError::Malformed {
                    value: field.into(),
                    reason: format!("at most {MAX_CALENDAR_DAYS} dates, each once, in date order"),
                });
            }
        }
        if let Some(d) = self
            .holidays
            .iter()
            .find(|d| self.workdays.binary_search(d).is_ok())
        {
            return Err(RecordError::Malformed {
                value: "holidays".into(),
                reason: format!("{d} is both a holiday and a make-up day"),
            });
        }
        // A spot deduction is below the prison group's line, never both
        // (checked where the levels apply: older rule sets may have any line).
        if self.decision_levels {
            range(
                "spot_deduct_max_cp",
                self.spot_deduct_max_cp.0,
                0,
                (self.approval_deduct_cp.0 - 1).max(0),
            )?;
        } else {
            range("spot_deduct_max_cp", self.spot_deduct_max_cp.0, 0, 100_000)?;
        }
        Ok(())
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("a rule set always serializes")
    }

    /// SHA-256 of the encoding, as hex: what a seal records of the rules it
    /// sealed under, so a rule set published over a sealed month shows.
    pub fn digest(&self) -> String {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(self.encode().as_bytes()))
    }

    pub fn decode(s: &str) -> Result<RuleSet, RecordError> {
        let r: RuleSet = serde_json::from_str(s).map_err(|e| RecordError::Malformed {
            value: s.chars().take(80).collect(),
            reason: e.to_string(),
        })?;
        r.validate()?;
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_rules_round_trip() {
        let r = RuleSet::standard("2021-10".parse().unwrap());
        r.validate().unwrap();
        assert_eq!(RuleSet::decode(&r.encode()), Ok(r));
    }

    #[test]
    fn zero_denominator_is_refused() {
        let mut r = RuleSet::standard("2021-10".parse().unwrap());
        r.bonus_den = 0;
        assert!(RuleSet::decode(&r.encode()).is_err());
    }
}
