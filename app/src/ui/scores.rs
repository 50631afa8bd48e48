//! 月度考核: the month's report with every flag, the arithmetic behind each
//! inmate's figures, and the signed changes behind them.
//!
//! Every figure of a row is a button: clicking it shows, beside the table,
//! how the figure was computed (each division's numerator and denominator,
//! as the report keeps them, so it can be redone by hand) and the audit
//! trail of the records behind it (officer, time, signature status).

use crdt_schema::{Adjustment, Cp, Date, InmateNo, InmateResult};
use eframe::egui::{self, RichText};
use node::audit::{AuditTrail, SignatureStatus};

use super::Lang;
use super::look::{OVER, SHORT, flag_label, table};
use crate::backend::{DistrictView, Request};
use crate::clock::time_of_day;

/// The 加扣分 form beside an inmate's figures: a bonus (positive) or a
/// deduction (negative) with its reason, typed in Chinese through an input
/// method like every name and reason.
#[derive(Debug, Clone, Default)]
pub(super) struct AdjustForm {
    /// Empty: the day shown.
    date: String,
    points: String,
    reason: String,
    evidence: String,
    /// 专项加分: decided by the prison group whatever its amount.
    special: bool,
    /// 不宜公示: left off the posted sheet, counted all the same.
    no_post: bool,
    /// The form's entry was sent and awaits its reply.
    sent: bool,
}

/// What the form would write, or why it cannot yet.
fn check_adjustment(
    f: &AdjustForm,
    lang: Lang,
    v: &DistrictView,
    inmate: &InmateNo,
) -> Result<Request, String> {
    let date: Date = if f.date.trim().is_empty() {
        v.date
    } else {
        f.date.trim().parse().map_err(|_| {
            lang.t("日期应为 YYYY-MM-DD", "The date must be YYYY-MM-DD")
                .to_string()
        })?
    };
    if date.month() != v.month {
        return Err(format!(
            "{} {}",
            lang.t("日期不在本月：", "The date is not in the month"),
            v.month
        ));
    }
    let points_cp: Cp = f.points.trim().parse().map_err(|_| {
        lang.t(
            "分值应为分数，最多两位小数，扣分为负（如 -2、1.5）",
            "Points with at most two decimals, negative for a deduction (e.g. -2, 1.5)",
        )
        .to_string()
    })?;
    let adjustment = Adjustment {
        date,
        points_cp,
        reason: f.reason.trim().to_string(),
        evidence: f.evidence.trim().to_string(),
        special: f.special,
        no_post: f.no_post,
    };
    adjustment.validate().map_err(|e| e.to_string())?;
    Ok(Request::PutAdjustment {
        district: v.district.clone(),
        inmate: inmate.clone(),
        adjustment,
    })
}

fn adjust_form(
    ui: &mut egui::Ui,
    lang: Lang,
    v: &DistrictView,
    inmate: &InmateNo,
    f: &mut AdjustForm,
) -> Option<Request> {
    ui.strong(format!(
        "{} {inmate}",
        lang.t("加扣分", "Bonus or deduction for")
    ));
    egui::Grid::new("adjust-form")
        .num_columns(4)
        .show(ui, |ui| {
            let l = ui.label(lang.t("日期", "Date"));
            ui.add(
                egui::TextEdit::singleline(&mut f.date)
                    .desired_width(90.0)
                    .hint_text(v.date.to_string()),
            )
            .labelled_by(l.id);
            let l = ui.label(lang.t("分值", "Points"));
            ui.add(
                egui::TextEdit::singleline(&mut f.points)
                    .desired_width(60.0)
                    .hint_text("-2"),
            )
            .labelled_by(l.id);
            ui.end_row();
            let l = ui.label(lang.t("事由", "Reason"));
            ui.add(egui::TextEdit::singleline(&mut f.reason).desired_width(200.0))
                .labelled_by(l.id);
            let l = ui.label(lang.t("证据", "Evidence"));
            ui.add(
                egui::TextEdit::singleline(&mut f.evidence)
                    .desired_width(90.0)
                    .hint_text(lang.t("照片/报告编号", "photo or report no.")),
            )
            .labelled_by(l.id);
            ui.end_row();
            ui.checkbox(&mut f.special, lang.t("专项加分", "Special bonus"));
            ui.checkbox(&mut f.no_post, lang.t("不宜公示", "Not for posting"));
            ui.end_row();
        });
    let checked = check_adjustment(f, lang, v, inmate);
    let mut save = false;
    ui.horizontal(|ui| {
        save = ui
            .add_enabled(
                checked.is_ok(),
                egui::Button::new(lang.t("签名保存加扣分", "Sign and save the entry")),
            )
            .clicked();
        if let Err(e) = &checked
            && !(f.points.trim().is_empty() && f.reason.trim().is_empty())
        {
            ui.colored_label(SHORT, e);
        }
    });
    if save { checked.ok() } else { None }
}

