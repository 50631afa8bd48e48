//! What may be written where: the class of every record path (which the
//! signed-changes layer authorizes by role) and the check of every value.
//!
//! The same decoders serve reading a document and validating an incoming
//! change, so a value that a replica would refuse to read can never be
//! accepted into a document in the first place.

use std::collections::BTreeMap;

use automerge::{ScalarValue, ValueRef};
use serde::{Deserialize, Serialize};

use crate::calendar::{Date, Month, Year};
use crate::ids::{DistrictId, InmateNo};
use crate::layout::{
    AdjustmentId, ContentId, DocId, KeyError, META_DOC, META_PRISON, META_SCHEMA, MonthKey,
    RegistryKey, RosterKey, SCHEMA_VERSION,
};
use crate::month::adjustment_id;
use crate::records::{
    Adjustment, Attendance, Inmate, MAX_ADJUSTMENT_CP, ProcedureVersion, check_quantity, check_text,
};
use crate::ruleset::RuleSet;
use crate::units::Cp;

/// A scalar as the checks see it, whether read from a document or from the
/// operations of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar<'a> {
    Str(&'a str),
    Int(i64),
    /// Any other type (bytes, floats, counters …): never valid in tally.
    Other(&'static str),
}

impl<'a> From<&'a ValueRef<'_>> for Scalar<'a> {
    fn from(v: &'a ValueRef<'_>) -> Scalar<'a> {
        match v {
            ValueRef::Scalar(automerge::ScalarValueRef::Str(s)) => Scalar::Str(s.as_ref()),
            ValueRef::Scalar(automerge::ScalarValueRef::Int(i)) => Scalar::Int(*i),
            ValueRef::Scalar(_) => Scalar::Other("a non-string, non-integer scalar"),
            ValueRef::Object(_) => Scalar::Other("an object"),
        }
    }
}

impl<'a> From<&'a ScalarValue> for Scalar<'a> {
    fn from(v: &'a ScalarValue) -> Scalar<'a> {
        match v {
            ScalarValue::Str(s) => Scalar::Str(s.as_str()),
            ScalarValue::Int(i) => Scalar::Int(*i),
            _ => Scalar::Other("a non-string, non-integer scalar"),
        }
    }
}

impl<'a> Scalar<'a> {
    pub fn str(self) -> Result<&'a str, String> {
        match self {
            Scalar::Str(s) => Ok(s),
            Scalar::Int(i) => Err(format!("expected a string, found the integer {i}")),
            Scalar::Other(w) => Err(format!("expected a string, found {w}")),
        }
    }

    pub fn int(self) -> Result<i64, String> {
        match self {
            Scalar::Int(i) => Ok(i),
            Scalar::Str(s) => Err(format!("expected an integer, found the string `{s}`")),
            Scalar::Other(w) => Err(format!("expected an integer, found {w}")),
        }
    }
}

/// What kind of record a path holds; authorization is decided per class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordClass {
    /// `meta/schema`, `meta/doc`: stamped by any writer of the document.
    Meta,
    /// The prison's name.
    Prison,
    /// Districts and the inmate roster (the registry's: districts, and
    /// the roster of data directories from before its shards).
    Roster,
    /// A roster shard's admissions, releases and transfers: deletable, as a
    /// fact recorded in error is withdrawn (or moved to the shard of its
    /// corrected date) by deleting it.
    Custody,
    /// Products and procedures with their standard times.
    Catalogue,
    RuleSet,
    /// Officer certificates, revocations and device enrolments (authority-signed).
    Trust,
    /// Attendance, assignments, counts, team counts, adjustments, confirmations.
    Daily,
    /// The chief's approvals (rule sets of the former procedure).
    Approval,
    /// The prison scoring working group's approvals (rule sets with decision levels).
    GroupApproval,
    /// The chief's seal of the month.
    Seal,
    /// The procurator's objections.
    Objection,
    /// The district scoring group's weekly reviews, recorded by the chief who chairs them.
    Review,
    /// The chief's posting (公示) of the month's report.
    Posting,
    /// An inmate's application for 复查 or 复核, recorded by an officer.
    Application,
    /// The district group's answer to a 复查, recorded by the chief.
    Answer,
    /// The prison group's answer to a 复核 (final).
    FinalAnswer,
    /// The inmate's acknowledgement of the monthly sheet (月评表), recorded by an officer.
    Acknowledgement,
}

impl RecordClass {
    /// Whether a record of this class may be deleted (history of trust,
    /// seals, objections and the registry is only ever added to).
    pub fn deletable(self) -> bool {
        matches!(
            self,
            RecordClass::Daily
                | RecordClass::Approval
                | RecordClass::GroupApproval
                | RecordClass::Custody
        )
    }
}

