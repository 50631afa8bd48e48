//! The adversarial suite at the level of single changes: every way a change
//! can be forged, misplaced or unauthorized, and the verdict it must get.

use crdt_schema::automerge::transaction::Transactable;
use crdt_schema::automerge::{ActorId, Author, Automerge, ObjType, ROOT};
use crdt_schema::{Attendance, ChangeMeta, DocId, KeyHex, MonthDoc, RegistryDoc, RegistryKey};
use keys::{CertBody, Certificate, Revocation, RevocationBody, Role, SecretKey, Signature};

use super::*;

const MARCH_2026: i64 = 1_772_352_000; // 2026-03-01 08:00 CST

fn authority() -> SecretKey {
    SecretKey::from_seed(&[1; 32])
}

fn person(
    seed: u8,
    no: &str,
    role: Role,
    district: Option<&str>,
    from: &str,
    to: &str,
) -> (SecretKey, Certificate) {
    person_by(&authority(), seed, no, role, district, from, to)
}

fn person_by(
    by: &SecretKey,
    seed: u8,
    no: &str,
    role: Role,
    district: Option<&str>,
    from: &str,
    to: &str,
) -> (SecretKey, Certificate) {
    let key = SecretKey::from_seed(&[seed; 32]);
    let cert = Certificate::issue(
        by,
        CertBody {
            officer_no: no.into(),
            name: format!("警官{no}"),
            district: district.map(|d| d.parse().unwrap()),
            role,
            public_key: key.public(),
            valid_from: from.parse().unwrap(),
            valid_to: to.parse().unwrap(),
        },
    )
    .unwrap();
    (key, cert)
}

fn meta(key: &SecretKey, registry_heads: Vec<ChangeHash>) -> ChangeMeta {
    ChangeMeta {
        author: key.public().as_bytes().to_vec(),
        time: MARCH_2026 + 86_400,
        message: "t".into(),
        registry_heads,
    }
}

/// A prison: admin, officer O1 (D01), officer O2 (D02), chief C1 (D01),
/// labor section L, procurator P, an officer E whose certificate expired.
struct World {
    registry: RegistryDoc,
    admin: SecretKey,
    o1: SecretKey,
    o2: SecretKey,
    c1: SecretKey,
    l: SecretKey,
    p: SecretKey,
    e: SecretKey,
    /// The prison scoring working group's officer.
    g: SecretKey,
    /// The records office's officer.
    r: SecretKey,
}

fn trust_key(k: &SecretKey) -> RegistryKey {
    RegistryKey::Officer(KeyHex::from_bytes(k.public().as_bytes()))
}

impl World {
    fn new() -> World {
        let (admin, admin_c) = person(10, "ADMIN", Role::Admin, None, "2026-01-01", "2030-12-31");
        let (o1, o1c) = person(
            11,
            "O1",
            Role::Officer,
            Some("D01"),
            "2026-01-01",
            "2030-12-31",
        );
        let (o2, o2c) = person(
            12,
            "O2",
            Role::Officer,
            Some("D02"),
            "2026-01-01",
            "2030-12-31",
        );
        let (c1, c1c) = person(
            13,
            "C1",
            Role::Chief,
            Some("D01"),
            "2026-01-01",
            "2030-12-31",
        );
        let (l, lc) = person(
            14,
            "L",
            Role::LaborSection,
            None,
            "2026-01-01",
            "2030-12-31",
        );
        let (p, pc) = person(15, "P", Role::Procurator, None, "2026-01-01", "2030-12-31");
        let (e, ec) = person(
            16,
            "E",
            Role::Officer,
            Some("D01"),
            "2020-01-01",
            "2020-12-31",
        );
        let (g, gc) = person(17, "G", Role::PrisonGroup, None, "2026-01-01", "2030-12-31");
        let (r, rc) = person(18, "R", Role::Records, None, "2026-01-01", "2030-12-31");
        let mut registry = RegistryDoc::new();
        registry
            .write(&meta(&admin, vec![]), |w| {
                for (k, c) in [
                    (&r, &rc),
                    (&g, &gc),
                    (&admin, &admin_c),
                    (&o1, &o1c),
                    (&o2, &o2c),
                    (&c1, &c1c),
                    (&l, &lc),
                    (&p, &pc),
                    (&e, &ec),
                ] {
                    w.put_trust(&trust_key(k), &c.to_json())?;
                }
                w.put_district(&"D01".parse().unwrap(), "一监区")?;
                w.put_district(&"D02".parse().unwrap(), "二监区")
            })
            .unwrap();
        World {
            registry,
            admin,
            o1,
            o2,
            c1,
            l,
            p,
            e,
            g,
            r,
        }
    }

