//! The default demo prison: its numbers are plausible (README.md states
//! them), it has a transfer, a record that does not count and a rule-set
//! revision, and its daily board shows, for every inmate-day of the month,
//! exactly what the score counts.

use std::collections::BTreeMap;

use crdt_schema::{
    DocId, Flag, InmateExplanation, InmateNo, Month, MonthDoc, MonthFacts, Sources, board,
    explain_inmate, score_month,
};
use node::store::Store;

#[test]
fn the_default_demo_is_plausible_and_its_board_agrees_with_its_score() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8 path").to_string();
    let code = node::cli::run_from(["tally", "--data", &data, "demo"]).expect("demo prison");
    assert_eq!(code, std::process::ExitCode::SUCCESS);

    let store = Store::open(dir.path()).expect("store");
    let registry = node::read::registry_facts(&store, None)
        .expect("registry")
        .0;
    let month: Month = "2026-10".parse().unwrap();
    assert!(
        registry.rule_sets.len() >= 2,
        "the demo publishes a rule-set revision"
    );
    let facts: BTreeMap<_, MonthFacts> = registry
        .districts
        .keys()
        .map(|d| {
            let doc = store
                .load(&DocId::month(d.clone(), month))
                .expect("load")
                .typed(MonthDoc::from_document)
                .expect("month");
            (d.clone(), doc.doc.facts())
        })
        .collect();
    let all: Vec<MonthFacts> = facts.values().cloned().collect();

    let mut explained: BTreeMap<(String, InmateNo), InmateExplanation> = BTreeMap::new();
    for (d, f) in &facts {
        let sources = Sources::new(&registry, f, &all).expect("sources");
        let r = score_month(&registry, &sources).expect("score");
        let n = r.body.inmates.len();
        let count = |p: &dyn Fn(&crdt_schema::InmateResult) -> bool| {
            r.body.inmates.iter().filter(|i| p(i)).count()
        };
        let below = count(&|i| i.flags.contains(&Flag::BelowBase));
        // Roughly 10–25% of a district below base (README.md).
        assert!(
            n / 10 <= below && below <= n / 4,
            "{d}: {below} of {n} below base"
        );
        // A few over-fulfilers with a real bonus (3 points or more).
        let over = count(&|i| i.overfulfil_bonus_cp.0 >= 300);
        assert!(
            (5..=n / 5).contains(&over),
            "{d}: {over} of {n} earn 3+ points"
        );
        // A few outliers held for review.
        let outliers = count(&|i| i.flags.contains(&Flag::RateOutlier));
        assert!((1..=6).contains(&outliers), "{d}: {outliers} outliers");
        if d.as_str() == "D01" {
            assert_eq!(r.body.transferred_out.len(), 1, "D01's transfer");
            assert!(count(&|i| i.flags.contains(&Flag::RecordsNotCounted)) >= 1);
            assert!(
                r.body
                    .problems
                    .iter()
                    .any(|p| p.reason.contains("on a rest day does not count")),
                "{:?}",
                r.body.problems
            );
        }
        if d.as_str() == "D02" {
            assert_eq!(r.body.read_from, vec!["D01".parse().unwrap()]);
        }
        for i in &r.body.inmates {
            let e = explain_inmate(&registry, &sources, &i.inmate_no)
                .expect("explain")
                .expect("reported");
            assert_eq!(&e.result, i);
            explained.insert((d.to_string(), i.inmate_no.clone()), e);
        }
    }

    // Every board row of every day: what the score counted that day.
    let mut rows = 0;
    for (d, f) in &facts {
        for date in month.dates() {
            let b = board(&registry, f, date).expect("board");
            for row in &b.rows {
                let no = &row.inmate_no;
                let holder = registry.district_on(no, date);
                if holder != Some(d) {
                    assert_eq!(
                        (row.earned_ms, row.req_ms, row.done),
                        (0, 0, 0),
                        "{d} {date} {no}"
                    );
                    assert!(!row.not_counted.is_empty(), "{d} {date} {no}");
                    continue;
                }
                let reporting = registry
                    .custody(no, month)
                    .reporting()
                    .cloned()
                    .expect("in custody");
                let e = &explained[&(reporting.to_string(), no.clone())];
                let day = e.days.iter().find(|x| x.date == date);
                let (earned, req, rate) =
                    day.map_or((0, 0, None), |x| (x.earned_ms, x.req_ms, x.rate_bp));
                assert_eq!(
                    (row.earned_ms, row.req_ms, row.rate_bp),
                    (earned, req, rate),
                    "{d} {date} {no}"
                );
                assert_eq!(
                    row.day_type,
                    day.and_then(|x| x.day_type),
                    "{d} {date} {no}"
                );
                rows += 1;
            }
        }
    }
    // 1200 inmates over 31 days, less days out of custody.
    assert!(rows > 1200 * 29, "{rows} inmate-days compared");
}

fn load_month(store: &Store, district: &crdt_schema::DistrictId, month: Month) -> MonthDoc {
    store
        .load(&DocId::month(district.clone(), month))
        .expect("load")
        .typed(MonthDoc::from_document)
        .expect("month")
        .doc
}

