//! Replicas syncing over real iroh endpoints on loopback.

use std::time::Duration;

use crdt_schema::{DocId, MonthDoc};
use node::store::Store;
use node::validate::SignedChange;
use tests::*;

const TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_converge_to_equal_heads_and_digests() {
    let prison = Prison::new(120);
    let b = prison.replica("b", true);
    let c = prison.replica("c", true);
    let records = start(&prison.records, &[]).await;
    let nb = start(&b, &[&records]).await;
    let nc = start(&c, &[&nb]).await; // c reaches the records office only through b
    assert!(
        converge(&[&records, &nb, &nc], TIMEOUT).await.is_some(),
        "did not converge"
    );
    let d = digests(&prison.records);
    assert_eq!(d.len(), 6);
    assert_eq!(digests(&b), d);
    assert_eq!(digests(&c), d);

    // A change at c reaches the records office through b, at once.
    let officer = prison.officer("J101", "D01", 41);
    // The officer's certificate must first reach c.
    records.poke();
    assert!(
        reach(&[&records, &nb, &nc], &prison.records, TIMEOUT)
            .await
            .is_some()
    );
    write_days(&c, &officer, "D01", "5200000001", 1..=1);
    nc.poke();
    let took = reach(&[&records, &nb, &nc], &c, TIMEOUT)
        .await
        .expect("the change spreads");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(digests(&prison.records), digests(&c));
    for n in [records, nb, nc] {
        n.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_offline_for_a_week_catches_up_with_only_what_it_lacks() {
    let prison = Prison::new(120);
    let b = prison.replica("b", true);
    let officer = prison.officer("J102", "D02", 42);
    let records = start(&prison.records, &[]).await;
    let nb = start(&b, &[&records]).await;
    assert!(converge(&[&records, &nb], TIMEOUT).await.is_some());
    let before = Store::open(&b)
        .unwrap()
        .load(&DocId::month("D02".parse().unwrap(), month()))
        .unwrap()
        .doc
        .heads();
    nb.shutdown().await;

    // A week of records while b is off.
    write_days(&prison.records, &officer, "D02", "5200000021", 20..=26);
    records.poke();
    let store = Store::open(&prison.records).unwrap();
    let l = store
        .load(&DocId::month("D02".parse().unwrap(), month()))
        .unwrap();
    let missing: u64 = l
        .doc
        .automerge()
        .get_changes(&before)
        .into_iter()
        .map(|c| {
            SignedChange {
                signature: l.signatures[&c.hash()],
                change: c,
            }
            .encode()
            .len() as u64
        })
        .sum();
    assert!(missing > 0);

    let nb = start(&b, &[&records]).await;
    assert!(
        converge(&[&records, &nb], TIMEOUT).await.is_some(),
        "b did not catch up"
    );
    let received: u64 = nb.peers().values().map(|p| p.received_change_bytes).sum();
    assert!(
        received as f64 <= 1.5 * missing as f64,
        "b received {received} bytes of changes for {missing} bytes missing"
    );
    assert_eq!(digests(&b), digests(&prison.records));
    records.shutdown().await;
    nb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_heals_with_both_sides_work_kept() {
    let prison = Prison::new(120);
    let b = prison.replica("b", true);
    let c = prison.replica("c", true);
    let o1 = prison.officer("J103", "D03", 43);
    let o2 = prison.officer("J104", "D04", 44);
    let records = start(&prison.records, &[]).await;
    let nb = start(&b, &[&records]).await;
    let nc = start(&c, &[&records]).await;
    assert!(converge(&[&records, &nb, &nc], TIMEOUT).await.is_some());
    // Partition: c is cut off; both sides keep working.
    let c_addr = addr_of(&nc);
    nc.shutdown().await;
    write_days(&b, &o1, "D03", "5200000041", 5..=9);
    nb.poke();
    write_days(&c, &o2, "D04", "5200000061", 10..=14);
    if reach(&[&records, &nb], &b, TIMEOUT).await.is_none() {
        let target = stored_heads(&b);
        for (name, n) in [("records", &records), ("b", &nb)] {
            for (doc, h) in n.heads() {
                if target.get(&doc) != Some(&h) {
                    eprintln!("{name} {doc}: {:?} vs stored {:?}", h, target.get(&doc));
                }
            }
            eprintln!("{name} peers {:?}", n.peers());
        }
        panic!("b's work did not reach the records office");
    }
    // Heal.
    let nc = start_to(&c, vec![addr_of(&records), addr_of(&nb)]).await;
    let _ = c_addr;
    assert!(
        converge(&[&records, &nb, &nc], TIMEOUT).await.is_some(),
        "the partition did not heal"
    );
    let d = digests(&prison.records);
    assert_eq!(digests(&b), d);
    assert_eq!(digests(&c), d);
    let facts = |data: &std::path::Path, d: &str| {
        let l = Store::open(data)
            .unwrap()
            .load(&DocId::month(d.parse().unwrap(), month()))
            .unwrap();
        MonthDoc::from_document(l.doc).unwrap().facts()
    };
    assert_eq!(
        facts(&prison.records, "D03").inmates[&"5200000041".parse().unwrap()]
            .attendance
            .len(),
        31
    );
    assert!(
        facts(&prison.records, "D04").inmates[&"5200000061".parse().unwrap()]
            .attendance
            .contains_key(&10)
    );
    for n in [records, nb, nc] {
        n.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restarted_mid_sync_resumes() {
    let prison = Prison::new(1200);
    let b = prison.replica("b", true);
    let records = start(&prison.records, &[]).await;
    let nb = start(&b, &[&records]).await;
    // Stop b as soon as the first changes have arrived.
    let t = std::time::Instant::now();
    while nb.peers().values().all(|p| p.received_change_bytes == 0) && t.elapsed() < TIMEOUT {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    nb.shutdown().await;
    let partial = Store::open(&b).unwrap();
    let _ = partial.month_ids().unwrap(); // loads cleanly whatever it holds
    let nb = start(&b, &[&records]).await;
    assert!(
        converge(&[&records, &nb], TIMEOUT).await.is_some(),
        "b did not resume"
    );
    assert_eq!(digests(&b), digests(&prison.records));
    records.shutdown().await;
    nb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unenrolled_device_is_refused_at_the_handshake() {
    let prison = Prison::new(60);
    let stranger = prison.replica("stranger", false);
    let records = start(&prison.records, &[]).await;
    let ns = start(&stranger, &[&records]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Nothing crossed: the stranger holds no document.
    assert!(ns.heads().is_empty(), "{:?}", ns.heads().keys());
    // The stranger is told why, in words the records office can act on…
    let refused = ns.peers().values().any(|p| {
        !p.connected
            && p.last_error
                .as_deref()
                .is_some_and(|e| e.contains("not enrolled") && e.contains("tally device enroll"))
    });
    assert!(refused, "{:?}", ns.peers());
    assert!(records.peers().values().all(|p| !p.connected));
    // …and does not dial again every quarter second (126 refusals in 30 s,
    // 12 in 3 s): the wait doubles (0, ¼, ¾, 1¾ s … then a minute apart).
    assert!(
        records.refusals() <= 5,
        "{} refusals in 3 s",
        records.refusals()
    );
    records.shutdown().await;
    ns.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_enrolled_peer_gets_its_forgeries_quarantined() {
    let prison = Prison::new(60);
    let honest = prison.replica("honest", true);
    let hostile = prison.replica("hostile", true);
    let d02_officer = prison.officer("J202", "D02", 52);
    let records = start(&prison.records, &[]).await;
    let nh = start(&hostile, &[&records]).await;
    assert!(converge(&[&records, &nh], TIMEOUT).await.is_some());
    nh.shutdown().await;

    // The hostile node's store gets changes no honest node would accept,
    // written past validation straight into its log.
    let d01 = DocId::month("D01".parse().unwrap(), month());
    let store = Store::open(&hostile).unwrap();
    let reg_heads = store.load(&DocId::Registry).unwrap().doc.heads();
    let mut loaded = store.load(&d01).unwrap();
    let forge = |doc: &mut MonthDoc, who: &keys::SecretKey, inmate: &str| {
        let meta = crdt_schema::ChangeMeta {
            author: who.public().as_bytes().to_vec(),
            time: now(),
            message: "forged".into(),
            registry_heads: reg_heads.clone(),
        };
        let (_, c) = doc
            .write(&meta, |w| {
                w.put_count(
                    &inmate.parse().unwrap(),
                    month().day(3).unwrap(),
                    &"SHIRT-01".parse().unwrap(),
                    99_999,
                )
                .map(|_| ())
            })
            .unwrap();
        SignedChange::sign(who, &d01, c.unwrap())
    };
    let mut doc = MonthDoc::from_document(loaded.doc.fork()).unwrap();
    let out_of_district = forge(&mut doc, &d02_officer.key, "5200000001");
    store
        .append(&mut loaded, std::slice::from_ref(&out_of_district))
        .unwrap();
    drop(loaded);

    let nh = start(&hostile, &[&records]).await;
    let nb = start(&honest, &[&records]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // The honest nodes agree with each other and never took the forgery.
    assert!(converge(&[&records, &nb], TIMEOUT).await.is_some());
    let rec = Store::open(&prison.records).unwrap();
    let q = rec.quarantined(&d01).unwrap();
    assert!(
        q.iter()
            .any(|(reason, sc)| sc.hash() == out_of_district.hash()
                && reason
                    .to_string()
                    .contains("officer J202 (officer of D02) may not write")),
        "{:?}",
        q.iter().map(|(r, _)| r).collect::<Vec<_>>()
    );
    let has = |data: &std::path::Path| {
        Store::open(data)
            .unwrap()
            .load(&d01)
            .unwrap()
            .doc
            .automerge()
            .get_change_by_hash(&out_of_district.hash())
            .is_some()
    };
    assert!(!has(&prison.records));
    assert!(!has(&honest));
    assert_eq!(digests(&honest), digests(&prison.records));
    for n in [records, nh, nb] {
        n.shutdown().await;
    }
}

use crdt_schema::automerge::ReadDoc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_from_an_enrolled_peer_closes_only_its_connection() {
    use iroh::endpoint::presets;
    let prison = Prison::new(60);
    let rogue = prison.replica("rogue", true);
    let honest = prison.replica("honest", true);
    let records = start(&prison.records, &[]).await;
    // A raw endpoint with the rogue's enrolled key, speaking nonsense.
    let key = node::net::node_key(&rogue).unwrap();
    let ep = iroh::Endpoint::builder(presets::Minimal)
        .secret_key(key)
        .relay_mode(iroh::RelayMode::Disabled)
        .bind()
        .await
        .unwrap();
    let target =
        iroh::EndpointAddr::from_parts(records.id(), [iroh::TransportAddr::Ip(records.bound()[0])]);
    let conn = ep
        .connect(target, node::net::ALPN)
        .await
        .expect("the rogue is enrolled: it may connect");
    let (mut send, _recv) = conn.open_bi().await.unwrap();
    // A frame claiming 4 GB, then more junk.
    send.write_all(&u32::MAX.to_le_bytes()).await.unwrap();
    send.write_all(&[0xAB; 64]).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(10), conn.closed())
        .await
        .expect("the node closes the connection");
    assert!(
        format!("{closed:?}").contains("limit") || format!("{closed:?}").contains("400"),
        "{closed:?}"
    );
    // A well-framed message that is not a message.
    let conn = ep
        .connect(
            iroh::EndpointAddr::from_parts(
                records.id(),
                [iroh::TransportAddr::Ip(records.bound()[0])],
            ),
            node::net::ALPN,
        )
        .await
        .unwrap();
    let (mut send, _recv) = conn.open_bi().await.unwrap();
    send.write_all(&5u32.to_le_bytes()).await.unwrap();
    send.write_all(b"hello").await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), conn.closed())
        .await
        .expect("closed again");
    // The node is unharmed and serves an honest peer.
    let nb = start(&honest, &[&records]).await;
    assert!(converge(&[&records, &nb], TIMEOUT).await.is_some());
    ep.close().await;
    records.shutdown().await;
    nb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_node_on_one_data_directory_is_refused_naming_the_first() {
    // Two nodes on one replica would share its device key and endpoint id;
    // the second (a service and an app's embedded node, say) must not start.
    let prison = Prison::new(20);
    let first = start(&prison.records, &[]).await;
    // The status file (with the pid) is written within a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = node::net::Node::start(
        &prison.records,
        node::net::NodeOptions {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            peers: Vec::new(),
            mdns: false,
            link: None,
            checkpoint_every: node::net::CHECKPOINT_EVERY,
        },
    )
    .await;
    let Err(err) = second else {
        panic!("a second node started")
    };
    let node::net::StartError::AlreadyRunning(running) = err else {
        panic!("says another node runs: {err}")
    };
    assert_eq!(running.pid, Some(std::process::id()));
    assert!(node::net::running_elsewhere(&prison.records).is_some());
    first.shutdown().await;
    assert!(
        node::net::running_elsewhere(&prison.records).is_none(),
        "released on shutdown"
    );
}

#[test]
fn a_replica_taking_hundreds_of_changes_at_once_keeps_them_all_on_disk() {
    // Past the log's compaction threshold (256 records) in one admission: the
    // compaction must snapshot the document with the new changes in it.
    let prison = Prison::new(20);
    let officer = prison.officer("J777", "D01", 77);
    let mut written = 0;
    for n in 1..=10 {
        written += write_days(
            &prison.records,
            &officer,
            "D01",
            &format!("52000000{n:02}"),
            1..=30,
        );
    }
    assert_eq!(written, 300);
    let month = DocId::month("D01".parse().unwrap(), tests::month());
    let origin = node::replica::Replica::open(Store::open(&prison.records).unwrap()).unwrap();
    let b = prison.replica("b", true);
    let mut replica = node::replica::Replica::open(Store::open(&b).unwrap()).unwrap();
    for id in [DocId::Registry, month.clone()] {
        replica
            .admit(node::sync::Incoming {
                doc: id.clone(),
                changes: origin.core.signed_changes(&id),
            })
            .unwrap();
    }
    let want = origin.core.heads()[&month].clone();
    assert_eq!(replica.core.heads()[&month], want, "in memory");
    drop(replica);
    let again = node::replica::Replica::open(Store::open(&b).unwrap()).unwrap();
    assert_eq!(again.core.heads()[&month], want, "on disk, after a restart");
}

#[test]
fn a_change_that_arrived_early_is_dropped_from_the_quarantine_once_accepted() {
    // A month change whose officer's certificate has not arrived yet is kept
    // pending — on disk, for a restart. Accepted when the registry comes, it
    // must not stay in the quarantine (a year's first sync left 119 MB there).
    let prison = Prison::new(20);
    let officer = prison.officer("J778", "D01", 78);
    write_days(&prison.records, &officer, "D01", "5200000001", 1..=3);
    let month = DocId::month("D01".parse().unwrap(), tests::month());
    let origin = node::replica::Replica::open(Store::open(&prison.records).unwrap()).unwrap();
    let b = prison.replica("b", true);
    let mut replica = node::replica::Replica::open(Store::open(&b).unwrap()).unwrap();
    let early = replica
        .admit(node::sync::Incoming {
            doc: month.clone(),
            changes: origin.core.signed_changes(&month),
        })
        .unwrap();
    assert!(early.pending > 0, "{early:?}");
    let store = Store::open(&b).unwrap();
    assert_eq!(store.quarantined(&month).unwrap().len(), early.pending);
    replica
        .admit(node::sync::Incoming {
            doc: DocId::Registry,
            changes: origin.core.signed_changes(&DocId::Registry),
        })
        .unwrap();
    assert_eq!(replica.core.heads()[&month], origin.core.heads()[&month]);
    assert_eq!(replica.core.pending_count(), 0);
    assert!(
        store.quarantined(&month).unwrap().is_empty(),
        "accepted, so no longer quarantined"
    );
    drop(replica);
    let again = node::replica::Replica::open(Store::open(&b).unwrap()).unwrap();
    assert_eq!(again.core.pending_count(), 0, "nothing restored as pending");
    assert_eq!(again.core.heads()[&month], origin.core.heads()[&month]);
}
