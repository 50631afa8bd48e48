//! The procedure's paper: the weekly sheet (周评议表) the district group
//! reviews, and the inmate's monthly sheet (月评表), one page per inmate,
//! that the inmate signs or refuses — each as an XLSX workbook and as a
//! printable HTML page.
//!
//! Both are built as a [`Sheet`] (pages of facts and tables) from figures
//! scoring already made (the report, its explanations, the weekly rows), and
//! the two formats render that one model, so the workbook and the page
//! cannot disagree. Nothing is computed here but text. Same input, same
//! bytes: no clock (the workbook's creation time is the period's first day).

use std::fmt::Write as _;

use crdt_schema::{
    AnswerOutcome, ApplicationKind, Cp, DistrictId, EntryStatus, InmateExplanation, Level,
    RegistryFacts, Report, Review, Week, WeekRow,
};
use rust_xlsxwriter::{
    ColNum, DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, RowNum, Workbook,
};

use super::html::escape;
use super::xlsx::ExportError;
use super::{Cell, Column, district_name, flag_labels, inmate_name};
use crate::service::review::ApplicationRow;

/// A document of pages, each of facts and tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    pub title: String,
    pub subtitle: String,
    /// The date the workbook says it was created (the period's first day).
    pub created: crdt_schema::Date,
    /// The workbook's column widths (characters), chosen so a page fits
    /// A4 portrait at the print scale.
    pub widths: Vec<u16>,
    pub pages: Vec<Page>,
}

/// One printed page (it may run over onto more).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Page {
    pub heading: String,
    pub facts: Vec<(String, String)>,
    pub tables: Vec<Table>,
    /// Signature lines at the foot of the page ("罪犯签名", …).
    pub signatures: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub caption: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    /// What an empty table says.
    pub empty: &'static str,
}

fn status_zh(s: EntryStatus) -> &'static str {
    match s {
        EntryStatus::Counted => "计入",
        EntryStatus::AwaitingReview => "待评议",
        EntryStatus::AwaitingApproval => "待审批",
        EntryStatus::Returned => "退回",
        EntryStatus::Void => "无劳动日不计",
        EntryStatus::NotCounted => "不计入",
    }
}

fn level_zh(l: Level) -> &'static str {
    match l {
        Level::Spot => "当场",
        Level::Group => "监区小组",
        Level::PrisonGroup => "工作组",
        Level::Chief => "监区长",
    }
}

fn outcome_zh(o: crdt_schema::Outcome) -> String {
    match o {
        crdt_schema::Outcome::Pass => "通过".into(),
        crdt_schema::Outcome::Correct { points_cp } => format!("更正为 {points_cp}"),
        crdt_schema::Outcome::Return => "退回".into(),
    }
}

const ENTRY_COLUMNS: [Column; 8] = [
    ("编号", "Id"),
    ("日期", "Date"),
    ("分值", "Points"),
    ("计分", "Counts as"),
    ("事由", "Reason"),
    ("决定层级", "Level"),
    ("评议决定", "Decision"),
    ("状态", "State"),
];

fn entry_row(a: &crdt_schema::AdjustmentLine) -> Vec<Cell> {
    vec![
        Cell::Text(a.id.to_string()),
        Cell::Text(a.date.to_string()),
        Cell::Points(a.points_cp),
        Cell::Points(a.counted_cp),
        Cell::Text(a.reason.clone()),
        Cell::Text(level_zh(a.level).into()),
        Cell::Text(match &a.decision {
            Some(d) => format!(
                "{} {} 评议 {}/{} 赞成 {}",
                d.week,
                d.held,
                d.in_favour,
                d.members,
                outcome_zh(d.outcome)
            ),
            None => String::new(),
        }),
        Cell::Text(status_zh(a.status).into()),
    ]
}

