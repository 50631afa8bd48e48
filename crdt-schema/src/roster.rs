//! The roster's shards: one document per year (`roster/<YYYY>`) holding the
//! admissions, releases and transfers dated in that year.
//!
//! Why by year, and by the date of each fact: the registry was one document
//! whose history grew with every admission, release and transfer the prison
//! ever recorded, and everything that wrote the roster or scored a month
//! loaded all of it (a year-old registry made a 10,000-row roster import
//! take twice the memory of a new one, and ten years would take ten times).
//! Here every fact lives in exactly one shard, the one of its date, so:
//! - a month of year `Y` is scored from the shards up to `Y` only: a fact
//!   dated later (an admission, a release, a transfer) cannot change a sealed
//!   month's report, and a report's digest stays the contract it was;
//! - writing today's facts loads today's shard, whatever the history; older
//!   shards are read as plain facts ([`RosterFacts`]), one at a time, and
//!   after their year they change only by late corrections;
//! - there is nothing to copy or carry forward, so nothing two writers could
//!   copy differently.
//!
//! A release is its own record (`release/<no>`), not a field of the
//! admission, for the same reason: a release in 2031 of an inmate admitted
//! in 2026 is written in 2031's shard and leaves 2026's alone.
//!
//! Data directories from before the shards keep their roster in the
//! registry (`inmate/<no>` with its release, `transfer/…`). It is read as the
//! layer under every shard ([`RegistryFacts::with_roster`]) and no longer
//! written: a shard's record of the same inmate (or transfer) takes its
//! place. Nothing is re-signed or copied.

use std::collections::BTreeMap;

use automerge::{Automerge, Change, ROOT, ReadDoc, ScalarValue, ValueRef};

use crate::calendar::{Date, Year};
use crate::doc::{ChangeMeta, Document, SchemaError, Tx};
use crate::facts::{Entry, Problem, values_differ};
use crate::ids::{DistrictId, InmateNo};
use crate::layout::{DocId, RosterKey};
use crate::records::Inmate;
use crate::registry::RegistryFacts;
use crate::schema::{RosterValue, Scalar, decode_roster};

/// The roster shard of one year.
#[derive(Debug)]
pub struct RosterDoc {
    year: Year,
    doc: Document,
}

/// Typed writes to one roster shard, inside one transaction. Each refuses
/// a fact dated outside the shard's year.
pub struct RosterWriter<'t, 'a> {
    year: Year,
    tx: &'t mut Tx<'a>,
}

impl RosterWriter<'_, '_> {
    fn in_year(&self, date: Date) -> Result<(), SchemaError> {
        if self.year.contains(date) {
            Ok(())
        } else {
            Err(SchemaError::DateOutsideMonth {
                date,
                doc: DocId::Roster { year: self.year },
            })
        }
    }

    /// An admission (name, first district, admission date); `released` of
    /// `inmate` is ignored: a release is [`RosterWriter::release`]'s.
    pub fn admit(&mut self, no: &InmateNo, inmate: &Inmate) -> Result<bool, SchemaError> {
        self.in_year(inmate.admitted)?;
        let admission = Inmate {
            released: None,
            ..inmate.clone()
        };
        admission.validate()?;
        let key = RosterKey::Admission(no.clone()).to_string();
        let json = serde_json::to_string(&admission).expect("an inmate always serializes");
        self.tx.put(&key, ScalarValue::Str(json.into()))
    }

    /// Withdraws an admission recorded here (in error, or moved to the
    /// shard of its corrected date).
    pub fn withdraw_admission(&mut self, no: &InmateNo) -> Result<bool, SchemaError> {
        self.tx
            .delete(&RosterKey::Admission(no.clone()).to_string())
    }

    /// A release: `date` is the inmate's last day in custody.
    pub fn release(&mut self, no: &InmateNo, date: Date) -> Result<bool, SchemaError> {
        self.in_year(date)?;
        let key = RosterKey::Release(no.clone()).to_string();
        self.tx.put(&key, ScalarValue::Str(date.to_string().into()))
    }

    pub fn withdraw_release(&mut self, no: &InmateNo) -> Result<bool, SchemaError> {
        self.tx.delete(&RosterKey::Release(no.clone()).to_string())
    }

    /// A transfer: from `date` (the first day there) the inmate is in `district`.
    pub fn put_transfer(
        &mut self,
        no: &InmateNo,
        date: Date,
        district: &DistrictId,
    ) -> Result<bool, SchemaError> {
        self.in_year(date)?;
        let key = RosterKey::Transfer(no.clone(), date).to_string();
        self.tx
            .put(&key, ScalarValue::Str(district.as_str().into()))
    }

