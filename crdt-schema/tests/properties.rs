//! Properties: the report depends on the facts, never on the history that
//! produced them — the order of changes, how they were grouped, which replica
//! made them, the order replicas merged — and it survives save → load.

use crdt_schema::*;
use proptest::prelude::*;

const MONTH: &str = "2026-04";

fn meta(author: u8) -> ChangeMeta {
    ChangeMeta {
        author: vec![author; 32],
        time: 0,
        message: String::new(),
        registry_heads: Vec::new(),
    }
}

fn date(day: u8) -> Date {
    MONTH.parse::<Month>().unwrap().day(day).unwrap()
}

fn registry() -> RegistryFacts {
    let mut r = RegistryDoc::new();
    r.write(&meta(1), |w| {
        w.put_district(&"D01".parse().unwrap(), "一监区")?;
        for (i, admitted) in ["2020-01-01", "2026-04-03", "2020-01-01"]
            .iter()
            .enumerate()
        {
            w.put_inmate(
                &format!("A{i}").parse().unwrap(),
                &Inmate {
                    name: format!("犯{i}"),
                    district: "D01".parse().unwrap(),
                    admitted: admitted.parse().unwrap(),
                    released: None,
                },
            )?;
        }
        for (p, ms) in [("P1", 60_000), ("P2", 45_000)] {
            w.put_procedure_version(
                &p.parse().unwrap(),
                "2026-01-01".parse().unwrap(),
                &ProcedureVersion {
                    product: "X".parse().unwrap(),
                    name: "工序".into(),
                    std_ms: ms,
                },
            )?;
        }
        w.put_procedure_version(
            &"P1".parse().unwrap(),
            "2026-04-03".parse().unwrap(),
            &ProcedureVersion {
                product: "X".parse().unwrap(),
                name: "工序".into(),
                std_ms: 50_000,
            },
        )?;
        let mut rules = RuleSet::standard("2021-10".parse().unwrap());
        rules.ramp = Some(Ramp {
            days: 2,
            grade_bp: 6000,
        });
        w.put_rule_set(&rules)
    })
    .unwrap();
    r.facts()
}

