//! Commands that read: `score`, `report`, `board`, `audit`, `officer list`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use crdt_schema::{Date, DistrictId, InmateNo, Month};

use super::{Ctx, present};
use crate::export;
use crate::read;
use crate::service::Scores;
use crate::validate::Trust;

pub(super) fn score(
    ctx: &Ctx,
    district: Option<DistrictId>,
    month: Month,
    inmate: Option<InmateNo>,
    json: bool,
) -> Result<ExitCode> {
    let service = ctx.service()?;
    if let (Some(no), Some(d)) = (inmate, &district) {
        let read = service.explain(d, month, &no)?;
        present::issues(&read.issues);
        let (registry, e) = read.value;
        let mut out = std::io::stdout().lock();
        if json {
            serde_json::to_writer(&mut out, &e)?;
            writeln!(out)?;
        } else {
            present::explanation(&mut out, &registry, &e)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let read = service.score(district.as_ref(), month)?;
    present::issues(&read.issues);
    let Scores { registry, reports } = read.value;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if json {
        if district.is_some() {
            serde_json::to_writer(&mut out, &reports[0])?;
        } else {
            serde_json::to_writer(
                &mut out,
                &serde_json::json!({ "month": month, "districts": reports }),
            )?;
        }
        writeln!(out)?;
    } else {
        for r in &reports {
            present::report(&mut out, &registry, r)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `tally report`: one district-month as an XLSX workbook or printable HTML,
/// written atomically (a reader or a crash sees the old file or the new one).
pub(super) fn report(
    ctx: &Ctx,
    district: &DistrictId,
    month: Month,
    format: Option<export::Format>,
    out: &Path,
) -> Result<ExitCode> {
    let format = format_of(format, out)?;
    let read = ctx.service()?.write_report(district, month, format, out)?;
    present::issues(&read.issues);
    let f = read.value;
    println!(
        "{}: {district} {month}, {} inmate(s), report digest {}, {} bytes",
        out.display(),
        f.inmates,
        f.digest,
        f.bytes.len()
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn board(ctx: &Ctx, district: &DistrictId, date: Date, json: bool) -> Result<ExitCode> {
    let read = ctx.service()?.board(district, date)?;
    present::issues(&read.issues);
    let (registry, b) = read.value;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if json {
        serde_json::to_writer(&mut out, &b)?;
        writeln!(out)?;
    } else {
        present::board(&mut out, &registry, &b)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn audit(
    ctx: &Ctx,
    district: &DistrictId,
    month: Month,
    inmate: &InmateNo,
    json: bool,
) -> Result<ExitCode> {
    let read = ctx.service()?.audit(district, month, inmate)?;
    present::issues(&read.issues);
    let (facts, trail) = read.value;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if json {
        serde_json::to_writer(&mut out, &trail)?;
        writeln!(out)?;
    } else {
        present::audit(&mut out, &facts, &trail)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn officers(ctx: &Ctx, json: bool) -> Result<ExitCode> {
    let store = ctx.store()?;
    let _lock = store.lock_shared()?;
    let (registry, issues) = read::registry(&store)?;
    present::issues(&issues);
    let trust = Trust::from_registry(store.authority()?, registry.document().automerge());
    let mut officers: Vec<_> = trust.officers().collect();
    officers.sort_by(|a, b| (&a.1.body.officer_no, a.0).cmp(&(&b.1.body.officer_no, b.0)));
    let list: Vec<serde_json::Value> = officers
        .iter()
        .map(|(k, c)| {
            serde_json::json!({
                "officer_no": c.body.officer_no,
                "name": c.body.name,
                "role": c.body.role,
                "district": c.body.district,
                "valid_from": c.body.valid_from,
                "valid_to": c.body.valid_to,
                "public_key": k.to_string(),
                "revoked": trust.is_revoked(k),
            })
        })
        .collect();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if json {
        serde_json::to_writer(&mut out, &list)?;
        writeln!(out)?;
    } else {
        for (k, c) in &officers {
            let b = &c.body;
            writeln!(
                out,
                "{:<10} {:<8} {:<13} {:<5} {} – {}  {}{}",
                b.officer_no,
                b.name,
                b.role.as_str(),
                b.district.as_ref().map(|d| d.as_str()).unwrap_or("-"),
                b.valid_from,
                b.valid_to,
                &k.to_string()[..16],
                if trust.is_revoked(k) {
                    "  已吊销(revoked)"
                } else {
                    ""
                }
            )?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `tally entries`: the month's entries of a district's document.
pub(super) fn entries(
    ctx: &Ctx,
    district: &crdt_schema::DistrictId,
    month: Month,
    json: bool,
) -> Result<ExitCode> {
    let read = ctx.service()?.entries(district, month)?;
    present::issues(&read.issues);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if json {
        serde_json::to_writer(&mut out, &read.value)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "{:<16}  {:<10}  {:<12}  {:>8}  {:>8}  {:<12}  {:<17}  {:<22}  reason",
            "id", "date", "inmate", "points", "counts", "level", "state", "decision"
        )?;
        for r in &read.value {
            let l = &r.line;
            let decision = l
                .decision
                .as_ref()
                .map(|d| {
                    format!(
                        "{} {} ({}/{})",
                        d.week,
                        d.outcome.as_str(),
                        d.in_favour,
                        d.members
                    )
                })
                .unwrap_or_else(|| "-".into());
            writeln!(
                out,
                "{:<16}  {:<10}  {:<12}  {:>8}  {:>8}  {:<12}  {:<17}  {:<22}  {}{}",
                l.id.to_string(),
                l.date.to_string(),
                r.inmate_no.to_string(),
                l.points_cp.to_string(),
                l.counted_cp.to_string(),
                l.level.as_str(),
                l.status.as_str(),
                decision,
                l.reason,
                if l.special { " [专项]" } else { "" }
            )?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The format `--format` gives, or else the extension of `out`.
fn format_of(format: Option<export::Format>, out: &Path) -> Result<export::Format> {
    match format {
        Some(f) => Ok(f),
        None => export::Format::from_file_name(&out.display().to_string()).with_context(|| {
            format!(
                "cannot tell the format from {}: give --format xlsx or --format html",
                out.display()
            )
        }),
    }
}

/// `tally weekly`: the weekly sheet (周评议表), written atomically.
pub(super) fn weekly(
    ctx: &Ctx,
    district: &DistrictId,
    week: crdt_schema::Week,
    format: Option<export::Format>,
    out: &Path,
) -> Result<ExitCode> {
    let format = format_of(format, out)?;
    let svc = ctx.service()?;
    let read = svc.weekly_sheet(district, week)?;
    present::issues(&read.issues);
    let bytes = svc.write_sheet(&read.value, format, out)?;
    let inmates = read
        .value
        .pages
        .first()
        .map_or(0, |p| p.tables.first().map_or(0, |t| t.rows.len()));
    println!(
        "{}: {district} {week}, {inmates} inmate(s), {bytes} bytes",
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `tally sheets`: the monthly sheets (月评表), one page per inmate.
pub(super) fn monthly_sheets(
    ctx: &Ctx,
    district: &DistrictId,
    month: Month,
    format: Option<export::Format>,
    out: &Path,
) -> Result<ExitCode> {
    let format = format_of(format, out)?;
    let svc = ctx.service()?;
    let read = svc.monthly_sheets(district, month)?;
    present::issues(&read.issues);
    let bytes = svc.write_sheet(&read.value, format, out)?;
    println!(
        "{}: {district} {month}, {} page(s), one per inmate, {bytes} bytes",
        out.display(),
        read.value.pages.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// `tally report --posted`: the posted sheet, written atomically.
pub(super) fn posted_sheet(
    ctx: &Ctx,
    district: &crdt_schema::DistrictId,
    month: Month,
    out: &std::path::Path,
) -> Result<ExitCode> {
    let read = ctx.service()?.posted_sheet(district, month)?;
    present::issues(&read.issues);
    crate::store::write_atomic(out, &read.value)?;
    println!(
        "{district} {month}: posted sheet written to {}",
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `tally applications`: the month's applications, answers and deadlines.
pub(super) fn applications(
    ctx: &Ctx,
    district: &crdt_schema::DistrictId,
    month: Month,
    json: bool,
) -> Result<ExitCode> {
    let read = ctx.service()?.applications(district, month)?;
    present::issues(&read.issues);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if json {
        serde_json::to_writer(&mut out, &read.value)?;
        writeln!(out)?;
    } else {
        for r in &read.value {
            let a = &r.application;
            let what = match &a.entry {
                Some(e) => format!("entry {e}"),
                None => a.figure.clone(),
            };
            let date = |d: Option<crdt_schema::Date>| d.map_or("?".to_string(), |d| d.to_string());
            writeln!(
                out,
                "{}  {}  {}  {what}  received {} (due {}{})  {}",
                r.id,
                match a.kind {
                    crdt_schema::ApplicationKind::Recheck => "复查",
                    crdt_schema::ApplicationKind::Review => "复核",
                },
                a.inmate,
                a.received,
                date(r.due),
                if r.late { ", LATE" } else { "" },
                match &r.answer {
                    None => format!("open, answer due {}", date(r.answer_due)),
                    Some(ans) => format!(
                        "answered {} {}{}",
                        ans.decided,
                        match ans.outcome {
                            crdt_schema::AnswerOutcome::Upheld => "upheld".to_string(),
                            crdt_schema::AnswerOutcome::Corrected { points_cp } =>
                                format!("corrected to {points_cp}"),
                        },
                        if r.answer_late { " (LATE)" } else { "" }
                    ),
                }
            )?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn rules(ctx: &Ctx, month: Option<Month>, json: bool) -> Result<ExitCode> {
    let month = match month {
        Some(m) => m,
        None => super::today()?.month(),
    };
    let read = ctx.service()?.rules()?;
    present::issues(&read.issues);
    let versions = read.value;
    let mut out = std::io::stdout().lock();
    let Some(r) = versions.in_force(month) else {
        anyhow::bail!("no rule set is in force for {month}");
    };
    if json {
        serde_json::to_writer_pretty(&mut out, r)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    present::rules(&mut out, month, r)?;
    writeln!(out, "versions:")?;
    for v in &versions.versions {
        let mark = if v == r { " (in force)" } else { "" };
        writeln!(out, "  from {}{mark}", v.effective_from)?;
    }
    Ok(ExitCode::SUCCESS)
}