impl AdjustForm {
    /// The form's reply came: saved, the next entry starts empty (the same
    /// fact clicked twice would be two entries, and a tick left on would
    /// make the next an ordinary entry's special bonus or keep it off the
    /// posted sheet); refused, it keeps what was typed.
    pub(super) fn replied(&mut self, saved: bool) {
        if self.sent && saved {
            *self = AdjustForm {
                date: std::mem::take(&mut self.date),
                ..AdjustForm::default()
            };
        }
        self.sent = false;
    }

    /// For another inmate, the entry starts plain.
    pub(super) fn clear_marks(&mut self) {
        self.special = false;
        self.no_post = false;
    }
}

/// The report; clicking a figure asks for the inmate's audit trail. Where
/// the officer writes the district's records, an inmate's figures come with
/// the 加扣分 form.
pub(super) fn scores(
    ui: &mut egui::Ui,
    lang: Lang,
    v: &DistrictView,
    audit: Option<&AuditTrail>,
    form: &mut AdjustForm,
    may_write: bool,
) -> Option<Request> {
    let mut req = None;
    ui.horizontal(|ui| {
        ui.label(format!(
            "{} {} {} {} · {} {} · {} {}",
            lang.t("月度考核", "Monthly scores"),
            v.district,
            v.district_name,
            v.month,
            lang.t("规则版本", "rule set"),
            v.report.body.rule_set,
            lang.t("报告摘要", "digest"),
            &v.report.digest.0[..16.min(v.report.digest.0.len())]
        ));
        match &v.report.seal {
            Some(s) if s.current => {
                ui.colored_label(OVER, lang.t("已封存", "sealed"));
            }
            Some(s) if s.registry_changed => {
                ui.colored_label(
                    SHORT,
                    lang.t(
                        "封存后登记信息有变化（定额、名册或规则）",
                        "registry changed after the seal (standard times, roster, rules)",
                    ),
                );
            }
            Some(_) => {
                ui.colored_label(SHORT, lang.t("封存后有修改", "amended after the seal"));
            }
            None => {
                ui.label(lang.t("未封存", "not sealed"));
            }
        }
    });
    problems(ui, lang, v);
    ui.columns(2, |cols| {
        let ui = &mut cols[0];
        let headers = [
            lang.t("编号", "No."),
            lang.t("姓名", "Name"),
            lang.t("劳动日", "Labor days"),
            lang.t("基础分", "Base"),
            lang.t("加分", "Bonus"),
            lang.t("扣分", "Deduct"),
            lang.t("待批", "Pending"),
            lang.t("劳动分", "Labor score"),
            lang.t("标记", "Flags"),
        ];
        let rows = &v.report.body.inmates;
        let row_h = 22.0;
        egui::ScrollArea::vertical()
            .id_salt("scores")
            .auto_shrink(false)
            .show_rows(ui, row_h, rows.len(), |ui, range| {
                table(ui, "scores", &headers, |ui| {
                    for r in &rows[range] {
                        if score_row(ui, lang, v, r) {
                            req = Some(Request::Audit {
                                district: v.district.clone(),
                                month: v.month,
                                inmate: r.inmate_no.clone(),
                            });
                        }
                    }
                });
            });
        let ui = &mut cols[1];
        egui::ScrollArea::vertical()
            .id_salt("audit")
            .auto_shrink(false)
            .show(ui, |ui| match audit {
                None => {
                    ui.label(lang.t(
                        "点击任一分数，查看计算过程和签名记录",
                        "Click a figure to see how it was computed and the signed changes behind it",
                    ));
                }
                Some(t) => {
                    if let Some(r) = rows.iter().find(|r| r.inmate_no == t.inmate_no) {
                        arithmetic(ui, lang, v, r);
                        ui.separator();
                    }
                    entries_of(ui, lang, v, &t.inmate_no);
                    if may_write && let Some(r) = adjust_form(ui, lang, v, &t.inmate_no, form) {
                        form.sent = true;
                        req = Some(r);
                    }
                    ui.separator();
                    audit_trail(ui, lang, t);
                }
            });
    });
    req
}

