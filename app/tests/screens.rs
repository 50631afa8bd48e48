//! The screens beyond the daily round, driven through the accessibility
//! tree: 工序定额 (the labor section revises a standard time; an officer
//! cannot), 人员 (the records office adds an inmate), 导入导出 (a bad file is
//! refused whole, a good one signed in; the month exported to XLSX and HTML),
//! 效率曲线, and the entry grid's type-ahead and Enter.

mod common;

use common::{PASS, click_button, demo, fill, harness, key_of, log_in, notice, settle, tab};
use crdt_schema::{Date, InmateNo, ProcedureId};
use eframe::egui;
use egui_kittest::kittest::{NodeT, Queryable};
use keys::Role;

use app::backend::Request;

#[test]
fn the_labor_section_revises_a_standard_time_and_an_officer_cannot() {
    let dir = demo();
    let mut h = harness(dir.path());
    log_in(&mut h, &key_of(dir.path(), Role::LaborSection), PASS);
    tab(&mut h, "工序定额");
    let cat = h.state().catalog().expect("catalogue loaded").clone();
    let first = cat.procedures[0].clone();
    let versions_before = cat.procedures.len();
    fill(&mut h, "工序编号", first.id.as_str());
    fill(&mut h, "产品编号", first.version.product.as_str());
    fill(&mut h, "工序名称", &first.version.name);
    fill(&mut h, "标准工时（秒/件）", "13.5");
    fill(&mut h, "生效日期", "2026-10-25");
    // October is scored (and sealed) already: the form says what this does.
    assert!(
        h.query_all_by_label_contains("已评分的月份").count() >= 1
            || app::clock::today() < "2026-11-01".parse().expect("date"),
        "a back-dated version is announced"
    );
    click_button(&mut h, "签名保存");
    settle(&mut h);
    let (err, text) = notice(&h);
    assert!(!err, "{text}");
    let cat = h.state().catalog().expect("reloaded").clone();
    assert_eq!(cat.procedures.len(), versions_before + 1, "a new version");
    let new = cat
        .procedures
        .iter()
        .find(|l| l.id == first.id && l.from == "2026-10-25".parse::<Date>().expect("date"))
        .expect("the new version");
    assert_eq!(new.version.std_ms, 13_500, "13.5 s = 13 500 ms");
    assert!(
        cat.procedures.contains(&first),
        "the earlier version stays in force before the 25th"
    );

    // An officer sees the catalogue but no form, and a revision sent anyway
    // is refused by the validator, naming the role.
    let mut o = harness(dir.path());
    log_in(&mut o, &key_of(dir.path(), Role::Officer), PASS);
    tab(&mut o, "工序定额");
    assert!(o.state().catalog().is_some());
    assert!(
        o.query_by_label("签名保存").is_none(),
        "no form for an officer"
    );
    o.state_mut().request(Request::PutProcedure {
        id: first.id.clone(),
        from: "2026-10-26".parse().expect("date"),
        version: first.version.clone(),
        new_product: None,
    });
    settle(&mut o);
    let (err, text) = notice(&o);
    assert!(err, "refused: {text}");
    assert!(text.contains("officer"), "names the role: {text}");
}

#[test]
fn the_records_office_adds_an_inmate_with_a_rare_name() {
    let dir = demo();
    let mut h = harness(dir.path());
    log_in(&mut h, &key_of(dir.path(), Role::Records), PASS);
    tab(&mut h, "人员");
    let cat = h.state().catalog().expect("catalogue").clone();
    let (district, name) = cat.districts[1].clone();
    fill(&mut h, "罪犯编号", "Z9001");
    fill(&mut h, "罪犯姓名", "李堃镕");
    h.get_by_label("所属监区").click();
    h.run_steps(2);
    h.get_by_label(&format!("{district} {name}")).click();
    h.run_steps(2);
    fill(&mut h, "入监日期", "2026-10-05");
    click_button(&mut h, "签名保存");
    settle(&mut h);
    let (err, text) = notice(&h);
    assert!(!err, "{text}");
    let cat = h.state().catalog().expect("reloaded");
    let (_, inmate) = cat
        .inmates
        .iter()
        .find(|(no, _)| no.as_str() == "Z9001")
        .expect("on the roster");
    assert_eq!(inmate.name, "李堃镕");
    assert_eq!(inmate.district, district);
    assert_eq!(inmate.admitted, "2026-10-05".parse::<Date>().expect("date"));
    assert_eq!(inmate.released, None);
    // Typing a number already on the roster says whose record changes.
    fill(&mut h, "罪犯姓名", "李堃");
    h.run_steps(1);
    assert!(
        h.query_all_by_label_contains("Z9001 已登记为 李堃镕")
            .count()
            >= 1,
        "the existing record is named"
    );
}

