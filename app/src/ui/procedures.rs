//! 工序定额: procedures and their standard times, every version with the
//! date it took effect. The labor section adds a procedure or a new version
//! (a later date; the earlier version stays in force before it, so a month
//! already scored never changes).

use crdt_schema::{Date, ProcedureId, ProcedureVersion, ProductId};
use eframe::egui::{self, RichText};

use super::Lang;
use super::look::{SHORT, table};
use crate::backend::{Catalog, Request};

/// The screen's state: a filter and the form of a new version.
#[derive(Debug, Clone, Default)]
pub(super) struct ProceduresScreen {
    filter: String,
    form: Form,
}

#[derive(Debug, Clone, Default)]
struct Form {
    id: String,
    product: String,
    product_name: String,
    name: String,
    std_seconds: String,
    from: String,
}

/// Why a typed standard time is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StdTimeError {
    Malformed,
    Zero,
}

impl StdTimeError {
    fn text(self, lang: Lang) -> &'static str {
        match self {
            StdTimeError::Malformed => lang.t(
                "标准工时以秒计，最多三位小数",
                "standard time in seconds, at most 3 decimals",
            ),
            StdTimeError::Zero => lang.t("标准工时须大于 0", "standard time must be above 0"),
        }
    }
}

/// A standard time typed in seconds with at most three decimals
/// ("12.5" → 12 500 ms), read without floating point.
pub(super) fn parse_std_seconds(s: &str) -> Result<u64, StdTimeError> {
    const BAD: StdTimeError = StdTimeError::Malformed;
    let s = s.trim();
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) || frac.len() > 3 {
        return Err(BAD);
    }
    let whole: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| BAD)?
    };
    let milli: u64 = format!("{frac:0<3}").parse().map_err(|_| BAD)?;
    let ms = whole
        .checked_mul(1000)
        .and_then(|w| w.checked_add(milli))
        .ok_or(BAD)?;
    if ms == 0 {
        return Err(StdTimeError::Zero);
    }
    Ok(ms)
}

/// Milliseconds as seconds, trailing zeros dropped: 12 500 → "12.5".
pub(super) fn seconds(ms: u64) -> String {
    let frac = format!("{:03}", ms % 1000);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        (ms / 1000).to_string()
    } else {
        format!("{}.{frac}", ms / 1000)
    }
}

/// What the form would write, or why it cannot yet.
fn check(form: &Form, cat: &Catalog, lang: Lang) -> Result<Request, String> {
    let id = ProcedureId::new(form.id.trim())
        .map_err(|e| format!("{} {e}", lang.t("工序编号：", "Procedure:")))?;
    let product = ProductId::new(form.product.trim())
        .map_err(|e| format!("{} {e}", lang.t("产品编号：", "Product:")))?;
    let known = cat.products.iter().any(|(p, _)| *p == product);
    let new_product = if known {
        None
    } else if form.product_name.trim().is_empty() {
        return Err(match lang {
            Lang::Zh => format!("产品 {product} 尚未登记，请填写产品名称"),
            Lang::En => format!("Product {product} is new: give its name"),
        });
    } else {
        Some(form.product_name.trim().to_string())
    };
    let std_ms = parse_std_seconds(&form.std_seconds).map_err(|e| e.text(lang).to_string())?;
    let from: Date = form.from.trim().parse().map_err(|_| {
        lang.t(
            "生效日期应为 YYYY-MM-DD",
            "The effective date must be YYYY-MM-DD",
        )
        .to_string()
    })?;
    let version = ProcedureVersion {
        product,
        name: form.name.trim().to_string(),
        std_ms,
    };
    version
        .validate()
        .map_err(|e| format!("{} {e}", lang.t("工序：", "Procedure:")))?;
    Ok(Request::PutProcedure {
        id,
        from,
        version,
        new_product,
    })
}

/// What saving a version of `id` from `from` would do beyond adding it: it
/// replaces a version of the same date, or changes the figures of months
/// already scored (and perhaps sealed).
fn warnings(lang: Lang, cat: &Catalog, id: &ProcedureId, from: Date, today: Date) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(old) = cat
        .procedures
        .iter()
        .find(|l| l.id == *id && l.from == from)
    {
        out.push(match lang {
            Lang::Zh => format!(
                "{id} 在 {from} 已有版本（{} 秒/件），保存将替换它",
                seconds(old.version.std_ms)
            ),
            Lang::En => format!(
                "{id} already has a version from {from} ({} s/unit): saving replaces it",
                seconds(old.version.std_ms)
            ),
        });
    }
    if from < today.month().first() {
        out.push(
            lang.t(
                "生效日期在本月之前：已评分的月份（包括已封存的）将按新定额重新计算，封存会显示为被修改",
                "Effective before this month: months already scored (sealed ones too) are recomputed with it, and their seals show as amended",
            )
            .to_string(),
        );
    }
    out
}

