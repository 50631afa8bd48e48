//! Sync benchmarks (issue: sync). Real iroh endpoints on loopback, real data
//! directories. Prints a table; figures go to BENCHMARKS.md.
//!
//! Run: `cargo bench -p tests --bench sync` (about two minutes).
//! One scenario: `cargo bench -p tests --bench sync -- propagation`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crdt_schema::{Attendance, DocId, Month};
use node::net::Node;
use node::session::{Identity, WriteSession};
use node::store::Store;
use node::validate::SignedChange;
use tests::*;

const TALLY: &str = env!("CARGO_BIN_EXE_tally-e2e");

fn wanted(name: &str) -> bool {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    args.is_empty() || args.iter().any(|a| name.contains(a.as_str()))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// One signed daily save: attendance of every inmate of a district for a day.
fn daily_save(
    data: &Path,
    who: &Identity,
    district: &str,
    month: Month,
    day: u8,
    inmates: &[String],
) {
    let store = Store::open(data).expect("open");
    let mut s = WriteSession::begin(&store, who, now(), "daily save").expect("session");
    let date = month.day(day).expect("day");
    s.set_time(date.ordinal() * 86_400 + 10 * 3600);
    let d: crdt_schema::DistrictId = district.parse().expect("district");
    s.write_month(&d, month, |w| {
        for no in inmates {
            w.put_attendance(
                &no.parse().expect("inmate"),
                date,
                &Attendance::from_fields("sick", "", "").expect("att"),
            )?;
        }
        Ok(())
    })
    .expect("write");
    s.commit().expect("commit");
}

fn inmates_of(data: &Path, district: &str) -> Vec<String> {
    let store = Store::open(data).expect("open");
    let reg = node::read::registry_facts(&store, None)
        .expect("registry")
        .0;
    let d: crdt_schema::DistrictId = district.parse().expect("district");
    reg.inmates_of(&d, month())
        .map(|(no, _)| no.to_string())
        .collect()
}

/// A change at one of ten fully meshed nodes, until all nine others hold it.
async fn propagation() {
    let prison = Prison::new(120);
    let mut datas = vec![prison.records.clone()];
    for i in 0..9 {
        datas.push(prison.replica(&format!("n{i}"), true));
    }
    let officer = prison.officer("J900", "D01", 90);
    let mut nodes: Vec<Node> = Vec::new();
    for d in &datas {
        let peers: Vec<&Node> = nodes.iter().collect();
        let n = start(d, &peers).await;
        nodes.push(n);
    }
    let refs: Vec<&Node> = nodes.iter().collect();
    assert!(
        converge(&refs, Duration::from_secs(60)).await.is_some(),
        "mesh did not converge"
    );
    let inmates = inmates_of(&prison.records, "D01");
    let mut times = Vec::new();
    for round in 0..20u8 {
        let origin = round as usize % nodes.len();
        let t = Instant::now();
        daily_save(
            &datas[origin],
            &officer,
            "D01",
            month(),
            1 + round,
            &inmates[..1],
        );
        nodes[origin].poke();
        let target = stored_heads(&datas[origin]);
        loop {
            if nodes.iter().all(|n| n.heads() == target) {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "change {round} did not spread"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        times.push(t.elapsed());
    }
    // The reports agree too.
    let d = digests(&prison.records);
    for data in &datas[1..] {
        assert_eq!(digests(data), d);
    }
    let max = *times.iter().max().expect("times");
    println!(
        "propagation  change at one of 10 meshed nodes → all 9 others hold it: median {:.0?}, max {:.0?} (20 changes, write included)",
        median(times.clone()),
        max
    );
    for n in nodes {
        n.shutdown().await;
    }
}

/// A week apart: bytes of changes received against bytes of changes missing.
async fn catch_up() {
    let prison = Prison::new(1200);
    let b = prison.replica("b", true);
    let officers: Vec<(String, Identity)> = prison
        .districts
        .iter()
        .enumerate()
        .map(|(i, d)| {
            (
                d.to_string(),
                prison.officer(&format!("W{i:03}"), d.as_str(), 100 + i as u8),
            )
        })
        .collect();
    let records = start(&prison.records, &[]).await;
    let nb = start(&b, &[&records]).await;
    assert!(
        converge(&[&records, &nb], Duration::from_secs(60))
            .await
            .is_some()
    );
    nb.shutdown().await;
    let before: BTreeMap<DocId, Vec<crdt_schema::automerge::ChangeHash>> = {
        let s = Store::open(&b).expect("open");
        s.doc_ids()
            .expect("ids")
            .into_iter()
            .map(|id| {
                let h = s.load(&id).expect("load").doc.heads();
                (id, h)
            })
            .collect()
    };
    // Seven days of daily saves in every district while b is off.
    let nov: Month = "2026-11".parse().expect("month");
    for day in 1..=7 {
        for (d, who) in &officers {
            let inmates = inmates_of(&prison.records, d);
            daily_save(&prison.records, who, d, nov, day, &inmates);
        }
    }
    records.poke();
    let s = Store::open(&prison.records).expect("open");
    let mut missing = 0u64;
    for id in s.doc_ids().expect("ids") {
        let l = s.load(&id).expect("load");
        let have = before.get(&id).cloned().unwrap_or_default();
        for c in l.doc.automerge().get_changes(&have) {
            let sig = l.signatures[&c.hash()];
            missing += SignedChange {
                change: c,
                signature: sig,
            }
            .encode()
            .len() as u64;
        }
    }
    let t = Instant::now();
    let nb = start(&b, &[&records]).await;
    assert!(
        converge(&[&records, &nb], Duration::from_secs(60))
            .await
            .is_some()
    );
    let took = t.elapsed();
    let received: u64 = nb.peers().values().map(|p| p.received_change_bytes).sum();
    println!(
        "catch-up     7 days apart, {} districts: {received} B of changes received for {missing} B missing = {:.3}× ({took:.0?})",
        officers.len(),
        received as f64 / missing as f64
    );
    records.shutdown().await;
    nb.shutdown().await;
}

/// A new replica of the 10,000-inmate demo month.
async fn new_replica() {
    let prison = Prison::new(10_000);
    let b = prison.replica("b", true);
    let records = start(&prison.records, &[]).await;
    let t = Instant::now();
    let nb = start(&b, &[&records]).await;
    let took = converge(&[&records, &nb], Duration::from_secs(120))
        .await
        .expect("converges");
    let received: u64 = nb.peers().values().map(|p| p.received_change_bytes).sum();
    let start_to_converged = t.elapsed();
    assert_eq!(digests(&b), digests(&prison.records));
    println!(
        "new replica  10,000-inmate month ({} districts), empty replica → equal heads: {start_to_converged:.1?} (sync {took:.1?}, {:.1} MB of signed changes)",
        prison.districts.len(),
        received as f64 / 1e6
    );
    records.shutdown().await;
    nb.shutdown().await;
}

fn rss_peak_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A records node (its own process) holding 12 district-months of 300
/// inmates, serving a new replica: peak resident memory.
async fn records_memory() {
    let prison = Prison::new(3600); // 12 districts of 300
    let b = prison.replica("b", true);
    let id = node::net::node_key(&prison.records)
        .expect("key")
        .public()
        .to_string();
    let port = 17_000 + (std::process::id() % 1000) as u16;
    let mut child = Command::new(TALLY)
        .arg("--data")
        .arg(&prison.records)
        .args([
            "node",
            "run",
            "--no-mdns",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let peer: node::net::PeerAddr = format!("{id}@127.0.0.1:{port}").parse().expect("peer");
    let nb = start_to(&b, vec![peer]).await;
    let target = stored_heads(&prison.records);
    let t = Instant::now();
    while nb.heads() != target && t.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(nb.heads(), target, "replica did not complete");
    let peak = rss_peak_kb(child.id()).unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "memory       records node with 12 district-months × 300 inmates, after serving a new replica: peak RSS {:.0} MB",
        peak as f64 / 1024.0
    );
    nb.shutdown().await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        if wanted("propagation") {
            propagation().await;
        }
        if wanted("catch_up") {
            catch_up().await;
        }
        if wanted("new_replica") {
            new_replica().await;
        }
        if wanted("records_memory") {
            records_memory().await;
        }
    });
}