/// The inmate's bonuses and deductions of the month, each with the id the
/// review, the applications and `tally entries` name it by, its level and
/// its state.
fn entries_of(ui: &mut egui::Ui, lang: Lang, v: &DistrictView, inmate: &InmateNo) {
    let mine: Vec<_> = v
        .entries
        .iter()
        .filter(|e| e.inmate_no == *inmate)
        .collect();
    if mine.is_empty() {
        return;
    }
    ui.strong(lang.t("加扣分", "Bonuses and deductions"));
    for e in mine {
        let l = &e.line;
        ui.label(format!(
            "{} {} {} → {} {} · {} · {}",
            l.id,
            l.date,
            l.points_cp,
            l.counted_cp,
            l.reason,
            super::review::level_label(lang, l.level),
            super::review::status_label(lang, l.status)
        ));
    }
    ui.separator();
}

/// One row; whether one of its figures was clicked.
fn score_row(ui: &mut egui::Ui, lang: Lang, v: &DistrictView, r: &InmateResult) -> bool {
    let no = r.inmate_no.as_str();
    let mut clicked = false;
    let mut figure = |ui: &mut egui::Ui, what: &str, text: String| {
        let b = ui
            .add(egui::Button::new(text).frame(false))
            .accessible_name(format!("{what} {no}"));
        clicked |= b.clicked();
    };
    ui.label(no);
    ui.label(v.names.get(&r.inmate_no).map(String::as_str).unwrap_or(""));
    figure(ui, lang.t("劳动日", "Labor days"), r.labor_days.to_string());
    figure(ui, lang.t("基础分", "Base"), r.base_cp.to_string());
    figure(ui, lang.t("加分", "Bonus"), r.bonus_cp.to_string());
    figure(ui, lang.t("扣分", "Deduct"), r.deduct_cp.to_string());
    let pending = if r.pending_bonus_cp.0 != 0 || r.pending_deduct_cp.0 != 0 {
        format!("+{} −{}", r.pending_bonus_cp, r.pending_deduct_cp)
    } else {
        String::new()
    };
    figure(ui, lang.t("待批", "Pending"), pending);
    let labor = RichText::new(r.labor_cp.to_string()).strong();
    let b = ui
        .button(labor)
        .accessible_name(format!("{} {no}", lang.t("劳动分", "Labor score")));
    clicked |= b.clicked();
    let flags: Vec<&str> = r.flags.iter().map(|f| flag_label(lang, *f)).collect();
    ui.colored_label(SHORT, flags.join(" "));
    ui.end_row();
    clicked
}

/// Records that could not be used, and team counts nobody could be
/// credited with: shown, never silently dropped.
fn problems(ui: &mut egui::Ui, lang: Lang, v: &DistrictView) {
    let body = &v.report.body;
    let n = body.problems.len() + body.unallocated_team_counts.len();
    if n == 0 {
        return;
    }
    egui::CollapsingHeader::new(
        RichText::new(format!(
            "{} {n}",
            lang.t("未计入的记录：", "Records not counted:")
        ))
        .color(SHORT),
    )
    .id_salt("problems")
    .show(ui, |ui| {
        for p in &body.problems {
            ui.label(format!("{} — {}", p.key, p.reason));
        }
        for t in &body.unallocated_team_counts {
            ui.label(format!(
                "{} {} {} × {} — {}",
                t.date,
                lang.t("班组入库", "team count"),
                t.procedure,
                t.quantity,
                lang.t(
                    "当天没有分配到该工序的罪犯出工",
                    "no assigned inmate worked that day"
                )
            ));
        }
    });
}

