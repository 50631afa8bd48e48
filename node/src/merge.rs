//! Merging a bundle into this replica (`tally merge`): the sneakernet form of
//! sync. Every change passes the same validation as a local write or a peer's;
//! accepted ones are stored, refused ones quarantined with their reason and
//! ones that cannot be judged yet kept pending — never applied, never lost.

use std::collections::BTreeMap;

use crdt_schema::DocId;
use serde::Serialize;

use crate::bundle::Bundle;
use crate::replica::{Replica, ReplicaError};
use crate::store::Store;
use crate::sync::Incoming;

#[derive(Debug, Default, Serialize)]
pub struct MergeReport {
    /// Changes newly stored, per document.
    pub accepted: BTreeMap<String, usize>,
    /// Changes this replica already had.
    pub already: usize,
    /// Changes refused: document, change hash, reason.
    pub quarantined: Vec<(String, String, String)>,
    /// Changes waiting for what they depend on (kept, retried as it arrives).
    pub pending: usize,
}

/// Merges `bundle` into the replica of `store`: the registry first (its
/// trust decides the rest), then each month document.
pub fn merge(store: &Store, bundle: Bundle) -> Result<MergeReport, ReplicaError> {
    let mut replica = Replica::open(store.clone())?;
    let mut report = MergeReport::default();
    let docs = std::iter::once((DocId::Registry, bundle.registry)).chain(bundle.months);
    for (doc, changes) in docs {
        let a = replica.admit(Incoming {
            doc: doc.clone(),
            changes,
        })?;
        report.already += a.already;
        if a.accepted > 0 {
            *report.accepted.entry(doc.to_string()).or_default() += a.accepted;
        }
        for (hash, reason) in a.quarantined {
            report
                .quarantined
                .push((doc.to_string(), hash.to_string(), reason));
        }
        report.pending = a.pending;
    }
    Ok(report)
}
