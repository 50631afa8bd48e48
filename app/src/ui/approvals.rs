//! 审批: the rule's procedure around the month, in sections —
//! 周评议 (the district group's weekly review, recorded by the chief), 公示
//! (the posting), 复查复核 (applications, answers, acknowledgements; see
//! `review`), and 审批与封存: conflicts and the seal (the district's chief),
//! and the approvals of the prison scoring working group (计分考核工作组),
//! whose role approves in every district.
//!
//! Each acts on what the screen shows: an approval names the entries it
//! approves and a seal the report digest it seals, and the backend refuses
//! either if the data changed in between. Buttons are for those whose role
//! may write the record (the validator decides again); others see the state.

use crdt_schema::schema::RecordClass;
use crdt_schema::{ApprovalTarget, Date, DistrictId, Flag, Month};
use eframe::egui::{self, RichText};
use node::service::review::GroupQueueLine;

use super::Lang;
use super::look::{OVER, SHORT};
use super::review;
use crate::backend::{DistrictView, Officer, Request};

/// The sections of the screen, in the order of its bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Section {
    Review,
    Posting,
    Applications,
    Close,
}

impl Section {
    const ALL: [Section; 4] = [
        Section::Review,
        Section::Posting,
        Section::Applications,
        Section::Close,
    ];

    fn label(self, lang: Lang) -> &'static str {
        match self {
            Section::Review => lang.t("周评议", "Weekly review"),
            Section::Posting => lang.t("公示", "Posting"),
            Section::Applications => lang.t("复查复核", "Applications"),
            Section::Close => lang.t("审批与封存", "Approval and seal"),
        }
    }

    /// The section an officer starts on: the one of the records it writes.
    fn first_for(officer: &Officer, v: &DistrictView) -> Section {
        let may = |c| officer.may_in(&v.district, v.month, c);
        if may(RecordClass::Review) && v.decision_levels {
            Section::Review
        } else if may(RecordClass::Application) && !may(RecordClass::Seal) {
            Section::Applications
        } else {
            Section::Close
        }
    }
}

/// The screen's state: the section shown, the forms, the prison group's
/// queue, whether the seal's confirmation is open.
#[derive(Debug, Clone, Default)]
pub(super) struct ApprovalsScreen {
    confirm_seal: bool,
    /// Ticked in the seal's confirmation: seal though the procedure is not done.
    force_seal: bool,
    /// `None`: the officer's first section.
    section: Option<Section>,
    review: review::ReviewForm,
    post: review::PostForm,
    applications: review::ApplicationsForm,
    /// What awaits the prison group in every district, as last read.
    pub(super) queue: Option<(Month, Vec<GroupQueueLine>)>,
    /// The month the queue was asked for (not asked again every frame;
    /// cleared by every write, which may have changed it).
    pub(super) queue_asked: Option<Month>,
    /// A district picked from the queue, for the main screen to show.
    pub(super) go_to: Option<DistrictId>,
}

/// Whether `officer` may approve, resolve and seal in the shown district.
pub(super) fn may_close(officer: &Officer, v: &DistrictView) -> bool {
    officer.may_in(&v.district, v.month, RecordClass::Seal)
}

/// Whether a conflicting record can be resolved here (the backend writes
/// back counts, attendance, adjustments and approvals, or a deletion of the
/// first three).
fn resolvable(key: &str, value: Option<&str>) -> bool {
    match key.split('/').next() {
        Some("cnt" | "att" | "adj") => true,
        Some("apv" | "gapv") => value.is_some(),
        _ => false,
    }
}

/// The screen: its section bar, then the section. `today` is the default
/// date of the forms and decides whether the month is over.
pub(super) fn approvals(
    ui: &mut egui::Ui,
    lang: Lang,
    v: &DistrictView,
    officer: &Officer,
    st: &mut ApprovalsScreen,
    today: Date,
) -> Option<Request> {
    let mut section = st.section.unwrap_or_else(|| Section::first_for(officer, v));
    ui.horizontal(|ui| {
        for s in Section::ALL {
            if ui.selectable_label(section == s, s.label(lang)).clicked() {
                section = s;
            }
        }
    });
    st.section = Some(section);
    ui.separator();
    egui::ScrollArea::vertical()
        .id_salt("approvals-section")
        .auto_shrink(false)
        .show(ui, |ui| match section {
            Section::Review => review::review(ui, lang, v, officer, &mut st.review, today),
            Section::Posting => review::posting(ui, lang, v, officer, &mut st.post, today),
            Section::Applications => {
                review::applications(ui, lang, v, officer, &mut st.applications, today)
            }
            Section::Close => close(ui, lang, v, officer, st, today),
        })
        .inner
}

