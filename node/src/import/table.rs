//! A file (CSV, or the first sheet of an XLSX workbook) read into rows
//! addressed by column name, with typed getters whose errors name file, line,
//! column and value.

use std::collections::BTreeMap;
use std::str::FromStr;

use crdt_schema::{Date, records};

use super::{ImportError, RowError};

pub struct Table {
    file: String,
    index: BTreeMap<String, usize>,
    rows: Vec<Result<(u64, Vec<String>), RowError>>,
}

pub struct Row<'a> {
    pub file: &'a str,
    pub line: u64,
    rec: &'a [String],
    index: &'a BTreeMap<String, usize>,
}

/// One row as a reader saw it: its line (CSV) or row number (XLSX) and its
/// trimmed cells, or what was wrong with it.
pub type RawRow = Result<(u64, Vec<String>), RowError>;

fn csv_error(file: &str, bytes: &[u8], e: &csv::Error) -> RowError {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    let reason = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8 (save the file as UTF-8 CSV)".to_string(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            // A quote opened and never closed swallows the rest of the file
            // into one field: say that, not the field count it leads to.
            let from = e.position().map_or(0, |p| p.byte() as usize);
            let quotes = bytes
                .get(from..)
                .unwrap_or_default()
                .iter()
                .filter(|&&b| b == b'"')
                .count();
            if quotes % 2 == 1 {
                "a quote `\"` opened in this line is never closed: everything after it was read as one field"
                    .to_string()
            } else {
                format!("has {len} fields, the header has {expected_len}")
            }
        }
        _ => format!("malformed CSV: {e}"),
    };
    RowError {
        file: file.to_string(),
        line,
        column: None,
        value: String::new(),
        reason,
    }
}

/// What a file given as CSV is instead, when its first bytes say so.
pub fn not_csv(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"PK\x03\x04") {
        Some(
            "this is a zip file (an .xlsx workbook named as something else?): give it a name ending in .xlsx, or save it as UTF-8 CSV",
        )
    } else if bytes.starts_with(OLE_MAGIC) {
        Some(OLD_XLS)
    } else {
        None
    }
}

/// The first bytes of an old (97–2003) Excel `.xls` workbook.
pub const OLE_MAGIC: &[u8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1";
/// What to do with one.
pub const OLD_XLS: &str = "this is an old Excel .xls workbook, which tally does not read: open it in Excel and save it as .xlsx or as UTF-8 CSV";

impl Table {
    /// Reads a whole CSV file: UTF-8 with or without BOM, a header row naming
    /// every required column (any order), no unknown column.
    pub fn parse(
        file: &str,
        bytes: &[u8],
        required: &[&str],
        optional: &[&str],
    ) -> Result<Table, ImportError> {
        if let Some(reason) = not_csv(bytes) {
            return Err(ImportError {
                errors: vec![RowError {
                    file: file.to_string(),
                    line: 0,
                    column: None,
                    value: String::new(),
                    reason: reason.into(),
                }],
            });
        }
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let headers = rdr
            .headers()
            .map_err(|e| ImportError {
                errors: vec![csv_error(file, bytes, &e)],
            })?
            .iter()
            .map(str::to_string)
            .collect();
        let rows = rdr
            .records()
            .map(|rec| match rec {
                Ok(r) => {
                    let line = r.position().map(|p| p.line()).unwrap_or(0);
                    Ok((line, r.iter().map(str::to_string).collect()))
                }
                Err(e) => Err(csv_error(file, bytes, &e)),
            })
            .collect();
        Table::from_rows(file, 1, headers, rows, required, optional)
    }

    /// A table from rows some reader (CSV, XLSX) has already split into
    /// trimmed cells, so both formats are checked by the same code and give
    /// the same plan. `header_line` is where the header was found; each row
    /// carries its own line. Checks the header: every required column, no
    /// unknown or repeated one.
    pub fn from_rows(
        file: &str,
        header_line: u64,
        header: Vec<String>,
        rows: Vec<RawRow>,
        required: &[&str],
        optional: &[&str],
    ) -> Result<Table, ImportError> {
        let header_error = |reason: String| ImportError {
            errors: vec![RowError {
                file: file.to_string(),
                line: header_line,
                column: None,
                value: String::new(),
                reason,
            }],
        };
        if header.iter().all(String::is_empty) {
            return Err(header_error(format!(
                "no header row (expected columns {})",
                required.join(",")
            )));
        }
        let mut index = BTreeMap::new();
        for (i, h) in header.iter().enumerate() {
            let h = h.as_str();
            if h.is_empty() {
                return Err(header_error(format!(
                    "column {} has an empty header (expected columns {})",
                    i + 1,
                    required.join(",")
                )));
            }
            if !required.contains(&h) && !optional.contains(&h) {
                let mut all: Vec<&str> = required.to_vec();
                all.extend(optional);
                return Err(header_error(format!(
                    "unknown column `{h}` (expected {})",
                    all.join(",")
                )));
            }
            if index.insert(h.to_string(), i).is_some() {
                return Err(header_error(format!("column `{h}` appears twice")));
            }
        }
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|c| !index.contains_key(*c))
            .collect();
        if !missing.is_empty() {
            return Err(header_error(format!(
                "missing column(s) {} (expected {})",
                missing.join(","),
                required.join(",")
            )));
        }
        Ok(Table {
            file: file.to_string(),
            index,
            rows,
        })
    }

    pub fn rows(&self) -> impl Iterator<Item = Result<Row<'_>, RowError>> {
        self.rows.iter().map(|r| match r {
            Ok((line, rec)) => Ok(Row {
                file: &self.file,
                line: *line,
                rec,
                index: &self.index,
            }),
            Err(e) => Err(e.clone()),
        })
    }
}

