//! Closing a month: the chief's approvals of pending bonuses and deductions,
//! and the seal. Shared by the CLI (`tally approve`, `tally seal`) and the
//! app, so both write exactly the same records.

use crdt_schema::scoring::EntryStatus;
use crdt_schema::{
    ApprovalTarget, Cp, DistrictId, InmateNo, Month, MonthFacts, RegistryFacts, ReportDigest,
    ScoreError, Seal, digest_to_seal, explain_inmate, score_month,
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

/// What of `inmate`'s month awaits the chief's approval (the over-fulfilment
/// bonus, pending adjustments), each at its current amount, in a fixed order.
pub fn pending_approvals(
    registry: &RegistryFacts,
    facts: &MonthFacts,
    district: &DistrictId,
    month: Month,
    inmate: &InmateNo,
) -> Result<Vec<Approved>, CloseError> {
    let Some(e) = explain_inmate(registry, facts, inmate)? else {
        return Err(CloseError::UnknownInmate {
            inmate: inmate.clone(),
            district: district.clone(),
            month,
        });
    };
    let mut approvals = Vec::new();
    if e.overfulfil_status == Some(EntryStatus::Pending) {
        approvals.push(Approved {
            target: ApprovalTarget::OverfulfilmentBonus,
            points: e.result.overfulfil_bonus_cp,
            what: "超额加分".to_string(),
        });
    }
    for a in &e.adjustments {
        if a.status == EntryStatus::Pending {
            approvals.push(Approved {
                target: ApprovalTarget::Adjustment(a.id.clone()),
                points: a.points_cp,
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
    let registry = s.registry().facts();
    let facts = s.month(district, month)?.facts();
    let approvals = pending_approvals(&registry, &facts, district, month, inmate)?;
    if !seen(&approvals) {
        return Ok(None);
    }
    if !approvals.is_empty() {
        s.write_month(district, month, |w| {
            for a in &approvals {
                w.put_approval(inmate, a.target.clone(), a.points)?;
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
    let sealed = seal_month_if(s, district, month, |_| true)?;
    Ok(sealed.expect("an accepting check always seals"))
}

/// [`seal_month`], only when `seen` accepts the month's report digest as it
/// is now: the app seals the report the chief was shown, not one changed
/// since. Returns `None`, writing nothing, when `seen` refuses.
pub fn seal_month_if(
    s: &mut WriteSession<'_>,
    district: &DistrictId,
    month: Month,
    seen: impl FnOnce(&ReportDigest) -> bool,
) -> Result<Option<(ReportDigest, bool)>, CloseError> {
    check_district(s, district)?;
    let registry = s.registry().facts();
    let doc = s.month(district, month)?;
    let facts = doc.facts();
    if !seen(&score_month(&registry, &facts)?.digest) {
        return Ok(None);
    }
    let digest = digest_to_seal(&registry, &facts)?;
    let seal = Seal {
        district: district.clone(),
        month,
        heads: doc
            .document()
            .heads()
            .iter()
            .map(|h| h.to_string())
            .collect(),
        digest: digest.0.clone(),
    };
    let resealed = facts.seal.is_some();
    s.write_month(district, month, |w| w.put_seal(&seal))?;
    Ok(Some((digest, resealed)))
}
