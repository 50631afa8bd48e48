//! Merging a bundle into this replica (`tally merge`): the sneakernet form of
//! sync. Every change passes the same validation as a local write or a peer's;
//! accepted ones are stored, refused and pending ones quarantined with their
//! reason — never applied, never lost.

use std::collections::BTreeMap;

use crdt_schema::DocId;
use serde::Serialize;

use crate::bundle::Bundle;
use crate::store::{Store, StoreError};
use crate::validate::{Admission, Trust, Validator};

#[derive(Debug, Default, Serialize)]
pub struct MergeReport {
    /// Changes newly stored, per document.
    pub accepted: BTreeMap<String, usize>,
    /// Changes this replica already had.
    pub already: usize,
    /// Changes quarantined: document, change hash, reason.
    pub quarantined: Vec<(String, String, String)>,
}

fn record(
    report: &mut MergeReport,
    store: &Store,
    doc: &DocId,
    a: &Admission,
) -> Result<(), StoreError> {
    report.already += a.already;
    if !a.accepted.is_empty() {
        *report.accepted.entry(doc.to_string()).or_default() += a.accepted.len();
    }
    for (sc, r) in &a.refused {
        let reason = r.to_string();
        store.quarantine(doc, sc, &reason)?;
        report
            .quarantined
            .push((doc.to_string(), sc.hash().to_string(), reason));
    }
    for (sc, p) in &a.pending {
        let reason = format!("pending: {p}");
        store.quarantine(doc, sc, &reason)?;
        report
            .quarantined
            .push((doc.to_string(), sc.hash().to_string(), reason));
    }
    Ok(())
}

/// Merges `bundle` into `store`: the registry first (its trust decides the
/// rest), then each month document.
pub fn merge(store: &Store, bundle: Bundle) -> Result<MergeReport, StoreError> {
    let _lock = store.lock_exclusive()?;
    let authority = store.authority()?;
    let mut report = MergeReport::default();

    let mut registry = store.load(&DocId::Registry)?;
    // Registry changes carry trust: judge them one at a time, each against
    // the trust its predecessors established.
    let mut admitted = Admission::default();
    for sc in bundle.registry {
        let trust = Trust::from_registry(authority, registry.doc.automerge());
        let mut a = Validator::new(&trust, registry.doc.automerge()).admit(
            &DocId::Registry,
            registry.doc.automerge(),
            vec![sc],
        );
        registry
            .doc
            .apply_changes(a.accepted.iter().map(|c| c.change.change.clone()).collect())
            .map_err(|source| StoreError::Schema {
                doc: DocId::Registry,
                source: Box::new(source),
            })?;
        admitted.already += a.already;
        admitted.accepted.append(&mut a.accepted);
        admitted.refused.append(&mut a.refused);
        admitted.pending.append(&mut a.pending);
    }
    store.append(&mut registry, &admitted.signed())?;
    store.maybe_compact(&mut registry)?;
    record(&mut report, store, &DocId::Registry, &admitted)?;

    let trust = Trust::from_registry(authority, registry.doc.automerge());
    for (doc, changes) in bundle.months {
        let mut loaded = store.load(&doc)?;
        let a = Validator::new(&trust, registry.doc.automerge()).admit(
            &doc,
            loaded.doc.automerge(),
            changes,
        );
        loaded
            .doc
            .apply_changes(a.accepted.iter().map(|c| c.change.change.clone()).collect())
            .map_err(|source| StoreError::Schema {
                doc: doc.clone(),
                source: Box::new(source),
            })?;
        store.append(&mut loaded, &a.signed())?;
        store.maybe_compact(&mut loaded)?;
        record(&mut report, store, &doc, &a)?;
    }
    Ok(report)
}
