//! 今日录入: the daily entry grid of a district for one date.
//!
//! Built for a day of 300 inmates at the keyboard: Tab moves along a row,
//! Enter in the count jumps to the next row's count (scrolling it into
//! view), the procedure is typed (a code, or part of a code or name, is
//! completed when it leaves the field), and every cell is checked as it is
//! typed. Save makes one signed change of every edited row.

use std::collections::BTreeMap;

use crdt_schema::{Attendance, Date, DayType, DistrictId, InmateNo, ProcedureId};
use eframe::egui;

use super::Lang;
use super::look::{SHORT, day_type_label, table};
use crate::backend::{DistrictView, Edit, Request};

/// One editable line of the daily entry grid (text as typed).
#[derive(Debug, Clone, Default, PartialEq)]
struct GridRow {
    day_type: Option<DayType>,
    minutes: String,
    /// The procedure as typed: a code, or a prefix of a code or a name.
    procedure: String,
    count: String,
    dirty: bool,
}

/// The grid of the loaded date and where the keyboard goes next.
///
/// The district is reloaded whenever peers bring changes and every few
/// seconds; a reload must never wipe what the officer has typed and not yet
/// saved, so edited rows survive it (see [`EntryScreen::load`]).
#[derive(Debug, Clone, Default)]
pub(super) struct EntryScreen {
    grid: Vec<GridRow>,
    /// The inmate of each grid row.
    nos: Vec<InmateNo>,
    /// The district and date the grid shows.
    of: Option<(DistrictId, Date)>,
    /// The rows of a save sent and not yet answered, as they were sent.
    in_flight: Option<BTreeMap<InmateNo, GridRow>>,
    /// The row whose count takes the focus as soon as it is drawn.
    focus: Option<usize>,
    /// Scroll offset to apply on the next frame (to reach `focus`).
    scroll_to: Option<f32>,
}

impl EntryScreen {
    /// The grid as stored, for a freshly loaded view. On a reload of the
    /// same district and date, rows with unsaved edits keep them (the stored
    /// values of every other row are shown); another district or date starts
    /// afresh.
    pub(super) fn load(&mut self, v: &DistrictView) {
        let mut kept: BTreeMap<InmateNo, GridRow> = BTreeMap::new();
        if self.of.as_ref() == Some(&(v.district.clone(), v.date)) {
            for (no, g) in self.nos.iter().zip(&self.grid) {
                if g.dirty {
                    kept.insert(no.clone(), g.clone());
                }
            }
        } else {
            self.in_flight = None;
            self.focus = None;
            self.scroll_to = None;
        }
        self.of = Some((v.district.clone(), v.date));
        self.nos = v.rows.iter().map(|r| r.inmate_no.clone()).collect();
        self.grid = v
            .rows
            .iter()
            .map(|r| {
                if let Some(g) = kept.remove(&r.inmate_no) {
                    return g;
                }
                let first = r.counts.first();
                GridRow {
                    day_type: r.attendance.as_ref().map(|a| a.day_type),
                    minutes: r
                        .attendance
                        .as_ref()
                        .and_then(|a| a.minutes)
                        .map(|x| x.to_string())
                        .unwrap_or_default(),
                    // The day's count, else the procedure the inmate is
                    // usually on: typing the count is then enough.
                    procedure: first
                        .map(|(p, _)| p.to_string())
                        .or_else(|| {
                            r.usual
                                .as_ref()
                                .filter(|u| v.procedures.iter().any(|(p, _)| p == *u))
                                .map(ToString::to_string)
                        })
                        .unwrap_or_default(),
                    count: first.map(|(_, q)| q.to_string()).unwrap_or_default(),
                    dirty: false,
                }
            })
            .collect();
    }

    /// Rows with unsaved edits.
    pub(super) fn unsaved(&self) -> usize {
        self.grid.iter().filter(|g| g.dirty).count()
    }

    /// The save was stored: the rows saved are clean unless edited again
    /// since (the reload that follows shows them as stored).
    pub(super) fn saved(&mut self) {
        let Some(sent) = self.in_flight.take() else {
            return;
        };
        for (no, g) in self.nos.iter().zip(self.grid.iter_mut()) {
            if sent.get(no) == Some(g) {
                g.dirty = false;
            }
        }
    }

    /// The save was refused: every edit stays, to be corrected.
    pub(super) fn save_failed(&mut self) {
        self.in_flight = None;
    }
}

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

