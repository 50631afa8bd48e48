//! 今日录入: the daily entry grid of a district for one date.
//!
//! Built for a day of 300 inmates at the keyboard: Tab moves along a row,
//! a digit picks the day type, Enter in the count jumps to the next row's
//! count (scrolling it into view), the procedure is typed (a code, or part
//! of a code or name, completed when it leaves the field) or offered from
//! the inmate's assignment or last count, and every cell is checked as it is
//! typed. Save makes one signed change of every changed row — only when
//! every changed row is valid, visible or not. What each row writes is
//! decided in [`row`].

mod row;

use std::collections::BTreeMap;

use crdt_schema::{Date, DayType, DistrictId, InmateNo};
use eframe::egui;

use super::Lang;
use super::look::{SHORT, day_type_label, table};
use crate::backend::{DistrictView, Request};
use row::{GridRow, Problem, Typed, resolve};

/// The keys that pick a day type when its cell has the focus, in the order
/// of `DayType::ALL`: 1 出工, 2 休息日, … 0 不在押.
const DAY_KEYS: [egui::Key; 10] = [
    egui::Key::Num1,
    egui::Key::Num2,
    egui::Key::Num3,
    egui::Key::Num4,
    egui::Key::Num5,
    egui::Key::Num6,
    egui::Key::Num7,
    egui::Key::Num8,
    egui::Key::Num9,
    egui::Key::Num0,
];

/// The grid of the loaded date and where the keyboard goes next.
///
/// The district is reloaded whenever peers bring changes and every few
/// seconds; a reload never wipes what the officer has typed and not yet
/// saved (see [`EntryScreen::load`]).
#[derive(Debug, Clone, Default)]
pub(super) struct EntryScreen {
    grid: Vec<GridRow>,
    /// The district and date the grid shows.
    of: Option<(DistrictId, Date)>,
    /// The inmate whose count takes the focus as soon as it is drawn.
    focus: Option<InmateNo>,
    /// Scroll offset to apply on the next frame (to reach `focus`).
    scroll_to: Option<f32>,
    /// Why the last save was not sent.
    refused: Option<String>,
}

impl EntryScreen {
    /// The grid as stored, for a freshly loaded view. On a reload of the
    /// same district and date, rows with unsaved edits keep what was typed
    /// (see [`GridRow::rebase`]); another district or date starts afresh.
    pub(super) fn load(&mut self, v: &DistrictView) {
        let same = self.of.as_ref() == Some(&(v.district.clone(), v.date));
        let mut kept: BTreeMap<InmateNo, GridRow> = BTreeMap::new();
        if same {
            for g in self.grid.drain(..) {
                if g.changed() {
                    kept.insert(g.no.clone(), g);
                }
            }
        } else {
            self.focus = None;
            self.scroll_to = None;
            self.refused = None;
        }
        self.of = Some((v.district.clone(), v.date));
        self.grid = v
            .rows
            .iter()
            .map(|r| {
                let fresh = GridRow::new(r, &v.procedures);
                match kept.remove(&r.inmate_no) {
                    Some(mut g) => {
                        g.rebase(&fresh);
                        g
                    }
                    None => fresh,
                }
            })
            .collect();
    }

    /// Rows with unsaved edits.
    pub(super) fn unsaved(&self) -> usize {
        self.grid.iter().filter(|g| g.changed()).count()
    }

    /// Puts every row back as stored.
    fn discard(&mut self) {
        for g in &mut self.grid {
            g.discard();
        }
        self.refused = None;
    }
}

/// The legend of [`DAY_KEYS`].
fn day_type_keys(lang: Lang) -> String {
    let keys: Vec<String> = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"]
        .iter()
        .zip(DayType::ALL)
        .map(|(k, d)| format!("{k} {}", day_type_label(lang, d)))
        .collect();
    format!(
        "{} {}",
        lang.t("出勤格按数字键：", "In a day-type cell press:"),
        keys.join("  ")
    )
}

