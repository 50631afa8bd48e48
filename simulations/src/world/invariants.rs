//! The invariants of a run, one checker each. After every heal (the
//! network settled without faults) each of the protocol's checkers looks at
//! the honest nodes; the first that does not hold ends the run with a
//! [`super::Failure`] naming it, the node and the change involved, and the
//! events about them. Two more are checked as a node restarts from its
//! simulated disk ([`crash_and_reopen`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use crdt_schema::automerge::ChangeHash;
use crdt_schema::{DocId, MonthDoc, RegistryDoc, score_month};
use node::replica::Replica;
use node::store::{Disk, Store, frame};
use node::validate::{Refusal, SignedChange};
use rand::RngExt;

use super::protocol::{TallyNode, node_root};
use super::{Event, Protocol, Tally, World};
use crate::disk::Damage;

/// What a checker found: the detail, and whom and what it is about (the
/// failure's trace is the events about them).
pub struct Violation {
    pub detail: String,
    pub node: Option<usize>,
    pub change: Option<ChangeHash>,
}

/// One invariant over the honest nodes of a settled run.
pub trait Invariant<P: Protocol>: Sync {
    fn name(&self) -> &'static str;
    fn check(&self, w: &World<P>) -> Option<Violation>;
}

/// tally's invariants, in the order they are checked: an invalid change
/// applied is the cause when heads differ because of it, so it goes first.
pub static TALLY: [&dyn Invariant<Tally>; 8] = [
    &NoInvalidApplied,
    &NoForgedCheckpoint,
    &EqualHeads,
    &EqualDigests,
    &EqualCheckpoints,
    &NoAcknowledgedLost,
    &SameRefusal,
    &BytesWithinBound,
];

/// No checkpoint forged in another device's name is kept anywhere.
pub struct NoForgedCheckpoint;

impl Invariant<Tally> for NoForgedCheckpoint {
    fn name(&self) -> &'static str {
        "no forged checkpoint kept"
    }
    fn check(&self, w: &World<Tally>) -> Option<Violation> {
        for n in w.honest() {
            let core = &w.nodes[n].replica.core;
            if let Some(cp) = core
                .checkpoints()
                .iter()
                .find(|cp| w.forged_checkpoints.contains(&cp.signature))
            {
                return Some(Violation {
                    detail: format!(
                        "node {n} keeps a checkpoint of {} forged in device {}'s name",
                        cp.checkpoint.doc,
                        cp.checkpoint.device[..6]
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect::<String>()
                    ),
                    node: Some(n),
                    change: None,
                });
            }
        }
        None
    }
}

/// Every honest node holds the same checkpoints: each device's latest of
/// each document, relayed to nodes that never met it.
pub struct EqualCheckpoints;

impl Invariant<Tally> for EqualCheckpoints {
    fn name(&self) -> &'static str {
        "equal checkpoints"
    }
    fn check(&self, w: &World<Tally>) -> Option<Violation> {
        let held = |n: usize| -> BTreeSet<([u8; 32], String, Vec<u8>)> {
            w.nodes[n]
                .replica
                .core
                .checkpoints()
                .iter()
                .map(|cp| {
                    (
                        cp.checkpoint.device,
                        cp.checkpoint.doc.clone(),
                        cp.signature.clone(),
                    )
                })
                .collect()
        };
        let honest = w.honest();
        let first = honest[0];
        let reference = held(first);
        for &n in &honest[1..] {
            let other = held(n);
            if other != reference {
                let only_first = reference.difference(&other).count();
                let only_n = other.difference(&reference).count();
                // The first document they differ on, as each holds it.
                let example = reference
                    .difference(&other)
                    .next()
                    .map(|(device, doc, _)| {
                        let of = |m: usize| {
                            w.nodes[m]
                                .replica
                                .core
                                .checkpoints()
                                .iter()
                                .find(|cp| {
                                    cp.checkpoint.device == *device && cp.checkpoint.doc == *doc
                                })
                                .map(|cp| {
                                    format!(
                                        "{} changes at {}",
                                        cp.checkpoint.changes, cp.checkpoint.at
                                    )
                                })
                                .unwrap_or_else(|| "none".into())
                        };
                        format!(
                            "; of {doc}, node {first} holds {}, node {n} {}",
                            of(first),
                            of(n)
                        )
                    })
                    .unwrap_or_default();
                return Some(Violation {
                    detail: format!(
                        "node {n} and node {first} hold different checkpoints: {only_first} only at {first}, {only_n} only at {n} (of {} and {}){example}",
                        reference.len(),
                        other.len()
                    ),
                    node: Some(n),
                    change: None,
                });
            }
        }
        None
    }
}

