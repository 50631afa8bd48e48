//! The app driven through its accessibility tree (egui_kittest), on a small
//! demo prison: log in, enter a count and see the board and the score
//! change, refuse an out-of-role action, refuse a wrong passphrase.

use std::path::Path;

use app::TallyApp;
use app::backend::{Edit, Request};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use keys::Role;

mod common;

use common::{PASS, counted_row, demo, fill, harness, key_of, log_in, settle};
use eframe::egui;

#[test]
fn an_officer_enters_a_count_and_sees_the_board_and_the_score_change() {
    let dir = demo();
    let mut h = harness(dir.path());
    log_in(&mut h, &key_of(dir.path(), Role::Officer), PASS);
    let officer = h.state().officer().expect("logged in").clone();
    assert_eq!(officer.role, Role::Officer);
    let view = h.state().view().expect("district loaded").clone();
    assert_eq!(Some(&view.district), officer.district.as_ref());
    // The first inmate with a count on the 20th: raise it well above quota.
    let row = counted_row(&view);
    let no = row.inmate_no.to_string();
    let before_board = view
        .board
        .rows
        .iter()
        .find(|r| r.inmate_no == row.inmate_no)
        .expect("on the board")
        .clone();
    let before_score = view
        .report
        .body
        .inmates
        .iter()
        .find(|r| r.inmate_no == row.inmate_no)
        .expect("scored")
        .labor_cp;
    // Twice the quota and a bit: well over, whatever the procedure.
    let target = before_board.quota * 2 + 7;
    let count = format!("数量 {no}");
    h.get_by_label(&count).click();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label(&count).type_text(&target.to_string());
    h.run_steps(2);
    h.get_by_role_and_label(egui::accesskit::Role::Button, "保存")
        .click();
    settle(&mut h);
    let notice = h.state().notice().cloned();
    assert!(
        matches!(&notice, Some((false, t)) if t.contains("已保存")),
        "{notice:?}"
    );
    let view = h.state().view().expect("reloaded").clone();
    let after_board = view
        .board
        .rows
        .iter()
        .find(|r| r.inmate_no == row.inmate_no)
        .expect("on the board");
    // A single-procedure day counts in pieces: done is what was entered,
    // the quota did not move, and the surplus is over.
    assert_eq!(after_board.done, target);
    assert_eq!(after_board.quota, before_board.quota);
    assert_eq!(after_board.over, target - after_board.quota);
    assert_eq!(after_board.over, before_board.quota + 7);
    assert_ne!(before_board.done, target);
    let after_score = view
        .report
        .body
        .inmates
        .iter()
        .find(|r| r.inmate_no == row.inmate_no)
        .expect("scored")
        .labor_cp;
    assert_ne!(
        after_score, before_score,
        "the month's score follows the day"
    );
    // The board screen shows it.
    h.get_by_label("劳动日记载").click();
    h.run_steps(2);
    assert!(h.query_all_by_label(&target.to_string()).count() >= 1);
    // The score screen shows it, and the audit trail names the officer.
    h.get_by_label("月度考核").click();
    h.run_steps(2);
    h.get_by_label(&format!("劳动分 {no}")).click();
    settle(&mut h);
    assert!(
        h.query_all_by_label_contains(&officer.officer_no).count() >= 1,
        "the audit trail names {}",
        officer.officer_no
    );
    assert!(h.query_all_by_label_contains("签名有效").count() >= 1);
    // Beside it, the arithmetic of the report, redoable by hand.
    let r = view
        .report
        .body
        .inmates
        .iter()
        .find(|r| r.inmate_no == row.inmate_no)
        .expect("scored");
    let base = format!("{} / {} = {} cp", r.base_num, r.base_den, r.base_cp.0);
    assert!(h.query_all_by_label_contains(&base).count() >= 1, "{base}");
    let labor = format!(
        "{} + {} − {} = {} cp",
        r.base_cp.0, r.bonus_cp.0, r.deduct_cp.0, r.labor_cp.0
    );
    assert!(
        h.query_all_by_label_contains(&labor).count() >= 1,
        "{labor}"
    );
    assert_eq!(
        r.base_cp.0 + r.bonus_cp.0 - r.deduct_cp.0,
        r.labor_cp.0,
        "LABOR = BASE + bonus − deduct"
    );
}

