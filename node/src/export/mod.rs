//! Exports of a scored district-month for the 计分考核 file: an XLSX
//! workbook ([`to_xlsx`]) and a printable, self-contained HTML report
//! ([`to_html`]).
//!
//! Both are drawn from one `View` of the report, built here, so the
//! workbook and the printed page cannot disagree on a figure or a label.
//! Points are shown with two decimals by integer formatting of the report's
//! centipoints (`Cp`'s `Display`: 2987 → `29.87`, −150 → `-1.50`); nothing is
//! computed from the scores, only formatted. Same report and registry in,
//! same bytes out: no clock, no randomness, no map iteration order.
//!
//! The helpers that name things (inmates, districts, flags, the seal and
//! who sealed) are also what the CLI's text output uses.

pub mod html;
pub mod sheets;
pub mod xlsx;

use crdt_schema::{Cp, DistrictId, Flag, InmateNo, RegistryFacts, Report};

pub use html::to_html;
pub use xlsx::{ExportError, to_xlsx};

/// The title of the monthly assessment sheet.
pub const TITLE: &str = "劳动改造计分 月度考核表";

/// The file formats of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An Excel workbook: the assessment sheet and the calculation details.
    Xlsx,
    /// A self-contained HTML page to print (A4 landscape).
    Html,
}

impl Format {
    /// The format a file name's extension says, if any (`.xlsx`, `.html`, `.htm`).
    pub fn from_file_name(name: &str) -> Option<Format> {
        let ext = std::path::Path::new(name)
            .extension()?
            .to_str()?
            .to_ascii_lowercase();
        match ext.as_str() {
            "xlsx" => Some(Format::Xlsx),
            "html" | "htm" => Some(Format::Html),
            _ => None,
        }
    }
}

/// The report in the given format, as the bytes of the file.
pub fn export(
    format: Format,
    registry: &RegistryFacts,
    report: &Report,
) -> Result<Vec<u8>, ExportError> {
    match format {
        Format::Xlsx => to_xlsx(registry, report),
        Format::Html => Ok(to_html(registry, report).into_bytes()),
    }
}

/// The inmate's name in the roster, `?` if the roster has none (a record
/// about an inmate the registry does not know is still shown, not hidden).
pub fn inmate_name<'a>(registry: &'a RegistryFacts, no: &InmateNo) -> &'a str {
    registry
        .inmates
        .get(no)
        .map_or("?", |e| e.value.name.as_str())
}

/// The district's name in the registry, `""` if it has none.
pub fn district_name<'a>(registry: &'a RegistryFacts, d: &DistrictId) -> &'a str {
    registry.districts.get(d).map_or("", |e| e.value.as_str())
}

/// The flags' Chinese labels, in the report's fixed order.
pub fn flag_labels(flags: &[Flag]) -> String {
    flags
        .iter()
        .map(|f| f.label_zh())
        .collect::<Vec<_>>()
        .join("、")
}

/// The flags' codes as the report's JSON spells them.
pub fn flag_codes(flags: &[Flag]) -> String {
    flags
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Who holds a key, as the registry's certificate says (`J001 王警官`), with
/// the start of the key; only the start of the key if no certificate names it.
/// The registry holds only certificates the validator accepted, so the
/// name is read, not re-verified: this is a label, not a trust decision.
pub fn officer_label(registry: &RegistryFacts, key_hex: &str) -> String {
    let short = key_hex.get(..16).unwrap_or(key_hex);
    let cert = crdt_schema::KeyHex::parse(key_hex)
        .ok()
        .and_then(|k| registry.officers.get(&k))
        .and_then(|e| keys::Certificate::from_json(&e.value).ok());
    match cert {
        Some(c) => format!("{} {} ({short}…)", c.body.officer_no, c.body.name),
        None => format!("{short}…"),
    }
}

/// The seal state of the month in words (Chinese, then English).
pub fn seal_text(registry: &RegistryFacts, report: &Report) -> String {
    match &report.seal {
        None => "未封存 not sealed".to_string(),
        Some(s) if s.current => format!(
            "已封存 sealed — 封存摘要 sealed digest {}，封存人 by {}",
            s.digest,
            officer_label(registry, &s.by)
        ),
        Some(s) if s.registry_changed => format!(
            "封存后登记信息有变化 changed after seal — 工序定额、名册或规则变化后报告已不同于封存时 the registry (standard times, roster, rules) changed and the report no longer matches the seal, 需重新封存 needs re-sealing；封存摘要 sealed digest {}，现报告摘要 current digest {}，封存人 by {}",
            s.digest,
            report.digest,
            officer_label(registry, &s.by)
        ),
        Some(s) => format!(
            "封存后修改 amended after seal — {} 人封存后有修改 inmate(s) changed since, 需重新封存 needs re-sealing；封存摘要 sealed digest {}，封存人 by {}",
            s.amended,
            s.digest,
            officer_label(registry, &s.by)
        ),
    }
}

/// A cell of an exported table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    /// An exact integer (days, centipoints, milliseconds, basis points).
    Int(i64),
    /// Points, shown with two decimals.
    Points(Cp),
}

