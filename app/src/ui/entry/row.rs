//! One line of the entry grid as a value: what the store holds, what the
//! officer typed, what saving it would write, and why it cannot be saved.
//! Pure (no egui), so every rule of the grid has a unit test.
//!
//! The rules, each from a way data was lost or wrong:
//! - only changed fields are written, so a save never puts back a value
//!   another officer changed since the row was loaded;
//! - a reload takes the new stored value of every field the officer has not
//!   touched, and flags a row whose touched field changed underneath;
//! - nothing typed is ever turned into a default: a bad cell blocks the save;
//! - a count moved to another procedure or cleared removes the old count
//!   (otherwise the day would count twice, or the old value come back);
//! - a count needs a work day (a count on a day without 出工 scores nothing).

use crdt_schema::records::{MAX_MINUTES, MAX_QUANTITY, parse_int};
use crdt_schema::{Attendance, DayType, Grade, InmateNo, ProcedureId};

use super::super::Lang;
use crate::backend::{Edit, EntryRow};

/// What the store held for the row when it was last loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Stored {
    pub(super) attendance: Option<Attendance>,
    pub(super) counts: Vec<(ProcedureId, u64)>,
    /// The procedure to offer when the day has no count (in force today).
    pub(super) usual: Option<ProcedureId>,
}

/// One line as typed, with the stored values it started from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct GridRow {
    pub(super) no: InmateNo,
    pub(super) stored: Stored,
    pub(super) day_type: Option<DayType>,
    pub(super) minutes: String,
    /// The procedure as typed: a code, or a prefix of a code or a name.
    pub(super) procedure: String,
    pub(super) count: String,
    /// A reload brought another value for a field the officer has changed:
    /// saving would overwrite it.
    pub(super) changed_elsewhere: bool,
}

/// Why a row cannot be saved as typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Problem {
    Count,
    Minutes,
    MinutesNeedDayType,
    NeedProcedure,
    NoSuchProcedure,
    SeveralProcedures,
    CountNeedsWork,
}

impl Problem {
    pub(super) fn text(self, lang: Lang) -> &'static str {
        match self {
            Problem::Count => lang.t("数量须为非负整数", "count must be a whole number ≥ 0"),
            Problem::Minutes => lang.t("分钟须为 0–1440 的整数", "minutes must be 0–1440"),
            Problem::MinutesNeedDayType => lang.t("填了分钟须选出勤", "minutes need a day type"),
            Problem::NeedProcedure => lang.t("请填写工序", "give a procedure"),
            Problem::NoSuchProcedure => lang.t("无此工序", "no such procedure"),
            Problem::SeveralProcedures => lang.t(
                "工序不唯一，请多输入几个字",
                "several procedures match: type more",
            ),
            Problem::CountNeedsWork => {
                lang.t("有数量时出勤应为出工", "a count needs the day type work")
            }
        }
    }
}

/// What a typed procedure names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Typed<'p> {
    Empty,
    /// Exactly one procedure: its code equals the text, or the text begins
    /// its code, or appears in its name.
    One(&'p ProcedureId, &'p str),
    Several(usize),
    None,
}

/// Type-ahead over the procedures in force: an exact code first (any case),
/// then a unique code prefix, then a unique part of a name.
pub(super) fn resolve<'p>(text: &str, procedures: &'p [(ProcedureId, String)]) -> Typed<'p> {
    let t = text.trim().to_lowercase();
    if t.is_empty() {
        return Typed::Empty;
    }
    if let Some((p, n)) = procedures
        .iter()
        .find(|(p, _)| p.as_str().to_lowercase() == t)
    {
        return Typed::One(p, n);
    }
    let pick = |hits: Vec<&'p (ProcedureId, String)>| match hits.as_slice() {
        [] => Typed::None,
        [(p, n)] => Typed::One(p, n),
        many => Typed::Several(many.len()),
    };
    let by_code: Vec<_> = procedures
        .iter()
        .filter(|(p, _)| p.as_str().to_lowercase().starts_with(&t))
        .collect();
    if !by_code.is_empty() {
        return pick(by_code);
    }
    pick(
        procedures
            .iter()
            .filter(|(_, n)| n.to_lowercase().contains(&t))
            .collect(),
    )
}

/// A count as typed: empty, or a whole number 0..=MAX_QUANTITY, read by
/// the schema's own integer parser (as imports are).
pub(super) fn parse_count(s: &str) -> Result<Option<u64>, Problem> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    parse_int("quantity", s, 0, MAX_QUANTITY as i64)
        .map(|q| Some(q as u64))
        .map_err(|_| Problem::Count)
}

