//! The first visible worksheet of an XLSX workbook, bounded (what it unpacks
//! to, the cells it has) before and while it is read, into the same rows of
//! trimmed strings the CSV reader produces, so one validation serves both
//! formats and a workbook plans exactly what the same sheet saved as CSV
//! would.
//!
//! Cells become the text a CSV export of the sheet would hold: a whole number
//! (Excel stores 480 as the float 480.0) becomes `480`; any other number its
//! shortest decimal form (`480.5`), which the typed getters then reject in an
//! integer column, naming the cell; a date or date-time becomes `YYYY-MM-DD`;
//! an empty cell `""`; a string is trimmed. Cells that have no text a CSV file
//! could hold — Excel errors (`#N/A`), durations, bare times of day — are
//! errors naming the cell. The line of a row is its sheet row number, as
//! Excel shows it.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use calamine::{Data, Reader, SheetType, SheetVisible, Xlsx};

use super::table::{RawRow, Table};
use super::{ImportError, RowError};

/// Whole numbers up to 2^53 are exact in an `f64`, so they are the floats
/// that can stand for an integer written in a cell.
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

fn file_error(file: &str, line: u64, reason: String) -> ImportError {
    ImportError {
        errors: vec![RowError {
            file: file.to_string(),
            line,
            column: None,
            value: String::new(),
            reason,
        }],
    }
}

/// Most bytes a workbook may unpack to (every part of it, counted as it is
/// decompressed): a zip bomb is refused before calamine reads it.
pub const MAX_UNPACKED_BYTES: u64 = 512 * 1024 * 1024;
/// Most non-empty cells read from a sheet (a full sheet of 1,048,576 rows
/// of eight columns).
pub const MAX_CELLS: usize = 1_048_576 * 8;
/// The last row and column (XFD) of a sheet, zero-based.
const MAX_ROW: u32 = 1_048_575;
const MAX_COL: u32 = 16_383;
/// Most merged ranges looked at for hints (more are ignored, not refused).
const MAX_MERGED: usize = 100_000;

/// Decompresses every part of the workbook into nothing, counting: what
/// the parts say of their size is not trusted.
pub fn check_unpacked(file: &str, bytes: &[u8], max: u64) -> Result<(), ImportError> {
    let bad = |reason: String| file_error(file, 0, reason);
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| bad(format!("not a readable XLSX workbook: {e}")))?;
    let mut total = 0u64;
    for i in 0..zip.len() {
        let mut part = zip
            .by_index(i)
            .map_err(|e| bad(format!("not a readable XLSX workbook: {e}")))?;
        let left = max - total;
        let n = std::io::copy(&mut (&mut part).take(left + 1), &mut std::io::sink())
            .map_err(|e| bad(format!("not a readable XLSX workbook: {e}")))?;
        total += n;
        if total > max {
            return Err(bad(format!(
                "the workbook unpacks to more than {} MiB (a compressed file this small cannot hold a real sheet that large): refused",
                max / (1024 * 1024)
            )));
        }
    }
    Ok(())
}