/// The weekly sheet of `district` for `week`: the reviews held for it, and
/// per inmate the week's labor days and rate with each entry and its state.
pub fn weekly_sheet(
    registry: &RegistryFacts,
    district: &DistrictId,
    week: Week,
    rows: &[WeekRow],
    reviews: &[Review],
) -> Sheet {
    let mut facts = vec![(
        "周 Week".to_string(),
        format!("{week}（{} 至 {}）", week.monday(), week.sunday()),
    )];
    if reviews.is_empty() {
        facts.push(("评议 Review".into(), "本周尚未评议 not reviewed yet".into()));
    }
    for r in reviews {
        facts.push((
            "评议 Review".into(),
            format!(
                "{} 举行：组成人员 {}，到会 {}，赞成 {}；决定 {} 项{}",
                r.held,
                r.members,
                r.present,
                r.in_favour,
                r.decisions.len(),
                if r.dissent.is_empty() {
                    String::new()
                } else {
                    format!("；不同意见：{}", r.dissent)
                }
            ),
        ));
    }
    let table = Table {
        caption: "每人本周劳动日、效率与加扣分 Per inmate: labor days, rate, entries".into(),
        columns: vec![
            ("编号", "No."),
            ("姓名", "Name"),
            ("劳动日", "Labor days"),
            ("周效率", "Week's rate"),
            ("加扣分及状态", "Entries and their state"),
        ],
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    Cell::Text(r.inmate_no.to_string()),
                    Cell::Text(inmate_name(registry, &r.inmate_no).into()),
                    Cell::Int(i64::from(r.labor_days)),
                    Cell::Text(r.rate.map(|b| b.to_string()).unwrap_or_else(|| "—".into())),
                    Cell::Text(
                        r.entries
                            .iter()
                            .map(|a| {
                                format!(
                                    "{} {} {} {}（{}）",
                                    a.id,
                                    a.date,
                                    a.counted_cp,
                                    a.reason,
                                    status_zh(a.status)
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("\n"),
                    ),
                ]
            })
            .collect(),
        empty: "本周无劳动日、无加扣分 nothing this week",
    };
    Sheet {
        title: "劳动改造计分 周评议表".into(),
        subtitle: format!(
            "{} {} · {week}",
            district,
            district_name(registry, district)
        ),
        created: week.monday(),
        widths: vec![12, 10, 8, 10, 62],
        pages: vec![Page {
            heading: String::new(),
            facts,
            tables: vec![table],
            signatures: vec!["主持人（监区长） Chair".into(), "记录人 Recorded by".into()],
        }],
    }
}

