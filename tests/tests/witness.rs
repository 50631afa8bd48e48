//! What a bundle leaves out, seen by a verifier that collected evidence of
//! its own: the procuratorate's replica syncs with the district PCs, keeps
//! the checkpoints each device signed of what it held, and holds the records
//! office's bundle against them (issue 14, item 3).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crdt_schema::DocId;
use node::bundle::Bundle;
use tests::{Prison, converge, month, now, reach, start, write_days};

const TALLY: &str = env!("CARGO_BIN_EXE_tally-e2e");
const TIMEOUT: Duration = Duration::from_secs(30);

fn device_key(data: &Path) -> keys::SecretKey {
    let k = node::net::node_key(data).expect("device key");
    keys::SecretKey::from_seed(&k.to_bytes())
}

fn tally(data: &Path, args: &[&str]) -> std::process::Output {
    Command::new(TALLY)
        .arg("--data")
        .arg(data)
        .args(args)
        .env("TALLY_PASSPHRASE", tests::PASSPHRASE)
        .output()
        .expect("tally runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_procuratorate_replica_names_what_the_records_office_left_out_and_who_exported_it() {
    let p = Prison::new(20);
    p.enroll(&p.records, "狱政科PC");
    let d1 = p.replica("一监区PC", true);
    let d2 = p.replica("二监区PC", true);
    let pro = p.replica("驻监检察室", true);
    let officer = p.officer("J101", p.districts[0].as_str(), 61);
    // The records office serves the district PCs; the procuratorate syncs
    // with the two district PCs.
    let rec = start(&p.records, &[]).await;
    let n1 = start(&d1, &[&rec]).await;
    let n2 = start(&d2, &[&rec]).await;
    let np = start(&pro, &[&n1, &n2]).await;
    assert!(
        converge(&[&rec, &n1, &n2, &np], TIMEOUT).await.is_some(),
        "the four replicas converge"
    );

    // An officer of the first district amends its month on its PC.
    write_days(&d1, &officer, p.districts[0].as_str(), "1001", 5..=5);
    n1.poke();
    assert!(reach(&[&n1, &rec, &np], &d1, TIMEOUT).await.is_some());
    let doc = DocId::month(p.districts[0].clone(), month());
    let amended: Vec<[u8; 32]> = {
        let store = node::store::Store::open(&d1).expect("open");
        let mut h: Vec<[u8; 32]> = store
            .load(&doc)
            .expect("load")
            .doc
            .heads()
            .iter()
            .map(|h| h.0)
            .collect();
        h.sort();
        h
    };
    // Within a few seconds the district PC signs a checkpoint of that
    // document as it now stands, and the procuratorate holds it: it came
    // straight from the PC, not through the records office.
    let d1_device = device_key(&d1).public();
    let started = Instant::now();
    loop {
        let held = np
            .with_replica(|r| {
                r.core
                    .checkpoints()
                    .latest(&d1_device, &doc)
                    .map(|cp| cp.checkpoint.heads.clone())
            })
            .flatten();
        if held.as_ref() == Some(&amended) {
            break;
        }
        assert!(
            started.elapsed() < TIMEOUT,
            "the procuratorate never got 一监区PC's checkpoint of the amendment: {held:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for n in [np, n1, n2, rec] {
        n.shutdown().await;
    }
    // Kept on disk, not only in memory.
    let kept = node::replica::Replica::open(node::store::Store::open(&pro).expect("open"))
        .expect("replica");
    assert!(kept.core.checkpoints().latest(&d1_device, &doc).is_some());
    drop(kept);

    // The records office exports the month and leaves the amendment out,
    // signing its statement as if that were everything it had.
    let dir = tempfile::tempdir().expect("dir");
    let honest = dir.path().join("honest.bundle");
    let out = tally(
        &p.records,
        &[
            "export",
            "--month",
            &month().to_string(),
            "-o",
            honest.to_str().expect("utf-8"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut b = Bundle::decode(&std::fs::read(&honest).expect("read")).expect("bundle");
    let changes = b.months.get_mut(&doc).expect("the district's month");
    let before = changes.len();
    changes.retain(|c| !amended.contains(&c.hash().0));
    assert_eq!(changes.len(), before - 1, "the amendment dropped");
    let lying = dir.path().join("lying.bundle");
    std::fs::write(&lying, b.encode_signed(&device_key(&p.records), now())).expect("write");

    // On its own, the bundle verifies: nothing in it says what is missing.
    let authority = node::identity::authority_pub_path(&p.records);
    let alone = Command::new(TALLY)
        .args(["verify", "--authority"])
        .arg(&authority)
        .arg(&lying)
        .env_remove("TALLY_DATA")
        .output()
        .expect("tally runs");
    assert!(
        alone.status.success(),
        "{}",
        String::from_utf8_lossy(&alone.stdout)
    );

    // Against the procuratorate's own checkpoints it does not: the omission
    // is named, with the device that had it and the exporter that signed.
    let out = tally(&pro, &["verify", lying.to_str().expect("utf-8")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    let omission = text
        .lines()
        .find(|l| l.contains("omits changes that 一监区PC"))
        .unwrap_or_else(|| panic!("no omission named:\n{text}"));
    assert!(omission.contains(&doc.to_string()), "{omission}");
    assert!(
        omission.contains("exported and signed by 狱政科PC"),
        "the exporter named: {omission}"
    );
    // And the change itself, which this replica holds, signed, stated
    // before the bundle was made.
    assert!(
        text.lines().any(|l| l.contains(&format!(
            "{doc}: lacks 1 signed change(s) this replica holds"
        ))),
        "{text}"
    );
    // Two devices' checkpoints name the amendment (the district PC's and
    // the procuratorate's own); the records office's own one may have
    // reached the procuratorate too before the nodes stopped, a third
    // (CI's loaded machine saw it): the race is the sync's, not the check's.
    assert!(
        text.contains("2 处遗漏 omission(s)") || text.contains("3 处遗漏 omission(s)"),
        "{text}"
    );
    // The same in JSON, for tools.
    let out = tally(&pro, &["verify", "--json", lying.to_str().expect("utf-8")]);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(r["ok"], false);
    let omissions = r["witnessed"]["omissions"].as_u64().expect("omissions");
    assert!((2..=3).contains(&omissions), "{r}");
    assert!(
        r["witnessed"]["devices"].as_u64().expect("devices") >= 1,
        "{r}"
    );

    // The honest bundle passes the same check.
    let out = tally(&pro, &["verify", honest.to_str().expect("utf-8")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("0 处遗漏 omission(s)"), "{text}");

    // And the procuratorate's own replica of the month verifies, with
    // nothing a checkpoint shows missing from it.
    let out = tally(&pro, &["verify", "--month", &month().to_string()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("not received yet"), "{text}");
}