/// Reads the worksheet named `sheet`, or else the first visible one (a
/// hidden sheet is never read: what an officer sees in Excel is what is
/// imported); its first non-empty row is the header. Returns the table and
/// the name of the sheet read.
pub fn parse(
    file: &str,
    bytes: &[u8],
    sheet: Option<&str>,
    required: &[&str],
    optional: &[&str],
) -> Result<(Table, String), ImportError> {
    if bytes.starts_with(super::table::OLE_MAGIC) {
        return Err(file_error(file, 0, super::table::OLD_XLS.into()));
    }
    check_unpacked(file, bytes, MAX_UNPACKED_BYTES)?;
    let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e| file_error(file, 0, format!("not a readable XLSX workbook: {e}")))?;
    let sheets = workbook.sheets_metadata().to_vec();
    if let Some(wanted) = sheet {
        let names = || {
            sheets
                .iter()
                .filter(|s| s.typ == SheetType::WorkSheet)
                .map(|s| format!("`{}`", s.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match sheets.iter().find(|s| s.name == wanted) {
            None => {
                return Err(file_error(
                    file,
                    0,
                    format!(
                        "the workbook has no sheet `{wanted}` (its worksheets: {})",
                        names()
                    ),
                ));
            }
            Some(s) if s.typ != SheetType::WorkSheet => {
                return Err(file_error(
                    file,
                    0,
                    format!("sheet `{wanted}` is not a worksheet"),
                ));
            }
            Some(s) if s.visible != SheetVisible::Visible => {
                return Err(file_error(
                    file,
                    0,
                    format!(
                        "sheet `{wanted}` is hidden: show it in Excel first, so what is imported is what was checked"
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    let Some(sheet) = sheets
        .iter()
        .find(|s| {
            s.typ == SheetType::WorkSheet
                && s.visible == SheetVisible::Visible
                && sheet.is_none_or(|w| s.name == w)
        })
        .map(|s| s.name.clone())
    else {
        let reason = if sheets.iter().any(|s| s.typ == SheetType::WorkSheet) {
            "every worksheet of the workbook is hidden: show the sheet to import in Excel"
        } else {
            "the workbook has no worksheet"
        };
        return Err(file_error(file, 0, reason.into()));
    };
    // Cell by cell, keeping only the non-empty ones: a sheet's stated
    // dimensions (one cell at XFD1048576) say nothing of its content, and
    // allocating them aborted the process.
    let unreadable = |e: calamine::XlsxError| {
        file_error(file, 0, format!("worksheet `{sheet}` cannot be read: {e}"))
    };
    let mut cells: BTreeMap<u32, Vec<(u32, Data)>> = BTreeMap::new();
    let mut count = 0usize;
    {
        let mut reader = workbook
            .worksheet_cells_reader(&sheet)
            .map_err(unreadable)?;
        while let Some(cell) = reader.next_cell().map_err(unreadable)? {
            let value: Data = cell.get_value().clone().into();
            if value == Data::Empty {
                continue;
            }
            count += 1;
            if count > MAX_CELLS {
                return Err(file_error(
                    file,
                    0,
                    format!(
                        "worksheet `{sheet}` has more than {MAX_CELLS} cells with values: refused"
                    ),
                ));
            }
            let (r, c) = cell.get_position();
            // A sheet has 1,048,576 rows of 16,384 columns (A to XFD): a
            // reference past them is no cell Excel can show (calamine does
            // not bound the letters), and widening to it would allocate it.
            if r > MAX_ROW || c > MAX_COL {
                return Err(file_error(
                    file,
                    u64::from(r) + 1,
                    format!(
                        "a cell beyond the last column XFD or row 1048576 (column number {}): not a sheet Excel wrote",
                        u64::from(c) + 1
                    ),
                ));
            }
            cells.entry(r).or_default().push((c, value));
        }
    }
    // Why a cell can be empty though the sheet shows a value: a formula
    // whose result was never saved (a program that writes workbooks without
    // calculating them), or the inner part of merged cells (only the first
    // holds the value). Found once, bounded like the cells.
    // A workbook whose writer asks Excel to calculate it on opening
    // (`fullCalcOnLoad`) holds no real result for any formula: its stored
    // value (often 0) is not what Excel shows.
    let uncalculated = saved_without_calculating(bytes);
    let mut formulas: BTreeMap<(u32, u32), &'static str> = BTreeMap::new();
    {
        let mut reader = workbook
            .worksheet_cells_reader(&sheet)
            .map_err(unreadable)?;
        while let Some(f) = reader.next_formula().map_err(unreadable)? {
            let (r, c) = f.get_position();
            let has_value = cells
                .get(&r)
                .is_some_and(|row| row.iter().any(|(cc, _)| *cc == c));
            if f.get_value().is_empty() || formulas.len() >= MAX_CELLS {
                continue;
            }
            if !has_value {
                formulas.insert(
                    (r, c),
                    "a formula whose result was never saved (the file was written by a program that does not calculate): open it in Excel or WPS and save it again",
                );
            } else if uncalculated {
                formulas.insert(
                    (r, c),
                    "a formula in a workbook saved without calculating it: the value stored is not what Excel shows; open it in Excel or WPS and save it again",
                );
            }
        }
    }
    let mut merged = workbook
        .merge_cells_by_sheet_name(&sheet)
        .unwrap_or_default();
    merged.truncate(MAX_MERGED);
    let first_col = cells.values().flatten().map(|(c, _)| *c).min();
    let (Some(first_col), Some((&first_row, _))) = (first_col, cells.first_key_value()) else {
        return Err(file_error(
            file,
            1,
            format!(
                "the first visible worksheet `{sheet}` is empty: no header row (expected columns {}; only that worksheet is read)",
                required.join(",")
            ),
        ));
    };
    let mut rows = cells.into_iter();
    let Some((_, mut header_cells)) = rows.next() else {
        return Err(file_error(file, 1, format!("worksheet `{sheet}` is empty")));
    };
    header_cells.sort_by_key(|(c, _)| *c);
    let header_line = u64::from(first_row) + 1;
    let width = header_cells
        .last()
        .map_or(0, |(c, _)| (c - first_col) as usize + 1);
    let mut header = vec![String::new(); width];
    for (c, cell) in &header_cells {
        let j = (c - first_col) as usize;
        let column = column_letters(first_col, j);
        header[j] = cell_text(cell).map_err(|reason| {
            file_error(file, header_line, format!("header cell {column}: {reason}"))
        })?;
    }
    // Cells right of the last named column are often formatted but empty; a
    // value there belongs to no column and is an error of its row.
    let width = header
        .iter()
        .rposition(|h| !h.is_empty())
        .map_or(0, |i| i + 1);
    header.truncate(width);
    let body: Vec<RawRow> = rows
        .filter_map(|(r, mut sparse)| {
            sparse.sort_by_key(|(c, _)| *c);
            let line = u64::from(r) + 1;
            // Dense up to the header's width; past it, the first value is
            // the row's error (no row is widened to a far cell).
            let mut dense = vec![Data::Empty; header.len()];
            let mut beyond = None;
            for (c, v) in sparse {
                let j = (c - first_col) as usize;
                if j < dense.len() {
                    dense[j] = v;
                } else if beyond.is_none() {
                    beyond = Some((j, v));
                }
            }
            if let Some((j, v)) = beyond {
                // Said as the row's error, without widening the row to it.
                let letters = column_letters(first_col, j);
                return Some(Err(RowError {
                    file: file.to_string(),
                    line,
                    column: Some(letters.clone()),
                    value: cell_text(&v).unwrap_or_default(),
                    reason: format!("a value in column {letters}, which has no header"),
                }));
            }
            for (j, cell) in dense.iter().enumerate().take(header.len()) {
                let c = first_col + j as u32;
                let hint = if let Some(why) = formulas.get(&(r, c)) {
                    Some(*why)
                } else if *cell == Data::Empty
                    && required.contains(&header[j].as_str())
                    && merged
                        .iter()
                        .any(|d| d.contains(r, c) && d.start != (r, c))
                {
                    Some(
                        "empty: part of merged cells, and only the first cell of a merged range holds its value; unmerge the cells and fill each one",
                    )
                } else {
                    None
                };
                if let Some(reason) = hint {
                    return Some(Err(RowError {
                        file: file.to_string(),
                        line,
                        column: Some(header[j].clone()),
                        value: String::new(),
                        reason: reason.into(),
                    }));
                }
            }
            row(file, line, first_col, &header, &dense).transpose()
        })
        .collect();
    let table = Table::from_rows(file, header_line, header, body, required, optional)?;
    Ok((table, sheet))
}

/// Whether the workbook asks to be calculated when opened
/// (`<calcPr fullCalcOnLoad="1"/>` in `xl/workbook.xml`): written by a
/// program that stores no real formula results.
fn saved_without_calculating(bytes: &[u8]) -> bool {
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return false;
    };
    let Ok(part) = zip.by_name("xl/workbook.xml") else {
        return false;
    };
    let mut xml = Vec::new();
    if part.take(1024 * 1024).read_to_end(&mut xml).is_err() {
        return false;
    }
    let xml = String::from_utf8_lossy(&xml);
    xml.contains("fullCalcOnLoad=\"1\"") || xml.contains("fullCalcOnLoad=\"true\"")
}

/// One data row: `None` if every cell is empty (a row cleared in Excel is
/// not a record), else its cells as text or the first bad cell.
fn row(
    file: &str,
    line: u64,
    first_col: u32,
    header: &[String],
    cells: &[Data],
) -> Result<Option<(u64, Vec<String>)>, RowError> {
    let mut out = Vec::with_capacity(header.len());
    let mut any = false;
    for (j, cell) in cells.iter().enumerate() {
        let named = header.get(j).filter(|h| !h.is_empty());
        let column = || match named {
            Some(h) => h.clone(),
            None => column_letters(first_col, j),
        };
        let error = |value: String, reason: String| RowError {
            file: file.to_string(),
            line,
            column: Some(column()),
            value,
            reason,
        };
        let text = cell_text(cell).map_err(|reason| error(String::new(), reason))?;
        if text.is_empty() {
            if j < header.len() {
                out.push(text);
            }
            continue;
        }
        any = true;
        if j >= header.len() {
            return Err(error(
                text,
                format!(
                    "a value in column {}, which has no header",
                    column_letters(first_col, j)
                ),
            ));
        }
        out.push(text);
    }
    Ok(any.then_some((line, out)))
}

/// The text a CSV export of the cell would hold, or why there is none.
fn cell_text(cell: &Data) -> Result<String, String> {
    Ok(match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number_text(*f),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(dt) if dt.is_duration() => {
            return Err("a duration, not a date or a number".into());
        }
        Data::DateTime(dt) => {
            if dt.as_f64() < 1.0 {
                return Err("a time of day without a date".into());
            }
            format!("{}", shown_date(dt)?)
        }
        // An ISO cell (`t="d"`): keep the date part, as for a serial date.
        Data::DateTimeIso(s) => match s.split_once('T') {
            Some((date, _)) => date.to_string(),
            None if s.contains(':') => return Err("a time of day without a date".into()),
            None => s.trim().to_string(),
        },
        Data::DurationIso(_) => return Err("a duration, not a date or a number".into()),
        Data::Error(e) => return Err(format!("the cell holds the Excel error {e}")),
    })
}

/// The day a date-time cell shows. calamine rounds to the millisecond, so a
/// serial a hair before midnight (`46315.9999999999`, what some programs
/// write for "the end of the day") comes back as the next day at 00:00:00.000;
/// Excel shows the day of the serial's whole part.
fn shown_date(dt: &calamine::ExcelDateTime) -> Result<crdt_schema::Date, String> {
    let (y, m, d, h, mi, sec, ms) = dt.to_ymd_hms_milli();
    let date: crdt_schema::Date = format!("{y:04}-{m:02}-{d:02}")
        .parse()
        .map_err(|e| format!("a date outside the supported years ({e})"))?;
    let v = dt.as_f64();
    let rolled_over = v - v.floor() > 0.5 && (h, mi, sec, ms) == (0, 0, 0, 0);
    if rolled_over {
        crdt_schema::Date::from_ordinal(date.ordinal() - 1)
            .ok_or_else(|| "a date outside the supported years".to_string())
    } else {
        Ok(date)
    }
}

/// A whole number as an integer (`480.0` → `480`), anything else in its
/// shortest round-trip decimal form (`480.5`). No arithmetic on the value:
/// the float is only tested for being whole and printed.
fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() <= MAX_EXACT {
        // Exact: a whole float within ±2^53 converts to i64 without loss.
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// Excel's name of a column (A, B, …, Z, AA, …) from the sheet's first used
/// column and the offset within the used range.
fn column_letters(first_col: u32, offset: usize) -> String {
    let mut n = u64::from(first_col) + offset as u64 + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        letters.push(char::from(b'A' + rem));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_a_csv_export_would_write_them() {
        assert_eq!(number_text(480.0), "480");
        assert_eq!(number_text(-3.0), "-3");
        assert_eq!(number_text(0.0), "0");
        assert_eq!(number_text(480.5), "480.5");
        assert_eq!(number_text(5_200_000_001.0), "5200000001");
    }

    #[test]
    fn a_date_time_just_before_midnight_is_the_day_it_shows() {
        use calamine::{ExcelDateTime, ExcelDateTimeType};
        let cell = |v: f64| {
            cell_text(&Data::DateTime(ExcelDateTime::new(
                v,
                ExcelDateTimeType::DateTime,
                false,
            )))
            .unwrap()
        };
        // Serial 46315 is 2026-10-20 (1899-12-30 + 46315 days).
        assert_eq!(cell(46315.0), "2026-10-20");
        assert_eq!(cell(46315.5), "2026-10-20");
        assert_eq!(cell(46315.9999999999), "2026-10-20");
        assert_eq!(cell(46316.0), "2026-10-21");
    }

    #[test]
    fn columns_are_named_as_excel_names_them() {
        assert_eq!(column_letters(0, 0), "A");
        assert_eq!(column_letters(0, 25), "Z");
        assert_eq!(column_letters(0, 26), "AA");
        assert_eq!(column_letters(2, 0), "C");
        assert_eq!(column_letters(0, 701), "ZZ");
        assert_eq!(column_letters(0, 702), "AAA");
    }
}
