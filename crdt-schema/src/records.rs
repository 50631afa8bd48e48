//! The facts tally stores, as typed values with their validation and their
//! encoding inside a document.
//!
//! One record is one Automerge map entry: the entry is the unit of conflict
//! (two officers writing the same record concurrently is a conflict, two writing
//! different records never is) and, in the signed-changes layer, the unit of
//! authorization. High-volume numeric records (attendance) use a compact `|`
//! encoding; records with free text use JSON. Decoding validates everything,
//! because a document's contents arrive from other machines.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::calendar::Date;
use crate::ids::{DistrictId, ProductId};
use crate::units::Cp;

/// Largest available minutes in a day.
pub const MAX_MINUTES: u32 = 1440;
/// Largest grade coefficient (300%): well above any ramp or skill grade.
pub const MAX_GRADE_BP: u32 = 30_000;
/// Largest standard time of one unit: a whole day.
pub const MAX_STD_MS: u64 = 86_400_000;
/// Largest quantity in one count record.
pub const MAX_QUANTITY: u64 = 10_000_000;
/// Largest size of one adjustment, 600 points: a whole cycle.
pub const MAX_ADJUSTMENT_CP: i64 = 60_000;
/// Longest name or reason, in characters.
pub const MAX_TEXT_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error(
        "unknown day type `{0}` (expected one of work, rest, study, sick, confined, absent, stoppage, no_quota, exempt, not_in_custody)"
    )]
    DayType(String),
    #[error("`{0}` is not a no-quota grade (expected 突出, 优秀, 良好, 一般 or 缺勤)")]
    NoQuotaGrade(String),
    #[error("{field} `{value}` is not an integer in {min}..={max}")]
    OutOfRange {
        field: String,
        value: String,
        min: i64,
        max: i64,
    },
    #[error("a no_quota day needs a grade (突出, 优秀, 良好, 一般 or 缺勤), got `{0}`")]
    NoQuotaNeedsGrade(String),
    #[error("a {0} day takes a grade coefficient in bp, not `{1}`")]
    GradeNotBp(DayType, String),
    #[error(
        "{field} must be 1–{MAX_TEXT_CHARS} characters without control characters, got `{value}`"
    )]
    Text { field: String, value: String },
    #[error("malformed record `{value}`: {reason}")]
    Malformed { value: String, reason: String },
    #[error("released {released} is before admitted {admitted}")]
    ReleaseBeforeAdmission { admitted: Date, released: Date },
    #[error("adjustment of 0 cp has no effect")]
    ZeroAdjustment,
}

/// 出勤类型 (RULES.md, "Daily").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayType {
    Work,
    Rest,
    Study,
    Sick,
    Confined,
    Absent,
    Stoppage,
    NoQuota,
    Exempt,
    NotInCustody,
}

impl DayType {
    pub const ALL: [DayType; 10] = [
        DayType::Work,
        DayType::Rest,
        DayType::Study,
        DayType::Sick,
        DayType::Confined,
        DayType::Absent,
        DayType::Stoppage,
        DayType::NoQuota,
        DayType::Exempt,
        DayType::NotInCustody,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DayType::Work => "work",
            DayType::Rest => "rest",
            DayType::Study => "study",
            DayType::Sick => "sick",
            DayType::Confined => "confined",
            DayType::Absent => "absent",
            DayType::Stoppage => "stoppage",
            DayType::NoQuota => "no_quota",
            DayType::Exempt => "exempt",
            DayType::NotInCustody => "not_in_custody",
        }
    }

    /// The Chinese name used on forms and the board.
    pub fn label_zh(self) -> &'static str {
        match self {
            DayType::Work => "出工",
            DayType::Rest => "休息",
            DayType::Study => "学习",
            DayType::Sick => "病休",
            DayType::Confined => "禁闭",
            DayType::Absent => "无故不出工",
            DayType::Stoppage => "停工",
            DayType::NoQuota => "无定额",
            DayType::Exempt => "免于劳动",
            DayType::NotInCustody => "不在押",
        }
    }

    /// Whether the day counts toward `D`, the number of labor days.
    pub fn is_labor_day(self) -> bool {
        matches!(
            self,
            DayType::Work
                | DayType::Sick
                | DayType::Confined
                | DayType::Absent
                | DayType::Stoppage
                | DayType::NoQuota
        )
    }
}

