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

use crdt_schema::{DocId, MonthDoc, score_month};
use criterion::{Criterion, criterion_group, criterion_main};
use node::read;
use node::store::Store;

mod common;

/// The demo month of `inmates` inmates: directory, store, documents.
fn demo_store(inmates: u32) -> (tempfile::TempDir, Store, Vec<DocId>) {
    let (dir, store, _, ids) = common::demo_store(inmates);
    (dir, store, ids)
}

fn bench(c: &mut Criterion) {
    // 1800 inmates → 6 districts of 300.
    let (_dir, store, ids) = demo_store(1800);
    let registry = read::registry_facts(&store, None).expect("registry").0;
    let doc = store
        .load(&ids[0])
        .expect("load")
        .typed(MonthDoc::from_document)
        .expect("month");
    assert_eq!(
        score_alone(&registry, &doc.doc.facts())
            .expect("score")
            .body
            .inmates
            .len(),
        300
    );
    let mut g = c.benchmark_group("score/district_300");
    g.bench_function("in_memory", |b| {
        b.iter(|| score_alone(&registry, &black_box(&doc.doc).facts()).expect("score"))
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
            let registry = read::registry_facts(&store, None).expect("registry").0;
            read::score(&store, &registry, black_box(&ids))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

/// A month no transfer touches, scored from its own document.
fn score_alone(
    registry: &crdt_schema::RegistryFacts,
    facts: &crdt_schema::MonthFacts,
) -> Result<crdt_schema::Report, crdt_schema::ScoreError> {
    crdt_schema::Sources::alone(registry, facts).and_then(|s| score_month(registry, &s))
}
