// No console window behind the app on Windows (errors go to a message box
// and to DATA\logs instead).
#![cfg_attr(windows, windows_subsystem = "windows")]

//! `tally-app`: the officers' app. Opens a data directory (the district PC's
//! replica), asks for a key file and passphrase, and shows the screens.
//!
//! ```text
//! tally-app [--data DIR] [--lang en] [--date 2026-10-20] [--renderer glow|wgpu]
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
#[command(
    name = "tally-app",
    version,
    long_version = long_version(),
    about = "tally: the officers' app (劳动改造计分)"
)]
struct Args {
    /// The replica's data directory (default: $TALLY_DATA, else the machine's:
    /// %ProgramData%\\tally on Windows, /var/lib/tally elsewhere — the one the
    /// service uses).
    #[arg(long, env = "TALLY_DATA")]
    data: Option<PathBuf>,
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
    /// glow (OpenGL 2.0 / GLES 2.0 and later) or wgpu (Vulkan, DirectX 12, or
    /// OpenGL 3.3 / GLES 3.0). Default: glow, and wgpu if glow cannot start.
    #[arg(long)]
    renderer: Option<String>,
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

fn long_version() -> &'static str {
    static LONG: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "{}\n{}\nrenderer glow (OpenGL 2.0 / GLES 2.0), else wgpu (Vulkan, DirectX 12, OpenGL 3.3)",
            node::about::VERSION,
            node::about::details()
        )
    });
    LONG.as_str()
}

fn main() -> std::process::ExitCode {
    let a = Args::parse();
    let data = a.data.clone().unwrap_or_else(platform::default_data_dir);
    // The packaged data directory is shared by the service and the officers.
    platform::share_new_files_with_group(&data);
    // Without a console (Windows) the log is the only place an error stays.
    let log_dir = cfg!(windows).then(|| data.join("logs"));
    let _ = node::logging::init(log_dir.as_deref(), "tally-app");
    match run(a, data) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // Standard error on Linux (where the log goes too); a message
            // box and the log file on Windows, where there is no console.
            let text = node::cli::one_line(&e);
            tracing::error!("{text}");
            if cfg!(windows) {
                platform::message_box("tally 劳动改造计分", &text);
            }
            std::process::ExitCode::FAILURE
        }
    }
}

/// The renderers to try, in order.
fn renderers(choice: Option<&str>) -> Result<Vec<(eframe::Renderer, &'static str)>> {
    Ok(match choice {
        None => vec![
            (eframe::Renderer::Glow, "glow"),
            (eframe::Renderer::Wgpu, "wgpu"),
        ],
        Some("glow") => vec![(eframe::Renderer::Glow, "glow")],
        Some("wgpu") => vec![(eframe::Renderer::Wgpu, "wgpu")],
        Some(other) => bail!("--renderer {other}: use glow or wgpu"),
    })
}

fn run(a: Args, data: PathBuf) -> Result<()> {
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
    if !data.join("tally.toml").exists() {
        bail!(
            "{} 不是 tally 数据目录（没有 tally.toml），请先用 `tally init` 建立。\n\
             {} is not a tally data directory (no tally.toml); create one with `tally init` or `tally demo`",
            data.display(),
            data.display()
        );
    }
    let passphrase = match &a.key {
        Some(_) => Some(
            std::env::var("TALLY_PASSPHRASE")
                .context("--key needs the passphrase in TALLY_PASSPHRASE")?,
        ),
        None => None,
    };
    let renderers = renderers(a.renderer.as_deref())?;
    let opts = Options {
        data,
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
        renderer: None,
    };
    let mut failures = Vec::new();
    for (renderer, name) in renderers {
        match open_window(renderer, name, opts.clone(), a.screenshot.clone()) {
            Ok(()) => return Ok(()),
            Err(e) => {
                tracing::warn!("the {name} renderer cannot start: {e}");
                failures.push(format!("{name}: {e}"));
            }
        }
    }
    bail!(
        "无法打开窗口：本机显卡驱动不支持所需的图形接口（glow 需 OpenGL 2.0 或 GLES 2.0；\
         wgpu 需 Vulkan、DirectX 12 或 OpenGL 3.3）。请安装显卡驱动后重试。\n\
         The window cannot open: no renderer could start (glow needs OpenGL 2.0 or GLES 2.0; \
         wgpu needs Vulkan, DirectX 12 or OpenGL 3.3). Install the graphics driver and try again.\n{}",
        failures.join("\n")
    )
}

/// Runs the app in a window drawn by `renderer` until it closes. A renderer
/// that cannot start is an error (eframe's, or a panic inside it), so the
/// next one can be tried.
fn open_window(
    renderer: eframe::Renderer,
    name: &'static str,
    mut opts: Options,
    shot: Option<PathBuf>,
) -> Result<(), String> {
    opts.renderer = Some(name);
    let native = eframe::NativeOptions {
        renderer,
        viewport: egui::ViewportBuilder::default()
            .with_title("tally 劳动改造计分")
            .with_inner_size([1280.0, 800.0]),
        ..Default::default()
    };
    let run = std::panic::AssertUnwindSafe(move || {
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
    });
    match std::panic::catch_unwind(run) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(panic) => Err(panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panicked".into())),
    }
}