/// No change that must never be applied (a forgery, an out-of-district
/// write, a replay, a flood, a revoked officer's write after the
/// revocation) is in any honest node's document.
pub struct NoInvalidApplied;

impl Invariant<Tally> for NoInvalidApplied {
    fn name(&self) -> &'static str {
        "no invalid change applied"
    }
    fn check(&self, w: &World<Tally>) -> Option<Violation> {
        for (doc, h) in &w.invalid {
            for n in w.honest() {
                if let Some(v) = NoInvalidApplied::violation(w, n, doc, h) {
                    return Some(v);
                }
            }
        }
        None
    }
}

impl NoInvalidApplied {
    /// The check on one node alone: what the simulation asks before the
    /// node puts documents to rest, which drops what memory holds beyond
    /// storage (the daemon never holds any; a node with a bug may).
    pub(crate) fn at(w: &World<Tally>, n: usize) -> Option<Violation> {
        w.invalid
            .iter()
            .find_map(|(doc, h)| NoInvalidApplied::violation(w, n, doc, h))
    }

    fn violation(w: &World<Tally>, n: usize, doc: &DocId, h: &ChangeHash) -> Option<Violation> {
        if !w.nodes[n].applied(doc, h) {
            return None;
        }
        let short = &h.to_string()[..12];
        let arrival = w
            .trace
            .arrival(n, h)
            .map(|(seq, from)| format!(", taken from message {seq} from {from}"))
            .unwrap_or_default();
        Some(Violation {
            detail: format!("node {n} applied invalid change {short} in {doc}{arrival}"),
            node: Some(n),
            change: Some(*h),
        })
    }
}

/// Every honest node holds the same heads of every document.
pub struct EqualHeads;

impl<P: Protocol> Invariant<P> for EqualHeads {
    fn name(&self) -> &'static str {
        "equal heads"
    }
    fn check(&self, w: &World<P>) -> Option<Violation> {
        let honest = w.honest();
        let first = honest[0];
        let heads = P::heads(&w.nodes[first]);
        for &n in &honest[1..] {
            let h = P::heads(&w.nodes[n]);
            if h != heads {
                let doc = heads
                    .keys()
                    .chain(h.keys())
                    .find(|d| heads.get(*d) != h.get(*d))
                    .cloned()
                    .expect("a difference");
                return Some(Violation {
                    detail: P::difference(w, first, n, &doc),
                    node: Some(n),
                    change: None,
                });
            }
        }
        None
    }
}

