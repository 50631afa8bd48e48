//! Import of the spreadsheets prisons already keep, as CSV or XLSX.
//!
//! An import is two steps. [`plan`] (CSV), [`plan_xlsx`] (the first visible
//! worksheet of a workbook) or [`plan_file`] (either, by the file's extension) reads and
//! validates the whole file against the registry — every row, every column —
//! and either returns the typed writes it implies or every error found, each
//! naming file, line (a workbook's row number), column and value. Only a plan
//! without a single error is ever applied, so a bad file writes nothing.
//! Applying a plan whose rows are already recorded changes nothing (the
//! writers skip equal values).

pub mod table;
pub mod xlsx;

use std::collections::BTreeMap;
use std::fmt;

use crdt_schema::{
    Adjustment, Attendance, Cp, Date, DayType, DistrictId, Inmate, InmateNo, ProcedureId,
    ProcedureVersion, ProductId, RecordError, RegistryFacts, records,
};

use crate::ops::{MonthOp, Plan, RegistryOp};
use table::{Row, Table};

/// The kinds of file `tally import` reads, one kind per command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Districts,
    Inmates,
    /// Transfers between districts (调监区): from `date` the inmate is in `district`.
    Transfers,
    Procedures,
    Attendance,
    Assignments,
    Counts,
    TeamCounts,
    Adjustments,
}

impl Kind {
    /// Whether the kind's records go into the registry (else into a
    /// district's month document).
    pub fn in_registry(self) -> bool {
        matches!(
            self,
            Kind::Districts | Kind::Inmates | Kind::Transfers | Kind::Procedures
        )
    }

    /// The class of the records the kind writes: what authorization decides on.
    pub fn record_class(self) -> crdt_schema::schema::RecordClass {
        use crdt_schema::schema::RecordClass as C;
        match self {
            Kind::Districts | Kind::Inmates | Kind::Transfers => C::Roster,
            Kind::Procedures => C::Catalogue,
            Kind::Attendance
            | Kind::Assignments
            | Kind::Counts
            | Kind::TeamCounts
            | Kind::Adjustments => C::Daily,
        }
    }

    /// Required columns, then optional ones.
    pub fn columns(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Kind::Districts => (&["district", "name"], &[]),
            Kind::Inmates => (
                &["inmate_no", "name", "district", "admitted", "released"],
                &[],
            ),
            Kind::Transfers => (&["date", "inmate_no", "district"], &[]),
            Kind::Procedures => (
                &["procedure", "product", "name", "std_ms", "effective_from"],
                &[],
            ),
            Kind::Attendance => (&["date", "inmate_no", "day_type", "minutes", "grade"], &[]),
            Kind::Assignments => (&["date", "inmate_no", "procedure"], &[]),
            Kind::Counts => (&["date", "inmate_no", "procedure", "quantity"], &[]),
            Kind::TeamCounts => (&["date", "district", "procedure", "quantity"], &[]),
            Kind::Adjustments => (
                &["date", "inmate_no", "points_cp", "reason"],
                &["evidence", "special", "no_post"],
            ),
        }
    }
}

/// One bad value in one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub file: String,
    /// 1-based line of the file (the header is line 1).
    pub line: u64,
    pub column: Option<String>,
    pub value: String,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Line 0: the file as a whole (a workbook that cannot be read, a
        // header missing), not a line of it.
        if self.line == 0 {
            write!(f, "{}: ", echo(&self.file, 200))?;
        } else {
            write!(f, "{}:{}: ", echo(&self.file, 200), self.line)?;
        }
        if let Some(c) = &self.column {
            write!(f, "column {}: ", echo(c, 60))?;
        }
        if !self.value.is_empty() {
            write!(f, "`{}`: ", echo(&self.value, 60))?;
        }
        f.write_str(&echo(&self.reason, 300))
    }
}

