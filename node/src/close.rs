//! Closing a month: the chief's approvals of pending bonuses and deductions,
//! and the seal. Shared by the CLI (`tally approve`, `tally seal`) and the
//! app, so both write exactly the same records.

use crdt_schema::scoring::EntryStatus;
use crdt_schema::{
    ApprovalTarget, Cp, DistrictId, InmateNo, Month, MonthFacts, RegistryFacts, ReportDigest,
    ScoreError, Seal, Sources, digest_to_seal, explain_inmate, score_month,
};

use crate::session::{WriteError, WriteSession};

#[derive(Debug, thiserror::Error)]
pub enum CloseError {
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Score(#[from] ScoreError),
    #[error("unknown district {0}")]
    UnknownDistrict(DistrictId),
    #[error("inmate {inmate} has no roster entry or records in {district} {month}")]
    UnknownInmate {
        inmate: InmateNo,
        district: DistrictId,
        month: Month,
    },
    /// The procedure is not done (RULES.md, month close): the posting has
    /// not ended, or applications wait for their answers.
    #[error(
        "{district} {month} is not ready to seal: {}; seal with --force to seal all the same (the seal then says what was not done)",
        joined(reasons)
    )]
    NotReady {
        district: DistrictId,
        month: Month,
        reasons: Vec<NotDone>,
    },
}

/// What of the month's procedure stands between it and its seal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotDone {
    #[error("the report has not been posted (tally post)")]
    NotPosted,
    #[error("the posting lasts until {until}")]
    Posting { until: crdt_schema::Date },
    #[error("{applications} application(s) for 复查/复核 not answered")]
    Unanswered { applications: usize },
}

/// The reasons as the seal records them (`Seal::forced`) and errors say them.
pub fn joined(reasons: &[NotDone]) -> String {
    reasons
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// What of the month's procedure is not done on `today`: the posting (the
/// latest; it must have ended), applications without their answer.
/// Rule sets of the former procedure ask nothing.
pub fn not_done(
    registry: &RegistryFacts,
    facts: &MonthFacts,
    month: Month,
    today: crdt_schema::Date,
) -> Vec<NotDone> {
    let Some(rules) = registry.rule_set_for(month).filter(|r| r.decision_levels) else {
        return Vec::new();
    };
    let mut reasons = Vec::new();
    match facts.postings.values().map(|p| p.value.first_day).max() {
        None => reasons.push(NotDone::NotPosted),
        Some(first) => {
            let last = rules.posting_end(first);
            if today <= last {
                reasons.push(NotDone::Posting { until: last });
            }
        }
    }
    let open = facts.open_applications().count();
    if open > 0 {
        reasons.push(NotDone::Unanswered { applications: open });
    }
    reasons
}

/// One approval written: what, how many centipoints, and a description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approved {
    pub target: ApprovalTarget,
    pub points: Cp,
    pub what: String,
}

fn check_district(s: &WriteSession<'_>, district: &DistrictId) -> Result<(), CloseError> {
    if s.registry().facts().districts.contains_key(district) {
        Ok(())
    } else {
        Err(CloseError::UnknownDistrict(district.clone()))
    }
}

/// The other districts' documents `own`'s report reads (inmates transferred
/// in), loaded into the session, as that report reads them, with each one's
/// heads (what a seal records).
pub fn other_sources(
    s: &mut WriteSession<'_>,
    registry: &RegistryFacts,
    own: &MonthFacts,
) -> Result<Vec<(MonthFacts, Vec<String>)>, CloseError> {
    let mut out = Vec::new();
    for d in registry.sources_of(&own.district, own.month) {
        let doc = s.month(&d, own.month)?;
        let heads = doc
            .document()
            .heads()
            .iter()
            .map(|h| h.to_string())
            .collect();
        out.push((doc.facts_for(own), heads));
    }
    Ok(out)
}

/// What of `inmate`'s month awaits the prison group's approval (the
/// over-fulfilment bonus, entries the district group has passed), each at
/// the amount it counts for (a correction's), in a fixed order.
pub fn pending_approvals(
    registry: &RegistryFacts,
    sources: &Sources<'_>,
    district: &DistrictId,
    month: Month,
    inmate: &InmateNo,
) -> Result<Vec<Approved>, CloseError> {
    let Some(e) = explain_inmate(registry, sources, inmate)? else {
        return Err(CloseError::UnknownInmate {
            inmate: inmate.clone(),
            district: district.clone(),
            month,
        });
    };
    let mut approvals = Vec::new();
    if e.overfulfil_status == Some(EntryStatus::AwaitingApproval) {
        approvals.push(Approved {
            target: ApprovalTarget::OverfulfilmentBonus,
            points: e.result.overfulfil_bonus_cp,
            what: "超额加分".to_string(),
        });
    }
    for a in &e.adjustments {
        if a.status == EntryStatus::AwaitingApproval {
            approvals.push(Approved {
                target: ApprovalTarget::Adjustment(a.id.clone()),
                points: a.counted_cp,
                what: a.reason.clone(),
            });
        }
    }
    Ok(approvals)
}

