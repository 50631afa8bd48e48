//! What happened in a run, as typed events: the trace a failure carries and
//! `tally-sim --trace` writes. A failure finds its context by asking events
//! which changes they are about ([`Event::changes`]), never by reading its
//! own log lines back.

use std::collections::VecDeque;
use std::fmt;

use crdt_schema::DocId;
use crdt_schema::automerge::ChangeHash;
use node::validate::Refusal;

use crate::net::{DAY, HOUR};

/// At most this many events are kept (the oldest are dropped).
pub const TRACE_LIMIT: usize = 200_000;

/// Events behind a failure: at most this many.
pub const FAILURE_CONTEXT: usize = 30;

/// One thing that happened at a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A local write the node's validator accepted and its disk acknowledged.
    Wrote { doc: DocId, change: ChangeHash },
    /// A local write the node's own validator did not accept.
    OwnWriteNotAccepted {
        doc: DocId,
        change: ChangeHash,
        why: String,
    },
    /// Changes a peer's message brought in.
    Accepted {
        seq: u64,
        from: usize,
        doc: DocId,
        changes: Vec<ChangeHash>,
    },
    /// A change a peer's message brought that the node refused.
    Quarantined {
        seq: u64,
        from: usize,
        doc: DocId,
        change: ChangeHash,
        refusal: Refusal,
    },
    /// Changes applied without validation ([`super::Bug::UncheckedApply`]).
    AppliedUnchecked {
        seq: u64,
        from: usize,
        doc: DocId,
        changes: Vec<ChangeHash>,
        error: Option<String>,
    },
    /// A message was lost: the connection breaks, both ends retry later.
    ConnectionBroken { peer: usize },
    /// The protocol closed a connection (a peer sent something it refuses).
    ProtocolClosed { peer: usize, reason: String },
    /// The node restarts, keeping or losing its saved sync state.
    Restart { keep_sync_state: bool },
    /// The node put documents nothing touched lately to rest.
    Rested { documents: usize },
    /// A power cut: unsynced bytes lost, a write under way torn; reopened
    /// from the disk by the daemon's start-up.
    Crashed { lost: usize, torn: usize },
    /// A bad block at the crash: bytes of a document file flipped.
    BadBlock {
        file: String,
        offset: usize,
        len: usize,
    },
    /// A change the bad block took that no other node had yet: lost with
    /// the disk (not a fault of tally's), no longer expected anywhere.
    LostToBadBlock { doc: DocId, change: ChangeHash },
    /// The records office revoked a node's officer.
    Revoked { node: usize, change: ChangeHash },
    /// Hostile: a change in another officer's name, signed with its own key.
    Forges { doc: DocId, change: ChangeHash },
    /// Hostile: a write into another district's document.
    OutOfDistrict { doc: DocId, change: ChangeHash },
    /// Hostile: a valid change replayed into another document.
    Replays {
        change: ChangeHash,
        of: DocId,
        into: DocId,
    },
    /// A revoked officer writes on (knowing the revocation, or not yet).
    RevokedWrites { change: ChangeHash, knows: bool },
    /// Hostile: bytes that are no message.
    Garbage { peer: usize, len: usize },
    /// Hostile: changes by keys nobody certified.
    Floods { changes: usize },
}

fn short(h: &ChangeHash) -> String {
    h.to_string()[..12].to_string()
}

fn shorts(hs: &[ChangeHash]) -> String {
    hs.iter().map(short).collect::<Vec<_>>().join(" ")
}

impl Event {
    /// The changes this event is about.
    pub fn changes(&self) -> &[ChangeHash] {
        match self {
            Event::Wrote { change, .. }
            | Event::OwnWriteNotAccepted { change, .. }
            | Event::Quarantined { change, .. }
            | Event::Revoked { change, .. }
            | Event::Forges { change, .. }
            | Event::OutOfDistrict { change, .. }
            | Event::Replays { change, .. }
            | Event::RevokedWrites { change, .. }
            | Event::LostToBadBlock { change, .. } => std::slice::from_ref(change),
            Event::Accepted { changes, .. } | Event::AppliedUnchecked { changes, .. } => changes,
            _ => &[],
        }
    }

    /// Whether this event is about `change`.
    pub fn mentions(&self, change: &ChangeHash) -> bool {
        self.changes().contains(change)
    }

