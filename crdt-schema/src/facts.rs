//! Shared pieces of reading documents into plain typed facts.

use automerge::{Automerge, ROOT, ReadDoc, Value, ValueRef};
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

pub(crate) fn read_str<'a>(value: &'a ValueRef<'_>) -> Result<&'a str, String> {
    match value {
        ValueRef::Scalar(automerge::ScalarValueRef::Str(s)) => Ok(s.as_ref()),
        other => Err(format!("expected a string, found {other:?}")),
    }
}

pub(crate) fn read_int(value: &ValueRef<'_>) -> Result<i64, String> {
    match value {
        ValueRef::Scalar(automerge::ScalarValueRef::Int(i)) => Ok(*i),
        other => Err(format!("expected an integer, found {other:?}")),
    }
}

/// Whether the concurrent values of `key` actually differ. Two officers
/// writing the same value concurrently is agreement, not a conflict.
pub(crate) fn values_differ(am: &Automerge, key: &str) -> bool {
    let Ok(all) = am.get_all(ROOT, key) else {
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
