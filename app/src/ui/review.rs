//! The rule's procedure on the 审批 screen (RULES.md, decision levels and
//! weekly review, posting, applications): the district group's weekly
//! review (周评议) as the chief records it, the posting (公示), and the
//! applications (复查、复核) with their answers and the acknowledgements of
//! the monthly sheet.
//!
//! Every form builds the same record the CLI's command would
//! (`tally review`, `post`, `apply`, `answer`, `acknowledge`) and sends it to
//! the backend, which calls the same use case; what a form cannot check
//! (the record's author, a changed document) the service and the validator
//! refuse, and the notice says why. Forms are offered to the roles that may
//! write their records; others see the state.

use std::collections::BTreeMap;

use crdt_schema::schema::RecordClass;
use crdt_schema::{
    AckState, Acknowledgement, Answer, AnswerOutcome, Application, ApplicationKind, ContentId, Cp,
    Date, EntryStatus, Level, Outcome, Week, needed_in_favour, two_thirds,
};
use eframe::egui::{self, RichText};
use node::export::Format;
use node::service::review::{ApplicationRow, EntryRow, ReviewInput};

use super::Lang;
use super::look::{OVER, SHORT, table};
use crate::backend::{DistrictView, Officer, Request};

pub(super) fn level_label(lang: Lang, l: Level) -> &'static str {
    match l {
        Level::Spot => lang.t("当场", "on the spot"),
        Level::Group => lang.t("监区小组", "district group"),
        Level::PrisonGroup => lang.t("工作组", "prison group"),
        Level::Chief => lang.t("监区长", "chief"),
    }
}

pub(super) fn status_label(lang: Lang, s: EntryStatus) -> &'static str {
    match s {
        EntryStatus::Counted => lang.t("计入", "counted"),
        EntryStatus::AwaitingReview => lang.t("待评议", "awaiting review"),
        EntryStatus::AwaitingApproval => lang.t("待审批", "awaiting approval"),
        EntryStatus::Returned => lang.t("退回", "returned"),
        EntryStatus::Void => lang.t("无劳动日，不计", "void (no labor day)"),
        EntryStatus::NotCounted => lang.t("不计入", "not counted"),
    }
}

fn kind_label(lang: Lang, k: ApplicationKind) -> &'static str {
    match k {
        ApplicationKind::Recheck => lang.t("复查", "re-check"),
        ApplicationKind::Review => lang.t("复核", "review"),
    }
}

fn ack_label(lang: Lang, a: AckState) -> &'static str {
    match a {
        AckState::Signed => lang.t("签字", "signed"),
        AckState::Refused => lang.t("拒签", "refused"),
        AckState::NotAvailable => lang.t("无法签字", "not available"),
    }
}

/// An XLSX and a printable-HTML export button, labelled (zh, en) each;
/// the format clicked and its file extension.
fn export_buttons(
    ui: &mut egui::Ui,
    lang: Lang,
    [xlsx, html]: [(&'static str, &'static str); 2],
) -> Option<(Format, &'static str)> {
    let mut out = None;
    ui.horizontal(|ui| {
        if ui.button(lang.t(xlsx.0, xlsx.1)).clicked() {
            out = Some((Format::Xlsx, "xlsx"));
        }
        if ui.button(lang.t(html.0, html.1)).clicked() {
            out = Some((Format::Html, "html"));
        }
    });
    out
}

/// A date typed in a form: empty is `default`.
fn date_or(text: &str, default: Date, lang: Lang) -> Result<Date, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(default);
    }
    t.parse().map_err(|_| {
        lang.t("日期应为 YYYY-MM-DD", "Dates are YYYY-MM-DD")
            .to_string()
    })
}

/// A count of people typed in a form.
fn people(text: &str, what: &str, lang: Lang) -> Result<u32, String> {
    text.trim().parse::<u32>().map_err(|_| match lang {
        Lang::Zh => format!("{what}应为人数"),
        Lang::En => format!("{what}: a number of people"),
    })
}

/// Points typed in a form ("1.5", "-2"), as centipoints.
fn points(text: &str, lang: Lang) -> Result<Cp, String> {
    text.trim().parse::<Cp>().map_err(|_| {
        lang.t(
            "分值应为分数，最多两位小数（如 -2、1.5）",
            "Points with at most two decimals (e.g. -2, 1.5)",
        )
        .to_string()
    })
}

/// A decision picked for an entry on the review form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Choice {
    /// Not decided at this review (it stays awaiting review).
    #[default]
    Undecided,
    Pass,
    Correct,
    Return,
}

