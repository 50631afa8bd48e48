//! The canonical monthly report and its digest.
//!
//! Canonical means: inmates sorted by number, fields in declaration order,
//! integers only, UTF-8 JSON without whitespace, no time of computation. The
//! digest is SHA-256 over the district, the month and the body (rule-set
//! version and per-inmate results) — never over document heads, so replicas
//! that reached the same facts by different histories agree on it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::calendar::{Date, Month};
use crate::facts::Problem;
use crate::ids::{DistrictId, InmateNo, ProcedureId};
use crate::units::{Bp, Cp};

/// Domain separation for the report digest; bump when the body's meaning changes.
const DIGEST_DOMAIN: &[u8] = b"tally/report/v1\n";

/// A flag the report carries (RULES.md, "Flags"), in this fixed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// No labor day but an exempt day: labor-exempt this month, every figure 0.
    Exempt,
    BelowBase,
    /// An entry the district scoring group has not yet decided.
    NeedsReview,
    NeedsApproval,
    /// A record of the inmate's month that the score does not count.
    RecordsNotCounted,
    /// An application for 复查 or 复核 of the inmate's month awaits its answer.
    UnderReview,
    RateOutlier,
    Conflict,
    Unconfirmed,
    AmendedAfterSeal,
}

impl Flag {
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Exempt => "exempt",
            Flag::BelowBase => "below_base",
            Flag::NeedsReview => "needs_review",
            Flag::NeedsApproval => "needs_approval",
            Flag::RecordsNotCounted => "records_not_counted",
            Flag::UnderReview => "under_review",
            Flag::RateOutlier => "rate_outlier",
            Flag::Conflict => "conflict",
            Flag::Unconfirmed => "unconfirmed",
            Flag::AmendedAfterSeal => "amended_after_seal",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Flag::Exempt => "免于劳动",
            Flag::BelowBase => "未达基础分",
            Flag::NeedsReview => "待评议",
            Flag::NeedsApproval => "待审批",
            Flag::RecordsNotCounted => "有记录未计入",
            Flag::UnderReview => "复查复核中",
            Flag::RateOutlier => "效率异常",
            Flag::Conflict => "数据冲突",
            Flag::Unconfirmed => "未确认",
            Flag::AmendedAfterSeal => "封存后修改",
        }
    }
}

/// SHA-256 of a report, as 64 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReportDigest(pub String);

impl fmt::Display for ReportDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One inmate's labor part for the month, with the numerators and denominators
/// of every division so an auditor can redo it by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InmateResult {
    pub inmate_no: InmateNo,
    /// `BASE_cp`.
    pub base_cp: Cp,
    /// Bonuses that count: approved (or below the approval threshold), after the cap.
    pub bonus_cp: Cp,
    /// Bonuses awaiting the chief's approval, plain sum before any cap.
    pub pending_bonus_cp: Cp,
    /// Deductions that count, as a positive number.
    pub deduct_cp: Cp,
    /// Deductions awaiting approval, as a positive number.
    pub pending_deduct_cp: Cp,
    /// `LABOR_cp = BASE + bonus − deduct`; may be negative.
    pub labor_cp: Cp,
    pub flags: Vec<Flag>,
    /// `C`: days in custody this month.
    pub custody_days: u32,
    /// `D`: labor days.
    pub labor_days: u32,
    pub work_days: u32,
    /// `Σf` over the labor days, in bp.
    pub factor_sum_bp: i64,
    /// `BASE_cp = base_num / base_den` with `base_num = base × C × Σf`, `base_den = K × D × 10000`.
    pub base_num: i64,
    pub base_den: i64,
    /// `ΣEARNED_ms` over the work days.
    pub earned_ms: i64,
    /// `ΣREQ_ms` over the work days.
    pub req_ms: i64,
    /// `over_bp = ΣEARNED × 10000 / ΣREQ − 10000`, not below 0.
    pub over_bp: Bp,
    /// Whether the continuity condition for the over-fulfilment bonus holds.
    pub over_eligible: bool,
    /// The over-fulfilment bonus `BONUS_cp` (capped), whether or not it counts yet.
    pub overfulfil_bonus_cp: Cp,
    /// Positive adjustments that count, before the shared cap.
    pub other_bonus_cp: Cp,
}

