use crdt_schema::{ChangeMeta, Inmate, ProcedureVersion, RegistryDoc, RegistryFacts, RuleSet};

use super::*;

/// A registry with district D01, inmate 1001 (admitted 2026-03-05, released
/// 2026-03-25) and procedure P1 in force from 2026-01-01.
fn registry() -> RegistryFacts {
    let mut r = RegistryDoc::new();
    let meta = ChangeMeta {
        author: vec![1; 32],
        time: 0,
        message: String::new(),
        registry_heads: Vec::new(),
    };
    r.write(&meta, |w| {
        w.put_district(&"D01".parse().unwrap(), "一监区")?;
        w.put_inmate(
            &"1001".parse().unwrap(),
            &Inmate {
                name: "张三".into(),
                district: "D01".parse().unwrap(),
                admitted: "2026-03-05".parse().unwrap(),
                released: Some("2026-03-25".parse().unwrap()),
            },
        )?;
        w.put_procedure_version(
            &"P1".parse().unwrap(),
            "2026-01-01".parse().unwrap(),
            &ProcedureVersion {
                product: "X".parse().unwrap(),
                name: "缝领".into(),
                std_ms: 12_500,
            },
        )?;
        w.put_rule_set(&RuleSet::standard("2021-10".parse().unwrap()))
    })
    .unwrap();
    r.facts()
}

fn plan_of(kind: Kind, csv: &str) -> Result<Plan, ImportError> {
    plan(kind, "f.csv", csv.as_bytes(), &registry())
}

/// The single error of a rejected file, as displayed.
fn error_of(kind: Kind, csv: &str) -> String {
    let e = plan_of(kind, csv).expect_err("the file must be rejected");
    assert_eq!(e.errors.len(), 1, "{e}");
    e.errors[0].to_string()
}

#[test]
fn a_valid_attendance_file_plans_one_document() {
    let p = plan_of(
        Kind::Attendance,
        "date,inmate_no,day_type,minutes,grade\n2026-03-10,1001,work,480,\n2026-03-11,1001,no_quota,,良好\n",
    )
    .unwrap();
    assert_eq!(p.rows, 2);
    assert_eq!(p.months.len(), 1);
    let ops = &p.months[&("D01".parse().unwrap(), "2026-03".parse().unwrap())];
    assert_eq!(ops.len(), 2);
}

#[test]
fn a_byte_order_mark_and_column_order_do_not_matter() {
    let csv = "\u{feff}inmate_no,date,procedure,quantity\n1001,2026-03-10,P1,120\n";
    let p = plan_of(Kind::Counts, csv).unwrap();
    assert_eq!(p.rows, 1);
}

#[test]
fn errors_name_file_line_column_and_value() {
    let head = "date,inmate_no,procedure,quantity\n";
    let cases = [
        (
            "2026-03-10,9999,P1,1",
            "f.csv:2: column inmate_no: `9999`: unknown inmate",
        ),
        (
            "2026-03-10,1001,P9,1",
            "f.csv:2: column procedure: `P9`: unknown procedure",
        ),
        ("2026-03-10,1001,P1,-3", "f.csv:2: column quantity: `-3`:"),
        ("2026-03-10,1001,P1,2.5", "f.csv:2: column quantity: `2.5`:"),
        (
            "2026-02-30,1001,P1,1",
            "f.csv:2: column date: `2026-02-30`:",
        ),
        (
            "2026-03-26,1001,P1,1",
            "f.csv:2: column date: `2026-03-26`: outside the inmate's custody",
        ),
        (
            "2026-03-10,1001,P1",
            "f.csv:2: has 3 fields, the header has 4",
        ),
    ];
    for (row, expected) in cases {
        let got = error_of(Kind::Counts, &format!("{head}{row}\n"));
        assert!(
            got.starts_with(expected),
            "row {row:?}: got {got:?}, expected {expected:?}"
        );
    }
}

#[test]
fn day_types_and_grades_are_checked() {
    let head = "date,inmate_no,day_type,minutes,grade\n";
    let got = error_of(
        Kind::Attendance,
        &format!("{head}2026-03-10,1001,holiday,,\n"),
    );
    assert!(got.contains("unknown day type `holiday`"), "{got}");
    let got = error_of(
        Kind::Attendance,
        &format!("{head}2026-03-10,1001,no_quota,,\n"),
    );
    assert!(got.contains("needs a grade"), "{got}");
    // not_in_custody may be recorded outside custody (that is its point).
    assert!(
        plan_of(
            Kind::Attendance,
            &format!("{head}2026-03-28,1001,not_in_custody,,\n")
        )
        .is_ok()
    );
}