/// How the inmate's figures were computed, from the report's numerators
/// and denominators.
fn arithmetic(ui: &mut egui::Ui, lang: Lang, v: &DistrictView, r: &InmateResult) {
    let k = v.report.body.calendar_days;
    ui.strong(format!(
        "{} {} {}",
        lang.t("计算过程", "How it was computed"),
        r.inmate_no,
        v.names.get(&r.inmate_no).map(String::as_str).unwrap_or("")
    ));
    let mono = |ui: &mut egui::Ui, s: String| {
        ui.label(RichText::new(s).monospace());
    };
    mono(
        ui,
        format!(
            "{}: C={} K={k} D={} Σf={} bp",
            lang.t("在押/日历/劳动日", "custody/calendar/labor days"),
            r.custody_days,
            r.labor_days,
            r.factor_sum_bp
        ),
    );
    let base = if r.base_den == 0 {
        format!("{} = 0", lang.t("基础分", "base"))
    } else {
        format!(
            "{} = {} / {} = {} cp",
            lang.t("基础分", "base"),
            r.base_num,
            r.base_den,
            r.base_cp.0
        )
    };
    mono(ui, base);
    if r.req_ms > 0 {
        mono(
            ui,
            format!(
                "{}: ΣEARNED {} ms / ΣREQ {} ms → {} {} ({})",
                lang.t("超额", "over"),
                r.earned_ms,
                r.req_ms,
                lang.t("超额", "over by"),
                r.over_bp,
                if r.over_eligible {
                    lang.t("连续超额", "continuous: eligible")
                } else {
                    lang.t("未连续超额", "not continuous: no bonus")
                }
            ),
        );
    }
    mono(
        ui,
        format!(
            "{} {} cp + {} {} cp → {} {} cp",
            lang.t("超额加分", "over-fulfilment"),
            r.overfulfil_bonus_cp.0,
            lang.t("其他加分", "other bonuses"),
            r.other_bonus_cp.0,
            lang.t("计入加分（封顶后）", "bonus counted (capped)"),
            r.bonus_cp.0
        ),
    );
    mono(
        ui,
        format!(
            "{} = {} + {} − {} = {} cp ({})",
            lang.t("劳动分", "labor"),
            r.base_cp.0,
            r.bonus_cp.0,
            r.deduct_cp.0,
            r.labor_cp.0,
            r.labor_cp
        ),
    );
    if r.pending_bonus_cp != Cp(0) || r.pending_deduct_cp != Cp(0) {
        ui.colored_label(
            SHORT,
            format!(
                "{} +{} cp / −{} cp",
                lang.t("待监区长审批，未计入：", "awaiting the chief, not counted:"),
                r.pending_bonus_cp.0,
                r.pending_deduct_cp.0
            ),
        );
    }
}

fn audit_trail(ui: &mut egui::Ui, lang: Lang, t: &AuditTrail) {
    ui.strong(format!(
        "{} {} {}",
        lang.t("签名记录", "Audit trail"),
        t.inmate_no,
        t.month
    ));
    for rec in &t.records {
        ui.label(RichText::new(&rec.key).monospace());
        for w in &rec.writes {
            let who = format!(
                "{} {}",
                w.officer_no.as_deref().unwrap_or("?"),
                w.name.as_deref().unwrap_or("")
            );
            let status = match lang {
                Lang::Zh => w.signature.label_zh(),
                Lang::En => match w.signature {
                    SignatureStatus::Valid => "signature valid",
                    SignatureStatus::Invalid => "signature INVALID",
                    SignatureStatus::Missing => "no signature",
                },
            };
            let text = format!(
                "  {} {} {} → {} · {} · {}{}",
                w.date.as_deref().unwrap_or(""),
                time_of_day(w.time),
                who,
                w.value.as_deref().unwrap_or("∅"),
                status,
                &w.change[..12.min(w.change.len())],
                if w.current {
                    lang.t(" ✔ 现值", " ✔ current")
                } else {
                    ""
                }
            );
            if w.signature == SignatureStatus::Valid {
                ui.label(text);
            } else {
                ui.colored_label(SHORT, text);
            }
        }
    }
}
