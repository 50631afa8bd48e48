//! Property tests over the decoders of what arrives from outside — signed
//! changes and bundles: arbitrary bytes and arbitrary damage to a valid
//! bundle never panic, and damage is never taken for a different truth.

use crdt_schema::{
    Attendance, ChangeMeta, DocId, KeyHex, MonthDoc, RegistryDoc, RegistryKey, RuleSet,
};
use keys::{CertBody, Certificate, PublicKey, Role, SecretKey};
use node::bundle::Bundle;
use node::validate::SignedChange;
use node::verify;
use proptest::prelude::*;

const TIME: i64 = 1_772_500_000; // 2026-03-03

/// A valid one-district bundle built in memory.
fn valid_bundle() -> (Vec<u8>, PublicKey) {
    let authority = SecretKey::from_seed(&[1; 32]);
    let admin = SecretKey::from_seed(&[2; 32]);
    let cert = Certificate::issue(
        &authority,
        CertBody {
            officer_no: "ADMIN".into(),
            name: "管理员".into(),
            district: None,
            role: Role::Admin,
            public_key: admin.public(),
            valid_from: "2026-01-01".parse().unwrap(),
            valid_to: "2026-12-31".parse().unwrap(),
        },
    )
    .unwrap();
    let meta = |heads| ChangeMeta {
        author: admin.public().as_bytes().to_vec(),
        time: TIME,
        message: "m".into(),
        registry_heads: heads,
    };
    let mut reg = RegistryDoc::new();
    let (_, c) = reg
        .write(&meta(vec![]), |w| {
            w.put_trust(
                &RegistryKey::Officer(KeyHex::from_bytes(admin.public().as_bytes())),
                &cert.to_json(),
            )?;
            w.put_district(&"D01".parse().unwrap(), "一监区")?;
            w.put_inmate(
                &"1001".parse().unwrap(),
                &crdt_schema::Inmate {
                    name: "张三".into(),
                    district: "D01".parse().unwrap(),
                    admitted: "2020-01-01".parse().unwrap(),
                    released: None,
                },
            )?;
            w.put_rule_set(&RuleSet::standard("2021-10".parse().unwrap()))
        })
        .unwrap();
    let registry = vec![SignedChange::sign(&admin, &DocId::Registry, c.unwrap())];
    let doc = DocId::month("D01".parse().unwrap(), "2026-03".parse().unwrap());
    let mut m = MonthDoc::new("D01".parse().unwrap(), "2026-03".parse().unwrap());
    let mut month = Vec::new();
    for day in 2..5u8 {
        let (_, c) = m
            .write(&meta(reg.document().heads()), |w| {
                w.put_attendance(
                    &"1001".parse().unwrap(),
                    "2026-03-01"
                        .parse::<crdt_schema::Date>()
                        .unwrap()
                        .month()
                        .day(day)
                        .unwrap(),
                    &Attendance::from_fields("work", "", "").unwrap(),
                )
            })
            .unwrap();
        month.push(SignedChange::sign(&admin, &doc, c.unwrap()));
    }
    let mut bundle = Bundle {
        header: Bundle::new_header(
            "测试监狱",
            "2026-03".parse().unwrap(),
            Some("D01"),
            &authority.public().to_string(),
        ),
        registry,
        months: [(doc, month)].into_iter().collect(),
        statement: None,
        content_digest: [0; 32],
    };
    // Signed by a device key, so damage to the statement and to what it
    // covers is fuzzed too.
    let device = keys::SecretKey::from_seed(&[9; 32]);
    (
        bundle.encode_signed(&device, 1_772_500_000),
        authority.public(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = SignedChange::decode(&bytes);
        let _ = Bundle::decode(&bytes);
        let mut prefixed = b"TALLYBD1".to_vec();
        prefixed.extend_from_slice(&bytes);
        let _ = Bundle::decode(&prefixed);
    }

    #[test]
    fn damaged_bundles_never_panic_and_never_verify_differently(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let (good, authority) = valid_bundle();
        let base = verify::verify(&good, &authority);
        prop_assert!(base.ok, "{:?}", base.problems);
        let mut bad = good.clone();
        for (at, byte) in &edits {
            let i = at.index(bad.len());
            bad[i] = *byte;
        }
        if let Some(c) = cut {
            bad.truncate(c.index(bad.len()));
        }
        let r = verify::verify(&bad, &authority);
        if bad != good && r.ok {
            prop_assert_eq!(&r.digest, &base.digest);
        }
    }
}