#[test]
fn one_bad_row_rejects_the_whole_file_with_every_error() {
    let csv = "date,inmate_no,procedure,quantity\n\
               2026-03-10,1001,P1,1\n\
               2026-03-11,1001,P1,x\n\
               2026-03-12,1001,P1,3\n\
               2026-03-13,1002,P1,4\n";
    let e = plan_of(Kind::Counts, csv).unwrap_err();
    let lines: Vec<u64> = e.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![3, 5]);
}

#[test]
fn headers_are_checked() {
    let got = error_of(Kind::Counts, "date,inmate,procedure,quantity\n");
    assert!(got.contains("unknown column `inmate`"), "{got}");
    let got = error_of(Kind::Counts, "date,inmate_no,procedure\n");
    assert!(got.contains("missing column(s) quantity"), "{got}");
    let got = error_of(Kind::Counts, "");
    assert!(got.contains("no header row"), "{got}");
}

#[test]
fn invalid_utf8_is_named() {
    let mut csv = b"district,name\nD02,".to_vec();
    csv.extend_from_slice(&[0xc4, 0xfa]); // "您" in GBK, not UTF-8
    csv.push(b'\n');
    let e = plan(Kind::Districts, "f.csv", &csv, &registry()).unwrap_err();
    assert!(e.errors[0].to_string().contains("not valid UTF-8"), "{e}");
}

#[test]
fn a_file_contradicting_itself_is_rejected_repeats_are_not() {
    let head = "date,inmate_no,procedure,quantity\n";
    assert!(
        plan_of(
            Kind::Counts,
            &format!("{head}2026-03-10,1001,P1,5\n2026-03-10,1001,P1,5\n")
        )
        .is_ok()
    );
    let got = error_of(
        Kind::Counts,
        &format!("{head}2026-03-10,1001,P1,5\n2026-03-10,1001,P1,6\n"),
    );
    assert!(got.starts_with("f.csv:3: contradicts line 2"), "{got}");
}

#[test]
fn adjustments_need_a_reason_and_a_non_zero_amount() {
    let head = "date,inmate_no,points_cp,reason\n";
    assert!(
        plan_of(
            Kind::Adjustments,
            &format!("{head}2026-03-10,1001,-200,浪费原材料\n")
        )
        .is_ok()
    );
    assert!(
        error_of(Kind::Adjustments, &format!("{head}2026-03-10,1001,0,x\n")).contains("no effect")
    );
    assert!(
        error_of(Kind::Adjustments, &format!("{head}2026-03-10,1001,-200,\n"))
            .contains("column reason")
    );
    assert!(
        error_of(
            Kind::Adjustments,
            &format!("{head}2026-03-10,1001,99999999,x\n")
        )
        .contains("points_cp")
    );
}

#[test]
fn inmates_need_a_known_district_and_ordered_dates() {
    let head = "inmate_no,name,district,admitted,released\n";
    assert!(plan_of(Kind::Inmates, &format!("{head}2002,李四,D01,2025-01-01,\n")).is_ok());
    assert!(
        error_of(Kind::Inmates, &format!("{head}2002,李四,D09,2025-01-01,\n"))
            .contains("unknown district")
    );
    assert!(
        error_of(
            Kind::Inmates,
            &format!("{head}2002,李四,D01,2025-01-01,2024-01-01\n")
        )
        .contains("before admitted")
    );
    assert!(
        error_of(Kind::Inmates, &format!("{head}a/b,李四,D01,2025-01-01,\n"))
            .contains("inmate number")
    );
}

#[test]
fn procedures_need_a_positive_standard_time() {
    let head = "procedure,product,name,std_ms,effective_from\n";
    assert!(
        plan_of(
            Kind::Procedures,
            &format!("{head}P2,X,上袖,18000,2026-03-16\n")
        )
        .is_ok()
    );
    assert!(
        error_of(Kind::Procedures, &format!("{head}P2,X,上袖,0,2026-03-16\n")).contains("std_ms")
    );
    assert!(
        error_of(
            Kind::Procedures,
            &format!("{head}P2,X,上袖,12.5,2026-03-16\n")
        )
        .contains("std_ms")
    );
}

