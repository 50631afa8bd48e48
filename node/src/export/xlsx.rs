//! The XLSX workbook: sheet `计分考核` is the assessment as printed (heading,
//! one row per inmate, problems, signature lines; A4 landscape, headings
//! repeated on every page), sheet `计算明细` every numerator and denominator
//! behind it.
//!
//! Numbers without floating-point arithmetic on scores:
//! - `计算明细` holds every figure as the report's exact integer (cp, ms, bp,
//!   days) in a number cell: an integer up to 2^53 is exact in Excel's
//!   double, and anything larger (no real month comes near) is written as
//!   text rather than rounded. This sheet is what to sum or check.
//! - `计分考核` shows points as number cells formatted `0.00`, whose value is
//!   the decimal text of the centipoints (`Cp`'s integer formatting, 2987 →
//!   "29.87") parsed as Excel parses what a clerk types: the nearest double to
//!   that decimal, never the result of a division. So the sheet displays
//!   exactly the report's figures and still sorts and filters as numbers.
//!
//! Deterministic: the document's creation time, which Excel files carry and
//! `rust_xlsxwriter` would take from the clock, is set to the first day of
//! the month, and nothing else in the file depends on the time, so the same
//! report gives byte-identical workbooks.

use crdt_schema::{Cp, RegistryFacts, Report};
use rust_xlsxwriter::{
    ColNum, DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, RowNum, Workbook,
    Worksheet, XlsxError,
};

use super::{COLUMNS, Cell, Column, DETAIL_COLUMNS, TITLE, View};

/// Excel's paper size code for A4.
pub(super) const A4: u8 = 9;
/// The largest magnitude every integer below which is exact in a double.
const MAX_EXACT: u64 = 1 << 53;

/// Why a workbook could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("writing the XLSX workbook: {0}")]
    Xlsx(#[from] XlsxError),
}

/// The formats of the workbook's cells.
struct Formats {
    title: Format,
    subtitle: Format,
    label: Format,
    value: Format,
    heading: Format,
    text: Format,
    int: Format,
    points: Format,
    plain: Format,
}

impl Formats {
    fn new() -> Formats {
        let cell = Format::new().set_border(FormatBorder::Thin);
        Formats {
            title: Format::new()
                .set_bold()
                .set_font_size(16)
                .set_align(FormatAlign::Center),
            subtitle: Format::new()
                .set_font_size(12)
                .set_align(FormatAlign::Center),
            label: Format::new().set_bold(),
            value: Format::new(),
            heading: cell
                .clone()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_background_color(0xEEEEEE),
            text: cell.clone(),
            int: cell.clone().set_num_format("0"),
            points: cell.set_num_format("0.00"),
            plain: Format::new(),
        }
    }
}

/// The workbook of a district-month; see the module documentation.
pub fn to_xlsx(registry: &RegistryFacts, report: &Report) -> Result<Vec<u8>, ExportError> {
    let view = View::new(registry, report);
    let f = Formats::new();
    let mut wb = Workbook::new();
    let created = ExcelDateTime::from_ymd(report.month.year(), report.month.month(), 1)?;
    let props = DocProperties::new()
        .set_title(TITLE)
        .set_subject(&view.subtitle)
        .set_company(registry.prison.clone().unwrap_or_default())
        .set_comment(format!("report digest {}", report.digest))
        .set_creation_datetime(&created);
    wb.set_properties(&props);

    let print_header = format!(
        "&L{}&R{} {}",
        excel_header_text(TITLE),
        excel_header_text(report.district.as_str()),
        report.month
    );

    let ws = wb.add_worksheet();
    ws.set_name("计分考核")?;
    assessment(ws, &view, &f)?;
    page_setup(ws, &print_header);

    let ws = wb.add_worksheet();
    ws.set_name("计算明细")?;
    table(ws, 0, &DETAIL_COLUMNS, &view.detail, &f)?;
    ws.set_repeat_rows(0, 0)?;
    ws.set_freeze_panes(1, 2)?;
    widths(
        ws,
        &[
            12, 10, 7, 7, 7, 7, 10, 14, 12, 9, 13, 13, 9, 8, 9, 9, 9, 9, 9, 9, 10, 24,
        ],
    )?;
    page_setup(ws, &print_header);

    Ok(wb.save_to_buffer()?)
}