/// The weekly review form.
#[derive(Debug, Clone, Default)]
pub(super) struct ReviewForm {
    /// The week reviewed; `None`: the week of the day shown.
    week: Option<Week>,
    members: String,
    present: String,
    in_favour: String,
    /// Empty: today.
    held: String,
    dissent: String,
    choices: BTreeMap<ContentId, Choice>,
    /// The corrected amount typed per entry.
    corrected: BTreeMap<ContentId, String>,
}

impl ReviewForm {
    fn week(&self, v: &DistrictView) -> Option<Week> {
        self.week.or_else(|| Week::of(v.date))
    }
}

/// The entries the review of `week` may decide: those awaiting review dated
/// no later than its Sunday (undecided ones of earlier weeks included).
fn reviewable(v: &DistrictView, week: Week) -> Vec<&EntryRow> {
    // The view holds one month's entries: a week not touching it has none
    // here (the service would refuse them).
    if week.monday().month() != v.month && week.sunday().month() != v.month {
        return Vec::new();
    }
    let sunday = week.sunday();
    v.entries
        .iter()
        .filter(|e| e.line.status == EntryStatus::AwaitingReview && e.line.date <= sunday)
        .collect()
}

/// What the form would write, or why it cannot yet.
fn check_review(
    f: &ReviewForm,
    lang: Lang,
    v: &DistrictView,
    today: Date,
) -> Result<ReviewInput, String> {
    let week = f
        .week(v)
        .ok_or_else(|| lang.t("没有这一周", "No such week").to_string())?;
    let members = people(&f.members, lang.t("组成人员", "Members"), lang)?;
    let present = people(&f.present, lang.t("到会", "Present"), lang)?;
    let in_favour = people(&f.in_favour, lang.t("赞成", "In favour"), lang)?;
    if members == 0 || present > members || in_favour > present {
        return Err(lang
            .t(
                "人数应满足：赞成 ≤ 到会 ≤ 组成人员，且至少一名组成人员",
                "In favour ≤ present ≤ members, and at least one member",
            )
            .into());
    }
    let deciding = reviewable(v, week).iter().any(|e| {
        f.choices
            .get(&e.line.id)
            .is_some_and(|c| *c != Choice::Undecided)
    });
    // A meeting whose vote fell short is recorded all the same, deciding nothing.
    if deciding && !two_thirds(in_favour, members) {
        return Err(match lang {
            Lang::Zh => format!(
                "{members} 名组成人员须至少 {} 人赞成（全体组成人员的三分之二），现为 {in_favour} 人：不能作出决定",
                needed_in_favour(members)
            ),
            Lang::En => format!(
                "{members} members need {} in favour (two thirds of all members), not {in_favour}: no decision",
                needed_in_favour(members)
            ),
        });
    }
    let held = date_or(&f.held, today, lang)?;
    let mut decisions = Vec::new();
    for e in reviewable(v, week) {
        let outcome = match f.choices.get(&e.line.id).copied().unwrap_or_default() {
            Choice::Undecided => continue,
            Choice::Pass => Outcome::Pass,
            Choice::Return => Outcome::Return,
            Choice::Correct => {
                let typed = f.corrected.get(&e.line.id).map(String::as_str);
                let cp = points(typed.unwrap_or(""), lang)
                    .map_err(|m| format!("{} {}: {m}", lang.t("更正", "Correct"), e.line.id))?;
                if (cp > Cp::ZERO) != (e.line.points_cp > Cp::ZERO) || cp == Cp::ZERO {
                    return Err(match lang {
                        Lang::Zh => {
                            format!("{} 的更正应与原分值同号且不为零（不计入请退回）", e.line.id)
                        }
                        Lang::En => format!(
                            "{}: a correction keeps the entry's sign and is not zero (return it instead)",
                            e.line.id
                        ),
                    });
                }
                Outcome::Correct { points_cp: cp }
            }
        };
        decisions.push((e.line.id.to_string(), outcome));
    }
    Ok(ReviewInput {
        district: v.district.clone(),
        week,
        held,
        members,
        present,
        in_favour,
        decisions,
        dissent: f.dissent.trim().to_string(),
    })
}

