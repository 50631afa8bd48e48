//! One test per rule of shared/RULES.md, each with its arithmetic written out.
//!
//! The fixture: district D01, month 2026-04 (K = 30 days), procedure P1 of
//! 60 000 ms (one standard minute) per unit, the standard rule set. A work day
//! of A = 480 minutes at g = 10000 bp requires REQ = 480 × 60000 × 10000 / 10000
//! = 28 800 000 ms, i.e. a quota of 480 units of P1.

use crdt_schema::*;

const MONTH: &str = "2026-04";

struct Fixture {
    registry: RegistryDoc,
    month: MonthDoc,
}

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

impl Fixture {
    fn new() -> Fixture {
        Fixture::with_rules(RuleSet::standard("2021-10".parse().unwrap()))
    }

    fn with_rules(rules: RuleSet) -> Fixture {
        let mut registry = RegistryDoc::new();
        registry
            .write(&meta(), |w| {
                w.set_prison("测试监狱")?;
                w.put_district(&DistrictId::new("D01").unwrap(), "一监区")?;
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
                w.put_rule_set(&rules)?;
                Ok(())
            })
            .unwrap();
        let month = MonthDoc::new(DistrictId::new("D01").unwrap(), MONTH.parse().unwrap());
        let mut f = Fixture { registry, month };
        for n in ["A1", "A2", "A3", "A4"] {
            f.inmate(n, "2020-01-01", None);
        }
        f
    }

    fn inmate(&mut self, n: &str, admitted: &str, released: Option<&str>) {
        self.registry
            .write(&meta(), |w| {
                w.put_inmate(
                    &no(n),
                    &Inmate {
                        name: format!("犯{n}"),
                        district: DistrictId::new("D01").unwrap(),
                        admitted: admitted.parse().unwrap(),
                        released: released.map(|r| r.parse().unwrap()),
                    },
                )
            })
            .unwrap();
    }

    fn rules(&mut self, rules: RuleSet) {
        self.registry
            .write(&meta(), |w| w.put_rule_set(&rules))
            .unwrap();
    }

    fn procedure(&mut self, id: &str, from: &str, std_ms: u64) {
        self.registry
            .write(&meta(), |w| {
                w.put_procedure_version(
                    &p(id),
                    from.parse().unwrap(),
                    &ProcedureVersion {
                        product: ProductId::new("X").unwrap(),
                        name: "工序".into(),
                        std_ms,
                    },
                )
            })
            .unwrap();
    }

    fn att(&mut self, n: &str, day: u8, t: &str, minutes: &str, grade: &str) {
        let a = Attendance::from_fields(t, minutes, grade).unwrap();
        self.month
            .write(&meta(), |w| w.put_attendance(&no(n), d(day), &a))
            .unwrap();
    }

    /// A work day of 480 minutes with `q` units of P1.
    fn work(&mut self, n: &str, day: u8, q: u64) {
        self.att(n, day, "work", "480", "");
        self.count(n, day, "P1", q);
    }

    fn count(&mut self, n: &str, day: u8, proc_: &str, q: u64) {
        self.month
            .write(&meta(), |w| w.put_count(&no(n), d(day), &p(proc_), q))
            .unwrap();
    }

    fn adjust(&mut self, n: &str, day: u8, cp: i64, reason: &str) -> AdjustmentId {
        let a = Adjustment {
            date: d(day),
            points_cp: Cp(cp),
            reason: reason.into(),
            evidence: String::new(),
            special: false,
            no_post: false,
        };
        self.month
            .write(&meta(), |w| w.put_adjustment(&no(n), &a))
            .unwrap()
            .0
            .0
    }

    /// A review held on `day` (in its week) by `members` with `yes` in
    /// favour, deciding `decisions` of A-inmates' entries.
    fn review(
        &mut self,
        day: u8,
        members: u32,
        yes: u32,
        decisions: &[(&str, &AdjustmentId, Outcome)],
    ) -> Result<ContentId, SchemaError> {
        let r = Review {
            week: Week::of(d(day)).unwrap(),
            held: d(day),
            members,
            present: members,
            in_favour: yes,
            decisions: decisions
                .iter()
                .map(|(n, id, outcome)| Decision {
                    inmate: no(n),
                    entry: (*id).clone(),
                    outcome: *outcome,
                })
                .collect(),
            dissent: String::new(),
        };
        self.month
            .write(&meta(), |w| w.put_review(&r))
            .map(|(id, _)| id)
    }

    /// Passes `ids` of inmate `n` at a review of a 7-member group, 5 in favour.
    fn pass(&mut self, n: &str, ids: &[&AdjustmentId]) {
        let decisions: Vec<(&str, &AdjustmentId, Outcome)> =
            ids.iter().map(|id| (n, *id, Outcome::Pass)).collect();
        self.review(28, 7, 5, &decisions).unwrap();
    }

    /// The prison group's approval (rule sets with decision levels).
    fn approve(&mut self, n: &str, target: ApprovalTarget, cp: i64) {
        self.month
            .write(&meta(), |w| w.put_group_approval(&no(n), target, Cp(cp)))
            .unwrap();
    }

    /// The chief's approval (the former procedure's).
    fn approve_as_chief(&mut self, n: &str, target: ApprovalTarget, cp: i64) {
        self.month
            .write(&meta(), |w| w.put_approval(&no(n), target, Cp(cp)))
            .unwrap();
    }

    fn report(&self) -> Report {
        let (r, m) = (self.registry.facts(), self.month.facts());
        score_month(&r, &Sources::alone(&r, &m).unwrap()).unwrap()
    }

    fn result(&self, n: &str) -> InmateResult {
        self.report().inmate(&no(n)).unwrap().clone()
    }

    fn explain(&self, n: &str) -> InmateExplanation {
        let (r, m) = (self.registry.facts(), self.month.facts());
        explain_inmate(&r, &Sources::alone(&r, &m).unwrap(), &no(n))
            .unwrap()
            .unwrap()
    }
}

#[test]
fn a_full_month_at_exactly_quota_earns_the_whole_base() {
    let mut f = Fixture::new();
    for day in 1..=22 {
        f.work("A1", day, 480);
    }
    let r = f.result("A1");
    // Each day: EARNED = 480 × 60000 = 28 800 000 = REQ → r = 10000, f = 10000.
    // D = 22, Σf = 220 000, C = K = 30.
    // BASE = 3000 × 30 × 220000 / (30 × 22 × 10000) = 19 800 000 000 / 6 600 000 = 3000.
    assert_eq!(
        (r.labor_days, r.factor_sum_bp, r.custody_days),
        (22, 220_000, 30)
    );
    assert_eq!((r.base_num, r.base_den), (19_800_000_000, 6_600_000));
    assert_eq!(r.base_cp, Cp(3000));
    // over_bp = 10000 − 10000 = 0; eligible but the bonus is 0.
    assert_eq!(
        (r.over_bp, r.over_eligible, r.overfulfil_bonus_cp),
        (Bp(0), true, Cp(0))
    );
    assert_eq!(r.labor_cp, Cp(3000));
    assert_eq!(r.flags, vec![]);
}

