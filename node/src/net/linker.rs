//! The node's month-end link (node.toml's `[link]`): every sealed
//! district-month written to the scoring database by itself, when it is
//! sealed or re-sealed, and its rows marked unsealed when it is amended.
//!
//! It runs on a thread of its own (the database client blocks), so a
//! database that is down or slow never holds up a seal, a save or the sync:
//! it takes the replica's lock only to read the documents' heads and which
//! of them carry a seal, and reads and scores from the store like the CLI.
//! While the database is down it tries again with a doubling wait (1 s to
//! 5 min); each district-month is one transaction, so an attempt cut off
//! leaves nothing half-written and the next one starts over.
//!
//! What it decides is the link crate's (`link::needs_link`, `link::apply`),
//! the very policy `tally link` follows.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use crdt_schema::{DocId, Month};
use serde::{Deserialize, Serialize};

use super::Shared;
use crate::service::Service;

/// What `node status` and the app's 同步 screen show of the link. Fields
/// a newer node adds are read as their defaults from an older one's file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinkStatus {
    /// The database, without its password.
    pub target: String,
    /// Sealed district-months (`D01/2026-10`) as the database holds them.
    pub linked: BTreeMap<String, LinkedMonth>,
    /// Sealed district-months not yet linked as they now stand (the
    /// database was down, or the attempt failed).
    pub waiting: Vec<String>,
    /// The last failure, in the database's words; cleared by a success.
    pub last_error: Option<String>,
    /// When a pass last ended, and last ended with everything linked (Unix seconds).
    pub last_attempt: u64,
    pub last_success: u64,
    /// When the next attempt is due, while something waits.
    pub next_attempt: Option<u64>,
}

/// One district-month as linked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedMonth {
    pub version: i32,
    /// `false` when the month was amended since the seal the rows came from.
    pub sealed: bool,
    pub digest: String,
}

/// The first wait after a failure, and the longest.
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LONGEST_RETRY: Duration = Duration::from_secs(300);
/// Changes arriving together (a sync, an import) are one pass.
const SETTLE: Duration = Duration::from_millis(500);
/// With nothing waiting, a pass anyway this often: it notices rows another
/// system removed, and a database restored from an older backup.
const IDLE_PASS: Duration = Duration::from_secs(600);

