//! Transfers between districts (RULES.md, "Districts and transfers") and
//! records that do not count, with the arithmetic written out.
//!
//! The month is April 2026 (K = 30). P1's standard time is 60 000 ms (one
//! minute), so a 480-minute day at grade 100% requires
//! `REQ = 480 × 60000 × 10000 / 10000 = 28 800 000 ms`, 480 units.

use crdt_schema::*;

const MONTH: &str = "2026-04";

fn meta() -> ChangeMeta {
    ChangeMeta {
        author: vec![7; 32],
        time: 0,
        message: "test".into(),
        registry_heads: Vec::new(),
    }
}

fn d(day: u8) -> Date {
    MONTH.parse::<Month>().unwrap().day(day).unwrap()
}
fn no(s: &str) -> InmateNo {
    InmateNo::new(s).unwrap()
}
fn p(s: &str) -> ProcedureId {
    ProcedureId::new(s).unwrap()
}
fn district(s: &str) -> DistrictId {
    DistrictId::new(s).unwrap()
}

struct Prison {
    registry: RegistryDoc,
    d01: MonthDoc,
    d02: MonthDoc,
}

impl Prison {
    fn new() -> Prison {
        let mut registry = RegistryDoc::new();
        registry
            .write(&meta(), |w| {
                w.set_prison("测试监狱")?;
                w.put_district(&district("D01"), "一监区")?;
                w.put_district(&district("D02"), "二监区")?;
                w.put_product(&ProductId::new("X").unwrap(), "衬衫")?;
                w.put_procedure_version(
                    &p("P1"),
                    "2026-01-01".parse().unwrap(),
                    &ProcedureVersion {
                        product: ProductId::new("X").unwrap(),
                        name: "缝领".into(),
                        std_ms: 60_000,
                    },
                )?;
                w.put_rule_set(&RuleSet::standard("2021-10".parse().unwrap()))?;
                for n in ["T1", "T2", "S1"] {
                    w.put_inmate(
                        &no(n),
                        &Inmate {
                            name: format!("犯{n}"),
                            district: district("D01"),
                            admitted: "2020-01-01".parse().unwrap(),
                            released: None,
                        },
                    )?;
                }
                Ok(())
            })
            .unwrap();
        Prison {
            registry,
            d01: MonthDoc::new(district("D01"), MONTH.parse().unwrap()),
            d02: MonthDoc::new(district("D02"), MONTH.parse().unwrap()),
        }
    }

    fn transfer(&mut self, n: &str, day: u8, to: &str) {
        self.registry
            .write(&meta(), |w| w.put_transfer(&no(n), d(day), &district(to)))
            .unwrap();
    }

    fn doc(&mut self, dist: &str) -> &mut MonthDoc {
        match dist {
            "D01" => &mut self.d01,
            _ => &mut self.d02,
        }
    }

    fn att(&mut self, dist: &str, n: &str, day: u8, t: &str) {
        let a = Attendance::from_fields(t, "480", "").unwrap();
        self.doc(dist)
            .write(&meta(), |w| w.put_attendance(&no(n), d(day), &a))
            .unwrap();
    }

    fn count(&mut self, dist: &str, n: &str, day: u8, q: u64) {
        self.doc(dist)
            .write(&meta(), |w| w.put_count(&no(n), d(day), &p("P1"), q))
            .unwrap();
    }

    fn work(&mut self, dist: &str, n: &str, day: u8, q: u64) {
        self.att(dist, n, day, "work");
        self.count(dist, n, day, q);
    }

    fn report(&self, dist: &str) -> Report {
        let r = self.registry.facts();
        let (f1, f2) = (self.d01.facts(), self.d02.facts());
        let (own, other) = if dist == "D01" {
            (&f1, &f2)
        } else {
            (&f2, &f1)
        };
        score_month(&r, &Sources::new(&r, own, [other]).unwrap()).unwrap()
    }

    fn explain(&self, dist: &str, n: &str) -> Option<InmateExplanation> {
        let r = self.registry.facts();
        let (f1, f2) = (self.d01.facts(), self.d02.facts());
        let (own, other) = if dist == "D01" {
            (&f1, &f2)
        } else {
            (&f2, &f1)
        };
        explain_inmate(&r, &Sources::new(&r, own, [other]).unwrap(), &no(n)).unwrap()
    }
}