#[test]
fn a_bad_file_is_refused_whole_and_a_good_one_is_signed_in() {
    let dir = demo();
    let mut h = harness(dir.path());
    log_in(&mut h, &key_of(dir.path(), Role::Officer), PASS);
    let view = h.state().view().expect("loaded").clone();
    let counted: Vec<_> = view.rows.iter().filter(|r| r.counts.len() == 1).collect();
    let (a, b) = (counted[0].clone(), counted[1].clone());
    let (pa, qa) = a.counts[0].clone();
    let (pb, _) = b.counts[0].clone();
    tab(&mut h, "导入导出");
    // Line 3 is bad: nothing of line 2 may be written either.
    let bad = dir.path().join("counts-bad.csv");
    std::fs::write(
        &bad,
        format!(
            "date,inmate_no,procedure,quantity\n2026-10-20,{},{pa},{}\n2026-10-20,{},{pb},-3\n",
            a.inmate_no,
            qa + 50,
            b.inmate_no
        ),
    )
    .expect("write csv");
    fill(&mut h, "文件", &bad.display().to_string());
    click_button(&mut h, "校验并导入");
    settle(&mut h);
    let (err, text) = notice(&h);
    assert!(err && text.contains("未写入"), "{text}");
    assert!(
        h.query_all_by_label_contains("counts-bad.csv:3")
            .next()
            .is_some(),
        "the error names the file and line 3"
    );
    let after = h.state().view().expect("view").clone();
    let row = after
        .rows
        .iter()
        .find(|r| r.inmate_no == a.inmate_no)
        .expect("row");
    assert_eq!(row.counts[0].1, qa, "line 2 was not written");

    let good = dir.path().join("counts.csv");
    std::fs::write(
        &good,
        format!(
            "date,inmate_no,procedure,quantity\n2026-10-20,{},{pa},{}\n",
            a.inmate_no,
            qa + 50
        ),
    )
    .expect("write csv");
    fill(&mut h, "文件", &good.display().to_string());
    click_button(&mut h, "校验并导入");
    settle(&mut h);
    let (err, text) = notice(&h);
    assert!(!err && text.contains("1 行"), "{text}");
    let after = h.state().view().expect("view").clone();
    let row = after
        .rows
        .iter()
        .find(|r| r.inmate_no == a.inmate_no)
        .expect("row");
    assert_eq!(row.counts[0].1, qa + 50, "signed in and reloaded");
}

#[test]
fn the_month_is_exported_to_xlsx_and_to_a_printable_page() {
    let dir = demo();
    let mut h = harness(dir.path());
    log_in(&mut h, &key_of(dir.path(), Role::Chief), PASS);
    let view = h.state().view().expect("loaded").clone();
    tab(&mut h, "导入导出");
    let xlsx = dir.path().join("out.xlsx");
    fill(&mut h, "保存到", &xlsx.display().to_string());
    click_button(&mut h, "导出");
    settle(&mut h);
    let (err, text) = notice(&h);
    assert!(!err, "{text}");
    let bytes = std::fs::read(&xlsx).expect("written");
    assert_eq!(&bytes[..2], b"PK", "an XLSX file is a zip");

    h.get_by_label("打印版 HTML").click();
    h.run_steps(1);
    let html = dir.path().join("out.html");
    fill(&mut h, "保存到", &html.display().to_string());
    click_button(&mut h, "导出");
    settle(&mut h);
    let page = std::fs::read_to_string(&html).expect("written");
    // No path typed: the default name, under DATA/exports.
    fill(&mut h, "保存到", "");
    click_button(&mut h, "导出");
    settle(&mut h);
    let default = dir
        .path()
        .join("exports")
        .join(format!("计分考核-{}-{}.html", view.district, view.month));
    assert!(default.is_file(), "{} written", default.display());
    assert!(page.contains("劳动改造计分"), "the title");
    assert!(page.contains(&view.report.digest.0), "the report digest");
    let first = &view.report.body.inmates[0];
    assert!(
        page.contains(first.inmate_no.as_str()),
        "the first inmate's row"
    );
}

