//! 人员: the roster of inmates — number, name, district, admission and
//! release. The records office adds inmates and records releases and
//! transfers; everyone else reads.

use crdt_schema::{Date, DistrictId, Inmate, InmateNo};
use eframe::egui::{self, RichText};

use super::Lang;
use super::look::{SHORT, table};
use crate::backend::{Catalog, Request};

/// The screen's state: filters and the form.
#[derive(Debug, Clone, Default)]
pub(super) struct RosterScreen {
    filter: String,
    /// Show only this district (`None`: all).
    district: Option<DistrictId>,
    form: Form,
}

#[derive(Debug, Clone, Default)]
struct Form {
    no: String,
    name: String,
    district: Option<DistrictId>,
    admitted: String,
    released: String,
}

/// What the form would write, or why it cannot yet.
fn check(form: &Form, lang: Lang) -> Result<Request, String> {
    let no = InmateNo::new(form.no.trim())
        .map_err(|e| format!("{} {e}", lang.t("罪犯编号：", "Inmate number:")))?;
    let district = form
        .district
        .clone()
        .ok_or_else(|| lang.t("请选择监区", "Pick a district").to_string())?;
    let date = |s: &str, what: &str| -> Result<Date, String> {
        s.trim()
            .parse()
            .map_err(|_| format!("{what} {}", lang.t("应为 YYYY-MM-DD", "must be YYYY-MM-DD")))
    };
    let admitted = date(&form.admitted, lang.t("入监日期", "The admission date"))?;
    let released = if form.released.trim().is_empty() {
        None
    } else {
        Some(date(
            &form.released,
            lang.t("出监日期", "The leaving date"),
        )?)
    };
    let inmate = Inmate {
        name: form.name.trim().to_string(),
        district,
        admitted,
        released,
    };
    inmate.validate().map_err(|e| format!("{no}: {e}"))?;
    Ok(Request::PutInmate { no, inmate })
}

