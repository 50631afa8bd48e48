//! Shared pieces of reading documents into plain typed facts.

use automerge::{Automerge, ChangeHash, ROOT, ReadDoc, Value};
use serde::Serialize;

/// A value read from a document, with whether concurrent writers disagree on it.
///
/// When two officers write different values to the same record concurrently,
/// Automerge keeps both and every replica shows the same winner; `conflict`
/// says that this happened, so the report can flag it instead of hiding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<T> {
    pub value: T,
    pub conflict: bool,
}

impl<T> Entry<T> {
    pub fn new(value: T, conflict: bool) -> Entry<T> {
        Entry { value, conflict }
    }
}

/// A record that could not be read, kept so it is reported rather than dropped silently.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Problem {
    pub key: String,
    pub reason: String,
}

/// Whether the concurrent values of `key` actually differ. Two officers
/// writing the same value concurrently is agreement, not a conflict.
pub(crate) fn values_differ(am: &Automerge, key: &str, heads: Option<&[ChangeHash]>) -> bool {
    let all = match heads {
        Some(h) => am.get_all_at(ROOT, key, h),
        None => am.get_all(ROOT, key),
    };
    let Ok(all) = all else {
        return true;
    };
    let mut values = all.iter().map(|(v, _)| v);
    let Some(first) = values.next() else {
        return false;
    };
    values.any(|v| !same_value(first, v))
}

fn same_value(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::Scalar(a), Value::Scalar(b)) => a.as_ref() == b.as_ref(),
        _ => false,
    }
}
