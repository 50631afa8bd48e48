use std::fs;

use crdt_schema::{Attendance, ChangeMeta, MonthDoc};
use keys::SecretKey;

use super::*;

fn key() -> SecretKey {
    SecretKey::from_seed(&[3; 32])
}

fn authority() -> PublicKey {
    SecretKey::from_seed(&[1; 32]).public()
}

fn meta() -> ChangeMeta {
    ChangeMeta {
        author: key().public().as_bytes().to_vec(),
        time: 1,
        message: "t".into(),
        registry_heads: Vec::new(),
    }
}

fn bad_signature() -> Kept {
    Kept::Refused(Refusal::BadSignature)
}

fn no_author() -> Kept {
    Kept::Refused(Refusal::NoAuthor)
}

fn waiting() -> Kept {
    Kept::Pending(Wait::Changes(vec!["0123456789ab".into()]))
}

fn month_id() -> DocId {
    DocId::month("D01".parse().unwrap(), "2026-03".parse().unwrap())
}

/// Writes `n` attendance records, one change each, and appends them.
fn write_days(store: &Store, loaded: &mut Loaded<MonthDoc>, days: std::ops::RangeInclusive<u8>) {
    let mut changes = Vec::new();
    for day in days {
        let (_, c) = loaded
            .doc
            .write(&meta(), |w| {
                w.put_attendance(
                    &"1001".parse().unwrap(),
                    "2026-03-01"
                        .parse::<crdt_schema::Date>()
                        .unwrap()
                        .month()
                        .day(day)
                        .unwrap(),
                    &Attendance::from_fields("work", "", "").unwrap(),
                )
            })
            .unwrap();
        changes.extend(c.map(|c| SignedChange::sign(&key(), &month_id(), c)));
    }
    store.append(loaded, &changes).unwrap();
}

fn load(store: &Store) -> Loaded<MonthDoc> {
    store
        .load(&month_id())
        .unwrap()
        .typed(MonthDoc::from_document)
        .unwrap()
}

fn days_recorded(l: &Loaded<MonthDoc>) -> usize {
    l.doc
        .facts()
        .inmates
        .values()
        .map(|i| i.attendance.len())
        .sum()
}

#[test]
fn append_compact_and_reload() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path(), "测试", &authority()).unwrap();
    let mut l = load(&store);
    assert_eq!(days_recorded(&l), 0);
    write_days(&store, &mut l, 1..=3);
    assert_eq!(days_recorded(&load(&store)), 3);
    store.compact(&mut l).unwrap();
    write_days(&store, &mut l, 4..=5);
    let again = load(&store);
    assert_eq!(days_recorded(&again), 5);
    assert!(again.issues.is_empty());
    assert_eq!(again.doc.document().heads(), l.doc.document().heads());
    assert_eq!(store.month_ids().unwrap(), vec![month_id()]);
    // Every change keeps its signature through compaction and reload.
    assert_eq!(again.signatures.len(), 5);
    for change in again.doc.document().automerge().get_changes(&[]) {
        let sc = SignedChange {
            signature: again.signatures[&change.hash()],
            change,
        };
        assert!(sc.verify(&month_id(), &key().public()));
    }
}

#[test]
fn the_version_moves_with_every_append_and_compaction_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path(), "测试", &authority()).unwrap();
    let mut l = load(&store);
    let empty = store.version(&month_id());
    assert_eq!(store.version(&month_id()), empty, "nothing stored: same");
    write_days(&store, &mut l, 1..=2);
    let two = store.version(&month_id());
    assert_ne!(two, empty, "an append");
    let _ = load(&store);
    assert_eq!(store.version(&month_id()), two, "reading changes nothing");
    write_days(&store, &mut l, 3..=3);
    let three = store.version(&month_id());
    assert_ne!(three, two, "another append");
    store.compact(&mut l).unwrap();
    assert_ne!(store.version(&month_id()), three, "a compaction");
}

