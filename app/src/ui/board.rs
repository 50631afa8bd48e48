//! 劳动日记载: the daily board, on the desk and on the wall.
//!
//! The wall screen is read from across a workshop: full screen, large type,
//! pages turning by themselves, and the time of the data on it so nobody
//! mistakes a stale board for today's. It reloads whenever peers bring
//! changes (and every ten seconds), like every screen.

use crdt_schema::{BoardRow, BoardUnit};
use eframe::egui::{self, RichText};

use super::Lang;
use super::look::{OVER, SHORT, day_type_label, table};
use crate::backend::DistrictView;

/// How long a page of the wall screen stays up before the next.
pub(super) const PAGE_SECONDS: f64 = 15.0;

/// The order of the board's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Order {
    /// By inmate number (as the report).
    #[default]
    Number,
    /// Largest shortfall first: who needs help today.
    ShortFirst,
    /// Highest rate first.
    RateFirst,
}

impl Order {
    const ALL: [Order; 3] = [Order::Number, Order::ShortFirst, Order::RateFirst];

    fn label(self, lang: Lang) -> &'static str {
        match self {
            Order::Number => lang.t("按编号", "By number"),
            Order::ShortFirst => lang.t("欠额在前", "Short first"),
            Order::RateFirst => lang.t("完成率高在前", "Highest rate first"),
        }
    }
}

/// The board's view state: its order and the wall screen's page.
#[derive(Debug, Clone, Default)]
pub(super) struct BoardScreen {
    pub(super) order: Order,
    page: usize,
    /// egui time the page was turned to.
    turned_at: f64,
}

/// The rows (by inmate number, as the board has them) in the chosen order;
/// the sort is stable, so ties stay by inmate number on every screen, and
/// rows without a rate come last when ordered by rate.
fn order_rows(rows: &[BoardRow], order: Order) -> Vec<&BoardRow> {
    let mut rows: Vec<&BoardRow> = rows.iter().collect();
    match order {
        Order::Number => {}
        Order::ShortFirst => rows.sort_by_key(|r| std::cmp::Reverse(r.short)),
        Order::RateFirst => rows.sort_by_key(|r| std::cmp::Reverse(r.rate_bp)),
    }
    rows
}

/// Who worked, how many reached the quota, how many fell short.
fn summary(lang: Lang, v: &DistrictView) -> String {
    let rated = v.board.rows.iter().filter(|r| r.rate_bp.is_some()).count();
    let short = v.board.rows.iter().filter(|r| r.short > 0).count();
    let over = v.board.rows.iter().filter(|r| r.over > 0).count();
    format!(
        "{} {rated} · {} {} · {} {over} · {} {short}",
        lang.t("有定额", "With a quota"),
        lang.t("完成", "reached"),
        rated - short,
        lang.t("超额", "over"),
        lang.t("欠额", "short"),
    )
}

/// The board of the loaded date.
pub(super) fn board(ui: &mut egui::Ui, lang: Lang, v: &DistrictView, st: &mut BoardScreen) {
    ui.horizontal(|ui| {
        ui.label(format!(
            "{} {} {} · {} {}",
            lang.t("劳动日记载", "Daily board"),
            v.district,
            v.district_name,
            v.date,
            v.board.rule_set
        ));
        ui.separator();
        let l = ui.label(lang.t("排序", "Order"));
        egui::ComboBox::from_id_salt("board-order")
            .selected_text(st.order.label(lang))
            .show_ui(ui, |ui| {
                for o in Order::ALL {
                    ui.selectable_value(&mut st.order, o, o.label(lang));
                }
            })
            .response
            .labelled_by(l.id);
    });
    ui.label(summary(lang, v));
    let rows = order_rows(&v.board.rows, st.order);
    // Only the rows in view are laid out: a district runs to hundreds.
    egui::ScrollArea::vertical()
        .auto_shrink(false)
        .show_rows(ui, 20.0, rows.len(), |ui, range| {
            table(ui, "board", &headers(lang), |ui| {
                for r in &rows[range] {
                    board_row(ui, lang, r, 14.0);
                }
            });
        });
}

fn headers(lang: Lang) -> [&'static str; 9] {
    [
        lang.t("编号", "No."),
        lang.t("姓名", "Name"),
        lang.t("出勤", "Day type"),
        lang.t("定额", "Quota"),
        lang.t("完成", "Done"),
        lang.t("超额", "Over"),
        lang.t("欠额", "Short"),
        lang.t("单位", "Unit"),
        lang.t("完成率", "Rate"),
    ]
}

fn unit_label(lang: Lang, u: BoardUnit) -> &'static str {
    match u {
        BoardUnit::Units => lang.t("件", "pcs"),
        BoardUnit::StdMinutes => lang.t("标准分钟", "std min"),
    }
}