impl FromStr for DayType {
    type Err = RecordError;
    fn from_str(s: &str) -> Result<DayType, RecordError> {
        DayType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| RecordError::DayType(s.to_string()))
    }
}

impl fmt::Display for DayType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The assessment grade of a day on a post without a quota (无定额岗位).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NoQuotaGrade {
    #[serde(rename = "突出")]
    Outstanding,
    #[serde(rename = "优秀")]
    Excellent,
    #[serde(rename = "良好")]
    Good,
    #[serde(rename = "一般")]
    Fair,
    #[serde(rename = "缺勤")]
    Absent,
}

impl NoQuotaGrade {
    pub const ALL: [NoQuotaGrade; 5] = [
        NoQuotaGrade::Outstanding,
        NoQuotaGrade::Excellent,
        NoQuotaGrade::Good,
        NoQuotaGrade::Fair,
        NoQuotaGrade::Absent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoQuotaGrade::Outstanding => "突出",
            NoQuotaGrade::Excellent => "优秀",
            NoQuotaGrade::Good => "良好",
            NoQuotaGrade::Fair => "一般",
            NoQuotaGrade::Absent => "缺勤",
        }
    }
}

impl FromStr for NoQuotaGrade {
    type Err = RecordError;
    fn from_str(s: &str) -> Result<NoQuotaGrade, RecordError> {
        NoQuotaGrade::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| RecordError::NoQuotaGrade(s.to_string()))
    }
}

/// The grade column of an attendance record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Grade {
    /// Empty: the rule set's default (or its ramp for new workers).
    Default,
    /// A coefficient in bp, e.g. 6000 for a new worker's first week.
    Coefficient(u32),
    /// The grade of a no-quota day.
    NoQuota(NoQuotaGrade),
}

/// One inmate's attendance on one day (日记载的出勤部分).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Attendance {
    pub day_type: DayType,
    /// Available minutes `A`; `None` means the rule set's default.
    pub minutes: Option<u32>,
    pub grade: Grade,
}

/// Parses a decimal integer in `min..=max` (no sign but `-`, no spaces, no exponent).
pub fn parse_int(field: &str, s: &str, min: i64, max: i64) -> Result<i64, RecordError> {
    let err = || RecordError::OutOfRange {
        field: field.to_string(),
        value: s.to_string(),
        min,
        max,
    };
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 18 {
        return Err(err());
    }
    let v: i64 = s.parse().map_err(|_| err())?;
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(err())
    }
}

impl Attendance {
    /// Builds a record from its three form fields (as in `attendance.csv`),
    /// validating each and their combination.
    pub fn from_fields(
        day_type: &str,
        minutes: &str,
        grade: &str,
    ) -> Result<Attendance, RecordError> {
        let day_type: DayType = day_type.trim().parse()?;
        let minutes = minutes.trim();
        let minutes = if minutes.is_empty() {
            None
        } else {
            Some(parse_int("minutes", minutes, 0, i64::from(MAX_MINUTES))? as u32)
        };
        if day_type == DayType::Work && minutes == Some(0) {
            return Err(RecordError::OutOfRange {
                field: "minutes of a work day".into(),
                value: "0".into(),
                min: 1,
                max: i64::from(MAX_MINUTES),
            });
        }
        let grade = grade.trim();
        let grade = match (day_type, grade) {
            (DayType::NoQuota, g) => match g.parse::<NoQuotaGrade>() {
                Ok(g) => Grade::NoQuota(g),
                Err(_) => return Err(RecordError::NoQuotaNeedsGrade(g.to_string())),
            },
            (_, "") => Grade::Default,
            (t, g) => {
                if g.parse::<NoQuotaGrade>().is_ok() {
                    return Err(RecordError::GradeNotBp(t, g.to_string()));
                }
                Grade::Coefficient(parse_int("grade", g, 1, i64::from(MAX_GRADE_BP))? as u32)
            }
        };
        Ok(Attendance {
            day_type,
            minutes,
            grade,
        })
    }

