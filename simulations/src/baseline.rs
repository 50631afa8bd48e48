//! The comparison baseline: plain, unsigned Automerge sync — the design of
//! iroh's automerge example — on the same workload and network. Changes
//! travel inside Automerge's sync messages and are applied as they come:
//! nothing is signed, nothing validated. What tally's signing and
//! validation cost is measured against this.

use std::collections::{BTreeMap, BTreeSet};

use crdt_schema::DocId;
use crdt_schema::automerge::sync::{Message, State, SyncDoc};
use crdt_schema::automerge::{Automerge, ChangeHash};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum PlainWire {
    /// The documents the sender holds.
    Docs(Vec<String>),
    /// Automerge's own sync message, changes inside.
    Sync(String, Vec<u8>),
}

impl PlainWire {
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("serializes")
    }
}

/// One node of the baseline.
#[derive(Default)]
pub struct PlainNode {
    pub docs: BTreeMap<DocId, Automerge>,
    sessions: BTreeMap<usize, BTreeMap<DocId, State>>,
    saved: BTreeMap<usize, BTreeMap<DocId, Vec<u8>>>,
    known: BTreeMap<usize, BTreeSet<DocId>>,
    pub received_change_bytes: u64,
}

impl PlainNode {
    pub fn heads(&self) -> BTreeMap<DocId, Vec<ChangeHash>> {
        self.docs
            .iter()
            .filter(|(_, d)| !d.is_empty())
            .map(|(id, d)| (id.clone(), d.get_heads()))
            .collect()
    }

    pub fn open(&mut self, peer: usize) -> Vec<Vec<u8>> {
        let saved = self.saved.get(&peer).cloned().unwrap_or_default();
        let states = saved
            .iter()
            .filter_map(|(d, b)| State::decode(b).ok().map(|s| (d.clone(), s)))
            .collect();
        self.sessions.insert(peer, states);
        self.known.insert(peer, BTreeSet::new());
        let mut out =
            vec![PlainWire::Docs(self.docs.keys().map(|d| d.to_string()).collect()).encode()];
        out.extend(self.poll(peer));
        out
    }

    pub fn close(&mut self, peer: usize, keep: bool) {
        if let Some(states) = self.sessions.remove(&peer) {
            if keep {
                self.saved.insert(
                    peer,
                    states
                        .iter()
                        .map(|(d, s)| (d.clone(), s.encode()))
                        .collect(),
                );
            } else {
                self.saved.remove(&peer);
            }
        }
        self.known.remove(&peer);
    }

    pub fn forget_saved(&mut self) {
        self.saved.clear();
    }

    pub fn peers(&self) -> Vec<usize> {
        self.sessions.keys().copied().collect()
    }

    /// Takes a message; returns replies and whether the node gained changes.
    pub fn receive(&mut self, peer: usize, bytes: &[u8]) -> Result<(Vec<Vec<u8>>, bool), String> {
        let w: PlainWire = postcard::from_bytes(bytes).map_err(|e| e.to_string())?;
        let mut gained = false;
        match w {
            PlainWire::Docs(docs) => {
                for d in docs {
                    let id: DocId = d.parse().map_err(|_| "bad doc".to_string())?;
                    self.known.entry(peer).or_default().insert(id);
                }
            }
            PlainWire::Sync(d, m) => {
                let id: DocId = d.parse().map_err(|_| "bad doc".to_string())?;
                let msg = Message::decode(&m).map_err(|e| e.to_string())?;
                self.received_change_bytes += m.len() as u64;
                let doc = self.docs.entry(id.clone()).or_default();
                let before = doc.get_heads();
                let state = self
                    .sessions
                    .entry(peer)
                    .or_default()
                    .entry(id.clone())
                    .or_default();
                doc.receive_sync_message(state, msg)
                    .map_err(|e| e.to_string())?;
                gained = doc.get_heads() != before;
                self.known.entry(peer).or_default().insert(id);
            }
        }
        Ok((self.poll(peer), gained))
    }

    pub fn poll(&mut self, peer: usize) -> Vec<Vec<u8>> {
        let mut ids: BTreeSet<DocId> = self.docs.keys().cloned().collect();
        ids.extend(self.known.get(&peer).into_iter().flatten().cloned());
        let mut out = Vec::new();
        for id in ids {
            let doc = self.docs.entry(id.clone()).or_default();
            let state = self
                .sessions
                .entry(peer)
                .or_default()
                .entry(id.clone())
                .or_default();
            if let Some(m) = doc.generate_sync_message(state) {
                out.push(PlainWire::Sync(id.to_string(), m.encode()).encode());
            }
        }
        out
    }
}