/// Text from a file, as an error may repeat it: control characters escaped
/// (a cell must not drive the officer's terminal), and cut after `max`
/// characters, saying how long it was (a 50 MB cell is not echoed).
pub fn echo(s: &str, max: usize) -> String {
    let mut out = String::new();
    for (n, c) in s.chars().enumerate() {
        if n == max {
            out.push_str(&format!("… ({} bytes in all)", s.len()));
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Every error of a rejected file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    pub errors: Vec<RowError>,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 20;
        let n = self.errors.len();
        writeln!(f, "rejected: {n} error(s), nothing was written")?;
        for e in self.errors.iter().take(SHOWN) {
            writeln!(f, "  {e}")?;
        }
        if n > SHOWN {
            writeln!(f, "  … and {} more", n - SHOWN)?;
        }
        Ok(())
    }
}

impl std::error::Error for ImportError {}

/// The two formats a file can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    /// The format a file's name says: `.xlsx` and `.xlsm` (any case) are
    /// workbooks, anything else is read as CSV (exports from other systems
    /// often end in `.txt` or nothing at all).
    pub fn of(file: &str) -> Format {
        let ext = std::path::Path::new(file)
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("xlsx" | "xlsm") => Format::Xlsx,
            _ => Format::Csv,
        }
    }
}

/// Reads and validates a whole CSV file; see the module documentation.
pub fn plan(
    kind: Kind,
    file: &str,
    bytes: &[u8],
    registry: &RegistryFacts,
) -> Result<Plan, ImportError> {
    let (required, optional) = kind.columns();
    let table = Table::parse(file, bytes, required, optional)?;
    plan_table(kind, &table, registry, None, false)
}

/// Reads and validates the first visible worksheet of an XLSX workbook, exactly as
/// [`plan`] reads the same sheet saved as CSV; see [`xlsx`] for how cells
/// become text. Lines in errors are sheet row numbers.
pub fn plan_xlsx(
    kind: Kind,
    file: &str,
    bytes: &[u8],
    registry: &RegistryFacts,
) -> Result<Plan, ImportError> {
    plan_sheet(kind, file, bytes, None, registry).map(|(p, _)| p)
}

/// [`plan_xlsx`] of the worksheet named `sheet` (or the first visible one);
/// returns the plan and the sheet read.
pub fn plan_sheet(
    kind: Kind,
    file: &str,
    bytes: &[u8],
    sheet: Option<&str>,
    registry: &RegistryFacts,
) -> Result<(Plan, String), ImportError> {
    let (required, optional) = kind.columns();
    let (table, sheet) = xlsx::parse(file, bytes, sheet, required, optional)?;
    Ok((plan_table(kind, &table, registry, None, false)?, sheet))
}

/// [`plan`] or [`plan_xlsx`], as the file's name says ([`Format::of`]).
pub fn plan_file(
    kind: Kind,
    file: &str,
    bytes: &[u8],
    registry: &RegistryFacts,
) -> Result<Plan, ImportError> {
    plan_any(kind, file, bytes, None, registry).map(|(p, _)| p)
}

/// [`plan_file`], reading the worksheet named `sheet` of a workbook;
/// returns the plan and, for a workbook, the sheet read. A sheet named for
/// a CSV file is an error (a CSV file has no sheets).
pub fn plan_any(
    kind: Kind,
    file: &str,
    bytes: &[u8],
    sheet: Option<&str>,
    registry: &RegistryFacts,
) -> Result<(Plan, Option<String>), ImportError> {
    match (Format::of(file), sheet) {
        (Format::Csv, None) => Ok((plan(kind, file, bytes, registry)?, None)),
        (Format::Csv, Some(s)) => Err(ImportError {
            errors: vec![RowError {
                file: file.to_string(),
                line: 0,
                column: None,
                value: s.to_string(),
                reason: "a sheet was named, but this is not an .xlsx/.xlsm workbook".into(),
            }],
        }),
        (Format::Xlsx, sheet) => {
            plan_sheet(kind, file, bytes, sheet, registry).map(|(p, s)| (p, Some(s)))
        }
    }
}

/// [`plan_any`] for an officer bound to `district` (None: any district):
/// a daily record for a day the inmate was held by another district (a
/// transfer) is refused, naming inmate, date and district, before anything
/// is written. `replace`: a transfer may replace another of its date.
pub fn plan_any_in(
    kind: Kind,
    file: &str,
    bytes: &[u8],
    sheet: Option<&str>,
    registry: &RegistryFacts,
    district: Option<&DistrictId>,
    replace: bool,
) -> Result<(Plan, Option<String>), ImportError> {
    let (required, optional) = kind.columns();
    match (Format::of(file), sheet) {
        (Format::Csv, None) => {
            let table = Table::parse(file, bytes, required, optional)?;
            Ok((plan_table(kind, &table, registry, district, replace)?, None))
        }
        (Format::Xlsx, sheet) => {
            let (table, sheet) = xlsx::parse(file, bytes, sheet, required, optional)?;
            Ok((
                plan_table(kind, &table, registry, district, replace)?,
                Some(sheet),
            ))
        }
        (Format::Csv, Some(_)) => plan_any(kind, file, bytes, sheet, registry),
    }
}