/// How two tally nodes' copies of `doc` differ: the changes one holds and
/// the other lacks, and whether the other holds them pending (and on what)
/// or refused them.
pub(crate) fn tally_difference(w: &World<Tally>, a: usize, b: usize, doc: &DocId) -> String {
    let hashes = |n: usize| -> BTreeSet<ChangeHash> {
        w.nodes[n]
            .replica
            .core
            .document(doc)
            .map(|d| {
                d.automerge()
                    .get_changes(&[])
                    .iter()
                    .map(|c| c.hash())
                    .collect()
            })
            .unwrap_or_default()
    };
    let (ha, hb) = (hashes(a), hashes(b));
    let lacks = |n: usize, missing: Vec<&ChangeHash>| -> String {
        missing
            .iter()
            .take(5)
            .map(|h| {
                let core = &w.nodes[n].replica.core;
                let at = match core.pending_of(doc).and_then(|p| p.get(*h)) {
                    Some(waiting) => {
                        let deps: Vec<String> = waiting
                            .change
                            .change
                            .deps()
                            .iter()
                            .map(|d| {
                                let applied = w.nodes[n].applied(doc, d);
                                let signed = w.nodes[n].holds(doc, d);
                                let pending = core.is_pending(doc, d);
                                format!(
                                    "{}:{}{}{}",
                                    &d.to_string()[..8],
                                    if applied { "A" } else { "" },
                                    if signed { "S" } else { "" },
                                    if pending { "P" } else { "" }
                                )
                            })
                            .collect();
                        format!(
                            " (pending there, on {:?}, deps {})",
                            waiting.on,
                            deps.join(" ")
                        )
                    }
                    None if core.refused(doc, h).is_some() => " (refused there)".to_string(),
                    None => String::new(),
                };
                format!("{}{at}", &h.to_string()[..12])
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let b_lacks: Vec<&ChangeHash> = ha.difference(&hb).collect();
    let a_lacks: Vec<&ChangeHash> = hb.difference(&ha).collect();
    format!(
        "node {b} and node {a} differ on {doc}: node {b} lacks {} change(s) [{}], node {a} lacks {} [{}]",
        b_lacks.len(),
        lacks(b, b_lacks.clone()),
        a_lacks.len(),
        lacks(a, a_lacks.clone()),
    )
}

/// Every honest node computes the same report digest for every district-month.
pub struct EqualDigests;

impl Invariant<Tally> for EqualDigests {
    fn name(&self) -> &'static str {
        "equal digests"
    }
    fn check(&self, w: &World<Tally>) -> Option<Violation> {
        let honest = w.honest();
        let first = honest[0];
        let digests = |n: usize| -> BTreeMap<DocId, String> {
            let core = &w.nodes[n].replica.core;
            // The roster's shards the node holds, laid over the registry.
            let shards: Vec<crdt_schema::RosterFacts> = core
                .heads()
                .keys()
                .filter(|d| matches!(d, DocId::Roster { .. }))
                .map(|d| {
                    crdt_schema::RosterDoc::from_document(core.document(d).expect("doc").fork())
                        .expect("a roster shard")
                        .facts()
                })
                .collect();
            let registry = RegistryDoc::from_document(
                core.document(&DocId::Registry).expect("registry").fork(),
            )
            .expect("registry")
            .facts()
            .with_roster(&shards);
            core.heads()
                .keys()
                .filter(|d| matches!(d, DocId::Month { .. }))
                .map(|d| {
                    let facts = MonthDoc::from_document(core.document(d).expect("doc").fork())
                        .expect("month")
                        .facts();
                    (
                        d.clone(),
                        crdt_schema::Sources::alone(&registry, &facts)
                            .and_then(|s| score_month(&registry, &s))
                            .map(|r| r.digest.0)
                            .unwrap_or_default(),
                    )
                })
                .collect()
        };
        let reference = digests(first);
        for &n in &honest[1..] {
            if digests(n) != reference {
                return Some(Violation {
                    detail: format!("node {n}'s reports differ from node {first}'s"),
                    node: Some(n),
                    change: None,
                });
            }
        }
        None
    }
}

/// Every change an honest node acknowledged is on every honest node.
pub struct NoAcknowledgedLost;

impl Invariant<Tally> for NoAcknowledgedLost {
    fn name(&self) -> &'static str {
        "no acknowledged change lost"
    }
    fn check(&self, w: &World<Tally>) -> Option<Violation> {
        let honest = w.honest();
        for &n in &honest {
            for (doc, h) in &w.acknowledged[n] {
                for &m in &honest {
                    if !w.nodes[m].applied(doc, h) {
                        return Some(Violation {
                            detail: format!(
                                "change {} acknowledged by node {n} is missing at node {m}",
                                &h.to_string()[..12]
                            ),
                            node: None,
                            change: Some(*h),
                        });
                    }
                }
            }
        }
        None
    }
}

/// A change refused anywhere is refused for the same reason everywhere.
pub struct SameRefusal;

impl Invariant<Tally> for SameRefusal {
    fn name(&self) -> &'static str {
        "same refusal everywhere"
    }
    fn check(&self, w: &World<Tally>) -> Option<Violation> {
        let mut reasons: BTreeMap<&(DocId, ChangeHash), (usize, &Refusal)> = BTreeMap::new();
        for n in w.honest() {
            for (key, r) in w.nodes[n].replica.core.quarantine() {
                let h = &key.1;
                match reasons.get(key) {
                    Some((m, other)) if *other != r => {
                        return Some(Violation {
                            detail: format!(
                                "change {}: node {m} says `{other}`, node {n} says `{r}`",
                                &h.to_string()[..12]
                            ),
                            node: None,
                            change: Some(*h),
                        });
                    }
                    Some(_) => {}
                    None => {
                        reasons.insert(key, (n, r));
                    }
                }
            }
        }
        None
    }
}

