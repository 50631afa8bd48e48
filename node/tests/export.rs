//! Export of a month (XLSX workbook, printable HTML) and import of XLSX
//! workbooks: the library on a hand-made report, and `tally report` /
//! `tally import` end to end on the small prison of `tests/data/`.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use calamine::{Data, Range, Reader, Xlsx};
use crdt_schema::report::{ProblemOut, UnallocatedTeamCount};
use crdt_schema::{
    ChangeMeta, Cp, Flag, Inmate, InmateResult, KeyHex, RegistryDoc, RegistryFacts, RegistryKey,
    Report, ReportBody, RuleSet, SealStatus,
};
use node::export::{self, to_html, to_xlsx};
use node::import::{self, Kind};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet};

const TALLY: &str = env!("CARGO_BIN_EXE_tally");
const PASSPHRASE: &str = "test passphrase";

// ---------------------------------------------------------------- fixtures

/// The chief who seals in the hand-made report.
fn chief() -> keys::SecretKey {
    keys::SecretKey::from_seed(&[7; 32])
}

/// A registry with prison 测试监狱, district D01 一监区, inmates 1001 张三,
/// 1002 `<b>李四</b>` (markup in a name must come out escaped) and 1003 王五,
/// and the certificate of chief J009 陈监区长.
fn registry() -> RegistryFacts {
    let authority = keys::SecretKey::from_seed(&[1; 32]);
    let cert = keys::Certificate::issue(
        &authority,
        keys::CertBody {
            officer_no: "J009".into(),
            name: "陈监区长".into(),
            district: Some("D01".parse().unwrap()),
            role: keys::Role::Chief,
            public_key: chief().public(),
            valid_from: "2026-01-01".parse().unwrap(),
            valid_to: "2027-12-31".parse().unwrap(),
        },
    )
    .unwrap();
    let mut r = RegistryDoc::new();
    let meta = ChangeMeta {
        author: vec![1; 32],
        time: 0,
        message: String::new(),
        registry_heads: Vec::new(),
    };
    r.write(&meta, |w| {
        w.set_prison("测试监狱")?;
        w.put_district(&"D01".parse().unwrap(), "一监区")?;
        for (no, name) in [("1001", "张三"), ("1002", "<b>李四</b>"), ("1003", "王五")] {
            w.put_inmate(
                &no.parse().unwrap(),
                &Inmate {
                    name: name.into(),
                    district: "D01".parse().unwrap(),
                    admitted: "2020-01-01".parse().unwrap(),
                    released: None,
                },
            )?;
        }
        w.put_trust(
            &RegistryKey::Officer(KeyHex::parse(&chief().public().to_string()).unwrap()),
            &cert.to_json(),
        )?;
        w.put_rule_set(&RuleSet::standard("2021-10".parse().unwrap()))
    })
    .unwrap();
    r.facts()
}

fn result(no: &str, labor_cp: i64, flags: Vec<Flag>) -> InmateResult {
    InmateResult {
        inmate_no: no.parse().unwrap(),
        base_cp: Cp(0),
        bonus_cp: Cp(0),
        pending_bonus_cp: Cp(0),
        deduct_cp: Cp(0),
        pending_deduct_cp: Cp(0),
        labor_cp: Cp(labor_cp),
        flags,
        custody_days: 31,
        labor_days: 0,
        work_days: 0,
        factor_sum_bp: 0,
        base_num: 0,
        base_den: 0,
        earned_ms: 0,
        req_ms: 0,
        over_bp: crdt_schema::Bp(0),
        over_eligible: false,
        overfulfil_bonus_cp: Cp(0),
        other_bonus_cp: Cp(0),
    }
}