/// 周评议: the week's undecided entries, the group's members and votes, a
/// decision per entry, dissent; and the weekly sheet of the week.
pub(super) fn review(
    ui: &mut egui::Ui,
    lang: Lang,
    v: &DistrictView,
    officer: &Officer,
    f: &mut ReviewForm,
    today: Date,
) -> Option<Request> {
    let Some(week) = f.week(v) else {
        ui.label(lang.t("没有这一周", "No such week"));
        return None;
    };
    // A week of another month is reviewed from that month's view (its
    // entries are in that month's document).
    let in_month = week.monday().month() == v.month || week.sunday().month() == v.month;
    let may = in_month && officer.may_in(&v.district, v.month, RecordClass::Review);
    let (y, w) = week.iso();
    let sunday = week.dates().last().unwrap_or(week.monday());
    ui.horizontal(|ui| {
        if ui.button(lang.t("上一周", "Previous week")).clicked() {
            f.week = week.prev();
        }
        ui.strong(format!("{y}-W{w:02}  {} — {}", week.monday(), sunday));
        if ui.button(lang.t("下一周", "Next week")).clicked() {
            f.week = week.next();
        }
    });
    if !v.decision_levels {
        ui.label(lang.t(
            "本月规则为原程序（监区长审批），无周评议",
            "This month's rule set has the former procedure (the chief approves): no weekly review",
        ));
        return None;
    }
    if !may {
        ui.colored_label(
            SHORT,
            lang.t(
                "只能查看：周评议由监区长主持并签名记录",
                "View only: the chief chairs the weekly review and signs its record",
            ),
        );
    }
    let entries = reviewable(v, week);
    ui.heading(format!(
        "{} ({})",
        lang.t("待评议的加扣分", "Entries awaiting review"),
        entries.len()
    ));
    if entries.is_empty() {
        ui.label(lang.t(
            "本周及以前没有待评议的加扣分",
            "Nothing of this week or before awaits review",
        ));
    }
    table(
        ui,
        "review-entries",
        &[
            lang.t("编号", "Id"),
            lang.t("日期", "Date"),
            lang.t("罪犯", "Inmate"),
            lang.t("分值", "Points"),
            lang.t("事由", "Reason"),
            lang.t("决定层级", "Level"),
            lang.t("评议决定", "Decision"),
        ],
        |ui| {
            for e in &entries {
                let id = &e.line.id;
                ui.label(RichText::new(id.to_string()).monospace());
                ui.label(e.line.date.to_string());
                ui.label(format!(
                    "{} {}",
                    e.inmate_no,
                    v.names.get(&e.inmate_no).map(String::as_str).unwrap_or("")
                ));
                ui.colored_label(
                    if e.line.points_cp < Cp::ZERO {
                        SHORT
                    } else {
                        OVER
                    },
                    e.line.points_cp.to_string(),
                );
                ui.label(&e.line.reason);
                ui.label(level_label(lang, e.line.level));
                ui.horizontal(|ui| {
                    let c = f.choices.entry(id.clone()).or_default();
                    for (choice, zh, en) in [
                        (Choice::Undecided, "暂不决定", "Not now"),
                        (Choice::Pass, "通过", "Pass"),
                        (Choice::Correct, "更正", "Correct"),
                        (Choice::Return, "退回", "Return"),
                    ] {
                        ui.add_enabled_ui(may, |ui| {
                            ui.radio_value(c, choice, lang.t(zh, en))
                                .accessible_name(format!("{} {id}", lang.t(zh, en)));
                        });
                    }
                    if *c == Choice::Correct {
                        let text = f.corrected.entry(id.clone()).or_default();
                        ui.add(
                            egui::TextEdit::singleline(text)
                                .desired_width(60.0)
                                .hint_text(e.line.points_cp.to_string()),
                        )
                        .accessible_name(format!("{} {id}", lang.t("更正为", "Corrected to")));
                    }
                });
                ui.end_row();
            }
        },
    );
    ui.separator();
    egui::Grid::new("review-vote")
        .num_columns(6)
        .show(ui, |ui| {
            for (text, zh, en) in [
                (&mut f.members, "组成人员（人）", "Members"),
                (&mut f.present, "到会（人）", "Present"),
                (&mut f.in_favour, "赞成（人）", "In favour"),
            ] {
                let l = ui.label(lang.t(zh, en));
                ui.add_enabled(may, egui::TextEdit::singleline(text).desired_width(40.0))
                    .labelled_by(l.id);
            }
            ui.end_row();
            let l = ui.label(lang.t("评议日期", "Held on"));
            ui.add_enabled(
                may,
                egui::TextEdit::singleline(&mut f.held)
                    .desired_width(90.0)
                    .hint_text(today.to_string()),
            )
            .labelled_by(l.id);
            ui.end_row();
        });
    if let Ok(n) = f.members.trim().parse::<u32>()
        && n > 0
    {
        ui.label(match lang {
            Lang::Zh => format!(
                "需全体组成人员三分之二：至少 {} 人赞成",
                needed_in_favour(n)
            ),
            Lang::En => format!(
                "Two thirds of all members: at least {} in favour",
                needed_in_favour(n)
            ),
        });
    }
    let l = ui.label(lang.t("不同意见", "Dissent"));
    ui.add_enabled(
        may,
        egui::TextEdit::multiline(&mut f.dissent)
            .desired_rows(2)
            .desired_width(520.0),
    )
    .labelled_by(l.id);
    let checked = check_review(f, lang, v, today);
    let mut req = None;
    ui.horizontal(|ui| {
        let b = ui.add_enabled(
            may && checked.is_ok(),
            egui::Button::new(lang.t("签名记录周评议", "Sign the weekly review")),
        );
        if b.clicked()
            && let Ok(input) = &checked
        {
            req = Some(Request::Review(input.clone()));
            f.choices.clear();
            f.corrected.clear();
            f.dissent.clear();
            f.held.clear();
        }
        if let Err(e) = &checked
            && may
            && !f.members.trim().is_empty()
        {
            ui.colored_label(SHORT, e);
        }
    });
    ui.separator();
    ui.heading(lang.t("周评议表", "Weekly sheet"));
    let labels = [
        ("导出周评议表（XLSX）", "Export the weekly sheet (XLSX)"),
        (
            "导出周评议表（打印 HTML）",
            "Export the weekly sheet (HTML to print)",
        ),
    ];
    if let Some((format, ext)) = export_buttons(ui, lang, labels) {
        req = Some(Request::ExportWeekly {
            district: v.district.clone(),
            week,
            format,
            path: format!("{}-{week}-weekly.{ext}", v.district).into(),
        });
    }
    weekly_sheet(ui, lang, v, week);
    req
}