/// T1 moves from D01 to D02 on the 16th: days 1–15 are D01's (480 units,
/// 100%), days 16–30 D02's (900 units, 187.5%).
fn moved_on_the_16th() -> Prison {
    let mut pr = Prison::new();
    pr.transfer("T1", 16, "D02");
    for day in 1..=15 {
        pr.work("D01", "T1", day, 480);
    }
    for day in 16..=30 {
        pr.work("D02", "T1", day, 900);
    }
    pr
}

#[test]
fn an_inmate_moved_on_the_16th_is_scored_once_over_the_whole_month() {
    let mut pr = moved_on_the_16th();
    let d02 = pr.report("D02");
    let r = d02.inmate(&no("T1")).expect("D02 reports T1");
    // C = 30 (in custody all month, in one district or the other), D = 30.
    assert_eq!((r.custody_days, r.labor_days, r.work_days), (30, 30, 30));
    // Σf = 30 × 10000 (every day at least 100%) →
    // BASE = 3000 × 30 × 300000 / (30 × 30 × 10000) = 27 000 000 000 / 9 000 000 = 3000.
    assert_eq!((r.factor_sum_bp, r.base_cp), (300_000, Cp(3000)));
    // ΣEARNED = (15 × 480 + 15 × 900) × 60000 = 20 700 × 60000 = 1 242 000 000;
    // ΣREQ = 30 × 28 800 000 = 864 000 000.
    assert_eq!((r.earned_ms, r.req_ms), (1_242_000_000, 864_000_000));
    // over = 1 242 000 000 × 10000 / 864 000 000 − 10000 = 14375 − 10000 = 4375 bp;
    // bonus = 4375 × 1/2 = 2187, capped at 1500 over the whole month.
    assert_eq!(r.over_bp, Bp(4375));
    assert!(r.over_eligible);
    assert_eq!(r.overfulfil_bonus_cp, Cp(1500));
    // 1500 ≥ 500 needs the prison group's approval: pending until given.
    assert_eq!(
        (r.bonus_cp, r.pending_bonus_cp, r.labor_cp),
        (Cp(0), Cp(1500), Cp(3000))
    );
    assert_eq!(d02.body.read_from, vec![district("D01")]);

    // The approval is written in the reporting district's document.
    pr.d02
        .write(&meta(), |w| {
            w.put_group_approval(&no("T1"), ApprovalTarget::OverfulfilmentBonus, Cp(1500))
        })
        .unwrap();
    let r = pr.report("D02").inmate(&no("T1")).unwrap().clone();
    // LABOR = 3000 + 1500 = 4500.
    assert_eq!((r.bonus_cp, r.labor_cp), (Cp(1500), Cp(4500)));
    assert!(r.flags.is_empty(), "{:?}", r.flags);

    // D01 does not score T1 and says where T1 went.
    let d01 = pr.report("D01");
    assert!(d01.inmate(&no("T1")).is_none());
    assert_eq!(
        d01.body.transferred_out,
        vec![TransferredOut {
            inmate_no: no("T1"),
            date: d(16),
            to: district("D02"),
        }]
    );
    assert!(d01.body.read_from.is_empty());
    // The explanation reads each day from the district that held T1.
    let e = pr.explain("D02", "T1").unwrap();
    assert_eq!(e.days.len(), 30);
    assert_eq!(e.days[14].district, Some(district("D01")));
    assert_eq!(e.days[15].district, Some(district("D02")));
    assert!(pr.explain("D01", "T1").is_none());
}

#[test]
fn continuity_is_judged_over_the_whole_month_across_districts() {
    let mut pr = Prison::new();
    pr.transfer("T2", 16, "D02");
    for day in 1..=15 {
        // Day 3 in D01 at 240 units: 50%.
        pr.work("D01", "T2", day, if day == 3 { 240 } else { 480 });
    }
    for day in 16..=30 {
        pr.work("D02", "T2", day, 900);
    }
    let r = pr.report("D02").inmate(&no("T2")).unwrap().clone();
    // One work day below 100% in D01 breaks continuous over-fulfilment for
    // the month, although every D02 day is over: no bonus.
    assert!(!r.over_eligible);
    assert_eq!(r.overfulfil_bonus_cp, Cp(0));
    // Σf = 14 × 10000 + 5000 + 15 × 10000 = 295 000 →
    // BASE = 3000 × 30 × 295000 / (30 × 30 × 10000) = 2950, below base.
    assert_eq!(
        (r.factor_sum_bp, r.base_cp, r.labor_cp),
        (295_000, Cp(2950), Cp(2950))
    );
    assert_eq!(r.flags, vec![Flag::BelowBase]);
}