/// A small report with figures checked by hand:
/// - 1001: C = K = 31, D = 22, Σf = 197 100 bp:
///   BASE = 3000×31×197100 / (31×22×10000) = 18 330 300 000 / 6 820 000 = 2687 cp;
///   bonus 300, pending bonus 600, deduction 0, pending deduction 1000:
///   LABOR = 2687 + 300 = 2987 cp → 29.87.
/// - 1002: only a 150 cp deduction: −150 → −1.50.
/// - 1003: exempt, every figure 0 → 0.00.
fn report() -> Report {
    let mut a = result(
        "1001",
        2987,
        vec![Flag::BelowBase, Flag::NeedsApproval, Flag::RateOutlier],
    );
    a.base_cp = Cp(2687);
    a.bonus_cp = Cp(300);
    a.pending_bonus_cp = Cp(600);
    a.pending_deduct_cp = Cp(1000);
    a.labor_days = 22;
    a.work_days = 21;
    a.factor_sum_bp = 197_100;
    a.base_num = 3000 * 31 * 197_100;
    a.base_den = 31 * 22 * 10_000;
    a.earned_ms = 610_000_000;
    a.req_ms = 604_800_000;
    a.over_bp = crdt_schema::Bp(85);
    a.other_bonus_cp = Cp(300);
    assert_eq!(
        a.base_num / a.base_den,
        2687,
        "the base as computed by hand"
    );
    let mut b = result("1002", -150, vec![Flag::BelowBase, Flag::Conflict]);
    b.deduct_cp = Cp(150);
    let c = result("1003", 0, vec![Flag::Exempt]);
    let body = ReportBody {
        rule_set: "2021-10".into(),
        calendar_days: 31,
        inmates: vec![a, b, c],
        unallocated_team_counts: vec![UnallocatedTeamCount {
            date: "2026-03-08".parse().unwrap(),
            procedure: "P1".parse().unwrap(),
            quantity: 40,
        }],
        problems: vec![ProblemOut {
            key: "att/1001/09".into(),
            reason: "minutes <0> & unreadable".into(),
        }],
        transferred_out: Vec::new(),
        read_from: Vec::new(),
    };
    Report::new("D01".parse().unwrap(), "2026-03".parse().unwrap(), body)
}

fn sealed(mut r: Report, current: bool) -> Report {
    r.seal = Some(SealStatus {
        digest: if current {
            r.digest.0.clone()
        } else {
            "ab".repeat(32)
        },
        by: chief().public().to_string(),
        change: "cd".repeat(32),
        current,
        forced: String::new(),
        amended: if current { 0 } else { 1 },
        registry_changed: false,
    });
    r
}

// ---------------------------------------------------------------- HTML

#[test]
fn html_shows_every_row_with_points_from_integer_centipoints() {
    let r = report();
    let h = to_html(&registry(), &r);
    assert!(h.starts_with("<!DOCTYPE html>"));
    assert!(h.contains("劳动改造计分 月度考核表"));
    assert!(h.contains("测试监狱　D01 一监区　2026-03"), "subtitle");
    assert!(h.contains("2021-10"), "rule set");
    // 1001: base 26.87, bonus 3.00, pending 6.00, deduction 0.00, pending 10.00, labor 29.87.
    assert!(h.contains(
        "<tr><td>1001</td><td>张三</td><td class=\"n\">31</td><td class=\"n\">22</td>\
         <td class=\"n\">21</td><td class=\"n\">26.87</td><td class=\"n\">3.00</td>\
         <td class=\"n\">6.00</td><td class=\"n\">0.00</td><td class=\"n\">10.00</td>\
         <td class=\"n\">29.87</td><td>未达基础分、待审批、效率异常</td></tr>"
    ));
    assert!(h.contains("<td class=\"n\">-1.50</td><td>未达基础分、数据冲突</td>"));
    assert!(h.contains("<td>王五</td>"));
    assert!(h.contains("<td class=\"n\">0.00</td><td>免于劳动</td>"));
    // Calculation details: the numerator and denominator of 1001's base.
    assert!(h.contains("<td class=\"n\">18330300000</td><td class=\"n\">6820000</td>"));
    assert!(h.contains("2026-03-08 P1 40"), "unallocated team count");
}

#[test]
fn html_escapes_names_and_reasons_and_loads_nothing_from_outside() {
    let h = to_html(&registry(), &report());
    assert!(h.contains("<td>&lt;b&gt;李四&lt;/b&gt;</td>"));
    assert!(!h.contains("<b>"), "markup from a name must not survive");
    assert!(h.contains("att/1001/09: minutes &lt;0&gt; &amp; unreadable"));
    for outside in [
        "http:", "https:", "src=", "<link", "<script", "url(", "@import",
    ] {
        assert!(!h.contains(outside), "{outside}");
    }
    assert!(h.contains("@media print"));
    assert!(h.contains("size: A4 landscape"));
    assert!(
        h.contains("thead { display: table-header-group; }"),
        "headings repeat per page"
    );
    assert!(h.contains("监区长签字"));
    assert!(h.contains("日期 Date"));
}

#[test]
fn html_states_the_digest_and_the_seal() {
    let reg = registry();
    let r = report();
    let h = to_html(&reg, &r);
    assert!(h.contains(&r.digest.0));
    assert!(h.contains("未封存 not sealed"));

    let h = to_html(&reg, &sealed(report(), true));
    assert!(h.contains("已封存 sealed"));
    assert!(h.contains(&format!("封存摘要 sealed digest {}", r.digest)));
    assert!(h.contains("J009 陈监区长"), "the sealing chief is named");

    let h = to_html(&reg, &sealed(report(), false));
    assert!(h.contains("封存后修改 amended after seal"));
    assert!(h.contains(&"ab".repeat(32)), "the digest that was sealed");
    assert!(!h.contains("已封存"));
}

