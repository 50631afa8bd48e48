//! 人员: the roster of inmates — number, name, district, admission and
//! release, and transfers between districts (调监区). The records office
//! adds inmates, records releases and transfers; everyone else reads.

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
    move_form: MoveForm,
}

/// A transfer as typed: inmate, first day in the new district, district.
#[derive(Debug, Clone, Default)]
struct MoveForm {
    no: String,
    date: String,
    district: Option<DistrictId>,
    force: bool,
}

/// What the transfer form would write, or why it cannot yet (the service
/// checks custody and the district held the day before again).
fn check_move(form: &MoveForm, cat: &Catalog, lang: Lang) -> Result<Request, String> {
    let no = InmateNo::new(form.no.trim())
        .map_err(|e| format!("{} {e}", lang.t("罪犯编号：", "Inmate number:")))?;
    if !cat.inmates.iter().any(|(n, _)| *n == no) {
        return Err(match lang {
            Lang::Zh => format!("名册中没有 {no}"),
            Lang::En => format!("{no} is not on the roster"),
        });
    }
    let date: Date = form.date.trim().parse().map_err(|_| {
        lang.t("调入日期应为 YYYY-MM-DD", "the date must be YYYY-MM-DD")
            .to_string()
    })?;
    let district = form.district.clone().ok_or_else(|| {
        lang.t("请选择调入监区", "Pick the district moved to")
            .to_string()
    })?;
    Ok(Request::PutTransfer {
        no,
        date,
        district,
        force: form.force,
    })
}

/// A labelled choice of one of the prison's districts.
fn district_picker(
    ui: &mut egui::Ui,
    id: &str,
    label: &str,
    value: &mut Option<DistrictId>,
    cat: &Catalog,
) {
    let l = ui.label(label);
    egui::ComboBox::from_id_salt(id)
        .selected_text(value.as_ref().map(|d| d.to_string()).unwrap_or_default())
        .show_ui(ui, |ui| {
            for (d, name) in &cat.districts {
                ui.selectable_value(value, Some(d.clone()), format!("{d} {name}"));
            }
        })
        .response
        .labelled_by(l.id);
}

/// The latest transfer of `no`, as the roster shows it.
fn last_move<'c>(cat: &'c Catalog, no: &InmateNo) -> Option<&'c (InmateNo, Date, DistrictId)> {
    cat.transfers
        .iter()
        .filter(|(n, ..)| n == no)
        .max_by_key(|(_, d, _)| *d)
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
            "登记罪犯或修改记录（释放填写出监日期；调监区在下方登记）",
            "Add an inmate or change a record (release: the leaving date; transfers below)",
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
                district_picker(
                    ui,
                    "inmate-district",
                    lang.t("所属监区", "Inmate's district"),
                    &mut f.district,
                    cat,
                );
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
        ui.strong(lang.t(
            "调监区：自调入日期起，该犯的日记载属于调入监区；全月由月末所在监区计分",
            "Transfer: from its date the inmate's daily records belong to the new district; the month is scored by the district holding them at its end",
        ));
        let mf = &mut st.move_form;
        ui.horizontal(|ui| {
            let l = ui.label(lang.t("调动罪犯编号", "Inmate moved"));
            ui.add(egui::TextEdit::singleline(&mut mf.no).desired_width(90.0))
                .labelled_by(l.id);
            let l = ui.label(lang.t("调入日期", "First day there"));
            ui.add(egui::TextEdit::singleline(&mut mf.date).desired_width(90.0))
                .labelled_by(l.id);
            district_picker(
                ui,
                "move-district",
                lang.t("调入监区", "District moved to"),
                &mut mf.district,
                cat,
            );
        });
        ui.checkbox(
            &mut mf.force,
            lang.t(
                "强制（替换同日的调监区记录，或改变已封存月份：须重新封存）",
                "Force (replace a transfer of the same date, or change sealed months: reseal them)",
            ),
        );
        let checked = check_move(mf, cat, lang);
        ui.horizontal(|ui| {
            let clicked = ui
                .add_enabled(
                    checked.is_ok(),
                    egui::Button::new(lang.t("签名登记调监区", "Sign and record the transfer")),
                )
                .clicked();
            if let Err(e) = &checked
                && !mf.no.trim().is_empty()
            {
                ui.colored_label(SHORT, e);
            }
            if clicked && let Ok(r) = checked {
                out = Some(r);
            }
        });
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
            st.district.as_ref().is_none_or(|d| {
                *d == i.district || last_move(cat, no).is_some_and(|(_, _, to)| to == d)
            }) && (needle.is_empty()
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
                    // The roster's district, and the latest transfer if any.
                    match last_move(cat, no) {
                        Some((_, d, to)) => ui.label(format!("{} → {to}（{d} 起）", i.district)),
                        None => ui.label(i.district.to_string()),
                    };
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