#[test]
fn team_counts_need_a_known_district() {
    let head = "date,district,procedure,quantity\n";
    assert!(plan_of(Kind::TeamCounts, &format!("{head}2026-03-10,D01,P1,500\n")).is_ok());
    assert!(
        error_of(Kind::TeamCounts, &format!("{head}2026-03-10,D07,P1,500\n"))
            .contains("unknown district")
    );
}

#[test]
fn attendance_errors_name_their_column() {
    let head = "date,inmate_no,day_type,minutes,grade\n";
    for (row, expected) in [
        (
            "2026-03-10,1001,work,480.5,",
            "f.csv:2: column minutes: `480.5`: minutes `480.5` is not an integer",
        ),
        ("2026-03-10,1001,work,八,", "f.csv:2: column minutes: `八`:"),
        (
            "2026-03-10,1001,holiday,,",
            "f.csv:2: column day_type: `holiday`: unknown day type",
        ),
        (
            "2026-03-10,1001,work,480,良好",
            "f.csv:2: column grade: `良好`:",
        ),
        (
            "2026-03-10,1001,no_quota,,",
            "f.csv:2: column grade: a no_quota day",
        ),
    ] {
        let got = error_of(Kind::Attendance, &format!("{head}{row}\n"));
        assert!(
            got.starts_with(expected),
            "row {row:?}: got {got:?}, expected {expected:?}"
        );
    }
}

#[test]
fn the_file_name_chooses_the_reader() {
    assert_eq!(Format::of("a.xlsx"), Format::Xlsx);
    assert_eq!(Format::of("dir.v2/A.XLSM"), Format::Xlsx);
    assert_eq!(Format::of("a.csv"), Format::Csv);
    assert_eq!(Format::of("a.txt"), Format::Csv);
    assert_eq!(Format::of("xlsx"), Format::Csv);
    // A workbook named .csv is told what it is (it was told to "save the
    // file as UTF-8 CSV"), as is an old .xls under either name; a
    // whole-file error names no line 0.
    let e = plan_file(Kind::Districts, "f.csv", b"PK\x03\x04\xff\xfe", &registry()).unwrap_err();
    assert_eq!(
        e.errors[0].to_string(),
        "f.csv: this is a zip file (an .xlsx workbook named as something else?): give it a name ending in .xlsx, or save it as UTF-8 CSV"
    );
    let xls = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00";
    for name in ["old.xls", "old.xlsx", "old.csv"] {
        let e = plan_file(Kind::Districts, name, xls, &registry()).unwrap_err();
        assert!(
            e.errors[0]
                .to_string()
                .starts_with(&format!("{name}: this is an old Excel .xls workbook")),
            "{e}"
        );
    }
}

#[test]
fn wrong_input_gets_the_reason_that_fits() {
    let head = "date,inmate_no,procedure,quantity\n";
    // An unterminated quote: not "has 2 fields, the header has 4".
    let e = error_of(
        Kind::Counts,
        &format!("{head}2026-03-02,\"1001,P1,5\n2026-03-03,1001,P1,5\n"),
    );
    assert_eq!(
        e,
        "f.csv:2: a quote `\"` opened in this line is never closed: everything after it was read as one field"
    );
    // A field count that is wrong for another reason keeps its words.
    let e = error_of(Kind::Counts, &format!("{head}2026-03-02,1001,P1\n"));
    assert_eq!(e, "f.csv:2: has 3 fields, the header has 4");
    // A day the month lacks: not "not of the form YYYY-MM-DD".
    let e = error_of(Kind::Counts, &format!("{head}2026-02-30,1001,P1,5\n"));
    assert_eq!(
        e,
        "f.csv:2: column date: `2026-02-30`: 2026-02 has no day 30 (it has 28 days)"
    );
    // An Excel date serial in a CSV export.
    let e = error_of(Kind::Counts, &format!("{head}46300,1001,P1,5\n"));
    assert!(e.contains("a number where a date belongs"), "{e}");
    // -0 is refused, not stored as 0.
    let e = error_of(Kind::Counts, &format!("{head}2026-03-06,1001,P1,-0\n"));
    assert_eq!(
        e,
        "f.csv:2: column quantity: `-0`: a minus sign on zero: write 0 (or the number meant)"
    );
    // Two rows about one record name it and both values.
    let e = error_of(
        Kind::Counts,
        &format!("{head}2026-03-06,1001,P1,5\n2026-03-06,1001,P1,6\n"),
    );
    assert_eq!(
        e,
        "f.csv:3: contradicts line 2 about the same record (cnt/1001/2026-03-06/P1): `5` there, `6` here"
    );
}