#[test]
fn an_out_of_role_action_is_refused() {
    let dir = demo();
    let mut h = harness(dir.path());
    log_in(&mut h, &key_of(dir.path(), Role::Records), PASS);
    assert_eq!(h.state().officer().expect("logged in").role, Role::Records);
    // The records office sees the board, not the entry grid.
    h.get_by_label("今日录入").click();
    h.run_steps(2);
    assert!(h.query_all_by_label_contains("无权录入").count() >= 1);
    assert!(
        h.query_by_role_and_label(egui::accesskit::Role::Button, "保存")
            .is_none()
    );
    // Imports offer only what the role may write: the roster, not counts.
    h.get_by_label("导入导出").click();
    h.run_steps(2);
    assert_eq!(
        h.query_all_by_label_contains("个人产量").count(),
        0,
        "no counts import for the records office"
    );
    // And a save sent anyway is refused by the validator, naming who and why.
    let view = h.state().view().expect("loaded").clone();
    let row = &view.rows[0];
    h.state_mut().request(Request::Save {
        district: view.district.clone(),
        date: view.date,
        edits: vec![Edit {
            inmate_no: row.inmate_no.clone(),
            attendance: None,
            count: Some((view.procedures[0].0.clone(), 5)),
            delete_counts: Vec::new(),
        }],
    });
    settle(&mut h);
    let notice = h.state().notice().cloned().expect("a notice");
    assert!(notice.0, "an error: {notice:?}");
    assert!(notice.1.contains("refused"), "{}", notice.1);
    assert!(notice.1.contains("records"), "names the role: {}", notice.1);
}

