//! Frame time of the app's screens with a 300-inmate district (the demo's
//! 1,800-inmate prison: 6 districts of 300), measured as one egui frame —
//! the UI, then tessellation: what the UI thread does each frame — through
//! egui_kittest. The GPU's share (uploading meshes, drawing) is not in it.
//! Goal: under 16 ms per frame.
//!
//! ```text
//! cargo bench -p app --bench frame
//! ```

use std::path::PathBuf;
use std::time::{Duration, Instant};

use app::{Options, TallyApp};
use criterion::{Criterion, criterion_group, criterion_main};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

fn demo() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8").to_string();
    node::cli::run_from(["tally", "--data", &data, "demo", "--inmates", "1800"]).expect("demo");
    let key = dir.path().join("demo-keys/D01-00.key");
    (dir, key)
}

fn bench(c: &mut Criterion) {
    let (dir, key) = demo();
    let opts = Options {
        data: dir.path().to_path_buf(),
        date: Some("2026-10-20".parse().expect("date")),
        key_file: Some(key),
        passphrase: Some("tally-demo".into()),
        ..Options::default()
    };
    let app = TallyApp::with_wake(opts, || {});
    // A frame is 1/60 s of the app's time, as on a 60 Hz screen: the
    // district reloads every 10 s of it (600 frames), so reload frames are
    // in the mean, more often than in real use.
    let mut h: Harness<'_, TallyApp> = Harness::builder()
        .with_size([1280.0, 800.0])
        .with_step_dt(1.0 / 60.0)
        .with_context_setup(app::fonts::install)
        .build_ui_state(|ui, app: &mut TallyApp| app.show(ui), app);
    let start = Instant::now();
    while h.state().view().is_none() || h.state().busy() {
        h.step();
        std::thread::sleep(Duration::from_millis(10));
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the district never loaded"
        );
    }
    let view = h.state().view().expect("loaded");
    // 300 inmates in the month; a few are admitted or released around the 20th.
    let (rows, scored) = (view.rows.len(), view.report.body.inmates.len());
    eprintln!("district D01: {rows} inmates in custody on the day, {scored} scored in the month");
    assert!(scored >= 300 && rows >= 280, "a 300-inmate district");
    let mut g = c.benchmark_group("frame/district_300");
    for (tab, name) in [
        ("今日录入", "entry"),
        ("劳动日记载", "board"),
        ("月度考核", "scores"),
        ("效率曲线", "charts"),
        // The whole prison's roster (1,800), drawn as visible rows only.
        ("人员", "roster"),
        // The wall screen: the board full screen in large type, a page of it.
        ("大屏显示", "wall"),
    ] {
        if tab == "大屏显示" {
            h.get_by_label("劳动日记载").click();
            h.run_steps(3);
        }
        h.get_by_label(tab).click();
        h.run_steps(3);
        while h.state().busy() {
            h.step();
            std::thread::sleep(Duration::from_millis(10));
        }
        h.run_steps(3);
        // One frame as eframe runs it on the UI thread: the app's UI (layout,
        // shapes, the accessibility tree), then tessellation into meshes.
        g.bench_function(name, |b| {
            b.iter(|| {
                h.step();
                let out = h.output();
                let shapes = out.shapes.clone();
                let ppp = out.pixels_per_point;
                h.ctx.tessellate(shapes, ppp).len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
