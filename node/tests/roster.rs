//! The roster's year shards through the real CLI and store: every fact is
//! written in the shard of its date, a repeated import writes nothing, a
//! corrected date moves its fact, a data directory whose roster is in the
//! registry (from before the shards) keeps working and scoring as it did,
//! and a bundle carries the shards its month reads.

use std::path::Path;
use std::process::Command;

use crdt_schema::{DocId, Inmate, InmateNo, RegistryDoc, RosterDoc, RosterFacts, Year};
use node::bundle::Bundle;
use node::identity;
use node::session::WriteSession;
use node::store::Store;
use node::verify;

const TALLY: &str = env!("CARGO_BIN_EXE_tally");
const PASSPHRASE: &str = "test passphrase";

fn tally(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(TALLY)
        .arg("--data")
        .arg(dir)
        .args(args)
        .env("TALLY_PASSPHRASE", PASSPHRASE)
        .env_remove("TALLY_DATA")
        .output()
        .expect("tally runs");
    assert!(
        out.status.success(),
        "tally {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn import(dir: &Path, kind: &str, name: &str, text: &str) -> String {
    let f = dir.join(name);
    std::fs::write(&f, text).expect("write csv");
    tally(dir, &["import", kind, f.to_str().expect("utf-8")])
}

fn prison() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    tally(d, &["init", "--prison", "测试监狱"]);
    import(
        d,
        "districts",
        "districts.csv",
        "district,name\nD01,一监区\nD02,二监区\n",
    );
    import(
        d,
        "procedures",
        "procedures.csv",
        "procedure,product,name,std_ms,effective_from\nP1,X,缝领,60000,2025-01-01\n",
    );
    dir
}

fn shard(store: &Store, year: u16) -> RosterFacts {
    let year = Year::new(year).expect("year");
    store
        .load(&DocId::Roster { year })
        .expect("load")
        .typed(RosterDoc::from_document)
        .expect("a roster shard")
        .doc
        .facts()
}

/// The registry's own facts, without the shards.
fn registry_alone(store: &Store) -> crdt_schema::RegistryFacts {
    store
        .load(&DocId::Registry)
        .expect("registry")
        .typed(RegistryDoc::from_document)
        .expect("registry")
        .doc
        .facts()
}

/// Seconds since 1970: the time a session states (certificates are valid from today).
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

fn no(s: &str) -> InmateNo {
    s.parse().expect("inmate no")
}

const INMATES: &str = "inmate_no,name,district,admitted,released\n\
                       1001,张一,D01,2025-06-01,\n\
                       1002,李二,D01,2026-02-01,2026-03-15\n";

