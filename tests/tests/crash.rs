//! Processes killed with SIGKILL while writing: on restart, everything they
//! acknowledged is there, and the store loads.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crdt_schema::{DocId, MonthDoc};
use node::store::Store;
use tests::*;

const TALLY: &str = env!("CARGO_BIN_EXE_tally-e2e");

/// Every document of `data` loads; returns the problems reported (a torn
/// tail is expected after a kill, nothing worse).
fn load_all(data: &std::path::Path) -> Vec<String> {
    let store = Store::open(data).expect("open after the kill");
    let mut issues = Vec::new();
    for id in store.doc_ids().expect("ids") {
        let loaded = store
            .load(&id)
            .expect("every document loads after the kill");
        issues.extend(loaded.issues);
    }
    issues
}

#[test]
fn a_cli_killed_while_writing_loses_nothing_it_acknowledged() {
    let prison = Prison::new(120);
    let data = prison.records.clone();
    let acknowledged: Arc<Mutex<BTreeMap<(String, u8), u64>>> = Arc::default();
    let child: Arc<Mutex<Option<std::process::Child>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acknowledged, child, stop, data) = (
            acknowledged.clone(),
            child.clone(),
            stop.clone(),
            data.clone(),
        );
        std::thread::spawn(move || {
            for i in 0u64.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let inmate = format!("52{:08}", 1 + i % 20);
                let day = 1 + ((i / 20) % 28) as u8;
                let csv = data.join(format!("w{i}.csv"));
                std::fs::write(&csv, format!("date,inmate_no,procedure,quantity\n2026-10-{day:02},{inmate},SHIRT-01,{}\n", 1000 + i))
                    .unwrap();
                let spawned = Command::new(TALLY)
                    .arg("--data")
                    .arg(&data)
                    .args(["import", "counts"])
                    .arg(&csv)
                    .env("TALLY_PASSPHRASE", PASSPHRASE)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                *child.lock().unwrap() = Some(spawned);
                // Wait outside the lock so the killer can reach the child.
                let out = loop {
                    let mut guard = child.lock().unwrap();
                    let Some(c) = guard.as_mut() else { break None };
                    match c.try_wait().unwrap() {
                        Some(_) => break guard.take().map(|c| c.wait_with_output().unwrap()),
                        None => {
                            drop(guard);
                            std::thread::sleep(Duration::from_millis(1));
                        }
                    }
                };
                if let Some(out) = out
                    && out.status.success()
                    && String::from_utf8_lossy(&out.stdout).contains("1 records changed")
                {
                    acknowledged.lock().unwrap().insert((inmate, day), 1000 + i);
                }
            }
        })
    };
    std::thread::sleep(Duration::from_secs(4));
    stop.store(true, Ordering::SeqCst);
    if let Some(c) = child.lock().unwrap().as_mut() {
        let _ = c.kill(); // SIGKILL
        let _ = c.wait();
    }
    writer.join().unwrap();
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 5,
        "only {} writes acknowledged",
        acknowledged.len()
    );

    let issues = load_all(&data);
    assert!(issues.iter().all(|i| i.contains("torn")), "{issues:?}");
    let store = Store::open(&data).unwrap();
    let d01 = store
        .load(&DocId::month("D01".parse().unwrap(), month()))
        .unwrap();
    let facts = MonthDoc::from_document(d01.doc).unwrap().facts();
    for ((inmate, day), q) in &acknowledged {
        let got = facts.inmates[&inmate.parse().unwrap()]
            .counts
            .get(day)
            .and_then(|c| c.get(&"SHIRT-01".parse().unwrap()))
            .map(|e| e.value);
        assert_eq!(
            got,
            Some(*q),
            "acknowledged count of {inmate} on day {day} lost"
        );
    }
    // And the replica still writes after the kill (a torn tail is cut off).
    let csv = data.join("after.csv");
    std::fs::write(
        &csv,
        "date,inmate_no,procedure,quantity\n2026-10-29,5200000001,SHIRT-01,7\n",
    )
    .unwrap();
    let out = Command::new(TALLY)
        .arg("--data")
        .arg(&data)
        .args(["import", "counts"])
        .arg(&csv)
        .env("TALLY_PASSPHRASE", PASSPHRASE)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(load_all(&data).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_while_syncing_restarts_and_completes() {
    let prison = Prison::new(1200);
    let b = prison.replica("b", true);
    let records = start(&prison.records, &[]).await;
    let peer = addr_of(&records).to_string();
    let mut child = Command::new(TALLY)
        .arg("--data")
        .arg(&b)
        .args([
            "node",
            "run",
            "--listen",
            "127.0.0.1:0",
            "--no-mdns",
            "--peer",
            &peer,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it as soon as it has stored something.
    let t = std::time::Instant::now();
    while Store::open(&b).unwrap().month_ids().unwrap().is_empty()
        && t.elapsed() < Duration::from_secs(30)
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let issues = load_all(&b);
    assert!(issues.iter().all(|i| i.contains("torn")), "{issues:?}");
    let nb = start(&b, &[&records]).await;
    assert!(
        converge(&[&records, &nb], Duration::from_secs(30))
            .await
            .is_some(),
        "did not complete after the kill"
    );
    assert_eq!(digests(&b), digests(&prison.records));
    records.shutdown().await;
    nb.shutdown().await;
}

#[test]
fn the_daemon_stops_cleanly_on_sigterm_and_reports_status_while_running() {
    let prison = Prison::new(60);
    let data = prison.records.clone();
    let mut child = Command::new(TALLY)
        .arg("--data")
        .arg(&data)
        .args(["node", "run", "--listen", "127.0.0.1:0", "--no-mdns"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Status shows it running (the status file is rewritten every second).
    let t = std::time::Instant::now();
    let running = loop {
        let out = Command::new(TALLY)
            .arg("--data")
            .arg(&data)
            .args(["node", "status", "--json"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if v["running"] == true {
            break v;
        }
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "status never showed the node running: {v}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // The registry, the roster's shards and the six months.
    let stored = Store::open(&data).unwrap().doc_ids().unwrap().len();
    assert!(stored > 7, "the demo's roster is in shards");
    assert_eq!(
        running["heads"].as_object().unwrap().len(),
        stored,
        "{running}"
    );
    // SIGTERM: a clean exit.
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let t = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    assert!(
        !data.join("node.port").exists(),
        "the notify port file is removed on shutdown"
    );
}

/// Every stored document's heads, to compare whole data directories.
fn heads_of(data: &std::path::Path) -> BTreeMap<DocId, Vec<String>> {
    stored_heads(data)
}

#[test]
fn a_multi_document_import_killed_or_failing_at_any_append_is_wholly_absent() {
    let prison = Prison::new(60);
    let data = prison.records.clone();
    // One count for the first inmate of every district: one document each.
    let store = Store::open(&data).unwrap();
    let registry = node::read::registry_facts(&store, None).unwrap().0;
    // The first inmate each district holds that day (transfers applied).
    let day: crdt_schema::Date = "2026-10-30".parse().unwrap();
    let mut firsts: BTreeMap<crdt_schema::DistrictId, String> = BTreeMap::new();
    for no in registry.inmates.keys() {
        if let Some(d) = registry.district_on(no, day) {
            firsts.entry(d.clone()).or_insert_with(|| no.to_string());
        }
    }
    let documents = firsts.len();
    assert!(documents >= 3, "the demo has {documents} districts");
    let mut csv = "date,inmate_no,procedure,quantity\n".to_string();
    for no in firsts.values() {
        csv.push_str(&format!("2026-10-30,{no},SHIRT-01,4321\n"));
    }
    let file = data.join("multi.csv");
    std::fs::write(&file, csv).unwrap();
    let run = |fault: Option<String>| {
        let mut c = Command::new(TALLY);
        c.arg("--data")
            .arg(&data)
            .args(["import", "counts"])
            .arg(&file)
            .env("TALLY_PASSPHRASE", PASSPHRASE);
        if let Some(f) = fault {
            c.env("TALLY_FAULT", f);
        }
        c.output().unwrap()
    };
    let before = heads_of(&data);
    // Killed before each append, and between the last append and the
    // commit point (after = documents): nothing of it is there.
    for after in 0..=documents {
        let out = run(Some(format!("abort-after:{after}")));
        assert!(!out.status.success(), "abort-after:{after} aborted");
        assert_eq!(
            heads_of(&data),
            before,
            "killed after {after} of {documents} appends: readers see none of it"
        );
        // A reader before any writer rolled back sees none of it either,
        // and the next writer rolls it back (checked below by heads).
        assert!(
            load_all(&data).is_empty(),
            "nothing torn or corrupt is read"
        );
    }
    // A full disk at each append: refused, said so, nothing there.
    for after in 0..=documents {
        let out = run(Some(format!("fail-after:{after}")));
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("No space left on device"), "{err}");
        assert!(
            err.contains("nothing of this write was stored"),
            "says what was written: {err}"
        );
        assert!(
            err.contains(&format!("{after} document(s) rolled back"))
                || (after == documents && err.contains("rolled back")),
            "{err}"
        );
        assert_eq!(heads_of(&data), before, "fail-after:{after}");
    }
    // Whole, at last: every document got its change.
    let out = run(None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!(
            "{documents} records changed in {documents} documents"
        )),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let after = heads_of(&data);
    for id in firsts.keys().map(|d| DocId::month(d.clone(), month())) {
        assert_ne!(after.get(&id), before.get(&id), "{id} received the import");
    }
    assert!(!data.join(node::store::INTENT_FILE).exists());
}