#[test]
fn quarantined_changes_are_kept_with_their_reason_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path(), "测试", &authority()).unwrap();
    let mut doc = MonthDoc::new("D01".parse().unwrap(), "2026-03".parse().unwrap());
    let (_, c) = doc
        .write(&meta(), |w| {
            w.put_count(
                &"1001".parse().unwrap(),
                "2026-03-02".parse().unwrap(),
                &"P1".parse().unwrap(),
                5,
            )
        })
        .unwrap();
    let sc = SignedChange::sign(&key(), &month_id(), c.unwrap());
    assert!(
        store
            .quarantine(&month_id(), &sc, &bad_signature())
            .unwrap()
    );
    assert!(!store.quarantine(&month_id(), &sc, &no_author()).unwrap());
    let q = store.quarantined(&month_id()).unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(
        q[0].0,
        bad_signature(),
        "the reason read back is the one kept"
    );
    assert_eq!(q[0].1.hash(), sc.hash());
    // Quarantine never enters the document.
    assert_eq!(days_recorded(&load(&store)), 0);
}

#[test]
fn a_torn_tail_is_reported_and_cut_off_by_the_next_append() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path(), "测试", &authority()).unwrap();
    let mut l = load(&store);
    write_days(&store, &mut l, 1..=2);
    let log = store.log_path(&month_id());
    let good = fs::read(&log).unwrap();
    // A crash in the middle of the next append: half a record on disk.
    let mut torn = good.clone();
    torn.extend_from_slice(&[200, 0, 0, 0, 1, 2]);
    fs::write(&log, &torn).unwrap();
    let mut l = load(&store);
    assert_eq!(days_recorded(&l), 2);
    assert_eq!(l.issues.len(), 1, "{:?}", l.issues);
    assert!(l.issues[0].contains("torn"), "{:?}", l.issues);
    write_days(&store, &mut l, 3..=3);
    let l = load(&store);
    assert!(l.issues.is_empty(), "{:?}", l.issues);
    assert_eq!(days_recorded(&l), 3);
}

#[test]
fn a_corrupt_record_costs_only_itself() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path(), "测试", &authority()).unwrap();
    let mut l = load(&store);
    // Three independent changes (separate documents' worth of history would
    // depend on each other; here each day is its own change).
    write_days(&store, &mut l, 1..=3);
    let log = store.log_path(&month_id());
    let mut bytes = fs::read(&log).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0xff;
    fs::write(&log, &bytes).unwrap();
    let l = load(&store);
    assert_eq!(days_recorded(&l), 2);
    assert!(
        l.issues.iter().any(|i| i.contains("corrupt")),
        "{:?}",
        l.issues
    );
}

#[test]
fn a_corrupt_snapshot_is_reported_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path(), "测试", &authority()).unwrap();
    let mut l = load(&store);
    write_days(&store, &mut l, 1..=1);
    store.compact(&mut l).unwrap();
    let snap = store.snap_path(&month_id());
    let mut bytes = fs::read(&snap).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    fs::write(&snap, &bytes).unwrap();
    let issues = store.load(&month_id()).unwrap().issues;
    assert!(
        issues
            .iter()
            .any(|i| i.contains("2026-03.snap") && i.contains("checksum")),
        "{issues:?}"
    );
}

#[test]
fn open_refuses_a_directory_that_is_not_tally() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Store::open(dir.path()),
        Err(StoreError::NotInitialized(_))
    ));
    Store::init(dir.path(), "测试", &authority()).unwrap();
    assert!(matches!(
        Store::init(dir.path(), "测试", &authority()),
        Err(StoreError::AlreadyInitialized(_))
    ));
}

/// A pending change of D01's March document for inmate `no`.
fn pending_change(no: &str) -> SignedChange {
    let mut doc = MonthDoc::new("D01".parse().unwrap(), "2026-03".parse().unwrap());
    let (_, c) = doc
        .write(&meta(), |w| {
            w.put_count(
                &no.parse().unwrap(),
                "2026-03-02".parse().unwrap(),
                &"P1".parse().unwrap(),
                5,
            )
        })
        .unwrap();
    SignedChange::sign(&key(), &month_id(), c.unwrap())
}