/// The monthly sheets (月评表) of a district-month: one page per inmate of
/// the report, with the figures, the entries and their decisions, the
/// posting, the inmate's applications and answers, and the acknowledgement.
pub fn monthly_sheets(
    registry: &RegistryFacts,
    report: &Report,
    explained: &[InmateExplanation],
    applications: &[ApplicationRow],
    recorded_by: &std::collections::BTreeMap<crdt_schema::InmateNo, String>,
) -> Sheet {
    let posting = match &report.posting {
        Some(p) => format!(
            "{} 至 {}{}",
            p.first_day,
            p.last_day,
            if p.current {
                ""
            } else {
                "（公示后报告有变化）"
            }
        ),
        None => "尚未公示 not posted".into(),
    };
    // The over-fulfilment bonus is computed, not proposed: the prison group
    // approves it only from the rule set's approval amount on.
    let rules = registry
        .rule_set_for(report.month)
        .cloned()
        .unwrap_or_else(|| crdt_schema::RuleSet::standard(report.month));
    let approver = if rules.decision_levels {
        Level::PrisonGroup
    } else {
        Level::Chief
    };
    let pages = explained
        .iter()
        .map(|e| {
            let r = &e.result;
            let no = &r.inmate_no;
            let mut facts = vec![
                (
                    "罪犯 Inmate".to_string(),
                    format!("{no} {}", inmate_name(registry, no)),
                ),
                ("在押天数 Custody days".into(), r.custody_days.to_string()),
                ("劳动天数 Labor days".into(), r.labor_days.to_string()),
                ("基础分 Base".into(), r.base_cp.to_string()),
                ("加分 Bonus".into(), r.bonus_cp.to_string()),
                ("扣分 Deduction".into(), r.deduct_cp.to_string()),
                ("劳动改造分 Labor score".into(), r.labor_cp.to_string()),
            ];
            if r.pending_bonus_cp != Cp::ZERO || r.pending_deduct_cp != Cp::ZERO {
                facts.push((
                    "待定 Pending".into(),
                    format!("加分 {}，扣分 {}", r.pending_bonus_cp, r.pending_deduct_cp),
                ));
            }
            if !r.flags.is_empty() {
                facts.push(("标记 Flags".into(), flag_labels(&r.flags)));
            }
            facts.push(("公示期 Posted".into(), posting.clone()));
            facts.push((
                "签收 Acknowledged".into(),
                match report.acknowledgements.get(no) {
                    Some(a) => format!(
                        "{} {}{}",
                        match a.state {
                            crdt_schema::AckState::Signed => "签字",
                            crdt_schema::AckState::Refused => "拒签",
                            crdt_schema::AckState::NotAvailable => "无法签字",
                        },
                        a.date,
                        recorded_by
                            .get(no)
                            .map(|who| format!("，记录民警 {who}"))
                            .unwrap_or_default()
                    ),
                    None => "未记录 not recorded".into(),
                },
            ));
            let mut entries: Vec<Vec<Cell>> = e.adjustments.iter().map(entry_row).collect();
            if let Some(status) = e.overfulfil_status
                && r.overfulfil_bonus_cp != Cp::ZERO
            {
                entries.push(vec![
                    Cell::Text("超额".into()),
                    Cell::Text(String::new()),
                    Cell::Points(r.overfulfil_bonus_cp),
                    Cell::Points(if status == EntryStatus::Counted {
                        r.overfulfil_bonus_cp
                    } else {
                        Cp::ZERO
                    }),
                    Cell::Text("超额完成劳动任务加分".into()),
                    Cell::Text(
                        if r.overfulfil_bonus_cp >= rules.approval_bonus_cp {
                            level_zh(approver)
                        } else {
                            "计算所得"
                        }
                        .into(),
                    ),
                    Cell::Text(String::new()),
                    Cell::Text(status_zh(status).into()),
                ]);
            }
            let apps: Vec<Vec<Cell>> = applications
                .iter()
                .filter(|a| a.application.inmate == *no)
                .map(|a| {
                    let app = &a.application;
                    vec![
                        Cell::Text(a.id.to_string()),
                        Cell::Text(
                            match app.kind {
                                ApplicationKind::Recheck => "复查",
                                ApplicationKind::Review => "复核",
                            }
                            .into(),
                        ),
                        Cell::Text(match &app.entry {
                            Some(id) => id.to_string(),
                            None => app.figure.clone(),
                        }),
                        Cell::Text(app.reason.clone()),
                        Cell::Text(format!(
                            "{}{}",
                            app.received,
                            if a.late { "（逾期）" } else { "" }
                        )),
                        Cell::Text(match &a.answer {
                            Some(ans) => format!(
                                "{} {}{}",
                                ans.decided,
                                match ans.outcome {
                                    AnswerOutcome::Upheld => "维持".to_string(),
                                    AnswerOutcome::Corrected { points_cp } =>
                                        format!("更正为 {points_cp}"),
                                },
                                if a.answer_late { "（逾期）" } else { "" }
                            ),
                            None => format!(
                                "待答复，期限 {}",
                                a.answer_due.map(|d| d.to_string()).unwrap_or_default()
                            ),
                        }),
                    ]
                })
                .collect();
            Page {
                heading: format!("{no} {}", inmate_name(registry, no)),
                facts,
                tables: vec![
                    Table {
                        caption: "加扣分 Entries".into(),
                        columns: ENTRY_COLUMNS.to_vec(),
                        rows: entries,
                        empty: "无 none",
                    },
                    Table {
                        caption: "复查、复核 Applications".into(),
                        columns: vec![
                            ("编号", "Id"),
                            ("类型", "Kind"),
                            ("对象", "Of"),
                            ("理由", "Reason"),
                            ("收到", "Received"),
                            ("答复", "Answer"),
                        ],
                        rows: apps,
                        empty: "无 none",
                    },
                ],
                signatures: vec![
                    "罪犯签名 Inmate".into(),
                    "民警 Officer".into(),
                    "日期 Date".into(),
                ],
            }
        })
        .collect();
    Sheet {
        title: "劳动改造计分 月评表".into(),
        subtitle: format!(
            "{} {} · {} · 报告摘要 {}",
            report.district,
            district_name(registry, &report.district),
            report.month,
            report.digest
        ),
        created: report.month.first(),
        widths: vec![24, 11, 8, 8, 20, 9, 24, 9],
        pages,
    }
}