#[test]
fn the_charts_show_the_district_and_a_chosen_inmate() {
    let dir = demo();
    let mut h = harness(dir.path());
    log_in(&mut h, &key_of(dir.path(), Role::Officer), PASS);
    let view = h.state().view().expect("loaded").clone();
    let worked = view
        .rates
        .inmates
        .iter()
        .find(|i| i.daily.iter().filter(|r| r.is_some()).count() > 3)
        .expect("an inmate with work days")
        .clone();
    let days = worked.daily.iter().filter(|r| r.is_some()).count();
    assert!(
        view.rates.district_daily.iter().any(|d| d.rate.is_some()),
        "the district worked some day"
    );
    tab(&mut h, "效率曲线");
    fill(&mut h, "罪犯", worked.inmate_no.as_str());
    h.run_steps(2);
    let caption = format!("{} {} · {days} 个出工日", worked.inmate_no, worked.name);
    assert!(
        h.query_by_label(&caption).is_some(),
        "the inmate's chart is captioned `{caption}`"
    );
}

#[test]
fn the_entry_grid_completes_a_typed_procedure_and_enter_moves_down() {
    let dir = demo();
    let mut h = harness(dir.path());
    log_in(&mut h, &key_of(dir.path(), Role::Officer), PASS);
    let view = h.state().view().expect("loaded").clone();
    // A procedure whose whole name is part of no other's: typing the name
    // picks it alone.
    let (proc, name): (ProcedureId, String) = view
        .procedures
        .iter()
        .find(|(p, n)| {
            view.procedures
                .iter()
                .all(|(q, m)| q == p || !m.contains(n.as_str()))
        })
        .expect("a procedure with a distinct name")
        .clone();
    let row = view.rows[0].clone();
    let no: &InmateNo = &row.inmate_no;
    fill(&mut h, &format!("工序 {no}"), &name);
    fill(&mut h, &format!("数量 {no}"), "7");
    h.key_press(egui::Key::Enter);
    h.run_steps(3);
    assert!(
        h.get_by_label(&format!("数量 {}", view.rows[1].inmate_no))
            .is_focused(),
        "Enter moved to the next row's count"
    );
    assert_eq!(
        h.get_by_label(&format!("工序 {no}")).value().as_deref(),
        Some(proc.as_str()),
        "the typed name was completed to the code"
    );
    click_button(&mut h, "保存");
    settle(&mut h);
    let (err, text) = notice(&h);
    assert!(!err, "{text}");
    let after = h.state().view().expect("reloaded");
    let saved = after.rows.iter().find(|r| r.inmate_no == *no).expect("row");
    assert!(
        saved.counts.contains(&(proc.clone(), 7)),
        "{:?} holds 7 of {proc}",
        saved.counts
    );
}