#[test]
fn a_crash_mid_append_to_the_quarantine_loses_no_pending_change() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path(), "测试", &authority()).unwrap();
    let reason = waiting();
    let (p1, p2, p3) = (
        pending_change("1001"),
        pending_change("1002"),
        pending_change("1003"),
    );
    assert!(store.quarantine(&month_id(), &p1, &reason).unwrap());
    assert!(store.quarantine(&month_id(), &p2, &reason).unwrap());
    // The process dies in the middle of appending the next record: its
    // length and part of its payload are on disk, never acknowledged.
    let path = store.quarantine_path(&month_id());
    let mut torn = fs::read(&path).unwrap();
    torn.extend_from_slice(&[0x40, 0x01, 0, 0, 9, 9, 9, 9, 1, 2, 3]);
    fs::write(&path, &torn).unwrap();
    // Restarted: the next change kept as pending goes after the last intact
    // record (appended after the torn bytes, it would be misframed and lost,
    // with everything after it).
    let store = Store::open(dir.path()).unwrap();
    assert!(store.quarantine(&month_id(), &p3, &reason).unwrap());
    let kept: Vec<ChangeHash> = store
        .quarantined(&month_id())
        .unwrap()
        .iter()
        .map(|(r, c)| {
            assert_eq!(r, &reason);
            c.hash()
        })
        .collect();
    assert_eq!(kept, [p1.hash(), p2.hash(), p3.hash()]);
    assert!(
        frame::scan(&fs::read(&path).unwrap()).issues.is_empty(),
        "the torn tail was cut"
    );
    // And the restart's index knows what is there: nothing is kept twice.
    assert!(!store.quarantine(&month_id(), &p1, &reason).unwrap());
    // The node's start-up restores every one as pending, though the month
    // has no log yet (none of its changes got in: they wait on the registry).
    assert!(store.month_ids().unwrap().is_empty());
    let replica = crate::replica::Replica::open(store).unwrap();
    let restored: Vec<ChangeHash> = replica
        .core
        .pending_of(&month_id())
        .map(|pool| pool.keys().copied().collect())
        .unwrap_or_default();
    let mut want = vec![p1.hash(), p2.hash(), p3.hash()];
    want.sort();
    assert_eq!(restored, want, "every pending change restored on restart");
}

#[test]
fn another_process_appending_to_the_quarantine_is_seen_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Store::init(dir.path(), "测试", &authority()).unwrap();
    let cli = Store::open(dir.path()).unwrap();
    let reason = waiting();
    let (p1, p2, p3) = (
        pending_change("1001"),
        pending_change("1002"),
        pending_change("1003"),
    );
    assert!(daemon.quarantine(&month_id(), &p1, &reason).unwrap());
    assert!(cli.quarantine(&month_id(), &p2, &reason).unwrap());
    assert!(daemon.quarantine(&month_id(), &p3, &reason).unwrap());
    assert!(!daemon.quarantine(&month_id(), &p2, &reason).unwrap());
    assert_eq!(daemon.quarantined(&month_id()).unwrap().len(), 3);
}

#[test]
fn pending_changes_accepted_since_leave_the_quarantine() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path(), "测试", &authority()).unwrap();
    let pending = waiting();
    let changes: Vec<SignedChange> = (0..100)
        .map(|i| pending_change(&format!("{}", 2000 + i)))
        .collect();
    for c in &changes {
        store.quarantine(&month_id(), c, &pending).unwrap();
    }
    let refused = pending_change("1999");
    store
        .quarantine(&month_id(), &refused, &bad_signature())
        .unwrap();
    let path = store.quarantine_path(&month_id());
    let full = fs::metadata(&path).unwrap().len();
    // Ten accepted: marked, no longer counted, here and after a restart.
    let hashes: Vec<ChangeHash> = changes.iter().map(SignedChange::hash).collect();
    store.resolve_pending(&month_id(), &hashes[..10]).unwrap();
    assert_eq!(store.quarantined(&month_id()).unwrap().len(), 91);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.quarantined(&month_id()).unwrap().len(), 91);
    // Most accepted: the file is rewritten with what still counts — the
    // refused change and the pending ones still waiting, in their order.
    store.resolve_pending(&month_id(), &hashes[10..95]).unwrap();
    let left = store.quarantined(&month_id()).unwrap();
    let left: Vec<ChangeHash> = left.iter().map(|(_, c)| c.hash()).collect();
    let mut want: Vec<ChangeHash> = hashes[95..].to_vec();
    want.push(refused.hash());
    assert_eq!(left, want);
    let small = fs::metadata(&path).unwrap().len();
    assert!(small * 10 < full, "rewritten: {small} bytes, was {full}");
    // A resolved change is not resolved twice, nor a refused one at all.
    store
        .resolve_pending(&month_id(), &[hashes[0], refused.hash()])
        .unwrap();
    assert_eq!(store.quarantined(&month_id()).unwrap().len(), 6);
}