/// The weekly sheet: per inmate the week's labor days and rate, and each
/// entry of the week with its state (RULES.md, weekly review).
fn weekly_sheet(ui: &mut egui::Ui, lang: Lang, v: &DistrictView, week: Week) {
    let Some((_, sheet)) = v.weeks.iter().find(|(w, _)| *w == week) else {
        ui.label(lang.t(
            "这一周不在本月：请到该周所在月份查看",
            "This week is not in the month shown: open the month it is in",
        ));
        return;
    };
    if week.monday().month() != v.month || week.sunday().month() != v.month {
        ui.label(lang.t(
            "跨月的一周：此处只含本月的日子，完整的周评议表请用“导出周评议表”",
            "A week across two months: only this month's days here; export the weekly sheet for the whole week",
        ));
    }
    table(
        ui,
        "weekly-sheet",
        &[
            lang.t("罪犯", "Inmate"),
            lang.t("劳动日", "Labor days"),
            lang.t("周效率", "Week's rate"),
            lang.t("本周加扣分", "Entries of the week"),
        ],
        |ui| {
            for row in sheet {
                ui.label(format!(
                    "{} {}",
                    row.inmate_no,
                    v.names
                        .get(&row.inmate_no)
                        .map(String::as_str)
                        .unwrap_or("")
                ));
                ui.label(row.labor_days.to_string());
                ui.label(
                    row.rate
                        .map(|r| r.to_string())
                        .unwrap_or_else(|| "—".into()),
                );
                ui.vertical(|ui| {
                    for e in &row.entries {
                        ui.label(format!(
                            "{} {} {} {} ({})",
                            e.id,
                            e.date,
                            e.counted_cp,
                            e.reason,
                            status_label(lang, e.status)
                        ));
                    }
                });
                ui.end_row();
            }
        },
    );
}

/// The posting form.
#[derive(Debug, Clone, Default)]
pub(super) struct PostForm {
    /// Empty: today.
    first_day: String,
}

