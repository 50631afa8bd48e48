//! The CJK font shipped with the app. District PCs cannot be assumed to have
//! one, GB2312 subsets lack name characters such as 镕 and 堃, and the same
//! font everywhere renders the same everywhere. WenQuanYi Micro Hei
//! (Apache-2.0; `assets/fonts/wqy-microhei.COPYRIGHT`) is embedded whole.

use std::sync::Arc;

use eframe::egui::{self, FontData, FontDefinitions, FontFamily};

/// The font file, face 0 of the collection.
pub const CJK_FONT: &[u8] = include_bytes!("../assets/fonts/wqy-microhei.ttc");

/// The font definitions: egui's defaults, then the CJK font for every
/// character they lack.
pub fn definitions() -> FontDefinitions {
    let mut fonts = FontDefinitions::default();
    fonts.font_data.insert(
        "wqy-microhei".into(),
        Arc::new(FontData::from_static(CJK_FONT)),
    );
    for family in [FontFamily::Proportional, FontFamily::Monospace] {
        fonts
            .families
            .entry(family)
            .or_default()
            .push("wqy-microhei".into());
    }
    fonts
}

pub fn install(ctx: &egui::Context) {
    ctx.set_fonts(definitions());
}
