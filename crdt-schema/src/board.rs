//! The daily board (劳动日记载大屏): each inmate's day — done, quota, over, short, rate.

use serde::Serialize;

use crate::calendar::Date;
use crate::ids::{DistrictId, InmateNo, ProcedureId};
use crate::month::{InmateMonth, MonthFacts};
use crate::records::DayType;
use crate::registry::RegistryFacts;
use crate::scoring::{DayFigures, ScoreError, Scorer};
use crate::units::Bp;

/// What a board row's quota and done are counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BoardUnit {
    /// Pieces of the single procedure worked that day: quota = `REQ_ms / t_p`.
    Units,
    /// Standard minutes, for days on several procedures (or none):
    /// quota = `REQ_ms / 60000`, done = `EARNED_ms / 60000`.
    StdMinutes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoardRow {
    pub inmate_no: InmateNo,
    pub name: String,
    /// `None`: nothing recorded for the day yet.
    pub day_type: Option<DayType>,
    pub procedure: Option<ProcedureId>,
    pub unit: BoardUnit,
    pub quota: i64,
    pub done: i64,
    /// `done − quota` when positive.
    pub over: i64,
    /// `quota − done` when positive.
    pub short: i64,
    pub rate_bp: Option<Bp>,
    pub req_ms: i64,
    pub earned_ms: i64,
    pub conflict: bool,
    /// Records of the day that the score does not count, each as
    /// `key: reason` (RULES.md, "Records that do not count"): the figures
    /// above leave them out, as the score does.
    pub not_counted: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Board {
    pub district: DistrictId,
    pub date: Date,
    pub rule_set: String,
    pub rows: Vec<BoardRow>,
}

/// The board of one district for one day of the month in `facts`.
pub fn board(
    registry: &RegistryFacts,
    facts: &MonthFacts,
    date: Date,
) -> Result<Board, ScoreError> {
    if !facts.month.contains(date) {
        return Err(ScoreError::DateOutsideMonth {
            date,
            month: facts.month,
        });
    }
    let scorer = Scorer::single(registry, facts)?;
    let day = date.day();
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    let mut shown: Vec<&InmateNo> = scorer
        .held()
        .into_iter()
        .filter(|no| registry.district_on(no, date) == Some(&facts.district))
        .collect();
    // Records written here for a day the inmate was elsewhere are shown too,
    // marked, so an officer sees that they do not count.
    for (no, rec) in &facts.inmates {
        let has_records = rec.attendance.contains_key(&day)
            || rec.counts.contains_key(&day)
            || rec.assignments.iter().any(|(d, _)| *d == day);
        if has_records && registry.inmates.contains_key(no) && !shown.contains(&no) {
            shown.push(no);
        }
    }
    shown.sort();
    for no in shown {
        let Some(entry) = registry.inmates.get(no) else {
            continue;
        };
        let inmate = &entry.value;
        let mut uncounted = Vec::new();
        let held_here = registry.district_on(no, date) == Some(&facts.district);
        let d = if held_here {
            scorer.day_figures(
                no,
                inmate,
                &facts.district,
                day,
                &mut problems,
                &mut uncounted,
            )
        } else {
            if let Some(rec) = facts.inmates.get(no) {
                let mut one_day = InmateMonth::default();
                if let Some(a) = rec.attendance.get(&day) {
                    one_day.attendance.insert(day, a.clone());
                }
                if let Some(c) = rec.counts.get(&day) {
                    one_day.counts.insert(day, c.clone());
                }
                one_day.assignments = rec
                    .assignments
                    .iter()
                    .filter(|(d, _)| *d == day)
                    .cloned()
                    .collect();
                let custody = registry.custody(no, facts.month);
                scorer.stray_records(no, &facts.district, &one_day, &custody, &mut uncounted);
            }
            DayFigures::nothing(date)
        };
        let single = match d.lines.as_slice() {
            [l] if d.day_type == Some(DayType::Work) => l.std_ms.map(|t| (l, t)),
            _ => None,
        };
        let (unit, procedure, quota, done) = match single {
            Some((l, t)) => (
                BoardUnit::Units,
                Some(l.procedure.clone()),
                d.req_ms / t as i64,
                l.quantity() as i64,
            ),
            None => (
                BoardUnit::StdMinutes,
                None,
                d.req_ms / 60_000,
                d.earned_ms / 60_000,
            ),
        };
        rows.push(BoardRow {
            inmate_no: no.clone(),
            name: inmate.name.clone(),
            day_type: d.day_type,
            procedure,
            unit,
            quota,
            done,
            over: (done - quota).max(0),
            short: (quota - done).max(0),
            rate_bp: d.rate_bp,
            req_ms: d.req_ms,
            earned_ms: d.earned_ms,
            conflict: d.conflict,
            not_counted: uncounted
                .into_iter()
                .map(|p| format!("{}: {}", p.key, p.reason))
                .collect(),
        });
    }
    Ok(Board {
        district: facts.district.clone(),
        date,
        rule_set: scorer.rules.version(),
        rows,
    })
}