#[test]
fn a_new_day_is_entered_from_the_keyboard_and_the_next_day_offers_the_procedure() {
    let dir = demo();
    let mut h = harness(dir.path());
    log_in(&mut h, &key_of(dir.path(), Role::Officer), PASS);
    // A day nobody has entered yet.
    fill(&mut h, "日期", "2026-11-02");
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    let view = h.state().view().expect("loaded").clone();
    assert_eq!(view.date.to_string(), "2026-11-02");
    let n = view.rows.len();
    assert!(n >= 2 && view.rows.iter().all(|r| r.attendance.is_none()));
    // Everyone works but one, who is sick: the rest in one click, the sick
    // one by focusing the day-type cell and pressing 4 (病休).
    click_button(&mut h, &format!("未填者设为出工 ({n})"));
    assert_eq!(h.state().unsaved_rows(), n);
    let (a, b) = (
        view.rows[0].inmate_no.clone(),
        view.rows[1].inmate_no.clone(),
    );
    h.get_by_label(&format!("出勤 {b}")).focus();
    h.run_steps(1);
    h.key_press(egui::Key::Num4);
    h.run_steps(1);
    let (proc, _) = view.procedures[0].clone();
    fill(&mut h, &format!("工序 {a}"), proc.as_str());
    fill(&mut h, &format!("数量 {a}"), "5");
    click_button(&mut h, "保存");
    settle(&mut h);
    let (err, text) = notice(&h);
    assert!(!err, "{text}");
    assert_eq!(h.state().unsaved_rows(), 0);
    let after = h.state().view().expect("reloaded").clone();
    let day = |no: &InmateNo| {
        after
            .rows
            .iter()
            .find(|r| &r.inmate_no == no)
            .and_then(|r| r.attendance.as_ref())
            .map(|a| a.day_type)
    };
    assert_eq!(day(&a), Some(crdt_schema::DayType::Work));
    assert_eq!(day(&b), Some(crdt_schema::DayType::Sick), "4 picked 病休");
    let others = after
        .rows
        .iter()
        .filter(|r| r.attendance.as_ref().map(|x| x.day_type) == Some(crdt_schema::DayType::Work))
        .count();
    assert_eq!(others, n - 1, "all but the sick one work");
    let row_a = after.rows.iter().find(|r| r.inmate_no == a).expect("row");
    assert_eq!(row_a.counts, vec![(proc.clone(), 5)]);
    // The next day, the grid offers the procedure of the day before: only
    // the count needs typing.
    fill(&mut h, "日期", "2026-11-03");
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    assert_eq!(
        h.get_by_label(&format!("工序 {a}")).value().as_deref(),
        Some(proc.as_str())
    );
    assert_eq!(
        h.get_by_label(&format!("工序 {b}")).value().as_deref(),
        Some(""),
        "nothing counted before: nothing offered"
    );
}

#[test]
fn the_records_office_records_a_transfer_and_a_bad_one_is_refused_in_words() {
    let dir = demo();
    let mut h = harness(dir.path());
    log_in(&mut h, &key_of(dir.path(), Role::Records), PASS);
    tab(&mut h, "人员");
    let cat = h.state().catalog().expect("catalogue").clone();
    let (to, to_name) = cat.districts[2].clone();
    // An inmate of D01 in custody all October, never moved.
    let (no, _) = cat
        .inmates
        .iter()
        .find(|(no, i)| {
            i.district.as_str() == "D01"
                && i.admitted < "2026-10-01".parse::<Date>().expect("date")
                && i.released.is_none()
                && !cat.transfers.iter().any(|(n, ..)| n == no)
        })
        .expect("a D01 inmate")
        .clone();
    fill(&mut h, "调动罪犯编号", no.as_str());
    fill(&mut h, "调入日期", "2026-10-20");
    h.get_by_label("调入监区").click();
    h.run_steps(2);
    h.get_by_label(&format!("{to} {to_name}")).click();
    h.run_steps(2);
    click_button(&mut h, "签名登记调监区");
    settle(&mut h);
    // October is sealed in both districts: refused, naming the months.
    let (err, text) = notice(&h);
    assert!(err, "{text}");
    assert!(
        text.contains(&format!(
            "该调监区会改变已封存月份：D01 2026-10、{to} 2026-10"
        )),
        "{text}"
    );
    h.get_by_label_contains("强制（替换同日的调监区记录")
        .click();
    h.run_steps(2);
    click_button(&mut h, "签名登记调监区");
    settle(&mut h);
    let (err, text) = notice(&h);
    assert!(!err, "{text}");
    let cat = h.state().catalog().expect("reloaded");
    assert!(
        cat.transfers
            .iter()
            .any(|(n, d, t)| *n == no && d.to_string() == "2026-10-20" && *t == to),
        "the transfer is in the registry"
    );
    // Moving them again to where they already are is refused, in words.
    click_button(&mut h, "签名登记调监区");
    settle(&mut h);
    fill(&mut h, "调入日期", "2026-10-22");
    click_button(&mut h, "签名登记调监区");
    settle(&mut h);
    let (err, text) = notice(&h);
    assert!(err, "{text}");
    assert!(text.contains("调监区未记录"), "{text}");
    assert!(text.contains("already in"), "{text}");
}

