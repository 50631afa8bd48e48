//! A demo year: `tally demo --months FIRST..LAST`.
//!
//! The prison of the one-month demo, lived month after month as a prison
//! would: each month a few percent of the inmates are released, as many are
//! admitted, and about one in a hundred is moved to another district; the
//! labor section revises standard times every fourth month; every day each
//! district's officer saves the records a few rows at a time (a save of 8–40
//! rows) and now and then corrects a count typed wrong; each month ends with
//! the district groups' reviews, the prison group's approvals, the postings
//! and the seals.
//!
//! Month `m` is a pure function of the options and of the months before it
//! ([`Year`] is an iterator that carries the roster forward), so a longer
//! range generates the same earlier months, and running the demo again with
//! a later last month writes only the months not yet there: earlier months'
//! facts, and so their report digests and seals, do not change.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use crdt_schema::{Date, DistrictId, DocId, Inmate, InmateNo, Month};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use super::{
    Catalogue, DayPlan, DemoError, DemoInmate, PROCS, Profile, Staff, adjustments,
    apply_by_district, at, day_records, district_product_is_shirt, districts, enrol, id, month_end,
    person_name, work,
};
use crate::ops::{self, MonthOp, Plan, RegistryOp};
use crate::session::{Committed, Identity, WriteSession};
use crate::store::Store;
use keys::SecretKey;

/// The most months one demo builds (three years).
pub const MAX_MONTHS: usize = 36;

/// Months from `first` to `last`, both included: `2026-01..2026-12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthRange {
    pub first: Month,
    pub last: Month,
}

impl MonthRange {
    pub fn months(self) -> impl Iterator<Item = Month> {
        std::iter::successors(Some(self.first), move |m| {
            m.next().filter(|n| *n <= self.last)
        })
    }

    pub fn len(self) -> usize {
        self.months().count()
    }

    pub fn is_empty(self) -> bool {
        false
    }
}

impl fmt::Display for MonthRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.first, self.last)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MonthRangeError {
    #[error("`{0}` is not a month range: write FIRST..LAST, e.g. 2026-01..2026-12")]
    Syntax(String),
    #[error("`{text}`: {month} is not a month (YYYY-MM)")]
    Month { text: String, month: String },
    #[error("`{0}`: the last month is before the first")]
    Backwards(String),
    #[error("`{0}`: at most {MAX_MONTHS} months at once")]
    TooLong(String),
    #[error("`{0}`: a demo year is between 1920 and 2900")]
    Years(String),
}

impl FromStr for MonthRange {
    type Err = MonthRangeError;

    fn from_str(s: &str) -> Result<MonthRange, MonthRangeError> {
        let (a, b) = s
            .split_once("..")
            .ok_or_else(|| MonthRangeError::Syntax(s.to_string()))?;
        let month = |m: &str| {
            m.trim()
                .parse::<Month>()
                .map_err(|_| MonthRangeError::Month {
                    text: s.to_string(),
                    month: m.to_string(),
                })
        };
        let range = MonthRange {
            first: month(a)?,
            last: month(b)?,
        };
        if range.last < range.first {
            return Err(MonthRangeError::Backwards(s.to_string()));
        }
        if range.len() > MAX_MONTHS {
            return Err(MonthRangeError::TooLong(s.to_string()));
        }
        // Inmates admitted up to eleven years before the first month,
        // certificates valid four years after it: well inside the calendar.
        if range.first.year() < 1920 || range.last.year() > 2900 {
            return Err(MonthRangeError::Years(s.to_string()));
        }
        Ok(range)
    }
}

/// Options of `tally demo --months`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YearOptions {
    pub months: MonthRange,
    pub inmates: u32,
    pub seed: u64,
}

/// One day of a demo month: the records office's roster changes of the day
/// (admissions, releases, transfers), then the officers' saves, each of one
/// district, in the order they are made (corrections last).
#[derive(Debug, Clone, PartialEq)]
pub struct YearDay {
    pub date: Date,
    pub roster: Vec<RegistryOp>,
    pub saves: Vec<Plan>,
}