/// A count as typed: empty, or a whole number ≥ 0.
fn parse_count(s: &str) -> Result<Option<u64>, &'static str> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<u64>()
        .map(Some)
        .map_err(|_| "数量须为非负整数 / count must be a whole number ≥ 0")
}

/// Minutes as typed: empty (the rule set's default) or 0..=1440.
fn parse_minutes(s: &str) -> Result<Option<u32>, &'static str> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    match s.parse::<u32>() {
        Ok(m) if m <= 1440 => Ok(Some(m)),
        _ => Err("分钟须为 0–1440 / minutes must be 0–1440"),
    }
}

/// What a typed procedure names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Typed<'p> {
    Empty,
    /// Exactly one procedure: its code equals the text, or the text begins
    /// its code, or appears in its name.
    One(&'p ProcedureId, &'p str),
    Several(usize),
    None,
}

/// Type-ahead over the procedures in force: an exact code first (any case),
/// then a unique code prefix, then a unique part of a name.
fn resolve<'p>(text: &str, procedures: &'p [(ProcedureId, String)]) -> Typed<'p> {
    let t = text.trim().to_lowercase();
    if t.is_empty() {
        return Typed::Empty;
    }
    if let Some((p, n)) = procedures
        .iter()
        .find(|(p, _)| p.as_str().to_lowercase() == t)
    {
        return Typed::One(p, n);
    }
    let pick = |hits: Vec<&'p (ProcedureId, String)>| match hits.as_slice() {
        [] => Typed::None,
        [(p, n)] => Typed::One(p, n),
        many => Typed::Several(many.len()),
    };
    let by_code: Vec<_> = procedures
        .iter()
        .filter(|(p, _)| p.as_str().to_lowercase().starts_with(&t))
        .collect();
    if !by_code.is_empty() {
        return pick(by_code);
    }
    pick(
        procedures
            .iter()
            .filter(|(_, n)| n.to_lowercase().contains(&t))
            .collect(),
    )
}