/// 公示: the posting's state, the form that posts the report as it stands,
/// and the posted sheet to a file for the wall screen and for print.
pub(super) fn posting(
    ui: &mut egui::Ui,
    lang: Lang,
    v: &DistrictView,
    officer: &Officer,
    f: &mut PostForm,
    today: Date,
) -> Option<Request> {
    let may = officer.may_in(&v.district, v.month, RecordClass::Posting);
    let mut req = None;
    match &v.report.posting {
        Some(p) => {
            ui.label(format!(
                "{} {} — {}",
                lang.t("公示期", "Posted"),
                p.first_day,
                p.last_day
            ));
            if p.current {
                ui.colored_label(
                    OVER,
                    lang.t("公示的即现在的报告", "The posted report is the current one"),
                );
            } else {
                ui.colored_label(
                    SHORT,
                    lang.t(
                        "公示后报告有变化：需重新公示",
                        "The report changed after the posting: post it again",
                    ),
                );
            }
        }
        None => {
            ui.label(lang.t("本月尚未公示", "Not posted yet"));
        }
    }
    let hidden = v.entries.iter().filter(|e| e.line.no_post).count();
    if hidden > 0 {
        ui.label(match lang {
            Lang::Zh => format!("{hidden} 条加扣分标为不宜公示：不上公示表，照常计分"),
            Lang::En => format!(
                "{hidden} entries are not for posting: left off the sheet, counted all the same"
            ),
        });
    }
    if !may {
        ui.colored_label(
            SHORT,
            lang.t(
                "只能查看：公示由监区长签名",
                "View only: the chief signs the posting",
            ),
        );
    }
    let checked = date_or(&f.first_day, today, lang);
    ui.horizontal(|ui| {
        let l = ui.label(lang.t("公示首日", "First day of posting"));
        ui.add_enabled(
            may,
            egui::TextEdit::singleline(&mut f.first_day)
                .desired_width(90.0)
                .hint_text(today.to_string()),
        )
        .labelled_by(l.id);
        let b = ui.add_enabled(
            may && checked.is_ok(),
            egui::Button::new(lang.t("签名公示本月报告", "Sign and post the report")),
        );
        if b.clicked()
            && let Ok(first_day) = checked
        {
            req = Some(Request::Post {
                district: v.district.clone(),
                month: v.month,
                first_day,
            });
        }
        if let Err(e) = &checked {
            ui.colored_label(SHORT, e);
        }
    });
    if ui
        .button(lang.t("导出公示表（HTML）", "Export the posted sheet (HTML)"))
        .clicked()
    {
        req = Some(Request::ExportPosted {
            district: v.district.clone(),
            month: v.month,
            path: format!("{}-{}-posted.html", v.district, v.month).into(),
        });
    }
    req
}

/// The application form and the answer forms.
#[derive(Debug, Clone, Default)]
pub(super) struct ApplicationsForm {
    inmate: String,
    /// 复核: the answered 复查 it follows.
    follows: Option<ContentId>,
    entry: Option<ContentId>,
    figure: String,
    reason: String,
    /// Empty: today.
    received: String,
    answers: BTreeMap<ContentId, AnswerForm>,
    ack_inmate: String,
    ack_state: Option<AckState>,
    ack_date: String,
}

#[derive(Debug, Clone, Default)]
struct AnswerForm {
    corrected: bool,
    points: String,
    members: String,
    in_favour: String,
    decided: String,
    note: String,
}

fn check_application(
    f: &ApplicationsForm,
    lang: Lang,
    v: &DistrictView,
    today: Date,
) -> Result<Application, String> {
    let inmate = f
        .inmate
        .trim()
        .parse()
        .map_err(|_| lang.t("罪犯编号不对", "Not an inmate number").to_string())?;
    if !v.names.contains_key(&inmate) {
        return Err(lang
            .t(
                "本月报告中没有这名罪犯",
                "No such inmate in the month's report",
            )
            .into());
    }
    let received = date_or(&f.received, today, lang)?;
    let (kind, entry, figure) = match &f.follows {
        Some(prior) => {
            let p = v
                .applications
                .iter()
                .find(|a| a.id == *prior)
                .ok_or_else(|| lang.t("没有这项复查", "No such re-check").to_string())?;
            (
                ApplicationKind::Review,
                p.application.entry.clone(),
                p.application.figure.clone(),
            )
        }
        None => (
            ApplicationKind::Recheck,
            f.entry.clone(),
            f.figure.trim().to_string(),
        ),
    };
    if entry.is_none() && figure.is_empty() {
        return Err(lang
            .t(
                "请选择所申请的加扣分，或写明所申请的分数",
                "Pick the entry, or name the figure",
            )
            .into());
    }
    let a = Application {
        inmate,
        kind,
        entry,
        figure,
        reason: f.reason.trim().to_string(),
        received,
        follows: f.follows.clone(),
    };
    a.check(v.month)?;
    Ok(a)
}