#[test]
fn a_short_day_lowers_the_base_and_blocks_the_bonus() {
    let mut f = Fixture::new();
    f.work("A1", 1, 360); // r = 360×60000×10000/28 800 000 = 7500
    f.work("A1", 2, 480); // r = 10000
    let r = f.result("A1");
    // D = 2, Σf = 7500 + 10000 = 17500.
    // BASE = 3000 × 30 × 17500 / (30 × 2 × 10000) = 1 575 000 000 / 600 000 = 2625.
    assert_eq!(r.factor_sum_bp, 17_500);
    assert_eq!(r.base_cp, Cp(2625));
    assert!(!r.over_eligible);
    assert_eq!(r.labor_cp, Cp(2625));
    assert_eq!(r.flags, vec![Flag::BelowBase]);
}

#[test]
fn over_fulfilment_bonus_below_the_approval_threshold_counts_at_once() {
    let mut f = Fixture::new();
    f.work("A1", 1, 520);
    f.work("A1", 2, 520);
    let r = f.result("A1");
    // r = 520×60000×10000 / 28 800 000 = 312e9 / 28.8e6 = 10833 (truncated) → f = 10000.
    // over_bp = ΣEARNED×10000/ΣREQ − 10000 = (62 400 000×10000)/57 600 000 − 10000
    //         = 10833 − 10000 = 833; BONUS = 833 × 1 / 2 = 416 (< 500: no approval needed).
    assert_eq!(r.base_cp, Cp(3000));
    assert_eq!(r.over_bp, Bp(833));
    assert_eq!(r.overfulfil_bonus_cp, Cp(416));
    assert_eq!((r.bonus_cp, r.pending_bonus_cp), (Cp(416), Cp(0)));
    assert_eq!(r.labor_cp, Cp(3416));
    assert_eq!(r.flags, vec![]);
    let e = f.explain("A1");
    assert_eq!(e.days[0].rate_bp, Some(Bp(10_833)));
    assert_eq!(e.days[0].factor_bp, Some(Bp(10_000)));
}

#[test]
fn a_bonus_of_500_needs_approval_of_exactly_that_amount() {
    let mut f = Fixture::new();
    f.work("A1", 1, 528); // 528/480 = 110% → r = 11000
    f.work("A1", 2, 528);
    let r = f.result("A1");
    // over_bp = 11000 − 10000 = 1000; BONUS = 1000 / 2 = 500 ≥ 500 ("以上" includes the number).
    assert_eq!(r.overfulfil_bonus_cp, Cp(500));
    assert_eq!((r.bonus_cp, r.pending_bonus_cp), (Cp(0), Cp(500)));
    assert_eq!(r.labor_cp, Cp(3000));
    assert_eq!(r.flags, vec![Flag::NeedsApproval]);

    // An approval of another amount does not count.
    f.approve("A1", ApprovalTarget::OverfulfilmentBonus, 499);
    assert_eq!(f.result("A1").pending_bonus_cp, Cp(500));

    f.approve("A1", ApprovalTarget::OverfulfilmentBonus, 500);
    let r = f.result("A1");
    assert_eq!((r.bonus_cp, r.pending_bonus_cp), (Cp(500), Cp(0)));
    assert_eq!(r.labor_cp, Cp(3500));
    assert_eq!(r.flags, vec![]);

    // A later count raises the bonus: the approval no longer matches, it is pending again.
    f.count("A1", 2, "P1", 576); // day 2 now 120%
    let r = f.result("A1");
    // over_bp = (528+576)×60000×10000/57 600 000 − 10000 = 11500 − 10000 = 1500 → BONUS 750.
    assert_eq!(
        (r.overfulfil_bonus_cp, r.pending_bonus_cp),
        (Cp(750), Cp(750))
    );
}

#[test]
fn the_bonus_cap_is_shared_with_other_labor_bonuses() {
    let mut f = Fixture::new();
    f.work("A1", 1, 720); // 150%
    f.approve("A1", ApprovalTarget::OverfulfilmentBonus, 1500);
    let id = f.adjust("A1", 3, 300, "技术革新");
    f.pass("A1", &[&id]);
    let r = f.result("A1");
    // over_bp = 15000 − 10000 = 5000; 5000/2 = 2500 → capped at 1500; approved.
    // bonus = min(1500, 1500 + 300) = 1500. D = 1, Σf = 10000 → BASE = 3000×30×10000/(30×1×10000) = 3000.
    assert_eq!(r.overfulfil_bonus_cp, Cp(1500));
    assert_eq!(r.other_bonus_cp, Cp(300));
    assert_eq!(r.bonus_cp, Cp(1500));
    assert_eq!(r.labor_cp, Cp(4500));
}

#[test]
fn continuity_every_work_day_must_be_over() {
    let mut f = Fixture::new();
    f.work("A1", 1, 720); // 150%
    f.work("A1", 2, 470); // 97.9%: breaks continuity
    let r = f.result("A1");
    // over_bp over the month = (720+470)×60000×10000/57 600 000 − 10000 = 12395 − 10000 = 2395,
    // but not every work day reached 100%: no bonus.
    assert_eq!(r.over_bp, Bp(2395));
    assert!(!r.over_eligible);
    assert_eq!(r.overfulfil_bonus_cp, Cp(0));
}

#[test]
fn continuity_by_run_of_consecutive_work_days() {
    let mut rules = RuleSet::standard("2026-04".parse().unwrap());
    rules.continuity = Continuity::Run { days: 3 };
    let mut f = Fixture::with_rules(rules);
    f.work("A1", 1, 528); // 110%
    f.work("A1", 2, 528);
    f.att("A1", 3, "rest", "", ""); // rest: neither breaks nor extends
    f.work("A1", 4, 432); // 90%: breaks
    f.work("A1", 5, 528);
    f.att("A1", 6, "rest", "", "");
    f.work("A1", 7, 528);
    let r = f.result("A1");
    // Runs: days 1–2 (2), then 4 breaks, then 5,7 (2): no run of 3.
    assert!(!r.over_eligible);
    f.work("A1", 8, 528);
    // Now 5, 7, 8 is a run of 3 labor days all ≥ 100%.
    let r = f.result("A1");
    assert!(r.over_eligible);
    // Work days 1, 2, 4, 5, 7, 8: ΣEARNED = (528×5 + 432) units = 3072 units × 60000 ms;
    // over_bp = 3072×60000×10000 / (6×28 800 000) − 10000 = 10666 − 10000 = 666 → BONUS 333.
    assert_eq!(r.over_bp, Bp(666));
    assert_eq!(r.overfulfil_bonus_cp, Cp(333));
}