/// Draws the screen; a request when the records office saves an inmate.
pub(super) fn roster(
    ui: &mut egui::Ui,
    lang: Lang,
    cat: &Catalog,
    st: &mut RosterScreen,
    may_edit: bool,
) -> Option<Request> {
    let mut out = None;
    if may_edit {
        ui.strong(lang.t(
            "登记罪犯或修改记录（调出、释放填写出监日期）",
            "Add an inmate or change a record (transfer or release: the leaving date)",
        ));
        let f = &mut st.form;
        egui::Grid::new("inmate-form")
            .num_columns(6)
            .show(ui, |ui| {
                let l = ui.label(lang.t("罪犯编号", "Inmate number"));
                ui.add(egui::TextEdit::singleline(&mut f.no).desired_width(90.0))
                    .labelled_by(l.id);
                let l = ui.label(lang.t("罪犯姓名", "Inmate name"));
                ui.add(egui::TextEdit::singleline(&mut f.name).desired_width(90.0))
                    .labelled_by(l.id);
                let l = ui.label(lang.t("所属监区", "Inmate's district"));
                egui::ComboBox::from_id_salt("inmate-district")
                    .selected_text(
                        f.district
                            .as_ref()
                            .map(|d| d.to_string())
                            .unwrap_or_default(),
                    )
                    .show_ui(ui, |ui| {
                        for (d, name) in &cat.districts {
                            ui.selectable_value(
                                &mut f.district,
                                Some(d.clone()),
                                format!("{d} {name}"),
                            );
                        }
                    })
                    .response
                    .labelled_by(l.id);
                ui.end_row();
                let l = ui.label(lang.t("入监日期", "Admitted"));
                ui.add(egui::TextEdit::singleline(&mut f.admitted).desired_width(90.0))
                    .labelled_by(l.id);
                let l = ui.label(lang.t("出监日期", "Left on"));
                ui.add(
                    egui::TextEdit::singleline(&mut f.released)
                        .desired_width(90.0)
                        .hint_text(lang.t("在押", "in custody")),
                )
                .labelled_by(l.id);
                ui.end_row();
            });
        let checked = check(f, lang);
        let mut save = false;
        // A number already on the roster: saving changes that inmate.
        if let Ok(Request::PutInmate { no, inmate }) = &checked
            && let Some((_, old)) = cat.inmates.iter().find(|(n, _)| n == no)
            && old != inmate
        {
            ui.colored_label(
                SHORT,
                match lang {
                    Lang::Zh => format!(
                        "{no} 已登记为 {}（{}，{} 入监）：保存将修改该记录",
                        old.name, old.district, old.admitted
                    ),
                    Lang::En => format!(
                        "{no} is on the roster as {} ({}, admitted {}): saving changes that record",
                        old.name, old.district, old.admitted
                    ),
                },
            );
        }
        ui.horizontal(|ui| {
            save = ui
                .add_enabled(
                    checked.is_ok(),
                    egui::Button::new(lang.t("签名保存", "Sign and save")),
                )
                .clicked();
            let any = !(f.no.trim().is_empty() && f.name.trim().is_empty());
            if let Err(e) = &checked
                && any
            {
                ui.colored_label(SHORT, e);
            }
        });
        if save && let Ok(r) = checked {
            out = Some(r);
        }
        ui.separator();
    }
    ui.horizontal(|ui| {
        let l = ui.label(lang.t("筛选", "Filter"));
        ui.add(egui::TextEdit::singleline(&mut st.filter).desired_width(160.0))
            .labelled_by(l.id);
        let l = ui.label(lang.t("显示监区", "Show district"));
        egui::ComboBox::from_id_salt("roster-district")
            .selected_text(
                st.district
                    .as_ref()
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| lang.t("全部", "all").to_string()),
            )
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut st.district, None, lang.t("全部", "all"));
                for (d, name) in &cat.districts {
                    ui.selectable_value(&mut st.district, Some(d.clone()), format!("{d} {name}"));
                }
            })
            .response
            .labelled_by(l.id);
    });
    let needle = st.filter.trim().to_lowercase();
    let shown: Vec<&(InmateNo, Inmate)> = cat
        .inmates
        .iter()
        .filter(|(no, i)| {
            st.district.as_ref().is_none_or(|d| *d == i.district)
                && (needle.is_empty()
                    || no.as_str().to_lowercase().contains(&needle)
                    || i.name.to_lowercase().contains(&needle))
        })
        .collect();
    ui.label(format!("{} {}", shown.len(), lang.t("人", "inmates")));
    let headers = [
        lang.t("编号", "No."),
        lang.t("姓名", "Name"),
        lang.t("监区", "District"),
        lang.t("入监", "In"),
        lang.t("出监", "Out"),
        "",
    ];
    // A prison's whole roster runs to thousands: draw only the visible rows.
    egui::ScrollArea::vertical().auto_shrink(false).show_rows(
        ui,
        22.0,
        shown.len(),
        |ui, range| {
            table(ui, "roster", &headers, |ui| {
                for (no, i) in &shown[range] {
                    ui.label(RichText::new(no.as_str()).monospace());
                    ui.label(&i.name);
                    ui.label(i.district.to_string());
                    ui.label(i.admitted.to_string());
                    ui.label(i.released.map(|d| d.to_string()).unwrap_or_default());
                    if may_edit
                        && ui
                            .small_button(lang.t("修改", "Edit"))
                            .accessible_name(format!("{} {no}", lang.t("修改", "Edit")))
                            .clicked()
                    {
                        st.form = Form {
                            no: no.to_string(),
                            name: i.name.clone(),
                            district: Some(i.district.clone()),
                            admitted: i.admitted.to_string(),
                            released: i.released.map(|d| d.to_string()).unwrap_or_default(),
                        };
                    } else if !may_edit {
                        ui.label("");
                    }
                    ui.end_row();
                }
            });
        },
    );
    out
}
