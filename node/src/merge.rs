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
    #[error(
        "the bundle was altered after its exporter signed it ({0}); nothing merged (ask the exporter for the file again, and tell the procuratorate)"
    )]
    Altered(String),
    #[error(
        "the bundle's header names the prison `{header}`, its signed registry `{registry}`: the header was edited; nothing merged"
    )]
    EditedHeader { header: String, registry: String },
}

/// Merges `bundle` into the replica of `store`: the registry first (its
/// trust decides the rest), then each month document. Refused whole: a
/// bundle none of whose certificates this replica's authority signed (its
/// every change would only sit in quarantine, "pending", for ever), one
/// whose header names another prison than its signed registry, and one
/// whose exporter's statement no longer binds what it carries — altered on
/// the way, it is merged nowhere. Otherwise each change is judged as a
/// peer's is: what verifies is stored, the rest kept in quarantine.
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
        // A header naming another prison than the bundle's own signed
        // registry was edited on the way.
        if let Some(name) = crdt_schema::Document::from_automerge(DocId::Registry, registry)
            .and_then(crdt_schema::RegistryDoc::from_document)
            .ok()
            .and_then(|r| r.facts().prison)
            && name != bundle.header.prison
        {
            return Err(MergeError::EditedHeader {
                header: bundle.header.prison.clone(),
                registry: name,
            });
        }
    }
    // A statement that no longer binds what the bundle carries: the file
    // was altered after it was signed (a bundle without one is merged, as
    // older tallies exported them; `tally verify` says what that means).
    if let Some(st) = &bundle.statement {
        st.verifies().map_err(MergeError::Altered)?;
        if st.statement.content != hex::encode(bundle.content_digest) {
            return Err(MergeError::Altered(
                "records were added, removed or changed after the statement".into(),
            ));
        }
        if st.statement.documents != crate::bundle::carried(&bundle.registry, &bundle.months) {
            return Err(MergeError::Altered(
                "the statement names other documents, heads or change counts than the bundle carries"
                    .into(),
            ));
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
        for (doc, hash, reason) in a.quarantined {
            report
                .quarantined
                .push((doc.to_string(), hash.to_string(), reason.to_string()));
        }
        report.pending = a.pending;
    }
    Ok(report)
}