#[test]
fn every_day_type_has_its_factor() {
    let mut f = Fixture::new();
    f.work("A1", 1, 480); // f = 10000
    f.work("A1", 2, 360); // f = 7500
    f.att("A1", 3, "stoppage", "", ""); // floor((10000 + 7500) / 2) = 8750
    f.att("A1", 4, "sick", "", ""); // 0
    f.att("A1", 5, "no_quota", "", "一般"); // 8000
    f.att("A1", 6, "rest", "", ""); // not a labor day
    f.att("A1", 7, "study", "", ""); // not a labor day
    f.att("A1", 8, "confined", "", ""); // 0
    f.att("A1", 9, "absent", "", ""); // 0
    f.att("A1", 10, "no_quota", "", "优秀"); // 10000
    let e = f.explain("A1");
    let factors: Vec<Option<i64>> = e.days.iter().map(|d| d.factor_bp.map(|b| b.0)).collect();
    assert_eq!(
        factors,
        [
            Some(10_000),
            Some(7500),
            Some(8750),
            Some(0),
            Some(8000),
            None,
            None,
            Some(0),
            Some(0),
            Some(10_000)
        ]
    );
    let r = e.result;
    // D = 8, Σf = 10000+7500+8750+0+8000+0+0+10000 = 44250.
    // BASE = 3000 × 30 × 44250 / (30 × 8 × 10000) = 3 982 500 000 / 2 400 000 = 1659 (1659.375 truncated).
    assert_eq!((r.labor_days, r.factor_sum_bp), (8, 44_250));
    assert_eq!(r.base_cp, Cp(1659));
}

#[test]
fn stoppage_before_any_work_day_counts_full() {
    let mut f = Fixture::new();
    f.att("A1", 1, "stoppage", "", "");
    f.work("A1", 2, 240); // 50%
    let e = f.explain("A1");
    assert_eq!(e.days[0].factor_bp, Some(Bp(10_000)));
    // Σf = 10000 + 5000 = 15000, D = 2 → BASE = 3000×30×15000/(30×2×10000) = 2250.
    assert_eq!(e.result.base_cp, Cp(2250));
}

#[test]
fn custody_pro_rates_the_base() {
    let mut f = Fixture::new();
    f.inmate("N1", "2026-04-16", None); // C = 16..30 = 15 days
    for day in 16..=25 {
        f.work("N1", day, 480);
    }
    let r = f.result("N1");
    // BASE = 3000 × 15 × 100000 / (30 × 10 × 10000) = 4 500 000 000 / 3 000 000 = 1500.
    assert_eq!((r.custody_days, r.base_cp), (15, Cp(1500)));

    f.inmate("R1", "2020-01-01", Some("2026-04-10")); // C = 1..10 = 10 days (release day included)
    for day in 1..=8 {
        f.work("R1", day, 480);
    }
    // BASE = 3000 × 10 × 80000 / (30 × 8 × 10000) = 1000.
    assert_eq!(f.result("R1").base_cp, Cp(1000));

    // Custody comes from the roster alone (RULES.md, "Records that do not
    // count"): `not_in_custody` written for days the roster holds A2 in
    // custody is ignored, each listed, and A2 flagged.
    for day in 1..=20 {
        f.work("A2", day, 480);
    }
    for day in 21..=30 {
        f.att("A2", day, "not_in_custody", "", "");
    }
    let report = f.report();
    let a2 = report.inmate(&no("A2")).unwrap();
    // C = 30 (not 20), D = 20, Σf = 200000 →
    // BASE = 3000 × 30 × 200000 / (30 × 20 × 10000) = 18 000 000 000 / 6 000 000 = 3000.
    assert_eq!((a2.custody_days, a2.base_cp), (30, Cp(3000)));
    assert!(a2.flags.contains(&Flag::RecordsNotCounted));
    let listed: Vec<&str> = report
        .body
        .problems
        .iter()
        .filter(|p| p.key.starts_with("att/A2/"))
        .map(|p| p.key.as_str())
        .collect();
    assert_eq!(listed.len(), 10, "{listed:?}");
    assert_eq!(listed[0], "att/A2/21");
}

#[test]
fn a_month_without_labor_days_scores_zero_with_a_flag() {
    let mut f = Fixture::new();
    for day in 1..=30 {
        f.att("A1", day, "exempt", "", "");
    }
    f.adjust("A1", 5, -200, "违反操作规程");
    let r = f.result("A1");
    assert_eq!((r.base_cp, r.deduct_cp, r.labor_cp), (Cp(0), Cp(0), Cp(0)));
    assert_eq!(r.flags, vec![Flag::Exempt]);
    // 入监教育: only study days → every figure 0, below_base.
    for day in 1..=30 {
        f.att("A2", day, "study", "", "");
    }
    let r = f.result("A2");
    assert_eq!(r.labor_cp, Cp(0));
    assert_eq!(r.flags, vec![Flag::BelowBase]);
    // A roster inmate with no record at all is in the report too, at 0.
    assert_eq!(f.result("A3").flags, vec![Flag::BelowBase]);
}

#[test]
fn standard_times_follow_the_version_in_force_on_the_day() {
    let mut f = Fixture::new();
    f.procedure("P1", "2026-04-16", 48_000); // revised from 60 s to 48 s per unit
    f.work("A1", 10, 480); // old version: 480 × 60000 = 28 800 000 → r = 10000
    f.work("A1", 20, 480); // new version: 480 × 48000 = 23 040 000 → r = 8000
    let e = f.explain("A1");
    assert_eq!(e.days[0].rate_bp, Some(Bp(10_000)));
    assert_eq!(e.days[1].rate_bp, Some(Bp(8000)));
    assert_eq!(
        e.days[1].lines[0].version_from,
        Some("2026-04-16".parse().unwrap())
    );
}

