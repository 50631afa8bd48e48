//! 月度考核: the month's report with every flag, and the signed changes
//! behind a score.

use eframe::egui::{self, RichText};
use node::audit::AuditTrail;

use super::Lang;
use super::look::{SHORT, table};
use crate::backend::{DistrictView, Request};

/// The report; clicking a labor score asks for its audit trail.
pub(super) fn scores(
    ui: &mut egui::Ui,
    lang: Lang,
    v: &DistrictView,
    audit: Option<&AuditTrail>,
) -> Option<Request> {
    let mut req = None;
    ui.label(format!(
        "{} {} {} · digest {}",
        lang.t("月度考核", "Monthly scores"),
        v.district,
        v.month,
        &v.report.digest.0[..16.min(v.report.digest.0.len())]
    ));
    ui.columns(2, |cols| {
        egui::ScrollArea::vertical()
            .id_salt("scores")
            .auto_shrink(false)
            .show(&mut cols[0], |ui| {
                let headers = [
                    lang.t("编号", "No."),
                    lang.t("基础分", "Base"),
                    lang.t("加分", "Bonus"),
                    lang.t("扣分", "Deduct"),
                    lang.t("劳动分", "Labor score"),
                    lang.t("标记", "Flags"),
                ];
                table(ui, "scores", &headers, |ui| {
                    for r in &v.report.body.inmates {
                        ui.label(r.inmate_no.to_string());
                        ui.label(r.base_cp.to_string());
                        ui.label(r.bonus_cp.to_string());
                        ui.label(r.deduct_cp.to_string());
                        let b = ui.button(r.labor_cp.to_string()).accessible_name(format!(
                            "{} {}",
                            lang.t("劳动分", "Labor score"),
                            r.inmate_no
                        ));
                        if b.clicked() {
                            req = Some(Request::Audit {
                                district: v.district.clone(),
                                month: v.month,
                                inmate: r.inmate_no.clone(),
                            });
                        }
                        let flags: Vec<&str> = r
                            .flags
                            .iter()
                            .map(|f| match lang {
                                Lang::Zh => f.label_zh(),
                                Lang::En => f.as_str(),
                            })
                            .collect();
                        ui.colored_label(SHORT, flags.join(" "));
                        ui.end_row();
                    }
                });
            });
        let ui = &mut cols[1];
        match audit {
            None => {
                ui.label(lang.t(
                    "点击劳动分查看签名记录",
                    "Click a score to see the signed changes behind it",
                ));
            }
            Some(t) => audit_trail(ui, lang, t),
        }
    });
    req
}

fn audit_trail(ui: &mut egui::Ui, lang: Lang, t: &AuditTrail) {
    ui.strong(format!(
        "{} {} {}",
        lang.t("签名记录", "Audit trail"),
        t.inmate_no,
        t.month
    ));
    egui::ScrollArea::vertical()
        .id_salt("audit")
        .show(ui, |ui| {
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
                            node::audit::SignatureStatus::Valid => "signature valid",
                            node::audit::SignatureStatus::Invalid => "signature INVALID",
                            node::audit::SignatureStatus::Missing => "no signature",
                        },
                    };
                    ui.label(format!(
                        "  {} {} → {} · {}{}",
                        w.date.as_deref().unwrap_or(""),
                        who,
                        w.value.as_deref().unwrap_or("∅"),
                        status,
                        if w.current { " ✔" } else { "" }
                    ));
                }
            }
        });
}
