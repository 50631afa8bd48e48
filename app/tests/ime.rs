//! Chinese composed through an input method, as egui receives it: preedit
//! events (the pinyin shown inline), then a commit of the characters. Names
//! on the roster, the reason of a bonus or deduction, and the procedure
//! type-ahead take such text; the Enter that confirms a composition does not
//! also end the field or move the entry grid to the next row.

mod common;

use common::{PASS, click_button, demo, fill, harness_60fps, key_of, log_in, notice, settle, tab};
use eframe::egui::{self, Event, ImeEvent};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use keys::Role;

use app::TallyApp;

fn preedit(h: &mut Harness<'_, TallyApp>, text: &str) {
    h.event(Event::Ime(ImeEvent::Preedit {
        text: text.into(),
        active_range_chars: None,
    }));
    h.run_steps(1);
}

fn enter(pressed: bool) -> Event {
    Event::Key {
        key: egui::Key::Enter,
        physical_key: None,
        pressed,
        repeat: false,
        modifiers: egui::Modifiers::NONE,
    }
}

/// Types `pinyin` then commits `hanzi` with Enter: the commit, then the
/// Enter the input method consumed, delivered as a key press and release
/// too (as X11 integrations do; kittest gives each event a frame).
fn compose(h: &mut Harness<'_, TallyApp>, pinyin: &str, hanzi: &str) {
    preedit(h, pinyin);
    h.event(Event::Ime(ImeEvent::Commit(hanzi.into())));
    h.event(enter(true));
    h.event(enter(false));
    h.run_steps(4);
}

#[test]
fn a_roster_name_is_composed_and_enter_confirms_only_the_composition() {
    let dir = demo();
    let mut h = harness_60fps(dir.path());
    log_in(&mut h, &key_of(dir.path(), Role::Records), PASS);
    tab(&mut h, "人员");
    let cat = h.state().catalog().expect("catalogue").clone();
    let (district, name) = cat.districts[0].clone();
    fill(&mut h, "罪犯编号", "Z9002");
    h.get_by_label("罪犯姓名").click();
    h.run_steps(1);
    // The composition is shown inline while it is typed.
    preedit(&mut h, "li");
    assert_eq!(h.get_by_label("罪犯姓名").value().as_deref(), Some("li"));
    h.event(Event::Ime(ImeEvent::Commit("李".into())));
    h.run_steps(1);
    assert_eq!(h.get_by_label("罪犯姓名").value().as_deref(), Some("李"));
    compose(&mut h, "kun", "堃");
    compose(&mut h, "rong", "镕");
    assert_eq!(
        h.get_by_label("罪犯姓名").value().as_deref(),
        Some("李堃镕")
    );
    assert!(
        h.get_by_label("罪犯姓名").is_focused(),
        "the confirming Enter did not end the field"
    );
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
        .find(|(no, _)| no.as_str() == "Z9002")
        .expect("on the roster");
    assert_eq!(inmate.name, "李堃镕");
}

#[test]
fn the_reason_of_a_deduction_is_composed_and_signed() {
    let dir = demo();
    let mut h = harness_60fps(dir.path());
    log_in(&mut h, &key_of(dir.path(), Role::Officer), PASS);
    let view = h.state().view().expect("loaded").clone();
    let no = view.report.body.inmates[0].inmate_no.clone();
    tab(&mut h, "月度考核");
    h.get_by_label(&format!("劳动分 {no}")).click();
    settle(&mut h);
    fill(&mut h, "分值", "-2");
    h.get_by_label("事由").click();
    h.run_steps(1);
    compose(&mut h, "weifan", "违反");
    compose(&mut h, "caozuoguicheng", "操作规程");
    assert_eq!(
        h.get_by_label("事由").value().as_deref(),
        Some("违反操作规程")
    );
    assert!(h.get_by_label("事由").is_focused());
    click_button(&mut h, "签名保存加扣分");
    settle(&mut h);
    let (err, text) = notice(&h);
    assert!(!err, "{text}");
    // The signed entry counts: 2 points off the inmate's deductions (a
    // deduction of 200 cp is decided on the spot).
    let deducted = |v: &app::backend::DistrictView| {
        let r = v.report.body.inmates.iter().find(|r| r.inmate_no == no);
        r.expect("in the report").deduct_cp.0
    };
    let after = deducted(h.state().view().expect("reloaded"));
    assert_eq!(after, deducted(&view) + 200);
    // And its reason is in the audit trail, as composed.
    assert!(
        h.query_all_by_label_contains("违反操作规程").count() >= 1,
        "the audit trail shows the reason"
    );
    // Saved, the form starts empty: clicking again cannot sign the same
    // fact twice.
    h.run_steps(2);
    assert_eq!(h.get_by_label("分值").value().as_deref(), Some(""));
    assert_eq!(h.get_by_label("事由").value().as_deref(), Some(""));
    assert!(
        h.get_by_label("签名保存加扣分")
            .accesskit_node()
            .is_disabled(),
        "nothing to save"
    );
}

#[test]
fn the_procedure_type_ahead_takes_a_composed_name() {
    let dir = demo();
    let mut h = harness_60fps(dir.path());
    log_in(&mut h, &key_of(dir.path(), Role::Officer), PASS);
    let view = h.state().view().expect("loaded").clone();
    let (first, second) = (&view.rows[0].inmate_no, &view.rows[1].inmate_no);
    fill(&mut h, &format!("工序 {first}"), "");
    h.get_by_label(&format!("工序 {first}")).click();
    h.run_steps(1);
    compose(&mut h, "fengling", "缝领");
    assert!(
        h.get_by_label(&format!("工序 {first}")).is_focused(),
        "Enter confirmed the composition, not the field"
    );
    fill(&mut h, &format!("数量 {first}"), "7");
    // The name typed is completed to its procedure when the officer moves on.
    assert_eq!(
        h.get_by_label(&format!("工序 {first}")).value().as_deref(),
        Some("SHIRT-02")
    );
    // Outside a composition, Enter is the grid's again: the next row.
    h.key_press(egui::Key::Enter);
    h.run_steps(3);
    assert!(h.get_by_label(&format!("数量 {second}")).is_focused());
}