/// Honest nodes receive each change at most once per link: change bytes
/// from honest peers within (links × what they lacked).
pub struct BytesWithinBound;

impl Invariant<Tally> for BytesWithinBound {
    fn name(&self) -> &'static str {
        "bytes within bound"
    }
    fn check(&self, w: &World<Tally>) -> Option<Violation> {
        let s = &w.stats;
        (s.change_bytes_received > s.change_bytes_bound).then(|| Violation {
            detail: format!(
                "honest nodes received {} B of changes from honest peers for {} B they lacked; bound (each change once per link) {} B",
                s.change_bytes_received, s.change_bytes_useful, s.change_bytes_bound
            ),
            node: None,
            change: None,
        })
    }
}

/// A power cut at `node`: its disk keeps what was synced (a write under
/// way torn, by seed), sometimes with a bad block besides (acknowledged
/// bytes of a document file flipped), and the replica is rebuilt from it by
/// `Replica::open`, as the daemon starts. Then, as invariants: the replica
/// opens; a bad block is reported; nothing it acknowledged is missing but
/// what the bad block touched (and what follows from that in its document,
/// waiting until peers send it again); every change it held pending is
/// still pending, accepted or refused, unless the bad block hit its
/// document's quarantine (peers send it again).
pub(crate) fn crash_and_reopen(w: &mut World<Tally>, node: usize) {
    // Read while storage is whole: what the node held, resting or not, is
    // what the bad block is judged against.
    Tally::wake_all(w, node);
    let pending_before: Vec<(DocId, ChangeHash)> = w.nodes[node]
        .replica
        .core
        .pending()
        .iter()
        .flat_map(|(d, pool)| pool.keys().map(move |h| (d.clone(), *h)))
        .collect();
    let tear = w.rng.random_range(0..2u8) == 0;
    let crash = w.nodes[node].disk.crash(&mut w.rng, tear);
    let damage = if w.cfg.bad_blocks && w.rng.random_range(0..2u8) == 0 {
        w.nodes[node].disk.corrupt(&mut w.rng)
    } else {
        None
    };
    let touched = damage
        .as_ref()
        .map(|d| Touched::by(d, node, &w.nodes[node]));
    let disk = w.nodes[node].disk.clone() as Arc<dyn Disk>;
    // As the daemon starts: months at rest from the start, through the
    // rest index where their files still match it.
    let policy = super::protocol::rest_policy(&w.cfg, w.prison.behaviour[node].is_honest());
    let reopened = Store::open_on(disk, &node_root(node))
        .and_then(|store| Replica::open_resting(store, policy))
        .map_err(|e| e.to_string());
    let replica = match reopened {
        Ok(r) => r,
        Err(e) => {
            w.crash_failure = Some(w.fail_now(
                "a replica reopens after any crash",
                format!("node {node}: {e}"),
                Some(node),
                None,
            ));
            return;
        }
    };
    w.nodes[node].replica = replica;
    w.log(
        node,
        Event::Crashed {
            lost: crash.lost,
            torn: crash.torn,
        },
    );
    if let Some(d) = &damage {
        w.log(
            node,
            Event::BadBlock {
                file: d.path.display().to_string(),
                offset: d.offset,
                len: d.len,
            },
        );
        let file = d.path.display().to_string();
        if !w.nodes[node]
            .replica
            .opened_with()
            .iter()
            .any(|i| i.contains(&file))
        {
            w.crash_failure = Some(w.fail_now(
                "damage is detected and reported",
                format!(
                    "node {node}: {} bytes of {} at {} were flipped and opening did not report that file",
                    d.len,
                    d.path.display(),
                    d.offset
                ),
                Some(node),
                None,
            ));
            return;
        }
    }
    // What it reopened is read whole for the checks (what storage holds),
    // and put back to rest after them: the node goes on as it started.
    let resting_at_open = w.nodes[node].replica.core.resting_ids();
    Tally::wake_all(w, node);
    if w.crash_failure.is_some() {
        return;
    }
    let touched = touched.unwrap_or_default();
    let n = &w.nodes[node];
    let lost: Vec<(DocId, ChangeHash)> = w.acknowledged[node]
        .iter()
        .filter(|(d, h)| !n.applied(d, h))
        .cloned()
        .collect();
    // Gone: only what the block hit. Waiting for it: still on disk. Or lost
    // to an earlier bad block and not back from peers yet (they bring it
    // by the next heal, when every node is checked for it).
    let restoring = &w.restoring[node];
    if let Some((d, h)) = lost.iter().find(|(d, h)| {
        !(touched.hit(d, h)
            || (touched.follows(d, h) && n.holds(d, h))
            || restoring.contains(&(d.clone(), *h)))
    }) {
        let mut f = w.fail_now(
            "nothing acknowledged is lost across a crash",
            format!(
                "node {node} acknowledged {} in {d} and lost it in a crash",
                &h.to_string()[..12]
            ),
            Some(node),
            Some(h),
        );
        // And the crash that lost it.
        f.trace.extend(w.trace.last().cloned());
        w.crash_failure = Some(f);
        return;
    }
    // What the bad block took comes back from peers at the next heal —
    // unless no other node had it yet: then the disk lost it (and what
    // follows from it can never apply), not tally.
    let gone: BTreeSet<ChangeHash> = lost
        .iter()
        .filter(|(d, h)| {
            touched.hit(d, h)
                && !(0..w.nodes.len()).any(|m| m != node && w.nodes[m].applied_or_stored(d, h))
        })
        .map(|(_, h)| *h)
        .collect();
    // What is still missing here is expected back from peers.
    w.restoring[node] = lost.iter().cloned().collect();
    if let Some(doc) = touched.doc.clone()
        && !gone.is_empty()
    {
        let with_followers = touched.with_followers(&gone);
        for h in with_followers {
            let mut any = false;
            for ack in &mut w.acknowledged {
                any |= ack.remove(&(doc.clone(), h));
            }
            w.restoring[node].remove(&(doc.clone(), h));
            if any {
                w.log(
                    node,
                    Event::LostToBadBlock {
                        doc: doc.clone(),
                        change: h,
                    },
                );
            }
        }
    }
    let n = &w.nodes[node];
    let core = &n.replica.core;
    let dropped = pending_before.into_iter().find(|(d, h)| {
        !(core.is_pending(d, h)
            || core.refused(d, h).is_some()
            || n.holds(d, h)
            || touched.quarantine_of.as_ref() == Some(d))
    });
    if let Some((d, h)) = dropped {
        w.crash_failure = Some(w.fail_now(
            "pending changes survive restarts",
            format!(
                "node {node} held {} of {d} pending and lost it in a crash",
                &h.to_string()[..12]
            ),
            Some(node),
            Some(&h),
        ));
        return;
    }
    for d in &resting_at_open {
        w.nodes[node].replica.core.rest(d);
    }
}

