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

/// Why a bundle is not merged at all.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error(transparent)]
    Replica(#[from] ReplicaError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(
        "the bundle is from another prison authority ({}…, the exporter's, says its header): none of its \
         certificates is signed by this replica's authority {}…; nothing merged",
        bundle.chars().take(16).collect::<String>(),
        ours.chars().take(16).collect::<String>()
    )]
    ForeignAuthority { bundle: String, ours: String },
}

/// Merges `bundle` into the replica of `store`: the registry first (its
/// trust decides the rest), then each month document. A bundle none of
/// whose certificates this replica's authority signed is refused whole
/// (its every change would only sit in quarantine, "pending", for ever).
pub fn merge(store: &Store, bundle: Bundle) -> Result<MergeReport, MergeError> {
    let authority = store.authority()?;
    if !bundle.registry.is_empty() {
        let mut registry = crdt_schema::automerge::Automerge::new();
        // Only to read the certificates it carries: nothing is stored from it.
        let _ = registry.apply_changes(bundle.registry.iter().map(|c| c.change.clone()));
        let trust = crate::validate::Trust::from_registry(authority, &registry);
        if trust.officers().next().is_none() {
            return Err(MergeError::ForeignAuthority {
                bundle: bundle.header.authority.clone(),
                ours: authority.to_string(),
            });
        }
    }
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
                .push((doc.to_string(), hash.to_string(), reason.to_string()));
        }
        report.pending = a.pending;
    }
    Ok(report)
}