// ---------------------------------------------------------------- XLSX export

fn open(bytes: &[u8]) -> Xlsx<Cursor<Vec<u8>>> {
    calamine::open_workbook_from_rs(Cursor::new(bytes.to_vec())).expect("a readable workbook")
}

/// The row (0-based, absolute) whose first cell is `text`.
fn row_of(range: &Range<Data>, text: &str) -> u32 {
    (0..range.height() as u32)
        .find(|&r| range.get_value((r, 0)) == Some(&Data::String(text.into())))
        .unwrap_or_else(|| panic!("no row starting with {text:?}"))
}

fn string(range: &Range<Data>, r: u32, c: u32) -> String {
    match range.get_value((r, c)) {
        Some(Data::String(s)) => s.clone(),
        other => panic!("({r},{c}): expected text, got {other:?}"),
    }
}

/// A number cell that must hold exactly the integer `v`.
fn assert_int(range: &Range<Data>, r: u32, c: u32, v: i64) {
    match range.get_value((r, c)) {
        Some(Data::Float(f)) => assert_eq!(*f, v as f64, "({r},{c})"),
        Some(Data::Int(i)) => assert_eq!(*i, v, "({r},{c})"),
        other => panic!("({r},{c}): expected {v}, got {other:?}"),
    }
}

/// A points cell: the number Excel parses from the report's two-decimal text.
fn assert_points(range: &Range<Data>, r: u32, c: u32, shown: &str) {
    let expected: f64 = shown.parse().unwrap();
    assert_eq!(
        range.get_value((r, c)),
        Some(&Data::Float(expected)),
        "({r},{c}) should read back as {shown}"
    );
}

#[test]
fn xlsx_reads_back_as_the_report() {
    let r = sealed(report(), true);
    let bytes = to_xlsx(&registry(), &r).unwrap();
    let mut wb = open(&bytes);
    assert_eq!(wb.sheet_names(), ["计分考核", "计算明细"]);

    let main = wb.worksheet_range("计分考核").unwrap();
    assert_eq!(string(&main, 0, 0), "劳动改造计分 月度考核表");
    let digest_row = row_of(&main, "报告摘要 Report digest (SHA-256)");
    assert_eq!(string(&main, digest_row, 3), r.digest.0);
    let seal_row = row_of(&main, "封存状态 Seal");
    assert!(string(&main, seal_row, 3).starts_with("已封存 sealed"));
    let head = row_of(&main, "编号\nNo.");
    assert_eq!(string(&main, head, 10), "劳动改造分\nLabor score");

    let (a, b, c) = (head + 1, head + 2, head + 3);
    assert_eq!(string(&main, a, 0), "1001");
    assert_eq!(string(&main, a, 1), "张三");
    assert_int(&main, a, 2, 31);
    assert_int(&main, a, 3, 22);
    assert_int(&main, a, 4, 21);
    for (col, shown) in [
        (5, "26.87"),
        (6, "3.00"),
        (7, "6.00"),
        (8, "0.00"),
        (9, "10.00"),
        (10, "29.87"),
    ] {
        assert_points(&main, a, col, shown);
    }
    assert_eq!(string(&main, a, 11), "未达基础分、待审批、效率异常");
    assert_eq!(string(&main, b, 1), "<b>李四</b>");
    assert_points(&main, b, 8, "1.50");
    assert_points(&main, b, 10, "-1.50");
    assert_points(&main, c, 10, "0.00");
    assert_eq!(string(&main, c, 11), "免于劳动");
    let problems = row_of(&main, "问题 Problems");
    assert_eq!(
        string(&main, problems + 1, 0),
        "att/1001/09: minutes <0> & unreadable"
    );
    assert!(string(&main, problems + 4, 0).starts_with("监区长签字"));

    // 计算明细: every figure as the report's exact integer.
    let detail = wb.worksheet_range("计算明细").unwrap();
    assert_eq!(
        string(&detail, 0, 7),
        "基础分分子\nBase numerator = base×C×Σf"
    );
    for (row, i) in r.body.inmates.iter().enumerate() {
        let row = row as u32 + 1;
        assert_eq!(string(&detail, row, 0), i.inmate_no.as_str());
        let ints = [
            (2, i.custody_days.into()),
            (3, 31),
            (4, i.labor_days.into()),
            (5, i.work_days.into()),
            (6, i.factor_sum_bp),
            (7, i.base_num),
            (8, i.base_den),
            (9, i.base_cp.0),
            (10, i.earned_ms),
            (11, i.req_ms),
            (12, i.over_bp.0),
            (14, i.overfulfil_bonus_cp.0),
            (15, i.other_bonus_cp.0),
            (16, i.bonus_cp.0),
            (17, i.pending_bonus_cp.0),
            (18, i.deduct_cp.0),
            (19, i.pending_deduct_cp.0),
            (20, i.labor_cp.0),
        ];
        for (col, v) in ints {
            assert_int(&detail, row, col, v);
        }
        let codes: Vec<&str> = i.flags.iter().map(|f| f.as_str()).collect();
        assert_eq!(string(&detail, row, 21), codes.join(" "));
    }
}