    /// Withdraws a transfer recorded in error.
    pub fn delete_transfer(&mut self, no: &InmateNo, date: Date) -> Result<bool, SchemaError> {
        self.tx
            .delete(&RosterKey::Transfer(no.clone(), date).to_string())
    }
}

impl RosterDoc {
    pub fn new(year: Year) -> RosterDoc {
        RosterDoc {
            year,
            doc: Document::new(DocId::Roster { year }),
        }
    }

    pub fn from_document(doc: Document) -> Result<RosterDoc, SchemaError> {
        match doc.id() {
            DocId::Roster { year } => Ok(RosterDoc { year: *year, doc }),
            other => Err(SchemaError::NotARoster(other.clone())),
        }
    }

    pub fn year(&self) -> Year {
        self.year
    }

    pub fn document(&self) -> &Document {
        &self.doc
    }

    pub fn document_mut(&mut self) -> &mut Document {
        &mut self.doc
    }

    pub fn into_document(self) -> Document {
        self.doc
    }

    /// One signed-to-be change of typed roster writes (see [`Document::transact`]).
    pub fn write<T>(
        &mut self,
        meta: &ChangeMeta,
        f: impl FnOnce(&mut RosterWriter<'_, '_>) -> Result<T, SchemaError>,
    ) -> Result<(T, Option<Change>), SchemaError> {
        let year = self.year;
        self.doc
            .transact(meta, |tx| f(&mut RosterWriter { year, tx }))
    }

    pub fn facts(&self) -> RosterFacts {
        RosterFacts::read(self.year, self.doc.automerge())
    }
}

/// One roster shard's contents as plain data.
#[derive(Debug, Clone, PartialEq)]
pub struct RosterFacts {
    pub year: Year,
    /// Admissions (`released` is always `None` here).
    pub admissions: BTreeMap<InmateNo, Entry<Inmate>>,
    pub releases: BTreeMap<InmateNo, Entry<Date>>,
    pub transfers: BTreeMap<InmateNo, BTreeMap<Date, Entry<DistrictId>>>,
    /// Records that could not be read, each with its key and reason.
    pub problems: Vec<Problem>,
}

impl RosterFacts {
    pub fn empty(year: Year) -> RosterFacts {
        RosterFacts {
            year,
            admissions: BTreeMap::new(),
            releases: BTreeMap::new(),
            transfers: BTreeMap::new(),
            problems: Vec::new(),
        }
    }

    pub fn read(year: Year, am: &Automerge) -> RosterFacts {
        let mut f = RosterFacts::empty(year);
        for item in am.map_range(ROOT, ..) {
            let key = item.key.as_ref();
            let conflict = item.conflict && values_differ(am, key, None);
            if let Err(reason) = f.read_one(key, &item.value, conflict) {
                f.problems.push(Problem {
                    key: format!("roster/{year}:{key}"),
                    reason,
                });
            }
        }
        f
    }

    fn read_one(&mut self, key: &str, value: &ValueRef<'_>, conflict: bool) -> Result<(), String> {
        let k = RosterKey::parse(key, self.year).map_err(|e| e.to_string())?;
        let v = decode_roster(self.year, &k, Scalar::from(value))?;
        match (k, v) {
            (RosterKey::Meta(_), _) => {}
            (RosterKey::Admission(no), RosterValue::Admission(i)) => {
                self.admissions.insert(no, Entry::new(i, conflict));
            }
            (RosterKey::Release(no), RosterValue::Release(d)) => {
                self.releases.insert(no, Entry::new(d, conflict));
            }
            (RosterKey::Transfer(no, date), RosterValue::Transfer(d)) => {
                self.transfers
                    .entry(no)
                    .or_default()
                    .insert(date, Entry::new(d, conflict));
            }
            (k, v) => return Err(format!("value {v:?} does not belong at {k}")),
        }
        Ok(())
    }

    /// Whether the shard records nothing.
    pub fn is_empty(&self) -> bool {
        self.admissions.is_empty() && self.releases.is_empty() && self.transfers.is_empty()
    }
}

