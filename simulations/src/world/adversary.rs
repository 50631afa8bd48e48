//! The hostile nodes ([`Behaviour`]): each acts once a simulated day,
//! sending what an attacker inside the network could — forgeries,
//! out-of-district writes, replays, a revoked officer's writes, garbage,
//! floods of changes nobody can judge. Every change they make that must
//! never be applied is recorded in [`World::invalid`] for the checker.

use crdt_schema::automerge::ChangeHash;
use crdt_schema::automerge::sync::State;
use crdt_schema::{DocId, Document, MonthWriter};
use keys::SecretKey;
use node::sync::Wire;
use node::validate::SignedChange;
use rand::RngExt;
use replica_core::checkpoint::Checkpoint;

use super::{Event, Tally, World, month, month_doc};
use crate::prison::{Behaviour, PROCEDURE, inmate};

impl World<Tally> {
    /// Sends `changes` as changes of `doc` to every peer `node` is connected to.
    fn push_raw(&mut self, node: usize, doc: &DocId, changes: Vec<SignedChange>) {
        let base = self.nodes[node]
            .replica
            .core
            .document(doc)
            .map(Document::fork)
            .unwrap_or_else(|| Document::new(doc.clone()));
        let Some(mut msg) = base.generate_sync_message(&mut State::new()) else {
            return;
        };
        msg.changes = Vec::<Vec<u8>>::new().into();
        let wire = Wire::Sync {
            doc: doc.to_string(),
            message: msg.encode(),
            changes: changes.iter().map(SignedChange::encode).collect(),
        };
        let peers: Vec<usize> = self.nodes[node].sessions.keys().copied().collect();
        for p in peers {
            self.send(node, p, wire.encode());
        }
    }

    /// Hostile `node`'s act of `day`.
    pub(crate) fn hostile(&mut self, node: usize, day: u64) {
        let b = self.prison.behaviour[node];
        let d = self.prison.staff[node].district.clone();
        let di = self
            .prison
            .districts
            .iter()
            .position(|x| *x == d)
            .unwrap_or(0);
        let doc = month_doc(&d);
        let date = month().day(day as u8 + 1).expect("day");
        let q: u64 = self.rng.random_range(9000..9999);
        let put = move |w: &mut MonthWriter<'_, '_>| {
            w.put_count(
                &inmate(di, 0),
                date,
                &PROCEDURE.parse().expect("procedure"),
                q,
            )
            .map(|_| ())
        };
        match b {
            Behaviour::Honest => {}
            Behaviour::Forger => {
                // In the name of an honest officer of the district, signed with our key.
                let victim = self
                    .district_nodes(di)
                    .into_iter()
                    .find(|&n| self.prison.behaviour[n].is_honest());
                let Some(victim) = victim else { return };
                let victim_key = self.prison.staff[victim].key_copy();
                let own = self.prison.staff[node].key_copy();
                // And a checkpoint in the victim's device's name, claiming
                // heads nobody has, signed with this node's device key.
                if self.cfg.checkpoints {
                    let forged = Checkpoint::of(
                        &self.prison.device(victim).public(),
                        &doc,
                        &[ChangeHash([day as u8; 32])],
                        1_000_000,
                        self.stated(node),
                    )
                    .sign(&self.prison.device(node));
                    self.forged_checkpoints.insert(forged.signature.clone());
                    let wire = Wire::Checkpoints(vec![forged.encode()]);
                    let peers: Vec<usize> = self.nodes[node].sessions.keys().copied().collect();
                    for p in peers {
                        self.send(node, p, wire.encode());
                    }
                }
                if let Some(mut sc) = self.make_change(node, &victim_key, &doc, put) {
                    sc = SignedChange::sign(&own, &doc, sc.change);
                    self.invalid.insert((doc.clone(), sc.hash()));
                    self.log(
                        node,
                        Event::Forges {
                            doc: doc.clone(),
                            change: sc.hash(),
                        },
                    );
                    self.push_raw(node, &doc, vec![sc]);
                }
            }
            Behaviour::OutOfDistrict => {
                let districts = self.prison.districts.len();
                let other = self.prison.districts[(di + 1) % districts].clone();
                let odoc = month_doc(&other);
                let own = self.prison.staff[node].key_copy();
                if let Some(sc) = self.make_change(node, &own, &odoc, |w| {
                    w.put_count(
                        &inmate((di + 1) % districts, 0),
                        date,
                        &PROCEDURE.parse().expect("procedure"),
                        q,
                    )
                    .map(|_| ())
                }) {
                    self.invalid.insert((odoc.clone(), sc.hash()));
                    self.log(
                        node,
                        Event::OutOfDistrict {
                            doc: odoc.clone(),
                            change: sc.hash(),
                        },
                    );
                    self.push_raw(node, &odoc, vec![sc]);
                }
            }
            Behaviour::Replayer => {
                let valid = self.nodes[node].replica.core.signed_changes(&doc);
                if let Some(sc) = valid.last().cloned() {
                    let other =
                        month_doc(&self.prison.districts[(di + 1) % self.prison.districts.len()]);
                    self.invalid.insert((other.clone(), sc.hash()));
                    self.log(
                        node,
                        Event::Replays {
                            change: sc.hash(),
                            of: doc.clone(),
                            into: other.clone(),
                        },
                    );
                    self.push_raw(node, &other, vec![sc]);
                }
            }
            Behaviour::Revoked => {
                let own = self.prison.staff[node].key_copy();
                if let Some(sc) = self.make_change(node, &own, &doc, put) {
                    // Written knowing the revocation (it is in the registry heads
                    // the change states) → invalid everywhere; before → concurrent, valid.
                    let knows = self.revocations.get(&node).is_some_and(|r| {
                        self.nodes[node]
                            .replica
                            .core
                            .document(&DocId::Registry)
                            .is_some_and(|reg| reg.automerge().get_change_meta_by_hash(r).is_some())
                    });
                    if knows {
                        self.invalid.insert((doc.clone(), sc.hash()));
                    }
                    self.log(
                        node,
                        Event::RevokedWrites {
                            change: sc.hash(),
                            knows,
                        },
                    );
                    self.push_raw(node, &doc, vec![sc]);
                }
            }
            Behaviour::Garbage => {
                let peers: Vec<usize> = self.nodes[node].sessions.keys().copied().collect();
                for p in peers {
                    let len = self.rng.random_range(1..200);
                    let junk: Vec<u8> = (0..len).map(|_| self.rng.random()).collect();
                    self.log(node, Event::Garbage { peer: p, len });
                    if !self.net.send(self.now, node, p, junk, false) {
                        self.disconnect(node, p);
                    }
                }
            }
            Behaviour::Flooder => {
                let mut flood = Vec::new();
                for i in 0..200u64 {
                    let stranger = SecretKey::from_seed(&seed_of(self.cfg.seed, day, i));
                    if let Some(sc) = self.make_change(node, &stranger, &doc, put) {
                        self.invalid.insert((doc.clone(), sc.hash()));
                        flood.push(sc);
                    }
                }
                self.log(
                    node,
                    Event::Floods {
                        changes: flood.len(),
                    },
                );
                self.push_raw(node, &doc, flood);
            }
        }
    }
}

/// A stranger's key seed: one per seed, day and index.
fn seed_of(seed: u64, day: u64, i: u64) -> [u8; 32] {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&seed.to_le_bytes());
    s[8..16].copy_from_slice(&day.to_le_bytes());
    s[16..24].copy_from_slice(&i.to_le_bytes());
    s[24] = 0xF1;
    s
}