#[test]
fn the_same_report_gives_the_same_bytes() {
    let reg = registry();
    let r = sealed(report(), false);
    let first = to_xlsx(&reg, &r).unwrap();
    // Past a second boundary, so a creation time taken from the clock
    // (rust_xlsxwriter's default, to the second) would show.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(to_xlsx(&reg, &r).unwrap(), first, "XLSX is byte-identical");
    assert_eq!(to_html(&reg, &r), to_html(&reg, &r), "HTML is identical");
    assert_eq!(
        export::export(export::Format::Xlsx, &reg, &r).unwrap(),
        first
    );
}

// ---------------------------------------------------------------- XLSX import

/// A cell of a test workbook.
enum C<'a> {
    S(&'a str),
    N(f64),
    /// A date cell (yyyy-mm-dd format), with a time of day if given.
    D(u16, u8, u8, Option<(u16, u8, u8)>),
    E,
}

/// A one-sheet workbook with these rows (the first is the header), starting
/// at `first_row` (0-based) so sheet row numbers differ from CSV lines.
fn workbook(first_row: u32, rows: &[Vec<C<'_>>]) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws: &mut Worksheet = wb.add_worksheet();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (r, cells) in rows.iter().enumerate() {
        let r = first_row + r as u32;
        for (c, cell) in cells.iter().enumerate() {
            let c = c as u16;
            match cell {
                C::S(s) => {
                    ws.write_string(r, c, *s).unwrap();
                }
                C::N(n) => {
                    ws.write_number(r, c, *n).unwrap();
                }
                C::D(y, m, d, t) => {
                    let mut dt = ExcelDateTime::from_ymd(*y, *m, *d).unwrap();
                    if let Some((h, mi, s)) = t {
                        dt = dt.and_hms(*h, *mi, *s).unwrap();
                    }
                    ws.write_datetime_with_format(r, c, &dt, &date).unwrap();
                }
                C::E => {}
            }
        }
    }
    // A second sheet is never read.
    wb.add_worksheet().write_string(0, 0, "ignored").unwrap();
    wb.save_to_buffer().unwrap()
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

fn data_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
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

/// The small prison of `tests/data/`, with every file imported but
/// attendance and counts (which the tests import from workbooks).
fn small_prison_without_daily_records() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    ok(dir.path(), &["init", "--prison", "测试监狱"]);
    for (kind, file) in [
        ("districts", "districts.csv"),
        ("inmates", "inmates.csv"),
        ("procedures", "procedures.csv"),
        ("assignments", "assignments.csv"),
        ("team-counts", "team_counts.csv"),
        ("adjustments", "adjustments.csv"),
    ] {
        ok(
            dir.path(),
            &["import", kind, data_file(file).to_str().unwrap()],
        );
    }
    dir
}

fn registry_of(dir: &Path) -> RegistryFacts {
    let store = node::store::Store::open(dir).unwrap();
    node::read::registry_facts(&store, None).unwrap().0
}

/// `tests/data/attendance.csv` as a clerk's workbook: real date cells (one
/// with a time of day), whole numbers stored as floats, padded text, an
/// empty grade cell, a cleared row; the header on sheet row 3.
fn attendance_workbook() -> Vec<u8> {
    let day = |d: u8| C::D(2026, 3, d, None);
    workbook(
        2,
        &[
            vec![
                C::S("date"),
                C::S("inmate_no"),
                C::S(" day_type "),
                C::S("minutes"),
                C::S("grade"),
            ],
            vec![day(2), C::N(1001.0), C::S("work"), C::N(480.0), C::E],
            vec![
                C::D(2026, 3, 3, Some((8, 30, 0))),
                C::S("1001"),
                C::S(" work"),
                C::N(480.0),
                C::S(""),
            ],
            vec![C::E, C::E, C::E, C::E, C::E],
            vec![C::S("2026-03-04"), C::N(1001.0), C::S("sick"), C::E, C::E],
            vec![day(2), C::N(1003.0), C::S("work"), C::E, C::E],
            vec![day(2), C::N(2001.0), C::S("work "), C::N(480.0), C::E],
            vec![day(3), C::N(2001.0), C::S("work"), C::N(480.0), C::E],
            vec![day(17), C::S(" 1002 "), C::S("work"), C::N(480.0), C::E],
            vec![
                day(17),
                C::N(1001.0),
                C::S("work"),
                C::N(480.0),
                C::N(10000.0),
            ],
        ],
    )
}