/// The daily entry grid: one signed change per save. `today` is the date
/// the app's clock gives (days after it cannot be entered).
pub(super) fn entry(
    ui: &mut egui::Ui,
    lang: Lang,
    v: &DistrictView,
    st: &mut EntryScreen,
    today: Date,
) -> Option<Request> {
    let unsaved = st.unsaved();
    let mut save = false;
    let mut discard = false;
    let unfilled = st.grid.iter().filter(|g| g.day_type.is_none()).count();
    let future = v.date > today;
    ui.horizontal(|ui| {
        ui.label(format!(
            "{} {} {} · {}",
            v.district,
            v.district_name,
            v.date,
            lang.t(
                "Tab 换格，Enter 下一行；工序可输入编号或名称",
                "Tab: next field, Enter: next row; type a procedure's code or name"
            )
        ));
        let all_work = ui
            .add_enabled(
                unfilled > 0 && !future,
                egui::Button::new(format!(
                    "{} ({unfilled})",
                    lang.t("未填者设为出工", "Mark the rest as work")
                )),
            )
            .on_hover_text(lang.t(
                "把尚未填写出勤的行都设为出工（保存前可逐行修改）",
                "Sets every row without a day type to work (change any row before saving)",
            ));
        if all_work.clicked() {
            for g in st.grid.iter_mut().filter(|g| g.day_type.is_none()) {
                g.day_type = Some(DayType::Work);
            }
        }
        save = ui
            .add_enabled(
                unsaved > 0 && !future,
                egui::Button::new(lang.t("保存", "Save")),
            )
            .clicked();
        discard = ui
            .add_enabled(
                unsaved > 0,
                egui::Button::new(lang.t("放弃修改", "Discard")),
            )
            .clicked();
        ui.label(format!("{unsaved} {}", lang.t("行已修改", "rows changed")));
    });
    if future {
        ui.colored_label(
            SHORT,
            lang.t(
                "这一天还没有到，不能录入",
                "This day has not come yet: nothing can be entered",
            ),
        );
    }
    if let Some(r) = &st.refused {
        ui.colored_label(SHORT, r);
    }
    ui.label(
        egui::RichText::new(day_type_keys(lang))
            .small()
            .color(ui.visuals().weak_text_color()),
    );
    let row_h = 24.0;
    let pitch = row_h + ui.spacing().item_spacing.y;
    let mut area = egui::ScrollArea::vertical().auto_shrink(false);
    if let Some(y) = st.scroll_to.take() {
        area = area.vertical_scroll_offset(y);
    }
    let mut focus_next: Option<usize> = None;
    let grid = &mut st.grid;
    let focus = &mut st.focus;
    area.show_rows(ui, row_h, v.rows.len(), |ui, range| {
        let headers = [
            lang.t("编号", "No."),
            lang.t("姓名", "Name"),
            lang.t("出勤", "Day type"),
            lang.t("分钟", "Minutes"),
            lang.t("工序", "Procedure"),
            lang.t("数量", "Count"),
            "",
        ];
        table(ui, "entry", &headers, |ui| {
            for i in range {
                let (row, g) = (&v.rows[i], &mut grid[i]);
                let no = row.inmate_no.as_str();
                ui.label(no);
                ui.label(&row.name);
                // Every cell's id is the inmate's, so a reload that adds or
                // removes a row never moves the cursor to a neighbour.
                let day = egui::ComboBox::from_id_salt(("day", no))
                    .selected_text(g.day_type.map(|d| day_type_label(lang, d)).unwrap_or("—"))
                    .show_ui(ui, |ui| {
                        for d in DayType::ALL {
                            ui.selectable_value(&mut g.day_type, Some(d), day_type_label(lang, d));
                        }
                    })
                    .response
                    .accessible_name(format!("{} {no}", lang.t("出勤", "Day type")));
                // Keyboard: with the day type focused (Tab), a digit picks.
                if day.has_focus()
                    && let Some(d) = ui.input(|inp| {
                        DAY_KEYS
                            .iter()
                            .zip(DayType::ALL)
                            .find(|(k, _)| inp.key_pressed(**k))
                            .map(|(_, d)| d)
                    })
                {
                    g.day_type = Some(d);
                }
                // A grid cell is only as wide as its column was last
                // frame: fixed sizes, or fields never grow.
                ui.add_sized(
                    [56.0, 20.0],
                    egui::TextEdit::singleline(&mut g.minutes)
                        .id(egui::Id::unique(("minutes", no)))
                        .hint_text(lang.t("默认", "default")),
                )
                .accessible_name(format!("{} {no}", lang.t("分钟", "Minutes")));
                let locked = g.counts_locked();
                let pr = ui
                    .add_sized(
                        [72.0, 20.0],
                        egui::TextEdit::singleline(&mut g.procedure)
                            .id(egui::Id::unique(("procedure", no)))
                            .interactive(!locked)
                            .hint_text("—"),
                    )
                    .accessible_name(format!("{} {no}", lang.t("工序", "Procedure")));
                let typed = resolve(&g.procedure, &v.procedures);
                if let Typed::One(p, name) = &typed {
                    pr.clone().on_hover_text(format!("{p} {name}"));
                    // Completed when the officer moves on.
                    if pr.lost_focus() && g.procedure != p.as_str() {
                        g.procedure = p.to_string();
                    }
                }
                let r = ui
                    .add_sized(
                        [96.0, 20.0],
                        egui::TextEdit::singleline(&mut g.count)
                            .id(egui::Id::unique(("count", no)))
                            .interactive(!locked),
                    )
                    .accessible_name(format!("{} {no}", lang.t("数量", "Count")));
                // A count on a row without a day type: the inmate worked.
                if r.changed() && g.day_type.is_none() && !g.count.trim().is_empty() {
                    g.day_type = Some(DayType::Work);
                }
                if focus.as_ref() == Some(&row.inmate_no) {
                    r.request_focus();
                    r.scroll_to_me(None);
                    *focus = None;
                }
                if r.lost_focus() && ui.input(|inp| inp.key_pressed(egui::Key::Enter)) {
                    focus_next = Some(i + 1);
                }
                status(ui, lang, v, g, &typed, pr.has_focus(), row.conflict);
                ui.end_row();
            }
        });
    });
    if let Some(n) = focus_next
        && let Some(next) = v.rows.get(n)
    {
        st.focus = Some(next.inmate_no.clone());
    }
    // The row to focus was not drawn (below the visible rows): scroll so
    // it is, and focus it on the next frame.
    if let Some(no) = &st.focus {
        if let Some(n) = v.rows.iter().position(|r| &r.inmate_no == no) {
            st.scroll_to = Some((n as f32 * pitch - 3.0 * pitch).max(0.0));
            ui.ctx().request_repaint();
        } else {
            st.focus = None;
        }
    }
    if discard {
        st.discard();
        return None;
    }
    if !save {
        return None;
    }
    // Every changed row, drawn or not, must be valid: one bad cell and
    // nothing is sent, and the first bad row is brought into view.
    let mut edits = Vec::new();
    let mut bad: Vec<(&InmateNo, Problem)> = Vec::new();
    for g in &st.grid {
        match g.edit(&v.procedures) {
            Ok(Some(e)) => edits.push(e),
            Ok(None) => {}
            Err(p) => bad.push((&g.no, p)),
        }
    }
    if let Some((first, problem)) = bad.first() {
        let first = (*first).clone();
        st.refused = Some(match lang {
            Lang::Zh => format!(
                "有 {} 行有错误，未保存（第一行：{first} {}）",
                bad.len(),
                problem.text(lang)
            ),
            Lang::En => format!(
                "Not saved: {} rows have errors (first: {first}, {})",
                bad.len(),
                problem.text(lang)
            ),
        });
        st.focus = Some(first);
        return None;
    }
    st.refused = None;
    if edits.is_empty() {
        return None;
    }
    Some(Request::Save {
        district: v.district.clone(),
        date: v.date,
        edits,
    })
}