#[test]
fn the_labor_section_publishes_a_rule_set_and_an_officer_only_reads_it() {
    let dir = demo();
    let mut h = harness(dir.path());
    log_in(&mut h, &key_of(dir.path(), Role::LaborSection), PASS);
    tab(&mut h, "规则版本");
    settle(&mut h);
    // Every field is shown with what it means.
    assert!(h.query_all_by_label_contains("劳动加分上限").count() >= 1);
    click_button(&mut h, "以此版本为底稿新建版本");
    h.run_steps(2);
    fill(&mut h, "加分上限（厘分）", "-5");
    h.run_steps(1);
    assert!(
        h.query_all_by_label_contains("加分上限（cap_cp）应在 0–100000 之间，现为 -5")
            .count()
            >= 1,
        "a bad field is named as it is typed"
    );
    fill(&mut h, "加分上限（厘分）", "1000");
    click_button(&mut h, "签名发布");
    settle(&mut h);
    let (err, text) = notice(&h);
    assert!(!err, "{text}");
    assert!(text.contains("已发布自 2026-11 起的规则版本"), "{text}");

    let mut o = harness(dir.path());
    log_in(&mut o, &key_of(dir.path(), Role::Officer), PASS);
    tab(&mut o, "规则版本");
    settle(&mut o);
    assert!(o.query_all_by_label_contains("劳动加分上限").count() >= 1);
    assert_eq!(
        o.query_all_by_label("以此版本为底稿新建版本").count(),
        0,
        "an officer reads the rules but cannot publish"
    );
}

/// Adds an entry of `cp` centipoints for the first inmate of the view, as
/// the officer `o` (logged in), dated `date`; returns (inmate, entry id).
fn add_entry(
    o: &mut egui_kittest::Harness<'static, app::TallyApp>,
    date: &str,
    cp: i64,
    reason: &str,
) -> (InmateNo, crdt_schema::ContentId) {
    let v = o.state().view().expect("loaded").clone();
    let inmate = v.rows[0].inmate_no.clone();
    let before: Vec<_> = v.entries.iter().map(|e| e.line.id.clone()).collect();
    o.state_mut().request(Request::PutAdjustment {
        district: v.district.clone(),
        inmate: inmate.clone(),
        adjustment: crdt_schema::Adjustment {
            date: date.parse().expect("date"),
            points_cp: crdt_schema::Cp(cp),
            reason: reason.into(),
            evidence: String::new(),
            special: false,
            no_post: false,
        },
    });
    settle(o);
    let (err, text) = notice(o);
    assert!(!err, "{text}");
    let v = o.state().view().expect("reloaded").clone();
    let e = v
        .entries
        .iter()
        .find(|e| !before.contains(&e.line.id) && e.line.reason == reason)
        .expect("the new entry listed");
    (inmate, e.line.id.clone())
}