/// The CSV of the same sheet: `tests/data/attendance.csv` with the grade of
/// its last row written out as 10000, as the workbook has it.
fn attendance_csv() -> String {
    let csv = std::fs::read_to_string(data_file("attendance.csv")).unwrap();
    let last = csv.lines().last().unwrap().to_string();
    assert_eq!(last, "2026-03-17,1001,work,480,", "fixture as expected");
    csv.replace(&last, "2026-03-17,1001,work,480,10000")
}

#[test]
fn a_workbook_plans_exactly_what_the_same_sheet_as_csv_plans() {
    let dir = small_prison_without_daily_records();
    let reg = registry_of(dir.path());
    let from_csv = import::plan(Kind::Attendance, "a.csv", attendance_csv().as_bytes(), &reg)
        .expect("the CSV is valid");
    let from_xlsx = import::plan_file(Kind::Attendance, "a.XLSX", &attendance_workbook(), &reg)
        .expect("the workbook is valid");
    assert_eq!(from_xlsx.rows, 8, "the cleared row is no record");
    assert_eq!(from_xlsx, from_csv);

    let counts = workbook(
        0,
        &[
            vec![
                C::S("inmate_no"),
                C::S("date"),
                C::S("procedure"),
                C::S("quantity"),
            ],
            vec![
                C::N(1001.0),
                C::D(2026, 3, 2, None),
                C::S("P1"),
                C::N(528.0),
            ],
            vec![
                C::N(1001.0),
                C::D(2026, 3, 3, None),
                C::S("P1"),
                C::N(480.0),
            ],
            vec![
                C::N(1003.0),
                C::D(2026, 3, 2, None),
                C::S("P1"),
                C::N(240.0),
            ],
            vec![
                C::N(1001.0),
                C::D(2026, 3, 17, None),
                C::S("P1"),
                C::N(600.0),
            ],
        ],
    );
    let csv = std::fs::read(data_file("counts.csv")).unwrap();
    assert_eq!(
        import::plan_xlsx(Kind::Counts, "c.xlsm", &counts, &reg).unwrap(),
        import::plan(Kind::Counts, "c.csv", &csv, &reg).unwrap()
    );
}

/// The single error of a rejected workbook, as displayed.
fn xlsx_error(kind: Kind, bytes: &[u8], reg: &RegistryFacts) -> String {
    let e = import::plan_file(kind, "bad.xlsx", bytes, reg).expect_err("must be rejected");
    assert_eq!(e.errors.len(), 1, "{e}");
    e.errors[0].to_string()
}