/// Most other districts' documents one seal may name.
pub const MAX_SEAL_SOURCES: usize = 256;

/// The chief's seal of a district-month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seal {
    pub district: DistrictId,
    pub month: Month,
    /// Document heads the chief sealed (hex change hashes).
    pub heads: Vec<String>,
    /// The report digest the chief saw at those heads.
    pub digest: String,
    /// The heads of every other district's month document the report read
    /// (an inmate transferred in this month), by district: a later change
    /// to one of them amends this month as one to its own document does.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<DistrictId, Vec<String>>,
    /// The heads of every roster shard the report read (those up to the
    /// month's year), by year: the roster as the chief's report saw it. A
    /// seal of a data directory from before the shards records none (its
    /// roster is the registry's, at the heads its change's note names).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roster: BTreeMap<Year, Vec<String>>,
    /// [`RuleSet::digest`] of the rule set the month was sealed under: a
    /// rule set published over the month later amends every inmate of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<String>,
    /// What the procedure had not yet done when the chief sealed all the
    /// same (the posting not ended, applications unanswered); empty for a
    /// seal in order.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub forced: String,
}

/// A second officer's confirmation: the digest of what was confirmed and
/// the first 8 bytes of the confirmer's key (checked against the change's
/// signer when read; it also makes two officers' confirmations of the same
/// records different values, so each is recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    pub digest: ContentId,
    pub by: String,
}

impl Confirmation {
    pub fn new(digest: ContentId, author: &[u8]) -> Confirmation {
        Confirmation {
            digest,
            by: hex::encode(&author[..author.len().min(8)]),
        }
    }

    pub fn encode(&self) -> String {
        format!("{}:{}", self.digest, self.by)
    }

    pub fn decode(s: &str) -> Result<Confirmation, String> {
        let (d, by) = s
            .split_once(':')
            .ok_or("a confirmation is `digest:signer`")?;
        if !is_hex(by, 16) {
            return Err("a confirmation's signer is 16 hex digits".into());
        }
        Ok(Confirmation {
            digest: ContentId::parse(d).map_err(|e| e.to_string())?,
            by: by.to_string(),
        })
    }

    /// Whether `author` is the signer this confirmation names.
    pub fn names(&self, author: &[u8]) -> bool {
        author.len() >= 8 && hex::encode(&author[..8]) == self.by
    }
}

/// A procurator's objection to a month, an inmate's month or a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objection {
    pub inmate: Option<InmateNo>,
    pub date: Option<Date>,
    pub text: String,
}

impl Objection {
    pub fn id(&self) -> ContentId {
        ContentId::of(&[
            self.inmate.as_ref().map(InmateNo::as_str).unwrap_or(""),
            &self.date.map(|d| d.to_string()).unwrap_or_default(),
            &self.text,
        ])
    }
}

/// Whether `in_favour` of `members` is the two thirds of all members a
/// group decision needs (Art. 25, 56: 以上 includes the number):
/// `3 × y ≥ 2 × n`. A 7-member group needs 5; 4 of 6 pass, 3 of 5 do not.
pub fn two_thirds(in_favour: u32, members: u32) -> bool {
    members > 0 && 3 * u64::from(in_favour) >= 2 * u64::from(members)
}

/// The fewest in favour that pass a decision of `members`: ⌈2n/3⌉.
pub fn needed_in_favour(members: u32) -> u32 {
    (2 * members).div_ceil(3)
}

/// Most members a scoring group has, and most decisions one review records.
pub const MAX_GROUP_MEMBERS: u32 = 99;
pub const MAX_REVIEW_DECISIONS: usize = 2000;

/// What the group decided of one entry (RULES.md, decision levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Outcome {
    /// 通过: the entry counts as written (or waits for the prison group).
    Pass,
    /// 更正: the corrected amount takes the entry's place, and passes.
    Correct { points_cp: Cp },
    /// 退回: the entry does not count.
    Return,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Correct { .. } => "correct",
            Outcome::Return => "return",
        }
    }
}

/// One entry's decision in a review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub inmate: InmateNo,
    pub entry: AdjustmentId,
    /// `"pass"`, `{"correct": {"points_cp": -300}}` or `"return"`.
    pub outcome: Outcome,
}

/// A weekly review (周评议, Art. 26) of the district scoring group
/// (计分考核工作小组), chaired and signed by the chief: when it was held, how
/// many members the group has and how many were present, how many voted
/// in favour, and what it decided of each entry. Its decisions take effect
/// only with two thirds of all members in favour; a review that records no
/// decision (a vote that failed, a week with nothing to decide) needs none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    pub week: crate::calendar::Week,
    pub held: Date,
    pub members: u32,
    pub present: u32,
    pub in_favour: u32,
    pub decisions: Vec<Decision>,
    /// Dissent recorded with the decisions (may be empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub dissent: String,
}

