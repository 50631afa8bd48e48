//! The invariants of a run, one checker each. After every heal (the
//! network settled without faults) each of the protocol's checkers looks at
//! the honest nodes; the first that does not hold ends the run with a
//! [`super::Failure`] naming it, the node and the change involved, and the
//! events about them. Two more are checked as a node restarts from its
//! simulated disk ([`crash_and_reopen`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crdt_schema::automerge::ChangeHash;
use crdt_schema::{DocId, MonthDoc, RegistryDoc, score_month};
use node::replica::Replica;
use node::store::{Disk, Store};
use node::validate::Refusal;
use rand::RngExt;

use super::protocol::node_root;
use super::{Event, Protocol, Tally, World};

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
pub static TALLY: [&dyn Invariant<Tally>; 6] = [
    &NoInvalidApplied,
    &EqualHeads,
    &EqualDigests,
    &NoAcknowledgedLost,
    &SameRefusal,
    &BytesWithinBound,
];

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
                if w.nodes[n].holds(doc, h) {
                    let short = &h.to_string()[..12];
                    let arrival = w
                        .trace
                        .arrival(n, h)
                        .map(|(seq, from)| format!(", taken from message {seq} from {from}"))
                        .unwrap_or_default();
                    return Some(Violation {
                        detail: format!(
                            "node {n} applied invalid change {short} in {doc}{arrival}"
                        ),
                        node: Some(n),
                        change: Some(*h),
                    });
                }
            }
        }
        None
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
                    Some(waiting) => format!(" (pending there, on {:?})", waiting.on),
                    None if core.refused(h).is_some() => " (refused there)".to_string(),
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
            let registry = RegistryDoc::from_document(
                core.document(&DocId::Registry).expect("registry").fork(),
            )
            .expect("registry")
            .facts();
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
                    if !w.nodes[m].holds(doc, h) {
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
        let mut reasons: BTreeMap<ChangeHash, (usize, &Refusal)> = BTreeMap::new();
        for n in w.honest() {
            for (h, r) in w.nodes[n].replica.core.quarantine() {
                match reasons.get(h) {
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
                        reasons.insert(*h, (n, r));
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
/// way torn, by seed), and the replica is rebuilt from it by
/// `Replica::open`, as the daemon starts. Then two invariants: nothing it
/// acknowledged is missing, and every change it held pending is still
/// pending (or since accepted, or refused).
pub(crate) fn crash_and_reopen(w: &mut World<Tally>, node: usize) {
    let pending_before: Vec<(DocId, ChangeHash)> = w.nodes[node]
        .replica
        .core
        .pending()
        .iter()
        .flat_map(|(d, pool)| pool.keys().map(move |h| (d.clone(), *h)))
        .collect();
    let tear = w.rng.random_range(0..2u8) == 0;
    let crash = w.nodes[node].disk.crash(&mut w.rng, tear);
    let disk = w.nodes[node].disk.clone() as Arc<dyn Disk>;
    let reopened = Store::open_on(disk, &node_root(node))
        .and_then(Replica::open)
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
    let n = &w.nodes[node];
    let lost = w.acknowledged[node]
        .iter()
        .find(|(d, h)| !n.holds(d, h))
        .cloned();
    if let Some((d, h)) = lost {
        let mut f = w.fail_now(
            "nothing acknowledged is lost across a crash",
            format!(
                "node {node} acknowledged {} in {d} and lost it in a crash",
                &h.to_string()[..12]
            ),
            Some(node),
            Some(&h),
        );
        // And the crash that lost it.
        f.trace.extend(w.trace.last().cloned());
        w.crash_failure = Some(f);
        return;
    }
    let core = &w.nodes[node].replica.core;
    let dropped = pending_before
        .into_iter()
        .find(|(d, h)| !(core.is_pending(d, h) || core.refused(h).is_some() || n.holds(d, h)));
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
    }
}