impl Cell {
    /// The text both formats show for the cell.
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Points(cp) => cp.to_string(),
        }
    }
}

/// A column: its Chinese and English heading.
pub type Column = (&'static str, &'static str);

/// The assessment table, one row per inmate.
pub(crate) const COLUMNS: [Column; 12] = [
    ("编号", "No."),
    ("姓名", "Name"),
    ("在押天数 C", "Custody days"),
    ("劳动天数 D", "Labor days"),
    ("出工天数", "Work days"),
    ("基础分", "Base"),
    ("加分", "Bonus"),
    ("待批加分", "Pending bonus"),
    ("扣分", "Deduction"),
    ("待批扣分", "Pending deduction"),
    ("劳动改造分", "Labor score"),
    ("标记", "Flags"),
];

/// The calculation details: every numerator and denominator of the report,
/// as exact integers, so an auditor can redo each division by hand.
pub(crate) const DETAIL_COLUMNS: [Column; 22] = [
    ("编号", "No."),
    ("姓名", "Name"),
    ("在押天数 C", "Custody days"),
    ("日历天数 K", "Calendar days"),
    ("劳动天数 D", "Labor days"),
    ("出工天数", "Work days"),
    ("Σf (bp)", "Sum of daily factors"),
    ("基础分分子", "Base numerator = base×C×Σf"),
    ("基础分分母", "Base denominator = K×D×10000"),
    ("基础分 (cp)", "Base"),
    ("ΣEARNED (ms)", "Earned time, work days"),
    ("ΣREQ (ms)", "Required time, work days"),
    ("超额 (bp)", "Over-fulfilment"),
    ("连续超额", "Continuous"),
    ("超额加分 (cp)", "Over-fulfilment bonus"),
    ("其他加分 (cp)", "Other bonuses"),
    ("加分 (cp)", "Bonus counted"),
    ("待批加分 (cp)", "Pending bonus"),
    ("扣分 (cp)", "Deduction"),
    ("待批扣分 (cp)", "Pending deduction"),
    ("劳动改造分 (cp)", "Labor score"),
    ("标记代码", "Flag codes"),
];