#[test]
fn the_chief_records_the_weekly_review_and_posts_the_month() {
    use crdt_schema::EntryStatus;
    let dir = demo();
    // The officer of D01 enters a bonus of 300 cp and one of 600 cp in
    // 2026-W43 (19 to 25 October); both wait for the group's review.
    let mut o = harness(dir.path());
    log_in(
        &mut o,
        &common::key_of_in(dir.path(), Role::Officer, "D01"),
        PASS,
    );
    let (_, small) = add_entry(&mut o, "2026-10-20", 300, "技术革新小");
    let (_, large) = add_entry(&mut o, "2026-10-21", 600, "技术革新大");
    let v = o.state().view().expect("view").clone();
    for id in [&small, &large] {
        let e = v.entries.iter().find(|e| e.line.id == *id).expect("entry");
        assert_eq!(e.line.status, EntryStatus::AwaitingReview, "{e:?}");
    }
    // An officer may not post: refused by the validator, naming the role.
    o.state_mut().request(Request::Post {
        district: v.district.clone(),
        month: v.month,
        first_day: "2026-11-02".parse().expect("date"),
    });
    settle(&mut o);
    let (err, text) = notice(&o);
    assert!(err && text.contains("officer"), "{text}");
    drop(o);

    let mut h = harness(dir.path());
    log_in(
        &mut h,
        &common::key_of_in(dir.path(), Role::Chief, "D01"),
        PASS,
    );
    tab(&mut h, "审批");
    h.run_steps(2);
    // The chief starts on the weekly review of the week of the day shown.
    assert!(h.query_all_by_label_contains("2026-W43").count() >= 1);
    h.get_by_label(&format!("通过 {small}")).click();
    h.run_steps(1);
    h.get_by_label(&format!("更正 {large}")).click();
    h.run_steps(2);
    fill(&mut h, &format!("更正为 {large}"), "5.5");
    fill(&mut h, "组成人员（人）", "7");
    fill(&mut h, "到会（人）", "6");
    // 4 of 7 is less than two thirds of all members (5 needed): no decision.
    fill(&mut h, "赞成（人）", "4");
    fill(&mut h, "评议日期", "2026-10-25");
    h.run_steps(1);
    assert!(
        h.get_by_label("签名记录周评议")
            .accesskit_node()
            .is_disabled(),
        "4 of 7 cannot decide"
    );
    assert!(h.query_all_by_label_contains("至少 5 人赞成").count() >= 1);
    fill(&mut h, "赞成（人）", "5");
    fill(&mut h, "不同意见", "一人认为大额应退回");
    click_button(&mut h, "签名记录周评议");
    settle(&mut h);
    let (err, text) = notice(&h);
    assert!(!err, "{text}");
    let v = h.state().view().expect("reloaded").clone();
    let e = v
        .entries
        .iter()
        .find(|e| e.line.id == small)
        .expect("small");
    // 300 cp: the group decides; passed, it counts as entered.
    assert_eq!(e.line.status, EntryStatus::Counted);
    assert_eq!(e.line.counted_cp, crdt_schema::Cp(300));
    let d = e.line.decision.as_ref().expect("decided at the review");
    assert_eq!((d.members, d.in_favour), (7, 5));
    let e = v
        .entries
        .iter()
        .find(|e| e.line.id == large)
        .expect("large");
    // 600 cp corrected to 550: the correction replaces the amount, which
    // (≥ 500) then waits for the prison group.
    assert_eq!(e.line.counted_cp, crdt_schema::Cp(550));
    assert_eq!(e.line.status, EntryStatus::AwaitingApproval);
    // The weekly sheet lists both with their state.
    assert!(h.query_all_by_label_contains("周评议表").count() >= 1);
    assert!(
        h.query_all_by_label_contains(&format!("{small} 2026-10-20 3.00 技术革新小"))
            .count()
            >= 1
    );

    click_button(&mut h, "导出周评议表（打印 HTML）");
    settle(&mut h);
    let (err, text) = notice(&h);
    assert!(!err, "{text}");
    let weekly = std::fs::read_to_string(dir.path().join("exports/D01-2026-W43-weekly.html"))
        .expect("weekly sheet written");
    assert!(
        weekly.contains("组成人员 7，到会 6，赞成 5；决定 2 项"),
        "{weekly}"
    );
    assert!(
        weekly.contains("一人认为大额应退回"),
        "the dissent is on the sheet"
    );
    assert!(weekly.contains(&small.to_string()) && weekly.contains(&large.to_string()));

    // The posting: from Monday 2 November, 3 working days, to Wednesday 4th.
    h.get_by_label("公示").click();
    h.run_steps(2);
    fill(&mut h, "公示首日", "2026-11-02");
    click_button(&mut h, "签名公示本月报告");
    settle(&mut h);
    let (err, text) = notice(&h);
    assert!(!err, "{text}");
    let v = h.state().view().expect("reloaded").clone();
    let p = v.report.posting.as_ref().expect("posted");
    assert_eq!(p.first_day, "2026-11-02".parse::<Date>().expect("date"));
    assert_eq!(p.last_day, "2026-11-04".parse::<Date>().expect("date"));
    assert!(p.current, "the report posted is the one shown");
    h.run_steps(1);
    assert!(h.query_all_by_label_contains("公示的即现在的报告").count() >= 1);
    // The posted sheet and the weekly sheet go to files for the wall and print.
    click_button(&mut h, "导出公示表（HTML）");
    settle(&mut h);
    let (err, text) = notice(&h);
    assert!(!err, "{text}");
    let posted = std::fs::read_to_string(dir.path().join("exports/D01-2026-10-posted.html"))
        .expect("posted sheet written");
    assert!(
        posted.contains("2026-11-02 至 2026-11-04"),
        "the period is on the sheet"
    );
}

