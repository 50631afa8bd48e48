//! 劳动日记载: the daily board, on the desk and on the wall.

use eframe::egui::{self, RichText};

use super::Lang;
use super::look::{OVER, SHORT, day_type_label, table};
use crate::backend::DistrictView;

/// The board of the loaded date, sorted by inmate number.
pub(super) fn board(ui: &mut egui::Ui, lang: Lang, v: &DistrictView) {
    ui.label(format!(
        "{} {} {} · {} {}",
        lang.t("劳动日记载", "Daily board"),
        v.district,
        v.district_name,
        v.date,
        v.board.rule_set
    ));
    egui::ScrollArea::vertical()
        .auto_shrink(false)
        .show(ui, |ui| {
            let headers = [
                lang.t("编号", "No."),
                lang.t("姓名", "Name"),
                lang.t("出勤", "Day type"),
                lang.t("定额", "Quota"),
                lang.t("完成", "Done"),
                lang.t("超额", "Over"),
                lang.t("欠额", "Short"),
                lang.t("完成率", "Rate"),
            ];
            table(ui, "board", &headers, |ui| {
                for r in &v.board.rows {
                    board_row(ui, lang, r, 14.0);
                }
            });
        });
}

fn board_row(ui: &mut egui::Ui, lang: Lang, r: &crdt_schema::BoardRow, size: f32) {
    let t = |s: String| RichText::new(s).size(size);
    ui.label(t(r.inmate_no.to_string()));
    ui.label(t(r.name.clone()));
    ui.label(t(r
        .day_type
        .map(|d| day_type_label(lang, d).to_string())
        .unwrap_or_else(|| "—".into())));
    ui.label(t(r.quota.to_string()));
    ui.label(t(r.done.to_string()));
    ui.label(
        t(if r.over > 0 {
            r.over.to_string()
        } else {
            String::new()
        })
        .color(OVER),
    );
    ui.label(
        t(if r.short > 0 {
            r.short.to_string()
        } else {
            String::new()
        })
        .color(SHORT),
    );
    let rate = r.rate_bp.map(|b| b.to_string()).unwrap_or_default();
    let color = if r.short > 0 { SHORT } else { OVER };
    ui.label(t(rate).color(color));
    ui.end_row();
}

/// The wall-screen board: large type, paged to fit, refreshed as data arrives.
pub(super) fn big_board(ui: &mut egui::Ui, lang: Lang, v: &DistrictView, page: &mut usize) {
    let size = 28.0;
    let per_page = ((ui.available_height() - 80.0) / (size * 1.5)).max(1.0) as usize;
    let pages = v.board.rows.len().div_ceil(per_page).max(1);
    *page = (*page).min(pages - 1);
    ui.horizontal(|ui| {
        ui.label(
            RichText::new(format!(
                "{} {} {} · {}",
                lang.t("劳动日记载", "Daily board"),
                v.district_name,
                v.date,
                format_args!("{}/{}", *page + 1, pages)
            ))
            .size(size),
        );
        if ui.button(RichText::new("◀").size(size)).clicked() && *page > 0 {
            *page -= 1;
        }
        if ui.button(RichText::new("▶").size(size)).clicked() {
            *page = (*page + 1) % pages;
        }
    });
    egui::Grid::new("big")
        .striped(true)
        .num_columns(8)
        .show(ui, |ui| {
            for r in v.board.rows.iter().skip(*page * per_page).take(per_page) {
                board_row(ui, lang, r, size);
            }
        });
}