#[test]
fn a_document_received_change_by_change_stays_near_its_snapshot_size() {
    // 300 inmate-days arriving one change at a time (a replica syncing, an
    // officer saving a row at a time): every append may fold the log in.
    // The log stays within the floor plus a quarter of the snapshot (it
    // grew to 256 records, ~6× the snapshot, before anything was folded).
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path(), "测试", &authority()).unwrap();
    let mut l = load(&store);
    let mut compactions = 0;
    for i in 0..300u32 {
        let no: crdt_schema::InmateNo = format!("{}", 1000 + i % 100).parse().unwrap();
        let day = 1 + (i / 100) as u8;
        let (_, c) = l
            .doc
            .write(&meta(), |w| {
                w.put_attendance(
                    &no,
                    "2026-03-01"
                        .parse::<crdt_schema::Date>()
                        .unwrap()
                        .month()
                        .day(day)
                        .unwrap(),
                    &Attendance::from_fields("work", "480", "").unwrap(),
                )
            })
            .unwrap();
        let sc = SignedChange::sign(&key(), &month_id(), c.unwrap());
        store.append(&mut l, &[sc]).unwrap();
        compactions += usize::from(store.maybe_compact(&mut l).unwrap());
        let snap = fs::metadata(store.snap_path(&month_id())).map_or(0, |m| m.len());
        let log = fs::metadata(store.log_path(&month_id())).map_or(0, |m| m.len());
        assert!(
            log <= COMPACT_LOG_FLOOR + snap / 4 + 4096,
            "after {} changes: log {log} bytes against a snapshot of {snap}",
            i + 1
        );
    }
    assert!(compactions >= 2, "folded as it grew: {compactions}");
    assert!(compactions < 60, "not at every change: {compactions}");
    assert_eq!(days_recorded(&load(&store)), 300);
}

#[test]
fn a_log_torn_in_its_first_write_is_started_again_and_one_not_tallys_kept_aside() {
    // A crash in the first write of a new document's log can leave part of
    // the header; the log was then refused as "not tally's" for ever.
    // (Found by the simulator's crashes.)
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path(), "测试", &authority()).unwrap();
    let log = store.log_path(&month_id());
    fs::create_dir_all(log.parent().unwrap()).unwrap();
    fs::write(&log, &frame::LOG_MAGIC[..5]).unwrap();
    let mut l = load(&store);
    write_days(&store, &mut l, 1..=2);
    let again = load(&store);
    assert_eq!(days_recorded(&again), 2);
    // A log that is not tally's at all is kept aside whole, and started again.
    fs::write(&log, b"#!/bin/sh\nnot a log").unwrap();
    let mut l = load(&store);
    let (_, c) = l
        .doc
        .write(&meta(), |w| {
            w.put_attendance(
                &"1001".parse().unwrap(),
                "2026-03-09".parse().unwrap(),
                &Attendance::from_fields("work", "", "").unwrap(),
            )
        })
        .unwrap();
    let sc = SignedChange::sign(&key(), &month_id(), c.unwrap());
    store.append(&mut l, &[sc]).unwrap();
    assert_eq!(
        fs::read(log.with_file_name("2026-03.log.damaged")).unwrap(),
        b"#!/bin/sh\nnot a log"
    );
    assert!(frame::scan(&fs::read(&log).unwrap()).issues.is_empty());
}

/// A quarantine record as versions before typed reasons wrote it.
fn text_record(reason: &str, change: &SignedChange) -> Vec<u8> {
    let mut payload = vec![RECORD_REFUSED];
    payload.extend_from_slice(&(reason.len() as u16).to_le_bytes());
    payload.extend_from_slice(reason.as_bytes());
    payload.extend_from_slice(&change.encode());
    let mut out = Vec::new();
    frame::encode(&payload, &mut out);
    out
}