/// One month of the demo year.
#[derive(Debug, Clone, PartialEq)]
pub struct YearMonth {
    pub month: Month,
    /// The labor section's revisions of standard times in force from the
    /// month's first day (written the day before).
    pub catalogue: Vec<RegistryOp>,
    pub days: Vec<YearDay>,
    pub adjustments: Plan,
}

/// The demo year, month by month: an iterator of [`YearMonth`] that carries
/// the roster, the catalogue and sick spells forward.
pub struct Year {
    opts: YearOptions,
    pub districts: Vec<DistrictId>,
    /// The labor section's catalogue and rule sets before the first month.
    pub catalogue: Plan,
    /// The records office's districts and roster before the first month.
    pub roster: Plan,
    standard_times: Catalogue,
    inmates: Vec<DemoInmate>,
    sick_left: BTreeMap<usize, u32>,
    next: Option<Month>,
    index: usize,
}

impl Year {
    pub fn new(opts: YearOptions) -> Year {
        let first = opts.months.first;
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        let mut catalogue = Plan::default();
        let standard_times = super::catalogue(first, &mut catalogue.registry);
        let mut roster = Plan::default();
        let districts = districts(opts.inmates, &mut roster.registry);
        let inmates = super::roster(
            &mut rng,
            first,
            opts.inmates,
            &districts,
            &mut roster.registry,
        );
        Year {
            opts,
            districts,
            catalogue,
            roster,
            standard_times,
            inmates,
            sick_left: BTreeMap::new(),
            next: Some(first),
            index: 0,
        }
    }

    /// The roster changes of `month`: releases of about 2% of those held
    /// since before it, as many admissions, and transfers of about 1% of
    /// those held all month to a district making the same product. None
    /// in the first month, whose roster already has its comings and goings.
    fn roster_changes(
        &mut self,
        rng: &mut ChaCha8Rng,
        month: Month,
    ) -> BTreeMap<Date, Vec<RegistryOp>> {
        let mut changes: BTreeMap<Date, Vec<RegistryOp>> = BTreeMap::new();
        if self.index == 0 {
            return changes;
        }
        let days = month.days();
        let day = |rng: &mut ChaCha8Rng, from: u8| {
            month
                .day(rng.random_range(from..=days))
                .expect("a day of the month")
        };
        let mut released = 0usize;
        for di in &mut self.inmates {
            if di.inmate.admitted >= month.first()
                || di.inmate.released.is_some()
                || rng.random_range(0..1000) >= 20
            {
                continue;
            }
            let date = day(rng, 1);
            di.inmate.released = Some(date);
            changes
                .entry(date)
                .or_default()
                .push(RegistryOp::Inmate(di.no.clone(), di.inmate.clone()));
            released += 1;
        }
        for _ in 0..released {
            let district = self.districts[rng.random_range(0..self.districts.len())].clone();
            let name = person_name(rng);
            let admitted = day(rng, 1);
            let (profile, procedure) = work(rng, &district);
            let no: InmateNo = id(&format!("52{:08}", self.inmates.len() + 1));
            let inmate = Inmate {
                name,
                district,
                admitted,
                released: None,
            };
            changes
                .entry(admitted)
                .or_default()
                .push(RegistryOp::Inmate(no.clone(), inmate.clone()));
            self.inmates.push(DemoInmate {
                no,
                inmate,
                profile,
                procedure,
                moves: Vec::new(),
            });
        }
        for di in &mut self.inmates {
            let held_all_month = di.inmate.admitted < month.first()
                && di.inmate.released.is_none_or(|r| r > month.last());
            if !held_all_month || rng.random_range(0..1000) >= 10 {
                continue;
            }
            let date = day(rng, 2);
            let from = di.district_on(month.first()).clone();
            let shirts = district_product_is_shirt(&from);
            let to: Vec<&DistrictId> = self
                .districts
                .iter()
                .filter(|d| **d != from && district_product_is_shirt(d) == shirts)
                .collect();
            if to.is_empty() {
                continue;
            }
            let to = to[rng.random_range(0..to.len())].clone();
            di.moves.push((date, to.clone()));
            changes
                .entry(date)
                .or_default()
                .push(RegistryOp::Transfer(di.no.clone(), date, to));
        }
        changes
    }
}

