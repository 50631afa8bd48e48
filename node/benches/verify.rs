//! Verification benchmarks (issue: signed changes). Figures go to BENCHMARKS.md.
//!
//! * `verify/small_changes_20000` — a bundle of 20,000 signed changes, one
//!   record each (an officer saving row by row), verified from scratch on one
//!   core: signature, certificate, authorization, schema, apply, score. The
//!   figure divided into 20,000 is signed changes per second.
//! * `verify/month_10000` — the whole 10,000-inmate demo month (every
//!   district) plus the registry, as `tally export --month` writes it.
//!
//! Run: `cargo bench -p node --bench verify`.

use std::hint::black_box;

use crdt_schema::{
    Attendance, ChangeMeta, Date, DocId, KeyHex, Month, MonthDoc, RegistryDoc, RegistryKey, RuleSet,
};
use criterion::{Criterion, criterion_group, criterion_main};
use keys::{CertBody, Certificate, Role, SecretKey};
use node::bundle::Bundle;
use node::validate::SignedChange;
use node::verify;

/// 20,000 single-record changes by one officer of D01, March 2026.
fn small_changes_bundle(n: usize) -> (Vec<u8>, keys::PublicKey) {
    let authority = SecretKey::from_seed(&[1; 32]);
    let officer = SecretKey::from_seed(&[2; 32]);
    let admin = SecretKey::from_seed(&[3; 32]);
    let cert = |key: &SecretKey, no: &str, role, district: Option<&str>| {
        Certificate::issue(
            &authority,
            CertBody {
                officer_no: no.into(),
                name: "警官".into(),
                district: district.map(|d| d.parse().expect("district")),
                role,
                public_key: key.public(),
                valid_from: "2026-01-01".parse().expect("date"),
                valid_to: "2026-12-31".parse().expect("date"),
            },
        )
        .expect("cert")
    };
    let meta = |key: &SecretKey, heads| ChangeMeta {
        author: key.public().as_bytes().to_vec(),
        time: 1_772_500_000,
        message: "save".into(),
        registry_heads: heads,
    };
    let mut reg = RegistryDoc::new();
    let (_, c) = reg
        .write(&meta(&admin, vec![]), |w| {
            for (k, c) in [
                (&admin, cert(&admin, "ADMIN", Role::Admin, None)),
                (&officer, cert(&officer, "J001", Role::Officer, Some("D01"))),
            ] {
                w.put_trust(
                    &RegistryKey::Officer(KeyHex::from_bytes(k.public().as_bytes())),
                    &c.to_json(),
                )?;
            }
            w.put_district(&"D01".parse().expect("district"), "一监区")?;
            w.put_rule_set(&RuleSet::standard("2021-10".parse().expect("month")))
        })
        .expect("registry");
    let registry = vec![SignedChange::sign(
        &admin,
        &DocId::Registry,
        c.expect("change"),
    )];
    let doc = DocId::month(
        "D01".parse().expect("district"),
        "2026-03".parse().expect("month"),
    );
    let mut m = MonthDoc::new(
        "D01".parse().expect("district"),
        "2026-03".parse().expect("month"),
    );
    let heads = reg.document().heads();
    let work = Attendance::from_fields("work", "", "").expect("attendance");
    let mut month = Vec::with_capacity(n);
    for i in 0..n {
        let inmate = format!("52{:08}", i / 31).parse().expect("inmate");
        let date: Date = Month::new(2026, 3)
            .expect("month")
            .day((i % 31) as u8 + 1)
            .expect("day");
        let (_, c) = m
            .write(&meta(&officer, heads.clone()), |w| {
                w.put_attendance(&inmate, date, &work)
            })
            .expect("write");
        month.push(SignedChange::sign(&officer, &doc, c.expect("change")));
    }
    let b = Bundle {
        header: Bundle::new_header(
            "基准监狱",
            "2026-03".parse().expect("month"),
            Some("D01"),
            &authority.public().to_string(),
        ),
        registry,
        months: [(doc, month)].into_iter().collect(),
        statement: None,
        content_digest: [0; 32],
    };
    (b.encode(), authority.public())
}

/// The 10,000-inmate demo month exported as one bundle.
fn demo_month_bundle() -> (tempfile::TempDir, Vec<u8>, keys::PublicKey) {
    let (dir, store, authority, ids) = common::demo_store(10_000);
    let month = Month::new(2026, 10).expect("month");
    let reg = store.load(&DocId::Registry).expect("registry");
    let mut bundle = Bundle {
        header: Bundle::new_header(
            &store.config().prison,
            month,
            None,
            &store.config().authority,
        ),
        registry: verify::signed_changes(reg.doc.automerge(), &reg.signatures).expect("signed"),
        months: Default::default(),
        statement: None,
        content_digest: [0; 32],
    };
    for id in ids {
        let l = store.load(&id).expect("month");
        bundle.months.insert(
            id,
            verify::signed_changes(l.doc.automerge(), &l.signatures).expect("signed"),
        );
    }
    (dir, bundle.encode(), authority.public())
}

mod common;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("verify");
    g.sample_size(10);
    let (bytes, authority) = small_changes_bundle(20_000);
    let r = verify::verify(&bytes, &authority);
    assert!(r.ok, "{:?}", r.problems);
    g.bench_function("small_changes_20000", |b| {
        b.iter(|| verify::verify(black_box(&bytes), &authority))
    });

    let (_dir, bytes, authority) = demo_month_bundle();
    let r = verify::verify(&bytes, &authority);
    assert!(r.ok, "{:?}", r.problems);
    eprintln!(
        "month_10000 bundle: {} bytes, {} registry + {} month changes",
        bytes.len(),
        r.registry_changes,
        r.months.iter().map(|m| m.changes).sum::<u32>()
    );
    g.bench_function("month_10000", |b| {
        b.iter(|| verify::verify(black_box(&bytes), &authority))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
