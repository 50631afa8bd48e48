//! The `tally` binary end to end, on real files in a temporary data directory.
//!
//! The small prison in `tests/data/` is scored by hand in
//! `a_small_prison_scores_as_computed_by_hand`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const TALLY: &str = env!("CARGO_BIN_EXE_tally");
const PASSPHRASE: &str = "test passphrase";

fn data_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn tally(dir: &Path, args: &[&str]) -> Output {
    Command::new(TALLY)
        .arg("--data")
        .arg(dir)
        .args(args)
        .env_remove("TALLY_DATA")
        .env("TALLY_PASSPHRASE", PASSPHRASE)
        .output()
        .expect("tally runs")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = tally(dir, args);
    assert!(
        out.status.success(),
        "tally {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// A command that succeeds: its standard output and standard error.
fn ok_err(dir: &Path, args: &[&str]) -> (String, String) {
    let out = tally(dir, args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "tally {args:?} failed:\n{err}");
    (String::from_utf8(out.stdout).expect("utf-8 output"), err)
}

fn json(dir: &Path, args: &[&str]) -> Value {
    serde_json::from_str(&ok(dir, args)).expect("JSON output")
}

/// Every file under `dir/docs` with its bytes, to prove nothing was written.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(p: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(p).unwrap() {
            let e = e.unwrap().path();
            if e.is_dir() {
                walk(&e, out);
            } else {
                out.insert(e.clone(), std::fs::read(&e).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&dir.join("docs"), &mut out);
    out
}

const KINDS: [(&str, &str); 8] = [
    ("districts", "districts.csv"),
    ("inmates", "inmates.csv"),
    ("procedures", "procedures.csv"),
    ("attendance", "attendance.csv"),
    ("assignments", "assignments.csv"),
    ("counts", "counts.csv"),
    ("team-counts", "team_counts.csv"),
    ("adjustments", "adjustments.csv"),
];

fn small_prison() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    ok(dir.path(), &["init", "--prison", "测试监狱"]);
    for (kind, file) in KINDS {
        let f = data_file(file);
        ok(dir.path(), &["import", kind, f.to_str().unwrap()]);
    }
    dir
}

/// Posts a district's March (from 1 April, long over), so it may be sealed.
fn post_march(d: &Path, district: &str) {
    ok(
        d,
        &[
            "post",
            "--district",
            district,
            "--month",
            "2026-03",
            "--from",
            "2026-04-01",
        ],
    );
}

fn inmate<'a>(report: &'a Value, no: &str) -> &'a Value {
    report["inmates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["inmate_no"] == no)
        .unwrap_or_else(|| panic!("{no} in report"))
}

#[test]
fn a_small_prison_scores_as_computed_by_hand() {
    let dir = small_prison();
    let r = json(
        dir.path(),
        &["score", "--district", "D01", "--month", "2026-03", "--json"],
    );
    assert_eq!(r["district"], "D01");
    assert_eq!(r["month"], "2026-03");
    assert_eq!(r["digest"].as_str().unwrap().len(), 64);

    // Before the district group's review neither entry counts: the −1000
    // of 1001 and the +300 of 2001 wait for it (needs_review).
    let a = inmate(&r, "1001");
    assert_eq!(
        (a["pending_deduct_cp"].as_i64(), a["labor_cp"].as_i64()),
        (Some(1000), Some(2416))
    );
    assert_eq!(
        a["flags"],
        serde_json::json!(["below_base", "needs_review"])
    );
    // The entries with their ids, levels and states; the group passes both.
    for (district, week) in [("D01", "2026-W10"), ("D02", "2026-W10")] {
        let entries = json(
            dir.path(),
            &[
                "entries",
                "--district",
                district,
                "--month",
                "2026-03",
                "--json",
            ],
        );
        let e = &entries[0];
        assert_eq!(e["status"], "awaiting_review", "{entries}");
        let id = e["id"].as_str().unwrap().to_string();
        let out = ok(
            dir.path(),
            &[
                "review",
                "--district",
                district,
                "--week",
                week,
                "--members",
                "7",
                "--yes",
                "5",
                "--held",
                "2026-03-06",
                "--pass",
                &id,
            ],
        );
        assert!(out.contains("1 decision(s); 5 of 7 in favour"), "{out}");
    }
    let entries = json(
        dir.path(),
        &[
            "entries",
            "--district",
            "D01",
            "--month",
            "2026-03",
            "--json",
        ],
    );
    assert_eq!(entries[0]["level"], "prison_group");
    assert_eq!(entries[0]["status"], "awaiting_approval");
    assert_eq!(entries[0]["decision"]["outcome"], "pass");
    assert_eq!(entries[0]["decision"]["in_favour"], 5);
    let r = json(
        dir.path(),
        &["score", "--district", "D01", "--month", "2026-03", "--json"],
    );

    // 1001: work 03-02 (528 × 60000 ms → r 11000, f 10000), 03-03 (480 → f 10000),
    // sick 03-04 (f 0), work 03-17 (600 × 48000 ms after the revision of 03-16 → f 10000).
    // D = 4, Σf = 30000, C = K = 31: BASE = 3000×31×30000/(31×4×10000) = 2250.
    // over = (31.68M + 28.8M + 28.8M)×10000/86.4M − 10000 = 333 → BONUS 166 (< 500, counts).
    // The −1000 deduction, passed, needs the prison group's approval: pending.
    // LABOR = 2250 + 166 = 2416.
    let a = inmate(&r, "1001");
    assert_eq!(a["base_cp"], 2250);
    assert_eq!(a["bonus_cp"], 166);
    assert_eq!(a["pending_bonus_cp"], 0);
    assert_eq!(a["deduct_cp"], 0);
    assert_eq!(a["pending_deduct_cp"], 1000);
    assert_eq!(a["labor_cp"], 2416);
    assert_eq!(
        a["flags"],
        serde_json::json!(["below_base", "needs_approval"])
    );

    // 1002: admitted 03-16 (C = 16), one work day with nothing counted: f = 0 → 0.
    assert_eq!(inmate(&r, "1002")["labor_cp"], 0);
    // 1003: released 03-10 (C = 10), one day at 50%: BASE = 3000×10×5000/(31×1×10000) = 483.
    assert_eq!(inmate(&r, "1003")["base_cp"], 483);

    // 2001 (D02): sole member of the P2 team: 960 and 1000 units × 30000 ms.
    // r = 10000 and 10416 → f 10000, 10000: BASE 3000. over = 58.8M×10000/57.6M − 10000 = 208
    // → BONUS 104; +300 bonus counts; bonus = 404; LABOR 3404.
    let all = json(dir.path(), &["score", "--month", "2026-03", "--json"]);
    assert_eq!(all["month"], "2026-03");
    let districts = all["districts"].as_array().unwrap();
    assert_eq!(districts.len(), 2);
    assert_eq!(
        districts[0], r,
        "all-district output holds the same D01 report"
    );
    let b = inmate(&districts[1], "2001");
    assert_eq!(
        (b["bonus_cp"].as_i64(), b["labor_cp"].as_i64()),
        (Some(404), Some(3404))
    );
    assert_eq!(b["flags"], serde_json::json!([]));
}

#[test]
fn the_board_shows_the_day() {
    let dir = small_prison();
    let b = json(
        dir.path(),
        &[
            "board",
            "--district",
            "D01",
            "--date",
            "2026-03-02",
            "--json",
        ],
    );
    let rows = b["rows"].as_array().unwrap();
    // 1002 was not yet admitted on 03-02 and has no record: not on the board.
    let nos: Vec<&str> = rows
        .iter()
        .map(|r| r["inmate_no"].as_str().unwrap())
        .collect();
    assert_eq!(nos, ["1001", "1003"]);
    // quota = 28 800 000 / 60000 = 480.
    assert_eq!(
        (
            rows[0]["quota"].as_i64(),
            rows[0]["done"].as_i64(),
            rows[0]["over"].as_i64()
        ),
        (Some(480), Some(528), Some(48))
    );
    assert_eq!(
        (
            rows[1]["done"].as_i64(),
            rows[1]["short"].as_i64(),
            rows[1]["rate_bp"].as_i64()
        ),
        (Some(240), Some(240), Some(5000))
    );
    let human = ok(
        dir.path(),
        &["board", "--district", "D01", "--date", "2026-03-02"],
    );
    assert!(human.contains("张镕"), "{human}");
}