#[test]
fn a_report_refuses_to_be_computed_without_a_document_it_reads() {
    let pr = moved_on_the_16th();
    let r = pr.registry.facts();
    let f2 = pr.d02.facts();
    let err = Sources::alone(&r, &f2).unwrap_err();
    assert_eq!(
        err,
        ScoreError::MissingSource {
            district: district("D02"),
            month: MONTH.parse().unwrap(),
            other: district("D01"),
        }
    );
    assert!(err.to_string().contains("reads D01's document"), "{err}");
    // D01's own report reads no other document: it needs none.
    let f1 = pr.d01.facts();
    assert!(Sources::alone(&r, &f1).is_ok());
}

fn seal(pr: &mut Prison) {
    let r = pr.registry.facts();
    let (f1, f2) = (pr.d01.facts(), pr.d02.facts());
    let digest = digest_to_seal(&r, &Sources::new(&r, &f2, [&f1]).unwrap()).unwrap();
    let heads = |m: &MonthDoc| -> Vec<String> {
        m.document().heads().iter().map(|h| h.to_string()).collect()
    };
    let s = Seal {
        district: district("D02"),
        month: MONTH.parse().unwrap(),
        heads: heads(&pr.d02),
        digest: digest.0,
        sources: [(district("D01"), heads(&pr.d01))].into_iter().collect(),
        roster: Default::default(),
        rules: None,
        forced: String::new(),
    };
    pr.d02.write(&meta(), |w| w.put_seal(&s)).unwrap();
}

fn report_as_read(pr: &Prison) -> Report {
    let r = pr.registry.facts();
    let f2 = pr.d02.facts();
    let f1 = pr.d01.facts_for(&f2);
    score_month(&r, &Sources::new(&r, &f2, [&f1]).unwrap()).unwrap()
}

#[test]
fn a_later_change_in_the_first_districts_document_amends_the_second_districts_seal() {
    let mut pr = moved_on_the_16th();
    seal(&mut pr);
    let sealed = report_as_read(&pr);
    let s = sealed.seal.as_ref().expect("sealed");
    assert!(s.current, "the seal matches the report just sealed");
    assert_eq!(s.amended, 0);
    assert!(
        !sealed
            .inmate(&no("T1"))
            .unwrap()
            .flags
            .contains(&Flag::AmendedAfterSeal)
    );

    // D01 corrects T1's count of the 5th after D02 sealed the month.
    pr.count("D01", "T1", 5, 400);
    let after = report_as_read(&pr);
    let s = after.seal.as_ref().unwrap();
    assert!(!s.current);
    assert_eq!(s.amended, 1);
    assert!(!s.registry_changed);
    let t1 = after.inmate(&no("T1")).unwrap();
    assert!(t1.flags.contains(&Flag::AmendedAfterSeal), "{:?}", t1.flags);
    // ΣEARNED = (14 × 480 + 400 + 15 × 900) × 60000 = 20 620 × 60000 = 1 237 200 000.
    assert_eq!(t1.earned_ms, 1_237_200_000);
}

