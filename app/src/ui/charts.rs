//! 效率曲线: the district's daily rate over the month, and one inmate's
//! against it. The figures are the scoring engine's integers (bp); they
//! become floating point only here, to be drawn.

use crdt_schema::{Bp, InmateNo, MonthRates};
use eframe::egui::{self, Color32};
use egui_plot::{HLine, Legend, Line, MarkerShape, Plot, PlotPoints, Points};

use super::Lang;

/// The screen's state: which inmate is drawn, and the search that picks one.
#[derive(Debug, Clone, Default)]
pub(super) struct ChartsScreen {
    inmate: Option<InmateNo>,
    search: String,
}

/// Points (day, percent) of the days that have a rate.
fn series(daily: impl Iterator<Item = Option<Bp>>) -> Vec<[f64; 2]> {
    daily
        .enumerate()
        .filter_map(|(i, r)| r.map(|r| [(i + 1) as f64, r.0 as f64 / 100.0]))
        .collect()
}

const DISTRICT: Color32 = Color32::from_rgb(40, 90, 200);
const INMATE: Color32 = Color32::from_rgb(220, 120, 20);

/// Draws the charts of the loaded month.
pub(super) fn charts(ui: &mut egui::Ui, lang: Lang, rates: &MonthRates, st: &mut ChartsScreen) {
    let district = series(rates.district_daily.iter().map(|d| d.rate));
    ui.strong(format!(
        "{} {} {}",
        rates.district,
        rates.month,
        lang.t(
            "监区日完成率（Σ实得工时 ÷ Σ应得工时）",
            "district daily rate (Σ earned ÷ Σ required)"
        )
    ));
    let days = f64::from(rates.month.days());
    let height = (ui.available_height() / 2.0 - 60.0).max(160.0);
    Plot::new("district-rate")
        .height(height)
        .include_x(1.0)
        .include_x(days)
        .include_y(0.0)
        .include_y(120.0)
        .x_axis_label(lang.t("日", "day"))
        .y_axis_label("%")
        .allow_scroll(false)
        .show(ui, |p| {
            p.hline(HLine::new(lang.t("定额 100%", "quota 100%"), 100.0).color(Color32::GRAY));
            p.line(
                Line::new(
                    lang.t("监区", "district"),
                    PlotPoints::from(district.clone()),
                )
                .color(DISTRICT),
            );
            p.points(
                Points::new("", PlotPoints::from(district.clone()))
                    .color(DISTRICT)
                    .shape(MarkerShape::Circle)
                    .radius(3.0),
            );
        });
    ui.separator();
    // Type-ahead: a number or part of a name narrows the list.
    ui.horizontal(|ui| {
        let l = ui.label(lang.t("罪犯", "Inmate"));
        ui.add(
            egui::TextEdit::singleline(&mut st.search)
                .desired_width(120.0)
                .hint_text(lang.t("编号或姓名", "number or name")),
        )
        .labelled_by(l.id);
        let needle = st.search.trim().to_lowercase();
        if !needle.is_empty() {
            let matches: Vec<_> = rates
                .inmates
                .iter()
                .filter(|i| {
                    i.inmate_no.as_str().to_lowercase().contains(&needle)
                        || i.name.to_lowercase().contains(&needle)
                })
                .take(8)
                .collect();
            for m in &matches {
                let picked = st.inmate.as_ref() == Some(&m.inmate_no);
                if ui
                    .selectable_label(picked, format!("{} {}", m.inmate_no, m.name))
                    .clicked()
                {
                    st.inmate = Some(m.inmate_no.clone());
                }
            }
            if let [only] = matches.as_slice() {
                st.inmate = Some(only.inmate_no.clone());
            }
        }
    });
    let Some(inmate) = st
        .inmate
        .as_ref()
        .and_then(|no| rates.inmates.iter().find(|i| i.inmate_no == *no))
    else {
        ui.label(lang.t(
            "输入编号或姓名以查看个人日完成率",
            "Type a number or name to see an inmate's daily rate",
        ));
        return;
    };
    let own = series(inmate.daily.iter().copied());
    let worked = own.len();
    ui.label(format!(
        "{} {} · {} {}",
        inmate.inmate_no,
        inmate.name,
        worked,
        lang.t("个出工日", "work days")
    ));
    Plot::new("inmate-rate")
        .height((ui.available_height() - 8.0).max(160.0))
        .include_x(1.0)
        .include_x(days)
        .include_y(0.0)
        .include_y(120.0)
        .x_axis_label(lang.t("日", "day"))
        .y_axis_label("%")
        .allow_scroll(false)
        .legend(Legend::default())
        .show(ui, |p| {
            p.hline(HLine::new(lang.t("定额 100%", "quota 100%"), 100.0).color(Color32::GRAY));
            p.line(
                Line::new(lang.t("监区", "district"), PlotPoints::from(district)).color(DISTRICT),
            );
            p.line(Line::new(inmate.name.clone(), PlotPoints::from(own.clone())).color(INMATE));
            p.points(
                Points::new(inmate.inmate_no.to_string(), PlotPoints::from(own))
                    .color(INMATE)
                    .shape(MarkerShape::Diamond)
                    .radius(4.0),
            );
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_keeps_only_days_with_a_rate_as_percent() {
        let s = series([Some(Bp(10_000)), None, Some(Bp(12_550))].into_iter());
        assert_eq!(s, vec![[1.0, 100.0], [3.0, 125.5]]);
    }
}
