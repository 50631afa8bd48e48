//! 选择文件: a file picker drawn in egui, for the officer's key file at
//! login, a spreadsheet to import and the folder an export goes to.
//!
//! Officers pick files from USB sticks and folders rather than type paths.
//! The folder is read by the backend (the UI never touches the disk); the
//! picker only shows what came back and asks for the next folder. It is
//! drawn in egui rather than by the operating system so that it works the
//! same on every district PC, in both languages, and under the UI tests.

use std::path::{Path, PathBuf};

use eframe::egui;

use super::Lang;
use super::look::SHORT;
use crate::backend::Request;
use crate::browse::{Listing, Place};

/// What the picker is choosing, and so which files it offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// An officer's key file (`.key`).
    KeyFile,
    /// A spreadsheet to import (`.csv`, `.xlsx`, `.xlsm`).
    Import,
    /// The folder an export is written to.
    ExportFolder,
}

impl Target {
    fn title(self, lang: Lang) -> &'static str {
        match self {
            Target::KeyFile => lang.t("选择密钥文件", "Pick a key file"),
            Target::Import => lang.t("选择要导入的文件", "Pick a file to import"),
            Target::ExportFolder => lang.t("选择导出文件夹", "Pick the export folder"),
        }
    }

    /// Whether a file of this name is offered.
    fn offers(self, name: &str) -> bool {
        let ext = Path::new(name)
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        matches!(
            (self, ext.as_deref()),
            (Target::KeyFile, Some("key")) | (Target::Import, Some("csv" | "xlsx" | "xlsm"))
        )
    }
}

/// The picker's state: closed, or open on a folder.
#[derive(Debug, Default)]
pub(super) struct Picker {
    target: Option<Target>,
    listing: Option<Listing>,
    error: Option<String>,
    /// The folder last shown: the next picker opens there.
    last_dir: Option<PathBuf>,
}

/// Something chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Picked {
    pub target: Target,
    pub path: PathBuf,
}

impl Picker {
    /// Opens the picker on the last folder shown, else `start`; the request
    /// reads that folder.
    pub(super) fn open(&mut self, target: Target, start: &Path) -> Request {
        self.target = Some(target);
        self.error = None;
        Request::ListDir {
            dir: self.last_dir.clone().unwrap_or_else(|| start.to_path_buf()),
            fresh: true,
        }
    }

    /// The backend's answer to a folder request.
    pub(super) fn listed(&mut self, r: Result<Listing, String>) {
        match r {
            Ok(l) => {
                self.last_dir = Some(l.dir.clone());
                self.listing = Some(l);
                self.error = None;
            }
            // The folder shown stays; the error says which one failed.
            Err(e) => self.error = Some(e),
        }
    }

    /// Draws the picker if open: a folder to read next, or what was picked.
    pub(super) fn show(
        &mut self,
        ctx: &egui::Context,
        lang: Lang,
    ) -> (Option<Request>, Option<Picked>) {
        let Some(target) = self.target else {
            return (None, None);
        };
        let mut go: Option<PathBuf> = None;
        let mut picked: Option<PathBuf> = None;
        let mut cancel = false;
        egui::Modal::new(egui::Id::unique("picker")).show(ctx, |ui| {
            ui.set_width(640.0);
            ui.heading(target.title(lang));
            let Some(l) = &self.listing else {
                ui.spinner();
                if ui.button(lang.t("取消", "Cancel")).clicked() {
                    cancel = true;
                }
                return;
            };
            ui.horizontal_wrapped(|ui| {
                for (place, path) in &l.places {
                    if ui.button(place_label(lang, place)).clicked() {
                        go = Some(path.clone());
                    }
                }
            });
            ui.horizontal(|ui| {
                if let Some(p) = &l.parent
                    && ui.button(lang.t("上一级", "Up")).clicked()
                {
                    go = Some(p.clone());
                }
                ui.monospace(l.dir.display().to_string());
            });
            ui.separator();
            let mut shown = 0;
            egui::ScrollArea::vertical()
                .max_height(360.0)
                .auto_shrink([false, true])
                .show(ui, |ui| {
                    for e in &l.entries {
                        if e.is_dir {
                            shown += 1;
                            if ui.button(format!("{}/", e.name)).clicked() {
                                go = Some(l.dir.join(&e.name));
                            }
                        } else if target.offers(&e.name) {
                            shown += 1;
                            let r = ui.button(&e.name).on_hover_text(format!("{} B", e.bytes));
                            if r.clicked() {
                                picked = Some(l.dir.join(&e.name));
                            }
                        }
                    }
                });
            if shown == 0 {
                ui.label(lang.t("此文件夹中没有可选的文件", "Nothing to pick in this folder"));
            }
            if let Some(e) = &self.error {
                ui.colored_label(SHORT, e);
            }
            ui.separator();
            ui.horizontal(|ui| {
                if target == Target::ExportFolder
                    && ui
                        .button(lang.t("导出到此文件夹", "Export to this folder"))
                        .clicked()
                {
                    picked = Some(l.dir.clone());
                }
                if ui.button(lang.t("取消", "Cancel")).clicked() {
                    cancel = true;
                }
            });
        });
        if ctx.input(|i| i.key_pressed(egui::Key::Escape)) {
            cancel = true;
        }
        if cancel {
            self.target = None;
            return (None, None);
        }
        if let Some(path) = picked {
            self.target = None;
            return (None, Some(Picked { target, path }));
        }
        (go.map(|dir| Request::ListDir { dir, fresh: false }), None)
    }
}

fn place_label(lang: Lang, p: &Place) -> String {
    match p {
        Place::Data => lang.t("数据目录", "Data folder").into(),
        Place::Home => lang.t("主目录", "Home").into(),
        Place::Desktop => lang.t("桌面", "Desktop").into(),
        Place::Documents => lang.t("文档", "Documents").into(),
        Place::Media(name) => format!("{} {name}", lang.t("U盘", "USB")),
        Place::Drive(c) => format!("{c}:"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_target_offers_its_own_files() {
        assert!(Target::KeyFile.offers("D01-00.key"));
        assert!(Target::KeyFile.offers("J001.KEY"));
        assert!(!Target::KeyFile.offers("counts.csv"));
        assert!(Target::Import.offers("counts.csv"));
        assert!(Target::Import.offers("计数.xlsx"));
        assert!(Target::Import.offers("old.XLSM"));
        assert!(!Target::Import.offers("a.key"));
        assert!(!Target::Import.offers("notes"));
        assert!(!Target::ExportFolder.offers("report.xlsx"), "folders only");
    }
}