#[test]
fn records_that_do_not_count_are_listed_and_flagged() {
    let mut pr = moved_on_the_16th();
    // A count with no attendance record (S1, day 2), a count on a sick day
    // (S1, day 3), a team assignment on a rest day (S1, day 4).
    pr.work("D01", "S1", 1, 480);
    pr.count("D01", "S1", 2, 472);
    pr.att("D01", "S1", 3, "sick");
    pr.count("D01", "S1", 3, 100);
    pr.att("D01", "S1", 4, "rest");
    pr.d01
        .write(&meta(), |w| w.put_assignment(&no("S1"), d(4), &p("P1")))
        .unwrap();
    // A record in D01's document for a day T1 was in D02.
    pr.work("D01", "T1", 20, 480);
    // not_in_custody for a day the roster holds S1 in custody.
    pr.att("D01", "S1", 5, "not_in_custody");

    let d01 = pr.report("D01");
    let s1 = d01.inmate(&no("S1")).unwrap();
    // Only day 1 counts: EARNED = 480 × 60000 = 28 800 000; day 3 (sick) is
    // a labor day with factor 0: D = 2, Σf = 10000, C = 30 →
    // BASE = 3000 × 30 × 10000 / (30 × 2 × 10000) = 1500.
    assert_eq!(
        (s1.earned_ms, s1.labor_days, s1.base_cp),
        (28_800_000, 2, Cp(1500))
    );
    assert_eq!(s1.custody_days, 30);
    assert!(s1.flags.contains(&Flag::RecordsNotCounted));
    let keys: Vec<&str> = d01.body.problems.iter().map(|p| p.key.as_str()).collect();
    for k in [
        "cnt/S1/02/P1",
        "cnt/S1/03/P1",
        "asg/S1/04/P1",
        "att/S1/05",
        "att/T1/20",
        "cnt/T1/20/P1",
    ] {
        assert!(keys.contains(&k), "{k} not in {keys:?}");
    }
    let reason = |k: &str| {
        d01.body
            .problems
            .iter()
            .find(|p| p.key == k)
            .map(|p| p.reason.clone())
            .unwrap()
    };
    assert!(reason("cnt/S1/02/P1").contains("no attendance record"));
    assert!(reason("cnt/S1/03/P1").contains("sick day"));
    assert!(reason("att/T1/20").contains("was in D02 on 2026-04-20"));

    // D02's report, which scores T1, names the stray record by its document
    // and flags T1; T1's score is unchanged by it.
    let d02 = pr.report("D02");
    let t1 = d02.inmate(&no("T1")).unwrap();
    assert!(t1.flags.contains(&Flag::RecordsNotCounted));
    assert_eq!(t1.earned_ms, 1_242_000_000);
    assert!(
        d02.body
            .problems
            .iter()
            .any(|p| p.key == "month/D01/2026-04:cnt/T1/20/P1"),
        "{:?}",
        d02.body.problems
    );

    // The board shows what the score counts and marks what it does not:
    // S1's count of the 2nd is done 0, not "done 472 / over 472".
    let r = pr.registry.facts();
    let b = board(&r, &pr.d01.facts(), d(2)).unwrap();
    let row = b.rows.iter().find(|r| r.inmate_no == no("S1")).unwrap();
    assert_eq!((row.done, row.over, row.earned_ms), (0, 0, 0));
    assert_eq!(row.not_counted.len(), 1);
    assert!(
        row.not_counted[0].starts_with("cnt/S1/02/P1: "),
        "{:?}",
        row.not_counted
    );
    // D01's board on the 20th shows T1's stray record, counted as nothing.
    let b = board(&r, &pr.d01.facts(), d(20)).unwrap();
    let row = b.rows.iter().find(|r| r.inmate_no == no("T1")).unwrap();
    assert_eq!((row.done, row.earned_ms), (0, 0));
    assert_eq!(row.not_counted.len(), 2, "{:?}", row.not_counted);
}

#[test]
fn the_board_and_the_score_agree_on_every_inmate_day() {
    let mut pr = moved_on_the_16th();
    pr.work("D01", "S1", 1, 480);
    pr.count("D01", "S1", 2, 472);
    pr.work("D01", "T1", 20, 480);
    let r = pr.registry.facts();
    for (dist, doc) in [("D01", &pr.d01), ("D02", &pr.d02)] {
        for day in 1..=30 {
            let b = board(&r, &doc.facts(), d(day)).unwrap();
            for row in &b.rows {
                // The score of the inmate's month is computed by the district
                // holding them at the month's end; its day is this board's
                // when this district held them that day.
                let holder = r.district_on(&row.inmate_no, d(day));
                let reporting = r
                    .custody(&row.inmate_no, MONTH.parse().unwrap())
                    .reporting()
                    .cloned();
                let e = pr
                    .explain(reporting.as_ref().unwrap().as_str(), row.inmate_no.as_str())
                    .unwrap();
                let fig = e.days.iter().find(|f| f.date == d(day));
                if holder == Some(&district(dist)) {
                    let (earned, req) = fig.map(|f| (f.earned_ms, f.req_ms)).unwrap_or((0, 0));
                    assert_eq!(
                        (row.earned_ms, row.req_ms),
                        (earned, req),
                        "{dist} {day} {}",
                        row.inmate_no
                    );
                    assert_eq!(row.rate_bp, fig.and_then(|f| f.rate_bp));
                } else {
                    assert_eq!((row.earned_ms, row.req_ms), (0, 0));
                    assert!(!row.not_counted.is_empty());
                }
            }
        }
    }
}

