//! Scoring benchmarks (issue: foundation). Figures go to BENCHMARKS.md.
//!
//! * `score/district_300/in_memory` — read the facts of one 300-inmate
//!   district-month from its Automerge document and score it.
//! * `score/district_300/from_disk` — the same, loading the snapshot from disk.
//! * `score/month_10000/from_disk` — the whole 10,000-inmate demo month:
//!   load and score every district-month in parallel, as `tally score --month` does.
//!
//! Run: `cargo bench -p node --bench score`.

use std::hint::black_box;

use crdt_schema::{Date, DocId, Month, MonthDoc, score_month};
use criterion::{Criterion, criterion_group, criterion_main};
use node::demo::{self, DemoOptions};
use node::store::Store;
use node::{identity, prison, read};

/// A data directory holding the demo month of `inmates` inmates.
fn demo_store(inmates: u32) -> (tempfile::TempDir, Store, Vec<DocId>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let pass = "bench passphrase";
    let today: Date = node::validate::date_of(now()).expect("date");
    prison::init_prison(dir.path(), "基准监狱", pass, today, now()).expect("init");
    let store = Store::open(dir.path()).expect("open");
    let admin =
        identity::unlock_officer(&identity::admin_key_path(dir.path()), pass).expect("admin");
    let authority = identity::unlock_authority(dir.path(), pass).expect("authority");
    let month = Month::new(2026, 10).expect("month");
    let g = demo::generate(
        &store,
        &admin,
        &authority,
        now(),
        DemoOptions {
            inmates,
            month,
            seed: 1,
        },
    )
    .expect("demo");
    let ids = g
        .districts
        .iter()
        .map(|d| DocId::month(d.clone(), month))
        .collect();
    (dir, store, ids)
}

/// Now, as an author states it (the admin's certificate starts the day of `init`).
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn bench(c: &mut Criterion) {
    // 1800 inmates → 6 districts of 300.
    let (_dir, store, ids) = demo_store(1800);
    let registry = read::registry(&store).expect("registry").0.facts();
    let doc = store
        .load(&ids[0])
        .expect("load")
        .typed(MonthDoc::from_document)
        .expect("month");
    assert_eq!(
        score_month(&registry, &doc.doc.facts())
            .expect("score")
            .body
            .inmates
            .len(),
        300
    );
    let mut g = c.benchmark_group("score/district_300");
    g.bench_function("in_memory", |b| {
        b.iter(|| score_month(&registry, &black_box(&doc.doc).facts()).expect("score"))
    });
    g.bench_function("from_disk", |b| {
        b.iter(|| read::score(&store, &registry, black_box(&ids[..1])))
    });
    g.finish();

    let (_dir, store, ids) = demo_store(10_000);
    let mut g = c.benchmark_group("score/month_10000");
    g.sample_size(10);
    g.bench_function("from_disk", |b| {
        b.iter(|| {
            let registry = read::registry(&store).expect("registry").0.facts();
            read::score(&store, &registry, black_box(&ids))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
