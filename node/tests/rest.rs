//! Sealed months at rest: a replica opened as the daemon opens it holds them
//! on disk (their heads in memory), serves them to a peer that lacks them,
//! stays at rest with a peer level with it, and wakes a month that another
//! process amended or a peer brings changes to — through the real store and
//! the very connection step the daemon runs.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crdt_schema::DocId;
use node::replica::{Replica, Rest};
use node::store::Store;
use node::sync::{PeerSync, Wire};
use replica_core::driver::step;

const TALLY: &str = env!("CARGO_BIN_EXE_tally");

fn tally(data: &Path, args: &[&str]) -> String {
    let out = Command::new(TALLY)
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("TALLY_DATA")
        .env("TALLY_PASSPHRASE", "tally-demo")
        .output()
        .expect("tally runs");
    assert!(
        out.status.success(),
        "tally {args:?}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn open(data: &Path) -> Replica {
    Replica::open_resting(Store::open(data).unwrap(), Rest::Sealed).unwrap()
}

/// Runs a connection between two replicas from the messages each has to
/// send until neither has anything to say.
fn exchange(
    a: &mut Replica,
    pa: &mut PeerSync,
    b: &mut Replica,
    pb: &mut PeerSync,
    mut to_b: Vec<Wire>,
    mut to_a: Vec<Wire>,
) {
    for _ in 0..200 {
        if to_a.is_empty() && to_b.is_empty() {
            return;
        }
        for w in std::mem::take(&mut to_b) {
            to_a.extend(step(pb, b, Some(&w.encode())).unwrap().out);
        }
        to_a.extend(step(pb, b, None).unwrap().out);
        for w in std::mem::take(&mut to_a) {
            to_b.extend(step(pa, a, Some(&w.encode())).unwrap().out);
        }
        to_b.extend(step(pa, a, None).unwrap().out);
    }
    panic!("the exchange did not settle");
}

fn connect(a: &mut Replica, pa: &mut PeerSync, b: &mut Replica, pb: &mut PeerSync) {
    let to_b = vec![replica_core::driver::start(pa, a)];
    let to_a = vec![replica_core::driver::start(pb, b)];
    exchange(a, pa, b, pb, to_b, to_a);
}

fn month(district: &str) -> DocId {
    DocId::month(district.parse().unwrap(), "2026-10".parse().unwrap())
}

#[test]
fn sealed_months_rest_are_served_stay_at_rest_with_a_level_peer_and_wake_for_amendments() {
    let home = tempfile::tempdir().unwrap();
    let (origin, copy) = (home.path().join("origin"), home.path().join("copy"));
    tally(&origin, &["demo", "--inmates", "60"]);
    let authority = origin.join("authority.pub");
    tally(&copy, &["init", "--authority", authority.to_str().unwrap()]);

    // The demo seals D01–D05 of 2026-10 and leaves D06 open.
    let mut a = open(&origin);
    let sealed: Vec<DocId> = (1..=5).map(|n| month(&format!("D0{n}"))).collect();
    for id in &sealed {
        assert!(a.core.is_resting(id), "{id} rests from the start");
    }
    assert!(!a.core.is_resting(&month("D06")), "the open month is held");
    assert!(!a.core.is_resting(&DocId::Registry));
    assert_eq!(a.core.resting_count(), 5);
    assert!(a.core.document(&sealed[0]).is_none(), "not in memory");
    // The rest index lets the next start take them without reading them.
    let index = Store::open(&origin).unwrap().rest_index();
    assert_eq!(index.keys().cloned().collect::<Vec<_>>(), sealed);
    for id in &sealed {
        assert_eq!(
            index[id].resting().as_ref(),
            a.core.resting_state(id),
            "{id}: the index holds what resting kept"
        );
    }

    // A new replica gets every month: the resting ones are woken to be served.
    let mut b = open(&copy);
    let (mut pa, mut pb) = (PeerSync::default(), PeerSync::default());
    connect(&mut a, &mut pa, &mut b, &mut pb);
    assert_eq!(a.core.heads(), b.core.heads());
    assert_eq!(a.core.resting_count(), 0, "all five woken to be served");
    let score = ["score", "--month", "2026-10", "--json"];
    assert_eq!(tally(&copy, &score), tally(&origin, &score));

    // Both restart; their months rest; they meet again remembering each
    // other, and nothing wakes.
    let (saved_a, saved_b) = (pa.saved(), pb.saved());
    drop((a, b));
    let (mut a, mut b) = (open(&origin), open(&copy));
    assert_eq!((a.core.resting_count(), b.core.resting_count()), (5, 5));
    let (mut pa, mut pb) = (PeerSync::new(&saved_a), PeerSync::new(&saved_b));
    connect(&mut a, &mut pa, &mut b, &mut pb);
    assert_eq!(a.core.heads(), b.core.heads());
    assert_eq!(
        (a.core.resting_count(), b.core.resting_count()),
        (5, 5),
        "a level peer is answered from the heads"
    );
    assert!(pa.lag(&mut a.core).is_empty() && pb.lag(&mut b.core).is_empty());

    // An amendment of sealed D03 by another process (the CLI beside the
    // daemon): the origin wakes D03 when it looks at the store, and the
    // copy wakes its own D03 to take the change in.
    let scores: serde_json::Value = serde_json::from_str(&tally(&origin, &score)).unwrap();
    let d03 = scores["districts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["district"] == "D03")
        .unwrap();
    let inmate = d03["inmates"][0]["inmate_no"].as_str().unwrap();
    let fix = home.path().join("fix.csv");
    std::fs::write(
        &fix,
        format!("date,inmate_no,procedure,quantity\n2026-10-05,{inmate},SHIRT-01,1\n"),
    )
    .unwrap();
    tally(&origin, &["import", "counts", fix.to_str().unwrap()]);
    let changed = a.refresh().unwrap();
    assert_eq!(changed, vec![month("D03")]);
    // Its rest index entry no longer matches its files: a start reads it.
    let reopened = open(&origin);
    assert_eq!(reopened.core.heads(), a.core.heads());
    assert!(
        reopened.core.is_resting(&month("D03")),
        "read, and sealed still"
    );
    drop(reopened);
    assert!(!a.core.is_resting(&month("D03")), "woken by the write");
    let offered = step(&mut pa, &mut a, None).unwrap().out;
    assert!(!offered.is_empty());
    exchange(&mut a, &mut pa, &mut b, &mut pb, offered, Vec::new());
    assert_eq!(a.core.heads(), b.core.heads());
    assert!(
        !b.core.is_resting(&month("D03")),
        "woken to take the change"
    );
    assert_eq!(b.core.resting_count(), 4);
    assert_eq!(tally(&copy, &score), tally(&origin, &score));
    // Touched now, so it stays awake one round of resting, and rests at the next.
    assert_eq!(b.rest_idle(), 0);
    assert_eq!(b.rest_idle(), 1);
    assert!(b.core.is_resting(&month("D03")));
    // Its rest index entry is the new one.
    let index = Store::open(&copy).unwrap().rest_index();
    assert_eq!(index.len(), 5);
    assert_eq!(
        index[&month("D03")].resting().as_ref(),
        b.core.resting_state(&month("D03"))
    );

    // What was stored while it rested is on disk: a fresh open reads the
    // same heads.
    let heads: BTreeMap<DocId, _> = b.core.heads();
    drop(b);
    assert_eq!(open(&copy).core.heads(), heads);
}
