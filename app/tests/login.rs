//! Login refusals, through the login form: a revoked officer's key and an
//! expired certificate each get a clear message naming the reason, and no
//! screen opens.

mod common;

use common::{PASS, demo, harness, key_of, log_in};
use crdt_schema::{DistrictId, RegistryKey};
use eframe::egui;
use egui_kittest::kittest::Queryable;
use keys::{KdfParams, KeyFile, KeyKind, Revocation, RevocationBody, Role, SecretKey};
use node::identity;
use node::keyfile::KeyFileIo;
use node::prison::{issue_cert, trust_key};
use node::session::WriteSession;
use node::store::Store;

/// Signs `f`'s registry writes as the demo prison's admin.
fn as_admin(
    data: &std::path::Path,
    f: impl FnOnce(&mut crdt_schema::RegistryWriter<'_, '_>) -> Result<(), crdt_schema::SchemaError>,
) {
    let admin = identity::unlock_officer(&identity::admin_key_path(data), PASS).expect("admin");
    let store = Store::open(data).expect("store");
    let mut s =
        WriteSession::begin(&store, &admin, app::clock::unix_now(), "test").expect("session");
    s.write_registry(f).expect("signed");
    s.commit().expect("stored");
}

#[test]
fn a_revoked_officer_cannot_log_in() {
    let dir = demo();
    let data = dir.path();
    let key = key_of(data, Role::Officer);
    let officer = identity::unlock_officer(&key, PASS).expect("officer");
    let authority = identity::unlock_authority(data, PASS).expect("authority");
    let revocation = Revocation::issue(
        &authority,
        RevocationBody {
            officer_no: officer.certificate.body.officer_no.clone(),
            public_key: officer.public(),
            date: "2026-10-25".parse().expect("date"),
        },
    )
    .expect("revocation");
    as_admin(data, |w| {
        w.put_trust(
            &RegistryKey::Revocation(trust_key(&officer.public())),
            &revocation.to_json(),
        )
        .map(|_| ())
    });
    let mut h = harness(data);
    log_in(&mut h, &key, PASS);
    assert!(h.state().officer().is_none(), "not logged in");
    let e = h.state().login_error().expect("an error").to_string();
    assert!(e.contains("已被吊销"), "said in the screen's language: {e}");
    assert!(
        e.contains(&officer.certificate.body.officer_no),
        "names the officer: {e}"
    );
}

#[test]
fn an_expired_certificate_cannot_log_in() {
    let dir = demo();
    let data = dir.path();
    let authority = identity::unlock_authority(data, PASS).expect("authority");
    let key = SecretKey::generate().expect("key");
    let d01: DistrictId = "D01".parse().expect("district");
    let cert = issue_cert(
        &authority,
        &key,
        "X900",
        "过期警官",
        Some(d01),
        Role::Officer,
        "2024-01-01".parse().expect("date"),
        "2025-12-31".parse().expect("date"),
    )
    .expect("certificate");
    as_admin(data, |w| {
        w.put_trust(
            &RegistryKey::Officer(trust_key(&key.public())),
            &cert.to_json(),
        )
        .map(|_| ())
    });
    let file = data.join("x900.key");
    KeyFile::seal(
        &key,
        KeyKind::Officer,
        PASS,
        KdfParams::STANDARD,
        Some(cert),
    )
    .expect("sealed")
    .write_new(&file)
    .expect("written");
    let mut h = harness(data);
    log_in(&mut h, &file, PASS);
    assert!(h.state().officer().is_none(), "not logged in");
    let e = h.state().login_error().expect("an error").to_string();
    assert!(e.contains("过期"), "{e}");
    assert!(
        e.contains("2025-12-31"),
        "says until when it was valid: {e}"
    );
}

#[test]
fn the_english_switch_turns_the_screens_to_english() {
    let dir = demo();
    let data = dir.path();
    let mut h = harness(data);
    h.get_by_label("English").click();
    h.run_steps(2);
    let key = key_of(data, Role::Officer);
    common::fill(&mut h, "Key file", &key.display().to_string());
    common::fill(&mut h, "Passphrase", PASS);
    h.get_by_role_and_label(egui::accesskit::Role::Button, "Log in")
        .click();
    common::settle(&mut h);
    assert!(h.state().officer().is_some(), "logged in");
    for tab in ["Daily entry", "Daily board", "Monthly scores", "Sync"] {
        assert!(h.query_by_label(tab).is_some(), "{tab}");
    }
    assert!(
        h.query_by_label("今日录入").is_none(),
        "no Chinese tab left"
    );
    assert!(
        h.query_all_by_label_contains("1 work  2 rest day").count() >= 1,
        "day types in English, not 出工 or their codes"
    );
    h.get_by_label("中文").click();
    h.run_steps(2);
    assert!(h.query_by_label("今日录入").is_some(), "and back");
}
