//! 导入导出: import the spreadsheets the prison already keeps (CSV or XLSX,
//! validated whole before anything is written), and export the month to
//! XLSX or to a printable HTML report for the 计分考核 file.

use std::path::{Path, PathBuf};

use eframe::egui;
use node::export::Format;
use node::import::Kind;

use crate::backend::Officer;
use crdt_schema::DocId;

use super::Lang;
use super::look::SHORT;
use super::picker::Target;
use crate::backend::{DistrictView, Request};

/// The screen's state: the two forms, and the last import's rejection.
#[derive(Debug, Clone)]
pub(super) struct TransferScreen {
    kind: Kind,
    import_path: String,
    format: Format,
    export_path: String,
    /// Every error of the last rejected file.
    pub(super) rejected: Vec<String>,
    /// Records the last import wrote that the score does not count.
    pub(super) not_counted: Vec<String>,
    /// The file picker is asked for (taken by the app each frame).
    pub(super) browse: Option<Target>,
}

impl TransferScreen {
    /// What the file picker chose: the file to import, or the folder the
    /// export goes to (under the name already typed, else the default).
    pub(super) fn picked(&mut self, target: Target, path: &Path) {
        match target {
            Target::Import => {
                self.rejected.clear();
                self.not_counted.clear();
                self.import_path = path.display().to_string();
            }
            Target::ExportFolder => {
                let typed = Path::new(self.export_path.trim());
                let name = typed
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                self.export_path = if name.is_empty() {
                    format!("{}{}", path.display(), std::path::MAIN_SEPARATOR)
                } else {
                    path.join(name).display().to_string()
                };
            }
            Target::KeyFile => {}
        }
    }
}

impl Default for TransferScreen {
    fn default() -> TransferScreen {
        TransferScreen {
            kind: Kind::Counts,
            import_path: String::new(),
            format: Format::Xlsx,
            export_path: String::new(),
            rejected: Vec::new(),
            not_counted: Vec::new(),
            browse: None,
        }
    }
}

fn kind_label(lang: Lang, k: Kind) -> &'static str {
    match k {
        Kind::Districts => lang.t("监区", "districts"),
        Kind::Inmates => lang.t("罪犯名册", "inmates"),
        Kind::Transfers => lang.t("调监区", "transfers"),
        Kind::Procedures => lang.t("工序定额", "procedures"),
        Kind::Attendance => lang.t("出勤", "attendance"),
        Kind::Assignments => lang.t("分工", "assignments"),
        Kind::Counts => lang.t("个人产量", "counts"),
        Kind::TeamCounts => lang.t("班组入库数", "team counts"),
        Kind::Adjustments => lang.t("加扣分", "adjustments"),
    }
}

const KINDS: [Kind; 9] = [
    Kind::Districts,
    Kind::Inmates,
    Kind::Transfers,
    Kind::Procedures,
    Kind::Attendance,
    Kind::Assignments,
    Kind::Counts,
    Kind::TeamCounts,
    Kind::Adjustments,
];

/// What an officer may import into the district-month shown, as the
/// validator would judge its records (the roster for the records office,
/// the catalogue for the labor section, the daily records for a district's
/// officers — by the one permission table).
fn kinds_for(officer: &Officer, v: &DistrictView) -> Vec<Kind> {
    KINDS
        .into_iter()
        .filter(|k| {
            let doc = if k.in_registry() {
                DocId::Registry
            } else {
                DocId::month(v.district.clone(), v.month)
            };
            officer.may(&doc, k.record_class())
        })
        .collect()
}

/// The file name an export gets unless the officer types another (a bare
/// name is saved under `DATA/exports`).
fn default_export_name(v: &DistrictView, format: Format) -> String {
    let ext = match format {
        Format::Xlsx => "xlsx",
        Format::Html => "html",
    };
    format!("计分考核-{}-{}.{ext}", v.district, v.month)
}

/// Draws the screen; a request to import or export.
pub(super) fn transfer(
    ui: &mut egui::Ui,
    lang: Lang,
    v: &DistrictView,
    st: &mut TransferScreen,
    officer: &Officer,
) -> Option<Request> {
    let mut out = None;
    let kinds = kinds_for(officer, v);
    if let Some(first) = kinds.first() {
        if !kinds.contains(&st.kind) {
            st.kind = *first;
        }
        import(ui, lang, st, &kinds, &mut out);
    } else {
        ui.label(lang.t("本角色不能导入数据", "This role cannot import records"));
    }
    ui.separator();
    export(ui, lang, v, st, &mut out);
    out
}