#[test]
fn team_counts_split_by_minutes_with_largest_remainder() {
    let mut f = Fixture::new();
    f.att("A1", 1, "work", "480", "");
    f.att("A2", 1, "work", "480", "");
    f.att("A3", 1, "work", "240", "");
    f.att("A4", 1, "sick", "", ""); // assigned but did not work: no share
    f.month
        .write(&meta(), |w| {
            for n in ["A1", "A2", "A3", "A4"] {
                w.put_assignment(&no(n), d(1), &p("P1"))?;
            }
            w.put_team_count(d(1), &p("P1"), 1001)
        })
        .unwrap();
    // W = 480 + 480 + 240 = 1200.
    // A1: 1001×480 = 480 480 → 400 r 480;  A2: 400 r 480;  A3: 1001×240 = 240 240 → 200 r 240.
    // 1 unit left: the largest remainder is 480 (A1, A2 tie) → the lower number, A1 → 401.
    let shares: Vec<u64> = ["A1", "A2", "A3"]
        .iter()
        .map(|n| f.explain(n).days[0].lines[0].team_share)
        .collect();
    assert_eq!(shares, vec![401, 400, 200]);
    // A3: r = 200 × 60000 × 10000 / (240 × 60000) = 8333.
    assert_eq!(f.explain("A3").days[0].rate_bp, Some(Bp(8333)));
    assert!(f.explain("A4").days[0].lines.is_empty());
    assert!(f.report().body.unallocated_team_counts.is_empty());

    // A team count nobody worked for is reported, not lost.
    f.month
        .write(&meta(), |w| w.put_team_count(d(2), &p("P1"), 50))
        .unwrap();
    assert_eq!(f.report().body.unallocated_team_counts.len(), 1);
}

#[test]
fn adjustments_need_approval_from_their_thresholds() {
    let mut f = Fixture::new();
    for day in 1..=20 {
        f.work("A1", day, 480);
    }
    let small_bonus = f.adjust("A1", 2, 499, "小改小革");
    let big_bonus = f.adjust("A1", 3, 500, "抢险");
    let small_deduction = f.adjust("A1", 4, -999, "浪费原材料");
    let big_deduction = f.adjust("A1", 5, -1000, "质量不合格");
    // Nothing is decided yet: every amount waits for the group.
    let r = f.result("A1");
    assert_eq!((r.bonus_cp, r.pending_bonus_cp), (Cp(0), Cp(999)));
    assert_eq!((r.deduct_cp, r.pending_deduct_cp), (Cp(0), Cp(1999)));
    assert_eq!(r.labor_cp, Cp(3000));
    assert_eq!(r.flags, vec![Flag::NeedsReview]);

    f.pass(
        "A1",
        &[&small_bonus, &big_bonus, &small_deduction, &big_deduction],
    );
    let r = f.result("A1");
    // 499 and −999 count once passed; 500 and −1000 wait for the prison group.
    assert_eq!((r.bonus_cp, r.pending_bonus_cp), (Cp(499), Cp(500)));
    assert_eq!((r.deduct_cp, r.pending_deduct_cp), (Cp(999), Cp(1000)));
    // LABOR = 3000 + 499 − 999 = 2500.
    assert_eq!(r.labor_cp, Cp(2500));
    assert_eq!(r.flags, vec![Flag::BelowBase, Flag::NeedsApproval]);

    f.approve("A1", ApprovalTarget::Adjustment(big_bonus), 500);
    f.approve("A1", ApprovalTarget::Adjustment(big_deduction), -1000);
    let r = f.result("A1");
    // bonus = min(1500, 499 + 500) = 999; deduct = 999 + 1000 = 1999; LABOR = 3000 + 999 − 1999 = 2000.
    assert_eq!(
        (r.bonus_cp, r.deduct_cp, r.labor_cp),
        (Cp(999), Cp(1999), Cp(2000))
    );
    assert_eq!(r.flags, vec![Flag::BelowBase]);
}

#[test]
fn a_decision_needs_two_thirds_of_all_members() {
    // 3 × y ≥ 2 × n: a 7-member group needs 5; 4 of 6 pass; 3 of 5 do not.
    assert_eq!(needed_in_favour(7), 5);
    assert!(two_thirds(5, 7) && !two_thirds(4, 7));
    assert!(two_thirds(4, 6));
    assert!(!two_thirds(3, 5) && two_thirds(4, 5));
    assert!(!two_thirds(0, 0), "no group, no decision");

    let mut f = Fixture::new();
    f.work("A1", 1, 480);
    let id = f.adjust("A1", 1, 300, "技术革新");
    // 4 of 7 in favour: refused as every validator refuses it.
    let e = f
        .review(28, 7, 4, &[("A1", &id, Outcome::Pass)])
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("4 of 7 members in favour is less than two thirds of all members (5 needed)"),
        "{e}"
    );
    // A review that decides nothing (a vote that failed) is recorded all the same.
    f.review(28, 7, 4, &[]).unwrap();
    assert_eq!(f.result("A1").pending_bonus_cp, Cp(300));
    // More in favour than present, more present than members: refused.
    assert!(f.review(28, 7, 8, &[]).is_err());
}

#[test]
fn an_entry_of_300_waits_for_the_review_then_counts() {
    let mut f = Fixture::new();
    f.work("A1", 1, 480);
    let id = f.adjust("A1", 2, 300, "技术革新");
    let e = f.explain("A1");
    assert_eq!(e.adjustments[0].level, Level::Group);
    assert_eq!(e.adjustments[0].status, EntryStatus::AwaitingReview);
    let r = f.result("A1");
    assert_eq!((r.bonus_cp, r.pending_bonus_cp), (Cp(0), Cp(300)));
    assert_eq!(r.flags, vec![Flag::NeedsReview]);
    f.pass("A1", &[&id]);
    let r = f.result("A1");
    // BASE 3000 (one work day at 100%) + 300 = 3300.
    assert_eq!((r.bonus_cp, r.pending_bonus_cp), (Cp(300), Cp(0)));
    assert_eq!(r.labor_cp, Cp(3300));
    assert!(r.flags.is_empty(), "{:?}", r.flags);
}

#[test]
fn an_entry_of_600_waits_for_the_review_then_for_the_prison_group() {
    let mut f = Fixture::new();
    f.work("A1", 1, 480);
    let id = f.adjust("A1", 2, 600, "抢险救灾");
    assert_eq!(f.explain("A1").adjustments[0].level, Level::PrisonGroup);
    assert_eq!(f.result("A1").flags, vec![Flag::NeedsReview]);
    f.pass("A1", &[&id]);
    let e = f.explain("A1");
    assert_eq!(e.adjustments[0].status, EntryStatus::AwaitingApproval);
    assert_eq!(e.result.pending_bonus_cp, Cp(600));
    assert_eq!(e.result.flags, vec![Flag::NeedsApproval]);
    // An approval of another amount is not this one's.
    f.approve("A1", ApprovalTarget::Adjustment(id.clone()), 500);
    assert_eq!(f.result("A1").pending_bonus_cp, Cp(600));
    f.approve("A1", ApprovalTarget::Adjustment(id), 600);
    let r = f.result("A1");
    assert_eq!((r.bonus_cp, r.labor_cp), (Cp(600), Cp(3600)));
    assert!(r.flags.is_empty(), "{:?}", r.flags);
}