fn check_answer(
    f: &AnswerForm,
    lang: Lang,
    row: &ApplicationRow,
    today: Date,
) -> Result<Answer, String> {
    let outcome = if f.corrected {
        AnswerOutcome::Corrected {
            points_cp: points(&f.points, lang)?,
        }
    } else {
        AnswerOutcome::Upheld
    };
    let vote = match row.application.kind {
        ApplicationKind::Recheck => Some((
            people(&f.members, lang.t("组成人员", "Members"), lang)?,
            people(&f.in_favour, lang.t("赞成", "In favour"), lang)?,
        )),
        ApplicationKind::Review => None,
    };
    let answer = Answer {
        application: row.id.clone(),
        decided: date_or(&f.decided, today, lang)?,
        outcome,
        note: f.note.trim().to_string(),
        vote,
    };
    if vote.is_some() {
        answer.check_group()?;
    }
    Ok(answer)
}

/// 复查、复核: the month's applications with their deadlines and answers,
/// the officer's form recording one, the answer forms of the group (the
/// chief) and of the prison group, and the acknowledgements of the sheet.
pub(super) fn applications(
    ui: &mut egui::Ui,
    lang: Lang,
    v: &DistrictView,
    officer: &Officer,
    f: &mut ApplicationsForm,
    today: Date,
) -> Option<Request> {
    let mut req = None;
    ui.heading(lang.t("复查、复核申请", "Applications"));
    if v.applications.is_empty() {
        ui.label(lang.t("本月没有申请", "No applications this month"));
    }
    for row in &v.applications {
        let a = &row.application;
        let what = match &a.entry {
            Some(e) => e.to_string(),
            None => a.figure.clone(),
        };
        let late = if row.late {
            lang.t("（逾期收到）", " (received late)")
        } else {
            ""
        };
        let due = match row.due {
            Some(d) => format!("{} {d}", lang.t("申请期限", "due")),
            None => lang
                .t("申请期限未定（未公示）", "due: not posted yet")
                .to_string(),
        };
        ui.label(format!(
            "{} {} {} {} {} — {} {} {}{late}（{due}）",
            row.id,
            kind_label(lang, a.kind),
            a.inmate,
            v.names.get(&a.inmate).map(String::as_str).unwrap_or(""),
            what,
            a.reason,
            lang.t("收到", "received"),
            a.received,
        ));
        match &row.answer {
            Some(ans) => {
                let outcome = match ans.outcome {
                    AnswerOutcome::Upheld => lang.t("维持", "upheld").to_string(),
                    AnswerOutcome::Corrected { points_cp } => {
                        format!("{} {points_cp}", lang.t("更正为", "corrected to"))
                    }
                };
                let late = if row.answer_late {
                    lang.t("（逾期答复）", " (answered late)")
                } else {
                    ""
                };
                ui.colored_label(
                    OVER,
                    format!(
                        "    {} {} {outcome}{late}",
                        lang.t("答复", "Answered"),
                        ans.decided
                    ),
                );
            }
            None => {
                let class = match a.kind {
                    ApplicationKind::Recheck => RecordClass::Answer,
                    ApplicationKind::Review => RecordClass::FinalAnswer,
                };
                let due = row
                    .answer_due
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "—".into());
                ui.colored_label(
                    SHORT,
                    format!(
                        "    {} {due}",
                        lang.t("待答复，答复期限", "Awaiting an answer, due")
                    ),
                );
                if officer.may_in(&v.district, v.month, class) {
                    let af = f.answers.entry(row.id.clone()).or_default();
                    if let Some(r) = answer_form(ui, lang, v, row, af, today) {
                        req = Some(r);
                    }
                }
            }
        }
    }
    if officer.may_in(&v.district, v.month, RecordClass::Application) {
        ui.separator();
        if let Some(r) = application_form(ui, lang, v, f, today) {
            req = Some(r);
        }
    }
    ui.separator();
    ui.heading(lang.t("月评表签收", "Monthly sheet acknowledgements"));
    let labels = [
        (
            "导出月评表（XLSX，每人一页）",
            "Export the monthly sheets (XLSX, a page each)",
        ),
        (
            "导出月评表（打印 HTML）",
            "Export the monthly sheets (HTML to print)",
        ),
    ];
    if let Some((format, ext)) = export_buttons(ui, lang, labels) {
        req = Some(Request::ExportSheets {
            district: v.district.clone(),
            month: v.month,
            format,
            path: format!("{}-{}-monthly-sheets.{ext}", v.district, v.month).into(),
        });
    }
    for (no, ack) in &v.report.acknowledgements {
        ui.label(format!(
            "{no} {} {} {}",
            v.names.get(no).map(String::as_str).unwrap_or(""),
            ack_label(lang, ack.state),
            ack.date
        ));
    }
    if officer.may_in(&v.district, v.month, RecordClass::Acknowledgement) {
        let checked = (|| -> Result<Request, String> {
            let inmate = f
                .ack_inmate
                .trim()
                .parse()
                .map_err(|_| lang.t("罪犯编号不对", "Not an inmate number").to_string())?;
            if !v.report.body.inmates.iter().any(|i| i.inmate_no == inmate) {
                return Err(lang
                    .t(
                        "本月报告中没有这名罪犯",
                        "No such inmate in the month's report",
                    )
                    .to_string());
            }
            let state = f.ack_state.ok_or_else(|| {
                lang.t("请选择签收情况", "Pick what the inmate did")
                    .to_string()
            })?;
            let ack = Acknowledgement {
                state,
                date: date_or(&f.ack_date, today, lang)?,
                note: String::new(),
            };
            ack.check(v.month)?;
            Ok(Request::Acknowledge {
                district: v.district.clone(),
                month: v.month,
                inmate,
                acknowledgement: ack,
            })
        })();
        ui.horizontal(|ui| {
            let l = ui.label(lang.t("签收罪犯编号", "Inmate who acknowledged"));
            ui.add(egui::TextEdit::singleline(&mut f.ack_inmate).desired_width(80.0))
                .labelled_by(l.id);
            for s in [AckState::Signed, AckState::Refused, AckState::NotAvailable] {
                ui.radio_value(&mut f.ack_state, Some(s), ack_label(lang, s));
            }
            let l = ui.label(lang.t("签收日期", "Date"));
            ui.add(
                egui::TextEdit::singleline(&mut f.ack_date)
                    .desired_width(90.0)
                    .hint_text(today.to_string()),
            )
            .labelled_by(l.id);
            if ui
                .add_enabled(
                    checked.is_ok(),
                    egui::Button::new(lang.t("签名记录签收", "Sign the acknowledgement")),
                )
                .clicked()
            {
                req = checked.ok();
            }
        });
    }
    req
}

