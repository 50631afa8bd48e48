//! 登录: the key file and its passphrase.

use std::path::PathBuf;

use eframe::egui;

use super::Lang;
use super::look::SHORT;
use crate::backend::Request;

/// The login form; a request once the officer submits it.
pub(super) fn login(
    ui: &mut egui::Ui,
    lang: Lang,
    key_file: &mut String,
    passphrase: &mut String,
    error: Option<&str>,
) -> Option<Request> {
    let mut submit = false;
    ui.add_space(24.0);
    ui.heading(lang.t("登录", "Log in"));
    egui::Grid::new("login").num_columns(2).show(ui, |ui| {
        let l = ui.label(lang.t("密钥文件", "Key file"));
        ui.add(egui::TextEdit::singleline(key_file).desired_width(420.0))
            .labelled_by(l.id);
        ui.end_row();
        let l = ui.label(lang.t("口令", "Passphrase"));
        let r = ui
            .add(egui::TextEdit::singleline(passphrase).password(true))
            .labelled_by(l.id);
        if r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            submit = true;
        }
        ui.end_row();
    });
    if ui.button(lang.t("登录", "Log in")).clicked() {
        submit = true;
    }
    if let Some(e) = error {
        ui.colored_label(SHORT, e);
    }
    if submit && !key_file.trim().is_empty() {
        return Some(Request::Login {
            key_file: PathBuf::from(key_file.trim()),
            passphrase: std::mem::take(passphrase),
        });
    }
    None
}
