//! `tally-app`: the officers' app. Opens a data directory (the district PC's
//! replica), asks for a key file and passphrase, and shows the screens.
//!
//! ```text
//! tally-app --data DIR [--lang en] [--date 2026-10-20] [--renderer glow|wgpu]
//! tally-app --data DIR --key KEYFILE --big-screen        # wall screen (TALLY_PASSPHRASE)
//! tally-app --data DIR --key KEYFILE --screenshot a.png  # render, save, exit
//! tally-app --data DIR --no-sync                         # without the embedded node
//! ```

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use app::{Lang, Options, SyncMode, TallyApp};
use clap::Parser;
use eframe::egui;

#[derive(Debug, Parser)]
#[command(name = "tally-app", about = "tally: the officers' app (劳动改造计分)")]
struct Args {
    /// The replica's data directory (default: $TALLY_DATA).
    #[arg(long, env = "TALLY_DATA")]
    data: PathBuf,
    /// Interface language: zh (default) or en.
    #[arg(long, default_value = "zh")]
    lang: String,
    /// First date shown (YYYY-MM-DD; default yesterday).
    #[arg(long)]
    date: Option<String>,
    /// Log in at start with this key file; the passphrase from TALLY_PASSPHRASE.
    #[arg(long)]
    key: Option<PathBuf>,
    /// Open on the big-screen board.
    #[arg(long)]
    big_screen: bool,
    /// glow (OpenGL, lighter) or wgpu (for PCs whose OpenGL is too old).
    #[arg(long, default_value = "glow")]
    renderer: String,
    /// Render the first full screen to this PNG and exit (CI's screenshot).
    #[arg(long)]
    screenshot: Option<PathBuf>,
    /// Do not run the embedded sync node (it otherwise runs with DATA/node.toml's
    /// settings, as `tally node run` would).
    #[arg(long)]
    no_sync: bool,
}

/// Wraps the app to take one screenshot once the data has loaded.
struct Shot {
    app: TallyApp,
    path: PathBuf,
    state: Arc<Mutex<ShotState>>,
    frames: u32,
}

#[derive(Default)]
struct ShotState {
    requested: bool,
    done: Option<Result<(), String>>,
}

impl eframe::App for Shot {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        eframe::App::ui(&mut self.app, ui, frame);
        self.frames += 1;
        let ctx = ui.ctx().clone();
        let mut st = self.state.lock().expect("not poisoned");
        if let Some(done) = &st.done {
            if let Err(e) = done {
                eprintln!("error: screenshot: {e}");
            }
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            return;
        }
        let ready = self.app.view().is_some() && !self.app.busy();
        if ready && !st.requested && self.frames > 3 {
            st.requested = true;
            let path = self.path.clone();
            let state = self.state.clone();
            let title = self.app.title_rect;
            let ppp = ctx.pixels_per_point();
            let c2 = ctx.clone();
            ctx.request_screenshot(move |image| {
                let r = write_png(&path, &image, title, ppp);
                state.lock().expect("not poisoned").done = Some(r);
                c2.request_repaint();
            });
        }
        ctx.request_repaint();
    }
}

/// Writes the image, and beside it `PATH.title` with the title's rectangle in
/// pixels (x0 y0 x1 y1), which the screenshot test reads.
fn write_png(
    path: &std::path::Path,
    image: &egui::ColorImage,
    title: Option<egui::Rect>,
    ppp: f32,
) -> Result<(), String> {
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let [w, h] = image.size;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w as u32, h as u32);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|e| e.to_string())?;
    let bytes: Vec<u8> = image.pixels.iter().flat_map(|c| c.to_array()).collect();
    writer.write_image_data(&bytes).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    if let Some(r) = title {
        let side = path.with_extension("title");
        std::fs::write(
            &side,
            format!(
                "{} {} {} {}\n",
                (r.min.x * ppp).floor(),
                (r.min.y * ppp).floor(),
                (r.max.x * ppp).ceil(),
                (r.max.y * ppp).ceil()
            ),
        )
        .map_err(|e| format!("{}: {e}", side.display()))?;
    }
    Ok(())
}

fn main() -> Result<()> {
    let a = Args::parse();
    let lang = match a.lang.as_str() {
        "zh" => Lang::Zh,
        "en" => Lang::En,
        other => bail!("--lang {other}: use zh or en"),
    };
    let date = a
        .date
        .as_deref()
        .map(|d| d.parse().map_err(|e| anyhow::anyhow!("--date {d}: {e}")))
        .transpose()?;
    if !a.data.join("tally.toml").exists() {
        bail!(
            "{} is not a tally data directory (no tally.toml); create one with `tally init` or `tally demo`",
            a.data.display()
        );
    }
    let passphrase = match &a.key {
        Some(_) => Some(
            std::env::var("TALLY_PASSPHRASE")
                .context("--key needs the passphrase in TALLY_PASSPHRASE")?,
        ),
        None => None,
    };
    let renderer = match a.renderer.as_str() {
        "glow" => eframe::Renderer::Glow,
        "wgpu" => eframe::Renderer::Wgpu,
        other => bail!("--renderer {other}: use glow or wgpu"),
    };
    let opts = Options {
        data: a.data,
        lang,
        date,
        key_file: a.key,
        passphrase,
        big_screen: a.big_screen,
        sync: if a.no_sync {
            SyncMode::Off
        } else {
            SyncMode::FromConfig
        },
    };
    let native = eframe::NativeOptions {
        renderer,
        viewport: egui::ViewportBuilder::default()
            .with_title("tally 劳动改造计分")
            .with_inner_size([1280.0, 800.0]),
        ..Default::default()
    };
    let shot = a.screenshot;
    eframe::run_native(
        "tally-app",
        native,
        Box::new(move |cc| {
            let app = TallyApp::new(opts, &cc.egui_ctx);
            Ok(match shot {
                Some(path) => Box::new(Shot {
                    app,
                    path,
                    state: Arc::default(),
                    frames: 0,
                }) as Box<dyn eframe::App>,
                None => Box::new(app),
            })
        }),
    )
    .map_err(|e| anyhow::anyhow!("starting the window: {e}"))
}