/// What awaits the prison group in every district of the month, each
/// with a button to show it; asked for when first shown.
fn queue(
    ui: &mut egui::Ui,
    lang: Lang,
    v: &DistrictView,
    st: &mut ApprovalsScreen,
) -> Option<Request> {
    let mut req = None;
    ui.heading(lang.t(
        "各监区待工作组审批",
        "Awaiting the prison group, by district",
    ));
    match &st.queue {
        Some((m, lines)) if *m == v.month => {
            egui::Grid::new("group-queue").striped(true).show(ui, |ui| {
                for l in lines {
                    ui.label(format!("{} {}", l.district, l.name));
                    ui.label(match lang {
                        Lang::Zh => format!("{} 人待审批", l.inmates),
                        Lang::En => format!("{} inmates awaiting", l.inmates),
                    });
                    if l.district != v.district
                        && ui
                            .button(format!("{} {}", lang.t("查看", "Show"), l.district))
                            .clicked()
                    {
                        st.go_to = Some(l.district.clone());
                    }
                    ui.end_row();
                }
            });
        }
        _ => {
            ui.spinner();
        }
    }
    if st.queue_asked != Some(v.month)
        || ui
            .button(lang.t("刷新待审批", "Refresh the list"))
            .clicked()
    {
        st.queue_asked = Some(v.month);
        req = Some(Request::GroupQueue { month: v.month });
    }
    ui.separator();
    req
}

