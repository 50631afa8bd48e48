//! 规则版本: every rule-set version and what each parameter means; the
//! labor section starts a new version from one shown, edits its fields
//! (each checked and explained as it is typed) and publishes it, effective
//! from its month. A version changing a sealed month is refused unless
//! "publish anyway" is ticked (the month then shows 封存后修改).

use crdt_schema::{BaseBasis, Bp, Continuity, Cp, Month, NoQuotaTable, Ramp, RecordError, RuleSet};
use eframe::egui::{self, RichText};
use node::service::rules::fields;

use super::Lang;
use super::look::{SHORT, table};
use crate::backend::Request;

/// The screen's state: the versions read, the one shown, the form.
#[derive(Debug, Clone, Default)]
pub(super) struct RulesScreen {
    /// `None` until read.
    pub(super) versions: Option<Vec<RuleSet>>,
    shown: Option<Month>,
    form: Option<Form>,
    force: bool,
}

impl RulesScreen {
    /// New versions were read (after opening the tab, or a publication).
    pub(super) fn read(&mut self, versions: Vec<RuleSet>) {
        if self
            .shown
            .is_none_or(|m| !versions.iter().any(|v| v.effective_from == m))
        {
            self.shown = versions.last().map(|v| v.effective_from);
        }
        self.versions = Some(versions);
    }

    /// A publication went through: the form is done.
    pub(super) fn published(&mut self, from: Month) {
        self.form = None;
        self.force = false;
        self.shown = Some(from);
    }
}

/// The form: every parameter as typed.
#[derive(Debug, Clone, Default, PartialEq)]
struct Form {
    effective_from: String,
    base_cp: String,
    default_minutes: String,
    default_grade_bp: String,
    ramp_days: String,
    ramp_grade_bp: String,
    no_quota: [String; 5],
    run: bool,
    continuity_days: String,
    bonus_num: String,
    bonus_den: String,
    cap_cp: String,
    approval_bonus_cp: String,
    approval_deduct_cp: String,
    spot_deduct_max_cp: String,
    posting_working_days: String,
    /// Carried from the rule set the form began from (edited with the CLI).
    holidays: Vec<crdt_schema::Date>,
    workdays: Vec<crdt_schema::Date>,
    decision_levels: bool,
    outlier_rate_bp: String,
    requires_confirmation: bool,
    monthly: bool,
}

impl Form {
    /// The form filled from `r`, to publish from the month after it.
    fn from(r: &RuleSet) -> Form {
        let nq = &r.no_quota;
        Form {
            effective_from: r
                .effective_from
                .next()
                .unwrap_or(r.effective_from)
                .to_string(),
            base_cp: r.base_cp.0.to_string(),
            default_minutes: r.default_minutes.to_string(),
            default_grade_bp: r.default_grade_bp.to_string(),
            ramp_days: r.ramp.map(|x| x.days.to_string()).unwrap_or_default(),
            ramp_grade_bp: r.ramp.map(|x| x.grade_bp.to_string()).unwrap_or_default(),
            no_quota: [nq.outstanding, nq.excellent, nq.good, nq.fair, nq.absent]
                .map(|b| b.0.to_string()),
            run: matches!(r.continuity, Continuity::Run { .. }),
            continuity_days: match r.continuity {
                Continuity::EveryWorkDay { min_work_days } => min_work_days.to_string(),
                Continuity::Run { days } => days.to_string(),
            },
            bonus_num: r.bonus_num.to_string(),
            bonus_den: r.bonus_den.to_string(),
            cap_cp: r.cap_cp.0.to_string(),
            approval_bonus_cp: r.approval_bonus_cp.0.to_string(),
            approval_deduct_cp: r.approval_deduct_cp.0.to_string(),
            spot_deduct_max_cp: r.spot_deduct_max_cp.0.to_string(),
            posting_working_days: r.posting_working_days.to_string(),
            holidays: r.holidays.clone(),
            workdays: r.workdays.clone(),
            decision_levels: r.decision_levels,
            outlier_rate_bp: r.outlier_rate_bp.0.to_string(),
            requires_confirmation: r.requires_confirmation,
            monthly: r.base_basis == BaseBasis::Monthly,
        }
    }
}

/// A field's Chinese name, for the form's labels and its errors.
fn field_zh(field: &str) -> &str {
    match field {
        "effective_from" => "生效月份",
        "base_cp" => "基础分",
        "default_minutes" => "默认工时",
        "default_grade_bp" => "默认等级系数",
        "ramp.days" => "过渡期天数",
        "ramp.grade_bp" => "过渡期系数",
        "no_quota grade" => "无定额评等系数",
        "min_work_days" | "run days" => "连续超额天数",
        "bonus_num" => "超额加分分子",
        "bonus_den" => "超额加分分母",
        "cap_cp" => "加分上限",
        "approval_bonus_cp" => "加分审批线",
        "approval_deduct_cp" => "扣分审批线",
        "spot_deduct_max_cp" => "当场扣分上限",
        "posting_working_days" => "公示工作日数",
        "outlier_rate_bp" => "效率异常线",
        other => other,
    }
}