/// A team count that nobody could be credited with (no assigned inmate worked that day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnallocatedTeamCount {
    pub date: Date,
    pub procedure: ProcedureId,
    pub quantity: u64,
}

/// Everything of a report except its identity and digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportBody {
    /// Version of the rule set the month was scored with.
    pub rule_set: String,
    /// `K`: calendar days of the month.
    pub calendar_days: u32,
    pub inmates: Vec<InmateResult>,
    pub unallocated_team_counts: Vec<UnallocatedTeamCount>,
    /// Records that could not be used, with the reason.
    pub problems: Vec<ProblemOut>,
    /// Inmates this district held during the month who are scored by the
    /// district they moved to (RULES.md, "Districts and transfers").
    /// Absent when empty, so a month without transfers keeps the digest it
    /// had before transfers existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transferred_out: Vec<TransferredOut>,
    /// Other districts whose month documents this report read (inmates
    /// transferred in); absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read_from: Vec<DistrictId>,
}

/// An inmate who left the district during the month, scored elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferredOut {
    pub inmate_no: InmateNo,
    /// The first day in the other district.
    pub date: Date,
    pub to: DistrictId,
}

/// A problem as it appears in a report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ProblemOut {
    pub key: String,
    pub reason: String,
}

impl From<Problem> for ProblemOut {
    fn from(p: Problem) -> ProblemOut {
        ProblemOut {
            key: p.key,
            reason: p.reason,
        }
    }
}

/// The report of one district-month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub district: DistrictId,
    pub month: Month,
    pub digest: ReportDigest,
    #[serde(flatten)]
    pub body: ReportBody,
    /// Whether and how the month is sealed. Not covered by the digest: it
    /// names document heads, which differ between histories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<SealStatus>,
    /// The latest posting (公示) of the month. Not covered by the digest
    /// either: it names the digest it posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posting: Option<PostingStatus>,
    /// The inmates' acknowledgements of their monthly sheets (a refusal
    /// shown here never blocks the seal). Outside the digest.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub acknowledgements: BTreeMap<InmateNo, crate::schema::Acknowledgement>,
}

/// The chief's posting as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostingStatus {
    /// The report digest posted.
    pub digest: String,
    pub first_day: Date,
    /// The last day of the posting: `posting_working_days` working days
    /// from the first, by the calendar of the rule set in force.
    pub last_day: Date,
    /// Whether the report is still the one posted.
    pub current: bool,
}

/// The chief's seal as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealStatus {
    /// The report digest the chief sealed.
    pub digest: String,
    /// Hex public key of the chief who sealed.
    pub by: String,
    /// The change that wrote the seal.
    pub change: String,
    /// Whether the report still matches the seal (no amendment since).
    pub current: bool,
    /// What the procedure had not done when the chief sealed all the same.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub forced: String,
    /// Inmates changed after the seal.
    pub amended: u32,
    /// The report no longer matches the seal although no record of the
    /// month changed since: the registry did (standard times, the roster,
    /// rule sets). Such a seal must not look unamended.
    #[serde(default)]
    pub registry_changed: bool,
}

impl Report {
    /// Builds the report and computes its digest.
    pub fn new(district: DistrictId, month: Month, body: ReportBody) -> Report {
        let digest = Report::compute_digest(&district, month, &body);
        Report {
            district,
            month,
            digest,
            body,
            seal: None,
            posting: None,
            acknowledgements: BTreeMap::new(),
        }
    }

    /// SHA-256 over the domain tag and the canonical JSON of district, month and body.
    pub fn compute_digest(district: &DistrictId, month: Month, body: &ReportBody) -> ReportDigest {
        let mut h = Sha256::new();
        h.update(DIGEST_DOMAIN);
        let canonical =
            serde_json::to_vec(&(district, month, body)).expect("a report body always serializes");
        h.update(&canonical);
        ReportDigest(hex::encode(h.finalize()))
    }

    /// Whether the stated digest matches the contents.
    pub fn digest_is_consistent(&self) -> bool {
        Report::compute_digest(&self.district, self.month, &self.body) == self.digest
    }

    /// The canonical JSON of the whole report.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a report always serializes")
    }

    pub fn inmate(&self, no: &InmateNo) -> Option<&InmateResult> {
        self.body
            .inmates
            .binary_search_by(|r| r.inmate_no.cmp(no))
            .ok()
            .map(|i| &self.body.inmates[i])
    }
}
