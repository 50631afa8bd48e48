//! The file picker, driven through the accessibility tree: an officer logs
//! in by picking the key file (no path typed), imports a spreadsheet picked
//! from a folder, and exports the month into a picked folder.

mod common;

use common::{PASS, counted_row, demo, harness, key_of, settle};
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use keys::Role;

use app::TallyApp;

fn click(h: &mut Harness<'_, TallyApp>, label: &str) {
    h.get_by_role_and_label(egui::accesskit::Role::Button, label)
        .click();
    settle(h);
}

#[test]
fn an_officer_picks_the_key_file_a_spreadsheet_and_the_export_folder() {
    let dir = demo();
    let data = dir.path();
    let key = key_of(data, Role::Officer);
    let key_name = key
        .file_name()
        .expect("a file name")
        .to_str()
        .expect("utf-8");
    let mut h = harness(data);

    // Log in: the picker opens on the data directory; the demo's keys are
    // in demo-keys/. Only key files are offered.
    click(&mut h, "选择…");
    assert!(h.query_by_label("tally.toml").is_none(), "not a key file");
    click(&mut h, "demo-keys/");
    click(&mut h, key_name);
    assert!(
        h.query_by_label(key_name).is_none(),
        "the picker closed once a file was picked"
    );
    h.get_by_label("口令").click();
    h.run_steps(1);
    h.get_by_label("口令").type_text(PASS);
    h.run_steps(1);
    click(&mut h, "登录");
    let officer = h.state().officer().expect("logged in with the picked key");
    assert_eq!(officer.role, Role::Officer);

    // Import a count from a spreadsheet in a folder of its own.
    let view = h.state().view().expect("loaded").clone();
    let row = counted_row(&view);
    let (p, q) = row.counts[0].clone();
    std::fs::create_dir(data.join("incoming")).expect("mkdir");
    std::fs::write(
        data.join("incoming").join("counts.csv"),
        format!(
            "date,inmate_no,procedure,quantity\n2026-10-20,{},{p},{}\n",
            row.inmate_no,
            q + 9
        ),
    )
    .expect("csv");
    std::fs::write(data.join("incoming").join("notes.txt"), "x").expect("txt");
    h.get_by_label("导入导出").click();
    settle(&mut h);
    click(&mut h, "选择…");
    // It opens where it was last: demo-keys. Up, then into incoming/.
    click(&mut h, "上一级");
    click(&mut h, "incoming/");
    assert!(h.query_by_label("notes.txt").is_none(), "not a spreadsheet");
    click(&mut h, "counts.csv");
    click(&mut h, "校验并导入");
    let notice = h.state().notice().cloned().expect("a notice");
    assert!(!notice.0 && notice.1.contains("1 行"), "{notice:?}");
    let after = h.state().view().expect("reloaded");
    let got = after
        .rows
        .iter()
        .find(|r| r.inmate_no == row.inmate_no)
        .expect("row");
    assert_eq!(got.counts[0].1, q + 9, "the picked file was imported");

    // Export into a picked folder under the default name.
    std::fs::create_dir(data.join("for-print")).expect("mkdir");
    click(&mut h, "选择文件夹…");
    click(&mut h, "上一级");
    click(&mut h, "for-print/");
    click(&mut h, "导出到此文件夹");
    click(&mut h, "导出");
    let notice = h.state().notice().cloned().expect("a notice");
    assert!(!notice.0, "{notice:?}");
    let written = data
        .join("for-print")
        .join(format!("计分考核-{}-{}.xlsx", view.district, view.month));
    let bytes = std::fs::read(&written).expect("written in the picked folder");
    assert_eq!(&bytes[..2], b"PK", "an XLSX file is a zip");
}

#[test]
fn a_folder_that_cannot_be_read_is_named_and_the_picker_stays_usable() {
    let dir = demo();
    let mut h = harness(dir.path());
    click(&mut h, "选择…");
    // The folder vanishes between the listing and the click.
    std::fs::remove_dir_all(dir.path().join("demo-keys")).expect("rm");
    click(&mut h, "demo-keys/");
    assert!(
        h.query_all_by_label_contains("demo-keys").count() >= 2,
        "the error names the folder, the listing stays"
    );
    click(&mut h, "取消");
    assert!(h.query_by_label("demo-keys/").is_none(), "closed");
    assert!(h.state().officer().is_none());
}
