//! 审批: what the chief decides — conflicts, approvals, the seal.

use eframe::egui::{self, RichText};

use super::Lang;
use super::look::{OVER, SHORT};
use crate::backend::{DistrictView, Request};

/// The chief's screen: conflicts side by side, pending bonuses and
/// deductions, unconfirmed records, the seal.
pub(super) fn approvals(ui: &mut egui::Ui, lang: Lang, v: &DistrictView) -> Option<Request> {
    let mut req = None;
    egui::ScrollArea::vertical()
        .auto_shrink(false)
        .show(ui, |ui| {
            ui.heading(lang.t("数据冲突", "Conflicts"));
            if v.conflicts.is_empty() {
                ui.label(lang.t("没有冲突", "No conflicts"));
            }
            for c in &v.conflicts {
                ui.horizontal(|ui| {
                    ui.label(RichText::new(format!("{} {}", c.inmate_no, c.key)).monospace());
                    for val in &c.values {
                        let text = format!(
                            "{} {} ({})",
                            lang.t("采用", "Keep"),
                            val.value,
                            val.written_by
                        );
                        if ui
                            .button(text)
                            .accessible_name(format!("{} {}", lang.t("采用", "Keep"), val.value))
                            .clicked()
                        {
                            req = Some(Request::Resolve {
                                district: v.district.clone(),
                                month: v.month,
                                key: c.key.clone(),
                                value: val.value.clone(),
                            });
                        }
                    }
                });
            }
            ui.separator();
            ui.heading(lang.t("待审批", "Awaiting approval"));
            let pending: Vec<_> = v
                .report
                .body
                .inmates
                .iter()
                .filter(|r| r.pending_bonus_cp.0 != 0 || r.pending_deduct_cp.0 != 0)
                .collect();
            if pending.is_empty() {
                ui.label(lang.t("没有待审批的加扣分", "Nothing awaits approval"));
            }
            for r in pending {
                ui.horizontal(|ui| {
                    ui.label(format!(
                        "{}  {} {}  {} {}",
                        r.inmate_no,
                        lang.t("待批加分", "bonus"),
                        r.pending_bonus_cp,
                        lang.t("待批扣分", "deduction"),
                        r.pending_deduct_cp
                    ));
                    if ui
                        .button(lang.t("批准", "Approve"))
                        .accessible_name(format!("{} {}", lang.t("批准", "Approve"), r.inmate_no))
                        .clicked()
                    {
                        req = Some(Request::Approve {
                            district: v.district.clone(),
                            month: v.month,
                            inmate: r.inmate_no.clone(),
                        });
                    }
                });
            }
            ui.separator();
            let unconfirmed = v
                .report
                .body
                .inmates
                .iter()
                .filter(|r| r.flags.contains(&crdt_schema::Flag::Unconfirmed))
                .count();
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
            let can_seal = v.conflicts.is_empty();
            let label = if v.report.seal.is_some() {
                lang.t("重新封存", "Re-seal")
            } else {
                lang.t("封存本月", "Seal the month")
            };
            if ui.add_enabled(can_seal, egui::Button::new(label)).clicked() {
                req = Some(Request::Seal {
                    district: v.district.clone(),
                    month: v.month,
                });
            }
            if !can_seal {
                ui.colored_label(
                    SHORT,
                    lang.t("先解决冲突再封存", "Resolve the conflicts before sealing"),
                );
            }
        });
    req
}
