//! A month written the way officers write it — a few rows per save — against
//! the same month written in bulk (issue 13). Figures go to BENCHMARKS.md.
//!
//! The facts of one 300-inmate demo district-month (attendance and counts)
//! are written three ways into fresh documents, each change signed:
//! * `bulk`: one change per day (all inmates of the day), as `tally demo` does;
//! * `rows, one actor`: one change per inmate-day, all under one actor — an
//!   officer saving on one device, as tally writes since actors continue;
//! * `rows, actor per save`: the same changes, each under a new random
//!   actor, as tally wrote before.
//!
//! All three score to the same report digest (checked). Measured side by
//! side, median of several runs: scoring (facts from the document, then the
//! score), loading the saved document, one more save at month end (load,
//! one change, save), and serving a fresh replica (the sync protocol, in
//! memory, until both hold the same changes).
//!
//! Run: `cargo bench -p node --bench saves`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crdt_schema::automerge::Automerge;
use crdt_schema::automerge::sync::{State, SyncDoc};
use crdt_schema::{
    Attendance, ChangeMeta, Date, DocId, Document, InmateNo, MonthDoc, MonthFacts, ProcedureId,
    RegistryFacts, score_month,
};
use keys::SecretKey;
use node::read;

mod common;
use common::now;

/// One 300-inmate district-month's facts from the demo (1,800 inmates in
/// six districts), with its registry.
fn demo_month() -> (RegistryFacts, MonthFacts) {
    let (_dir, store, _, ids) = common::demo_store(1800);
    let registry = read::registry_facts(&store, None).expect("registry").0;
    let facts = store
        .load(&ids[0])
        .expect("load")
        .typed(MonthDoc::from_document)
        .expect("typed")
        .doc
        .facts();
    (registry, facts)
}

type Row = (InmateNo, Date, Attendance, Vec<(ProcedureId, u64)>);

fn rows(facts: &MonthFacts) -> Vec<Row> {
    let mut out = Vec::new();
    for (no, m) in &facts.inmates {
        for (day, a) in &m.attendance {
            let date = facts.month.day(*day).expect("day of the month");
            let counts = m
                .counts
                .get(day)
                .map(|c| c.iter().map(|(p, e)| (p.clone(), e.value)).collect())
                .unwrap_or_default();
            out.push((no.clone(), date, a.value, counts));
        }
    }
    out
}

enum Way {
    Bulk,
    OneActor,
    ActorPerSave,
}

/// The month's rows written `way`; returns the document and its change count.
fn write(way: &Way, id: &DocId, rows: &[Row], key: &SecretKey) -> (MonthDoc, usize) {
    let mut doc = MonthDoc::from_document(Document::new(id.clone())).expect("month doc");
    let author = key.public().as_bytes().to_vec();
    let meta = ChangeMeta {
        author: author.clone(),
        time: now(),
        message: "bench".into(),
        registry_heads: Vec::new(),
    };
    let groups: Vec<Vec<&Row>> = match way {
        Way::Bulk => {
            let mut by_day: BTreeMap<Date, Vec<&Row>> = BTreeMap::new();
            for r in rows {
                by_day.entry(r.1).or_default().push(r);
            }
            by_day.into_values().collect()
        }
        Way::OneActor | Way::ActorPerSave => rows.iter().map(|r| vec![r]).collect(),
    };
    doc.document_mut().set_actor_suffix(&author, [1; 8]);
    let mut n = 0;
    for (i, g) in groups.iter().enumerate() {
        if matches!(way, Way::ActorPerSave) {
            let mut suffix = [0u8; 8];
            suffix.copy_from_slice(&(i as u64 + 2).to_le_bytes());
            doc.document_mut().set_actor_suffix(&author, suffix);
        }
        let (_, c) = doc
            .write(&meta, |w| {
                for (no, date, a, counts) in g {
                    w.put_attendance(no, *date, a)?;
                    for (p, q) in counts {
                        w.put_count(no, *date, p, *q)?;
                    }
                }
                Ok(())
            })
            .expect("write");
        n += usize::from(c.is_some());
    }
    (doc, n)
}

fn median(mut f: impl FnMut() -> Duration, runs: usize) -> Duration {
    let mut v: Vec<Duration> = (0..runs).map(|_| f()).collect();
    v.sort();
    v[runs / 2]
}

