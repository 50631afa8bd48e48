//! What the app's UI tests share: a small demo prison, its key files, a
//! harness on the app, and waiting for the backend.

#![allow(dead_code)] // each test binary uses its own part

use node::keyfile::KeyFileIo;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use app::{Options, TallyApp};
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use keys::{KeyFile, Role};

pub const PASS: &str = "tally-demo";

/// A 60-inmate demo prison (6 districts of 10) for October 2026.
pub fn demo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8 path").to_string();
    let code = node::cli::run_from(["tally", "--data", &data, "demo", "--inmates", "60"])
        .expect("demo prison");
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    dir
}

/// The demo key file of the staff member with this role.
pub fn key_of(data: &Path, role: Role) -> PathBuf {
    find_key(data, role, None)
}

/// The demo key file of the staff member with this role in `district`.
pub fn key_of_in(data: &Path, role: Role, district: &str) -> PathBuf {
    find_key(data, role, Some(district))
}

fn find_key(data: &Path, role: Role, district: Option<&str>) -> PathBuf {
    std::fs::read_dir(data.join("demo-keys"))
        .expect("demo-keys")
        .map(|e| e.expect("entry").path())
        .find(|p| {
            KeyFile::read(p)
                .ok()
                .and_then(|f| f.certificate)
                .is_some_and(|c| {
                    c.body.role == role
                        && district
                            .is_none_or(|d| c.body.district.as_ref().map(|x| x.as_str()) == Some(d))
                })
        })
        .expect("a key of that role")
}

pub fn harness(data: &Path) -> Harness<'static, TallyApp> {
    harness_sized(data, [1280.0, 800.0])
}

/// The app drawn at 60 frames a second, as a real window is (kittest's
/// default is 4): for input whose timing matters, like an input method's.
pub fn harness_60fps(data: &Path) -> Harness<'static, TallyApp> {
    build(data, [1280.0, 800.0], 1.0 / 60.0)
}

/// The app in a window of `size` points.
pub fn harness_sized(data: &Path, size: [f32; 2]) -> Harness<'static, TallyApp> {
    build(data, size, 0.25)
}

fn build(data: &Path, size: [f32; 2], step_dt: f32) -> Harness<'static, TallyApp> {
    let opts = Options {
        data: data.to_path_buf(),
        date: Some("2026-10-20".parse().expect("date")),
        ..Options::default()
    };
    let app = TallyApp::with_wake(opts, || {});
    Harness::builder()
        .with_size(size)
        .with_step_dt(step_dt)
        .with_context_setup(app::fonts::install)
        .build_ui_state(|ui, app: &mut TallyApp| app.show(ui), app)
}

/// Steps until the backend has answered everything (or fails after 60 s).
pub fn settle(h: &mut Harness<'_, TallyApp>) {
    let start = Instant::now();
    loop {
        h.step();
        if !h.state().busy() {
            h.run_steps(3);
            if !h.state().busy() {
                return;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "backend did not answer"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn log_in(h: &mut Harness<'_, TallyApp>, key: &Path, pass: &str) {
    h.get_by_label("密钥文件").click();
    h.run_steps(1);
    h.get_by_label("密钥文件")
        .type_text(&key.display().to_string());
    h.run_steps(1);
    h.get_by_label("口令").click();
    h.run_steps(1);
    h.get_by_label("口令").type_text(pass);
    h.run_steps(1);
    h.get_by_role_and_label(egui::accesskit::Role::Button, "登录")
        .click();
    settle(h);
}

/// The first inmate of the view with exactly one count that day.
pub fn counted_row(view: &app::backend::DistrictView) -> app::backend::EntryRow {
    view.rows
        .iter()
        .find(|r| r.counts.len() == 1)
        .expect("an inmate with one count that day")
        .clone()
}

/// Replaces the text of the field labelled `label` with `text`, as typed.
pub fn fill(h: &mut Harness<'_, TallyApp>, label: &str, text: &str) {
    h.get_by_label(label).click();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.key_press(egui::Key::Backspace);
    h.run_steps(1);
    if !text.is_empty() {
        h.get_by_label(label).type_text(text);
    }
    h.run_steps(1);
}

pub fn click_button(h: &mut Harness<'_, TallyApp>, label: &str) {
    h.get_by_role_and_label(egui::accesskit::Role::Button, label)
        .click();
    h.run_steps(1);
}

pub fn tab(h: &mut Harness<'_, TallyApp>, label: &str) {
    h.get_by_label(label).click();
    settle(h);
}

/// The notice under the tabs: (is an error, text).
pub fn notice(h: &Harness<'_, TallyApp>) -> (bool, String) {
    h.state().notice().cloned().expect("a notice")
}