#[test]
fn a_quarantine_written_before_typed_reasons_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path(), "测试", &authority()).unwrap();
    let (old_pending, old_refused, new) = (
        pending_change("1001"),
        pending_change("1002"),
        pending_change("1003"),
    );
    // The file an earlier version left: one change pending, one refused.
    let mut bytes = frame::LOG_MAGIC.to_vec();
    bytes.extend(text_record(
        "pending: missing earlier changes 0123",
        &old_pending,
    ));
    bytes.extend(text_record(
        "officer J009 (officer of D02) may not write",
        &old_refused,
    ));
    let path = store.quarantine_path(&month_id());
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, &bytes).unwrap();
    // This version appends its typed record after them.
    assert!(store.quarantine(&month_id(), &new, &waiting()).unwrap());
    let store = Store::open(dir.path()).unwrap();
    let kept = store.quarantined(&month_id()).unwrap();
    let kept: Vec<(Kept, ChangeHash)> = kept.into_iter().map(|(k, c)| (k, c.hash())).collect();
    assert_eq!(
        kept,
        [
            (
                Kept::Pending(Wait::Recorded("missing earlier changes 0123".into())),
                old_pending.hash()
            ),
            (
                Kept::Refused(Refusal::Recorded {
                    reason: "officer J009 (officer of D02) may not write".into()
                }),
                old_refused.hash()
            ),
            (waiting(), new.hash()),
        ]
    );
    // Nothing is kept twice, old records included; the earlier pending one
    // can still be refused after it.
    assert!(
        !store
            .quarantine(&month_id(), &old_refused, &no_author())
            .unwrap()
    );
    assert!(
        store
            .quarantine(&month_id(), &old_pending, &no_author())
            .unwrap()
    );
}

#[test]
fn a_reason_past_its_bound_is_kept_cut_and_still_pending() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path(), "测试", &authority()).unwrap();
    // A change naming 20,000 missing dependencies (a hostile peer's).
    let long = Kept::Pending(Wait::Changes(vec!["0123456789ab".into(); 20_000]));
    let c = pending_change("1001");
    assert!(store.quarantine(&month_id(), &c, &long).unwrap());
    let kept = store.quarantined(&month_id()).unwrap();
    match &kept[0].0 {
        Kept::Pending(Wait::Recorded(text)) => {
            assert!(text.len() <= MAX_KEPT_BYTES / 2 + 4, "{}", text.len());
            assert!(text.starts_with("missing earlier changes 0123456789ab, "));
        }
        other => panic!("expected a pending change, cut: {other:?}"),
    }
}

#[test]
fn a_damaged_snapshot_costs_what_it_held_until_peers_send_it_again_and_is_kept_aside() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path(), "测试", &authority()).unwrap();
    let mut l = load(&store);
    write_days(&store, &mut l, 1..=3);
    store.compact(&mut l).unwrap();
    write_days(&store, &mut l, 4..=5);
    let first_three: Vec<SignedChange> = l
        .doc
        .document()
        .automerge()
        .get_changes(&[])
        .into_iter()
        .take(3)
        .map(|change| SignedChange {
            signature: l.signatures[&change.hash()],
            change,
        })
        .collect();
    // A bad block in the snapshot.
    let snap = dir.path().join("docs/month/D01/2026-03.snap");
    let mut bytes = fs::read(&snap).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 16] {
        *b ^= 0x5A;
    }
    fs::write(&snap, &bytes).unwrap();
    // Loading still works (the daemon starts), and says what happened.
    let mut damaged = load(&store);
    assert!(
        damaged
            .issues
            .iter()
            .any(|i| i.contains("snapshot is damaged")),
        "{:?}",
        damaged.issues
    );
    // Days 4 and 5 are in the log, waiting for what they follow.
    assert_eq!(days_recorded(&damaged), 0);
    assert_eq!(
        crdt_schema::automerge::ReadDoc::get_missing_deps(damaged.doc.document().automerge(), &[])
            .len(),
        1
    );
    let replica = crate::replica::Replica::open(Store::open(dir.path()).unwrap()).unwrap();
    assert!(
        replica
            .opened_with()
            .iter()
            .any(|i| i.contains("snapshot is damaged"))
    );
    drop(replica);
    // A peer sends days 1–3 again: everything is back, and the compaction
    // that follows keeps the damaged file beside the new snapshot.
    damaged
        .doc
        .document_mut()
        .apply_changes(first_three.iter().map(|c| c.change.clone()).collect())
        .unwrap();
    store.append(&mut damaged, &first_three).unwrap();
    assert_eq!(days_recorded(&load(&store)), 5);
    store.compact(&mut damaged).unwrap();
    let kept = dir.path().join("docs/month/D01/2026-03.snap.damaged");
    assert_eq!(fs::read(&kept).unwrap(), bytes, "the damaged bytes, kept");
    let again = load(&store);
    assert_eq!(days_recorded(&again), 5);
    assert!(again.issues.is_empty(), "{:?}", again.issues);
}

