//! The adversarial suite at the level of bundles: what reaches the
//! procuratorate on a USB stick is verified from scratch, and every forgery,
//! misplacement, damage or wrong key is caught with a precise reason.

use std::path::{Path, PathBuf};
use std::process::Command;

use crdt_schema::{ChangeMeta, DocId, MonthDoc, Seal};
use keys::{PublicKey, SecretKey};
use node::bundle::{Bundle, BundleError};
use node::close::NotDone;
use node::identity;
use node::session::WriteSession;
use node::store::Store;
use node::validate::{Refusal, SignedChange, Wait};
use node::verify::{self, Note, Problem, VerifyReport};
use sha2::{Digest as _, Sha256};

const TALLY: &str = env!("CARGO_BIN_EXE_tally");
const PASSPHRASE: &str = "test passphrase";

/// `tally` with these arguments, whatever its outcome.
fn tally_any(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(TALLY)
        .arg("--data")
        .arg(dir)
        .args(args)
        .env("TALLY_PASSPHRASE", PASSPHRASE)
        .env_remove("TALLY_DATA")
        .output()
        .expect("tally runs")
}

fn tally(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = tally_any(dir, args);
    assert!(
        out.status.success(),
        "tally {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// A tiny prison (one district, one inmate, two days), sealed, exported.
struct Prison {
    dir: tempfile::TempDir,
    bundle: Vec<u8>,
    authority: PublicKey,
}

/// The small prison's March, imported: not posted, not sealed.
fn imported() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tally(d, &["init", "--prison", "测试监狱"]);
    let files = [
        ("districts", "districts.csv", "district,name\nD01,一监区\n"),
        (
            "inmates",
            "inmates.csv",
            "inmate_no,name,district,admitted,released\n1001,张镕,D01,2020-01-01,\n",
        ),
        (
            "procedures",
            "procedures.csv",
            "procedure,product,name,std_ms,effective_from\nP1,X,缝领,60000,2026-01-01\n",
        ),
        (
            "attendance",
            "attendance.csv",
            "date,inmate_no,day_type,minutes,grade\n2026-03-02,1001,work,480,\n2026-03-03,1001,sick,,\n",
        ),
        (
            "counts",
            "counts.csv",
            "date,inmate_no,procedure,quantity\n2026-03-02,1001,P1,500\n",
        ),
    ];
    for (kind, name, text) in files {
        let f = write(d, name, text);
        tally(d, &["import", kind, f.to_str().unwrap()]);
    }
    dir
}

/// The bundle of D01's March from `d`.
fn bundle_of(d: &Path) -> Vec<u8> {
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
            out.to_str().unwrap(),
        ],
    );
    std::fs::read(&out).unwrap()
}

fn authority_of(d: &Path) -> PublicKey {
    identity::read_authority_pub(&identity::authority_pub_path(d))
        .unwrap()
        .public_key
}

fn prison() -> Prison {
    let dir = imported();
    let d = dir.path();
    // Posted (the posting long over), so the month may be sealed.
    tally(
        d,
        &[
            "post",
            "--district",
            "D01",
            "--month",
            "2026-03",
            "--from",
            "2026-04-01",
        ],
    );
    tally(d, &["seal", "--district", "D01", "--month", "2026-03"]);
    let authority = authority_of(d);
    Prison {
        bundle: bundle_of(d),
        dir,
        authority,
    }
}

