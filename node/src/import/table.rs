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

fn csv_error(file: &str, e: &csv::Error) -> RowError {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    let reason = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8 (save the file as UTF-8 CSV)".to_string(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("has {len} fields, the header has {expected_len}")
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

impl Table {
    /// Reads a whole CSV file: UTF-8 with or without BOM, a header row naming
    /// every required column (any order), no unknown column.
    pub fn parse(
        file: &str,
        bytes: &[u8],
        required: &[&str],
        optional: &[&str],
    ) -> Result<Table, ImportError> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let headers = rdr
            .headers()
            .map_err(|e| ImportError {
                errors: vec![csv_error(file, &e)],
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
                Err(e) => Err(csv_error(file, &e)),
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
        self.parsed(col)
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

    pub fn int(&self, col: &str, min: i64, max: i64) -> Result<i64, RowError> {
        let v = self.get(col);
        records::parse_int(col, v, min, max).map_err(|e| self.error(Some(col), v, e.to_string()))
    }

    pub fn quantity(&self, col: &str) -> Result<u64, RowError> {
        let v = self.get(col);
        records::parse_quantity(v).map_err(|e| self.error(Some(col), v, e.to_string()))
    }
}
