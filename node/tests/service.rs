//! The service layer on a demo prison, in process: what the CLI and the app
//! both call, with its typed errors and its "nothing written" guarantees.

use std::path::{Path, PathBuf};

use crdt_schema::{Cp, Date, DistrictId, DocId, Month};
use keys::{KeyFile, KeyFileError, Role};
use node::identity::UnlockError;
use node::keyfile::KeyFileIo;
use node::service::{Service, ServiceError};

const PASS: &str = "tally-demo";

fn demo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8 path").to_string();
    let code = node::cli::run_from(["tally", "--data", &data, "demo", "--inmates", "60"])
        .expect("demo prison");
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    dir
}

fn key_of(data: &Path, role: Role) -> PathBuf {
    std::fs::read_dir(data.join("demo-keys"))
        .expect("demo-keys")
        .map(|e| e.expect("entry").path())
        .find(|p| {
            KeyFile::read(p)
                .ok()
                .and_then(|f| f.certificate)
                .is_some_and(|c| c.body.role == role)
        })
        .expect("a key of that role")
}

fn date(s: &str) -> Date {
    s.parse().expect("date")
}

/// Seconds of 2026-11-01 12:00 UTC: a time after the demo month.
const NOV_1: i64 = 1_793_534_400;

#[test]
fn unlocking_checks_the_passphrase_the_dates_and_the_registry() {
    let dir = demo();
    let svc = Service::open(dir.path()).expect("service");
    let key = key_of(dir.path(), Role::Chief);
    let e = svc
        .unlock(&key, "not the passphrase", date("2026-11-01"))
        .expect_err("wrong passphrase");
    assert!(
        matches!(e, UnlockError::Key(KeyFileError::WrongPassphrase { .. })),
        "{e:?}"
    );
    let u = svc
        .unlock(&key, PASS, date("2026-11-01"))
        .expect("the chief's key opens");
    assert_eq!(u.officer.role, Role::Chief);
    assert_eq!(u.districts.len(), 6, "the demo's six districts");
    let valid_to = u.identity.certificate.body.valid_to;
    let after = valid_to.succ().expect("a day after");
    match svc.unlock(&key, PASS, after) {
        Err(UnlockError::NotValidToday { to, today, .. }) => {
            assert_eq!((to, today), (valid_to, after));
        }
        other => panic!("expected NotValidToday, got {other:?}"),
    }
}

#[test]
fn an_approval_of_what_changed_since_is_refused_and_writes_nothing() {
    let dir = demo();
    let svc = Service::open(dir.path()).expect("service");
    // Approvals are the prison scoring working group's.
    let chief = svc
        .unlock(
            &key_of(dir.path(), Role::PrisonGroup),
            PASS,
            date("2026-11-01"),
        )
        .expect("prison group");
    let district: crdt_schema::DistrictId = "D01".parse().expect("district");
    let month: Month = "2026-10".parse().expect("month");
    let report = &svc
        .score(Some(&district), month)
        .expect("scores")
        .value
        .reports[0];
    let facts = node::read::registry_facts(svc.store(), None)
        .expect("registry")
        .0;
    let loaded = svc
        .store()
        .load(&DocId::month(district.clone(), month))
        .expect("month")
        .typed(crdt_schema::MonthDoc::from_document)
        .expect("typed");
    let mf = loaded.doc.facts();
    let (others, _) = node::read::other_sources(svc.store(), &facts, &mf).expect("sources");
    let sources = crdt_schema::Sources::new(&facts, &mf, &others).expect("sources");
    let (inmate, pending) = report
        .body
        .inmates
        .iter()
        .find_map(|r| {
            let p =
                node::close::pending_approvals(&facts, &sources, &district, month, &r.inmate_no)
                    .ok()?;
            (!p.is_empty()).then(|| (r.inmate_no.clone(), p))
        })
        .expect("the demo leaves approvals pending");
    let version = svc.store().version(&DocId::month(district.clone(), month));
    let mut stale = pending.clone();
    stale[0].points = Cp(stale[0].points.0 + 1);
    let e = svc
        .approve(
            &chief.identity,
            NOV_1,
            &district,
            month,
            &inmate,
            Some(&stale),
        )
        .expect_err("what was seen is not what awaits");
    assert!(
        matches!(&e, ServiceError::ApprovalChanged { inmate: i } if *i == inmate),
        "{e:?}"
    );
    assert_eq!(
        svc.store().version(&DocId::month(district.clone(), month)),
        version,
        "nothing written"
    );
    let (approved, committed) = svc
        .approve(
            &chief.identity,
            NOV_1,
            &district,
            month,
            &inmate,
            Some(&pending),
        )
        .expect("approved as seen");
    assert_eq!(approved, pending);
    assert_eq!(
        committed.changes, 1,
        "every approval of the inmate in one signed change"
    );
    // A seal of a digest the month no longer has is refused the same way.
    let e = svc
        .seal(
            &chief.identity,
            NOV_1,
            &district,
            month,
            Some(&report.digest),
            false,
        )
        .expect_err("the approval changed the report");
    assert!(matches!(e, ServiceError::SealChanged { .. }), "{e:?}");
}

#[test]
fn a_bad_file_and_a_bad_conflict_pick_are_typed_and_write_nothing() {
    let dir = demo();
    let svc = Service::open(dir.path()).expect("service");
    let officer = svc
        .unlock(&key_of(dir.path(), Role::Officer), PASS, date("2026-11-01"))
        .expect("officer");
    let district: DistrictId = officer.officer.district.clone().expect("district");
    let month: Month = "2026-10".parse().expect("month");
    let doc = DocId::month(district.clone(), month);
    let before = svc.store().version(&doc);
    let csv = dir.path().join("counts.csv");
    std::fs::write(
        &csv,
        "date,inmate_no,procedure,quantity\n2026-10-05,NOPE,P1,1\n",
    )
    .expect("written");
    let mut steps = Vec::new();
    let e = svc
        .import(
            &officer.identity,
            NOV_1,
            &node::service::ImportFile {
                kind: node::import::Kind::Counts,
                path: &csv,
                sheet: None,
                label: "counts.csv",
                force: false,
            },
            &mut |s| steps.push(s),
        )
        .expect_err("an unknown inmate");
    let ServiceError::Rejected(r) = e else {
        panic!("expected Rejected, got {e:?}")
    };
    assert_eq!(r.errors.len(), 1, "{r}");
    assert_eq!(steps.len(), 2, "read and checked, never signed: {steps:?}");
    let e = svc
        .resolve(
            &officer.identity,
            NOV_1,
            &district,
            month,
            "cnt/1001/05/P1",
            Some("twelve"),
        )
        .expect_err("not a count");
    assert!(
        matches!(&e, ServiceError::BadValue { key, .. } if key == "cnt/1001/05/P1"),
        "{e:?}"
    );
    assert_eq!(svc.store().version(&doc), before, "nothing written");
}