/// Why the form is not a rule set, naming the field.
fn check(f: &Form, lang: Lang) -> Result<RuleSet, String> {
    let zh = lang == Lang::Zh;
    let int = |field: &'static str, s: &str| -> Result<i64, String> {
        s.trim().parse::<i64>().map_err(|_| {
            if zh {
                format!(
                    "{}（{field}）应为整数，现为「{}」",
                    field_zh(field),
                    s.trim()
                )
            } else {
                format!("{field} must be an integer, not `{}`", s.trim())
            }
        })
    };
    let u32_of = |field: &'static str, s: &str| -> Result<u32, String> {
        let v = int(field, s)?;
        u32::try_from(v).map_err(|_| {
            if zh {
                format!("{}（{field}）不能为负数", field_zh(field))
            } else {
                format!("{field} cannot be negative")
            }
        })
    };
    let effective_from: Month = f.effective_from.trim().parse().map_err(|_| {
        if zh {
            format!("生效月份应为 YYYY-MM，现为「{}」", f.effective_from.trim())
        } else {
            format!(
                "effective_from must be YYYY-MM, not `{}`",
                f.effective_from.trim()
            )
        }
    })?;
    let ramp = match (
        f.ramp_days.trim().is_empty(),
        f.ramp_grade_bp.trim().is_empty(),
    ) {
        (true, true) => None,
        _ => Some(Ramp {
            days: u32_of("ramp.days", &f.ramp_days)?,
            grade_bp: u32_of("ramp.grade_bp", &f.ramp_grade_bp)?,
        }),
    };
    let nq: Vec<Bp> = f
        .no_quota
        .iter()
        .map(|s| int("no_quota grade", s).map(Bp))
        .collect::<Result<_, _>>()?;
    let days = u32_of(
        if f.run { "run days" } else { "min_work_days" },
        &f.continuity_days,
    )?;
    let r = RuleSet {
        effective_from,
        base_cp: Cp(int("base_cp", &f.base_cp)?),
        default_minutes: u32_of("default_minutes", &f.default_minutes)?,
        default_grade_bp: u32_of("default_grade_bp", &f.default_grade_bp)?,
        ramp,
        no_quota: NoQuotaTable {
            outstanding: nq[0],
            excellent: nq[1],
            good: nq[2],
            fair: nq[3],
            absent: nq[4],
        },
        continuity: if f.run {
            Continuity::Run { days }
        } else {
            Continuity::EveryWorkDay {
                min_work_days: days,
            }
        },
        bonus_num: u32_of("bonus_num", &f.bonus_num)?,
        bonus_den: u32_of("bonus_den", &f.bonus_den)?,
        cap_cp: Cp(int("cap_cp", &f.cap_cp)?),
        approval_bonus_cp: Cp(int("approval_bonus_cp", &f.approval_bonus_cp)?),
        approval_deduct_cp: Cp(int("approval_deduct_cp", &f.approval_deduct_cp)?),
        spot_deduct_max_cp: Cp(int("spot_deduct_max_cp", &f.spot_deduct_max_cp)?),
        posting_working_days: u32_of("posting_working_days", &f.posting_working_days)?,
        holidays: f.holidays.clone(),
        workdays: f.workdays.clone(),
        decision_levels: f.decision_levels,
        outlier_rate_bp: Bp(int("outlier_rate_bp", &f.outlier_rate_bp)?),
        requires_confirmation: f.requires_confirmation,
        base_basis: if f.monthly {
            BaseBasis::Monthly
        } else {
            BaseBasis::Daily
        },
    };
    r.validate().map_err(|e| match (&e, zh) {
        (
            RecordError::OutOfRange {
                field,
                value,
                min,
                max,
            },
            true,
        ) => format!(
            "{}（{field}）应在 {min}–{max} 之间，现为 {value}",
            field_zh(field)
        ),
        _ => e.to_string(),
    })?;
    if r.cap_cp.0.saturating_mul(2) > r.base_cp.0 {
        return Err(if zh {
            format!(
                "加分上限（cap_cp）{} 超过基础分 {} 的一半（第十条：劳动加分不超过基础分的 50%）",
                r.cap_cp.0, r.base_cp.0
            )
        } else {
            node::service::rules::publishable(&r)
                .err()
                .unwrap_or_default()
        });
    }
    Ok(r)
}

