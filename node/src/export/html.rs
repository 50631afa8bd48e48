//! The printable report: one self-contained HTML page (inline CSS, no
//! script, no image, no font or style sheet fetched from anywhere, so it
//! prints the same from a USB stick on a PC with no network), laid out for
//! A4 landscape with the table headings repeated on every printed page.
//! Every piece of text from the registry or the report is HTML-escaped: names
//! and reasons are typed by people.

use std::fmt::Write as _;

use crdt_schema::{RegistryFacts, Report};

use super::{COLUMNS, Cell, Column, DETAIL_COLUMNS, TITLE, View};

/// Print layout. `thead` as a header group is what makes browsers repeat the
/// headings on each page; rows are not split across pages. The fonts are
/// the CJK fonts found on Chinese Windows and Linux desktops, by name only.
const STYLE: &str = r#"
@page { size: A4 landscape; margin: 12mm 10mm 14mm 10mm; }
* { box-sizing: border-box; }
body { font-family: "Microsoft YaHei", "SimSun", "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", sans-serif; font-size: 10pt; color: #000; background: #fff; margin: 0; }
h1 { font-size: 16pt; text-align: center; margin: 0 0 1mm 0; }
h2 { font-size: 12pt; margin: 5mm 0 2mm 0; }
p.subtitle { text-align: center; font-size: 11pt; margin: 0 0 3mm 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.5mm 4mm; margin: 0 0 3mm 0; }
dl.facts dt { font-weight: bold; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 0.5pt solid #000; padding: 0.8mm 1.2mm; vertical-align: top; }
th { background: #eee; font-weight: bold; text-align: center; }
th small { display: block; font-weight: normal; font-size: 7pt; }
td.n { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
section.detail { break-before: page; page-break-before: always; }
section.detail table { font-size: 7.5pt; }
ul { margin: 0; padding-left: 6mm; }
.signatures { display: flex; gap: 20mm; margin-top: 14mm; break-inside: avoid; page-break-inside: avoid; }
.signatures div { flex: 1; }
.signatures span.line { display: inline-block; width: 60%; border-bottom: 0.5pt solid #000; }
.digest { font-family: "Consolas", "DejaVu Sans Mono", monospace; }
@media screen { body { max-width: 287mm; margin: 8mm auto; } }
@media print { th { background: #eee; -webkit-print-color-adjust: exact; print-color-adjust: exact; } }
"#;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The printable report of a district-month; see the module documentation.
pub fn to_html(registry: &RegistryFacts, report: &Report) -> String {
    let view = View::new(registry, report);
    let mut h = String::with_capacity(4096 + 600 * view.rows.len());
    write_page(&mut h, &view).expect("writing to a String cannot fail");
    h
}

fn write_page(h: &mut String, v: &View) -> std::fmt::Result {
    let title = escape(TITLE);
    let subtitle = escape(&v.subtitle);
    writeln!(h, "<!DOCTYPE html>")?;
    writeln!(h, r#"<html lang="zh-CN">"#)?;
    writeln!(h, "<head>")?;
    writeln!(h, r#"<meta charset="utf-8">"#)?;
    writeln!(h, "<title>{title} {subtitle}</title>")?;
    writeln!(h, "<style>{STYLE}</style>")?;
    writeln!(h, "</head>")?;
    writeln!(h, "<body>")?;
    writeln!(h, "<h1>{title}</h1>")?;
    writeln!(h, r#"<p class="subtitle">{subtitle}</p>"#)?;
    writeln!(h, r#"<dl class="facts">"#)?;
    for (label, value) in &v.heading {
        let class = if label.starts_with("报告摘要") {
            r#" class="digest""#
        } else {
            ""
        };
        writeln!(
            h,
            "<dt>{}</dt><dd{class}>{}</dd>",
            escape(label),
            escape(value)
        )?;
    }
    writeln!(h, "</dl>")?;

    table(h, "assessment", &COLUMNS, &v.rows)?;

    if !v.unallocated.is_empty() {
        writeln!(
            h,
            "<h2>未分配的班组计数 Team counts credited to no one</h2>"
        )?;
        list(h, &v.unallocated)?;
    }
    if !v.transferred.is_empty() {
        writeln!(h, "<h2>调出人员 Transferred out</h2>")?;
        list(h, &v.transferred)?;
    }
    writeln!(h, "<h2>问题 Problems</h2>")?;
    if v.problems.is_empty() {
        writeln!(h, "<p>无 none</p>")?;
    } else {
        list(h, &v.problems)?;
    }
    writeln!(h, r#"<div class="signatures">"#)?;
    for s in v.signatures {
        writeln!(
            h,
            r#"<div>{}：<span class="line">&nbsp;</span></div>"#,
            escape(s)
        )?;
    }
    writeln!(h, "</div>")?;

    writeln!(h, r#"<section class="detail">"#)?;
    writeln!(
        h,
        "<h2>计算明细 Calculation details — {subtitle}</h2>\n<p>基础分 = 基础分分子 ÷ 基础分分母（取整）；单位 cp = 0.01 分。Base = numerator ÷ denominator, truncated; 1 cp = 0.01 point.</p>"
    )?;
    table(h, "detail", &DETAIL_COLUMNS, &v.detail)?;
    writeln!(h, "</section>")?;
    writeln!(h, "</body>")?;
    writeln!(h, "</html>")
}

fn table(h: &mut String, class: &str, columns: &[Column], rows: &[Vec<Cell>]) -> std::fmt::Result {
    writeln!(h, r#"<table class="{class}">"#)?;
    write!(h, "<thead><tr>")?;
    for (zh, en) in columns {
        write!(h, "<th>{}<small>{}</small></th>", escape(zh), escape(en))?;
    }
    writeln!(h, "</tr></thead>")?;
    writeln!(h, "<tbody>")?;
    for row in rows {
        write!(h, "<tr>")?;
        for cell in row {
            let class = match cell {
                Cell::Text(_) => "",
                Cell::Int(_) | Cell::Points(_) => r#" class="n""#,
            };
            write!(h, "<td{class}>{}</td>", escape(&cell.text()))?;
        }
        writeln!(h, "</tr>")?;
    }
    writeln!(h, "</tbody>")?;
    writeln!(h, "</table>")
}

fn list(h: &mut String, items: &[String]) -> std::fmt::Result {
    writeln!(h, "<ul>")?;
    for i in items {
        writeln!(h, "<li>{}</li>", escape(i))?;
    }
    writeln!(h, "</ul>")
}

/// The posted sheet (公示表, Art. 35) for the wall and for print: each
/// inmate's labor part with the entries that count or wait, leaving out
/// those marked not for posting (不宜公示), which count all the same, and
/// the posting's period with the last day an application is in time.
pub fn posted_sheet(
    registry: &RegistryFacts,
    report: &Report,
    explained: &[crdt_schema::InmateExplanation],
) -> String {
    let mut h = String::with_capacity(4096 + 400 * explained.len());
    let d = report.district.as_str();
    let dname = super::district_name(registry, &report.district);
    let _ = writeln!(h, "<!DOCTYPE html>");
    let _ = writeln!(h, r#"<html lang="zh-CN"><head><meta charset="utf-8">"#);
    let _ = writeln!(
        h,
        "<title>劳动改造计分公示 {} {} {}</title><style>{STYLE}</style></head><body>",
        escape(d),
        escape(dname),
        report.month
    );
    let _ = writeln!(
        h,
        "<h1>劳动改造计分公示</h1><p class=\"subtitle\">{} {} · {}</p>",
        escape(d),
        escape(dname),
        report.month
    );
    let _ = writeln!(h, r#"<dl class="facts">"#);
    match &report.posting {
        Some(p) => {
            let _ = writeln!(
                h,
                "<dt>公示期 Posted</dt><dd>{} 至 {}</dd>",
                p.first_day, p.last_day
            );
            if !p.current {
                let _ = writeln!(
                    h,
                    "<dt>注意</dt><dd>本表已不同于公示时的报告 the report differs from the one posted</dd>"
                );
            }
        }
        None => {
            let _ = writeln!(h, "<dt>公示期 Posted</dt><dd>尚未公示 not posted</dd>");
        }
    }
    let _ = writeln!(
        h,
        "<dt>报告摘要 Digest</dt><dd class=\"digest\">{}</dd></dl>",
        escape(&report.digest.0)
    );
    let _ = writeln!(
        h,
        "<table class=\"assessment\"><thead><tr><th>编号</th><th>姓名</th><th>基础分</th><th>加分</th><th>扣分</th><th>劳动分</th><th>加扣分明细</th></tr></thead><tbody>"
    );
    let mut hidden = 0usize;
    for e in explained {
        let r = &e.result;
        let mut lines = Vec::new();
        for a in &e.adjustments {
            if a.no_post {
                hidden += 1;
                continue;
            }
            if matches!(
                a.status,
                crdt_schema::EntryStatus::NotCounted | crdt_schema::EntryStatus::Void
            ) {
                continue;
            }
            lines.push(format!(
                "{} {} {} ({})",
                a.date,
                a.counted_cp,
                a.reason,
                match a.status {
                    crdt_schema::EntryStatus::Counted => "计入",
                    crdt_schema::EntryStatus::AwaitingReview => "待评议",
                    crdt_schema::EntryStatus::AwaitingApproval => "待审批",
                    crdt_schema::EntryStatus::Returned => "退回",
                    _ => "",
                }
            ));
        }
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            escape(r.inmate_no.as_str()),
            escape(super::inmate_name(registry, &r.inmate_no)),
            r.base_cp,
            r.bonus_cp,
            r.deduct_cp,
            r.labor_cp,
            lines
                .iter()
                .map(|l| escape(l))
                .collect::<Vec<_>>()
                .join("<br>")
        );
    }
    let _ = writeln!(h, "</tbody></table>");
    if hidden > 0 {
        let _ = writeln!(
            h,
            "<p>另有 {hidden} 项不宜公示的加扣分未列出，照常计入。{hidden} entries not for posting are left off and count all the same.</p>"
        );
    }
    let _ = writeln!(
        h,
        "<p>对考核结果有异议的，可自公示之日起三个工作日内提出复查申请。Applications for re-check within 3 working days from the first day of posting.</p></body></html>"
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<b>"张&三'</b>"#),
            "&lt;b&gt;&quot;张&amp;三&#39;&lt;/b&gt;"
        );
        assert_eq!(escape("29.87"), "29.87");
    }
}