/// The import form: what the file holds, which file; the errors of the
/// last file refused.
fn import(
    ui: &mut egui::Ui,
    lang: Lang,
    st: &mut TransferScreen,
    kinds: &[Kind],
    out: &mut Option<Request>,
) {
    ui.heading(lang.t("导入", "Import"));
    ui.label(lang.t(
        "CSV（UTF-8）或 XLSX（第一个工作表），首行为列名；整份文件校验无误才写入，一行有错则一行也不写。",
        "CSV (UTF-8) or XLSX (first sheet), header row first; the whole file is checked and nothing is written unless every row is valid.",
    ));
    egui::Grid::new("import").num_columns(2).show(ui, |ui| {
        let l = ui.label(lang.t("内容", "Contents"));
        egui::ComboBox::from_id_salt("import-kind")
            .selected_text(kind_label(lang, st.kind))
            .show_ui(ui, |ui| {
                for k in kinds {
                    ui.selectable_value(&mut st.kind, *k, kind_label(lang, *k));
                }
            })
            .response
            .labelled_by(l.id);
        ui.end_row();
        let l = ui.label(lang.t("文件", "File"));
        ui.horizontal(|ui| {
            ui.add(egui::TextEdit::singleline(&mut st.import_path).desired_width(420.0))
                .labelled_by(l.id);
            if ui
                .button(lang.t("选择…", "Browse…"))
                .on_hover_text(lang.t("选择要导入的文件", "Pick a file to import"))
                .clicked()
            {
                st.browse = Some(Target::Import);
            }
        });
        ui.end_row();
    });
    let (required, optional) = st.kind.columns();
    ui.label(format!(
        "{} {}{}",
        lang.t("列：", "Columns:"),
        required.join(", "),
        if optional.is_empty() {
            String::new()
        } else {
            format!(" [{}]", optional.join(", "))
        }
    ));
    let path = st.import_path.trim();
    if ui
        .add_enabled(
            !path.is_empty(),
            egui::Button::new(lang.t("校验并导入", "Check and import")),
        )
        .clicked()
    {
        st.rejected.clear();
        st.not_counted.clear();
        *out = Some(Request::Import {
            kind: st.kind,
            path: PathBuf::from(path),
        });
    }
    if !st.rejected.is_empty() {
        listed(
            ui,
            "rejected",
            &format!(
                "{} {} {}",
                lang.t(
                    "文件被拒绝，未写入任何内容：",
                    "File rejected, nothing written:"
                ),
                st.rejected.len(),
                lang.t("处错误", "errors")
            ),
            &st.rejected,
        );
    }
    if !st.not_counted.is_empty() {
        listed(
            ui,
            "not-counted",
            &format!(
                "{} {} {}",
                lang.t(
                    "已写入，但以下记录不计分：",
                    "Written, but these records do not count:"
                ),
                st.not_counted.len(),
                lang.t("条", "records")
            ),
            &st.not_counted,
        );
    }
}

/// A heading and its lines, scrolled when long.
fn listed(ui: &mut egui::Ui, id: &str, heading: &str, lines: &[String]) {
    ui.colored_label(SHORT, heading);
    egui::ScrollArea::vertical()
        .id_salt(id)
        .max_height(160.0)
        .show(ui, |ui| {
            for e in lines {
                ui.colored_label(SHORT, e);
            }
        });
}

/// The export form: the month's report as XLSX or a printable page.
fn export(
    ui: &mut egui::Ui,
    lang: Lang,
    v: &DistrictView,
    st: &mut TransferScreen,
    out: &mut Option<Request>,
) {
    ui.heading(lang.t("导出本月", "Export the month"));
    ui.label(format!(
        "{} {} {} · {} {}",
        v.district,
        v.district_name,
        v.month,
        lang.t("报告摘要", "report digest"),
        &v.report.digest.0[..16.min(v.report.digest.0.len())]
    ));
    egui::Grid::new("export").num_columns(2).show(ui, |ui| {
        let l = ui.label(lang.t("格式", "Format"));
        ui.horizontal(|ui| {
            ui.radio_value(&mut st.format, Format::Xlsx, "XLSX")
                .labelled_by(l.id);
            ui.radio_value(
                &mut st.format,
                Format::Html,
                lang.t("打印版 HTML", "printable HTML"),
            );
        });
        ui.end_row();
        let l = ui.label(lang.t("保存到", "Save to"));
        ui.horizontal(|ui| {
            ui.add(
                egui::TextEdit::singleline(&mut st.export_path)
                    .desired_width(420.0)
                    .hint_text(default_export_name(v, st.format)),
            )
            .labelled_by(l.id);
            if ui
                .button(lang.t("选择文件夹…", "Folder…"))
                .on_hover_text(lang.t("选择导出文件夹", "Pick the export folder"))
                .clicked()
            {
                st.browse = Some(Target::ExportFolder);
            }
        });
        ui.end_row();
    });
    if ui.button(lang.t("导出", "Export")).clicked() {
        let typed = st.export_path.trim();
        // Empty: the default name under DATA/exports; a folder (ends with a
        // separator, as the picker leaves it): the default name in it.
        let path = if typed.is_empty() {
            default_export_name(v, st.format)
        } else if typed.ends_with(['/', std::path::MAIN_SEPARATOR]) {
            format!("{typed}{}", default_export_name(v, st.format))
        } else {
            typed.to_string()
        };
        *out = Some(Request::Export {
            district: v.district.clone(),
            month: v.month,
            format: st.format,
            path: PathBuf::from(path),
        });
    }
}