/// A month's own random stream: month `m` does not depend on how many
/// random numbers the months before it drew beyond what they carried.
fn month_rng(seed: u64, month: Month) -> ChaCha8Rng {
    let tag = u64::from(month.year()) * 100 + u64::from(month.month());
    ChaCha8Rng::seed_from_u64(seed ^ tag.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// Splits a district's records of a day into saves of 8–40 rows, as an
/// officer enters them, and types about one count in 200 wrong first, then
/// corrects it in a save of its own after the others.
fn saves(rng: &mut ChaCha8Rng, district: &DistrictId, month: Month, ops: &[MonthOp]) -> Vec<Plan> {
    let one = |ops: Vec<MonthOp>| Plan {
        rows: ops.len(),
        registry: Vec::new(),
        months: BTreeMap::from([((district.clone(), month), ops)]),
    };
    let mut out = Vec::new();
    let mut corrections = Vec::new();
    let mut rest = ops;
    while !rest.is_empty() {
        let n = rng.random_range(8..=40usize).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        let chunk = chunk
            .iter()
            .map(|op| match op {
                MonthOp::Count(no, date, p, q) if rng.random_range(0..200) == 0 => {
                    corrections.push(op.clone());
                    let typo = if *q >= 10 { q / 10 } else { q + 10 };
                    MonthOp::Count(no.clone(), *date, p.clone(), typo)
                }
                _ => op.clone(),
            })
            .collect();
        out.push(one(chunk));
    }
    if !corrections.is_empty() {
        out.push(one(corrections));
    }
    out
}

impl Iterator for Year {
    type Item = YearMonth;

    fn next(&mut self) -> Option<YearMonth> {
        let month = self.next?;
        self.next = month.next().filter(|m| *m <= self.opts.months.last);
        let mut rng = month_rng(self.opts.seed, month);
        let k = self.index;

        // Every fourth month the labor section re-times the third procedure
        // of each product, a little slower each time.
        let mut catalogue_ops = Vec::new();
        if k > 0 && k.is_multiple_of(4) {
            for p in [2, 7] {
                let ms = PROCS[p].std_ms * (1000 + 15 * k as u64 / 4) / 1000;
                self.standard_times
                    .revise(&mut catalogue_ops, p, month.first(), ms);
            }
        }
        let mut roster = self.roster_changes(&mut rng, month);

        // As in the one-month demo: a stoppage in one district, a count
        // typed for a Sunday in the first, the planted double counts.
        let n = self.districts.len();
        let slip = self.inmates.iter().position(|di| {
            di.district_on(month.first()) == &self.districts[0]
                && di.moves.iter().all(|(d, _)| !month.contains(*d))
                && di.inmate.admitted < month.first()
                && di.inmate.released.is_none_or(|r| r > month.last())
                && matches!(di.profile, Profile::Worker { .. })
                && !PROCS[di.procedure].team
        });
        let plan = DayPlan::new(
            month,
            &self.standard_times,
            &self.districts[(k + 2) % n],
            slip,
            k,
        );
        let mut days = Vec::new();
        for date in month.dates() {
            let records = day_records(&mut rng, date, &self.inmates, &plan, &mut self.sick_left);
            let saves = records
                .months
                .iter()
                .flat_map(|((district, _), ops)| saves(&mut rng, district, month, ops))
                .collect();
            days.push(YearDay {
                date,
                roster: roster.remove(&date).unwrap_or_default(),
                saves,
            });
        }
        let adjustments = adjustments(&mut rng, month, &self.inmates);
        self.index += 1;
        Some(YearMonth {
            month,
            catalogue: catalogue_ops,
            days,
            adjustments,
        })
    }
}

/// What one month of [`generate_year`] did.
#[derive(Debug, Clone)]
pub struct MonthWritten {
    pub month: Month,
    /// Already in the data directory: not written again (but for the seals
    /// an earlier run's last month left open: `changes`).
    pub skipped: bool,
    pub changes: usize,
    pub documents: usize,
    pub elapsed: std::time::Duration,
}

/// What [`generate_year`] wrote.
pub struct GeneratedYear {
    pub districts: Vec<DistrictId>,
    pub staff: Staff,
    pub changes: usize,
    pub documents: BTreeSet<DocId>,
}

/// Builds the demo year and writes the months `store` does not yet hold,
/// one write (all or nothing) per month, saying each month to `progress`.
///
/// A data directory holding months before the first, or a roster but not
/// the first month, is refused: the year would not continue what is there.
pub fn generate_year(
    store: &Store,
    admin: &Identity,
    authority: &SecretKey,
    now: i64,
    opts: YearOptions,
    mut progress: impl FnMut(&MonthWritten),
) -> Result<GeneratedYear, DemoError> {
    let first = opts.months.first;
    let present: BTreeSet<Month> = store
        .month_ids()
        .map_err(|e| DemoError::Write(e.into()))?
        .into_iter()
        .filter_map(|id| match id {
            DocId::Month { month, .. } => Some(month),
            DocId::Registry | DocId::Roster { .. } => None,
        })
        .collect();
    if let Some(earliest) = present.first()
        && *earliest < first
    {
        return Err(DemoError::NotAContinuation(format!(
            "this data directory holds records from {earliest}: a demo year is continued from its first month (--months {earliest}..{})",
            opts.months.last
        )));
    }
    // What this data directory's demo year was built from: a later run
    // continues only the same year.
    let marker = store.root().join("demo-year");
    let made_by = format!(
        "first={} inmates={} seed={}\n",
        first, opts.inmates, opts.seed
    );
    if !present.is_empty() {
        let found = std::fs::read_to_string(&marker).unwrap_or_default();
        if found != made_by {
            return Err(DemoError::NotAContinuation(format!(
                "this data directory was not built by `tally demo --months {first}..` with --inmates {} --seed {}: a demo year continues only itself",
                opts.inmates, opts.seed
            )));
        }
    }
    let mut year = Year::new(opts);
    // Valid a year before the first month and a year past the longest run
    // (the same certificates whatever LAST, so a later run re-enrols none).
    let days = |n: i64| {
        Date::from_ordinal(first.first().ordinal() + n).ok_or_else(|| {
            DemoError::NotAContinuation(format!("{first}: too near the calendar's ends for a demo"))
        })
    };
    let from = days(-365)?;
    let to = days(31 * MAX_MONTHS as i64 + 365)?;
    let staff = Staff::issue_for(authority, &year.districts, opts.seed, from, to)?;
    let mut changes = 0;
    let mut documents = BTreeSet::new();
    let mut add = |c: Committed| {
        changes += c.changes;
        documents.extend(c.documents);
    };

    // The prison before its first month: staff, roster, catalogue.
    let mut s = WriteSession::begin(store, admin, now, "demo: enrol staff")?;
    enrol(&mut s, &staff)?;
    let ours = std::fs::read_to_string(&marker).is_ok_and(|found| found == made_by);
    if !present.contains(&first) {
        if !ours && !s.registry_facts()?.inmates.is_empty() {
            return Err(DemoError::NotAContinuation(format!(
                "this data directory already has a roster but no records of {first}: a demo year starts a prison of its own (use a new data directory)"
            )));
        }
        s.set_time(at(first.first(), 8) - 86_400);
        s.set_identity(&staff.records);
        s.set_message("demo: roster");
        ops::apply(&mut s, &year.roster)?;
        s.set_identity(&staff.labor);
        s.set_message("demo: catalogue and rule set");
        ops::apply(&mut s, &year.catalogue)?;
    }
    add(s.commit_compacted()?);
    crate::store::write_atomic(&marker, made_by.as_bytes())
        .map_err(|e| DemoError::Write(e.into()))?;

    let last = opts.months.last;
    let all = year.districts.clone();
    for ym in year.by_ref() {
        let started = std::time::Instant::now();
        let month = ym.month;
        if present.contains(&month) {
            let mut sealed_now = 0;
            // The last month of an earlier run left its last district open:
            // sealed now, as a run to this LAST would have.
            if month != last {
                let mut s = WriteSession::begin(store, admin, now, "demo: seals")?;
                s.set_time(at(month.last(), 10) + 9 * 86_400);
                for district in &all {
                    if s.month(district, month)?.facts().seal.is_none() {
                        s.set_identity(&staff.chiefs[district]);
                        crate::close::seal_month(&mut s, district, month)?;
                    }
                }
                let c = s.commit()?;
                sealed_now = c.changes;
                add(c);
            }
            progress(&MonthWritten {
                month,
                skipped: true,
                changes: sealed_now,
                documents: 0,
                elapsed: started.elapsed(),
            });
            continue;
        }
        let mut s = WriteSession::begin(store, admin, now, "demo")?;
        if !ym.catalogue.is_empty() {
            s.set_identity(&staff.labor);
            s.set_time(at(month.first(), 16) - 86_400);
            s.set_message("demo: standard times revised");
            ops::apply(
                &mut s,
                &Plan {
                    rows: ym.catalogue.len(),
                    registry: ym.catalogue.clone(),
                    months: BTreeMap::new(),
                },
            )?;
        }
        for day in &ym.days {
            if !day.roster.is_empty() {
                s.set_identity(&staff.records);
                s.set_time(at(day.date, 8));
                s.set_message(format!("demo: roster changes {}", day.date));
                ops::apply(
                    &mut s,
                    &Plan {
                        rows: day.roster.len(),
                        registry: day.roster.clone(),
                        months: BTreeMap::new(),
                    },
                )?;
            }
            s.set_message(format!("demo: daily records {}", day.date));
            for (i, save) in day.saves.iter().enumerate() {
                // Saves through the afternoon, a minute or so apart.
                s.set_time(at(day.date, 16) + 60 * i as i64);
                apply_by_district(&mut s, save, &staff.officers)?;
            }
        }
        // Every district is sealed but, in the last month, the last one
        // (to show a month still open).
        let seal = if month == last {
            &all[..all.len() - 1]
        } else {
            &all[..]
        };
        month_end(
            &mut s,
            &staff,
            &all,
            &ym.adjustments,
            month,
            month_rng(opts.seed, month).random(),
            seal,
        )?;
        let c = s.commit_compacted()?;
        progress(&MonthWritten {
            month,
            skipped: false,
            changes: c.changes,
            documents: c.documents.len(),
            elapsed: started.elapsed(),
        });
        add(c);
    }
    Ok(GeneratedYear {
        districts: all,
        staff,
        changes,
        documents,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(first: &str, last: &str, inmates: u32) -> YearOptions {
        YearOptions {
            months: MonthRange {
                first: first.parse().expect("month"),
                last: last.parse().expect("month"),
            },
            inmates,
            seed: 3,
        }
    }

    #[test]
    fn month_ranges_parse_and_refuse_clearly() {
        let r: MonthRange = "2026-01..2026-12".parse().expect("a range");
        assert_eq!(r.len(), 12);
        assert_eq!(r.to_string(), "2026-01..2026-12");
        assert_eq!(
            "2026-11..2027-02"
                .parse::<MonthRange>()
                .map(MonthRange::len),
            Ok(4)
        );
        assert!(matches!(
            "2026-01".parse::<MonthRange>(),
            Err(MonthRangeError::Syntax(_))
        ));
        assert!(matches!(
            "2026-13..2027-01".parse::<MonthRange>(),
            Err(MonthRangeError::Month { .. })
        ));
        assert!(matches!(
            "2026-05..2026-04".parse::<MonthRange>(),
            Err(MonthRangeError::Backwards(_))
        ));
        assert!(matches!(
            "2026-01..2029-01".parse::<MonthRange>(),
            Err(MonthRangeError::TooLong(_))
        ));
        assert_eq!(
            "2026-01..2028-12"
                .parse::<MonthRange>()
                .map(MonthRange::len),
            Ok(36)
        );
        assert!(matches!(
            "1901-01..1901-02".parse::<MonthRange>(),
            Err(MonthRangeError::Years(_))
        ));
    }

    /// A longer range builds the same earlier months: month m depends only
    /// on the months before it.
    #[test]
    fn a_longer_year_begins_with_the_same_months() {
        let short: Vec<YearMonth> = Year::new(opts("2026-01", "2026-03", 90)).collect();
        let long: Vec<YearMonth> = Year::new(opts("2026-01", "2026-06", 90)).collect();
        assert_eq!(short.len(), 3);
        assert_eq!(long.len(), 6);
        assert_eq!(short[..], long[..3]);
    }

    /// The roster lives: releases, as many admissions, transfers to a
    /// district of the same product, and saves of 8–40 rows with a few
    /// corrections.
    #[test]
    fn the_year_has_comings_goings_moves_small_saves_and_corrections() {
        let year = Year::new(opts("2026-01", "2026-12", 1200));
        let months: Vec<YearMonth> = year.collect();
        let roster: Vec<&RegistryOp> = months
            .iter()
            .flat_map(|m| m.days.iter().flat_map(|d| &d.roster))
            .collect();
        let released = roster
            .iter()
            .filter(|op| matches!(op, RegistryOp::Inmate(_, i) if i.released.is_some()))
            .count();
        let admitted = roster
            .iter()
            .filter(|op| matches!(op, RegistryOp::Inmate(_, i) if i.released.is_none()))
            .count();
        let moved = roster
            .iter()
            .filter(|op| matches!(op, RegistryOp::Transfer(..)))
            .count();
        // About 2% of ~1,150 held from before, eleven times: ~250; 1% moved
        // each month of twelve... eleven (none in the first): ~130.
        assert!((150..=350).contains(&released), "{released} released");
        assert_eq!(admitted, released);
        assert!((60..=200).contains(&moved), "{moved} moved");
        for op in &roster {
            if let RegistryOp::Transfer(_, _, to) = op {
                assert!(to.as_str().starts_with('D'));
            }
        }
        let saves: Vec<&Plan> = months
            .iter()
            .flat_map(|m| m.days.iter().flat_map(|d| &d.saves))
            .collect();
        assert!(
            saves
                .iter()
                .all(|p| p.months.len() == 1 && p.registry.is_empty())
        );
        let full = saves.iter().filter(|p| p.rows >= 8).count();
        assert!(saves.iter().all(|p| p.rows <= 40));
        assert!(full * 10 >= saves.len() * 8, "most saves have 8-40 rows");
        // A correction rewrites a count an earlier save of the day typed.
        let mut corrected = 0;
        for m in &months {
            for d in &m.days {
                let mut typed: BTreeMap<(InmateNo, Date), u64> = BTreeMap::new();
                for p in &d.saves {
                    for op in p.months.values().flatten() {
                        if let MonthOp::Count(no, date, _, q) = op
                            && let Some(before) = typed.insert((no.clone(), *date), *q)
                            && before != *q
                        {
                            corrected += 1;
                        }
                    }
                }
            }
        }
        assert!(corrected > 100, "{corrected} counts corrected");
        // The labor section re-timed standard times in May and September.
        let revised: Vec<Month> = months
            .iter()
            .filter(|m| !m.catalogue.is_empty())
            .map(|m| m.month)
            .collect();
        assert_eq!(
            revised,
            [
                "2026-05".parse().expect("month"),
                "2026-09".parse().expect("month")
            ]
        );
    }
}