#[test]
fn a_bad_length_field_in_a_log_never_lets_an_append_overwrite_what_follows() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path(), "测试", &authority()).unwrap();
    let mut l = load(&store);
    write_days(&store, &mut l, 1..=1);
    write_days(&store, &mut l, 2..=4);
    // Day 1's record length made huge by a bad block.
    let log = dir.path().join("docs/month/D01/2026-03.log");
    let mut bytes = fs::read(&log).unwrap();
    bytes[frame::LOG_MAGIC.len() + 3] = 0x70;
    fs::write(&log, &bytes).unwrap();
    let mut l = load(&store);
    assert!(!l.issues.is_empty());
    // Days 2–4 follow day 1's change: they wait for it, kept.
    write_days(&store, &mut l, 5..=5);
    let scan = frame::scan(&fs::read(&log).unwrap());
    assert_eq!(
        scan.records.len(),
        4,
        "days 2–5 intact (the append went after day 4, not over it)"
    );
}

#[test]
fn a_log_tally_cannot_read_at_all_is_kept_aside_and_started_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path(), "测试", &authority()).unwrap();
    let mut l = load(&store);
    write_days(&store, &mut l, 1..=2);
    store.compact(&mut l).unwrap();
    let log = dir.path().join("docs/month/D01/2026-03.log");
    assert_eq!(fs::read(&log).unwrap(), frame::LOG_MAGIC, "header only");
    // A bad block on the empty log's header.
    fs::write(&log, b"TAL\x01\x02G1").unwrap();
    // Read (and reported) once, not again at every refresh while nothing
    // is written.
    let mut raw = store.load(&month_id()).unwrap();
    assert!(!raw.issues.is_empty());
    let r = store.refresh(&mut raw).unwrap();
    assert!(!r.changed && r.issues.is_empty(), "{:?}", r.issues);
    let mut l = load(&store);
    assert!(l.log_is_set_aside(), "not refused for ever");
    assert!(l.issues.iter().any(|i| i.contains("kept aside")));
    write_days(&store, &mut l, 3..=3);
    assert_eq!(days_recorded(&load(&store)), 3);
    assert_eq!(
        fs::read(dir.path().join("docs/month/D01/2026-03.log.damaged")).unwrap(),
        b"TAL\x01\x02G1"
    );
    // A file that is no log at all: its bytes are kept too, never cut.
    let text = b"#!/bin/sh\necho not a log\n";
    fs::write(&log, text).unwrap();
    let mut l = load(&store);
    assert!(l.log_is_set_aside());
    write_days(&store, &mut l, 4..=4);
    assert_eq!(
        fs::read(dir.path().join("docs/month/D01/2026-03.log.damaged.2")).unwrap(),
        text
    );
    assert_eq!(
        days_recorded(&load(&store)),
        3,
        "days 1, 2 and 4: day 3 went with the file replaced"
    );
}

#[test]
fn a_reason_stored_by_a_newer_version_keeps_a_pending_change_pending() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path(), "测试", &authority()).unwrap();
    let (pending, refused) = (pending_change("1001"), pending_change("1002"));
    let record = |variant: u8, c: &SignedChange| {
        // A variant this version knows, then a wait it does not (a variant
        // index past its last).
        let why = [variant, 0x7f, 1, 2, 3];
        let mut payload = vec![RECORD_KEPT];
        payload.extend_from_slice(&(why.len() as u32).to_le_bytes());
        payload.extend_from_slice(&why);
        payload.extend_from_slice(&c.encode());
        let mut out = Vec::new();
        frame::encode(&payload, &mut out);
        out
    };
    let mut bytes = frame::LOG_MAGIC.to_vec();
    bytes.extend(record(1, &pending));
    bytes.extend(record(0, &refused));
    let path = store.quarantine_path(&month_id());
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, &bytes).unwrap();
    let kept = store.quarantined(&month_id()).unwrap();
    assert!(
        matches!(kept[0].0, Kept::Pending(Wait::Recorded(_))),
        "{:?}",
        kept[0].0
    );
    assert!(
        matches!(kept[1].0, Kept::Refused(Refusal::Recorded { .. })),
        "{:?}",
        kept[1].0
    );
}