#[test]
fn a_seal_before_the_posting_is_a_problem_unless_it_says_it_was_forced() {
    // Sealed with --force before any posting: verifies, and says so.
    let dir = imported();
    let d = dir.path();
    let out = tally(
        d,
        &["seal", "--district", "D01", "--month", "2026-03", "--force"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = check(&bundle_of(d), &authority_of(d));
    assert!(r.ok, "{:?}", r.problems);
    assert!(
        r.notes.iter().any(
            |n| matches!(n, Note::Forced { forced, .. } if forced.contains("has not been posted"))
        ),
        "{:?}",
        r.notes
    );

    // A seal written by other means, matching the records but before any
    // posting and not saying it was forced: a problem every verifier names.
    let dir = imported();
    let d = dir.path();
    let store = Store::open(d).unwrap();
    let admin = identity::unlock_officer(&identity::admin_key_path(d), PASSPHRASE).unwrap();
    let mut s = WriteSession::begin(&store, &admin, now(), "early seal").unwrap();
    let (district, month): (crdt_schema::DistrictId, crdt_schema::Month) =
        ("D01".parse().unwrap(), "2026-03".parse().unwrap());
    let year = crdt_schema::Year::of_month(month);
    let registry = s.registry_facts_through(year).unwrap();
    let roster = s.roster_heads_through(year).unwrap();
    let doc = s.month(&district, month).unwrap();
    let heads = doc
        .document()
        .heads()
        .iter()
        .map(|h| h.to_string())
        .collect();
    let facts = doc.facts();
    let sources = crdt_schema::Sources::new(&registry, &facts, &[]).unwrap();
    let digest = crdt_schema::digest_to_seal(&registry, &sources).unwrap();
    let seal = Seal {
        district: district.clone(),
        month,
        heads,
        digest: digest.0,
        sources: Default::default(),
        roster,
        rules: registry.rule_set_for(month).map(|r| r.digest()),
        forced: String::new(),
    };
    s.write_month(&district, month, |w| w.put_seal(&seal).map(|_| ()))
        .unwrap();
    s.commit().unwrap();
    let r = check(&bundle_of(d), &authority_of(d));
    assert!(!r.ok);
    assert!(
        r.problems.iter().any(|p| matches!(
            p,
            Problem::SealedEarly { not_done, .. } if not_done == &[NotDone::NotPosted]
        )),
        "{:?}",
        r.problems
    );
    // The records themselves match the seal: only the wait is wrong.
    assert!(
        !r.problems
            .iter()
            .any(|p| matches!(p, Problem::SealMismatch { .. })),
        "{:?}",
        r.problems
    );
}

/// Now, as an author states it (the admin's certificate starts at `init`).
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn check(bytes: &[u8], authority: &PublicKey) -> VerifyReport {
    verify::verify(bytes, authority)
}

/// What a verification concluded, for comparing two runs.
fn outcome(r: &VerifyReport) -> (bool, Vec<Option<String>>, Vec<Option<bool>>) {
    (
        r.ok,
        r.months.iter().map(|m| m.digest.clone()).collect(),
        r.months
            .iter()
            .map(|m| m.seal.as_ref().map(|s| s.matches))
            .collect(),
    )
}

#[test]
fn an_honest_bundle_verifies_and_matches_the_replicas_report() {
    let p = prison();
    let r = check(&p.bundle, &p.authority);
    assert!(r.ok, "{:?}", r.problems);
    let seal = r.months[0].seal.as_ref().expect("sealed");
    assert!(seal.matches);
    assert_eq!(seal.by, "ADMIN");
    let out = tally(
        p.dir.path(),
        &["score", "--district", "D01", "--month", "2026-03", "--json"],
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r.digest.as_deref(), report["digest"].as_str());
    // The CLI: exit 0 and JSON with "ok" and "digest".
    let pubf = identity::authority_pub_path(p.dir.path());
    let bundle = p.dir.path().join("d01.bundle");
    let out = Command::new(TALLY)
        .args([
            "verify",
            "--authority",
            pubf.to_str().unwrap(),
            bundle.to_str().unwrap(),
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["digest"], report["digest"]);
}

#[test]
fn a_bundle_from_another_authority_is_refused() {
    let p = prison();
    let other = SecretKey::from_seed(&[42; 32]).public();
    let r = check(&p.bundle, &other);
    assert!(!r.ok);
    assert!(
        r.problems.contains(&Problem::ForeignAuthority),
        "{:?}",
        r.problems
    );
    // And through the CLI, with a non-zero exit.
    let pubf = p.dir.path().join("other.pub");
    identity::write_authority_pub(&pubf, "别的监狱", &other).unwrap();
    let out = Command::new(TALLY)
        .args([
            "verify",
            "--authority",
            pubf.to_str().unwrap(),
            p.dir.path().join("d01.bundle").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("NOT VERIFIED"));
}

#[test]
fn every_single_byte_flip_is_detected() {
    let p = prison();
    let base = check(&p.bundle, &p.authority);
    assert!(base.ok);
    for i in 0..p.bundle.len() {
        let mut b = p.bundle.clone();
        b[i] ^= 0x01;
        let r = check(&b, &p.authority);
        assert!(
            !r.ok,
            "flipping byte {i} of {} went undetected",
            p.bundle.len()
        );
    }
}

/// Splits a bundle into its record payloads (after the 8-byte magic).
fn records(bundle: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 8;
    while at < bundle.len() {
        let len = u32::from_le_bytes(bundle[at..at + 4].try_into().unwrap()) as usize;
        out.push(bundle[at + 8..at + 8 + len].to_vec());
        at += 8 + len;
    }
    out
}

/// Re-frames payloads into a bundle with correct checksums and end record:
/// what a forger who knows the format would produce.
fn reframe(payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"TALLYBD1".to_vec();
    let frame = |out: &mut Vec<u8>, p: &[u8]| {
        out.extend_from_slice(&(p.len() as u32).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(p).to_le_bytes());
        out.extend_from_slice(p);
    };
    for p in payloads {
        frame(&mut out, p);
    }
    let digest: [u8; 32] = Sha256::digest(&out).into();
    let mut end = vec![9u8];
    end.extend_from_slice(&(payloads.len() as u64).to_le_bytes());
    end.extend_from_slice(&digest);
    frame(&mut out, &end);
    out
}

#[test]
fn every_byte_flip_a_forger_reframes_is_detected_or_harmless() {
    let p = prison();
    let base = check(&p.bundle, &p.authority);
    let recs = records(&p.bundle);
    let (end, payloads) = recs.split_last().unwrap();
    assert_eq!(end[0], 9);
    assert_eq!(
        reframe(payloads),
        p.bundle,
        "reframing the untouched records gives the same bytes"
    );
    let hashes = |b: &Bundle| -> Vec<_> {
        b.registry
            .iter()
            .chain(b.months.values().flatten())
            .map(|c| (c.hash(), c.signature))
            .collect()
    };
    let original = hashes(&Bundle::decode(&p.bundle).unwrap());
    let (mut detected, mut harmless) = (0, 0);
    for (r, payload) in payloads.iter().enumerate() {
        for i in 0..payload.len() {
            let mut forged = payloads.to_vec();
            forged[r][i] ^= 0x01;
            let bytes = reframe(&forged);
            let v = check(&bytes, &p.authority);
            if !v.ok {
                detected += 1;
                continue;
            }
            // Accepted: provably harmless only if nothing that counts changed —
            // the same verdicts, digests and seal checks, and (outside the
            // informational header) the very same signed changes: the flip hit
            // bytes no hash covers (a chunk's redundant checksum).
            assert_eq!(
                outcome(&v),
                outcome(&base),
                "record {r} byte {i} changed the verdict"
            );
            if r > 0 {
                assert_eq!(
                    hashes(&Bundle::decode(&bytes).unwrap()),
                    original,
                    "record {r} byte {i}: a different change was accepted"
                );
            }
            harmless += 1;
        }
    }
    eprintln!("{detected} flips detected, {harmless} provably harmless");
    assert!(detected > harmless);
}

#[test]
fn a_bundle_cut_short_anywhere_is_detected() {
    let p = prison();
    for cut in 0..p.bundle.len() {
        let r = check(&p.bundle[..cut], &p.authority);
        assert!(!r.ok, "cut at {cut}");
    }
    let r = check(&p.bundle[..p.bundle.len() - 1], &p.authority);
    assert!(
        matches!(r.problems[0], Problem::Bundle(BundleError::Truncated(_))),
        "{:?}",
        r.problems
    );
}

#[test]
fn bytes_after_a_bundle_are_named_as_such_not_as_truncation() {
    let p = prison();
    let n = p.bundle.len();
    for extra in [&b"\n"[..], &[0u8; 7][..], &p.bundle[..]] {
        let mut b = p.bundle.clone();
        b.extend_from_slice(extra);
        let r = check(&b, &p.authority);
        assert!(!r.ok);
        assert_eq!(
            r.problems[0],
            Problem::Bundle(BundleError::Trailing {
                at: n,
                len: extra.len()
            })
        );
        assert_eq!(
            r.problems[0].to_string(),
            format!(
                "{} bytes after the bundle's end record (at byte {n}): the file was added to, or is two files joined",
                extra.len()
            )
        );
    }
}

/// Adds a change to the bundle's month document (signed by `key`) and
/// returns the verification report.
fn with_extra_month_change(
    p: &Prison,
    key: &SecretKey,
    doc: &DocId,
    f: impl FnOnce(&mut crdt_schema::MonthWriter<'_, '_>) -> Result<(), crdt_schema::SchemaError>,
) -> VerifyReport {
    let mut bundle = Bundle::decode(&p.bundle).unwrap();
    // Edited below for another check: as a forger would, without the
    // exporter's statement (which would no longer cover it).
    bundle.statement = None;
    // Build on the bundle's month history so the change's dependencies are there.
    let mut am = crdt_schema::automerge::Automerge::new();
    if let Some(changes) = bundle.months.get(doc) {
        am.apply_changes(changes.iter().map(|c| c.change.clone()))
            .unwrap();
    }
    let mut m =
        MonthDoc::from_document(crdt_schema::Document::from_automerge(doc.clone(), am).unwrap())
            .unwrap();
    let mut reg = crdt_schema::automerge::Automerge::new();
    reg.apply_changes(bundle.registry.iter().map(|c| c.change.clone()))
        .unwrap();
    let meta = ChangeMeta {
        author: key.public().as_bytes().to_vec(),
        time: 1_772_500_000,
        message: "forged".into(),
        registry_heads: reg.get_heads(),
    };
    let (_, c) = m.write(&meta, f).unwrap();
    bundle
        .months
        .entry(doc.clone())
        .or_default()
        .push(SignedChange::sign(key, doc, c.unwrap()));
    check(&bundle.encode(), &p.authority)
}

#[test]
fn unknown_officers_and_out_of_district_writes_in_a_bundle_are_named() {
    let p = prison();
    let d01 = DocId::month("D01".parse().unwrap(), "2026-03".parse().unwrap());
    // A key the authority never certified.
    let stranger = SecretKey::from_seed(&[77; 32]);
    let r = with_extra_month_change(&p, &stranger, &d01, |w| {
        w.put_count(
            &"1001".parse().unwrap(),
            "2026-03-02".parse().unwrap(),
            &"P1".parse().unwrap(),
            9000,
        )
        .map(|_| ())
    });
    assert!(!r.ok);
    assert!(
        r.problems.iter().any(|x| matches!(
            x,
            Problem::Unverifiable {
                wait: Wait::Certificate(_),
                ..
            }
        )),
        "{:?}",
        r.problems
    );

    // A real officer of D02 writing into D01: issue one with the authority key.
    let authority = identity::unlock_authority(p.dir.path(), PASSPHRASE).unwrap();
    let key = SecretKey::from_seed(&[78; 32]);
    let cert = node::prison::issue_cert(
        &authority,
        &key,
        "J002",
        "李警官",
        Some("D02".parse().unwrap()),
        keys::Role::Officer,
        "2026-01-01".parse().unwrap(),
        "2026-12-31".parse().unwrap(),
    )
    .unwrap();
    // Enrol J002 in the bundle's registry as the admin would.
    let admin =
        identity::unlock_officer(&identity::admin_key_path(p.dir.path()), PASSPHRASE).unwrap();
    let mut bundle = Bundle::decode(&p.bundle).unwrap();
    // Edited below for another check: as a forger would, without the
    // exporter's statement (which would no longer cover it).
    bundle.statement = None;
    let mut reg_am = crdt_schema::automerge::Automerge::new();
    reg_am
        .apply_changes(bundle.registry.iter().map(|c| c.change.clone()))
        .unwrap();
    let mut reg = crdt_schema::RegistryDoc::from_document(
        crdt_schema::Document::from_automerge(DocId::Registry, reg_am).unwrap(),
    )
    .unwrap();
    let meta = ChangeMeta {
        author: admin.public().as_bytes().to_vec(),
        time: now(),
        message: "enrol".into(),
        registry_heads: vec![],
    };
    let (_, c) = reg
        .write(&meta, |w| {
            w.put_trust(
                &crdt_schema::RegistryKey::Officer(crdt_schema::KeyHex::from_bytes(
                    key.public().as_bytes(),
                )),
                &cert.to_json(),
            )
        })
        .unwrap();
    bundle
        .registry
        .push(SignedChange::sign(&admin.key, &DocId::Registry, c.unwrap()));
    let p2 = Prison {
        bundle: bundle.encode(),
        dir: tempfile::tempdir().unwrap(),
        authority: p.authority,
    };
    assert!(check(&p2.bundle, &p2.authority).ok, "enrolling is fine");
    let r = with_extra_month_change(&p2, &key, &d01, |w| {
        w.put_count(
            &"1001".parse().unwrap(),
            "2026-03-02".parse().unwrap(),
            &"P1".parse().unwrap(),
            9000,
        )
        .map(|_| ())
    });
    assert!(!r.ok);
    assert!(
        r.problems.iter().any(|x| matches!(
            x,
            Problem::Refused { refusal: Refusal::NotAllowed { officer, .. }, .. } if officer == "J002"
        ) && x.to_string().contains(
            "officer J002 (officer of D02) may not write `cnt/1001/02/P1` in month/D01/2026-03"
        )),
        "{:?}",
        r.problems
    );
}

#[test]
fn a_seal_that_does_not_match_the_records_is_a_mismatch() {
    let p = prison();
    let store = Store::open(p.dir.path()).unwrap();
    let admin =
        identity::unlock_officer(&identity::admin_key_path(p.dir.path()), PASSPHRASE).unwrap();
    let mut s = WriteSession::begin(&store, &admin, now(), "bad seal").unwrap();
    let doc = s
        .month(&"D01".parse().unwrap(), "2026-03".parse().unwrap())
        .unwrap();
    let seal = Seal {
        district: "D01".parse().unwrap(),
        month: "2026-03".parse().unwrap(),
        heads: doc
            .document()
            .heads()
            .iter()
            .map(|h| h.to_string())
            .collect(),
        digest: "0".repeat(64),
        sources: Default::default(),
        roster: Default::default(),
        rules: None,
        forced: String::new(),
    };
    s.write_month(&"D01".parse().unwrap(), "2026-03".parse().unwrap(), |w| {
        w.put_seal(&seal).map(|_| ())
    })
    .unwrap();
    s.commit().unwrap();
    let out = p.dir.path().join("bad.bundle");
    tally(
        p.dir.path(),
        &[
            "export",
            "--district",
            "D01",
            "--month",
            "2026-03",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    let r = check(&std::fs::read(&out).unwrap(), &p.authority);
    assert!(!r.ok);
    assert!(
        r.problems
            .iter()
            .any(|x| matches!(x, Problem::SealMismatch { .. })),
        "{:?}",
        r.problems
    );
}

#[test]
fn amendments_after_the_seal_verify_but_are_reported() {
    let p = prison();
    let d = p.dir.path();
    let f = write(
        d,
        "more.csv",
        "date,inmate_no,procedure,quantity\n2026-03-02,1001,P1,520\n",
    );
    tally(d, &["import", "counts", f.to_str().unwrap()]);
    let out = d.join("amended.bundle");
    tally(
        d,
        &[
            "export",
            "--district",
            "D01",
            "--month",
            "2026-03",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    let r = check(&std::fs::read(&out).unwrap(), &p.authority);
    assert!(r.ok, "{:?}", r.problems);
    let seal = r.months[0].seal.as_ref().unwrap();
    assert!(seal.matches, "the seal still matches the state it sealed");
    assert_eq!(seal.amended, 1);
    assert!(
        r.notes
            .iter()
            .any(|n| matches!(n, Note::Amended { inmates: 1, .. }))
    );
}

#[test]
fn merging_a_bundle_stores_what_verifies_and_keeps_the_rest() {
    let p = prison();
    // A new replica trusting the same authority.
    let replica = tempfile::tempdir().unwrap();
    let pubf = identity::authority_pub_path(p.dir.path());
    tally(
        replica.path(),
        &["init", "--authority", pubf.to_str().unwrap()],
    );
    // The honest bundle plus a change by a key the authority never certified.
    let d01 = DocId::month("D01".parse().unwrap(), "2026-03".parse().unwrap());
    let mut bundle = Bundle::decode(&p.bundle).unwrap();
    // Edited below for another check: as a forger would, without the
    // exporter's statement (which would no longer cover it).
    bundle.statement = None;
    let mut am = crdt_schema::automerge::Automerge::new();
    am.apply_changes(bundle.months[&d01].iter().map(|c| c.change.clone()))
        .unwrap();
    let mut m =
        MonthDoc::from_document(crdt_schema::Document::from_automerge(d01.clone(), am).unwrap())
            .unwrap();
    let stranger = SecretKey::from_seed(&[77; 32]);
    let (_, c) = m
        .write(
            &ChangeMeta {
                author: stranger.public().as_bytes().to_vec(),
                time: now(),
                message: "x".into(),
                registry_heads: vec![],
            },
            |w| {
                w.put_count(
                    &"1001".parse().unwrap(),
                    "2026-03-02".parse().unwrap(),
                    &"P1".parse().unwrap(),
                    9999,
                )
                .map(|_| ())
            },
        )
        .unwrap();
    bundle
        .months
        .get_mut(&d01)
        .unwrap()
        .push(SignedChange::sign(&stranger, &d01, c.unwrap()));
    let file = replica.path().join("in.bundle");
    std::fs::write(&file, bundle.encode()).unwrap();
    let out = tally(replica.path(), &["merge", file.to_str().unwrap(), "--json"]);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Nobody certified the key: it waits (its certificate might arrive) and is kept.
    assert_eq!(r["pending"], 1, "{r}");
    assert!(r["quarantined"].as_array().unwrap().is_empty(), "{r}");
    // The replica now scores the month exactly as the original does.
    let a = tally(
        p.dir.path(),
        &["score", "--district", "D01", "--month", "2026-03", "--json"],
    );
    let b = tally(
        replica.path(),
        &["score", "--district", "D01", "--month", "2026-03", "--json"],
    );
    let a: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&b.stdout).unwrap();
    assert_eq!(a["digest"], b["digest"]);
    // Merging again changes nothing and quarantines nothing twice.
    let out = tally(replica.path(), &["merge", file.to_str().unwrap(), "--json"]);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r["accepted"].as_object().unwrap().is_empty(), "{r}");
    let store = Store::open(replica.path()).unwrap();
    let kept = store.quarantined(&d01).unwrap();
    assert_eq!(kept.len(), 1);
    assert!(
        matches!(
            kept[0].0,
            node::replica::Kept::Pending(node::validate::Wait::Certificate(_))
        ),
        "kept as waiting for its author's certificate: {:?}",
        kept[0].0
    );
}

#[test]
fn the_exporters_signed_statement_names_the_device_and_binds_what_it_carried() {
    let p = prison();
    let d = p.dir.path();
    // This data directory's device, enrolled by the authority as the
    // records office's PC, then the export again: signed by that device.
    let out = tally(d, &["node", "id"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find(|w| w.len() == 64 && w.bytes().all(|b| b.is_ascii_hexdigit()))
        .expect("an endpoint id")
        .to_string();
    let out = tally(d, &["device", "enroll", &id, "--label", "狱政科PC"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signed = bundle_of(d);
    let r = check(&signed, &p.authority);
    assert!(r.ok, "{:?}", r.problems);
    let by = r.exported_by.clone().expect("a signed statement");
    assert!(
        by.starts_with("狱政科PC (") && by.contains(&id[..16]),
        "{by}"
    );
    // The prison shown is the signed registry's.
    assert_eq!(r.prison, "测试监狱");

    // A change left out after signing, the bundle re-framed (its end record
    // recomputed): the statement no longer covers it.
    let mut b = Bundle::decode(&signed).unwrap();
    let month = b
        .months
        .iter_mut()
        .find_map(|(id, changes)| matches!(id, DocId::Month { .. }).then_some(changes))
        .unwrap();
    month.pop();
    let r = check(&b.encode(), &p.authority);
    assert!(!r.ok);
    assert!(
        r.problems.contains(&Problem::StatementContent),
        "{:?}",
        r.problems
    );
    // The same, re-signed by a key of the forger's own: valid, but of no
    // enrolled device — and the omission is that key's signed word.
    let forger = keys::SecretKey::generate().unwrap();
    let r = check(&b.encode_signed(&forger, now()), &p.authority);
    assert!(
        r.notes
            .iter()
            .any(|n| matches!(n, Note::UnenrolledExporter { .. })),
        "{:?}",
        r.notes
    );
    assert!(r.exported_by.unwrap().starts_with("unenrolled device"));
    // A statement whose signature is altered does not verify.
    let mut b2 = Bundle::decode(&signed).unwrap();
    let st = b2.statement.as_mut().unwrap();
    let flipped = if st.signature.starts_with('0') {
        "1"
    } else {
        "0"
    };
    st.signature.replace_range(..1, flipped);
    let r = check(&b2.encode(), &p.authority);
    assert!(!r.ok);
    assert!(
        r.problems.iter().any(
            |x| matches!(x, Problem::Statement(e) if e.contains("the signature does not verify"))
        ),
        "{:?}",
        r.problems
    );
    // Stripped of its statement: verifies, and says nothing is attributable.
    b.statement = None;
    let r = check(&b.encode(), &p.authority);
    assert!(r.exported_by.is_none());
    assert!(r.notes.contains(&Note::NoStatement), "{:?}", r.notes);
    // A verifier insisting on a signed statement: the enrolled PC's bundle
    // passes; the first export, made before this node had a device key,
    // carries none and fails, saying why.
    let pubf = identity::authority_pub_path(d);
    let verify_cli = |file: &Path| {
        Command::new(TALLY)
            .args([
                "verify",
                "--require-statement",
                "--authority",
                pubf.to_str().unwrap(),
                file.to_str().unwrap(),
            ])
            .output()
            .unwrap()
    };
    let signed_file = d.join("signed.bundle");
    std::fs::write(&signed_file, &signed).unwrap();
    let out = verify_cli(&signed_file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let unsigned_file = d.join("unsigned.bundle");
    std::fs::write(&unsigned_file, &p.bundle).unwrap();
    assert!(Bundle::decode(&p.bundle).unwrap().statement.is_none());
    let out = verify_cli(&unsigned_file);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("one is required (--require-statement)"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // An edited header's prison name is named, not shown as verified.
    let mut b = Bundle::decode(&signed).unwrap();
    b.statement = None;
    b.header.prison = "另一监狱".into();
    let r = check(&b.encode(), &p.authority);
    assert!(!r.ok);
    assert_eq!(r.prison, "测试监狱");
    assert!(
        r.problems.contains(&Problem::HeaderPrison {
            header: "另一监狱".into(),
            registry: "测试监狱".into()
        }),
        "{:?}",
        r.problems
    );
}

/// A fresh replica of the prison of `d` (trusting its authority).
fn fresh_replica(d: &Path) -> tempfile::TempDir {
    let replica = tempfile::tempdir().unwrap();
    let pubf = identity::authority_pub_path(d);
    let out = tally(
        replica.path(),
        &["init", "--authority", pubf.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    replica
}

/// `tally merge` of `bytes` into `replica`: success, and what it said.
fn merge(replica: &Path, bytes: &[u8]) -> (bool, String) {
    let file = replica.join("in.bundle");
    std::fs::write(&file, bytes).unwrap();
    let out = tally_any(replica, &["merge", file.to_str().unwrap()]);
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Merging `bytes` into `replica` is refused whole, saying `says`, and
/// stores no month.
fn refused_whole(replica: &Path, bytes: &[u8], says: &str) {
    let (merged, said) = merge(replica, bytes);
    assert!(!merged && said.contains(says), "{said}");
    assert!(
        Store::open(replica)
            .unwrap()
            .month_ids()
            .unwrap()
            .is_empty(),
        "merged nowhere"
    );
}

#[test]
fn tampered_bundles_are_named_precisely_and_merged_nowhere() {
    let p = prison();
    let d = p.dir.path();
    // The records office's PC, enrolled: its exports carry a signed statement.
    let out = tally(d, &["node", "id"]);
    let id = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find(|w| w.len() == 64 && w.bytes().all(|b| b.is_ascii_hexdigit()))
        .expect("an endpoint id")
        .to_string();
    assert!(
        tally(d, &["device", "enroll", &id, "--label", "狱政科PC"])
            .status
            .success()
    );
    let device = {
        let k = node::net::node_key(d).unwrap();
        keys::SecretKey::from_seed(&k.to_bytes())
    };
    // An amendment after the seal, then the honest, signed export.
    let f = write(
        d,
        "more.csv",
        "date,inmate_no,procedure,quantity\n2026-03-02,1001,P1,520\n",
    );
    assert!(
        tally(d, &["import", "counts", f.to_str().unwrap()])
            .status
            .success()
    );
    let honest = bundle_of(d);
    assert!(check(&honest, &p.authority).ok);
    let d01 = DocId::month("D01".parse().unwrap(), "2026-03".parse().unwrap());
    let decoded = || Bundle::decode(&honest).unwrap();
    let seal_change = {
        let b = decoded();
        // The seal is the change the amendment follows.
        b.months[&d01][b.months[&d01].len() - 2].hash()
    };

    // 1. The change after the seal left out, the end record recomputed,
    // the statement kept: it no longer covers the bundle.
    let mut b = decoded();
    let amendment = b.months.get_mut(&d01).unwrap().pop().unwrap();
    let after_seal = b.encode();
    let r = check(&after_seal, &p.authority);
    assert!(
        r.problems.contains(&Problem::StatementContent),
        "{:?}",
        r.problems
    );
    refused_whole(
        fresh_replica(d).path(),
        &after_seal,
        "altered after its exporter signed it",
    );

    // 2. The same omission, the statement signed again by the exporter:
    // alone it verifies — every change in it is genuine — but against a
    // replica that kept the exporter's own checkpoint of the month, it is
    // the omission, named with the device and the exporter.
    let mut b = decoded();
    b.months.get_mut(&d01).unwrap().pop();
    let resigned = b.encode_signed(&device, now());
    assert!(check(&resigned, &p.authority).ok);
    let witness = fresh_replica(d);
    assert!(merge(witness.path(), &honest).0);
    {
        let store = Store::open(d).unwrap();
        let mut records = node::replica::Replica::open(store).unwrap();
        assert!(records.sign_checkpoints(&device, now() - 60, 60).unwrap() >= 2);
        let cps: Vec<_> = records.core.checkpoints().iter().cloned().collect();
        let mut w = node::replica::Replica::open(Store::open(witness.path()).unwrap()).unwrap();
        assert!(w.admit_checkpoints(cps).unwrap() >= 2);
    }
    let out = tally_any(
        witness.path(),
        &["verify", d.join("none").to_str().unwrap()],
    );
    assert!(!out.status.success(), "a missing file is an error");
    let file = witness.path().join("resigned.bundle");
    std::fs::write(&file, &resigned).unwrap();
    let out = tally_any(
        witness.path(),
        &["verify", "--json", file.to_str().unwrap()],
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["ok"], false, "{r}");
    let problems = r["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2, "{problems:?}");
    // The exporter's own checkpoint had the amendment...
    let text = problems[0].as_str().unwrap();
    assert!(
        text.starts_with("month/D01/2026-03: omits changes that 狱政科PC")
            && text.contains("the checkpoint is the exporting device's own: it had them")
            && text.contains("exported and signed by 狱政科PC"),
        "{text}"
    );
    // ...and the witness holds it, signed, stated before the export.
    let text = problems[1].as_str().unwrap();
    assert!(
        text.starts_with("month/D01/2026-03: lacks 1 signed change(s) this replica holds"),
        "{text}"
    );
    // Backdating the statement (to 2023) does not turn the checkpoint into
    // "taken after the export": the bundle carries the seal, written after
    // the checkpoint, so it was made after it.
    let mut b = decoded();
    b.months.get_mut(&d01).unwrap().pop();
    let backdated = b.encode_signed(&device, 1_700_000_000);
    std::fs::write(&file, &backdated).unwrap();
    let out = tally_any(
        witness.path(),
        &["verify", "--json", file.to_str().unwrap()],
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["witnessed"]["since_export"], 0, "{r}");
    assert!(
        r["problems"][0]
            .as_str()
            .is_some_and(|p| p.contains("omits changes that 狱政科PC")),
        "{r}"
    );
    // Merged into a replica, it adds nothing false: every change is
    // genuine, and the amendment comes with the next sync.
    let fresh = fresh_replica(d);
    assert!(merge(fresh.path(), &resigned).0);

    // 3. A change before the seal left out, signed again: the seal cannot
    // be verified (it follows what is missing), and so says verify; merged,
    // nothing that depends on the gap enters the document.
    let mut b = decoded();
    let changes = b.months.get_mut(&d01).unwrap();
    let gap = changes.remove(0);
    let before_seal = b.encode_signed(&device, now());
    let r = check(&before_seal, &p.authority);
    assert!(!r.ok);
    let mut names_gap = false;
    let unverifiable: Vec<String> = r
        .problems
        .iter()
        .filter_map(|x| match x {
            Problem::Unverifiable {
                change,
                wait: Wait::Changes(missing),
                ..
            } => {
                names_gap |= missing
                    .iter()
                    .any(|m| gap.hash().to_string().starts_with(m));
                Some(change.clone())
            }
            _ => None,
        })
        .collect();
    assert!(names_gap, "the missing change named: {:?}", r.problems);
    assert!(
        unverifiable
            .iter()
            .any(|c| seal_change.to_string().starts_with(c.as_str())),
        "the seal named as unverifiable: {:?}",
        r.problems
    );
    let fresh = fresh_replica(d);
    let (merged, said) = merge(fresh.path(), &before_seal);
    assert!(merged, "{said}");
    let store = Store::open(fresh.path()).unwrap();
    let held = store.load(&d01).unwrap();
    assert!(
        held.doc
            .automerge()
            .get_change_meta_by_hash(&seal_change)
            .is_none()
            && held
                .doc
                .automerge()
                .get_change_meta_by_hash(&amendment.hash())
                .is_none(),
        "the seal and what follows wait for the gap, outside the document"
    );

    // 4. The header edited to another prison: named, merged nowhere.
    let mut b = decoded();
    b.statement = None;
    b.header.prison = "另一监狱".into();
    let edited = b.encode();
    let r = check(&edited, &p.authority);
    assert!(r.problems.contains(&Problem::HeaderPrison {
        header: "另一监狱".into(),
        registry: "测试监狱".into()
    }));
    refused_whole(fresh_replica(d).path(), &edited, "the header was edited");

    // 5. From another prison's authority: named, merged nowhere.
    let other = SecretKey::from_seed(&[42; 32]).public();
    assert!(
        check(&honest, &other)
            .problems
            .contains(&Problem::ForeignAuthority)
    );
    let stranger = tempfile::tempdir().unwrap();
    assert!(
        tally(stranger.path(), &["init", "--prison", "别的监狱"])
            .status
            .success()
    );
    refused_whole(stranger.path(), &honest, "another prison authority");
}
