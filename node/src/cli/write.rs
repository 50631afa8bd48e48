//! Commands that write: `import`, `confirm`, `approve`, `seal`, `object`.
//! Each makes its changes in one [`WriteSession`] as the writing officer; a
//! refused change exits non-zero, naming officer, role and record.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};
use crdt_schema::{Date, DistrictId, InmateNo, Month, Objection, day_digest, team_digest};

use super::{Ctx, label, now, present};
use crate::import::Kind;
use crate::service::{ImportFile, ServiceError};
use crate::session::WriteSession;

fn check_district(s: &WriteSession<'_>, district: &DistrictId) -> Result<()> {
    if !s.registry().facts().districts.contains_key(district) {
        bail!("unknown district {district}");
    }
    Ok(())
}

pub(super) fn import(
    ctx: &Ctx,
    kind: Kind,
    file: &Path,
    sheet: Option<&str>,
    force: bool,
) -> Result<ExitCode> {
    let service = ctx.service()?;
    let label = label(file);
    let writer = ctx.writer()?;
    let f = ImportFile {
        kind,
        path: file,
        sheet,
        label: &label,
        force,
    };
    let read = match service.import(&writer, now(), &f, &mut |_| {}) {
        Ok(r) => r,
        Err(ServiceError::Rejected(e)) => {
            eprint!("{e}");
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e.into()),
    };
    present::issues(&read.issues);
    let i = read.value;
    let sheet = i
        .sheet
        .as_ref()
        .map(|s| format!(" (sheet `{s}`)"))
        .unwrap_or_default();
    println!(
        "{label}{sheet}: {} rows, {} records changed in {} documents",
        i.rows, i.changed, i.documents
    );
    if !i.not_counted.is_empty() {
        // Stored (nothing typed is lost), but the score leaves them out.
        eprintln!(
            "warning: {} record(s) written do not count in the score:",
            i.not_counted.len()
        );
        for n in &i.not_counted {
            eprintln!("  {n}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn confirm(
    ctx: &Ctx,
    district: &DistrictId,
    date: Date,
    only: Option<&InmateNo>,
) -> Result<ExitCode> {
    let store = ctx.store()?;
    let writer = ctx.writer()?;
    let me = writer.public().as_bytes().to_vec();
    let mut s = WriteSession::begin(&store, &writer, now(), format!("confirm {district} {date}"))?;
    check_district(&s, district)?;
    let day = date.day();
    let doc = s.month(district, date.month())?;
    let facts = doc.facts();
    let (mut days, mut teams, mut own) = (Vec::new(), Vec::new(), 0usize);
    for (no, rec) in &facts.inmates {
        if only.is_some_and(|o| o != no)
            || !rec.record_days().contains(&day)
            || rec.confirmed.contains(&day)
        {
            continue;
        }
        if doc.day_writers(no, day).contains(&me) {
            own += 1;
        } else {
            days.push((no.clone(), day_digest(rec, day)));
        }
    }
    if only.is_none() {
        for ((d, p), count) in &facts.team_counts {
            if *d != day || facts.team_confirmed.contains(&(*d, p.clone())) {
                continue;
            }
            if doc.team_writers(*d, p).contains(&me) {
                own += 1;
            } else {
                teams.push((p.clone(), team_digest(*d, p, count.value)));
            }
        }
    }
    if let Some(no) = only
        && days.is_empty()
        && own == 0
    {
        bail!("inmate {no} has no unconfirmed records in {district} on {date}");
    }
    s.write_month(district, date.month(), |w| {
        for (no, digest) in &days {
            w.put_confirmation(no, date, digest)?;
        }
        for (p, digest) in &teams {
            w.put_team_confirmation(date, p, digest)?;
        }
        Ok(())
    })?;
    s.commit()?;
    println!(
        "{district} {date}: confirmed {} inmate-day(s) and {} team count(s){}",
        days.len(),
        teams.len(),
        if own > 0 {
            format!("; {own} record(s) written by you need another officer's confirmation")
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn approve(
    ctx: &Ctx,
    district: &DistrictId,
    month: Month,
    inmate: &InmateNo,
) -> Result<ExitCode> {
    let writer = ctx.writer()?;
    let (approved, _) = ctx
        .service()?
        .approve(&writer, now(), district, month, inmate, None)?;
    if approved.is_empty() {
        println!("{inmate}: nothing awaits approval in {district} {month}");
    }
    for a in &approved {
        println!("{inmate}: approved {} points ({})", a.points, a.what);
    }
    Ok(ExitCode::SUCCESS)
}

/// `tally review`'s arguments.
pub(super) struct ReviewArgs {
    pub district: DistrictId,
    pub week: crdt_schema::Week,
    pub members: u32,
    pub yes: u32,
    pub present: Option<u32>,
    pub held: Option<crdt_schema::Date>,
    pub pass: Vec<String>,
    pub correct: Vec<String>,
    pub returned: Vec<String>,
    pub dissent: Option<String>,
}

pub(super) fn review(ctx: &Ctx, a: ReviewArgs) -> Result<ExitCode> {
    use crdt_schema::Outcome;
    let mut decisions: Vec<(String, Outcome)> = Vec::new();
    decisions.extend(a.pass.iter().map(|id| (id.clone(), Outcome::Pass)));
    for c in &a.correct {
        // The issue's ID=CP: centipoints, as `tally entries --json` lists them.
        let (id, cp) = c
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--correct `{c}`: expected ID=CP, e.g. 1a2b…=-150"))?;
        let cp: i64 = cp.parse().map_err(|_| {
            anyhow::anyhow!("--correct `{c}`: `{cp}` is not a whole number of centipoints")
        })?;
        decisions.push((
            id.to_string(),
            Outcome::Correct {
                points_cp: crdt_schema::Cp(cp),
            },
        ));
    }
    decisions.extend(a.returned.iter().map(|id| (id.clone(), Outcome::Return)));
    let held = match a.held {
        Some(d) => d,
        None => super::today()?,
    };
    let input = crate::service::review::ReviewInput {
        district: a.district.clone(),
        week: a.week,
        held,
        members: a.members,
        present: a.present.unwrap_or(a.members),
        in_favour: a.yes,
        decisions,
        dissent: a.dissent.unwrap_or_default(),
    };
    let writer = ctx.writer()?;
    let done = ctx.service()?.review(&writer, now(), &input)?;
    for (m, id, n) in &done.records {
        println!(
            "{} {}: review {id} recorded in {m} ({n} decision(s); {} of {} in favour)",
            a.district, a.week, input.in_favour, input.members
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn apply(
    ctx: &Ctx,
    district: &DistrictId,
    month: Month,
    inmate: InmateNo,
    entry: Option<String>,
    figure: Option<String>,
    reason: String,
    received: crdt_schema::Date,
    follows: Option<String>,
) -> Result<ExitCode> {
    let id = |what: &str, s: &str| {
        crdt_schema::ContentId::parse(s).map_err(|e| anyhow::anyhow!("--{what} `{s}`: {e}"))
    };
    let application = crdt_schema::Application {
        inmate,
        kind: if follows.is_some() {
            crdt_schema::ApplicationKind::Review
        } else {
            crdt_schema::ApplicationKind::Recheck
        },
        entry: entry.as_deref().map(|e| id("entry", e)).transpose()?,
        figure: figure.unwrap_or_default(),
        reason,
        received,
        follows: follows.as_deref().map(|f| id("follows", f)).transpose()?,
    };
    let writer = ctx.writer()?;
    let (app_id, _) = ctx
        .service()?
        .apply(&writer, now(), district, month, &application)?;
    println!(
        "{district} {month}: {} {app_id} recorded for {} (received {})",
        match application.kind {
            crdt_schema::ApplicationKind::Recheck => "复查 application",
            crdt_schema::ApplicationKind::Review => "复核 application",
        },
        application.inmate,
        application.received
    );
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn answer(
    ctx: &Ctx,
    district: &DistrictId,
    month: Month,
    application: &str,
    (upheld, correct): (bool, Option<String>),
    decided: Option<crdt_schema::Date>,
    note: Option<String>,
    vote: Option<(u32, u32)>,
) -> Result<ExitCode> {
    let outcome = match (upheld, correct) {
        (true, None) => crdt_schema::AnswerOutcome::Upheld,
        (false, Some(p)) => crdt_schema::AnswerOutcome::Corrected {
            points_cp: crdt_schema::Cp(p.parse().map_err(|_| {
                anyhow::anyhow!("--correct `{p}` is not a whole number of centipoints")
            })?),
        },
        _ => anyhow::bail!("give --upheld or --correct CP"),
    };
    let answer = crdt_schema::Answer {
        application: crdt_schema::ContentId::parse(application)
            .map_err(|e| anyhow::anyhow!("--application `{application}`: {e}"))?,
        decided: match decided {
            Some(d) => d,
            None => super::today()?,
        },
        outcome,
        note: note.unwrap_or_default(),
        vote,
    };
    let writer = ctx.writer()?;
    ctx.service()?
        .answer(&writer, now(), district, month, &answer)?;
    println!(
        "{district} {month}: application {application} answered {} on {}",
        match outcome {
            crdt_schema::AnswerOutcome::Upheld => "upheld (维持)".to_string(),
            crdt_schema::AnswerOutcome::Corrected { points_cp } =>
                format!("corrected to {points_cp} (更正)"),
        },
        answer.decided
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn acknowledge(
    ctx: &Ctx,
    district: &DistrictId,
    month: Month,
    inmate: &InmateNo,
    state: &str,
    date: crdt_schema::Date,
    note: Option<String>,
) -> Result<ExitCode> {
    let state = match state {
        "signed" => crdt_schema::AckState::Signed,
        "refused" => crdt_schema::AckState::Refused,
        "not-available" | "not_available" => crdt_schema::AckState::NotAvailable,
        other => anyhow::bail!("--state `{other}`: signed, refused or not-available"),
    };
    let ack = crdt_schema::Acknowledgement {
        state,
        date,
        note: note.unwrap_or_default(),
    };
    let writer = ctx.writer()?;
    ctx.service()?
        .acknowledge(&writer, now(), district, month, inmate, &ack)?;
    println!(
        "{district} {month} {inmate}: monthly sheet {} on {date}",
        state.as_str()
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn post(
    ctx: &Ctx,
    district: &DistrictId,
    month: Month,
    from: Option<crdt_schema::Date>,
) -> Result<ExitCode> {
    let first_day = match from {
        Some(d) => d,
        None => super::today()?,
    };
    let writer = ctx.writer()?;
    let p = ctx
        .service()?
        .post(&writer, now(), district, month, first_day)?;
    println!(
        "posted {district} {month}: report {} from {} to {} (working days)",
        &p.digest[..16],
        p.first_day,
        p.last_day
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn seal(
    ctx: &Ctx,
    district: &DistrictId,
    month: Month,
    force: bool,
) -> Result<ExitCode> {
    let writer = ctx.writer()?;
    let sealed = ctx
        .service()?
        .seal(&writer, now(), district, month, None, force)?;
    println!(
        "{} {district} {month}: report digest {}",
        if sealed.resealed {
            "re-sealed"
        } else {
            "sealed"
        },
        sealed.digest
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn publish_rules(ctx: &Ctx, file: &Path, force: bool) -> Result<ExitCode> {
    let rules = crate::service::Service::read_rules_file(file, &label(file))?;
    let writer = ctx.writer()?;
    let read = ctx
        .service()?
        .publish_rules(&writer, now(), &rules, force)?;
    present::issues(&read.issues);
    println!(
        "published the rule set effective from {}",
        rules.effective_from
    );
    if read.value.effects.is_empty() {
        println!("no month already scored changes");
    }
    for e in &read.value.effects {
        println!(
            "  {}/{}: {} inmate(s)' figures change (the report's rule set is the new one){}",
            e.district,
            e.month,
            e.inmates,
            if e.sealed {
                " (sealed: now amended_after_seal until resealed)"
            } else {
                ""
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn object(
    ctx: &Ctx,
    district: &DistrictId,
    month: Month,
    inmate: Option<InmateNo>,
    date: Option<Date>,
    text: &str,
) -> Result<ExitCode> {
    let store = ctx.store()?;
    let writer = ctx.writer()?;
    let mut s = WriteSession::begin(&store, &writer, now(), format!("object {district} {month}"))?;
    check_district(&s, district)?;
    let o = Objection {
        inmate,
        date,
        text: text.to_string(),
    };
    let id = s.write_month(district, month, |w| w.put_objection(&o))?;
    s.commit()?;
    println!("objection {id} recorded in {district} {month}");
    Ok(ExitCode::SUCCESS)
}