#[test]
fn a_correction_replaces_the_amount_and_a_return_removes_it() {
    let mut f = Fixture::new();
    f.work("A1", 1, 480);
    let big = f.adjust("A1", 2, -500, "违反操作规程");
    let other = f.adjust("A1", 3, -400, "浪费原材料");
    f.review(
        28,
        6,
        4,
        &[
            (
                "A1",
                &big,
                Outcome::Correct {
                    points_cp: Cp(-300),
                },
            ),
            ("A1", &other, Outcome::Return),
        ],
    )
    .unwrap();
    let e = f.explain("A1");
    let line = |id: &AdjustmentId| e.adjustments.iter().find(|l| l.id == *id).unwrap();
    assert_eq!(
        (line(&big).status, line(&big).counted_cp),
        (EntryStatus::Counted, Cp(-300))
    );
    assert_eq!(
        (line(&other).status, line(&other).counted_cp),
        (EntryStatus::Returned, Cp(0))
    );
    // LABOR = 3000 − 300 (corrected; the returned −400 does not count).
    assert_eq!((e.result.deduct_cp, e.result.labor_cp), (Cp(300), Cp(2700)));
    assert_eq!(e.result.flags, vec![Flag::BelowBase]);
    // A correction to a prison-group amount waits for its approval.
    f.review(
        29,
        7,
        5,
        &[(
            "A1",
            &big,
            Outcome::Correct {
                points_cp: Cp(-1200),
            },
        )],
    )
    .unwrap();
    let r = f.result("A1");
    assert_eq!((r.deduct_cp, r.pending_deduct_cp), (Cp(0), Cp(1200)));
    assert_eq!(r.flags, vec![Flag::NeedsApproval]);
}

#[test]
fn a_spot_deduction_counts_as_entered() {
    let mut f = Fixture::new();
    f.work("A1", 1, 480);
    f.adjust("A1", 2, -200, "工位不整洁");
    f.adjust("A1", 3, -201, "工具丢失");
    let e = f.explain("A1");
    let levels: Vec<(Cp, Level, EntryStatus)> = e
        .adjustments
        .iter()
        .map(|l| (l.points_cp, l.level, l.status))
        .collect();
    assert!(levels.contains(&(Cp(-200), Level::Spot, EntryStatus::Counted)));
    assert!(levels.contains(&(Cp(-201), Level::Group, EntryStatus::AwaitingReview)));
    // LABOR = 3000 − 200; the −201 is pending.
    assert_eq!(
        (
            e.result.deduct_cp,
            e.result.pending_deduct_cp,
            e.result.labor_cp
        ),
        (Cp(200), Cp(201), Cp(2800))
    );
}

#[test]
fn the_overfulfilment_bonus_of_890_needs_only_the_prison_group() {
    let mut f = Fixture::new();
    // Two work days of 480 min, 565 and 566 units of P1 (60 s each):
    // day 1: 565 × 60000 × 10000 / 28 800 000 = 11770 bp; day 2: 11791 bp (both ≥ 100%).
    // over_bp = 1131 × 60000 × 10000 / 57 600 000 − 10000 = 11781 − 10000 = 1781;
    // BONUS = 1781 × 1 / 2 = 890 cp (≥ 500: the prison group's).
    f.work("A1", 1, 565);
    f.work("A1", 2, 566);
    let r = f.result("A1");
    assert_eq!(r.overfulfil_bonus_cp, Cp(890));
    assert_eq!((r.bonus_cp, r.pending_bonus_cp), (Cp(0), Cp(890)));
    assert_eq!(
        r.flags,
        vec![Flag::NeedsApproval],
        "no group decision asked"
    );
    f.approve("A1", ApprovalTarget::OverfulfilmentBonus, 890);
    let r = f.result("A1");
    // BASE = 3000 × 30 × 20000 / (30 × 2 × 10000) = 3000; LABOR = 3000 + 890.
    assert_eq!((r.bonus_cp, r.labor_cp), (Cp(890), Cp(3890)));
    assert!(r.flags.is_empty(), "{:?}", r.flags);
}

#[test]
fn negative_totals_are_kept() {
    let mut f = Fixture::new();
    f.att("A1", 1, "absent", "", ""); // f = 0 → BASE 0
    let id = f.adjust("A1", 1, -800, "无故不出工");
    f.pass("A1", &[&id]);
    let r = f.result("A1");
    assert_eq!(r.labor_cp, Cp(-800));
}

#[test]
fn new_workers_get_the_ramp_grade() {
    let mut rules = RuleSet::standard("2026-01".parse().unwrap());
    rules.ramp = Some(Ramp {
        days: 7,
        grade_bp: 6000,
    });
    let mut f = Fixture::with_rules(rules);
    f.inmate("N1", "2026-04-01", None);
    f.work("N1", 3, 288); // day 3 of custody: g = 6000
    f.work("N1", 8, 288); // day 8: ramp over, g = 10000
    let e = f.explain("N1");
    // Day 3: REQ = 480 × 60000 × 6000 / 10000 = 17 280 000; EARNED = 288 × 60000 = 17 280 000 → r = 10000.
    assert_eq!(e.days[0].req_ms, 17_280_000);
    assert_eq!(e.days[0].rate_bp, Some(Bp(10_000)));
    // Day 8: REQ = 28 800 000 → r = 17 280 000 × 10000 / 28 800 000 = 6000.
    assert_eq!(e.days[1].rate_bp, Some(Bp(6000)));
}

#[test]
fn rates_above_200_percent_are_held_for_review() {
    let mut f = Fixture::new();
    f.work("A1", 1, 1000); // r = 60 000 000 × 10000 / 28 800 000 = 20833
    let r = f.result("A1");
    assert!(r.flags.contains(&Flag::RateOutlier));
    let mut f = Fixture::new();
    f.work("A1", 1, 960); // exactly 20000: not above
    assert!(!f.result("A1").flags.contains(&Flag::RateOutlier));
}

#[test]
fn a_month_uses_the_rule_set_in_force_then() {
    let mut f = Fixture::new();
    let mut may = RuleSet::standard("2026-05".parse().unwrap());
    may.base_cp = Cp(2000);
    f.rules(may);
    f.work("A1", 1, 480);
    let r = f.report();
    assert_eq!(r.body.rule_set, "2021-10");
    assert_eq!(r.inmate(&no("A1")).unwrap().base_cp, Cp(3000));
}