/// What a bad block can cost: the changes whose records it touched (gone
/// from this disk), and those that follow from them in their document
/// (still on disk, but waiting for them).
#[derive(Debug, Default)]
struct Touched {
    doc: Option<DocId>,
    /// The changes whose records the block hit.
    changes: BTreeSet<ChangeHash>,
    /// Those and every change that follows from one of them.
    followers: BTreeSet<ChangeHash>,
    /// The document's changes in causal order (for followers of a subset).
    order: Vec<(ChangeHash, Vec<ChangeHash>)>,
    /// The document whose quarantine it hit: its pending changes may go
    /// (peers send them again).
    quarantine_of: Option<DocId>,
}

impl Touched {
    fn by(d: &Damage, node: usize, held: &TallyNode) -> Touched {
        let mut t = Touched::default();
        let Some((doc, ext)) = doc_of(&d.path, node) else {
            return t;
        };
        let block = d.offset..d.offset + d.len;
        let hit = |r: &std::ops::Range<usize>| block.start < r.end && block.end > r.start - 8;
        match ext.as_str() {
            "log" => {
                let scan = frame::scan(&d.before);
                for r in scan.records.iter().filter(|r| hit(r)) {
                    if let Some((_, bytes)) = d.before[r.clone()].split_first()
                        && let Ok(sc) = SignedChange::decode(bytes)
                    {
                        t.changes.insert(sc.hash());
                    }
                }
                // The log's header: what it frames is read all the same.
            }
            // A snapshot holds everything of the document that is not in its log.
            "snap" => {
                let mut logged = BTreeSet::new();
                let log = d.path.with_extension("log");
                if let Ok(Some(bytes)) = held.disk.read(&log) {
                    let scan = frame::scan(&bytes);
                    for r in &scan.records {
                        if let Some((_, b)) = bytes[r.clone()].split_first()
                            && let Ok(sc) = SignedChange::decode(b)
                        {
                            logged.insert(sc.hash());
                        }
                    }
                }
                if let Some(doc) = held.replica.core.document(&doc) {
                    t.changes.extend(
                        doc.automerge()
                            .get_changes(&[])
                            .iter()
                            .map(|c| c.hash())
                            .filter(|h| !logged.contains(h)),
                    );
                }
            }
            "quarantine" => t.quarantine_of = Some(doc.clone()),
            _ => {}
        }
        if let Some(am) = held.replica.core.document(&doc).map(|d| d.automerge()) {
            t.order = am
                .get_changes(&[])
                .iter()
                .map(|c| (c.hash(), c.deps().to_vec()))
                .collect();
        }
        t.followers = t.with_followers(&t.changes);
        t.doc = Some(doc);
        t
    }