/// Validates every row of a table, whatever format it came from.
fn plan_table(
    kind: Kind,
    table: &Table,
    registry: &RegistryFacts,
    scope: Option<&DistrictId>,
    replace: bool,
) -> Result<Plan, ImportError> {
    let mut p = Planner {
        registry,
        scope,
        replace,
        transfer_rows: Vec::new(),
        plan: Plan::default(),
        seen: BTreeMap::new(),
        errors: Vec::new(),
    };
    for row in table.rows() {
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                p.errors.push(e);
                continue;
            }
        };
        p.plan.rows += 1;
        if let Err(e) = p.row(kind, &row) {
            p.errors.push(e);
        }
    }
    p.check_transfers();
    if p.errors.is_empty() {
        Ok(p.plan)
    } else {
        Err(ImportError { errors: p.errors })
    }
}

/// The column an attendance record's error is about, so the error names the
/// cell as every other column's error does.
fn attendance_column(e: &RecordError) -> Option<&'static str> {
    match e {
        RecordError::DayType(_) => Some("day_type"),
        RecordError::NoQuotaGrade(_)
        | RecordError::NoQuotaNeedsGrade(_)
        | RecordError::GradeNotBp(..) => Some("grade"),
        RecordError::OutOfRange { field, .. } if field.starts_with("minutes") => Some("minutes"),
        RecordError::OutOfRange { field, .. } if field == "grade" => Some("grade"),
        _ => None,
    }
}

struct Planner<'r> {
    registry: &'r RegistryFacts,
    /// The district the importing officer is bound to, if any.
    scope: Option<&'r DistrictId>,
    /// Whether a transfer may replace another of the same date.
    replace: bool,
    /// Transfers read, each with an error naming its row, checked at the end.
    transfer_rows: Vec<(RowError, InmateNo, Date, DistrictId)>,
    plan: Plan,
    /// Record key → (line, value) of the row that set it, to catch a file
    /// that says two different things about the same record.
    seen: BTreeMap<String, (u64, String)>,
    errors: Vec<RowError>,
}