/// Each report of the month as scored alone: its document and every source
/// read for it (`MonthDoc::facts_for`), the way before `read::score` read
/// each document once.
fn scored_alone(store: &Store, month: Month) -> Vec<serde_json::Value> {
    let registry = node::read::registry_facts(store, None).expect("registry").0;
    registry
        .districts
        .keys()
        .map(|d| {
            let load = |d: &crdt_schema::DistrictId| load_month(store, d, month);
            let facts = load(d).facts();
            let others: Vec<MonthFacts> = registry
                .sources_of(d, month)
                .iter()
                .map(|s| load(s).facts_for(&facts))
                .collect();
            let sources = Sources::new(&registry, &facts, &others).expect("sources");
            serde_json::to_value(score_month(&registry, &sources).expect("score")).expect("json")
        })
        .collect()
}

fn scored_at_once(store: &Store, month: Month) -> Vec<serde_json::Value> {
    let registry = node::read::registry_facts(store, None).expect("registry").0;
    let ids: Vec<DocId> = registry
        .districts
        .keys()
        .map(|d| DocId::month(d.clone(), month))
        .collect();
    node::read::score(store, &registry, &ids)
        .into_iter()
        .map(|r| serde_json::to_value(r.expect("scored").report).expect("json"))
        .collect()
}

/// `read::score` reads each of a month's documents once, and a sealed
/// report's source through the heads its own later seals followed
/// (`MonthDoc::heads_before_seals`): its reports are those scored one by
/// one — after a source's seal-only change, and after one writing a seal
/// and a record the sealed report reads in one change (not taken for a
/// seal: the report shows the amendment).
#[test]
fn scoring_a_month_at_once_equals_scoring_each_district_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8 path").to_string();
    node::cli::run_from(["tally", "--data", &data, "demo", "--inmates", "300"]).expect("demo");
    let store = Store::open(dir.path()).expect("store");
    let month: Month = "2026-10".parse().unwrap();
    let (d01, d02) = (
        "D01".parse::<crdt_schema::DistrictId>().unwrap(),
        "D02".parse::<crdt_schema::DistrictId>().unwrap(),
    );
    let registry = node::read::registry_facts(&store, None)
        .expect("registry")
        .0;
    assert!(
        registry.sources_of(&d02, month).contains(&d01),
        "the demo's mover makes D02's report read D01's document"
    );
    assert_eq!(scored_at_once(&store, month), scored_alone(&store, month));

    // The demo's chiefs, their keys derived from its seed as the demo does.
    let authority = node::identity::unlock_authority(dir.path(), "tally-demo").expect("authority");
    let staff = node::demo::Staff::issue(
        &authority,
        &registry.districts.keys().cloned().collect::<Vec<_>>(),
        node::demo::DemoOptions {
            inmates: 300,
            ..Default::default()
        },
    )
    .expect("staff");
    let d01_chief = &staff.chiefs[&d01];
    let d02_chief = &staff.chiefs[&d02];
    let at = 1_794_000_000; // 2026-11-06, after the postings ended
    // D02 seals again (recording D01's heads now), then D01 does: D01's last
    // change is a seal, and D02's seal recorded the heads before it.
    for (who, d) in [(d02_chief, &d02), (d01_chief, &d01)] {
        let mut s =
            node::session::WriteSession::begin(&store, who, at, "re-seal").expect("session");
        node::close::seal_month(&mut s, d, month).expect("seal");
        s.commit().expect("commit");
    }
    let d01_doc = load_month(&store, &d01, month);
    let chain = d01_doc.heads_before_seals();
    assert!(chain.len() >= 2, "D01 ends with seals");
    let d02_seal = load_month(&store, &d02, month)
        .facts()
        .seal
        .expect("D02 sealed")
        .seal;
    assert_eq!(
        d02_seal.sources[&d01],
        chain[1].iter().map(|h| h.to_string()).collect::<Vec<_>>(),
        "D02's seal recorded D01's heads before D01's last seal: read without going back"
    );
    let once = scored_at_once(&store, month);
    assert_eq!(once, scored_alone(&store, month));
    let d02_report = &once[1];
    assert_eq!(
        d02_report["seal"]["amended"],
        serde_json::json!(0),
        "{}",
        d02_report["seal"]
    );

    // One change by D01's chief writing a seal and, for the mover, a day
    // D02's report reads (before the move): an amendment D02 must show.
    let mover = registry.transfers.keys().next().expect("the mover").clone();
    let day: crdt_schema::Date = "2026-10-05".parse().unwrap();
    let mut s = node::session::WriteSession::begin(&store, d01_chief, at + 60, "seal and a fix")
        .expect("session");
    let seal = s
        .month(&d01, month)
        .unwrap()
        .facts()
        .seal
        .expect("sealed")
        .seal;
    s.write_month(&d01, month, |w| {
        w.put_seal(&seal)?;
        w.put_attendance(
            &mover,
            day,
            &crdt_schema::Attendance::from_fields("sick", "", "").expect("attendance"),
        )
    })
    .expect("write");
    s.commit().expect("commit");
    let d01_doc = load_month(&store, &d01, month);
    assert_eq!(
        d01_doc.heads_before_seals().len(),
        1,
        "a seal with a record is not a seal alone"
    );
    let once = scored_at_once(&store, month);
    assert_eq!(once, scored_alone(&store, month));
    assert_eq!(
        once[1]["seal"]["amended"],
        serde_json::json!(1),
        "{}",
        once[1]["seal"]
    );
}