/// Minutes as typed: empty (the rule set's default) or 0..=MAX_MINUTES.
pub(super) fn parse_minutes(s: &str) -> Result<Option<u32>, Problem> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    parse_int("minutes", s, 0, i64::from(MAX_MINUTES))
        .map(|m| Some(m as u32))
        .map_err(|_| Problem::Minutes)
}

fn minutes_text(a: Option<&Attendance>) -> String {
    a.and_then(|a| a.minutes)
        .map(|m| m.to_string())
        .unwrap_or_default()
}

impl GridRow {
    /// The row as stored; `procedures` are those in force on the day.
    pub(super) fn new(r: &EntryRow, procedures: &[(ProcedureId, String)]) -> GridRow {
        let stored = Stored {
            attendance: r.attendance,
            counts: r.counts.clone(),
            usual: r
                .usual
                .clone()
                .filter(|u| procedures.iter().any(|(p, _)| p == u)),
        };
        let mut g = GridRow {
            no: r.inmate_no.clone(),
            stored,
            day_type: None,
            minutes: String::new(),
            procedure: String::new(),
            count: String::new(),
            changed_elsewhere: false,
        };
        g.reset_attendance();
        g.reset_count();
        g
    }

    fn reset_attendance(&mut self) {
        self.day_type = self.stored.attendance.as_ref().map(|a| a.day_type);
        self.minutes = minutes_text(self.stored.attendance.as_ref());
    }

    fn reset_count(&mut self) {
        // The day's count, else the procedure the inmate is usually on:
        // typing the count is then enough.
        let first = self.stored.counts.first();
        self.procedure = first
            .map(|(p, _)| p.to_string())
            .or_else(|| self.stored.usual.as_ref().map(ToString::to_string))
            .unwrap_or_default();
        self.count = first.map(|(_, q)| q.to_string()).unwrap_or_default();
    }

    /// Every typed value back to the stored one.
    pub(super) fn discard(&mut self) {
        self.reset_attendance();
        self.reset_count();
        self.changed_elsewhere = false;
    }

    /// The day has counts on several procedures: the grid shows the first
    /// and does not edit them (an import does), so nothing counts twice.
    pub(super) fn counts_locked(&self) -> bool {
        self.stored.counts.len() > 1
    }

    /// A count stays on a day that is not a work day (the day type was
    /// changed under a stored count, or the count was stored without one):
    /// the score does not count it (RULES.md, "Records that do not count"),
    /// so the grid says so rather than show it as done.
    pub(super) fn count_not_counted(&self) -> bool {
        let has_count = if self.count_touched() {
            !self.count.trim().is_empty()
        } else {
            !self.stored.counts.is_empty()
        };
        has_count && self.day_type != Some(DayType::Work)
    }

    // These run for every row every frame (the count of unsaved rows):
    // values are compared as read, with no text built for the stored ones.
    fn attendance_touched(&self) -> bool {
        let stored = self.stored.attendance.as_ref();
        self.day_type != stored.map(|a| a.day_type)
            || parse_minutes(&self.minutes) != Ok(stored.and_then(|a| a.minutes))
    }

    fn count_touched(&self) -> bool {
        if self.counts_locked() {
            return false;
        }
        match self.stored.counts.first() {
            None => !self.count.trim().is_empty(),
            Some((p, q)) => {
                parse_count(&self.count) != Ok(Some(*q)) || self.procedure.trim() != p.as_str()
            }
        }
    }

    /// Whether the row holds anything not saved.
    pub(super) fn changed(&self) -> bool {
        self.attendance_touched() || self.count_touched()
    }

    /// The row loaded again (same district and day): fields the officer has
    /// not touched take the new stored values; a touched field whose stored
    /// value changed underneath (and differs from what was typed) marks the
    /// row `changed_elsewhere`.
    pub(super) fn rebase(&mut self, fresh: &GridRow) {
        let (att, cnt) = (self.attendance_touched(), self.count_touched());
        let old = std::mem::replace(&mut self.stored, fresh.stored.clone());
        if !att {
            self.reset_attendance();
        } else if old.attendance != self.stored.attendance && self.attendance_touched() {
            self.changed_elsewhere = true;
        }
        if !cnt {
            self.reset_count();
        } else if old.counts != self.stored.counts && self.count_touched() {
            self.changed_elsewhere = true;
        }
        if !self.changed() {
            self.changed_elsewhere = false;
        }
    }