/// The daily entry grid: one signed change per save.
pub(super) fn entry(
    ui: &mut egui::Ui,
    lang: Lang,
    v: &DistrictView,
    st: &mut EntryScreen,
) -> Option<Request> {
    let mut errors = 0;
    let dirty = st.grid.iter().filter(|g| g.dirty).count();
    let mut save = false;
    let mut discard = false;
    let unfilled = st.grid.iter().filter(|g| g.day_type.is_none()).count();
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
                unfilled > 0,
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
                g.dirty = true;
            }
        }
        if ui
            .add_enabled(dirty > 0, egui::Button::new(lang.t("保存", "Save")))
            .clicked()
        {
            save = true;
        }
        if ui
            .add_enabled(dirty > 0, egui::Button::new(lang.t("放弃修改", "Discard")))
            .clicked()
        {
            discard = true;
        }
        ui.label(format!("{dirty} {}", lang.t("行已修改", "rows changed")));
    });
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
                ui.label(row.inmate_no.to_string());
                ui.label(&row.name);
                let before = g.clone();
                let day = egui::ComboBox::from_id_salt(("day", i))
                    .selected_text(g.day_type.map(|d| day_type_label(lang, d)).unwrap_or("—"))
                    .show_ui(ui, |ui| {
                        for d in DayType::ALL {
                            ui.selectable_value(&mut g.day_type, Some(d), day_type_label(lang, d));
                        }
                    })
                    .response
                    .accessible_name(format!("{} {}", lang.t("出勤", "Day type"), row.inmate_no));
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
                    egui::TextEdit::singleline(&mut g.minutes).hint_text(lang.t("默认", "default")),
                )
                .accessible_name(format!(
                    "{} {}",
                    lang.t("分钟", "Minutes"),
                    row.inmate_no
                ));
                let typed = resolve(&g.procedure, &v.procedures);
                let pr = ui
                    .add_sized(
                        [72.0, 20.0],
                        egui::TextEdit::singleline(&mut g.procedure).hint_text("—"),
                    )
                    .accessible_name(format!("{} {}", lang.t("工序", "Procedure"), row.inmate_no));
                let typed = if pr.changed() {
                    resolve(&g.procedure, &v.procedures)
                } else {
                    typed
                };
                if let Typed::One(p, name) = &typed {
                    pr.clone().on_hover_text(format!("{p} {name}"));
                    // Completed when the officer moves on.
                    if pr.lost_focus() && g.procedure != p.as_str() {
                        g.procedure = p.to_string();
                    }
                }
                let count_id = egui::Id::unique(("count", i));
                let r = ui
                    .add_sized(
                        [96.0, 20.0],
                        egui::TextEdit::singleline(&mut g.count).id(count_id),
                    )
                    .accessible_name(format!("{} {}", lang.t("数量", "Count"), row.inmate_no));
                if *focus == Some(i) {
                    r.request_focus();
                    r.scroll_to_me(None);
                    *focus = None;
                }
                if r.lost_focus() && ui.input(|inp| inp.key_pressed(egui::Key::Enter)) {
                    focus_next = Some(i + 1);
                }
                if *g != before {
                    g.dirty = true;
                }
                let problem = parse_count(&g.count)
                    .err()
                    .or_else(|| parse_minutes(&g.minutes).err())
                    .or_else(|| match (&typed, g.count.trim().is_empty()) {
                        (Typed::Empty, false) => Some("请填写工序 / give a procedure"),
                        (Typed::None, _) => Some("无此工序 / no such procedure"),
                        (Typed::Several(_), _) => {
                            Some("工序不唯一，请多输入几个字 / several procedures match: type more")
                        }
                        _ => None,
                    });
                if let Some(p) = problem {
                    errors += 1;
                    ui.colored_label(SHORT, p);
                } else if row.conflict {
                    ui.colored_label(SHORT, lang.t("冲突", "conflict"));
                } else if let (Typed::One(p, name), true) = (&typed, pr.has_focus()) {
                    ui.label(format!("→ {p} {name}"));
                } else if g.dirty {
                    ui.label(lang.t("未保存", "unsaved"));
                } else {
                    ui.label("");
                }
                ui.end_row();
            }
        });
    });
    if let Some(n) = focus_next
        && n < v.rows.len()
    {
        st.focus = Some(n);
    }
    // The row to focus was not drawn (below the visible rows): scroll so
    // it is, and focus it on the next frame.
    if let Some(n) = st.focus {
        st.scroll_to = Some((n as f32 * pitch - 3.0 * pitch).max(0.0));
        ui.ctx().request_repaint();
    }
    if discard {
        // Nothing typed survives the reload that shows the stored values.
        for g in &mut st.grid {
            g.dirty = false;
        }
        return Some(Request::Load {
            district: v.district.clone(),
            date: v.date,
        });
    }
    if !save || errors > 0 {
        return None;
    }
    st.in_flight = Some(
        st.nos
            .iter()
            .zip(&st.grid)
            .filter(|(_, g)| g.dirty)
            .map(|(no, g)| (no.clone(), g.clone()))
            .collect(),
    );
    let edits: Vec<Edit> = v
        .rows
        .iter()
        .zip(st.grid.iter())
        .filter(|(_, g)| g.dirty)
        .map(|(row, g)| Edit {
            inmate_no: row.inmate_no.clone(),
            attendance: g.day_type.map(|d| Attendance {
                day_type: d,
                minutes: parse_minutes(&g.minutes).ok().flatten(),
                grade: row
                    .attendance
                    .as_ref()
                    .map(|a| a.grade)
                    .unwrap_or(crdt_schema::Grade::Default),
            }),
            count: match (
                resolve(&g.procedure, &v.procedures),
                parse_count(&g.count).ok().flatten(),
            ) {
                (Typed::One(p, _), Some(q)) => Some((p.clone(), q)),
                _ => None,
            },
        })
        .collect();
    Some(Request::Save {
        district: v.district.clone(),
        date: v.date,
        edits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn procs() -> Vec<(ProcedureId, String)> {
        [
            ("P01", "缝领"),
            ("P02", "上袖"),
            ("P11", "锁边"),
            ("Q01", "缝袖口"),
        ]
        .into_iter()
        .map(|(p, n)| (ProcedureId::new(p).expect("code"), n.to_string()))
        .collect()
    }

    #[test]
    fn type_ahead_completes_codes_and_names() {
        let ps = procs();
        let one = |t: &str| match resolve(t, &ps) {
            Typed::One(p, _) => Some(p.to_string()),
            _ => None,
        };
        assert_eq!(one("p02"), Some("P02".into()), "exact code, any case");
        assert_eq!(one("Q"), Some("Q01".into()), "unique code prefix");
        assert_eq!(one("锁"), Some("P11".into()), "unique part of a name");
        assert_eq!(resolve("P", &ps), Typed::Several(3));
        assert_eq!(resolve("P0", &ps), Typed::Several(2));
        assert_eq!(resolve("缝", &ps), Typed::Several(2), "缝领 and 缝袖口");
        assert_eq!(resolve("Z9", &ps), Typed::None);
        assert_eq!(resolve("  ", &ps), Typed::Empty);
    }
}