impl Review {
    /// The review's id: its content, so the same review written twice is
    /// one record and two reviews of one week are two.
    pub fn id(&self) -> ContentId {
        ContentId::of(&[&serde_json::to_string(self).unwrap_or_default()])
    }

    /// Why the review is not one the rule allows, if it is not.
    pub fn check(&self) -> Result<(), String> {
        if self.members == 0 || self.members > MAX_GROUP_MEMBERS {
            return Err(format!(
                "a group of {} members (1 to {MAX_GROUP_MEMBERS})",
                self.members
            ));
        }
        if self.present > self.members || self.in_favour > self.present {
            return Err(format!(
                "{} present of {} members with {} in favour: present may not exceed the members, nor those in favour the present",
                self.present, self.members, self.in_favour
            ));
        }
        // Held in the week or within two months after it.
        if self.held < self.week.monday()
            || self.held.ordinal() > self.week.monday().ordinal() + 6 + 62
        {
            return Err(format!(
                "held {} outside the week {} and the two months after it",
                self.held, self.week
            ));
        }
        if self.decisions.len() > MAX_REVIEW_DECISIONS {
            return Err(format!("more than {MAX_REVIEW_DECISIONS} decisions"));
        }
        if !self.decisions.is_empty() && !two_thirds(self.in_favour, self.members) {
            return Err(format!(
                "{} of {} members in favour is less than two thirds of all members ({} needed): no decision passes",
                self.in_favour,
                self.members,
                needed_in_favour(self.members)
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for d in &self.decisions {
            if !seen.insert((&d.inmate, &d.entry)) {
                return Err(format!("entry {} decided twice", d.entry));
            }
            if let Outcome::Correct { points_cp } = d.outcome
                && (points_cp.0 == 0
                    || points_cp.0.unsigned_abs() > MAX_ADJUSTMENT_CP.unsigned_abs())
            {
                return Err(format!(
                    "entry {}: a correction to {} cp (nonzero, at most {MAX_ADJUSTMENT_CP} either way)",
                    d.entry, points_cp.0
                ));
            }
        }
        if !self.dissent.is_empty() {
            check_text("dissent", &self.dissent).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// The chief's posting (公示, Art. 35) of a month's report: the digest
/// posted and the first day on the wall. It lasts the rule set's
/// `posting_working_days`; applications run from its first day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Posting {
    pub digest: String,
    pub first_day: Date,
}

impl Posting {
    pub fn id(&self) -> ContentId {
        ContentId::of(&[&self.digest, &self.first_day.to_string()])
    }

    /// Why the posting is not one of `month`, if it is not: a report is
    /// posted from its month on, and within two months of its end.
    pub fn check(&self, month: Month) -> Result<(), String> {
        if !is_hex(&self.digest, 64) {
            return Err("a posting's digest must be 64 hex digits".into());
        }
        // The month's report is posted once the month is over (from its last
        // day on), within two months.
        let last = month.last().ordinal() + 62;
        if self.first_day < month.last() || self.first_day.ordinal() > last {
            return Err(format!(
                "a posting of {month} beginning {} (from the month's last day to two months after it)",
                self.first_day
            ));
        }
        Ok(())
    }
}

/// Which application (Art. 36): a re-check (复查) by the district group,
/// or, after its answer, a review (复核) by the prison group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationKind {
    Recheck,
    Review,
}

impl ApplicationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationKind::Recheck => "recheck",
            ApplicationKind::Review => "review",
        }
    }
}

/// An inmate's application for 复查 or 复核 of an entry or a figure,
/// recorded by an officer with the date it was received. A late one is
/// recorded all the same (and shown late), never refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    pub inmate: InmateNo,
    pub kind: ApplicationKind,
    /// The entry applied against, when it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<AdjustmentId>,
    /// The figure applied against, in words, when it is not an entry.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub figure: String,
    pub reason: String,
    pub received: Date,
    /// For a 复核: the 复查 it follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follows: Option<ContentId>,
}

impl Application {
    pub fn id(&self) -> ContentId {
        ContentId::of(&[
            self.inmate.as_str(),
            self.kind.as_str(),
            self.entry.as_ref().map(ContentId::as_str).unwrap_or(""),
            &self.figure,
            &self.reason,
            &self.received.to_string(),
            self.follows.as_ref().map(ContentId::as_str).unwrap_or(""),
        ])
    }

