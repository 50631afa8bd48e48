//! The read path: loading documents and scoring them, in parallel across
//! district-months (each is independent), under the data directory's shared lock.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crdt_schema::{
    DocId, MonthDoc, MonthFacts, RegistryDoc, RegistryFacts, Report, RosterDoc, RosterFacts,
    ScoreError, Sources, Year, score_month,
};

use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{doc}: {source}")]
    Score {
        doc: DocId,
        #[source]
        source: ScoreError,
    },
}

/// The registry with any problems found loading it.
pub fn registry(store: &Store) -> Result<(RegistryDoc, Vec<String>), ReadError> {
    let loaded = store
        .load(&DocId::Registry)?
        .typed(RegistryDoc::from_document)?;
    Ok((loaded.doc, loaded.issues))
}

/// The registry with the roster's shards laid over it
/// ([`RegistryFacts::with_roster`]), each shard loaded and dropped in turn
/// (only its facts kept): all of them, or those a month of `through`'s year
/// reads. With any problems found loading them.
pub fn registry_facts(
    store: &Store,
    through: Option<Year>,
) -> Result<(RegistryFacts, Vec<String>), ReadError> {
    let (registry, mut issues) = registry(store)?;
    let shards = roster_facts(store, through, &mut issues)?;
    Ok((registry.facts().with_roster(&shards), issues))
}

/// The facts of every roster shard stored (up to `through`), in year order.
pub fn roster_facts(
    store: &Store,
    through: Option<Year>,
    issues: &mut Vec<String>,
) -> Result<Vec<RosterFacts>, ReadError> {
    let mut out = Vec::new();
    for id in store.roster_ids()? {
        let DocId::Roster { year } = id else { continue };
        if through.is_some_and(|t| year > t) {
            continue;
        }
        let loaded = store.load(&id)?.typed(RosterDoc::from_document)?;
        issues.extend(loaded.issues);
        out.push(loaded.doc.facts());
    }
    Ok(out)
}

/// Runs `f` over `items` on up to `available_parallelism` threads, keeping
/// the results in input order (so output never depends on scheduling).
pub fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(items.len())
        .max(1);
    if workers == 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    out.lock().expect("no worker panics while holding the lock")[i] = Some(r);
                }
            });
        }
    });
    out.into_inner()
        .expect("workers finished")
        .into_iter()
        .map(|r| r.expect("every item was processed"))
        .collect()
}

/// [`parallel_map`] for work that takes its items by value.
pub fn parallel_into<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let cells: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
    parallel_map(&cells, |cell| {
        let item = cell
            .lock()
            .expect("each cell is taken once")
            .take()
            .expect("each cell is taken once");
        f(item)
    })
}

/// A scored district-month with the problems found loading it.
pub struct Scored {
    pub report: Report,
    pub issues: Vec<String>,
}

/// Loads and scores each district-month document.
pub fn score(
    store: &Store,
    registry: &RegistryFacts,
    ids: &[DocId],
) -> Vec<Result<Scored, ReadError>> {
    // The reports of a month read each other's documents (transfers): every
    // document is loaded and read once, on every core, then shared.
    let mut needed: BTreeSet<DocId> = ids.iter().cloned().collect();
    for id in ids {
        if let DocId::Month { district, month } = id {
            needed.extend(
                registry
                    .sources_of(district, *month)
                    .into_iter()
                    .map(|d| DocId::month(d, *month)),
            );
        }
    }
    let needed: Vec<DocId> = needed.into_iter().collect();
    // Only the facts are kept (a month's documents whole would take
    // hundreds of MB); a reader whose seal recorded other heads of a source
    // reads that source again, from its document.
    let read: BTreeMap<DocId, Result<Read, ReadError>> = needed
        .iter()
        .cloned()
        .zip(parallel_map(&needed, |id| {
            let loaded = store.load(id)?.typed(MonthDoc::from_document)?;
            Ok(Read {
                facts: loaded.doc.facts(),
                before_seals: loaded.doc.heads_before_seals(),
                issues: loaded.issues,
            })
        }))
        .collect();
    parallel_map(ids, |id| {
        let Some(Ok(own)) = read.get(id) else {
            // Loaded again to say its error (errors are not shared).
            return score_one(store, registry, id);
        };
        let facts = &own.facts;
        let mut issues = own.issues.clone();
        let mut others = Vec::new();
        for d in registry.sources_of(&facts.district, facts.month) {
            let other = DocId::month(d, facts.month);
            let Some(Ok(r)) = read.get(&other) else {
                return score_one(store, registry, id);
            };
            issues.extend(r.issues.iter().cloned());
            let same: Vec<&[_]> = r.before_seals.iter().map(Vec::as_slice).collect();
            match r.facts.as_read_by(&same, facts) {
                Some(f) => others.push(f),
                None => {
                    let loaded = store.load(&other)?.typed(MonthDoc::from_document)?;
                    others.push(Cow::Owned(
                        loaded.doc.facts_for_read(r.facts.clone(), facts),
                    ));
                }
            }
        }
        let report = Sources::new(registry, facts, others.iter().map(|f| &**f))
            .and_then(|sources| score_month(registry, &sources))
            .map_err(|source| ReadError::Score {
                doc: id.clone(),
                source,
            })?;
        Ok(Scored { report, issues })
    })
}

/// A document's facts as read for [`score`].
struct Read {
    facts: MonthFacts,
    /// [`MonthDoc::heads_before_seals`]: the current heads first.
    before_seals: Vec<Vec<crdt_schema::automerge::ChangeHash>>,
    issues: Vec<String>,
}

/// One district-month scored on its own: its document and those of its
/// sources loaded for it alone.
fn score_one(store: &Store, registry: &RegistryFacts, id: &DocId) -> Result<Scored, ReadError> {
    let loaded = store.load(id)?.typed(MonthDoc::from_document)?;
    let facts = loaded.doc.facts();
    let (others, mut issues) = other_sources(store, registry, &facts)?;
    let report = Sources::new(registry, &facts, &others)
        .and_then(|sources| score_month(registry, &sources))
        .map_err(|source| ReadError::Score {
            doc: id.clone(),
            source,
        })?;
    issues.splice(0..0, loaded.issues);
    Ok(Scored { report, issues })
}

/// The other districts' month documents the report of `own` reads (each
/// day's records are read from the district holding the inmate that day:
/// RULES.md, "Districts and transfers"), as that report reads them
/// ([`MonthDoc::facts_for`]), with the problems met loading them.
pub fn other_sources(
    store: &Store,
    registry: &RegistryFacts,
    own: &MonthFacts,
) -> Result<(Vec<MonthFacts>, Vec<String>), ReadError> {
    let mut facts = Vec::new();
    let mut issues = Vec::new();
    for d in registry.sources_of(&own.district, own.month) {
        let loaded = store
            .load(&DocId::month(d, own.month))?
            .typed(MonthDoc::from_document)?;
        issues.extend(loaded.issues);
        facts.push(loaded.doc.facts_for(own));
    }
    Ok((facts, issues))
}