    fn trust(&self) -> Trust {
        Trust::from_registry(authority().public(), self.registry.document().automerge())
    }

    fn heads(&self) -> Vec<ChangeHash> {
        self.registry.document().heads()
    }

    /// Judges `sc` for `doc` whose current state is `target`.
    fn judge(&self, doc: &DocId, target: &Automerge, sc: &SignedChange) -> Verdict {
        let trust = self.trust();
        Validator::new(&trust, self.registry.document().automerge()).judge(doc, target, sc)
    }

    /// `key` writes an attendance record of inmate 1001 into `doc` (fresh),
    /// signed for `doc`.
    fn attendance(&self, key: &SecretKey, doc: &DocId) -> (Automerge, SignedChange) {
        let DocId::Month { district, month } = doc else {
            panic!()
        };
        let mut m = MonthDoc::new(district.clone(), *month);
        let a = Attendance::from_fields("work", "", "").unwrap();
        let (_, c) = m
            .write(&meta(key, self.heads()), |w| {
                w.put_attendance(&"1001".parse().unwrap(), month.first(), &a)
            })
            .unwrap();
        (Automerge::new(), SignedChange::sign(key, doc, c.unwrap()))
    }
}

fn d01() -> DocId {
    DocId::month("D01".parse().unwrap(), "2026-03".parse().unwrap())
}

fn d02() -> DocId {
    DocId::month("D02".parse().unwrap(), "2026-03".parse().unwrap())
}