/// Approves, in `s`, everything of `inmate`'s month that awaits approval
/// (see [`pending_approvals`]) at its current amount. Returns what was
/// approved (nothing when nothing awaited).
pub fn approve_inmate(
    s: &mut WriteSession<'_>,
    district: &DistrictId,
    month: Month,
    inmate: &InmateNo,
) -> Result<Vec<Approved>, CloseError> {
    Ok(approve_inmate_if(s, district, month, inmate, |_| true)?.unwrap_or_default())
}

/// [`approve_inmate`], only when `seen` accepts what awaits approval now:
/// the app approves exactly what the chief was shown, not what arrived
/// since. Returns `None`, writing nothing, when `seen` refuses.
pub fn approve_inmate_if(
    s: &mut WriteSession<'_>,
    district: &DistrictId,
    month: Month,
    inmate: &InmateNo,
    seen: impl FnOnce(&[Approved]) -> bool,
) -> Result<Option<Vec<Approved>>, CloseError> {
    check_district(s, district)?;
    let registry = s.registry_facts_through(crdt_schema::Year::of_month(month))?;
    let facts = s.month(district, month)?.facts();
    let others: Vec<MonthFacts> = other_sources(s, &registry, &facts)?
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    let sources = Sources::new(&registry, &facts, &others)?;
    let approvals = pending_approvals(&registry, &sources, district, month, inmate)?;
    if !seen(&approvals) {
        return Ok(None);
    }
    // Under the decision levels the prison group's own records; under the
    // former procedure the chief's.
    let levels = registry
        .rule_set_for(month)
        .is_some_and(|r| r.decision_levels);
    if !approvals.is_empty() {
        s.write_month(district, month, |w| {
            for a in &approvals {
                if levels {
                    w.put_group_approval(inmate, a.target.clone(), a.points)?;
                } else {
                    w.put_approval(inmate, a.target.clone(), a.points)?;
                }
            }
            Ok(())
        })?;
    }
    Ok(Some(approvals))
}

/// Seals the district-month in `s` at its current heads and report digest.
/// Returns the digest and whether it was sealed before (a re-seal).
pub fn seal_month(
    s: &mut WriteSession<'_>,
    district: &DistrictId,
    month: Month,
) -> Result<(ReportDigest, bool), CloseError> {
    let sealed = seal_month_if(s, district, month, false, |_| true)?;
    Ok(sealed.expect("an accepting check always seals"))
}

/// [`seal_month`], only when `seen` accepts the month's report digest as it
/// is now: the app seals the report the chief was shown, not one changed
/// since. Returns `None`, writing nothing, when `seen` refuses.
pub fn seal_month_if(
    s: &mut WriteSession<'_>,
    district: &DistrictId,
    month: Month,
    force: bool,
    seen: impl FnOnce(&ReportDigest) -> bool,
) -> Result<Option<(ReportDigest, bool)>, CloseError> {
    check_district(s, district)?;
    let registry = s.registry_facts_through(crdt_schema::Year::of_month(month))?;
    let doc = s.month(district, month)?;
    let facts = doc.facts();
    let heads = doc
        .document()
        .heads()
        .iter()
        .map(|h| h.to_string())
        .collect();
    let others = other_sources(s, &registry, &facts)?;
    let other_facts: Vec<MonthFacts> = others.iter().map(|(f, _)| f.clone()).collect();
    let sources = Sources::new(&registry, &facts, &other_facts)?;
    if !seen(&score_month(&registry, &sources)?.digest) {
        return Ok(None);
    }
    let today = crate::validate::date_of(s.time()).unwrap_or(month.last());
    let reasons = not_done(&registry, &facts, month, today);
    if !reasons.is_empty() && !force {
        return Err(CloseError::NotReady {
            district: district.clone(),
            month,
            reasons,
        });
    }
    let digest = digest_to_seal(&registry, &sources)?;
    let roster = s.roster_heads_through(crdt_schema::Year::of_month(month))?;
    let seal = Seal {
        district: district.clone(),
        month,
        heads,
        digest: digest.0.clone(),
        sources: others
            .into_iter()
            .map(|(f, heads)| (f.district, heads))
            .collect(),
        roster,
        rules: registry.rule_set_for(month).map(|r| r.digest()),
        forced: joined(&reasons),
    };
    let resealed = facts.seal.is_some();
    s.write_month(district, month, |w| w.put_seal(&seal))?;
    Ok(Some((digest, resealed)))
}