/// Everything an export shows, in the order it shows it.
pub(crate) struct View {
    /// Prison, district and month, under the title.
    pub subtitle: String,
    /// Label and value lines above the table.
    pub heading: Vec<(String, String)>,
    pub rows: Vec<Vec<Cell>>,
    pub detail: Vec<Vec<Cell>>,
    /// Team counts nobody could be credited with, as lines.
    pub unallocated: Vec<String>,
    /// Records the scoring could not use, as lines.
    pub problems: Vec<String>,
    /// Inmates who moved to another district this month, scored there, as lines.
    pub transferred: Vec<String>,
    /// Signature lines of the printed file.
    pub signatures: [&'static str; 2],
}

impl View {
    pub(crate) fn new(registry: &RegistryFacts, report: &Report) -> View {
        let body = &report.body;
        let prison = registry.prison.clone().unwrap_or_default();
        let district = format!(
            "{} {}",
            report.district,
            district_name(registry, &report.district)
        );
        let subtitle = [
            prison.as_str(),
            district.trim_end(),
            &report.month.to_string(),
        ]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("　");
        let heading = vec![
            ("监狱 Prison".to_string(), prison.clone()),
            ("监区 District".to_string(), district.trim_end().to_string()),
            ("月份 Month".to_string(), report.month.to_string()),
            ("规则版本 Rule set".to_string(), body.rule_set.clone()),
            (
                "日历天数 K / 人数 Inmates".to_string(),
                format!("{} / {}", body.calendar_days, body.inmates.len()),
            ),
            (
                "报告摘要 Report digest (SHA-256)".to_string(),
                report.digest.to_string(),
            ),
            ("封存状态 Seal".to_string(), seal_text(registry, report)),
        ];
        let mut heading = heading;
        if !body.read_from.is_empty() {
            // The report reads other districts' documents (inmates
            // transferred in): the printed sheet says whose.
            let read: Vec<String> = body
                .read_from
                .iter()
                .map(|d| {
                    format!("{d} {}", district_name(registry, d))
                        .trim_end()
                        .to_string()
                })
                .collect();
            heading.push(("另读取 Also read (transfers)".to_string(), read.join("、")));
        }
        let rows = body
            .inmates
            .iter()
            .map(|i| {
                vec![
                    Cell::Text(i.inmate_no.to_string()),
                    Cell::Text(inmate_name(registry, &i.inmate_no).to_string()),
                    Cell::Int(i.custody_days.into()),
                    Cell::Int(i.labor_days.into()),
                    Cell::Int(i.work_days.into()),
                    Cell::Points(i.base_cp),
                    Cell::Points(i.bonus_cp),
                    Cell::Points(i.pending_bonus_cp),
                    Cell::Points(i.deduct_cp),
                    Cell::Points(i.pending_deduct_cp),
                    Cell::Points(i.labor_cp),
                    Cell::Text(flag_labels(&i.flags)),
                ]
            })
            .collect();
        let detail = body
            .inmates
            .iter()
            .map(|i| {
                vec![
                    Cell::Text(i.inmate_no.to_string()),
                    Cell::Text(inmate_name(registry, &i.inmate_no).to_string()),
                    Cell::Int(i.custody_days.into()),
                    Cell::Int(body.calendar_days.into()),
                    Cell::Int(i.labor_days.into()),
                    Cell::Int(i.work_days.into()),
                    Cell::Int(i.factor_sum_bp),
                    Cell::Int(i.base_num),
                    Cell::Int(i.base_den),
                    Cell::Int(i.base_cp.0),
                    Cell::Int(i.earned_ms),
                    Cell::Int(i.req_ms),
                    Cell::Int(i.over_bp.0),
                    Cell::Text(if i.over_eligible { "是 yes" } else { "否 no" }.into()),
                    Cell::Int(i.overfulfil_bonus_cp.0),
                    Cell::Int(i.other_bonus_cp.0),
                    Cell::Int(i.bonus_cp.0),
                    Cell::Int(i.pending_bonus_cp.0),
                    Cell::Int(i.deduct_cp.0),
                    Cell::Int(i.pending_deduct_cp.0),
                    Cell::Int(i.labor_cp.0),
                    Cell::Text(flag_codes(&i.flags)),
                ]
            })
            .collect();
        let unallocated = body
            .unallocated_team_counts
            .iter()
            .map(|u| format!("{} {} {}", u.date, u.procedure, u.quantity))
            .collect();
        let problems = body
            .problems
            .iter()
            .map(|p| format!("{}: {}", p.key, p.reason))
            .collect();
        let transferred = body
            .transferred_out
            .iter()
            .map(|t| {
                let to = format!("{} {}", t.to, district_name(registry, &t.to));
                format!(
                    "{} {}: {} 起调往 {}，由其计分 (to {} from {}, scored there)",
                    t.inmate_no,
                    inmate_name(registry, &t.inmate_no),
                    t.date,
                    to.trim_end(),
                    t.to,
                    t.date
                )
            })
            .collect();
        View {
            subtitle,
            heading,
            rows,
            detail,
            unallocated,
            problems,
            transferred,
            signatures: ["监区长签字 Chief's signature", "日期 Date"],
        }
    }
}