/// The answer form of one application.
fn answer_form(
    ui: &mut egui::Ui,
    lang: Lang,
    v: &DistrictView,
    row: &ApplicationRow,
    f: &mut AnswerForm,
    today: Date,
) -> Option<Request> {
    let id = row.id.clone();
    let mut out = None;
    ui.horizontal(|ui| {
        ui.radio_value(&mut f.corrected, false, lang.t("维持", "Uphold"))
            .accessible_name(format!("{} {id}", lang.t("维持", "Uphold")));
        ui.radio_value(&mut f.corrected, true, lang.t("更正", "Correct"))
            .accessible_name(format!("{} {id}", lang.t("更正答复", "Correct, answering")));
        if f.corrected {
            ui.add(egui::TextEdit::singleline(&mut f.points).desired_width(60.0))
                .accessible_name(format!("{} {id}", lang.t("更正分值", "Corrected points")));
        }
        if row.application.kind == ApplicationKind::Recheck {
            ui.add(
                egui::TextEdit::singleline(&mut f.members)
                    .desired_width(36.0)
                    .hint_text(lang.t("组成", "members")),
            )
            .accessible_name(format!(
                "{} {id}",
                lang.t("答复组成人员", "Members answering")
            ));
            ui.add(
                egui::TextEdit::singleline(&mut f.in_favour)
                    .desired_width(36.0)
                    .hint_text(lang.t("赞成", "in favour")),
            )
            .accessible_name(format!(
                "{} {id}",
                lang.t("答复赞成", "In favour of the answer")
            ));
        }
        ui.add(
            egui::TextEdit::singleline(&mut f.decided)
                .desired_width(90.0)
                .hint_text(today.to_string()),
        )
        .accessible_name(format!("{} {id}", lang.t("答复日期", "Answered on")));
        let checked = check_answer(f, lang, row, today);
        let b = ui
            .add_enabled(
                checked.is_ok(),
                egui::Button::new(lang.t("签名答复", "Sign the answer")),
            )
            .accessible_name(format!("{} {id}", lang.t("签名答复", "Sign the answer")));
        if b.clicked()
            && let Ok(answer) = checked
        {
            out = Some(Request::Answer {
                district: v.district.clone(),
                month: v.month,
                answer,
            });
        } else if let Err(e) = &checked
            && !(f.members.is_empty() && f.points.is_empty())
        {
            ui.colored_label(SHORT, e);
        }
    });
    out
}