/// The row's last cell: its problem, conflict, or what the typed procedure
/// names.
fn status(
    ui: &mut egui::Ui,
    lang: Lang,
    v: &DistrictView,
    g: &GridRow,
    typed: &Typed<'_>,
    procedure_focused: bool,
    conflict: bool,
) {
    match g.edit(&v.procedures) {
        Err(p) => {
            ui.colored_label(SHORT, p.text(lang));
        }
        Ok(_) if conflict => {
            ui.colored_label(SHORT, lang.t("冲突", "conflict"));
        }
        Ok(_) if g.count_not_counted() => {
            ui.colored_label(
                SHORT,
                lang.t(
                    "数量不计分：当日不是出工（删除数量或改为出工）",
                    "the count does not count: not a work day (clear it or make the day work)",
                ),
            );
        }
        Ok(_) if g.changed_elsewhere => {
            ui.colored_label(
                SHORT,
                lang.t(
                    "他人已改此行，保存将覆盖",
                    "changed elsewhere: saving overwrites it",
                ),
            );
        }
        Ok(_) => {
            if let (Typed::One(p, name), true) = (typed, procedure_focused) {
                ui.label(format!("→ {p} {name}"));
            } else if g.counts_locked() {
                ui.label(format!(
                    "{} {}",
                    lang.t("多工序：", "several procedures:"),
                    g.stored
                        .counts
                        .iter()
                        .map(|(p, q)| format!("{p} {q}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            } else if g.changed() {
                ui.label(lang.t("未保存", "unsaved"));
            } else {
                ui.label("");
            }
        }
    }
}