#[test]
fn a_wrong_passphrase_is_a_clear_message() {
    let dir = demo();
    let mut h = harness(dir.path());
    log_in(
        &mut h,
        &key_of(dir.path(), Role::Officer),
        "not-the-passphrase",
    );
    assert!(h.state().officer().is_none());
    let e = h.state().login_error().expect("an error").to_string();
    assert!(e.contains("口令错误"), "said in the screen's language: {e}");
    h.run_steps(1);
    assert!(h.query_all_by_label_contains("口令错误").count() >= 1);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

fn save_count(
    h: &mut Harness<'_, TallyApp>,
    inmate: &crdt_schema::InmateNo,
    proc: &crdt_schema::ProcedureId,
    q: u64,
) {
    let view = h.state().view().expect("loaded").clone();
    h.state_mut().request(Request::Save {
        district: view.district.clone(),
        date: view.date,
        edits: vec![Edit {
            inmate_no: inmate.clone(),
            attendance: None,
            count: Some((proc.clone(), q)),
            delete_counts: Vec::new(),
        }],
    });
    settle(h);
    let notice = h.state().notice().cloned();
    assert!(matches!(&notice, Some((false, _))), "{notice:?}");
}

#[test]
fn a_chief_sees_a_conflict_side_by_side_and_resolves_it() {
    // Two district PCs hold the same month; apart, the chief here and an
    // officer there record different counts for the same inmate and day.
    let here = demo();
    let there = tempfile::tempdir().expect("tempdir");
    copy_dir(here.path(), there.path());
    let mut chief = harness(here.path());
    log_in(&mut chief, &key_of(here.path(), Role::Chief), PASS);
    let mut officer = harness(there.path());
    log_in(&mut officer, &key_of(there.path(), Role::Officer), PASS);
    let view = chief.state().view().expect("loaded").clone();
    let row = counted_row(&view);
    let (proc, _) = row.counts[0].clone();
    save_count(&mut chief, &row.inmate_no, &proc, 111);
    save_count(&mut officer, &row.inmate_no, &proc, 222);
    // The officer's PC's changes arrive here (a bundle, as sync would bring them).
    let bundle = there.path().join("d01.bundle");
    let (t, h) = (
        there.path().to_str().expect("utf-8"),
        here.path().to_str().expect("utf-8"),
    );
    let b = bundle.to_str().expect("utf-8");
    node::cli::run_from([
        "tally",
        "--data",
        t,
        "export",
        "--district",
        view.district.as_str(),
        "--month",
        "2026-10",
        "-o",
        b,
    ])
    .expect("export");
    node::cli::run_from(["tally", "--data", h, "merge", b]).expect("merge");
    chief.get_by_label("刷新").click();
    settle(&mut chief);
    let v = chief.state().view().expect("reloaded").clone();
    assert_eq!(v.conflicts.len(), 1, "{:?}", v.conflicts);
    assert!(
        v.rows
            .iter()
            .find(|r| r.inmate_no == row.inmate_no)
            .expect("row")
            .conflict
    );
    // Side by side on the approvals screen, each value with its writer;
    // sealing waits until the conflict is resolved.
    chief.get_by_label("审批").click();
    chief.run_steps(2);
    // The chief's screen opens on the weekly review; conflicts are with the seal.
    chief.get_by_label("审批与封存").click();
    chief.run_steps(2);
    assert!(chief.query_by_label("采用 111").is_some());
    assert!(chief.query_by_label("采用 222").is_some());
    assert!(chief.query_all_by_label_contains("先解决冲突").count() >= 1);
    chief.get_by_label("采用 222").click();
    settle(&mut chief);
    let v = chief.state().view().expect("reloaded").clone();
    assert!(v.conflicts.is_empty(), "{:?}", v.conflicts);
    let b = v
        .board
        .rows
        .iter()
        .find(|r| r.inmate_no == row.inmate_no)
        .expect("on the board");
    assert_eq!(b.done, 222, "the picked value counts");
    assert!(
        !v.rows
            .iter()
            .find(|r| r.inmate_no == row.inmate_no)
            .expect("row")
            .conflict
    );
    // The demo's chiefs sealed the month; the counts written since are
    // amendments, so the seal no longer matches the report. Now that the
    // conflict is resolved the month can be sealed again.
    assert!(
        v.report.seal.as_ref().is_some_and(|s| !s.current),
        "{:?}",
        v.report.seal
    );
    chief.run_steps(2);
    assert!(chief.query_all_by_label_contains("封存后有修改").count() >= 1);
    chief.get_by_label("重新封存").click();
    chief.run_steps(2);
    // A confirmation first, saying what the seal covers.
    assert!(chief.query_all_by_label_contains("报告摘要").count() >= 1);
    chief.get_by_label("确认封存").click();
    settle(&mut chief);
    let v = chief.state().view().expect("reloaded").clone();
    assert!(
        v.report.seal.as_ref().is_some_and(|s| s.current),
        "{:?}",
        v.report.seal
    );
}

#[test]
fn a_reload_keeps_what_the_officer_typed_and_the_date_waits_for_a_save() {
    let dir = demo();
    let mut h = harness(dir.path());
    log_in(&mut h, &key_of(dir.path(), Role::Officer), PASS);
    let view = h.state().view().expect("loaded").clone();
    let row = counted_row(&view);
    let stored = row.counts[0].1;
    let typed = (stored + 31).to_string();
    let count = format!("数量 {}", row.inmate_no);
    fill(&mut h, &count, &typed);
    assert_eq!(h.state().unsaved_rows(), 1);
    // The district reloads every 10 s of the app's time (a step is 0.25 s),
    // and whenever peers bring changes: the typed count must survive it.
    let loads = h.state().loads();
    for _ in 0..3 {
        h.run_steps(45);
        settle(&mut h);
    }
    assert!(h.state().loads() >= loads + 3, "it did reload");
    assert_eq!(h.get_by_label(&count).value().as_deref(), Some(&*typed));
    assert_eq!(h.state().unsaved_rows(), 1);
    // Another date would leave it behind: refused, with the reason.
    h.get_by_label("日期").click();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("日期").type_text("2026-10-21");
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    let notice = h.state().notice().cloned().expect("a notice");
    assert!(notice.0 && notice.1.contains("未保存"), "{notice:?}");
    assert_eq!(h.state().view().expect("view").date, view.date);
    assert_eq!(h.get_by_label(&count).value().as_deref(), Some(&*typed));
    // Discarded, the stored count is back and nothing was written.
    h.get_by_role_and_label(egui::accesskit::Role::Button, "放弃修改")
        .click();
    settle(&mut h);
    assert_eq!(h.state().unsaved_rows(), 0);
    assert_eq!(
        h.get_by_label(&count).value().as_deref(),
        Some(&*stored.to_string())
    );
}

#[test]
fn a_bad_cell_scrolled_out_of_sight_still_blocks_the_save() {
    let dir = demo();
    // A short window: only a few rows of the grid are drawn at a time.
    let mut h = common::harness_sized(dir.path(), [1280.0, 240.0]);
    log_in(&mut h, &key_of(dir.path(), Role::Officer), PASS);
    let view = h.state().view().expect("loaded").clone();
    let first = view.rows.first().expect("rows").inmate_no.clone();
    let last = view.rows.last().expect("rows").clone();
    let count = |no: &crdt_schema::InmateNo| format!("数量 {no}");
    // "1O5": a letter O typed for a zero.
    h.get_by_label(&count(&first)).click();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label(&count(&first)).type_text("1O5");
    h.run_steps(1);
    // Enter down to the last row, which scrolls the first out of sight.
    for _ in 1..view.rows.len() {
        h.key_press(egui::Key::Enter);
        h.run_steps(3);
    }
    assert!(
        h.query_by_label(&count(&first)).is_none(),
        "the first row is no longer drawn"
    );
    assert!(h.get_by_label(&count(&last.inmate_no)).is_focused());
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label(&count(&last.inmate_no)).type_text("12");
    h.run_steps(2);
    h.get_by_role_and_label(egui::accesskit::Role::Button, "保存")
        .click();
    settle(&mut h);
    assert!(
        h.query_all_by_label_contains("有 1 行有错误，未保存")
            .count()
            >= 1,
        "refused, naming the count of bad rows"
    );
    assert_eq!(h.state().unsaved_rows(), 2, "both rows still typed");
    // Nothing was written: the last row's stored count is unchanged, and the
    // first row is brought back into view.
    let after = h.state().view().expect("view");
    assert_eq!(
        after.rows.last().expect("rows").counts,
        last.counts,
        "not saved"
    );
    h.run_steps(3);
    assert!(h.query_by_label(&count(&first)).is_some(), "scrolled back");
}

#[test]
fn the_prison_group_approves_what_was_shown_in_every_district_and_a_chief_may_not() {
    let dir = demo();
    let mut h = harness(dir.path());
    log_in(&mut h, &key_of(dir.path(), Role::PrisonGroup), PASS);
    h.get_by_label("审批").click();
    settle(&mut h);
    h.run_steps(2);
    settle(&mut h);
    // The group's list across districts: every district, with what awaits it
    // (the demo leaves two inmates awaiting in D01, D03, D05 and D06).
    let shown = h.state().view().expect("loaded").district.clone();
    for d in ["D01", "D02", "D03", "D04", "D05", "D06"] {
        assert!(h.query_all_by_label_contains(d).count() >= 1, "{d} listed");
    }
    assert_eq!(h.query_all_by_label_contains("2 人待审批").count(), 4);
    assert_eq!(h.query_all_by_label_contains("0 人待审批").count(), 2);
    let other = if shown.as_str() == "D03" {
        "D05"
    } else {
        "D03"
    };
    h.get_by_label(&format!("查看 {other}")).click();
    settle(&mut h);
    assert_eq!(h.state().view().expect("loaded").district.as_str(), other);
    h.state_mut().show_district(shown);
    settle(&mut h);
    let view = h.state().view().expect("loaded").clone();
    let (no, entries) = view
        .pending
        .iter()
        .next()
        .map(|(n, e)| (n.clone(), e.clone()))
        .expect("the demo leaves approvals pending");
    assert!(!entries.is_empty());
    // What the group saw is no longer what awaits: refused, nothing written.
    let mut stale = entries.clone();
    stale[0].points = crdt_schema::Cp(stale[0].points.0 + 1);
    h.state_mut().request(Request::Approve {
        district: view.district.clone(),
        month: view.month,
        inmate: no.clone(),
        seen: stale,
    });
    settle(&mut h);
    let notice = h.state().notice().cloned().expect("a notice");
    assert!(notice.0 && notice.1.contains("已变化"), "{notice:?}");
    assert!(h.state().view().expect("view").pending.contains_key(&no));
    // Approved as shown: it counts, and no longer awaits.
    h.get_by_label(&format!("批准 {no}")).click();
    settle(&mut h);
    let notice = h.state().notice().cloned().expect("a notice");
    assert!(!notice.0, "{notice:?}");
    let after = h.state().view().expect("view").clone();
    assert!(!after.pending.contains_key(&no), "{:?}", after.pending);
    let r = after
        .report
        .body
        .inmates
        .iter()
        .find(|r| r.inmate_no == no)
        .expect("scored");
    assert_eq!((r.pending_bonus_cp.0, r.pending_deduct_cp.0), (0, 0));
    // The group approves in every district; the seal is not its to give.
    let other = h
        .state()
        .districts()
        .iter()
        .map(|(d, _)| d.clone())
        .find(|d| *d != view.district)
        .expect("another district");
    h.state_mut().show_district(other.clone());
    settle(&mut h);
    h.run_steps(2);
    assert!(
        h.query_all_by_label_contains("计分考核工作组：可审批")
            .count()
            >= 1
    );
    let seal = h
        .query_by_label("封存本月")
        .or_else(|| h.query_by_label("重新封存"))
        .expect("the seal button");
    assert!(seal.accesskit_node().is_disabled(), "seal disabled");
    drop(h);

    // The chief of the district sees what awaits the group, without the button.
    let mut h = harness(dir.path());
    log_in(&mut h, &key_of(dir.path(), Role::Chief), PASS);
    h.get_by_label("审批").click();
    settle(&mut h);
    h.get_by_label("审批与封存").click();
    h.run_steps(2);
    let view = h.state().view().expect("loaded").clone();
    let (no, entries) = view
        .pending
        .iter()
        .next()
        .map(|(n, e)| (n.clone(), e.clone()))
        .expect("approvals still pending");
    let label = format!("批准 {no}");
    assert!(
        h.get_by_label(&label).accesskit_node().is_disabled(),
        "approve disabled for a chief"
    );
    // And a request sent anyway is refused by the validator, in words.
    h.state_mut().request(Request::Approve {
        district: view.district.clone(),
        month: view.month,
        inmate: no.clone(),
        seen: entries,
    });
    settle(&mut h);
    let notice = h.state().notice().cloned().expect("a notice");
    assert!(notice.0, "{notice:?}");
    assert!(h.state().view().expect("view").pending.contains_key(&no));
}

#[test]
fn closing_the_window_with_unsaved_rows_asks_first() {
    let dir = demo();
    let mut h = harness(dir.path());
    log_in(&mut h, &key_of(dir.path(), Role::Officer), PASS);
    let view = h.state().view().expect("loaded").clone();
    let count = format!("数量 {}", view.rows[0].inmate_no);
    fill(&mut h, &count, "77");
    assert_eq!(h.state().unsaved_rows(), 1);
    let close = |h: &mut Harness<'_, TallyApp>| {
        h.input_mut()
            .viewports
            .entry(egui::ViewportId::ROOT)
            .or_default()
            .events
            .push(egui::ViewportEvent::Close);
        h.run_steps(2);
    };
    close(&mut h);
    assert!(
        h.query_all_by_label_contains("1 行未保存，退出将丢失")
            .count()
            >= 1,
        "asked before closing"
    );
    h.get_by_label("返回保存").click();
    h.run_steps(2);
    assert!(h.query_by_label("返回保存").is_none(), "back to the grid");
    assert_eq!(
        h.get_by_label(&count).value().as_deref(),
        Some("77"),
        "nothing lost"
    );
    // Saved, the window closes without asking.
    h.get_by_role_and_label(egui::accesskit::Role::Button, "保存")
        .click();
    settle(&mut h);
    assert_eq!(h.state().unsaved_rows(), 0);
    close(&mut h);
    assert!(h.query_by_label("返回保存").is_none(), "nothing to ask");
}