#[test]
fn an_officer_records_an_application_and_the_chief_answers_it_in_time() {
    let dir = demo();
    let mut o = harness(dir.path());
    log_in(
        &mut o,
        &common::key_of_in(dir.path(), Role::Officer, "D01"),
        PASS,
    );
    tab(&mut o, "审批");
    o.run_steps(2);
    let v = o.state().view().expect("view").clone();
    let inmate = v.report.body.inmates[0].inmate_no.clone();
    // An officer starts on the applications; a 复查 of a figure.
    fill(&mut o, "申请罪犯编号", inmate.as_str());
    fill(&mut o, "所申请的分数", "基础分");
    fill(&mut o, "申请理由", "出工天数有误");
    fill(&mut o, "收到日期", "2026-11-03");
    click_button(&mut o, "签名记录申请");
    settle(&mut o);
    let (err, text) = notice(&o);
    assert!(!err, "{text}");
    let v = o.state().view().expect("reloaded").clone();
    let row = v
        .applications
        .iter()
        .find(|a| a.application.reason == "出工天数有误")
        .expect("the application listed")
        .clone();
    assert_eq!(row.application.figure, "基础分");
    assert!(row.answer.is_none());
    // 5 working days from Tuesday 3 November: 3, 4, 5, 6, 9 → Monday 9th.
    assert_eq!(row.answer_due, Some("2026-11-09".parse().expect("date")));
    let r = v.report.inmate(&inmate).expect("scored");
    assert!(
        r.flags.contains(&crdt_schema::Flag::UnderReview),
        "{:?}",
        r.flags
    );
    // The inmate refuses to sign the monthly sheet: recorded, never blocking.
    fill(&mut o, "签收罪犯编号", inmate.as_str());
    o.get_by_label("拒签").click();
    o.run_steps(1);
    fill(&mut o, "签收日期", "2026-11-10");
    click_button(&mut o, "签名记录签收");
    settle(&mut o);
    let (err, text) = notice(&o);
    assert!(!err, "{text}");
    let v = o.state().view().expect("reloaded").clone();
    assert_eq!(
        v.report.acknowledgements.get(&inmate).map(|a| a.state),
        Some(crdt_schema::AckState::Refused)
    );
    // An officer has no answer form: the group answers.
    assert!(o.query_by_label(&format!("签名答复 {}", row.id)).is_none());
    drop(o);

    let mut h = harness(dir.path());
    log_in(
        &mut h,
        &common::key_of_in(dir.path(), Role::Chief, "D01"),
        PASS,
    );
    tab(&mut h, "审批");
    // While the 复查 is open the seal waits: the confirmation says why and
    // seals only when forced, and the seal then says what was not done.
    h.get_by_label("审批与封存").click();
    h.run_steps(2);
    h.get_by_label("重新封存").click();
    h.run_steps(2);
    assert!(
        h.query_all_by_label_contains("1 项复查、复核申请尚未答复")
            .count()
            >= 1
    );
    assert!(
        h.get_by_label("确认封存").accesskit_node().is_disabled(),
        "not without forcing"
    );
    h.get_by_label("强制封存：封存将载明以上未完成的程序")
        .click();
    h.run_steps(1);
    h.get_by_label("确认封存").click();
    settle(&mut h);
    let (err, text) = notice(&h);
    assert!(!err, "{text}");
    let seal = h
        .state()
        .view()
        .expect("reloaded")
        .report
        .seal
        .clone()
        .expect("sealed");
    assert!(seal.current, "{seal:?}");
    assert!(seal.forced.contains("not answered"), "{seal:?}");
    h.get_by_label("复查复核").click();
    h.run_steps(2);
    let id = row.id.to_string();
    h.get_by_label(&format!("维持 {id}")).click();
    h.run_steps(1);
    fill(&mut h, &format!("答复组成人员 {id}"), "7");
    fill(&mut h, &format!("答复赞成 {id}"), "5");
    fill(&mut h, &format!("答复日期 {id}"), "2026-11-06");
    click_button(&mut h, &format!("签名答复 {id}"));
    settle(&mut h);
    let (err, text) = notice(&h);
    assert!(!err, "{text}");
    let v = h.state().view().expect("reloaded").clone();
    let row = v
        .applications
        .iter()
        .find(|a| a.id == row.id)
        .expect("listed");
    let answer = row.answer.as_ref().expect("answered");
    assert_eq!(answer.outcome, crdt_schema::AnswerOutcome::Upheld);
    assert_eq!(answer.vote, Some((7, 5)));
    assert!(!row.answer_late, "the 6th is before the 9th");
    let r = v.report.inmate(&inmate).expect("scored");
    assert!(
        !r.flags.contains(&crdt_schema::Flag::UnderReview),
        "{:?}",
        r.flags
    );
}