    /// The stored form: `type|minutes|grade`, empty fields for defaults.
    pub fn encode(&self) -> String {
        let minutes = self.minutes.map(|m| m.to_string()).unwrap_or_default();
        let grade = match self.grade {
            Grade::Default => String::new(),
            Grade::Coefficient(bp) => bp.to_string(),
            Grade::NoQuota(g) => g.as_str().to_string(),
        };
        format!("{}|{}|{}", self.day_type.as_str(), minutes, grade)
    }

    pub fn decode(s: &str) -> Result<Attendance, RecordError> {
        let mut parts = s.split('|');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(t), Some(m), Some(g), None) => {
                let a = Attendance::from_fields(t, m, g)?;
                // Only the canonical form is accepted, so one fact has one encoding.
                if a.encode() != s {
                    return Err(RecordError::Malformed {
                        value: s.to_string(),
                        reason: "not in canonical form".into(),
                    });
                }
                Ok(a)
            }
            _ => Err(RecordError::Malformed {
                value: s.to_string(),
                reason: "expected `type|minutes|grade`".into(),
            }),
        }
    }
}

/// Checks a name, reason or label: 1–200 characters, no control characters.
pub fn check_text(field: &str, value: &str) -> Result<(), RecordError> {
    let n = value.chars().count();
    if n == 0 || n > MAX_TEXT_CHARS || value.chars().any(char::is_control) || value.trim() != value
    {
        return Err(RecordError::Text {
            field: field.to_string(),
            value: value.to_string(),
        });
    }
    Ok(())
}

/// An inmate in the prison roster (花名册).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inmate {
    pub name: String,
    pub district: DistrictId,
    pub admitted: Date,
    pub released: Option<Date>,
}

impl Inmate {
    pub fn validate(&self) -> Result<(), RecordError> {
        check_text("name", &self.name)?;
        if let Some(released) = self.released
            && released < self.admitted
        {
            return Err(RecordError::ReleaseBeforeAdmission {
                admitted: self.admitted,
                released,
            });
        }
        Ok(())
    }

    /// In custody on `date`: admitted on or before it, released on or after it
    /// (the day of release is still a day in custody).
    pub fn in_custody(&self, date: Date) -> bool {
        self.admitted <= date && self.released.is_none_or(|r| date <= r)
    }
}

/// One version of a procedure's standard time (工时定额), in force from a date
/// until the next version's date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureVersion {
    pub product: ProductId,
    pub name: String,
    pub std_ms: u64,
}

impl ProcedureVersion {
    pub fn validate(&self) -> Result<(), RecordError> {
        check_text("procedure name", &self.name)?;
        if !(1..=MAX_STD_MS).contains(&self.std_ms) {
            return Err(RecordError::OutOfRange {
                field: "std_ms".into(),
                value: self.std_ms.to_string(),
                min: 1,
                max: MAX_STD_MS as i64,
            });
        }
        Ok(())
    }
}

/// A discretionary labor bonus (positive) or deduction (negative) with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Adjustment {
    pub date: Date,
    pub points_cp: Cp,
    pub reason: String,
    /// Where the evidence is kept (photo number, report number); may be empty.
    #[serde(default)]
    pub evidence: String,
    /// 专项加分: a special bonus, which counts only once the prison group
    /// has approved it whatever its amount (RULES.md, decision levels).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub special: bool,
    /// 不宜公示: left off the posted sheet (a report of a violation, a lead
    /// in a case); it counts all the same.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_post: bool,
}