impl Planner<'_> {
    fn once(&mut self, row: &Row<'_>, key: String, value: String) -> Result<bool, RowError> {
        match self.seen.get(&key) {
            Some((line, v)) if *v != value => Err(row.error(
                None,
                "",
                format!(
                    "contradicts line {line} about the same record ({key}): `{}` there, `{}` here",
                    echo(v, 80),
                    echo(&value, 80)
                ),
            )),
            Some(_) => Ok(false),
            None => {
                self.seen.insert(key, (row.line, value));
                Ok(true)
            }
        }
    }

    fn inmate<'a>(&'a self, row: &Row<'_>) -> Result<(InmateNo, &'a Inmate), RowError> {
        let no: InmateNo = row.code("inmate_no")?;
        match self.registry.inmates.get(&no) {
            Some(e) => Ok((no, &e.value)),
            None => Err(row.error(
                Some("inmate_no"),
                no.as_str(),
                "unknown inmate (import inmates.csv first)",
            )),
        }
    }

    fn district(&self, row: &Row<'_>, col: &str) -> Result<DistrictId, RowError> {
        let d: DistrictId = row.code(col)?;
        if self.registry.districts.contains_key(&d) {
            Ok(d)
        } else {
            Err(row.error(
                Some(col),
                d.as_str(),
                "unknown district (import districts.csv first)",
            ))
        }
    }

    fn procedure_on(&self, row: &Row<'_>, date: Date) -> Result<ProcedureId, RowError> {
        let p: ProcedureId = row.code("procedure")?;
        match self.registry.procedures.get(&p) {
            None => Err(row.error(
                Some("procedure"),
                p.as_str(),
                "unknown procedure (import procedures.csv first)",
            )),
            Some(_) if self.registry.procedure_on(&p, date).is_none() => Err(row.error(
                Some("procedure"),
                p.as_str(),
                format!("no standard time of this procedure is in force on {date}"),
            )),
            Some(_) => Ok(p),
        }
    }

    fn in_custody(row: &Row<'_>, inmate: &Inmate, date: Date) -> Result<(), RowError> {
        if inmate.in_custody(date) {
            return Ok(());
        }
        let released = inmate
            .released
            .map(|r| r.to_string())
            .unwrap_or_else(|| "—".into());
        Err(row.error(
            Some("date"),
            &date.to_string(),
            format!(
                "outside the inmate's custody (admitted {}, released {released})",
                inmate.admitted
            ),
        ))
    }

    /// The district whose document holds `no`'s record of `date`: the one
    /// holding the inmate that day (transfers applied). Out of custody, or
    /// held by another district than the importing officer's, is refused.
    fn holder(
        &self,
        row: &Row<'_>,
        no: &InmateNo,
        inmate: &Inmate,
        date: Date,
    ) -> Result<DistrictId, RowError> {
        Self::in_custody(row, inmate, date)?;
        let h = self
            .registry
            .district_on(no, date)
            .unwrap_or(&inmate.district);
        if let Some(scope) = self.scope
            && h != scope
        {
            let moved = self
                .registry
                .transfers
                .get(no)
                .and_then(|t| t.range(..=date).next_back())
                .map(|(d, _)| format!(" (transferred there on {d})"))
                .unwrap_or_default();
            return Err(row.error(
                Some("date"),
                &date.to_string(),
                format!(
                    "inmate {no} was in {h}{moved} on {date}, not in {scope}: a record of that day belongs to {h}'s document"
                ),
            ));
        }
        Ok(h.clone())
    }

    /// The district an out-of-custody record (`not_in_custody`) is filed
    /// under: the one the inmate was last placed in by that date.
    fn placed(&self, no: &InmateNo, inmate: &Inmate, date: Date) -> DistrictId {
        self.registry
            .transfers
            .get(no)
            .and_then(|t| t.range(..=date).next_back())
            .map(|(_, e)| e.value.clone())
            .unwrap_or_else(|| inmate.district.clone())
    }

    /// Checks the file's transfers in date order per inmate, each against the
    /// registry with the file's earlier ones applied, and plans those that
    /// hold; an error names the row.
    fn check_transfers(&mut self) {
        if self.transfer_rows.is_empty() {
            return;
        }
        let mut rows = std::mem::take(&mut self.transfer_rows);
        rows.sort_by(|a, b| (&a.1, a.2).cmp(&(&b.1, b.2)));
        let mut working = self.registry.clone();
        for (mut at, no, date, to) in rows {
            match crate::ops::check_transfer(&working, &no, date, &to, self.replace) {
                Ok(()) => {
                    working
                        .transfers
                        .entry(no.clone())
                        .or_default()
                        .insert(date, crdt_schema::Entry::new(to.clone(), false));
                    self.plan.registry.push(RegistryOp::Transfer(no, date, to));
                }
                Err(reason) => {
                    at.reason = reason;
                    self.errors.push(at);
                }
            }
        }
        self.errors.sort_by_key(|e| e.line);
    }

    fn month_op(&mut self, district: DistrictId, date: Date, op: MonthOp) {
        self.plan
            .months
            .entry((district, date.month()))
            .or_default()
            .push(op);
    }

    fn row(&mut self, kind: Kind, row: &Row<'_>) -> Result<(), RowError> {
        match kind {
            Kind::Districts => {
                let d: DistrictId = row.code("district")?;
                let name = row.text("name")?;
                if self.once(row, format!("district/{d}"), name.clone())? {
                    self.plan.registry.push(RegistryOp::District(d, name));
                }
            }
            Kind::Inmates => {
                let no: InmateNo = row.code("inmate_no")?;
                let inmate = Inmate {
                    name: row.text("name")?,
                    district: self.district(row, "district")?,
                    admitted: row.date("admitted")?,
                    released: row.optional_date("released")?,
                };
                inmate
                    .validate()
                    .map_err(|e| row.error(Some("released"), row.get("released"), e.to_string()))?;
                if self.once(row, format!("inmate/{no}"), format!("{inmate:?}"))? {
                    self.plan.registry.push(RegistryOp::Inmate(no, inmate));
                }
            }
            Kind::Transfers => {
                // Checked once the whole file is read, in date order per
                // inmate ([`Planner::check_transfers`]): a file may move an
                // inmate twice.
                let date = row.date("date")?;
                let (no, _) = self.inmate(row)?;
                let to = self.district(row, "district")?;
                if self.once(row, format!("transfer/{no}/{date}"), to.to_string())? {
                    self.transfer_rows.push((
                        row.error(Some("district"), to.as_str(), ""),
                        no,
                        date,
                        to,
                    ));
                }
            }
            Kind::Procedures => {
                let p: ProcedureId = row.code("procedure")?;
                let product: ProductId = row.code("product")?;
                let from = row.date("effective_from")?;
                let std_ms = row.int("std_ms", 1, records::MAX_STD_MS as i64)? as u64;
                let v = ProcedureVersion {
                    product: product.clone(),
                    name: row.text("name")?,
                    std_ms,
                };
                if self.once(row, format!("procedure/{p}/{from}"), format!("{v:?}"))? {
                    self.plan.registry.push(RegistryOp::EnsureProduct(product));
                    self.plan.registry.push(RegistryOp::Procedure(p, from, v));
                }
            }
            Kind::Attendance => {
                let date = row.date("date")?;
                let (no, inmate) = self.inmate(row)?;
                let a = Attendance::from_fields(
                    row.get("day_type"),
                    row.get("minutes"),
                    row.get("grade"),
                )
                .map_err(|e| {
                    let col = attendance_column(&e);
                    row.error(col, col.map_or("", |c| row.get(c)), e.to_string())
                })?;
                let district = if a.day_type == DayType::NotInCustody
                    && self.registry.district_on(&no, date).is_none()
                {
                    self.placed(&no, inmate, date)
                } else {
                    self.holder(row, &no, inmate, date)?
                };
                if self.once(row, format!("att/{no}/{date}"), a.encode())? {
                    self.month_op(district, date, MonthOp::Attendance(no, date, a));
                }
            }
            Kind::Assignments => {
                let date = row.date("date")?;
                let (no, inmate) = self.inmate(row)?;
                let district = self.holder(row, &no, inmate, date)?;
                let p = self.procedure_on(row, date)?;
                if self.once(row, format!("asg/{no}/{date}/{p}"), String::new())? {
                    self.month_op(district, date, MonthOp::Assignment(no, date, p));
                }
            }
            Kind::Counts => {
                let date = row.date("date")?;
                let (no, inmate) = self.inmate(row)?;
                let district = self.holder(row, &no, inmate, date)?;
                let p = self.procedure_on(row, date)?;
                let q = row.quantity("quantity")?;
                if self.once(row, format!("cnt/{no}/{date}/{p}"), q.to_string())? {
                    self.month_op(district, date, MonthOp::Count(no, date, p, q));
                }
            }
            Kind::TeamCounts => {
                let date = row.date("date")?;
                let district = self.district(row, "district")?;
                let p = self.procedure_on(row, date)?;
                let q = row.quantity("quantity")?;
                if self.once(row, format!("team/{district}/{date}/{p}"), q.to_string())? {
                    self.month_op(district, date, MonthOp::TeamCount(date, p, q));
                }
            }
            Kind::Adjustments => {
                let date = row.date("date")?;
                let (no, inmate) = self.inmate(row)?;
                let district = self.holder(row, &no, inmate, date)?;
                let points = row.int(
                    "points_cp",
                    -records::MAX_ADJUSTMENT_CP,
                    records::MAX_ADJUSTMENT_CP,
                )?;
                if points == 0 {
                    return Err(row.error(
                        Some("points_cp"),
                        "0",
                        "an adjustment of 0 has no effect",
                    ));
                }
                let a = Adjustment {
                    date,
                    points_cp: Cp(points),
                    reason: row.text("reason")?,
                    evidence: row.optional_text("evidence")?,
                    special: row.flag("special")?,
                    no_post: row.flag("no_post")?,
                };
                let id = crdt_schema::adjustment_id(&no, &a);
                if self.once(row, format!("adj/{no}/{id}"), format!("{a:?}"))? {
                    self.month_op(district, date, MonthOp::Adjustment(no, a));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod echo_tests {
    use super::*;

    #[test]
    fn what_an_error_repeats_cannot_drive_a_terminal_or_flood_it() {
        assert_eq!(echo("李堃镕", 60), "李堃镕");
        assert_eq!(echo("a\u{1b}[2Jb\n", 60), "a\\u{1b}[2Jb\\n");
        let big = "x".repeat(50_000_000);
        let e = RowError {
            file: "c.csv".into(),
            line: 2,
            column: Some("quantity".into()),
            value: big.clone(),
            reason: format!("`{big}` is not a whole number"),
        };
        let shown = e.to_string();
        assert!(shown.len() < 500, "{} bytes", shown.len());
        assert!(shown.contains("(50000000 bytes in all)"), "{shown}");
    }
}
