//! The chief's pick in a conflict, written back as a new signed change.

use crdt_schema::{Adjustment, Attendance, Cp, DistrictId, Month, MonthKey};

use super::ServiceError;
use crate::session::WriteSession;

fn bad(key: &str, reason: impl Into<String>) -> ServiceError {
    ServiceError::BadValue {
        key: key.to_string(),
        reason: reason.into(),
    }
}

/// Writes `value` (as the audit trail shows it) back to the record at
/// `key`, or deletes the record when the chief keeps a deletion. Writing it
/// again supersedes every concurrent value.
pub(super) fn resolve(
    s: &mut WriteSession<'_>,
    district: &DistrictId,
    month: Month,
    key: &str,
    value: Option<&str>,
) -> Result<(), ServiceError> {
    let k = MonthKey::parse(key, month).map_err(|e| bad(key, e.to_string()))?;
    let date = |day: u8| {
        month
            .day(day)
            .ok_or_else(|| bad(key, format!("day {day} not in {month}")))
    };
    match (k, value) {
        (MonthKey::Count(inmate, day, procedure), Some(value)) => {
            let q: u64 = value
                .parse()
                .map_err(|_| bad(key, format!("`{value}` is not a count")))?;
            let d = date(day)?;
            s.write_month(district, month, |w| w.put_count(&inmate, d, &procedure, q))?;
        }
        (MonthKey::Count(inmate, day, procedure), None) => {
            let d = date(day)?;
            s.write_month(district, month, |w| w.delete_count(&inmate, d, &procedure))?;
        }
        (MonthKey::Attendance(inmate, day), Some(value)) => {
            let a = Attendance::decode(value).map_err(|e| bad(key, format!("`{value}`: {e}")))?;
            let d = date(day)?;
            s.write_month(district, month, |w| w.put_attendance(&inmate, d, &a))?;
        }
        (MonthKey::Attendance(inmate, day), None) => {
            let d = date(day)?;
            s.write_month(district, month, |w| w.delete_attendance(&inmate, d))?;
        }
        (MonthKey::Adjustment(inmate, id), Some(value)) => {
            let a: Adjustment =
                serde_json::from_str(value).map_err(|e| bad(key, format!("`{value}`: {e}")))?;
            // The record's id is its content's: a value that does not hash
            // to it is not this record's.
            if crdt_schema::adjustment_id(&inmate, &a) != id {
                return Err(bad(key, format!("`{value}` is not this adjustment")));
            }
            s.write_month(district, month, |w| w.put_adjustment(&inmate, &a))?;
        }
        (MonthKey::Adjustment(inmate, id), None) => {
            s.write_month(district, month, |w| w.delete_adjustment(&inmate, &id))?;
        }
        (MonthKey::Approval(inmate, target), Some(value)) => {
            let cp: i64 = value
                .parse()
                .map_err(|_| bad(key, format!("`{value}` is not an amount")))?;
            s.write_month(district, month, |w| w.put_approval(&inmate, target, Cp(cp)))?;
        }
        (MonthKey::GroupApproval(inmate, target), Some(value)) => {
            let cp: i64 = value
                .parse()
                .map_err(|_| bad(key, format!("`{value}` is not an amount")))?;
            s.write_month(district, month, |w| {
                w.put_group_approval(&inmate, target, Cp(cp))
            })?;
        }
        (_, _) => {
            return Err(ServiceError::NotResolvable {
                key: key.to_string(),
            });
        }
    }
    Ok(())
}