#[test]
fn importing_the_same_rows_again_changes_nothing() {
    let dir = small_prison();
    let before = snapshot(dir.path());
    for (kind, file) in KINDS {
        let f = data_file(file);
        let out = ok(dir.path(), &["import", kind, f.to_str().unwrap()]);
        assert!(out.contains(" 0 records changed in 0 documents"), "{out}");
    }
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn a_bad_file_is_rejected_whole_and_writes_nothing() {
    let dir = small_prison();
    let before = snapshot(dir.path());
    let bad = dir.path().join("bad_counts.csv");
    std::fs::write(
        &bad,
        "date,inmate_no,procedure,quantity\n2026-03-05,1001,P1,10\n2026-03-06,1001,P1,-4\n2026-03-07,9999,P1,1\n",
    )
    .unwrap();
    let out = tally(dir.path(), &["import", "counts", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let path = bad.display().to_string();
    assert!(
        err.contains(&format!("{path}:3: column quantity: `-4`")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{path}:4: column inmate_no: `9999`: unknown inmate"
        )),
        "{err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn commands_refuse_bad_arguments_clearly() {
    let dir = small_prison();
    let out = tally(
        dir.path(),
        &["score", "--district", "D09", "--month", "2026-03"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown district D09"));
    let out = tally(dir.path(), &["score", "--month", "2026-13"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("2026-13"));
    let empty = tempfile::tempdir().unwrap();
    let out = tally(empty.path(), &["score", "--month", "2026-03"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("tally init"));
}

#[test]
fn the_demo_is_deterministic_by_seed() {
    let digests = |seed: &str| {
        let dir = tempfile::tempdir().unwrap();
        ok(
            dir.path(),
            &[
                "demo",
                "--inmates",
                "300",
                "--month",
                "2026-03",
                "--seed",
                seed,
            ],
        );
        let all = json(dir.path(), &["score", "--month", "2026-03", "--json"]);
        all["districts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["digest"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let a = digests("7");
    assert_eq!(a.len(), 6);
    assert_eq!(a, digests("7"));
    assert_ne!(a, digests("8"));
}

/// `demo --months`: a year built in two runs is the year built in one, and
/// the second run leaves the months already there as they were — their
/// report digests, and their seals current and unamended (issue 13 item 6).
#[test]
fn a_demo_year_extended_keeps_its_earlier_months_and_seals() {
    let months = |dir: &Path, range: &str| {
        ok_err(
            dir,
            &["demo", "--months", range, "--inmates", "60", "--seed", "5"],
        )
        .1
    };
    // (district, digest, sealed, current, amended, registry_changed) of a month.
    let state = |dir: &Path, month: &str| -> Vec<(String, String, bool, Value, Value, Value)> {
        let all = json(dir, &["score", "--month", month, "--json"]);
        all["districts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let seal = &r["seal"];
                (
                    r["district"].as_str().unwrap().to_string(),
                    r["digest"].as_str().unwrap().to_string(),
                    seal.is_object(),
                    seal["current"].clone(),
                    seal["amended"].clone(),
                    seal["registry_changed"].clone(),
                )
            })
            .collect()
    };
    let two = tempfile::tempdir().unwrap();
    months(two.path(), "2026-01..2026-02");
    let jan = state(two.path(), "2026-01");
    let feb = state(two.path(), "2026-02");
    assert_eq!(jan.len(), 6);
    // Every January district sealed, current, unamended; in February, the
    // last month of that run, all but the last.
    for (d, _, sealed, current, amended, changed) in &jan {
        assert!(sealed, "{d} 2026-01 sealed");
        assert_eq!(
            (current, amended, changed),
            (
                &serde_json::json!(true),
                &serde_json::json!(0),
                &serde_json::json!(false)
            ),
            "{d}"
        );
    }
    assert_eq!(feb.iter().filter(|s| s.2).count(), 5);

    let err = months(two.path(), "2026-01..2026-03");
    assert!(
        err.contains("2026-01 already there, left as it is"),
        "{err}"
    );
    assert!(
        err.contains("2026-02 already there; 1 district(s) left open sealed now"),
        "{err}"
    );
    assert_eq!(state(two.path(), "2026-01"), jan, "January left as it was");
    // February's reports as they were, its last district sealed now.
    let feb_now = state(two.path(), "2026-02");
    assert_eq!(
        feb_now.iter().map(|s| &s.1).collect::<Vec<_>>(),
        feb.iter().map(|s| &s.1).collect::<Vec<_>>()
    );
    assert_eq!(feb_now.iter().filter(|s| s.2).count(), 6);
    assert_eq!(
        &feb_now[..5],
        &feb[..5],
        "the seals made before, as they were"
    );

    // The same three months in one run give the same reports.
    let one = tempfile::tempdir().unwrap();
    months(one.path(), "2026-01..2026-03");
    let digests = |s: Vec<(String, String, bool, Value, Value, Value)>| {
        s.into_iter().map(|x| (x.0, x.1)).collect::<Vec<_>>()
    };
    for m in ["2026-01", "2026-02", "2026-03"] {
        assert_eq!(
            digests(state(one.path(), m)),
            digests(state(two.path(), m)),
            "{m}"
        );
        let sealed = |dir: &Path| state(dir, m).iter().filter(|s| s.2).count();
        assert_eq!(
            sealed(one.path()),
            sealed(two.path()),
            "{m}: as many sealed"
        );
    }

    // A run that would not continue what is there is refused, naming why.
    let out = tally(
        two.path(),
        &[
            "demo",
            "--months",
            "2026-02..2026-04",
            "--inmates",
            "60",
            "--seed",
            "5",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("holds records from 2026-01"), "{err}");
    let out = tally(
        two.path(),
        &[
            "demo",
            "--months",
            "2026-01..2026-04",
            "--inmates",
            "60",
            "--seed",
            "6",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("was not built by `tally demo --months 2026-01..` with --inmates 60 --seed 6"),
        "{err}"
    );
    let single = tempfile::tempdir().unwrap();
    ok(
        single.path(),
        &["demo", "--inmates", "60", "--month", "2026-03"],
    );
    let out = tally(
        single.path(),
        &["demo", "--months", "2026-03..2026-05", "--inmates", "60"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("was not built by"), "{err}");
    let roster = tempfile::tempdir().unwrap();
    ok(roster.path(), &["init", "--prison", "花名册监狱"]);
    for (kind, file) in &KINDS[..2] {
        ok(
            roster.path(),
            &["import", kind, data_file(file).to_str().unwrap()],
        );
    }
    let out = tally(
        roster.path(),
        &["demo", "--months", "2026-03..2026-05", "--inmates", "60"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already has a roster"), "{err}");
    let out = tally(single.path(), &["demo", "--months", "2026-05..2026-04"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("the last month is before the first"));
}

#[test]
fn the_data_directory_comes_from_tally_data() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(TALLY)
        .args(["init", "--prison", "环境变量监狱"])
        .env("TALLY_DATA", dir.path())
        .env("TALLY_PASSPHRASE", PASSPHRASE)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(dir.path().join("tally.toml").exists());
}

fn fails(dir: &Path, args: &[&str]) -> String {
    let out = tally(dir, args);
    assert!(!out.status.success(), "tally {args:?} should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn officers_sign_what_they_may_and_are_refused_the_rest() {
    let dir = small_prison();
    let d = dir.path();
    let key = |name: &str| d.join(name).to_str().unwrap().to_string();
    for (no, district, role, file) in [
        ("J001", "D01", "officer", "j001.key"),
        ("J002", "D01", "officer", "j002.key"),
        ("C001", "D01", "chief", "c001.key"),
        ("G001", "", "prison_group", "g001.key"),
    ] {
        let k = key(file);
        let mut args = vec!["officer", "add", no, "--name", "王警官"];
        if !district.is_empty() {
            args.extend(["--district", district]);
        }
        args.extend([
            "--role",
            role,
            "--key-out",
            &k,
            "--valid-from",
            "2026-01-01",
        ]);
        let out = ok(d, &args);
        assert!(out.contains(&format!("officer {no}")), "{out}");
    }
    // J001 records a work day and its count in its own district.
    let att = d.join("j1-att.csv");
    std::fs::write(
        &att,
        "date,inmate_no,day_type,minutes,grade\n2026-03-05,1001,work,480,\n",
    )
    .unwrap();
    let counts = d.join("j1.csv");
    std::fs::write(
        &counts,
        "date,inmate_no,procedure,quantity\n2026-03-05,1001,P1,480\n",
    )
    .unwrap();
    let j1 = key("j001.key");
    ok(
        d,
        &["--as", &j1, "import", "attendance", att.to_str().unwrap()],
    );
    ok(
        d,
        &["--as", &j1, "import", "counts", counts.to_str().unwrap()],
    );
    // …but not in D02's document.
    let other = d.join("j1-d02.csv");
    std::fs::write(
        &other,
        "date,inmate_no,procedure,quantity\n2026-03-05,2001,P2,10\n",
    )
    .unwrap();
    let err = fails(
        d,
        &["--as", &j1, "import", "counts", other.to_str().unwrap()],
    );
    // Refused before anything is signed, naming inmate, date and district.
    assert!(
        err.contains(
            "inmate 2001 was in D02 on 2026-03-05, not in D01: a record of that day belongs to D02's document"
        ),
        "{err}"
    );
    // The weekly review is the chief's: an officer's is refused, with why.
    let entries = json(
        d,
        &[
            "entries",
            "--district",
            "D01",
            "--month",
            "2026-03",
            "--json",
        ],
    );
    let id = entries[0]["id"].as_str().unwrap().to_string();
    let review = |who: &str| {
        tally(
            d,
            &[
                "--as",
                who,
                "review",
                "--district",
                "D01",
                "--week",
                "2026-W10",
                "--members",
                "7",
                "--yes",
                "5",
                "--held",
                "2026-03-06",
                "--pass",
                &id,
            ],
        )
    };
    let out = review(&j1);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("may not write `rev/2026-W10/"), "{err}");
    let c1 = key("c001.key");
    let out = review(&c1);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Four of seven is not two thirds: refused before anything is signed.
    let err = fails(
        d,
        &[
            "--as",
            &c1,
            "review",
            "--district",
            "D01",
            "--week",
            "2026-W10",
            "--members",
            "7",
            "--yes",
            "4",
            "--held",
            "2026-03-06",
            "--return",
            &id,
        ],
    );
    assert!(
        err.contains("4 of 7 members in favour is less than two thirds"),
        "{err}"
    );
    // Approval is the prison group's: an officer's and a chief's are refused.
    for who in [&j1, &c1] {
        let err = fails(
            d,
            &[
                "--as",
                who,
                "approve",
                "--district",
                "D01",
                "--month",
                "2026-03",
                "--inmate",
                "1001",
            ],
        );
        assert!(err.contains("may not write `gapv/1001/adj/"), "{err}");
    }

    // J001 cannot confirm its own records; J002 can.
    let out = ok(
        d,
        &[
            "--as",
            &j1,
            "confirm",
            "--district",
            "D01",
            "--date",
            "2026-03-05",
        ],
    );
    assert!(
        out.contains("confirmed 0 inmate-day(s) and 0 team count(s); 1 record(s) written by you"),
        "{out}"
    );
    let out = ok(
        d,
        &[
            "--as",
            &key("j002.key"),
            "confirm",
            "--district",
            "D01",
            "--date",
            "2026-03-05",
        ],
    );
    assert!(out.contains("confirmed 1 inmate-day(s)"), "{out}");

    // The prison group approves the pending deduction of 1001; the chief seals.
    let out = ok(
        d,
        &[
            "--as",
            &key("g001.key"),
            "approve",
            "--district",
            "D01",
            "--month",
            "2026-03",
            "--inmate",
            "1001",
        ],
    );
    assert!(out.contains("approved -10.00 points (质量不合格)"), "{out}");
    // Not posted yet: the seal waits for the posting's end (RULES.md).
    let err = fails(
        d,
        &[
            "--as",
            &c1,
            "seal",
            "--district",
            "D01",
            "--month",
            "2026-03",
        ],
    );
    assert!(
        err.contains("D01 2026-03 is not ready to seal: the report has not been posted"),
        "{err}"
    );
    // Posting is the chief's: an officer's is refused.
    let err = fails(
        d,
        &[
            "--as",
            &j1,
            "post",
            "--district",
            "D01",
            "--month",
            "2026-03",
            "--from",
            "2026-04-01",
        ],
    );
    assert!(err.contains("may not write `post/"), "{err}");
    ok(
        d,
        &[
            "--as",
            &c1,
            "post",
            "--district",
            "D01",
            "--month",
            "2026-03",
            "--from",
            "2026-04-01",
        ],
    );
    let out = ok(
        d,
        &[
            "--as",
            &c1,
            "seal",
            "--district",
            "D01",
            "--month",
            "2026-03",
        ],
    );
    assert!(out.contains("sealed D01 2026-03"), "{out}");
    let r = json(
        d,
        &["score", "--district", "D01", "--month", "2026-03", "--json"],
    );
    assert_eq!(r["seal"]["current"], true);
    let a = inmate(&r, "1001");
    // With J001's work day 03-05 (480 units at 60000 ms → f = 10000): D = 5, Σf = 40000,
    // BASE = 3000×31×40000/(31×5×10000) = 2400; over = (89.28M+28.8M)×10000/115.2M − 10000 = 250
    // → BONUS 125; the approved deduction now counts: LABOR = 2400 + 125 − 1000 = 1525.
    assert_eq!(
        (
            a["base_cp"].as_i64(),
            a["bonus_cp"].as_i64(),
            a["deduct_cp"].as_i64()
        ),
        (Some(2400), Some(125), Some(1000))
    );
    assert_eq!(a["labor_cp"], 1525);

    // The audit trail names J001 on the count it wrote, with a valid signature.
    let t = json(
        d,
        &[
            "audit",
            "--district",
            "D01",
            "--month",
            "2026-03",
            "--inmate",
            "1001",
            "--json",
        ],
    );
    let rec = t["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "cnt/1001/05/P1")
        .unwrap();
    let w = &rec["writes"][0];
    assert_eq!(w["officer_no"], "J001");
    assert_eq!(w["signature"], "valid");
    assert_eq!(w["current"], true);

    // After revocation J001 can write nothing more.
    ok(d, &["officer", "revoke", "J001"]);
    std::fs::write(
        &counts,
        "date,inmate_no,procedure,quantity\n2026-03-05,1001,P1,481\n",
    )
    .unwrap();
    let err = fails(
        d,
        &["--as", &j1, "import", "counts", counts.to_str().unwrap()],
    );
    assert!(
        err.contains("officer J001 wrote after the revocation of their key was known"),
        "{err}"
    );
    // And the amendment-free month still verifies from an exported bundle.
    let bundle = d.join("d01.bundle");
    ok(
        d,
        &[
            "export",
            "--district",
            "D01",
            "--month",
            "2026-03",
            "-o",
            bundle.to_str().unwrap(),
        ],
    );
    let v = json(
        d,
        &[
            "verify",
            "--authority",
            d.join("authority.pub").to_str().unwrap(),
            bundle.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["digest"], r["digest"]);

    // The labor section changes a standard time in force in March: no
    // record of the month changes, but its report does. The seal must not
    // look unamended (it showed `current: false` with `amended: 0`).
    let procs = d.join("p2.csv");
    std::fs::write(
        &procs,
        "procedure,product,name,std_ms,effective_from\nP1,SHIRT,缝领,50000,2026-03-01\n",
    )
    .unwrap();
    ok(d, &["import", "procedures", procs.to_str().unwrap()]);
    let now = json(
        d,
        &["score", "--district", "D01", "--month", "2026-03", "--json"],
    );
    assert_ne!(now["digest"], r["digest"], "the report changed");
    assert_eq!(now["seal"]["current"], false);
    assert_eq!(now["seal"]["amended"], 0);
    assert_eq!(now["seal"]["registry_changed"], true, "{}", now["seal"]);
    ok(
        d,
        &[
            "export",
            "--district",
            "D01",
            "--month",
            "2026-03",
            "-o",
            bundle.to_str().unwrap(),
        ],
    );
    let out = tally(
        d,
        &[
            "verify",
            "--authority",
            d.join("authority.pub").to_str().unwrap(),
            bundle.to_str().unwrap(),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    let sealed = r["digest"].as_str().unwrap();
    let current = now["digest"].as_str().unwrap();
    assert!(
        text.contains(sealed) && text.contains(current),
        "the sealed digest beside the current one: {text}"
    );
    assert!(text.contains("no record changed"), "{text}");
    let html = d.join("d01.html");
    ok(
        d,
        &[
            "report",
            "--district",
            "D01",
            "--month",
            "2026-03",
            "-o",
            html.to_str().unwrap(),
        ],
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("封存后登记信息有变化"),
        "the printed seal line says why"
    );
}

#[test]
fn a_wrong_passphrase_is_a_clear_error() {
    let dir = small_prison();
    let out = Command::new(TALLY)
        .arg("--data")
        .arg(dir.path())
        .args([
            "import",
            "districts",
            data_file("districts.csv").to_str().unwrap(),
        ])
        .env("TALLY_PASSPHRASE", "not the passphrase")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong passphrase"));
}

#[test]
fn version_names_the_commit_the_target_and_the_sync_protocol() {
    let out = Command::new(TALLY).arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], concat!("tally ", env!("CARGO_PKG_VERSION")));
    assert!(lines[1].starts_with("commit "), "{text}");
    let target = format!("target {}-", std::env::consts::ARCH);
    assert!(lines.iter().any(|l| l.starts_with(&target)), "{text}");
    assert!(
        lines.contains(&"sync protocol (ALPN) tally/sync/1, version 3"),
        "{text}"
    );
}

#[test]
fn outputs_with_bare_file_names_land_in_the_working_directory() {
    // `-o d01.bundle` has the empty path as its parent: the write must
    // neither fail after writing (it did: fsync of "") nor leave a temp file.
    let dir = small_prison();
    let cwd = tempfile::tempdir().unwrap();
    for args in [
        &[
            "export",
            "--district",
            "D01",
            "--month",
            "2026-03",
            "-o",
            "d01.bundle",
        ][..],
        &[
            "report",
            "--district",
            "D01",
            "--month",
            "2026-03",
            "-o",
            "d01.xlsx",
        ][..],
    ] {
        let out = Command::new(TALLY)
            .arg("--data")
            .arg(dir.path())
            .args(args)
            .current_dir(cwd.path())
            .env("TALLY_PASSPHRASE", PASSPHRASE)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut names: Vec<String> = std::fs::read_dir(cwd.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["d01.bundle", "d01.xlsx"]);
}

#[test]
fn a_config_file_named_on_the_command_line_must_exist() {
    let dir = small_prison();
    let missing = dir.path().join("etc/node.toml");
    let err = fails(
        dir.path(),
        &["--config", missing.to_str().unwrap(), "node", "run"],
    );
    assert!(err.contains("etc/node.toml"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_key_file_others_can_read_is_used_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let dir = small_prison();
    let key = dir.path().join("admin.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = tally(
        dir.path(),
        &[
            "--as",
            key.to_str().unwrap(),
            "confirm",
            "--district",
            "D01",
            "--date",
            "2026-03-02",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning: key file") && err.contains("0644"),
        "{err}"
    );
}

#[test]
fn an_os_error_is_said_once() {
    // A file that is not there: "No such file or directory (os error 2)".
    let dir = small_prison();
    let missing = dir.path().join("missing.csv");
    let err = fails(dir.path(), &["import", "counts", missing.to_str().unwrap()]);
    let n = err.matches("(os error").count();
    assert_eq!(n, 1, "{err}");
    assert!(err.contains("missing.csv"), "{err}");
    // A folder is named as such, not with the OS's words.
    let err = fails(
        dir.path(),
        &["import", "counts", dir.path().to_str().unwrap()],
    );
    assert!(err.contains("not a regular file (a folder)"), "{err}");
}

#[test]
fn a_bundle_from_another_prison_authority_is_refused_whole() {
    let ours = small_prison();
    let theirs = small_prison();
    let bundle = theirs.path().join("theirs.bundle");
    ok(
        theirs.path(),
        &[
            "export",
            "--month",
            "2026-03",
            "-o",
            bundle.to_str().unwrap(),
        ],
    );
    let err = fails(ours.path(), &["merge", bundle.to_str().unwrap()]);
    assert!(err.contains("another prison authority"), "{err}");
    assert!(err.contains("nothing merged"), "{err}");
    // Nothing kept: no quarantine file anywhere in the data directory.
    let mut stack = vec![ours.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            assert!(
                p.extension().is_none_or(|x| x != "quarantine"),
                "{} was written",
                p.display()
            );
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
}

#[test]
fn import_help_lists_each_kinds_columns() {
    let out = Command::new(TALLY)
        .args(["import", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "counts       date,inmate_no,procedure,quantity",
        "adjustments  date,inmate_no,points_cp,reason,[evidence]",
    ] {
        assert!(text.contains(line), "{line} not in:\n{text}");
    }
}

#[test]
fn another_prisons_key_is_told_it_cannot_write_here() {
    let ours = small_prison();
    let theirs = small_prison();
    let key = theirs.path().join("admin.key");
    let err = fails(
        ours.path(),
        &[
            "--as",
            key.to_str().unwrap(),
            "confirm",
            "--district",
            "D01",
            "--date",
            "2026-03-02",
        ],
    );
    assert!(err.contains("belongs to another prison"), "{err}");
    assert!(!err.contains("cannot write yet"), "{err}");
}

#[cfg(unix)]
#[test]
fn devices_and_pipes_are_refused_as_input_files() {
    let dir = small_prison();
    // /dev/zero was read until memory ran out; a FIFO as key file hung.
    let err = fails(dir.path(), &["import", "counts", "/dev/zero"]);
    assert!(err.contains("not a regular file"), "{err}");
    let err = fails(
        dir.path(),
        &[
            "--as",
            "/dev/zero",
            "confirm",
            "--district",
            "D01",
            "--date",
            "2026-03-02",
        ],
    );
    assert!(err.contains("not a regular file"), "{err}");
    let fifo = dir.path().join("key.fifo");
    if Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        let err = fails(
            dir.path(),
            &[
                "--as",
                fifo.to_str().unwrap(),
                "confirm",
                "--district",
                "D01",
                "--date",
                "2026-03-02",
            ],
        );
        assert!(err.contains("a pipe"), "{err}");
    }
}

#[test]
fn one_officer_on_one_device_writes_under_one_actor() {
    // The small prison is imported by the admin in eight commands (eight
    // sessions); another import and a confirmation follow. Every change of
    // one officer here continues one actor: history grows with writers,
    // not saves (it was a new random actor per save).
    let dir = small_prison();
    let d = dir.path();
    let counts = d.join("more.csv");
    std::fs::write(
        &counts,
        "date,inmate_no,procedure,quantity\n2026-03-06,1001,P1,500\n",
    )
    .unwrap();
    ok(d, &["import", "counts", counts.to_str().unwrap()]);
    let writer_id = std::fs::read_to_string(d.join(node::store::WRITER_ID_FILE)).unwrap();
    assert_eq!(writer_id.trim().len(), 16, "{writer_id:?}");
    let store = node::store::Store::open(d).unwrap();
    let id = crdt_schema::DocId::month("D01".parse().unwrap(), "2026-03".parse().unwrap());
    let loaded = store.load(&id).unwrap();
    let am = loaded.doc.automerge();
    let metas = am.get_changes_meta(&[]);
    assert!(metas.len() >= 3, "several saves: {}", metas.len());
    let actors: std::collections::BTreeSet<Vec<u8>> =
        metas.iter().map(|c| c.actor.to_bytes().to_vec()).collect();
    assert_eq!(actors.len(), 1, "{} changes under {actors:?}", metas.len());
    let actor = actors.into_iter().next().unwrap();
    assert_eq!(
        hex::encode(&actor[8..]),
        writer_id.trim(),
        "the device half"
    );
    let mut seqs: Vec<u64> = metas.iter().map(|c| c.seq).collect();
    seqs.sort();
    assert_eq!(seqs, (1..=metas.len() as u64).collect::<Vec<_>>());
}

#[test]
fn a_log_whose_header_a_bad_block_hit_is_still_read_written_and_reported() {
    // A log whose header was damaged (a bad block) still holds its records:
    // they are read, a write goes after them, and the damage is reported —
    // the document does not refuse writes for ever. A file that is no log
    // at all is kept aside whole (`.damaged`) before the log starts again:
    // neither a write nor its rollback ever cuts into bytes tally did not write.
    let dir = small_prison();
    let d = dir.path();
    let log = d.join("docs/month/D01/2026-03.log");
    let before = std::fs::read(&log).unwrap();
    let mut bytes = before.clone();
    bytes[..8].copy_from_slice(b"#!garbag");
    std::fs::write(&log, &bytes).unwrap();
    let counts = d.join("two.csv");
    std::fs::write(
        &counts,
        "date,inmate_no,procedure,quantity\n2026-03-06,1001,P1,500\n2026-03-06,2001,P1,500\n",
    )
    .unwrap();
    let out = ok(d, &["import", "counts", counts.to_str().unwrap()]);
    assert!(out.contains("2 rows"), "{out}");
    let (_, err) = ok_err(d, &["score", "--district", "D01", "--month", "2026-03"]);
    assert!(err.contains("damaged header"), "reported: {err}");
    let after = std::fs::read(&log).unwrap();
    assert_eq!(
        &after[..bytes.len()],
        &bytes[..],
        "its records kept as they were"
    );
    assert!(after.len() > bytes.len(), "the write went after them");
}

#[test]
fn a_transferred_inmate_is_scored_once_by_the_district_holding_them_at_month_end() {
    let dir = small_prison();
    let d = dir.path();
    // 1001 moves from D01 to D02 on 03-16. D01's document already holds
    // 1001's work day of 03-17 (attendance and a count of 600), from before
    // the records office recorded the move.
    let transfers = d.join("transfers.csv");
    std::fs::write(&transfers, "date,inmate_no,district\n2026-03-16,1001,D02\n").unwrap();
    let out = ok(d, &["import", "transfers", transfers.to_str().unwrap()]);
    assert!(out.contains("1 rows"), "{out}");
    // D01 types a count for 1001 on Sunday 03-08, before the move: D02
    // scores 1001 and judges it; the import says it does not count.
    let sunday = d.join("sunday.csv");
    std::fs::write(
        &sunday,
        "date,inmate_no,procedure,quantity\n2026-03-08,1001,P1,50\n",
    )
    .unwrap();
    let out = tally(d, &["import", "counts", sunday.to_str().unwrap()]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("month/D01/2026-03: cnt/1001/08/P1: count 50 on a day with no attendance record does not count"),
        "{err}"
    );
    // A file may move an inmate twice, in any row order; replacing a
    // recorded transfer needs --force.
    let two = d.join("two.csv");
    std::fs::write(
        &two,
        "date,inmate_no,district\n2026-03-25,1002,D01\n2026-03-20,1002,D02\n",
    )
    .unwrap();
    ok(d, &["import", "transfers", two.to_str().unwrap()]);
    std::fs::write(&two, "date,inmate_no,district\n2026-03-20,1002,D01\n").unwrap();
    let err = fails(d, &["import", "transfers", two.to_str().unwrap()]);
    assert!(err.contains("replacing it by D01 needs --force"), "{err}");
    // Moving them to the district they are already in is no transfer.
    std::fs::write(&transfers, "date,inmate_no,district\n2026-03-20,1001,D02\n").unwrap();
    let err = fails(d, &["import", "transfers", transfers.to_str().unwrap()]);
    assert!(
        err.contains("already in D02 the day before 2026-03-20"),
        "{err}"
    );

    let score = |district: &str| {
        json(
            d,
            &[
                "score",
                "--district",
                district,
                "--month",
                "2026-03",
                "--json",
            ],
        )
    };
    let d01 = score("D01");
    assert!(
        d01["inmates"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["inmate_no"] != "1001"),
        "D01 does not score 1001"
    );
    assert_eq!(
        d01["transferred_out"],
        serde_json::json!([{"inmate_no": "1001", "date": "2026-03-16", "to": "D02"}])
    );
    let d01_problems: Vec<&str> = d01["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    assert!(d01_problems.contains(&"cnt/1001/17/P1"), "{d01_problems:?}");

    let d02 = score("D02");
    assert_eq!(d02["read_from"], serde_json::json!(["D01"]));
    let a = inmate(&d02, "1001");
    // Days 02, 03 (work, 528 and 480 units × 60000 ms) and 04 (sick) are
    // read from D01's document; the 17th there does not count (1001 was in
    // D02). D = 3, Σf = 20000, C = K = 31:
    // BASE = 3000×31×20000/(31×3×10000) = 2000.
    // over = (31.68M + 28.8M)×10000/57.6M − 10000 = 500 → BONUS 250 (< 500, counts).
    // D01's −1000 of 03-03 counts from D01's document, awaiting D01's
    // group (whose document it is in): pending review.
    assert_eq!(
        (
            a["base_cp"].as_i64(),
            a["bonus_cp"].as_i64(),
            a["labor_cp"].as_i64()
        ),
        (Some(2000), Some(250), Some(2250))
    );
    assert_eq!(a["pending_deduct_cp"], 1000);
    assert_eq!(
        a["flags"],
        serde_json::json!(["below_base", "needs_review", "records_not_counted"])
    );
    // D01's group passes it; it now awaits the prison group, in D02's report.
    let entries = json(
        d,
        &[
            "entries",
            "--district",
            "D01",
            "--month",
            "2026-03",
            "--json",
        ],
    );
    let e = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["inmate_no"] == "1001")
        .unwrap();
    assert_eq!(e["scored_by"], "D02");
    let id = e["id"].as_str().unwrap().to_string();
    ok(
        d,
        &[
            "review",
            "--district",
            "D01",
            "--week",
            "2026-W10",
            "--members",
            "6",
            "--yes",
            "4",
            "--held",
            "2026-03-06",
            "--pass",
            &id,
        ],
    );
    let d02 = score("D02");
    assert_eq!(
        inmate(&d02, "1001")["flags"],
        serde_json::json!(["below_base", "needs_approval", "records_not_counted"])
    );

    // D02 enters the 17th in its own document (the same rows: routed by
    // who held 1001 that day). Day 17: 600 × 48000 ms = REQ → f 10000.
    // D = 4, Σf = 30000: BASE = 2250; over = 89.28M×10000/86.4M − 10000 = 333
    // → BONUS 166: LABOR 2416, as if 1001 had never moved.
    let att = d.join("d02-att.csv");
    std::fs::write(
        &att,
        "date,inmate_no,day_type,minutes,grade\n2026-03-17,1001,work,480,\n",
    )
    .unwrap();
    let cnt = d.join("d02-cnt.csv");
    std::fs::write(
        &cnt,
        "date,inmate_no,procedure,quantity\n2026-03-17,1001,P1,600\n",
    )
    .unwrap();
    ok(d, &["import", "attendance", att.to_str().unwrap()]);
    ok(d, &["import", "counts", cnt.to_str().unwrap()]);
    let d02 = score("D02");
    let a = inmate(&d02, "1001");
    assert_eq!(
        (
            a["base_cp"].as_i64(),
            a["bonus_cp"].as_i64(),
            a["labor_cp"].as_i64()
        ),
        (Some(2250), Some(166), Some(2416))
    );

    // The approval is written in the reporting district's document; the
    // month is sealed there, and a bundle of D02 carries D01's document
    // too, so verify recomputes the sealed score from scratch.
    ok(
        d,
        &[
            "approve",
            "--district",
            "D02",
            "--month",
            "2026-03",
            "--inmate",
            "1001",
        ],
    );
    // Sealed before its posting, forced: the seal says what was not done.
    let out = ok(
        d,
        &["seal", "--district", "D02", "--month", "2026-03", "--force"],
    );
    assert!(out.contains("sealed D02 2026-03"), "{out}");
    assert_eq!(
        score("D02")["seal"]["forced"],
        "the report has not been posted (tally post)"
    );
    let sealed = score("D02");
    assert_eq!(sealed["seal"]["current"], true, "{}", sealed["seal"]);
    // LABOR = 2250 + 166 − 1000 = 1416.
    assert_eq!(inmate(&sealed, "1001")["labor_cp"], 1416);
    let bundle = d.join("d02.bundle");
    ok(
        d,
        &[
            "export",
            "--district",
            "D02",
            "--month",
            "2026-03",
            "-o",
            bundle.to_str().unwrap(),
        ],
    );
    let verify = || {
        json(
            d,
            &[
                "verify",
                "--authority",
                d.join("authority.pub").to_str().unwrap(),
                bundle.to_str().unwrap(),
                "--json",
            ],
        )
    };
    let v = verify();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["digest"], sealed["digest"]);
    let m = v["months"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["district"] == "D02")
        .unwrap();
    assert_eq!(m["seal"]["matches"], true, "{m}");

    // A transfer into the sealed month is refused unless forced.
    std::fs::write(&transfers, "date,inmate_no,district\n2026-03-10,1003,D02\n").unwrap();
    let err = fails(d, &["import", "transfers", transfers.to_str().unwrap()]);
    assert!(
        err.contains("the transfer changes sealed months (D02/2026-03)"),
        "{err}"
    );

    // A later change in D01's document (1001's count of 03-03) amends
    // D02's sealed month.
    let fix = d.join("fix.csv");
    std::fs::write(
        &fix,
        "date,inmate_no,procedure,quantity\n2026-03-03,1001,P1,470\n",
    )
    .unwrap();
    ok(d, &["import", "counts", fix.to_str().unwrap()]);
    let amended = score("D02");
    assert_eq!(amended["seal"]["current"], false);
    assert_eq!(amended["seal"]["amended"], 1);
    let flags = inmate(&amended, "1001")["flags"].clone();
    assert!(
        flags
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "amended_after_seal"),
        "{flags}"
    );
    ok(
        d,
        &[
            "export",
            "--district",
            "D02",
            "--month",
            "2026-03",
            "-o",
            bundle.to_str().unwrap(),
        ],
    );
    let v = verify();
    let m = v["months"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["district"] == "D02")
        .unwrap();
    // The seal still matches the state it sealed; the month is amended since.
    assert_eq!(
        (m["seal"]["matches"].clone(), m["seal"]["amended"].clone()),
        (true.into(), 1.into()),
        "{m}"
    );
}

#[test]
fn an_import_says_which_records_it_wrote_do_not_count() {
    let dir = small_prison();
    let d = dir.path();
    // A count for a day with no attendance record, and one on a sick day.
    let cnt = d.join("c.csv");
    std::fs::write(
        &cnt,
        "date,inmate_no,procedure,quantity\n2026-03-05,1001,P1,472\n2026-03-04,1001,P1,10\n",
    )
    .unwrap();
    let out = tally(d, &["import", "counts", cnt.to_str().unwrap()]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning: 2 record(s) written do not count"),
        "{err}"
    );
    assert!(
        err.contains("month/D01/2026-03: cnt/1001/05/P1: count 472 on a day with no attendance record does not count"),
        "{err}"
    );
    assert!(
        err.contains("cnt/1001/04/P1: count 10 on a sick day does not count"),
        "{err}"
    );
    // The board shows what the score counts: done 0, not "done 472 / over 472".
    let b = json(
        d,
        &[
            "board",
            "--district",
            "D01",
            "--date",
            "2026-03-05",
            "--json",
        ],
    );
    let row = b["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["inmate_no"] == "1001")
        .unwrap();
    assert_eq!(
        (row["done"].as_i64(), row["over"].as_i64()),
        (Some(0), Some(0)),
        "{row}"
    );
    assert_eq!(row["not_counted"].as_array().unwrap().len(), 1, "{row}");
}

#[test]
fn rules_publish_round_trips_rules_show_and_changes_months_from_its_own() {
    let dir = small_prison();
    let d = dir.path();
    let shown = ok(d, &["rules", "show", "--month", "2026-03", "--json"]);
    let file = d.join("rules.json");
    std::fs::write(&file, &shown).unwrap();
    // Publishing what is shown changes nothing.
    let out = ok(d, &["rules", "publish", file.to_str().unwrap()]);
    assert!(out.contains("no month already scored changes"), "{out}");
    assert_eq!(
        ok(d, &["rules", "show", "--month", "2026-03", "--json"]),
        shown
    );

    let score = |district: &str| {
        json(
            d,
            &[
                "score",
                "--district",
                district,
                "--month",
                "2026-03",
                "--json",
            ],
        )
    };
    let march = score("D02");
    // A cap of 1.00 point from April leaves March as it was.
    let mut r: Value = serde_json::from_str(&shown).unwrap();
    r["effective_from"] = "2026-04".into();
    r["cap_cp"] = 100.into();
    std::fs::write(&file, r.to_string()).unwrap();
    let out = ok(d, &["rules", "publish", file.to_str().unwrap()]);
    assert!(out.contains("no month already scored changes"), "{out}");
    assert_eq!(score("D02")["digest"], march["digest"]);
    let april = json(d, &["rules", "show", "--month", "2026-04", "--json"]);
    assert_eq!(april["cap_cp"], 100);

    // The same from March: 2001's bonus of 404 (RULES: 104 over-fulfilment
    // + 300) is capped at 100, LABOR = 3000 + 100 = 3100; 1001's 166 is
    // capped at 100 in D01 too. D01 is sealed first: refused unless forced.
    post_march(d, "D01");
    ok(d, &["seal", "--district", "D01", "--month", "2026-03"]);
    r["effective_from"] = "2026-03".into();
    std::fs::write(&file, r.to_string()).unwrap();
    let err = fails(d, &["rules", "publish", file.to_str().unwrap()]);
    assert!(
        err.contains("would change sealed months (D01/2026-03: 1 inmate(s))"),
        "{err}"
    );
    assert_eq!(
        score("D02")["digest"],
        march["digest"],
        "nothing was published"
    );
    let out = ok(d, &["rules", "publish", "--force", file.to_str().unwrap()]);
    assert!(
        out.contains("D01/2026-03: 1 inmate(s)' figures change")
            && out.contains("(sealed: now amended_after_seal until resealed)"),
        "{out}"
    );
    assert!(
        out.contains("D02/2026-03: 1 inmate(s)' figures change"),
        "{out}"
    );
    let b = inmate(&score("D02"), "2001").clone();
    assert_eq!(
        (b["bonus_cp"].as_i64(), b["labor_cp"].as_i64()),
        (Some(100), Some(3100))
    );
    let d01 = score("D01");
    assert_eq!(d01["seal"]["current"], false);
    for i in d01["inmates"].as_array().unwrap() {
        assert!(
            i["flags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == "amended_after_seal"),
            "{i}"
        );
    }
    // Resealing under the new rules clears it.
    ok(d, &["seal", "--district", "D01", "--month", "2026-03"]);
    let d01 = score("D01");
    assert_eq!(d01["seal"]["current"], true);
    assert!(d01["inmates"].as_array().unwrap().iter().all(|i| {
        i["flags"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f != "amended_after_seal")
    }));

    // A version that moves no figure still changes a sealed month's report
    // (its rule set is in the digest): refused unless forced, too.
    r["outlier_rate_bp"] = 25000.into();
    std::fs::write(&file, r.to_string()).unwrap();
    let err = fails(d, &["rules", "publish", file.to_str().unwrap()]);
    assert!(
        err.contains("would change sealed months (D01/2026-03: 0 inmate(s))"),
        "{err}"
    );
    r["outlier_rate_bp"] = 20000.into();

    // A bad field is refused, naming it; a TOML file is read too.
    r["cap_cp"] = (-1).into();
    std::fs::write(&file, r.to_string()).unwrap();
    let err = fails(d, &["rules", "publish", file.to_str().unwrap()]);
    assert!(
        err.contains("cap_cp `-1` is not an integer in 0..=100000"),
        "{err}"
    );
    let t = d.join("rules.toml");
    std::fs::write(&t, "effective_from = \"2026-05\"\ncap = 1\n").unwrap();
    let err = fails(d, &["rules", "publish", t.to_str().unwrap()]);
    assert!(err.contains("cap"), "{err}");
}

#[test]
fn the_chief_posts_the_report_and_an_officer_may_not() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["demo", "--inmates", "60"]);
    let keys = d.join("demo-keys");
    let chief = keys.join("D01-00.key");
    let officer = keys.join("D01-01.key");
    let post = |who: &Path| {
        tally(
            d,
            &[
                "--as",
                who.to_str().unwrap(),
                "post",
                "--district",
                "D01",
                "--month",
                "2026-10",
                "--from",
                "2026-11-02",
            ],
        )
    };
    let out = post(&officer);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("may not write `post/"), "{err}");
    let out = post(&chief);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Monday 2 November and 3 working days: Mon 2, Tue 3, Wed 4.
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("from 2026-11-02 to 2026-11-04"), "{said}");
    let r = json(
        d,
        &["score", "--district", "D01", "--month", "2026-10", "--json"],
    );
    assert_eq!(r["posting"]["digest"], r["digest"]);
    assert_eq!(r["posting"]["last_day"], "2026-11-04");
    assert_eq!(r["posting"]["current"], true);
    // A posting before the month began is refused, naming why.
    let err = fails(
        d,
        &[
            "--as",
            chief.to_str().unwrap(),
            "post",
            "--district",
            "D01",
            "--month",
            "2026-10",
            "--from",
            "2026-09-30",
        ],
    );
    assert!(
        err.contains("a posting of 2026-10 beginning 2026-09-30"),
        "{err}"
    );
    // tally verify prints the procedure: the levels, the posting.
    let bundle = d.join("d01.tally");
    ok(
        d,
        &[
            "export",
            "--district",
            "D01",
            "--month",
            "2026-10",
            "-o",
            bundle.to_str().unwrap(),
        ],
    );
    let authority = d.join("authority.pub");
    let out = ok(
        d,
        &[
            "verify",
            "--authority",
            authority.to_str().unwrap(),
            bundle.to_str().unwrap(),
        ],
    );
    assert!(out.contains("程序 procedure: 分级决定"), "{out}");
    assert!(
        out.contains("公示 posted 2026-11-02 to 2026-11-04: 报告与公示一致"),
        "{out}"
    );
    let v = json(
        d,
        &[
            "verify",
            "--authority",
            authority.to_str().unwrap(),
            bundle.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(
        v["months"][0]["procedure"]["posting"]["last_day"],
        "2026-11-04"
    );

    // The posted sheet leaves out an entry marked not for posting, which
    // counts all the same.
    let no = r["inmates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["inmate_no"].as_str().unwrap().to_string())
        .find(|n| n != "5200000001")
        .unwrap();
    let adj = d.join("adj.csv");
    std::fs::write(
        &adj,
        format!(
            "date,inmate_no,points_cp,reason,no_post\n2026-10-12,{no},-150,举报线索核查中,是\n2026-10-13,{no},-100,工位不整洁,\n"
        ),
    )
    .unwrap();
    ok(d, &["import", "adjustments", adj.to_str().unwrap()]);
    let sheet = d.join("公示.html");
    ok(
        d,
        &[
            "report",
            "--district",
            "D01",
            "--month",
            "2026-10",
            "--posted",
            "-o",
            sheet.to_str().unwrap(),
        ],
    );
    let html = std::fs::read_to_string(&sheet).unwrap();
    assert!(html.contains("工位不整洁"), "the other entry is posted");
    assert!(!html.contains("举报线索核查中"), "not for posting");
    assert!(html.contains("另有 1 项不宜公示的加扣分未列出"), "{html}");
    // It counts all the same (a spot deduction), marked not for posting.
    let e = json(
        d,
        &[
            "entries",
            "--district",
            "D01",
            "--month",
            "2026-10",
            "--json",
        ],
    );
    let hidden = e
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["reason"] == "举报线索核查中")
        .unwrap();
    assert_eq!(
        (&hidden["no_post"], &hidden["status"]),
        (&Value::Bool(true), &Value::from("counted"))
    );
    // The posting no longer matches the report: the sheet says so.
    let r = json(
        d,
        &["score", "--district", "D01", "--month", "2026-10", "--json"],
    );
    assert_eq!(r["posting"]["current"], false);
    assert!(html.contains("本表已不同于公示时的报告"));
}

#[test]
fn applications_for_recheck_and_review_are_answered_with_deadlines_in_working_days() {
    let dir = small_prison();
    let d = dir.path();
    let key = |name: &str| d.join(name).to_str().unwrap().to_string();
    for (no, district, role, file) in [
        ("J001", "D01", "officer", "j001.key"),
        ("C001", "D01", "chief", "c001.key"),
        ("G001", "", "prison_group", "g001.key"),
    ] {
        let k = key(file);
        let mut args = vec!["officer", "add", no, "--name", "王警官"];
        if !district.is_empty() {
            args.extend(["--district", district]);
        }
        args.extend([
            "--role",
            role,
            "--key-out",
            &k,
            "--valid-from",
            "2026-01-01",
        ]);
        ok(d, &args);
    }
    let (j1, c1, g1) = (key("j001.key"), key("c001.key"), key("g001.key"));
    let m = ["--district", "D01", "--month", "2026-03"];
    let with = |who: &str, cmd: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = vec!["--as".into(), who.into()];
        v.extend(cmd.iter().map(|s| s.to_string()));
        v.extend(m.iter().map(|s| s.to_string()));
        v
    };
    let run = |args: Vec<String>| {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(d, &a)
    };
    let entry = json(
        d,
        &[
            "entries",
            "--district",
            "D01",
            "--month",
            "2026-03",
            "--json",
        ],
    )[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    run(with(
        &c1,
        &[
            "review",
            "--week",
            "2026-W10",
            "--members",
            "7",
            "--yes",
            "5",
            "--held",
            "2026-03-06",
            "--pass",
            &entry,
        ][..],
    )
    .into_iter()
    .filter(|s| s != "--month" && s != "2026-03")
    .collect());
    run(with(&g1, &["approve", "--inmate", "1001"]));
    // Posted Wednesday 1 April: 3 working days, to Friday 3 April.
    let out = run(with(&c1, &["post", "--from", "2026-04-01"]));
    assert!(out.contains("from 2026-04-01 to 2026-04-03"), "{out}");

    // A 复查 received on the last day of the posting: in time.
    let out = run(with(
        &j1,
        &[
            "apply",
            "--inmate",
            "1001",
            "--entry",
            &entry,
            "--reason",
            "扣分依据不足",
            "--received",
            "2026-04-03",
        ],
    ));
    let recheck = out.split_whitespace().nth(4).unwrap().to_string();
    let score = || {
        json(
            d,
            &["score", "--district", "D01", "--month", "2026-03", "--json"],
        )
    };
    let r = score();
    assert!(
        inmate(&r, "1001")["flags"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("under_review")),
        "{r}"
    );
    // The chief answers for the group: upheld on Wednesday 8 April, within 5
    // working days of the 3rd (3, 6, 7, 8, 9 April).
    let err = fails(
        d,
        &with(
            &j1,
            &[
                "answer",
                "--application",
                &recheck,
                "--upheld",
                "--decided",
                "2026-04-08",
                "--members",
                "7",
                "--yes",
                "5",
            ],
        )
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
    );
    assert!(err.contains("may not write `ans/"), "{err}");
    // The group's answer is a group decision: two thirds of all members.
    let no_vote = |yes: &str| {
        with(
            &c1,
            &[
                "answer",
                "--application",
                &recheck,
                "--upheld",
                "--decided",
                "2026-04-08",
                "--members",
                "7",
                "--yes",
                yes,
            ],
        )
    };
    let err = fails(
        d,
        &no_vote("4").iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(
        err.contains("4 of 7 members in favour is less than two thirds"),
        "{err}"
    );
    run(no_vote("5"));
    // A 复核 received on 14 April: due 3 working days from the answer (8, 9,
    // 10 April): late, recorded all the same.
    let out = run(with(
        &j1,
        &[
            "apply",
            "--inmate",
            "1001",
            "--entry",
            &entry,
            "--reason",
            "申请复核",
            "--received",
            "2026-04-14",
            "--follows",
            &recheck,
        ],
    ));
    let review = out.split_whitespace().nth(4).unwrap().to_string();
    let apps = json(
        d,
        &[
            "applications",
            "--district",
            "D01",
            "--month",
            "2026-03",
            "--json",
        ],
    );
    let row = |id: &str| {
        apps.as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(row(&recheck)["due"], "2026-04-03");
    assert_eq!(row(&recheck)["late"], false);
    assert_eq!(row(&recheck)["answer_due"], "2026-04-09");
    assert_eq!(row(&recheck)["answer_late"], false);
    assert_eq!(row(&review)["due"], "2026-04-10");
    assert_eq!(row(&review)["late"], true);
    assert!(row(&review)["answer"].is_null());
    // A correction keeps the entry's sign: a deduction answered into a bonus
    // is refused before anything is signed.
    let err = fails(
        d,
        &with(
            &g1,
            &[
                "answer",
                "--application",
                &review,
                "--correct",
                "500",
                "--decided",
                "2026-04-15",
            ],
        )
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
    );
    assert!(err.contains("the other sign"), "{err}");
    // The 复核 is the prison group's to answer: the chief's is refused.
    let err = fails(
        d,
        &with(
            &c1,
            &[
                "answer",
                "--application",
                &review,
                "--correct",
                "-500",
                "--decided",
                "2026-04-15",
            ],
        )
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
    );
    assert!(err.contains("may not write `fans/"), "{err}");
    run(with(
        &g1,
        &[
            "answer",
            "--application",
            &review,
            "--correct",
            "-500",
            "--decided",
            "2026-04-15",
        ],
    ));
    // The final answer's amount counts: LABOR = 2250 + 166 − 500 = 1916.
    let r = score();
    let a = inmate(&r, "1001");
    assert_eq!(
        (
            a["deduct_cp"].as_i64(),
            a["pending_deduct_cp"].as_i64(),
            a["labor_cp"].as_i64()
        ),
        (Some(500), Some(0), Some(1916))
    );
    assert!(
        !a["flags"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("under_review")),
        "{a}"
    );

    // 1001 refuses to sign the sheet; J001 records it.
    run(with(
        &j1,
        &[
            "acknowledge",
            "--inmate",
            "1001",
            "--state",
            "refused",
            "--date",
            "2026-04-16",
        ],
    ));
    // The monthly sheets (月评表): one page per inmate of D01's report
    // (1001, 1002, 1003), each with its figures, entries with their
    // decisions, the posting and the inmate's applications and answers.
    let out = ok(
        d,
        &[
            "sheets",
            "--district",
            "D01",
            "--month",
            "2026-03",
            "-o",
            d.join("sheets.html").to_str().unwrap(),
        ],
    );
    assert!(out.contains("3 page(s)"), "{out}");
    let html = std::fs::read_to_string(d.join("sheets.html")).unwrap();
    assert_eq!(html.matches(r#"<section class="page">"#).count(), 3);
    let page = &html[html.find("<h2>1001 张镕</h2>").expect("1001's page")..];
    let page = &page[..page.find("</section>").unwrap()];
    assert!(
        page.contains("<dt>劳动改造分 Labor score</dt><dd>19.16</dd>"),
        "{page}"
    );
    assert!(
        page.contains("<dt>公示期 Posted</dt><dd>2026-04-01 至 2026-04-03"),
        "{page}"
    );
    assert!(page.contains(&entry), "the entry by its id");
    assert!(page.contains("2026-04-08 维持"), "the 复查 upheld: {page}");
    assert!(
        page.contains("2026-04-14（逾期）"),
        "the late 复核 marked: {page}"
    );
    assert!(
        page.contains("2026-04-15 更正为 -5.00"),
        "the final answer: {page}"
    );
    assert!(
        page.contains("罪犯签名"),
        "a line for the inmate's signature"
    );
    assert!(
        page.contains("<dt>签收 Acknowledged</dt><dd>拒签 2026-04-16，记录民警 J001 王警官</dd>"),
        "the acknowledgement with its recording officer: {page}"
    );
    // The same pages as a workbook: the facts as their text, a page break
    // before each inmate's page, and not fitted to a page width (which would
    // make Excel ignore the breaks).
    ok(
        d,
        &[
            "sheets",
            "--district",
            "D01",
            "--month",
            "2026-03",
            "-o",
            d.join("sheets.xlsx").to_str().unwrap(),
        ],
    );
    use calamine::Reader as _;
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(d.join("sheets.xlsx")).unwrap();
    let range = wb.worksheet_range("表").unwrap();
    let score_row = range
        .rows()
        .find(|r| r[0] == calamine::Data::String("劳动改造分 Labor score".into()))
        .expect("a labor score row");
    assert_eq!(score_row[1], calamine::Data::String("19.16".into()));
    let mut zip =
        zip::ZipArchive::new(std::fs::File::open(d.join("sheets.xlsx")).unwrap()).unwrap();
    let mut xml = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(),
        &mut xml,
    )
    .unwrap();
    assert!(
        xml.contains(r#"<rowBreaks count="2""#),
        "3 pages, 2 breaks: {xml}"
    );
    assert!(!xml.contains("fitToPage"), "{xml}");

    // The weekly sheet of 2026-W10 (2 to 8 March): 1001 worked the 2nd
    // (528 × 60 000 ms of 28 800 000 required) and the 3rd (480 of 480) and
    // was sick the 4th: 3 labor days, rate (31 680 000 + 28 800 000) × 10 000
    // / 57 600 000 = 10 500 bp; 1003 worked the 2nd, 240 of 480: 5 000 bp.
    ok(
        d,
        &[
            "weekly",
            "--district",
            "D01",
            "--week",
            "2026-W10",
            "-o",
            d.join("week.html").to_str().unwrap(),
        ],
    );
    let week = std::fs::read_to_string(d.join("week.html")).unwrap();
    assert!(
        week.contains(r#"<td>1001</td><td>张镕</td><td class="n">3</td><td>105.00%</td>"#),
        "{week}"
    );
    assert!(
        week.contains(r#"<td>1003</td><td>王五</td><td class="n">1</td><td>50.00%</td>"#),
        "{week}"
    );
    assert!(!week.contains("<td>1002</td>"), "1002 came on the 16th");
    assert!(
        week.contains("2026-03-06 举行：组成人员 7"),
        "the review held: {week}"
    );
    assert!(week.contains(&entry), "the week's entry");

    // A week across two months: 2026-W14 is Monday 30 March to Sunday 5
    // April. 1001 works the 31st (600 × 48 000 ms, P1's time from the 16th,
    // of 28 800 000 required) and 1 April (300 of 600): 2 labor days, rate
    // (28 800 000 + 14 400 000) × 10 000 / 57 600 000 = 7 500 bp.
    let att = d.join("w14-attendance.csv");
    std::fs::write(
        &att,
        "date,inmate_no,day_type,minutes,grade\n2026-03-31,1001,work,480,\n2026-04-01,1001,work,480,\n",
    )
    .unwrap();
    let counts = d.join("w14-counts.csv");
    std::fs::write(
        &counts,
        "date,inmate_no,procedure,quantity\n2026-03-31,1001,P1,600\n2026-04-01,1001,P1,300\n",
    )
    .unwrap();
    ok(d, &["import", "attendance", att.to_str().unwrap()]);
    ok(d, &["import", "counts", counts.to_str().unwrap()]);
    ok(
        d,
        &[
            "weekly",
            "--district",
            "D01",
            "--week",
            "2026-W14",
            "-o",
            d.join("w14.html").to_str().unwrap(),
        ],
    );
    let week = std::fs::read_to_string(d.join("w14.html")).unwrap();
    assert!(
        week.contains(r#"<td>1001</td><td>张镕</td><td class="n">2</td><td>75.00%</td>"#),
        "{week}"
    );
}