fn refused(v: &Verdict) -> String {
    match v {
        Verdict::Refuse(r) => r.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn an_officer_writing_their_own_district_is_accepted() {
    let w = World::new();
    let (target, sc) = w.attendance(&w.o1, &d01());
    assert!(matches!(
        w.judge(&d01(), &target, &sc),
        Verdict::Accept {
            concurrent_revocation: false,
            ..
        }
    ));
}

#[test]
fn a_forged_signature_is_refused() {
    let w = World::new();
    let (target, sc) = w.attendance(&w.o1, &d01());
    // Signed by someone else.
    let forged = SignedChange::sign(&w.o2, &d01(), sc.change.clone());
    assert!(refused(&w.judge(&d01(), &target, &forged)).contains("forged"));
    // One bit of the signature flipped.
    let mut bytes = sc.signature.to_bytes();
    bytes[17] ^= 0x04;
    let flipped = SignedChange {
        change: sc.change.clone(),
        signature: Signature::from_bytes(bytes),
    };
    assert!(refused(&w.judge(&d01(), &target, &flipped)).contains("forged"));
}

#[test]
fn a_valid_change_replayed_into_another_document_is_refused() {
    let w = World::new();
    let (target, sc) = w.attendance(&w.o1, &d01());
    // Another month of the same district: the signature names month/D01/2026-03.
    let april = DocId::month("D01".parse().unwrap(), "2026-04".parse().unwrap());
    assert!(refused(&w.judge(&april, &target, &sc)).contains("forged"));
    // Another district.
    assert!(refused(&w.judge(&d02(), &target, &sc)).contains("forged"));
    // Even re-signed by its author for D02 (a misplaced write), the path check refuses.
    let resigned = SignedChange::sign(&w.o1, &d02(), sc.change.clone());
    assert!(refused(&w.judge(&d02(), &target, &resigned)).contains("may not write"));
}

#[test]
fn an_officer_of_one_district_cannot_write_anothers() {
    let w = World::new();
    let (target, sc) = w.attendance(&w.o1, &d02());
    let r = refused(&w.judge(&d02(), &target, &sc));
    assert!(
        r.contains("officer O1 (officer of D01) may not write `att/1001/01` in month/D02/2026-03"),
        "{r}"
    );
}

#[test]
fn the_roster_shards_are_the_records_offices_alone() {
    let w = World::new();
    let year: crdt_schema::Year = "2026".parse().unwrap();
    let doc = DocId::Roster { year };
    let admit = |key: &SecretKey| {
        let mut r = crdt_schema::RosterDoc::new(year);
        let (_, c) = r
            .write(&meta(key, w.heads()), |wr| {
                wr.admit(
                    &"1001".parse().unwrap(),
                    &crdt_schema::Inmate {
                        name: "甲".into(),
                        district: "D01".parse().unwrap(),
                        admitted: "2026-03-02".parse().unwrap(),
                        released: None,
                    },
                )
            })
            .unwrap();
        SignedChange::sign(key, &doc, c.unwrap())
    };
    assert!(matches!(
        w.judge(&doc, &Automerge::new(), &admit(&w.r)),
        Verdict::Accept { .. }
    ));
    for (key, who) in [(&w.o1, "officer O1"), (&w.l, "officer L (labor_section)")] {
        let r = refused(&w.judge(&doc, &Automerge::new(), &admit(key)));
        assert!(
            r.contains(who) && r.contains("may not write `inmate/1001` in roster/2026"),
            "{r}"
        );
    }
    // The records office writes no month.
    let (target, sc) = w.attendance(&w.r, &d01());
    assert!(refused(&w.judge(&d01(), &target, &sc)).contains("may not write"));
    // Another year's shard: the signature names roster/2026.
    let other = DocId::Roster {
        year: "2027".parse().unwrap(),
    };
    assert!(refused(&w.judge(&other, &Automerge::new(), &admit(&w.r))).contains("forged"));
}

#[test]
fn roles_are_confined_to_their_records() {
    let w = World::new();
    let a = Attendance::from_fields("work", "", "").unwrap();
    let d = d01();
    let DocId::Month { district, month } = d.clone() else {
        unreachable!()
    };
    let judge_month = |key: &SecretKey,
                       f: &dyn Fn(
        &mut crdt_schema::MonthWriter<'_, '_>,
    ) -> Result<(), crdt_schema::SchemaError>| {
        let mut m = MonthDoc::new(district.clone(), month);
        let (_, c) = m.write(&meta(key, w.heads()), |wr| f(wr)).unwrap();
        let sc = SignedChange::sign(key, &d, c.unwrap());
        w.judge(&d, &Automerge::new(), &sc)
    };
    // Under the decision levels approval is the prison group's own record
    // (`gapv/`): an officer's and a chief's are refused. The former
    // procedure's (`apv/`) stays the chief's, so months approved that way
    // stay valid on every node.
    let group_approve = |wr: &mut crdt_schema::MonthWriter<'_, '_>| {
        wr.put_group_approval(
            &"1001".parse().unwrap(),
            crdt_schema::ApprovalTarget::OverfulfilmentBonus,
            crdt_schema::Cp(500),
        )
        .map(|_| ())
    };
    let chief_approve = |wr: &mut crdt_schema::MonthWriter<'_, '_>| {
        wr.put_approval(
            &"1001".parse().unwrap(),
            crdt_schema::ApprovalTarget::OverfulfilmentBonus,
            crdt_schema::Cp(500),
        )
        .map(|_| ())
    };
    assert!(
        refused(&judge_month(&w.o1, &group_approve)).contains("may not write `gapv/1001/bonus`")
    );
    let by_chief = refused(&judge_month(&w.c1, &group_approve));
    assert!(
        by_chief.contains("chief") && by_chief.contains("may not write `gapv/1001/bonus`"),
        "{by_chief}"
    );
    assert!(matches!(
        judge_month(&w.g, &group_approve),
        Verdict::Accept { .. }
    ));
    assert!(matches!(
        judge_month(&w.c1, &chief_approve),
        Verdict::Accept { .. }
    ));
    assert!(refused(&judge_month(&w.g, &chief_approve)).contains("may not write `apv/1001/bonus`"));
    assert!(
        refused(&judge_month(&w.o1, &chief_approve)).contains("may not write `apv/1001/bonus`")
    );
    // The weekly review is the chief's: an officer's and the prison
    // group's are refused.
    let review = |wr: &mut crdt_schema::MonthWriter<'_, '_>| {
        let held = month.first();
        wr.put_review(&crdt_schema::Review {
            week: crdt_schema::Week::of(held).unwrap(),
            held,
            members: 7,
            present: 6,
            in_favour: 5,
            decisions: Vec::new(),
            dissent: String::new(),
        })
        .map(|_| ())
    };
    assert!(refused(&judge_month(&w.o1, &review)).contains("may not write `rev/"));
    assert!(refused(&judge_month(&w.g, &review)).contains("may not write `rev/"));
    assert!(matches!(
        judge_month(&w.c1, &review),
        Verdict::Accept { .. }
    ));
    // The labor section and the procurator may not write daily records.
    let att = |wr: &mut crdt_schema::MonthWriter<'_, '_>| {
        wr.put_attendance(&"1001".parse().unwrap(), month.first(), &a)
            .map(|_| ())
    };
    assert!(refused(&judge_month(&w.l, &att)).contains("labor_section"));
    assert!(refused(&judge_month(&w.p, &att)).contains("procurator"));
    // The procurator may object.
    let object = |wr: &mut crdt_schema::MonthWriter<'_, '_>| {
        wr.put_objection(&crdt_schema::Objection {
            inmate: None,
            date: None,
            text: "计数存疑".into(),
        })
        .map(|_| ())
    };
    assert!(matches!(judge_month(&w.p, &object), Verdict::Accept { .. }));
    // An officer may not touch the registry.
    let mut reg = RegistryDoc::from_document(w.registry.document().fork()).unwrap();
    let (_, c) = reg
        .write(&meta(&w.o1, vec![]), |rw| {
            rw.put_district(&"D09".parse().unwrap(), "九监区")
        })
        .unwrap();
    let sc = SignedChange::sign(&w.o1, &DocId::Registry, c.unwrap());
    let trust = w.trust();
    let v = Validator::new(&trust, reg.document().automerge()).judge(
        &DocId::Registry,
        reg.document().automerge(),
        &sc,
    );
    assert!(refused(&v).contains("may not write `district/D09` in registry"));
}

#[test]
fn a_revoked_officer_is_refused_after_the_revocation_and_flagged_when_concurrent() {
    let mut w = World::new();
    let before = w.heads();
    let rev = Revocation::issue(
        &authority(),
        RevocationBody {
            officer_no: "O1".into(),
            public_key: w.o1.public(),
            date: "2026-03-01".parse().unwrap(),
        },
    )
    .unwrap();
    let admin = SecretKey::from_seed(&[10; 32]);
    assert_eq!(admin.public(), w.admin.public());
    w.registry
        .write(&meta(&admin, vec![]), |rw| {
            rw.put_trust(
                &RegistryKey::Revocation(KeyHex::from_bytes(w.o1.public().as_bytes())),
                &rev.to_json(),
            )
        })
        .unwrap();
    // Written knowing the revocation (anchored at the registry after it): refused.
    let (target, after) = w.attendance(&w.o1, &d01());
    assert_eq!(
        refused(&w.judge(&d01(), &target, &after)),
        "officer O1 wrote after the revocation of their key was known"
    );
    // Written on a PC that had not yet seen it (anchored before): accepted, flagged.
    let mut m = MonthDoc::new("D01".parse().unwrap(), "2026-03".parse().unwrap());
    let a = Attendance::from_fields("sick", "", "").unwrap();
    let (_, c) = m
        .write(&meta(&w.o1, before), |mw| {
            mw.put_attendance(&"1002".parse().unwrap(), "2026-03-02".parse().unwrap(), &a)
        })
        .unwrap();
    let concurrent = SignedChange::sign(&w.o1, &d01(), c.unwrap());
    assert!(matches!(
        w.judge(&d01(), &Automerge::new(), &concurrent),
        Verdict::Accept {
            concurrent_revocation: true,
            ..
        }
    ));
}

#[test]
fn an_expired_certificate_is_refused() {
    let w = World::new();
    let (target, sc) = w.attendance(&w.e, &d01());
    let r = refused(&w.judge(&d01(), &target, &sc));
    assert!(
        r.contains(
            "officer E's certificate is not valid on 2026-03-02 (valid 2020-01-01 to 2020-12-31)"
        ),
        "{r}"
    );
}

#[test]
fn a_weak_key_cannot_author_a_change() {
    let w = World::new();
    // The identity point: with R = identity and s = 0 the permissive Ed25519
    // equation holds for every message. Strict verification must refuse it.
    let mut weak = [0u8; 32];
    weak[0] = 1;
    let mut m = MonthDoc::new("D01".parse().unwrap(), "2026-03".parse().unwrap());
    let (_, c) = m
        .write(
            &ChangeMeta {
                author: weak.to_vec(),
                time: MARCH_2026,
                message: "t".into(),
                registry_heads: vec![],
            },
            |mw| {
                mw.put_count(
                    &"1001".parse().unwrap(),
                    "2026-03-02".parse().unwrap(),
                    &"P1".parse().unwrap(),
                    9999,
                )
            },
        )
        .unwrap();
    let mut sig = [0u8; 64];
    sig[0] = 1; // R = identity, s = 0
    let sc = SignedChange {
        change: c.unwrap(),
        signature: Signature::from_bytes(sig),
    };
    assert!(refused(&w.judge(&d01(), &Automerge::new(), &sc)).contains("weak"));
    // Nor is it a key at all to the trust layer.
    assert!(keys::PublicKey::from_bytes(weak).is_err());
}

#[test]
fn a_certificate_from_another_authority_does_not_make_an_officer() {
    let w = World::new();
    let other = SecretKey::from_seed(&[2; 32]);
    let (x, xc) = person_by(
        &other,
        20,
        "X",
        Role::Admin,
        None,
        "2026-01-01",
        "2030-12-31",
    );
    // The records office cannot enrol it: the trust record does not verify.
    let mut reg = RegistryDoc::from_document(w.registry.document().fork()).unwrap();
    let (_, c) = reg
        .write(&meta(&w.admin, vec![]), |rw| {
            rw.put_trust(&trust_key(&x), &xc.to_json())
        })
        .unwrap();
    let sc = SignedChange::sign(&w.admin, &DocId::Registry, c.unwrap());
    let trust = w.trust();
    let v = Validator::new(&trust, reg.document().automerge()).judge(
        &DocId::Registry,
        reg.document().automerge(),
        &sc,
    );
    assert!(refused(&v).contains("not signed by this prison's authority"));
    // And its holder's writes are never judged authorized (no certificate known).
    let (target, sc) = w.attendance(&x, &d01());
    assert!(
        matches!(w.judge(&d01(), &target, &sc), Verdict::Pending(p) if p.to_string().contains("no certificate"))
    );
}

#[test]
fn malformed_operations_and_values_are_refused() {
    let w = World::new();
    let author = w.o1.public().as_bytes().to_vec();
    let raw = |f: &dyn Fn(&mut crdt_schema::automerge::transaction::Transaction<'_>)| {
        let mut am = Automerge::new();
        am.set_author(Some(Author::from(author.clone())));
        let mut actor = author[..8].to_vec();
        actor.extend_from_slice(&[7; 8]);
        am.set_actor(ActorId::from(actor));
        let mut tx = am.transaction();
        f(&mut tx);
        tx.commit_with(
            crdt_schema::automerge::transaction::CommitOptions::default()
                .with_time(MARCH_2026)
                .with_message(format!(
                    "{{\"msg\":\"x\",\"reg\":[{}]}}",
                    w.heads()
                        .iter()
                        .map(|h| format!("\"{h}\""))
                        .collect::<Vec<_>>()
                        .join(",")
                )),
        );
        let c = am.get_last_local_change().unwrap();
        SignedChange::sign(&w.o1, &d01(), c)
    };
    let bad_value = raw(&|tx| {
        tx.put(ROOT, "att/1001/01", "work|0480|").unwrap();
    });
    assert!(refused(&w.judge(&d01(), &Automerge::new(), &bad_value)).contains("att/1001/01"));
    let nested = raw(&|tx| {
        tx.put_object(ROOT, "att", ObjType::Map).unwrap();
    });
    assert!(refused(&w.judge(&d01(), &Automerge::new(), &nested)).contains("malformed"));
    let unknown = raw(&|tx| {
        tx.put(ROOT, "bonus_for_me", 9999).unwrap();
    });
    assert!(refused(&w.judge(&d01(), &Automerge::new(), &unknown)).contains("bonus_for_me"));
    let negative = raw(&|tx| {
        tx.put(ROOT, "cnt/1001/01/P1", -5).unwrap();
    });
    assert!(refused(&w.judge(&d01(), &Automerge::new(), &negative)).contains("cnt/1001/01/P1"));
}

#[test]
fn an_actor_not_bound_to_its_author_is_refused() {
    let w = World::new();
    let mut am = Automerge::new();
    am.set_author(Some(Author::from(w.o1.public().as_bytes().to_vec())));
    am.set_actor(ActorId::from(vec![0xAB; 16])); // someone else's actor
    let mut tx = am.transaction();
    tx.put(ROOT, "att/1001/01", "work||").unwrap();
    tx.commit_with(
        crdt_schema::automerge::transaction::CommitOptions::default().with_time(MARCH_2026),
    );
    let sc = SignedChange::sign(&w.o1, &d01(), am.get_last_local_change().unwrap());
    assert!(refused(&w.judge(&d01(), &Automerge::new(), &sc)).contains("actor"));
}

#[test]
fn changes_that_cannot_be_judged_yet_are_pending_not_refused() {
    let w = World::new();
    // Anchored at a registry change this node lacks.
    let mut m = MonthDoc::new("D01".parse().unwrap(), "2026-03".parse().unwrap());
    let ghost = ChangeHash([9; 32]);
    let (_, c) = m
        .write(&meta(&w.o1, vec![ghost]), |mw| {
            mw.put_attendance(
                &"1001".parse().unwrap(),
                "2026-03-02".parse().unwrap(),
                &Attendance::from_fields("rest", "", "").unwrap(),
            )
        })
        .unwrap();
    let sc = SignedChange::sign(&w.o1, &d01(), c.unwrap());
    assert!(
        matches!(w.judge(&d01(), &Automerge::new(), &sc), Verdict::Pending(p) if p.to_string().contains("registry change"))
    );
    // Depending on a change this node lacks.
    let (_, c2) = m
        .write(&meta(&w.o1, w.heads()), |mw| {
            mw.put_attendance(
                &"1001".parse().unwrap(),
                "2026-03-03".parse().unwrap(),
                &Attendance::from_fields("rest", "", "").unwrap(),
            )
        })
        .unwrap();
    let sc2 = SignedChange::sign(&w.o1, &d01(), c2.unwrap());
    assert!(
        matches!(w.judge(&d01(), &Automerge::new(), &sc2), Verdict::Pending(p) if p.to_string().contains("missing earlier"))
    );
}

#[test]
fn signed_change_decoding_never_panics_on_garbage() {
    let w = World::new();
    let (_, sc) = w.attendance(&w.o1, &d01());
    let bytes = sc.encode();
    assert!(SignedChange::decode(&bytes).is_ok());
    for cut in 0..bytes.len() {
        let _ = SignedChange::decode(&bytes[..cut]);
    }
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0xff;
        if let Ok(d) = SignedChange::decode(&b) {
            // Whatever decodes must still be judged without panicking, and
            // never accepted unless it is the original change.
            let v = w.judge(&d01(), &Automerge::new(), &d);
            if matches!(v, Verdict::Accept { .. }) {
                assert_eq!(d.hash(), sc.hash());
                assert_eq!(d.signature, sc.signature);
            }
        }
    }
}

impl World {
    /// 100 attendance records of `doc` written one after another by `o1`
    /// (a chain: only the first change names its author), each signed by
    /// `signer(i)`.
    fn chain_of_100<'k>(
        &self,
        doc: &DocId,
        signer: impl Fn(u8) -> &'k SecretKey,
    ) -> Vec<SignedChange> {
        let DocId::Month { district, month } = doc else {
            panic!()
        };
        let mut m = MonthDoc::new(district.clone(), *month);
        (0..100u8)
            .map(|i| {
                let a = Attendance::from_fields("work", "", "").unwrap();
                let no = format!("{}", 1000 + u32::from(i)).parse().unwrap();
                let (_, c) = m
                    .write(&meta(&self.o1, self.heads()), |wr| {
                        wr.put_attendance(&no, month.first(), &a)
                    })
                    .unwrap();
                SignedChange::sign(signer(i), doc, c.unwrap())
            })
            .collect()
    }
}

