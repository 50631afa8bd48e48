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
    let registry = node::read::registry(&store).expect("registry").0.facts();
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