fn time(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

/// Serves `doc` to an empty replica through Automerge's sync protocol (what
/// `PeerSync` runs beside the signed changes), until neither has more to say.
fn serve(doc: &Automerge) -> Duration {
    let mut from = doc.fork();
    let mut to = Automerge::new();
    let (mut sf, mut st) = (State::new(), State::new());
    time(|| {
        for _ in 0..1000 {
            let a = from.generate_sync_message(&mut sf);
            if let Some(m) = &a {
                to.receive_sync_message(&mut st, m.clone())
                    .expect("receive");
            }
            let b = to.generate_sync_message(&mut st);
            if let Some(m) = &b {
                from.receive_sync_message(&mut sf, m.clone())
                    .expect("receive");
            }
            if a.is_none() && b.is_none() {
                break;
            }
        }
        assert_eq!(to.get_heads(), from.get_heads(), "served whole");
    })
}

fn main() {
    let (registry, facts) = demo_month();
    let id = DocId::month(facts.district.clone(), facts.month);
    let rows = rows(&facts);
    let key = SecretKey::from_seed(&[5; 32]);
    let ways = [
        ("bulk (a change per day)", Way::Bulk),
        ("rows, one actor", Way::OneActor),
        ("rows, an actor per save", Way::ActorPerSave),
    ];
    println!(
        "{} inmate-days of {} inmates, {} {}",
        rows.len(),
        facts.inmates.len(),
        facts.district,
        facts.month
    );
    println!(
        "{:<26} {:>8} {:>8} {:>10} {:>12} {:>14} {:>10}",
        "written as", "changes", "actors", "score", "load+score", "one more save", "serve"
    );
    let mut digest = None;
    let mut base = None;
    for (name, way) in &ways {
        let (doc, changes) = write(way, &id, &rows, &key);
        let am = doc.document().automerge();
        let actors = {
            let mut a: Vec<Vec<u8>> = am
                .get_changes_meta(&[])
                .iter()
                .map(|c| c.actor.to_bytes().to_vec())
                .collect();
            a.sort();
            a.dedup();
            a.len()
        };
        // Same facts, whatever the actors: the same digest.
        let d = score_alone(&registry, &doc.facts())
            .expect("score")
            .digest
            .to_string();
        assert_eq!(digest.get_or_insert_with(|| d.clone()), &d, "{name}");
        let score = median(
            || {
                time(|| {
                    std::hint::black_box(score_alone(&registry, &doc.facts()).expect("score"));
                })
            },
            7,
        );
        let saved = doc.document().save();
        // As `tally score` does: the stored document loaded, read, scored.
        let load = median(
            || {
                time(|| {
                    let am = Automerge::load(&saved).expect("load");
                    let doc = Document::from_automerge(id.clone(), am).expect("doc");
                    let m = MonthDoc::from_document(doc).expect("month");
                    std::hint::black_box(score_alone(&registry, &m.facts()).expect("score"));
                })
            },
            7,
        );
        let more = median(
            || {
                time(|| {
                    let am = Automerge::load(&saved).expect("load");
                    let doc = Document::from_automerge(id.clone(), am).expect("doc");
                    let mut m = MonthDoc::from_document(doc).expect("month");
                    m.document_mut()
                        .set_actor_suffix(key.public().as_bytes(), [1; 8]);
                    let (no, date, a, _) = &rows[0];
                    let meta = ChangeMeta {
                        author: key.public().as_bytes().to_vec(),
                        time: now(),
                        message: "one more".into(),
                        registry_heads: Vec::new(),
                    };
                    m.write(&meta, |w| w.put_attendance(no, *date, a).map(|_| ()))
                        .expect("write");
                    std::hint::black_box(m.document().save());
                })
            },
            5,
        );
        let serve = median(|| serve(am), 3);
        let (l0, m0, v0) = *base.get_or_insert((load, more, serve));
        println!(
            "{name:<26} {changes:>8} {actors:>8} {:>7.1} ms {:>9.1} ms {:>11.1} ms {:>7.1} ms   \
             load+score {:.2}×, one more save {:.2}×, serve {:.2}× bulk",
            ms(score),
            ms(load),
            ms(more),
            ms(serve),
            load.as_secs_f64() / l0.as_secs_f64(),
            more.as_secs_f64() / m0.as_secs_f64(),
            serve.as_secs_f64() / v0.as_secs_f64(),
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A month no transfer touches, scored from its own document.
fn score_alone(
    registry: &crdt_schema::RegistryFacts,
    facts: &crdt_schema::MonthFacts,
) -> Result<crdt_schema::Report, crdt_schema::ScoreError> {
    crdt_schema::Sources::alone(registry, facts).and_then(|s| score_month(registry, &s))
}