impl Row<'_> {
    /// The trimmed value of a column; "" for an absent optional column.
    pub fn get(&self, col: &str) -> &str {
        self.index
            .get(col)
            .and_then(|&i| self.rec.get(i))
            .map_or("", String::as_str)
    }

    pub fn error(&self, col: Option<&str>, value: &str, reason: impl Into<String>) -> RowError {
        RowError {
            file: self.file.to_string(),
            line: self.line,
            column: col.map(str::to_string),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    fn parsed<T: FromStr>(&self, col: &str) -> Result<T, RowError>
    where
        T::Err: std::fmt::Display,
    {
        let v = self.get(col);
        v.parse()
            .map_err(|e: T::Err| self.error(Some(col), v, e.to_string()))
    }

    /// An identifier (inmate number, district, procedure, product).
    pub fn code<T: FromStr>(&self, col: &str) -> Result<T, RowError>
    where
        T::Err: std::fmt::Display,
    {
        self.parsed(col)
    }

    pub fn date(&self, col: &str) -> Result<Date, RowError> {
        let v = self.get(col);
        v.parse().map_err(|e: crdt_schema::CalendarError| {
            self.error(
                Some(col),
                v,
                date_reason(v).unwrap_or_else(|| e.to_string()),
            )
        })
    }

    pub fn optional_date(&self, col: &str) -> Result<Option<Date>, RowError> {
        if self.get(col).is_empty() {
            Ok(None)
        } else {
            self.date(col).map(Some)
        }
    }

    pub fn text(&self, col: &str) -> Result<String, RowError> {
        let v = self.get(col);
        records::check_text(col, v).map_err(|e| self.error(Some(col), v, e.to_string()))?;
        Ok(v.to_string())
    }

    pub fn optional_text(&self, col: &str) -> Result<String, RowError> {
        if self.get(col).is_empty() {
            Ok(String::new())
        } else {
            self.text(col)
        }
    }

    /// A yes/no column: empty, `0`, `false`, `否` are no; `1`, `true`,
    /// `是` are yes; anything else is named.
    pub fn flag(&self, col: &str) -> Result<bool, RowError> {
        match self.get(col).trim() {
            "" | "0" | "false" | "no" | "否" => Ok(false),
            "1" | "true" | "yes" | "是" => Ok(true),
            v => Err(self.error(Some(col), v, "expected 1/0, true/false or 是/否")),
        }
    }

    pub fn int(&self, col: &str, min: i64, max: i64) -> Result<i64, RowError> {
        let v = self.get(col);
        self.no_negative_zero(col, v)?;
        records::parse_int(col, v, min, max).map_err(|e| self.error(Some(col), v, e.to_string()))
    }

    pub fn quantity(&self, col: &str) -> Result<u64, RowError> {
        let v = self.get(col);
        self.no_negative_zero(col, v)?;
        records::parse_quantity(v).map_err(|e| self.error(Some(col), v, e.to_string()))
    }

    /// `-0` is not a number anyone means: refused, not stored as 0.
    fn no_negative_zero(&self, col: &str, v: &str) -> Result<(), RowError> {
        match v.strip_prefix('-') {
            Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b == b'0') => Err(self
                .error(
                    Some(col),
                    v,
                    "a minus sign on zero: write 0 (or the number meant)",
                )),
            _ => Ok(()),
        }
    }
}

/// Why `v` is not a date, when something better than "not of the form"
/// can be said: a day the month does not have, or an Excel date serial.
fn date_reason(v: &str) -> Option<String> {
    if v.len() == 10 && v.as_bytes().get(7) == Some(&b'-') {
        let month: crdt_schema::Month = v.get(..7)?.parse().ok()?;
        let day: u32 = v.get(8..)?.parse().ok()?;
        if day == 0 || day > u32::from(month.days()) {
            return Some(format!(
                "{month} has no day {day} (it has {} days)",
                month.days()
            ));
        }
    }
    if (4..=6).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()) {
        return Some(
            "a number where a date belongs: Excel keeps dates as numbers and this cell is formatted as one; format the column as a date, or write YYYY-MM-DD"
                .into(),
        );
    }
    None
}