/// A batch of 100 (a chain by one officer: only the first change names its
/// author) is judged with its signatures checked ahead on every core: the
/// verdicts are those of judging one by one — one change signed by another
/// officer is refused as forged, what depends on it waits, the rest enter.
#[test]
fn a_large_batch_checked_ahead_gets_the_same_verdicts() {
    let w = World::new();
    let doc = d01();
    // The 31st is signed by another officer of the prison.
    let batch = w.chain_of_100(&doc, |i| if i == 30 { &w.o2 } else { &w.o1 });
    let trust = w.trust();
    let mut v = Validator::new(&trust, w.registry.document().automerge());
    let got = v.admit(
        &doc,
        &Automerge::new(),
        batch.clone(),
        &mut ActorSeqs::default(),
    );
    assert_eq!(got.accepted.len(), 30, "the 30 before the forged one");
    assert_eq!(got.refused.len(), 1);
    assert_eq!(got.refused[0].0.hash(), batch[30].hash());
    assert_eq!(got.refused[0].1, Refusal::BadSignature);
    assert_eq!(
        got.pending.len(),
        69,
        "what follows the forged one waits for it"
    );
    // One by one, each against the history before it: the same verdicts.
    let mut history = Automerge::new();
    for sc in &batch[..30] {
        assert!(matches!(
            w.judge(&doc, &history, sc),
            Verdict::Accept { .. }
        ));
        history.apply_changes([sc.change.clone()]).unwrap();
    }
    assert_eq!(
        w.judge(&doc, &history, &batch[30]),
        Verdict::Refuse(Refusal::BadSignature)
    );
}

/// Copies of one change with different signatures in one batch (a forger
/// relays a copy with its own): each copy is judged by its own signature,
/// so the author's enters whichever comes last.
#[test]
fn a_forged_copy_in_a_large_batch_does_not_shadow_the_real_change() {
    let w = World::new();
    let doc = d01();
    let batch = w.chain_of_100(&doc, |_| &w.o1);
    let forged = SignedChange::sign(&w.o2, &doc, batch[10].change.clone());
    let trust = w.trust();
    for order in [true, false] {
        let mut b = batch.clone();
        if order {
            b.push(forged.clone());
        } else {
            b.insert(0, forged.clone());
        }
        let mut v = Validator::new(&trust, w.registry.document().automerge());
        let got = v.admit(&doc, &Automerge::new(), b, &mut ActorSeqs::default());
        assert_eq!(
            got.accepted.len(),
            100,
            "every real change enters (forged copy last: {order})"
        );
        assert!(
            got.refused.is_empty()
                || got
                    .refused
                    .iter()
                    .all(|(sc, _)| sc.signature == forged.signature)
        );
    }
}