impl RegistryFacts {
    /// The registry with the roster of `shards` laid over its own (that of
    /// a data directory from before the shards), in year order: an admission
    /// in a shard takes the place of the registry's record of the inmate
    /// (keeping the release it names, unless a shard records one), a
    /// release sets the inmate's last day, a transfer takes the place of the
    /// registry's one of the same inmate and date.
    ///
    /// To read a month of year `Y`, pass the shards up to `Y` only
    /// ([`RegistryFacts::with_roster_through`]): what is dated later cannot
    /// change the days of `Y`, and leaving it out keeps a sealed month's
    /// report what it was when later facts are recorded (an admission in a
    /// later year would otherwise turn a stray record's problem from "not in
    /// the roster" to "not in custody").
    ///
    /// Two shards both admitting (or releasing) one inmate — writers that
    /// moved the fact concurrently — leave the later one in force, marked
    /// in conflict; a release that falls before the admission in force is
    /// left out, as a problem.
    pub fn with_roster<'a>(mut self, shards: impl IntoIterator<Item = &'a RosterFacts>) -> Self {
        let mut shards: Vec<&RosterFacts> = shards.into_iter().collect();
        shards.sort_by_key(|s| s.year);
        let mut admitted_in: BTreeMap<&InmateNo, Year> = BTreeMap::new();
        for s in &shards {
            self.problems.extend(s.problems.iter().cloned());
            for (no, e) in &s.admissions {
                let twice = admitted_in.insert(no, s.year).is_some();
                let released = self.inmates.get(no).and_then(|i| i.value.released);
                self.inmates.insert(
                    no.clone(),
                    Entry::new(
                        Inmate {
                            released,
                            ..e.value.clone()
                        },
                        e.conflict || twice,
                    ),
                );
            }
        }
        let mut released_in: BTreeMap<&InmateNo, Year> = BTreeMap::new();
        for s in &shards {
            for (no, e) in &s.releases {
                let twice = released_in.insert(no, s.year).is_some();
                let Some(inmate) = self.inmates.get_mut(no) else {
                    self.problems.push(Problem {
                        key: format!("roster/{}:release/{no}", s.year),
                        reason: "a release of an inmate not admitted by then".into(),
                    });
                    continue;
                };
                if e.value < inmate.value.admitted {
                    self.problems.push(Problem {
                        key: format!("roster/{}:release/{no}", s.year),
                        reason: format!(
                            "released on {} before the admission on {}",
                            e.value, inmate.value.admitted
                        ),
                    });
                    continue;
                }
                inmate.value.released = Some(e.value);
                inmate.conflict |= e.conflict || twice;
            }
            for (no, moves) in &s.transfers {
                let t = self.transfers.entry(no.clone()).or_default();
                for (date, e) in moves {
                    t.insert(*date, e.clone());
                }
            }
        }
        self
    }

    /// [`RegistryFacts::with_roster`] with the shards up to `year` only:
    /// the roster as a month of `year` reads it.
    pub fn with_roster_through<'a>(
        self,
        shards: impl IntoIterator<Item = &'a RosterFacts>,
        year: Year,
    ) -> Self {
        self.with_roster(shards.into_iter().filter(|s| s.year <= year))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> ChangeMeta {
        ChangeMeta {
            author: vec![7; 32],
            time: 0,
            message: "test".into(),
            registry_heads: vec![],
        }
    }

    fn y(n: u16) -> Year {
        Year::new(n).unwrap()
    }

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn inmate(name: &str, district: &str, admitted: &str) -> Inmate {
        Inmate {
            name: name.into(),
            district: district.parse().unwrap(),
            admitted: d(admitted),
            released: None,
        }
    }

    #[test]
    fn a_shard_refuses_a_fact_dated_in_another_year() {
        let mut r = RosterDoc::new(y(2026));
        let no: InmateNo = "A1".parse().unwrap();
        let err = r
            .write(&meta(), |w| {
                w.admit(&no, &inmate("甲", "D01", "2025-12-31"))
            })
            .unwrap_err();
        assert!(matches!(err, SchemaError::DateOutsideMonth { .. }), "{err}");
        assert!(
            r.write(&meta(), |w| w.release(&no, d("2027-01-01")))
                .is_err()
        );
        let to: DistrictId = "D02".parse().unwrap();
        assert!(
            r.write(&meta(), |w| w.put_transfer(&no, d("2025-06-01"), &to))
                .is_err()
        );
        // Nothing was written by the refused transactions.
        assert!(r.facts().is_empty());
        assert!(r.document().heads().is_empty());
    }

    #[test]
    fn a_shard_reads_back_what_was_written() {
        let mut r = RosterDoc::new(y(2026));
        let no: InmateNo = "A1".parse().unwrap();
        let to: DistrictId = "D02".parse().unwrap();
        r.write(&meta(), |w| {
            w.admit(&no, &inmate("甲", "D01", "2026-02-03"))?;
            w.put_transfer(&no, d("2026-05-01"), &to)?;
            w.release(&no, d("2026-11-30"))
        })
        .unwrap();
        let f = r.facts();
        assert_eq!(f.problems, vec![]);
        assert_eq!(f.admissions[&no].value, inmate("甲", "D01", "2026-02-03"));
        assert_eq!(f.releases[&no].value, d("2026-11-30"));
        assert_eq!(f.transfers[&no][&d("2026-05-01")].value, to);
        r.write(&meta(), |w| w.withdraw_release(&no)).unwrap();
        assert!(r.facts().releases.is_empty());
    }

    #[test]
    fn a_month_reads_the_shards_up_to_its_year_only() {
        let no: InmateNo = "A1".parse().unwrap();
        let mut s2026 = RosterFacts::empty(y(2026));
        s2026.admissions.insert(
            no.clone(),
            Entry::new(inmate("甲", "D01", "2026-03-01"), false),
        );
        let mut s2027 = RosterFacts::empty(y(2027));
        s2027
            .releases
            .insert(no.clone(), Entry::new(d("2027-04-30"), false));
        s2027
            .transfers
            .entry(no.clone())
            .or_default()
            .insert(d("2027-02-01"), Entry::new("D02".parse().unwrap(), false));
        let shards = [s2027.clone(), s2026.clone()];
        let in_2026 = RegistryFacts::default().with_roster_through(&shards, y(2026));
        assert_eq!(in_2026.inmates[&no].value.released, None);
        assert!(in_2026.transfers.is_empty());
        let all = RegistryFacts::default().with_roster(&shards);
        assert_eq!(all.inmates[&no].value.released, Some(d("2027-04-30")));
        let feb = "2027-02-01".parse().unwrap();
        assert_eq!(
            all.district_on(&no, feb).map(DistrictId::as_str),
            Some("D02")
        );
        assert_eq!(all.problems, vec![]);
    }

    #[test]
    fn a_shard_takes_the_place_of_the_registrys_own_roster() {
        // A data directory from before the shards: the inmate, released in
        // the registry on 2026-06-30; a shard corrects the release.
        let no: InmateNo = "A1".parse().unwrap();
        let mut legacy = RegistryFacts::default();
        legacy.inmates.insert(
            no.clone(),
            Entry::new(
                Inmate {
                    released: Some(d("2026-06-30")),
                    ..inmate("甲", "D01", "2025-01-10")
                },
                false,
            ),
        );
        let mut s = RosterFacts::empty(y(2026));
        s.releases
            .insert(no.clone(), Entry::new(d("2026-07-31"), false));
        let f = legacy.clone().with_roster([&s]);
        assert_eq!(f.inmates[&no].value.released, Some(d("2026-07-31")));
        assert_eq!(f.inmates[&no].value.admitted, d("2025-01-10"));
        // With no shard, the registry's roster is read as it was.
        assert_eq!(legacy.clone().with_roster([]), legacy);
    }

    #[test]
    fn facts_two_shards_disagree_on_are_marked_and_bad_releases_are_problems() {
        let no: InmateNo = "A1".parse().unwrap();
        let mut a = RosterFacts::empty(y(2025));
        a.admissions.insert(
            no.clone(),
            Entry::new(inmate("甲", "D01", "2025-12-01"), false),
        );
        let mut b = RosterFacts::empty(y(2026));
        b.admissions.insert(
            no.clone(),
            Entry::new(inmate("甲", "D01", "2026-01-05"), false),
        );
        let f = RegistryFacts::default().with_roster([&a, &b]);
        assert!(f.inmates[&no].conflict);
        assert_eq!(f.inmates[&no].value.admitted, d("2026-01-05"));

        let stranger: InmateNo = "B2".parse().unwrap();
        let mut c = RosterFacts::empty(y(2025));
        c.releases
            .insert(stranger, Entry::new(d("2025-03-01"), false));
        c.releases
            .insert(no.clone(), Entry::new(d("2025-12-20"), false));
        let f = RegistryFacts::default().with_roster([&c, &b]);
        assert_eq!(f.problems.len(), 2, "{:?}", f.problems);
        assert_eq!(f.inmates[&no].value.released, None);
    }
}