    /// `from` and every change of the document that follows from one of them.
    fn with_followers(&self, from: &BTreeSet<ChangeHash>) -> BTreeSet<ChangeHash> {
        let mut out = from.clone();
        for (h, deps) in &self.order {
            if deps.iter().any(|d| out.contains(d)) {
                out.insert(*h);
            }
        }
        out
    }

    /// The block hit this change's record: it may be gone from this disk.
    fn hit(&self, doc: &DocId, h: &ChangeHash) -> bool {
        self.doc.as_ref() == Some(doc) && self.changes.contains(h)
    }

    /// The change follows from one the block hit: it may wait, not go.
    fn follows(&self, doc: &DocId, h: &ChangeHash) -> bool {
        self.doc.as_ref() == Some(doc) && self.followers.contains(h)
    }
}

/// The document and the kind of file (`log`, `snap`, `quarantine`) at a
/// path of node `n`'s data directory (`docs/registry.EXT`,
/// `docs/month/<district>/<YYYY-MM>.EXT`).
fn doc_of(path: &Path, n: usize) -> Option<(DocId, String)> {
    let rest = path.strip_prefix(node_root(n).join("docs")).ok()?;
    let ext = rest.extension()?.to_str()?.to_string();
    let stem = rest.with_extension("");
    let parts: Vec<&str> = stem.iter().map(|c| c.to_str()).collect::<Option<_>>()?;
    let doc = match parts.as_slice() {
        ["registry"] => DocId::Registry,
        ["month", district, month] => DocId::month(district.parse().ok()?, month.parse().ok()?),
        _ => return None,
    };
    Some((doc, ext))
}