    /// The message a change arrived in: its number and sender.
    pub fn message(&self) -> Option<(u64, usize)> {
        match self {
            Event::Accepted { seq, from, .. }
            | Event::Quarantined { seq, from, .. }
            | Event::AppliedUnchecked { seq, from, .. } => Some((*seq, *from)),
            _ => None,
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Wrote { doc, change } => write!(f, "wrote {} in {doc}", short(change)),
            Event::OwnWriteNotAccepted { doc, change, why } => {
                write!(
                    f,
                    "own write {} in {doc} not accepted: {why}",
                    short(change)
                )
            }
            Event::Accepted {
                seq,
                from,
                doc,
                changes,
            } => write!(
                f,
                "message {seq} from {from}: accepted {} of {doc}",
                shorts(changes)
            ),
            Event::Quarantined {
                seq,
                from,
                doc,
                change,
                refusal,
            } => write!(
                f,
                "message {seq} from {from}: quarantined {} in {doc}: {refusal}",
                short(change)
            ),
            Event::AppliedUnchecked {
                seq,
                from,
                doc,
                changes,
                error,
            } => write!(
                f,
                "message {seq} from {from}: applied unchecked {} of {doc}{}",
                shorts(changes),
                error
                    .as_ref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            ),
            Event::ConnectionBroken { peer } => {
                write!(f, "connection to {peer} broken (lost message)")
            }
            Event::ProtocolClosed { peer, reason } => {
                write!(f, "closing connection to {peer}: {reason}")
            }
            Event::Restart { keep_sync_state } => write!(
                f,
                "restart (sync state {})",
                if *keep_sync_state { "kept" } else { "lost" }
            ),
            Event::Rested { documents } => {
                write!(f, "put {documents} untouched document(s) to rest")
            }
            Event::Crashed { lost, torn } => write!(
                f,
                "crashed ({lost} unsynced bytes lost, {torn} bytes of a write under way torn) and reopened from its disk"
            ),
            Event::BadBlock { file, offset, len } => {
                write!(
                    f,
                    "bad block: {len} bytes of {file} at byte {offset} flipped"
                )
            }
            Event::LostToBadBlock { doc, change } => write!(
                f,
                "lost {} of {doc} to the bad block (no other node had it yet)",
                short(change)
            ),
            Event::Revoked { node, change } => {
                write!(f, "revoked node {node}'s officer in {}", short(change))
            }
            Event::Forges { doc, change } => write!(f, "forges {} in {doc}", short(change)),
            Event::OutOfDistrict { doc, change } => {
                write!(f, "writes out of district {} in {doc}", short(change))
            }
            Event::Replays { change, of, into } => {
                write!(f, "replays {} of {of} into {into}", short(change))
            }
            Event::RevokedWrites { change, knows } => write!(
                f,
                "revoked officer writes {} (knows: {knows})",
                short(change)
            ),
            Event::Garbage { peer, len } => write!(f, "sends {len} bytes of garbage to {peer}"),
            Event::Floods { changes } => write!(f, "floods {changes} changes by unknown keys"),
        }
    }
}

/// An event with when (simulated ms) and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traced {
    pub at: u64,
    pub node: usize,
    pub event: Event,
}

impl fmt::Display for Traced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "day {:>2} {:>9.5}h  node {:>3}: {}",
            self.at / DAY + 1,
            (self.at % DAY) as f64 / HOUR as f64,
            self.node,
            self.event
        )
    }
}

/// The run's events, the last [`TRACE_LIMIT`].
#[derive(Debug, Default)]
pub struct Trace {
    events: VecDeque<Traced>,
}

impl Trace {
    pub fn push(&mut self, t: Traced) {
        if self.events.len() >= TRACE_LIMIT {
            self.events.pop_front();
        }
        self.events.push_back(t);
    }

    pub fn all(&self) -> impl Iterator<Item = &Traced> {
        self.events.iter()
    }

    pub fn last(&self) -> Option<&Traced> {
        self.events.back()
    }

    /// The events behind a failure, oldest first: with a change, those about
    /// it — where it was written, and what became of it at `node` (or
    /// everywhere); without one, the last events of `node` (or of all).
    pub fn context(&self, node: Option<usize>, change: Option<&ChangeHash>) -> Vec<Traced> {
        let at_node = |t: &&Traced| node.is_none_or(|n| n == t.node);
        let events: Vec<&Traced> = match change {
            Some(h) => {
                let about: Vec<&Traced> =
                    self.events.iter().filter(|t| t.event.mentions(h)).collect();
                about
                    .first()
                    .copied()
                    .into_iter()
                    .chain(about.iter().skip(1).copied().filter(at_node))
                    .collect()
            }
            None => self.events.iter().filter(at_node).collect(),
        };
        let skip = events.len().saturating_sub(FAILURE_CONTEXT);
        events.into_iter().skip(skip).cloned().collect()
    }

    /// The message in which `node` took `change`, if it did.
    pub fn arrival(&self, node: usize, change: &ChangeHash) -> Option<(u64, usize)> {
        self.events
            .iter()
            .filter(|t| t.node == node && t.event.mentions(change))
            .find_map(|t| t.event.message())
    }
}