#[test]
fn each_fact_is_written_in_the_shard_of_its_date() {
    let dir = prison();
    let d = dir.path();
    import(d, "inmates", "inmates.csv", INMATES);
    import(
        d,
        "transfers",
        "transfers.csv",
        "date,inmate_no,district\n2026-03-10,1001,D02\n",
    );
    let store = Store::open(d).expect("store");
    let ids: Vec<String> = store
        .roster_ids()
        .expect("ids")
        .iter()
        .map(DocId::to_string)
        .collect();
    assert_eq!(ids, ["roster/2025", "roster/2026"]);
    // The registry itself holds no roster any more.
    let registry = registry_alone(&store);
    assert!(registry.inmates.is_empty() && registry.transfers.is_empty());
    let y2025 = shard(&store, 2025);
    assert_eq!(y2025.admissions.keys().collect::<Vec<_>>(), [&no("1001")]);
    assert!(y2025.releases.is_empty() && y2025.transfers.is_empty());
    let y2026 = shard(&store, 2026);
    assert_eq!(y2026.admissions.keys().collect::<Vec<_>>(), [&no("1002")]);
    assert_eq!(y2026.releases[&no("1002")].value.to_string(), "2026-03-15");
    assert_eq!(
        y2026.transfers[&no("1001")]
            .keys()
            .map(|d| d.to_string())
            .collect::<Vec<_>>(),
        ["2026-03-10"]
    );
    // Read together, the roster is the one imported.
    let facts = node::read::registry_facts(&store, None).expect("facts").0;
    let march = "2026-03".parse().expect("month");
    assert_eq!(facts.custody(&no("1002"), march).custody_days(), 15);
    assert_eq!(
        facts
            .custody(&no("1001"), march)
            .reporting()
            .map(|d| d.as_str()),
        Some("D02")
    );

    // The audit trail of a month names the roster records behind it, with
    // who signed them.
    let audit = tally(
        d,
        &[
            "audit",
            "--district",
            "D01",
            "--month",
            "2026-03",
            "--inmate",
            "1002",
            "--json",
        ],
    );
    let trail: serde_json::Value = serde_json::from_str(&audit).expect("json");
    let roster: Vec<(String, String)> = trail["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter(|r| r["doc"].as_str().is_some_and(|d| d.starts_with("roster/")))
        .map(|r| {
            (
                r["doc"].as_str().unwrap_or("").to_string(),
                r["key"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        roster,
        [
            ("roster/2026".to_string(), "inmate/1002".to_string()),
            ("roster/2026".to_string(), "release/1002".to_string())
        ],
        "{audit}"
    );

    // The same file again writes nothing.
    let again = import(d, "inmates", "inmates.csv", INMATES);
    assert!(again.contains("0 records changed"), "{again}");

    // A release corrected into the next year moves to that year's shard.
    import(
        d,
        "inmates",
        "inmates.csv",
        "inmate_no,name,district,admitted,released\n1002,李二,D01,2026-02-01,2027-01-10\n",
    );
    let store = Store::open(d).expect("store");
    assert!(!shard(&store, 2026).releases.contains_key(&no("1002")));
    assert_eq!(
        shard(&store, 2027).releases[&no("1002")].value.to_string(),
        "2027-01-10"
    );
    let facts = node::read::registry_facts(&store, None).expect("facts").0;
    assert_eq!(
        facts.inmates[&no("1002")]
            .value
            .released
            .map(|r| r.to_string()),
        Some("2027-01-10".to_string())
    );
    // A month of 2026 reads only the shards up to 2026: there, 1002 is
    // not released yet.
    let in_2026 = node::read::registry_facts(&store, Some(Year::new(2026).expect("year")))
        .expect("facts")
        .0;
    assert_eq!(in_2026.inmates[&no("1002")].value.released, None);
}

/// Writes the roster into the registry itself, as data directories from
/// before the shards hold it.
fn legacy_roster(d: &Path, inmates: &[(&str, Inmate)]) {
    let store = Store::open(d).expect("store");
    let admin = identity::unlock_officer(&identity::admin_key_path(d), PASSPHRASE).expect("admin");
    let now = now();
    let mut s = WriteSession::begin(&store, &admin, now, "legacy roster").expect("session");
    s.write_registry(|w| {
        for (n, i) in inmates {
            w.put_inmate(&no(n), i)?;
        }
        Ok(())
    })
    .expect("written");
    s.commit().expect("committed");
}

fn digest(d: &Path, month: &str) -> String {
    let out = tally(
        d,
        &["score", "--district", "D01", "--month", month, "--json"],
    );
    let v: serde_json::Value =
        serde_json::from_str(out.lines().next().expect("a line")).expect("json");
    v["digest"].as_str().expect("digest").to_string()
}

#[test]
fn a_data_directory_with_its_roster_in_the_registry_keeps_scoring_as_it_did() {
    let dir = prison();
    let d = dir.path();
    let inmate = |name: &str, admitted: &str| Inmate {
        name: name.into(),
        district: "D01".parse().expect("district"),
        admitted: admitted.parse().expect("date"),
        released: None,
    };
    legacy_roster(
        d,
        &[
            ("1001", inmate("张一", "2020-01-01")),
            ("1002", inmate("李二", "2021-05-05")),
        ],
    );
    import(
        d,
        "attendance",
        "attendance.csv",
        "date,inmate_no,day_type,minutes,grade\n\
         2026-02-02,1001,work,480,\n2026-02-02,1002,work,480,\n\
         2026-03-02,1001,work,480,\n2026-03-02,1002,work,480,\n",
    );
    let (feb, mar) = (digest(d, "2026-02"), digest(d, "2026-03"));
    // After the upgrade: 1002's release and a new admission.
    import(
        d,
        "inmates",
        "inmates.csv",
        "inmate_no,name,district,admitted,released\n\
         1002,李二,D01,2021-05-05,2026-03-20\n\
         1003,王三,D01,2026-03-21,\n",
    );
    let store = Store::open(d).expect("store");
    // The registry's own inmate is still written there; the new one, in
    // the shard of its admission.
    let registry = registry_alone(&store);
    assert_eq!(
        registry.inmates[&no("1002")]
            .value
            .released
            .map(|r| r.to_string()),
        Some("2026-03-20".to_string())
    );
    assert!(!registry.inmates.contains_key(&no("1003")));
    assert!(shard(&store, 2026).admissions.contains_key(&no("1003")));
    // February is untouched; March changed (a release and an admission in it).
    assert_eq!(digest(d, "2026-02"), feb);
    assert_ne!(digest(d, "2026-03"), mar);
    let facts = node::read::registry_facts(&store, None).expect("facts").0;
    assert_eq!(facts.inmates.len(), 3);
}

#[test]
fn a_bundle_carries_the_shards_its_month_reads_and_a_seal_names_their_heads() {
    let dir = prison();
    let d = dir.path();
    import(d, "inmates", "inmates.csv", INMATES);
    import(
        d,
        "attendance",
        "attendance.csv",
        "date,inmate_no,day_type,minutes,grade\n2026-03-02,1001,work,480,\n2026-03-02,1002,work,480,\n",
    );
    tally(
        d,
        &["seal", "--district", "D01", "--month", "2026-03", "--force"],
    );
    let out = d.join("d01.bundle");
    tally(
        d,
        &[
            "export",
            "--district",
            "D01",
            "--month",
            "2026-03",
            "-o",
            out.to_str().expect("utf-8"),
        ],
    );
    let bytes = std::fs::read(&out).expect("bundle");
    let authority = identity::read_authority_pub(&identity::authority_pub_path(d))
        .expect("authority")
        .public_key;
    let r = verify::verify(&bytes, &authority);
    assert!(r.ok, "{:?}", r.problems);
    let seal = r.months[0].seal.as_ref().expect("sealed");
    assert!(seal.matches);
    let bundle = Bundle::decode(&bytes).expect("decodes");
    let carried: Vec<String> = bundle.months.keys().map(DocId::to_string).collect();
    assert_eq!(carried, ["roster/2025", "roster/2026", "month/D01/2026-03"]);

    // Without the shards the sealed report cannot be recomputed: the
    // verifier says so instead of matching it.
    let mut stripped = bundle.clone();
    stripped
        .months
        .retain(|id, _| matches!(id, DocId::Month { .. }));
    let r = verify::verify(&stripped.encode(), &authority);
    assert!(!r.ok);
    assert!(!r.months[0].seal.as_ref().expect("sealed").matches);
}

#[test]
fn an_admission_left_in_two_shards_is_put_back_in_one() {
    // Two writers moved one inmate's admission concurrently: it stands in
    // 2025's shard and in 2026's. Importing the inmate as admitted in 2026
    // withdraws the 2025 copy (as it does a release left in two shards).
    let dir = prison();
    let d = dir.path();
    let store = Store::open(d).expect("store");
    let admin = identity::unlock_officer(&identity::admin_key_path(d), PASSPHRASE).expect("admin");
    let now = now();
    let inmate = |admitted: &str| Inmate {
        name: "张一".into(),
        district: "D01".parse().expect("district"),
        admitted: admitted.parse().expect("date"),
        released: None,
    };
    let mut s = WriteSession::begin(&store, &admin, now, "two shards").expect("session");
    for (year, admitted, released) in [
        (2025, "2025-12-20", "2025-12-31"),
        (2026, "2026-01-05", "2026-06-30"),
    ] {
        let year = Year::new(year).expect("year");
        s.write_roster(year, |w| {
            w.admit(&no("1001"), &inmate(admitted))?;
            w.release(&no("1001"), released.parse().expect("date"))
        })
        .expect("written");
    }
    s.commit().expect("committed");
    let facts = node::read::registry_facts(&store, None).expect("facts").0;
    assert!(
        facts.inmates[&no("1001")].conflict,
        "two admissions are marked"
    );

    import(
        d,
        "inmates",
        "inmates.csv",
        "inmate_no,name,district,admitted,released\n1001,张一,D01,2026-01-05,2026-06-30\n",
    );
    let store = Store::open(d).expect("store");
    let (y2025, y2026) = (shard(&store, 2025), shard(&store, 2026));
    assert!(y2025.admissions.is_empty() && y2025.releases.is_empty());
    assert!(y2026.admissions.contains_key(&no("1001")) && y2026.releases.contains_key(&no("1001")));
    let facts = node::read::registry_facts(&store, None).expect("facts").0;
    assert!(!facts.inmates[&no("1001")].conflict);
    // Imported again: nothing to write.
    let again = import(
        d,
        "inmates",
        "inmates.csv",
        "inmate_no,name,district,admitted,released\n1001,张一,D01,2026-01-05,2026-06-30\n",
    );
    assert!(again.contains("0 records changed"), "{again}");
}