fn assessment(ws: &mut Worksheet, v: &View, f: &Formats) -> Result<(), XlsxError> {
    let last = (COLUMNS.len() - 1) as ColNum;
    ws.merge_range(0, 0, 0, last, TITLE, &f.title)?;
    ws.set_row_height(0, 24)?;
    ws.merge_range(1, 0, 1, last, &v.subtitle, &f.subtitle)?;
    let mut r: RowNum = 2;
    for (label, value) in &v.heading {
        ws.merge_range(r, 0, r, 2, label, &f.label)?;
        ws.merge_range(r, 3, r, last, value, &f.value)?;
        r += 1;
    }
    r += 1;
    let header_row = r;
    r = table(ws, header_row, &COLUMNS, &v.rows, f)?;
    ws.set_repeat_rows(header_row, header_row)?;
    ws.set_freeze_panes(header_row + 1, 2)?;
    widths(ws, &[12, 10, 8, 8, 8, 9, 9, 9, 9, 9, 10, 24])?;

    r += 1;
    if !v.unallocated.is_empty() {
        ws.write_string_with_format(
            r,
            0,
            "未分配的班组计数 Team counts credited to no one",
            &f.label,
        )?;
        r += 1;
        for u in &v.unallocated {
            ws.write_string_with_format(r, 0, u, &f.plain)?;
            r += 1;
        }
        r += 1;
    }
    if !v.transferred.is_empty() {
        ws.write_string_with_format(r, 0, "调出人员 Transferred out", &f.label)?;
        r += 1;
        for t in &v.transferred {
            ws.write_string_with_format(r, 0, t, &f.plain)?;
            r += 1;
        }
        r += 1;
    }
    ws.write_string_with_format(r, 0, "问题 Problems", &f.label)?;
    r += 1;
    if v.problems.is_empty() {
        ws.write_string_with_format(r, 0, "无 none", &f.plain)?;
        r += 1;
    }
    for p in &v.problems {
        ws.write_string_with_format(r, 0, p, &f.plain)?;
        r += 1;
    }
    r += 2;
    let [chief, date] = v.signatures;
    ws.merge_range(
        r,
        0,
        r,
        5,
        &format!("{chief}：____________________"),
        &f.label,
    )?;
    ws.merge_range(
        r,
        6,
        r,
        last,
        &format!("{date}：____________________"),
        &f.label,
    )?;
    Ok(())
}

/// Writes the headings at `row` and the rows under them; returns the row
/// after the table.
fn table(
    ws: &mut Worksheet,
    row: RowNum,
    columns: &[Column],
    rows: &[Vec<Cell>],
    f: &Formats,
) -> Result<RowNum, XlsxError> {
    for (c, (zh, en)) in columns.iter().enumerate() {
        ws.write_string_with_format(row, c as ColNum, format!("{zh}\n{en}"), &f.heading)?;
    }
    ws.set_row_height(row, 30)?;
    let mut r = row + 1;
    for cells in rows {
        for (c, cell) in cells.iter().enumerate() {
            let c = c as ColNum;
            match cell {
                Cell::Text(s) => ws.write_string_with_format(r, c, s, &f.text)?,
                Cell::Int(i) => write_int(ws, r, c, *i, &f.int, &f.text)?,
                Cell::Points(cp) => write_points(ws, r, c, *cp, &f.points, &f.text)?,
            };
        }
        r += 1;
    }
    Ok(r)
}

/// An exact integer as a number cell; as text if a double cannot hold it.
pub(super) fn write_int<'w>(
    ws: &'w mut Worksheet,
    r: RowNum,
    c: ColNum,
    v: i64,
    number: &Format,
    text: &Format,
) -> Result<&'w mut Worksheet, XlsxError> {
    if v.unsigned_abs() <= MAX_EXACT {
        // Exact: |v| ≤ 2^53 converts to f64 without rounding.
        ws.write_number_with_format(r, c, v as f64, number)
    } else {
        ws.write_string_with_format(r, c, v.to_string(), text)
    }
}

/// Points as a number cell whose value is the parsed decimal text of the
/// centipoints (see the module documentation).
pub(super) fn write_points<'w>(
    ws: &'w mut Worksheet,
    r: RowNum,
    c: ColNum,
    cp: Cp,
    number: &Format,
    text: &Format,
) -> Result<&'w mut Worksheet, XlsxError> {
    let shown = cp.to_string();
    match shown.parse::<f64>() {
        Ok(v) if cp.0.unsigned_abs() <= MAX_EXACT => ws.write_number_with_format(r, c, v, number),
        _ => ws.write_string_with_format(r, c, shown, text),
    }
}

fn widths(ws: &mut Worksheet, widths: &[u8]) -> Result<(), XlsxError> {
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as ColNum, *w)?;
    }
    Ok(())
}

/// A4 landscape, one page wide, page numbers in the footer.
fn page_setup(ws: &mut Worksheet, header: &str) {
    ws.set_paper_size(A4);
    ws.set_landscape();
    ws.set_print_fit_to_pages(1, 0);
    ws.set_print_center_horizontally(true);
    ws.set_header(header);
    ws.set_footer("&C第 &P 页 / 共 &N 页  Page &P of &N");
}

/// Text for a print header or footer, where `&` starts a control code.
fn excel_header_text(s: &str) -> String {
    s.replace('&', "&&")
}