#[test]
fn concurrent_different_values_are_flagged_equal_ones_are_not() {
    let mut f = Fixture::new();
    f.work("A1", 1, 480);
    let mut other = MonthDoc::from_document(f.month.document().fork()).unwrap();
    // Two officers on two PCs, concurrently: one writes 500, the other 510.
    f.count("A1", 1, "P1", 500);
    other
        .write(&meta(), |w| w.put_count(&no("A1"), d(1), &p("P1"), 510))
        .unwrap();
    // And both write the same attendance for A2.
    f.att("A2", 1, "work", "480", "");
    other
        .write(&meta(), |w| {
            w.put_attendance(
                &no("A2"),
                d(1),
                &Attendance::from_fields("work", "480", "").unwrap(),
            )
        })
        .unwrap();
    let theirs = other.document().automerge().get_changes(&[]);
    f.month.document_mut().apply_changes(theirs).unwrap();
    let report = f.report();
    assert!(
        report
            .inmate(&no("A1"))
            .unwrap()
            .flags
            .contains(&Flag::Conflict)
    );
    assert!(
        !report
            .inmate(&no("A2"))
            .unwrap()
            .flags
            .contains(&Flag::Conflict)
    );
    // Writing a value over the conflict resolves it.
    f.count("A1", 1, "P1", 505);
    assert!(!f.result("A1").flags.contains(&Flag::Conflict));
}

#[test]
fn repeating_a_write_makes_no_change() {
    let mut f = Fixture::new();
    f.work("A1", 1, 480);
    let heads = f.month.document().heads();
    let a = Attendance::from_fields("work", "480", "").unwrap();
    let (_, change) = f
        .month
        .write(&meta(), |w| {
            w.put_attendance(&no("A1"), d(1), &a)?;
            w.put_count(&no("A1"), d(1), &p("P1"), 480)
        })
        .unwrap();
    assert!(change.is_none());
    assert_eq!(f.month.document().heads(), heads);
}

#[test]
fn a_failed_write_leaves_nothing() {
    let mut f = Fixture::new();
    let heads = f.month.document().heads();
    let outside: Date = "2026-05-01".parse().unwrap();
    let err = f.month.write(&meta(), |w| {
        w.put_count(&no("A1"), d(1), &p("P1"), 1)?;
        w.put_count(&no("A1"), outside, &p("P1"), 1)
    });
    assert!(matches!(err, Err(SchemaError::DateOutsideMonth { .. })));
    assert_eq!(f.month.document().heads(), heads);
    assert!(f.month.facts().inmates.is_empty());
}

#[test]
fn the_board_shows_done_quota_over_short() {
    let mut f = Fixture::new();
    f.work("A1", 1, 528);
    f.work("A2", 1, 400);
    f.att("A3", 1, "work", "480", "");
    f.count("A3", 1, "P1", 100);
    f.procedure("P2", "2026-01-01", 30_000);
    f.count("A3", 1, "P2", 200);
    let b = board(&f.registry.facts(), &f.month.facts(), d(1)).unwrap();
    let row = |n: &str| b.rows.iter().find(|r| r.inmate_no.as_str() == n).unwrap();
    // Quota = REQ / t = 28 800 000 / 60000 = 480 units.
    let a1 = row("A1");
    assert_eq!(
        (a1.unit, a1.quota, a1.done, a1.over, a1.short),
        (BoardUnit::Units, 480, 528, 48, 0)
    );
    assert_eq!(a1.rate_bp, Some(Bp(11_000)));
    let a2 = row("A2");
    assert_eq!((a2.quota, a2.done, a2.over, a2.short), (480, 400, 0, 80));
    // Two procedures: standard minutes. EARNED = 100×60000 + 200×30000 = 12 000 000 ms = 200 min; quota 480 min.
    let a3 = row("A3");
    assert_eq!(
        (a3.unit, a3.quota, a3.done, a3.short),
        (BoardUnit::StdMinutes, 480, 200, 280)
    );
    // A4 has no record yet but is in custody: shown, empty.
    assert_eq!(row("A4").day_type, None);
}

#[test]
fn the_digest_covers_results_not_history() {
    let mut f = Fixture::new();
    f.work("A1", 1, 480);
    let r = f.report();
    assert!(r.digest_is_consistent());
    assert_eq!(r.digest.0.len(), 64);
    let mut tampered = r.clone();
    tampered.body.inmates[0].labor_cp = Cp(9999);
    assert!(!tampered.digest_is_consistent());
}

fn meta_by(author: u8) -> ChangeMeta {
    ChangeMeta {
        author: vec![author; 32],
        time: 0,
        message: "test".into(),
        registry_heads: Vec::new(),
    }
}

#[test]
fn records_need_a_second_officers_confirmation_when_the_rules_say_so() {
    let mut rules = RuleSet::standard("2021-10".parse().unwrap());
    rules.requires_confirmation = true;
    let mut f = Fixture::with_rules(rules);
    f.work("A1", 1, 480); // written by author 7
    assert!(f.result("A1").flags.contains(&Flag::Unconfirmed));

    let digest = |f: &Fixture| day_digest(&f.month.facts().inmates[&no("A1")], 1);
    // The writer confirming their own record does not count.
    let dg = digest(&f);
    f.month
        .write(&meta_by(7), |w| w.put_confirmation(&no("A1"), d(1), &dg))
        .unwrap();
    assert!(f.result("A1").flags.contains(&Flag::Unconfirmed));
    // A different officer's confirmation does.
    f.month
        .write(&meta_by(8), |w| w.put_confirmation(&no("A1"), d(1), &dg))
        .unwrap();
    assert!(!f.result("A1").flags.contains(&Flag::Unconfirmed));
    // Changing the count afterwards leaves the day unconfirmed again.
    f.count("A1", 1, "P1", 500);
    assert!(f.result("A1").flags.contains(&Flag::Unconfirmed));
    // Without the rule, nothing is flagged.
    let mut g = Fixture::new();
    g.work("A1", 1, 480);
    assert!(!g.result("A1").flags.contains(&Flag::Unconfirmed));
}