#[test]
fn a_bad_cell_is_named_by_sheet_row_and_column() {
    let dir = small_prison_without_daily_records();
    let reg = registry_of(dir.path());
    let counts = |q: C<'_>| {
        workbook(
            0,
            &[
                vec![
                    C::S("date"),
                    C::S("inmate_no"),
                    C::S("procedure"),
                    C::S("quantity"),
                ],
                vec![C::S("2026-03-02"), C::N(1001.0), C::S("P1"), C::N(5.0)],
                vec![C::S("2026-03-03"), C::N(1001.0), C::S("P1"), q],
            ],
        )
    };
    let got = xlsx_error(Kind::Counts, &counts(C::N(-3.0)), &reg);
    assert!(
        got.starts_with("bad.xlsx:3: column quantity: `-3`:"),
        "{got}"
    );
    let got = xlsx_error(Kind::Counts, &counts(C::N(2.5)), &reg);
    assert!(
        got.starts_with("bad.xlsx:3: column quantity: `2.5`:"),
        "{got}"
    );

    // Header on sheet row 5: the bad cells are on rows 6 and 7.
    let attendance = |minutes: C<'_>| {
        workbook(
            4,
            &[
                vec![
                    C::S("date"),
                    C::S("inmate_no"),
                    C::S("day_type"),
                    C::S("minutes"),
                    C::S("grade"),
                ],
                vec![
                    C::S("2026-03-02"),
                    C::N(1001.0),
                    C::S("work"),
                    C::N(480.0),
                    C::E,
                ],
                vec![
                    C::S("2026-03-03"),
                    C::N(1001.0),
                    C::S("work"),
                    minutes,
                    C::E,
                ],
            ],
        )
    };
    let got = xlsx_error(Kind::Attendance, &attendance(C::N(480.5)), &reg);
    assert!(
        got.starts_with("bad.xlsx:7: column minutes: `480.5`: minutes `480.5` is not an integer"),
        "{got}"
    );
    let got = xlsx_error(Kind::Attendance, &attendance(C::S("八小时")), &reg);
    assert!(
        got.starts_with("bad.xlsx:7: column minutes: `八小时`:"),
        "{got}"
    );
    // A value under no header, and an unknown column.
    let stray = workbook(
        0,
        &[
            vec![C::S("district"), C::S("name")],
            vec![C::S("D03"), C::S("三监区"), C::S("备注")],
        ],
    );
    let got = xlsx_error(Kind::Districts, &stray, &reg);
    assert!(
        got.starts_with("bad.xlsx:2: column C: `备注`: a value in column C, which has no header"),
        "{got}"
    );
    let got = xlsx_error(
        Kind::Districts,
        &workbook(1, &[vec![C::S("district"), C::S("名称")]]),
        &reg,
    );
    assert!(
        got.starts_with("bad.xlsx:2: unknown column `名称`"),
        "{got}"
    );
    let got = xlsx_error(Kind::Districts, b"PK\x03\x04 not really a zip", &reg);
    assert!(got.contains("not a readable XLSX workbook"), "{got}");
}