    pub fn check(&self, month: Month) -> Result<(), String> {
        check_text("reason", &self.reason).map_err(|e| e.to_string())?;
        if !self.figure.is_empty() {
            check_text("figure", &self.figure).map_err(|e| e.to_string())?;
        }
        if self.entry.is_none() && self.figure.is_empty() {
            return Err("an application names an entry or a figure".into());
        }
        if (self.kind == ApplicationKind::Review) != self.follows.is_some() {
            return Err("a 复核 follows a 复查, and only a 复核 does".into());
        }
        if self.received < month.first() || self.received.ordinal() > month.last().ordinal() + 92 {
            return Err(format!(
                "received {}: from the month's first day to three months after it",
                self.received
            ));
        }
        Ok(())
    }
}

/// What an answer decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AnswerOutcome {
    /// 维持: the entry or figure stands.
    Upheld,
    /// 更正: the entry applied against counts at this amount (0: not at all).
    Corrected { points_cp: Cp },
}

/// The answer to an application: by the district group (to a 复查,
/// recorded by the chief) or by the prison group (to a 复核, final).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    pub application: ContentId,
    pub decided: Date,
    pub outcome: AnswerOutcome,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// The district group's vote on a 复查 (members, in favour): its answer
    /// is a group decision and needs two thirds of all members, as a
    /// review's does. The prison group's final answer carries none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vote: Option<(u32, u32)>,
}

impl Answer {
    /// The district group's answer: with a vote of two thirds of all members.
    pub fn check_group(&self) -> Result<(), String> {
        match self.vote {
            Some((members, in_favour))
                if (1..=MAX_GROUP_MEMBERS).contains(&members) && in_favour <= members =>
            {
                if two_thirds(in_favour, members) {
                    Ok(())
                } else {
                    Err(format!(
                        "{in_favour} of {members} members in favour is less than two thirds of all members ({} needed): the group has not answered",
                        needed_in_favour(members)
                    ))
                }
            }
            Some((members, in_favour)) => Err(format!(
                "a vote of {in_favour} in favour of {members} members"
            )),
            None => {
                Err("the group's answer to a 复查 names its members and those in favour".into())
            }
        }
    }

    pub fn check(&self, month: Month) -> Result<(), String> {
        if !self.note.is_empty() {
            check_text("note", &self.note).map_err(|e| e.to_string())?;
        }
        if let AnswerOutcome::Corrected { points_cp } = self.outcome
            && points_cp.0.unsigned_abs() > MAX_ADJUSTMENT_CP.unsigned_abs()
        {
            return Err(format!("a correction to {} cp", points_cp.0));
        }
        if self.decided < month.first() || self.decided.ordinal() > month.last().ordinal() + 123 {
            return Err(format!(
                "decided {}: from the month's first day to four months after it",
                self.decided
            ));
        }
        Ok(())
    }
}

/// What the inmate did with the paper monthly sheet (月评表).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckState {
    /// 签字: signed.
    Signed,
    /// 拒签: refused (never blocks the seal; shown in the report).
    Refused,
    /// 无法签字: not available (in hospital, in confinement…).
    NotAvailable,
}

impl AckState {
    pub fn as_str(self) -> &'static str {
        match self {
            AckState::Signed => "signed",
            AckState::Refused => "refused",
            AckState::NotAvailable => "not_available",
        }
    }
}