fn board_row(ui: &mut egui::Ui, lang: Lang, r: &BoardRow, size: f32) {
    let t = |s: String| RichText::new(s).size(size);
    let has_quota = r.rate_bp.is_some();
    ui.label(t(r.inmate_no.to_string()));
    ui.label(t(r.name.clone()));
    ui.label(t(r
        .day_type
        .map(|d| day_type_label(lang, d).to_string())
        .unwrap_or_else(|| "—".into())));
    if has_quota {
        ui.label(t(r.quota.to_string()));
        ui.label(t(r.done.to_string()));
    } else {
        ui.label("");
        ui.label("");
    }
    ui.label(
        t(if r.over > 0 {
            format!("+{}", r.over)
        } else {
            String::new()
        })
        .color(OVER),
    );
    ui.label(
        t(if r.short > 0 {
            format!("−{}", r.short)
        } else {
            String::new()
        })
        .color(SHORT),
    );
    ui.label(t(if has_quota {
        unit_label(lang, r.unit).to_string()
    } else {
        String::new()
    }));
    let rate = r.rate_bp.map(|b| b.to_string()).unwrap_or_default();
    let color = if r.short > 0 { SHORT } else { OVER };
    let mut rate = t(rate).color(color);
    if r.conflict {
        rate = rate.underline();
    }
    ui.horizontal(|ui| {
        ui.label(rate);
        // Records of the day the score leaves out are marked, never hidden:
        // the figures beside them are what the score counts.
        if !r.not_counted.is_empty() {
            ui.label(
                t(format!(
                    "{} {}",
                    lang.t("未计入", "not counted"),
                    r.not_counted.len()
                ))
                .color(SHORT),
            )
            .on_hover_text(r.not_counted.join("\n"));
        }
    });
    ui.end_row();
}

/// The wall-screen board: large type, paged to fit, a page every
/// [`PAGE_SECONDS`]; `loaded` is when its data was read ("HH:MM:SS").
pub(super) fn big_board(
    ui: &mut egui::Ui,
    lang: Lang,
    v: &DistrictView,
    st: &mut BoardScreen,
    loaded: &str,
) {
    // Type scaled to the screen: about 16 lines of board on any wall screen.
    let size = (ui.available_height() / 26.0).clamp(22.0, 64.0);
    let pitch = size * 1.45;
    let per_page = ((ui.available_height() - 3.0 * pitch) / pitch).max(1.0) as usize;
    let rows = order_rows(&v.board.rows, st.order);
    let pages = rows.len().div_ceil(per_page).max(1);
    let now = ui.input(|i| i.time);
    if now - st.turned_at >= PAGE_SECONDS {
        st.page = (st.page + 1) % pages;
        st.turned_at = now;
    }
    st.page = st.page.min(pages - 1);
    ui.ctx()
        .request_repaint_after(std::time::Duration::from_secs_f64(PAGE_SECONDS));
    ui.horizontal(|ui| {
        ui.label(
            RichText::new(format!(
                "{} {} {} · {}/{}",
                lang.t("劳动日记载", "Daily board"),
                v.district_name,
                v.date,
                st.page + 1,
                pages
            ))
            .size(size)
            .strong(),
        );
        if ui.button(RichText::new("◀").size(size)).clicked() {
            st.page = (st.page + pages - 1) % pages;
            st.turned_at = now;
        }
        if ui.button(RichText::new("▶").size(size)).clicked() {
            st.page = (st.page + 1) % pages;
            st.turned_at = now;
        }
    });
    ui.label(
        RichText::new(format!(
            "{} · {} {loaded}",
            summary(lang, v),
            lang.t("数据时间", "data as of")
        ))
        .size(size * 0.6),
    );
    egui::Grid::new("big")
        .striped(true)
        .num_columns(9)
        .min_row_height(pitch)
        .show(ui, |ui| {
            for h in headers(lang) {
                ui.label(RichText::new(h).size(size * 0.7).strong());
            }
            ui.end_row();
            for r in rows.iter().skip(st.page * per_page).take(per_page) {
                board_row(ui, lang, r, size);
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crdt_schema::{Bp, InmateNo};

    fn row(no: &str, short: i64, rate: Option<i64>) -> BoardRow {
        BoardRow {
            inmate_no: InmateNo::new(no).expect("number"),
            name: String::new(),
            day_type: None,
            procedure: None,
            unit: BoardUnit::Units,
            quota: 100,
            done: 100 - short,
            over: 0,
            short,
            rate_bp: rate.map(Bp),
            req_ms: 0,
            earned_ms: 0,
            conflict: false,
            not_counted: Vec::new(),
        }
    }

    #[test]
    fn orders_break_ties_by_inmate_number() {
        let rows = vec![
            row("5200000001", 10, Some(9000)),
            row("5200000002", 30, Some(7000)),
            row("5200000003", 10, Some(9000)),
            row("5200000004", 0, None),
        ];
        let nos = |o: Order| -> Vec<String> {
            order_rows(&rows, o)
                .iter()
                .map(|r| r.inmate_no.to_string())
                .collect()
        };
        assert_eq!(
            nos(Order::Number),
            ["5200000001", "5200000002", "5200000003", "5200000004"]
        );
        assert_eq!(
            nos(Order::ShortFirst),
            ["5200000002", "5200000001", "5200000003", "5200000004"]
        );
        assert_eq!(
            nos(Order::RateFirst),
            ["5200000001", "5200000003", "5200000002", "5200000004"],
            "equal rates keep number order; no rate last"
        );
    }
}