/// Starts the link thread; it ends when `wake`'s sender is dropped (the
/// node stopped). A settings error is logged and shown, and nothing linked.
pub(super) fn start(shared: Arc<Shared>, settings: &super::LinkSettings, wake: mpsc::Receiver<()>) {
    let target = match crate::service::link::target(
        &settings.url,
        settings.password_file.as_deref(),
        settings.ca_file.as_deref(),
    ) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!("[link] in node.toml: {e}: nothing is linked");
            shared.set_link(LinkStatus {
                target: "(not configured)".into(),
                last_error: Some(format!("[link] in node.toml: {e}")),
                ..LinkStatus::default()
            });
            return;
        }
    };
    shared.set_link(LinkStatus {
        target: target.describe(),
        ..LinkStatus::default()
    });
    let data = shared.data.clone();
    let spawned = std::thread::Builder::new()
        .name("tally-link".into())
        .spawn(move || run(&shared, &data, &target, &wake));
    if let Err(e) = spawned {
        tracing::error!("the link thread did not start: {e}");
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The heads of one month's documents and the registry: a pass over the
/// month is needed again only when they move.
type MonthState = Vec<(DocId, Vec<String>)>;

/// What the database holds, by (district, month), as last read or written.
type Known = BTreeMap<(String, String), link::LinkedState>;

/// Why a pass did not link everything.
#[derive(Debug, thiserror::Error)]
enum PassError {
    /// The database: down, refusing, or failing a statement. Nothing more
    /// is tried until the next attempt.
    #[error(transparent)]
    Link(#[from] link::LinkError),
    /// A district-month that could not be read or scored; the others were
    /// linked.
    #[error("{0}")]
    Month(String),
    #[error("the replica's lock is poisoned (a thread panicked): restart the node")]
    Replica,
}

fn run(shared: &Shared, data: &Path, target: &link::Target, wake: &mpsc::Receiver<()>) {
    let mut done: BTreeMap<Month, MonthState> = BTreeMap::new();
    let mut known: Known = BTreeMap::new();
    let mut retry = FIRST_RETRY;
    // The first pass at once; then at a change, after a failure's wait, or
    // when idle long enough.
    let mut due = std::time::Instant::now();
    let mut failing = false;
    loop {
        let wait = due.saturating_duration_since(std::time::Instant::now());
        let woke = match wake.recv_timeout(wait) {
            // While failing, a change waits for the attempt that is due (the
            // database is likely still down): the wait the status shows holds.
            Ok(()) if failing => continue,
            Ok(()) => {
                std::thread::sleep(SETTLE);
                while wake.try_recv().is_ok() {}
                true
            }
            Err(mpsc::RecvTimeoutError::Timeout) => false,
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        if !woke && !failing {
            // Idle long enough after a success: look at every sealed month
            // again, not only those that moved.
            done.clear();
        }
        let outcome = pass(shared, data, target, &mut done, &mut known);
        let now = unix_now();
        match outcome {
            Ok(()) => {
                retry = FIRST_RETRY;
                failing = false;
                due = std::time::Instant::now() + IDLE_PASS;
                shared.update_link(|s| {
                    s.last_attempt = now;
                    s.last_success = now;
                    s.last_error = None;
                    s.waiting.clear();
                    s.next_attempt = None;
                });
            }
            Err(e) => {
                tracing::warn!(
                    "linking to the scoring database: {e}; trying again in {}s",
                    retry.as_secs()
                );
                failing = true;
                due = std::time::Instant::now() + retry;
                let next = now + retry.as_secs();
                retry = (retry * 2).min(LONGEST_RETRY);
                shared.update_link(|s| {
                    s.last_attempt = now;
                    s.last_error = Some(e.to_string());
                    s.next_attempt = Some(next);
                });
            }
        }
    }
}

/// Links every sealed district-month whose documents moved since it was
/// last linked. A month is done only when all its districts are.
fn pass(
    shared: &Shared,
    data: &Path,
    target: &link::Target,
    done: &mut BTreeMap<Month, MonthState>,
    known: &mut Known,
) -> Result<(), PassError> {
    // What moved, from the replica in memory: its lock is held for reading
    // heads and one key per month document, never for a score.
    let mut months: BTreeMap<Month, MonthState> = BTreeMap::new();
    let mut sealed: BTreeMap<Month, usize> = BTreeMap::new();
    {
        let r = shared.replica.lock().map_err(|_| PassError::Replica)?;
        let heads = r.core.heads();
        let registry: Vec<String> = heads
            .get(&DocId::Registry)
            .map(|h| h.iter().map(|x| x.to_string()).collect())
            .unwrap_or_default();
        let hex = |h: &[crdt_schema::automerge::ChangeHash]| -> Vec<String> {
            h.iter().map(|x| x.to_string()).collect()
        };
        // A month reads the roster's shards up to its year: a change to one
        // of them moves the month as a change to the registry does.
        let rosters: Vec<(crdt_schema::Year, (DocId, Vec<String>))> = heads
            .iter()
            .filter_map(|(id, h)| match id {
                DocId::Roster { year } => Some((*year, (id.clone(), hex(h)))),
                _ => None,
            })
            .collect();
        for (id, h) in &heads {
            if let DocId::Month { month, .. } = id {
                months
                    .entry(*month)
                    .or_insert_with(|| {
                        let year = crdt_schema::Year::of_month(*month);
                        std::iter::once((DocId::Registry, registry.clone()))
                            .chain(
                                rosters
                                    .iter()
                                    .filter(|(y, _)| *y <= year)
                                    .map(|(_, s)| s.clone()),
                            )
                            .collect()
                    })
                    .push((id.clone(), hex(h)));
                if r.is_sealed(id) {
                    *sealed.entry(*month).or_default() += 1;
                }
            }
        }
    }
    let todo: Vec<(Month, MonthState)> = months
        .into_iter()
        .filter(|(m, state)| sealed.contains_key(m) && done.get(m) != Some(state))
        .collect();
    if todo.is_empty() {
        return Ok(());
    }
    // Scored first, so what waits is known even when the database is down.
    let service = Service::open(data).map_err(|e| PassError::Month(e.to_string()))?;
    let mut scored = Vec::new();
    let mut month_error: Option<String> = None;
    for (month, state) in todo {
        match service.link_months(month, None, true) {
            Ok(read) => scored.push((month, state, read.value)),
            Err(e) => {
                tracing::error!("{month}: not linked: {e}");
                month_error.get_or_insert(format!("{month}: {e}"));
            }
        }
    }
    let at = |r: &crdt_schema::Report| format!("{}/{}", r.district, r.month);
    let key = |r: &crdt_schema::Report| (r.district.to_string(), r.month.to_string());
    let waiting = |known: &Known| -> Vec<String> {
        scored
            .iter()
            .flat_map(|(_, _, all)| all.months.iter())
            .filter(|m| link::needs_link(&m.report, known.get(&key(&m.report))))
            .map(|m| at(&m.report))
            .collect()
    };
    let set_waiting = |w: Vec<String>| {
        shared.update_link(|s| {
            let months: Vec<String> = scored.iter().map(|(m, _, _)| m.to_string()).collect();
            s.waiting
                .retain(|x| !months.iter().any(|m| x.ends_with(m.as_str())));
            s.waiting.extend(w);
            s.waiting.sort();
        });
    };
    set_waiting(waiting(known));
    let mut client = target.connect()?;
    link::ensure_schema(&mut client)?;
    if let Some((_, _, all)) = scored.first() {
        *known = link::linked_months(&mut client, &all.prison)?;
    }
    set_waiting(waiting(known));
    for (month, state, all) in &scored {
        for m in &all.months {
            let r = &m.report;
            let (at, key) = (at(r), key(r));
            if link::needs_link(r, known.get(&key)) {
                let applied = link::apply(&mut client, &m.input(all), false)?;
                let now = match applied {
                    link::Applied::Linked(l) => link::LinkedState {
                        digest: r.digest.0.clone(),
                        sealed: r.seal.as_ref().is_some_and(|s| s.current),
                        seal_change: r.seal.as_ref().map(|s| s.change.clone()),
                        version: version_of(l),
                    },
                    // The rows stay those of the seal they came from.
                    link::Applied::MarkedUnsealed => match known.get(&key) {
                        Some(l) => link::LinkedState {
                            sealed: false,
                            ..l.clone()
                        },
                        None => continue,
                    },
                    link::Applied::NotLinked { .. } => continue,
                };
                tracing::info!("{at}: {}", said(applied));
                known.insert(key.clone(), now);
            }
            shared.update_link(|s| {
                s.waiting.retain(|w| *w != at);
                if let Some(l) = known.get(&key) {
                    s.linked.insert(at.clone(), linked_month(l));
                }
            });
        }
        done.insert(*month, state.clone());
    }
    match month_error {
        Some(e) => Err(PassError::Month(e)),
        None => Ok(()),
    }
}

fn version_of(linked: link::Linked) -> i32 {
    match linked {
        link::Linked::New { .. } => 1,
        link::Linked::Replaced { version, .. } | link::Linked::Unchanged { version } => version,
    }
}

fn linked_month(l: &link::LinkedState) -> LinkedMonth {
    LinkedMonth {
        version: l.version,
        sealed: l.sealed,
        digest: l.digest.clone(),
    }
}

fn said(applied: link::Applied) -> String {
    match applied {
        link::Applied::Linked(link::Linked::New { rows }) => {
            format!("linked {rows} rows (version 1)")
        }
        link::Applied::Linked(link::Linked::Replaced { rows, version }) => format!(
            "re-sealed: {rows} rows linked as version {version}, the previous kept in tally_labor_history"
        ),
        link::Applied::Linked(link::Linked::Unchanged { version }) => {
            format!("already linked (version {version})")
        }
        link::Applied::MarkedUnsealed => {
            "amended since its seal: its linked rows are marked sealed = false".into()
        }
        link::Applied::NotLinked { .. } => "not sealed: not linked".into(),
    }
}