/// The acknowledgement of an inmate's monthly sheet, as an officer records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acknowledgement {
    pub state: AckState,
    pub date: Date,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl Acknowledgement {
    pub fn check(&self, month: Month) -> Result<(), String> {
        if !self.note.is_empty() {
            check_text("note", &self.note).map_err(|e| e.to_string())?;
        }
        if self.date < month.first() || self.date.ordinal() > month.last().ordinal() + 123 {
            return Err(format!(
                "acknowledged {}: from the month's first day to four months after it",
                self.date
            ));
        }
        Ok(())
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A decoded registry value.
#[derive(Debug, Clone, PartialEq)]
pub enum RegistryValue {
    Meta,
    Text(String),
    Inmate(Inmate),
    /// The district a transfer moves the inmate to.
    Transfer(DistrictId),
    Procedure(ProcedureVersion),
    RuleSet(RuleSet),
    /// A signed trust record (JSON), checked by the `keys` layer.
    Trust(String),
}

/// A decoded roster-shard value.
#[derive(Debug, Clone, PartialEq)]
pub enum RosterValue {
    Meta,
    /// Name, first district and admission date (`released` always `None`:
    /// a release is its own record, in the shard of its date).
    Admission(Inmate),
    Release(Date),
    /// The district a transfer moves the inmate to.
    Transfer(DistrictId),
}

/// A decoded month value.
#[derive(Debug, Clone, PartialEq)]
pub enum MonthValue {
    Meta,
    Attendance(Attendance),
    Quantity(u64),
    Assigned,
    Adjustment(Adjustment),
    Approval(Cp),
    Confirmation(Confirmation),
    Seal(Seal),
    Objection(Objection),
    Review(Review),
    Posting(Posting),
    Application(Application),
    Answer(Answer),
    Acknowledgement(Acknowledgement),
}

fn json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, String> {
    serde_json::from_str(s).map_err(|e| e.to_string())
}

fn meta(doc: &DocId, name: &str, v: Scalar<'_>) -> Result<(), String> {
    match name {
        "schema" => {
            let n = v.int()?;
            if (1..=SCHEMA_VERSION).contains(&n) {
                Ok(())
            } else {
                Err(format!("schema version {n} is not one this tally writes"))
            }
        }
        "doc" => {
            let s = v.str()?;
            if s == doc.to_string() {
                Ok(())
            } else {
                Err(format!("document name `{s}` in {doc}"))
            }
        }
        other => Err(format!("unknown meta field {other}")),
    }
}

/// Decodes and checks a value of the roster shard of `year`: every fact in
/// it is dated in that year.
pub fn decode_roster(year: Year, key: &RosterKey, v: Scalar<'_>) -> Result<RosterValue, String> {
    match key {
        RosterKey::Meta(m) => meta(&DocId::Roster { year }, m, v).map(|_| RosterValue::Meta),
        RosterKey::Admission(_) => {
            let i: Inmate = json(v.str()?)?;
            i.validate().map_err(|e| e.to_string())?;
            if i.released.is_some() {
                return Err("an admission names no release (a release is its own record)".into());
            }
            if !year.contains(i.admitted) {
                return Err(format!(
                    "an admission on {} belongs to the roster of {}",
                    i.admitted,
                    Year::of(i.admitted)
                ));
            }
            Ok(RosterValue::Admission(i))
        }
        RosterKey::Release(_) => {
            let d: Date = v.str()?.parse().map_err(|e| format!("{e}"))?;
            if !year.contains(d) {
                return Err(format!(
                    "a release on {d} belongs to the roster of {}",
                    Year::of(d)
                ));
            }
            Ok(RosterValue::Release(d))
        }
        RosterKey::Transfer(..) => {
            let d: DistrictId = v.str()?.parse().map_err(|e| format!("{e}"))?;
            Ok(RosterValue::Transfer(d))
        }
    }
}

/// Decodes and checks a registry value.
pub fn decode_registry(key: &RegistryKey, v: Scalar<'_>) -> Result<RegistryValue, String> {
    let text = |field: &str| -> Result<RegistryValue, String> {
        let s = v.str()?;
        check_text(field, s).map_err(|e| e.to_string())?;
        Ok(RegistryValue::Text(s.to_string()))
    };
    match key {
        RegistryKey::Meta(m) if m == "prison" => text("prison name"),
        RegistryKey::Meta(m) => meta(&DocId::Registry, m, v).map(|_| RegistryValue::Meta),
        RegistryKey::District(_) => text("district name"),
        RegistryKey::Product(_) => text("product name"),
        RegistryKey::Inmate(_) => {
            let i: Inmate = json(v.str()?)?;
            i.validate().map_err(|e| e.to_string())?;
            Ok(RegistryValue::Inmate(i))
        }
        RegistryKey::Transfer(..) => {
            let d: DistrictId = v.str()?.parse().map_err(|e| format!("{e}"))?;
            Ok(RegistryValue::Transfer(d))
        }
        RegistryKey::Procedure(..) => {
            let p: ProcedureVersion = json(v.str()?)?;
            p.validate().map_err(|e| e.to_string())?;
            Ok(RegistryValue::Procedure(p))
        }
        RegistryKey::RuleSet(m) => {
            let r = RuleSet::decode(v.str()?).map_err(|e| e.to_string())?;
            if r.effective_from != *m {
                return Err(format!(
                    "rule set says it is effective from {}",
                    r.effective_from
                ));
            }
            Ok(RegistryValue::RuleSet(r))
        }
        RegistryKey::Officer(_) | RegistryKey::Revocation(_) | RegistryKey::Device(_) => {
            let s = v.str()?;
            serde_json::from_str::<serde_json::Value>(s).map_err(|e| e.to_string())?;
            Ok(RegistryValue::Trust(s.to_string()))
        }
    }
}

/// Decodes and checks a value of a district-month document.
pub fn decode_month(doc: &DocId, key: &MonthKey, v: Scalar<'_>) -> Result<MonthValue, String> {
    let DocId::Month { district, month } = doc else {
        return Err(format!("{doc} is not a month document"));
    };
    let quantity = || -> Result<MonthValue, String> {
        Ok(MonthValue::Quantity(
            check_quantity(v.int()?).map_err(|e| e.to_string())?,
        ))
    };
    Ok(match key {
        MonthKey::Meta(m) => {
            meta(doc, m, v)?;
            MonthValue::Meta
        }
        MonthKey::Attendance(..) => {
            MonthValue::Attendance(Attendance::decode(v.str()?).map_err(|e| e.to_string())?)
        }
        MonthKey::Count(..) | MonthKey::TeamCount(..) => quantity()?,
        MonthKey::Assignment(..) => {
            if v.int()? != 1 {
                return Err("an assignment's value must be 1".into());
            }
            MonthValue::Assigned
        }
        MonthKey::Adjustment(i, id) => {
            let a: Adjustment = json(v.str()?)?;
            a.validate().map_err(|e| e.to_string())?;
            if !month.contains(a.date) {
                return Err(format!("adjustment dated {} outside {month}", a.date));
            }
            if adjustment_id(i, &a) != *id {
                return Err("adjustment id does not match its content".into());
            }
            MonthValue::Adjustment(a)
        }
        MonthKey::Approval(..) | MonthKey::GroupApproval(..) => MonthValue::Approval(Cp(v.int()?)),
        MonthKey::Confirmation(..) | MonthKey::TeamConfirmation(..) => {
            MonthValue::Confirmation(Confirmation::decode(v.str()?)?)
        }
        MonthKey::Seal => {
            let s: Seal = json(v.str()?)?;
            if s.district != *district || s.month != *month {
                return Err(format!("seal of {}/{} in {doc}", s.district, s.month));
            }
            if !s.heads.iter().all(|h| is_hex(h, 64))
                || !s.sources.values().flatten().all(|h| is_hex(h, 64))
                || !s.roster.values().flatten().all(|h| is_hex(h, 64))
                || !s.rules.iter().all(|h| is_hex(h, 64))
                || !is_hex(&s.digest, 64)
            {
                return Err("seal heads and digest must be 64 hex digits".into());
            }
            if s.sources.contains_key(district) || s.sources.len() > MAX_SEAL_SOURCES {
                return Err(format!(
                    "a seal names its own district among its sources, or more than {MAX_SEAL_SOURCES}"
                ));
            }
            // The shards a month's report reads are those up to its year.
            if let Some(y) = s.roster.keys().find(|y| **y > Year::of_month(*month)) {
                return Err(format!("a seal of {month} names the roster of {y}"));
            }
            MonthValue::Seal(s)
        }
        MonthKey::Objection(id) => {
            let o: Objection = json(v.str()?)?;
            check_text("objection", &o.text).map_err(|e| e.to_string())?;
            if let Some(d) = o.date
                && !month.contains(d)
            {
                return Err(format!("objection dated {d} outside {month}"));
            }
            if o.id() != *id {
                return Err("objection id does not match its content".into());
            }
            MonthValue::Objection(o)
        }
        MonthKey::Review(week, id) => {
            let r: Review = json(v.str()?)?;
            r.check()?;
            if r.week != *week || r.id() != *id {
                return Err("review week or id does not match its content".into());
            }
            MonthValue::Review(r)
        }
        MonthKey::Posting(id) => {
            let p: Posting = json(v.str()?)?;
            p.check(*month)?;
            if p.id() != *id {
                return Err("posting id does not match its content".into());
            }
            MonthValue::Posting(p)
        }
        MonthKey::Application(id) => {
            let a: Application = json(v.str()?)?;
            a.check(*month)?;
            if a.id() != *id {
                return Err("application id does not match its content".into());
            }
            MonthValue::Application(a)
        }
        MonthKey::Answer(id) | MonthKey::FinalAnswer(id) => {
            let a: Answer = json(v.str()?)?;
            a.check(*month)?;
            if matches!(key, MonthKey::Answer(_)) {
                a.check_group()?;
            } else if a.vote.is_some() {
                return Err("the prison group's answer carries no group vote".into());
            }
            if a.application != *id {
                return Err("an answer's key names the application it answers".into());
            }
            MonthValue::Answer(a)
        }
        MonthKey::Acknowledgement(_) => {
            let a: Acknowledgement = json(v.str()?)?;
            a.check(*month)?;
            MonthValue::Acknowledgement(a)
        }
    })
}

/// The class of a record path in `doc`, or why the path is not one tally writes.
pub fn classify(doc: &DocId, key: &str) -> Result<RecordClass, KeyError> {
    Ok(match doc {
        DocId::Registry => match RegistryKey::parse(key)? {
            RegistryKey::Meta(m) if m == "prison" => RecordClass::Prison,
            RegistryKey::Meta(_) => RecordClass::Meta,
            RegistryKey::District(_) | RegistryKey::Inmate(_) | RegistryKey::Transfer(..) => {
                RecordClass::Roster
            }
            RegistryKey::Product(_) | RegistryKey::Procedure(..) => RecordClass::Catalogue,
            RegistryKey::RuleSet(_) => RecordClass::RuleSet,
            RegistryKey::Officer(_) | RegistryKey::Revocation(_) | RegistryKey::Device(_) => {
                RecordClass::Trust
            }
        },
        DocId::Roster { year } => match RosterKey::parse(key, *year)? {
            RosterKey::Meta(_) => RecordClass::Meta,
            RosterKey::Admission(_) | RosterKey::Release(_) | RosterKey::Transfer(..) => {
                RecordClass::Custody
            }
        },
        DocId::Month { month, .. } => match MonthKey::parse(key, *month)? {
            MonthKey::Meta(_) => RecordClass::Meta,
            MonthKey::Attendance(..)
            | MonthKey::Count(..)
            | MonthKey::Assignment(..)
            | MonthKey::TeamCount(..)
            | MonthKey::Adjustment(..)
            | MonthKey::Confirmation(..)
            | MonthKey::TeamConfirmation(..) => RecordClass::Daily,
            MonthKey::Approval(..) => RecordClass::Approval,
            MonthKey::GroupApproval(..) => RecordClass::GroupApproval,
            MonthKey::Seal => RecordClass::Seal,
            MonthKey::Objection(_) => RecordClass::Objection,
            MonthKey::Review(..) => RecordClass::Review,
            MonthKey::Posting(_) => RecordClass::Posting,
            MonthKey::Application(_) => RecordClass::Application,
            MonthKey::Answer(_) => RecordClass::Answer,
            MonthKey::FinalAnswer(_) => RecordClass::FinalAnswer,
            MonthKey::Acknowledgement(_) => RecordClass::Acknowledgement,
        },
    })
}

/// Checks one operation of an incoming change: a put of `value` (or a delete,
/// `None`) at `key` of `doc`. Returns the record's class for authorization.
pub fn check_op(doc: &DocId, key: &str, value: Option<Scalar<'_>>) -> Result<RecordClass, String> {
    let class = classify(doc, key).map_err(|e| e.to_string())?;
    match value {
        None if !class.deletable() => return Err(format!("`{key}` may not be deleted")),
        None => {}
        Some(v) => match doc {
            DocId::Registry => {
                let k = RegistryKey::parse(key).map_err(|e| e.to_string())?;
                decode_registry(&k, v).map_err(|e| format!("`{key}`: {e}"))?;
            }
            DocId::Roster { year } => {
                let k = RosterKey::parse(key, *year).map_err(|e| e.to_string())?;
                decode_roster(*year, &k, v).map_err(|e| format!("`{key}`: {e}"))?;
            }
            DocId::Month { month, .. } => {
                let k = MonthKey::parse(key, *month).map_err(|e| e.to_string())?;
                decode_month(doc, &k, v).map_err(|e| format!("`{key}`: {e}"))?;
            }
        },
    }
    Ok(class)
}

/// Names of the meta keys, for writers that stamp documents.
pub const META_KEYS: [&str; 3] = [META_SCHEMA, META_DOC, META_PRISON];

#[cfg(test)]
mod tests {
    use super::*;

    fn month_doc() -> DocId {
        DocId::month("D01".parse().unwrap(), "2026-03".parse().unwrap())
    }

    #[test]
    fn a_seal_names_the_roster_shards_of_its_year_at_most() {
        let d = month_doc();
        let h = "ab".repeat(32);
        let seal = |years: &[&str], head: &str| {
            serde_json::to_string(&Seal {
                district: "D01".parse().unwrap(),
                month: "2026-03".parse().unwrap(),
                heads: vec![h.clone()],
                digest: h.clone(),
                sources: BTreeMap::new(),
                roster: years
                    .iter()
                    .map(|y| (y.parse().unwrap(), vec![head.to_string()]))
                    .collect(),
                rules: None,
                forced: String::new(),
            })
            .unwrap()
        };
        let ok = seal(&["2025", "2026"], &h);
        assert_eq!(
            check_op(&d, "seal", Some(Scalar::Str(&ok))),
            Ok(RecordClass::Seal)
        );
        let later = seal(&["2027"], &h);
        let e = check_op(&d, "seal", Some(Scalar::Str(&later))).unwrap_err();
        assert!(e.contains("names the roster of 2027"), "{e}");
        let bad = seal(&["2026"], "not hex");
        assert!(check_op(&d, "seal", Some(Scalar::Str(&bad))).is_err());
    }

    #[test]
    fn roster_values_are_dated_in_their_shard() {
        let r = DocId::Roster {
            year: "2026".parse().unwrap(),
        };
        let admission = r#"{"name":"甲","district":"D01","admitted":"2026-03-01","released":null}"#;
        assert_eq!(
            check_op(&r, "inmate/A1", Some(Scalar::Str(admission))),
            Ok(RecordClass::Custody)
        );
        let earlier = admission.replace("2026-03-01", "2025-03-01");
        assert!(check_op(&r, "inmate/A1", Some(Scalar::Str(&earlier))).is_err());
        let released = admission.replace("null", r#""2026-04-01""#);
        assert!(check_op(&r, "inmate/A1", Some(Scalar::Str(&released))).is_err());
        assert_eq!(
            check_op(&r, "release/A1", Some(Scalar::Str("2026-12-31"))),
            Ok(RecordClass::Custody)
        );
        assert!(check_op(&r, "release/A1", Some(Scalar::Str("2027-01-01"))).is_err());
        assert!(check_op(&r, "transfer/A1/2026-05-01", Some(Scalar::Str(""))).is_err());
        assert_eq!(
            check_op(&r, "transfer/A1/2026-05-01", None),
            Ok(RecordClass::Custody)
        );
        assert!(check_op(&r, "meta/doc", Some(Scalar::Str("roster/2027"))).is_err());
        assert!(check_op(&r, "district/D01", Some(Scalar::Str("一"))).is_err());
    }

    #[test]
    fn values_are_checked_against_their_paths() {
        let d = month_doc();
        assert_eq!(
            check_op(&d, "att/A1/02", Some(Scalar::Str("work||"))),
            Ok(RecordClass::Daily)
        );
        assert!(check_op(&d, "att/A1/02", Some(Scalar::Str("work|0480|"))).is_err());
        assert!(check_op(&d, "att/A1/02", Some(Scalar::Int(1))).is_err());
        assert!(check_op(&d, "cnt/A1/02/P1", Some(Scalar::Int(-1))).is_err());
        assert_eq!(check_op(&d, "cnt/A1/02/P1", None), Ok(RecordClass::Daily));
        assert_eq!(
            check_op(&d, "apv/A1/bonus", Some(Scalar::Int(500))),
            Ok(RecordClass::Approval)
        );
        assert!(check_op(&d, "seal", None).is_err());
        assert!(check_op(&d, "meta/doc", Some(Scalar::Str("month/D02/2026-03"))).is_err());
        assert!(check_op(&d, "meta/doc", Some(Scalar::Str("month/D01/2026-03"))).is_ok());
        assert!(check_op(&d, "att/A1/32", Some(Scalar::Str("work||"))).is_err());
        assert!(check_op(&d, "nested", Some(Scalar::Str("x"))).is_err());
        assert!(check_op(&DocId::Registry, "inmate/A1", Some(Scalar::Str("{}"))).is_err());
        assert!(check_op(&DocId::Registry, "inmate/A1", None).is_err());
        assert_eq!(
            check_op(&DocId::Registry, "meta/prison", Some(Scalar::Str("某监狱"))),
            Ok(RecordClass::Prison)
        );
    }

    #[test]
    fn a_review_short_of_two_thirds_is_refused_by_every_validator() {
        let d = month_doc();
        let review = |in_favour: u32| Review {
            week: "2026-W10".parse().unwrap(),
            held: "2026-03-06".parse().unwrap(),
            members: 7,
            present: 7,
            in_favour,
            decisions: vec![Decision {
                inmate: InmateNo::new("A1").unwrap(),
                entry: ContentId::parse("0123456789abcdef").unwrap(),
                outcome: Outcome::Pass,
            }],
            dissent: String::new(),
        };
        let op = |r: &Review| {
            let json = serde_json::to_string(r).unwrap();
            check_op(
                &d,
                &format!("rev/{}/{}", r.week, r.id()),
                Some(Scalar::Str(&json)),
            )
        };
        assert_eq!(op(&review(5)), Ok(RecordClass::Review));
        let e = op(&review(4)).unwrap_err();
        assert!(
            e.contains("4 of 7 members in favour is less than two thirds"),
            "{e}"
        );
        // An id that is not the content's, and a week that is not the key's.
        let r = review(5);
        let json = serde_json::to_string(&r).unwrap();
        assert!(
            check_op(
                &d,
                "rev/2026-W10/0123456789abcdef",
                Some(Scalar::Str(&json))
            )
            .is_err()
        );
        assert!(
            check_op(
                &d,
                &format!("rev/2026-W11/{}", r.id()),
                Some(Scalar::Str(&json))
            )
            .is_err()
        );
        // Reviews are never deleted.
        assert!(check_op(&d, &format!("rev/2026-W10/{}", r.id()), None).is_err());
    }
}
