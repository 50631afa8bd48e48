//! The app's embedded node over real iroh endpoints on loopback: a new
//! district PC (an enrolled, empty replica) gets the records office's month
//! through the app's node, an officer logs in and saves, and the save reaches
//! the records office at once; the 同步 screen shows the peer connected.

use node::keyfile::KeyFileIo;
use std::time::{Duration, Instant};

use app::backend::{Edit, Request};
use app::{Options, SyncMode, TallyApp};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use keys::{KdfParams, KeyFile, KeyKind};
use node::net::NodeOptions;

fn step_until(h: &mut Harness<'_, TallyApp>, what: &str, done: impl Fn(&TallyApp) -> bool) {
    let start = Instant::now();
    while !done(h.state()) {
        h.step();
        std::thread::sleep(Duration::from_millis(20));
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "timed out waiting for {what}"
        );
    }
    h.run_steps(2);
}

#[test]
fn a_new_pc_syncs_through_the_app_and_its_saves_reach_the_records_office() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let prison = tests::Prison::new(60);
    let pc = prison.replica("district-pc", true);
    let district = prison.districts[0].clone();
    let officer = prison.officer("J901", district.as_str(), 9);
    let key_file = pc.join("j901.key");
    KeyFile::seal(
        &officer.key,
        KeyKind::Officer,
        "pc-passphrase",
        KdfParams::STANDARD,
        Some(officer.certificate.clone()),
    )
    .expect("seal")
    .write_new(&key_file)
    .expect("key file");
    let records = rt.block_on(tests::start(&prison.records, &[]));
    let opts = Options {
        data: pc.clone(),
        date: Some(tests::month().day(20).expect("day")),
        sync: SyncMode::With(NodeOptions {
            listen: Some("127.0.0.1:0".parse().expect("addr")),
            peers: vec![tests::addr_of(&records)],
            mdns: false,
            link: None,
            checkpoint_every: node::net::CHECKPOINT_EVERY,
        }),
        ..Options::default()
    };
    let app = TallyApp::with_wake(opts, || {});
    let mut h = Harness::builder()
        .with_size([1280.0, 800.0])
        .with_context_setup(app::fonts::install)
        .build_ui_state(|ui, app: &mut TallyApp| app.show(ui), app);
    // The empty replica fills from the records office through the app's node.
    let target = records.heads();
    step_until(&mut h, "the month to arrive", |a| {
        a.sync_status().is_some_and(|s| s.heads == target)
    });
    // Log in (the officer's certificate came with the registry).
    h.get_by_label("密钥文件").click();
    h.run_steps(1);
    h.get_by_label("密钥文件")
        .type_text(&key_file.display().to_string());
    h.get_by_label("口令").click();
    h.run_steps(1);
    h.get_by_label("口令").type_text("pc-passphrase");
    h.run_steps(1);
    h.get_by_role_and_label(egui::accesskit::Role::Button, "登录")
        .click();
    step_until(&mut h, "the district to load", |a| {
        a.view().is_some() && !a.busy()
    });
    let view = h.state().view().expect("loaded").clone();
    assert_eq!(view.district, district);
    let row = view
        .rows
        .iter()
        .find(|r| r.counts.len() == 1)
        .expect("synced records")
        .clone();
    // A save here is pushed to the records office at once.
    h.state_mut().request(Request::Save {
        district: view.district.clone(),
        date: view.date,
        edits: vec![Edit {
            inmate_no: row.inmate_no.clone(),
            attendance: None,
            count: Some((row.counts[0].0.clone(), row.counts[0].1 + 1)),
            delete_counts: Vec::new(),
        }],
    });
    step_until(&mut h, "the save", |a| !a.busy());
    assert!(
        matches!(h.state().notice(), Some((false, _))),
        "{:?}",
        h.state().notice()
    );
    let took = rt.block_on(tests::reach(&[&records], &pc, Duration::from_secs(30)));
    assert!(took.is_some(), "the save never reached the records office");
    // The sync screen shows the records office connected.
    h.get_by_label("同步").click();
    h.run_steps(2);
    assert!(h.query_all_by_label("已连接").count() >= 1);
    // Level with the records office: nothing waits to be sent or received
    // (the status follows within a second of the exchange going quiet).
    step_until(&mut h, "the peer shown level", |a| {
        a.sync_status()
            .is_some_and(|s| !s.peers.is_empty() && s.peers.values().all(|p| p.lag.is_empty()))
    });
    h.run_steps(2);
    assert!(h.query_by_label("待发送").is_some(), "the column is there");
    assert!(
        h.query_all_by_label("无").count() >= 2,
        "none to send, none to receive"
    );
    drop(h);
    rt.block_on(records.shutdown());
}

use eframe::egui;

#[test]
fn where_the_service_runs_the_app_starts_no_node_and_shows_the_services() {
    // One replica per machine, one node: the Windows service (or systemd's
    // `tally node run`) holds the data directory; the app shows its status
    // and, when it stops, starts its own node.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let prison = tests::Prison::new(20);
    let service = rt.block_on(tests::start(&prison.records, &[]));
    let service_id = service.id().to_string();
    let opts = Options {
        data: prison.records.clone(),
        sync: SyncMode::With(NodeOptions {
            listen: Some("127.0.0.1:0".parse().expect("addr")),
            peers: Vec::new(),
            mdns: false,
            link: None,
            checkpoint_every: node::net::CHECKPOINT_EVERY,
        }),
        ..Options::default()
    };
    let app = TallyApp::with_wake(opts, || {});
    let mut h = Harness::builder()
        .with_size([1280.0, 800.0])
        .with_context_setup(app::fonts::install)
        .build_ui_state(|ui, app: &mut TallyApp| app.show(ui), app);
    step_until(&mut h, "the service's status", |a| {
        a.sync_status()
            .is_some_and(|s| s.by_service.is_some() && s.id.as_deref() == Some(&service_id))
    });
    let st = h.state().sync_status().expect("status");
    assert_eq!(st.by_service, Some(Some(std::process::id())));
    assert_eq!(st.heads, service.heads(), "the heads the service holds");
    rt.block_on(service.shutdown());
    // The service is gone: the app's own node takes the data directory.
    step_until(&mut h, "the app's own node", |a| {
        a.sync_status()
            .is_some_and(|s| s.by_service.is_none() && s.id.is_some())
    });
    assert!(node::net::running_elsewhere(&prison.records).is_some());
    drop(h);
    assert!(
        node::net::running_elsewhere(&prison.records).is_none(),
        "the app's node released the directory"
    );
}
