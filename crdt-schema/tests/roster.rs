//! The roster's year shards hold the same prison as the single registry
//! roster they replace: for any history of admissions, releases and
//! transfers, every month scores to the same report (the same digest)
//! whether the roster is the registry's own (a data directory from before
//! the shards) or its facts are written, each in the shard of its date —
//! and a month's report does not change when facts dated after its year
//! are recorded.

use crdt_schema::*;
use proptest::prelude::*;

fn meta() -> ChangeMeta {
    ChangeMeta {
        author: vec![7; 32],
        time: 0,
        message: "test".into(),
        registry_heads: Vec::new(),
    }
}

const DISTRICTS: [&str; 3] = ["D01", "D02", "D03"];

fn district(i: usize) -> DistrictId {
    DistrictId::new(DISTRICTS[i % DISTRICTS.len()]).unwrap()
}

/// Day `n` counted from 2025-01-01 (three years: 1,095 days).
fn day(n: u16) -> Date {
    let first = Year::new(2025).unwrap().first();
    Date::from_ordinal(first.ordinal() + i64::from(n)).unwrap()
}

/// One inmate's history: admitted on a day, in a district; released some
/// days later or not; transfers at offsets after the admission.
#[derive(Debug, Clone)]
struct History {
    admitted: u16,
    district: usize,
    stay: Option<u16>,
    moves: Vec<(u16, usize)>,
}

fn history() -> impl Strategy<Value = History> {
    (
        0u16..1000,
        0usize..3,
        proptest::option::of(0u16..900),
        proptest::collection::vec((1u16..600, 0usize..3), 0..4),
    )
        .prop_map(|(admitted, district, stay, moves)| History {
            admitted,
            district,
            stay,
            moves,
        })
}

fn catalogue(w: &mut RegistryWriter<'_, '_>) -> Result<(), SchemaError> {
    w.set_prison("测试监狱")?;
    for (i, name) in ["一监区", "二监区", "三监区"].iter().enumerate() {
        w.put_district(&district(i), name)?;
    }
    w.put_rule_set(&RuleSet::standard("2021-10".parse().unwrap()))?;
    Ok(())
}

struct Fact {
    no: InmateNo,
    inmate: Inmate,
    released: Option<Date>,
    moves: Vec<(Date, DistrictId)>,
}

fn facts(histories: &[History]) -> Vec<Fact> {
    histories
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let admitted = day(h.admitted);
            let released = h.stay.map(|s| day((h.admitted + s).min(1094)));
            let last = released.unwrap_or(day(1094));
            let moves = h
                .moves
                .iter()
                .map(|(off, d)| (day((h.admitted + off).min(1094)), district(*d)))
                .filter(|(date, _)| *date <= last)
                .collect();
            Fact {
                no: InmateNo::new(format!("N{i:03}")).unwrap(),
                inmate: Inmate {
                    name: format!("犯{i}"),
                    district: district(h.district),
                    admitted,
                    released: None,
                },
                released,
                moves,
            }
        })
        .collect()
}

/// The roster as data directories from before the shards hold it.
fn single(facts: &[Fact]) -> RegistryFacts {
    let mut r = RegistryDoc::new();
    r.write(&meta(), |w| {
        catalogue(w)?;
        for f in facts {
            let inmate = Inmate {
                released: f.released,
                ..f.inmate.clone()
            };
            w.put_inmate(&f.no, &inmate)?;
            for (date, to) in &f.moves {
                w.put_transfer(&f.no, *date, to)?;
            }
        }
        Ok(())
    })
    .unwrap();
    r.facts()
}