/// One fact; at most one per record key in a generated set.
#[derive(Debug, Clone)]
enum Fact {
    Att(u8, u8, &'static str, Option<u32>),
    Count(u8, u8, &'static str, u64),
    Assign(u8, u8, &'static str),
    Team(u8, &'static str, u64),
    Adjust(u8, u8, i64),
}

impl Fact {
    fn key(&self) -> String {
        match self {
            Fact::Att(i, d, ..) => format!("att{i}/{d}"),
            Fact::Count(i, d, p, _) => format!("cnt{i}/{d}/{p}"),
            Fact::Assign(i, d, p) => format!("asg{i}/{d}/{p}"),
            Fact::Team(d, p, _) => format!("team{d}/{p}"),
            Fact::Adjust(i, d, cp) => format!("adj{i}/{d}/{cp}"),
        }
    }

    fn write(&self, w: &mut MonthWriter<'_, '_>) -> Result<(), SchemaError> {
        let no = |i: &u8| format!("A{i}").parse::<InmateNo>().unwrap();
        let p = |s: &str| s.parse::<ProcedureId>().unwrap();
        match self {
            Fact::Att(i, d, t, m) => {
                let grade = if *t == "no_quota" { "良好" } else { "" };
                let minutes = m.map(|m| m.to_string()).unwrap_or_default();
                let a = Attendance::from_fields(t, &minutes, grade).unwrap();
                w.put_attendance(&no(i), date(*d), &a)?;
            }
            Fact::Count(i, d, pr, q) => {
                w.put_count(&no(i), date(*d), &p(pr), *q)?;
            }
            Fact::Assign(i, d, pr) => {
                w.put_assignment(&no(i), date(*d), &p(pr))?;
            }
            Fact::Team(d, pr, q) => {
                w.put_team_count(date(*d), &p(pr), *q)?;
            }
            Fact::Adjust(i, d, cp) => {
                w.put_adjustment(
                    &no(i),
                    &Adjustment {
                        date: date(*d),
                        points_cp: Cp(*cp),
                        reason: "理由".into(),
                        evidence: String::new(),
                        special: false,
                        no_post: false,
                    },
                )?;
            }
        }
        Ok(())
    }
}

fn fact() -> impl Strategy<Value = Fact> {
    let inmate = 0u8..3;
    let day = 3u8..9;
    let procedure = prop_oneof![Just("P1"), Just("P2")];
    let day_type = prop_oneof![
        4 => Just("work"),
        1 => Just("sick"),
        1 => Just("stoppage"),
        1 => Just("no_quota"),
        1 => Just("rest"),
    ];
    prop_oneof![
        4 => (inmate.clone(), day.clone(), day_type, proptest::option::of(240u32..=480))
            .prop_map(|(i, d, t, m)| Fact::Att(i, d, t, m)),
        4 => (inmate.clone(), day.clone(), procedure.clone(), 0u64..900)
            .prop_map(|(i, d, p, q)| Fact::Count(i, d, p, q)),
        1 => (inmate.clone(), day.clone(), procedure.clone()).prop_map(|(i, d, p)| Fact::Assign(i, d, p)),
        1 => (day.clone(), procedure, 0u64..2000).prop_map(|(d, p, q)| Fact::Team(d, p, q)),
        1 => (inmate, day, prop_oneof![Just(-1200i64), Just(-300), Just(200), Just(600)])
            .prop_map(|(i, d, cp)| Fact::Adjust(i, d, cp)),
    ]
}

/// Facts with distinct record keys, a permutation of them, and a split of
/// them among three replicas.
fn scenario() -> impl Strategy<Value = (Vec<Fact>, Vec<usize>, Vec<u8>, usize)> {
    proptest::collection::vec(fact(), 1..40).prop_flat_map(|facts| {
        let mut seen = std::collections::BTreeSet::new();
        let facts: Vec<Fact> = facts.into_iter().filter(|f| seen.insert(f.key())).collect();
        let n = facts.len();
        (
            Just(facts),
            Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
            proptest::collection::vec(0u8..3, n),
            1usize..5,
        )
    })
}

fn new_month() -> MonthDoc {
    MonthDoc::new("D01".parse().unwrap(), MONTH.parse().unwrap())
}

fn digest(registry: &RegistryFacts, doc: &MonthDoc) -> ReportDigest {
    {
        let f = doc.facts();
        score_month(registry, &Sources::alone(registry, &f).unwrap())
            .unwrap()
            .digest
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_report_depends_on_facts_not_history((facts, order, owners, chunk) in scenario()) {
        let registry = registry();

        // History 1: one change per fact, in the given order.
        let mut one_by_one = new_month();
        for f in &facts {
            one_by_one.write(&meta(1), |w| f.write(w)).unwrap();
        }

        // History 2: permuted, grouped `chunk` facts per change, by another author.
        let mut grouped = new_month();
        for group in order.chunks(chunk) {
            grouped.write(&meta(2), |w| {
                for &i in group {
                    facts[i].write(w)?;
                }
                Ok(())
            }).unwrap();
        }

        // History 3: three replicas write their share concurrently, then merge
        // in the reverse order of their creation.
        let base = new_month();
        let mut replicas: Vec<MonthDoc> = (0..3)
            .map(|_| MonthDoc::from_document(base.document().fork()).unwrap())
            .collect();
        for &i in &order {
            let r = owners[i] as usize;
            replicas[r].write(&meta(10 + owners[i]), |w| facts[i].write(w)).unwrap();
        }
        let mut merged = new_month();
        for r in replicas.iter().rev() {
            let changes = r.document().automerge().get_changes(&[]);
            merged.document_mut().apply_changes(changes).unwrap();
        }

        let d1 = digest(&registry, &one_by_one);
        prop_assert_eq!(&d1, &digest(&registry, &grouped));
        prop_assert_eq!(&d1, &digest(&registry, &merged));
        let mf = merged.facts();
        let report = score_month(&registry, &Sources::alone(&registry, &mf).unwrap()).unwrap();
        prop_assert!(report.body.inmates.iter().all(|i| !i.flags.contains(&Flag::Conflict)));

        // Save → load keeps the digest.
        let saved = merged.document().save();
        let loaded = MonthDoc::from_document(
            Document::load(merged.document().id().clone(), &saved).unwrap(),
        ).unwrap();
        prop_assert_eq!(&d1, &digest(&registry, &loaded));
    }
}

/// The registry with a second district and transfers, written one by one in
/// the given order (`order` permutes the transfers).
fn registry_with_transfers(transfers: &[(u8, u8, &'static str)], order: &[usize]) -> RegistryFacts {
    let mut r = RegistryDoc::from_document(
        Document::load(DocId::Registry, &base_registry().document().save()).unwrap(),
    )
    .unwrap();
    for &i in order {
        let (inmate, day, to) = transfers[i];
        r.write(&meta(3), |w| {
            w.put_transfer(
                &format!("A{inmate}").parse().unwrap(),
                date(day),
                &to.parse().unwrap(),
            )
        })
        .unwrap();
    }
    r.facts()
}

fn base_registry() -> RegistryDoc {
    let mut r = RegistryDoc::new();
    let facts = registry();
    r.write(&meta(1), |w| {
        w.put_district(&"D01".parse().unwrap(), "一监区")?;
        w.put_district(&"D02".parse().unwrap(), "二监区")?;
        for (no, e) in &facts.inmates {
            w.put_inmate(no, &e.value)?;
        }
        for (p, versions) in &facts.procedures {
            for (from, v) in versions {
                w.put_procedure_version(p, *from, &v.value)?;
            }
        }
        for e in facts.rule_sets.values() {
            w.put_rule_set(&e.value)?;
        }
        Ok(())
    })
    .unwrap();
    r
}

/// Facts for two districts' documents (the bool: D02's), with transfers
/// moving inmates between them during the month.
/// Two districts' facts, an order of them, a change size, the transfers
/// and an order of those.
type TransferScenario = (
    Vec<(bool, Fact)>,
    Vec<usize>,
    usize,
    Vec<(u8, u8, &'static str)>,
    Vec<usize>,
);

fn transfer_scenario() -> impl Strategy<Value = TransferScenario> {
    let transfers = (4u8..8, 5u8..9)
        .prop_map(|(a, b)| vec![(0u8, a, "D02"), (2u8, b, "D02"), (2u8, b.max(a) + 1, "D01")]);
    (
        proptest::collection::vec((any::<bool>(), fact()), 1..40),
        transfers,
    )
        .prop_flat_map(|(facts, transfers)| {
            let mut seen = std::collections::BTreeSet::new();
            let facts: Vec<(bool, Fact)> = facts
                .into_iter()
                .filter(|(d, f)| seen.insert((*d, f.key())))
                .collect();
            let n = facts.len();
            (
                Just(facts),
                Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
                1usize..5,
                Just(transfers),
                Just(vec![0usize, 1, 2]).prop_shuffle(),
            )
        })
}

fn district_docs(
    facts: &[(bool, Fact)],
    order: &[usize],
    chunk: usize,
    author: u8,
) -> (MonthDoc, MonthDoc) {
    let mut docs = (
        new_month(),
        MonthDoc::new("D02".parse().unwrap(), MONTH.parse().unwrap()),
    );
    for group in order.chunks(chunk) {
        for d02 in [false, true] {
            let doc = if d02 { &mut docs.1 } else { &mut docs.0 };
            doc.write(&meta(author), |w| {
                for &i in group {
                    if facts[i].0 == d02 {
                        facts[i].1.write(w)?;
                    }
                }
                Ok(())
            })
            .unwrap();
        }
    }
    docs
}

fn digests(registry: &RegistryFacts, docs: &(MonthDoc, MonthDoc)) -> (ReportDigest, ReportDigest) {
    let (f1, f2) = (docs.0.facts(), docs.1.facts());
    let score = |own: &MonthFacts, other: &MonthFacts| {
        score_month(registry, &Sources::new(registry, own, [other]).unwrap())
            .unwrap()
            .digest
    };
    (score(&f1, &f2), score(&f2, &f1))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn with_transfers_the_reports_depend_on_facts_not_history(
        (facts, order, chunk, transfers, torder) in transfer_scenario()
    ) {
        // The registry's transfers written in two orders.
        let r1 = registry_with_transfers(&transfers, &[0, 1, 2]);
        let r2 = registry_with_transfers(&transfers, &torder);
        prop_assert_eq!(&r1.transfers, &r2.transfers);

        let n = facts.len();
        let one_by_one = district_docs(&facts, &(0..n).collect::<Vec<_>>(), 1, 1);
        let grouped = district_docs(&facts, &order, chunk, 2);
        let d = digests(&r1, &one_by_one);
        prop_assert_eq!(&d, &digests(&r2, &grouped));

        // Each inmate is scored by exactly one district.
        let (f1, f2) = (one_by_one.0.facts(), one_by_one.1.facts());
        let a = score_month(&r1, &Sources::new(&r1, &f1, [&f2]).unwrap()).unwrap();
        let b = score_month(&r1, &Sources::new(&r1, &f2, [&f1]).unwrap()).unwrap();
        for no in r1.inmates.keys() {
            let scored = usize::from(a.inmate(no).is_some()) + usize::from(b.inmate(no).is_some());
            prop_assert_eq!(scored, 1, "{} scored {} times", no, scored);
        }
    }
}
