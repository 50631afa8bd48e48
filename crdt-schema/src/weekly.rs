//! The weekly sheet (周评议表, RULES.md "Weekly review"): per inmate the
//! week's labor days and rate `ΣEARNED × 10000 / ΣREQ`, and each entry of
//! the week with its state — what the district group has in front of it at
//! the weekly review.
//!
//! A pure function of the month explanations scoring already makes: a week
//! across two months is given both months' explanations and each day is
//! taken from the month it belongs to, so the sheet's figures are the
//! report's figures, never a second computation of them.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::calendar::{Date, Week};
use crate::ids::{DistrictId, InmateNo};
use crate::records::DayType;
use crate::scoring::{AdjustmentLine, EntryStatus, InmateExplanation};
use crate::units::Bp;

/// One inmate's line of the weekly sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WeekRow {
    pub inmate_no: InmateNo,
    /// Days of the week that are labor days (RULES.md: the days that count
    /// towards the base), as the report counts them.
    pub labor_days: u32,
    /// `Σ EARNED_ms` over the week's work days with a requirement.
    pub earned_ms: i64,
    /// `Σ REQ_ms` over the same days.
    pub req_ms: i64,
    /// `earned_ms × 10000 / req_ms`, truncated as every rate is; `None`
    /// when nothing was required of the inmate that week.
    pub rate: Option<Bp>,
    /// The entries dated in the week, and those of earlier weeks of the
    /// month still awaiting review or decided at this week's review, in
    /// date then id order. Their states are as they stand now: a sheet
    /// printed later shows later decisions.
    pub entries: Vec<AdjustmentLine>,
}

/// The weekly sheet of `district`'s group for `week`, from the
/// explanations of every report that reads the district's documents of the
/// months the week touches (an inmate transferred out mid-month is reported
/// by the district that received them, whose explanation holds this
/// district's days). Each day and entry is taken only where it belongs: the
/// days `district` held the inmate, the entries written in its documents —
/// those dated in the week, and those of earlier weeks the group still has
/// before it (awaiting review) or decided at this week's review. Inmates
/// with nothing that week (no labor day, nothing required, no entry) are
/// left out; rows are in inmate order.
pub fn week_sheet<'a>(
    explained: impl IntoIterator<Item = &'a InmateExplanation>,
    week: Week,
    district: &DistrictId,
) -> Vec<WeekRow> {
    let mut rows: BTreeMap<InmateNo, WeekRow> = BTreeMap::new();
    // An inmate explained by two reports (a record written where it does
    // not count) has each day and entry once.
    let mut days_seen: BTreeSet<(InmateNo, Date)> = BTreeSet::new();
    for e in explained {
        let no = &e.result.inmate_no;
        let row = rows.entry(no.clone()).or_insert_with(|| WeekRow {
            inmate_no: no.clone(),
            labor_days: 0,
            earned_ms: 0,
            req_ms: 0,
            rate: None,
            entries: Vec::new(),
        });
        for d in e
            .days
            .iter()
            .filter(|d| week.contains(d.date) && d.district.as_ref() == Some(district))
        {
            if !days_seen.insert((no.clone(), d.date)) {
                continue;
            }
            // As the report counts labor days: a labor day with its factor.
            if d.factor_bp.is_some() && d.day_type.is_some_and(DayType::is_labor_day) {
                row.labor_days += 1;
            }
            if d.day_type == Some(DayType::Work) && d.req_ms > 0 {
                row.earned_ms += d.earned_ms;
                row.req_ms += d.req_ms;
            }
        }
        row.entries.extend(
            e.adjustments
                .iter()
                .filter(|a| a.district == *district)
                .filter(|a| {
                    week.contains(a.date)
                        || (a.date < week.monday()
                            && (a.status == EntryStatus::AwaitingReview
                                || a.decision.as_ref().is_some_and(|d| d.week == week)))
                })
                .cloned(),
        );
    }
    rows.into_values()
        .filter(|r| r.labor_days > 0 || r.req_ms > 0 || !r.entries.is_empty())
        .map(|mut r| {
            r.rate = (r.req_ms > 0).then(|| {
                let q = i128::from(r.earned_ms) * 10_000 / i128::from(r.req_ms);
                Bp(i64::try_from(q).unwrap_or(i64::MAX))
            });
            // One entry once: where it counts rather than where it does not.
            r.entries
                .sort_by_key(|a| a.status == EntryStatus::NotCounted);
            let mut seen = BTreeSet::new();
            r.entries.retain(|a| seen.insert(a.id.clone()));
            r.entries
                .sort_by(|a, b| (a.date, &a.id).cmp(&(b.date, &b.id)));
            r
        })
        .collect()
}