#[test]
fn a_change_after_the_seal_is_an_amendment_until_resealed() {
    let mut f = Fixture::new();
    f.work("A1", 1, 480);
    f.work("A2", 1, 480);
    let seal = |f: &mut Fixture| {
        let digest = digest_to_seal(
            &f.registry.facts(),
            &Sources::alone(&f.registry.facts(), &f.month.facts()).unwrap(),
        )
        .unwrap()
        .0;
        let heads = f
            .month
            .document()
            .heads()
            .iter()
            .map(|h| h.to_string())
            .collect();
        let s = crdt_schema::schema::Seal {
            district: DistrictId::new("D01").unwrap(),
            month: MONTH.parse().unwrap(),
            heads,
            digest,
            sources: Default::default(),
            roster: Default::default(),
            rules: None,
            forced: String::new(),
        };
        f.month.write(&meta_by(9), |w| w.put_seal(&s)).unwrap();
    };
    seal(&mut f);
    let r = f.report();
    let status = r.seal.clone().unwrap();
    assert!(status.current, "the sealed digest is the report's digest");
    assert_eq!(status.amended, 0);
    assert!(
        r.body
            .inmates
            .iter()
            .all(|i| !i.flags.contains(&Flag::AmendedAfterSeal))
    );

    f.count("A2", 1, "P1", 400); // an amendment
    let r = f.report();
    assert!(!r.seal.as_ref().unwrap().current);
    assert!(
        !r.inmate(&no("A1"))
            .unwrap()
            .flags
            .contains(&Flag::AmendedAfterSeal)
    );
    assert!(
        r.inmate(&no("A2"))
            .unwrap()
            .flags
            .contains(&Flag::AmendedAfterSeal)
    );

    seal(&mut f); // re-sealed
    let r = f.report();
    assert!(r.seal.as_ref().unwrap().current);
    assert!(
        !r.inmate(&no("A2"))
            .unwrap()
            .flags
            .contains(&Flag::AmendedAfterSeal)
    );
}

#[test]
fn daily_rates_per_inmate_and_per_district() {
    let mut f = Fixture::new();
    // Day 1: A1 makes 480 units (quota 480 → 10000 bp), A2 makes 240
    // (5000 bp). District: (480 + 240) × 60000 × 10000 / (2 × 28 800 000)
    // = 43 200 000 × 10000 / 57 600 000 = 7500 bp.
    f.work("A1", 1, 480);
    f.work("A2", 1, 240);
    // Day 2: A1 works 240 minutes (REQ 14 400 000) and makes 360 units
    // (21 600 000 ms) → 15000 bp; A2 is sick (no rate, not in the sum).
    // District: 21 600 000 × 10000 / 14 400 000 = 15000 bp.
    f.att("A1", 2, "work", "240", "");
    f.count("A1", 2, "P1", 360);
    f.att("A2", 2, "sick", "", "");
    let rates = month_rates(&f.registry.facts(), &f.month.facts()).unwrap();
    assert_eq!(rates.district_daily.len(), 30);
    let a1 = &rates.inmates[0];
    let a2 = &rates.inmates[1];
    assert_eq!(a1.inmate_no, no("A1"));
    assert_eq!(a1.daily[0], Some(Bp(10_000)));
    assert_eq!(a1.daily[1], Some(Bp(15_000)));
    assert_eq!(a1.daily[2], None, "no record on day 3: not a work day");
    assert_eq!(a2.daily[0], Some(Bp(5_000)));
    assert_eq!(a2.daily[1], None, "sick: no rate");
    let day1 = rates.district_daily[0];
    assert_eq!((day1.earned_ms, day1.req_ms), (43_200_000, 57_600_000));
    assert_eq!(day1.rate, Some(Bp(7_500)));
    assert_eq!(rates.district_daily[1].rate, Some(Bp(15_000)));
    assert_eq!(rates.district_daily[2].rate, None, "nobody worked");
}

#[test]
fn base_basis_monthly_lets_a_long_day_make_up_a_short_one() {
    let mut f = Fixture::new();
    f.work("A1", 1, 384); // 384 × 60000 / 28 800 000 → r = 8000
    f.work("A1", 2, 576); // r = 12000
    // Daily (the default): Σf = 8000 + 10000 = 18000, D = 2, C = K = 30 →
    // BASE = 3000 × 30 × 18000 / (30 × 2 × 10000) = 2700.
    assert_eq!(f.result("A1").base_cp, Cp(2700));
    // A monthly-basis rule set from May leaves April as it was.
    let mut may = RuleSet::standard("2026-05".parse().unwrap());
    may.base_basis = BaseBasis::Monthly;
    f.rules(may);
    assert_eq!(f.result("A1").base_cp, Cp(2700));
    // From April: R_m = (384 + 576) × 60000 × 10000 / (2 × 28 800 000) = 10000,
    // f = 10000 on both work days: Σf = 20000 → BASE = 3000.
    let mut april = RuleSet::standard("2026-04".parse().unwrap());
    april.base_basis = BaseBasis::Monthly;
    f.rules(april);
    let r = f.result("A1");
    assert_eq!((r.factor_sum_bp, r.base_cp), (20_000, Cp(3000)));
    // A month short overall: add a day at 60% (288 units): R_m =
    // (384 + 576 + 288) × 60000 × 10000 / (3 × 28 800 000) = 8666; Σf = 3 × 8666 = 25998 →
    // BASE = 3000 × 30 × 25998 / (30 × 3 × 10000) = 2599 (daily would give 8000+10000+6000 → 2400).
    f.work("A1", 3, 288);
    let r = f.result("A1");
    assert_eq!((r.factor_sum_bp, r.base_cp), (25_998, Cp(2599)));
}