/// The chief's and the prison group's section: conflicts side by side,
/// pending bonuses and deductions entry by entry, unconfirmed records, the
/// seal.
fn close(
    ui: &mut egui::Ui,
    lang: Lang,
    v: &DistrictView,
    officer: &Officer,
    st: &mut ApprovalsScreen,
    today: Date,
) -> Option<Request> {
    let mut req = None;
    let may = may_close(officer, v);
    let may_approve = officer.may_in(
        &v.district,
        v.month,
        if v.decision_levels {
            RecordClass::GroupApproval
        } else {
            RecordClass::Approval
        },
    );
    if may_approve && !may {
        ui.label(lang.t(
            "计分考核工作组：可审批各监区待审批的加扣分；处理冲突和封存限本监区监区长",
            "Prison scoring group: approve what awaits it in every district; conflicts and the seal belong to the district's chief",
        ));
    } else if !may {
        ui.colored_label(
            SHORT,
            format!(
                "{} {}",
                lang.t(
                    "只能查看：审批、处理冲突和封存限本监区监区长 —",
                    "View only: approvals, conflicts and the seal belong to the chief of",
                ),
                v.district
            ),
        );
    }
    let unconfirmed = v
        .report
        .body
        .inmates
        .iter()
        .filter(|r| r.flags.contains(&Flag::Unconfirmed))
        .count();
    let month_over = today > v.month.last();
    if may_approve && v.decision_levels {
        req = queue(ui, lang, v, st);
    }
    {
        {
            ui.heading(lang.t("数据冲突", "Conflicts"));
            if v.conflicts.is_empty() {
                ui.label(lang.t("没有冲突", "No conflicts"));
            }
            for c in &v.conflicts {
                ui.horizontal(|ui| {
                    ui.label(RichText::new(format!("{} {}", c.inmate_no, c.key)).monospace());
                    for val in &c.values {
                        let shown = val
                            .value
                            .clone()
                            .unwrap_or_else(|| lang.t("（删除）", "(deleted)").to_string());
                        let ok = may && resolvable(&c.key, val.value.as_deref());
                        let b = ui
                            .add_enabled(
                                ok,
                                egui::Button::new(format!(
                                    "{} {shown} ({})",
                                    lang.t("采用", "Keep"),
                                    val.written_by
                                )),
                            )
                            .accessible_name(format!("{} {shown}", lang.t("采用", "Keep")));
                        if b.clicked() {
                            req = Some(Request::Resolve {
                                district: v.district.clone(),
                                month: v.month,
                                key: c.key.clone(),
                                value: val.value.clone(),
                            });
                        }
                    }
                    if !resolvable(&c.key, None) {
                        ui.label(lang.t(
                            "此类记录的冲突请用 tally 命令行处理",
                            "resolve this kind of record with the tally command line",
                        ));
                    }
                });
            }
            ui.separator();
            let awaiting_review = v
                .report
                .body
                .inmates
                .iter()
                .filter(|r| r.flags.contains(&Flag::NeedsReview))
                .count();
            ui.label(format!(
                "{}: {awaiting_review}",
                lang.t(
                    "有待监区计分考核工作小组周评议的加扣分的人数",
                    "Inmates with entries awaiting the district group's weekly review"
                )
            ));
            ui.heading(lang.t(
                "待审批（计分考核工作组）",
                "Awaiting the prison group's approval",
            ));
            if v.pending.is_empty() {
                ui.label(lang.t("没有待审批的加扣分", "Nothing awaits approval"));
            }
            for (no, entries) in &v.pending {
                ui.horizontal(|ui| {
                    ui.strong(format!(
                        "{no} {}",
                        v.names.get(no).map(String::as_str).unwrap_or("")
                    ));
                    let b = ui
                        .add_enabled(may_approve, egui::Button::new(lang.t("批准", "Approve")))
                        .accessible_name(format!("{} {no}", lang.t("批准", "Approve")));
                    if b.clicked() {
                        req = Some(Request::Approve {
                            district: v.district.clone(),
                            month: v.month,
                            inmate: no.clone(),
                            seen: entries.clone(),
                        });
                    }
                });
                for e in entries {
                    let what = match &e.target {
                        ApprovalTarget::OverfulfilmentBonus => {
                            lang.t("超额加分", "over-fulfilment bonus").to_string()
                        }
                        ApprovalTarget::Adjustment(_) => e.what.clone(),
                    };
                    let color = if e.points.0 < 0 { SHORT } else { OVER };
                    ui.colored_label(
                        color,
                        format!(
                            "    {} {} {}",
                            what,
                            if e.points.0 < 0 { "" } else { "+" },
                            e.points
                        ),
                    );
                }
            }
            ui.separator();
            ui.label(format!(
                "{}: {unconfirmed}",
                lang.t("有未确认记录的人数", "Inmates with unconfirmed records")
            ));
            ui.separator();
            ui.heading(lang.t("封存", "Seal"));
            match &v.report.seal {
                Some(seal) if seal.current => {
                    ui.colored_label(
                        OVER,
                        lang.t(
                            "本月已封存，报告与封存一致",
                            "Sealed; the report matches the seal",
                        ),
                    );
                }
                Some(seal) if seal.registry_changed => {
                    ui.colored_label(
                        SHORT,
                        lang.t(
                            "封存后工序定额、名册或规则有变化，报告已不同于封存时，需重新封存",
                            "The registry (standard times, roster, rules) changed after the seal: the report no longer matches it; seal again",
                        ),
                    );
                }
                Some(seal) => {
                    ui.colored_label(
                        SHORT,
                        format!(
                            "{} ({} {})",
                            lang.t("封存后有修改", "Amended after the seal"),
                            seal.amended,
                            lang.t("人", "inmates")
                        ),
                    );
                }
                None => {
                    ui.label(lang.t("本月尚未封存", "Not sealed yet"));
                }
            }
            let can_seal = may && v.conflicts.is_empty();
            let label = if v.report.seal.is_some() {
                lang.t("重新封存", "Re-seal")
            } else {
                lang.t("封存本月", "Seal the month")
            };
            if ui.add_enabled(can_seal, egui::Button::new(label)).clicked() {
                st.confirm_seal = true;
            }
            if !v.conflicts.is_empty() {
                ui.colored_label(
                    SHORT,
                    lang.t("先解决冲突再封存", "Resolve the conflicts before sealing"),
                );
            }
        }
    }
    if st.confirm_seal {
        let mut close = false;
        egui::Modal::new(egui::Id::unique("confirm-seal")).show(ui.ctx(), |ui| {
            ui.set_width(520.0);
            ui.heading(format!(
                "{} {} {}",
                lang.t("封存", "Seal"),
                v.district,
                v.month
            ));
            ui.label(format!(
                "{} {}",
                lang.t("报告摘要", "Report digest"),
                &v.report.digest.0[..16.min(v.report.digest.0.len())]
            ));
            let warn = |ui: &mut egui::Ui, s: String| {
                ui.colored_label(SHORT, s);
            };
            if !month_over {
                warn(
                    ui,
                    lang.t(
                        "本月尚未结束：之后录入的每一天都将是封存后的修改。",
                        "The month is not over: every day entered later will be an amendment.",
                    )
                    .into(),
                );
            }
            if !v.pending.is_empty() {
                warn(
                    ui,
                    format!(
                        "{} {}",
                        v.pending.len(),
                        lang.t(
                            "人有待审批的加扣分，未计入。",
                            "inmates have bonuses or deductions awaiting approval, not counted.",
                        )
                    ),
                );
            }
            if unconfirmed > 0 {
                warn(
                    ui,
                    format!(
                        "{unconfirmed} {}",
                        lang.t(
                            "人有未确认的记录。",
                            "inmates have unconfirmed records."
                        )
                    ),
                );
            }
            for r in &v.not_done {
                warn(ui, super::words::not_done(lang, r));
            }
            if !v.not_done.is_empty() {
                ui.checkbox(
                    &mut st.force_seal,
                    lang.t(
                        "强制封存：封存将载明以上未完成的程序",
                        "Seal anyway: the seal says what of the procedure was not done",
                    ),
                );
            }
            ui.label(lang.t(
                "封存是监区长对本月报告的签名确认，之后的修改都会被标出。",
                "The seal is the chief's signed statement of this report; later changes are flagged.",
            ));
            ui.horizontal(|ui| {
                let ready = v.not_done.is_empty() || st.force_seal;
                if ui
                    .add_enabled(ready, egui::Button::new(lang.t("确认封存", "Seal")))
                    .clicked()
                {
                    req = Some(Request::Seal {
                        district: v.district.clone(),
                        month: v.month,
                        seen: v.report.digest.clone(),
                        force: !v.not_done.is_empty() && st.force_seal,
                    });
                    close = true;
                }
                if ui.button(lang.t("取消", "Cancel")).clicked() {
                    close = true;
                }
            });
        });
        if close {
            st.confirm_seal = false;
            st.force_seal = false;
        }
    }
    req
}