    /// What saving the row writes (`None`: nothing changed), or why it
    /// cannot be saved as typed.
    pub(super) fn edit(
        &self,
        procedures: &[(ProcedureId, String)],
    ) -> Result<Option<Edit>, Problem> {
        if !self.changed() {
            return Ok(None);
        }
        let minutes = parse_minutes(&self.minutes)?;
        let count = parse_count(&self.count)?;
        let attendance = if self.attendance_touched() {
            match self.day_type {
                None if minutes.is_some() => return Err(Problem::MinutesNeedDayType),
                // The grid cannot choose "no day type": nothing to write.
                None => None,
                Some(d) => Some(Attendance {
                    day_type: d,
                    minutes,
                    grade: self
                        .stored
                        .attendance
                        .as_ref()
                        .map(|a| a.grade)
                        .unwrap_or(Grade::Default),
                }),
            }
        } else {
            None
        };
        let mut put = None;
        let mut delete_counts = Vec::new();
        if self.count_touched() {
            let stored = self.stored.counts.first();
            match count {
                None => delete_counts.extend(stored.map(|(p, _)| p.clone())),
                Some(q) => {
                    let p = match resolve(&self.procedure, procedures) {
                        Typed::One(p, _) => p.clone(),
                        Typed::Empty => return Err(Problem::NeedProcedure),
                        Typed::None => return Err(Problem::NoSuchProcedure),
                        Typed::Several(_) => return Err(Problem::SeveralProcedures),
                    };
                    if self.day_type != Some(DayType::Work) {
                        return Err(Problem::CountNeedsWork);
                    }
                    if let Some((old, _)) = stored
                        && *old != p
                    {
                        delete_counts.push(old.clone());
                    }
                    if stored != Some(&(p.clone(), q)) {
                        put = Some((p, q));
                    }
                }
            }
        }
        if attendance.is_none() && put.is_none() && delete_counts.is_empty() {
            return Ok(None);
        }
        Ok(Some(Edit {
            inmate_no: self.no.clone(),
            attendance,
            count: put,
            delete_counts,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn procs() -> Vec<(ProcedureId, String)> {
        [
            ("P01", "缝领"),
            ("P02", "上袖"),
            ("P11", "锁边"),
            ("Q01", "缝袖口"),
        ]
        .into_iter()
        .map(|(p, n)| (ProcedureId::new(p).expect("code"), n.to_string()))
        .collect()
    }

    fn p(code: &str) -> ProcedureId {
        ProcedureId::new(code).expect("code")
    }

    fn work(minutes: Option<u32>) -> Attendance {
        Attendance {
            day_type: DayType::Work,
            minutes,
            grade: Grade::Default,
        }
    }

    fn row(attendance: Option<Attendance>, counts: &[(&str, u64)]) -> GridRow {
        GridRow::new(
            &EntryRow {
                inmate_no: InmateNo::new("5200000001").expect("no"),
                name: String::new(),
                attendance,
                counts: counts.iter().map(|(c, q)| (p(c), *q)).collect(),
                conflict: false,
                usual: None,
            },
            &procs(),
        )
    }

    #[test]
    fn type_ahead_completes_codes_and_names() {
        let ps = procs();
        let one = |t: &str| match resolve(t, &ps) {
            Typed::One(p, _) => Some(p.to_string()),
            _ => None,
        };
        assert_eq!(one("p02"), Some("P02".into()), "exact code, any case");
        assert_eq!(one("Q"), Some("Q01".into()), "unique code prefix");
        assert_eq!(one("锁"), Some("P11".into()), "unique part of a name");
        assert_eq!(resolve("P", &ps), Typed::Several(3));
        assert_eq!(resolve("P0", &ps), Typed::Several(2));
        assert_eq!(resolve("缝", &ps), Typed::Several(2), "缝领 and 缝袖口");
        assert_eq!(resolve("Z9", &ps), Typed::None);
        assert_eq!(resolve("  ", &ps), Typed::Empty);
    }

    #[test]
    fn cells_are_whole_ascii_numbers_in_range() {
        assert_eq!(parse_count(" 12 "), Ok(Some(12)));
        assert_eq!(parse_count(""), Ok(None));
        for bad in ["1O5", "-3", "+3", "１２", "2.5", "10000001"] {
            assert_eq!(parse_count(bad), Err(Problem::Count), "{bad}");
        }
        assert_eq!(parse_minutes("480"), Ok(Some(480)));
        assert_eq!(parse_minutes("1440"), Ok(Some(1440)));
        for bad in ["1441", "24O", "+480", "４８０"] {
            assert_eq!(parse_minutes(bad), Err(Problem::Minutes), "{bad}");
        }
    }

    #[test]
    fn only_what_changed_is_written() {
        let mut g = row(Some(work(None)), &[("P01", 40)]);
        assert_eq!(g.edit(&procs()), Ok(None), "untouched");
        g.count = "45".into();
        let e = g.edit(&procs()).expect("valid").expect("an edit");
        assert_eq!(e.attendance, None, "the day type was not touched");
        assert_eq!(e.count, Some((p("P01"), 45)));
        assert!(e.delete_counts.is_empty());
    }

    #[test]
    fn a_count_moved_or_cleared_removes_the_old_one() {
        let mut g = row(Some(work(None)), &[("P01", 40)]);
        g.procedure = "上袖".into();
        let e = g.edit(&procs()).expect("valid").expect("an edit");
        assert_eq!(e.count, Some((p("P02"), 40)));
        assert_eq!(e.delete_counts, vec![p("P01")], "else the day counts twice");
        g.procedure = "P01".into();
        g.count = " ".into();
        let e = g.edit(&procs()).expect("valid").expect("an edit");
        assert_eq!(e.count, None);
        assert_eq!(e.delete_counts, vec![p("P01")]);
    }

    #[test]
    fn bad_cells_block_the_save_and_never_become_defaults() {
        let mut g = row(Some(work(None)), &[("P01", 40)]);
        g.minutes = "24O".into();
        assert_eq!(g.edit(&procs()), Err(Problem::Minutes));
        g.minutes = String::new();
        g.count = "1O5".into();
        assert_eq!(g.edit(&procs()), Err(Problem::Count));
        g.count = "7".into();
        g.procedure = "P".into();
        assert_eq!(g.edit(&procs()), Err(Problem::SeveralProcedures));
        g.procedure = "Z9".into();
        assert_eq!(g.edit(&procs()), Err(Problem::NoSuchProcedure));
        g.procedure = String::new();
        assert_eq!(g.edit(&procs()), Err(Problem::NeedProcedure));
    }

    #[test]
    fn a_count_needs_a_work_day() {
        let mut g = row(None, &[]);
        g.procedure = "P01".into();
        g.count = "9".into();
        assert_eq!(g.edit(&procs()), Err(Problem::CountNeedsWork));
        g.day_type = Some(DayType::Rest);
        assert_eq!(g.edit(&procs()), Err(Problem::CountNeedsWork));
        g.day_type = Some(DayType::Work);
        let e = g.edit(&procs()).expect("valid").expect("an edit");
        assert_eq!(e.attendance, Some(work(None)));
        assert_eq!(e.count, Some((p("P01"), 9)));
        let mut g = row(None, &[]);
        g.minutes = "300".into();
        assert_eq!(g.edit(&procs()), Err(Problem::MinutesNeedDayType));
    }

    #[test]
    fn a_stored_count_on_a_day_made_sick_is_saved_but_said_not_to_count() {
        let mut g = row(Some(work(None)), &[("P01", 40)]);
        assert!(!g.count_not_counted());
        g.day_type = Some(DayType::Sick);
        // The day type is saved (the officer means it), the count stays…
        let e = g.edit(&procs()).expect("valid").expect("an edit");
        assert_eq!(e.attendance.map(|a| a.day_type), Some(DayType::Sick));
        assert_eq!(e.count, None);
        // …and the row says it will not count.
        assert!(g.count_not_counted());
        // A count stored with no attendance record at all, too.
        assert!(row(None, &[("P01", 472)]).count_not_counted());
    }

    #[test]
    fn a_reload_keeps_typed_fields_and_takes_the_others() {
        let mut g = row(Some(work(None)), &[("P01", 40)]);
        g.count = "50".into();
        // Meanwhile another officer marks the day sick (count unchanged).
        let mut sick = work(None);
        sick.day_type = DayType::Sick;
        let fresh = row(Some(sick), &[("P01", 40)]);
        g.rebase(&fresh);
        assert_eq!(g.day_type, Some(DayType::Sick), "untouched: the new value");
        assert_eq!(g.count, "50", "typed: kept");
        assert!(!g.changed_elsewhere, "the count underneath did not change");
        // Saving writes the count only: the sick day is not overwritten.
        assert_eq!(g.edit(&procs()), Err(Problem::CountNeedsWork));
        // Now the count changes underneath too.
        let fresh = row(Some(sick), &[("P01", 44)]);
        g.rebase(&fresh);
        assert_eq!(g.count, "50");
        assert!(g.changed_elsewhere, "a typed field changed underneath");
        // The save came back: what was typed is now stored, nothing is left.
        let mut g = row(Some(work(None)), &[("P01", 40)]);
        g.count = "50".into();
        g.rebase(&row(Some(work(None)), &[("P01", 50)]));
        assert!(!g.changed() && !g.changed_elsewhere);
    }

    #[test]
    fn several_counts_a_day_are_not_edited_in_the_grid() {
        let mut g = row(Some(work(None)), &[("P01", 40), ("P02", 10)]);
        assert!(g.counts_locked());
        g.count = "99".into();
        assert!(!g.changed(), "the grid does not edit them");
        g.day_type = Some(DayType::Sick);
        let e = g.edit(&procs()).expect("valid").expect("an edit");
        assert_eq!(e.count, None);
        assert!(e.delete_counts.is_empty());
    }
}