impl Adjustment {
    pub fn validate(&self) -> Result<(), RecordError> {
        check_text("reason", &self.reason)?;
        if !self.evidence.is_empty() {
            check_text("evidence", &self.evidence)?;
        }
        if self.points_cp.0 == 0 {
            return Err(RecordError::ZeroAdjustment);
        }
        if self.special && self.points_cp.0 < 0 {
            return Err(RecordError::OutOfRange {
                field: "points_cp of a special bonus".into(),
                value: self.points_cp.0.to_string(),
                min: 1,
                max: MAX_ADJUSTMENT_CP,
            });
        }
        if self.points_cp.0.unsigned_abs() > MAX_ADJUSTMENT_CP.unsigned_abs() {
            return Err(RecordError::OutOfRange {
                field: "points_cp".into(),
                value: self.points_cp.0.to_string(),
                min: -MAX_ADJUSTMENT_CP,
                max: MAX_ADJUSTMENT_CP,
            });
        }
        Ok(())
    }
}

/// Checks a count quantity.
pub fn check_quantity(q: i64) -> Result<u64, RecordError> {
    if (0..=MAX_QUANTITY as i64).contains(&q) {
        Ok(q as u64)
    } else {
        Err(RecordError::OutOfRange {
            field: "quantity".into(),
            value: q.to_string(),
            min: 0,
            max: MAX_QUANTITY as i64,
        })
    }
}

/// Parses a quantity as written in a CSV or a form: a non-negative integer.
pub fn parse_quantity(s: &str) -> Result<u64, RecordError> {
    Ok(parse_int("quantity", s.trim(), 0, MAX_QUANTITY as i64)? as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attendance_round_trips_in_canonical_form() {
        for (t, m, g, enc) in [
            ("work", "480", "10000", "work|480|10000"),
            ("work", "", "", "work||"),
            ("no_quota", "", "良好", "no_quota||良好"),
            ("sick", "480", "", "sick|480|"),
            ("rest", "0", "", "rest|0|"),
        ] {
            let a = Attendance::from_fields(t, m, g).unwrap();
            assert_eq!(a.encode(), enc);
            assert_eq!(Attendance::decode(enc), Ok(a));
        }
    }

    #[test]
    fn attendance_rejects_bad_fields() {
        for (t, m, g) in [
            ("holiday", "", ""),
            ("work", "-1", ""),
            ("work", "1441", ""),
            ("work", "0", ""),
            ("work", "4.5", ""),
            ("work", "", "0"),
            ("work", "", "优秀"),
            ("no_quota", "", ""),
            ("no_quota", "", "9000"),
        ] {
            assert!(
                Attendance::from_fields(t, m, g).is_err(),
                "{t}/{m}/{g} must be rejected"
            );
        }
        for bad in ["work|480", "work|0480|", "work|480|10000|x", "WORK||"] {
            assert!(Attendance::decode(bad).is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn quantities_are_non_negative_integers() {
        assert_eq!(parse_quantity(" 12 "), Ok(12));
        for bad in ["-1", "1.5", "1e3", "", "abc", "99999999999999999999"] {
            assert!(parse_quantity(bad).is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn custody_includes_both_ends() {
        let i = Inmate {
            name: "张三".into(),
            district: DistrictId::new("D01").unwrap(),
            admitted: "2026-03-10".parse().unwrap(),
            released: Some("2026-03-20".parse().unwrap()),
        };
        assert!(!i.in_custody("2026-03-09".parse().unwrap()));
        assert!(i.in_custody("2026-03-10".parse().unwrap()));
        assert!(i.in_custody("2026-03-20".parse().unwrap()));
        assert!(!i.in_custody("2026-03-21".parse().unwrap()));
    }
}