/// Draws the screen; a request when the labor section saves a version.
pub(super) fn procedures(
    ui: &mut egui::Ui,
    lang: Lang,
    cat: &Catalog,
    st: &mut ProceduresScreen,
    may_edit: bool,
    today: Date,
) -> Option<Request> {
    let mut out = None;
    if may_edit {
        ui.strong(lang.t(
            "新增工序或修订定额（新版本自生效日起适用，此前的日子仍按旧版本）",
            "Add a procedure or a new standard time (in force from its date; days before it keep the earlier version)",
        ));
        let f = &mut st.form;
        egui::Grid::new("procedure-form")
            .num_columns(6)
            .show(ui, |ui| {
                for (zh, en, text, width) in [
                    ("工序编号", "Procedure", &mut f.id, 80.0),
                    ("产品编号", "Product", &mut f.product, 80.0),
                    (
                        "新产品名称",
                        "New product's name",
                        &mut f.product_name,
                        120.0,
                    ),
                ] {
                    let l = ui.label(lang.t(zh, en));
                    ui.add(egui::TextEdit::singleline(text).desired_width(width))
                        .labelled_by(l.id);
                }
                ui.end_row();
                for (zh, en, text, width) in [
                    ("工序名称", "Name", &mut f.name, 120.0),
                    (
                        "标准工时（秒/件）",
                        "Standard time (s/unit)",
                        &mut f.std_seconds,
                        80.0,
                    ),
                    ("生效日期", "Effective from", &mut f.from, 100.0),
                ] {
                    let l = ui.label(lang.t(zh, en));
                    ui.add(egui::TextEdit::singleline(text).desired_width(width))
                        .labelled_by(l.id);
                }
                ui.end_row();
            });
        let checked = check(f, cat, lang);
        let mut save = false;
        if let Ok(Request::PutProcedure { id, from, .. }) = &checked {
            for w in warnings(lang, cat, id, *from, today) {
                ui.colored_label(SHORT, w);
            }
        }
        ui.horizontal(|ui| {
            save = ui
                .add_enabled(
                    checked.is_ok(),
                    egui::Button::new(lang.t("签名保存", "Sign and save")),
                )
                .clicked();
            let any = [&f.id, &f.product, &f.name, &f.std_seconds, &f.from]
                .iter()
                .any(|t| !t.trim().is_empty());
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
        ui.label(format!(
            "{} {}",
            cat.procedures.len(),
            lang.t("个版本", "versions")
        ));
    });
    let needle = st.filter.trim().to_lowercase();
    let product_name = |p: &ProductId| {
        cat.products
            .iter()
            .find(|(q, _)| q == p)
            .map(|(_, n)| n.as_str())
            .unwrap_or("")
    };
    egui::ScrollArea::vertical()
        .auto_shrink(false)
        .show(ui, |ui| {
            let headers = [
                lang.t("工序", "Procedure"),
                lang.t("名称", "Name"),
                lang.t("产品", "Product"),
                lang.t("标准工时（秒）", "Std time (s)"),
                lang.t("生效", "From"),
                "",
            ];
            table(ui, "procedures", &headers, |ui| {
                for line in cat.procedures.iter().filter(|l| {
                    needle.is_empty()
                        || l.id.as_str().to_lowercase().contains(&needle)
                        || l.version.name.to_lowercase().contains(&needle)
                        || l.version.product.as_str().to_lowercase().contains(&needle)
                }) {
                    ui.label(RichText::new(line.id.as_str()).monospace());
                    ui.label(&line.version.name);
                    ui.label(format!(
                        "{} {}",
                        line.version.product,
                        product_name(&line.version.product)
                    ));
                    ui.label(seconds(line.version.std_ms));
                    ui.label(line.from.to_string());
                    if line.conflict {
                        ui.colored_label(SHORT, lang.t("冲突", "conflict"));
                    } else if may_edit {
                        if ui
                            .small_button(lang.t("修订", "Revise"))
                            .accessible_name(format!(
                                "{} {} {}",
                                lang.t("修订", "Revise"),
                                line.id,
                                line.from
                            ))
                            .clicked()
                        {
                            st.form = Form {
                                id: line.id.to_string(),
                                product: line.version.product.to_string(),
                                product_name: String::new(),
                                name: line.version.name.clone(),
                                std_seconds: seconds(line.version.std_ms),
                                from: String::new(),
                            };
                        }
                    } else {
                        ui.label("");
                    }
                    ui.end_row();
                }
            });
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_times_read_as_milliseconds_without_floats() {
        assert_eq!(parse_std_seconds("12.5"), Ok(12_500));
        assert_eq!(parse_std_seconds("60"), Ok(60_000));
        assert_eq!(parse_std_seconds(" 0.001 "), Ok(1));
        assert_eq!(parse_std_seconds(".25"), Ok(250));
        assert!(parse_std_seconds("0").is_err(), "zero");
        assert!(parse_std_seconds("1.2345").is_err(), "four decimals");
        assert!(parse_std_seconds("-3").is_err());
        assert!(parse_std_seconds("1e3").is_err());
        assert!(parse_std_seconds("").is_err());
        assert_eq!(seconds(12_500), "12.5");
        assert_eq!(seconds(60_000), "60");
        assert_eq!(seconds(1), "0.001");
    }
}
