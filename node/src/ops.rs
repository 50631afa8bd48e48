//! Typed write operations, shared by CSV import and the demo prison: a
//! [`Plan`] is validated data ready to be written, applied in one change per
//! document through a [`WriteSession`].

use std::collections::BTreeMap;

use crdt_schema::{
    Adjustment, ApprovalTarget, Attendance, Cp, Date, DistrictId, Inmate, InmateNo, Month,
    ProcedureId, ProcedureVersion, ProductId, RuleSet,
};

use crate::session::{WriteError, WriteSession};

/// A write to the registry.
#[derive(Debug, Clone, PartialEq)]
pub enum RegistryOp {
    Prison(String),
    District(DistrictId, String),
    Inmate(InmateNo, Inmate),
    /// From the date, the inmate is in the district (调监区).
    Transfer(InmateNo, Date, DistrictId),
    Product(ProductId, String),
    EnsureProduct(ProductId),
    Procedure(ProcedureId, Date, ProcedureVersion),
    RuleSet(RuleSet),
}

/// A write to a district-month document.
#[derive(Debug, Clone, PartialEq)]
pub enum MonthOp {
    Attendance(InmateNo, Date, Attendance),
    Assignment(InmateNo, Date, ProcedureId),
    Count(InmateNo, Date, ProcedureId, u64),
    TeamCount(Date, ProcedureId, u64),
    Adjustment(InmateNo, Adjustment),
    Approval(InmateNo, ApprovalTarget, Cp),
}

/// Everything a valid file will write, grouped by document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub rows: usize,
    pub registry: Vec<RegistryOp>,
    pub months: BTreeMap<(DistrictId, Month), Vec<MonthOp>>,
}

/// Makes the writes of `plan` in `session`: one change for the
/// registry, one per roster shard (inmates and transfers go to the shard of
/// their dates: [`WriteSession::put_roster`]), one per district-month.
/// Returns how many records changed.
pub fn apply(session: &mut WriteSession<'_>, plan: &Plan) -> Result<usize, WriteError> {
    let mut changed = 0;
    let (roster, registry): (Vec<&RegistryOp>, Vec<&RegistryOp>) = plan
        .registry
        .iter()
        .partition(|op| matches!(op, RegistryOp::Inmate(..) | RegistryOp::Transfer(..)));
    if !registry.is_empty() {
        changed += session.write_registry(|w| {
            let mut n = 0;
            for op in &registry {
                let wrote = match op {
                    RegistryOp::Prison(name) => w.set_prison(name)?,
                    RegistryOp::District(d, name) => w.put_district(d, name)?,
                    RegistryOp::Product(p, name) => w.put_product(p, name)?,
                    RegistryOp::EnsureProduct(p) => w.ensure_product(p)?,
                    RegistryOp::Procedure(p, from, v) => w.put_procedure_version(p, *from, v)?,
                    RegistryOp::RuleSet(r) => w.put_rule_set(r)?,
                    RegistryOp::Inmate(..) | RegistryOp::Transfer(..) => false,
                };
                n += usize::from(wrote);
            }
            Ok(n)
        })?;
    }
    let mut inmates = Vec::new();
    let mut transfers = Vec::new();
    for op in roster {
        match op {
            RegistryOp::Inmate(no, i) => inmates.push((no.clone(), i.clone())),
            RegistryOp::Transfer(no, d, to) => transfers.push((no.clone(), *d, to.clone())),
            _ => {}
        }
    }
    changed += session.put_roster(&inmates, &transfers)?;
    for ((district, month), ops) in &plan.months {
        changed += session.write_month(district, *month, |w| {
            let mut n = 0;
            for op in ops {
                let wrote = match op {
                    MonthOp::Attendance(no, d, a) => w.put_attendance(no, *d, a)?,
                    MonthOp::Assignment(no, d, p) => w.put_assignment(no, *d, p)?,
                    MonthOp::Count(no, d, p, q) => w.put_count(no, *d, p, *q)?,
                    MonthOp::TeamCount(d, p, q) => w.put_team_count(*d, p, *q)?,
                    MonthOp::Adjustment(no, a) => w.put_adjustment(no, a)?.1,
                    MonthOp::Approval(no, t, cp) => w.put_approval(no, t.clone(), *cp)?,
                };
                n += usize::from(wrote);
            }
            Ok(n)
        })?;
    }
    Ok(changed)
}

/// Whether `no` may be recorded as moving to `to` on `date`: the inmate and
/// the district are known, the inmate is in custody that day, is not
/// already in `to` the day before (unless this very transfer is recorded),
/// and no other transfer of that date is replaced unless `replace`.
/// The reason is said in words for the CLI's row errors and the app alike.
pub fn check_transfer(
    registry: &crdt_schema::RegistryFacts,
    no: &InmateNo,
    date: Date,
    to: &DistrictId,
    replace: bool,
) -> Result<(), String> {
    let Some(inmate) = registry.inmates.get(no) else {
        return Err(format!("unknown inmate {no} (import inmates.csv first)"));
    };
    if !registry.districts.contains_key(to) {
        return Err(format!(
            "unknown district {to} (import districts.csv first)"
        ));
    }
    let inmate = &inmate.value;
    if !inmate.in_custody(date) {
        let released = inmate
            .released
            .map(|r| r.to_string())
            .unwrap_or_else(|| "—".into());
        return Err(format!(
            "{date} is outside the inmate's custody (admitted {}, released {released})",
            inmate.admitted
        ));
    }
    let existing = registry.transfers.get(no).and_then(|t| t.get(&date));
    let recorded = existing.is_some_and(|e| e.value == *to);
    if let Some(e) = existing
        && !recorded
        && !replace
    {
        return Err(format!(
            "a transfer of inmate {no} to {} from {date} is recorded: replacing it by {to} needs --force",
            e.value
        ));
    }
    let before = date
        .ordinal()
        .checked_sub(1)
        .and_then(Date::from_ordinal)
        .and_then(|d| registry.district_on(no, d));
    if !recorded && before == Some(to) {
        return Err(format!(
            "inmate {no} is already in {to} the day before {date}: not a transfer"
        ));
    }
    Ok(())
}