const STYLE: &str = r#"
@page { size: A4 portrait; margin: 12mm 10mm 14mm 10mm; }
* { box-sizing: border-box; }
body { font-family: "Microsoft YaHei", "SimSun", "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", sans-serif; font-size: 10pt; color: #000; background: #fff; margin: 0; }
h1 { font-size: 15pt; text-align: center; margin: 0 0 1mm 0; }
h2 { font-size: 12pt; margin: 3mm 0 2mm 0; }
h3 { font-size: 10.5pt; margin: 3mm 0 1mm 0; }
p.subtitle { text-align: center; font-size: 10pt; margin: 0 0 3mm 0; overflow-wrap: anywhere; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.5mm 4mm; margin: 0 0 2mm 0; }
dl.facts dt { font-weight: bold; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 0.5pt solid #000; padding: 0.8mm 1.2mm; vertical-align: top; white-space: pre-line; }
th { background: #eee; font-weight: bold; text-align: center; }
th small { display: block; font-weight: normal; font-size: 7pt; }
td.n { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
section.page + section.page { break-before: page; page-break-before: always; }
.signatures { display: flex; gap: 12mm; margin-top: 12mm; break-inside: avoid; page-break-inside: avoid; }
.signatures div { flex: 1; }
.signatures span.line { display: inline-block; width: 55%; border-bottom: 0.5pt solid #000; }
@media screen { body { max-width: 200mm; margin: 8mm auto; } section.page { border-bottom: 1px dashed #999; padding-bottom: 6mm; margin-bottom: 6mm; } }
@media print { th { background: #eee; -webkit-print-color-adjust: exact; print-color-adjust: exact; } }
"#;

/// The sheet as one self-contained printable page (no script, nothing
/// fetched), each of its pages starting a printed page.
pub fn to_html(s: &Sheet) -> String {
    let mut h = String::with_capacity(4096 + 2048 * s.pages.len());
    let _ = writeln!(h, "<!DOCTYPE html>");
    let _ = writeln!(
        h,
        r#"<html lang="zh-CN"><head><meta charset="utf-8"><title>{} {}</title><style>{STYLE}</style></head><body>"#,
        escape(&s.title),
        escape(&s.subtitle)
    );
    for p in &s.pages {
        let _ = writeln!(h, r#"<section class="page">"#);
        let _ = writeln!(
            h,
            "<h1>{}</h1><p class=\"subtitle\">{}</p>",
            escape(&s.title),
            escape(&s.subtitle)
        );
        if !p.heading.is_empty() {
            let _ = writeln!(h, "<h2>{}</h2>", escape(&p.heading));
        }
        let _ = writeln!(h, r#"<dl class="facts">"#);
        for (k, v) in &p.facts {
            let _ = writeln!(h, "<dt>{}</dt><dd>{}</dd>", escape(k), escape(v));
        }
        let _ = writeln!(h, "</dl>");
        for t in &p.tables {
            let _ = writeln!(h, "<h3>{}</h3>", escape(&t.caption));
            if t.rows.is_empty() {
                let _ = writeln!(h, "<p>{}</p>", escape(t.empty));
                continue;
            }
            let _ = write!(h, "<table><thead><tr>");
            for (zh, en) in &t.columns {
                let _ = write!(h, "<th>{}<small>{}</small></th>", escape(zh), escape(en));
            }
            let _ = writeln!(h, "</tr></thead><tbody>");
            for row in &t.rows {
                let _ = write!(h, "<tr>");
                for c in row {
                    let class = match c {
                        Cell::Text(_) => "",
                        Cell::Int(_) | Cell::Points(_) => r#" class="n""#,
                    };
                    let _ = write!(h, "<td{class}>{}</td>", escape(&c.text()));
                }
                let _ = writeln!(h, "</tr>");
            }
            let _ = writeln!(h, "</tbody></table>");
        }
        if !p.signatures.is_empty() {
            let _ = write!(h, r#"<div class="signatures">"#);
            for sig in &p.signatures {
                let _ = write!(
                    h,
                    r#"<div>{}：<span class="line"></span></div>"#,
                    escape(sig)
                );
            }
            let _ = writeln!(h, "</div>");
        }
        let _ = writeln!(h, "</section>");
    }
    let _ = writeln!(h, "</body></html>");
    h
}

/// Pages per worksheet: Excel keeps at most 1023 manual page breaks in one.
const PAGES_PER_WORKSHEET: usize = 1000;

/// Excel's limit on one cell's text, in UTF-16 code units (how the XLSX
/// writer counts: a character outside the BMP, as some rare name
/// characters are, counts two).
const MAX_CELL_UNITS: usize = 32_767;

/// A cell's text within Excel's limit (a week of a great many entries would
/// exceed it): cut on a character boundary, and said so.
fn cell_text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.encode_utf16().count() <= MAX_CELL_UNITS {
        return s.into();
    }
    const MORE: &str = "…（余下见 HTML 版）";
    let budget = MAX_CELL_UNITS - MORE.encode_utf16().count();
    let mut units = 0;
    let mut cut = String::new();
    for c in s.chars() {
        units += c.len_utf16();
        if units > budget {
            break;
        }
        cut.push(c);
    }
    cut.push_str(MORE);
    cut.into()
}

/// How wide text prints, in character widths: CJK characters take two.
fn print_width(s: &str) -> usize {
    s.chars()
        .map(|c| if u32::from(c) >= 0x2E80 { 2 } else { 1 })
        .sum()
}

/// The height (points) of a merged row holding `text` across `width`
/// characters: merged cells are never fitted to their text by Excel. Each
/// line of the text wraps on its own; at most Excel's 409 points.
fn merged_height(text: &str, width: usize) -> f64 {
    let lines: usize = text
        .split('\n')
        .map(|l| print_width(l).div_ceil(width.max(1)).max(1))
        .sum();
    (15.0 * lines as f64).min(409.0)
}

/// The sheet as a workbook: its pages one under another on a worksheet (a
/// new worksheet every 1000 pages), a page break before each, A4 portrait
/// at a fixed scale — not fitted to a page width, which makes Excel ignore
/// the page breaks and run the inmates' pages into each other.
pub fn to_xlsx(s: &Sheet) -> Result<Vec<u8>, ExportError> {
    let mut wb = Workbook::new();
    let created =
        ExcelDateTime::from_ymd(s.created.year(), s.created.month().month(), s.created.day())?;
    wb.set_properties(
        &DocProperties::new()
            .set_title(&s.title)
            .set_subject(&s.subtitle)
            .set_creation_datetime(&created),
    );
    let cell = Format::new().set_border(FormatBorder::Thin).set_text_wrap();
    let title = Format::new()
        .set_bold()
        .set_font_size(14)
        .set_align(FormatAlign::Center);
    let bold = Format::new().set_bold();
    let heading = cell
        .clone()
        .set_bold()
        .set_align(FormatAlign::Center)
        .set_background_color(0xEEEEEE);
    let int = cell.clone().set_num_format("0");
    let points = cell.clone().set_num_format("0.00");
    let widest = s
        .pages
        .iter()
        .flat_map(|p| p.tables.iter().map(|t| t.columns.len()))
        .max()
        .unwrap_or(2)
        .max(2);
    let last = (widest - 1) as ColNum;
    let chunks: Vec<&[Page]> = if s.pages.is_empty() {
        vec![&[]]
    } else {
        s.pages.chunks(PAGES_PER_WORKSHEET).collect()
    };
    for (n, pages) in chunks.into_iter().enumerate() {
        let ws = wb.add_worksheet();
        ws.set_name(if n == 0 {
            "表".to_string()
        } else {
            format!("表{}", n + 1)
        })?;
        ws.set_paper_size(super::xlsx::A4);
        ws.set_portrait();
        ws.set_print_scale(75);
        ws.set_print_center_horizontally(true);
        ws.set_footer("&C第 &P 页 / 共 &N 页  Page &P of &N");
        for c in 0..=last {
            let w = s.widths.get(usize::from(c)).copied().unwrap_or(14);
            ws.set_column_width(c, w)?;
        }
        let total: usize = (0..=last)
            .map(|c| usize::from(s.widths.get(usize::from(c)).copied().unwrap_or(14)))
            .sum();
        let rest = total.saturating_sub(usize::from(s.widths.first().copied().unwrap_or(14)));
        let wrap = Format::new().set_text_wrap();
        let mut r: RowNum = 0;
        let mut breaks = Vec::new();
        for p in pages {
            if r > 0 {
                breaks.push(r);
            }
            ws.merge_range(r, 0, r, last, &s.title, &title)?;
            r += 1;
            ws.merge_range(r, 0, r, last, &s.subtitle, &wrap)?;
            ws.set_row_height(r, merged_height(&s.subtitle, total))?;
            r += 1;
            if !p.heading.is_empty() {
                ws.write_string_with_format(r, 0, &p.heading, &bold)?;
                r += 1;
            }
            for (k, v) in &p.facts {
                ws.write_string_with_format(r, 0, k, &bold)?;
                ws.merge_range(r, 1, r, last, &cell_text(v), &wrap)?;
                ws.set_row_height(r, merged_height(v, rest))?;
                r += 1;
            }
            for t in &p.tables {
                r += 1;
                ws.write_string_with_format(r, 0, &t.caption, &bold)?;
                r += 1;
                if t.rows.is_empty() {
                    ws.write_string(r, 0, t.empty)?;
                    r += 1;
                    continue;
                }
                for (c, (zh, en)) in t.columns.iter().enumerate() {
                    ws.write_string_with_format(r, c as ColNum, format!("{zh}\n{en}"), &heading)?;
                }
                r += 1;
                for row in &t.rows {
                    for (c, v) in row.iter().enumerate() {
                        let c = c as ColNum;
                        match v {
                            Cell::Text(text) => {
                                ws.write_string_with_format(r, c, cell_text(text), &cell)?
                            }
                            Cell::Int(i) => super::xlsx::write_int(ws, r, c, *i, &int, &cell)?,
                            Cell::Points(cp) => {
                                super::xlsx::write_points(ws, r, c, *cp, &points, &cell)?
                            }
                        };
                    }
                    r += 1;
                }
            }
            r += 2;
            for (i, sig) in p.signatures.iter().enumerate() {
                ws.write_string_with_format(
                    r,
                    (i * 2) as ColNum,
                    format!("{sig}：________"),
                    &bold,
                )?;
            }
            r += 2;
        }
        if !breaks.is_empty() {
            ws.set_page_breaks(&breaks)?;
        }
    }
    Ok(wb.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_text_stays_within_excels_limit_in_utf16_units() {
        assert_eq!(cell_text("张镕 2026-04-16"), "张镕 2026-04-16");
        // 20 000 characters outside the BMP are 40 000 UTF-16 units: cut to
        // at most 32 767 on a character boundary, and said so.
        let long = "𠀀".repeat(20_000);
        let cut = cell_text(&long);
        assert!(cut.encode_utf16().count() <= MAX_CELL_UNITS);
        assert!(cut.ends_with("…（余下见 HTML 版）"));
        assert!(
            cut.trim_end_matches("…（余下见 HTML 版）")
                .chars()
                .all(|c| c == '𠀀')
        );
        // Exactly at the limit: kept whole.
        let at = "a".repeat(MAX_CELL_UNITS);
        assert_eq!(cell_text(&at).len(), MAX_CELL_UNITS);
    }

    #[test]
    fn a_merged_rows_height_counts_each_line_and_stops_at_excels_limit() {
        // 2 lines of 10 CJK characters (20 widths) in 20 widths: 2 lines.
        assert_eq!(
            merged_height("一二三四五六七八九十\n一二三四五六七八九十", 20),
            30.0
        );
        // One line of 30 widths in 20: 2 lines.
        assert_eq!(merged_height(&"a".repeat(30), 20), 30.0);
        assert_eq!(merged_height(&"a\n".repeat(100), 20), 409.0);
    }
}