/// One labelled text field of the form, with its meaning beside it.
fn text_row(ui: &mut egui::Ui, label: &str, value: &mut String, meaning: &str) {
    let l = ui.label(label);
    ui.add(egui::TextEdit::singleline(value).desired_width(90.0))
        .labelled_by(l.id);
    ui.label(RichText::new(meaning).weak());
    ui.end_row();
}

fn meaning(name: &str, r: &RuleSet) -> &'static str {
    fields(r)
        .into_iter()
        .find(|f| f.name == name)
        .map_or("", |f| f.zh)
}

/// Draws the screen; a request to read the versions or publish one.
pub(super) fn rules(
    ui: &mut egui::Ui,
    lang: Lang,
    st: &mut RulesScreen,
    may_publish: bool,
) -> Option<Request> {
    let mut out = None;
    let Some(versions) = &st.versions else {
        ui.horizontal(|ui| {
            ui.spinner();
            if ui.button(lang.t("重新读取", "Read again")).clicked() {
                out = Some(Request::Rules);
            }
        });
        return out;
    };
    ui.horizontal(|ui| {
        let l = ui.label(lang.t("版本（生效月份）", "Version (effective from)"));
        egui::ComboBox::from_id_salt("rule-version")
            .selected_text(st.shown.map(|m| m.to_string()).unwrap_or_default())
            .show_ui(ui, |ui| {
                for v in versions {
                    ui.selectable_value(
                        &mut st.shown,
                        Some(v.effective_from),
                        v.effective_from.to_string(),
                    );
                }
            })
            .response
            .labelled_by(l.id);
        ui.label(format!(
            "{} {}",
            versions.len(),
            lang.t("个版本", "versions")
        ));
    });
    let shown = versions
        .iter()
        .find(|v| Some(v.effective_from) == st.shown)
        .or(versions.last());
    // While a new version is edited, the form (each field with its
    // meaning) takes the table's place.
    if let Some(r) = shown.filter(|_| st.form.is_none()) {
        let headers = [
            lang.t("参数", "Parameter"),
            lang.t("取值", "Value"),
            lang.t("含义", "Meaning"),
        ];
        table(ui, "rule-fields", &headers, |ui| {
            for f in fields(r) {
                ui.label(RichText::new(f.name).monospace());
                ui.label(f.value);
                ui.label(f.zh);
                ui.end_row();
            }
        });
        if may_publish
            && ui
                .button(lang.t("以此版本为底稿新建版本", "New version based on this one"))
                .clicked()
        {
            st.form = Some(Form::from(r));
        }
    }
    let Some(f) = st.form.as_mut() else {
        return out;
    };
    let base = shown
        .cloned()
        .unwrap_or_else(|| RuleSet::standard(Month::new(2021, 10).expect("valid month")));
    ui.separator();
    ui.strong(lang.t(
        "新规则版本：自生效月份起适用，此前月份不变",
        "New rule set: in force from its month; earlier months do not change",
    ));
    egui::Grid::new("rule-form").num_columns(3).show(ui, |ui| {
        text_row(
            ui,
            lang.t("生效月份", "Effective from"),
            &mut f.effective_from,
            meaning("effective_from", &base),
        );
        text_row(
            ui,
            lang.t("基础分（厘分）", "Base (cp)"),
            &mut f.base_cp,
            meaning("base_cp", &base),
        );
        text_row(
            ui,
            lang.t("默认工时（分钟）", "Default minutes"),
            &mut f.default_minutes,
            meaning("default_minutes", &base),
        );
        text_row(
            ui,
            lang.t("默认等级系数", "Default grade (bp)"),
            &mut f.default_grade_bp,
            meaning("default_grade_bp", &base),
        );
        text_row(
            ui,
            lang.t("过渡期天数", "Ramp days"),
            &mut f.ramp_days,
            lang.t("留空：无过渡期", "empty: no ramp"),
        );
        text_row(
            ui,
            lang.t("过渡期系数", "Ramp grade (bp)"),
            &mut f.ramp_grade_bp,
            meaning("ramp", &base),
        );
        for (i, name) in ["突出", "优秀", "良好", "一般", "缺勤"].iter().enumerate() {
            let label = format!("{} {name}", lang.t("无定额", "No quota"));
            text_row(ui, &label, &mut f.no_quota[i], meaning("no_quota", &base));
        }
        let l = ui.label(lang.t("连续超额认定", "Continuity"));
        ui.horizontal(|ui| {
            ui.radio_value(&mut f.run, false, lang.t("每个出工日", "every work day"));
            ui.radio_value(&mut f.run, true, lang.t("连续若干日", "a run of days"));
        })
        .response
        .labelled_by(l.id);
        ui.label(RichText::new(meaning("continuity", &base)).weak());
        ui.end_row();
        text_row(
            ui,
            lang.t("连续超额天数", "Continuity days"),
            &mut f.continuity_days,
            lang.t(
                "每个出工日：至少几个出工日；连续：连续几日",
                "every work day: at least so many; run: so many in a row",
            ),
        );
        text_row(
            ui,
            lang.t("超额加分分子", "Bonus numerator"),
            &mut f.bonus_num,
            meaning("bonus_num/bonus_den", &base),
        );
        text_row(
            ui,
            lang.t("超额加分分母", "Bonus denominator"),
            &mut f.bonus_den,
            meaning("bonus_num/bonus_den", &base),
        );
        text_row(
            ui,
            lang.t("加分上限（厘分）", "Bonus cap (cp)"),
            &mut f.cap_cp,
            meaning("cap_cp", &base),
        );
        text_row(
            ui,
            lang.t("加分审批线（厘分）", "Bonus approval (cp)"),
            &mut f.approval_bonus_cp,
            meaning("approval_bonus_cp", &base),
        );
        text_row(
            ui,
            lang.t("扣分审批线（厘分）", "Deduction approval (cp)"),
            &mut f.approval_deduct_cp,
            meaning("approval_deduct_cp", &base),
        );
        text_row(
            ui,
            lang.t("当场扣分上限（厘分）", "Spot deduction up to (cp)"),
            &mut f.spot_deduct_max_cp,
            meaning("spot_deduct_max_cp", &base),
        );
        text_row(
            ui,
            lang.t("公示工作日数", "Posting (working days)"),
            &mut f.posting_working_days,
            meaning("posting_working_days", &base),
        );
        text_row(
            ui,
            lang.t("效率异常线", "Outlier rate (bp)"),
            &mut f.outlier_rate_bp,
            meaning("outlier_rate_bp", &base),
        );
        ui.label("");
        ui.checkbox(
            &mut f.requires_confirmation,
            lang.t("二次签名确认", "Second signature"),
        );
        ui.label(RichText::new(meaning("requires_confirmation", &base)).weak());
        ui.end_row();
        let l = ui.label(lang.t("基础分口径", "Base basis"));
        ui.horizontal(|ui| {
            ui.radio_value(&mut f.monthly, false, lang.t("按日", "daily"));
            ui.radio_value(&mut f.monthly, true, lang.t("按月", "monthly"));
        })
        .response
        .labelled_by(l.id);
        ui.label(RichText::new(meaning("base_basis", &base)).weak());
        ui.end_row();
    });
    let checked = check(f, lang);
    if let Err(e) = &checked {
        ui.colored_label(SHORT, e);
    }
    ui.checkbox(
        &mut st.force,
        lang.t(
            "强制发布（会改变已封存月份时，这些月份将标记为封存后修改）",
            "Publish anyway (sealed months it changes show amended after seal)",
        ),
    );
    ui.horizontal(|ui| {
        if ui
            .add_enabled(
                checked.is_ok(),
                egui::Button::new(lang.t("签名发布", "Sign and publish")),
            )
            .clicked()
            && let Ok(rules) = &checked
        {
            out = Some(Request::PublishRules {
                rules: Box::new(rules.clone()),
                force: st.force,
            });
        }
        if ui.button(lang.t("取消", "Cancel")).clicked() {
            st.form = None;
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_of_a_rule_set_gives_it_back_and_names_a_bad_field_in_chinese() {
        let mut r = RuleSet::standard(Month::new(2026, 11).expect("month"));
        r.ramp = Some(Ramp {
            days: 7,
            grade_bp: 6000,
        });
        r.base_basis = BaseBasis::Monthly;
        let mut f = Form::from(&r);
        // The form starts at the month after the version it is based on.
        assert_eq!(f.effective_from, "2026-12");
        f.effective_from = "2026-11".into();
        assert_eq!(check(&f, Lang::Zh), Ok(r));
        f.cap_cp = "-5".into();
        assert_eq!(
            check(&f, Lang::Zh),
            Err("加分上限（cap_cp）应在 0–100000 之间，现为 -5".into())
        );
        f.cap_cp = "1.5".into();
        assert_eq!(
            check(&f, Lang::Zh),
            Err("加分上限（cap_cp）应为整数，现为「1.5」".into())
        );
        f.cap_cp = "1500".into();
        f.effective_from = "2026-13".into();
        assert!(check(&f, Lang::En).unwrap_err().contains("effective_from"));
    }
}