#[test]
fn a_rule_set_without_base_basis_encodes_as_before() {
    // Rule sets written before `base_basis` existed decode as daily, and a
    // daily one encodes without the field, so nothing already stored or
    // sealed changes meaning.
    let r = RuleSet::standard("2021-10".parse().unwrap());
    assert!(!r.encode().contains("base_basis"));
    assert_eq!(r.base_basis, BaseBasis::Daily);
    let mut m = r.clone();
    m.base_basis = BaseBasis::Monthly;
    assert!(m.encode().contains(r#""base_basis":"monthly""#));
    assert_eq!(RuleSet::decode(&m.encode()), Ok(m));
}

#[test]
fn working_day_deadlines_skip_weekends_and_holidays_and_count_make_up_days() {
    let mut r = RuleSet::standard("2026-01".parse().unwrap());
    // National Day 2026 (as a rule set would list it): the weekdays 1, 2, 5,
    // 6 and 7 October off, Saturday 10 October worked instead.
    r.holidays = [
        "2026-10-01",
        "2026-10-02",
        "2026-10-05",
        "2026-10-06",
        "2026-10-07",
    ]
    .iter()
    .map(|s| d_any(s))
    .collect();
    r.workdays = vec![d_any("2026-10-10")];
    r.validate().unwrap();
    // Across a weekend: a posting from Friday 23 October lasts Fri 23 (1),
    // Mon 26 (2), Tue 27 (3).
    assert_eq!(r.posting_working_days, 3);
    assert_eq!(
        r.working_days_end(d_any("2026-10-23"), r.posting_working_days),
        Some(d_any("2026-10-27"))
    );
    // Across the holiday: from Wed 30 September, 3 working days are
    // 30 Sep (1), Thu 8 Oct (2), Fri 9 Oct (3).
    assert_eq!(
        r.working_days_end(d_any("2026-09-30"), 3),
        Some(d_any("2026-10-09"))
    );
    // 5 working days (the group's answer) take in the make-up Saturday:
    // … Fri 9 (3), Sat 10 (4), Mon 12 (5).
    assert_eq!(
        r.working_days_end(d_any("2026-09-30"), 5),
        Some(d_any("2026-10-12"))
    );
    // A period starting on a holiday starts on the next working day.
    assert_eq!(
        r.working_days_end(d_any("2026-10-01"), 1),
        Some(d_any("2026-10-08"))
    );
    assert!(!r.is_working_day(d_any("2026-10-11")), "a Sunday");
    assert!(
        r.is_working_day(d_any("2026-10-10")),
        "the make-up Saturday"
    );
    // A day both a holiday and a make-up day, or dates out of order: refused.
    let mut bad = r.clone();
    bad.workdays.push(d_any("2026-10-01"));
    bad.workdays.sort();
    assert!(bad.validate().is_err());
    let mut bad = r.clone();
    bad.holidays.reverse();
    assert!(bad.validate().is_err());
    // Without them the rule set encodes as before (the digest of older ones holds).
    let plain = RuleSet::standard("2026-01".parse().unwrap());
    assert!(!plain.encode().contains("holidays") && !plain.encode().contains("posting"));
}

fn d_any(s: &str) -> Date {
    s.parse().unwrap()
}

#[test]
fn rule_sets_of_the_former_procedure_score_as_they_did() {
    // A rule set written before the decision levels (the field absent):
    // entries count as entered, the chief approves at the approval lines,
    // and the prison group's approval is not that procedure's.
    let mut rules = RuleSet::standard("2026-01".parse().unwrap());
    rules.decision_levels = false;
    assert!(
        !rules.encode().contains("decision_levels"),
        "encoded as before"
    );
    let mut f = Fixture::with_rules(rules);
    f.work("A1", 1, 480);
    f.adjust("A1", 2, 300, "技术革新");
    let big = f.adjust("A1", 3, -1000, "质量不合格");
    let r = f.result("A1");
    // 300 counts at once; −1000 waits for the chief. LABOR = 3000 + 300.
    assert_eq!(
        (r.bonus_cp, r.pending_deduct_cp, r.labor_cp),
        (Cp(300), Cp(1000), Cp(3300))
    );
    assert_eq!(r.flags, vec![Flag::NeedsApproval]);
    f.approve("A1", ApprovalTarget::Adjustment(big.clone()), -1000);
    assert_eq!(
        f.result("A1").pending_deduct_cp,
        Cp(1000),
        "not the chief's"
    );
    f.approve_as_chief("A1", ApprovalTarget::Adjustment(big), -1000);
    let r = f.result("A1");
    assert_eq!((r.deduct_cp, r.labor_cp), (Cp(1000), Cp(2300)));
    assert!(r.flags.contains(&Flag::BelowBase) && !r.flags.contains(&Flag::NeedsApproval));
    // And under the decision levels a chief's approval is not the prison group's.
    let mut f = Fixture::new();
    f.work("A1", 1, 480);
    let id = f.adjust("A1", 2, 600, "抢险救灾");
    f.pass("A1", &[&id]);
    f.approve_as_chief("A1", ApprovalTarget::Adjustment(id), 600);
    assert_eq!(f.result("A1").pending_bonus_cp, Cp(600));
}

#[test]
fn the_weekly_sheet_sums_the_weeks_days_and_lists_its_entries() {
    // 2026-W15 is Monday 6 April to Sunday 12 April.
    let week = Week::of(d(6)).unwrap();
    assert_eq!(week.iso(), (2026, 15));
    let mut f = Fixture::new();
    f.work("A1", 6, 480); // 100%
    f.work("A1", 7, 240); // 50%
    f.att("A1", 8, "rest", "", "");
    f.work("A1", 13, 480); // the next week
    let inside = f.adjust("A1", 7, 300, "技术革新");
    f.adjust("A1", 13, -100, "next week's");
    let (r, m) = (f.registry.facts(), f.month.facts());
    let explained = explain_month(&r, &Sources::alone(&r, &m).unwrap()).unwrap();
    let d01 = DistrictId::new("D01").unwrap();
    let sheet = week_sheet(&explained, week, &d01);
    // A2–A4 did nothing that week: left off.
    assert_eq!(sheet.len(), 1, "{sheet:?}");
    let row = &sheet[0];
    assert_eq!(row.inmate_no, no("A1"));
    // Two work days (the rest day is not a labor day).
    assert_eq!(row.labor_days, 2);
    // EARNED = (480 + 240) × 60 000 = 43 200 000 ms; REQ = 2 × 28 800 000.
    assert_eq!((row.earned_ms, row.req_ms), (43_200_000, 57_600_000));
    // 43 200 000 × 10 000 / 57 600 000 = 7 500 bp (75%).
    assert_eq!(row.rate, Some(Bp(7_500)));
    assert_eq!(row.entries.len(), 1, "only the week's entry");
    assert_eq!(row.entries[0].id, inside);
    assert_eq!(row.entries[0].status, EntryStatus::AwaitingReview);
    // The next week has one work day at 100%, its own entry, and the one of
    // the 7th still before the group (undecided), carried over.
    let next = week_sheet(&explained, week.next().unwrap(), &d01);
    assert_eq!(next[0].rate, Some(Bp(10_000)));
    assert_eq!(next[0].entries.len(), 2);
    assert_eq!(next[0].entries[0].id, inside);
    assert_eq!(next[0].entries[1].counted_cp, Cp(-100));
    // Once decided at W15's review it is no longer carried into W16.
    f.review(12, 7, 5, &[("A1", &inside, Outcome::Pass)])
        .unwrap();
    let (r, m) = (f.registry.facts(), f.month.facts());
    let explained = explain_month(&r, &Sources::alone(&r, &m).unwrap()).unwrap();
    let next = week_sheet(&explained, week.next().unwrap(), &d01);
    assert_eq!(next[0].entries.len(), 1, "{:?}", next[0].entries);
    let this = week_sheet(&explained, week, &d01);
    assert_eq!(this[0].entries[0].status, EntryStatus::Counted);
    // Another district's sheet has none of D01's days or entries.
    assert!(week_sheet(&explained, week, &DistrictId::new("D02").unwrap()).is_empty());
}