/// The officer's form recording an application.
fn application_form(
    ui: &mut egui::Ui,
    lang: Lang,
    v: &DistrictView,
    f: &mut ApplicationsForm,
    today: Date,
) -> Option<Request> {
    ui.strong(lang.t("记录申请", "Record an application"));
    let mut req = None;
    // What was picked for another inmate is not this one's.
    let typed = f.inmate.trim().to_string();
    if f.entry.as_ref().is_some_and(|id| {
        !v.entries
            .iter()
            .any(|e| e.line.id == *id && e.inmate_no.as_str() == typed)
    }) {
        f.entry = None;
    }
    if f.follows.as_ref().is_some_and(|id| {
        !v.applications
            .iter()
            .any(|a| a.id == *id && a.application.inmate.as_str() == typed)
    }) {
        f.follows = None;
    }
    egui::Grid::new("application-form")
        .num_columns(2)
        .show(ui, |ui| {
            let l = ui.label(lang.t("申请罪犯编号", "Inmate applying"));
            ui.add(egui::TextEdit::singleline(&mut f.inmate).desired_width(80.0))
                .labelled_by(l.id);
            ui.end_row();
            let inmate = f.inmate.trim().to_string();
            ui.label(lang.t("申请类型", "Kind"));
            ui.horizontal(|ui| {
                if ui
                    .radio(f.follows.is_none(), lang.t("复查", "re-check"))
                    .clicked()
                {
                    f.follows = None;
                }
                // A 复核 follows an answered 复查 of the same inmate.
                for a in v.applications.iter().filter(|a| {
                    a.application.kind == ApplicationKind::Recheck
                        && a.answer.is_some()
                        && a.application.inmate.to_string() == inmate
                }) {
                    if ui
                        .radio(
                            f.follows.as_ref() == Some(&a.id),
                            format!("{} {}", lang.t("复核，对复查", "review of re-check"), a.id),
                        )
                        .clicked()
                    {
                        f.follows = Some(a.id.clone());
                    }
                }
            });
            ui.end_row();
            if f.follows.is_none() {
                ui.label(lang.t("所申请的加扣分", "Entry applied against"));
                let shown = f
                    .entry
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_else(|| lang.t("（分数，见下）", "(a figure, below)").to_string());
                egui::ComboBox::from_id_salt("application-entry")
                    .selected_text(shown)
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut f.entry, None, lang.t("（分数）", "(a figure)"));
                        for e in v
                            .entries
                            .iter()
                            .filter(|e| e.inmate_no.to_string() == inmate)
                        {
                            ui.selectable_value(
                                &mut f.entry,
                                Some(e.line.id.clone()),
                                format!(
                                    "{} {} {} {}",
                                    e.line.id, e.line.date, e.line.points_cp, e.line.reason
                                ),
                            );
                        }
                    });
                ui.end_row();
                if f.entry.is_none() {
                    let l = ui.label(lang.t("所申请的分数", "Figure applied against"));
                    ui.add(egui::TextEdit::singleline(&mut f.figure).desired_width(240.0))
                        .labelled_by(l.id);
                    ui.end_row();
                }
            }
            let l = ui.label(lang.t("申请理由", "Reason"));
            ui.add(egui::TextEdit::singleline(&mut f.reason).desired_width(240.0))
                .labelled_by(l.id);
            ui.end_row();
            let l = ui.label(lang.t("收到日期", "Received on"));
            ui.add(
                egui::TextEdit::singleline(&mut f.received)
                    .desired_width(90.0)
                    .hint_text(today.to_string()),
            )
            .labelled_by(l.id);
            ui.end_row();
        });
    let checked = check_application(f, lang, v, today);
    ui.horizontal(|ui| {
        if ui
            .add_enabled(
                checked.is_ok(),
                egui::Button::new(lang.t("签名记录申请", "Sign the application")),
            )
            .clicked()
            && let Ok(application) = &checked
        {
            req = Some(Request::Apply {
                district: v.district.clone(),
                month: v.month,
                application: application.clone(),
            });
            f.reason.clear();
            f.figure.clear();
            f.received.clear();
            f.entry = None;
            f.follows = None;
        }
        if let Err(e) = &checked
            && !f.inmate.trim().is_empty()
        {
            ui.colored_label(SHORT, e);
        }
    });
    req
}
