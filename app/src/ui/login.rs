//! 登录: the key file and its passphrase.

use std::path::PathBuf;

use eframe::egui;

use super::Lang;
use super::look::SHORT;
use crate::backend::Request;

/// What the officer did on the login form.
pub(super) enum Action {
    /// Log in with this key file and passphrase.
    Submit(Request),
    /// Open the file picker for the key file.
    Browse,
}

/// The login form.
pub(super) fn login(
    ui: &mut egui::Ui,
    lang: Lang,
    key_file: &mut String,
    passphrase: &mut String,
    error: Option<&str>,
) -> Option<Action> {
    let mut submit = false;
    let mut browse = false;
    ui.add_space(24.0);
    ui.heading(lang.t("登录", "Log in"));
    egui::Grid::new("login").num_columns(2).show(ui, |ui| {
        let l = ui.label(lang.t("密钥文件", "Key file"));
        ui.horizontal(|ui| {
            ui.add(egui::TextEdit::singleline(key_file).desired_width(420.0))
                .labelled_by(l.id);
            browse = ui.button(lang.t("选择…", "Browse…")).clicked();
        });
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
    if browse {
        return Some(Action::Browse);
    }
    if submit && !key_file.trim().is_empty() {
        return Some(Action::Submit(Request::Login {
            key_file: PathBuf::from(key_file.trim()),
            passphrase: std::mem::take(passphrase),
        }));
    }
    None
}
