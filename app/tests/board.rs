//! The wall screen (劳动日记载大屏), driven through the accessibility tree:
//! it opens full screen on the board, turns its pages by itself, shows a
//! count written elsewhere on this PC without anyone touching it, and Esc
//! leaves it.

mod common;

use std::time::{Duration, Instant};

use common::{PASS, demo, key_of, settle};
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use keys::Role;

use app::{Options, TallyApp};

/// The app opened as `tally-app --key K --big-screen` on a small window
/// (so the district's ten inmates need more than one page).
fn wall(data: &std::path::Path) -> Harness<'static, TallyApp> {
    let opts = Options {
        data: data.to_path_buf(),
        date: Some("2026-10-20".parse().expect("date")),
        key_file: Some(key_of(data, Role::Officer)),
        passphrase: Some(PASS.into()),
        big_screen: true,
        ..Options::default()
    };
    let app = TallyApp::with_wake(opts, || {});
    let mut h = Harness::builder()
        .with_size([1280.0, 420.0])
        .with_context_setup(app::fonts::install)
        .build_ui_state(|ui, app: &mut TallyApp| app.show(ui), app);
    settle(&mut h);
    h
}

/// The page indicator of the wall screen's title, "n/m".
fn page(h: &Harness<'_, TallyApp>) -> (usize, usize) {
    let title = h
        .query_all_by_label_contains("劳动日记载")
        .filter_map(|n| n.value())
        .find(|l| l.contains('/'))
        .expect("the wall screen's title");
    let (n, m) = title
        .rsplit(' ')
        .next()
        .and_then(|p| p.split_once('/'))
        .expect("n/m");
    (n.parse().expect("n"), m.parse().expect("m"))
}

#[test]
fn the_wall_screen_turns_pages_and_shows_new_counts_by_itself() {
    let dir = demo();
    let data = dir.path();
    let mut h = wall(data);
    let view = h.state().view().expect("loaded").clone();
    let (first, pages) = page(&h);
    assert_eq!(first, 1);
    assert!(pages >= 2, "ten rows in a 420-point window: {pages} pages");
    // A page stays 15 s; steps are 0.25 s of the app's time.
    h.run_steps(30);
    assert_eq!(page(&h).0, 1, "7.5 s: still the first page");
    h.run_steps(32);
    assert_eq!(page(&h).0, 2, "after 15 s the next page");

    // Another program on this PC (an import, the CLI) signs a count in; the
    // wall screen shows it without a click.
    let row = view
        .board
        .rows
        .iter()
        .find(|r| r.procedure.is_some() && r.rate_bp.is_some())
        .expect("a counted inmate")
        .clone();
    let new_done = row.done + 1234;
    let quantity = u64::try_from(new_done).expect("a count");
    let procedure = row.procedure.clone().expect("procedure");
    let key = key_of(data, Role::Officer);
    let officer = node::identity::unlock_officer(&key, PASS).expect("unlock");
    let store = node::store::Store::open(data).expect("store");
    let mut s = node::session::WriteSession::begin(&store, &officer, 1_792_540_000, "late count")
        .expect("session");
    s.write_month(&view.district, view.month, |w| {
        w.put_count(&row.inmate_no, view.date, &procedure, quantity)
    })
    .expect("signed");
    s.commit().expect("stored");
    let start = Instant::now();
    loop {
        h.step();
        let shown = h.state().view().and_then(|v| {
            v.board
                .rows
                .iter()
                .find(|r| r.inmate_no == row.inmate_no)
                .map(|r| r.done)
        });
        if shown == Some(new_done) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the wall screen never showed the new count"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    settle(&mut h);
    // Esc leaves the wall screen for the tabs.
    assert!(
        h.query_by_label("今日录入").is_none(),
        "no tabs on the wall"
    );
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(h.query_by_label("今日录入").is_some(), "back to the tabs");
}
