//! Daily rates over a month, for the charts (日效率曲线): each inmate's daily
//! rate `r` on the days they worked, and the district's rate per day.
//!
//! The district's rate of a day is `Σ EARNED_ms × 10000 / Σ REQ_ms` over the
//! inmates on `work` that day — one division, so a day of many small quotas
//! weighs what it required, not one vote per inmate. Like scoring, this is a
//! pure integer function of the month's facts.

use serde::Serialize;

use crate::calendar::Month;
use crate::ids::{DistrictId, InmateNo};
use crate::month::MonthFacts;
use crate::records::DayType;
use crate::registry::RegistryFacts;
use crate::scoring::{ScoreError, Scorer};
use crate::units::Bp;

/// One inmate's daily rates; index 0 is day 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InmateRates {
    pub inmate_no: InmateNo,
    pub name: String,
    /// `r` on `work` days with a requirement; `None` on every other day.
    pub daily: Vec<Option<Bp>>,
}

/// The district's rate of one day with its numerator and denominator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DistrictDay {
    /// `Σ EARNED_ms` over the inmates on `work`.
    pub earned_ms: i64,
    /// `Σ REQ_ms` over the same inmates.
    pub req_ms: i64,
    /// `earned_ms × 10000 / req_ms`; `None` when nobody worked.
    pub rate: Option<Bp>,
}

/// A district-month's daily rates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthRates {
    pub district: DistrictId,
    pub month: Month,
    /// Sorted by inmate number.
    pub inmates: Vec<InmateRates>,
    /// Index 0 is day 1.
    pub district_daily: Vec<DistrictDay>,
}

/// The daily rates of the month in `facts` (inmates as the report lists them).
pub fn month_rates(registry: &RegistryFacts, facts: &MonthFacts) -> Result<MonthRates, ScoreError> {
    let scorer = Scorer::single(registry, facts)?;
    let days = facts.month.days();
    let mut problems = Vec::new();
    let mut sums = vec![(0i64, 0i64); usize::from(days)];
    let mut inmates = Vec::new();
    for no in scorer.held() {
        let Some(entry) = registry.inmates.get(no) else {
            continue;
        };
        let custody = registry.custody(no, facts.month);
        let mut daily = Vec::with_capacity(usize::from(days));
        for (day, sum) in (1..=days).zip(sums.iter_mut()) {
            // A day the inmate was held elsewhere is that district's.
            if custody.holder(day) != Some(&facts.district) {
                daily.push(None);
                continue;
            }
            let d = scorer.day_figures(
                no,
                &entry.value,
                &facts.district,
                day,
                &mut problems,
                &mut Vec::new(),
            );
            if d.day_type == Some(DayType::Work) && d.req_ms > 0 {
                sum.0 += d.earned_ms;
                sum.1 += d.req_ms;
            }
            daily.push(d.rate_bp);
        }
        inmates.push(InmateRates {
            inmate_no: no.clone(),
            name: entry.value.name.clone(),
            daily,
        });
    }
    let district_daily = sums
        .into_iter()
        .map(|(earned_ms, req_ms)| DistrictDay {
            earned_ms,
            req_ms,
            rate: (req_ms > 0)
                .then(|| Bp((i128::from(earned_ms) * 10_000 / i128::from(req_ms)) as i64)),
        })
        .collect();
    Ok(MonthRates {
        district: facts.district.clone(),
        month: facts.month,
        inmates,
        district_daily,
    })
}