#[test]
fn a_rest_entry_matches_its_files_until_they_change() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path(), "测试", &authority()).unwrap();
    let mut l = load(&store);
    write_days(&store, &mut l, 1..=3);
    store.compact(&mut l).unwrap();
    write_days(&store, &mut l, 4..=5);
    let read = store.load(&month_id()).unwrap();
    let heads = read.doc.heads();
    let entry = store
        .rest_entry(&month_id(), &read.log, &heads, 5)
        .unwrap()
        .expect("whole files: an entry");
    let resting = entry.resting().unwrap();
    assert_eq!((resting.heads(), resting.changes()), (&heads[..], 5));
    let log = store
        .rest_matches(&month_id(), &entry)
        .unwrap()
        .expect("unchanged: a match");
    assert!(!store.stored_since(&month_id(), &log).unwrap());
    assert_eq!(log.valid_len, read.log.valid_len);

    // The index round-trips; a damaged one reads as empty (a cache).
    let index = BTreeMap::from([(month_id(), entry.clone())]);
    store.write_rest_index(&index).unwrap();
    assert_eq!(store.rest_index(), index);
    let path = dir.path().join("rest.index");
    let mut bytes = fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    fs::write(&path, &bytes).unwrap();
    assert!(store.rest_index().is_empty());
    fs::write(&path, b"TLYREST1").unwrap();
    assert!(store.rest_index().is_empty());

    // One more record: the entry no longer matches.
    write_days(&store, &mut l, 6..=6);
    assert!(store.rest_matches(&month_id(), &entry).unwrap().is_none());
    // The same length, other bytes: no match either.
    write_days(&store, &mut l, 7..=7);
    let read = store.load(&month_id()).unwrap();
    let entry = store
        .rest_entry(&month_id(), &read.log, &read.doc.heads(), 7)
        .unwrap()
        .unwrap();
    let log_path = store.log_path(&month_id());
    let mut log = fs::read(&log_path).unwrap();
    let last = log.len() - 1;
    log[last] ^= 1;
    let mtime = fs::metadata(&log_path).unwrap().modified().unwrap();
    fs::write(&log_path, &log).unwrap();
    fs::File::options()
        .write(true)
        .open(&log_path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert!(store.rest_matches(&month_id(), &entry).unwrap().is_none());

    // Files not read whole (a torn tail) make no entry.
    let mut torn = fs::read(&log_path).unwrap();
    torn[last] ^= 1;
    torn.extend_from_slice(&[1, 2, 3]);
    fs::write(&log_path, &torn).unwrap();
    let read = store.load(&month_id()).unwrap();
    assert!(!read.issues.is_empty());
    assert!(
        store
            .rest_entry(&month_id(), &read.log, &read.doc.heads(), 7)
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_torn_tail_already_read_is_not_news_but_a_write_after_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path(), "测试", &authority()).unwrap();
    let mut l = load(&store);
    write_days(&store, &mut l, 1..=2);
    // A crash mid-append: a torn record at the end of the log.
    let log_path = store.log_path(&month_id());
    let mut bytes = fs::read(&log_path).unwrap();
    bytes.extend_from_slice(&[7, 0, 0, 0, 1, 2]);
    fs::write(&log_path, &bytes).unwrap();
    let read = store.load(&month_id()).unwrap();
    assert!(!read.issues.is_empty(), "the torn tail is reported");
    assert!(read.log.valid_len < bytes.len() as u64);
    assert!(
        !store.stored_since(&month_id(), &read.log).unwrap(),
        "read already: nothing new"
    );
    // Another writer appends (cutting the torn tail off): news.
    let mut other = load(&store);
    write_days(&store, &mut other, 3..=3);
    assert!(store.stored_since(&month_id(), &read.log).unwrap());
}
