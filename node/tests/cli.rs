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

    // 1001: work 03-02 (528 × 60000 ms → r 11000, f 10000), 03-03 (480 → f 10000),
    // sick 03-04 (f 0), work 03-17 (600 × 48000 ms after the revision of 03-16 → f 10000).
    // D = 4, Σf = 30000, C = K = 31: BASE = 3000×31×30000/(31×4×10000) = 2250.
    // over = (31.68M + 28.8M + 28.8M)×10000/86.4M − 10000 = 333 → BONUS 166 (< 500, counts).
    // The −1000 deduction needs approval: pending. LABOR = 2250 + 166 = 2416.
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
