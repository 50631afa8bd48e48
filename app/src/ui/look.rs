//! What every screen shares: the board's colours, labels for codes, and a
//! table with a header row.

use crdt_schema::{DayType, Flag};
use eframe::egui::{self, Color32};
use keys::Role;

use super::Lang;

/// Colours of the board: short red, over green.
pub(super) const SHORT: Color32 = Color32::from_rgb(200, 40, 40);
pub(super) const OVER: Color32 = Color32::from_rgb(20, 140, 60);

pub(super) fn day_type_label(lang: Lang, d: DayType) -> &'static str {
    match lang {
        Lang::Zh => d.label_zh(),
        Lang::En => match d {
            DayType::Work => "work",
            DayType::Rest => "rest day",
            DayType::Study => "study day",
            DayType::Sick => "sick",
            DayType::Confined => "confined",
            DayType::Absent => "absent",
            DayType::Stoppage => "stoppage",
            DayType::NoQuota => "no quota",
            DayType::Exempt => "exempt",
            DayType::NotInCustody => "not in custody",
        },
    }
}

/// A report flag for people (the report itself carries the codes).
pub(super) fn flag_label(lang: Lang, f: Flag) -> &'static str {
    match lang {
        Lang::Zh => f.label_zh(),
        Lang::En => match f {
            Flag::Exempt => "exempt",
            Flag::BelowBase => "below base",
            Flag::NeedsReview => "needs review",
            Flag::NeedsApproval => "needs approval",
            Flag::RecordsNotCounted => "records not counted",
            Flag::UnderReview => "under review",
            Flag::RateOutlier => "rate outlier",
            Flag::Conflict => "conflict",
            Flag::Unconfirmed => "unconfirmed",
            Flag::AmendedAfterSeal => "amended after seal",
        },
    }
}

/// A role as the title bar and refusals name it.
pub(super) fn role_label(lang: Lang, r: Role) -> &'static str {
    match r {
        Role::Officer => lang.t("民警", "officer"),
        Role::Chief => lang.t("监区长", "chief"),
        Role::PrisonGroup => lang.t("计分考核工作组", "prison scoring group"),
        Role::LaborSection => lang.t("劳动改造科", "labor section"),
        Role::Records => lang.t("狱政档案", "records"),
        Role::Procurator => lang.t("驻监检察室", "procurator"),
        Role::Admin => lang.t("管理员", "admin"),
    }
}

/// A striped grid with a header row; `rows` adds the rest, each ending
/// with `end_row`.
pub(super) fn table(
    ui: &mut egui::Ui,
    id: &str,
    headers: &[&str],
    rows: impl FnOnce(&mut egui::Ui),
) {
    egui::Grid::new(id)
        .striped(true)
        .num_columns(headers.len())
        .show(ui, |ui| {
            for h in headers {
                ui.strong(*h);
            }
            ui.end_row();
            rows(ui);
        });
}