#[test]
fn a_day_saved_for_an_inmate_another_district_holds_is_refused() {
    let dir = demo();
    // The demo moves one D01 inmate to D02 on the 16th.
    let store = node::store::Store::open(dir.path()).expect("store");
    let registry = node::read::registry_facts(&store, None)
        .expect("registry")
        .0;
    let (moved, _) = registry
        .transfers
        .iter()
        .next()
        .expect("the demo's transfer");
    let mut h = harness(dir.path());
    log_in(&mut h, &key_of(dir.path(), Role::Officer), PASS);
    let view = h.state().view().expect("loaded").clone();
    assert_eq!(view.district.as_str(), "D01");
    assert!(
        view.rows.iter().all(|r| r.inmate_no != *moved),
        "D01's grid on the 20th does not list the inmate D02 holds"
    );
    // A save sent anyway (a transfer synced in after the grid was drawn).
    h.state_mut().request(Request::Save {
        district: view.district.clone(),
        date: view.date,
        edits: vec![Edit {
            inmate_no: moved.clone(),
            attendance: None,
            count: Some((view.procedures[0].0.clone(), 5)),
            delete_counts: Vec::new(),
        }],
    });
    settle(&mut h);
    let notice = h.state().notice().cloned().expect("a notice");
    assert!(notice.0, "an error: {notice:?}");
    assert!(
        notice
            .1
            .contains(&format!("{moved} 于 2026-10-20 在 D02，不在 D01")),
        "{notice:?}"
    );
}
