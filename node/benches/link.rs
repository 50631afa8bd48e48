//! The month-end link (issue 17): the whole 10,000-inmate demo month
//! written to a real PostgreSQL server the bench starts itself (Debian's
//! `postgresql`; see `tests/support/pg.rs`). Figures go to BENCHMARKS.md.
//!
//! * `link/month_10000/first` — every sealed district-month (33 of 34,
//!   9,700-odd inmates with their entries) linked into empty tables, one
//!   transaction each: the database's side of a month end.
//! * `link/month_10000/unchanged` — the same again: one read and a log line
//!   per district-month.
//! * `link/month_10000/relink` — every district-month replaced at the next
//!   version, the previous rows copied to the history.
//! * `link/month_10000/check` — read back and compared (`tally link --check`).
//! * `link/month_10000/score_and_link` — what `tally link` does after its
//!   process starts: load and score the month, connect, link (unchanged).
//!
//! Run: `cargo bench -p node --bench link`.

use std::hint::black_box;

use crdt_schema::Month;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use node::service::Service;

mod common;
#[path = "../tests/support/pg.rs"]
mod pg;

fn bench(c: &mut Criterion) {
    let (dir, _store, _, _) = common::demo_store(10_000);
    let server = pg::Pg::start();
    let target = link::Target::new(&server.url(), Some(pg::DB_PASSWORD), None).expect("target");
    let month = Month::new(2026, 10).expect("month");
    let service = Service::open(dir.path()).expect("service");
    let months = service
        .link_months(month, None, false)
        .expect("link months")
        .value;
    let sealed: Vec<_> = months
        .months
        .iter()
        .filter(|m| m.report.seal.as_ref().is_some_and(|s| s.current))
        .collect();
    let rows: usize = sealed.iter().map(|m| m.report.body.inmates.len()).sum();
    let entries: usize = sealed.iter().map(|m| m.entries.len()).sum();
    eprintln!(
        "{} sealed district-months of {}, {rows} inmates, {entries} entries",
        sealed.len(),
        months.months.len()
    );
    assert!(rows > 9_000, "the demo seals all districts but one");
    let mut client = target.connect().expect("connect");
    link::ensure_schema(&mut client).expect("schema");
    let link_all = |client: &mut link::postgres::Client| {
        for m in &sealed {
            black_box(link::apply(client, &m.input(&months), false).expect("link"));
        }
    };
    let empty = |client: &mut link::postgres::Client| {
        client
            .batch_execute(
                "TRUNCATE tally_months, tally_labor, tally_labor_history, tally_entries, tally_link_log",
            )
            .expect("truncate");
    };

    let mut g = c.benchmark_group("link/month_10000");
    g.sample_size(10);
    let client = std::cell::RefCell::new(client);
    g.bench_function("first", |b| {
        b.iter_batched(
            || empty(&mut client.borrow_mut()),
            |()| link_all(&mut client.borrow_mut()),
            BatchSize::PerIteration,
        )
    });
    link_all(&mut client.borrow_mut());
    g.bench_function("unchanged", |b| {
        b.iter(|| link_all(&mut client.borrow_mut()))
    });
    // A re-link: the rows of every month are replaced. The database holds
    // them from another report (a digest it cannot match), so each pass
    // replaces them all.
    g.bench_function("relink", |b| {
        b.iter_batched(
            || {
                client
                    .borrow_mut()
                    .batch_execute(
                        "UPDATE tally_months SET digest = 'stale'; TRUNCATE tally_labor_history",
                    )
                    .expect("stale");
            },
            |()| link_all(&mut client.borrow_mut()),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("check", |b| {
        b.iter(|| {
            for m in &sealed {
                let found =
                    link::check_month(&mut client.borrow_mut(), &m.input(&months)).expect("check");
                assert!(found.is_empty(), "{found:?}");
            }
        })
    });
    g.bench_function("score_and_link", |b| {
        b.iter(|| {
            let months = service
                .link_months(month, None, false)
                .expect("link months")
                .value;
            let mut client = target.connect().expect("connect");
            link::ensure_schema(&mut client).expect("schema");
            for m in &months.months {
                black_box(link::apply(&mut client, &m.input(&months), false).expect("link"));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