#[test]
fn a_transfer_recorded_after_the_seal_amends_the_receiving_month() {
    // D02 seals April with T1 still D01's; then the records office records
    // T1's move to D02 on the 16th. D02's report now reads D01's document,
    // which its seal did not: T1's records there are amendments.
    let mut pr = Prison::new();
    for day in 1..=15 {
        pr.work("D01", "T1", day, 480);
    }
    for day in 16..=30 {
        pr.work("D02", "T1", day, 480);
    }
    let r = pr.registry.facts();
    let f2 = pr.d02.facts();
    let digest = digest_to_seal(&r, &Sources::alone(&r, &f2).unwrap()).unwrap();
    let s = Seal {
        district: district("D02"),
        month: MONTH.parse().unwrap(),
        heads: pr
            .d02
            .document()
            .heads()
            .iter()
            .map(|h| h.to_string())
            .collect(),
        digest: digest.0,
        sources: Default::default(),
        roster: Default::default(),
        rules: None,
        forced: String::new(),
    };
    pr.d02.write(&meta(), |w| w.put_seal(&s)).unwrap();
    let before = report_as_read(&pr);
    assert!(before.seal.as_ref().unwrap().current);
    pr.transfer("T1", 16, "D02");
    let after = report_as_read(&pr);
    let t1 = after.inmate(&no("T1")).expect("D02 now scores T1");
    assert!(t1.flags.contains(&Flag::AmendedAfterSeal), "{:?}", t1.flags);
    let seal = after.seal.as_ref().unwrap();
    assert!(!seal.current);
    assert_eq!(seal.amended, 1);
}

#[test]
fn the_weekly_sheet_of_a_week_with_a_transfer_gives_each_district_its_own_days() {
    // T1 moves to D02 on Thursday 16 April, in 2026-W16 (13 to 19 April):
    // D01 held T1 Monday to Wednesday (3 days at 480 of 480), D02 from
    // Thursday (4 days at 900 of 480). An entry of 300 cp written in D01's
    // document on the 14th is for D01's group, though D02 reports T1.
    let mut pr = moved_on_the_16th();
    let a = Adjustment {
        date: d(14),
        points_cp: Cp(300),
        reason: "技术革新".into(),
        evidence: String::new(),
        special: false,
        no_post: false,
    };
    let (id, _) = pr
        .d01
        .write(&meta(), |w| w.put_adjustment(&no("T1"), &a))
        .unwrap();
    let r = pr.registry.facts();
    let (f1, f2) = (pr.d01.facts(), pr.d02.facts());
    // Every report reading D01's document: D01's own and D02's (T1's).
    let mut explained = explain_month(&r, &Sources::new(&r, &f1, [&f2]).unwrap()).unwrap();
    explained.extend(explain_month(&r, &Sources::new(&r, &f2, [&f1]).unwrap()).unwrap());
    let week = Week::of(d(13)).unwrap();
    let for_d01 = week_sheet(&explained, week, &district("D01"));
    let t1 = for_d01
        .iter()
        .find(|w| w.inmate_no == no("T1"))
        .expect("T1 on D01's sheet");
    // 3 days, EARNED = REQ = 3 × 28 800 000: 10 000 bp.
    assert_eq!((t1.labor_days, t1.req_ms), (3, 86_400_000));
    assert_eq!(t1.rate, Some(Bp(10_000)));
    assert_eq!(t1.entries.len(), 1);
    assert_eq!(t1.entries[0].id, id.0);
    let for_d02 = week_sheet(&explained, week, &district("D02"));
    let t1 = for_d02
        .iter()
        .find(|w| w.inmate_no == no("T1"))
        .expect("T1 on D02's sheet");
    // 4 days: EARNED = 4 × 900 × 60 000 = 216 000 000, REQ = 4 × 28 800 000
    // = 115 200 000: 216 000 000 × 10 000 / 115 200 000 = 18 750 bp.
    assert_eq!(
        (t1.labor_days, t1.earned_ms, t1.req_ms),
        (4, 216_000_000, 115_200_000)
    );
    assert_eq!(t1.rate, Some(Bp(18_750)));
    assert!(t1.entries.is_empty(), "D01's entry is not D02's to review");
}