/// The same facts, each in the shard of its date (the registry holding
/// only the catalogue).
fn sharded(facts: &[Fact]) -> (RegistryFacts, Vec<RosterFacts>) {
    let mut r = RegistryDoc::new();
    r.write(&meta(), catalogue).unwrap();
    let mut shards: Vec<RosterDoc> = (2025..=2027)
        .map(|y| RosterDoc::new(Year::new(y).unwrap()))
        .collect();
    let shard = |shards: &mut Vec<RosterDoc>, date: Date| -> usize {
        shards
            .iter()
            .position(|s| s.year() == Year::of(date))
            .unwrap()
    };
    for f in facts {
        let i = shard(&mut shards, f.inmate.admitted);
        shards[i]
            .write(&meta(), |w| w.admit(&f.no, &f.inmate))
            .unwrap();
        if let Some(released) = f.released {
            let i = shard(&mut shards, released);
            shards[i]
                .write(&meta(), |w| w.release(&f.no, released))
                .unwrap();
        }
        for (date, to) in &f.moves {
            let i = shard(&mut shards, *date);
            shards[i]
                .write(&meta(), |w| w.put_transfer(&f.no, *date, to))
                .unwrap();
        }
    }
    (r.facts(), shards.iter().map(RosterDoc::facts).collect())
}

fn digests(registry: &RegistryFacts, month: Month) -> Vec<String> {
    let empty: Vec<MonthFacts> = (0..3)
        .map(|i| MonthFacts::empty(district(i), month))
        .collect();
    empty
        .iter()
        .map(|own| {
            let sources = scoring::Sources::new(registry, own, &empty).unwrap();
            format!("{:?}", score_month(registry, &sources).unwrap().digest)
        })
        .collect()
}

fn months() -> impl Iterator<Item = Month> {
    let mut m = Some("2025-01".parse::<Month>().unwrap());
    std::iter::from_fn(move || {
        let this = m?;
        m = this.next().filter(|n| n.year() <= 2027);
        Some(this)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_month_scores_alike_from_the_single_roster_and_from_its_shards(
        histories in proptest::collection::vec(history(), 1..10)
    ) {
        let facts = facts(&histories);
        let one = single(&facts);
        let (registry, shards) = sharded(&facts);
        prop_assert!(shards.iter().all(|s| s.problems.is_empty()));
        for month in months() {
            let year = Year::of_month(month);
            let through = registry.clone().with_roster_through(&shards, year);
            // What the shards dated later add changes nothing of this month.
            let all = registry.clone().with_roster(&shards);
            let want = digests(&one, month);
            prop_assert_eq!(&digests(&through, month), &want, "{} through its year", month);
            prop_assert_eq!(&digests(&all, month), &want, "{} with every shard", month);
            for f in &facts {
                prop_assert_eq!(through.custody(&f.no, month), one.custody(&f.no, month));
            }
        }
    }
}

#[test]
fn a_shard_over_a_registry_roster_is_read_under_it() {
    // A data directory from before the shards: two inmates in the registry.
    // After the upgrade, one is released and one transferred, in 2027's
    // shard; 2026 reads as before, 2027 with the new facts.
    let a = InmateNo::new("A1").unwrap();
    let b = InmateNo::new("B2").unwrap();
    let mut r = RegistryDoc::new();
    r.write(&meta(), |w| {
        catalogue(w)?;
        for no in [&a, &b] {
            w.put_inmate(
                no,
                &Inmate {
                    name: "甲".into(),
                    district: district(0),
                    admitted: "2025-05-01".parse().unwrap(),
                    released: None,
                },
            )?;
        }
        Ok(())
    })
    .unwrap();
    let before = r.facts();
    let mut s = RosterDoc::new(Year::new(2027).unwrap());
    s.write(&meta(), |w| {
        w.release(&a, "2027-03-10".parse().unwrap())?;
        w.put_transfer(&b, "2027-03-01".parse().unwrap(), &district(1))
    })
    .unwrap();
    let shards = [s.facts()];
    let dec: Month = "2026-12".parse().unwrap();
    assert_eq!(
        digests(
            &before
                .clone()
                .with_roster_through(&shards, Year::of_month(dec)),
            dec
        ),
        digests(&before, dec)
    );
    let mar: Month = "2027-03".parse().unwrap();
    let after = before.clone().with_roster(&shards);
    assert_eq!(after.custody(&a, mar).custody_days(), 10);
    assert_eq!(
        after.custody(&b, mar).reporting().map(DistrictId::as_str),
        Some("D02")
    );
    assert_ne!(digests(&after, mar), digests(&before, mar));
}