#[test]
fn tally_import_reads_workbooks_and_a_bad_one_writes_nothing() {
    let dir = small_prison_without_daily_records();
    let files = tempfile::tempdir().unwrap();
    let bad = files.path().join("counts.xlsx");
    std::fs::write(
        &bad,
        workbook(
            0,
            &[
                vec![
                    C::S("date"),
                    C::S("inmate_no"),
                    C::S("procedure"),
                    C::S("quantity"),
                ],
                vec![C::S("2026-03-02"), C::N(1001.0), C::S("P1"), C::N(528.0)],
                vec![C::S("2026-03-03"), C::N(1001.0), C::S("P1"), C::N(-3.0)],
            ],
        ),
    )
    .unwrap();
    let before = snapshot(dir.path());
    let out = tally(dir.path(), &["import", "counts", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nothing was written"), "{err}");
    assert!(
        err.contains("counts.xlsx:3: column quantity: `-3`"),
        "{err}"
    );
    assert_eq!(
        snapshot(dir.path()),
        before,
        "a rejected workbook writes nothing"
    );

    // The workbook imports like the CSV: the month scores as the all-CSV prison does.
    let good = files.path().join("attendance.xlsx");
    std::fs::write(&good, attendance_workbook()).unwrap();
    let out = ok(
        dir.path(),
        &["import", "attendance", good.to_str().unwrap()],
    );
    assert!(out.contains("8 rows"), "{out}");
    assert!(
        out.contains("(sheet `Sheet1`)"),
        "says which sheet was read: {out}"
    );
    ok(
        dir.path(),
        &[
            "import",
            "counts",
            data_file("counts.csv").to_str().unwrap(),
        ],
    );
    let score = ok(
        dir.path(),
        &["score", "--district", "D01", "--month", "2026-03", "--json"],
    );
    let r: serde_json::Value = serde_json::from_str(&score).unwrap();
    let a = r["inmates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["inmate_no"] == "1001")
        .unwrap();
    // As in cli.rs's hand computation: BASE 2250 + BONUS 166.
    assert_eq!(a["labor_cp"], 2416);
}

// ---------------------------------------------------------------- tally report

#[test]
fn tally_report_writes_the_workbook_and_the_printable_page() {
    let dir = small_prison_without_daily_records();
    for (kind, file) in [("attendance", "attendance.csv"), ("counts", "counts.csv")] {
        ok(
            dir.path(),
            &["import", kind, data_file(file).to_str().unwrap()],
        );
    }
    let score: serde_json::Value = serde_json::from_str(&ok(
        dir.path(),
        &["score", "--district", "D01", "--month", "2026-03", "--json"],
    ))
    .unwrap();
    let digest = score["digest"].as_str().unwrap();

    let out = tempfile::tempdir().unwrap();
    let page = out.path().join("d01.html");
    let said = ok(
        dir.path(),
        &[
            "report",
            "--district",
            "D01",
            "--month",
            "2026-03",
            "-o",
            page.to_str().unwrap(),
        ],
    );
    assert!(said.contains(digest), "{said}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("张镕"));
    assert!(html.contains(digest));
    assert!(
        html.contains("<td class=\"n\">24.16</td>"),
        "1001's 2416 cp"
    );
    assert!(html.contains("未封存 not sealed"));

    let book = out.path().join("d01.out");
    let args = [
        "report",
        "--district",
        "D01",
        "--month",
        "2026-03",
        "--format",
        "xlsx",
        "--out",
    ];
    let mut with_out = args.to_vec();
    with_out.push(book.to_str().unwrap());
    ok(dir.path(), &with_out);
    let first = std::fs::read(&book).unwrap();
    ok(dir.path(), &with_out);
    assert_eq!(std::fs::read(&book).unwrap(), first, "byte-identical");
    let mut wb = open(&first);
    let main = wb.worksheet_range("计分考核").unwrap();
    let head = row_of(&main, "编号\nNo.");
    assert_eq!(string(&main, head + 1, 0), "1001");
    assert_points(&main, head + 1, 10, "24.16");
    let leftovers: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "no temporary file left: {leftovers:?}");

    // No format and an extension that says none; an unknown district.
    let bad = tally(
        dir.path(),
        &[
            "report",
            "--district",
            "D01",
            "--month",
            "2026-03",
            "-o",
            "x.pdf",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--format"));
    let bad = tally(
        dir.path(),
        &[
            "report",
            "--district",
            "D09",
            "--month",
            "2026-03",
            "-o",
            "x.html",
        ],
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown district D09"));
}

#[test]
fn hostile_workbooks_are_refused_with_a_reason_and_bounded_memory() {
    let dir = small_prison_without_daily_records();
    let reg = registry_of(dir.path());
    let header = |ws: &mut Worksheet| {
        for (c, h) in ["inmate_no", "date", "procedure", "quantity"]
            .iter()
            .enumerate()
        {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        ws.write_number(1, 0, 1001.0).unwrap();
        ws.write_string(1, 1, "2026-03-02").unwrap();
        ws.write_string(1, 2, "P1").unwrap();
        ws.write_number(1, 3, 528.0).unwrap();
    };
    // One value at XFD1048576, the last cell of a sheet: its stated range
    // is 17 billion cells, which calamine allocated and the process
    // aborted. Now the row of that cell is an error naming the column.
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    header(ws);
    ws.write_string(1_048_575, 16_383, "far").unwrap();
    let e = xlsx_error(Kind::Counts, &wb.save_to_buffer().unwrap(), &reg);
    assert!(e.contains("bad.xlsx:1048576:"), "{e}");
    assert!(e.contains("column XFD, which has no header"), "{e}");

    // A cell past XFD (calamine does not bound the letters: ZZZZZZ is
    // column 321,272,406, and a header widened to it asked for 7.7 GB).
    let far = std::fs::read(data_file("beyond-xfd.xlsx")).unwrap();
    let e = xlsx_error(Kind::Counts, &far, &reg);
    assert!(
        e.contains("a cell beyond the last column XFD or row 1048576"),
        "{e}"
    );

    // A hidden first sheet is never read: the visible one is.
    let mut wb = Workbook::new();
    let hidden = wb.add_worksheet();
    hidden.write_string(0, 0, "inmate_no").unwrap();
    hidden.write_string(0, 1, "not a count sheet").unwrap();
    hidden.set_hidden(true);
    let visible = wb.add_worksheet();
    header(visible);
    visible.set_active(true);
    let hidden_first = wb.save_to_buffer().unwrap();
    let plan = import::plan_file(Kind::Counts, "h.xlsx", &hidden_first, &reg)
        .expect("the visible sheet is a valid count sheet");
    assert_eq!(plan.rows, 1);
    // The sheet read is said; a sheet may be named, a hidden one never read.
    let (_, sheet) =
        import::plan_any(Kind::Counts, "h.xlsx", &hidden_first, None, &reg).expect("valid");
    assert_eq!(sheet.as_deref(), Some("Sheet2"));
    let (_, sheet) = import::plan_any(Kind::Counts, "h.xlsx", &hidden_first, Some("Sheet2"), &reg)
        .expect("the named visible sheet");
    assert_eq!(sheet.as_deref(), Some("Sheet2"));
    let e = import::plan_any(Kind::Counts, "h.xlsx", &hidden_first, Some("Sheet1"), &reg)
        .expect_err("hidden")
        .to_string();
    assert!(e.contains("sheet `Sheet1` is hidden"), "{e}");
    let e = import::plan_any(Kind::Counts, "h.xlsx", &hidden_first, Some("计数"), &reg)
        .expect_err("no such sheet")
        .to_string();
    assert!(
        e.contains("no sheet `计数` (its worksheets: `Sheet1`, `Sheet2`)"),
        "{e}"
    );
    let e = import::plan_any(Kind::Counts, "c.csv", b"x\n", Some("Sheet1"), &reg)
        .expect_err("a CSV file has no sheets")
        .to_string();
    assert!(e.contains("not an .xlsx/.xlsm workbook"), "{e}");
}

#[test]
fn a_workbook_unpacking_past_the_bound_is_refused_before_it_is_read() {
    // 40 MiB of one repeated letter, written as distinct shared strings,
    // compress to well under a megabyte and would unpack past a small
    // bound: `check_unpacked` counts what is actually decompressed.
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "inmate_no").unwrap();
    let long = "a".repeat(32_000);
    for r in 1..1300u32 {
        ws.write_string(r, 0, format!("{r}{long}")).unwrap();
    }
    let bytes = wb.save_to_buffer().unwrap();
    assert!(bytes.len() < 4 * 1024 * 1024, "{} bytes", bytes.len());
    let e = node::import::xlsx::check_unpacked("bomb.xlsx", &bytes, 16 * 1024 * 1024)
        .expect_err("unpacks past 16 MiB");
    let e = e.to_string();
    assert!(e.contains("unpacks to more than 16 MiB"), "{e}");
    // A real workbook passes the same check.
    node::import::xlsx::check_unpacked("ok.xlsx", &attendance_workbook(), 16 * 1024 * 1024)
        .expect("a small real workbook");
}

#[test]
fn empty_cells_that_look_full_in_excel_are_explained() {
    let dir = small_prison_without_daily_records();
    let reg = registry_of(dir.path());
    let header = |ws: &mut Worksheet| {
        for (c, h) in ["inmate_no", "date", "procedure", "quantity"]
            .iter()
            .enumerate()
        {
            ws.write_string(0, c as u16, *h).unwrap();
        }
    };
    // A date merged down over two rows: Excel shows it on both, the file
    // holds it in the first cell only.
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    header(ws);
    ws.merge_range(1, 1, 2, 1, "2026-03-02", &Format::new())
        .unwrap();
    for r in 1..=2u32 {
        ws.write_number(r, 0, 1001.0).unwrap();
        ws.write_string(r, 2, "P1").unwrap();
        ws.write_number(r, 3, 100.0 + f64::from(r)).unwrap();
    }
    let e = xlsx_error(Kind::Counts, &wb.save_to_buffer().unwrap(), &reg);
    assert!(
        e.contains(":3: column date: empty: part of merged cells"),
        "{e}"
    );
    // A formula in a workbook its writer did not calculate (it asks Excel
    // to, `fullCalcOnLoad`): the value stored is 0, not what Excel shows —
    // it was imported as a count of 0.
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    header(ws);
    ws.write_number(1, 0, 1001.0).unwrap();
    ws.write_string(1, 1, "2026-03-02").unwrap();
    ws.write_string(1, 2, "P1").unwrap();
    ws.write_formula(1, 3, rust_xlsxwriter::Formula::new("=100+1").set_result(""))
        .unwrap();
    let e = xlsx_error(Kind::Counts, &wb.save_to_buffer().unwrap(), &reg);
    assert!(
        e.contains(":2: column quantity: a formula in a workbook saved without calculating it"),
        "{e}"
    );
}

#[test]
fn both_files_list_inmates_transferred_out_and_the_documents_read() {
    let mut r = report();
    r.body.transferred_out = vec![crdt_schema::TransferredOut {
        inmate_no: "1003".parse().unwrap(),
        date: "2026-03-16".parse().unwrap(),
        to: "D02".parse().unwrap(),
    }];
    r.body.read_from = vec!["D02".parse().unwrap()];
    let r = Report::new(r.district.clone(), r.month, r.body);
    let line = "1003 王五: 2026-03-16 起调往 D02，由其计分 (to D02 from 2026-03-16, scored there)";
    let h = to_html(&registry(), &r);
    assert!(h.contains("<h2>调出人员 Transferred out</h2>"), "{h}");
    assert!(h.contains(line), "{h}");
    assert!(h.contains("另读取 Also read (transfers)"));
    let bytes = to_xlsx(&registry(), &r).unwrap();
    let main = open(&bytes).worksheet_range("计分考核").unwrap();
    let at = row_of(&main, "调出人员 Transferred out");
    assert_eq!(string(&main, at + 1, 0), line);
    let read = row_of(&main, "另读取 Also read (transfers)");
    assert_eq!(string(&main, read, 3), "D02");
}
