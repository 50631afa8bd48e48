//! Signed checkpoints: what a node held of a document, and when, in its
//! device key's signature — in the manner of Certificate Transparency's
//! signed tree heads, which a log's witnesses gossip so that a log cannot
//! show different histories to different parties.
//!
//! Every node signs, for each document it holds, the document's heads and
//! change count whenever they changed (at most once a minute per document).
//! Checkpoints travel with sync, relayed by every node (each is signed by
//! its device, so a relay cannot alter one), and every replica keeps the
//! latest of each device for each document. A verifier that collected them
//! on its own — the procuratorate's replica — can then see what a bundle
//! leaves out: any checkpoint whose heads the bundle's history lacks is a
//! change some enrolled device had, on that date, and the exporter did not
//! carry.
//!
//! Only checkpoints of devices the authority enrolled are kept (and so
//! relayed): a stranger cannot fill a replica with them.

use std::collections::BTreeMap;

use crdt_schema::DocId;
use crdt_schema::automerge::ChangeHash;
use keys::{PublicKey, SecretKey, Signature};
use serde::{Deserialize, Serialize};

use crate::validate::Trust;

/// The signature domain of a checkpoint (see `keys::signing_message`).
pub const PURPOSE: &str = "tally-checkpoint/1";
/// Most heads a checkpoint names. A document's heads are its concurrent
/// writes not yet merged by a later one: a handful. A document with more
/// is not checkpointed (and a checkpoint naming more is refused), so one
/// checkpoint stays a few kilobytes whatever a device signs.
pub const MAX_CHECKPOINT_HEADS: usize = 256;
/// Largest encoded checkpoint.
pub const MAX_CHECKPOINT_BYTES: usize = 64 + 33 * MAX_CHECKPOINT_HEADS + 256;
/// Most checkpoints a replica keeps (devices × documents): a prison of a
/// hundred devices and a few years of months stays far below it.
pub const MAX_KEPT: usize = 500_000;
/// Most documents one device's checkpoints are kept for (ten districts,
/// forty years of months, and then some): a device signing checkpoints of
/// documents by the thousand fills its own share, not the replica.
pub const MAX_PER_DEVICE: usize = 10_000;

/// What a device held of one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The device's key (its endpoint id, as the authority enrolled it).
    pub device: [u8; 32],
    /// The document's name (`registry`, `month/D01/2026-03`).
    pub doc: String,
    /// The document's heads, sorted.
    pub heads: Vec<[u8; 32]>,
    /// How many changes the document held.
    pub changes: u64,
    /// When, in seconds since the epoch by the device's clock.
    pub at: i64,
}

/// A checkpoint with its device's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    /// 64 bytes: the device's strict Ed25519 signature over the
    /// checkpoint's encoding under [`PURPOSE`].
    pub signature: Vec<u8>,
}

/// Why a checkpoint is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint of {0} bytes exceeds the {MAX_CHECKPOINT_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("undecodable checkpoint: {0}")]
    Decode(String),
    #[error("checkpoint names `{0}`, which is not a document")]
    BadDoc(String),
    #[error("checkpoint has {0} heads, more than a document may")]
    TooManyHeads(usize),
    #[error("checkpoint's device key is not a valid key")]
    BadDevice,
    #[error("checkpoint's signature does not verify")]
    BadSignature,
}

impl Checkpoint {
    /// What `device` holds of `doc` now: its heads and change count.
    pub fn of(
        device: &PublicKey,
        doc: &DocId,
        heads: &[ChangeHash],
        changes: u64,
        at: i64,
    ) -> Checkpoint {
        let mut heads: Vec<[u8; 32]> = heads.iter().map(|h| h.0).collect();
        heads.sort();
        Checkpoint {
            device: *device.as_bytes(),
            doc: doc.to_string(),
            heads,
            changes,
            at,
        }
    }

    fn body(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("a checkpoint always serializes")
    }

    /// Signed with the device's key (which must be the one it names).
    pub fn sign(self, key: &SecretKey) -> SignedCheckpoint {
        let signature = key.sign(PURPOSE, &[&self.body()]).to_bytes().to_vec();
        SignedCheckpoint {
            checkpoint: self,
            signature,
        }
    }

    /// The heads as change hashes.
    pub fn head_hashes(&self) -> Vec<ChangeHash> {
        self.heads.iter().map(|h| ChangeHash(*h)).collect()
    }
}

impl SignedCheckpoint {
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("a checkpoint always serializes")
    }

    /// Decodes one checkpoint, bounded; checks its form, not its signature.
    pub fn decode(bytes: &[u8]) -> Result<SignedCheckpoint, CheckpointError> {
        if bytes.len() > MAX_CHECKPOINT_BYTES {
            return Err(CheckpointError::TooLarge(bytes.len()));
        }
        let sc: SignedCheckpoint =
            postcard::from_bytes(bytes).map_err(|e| CheckpointError::Decode(e.to_string()))?;
        if sc.checkpoint.heads.len() > MAX_CHECKPOINT_HEADS {
            return Err(CheckpointError::TooManyHeads(sc.checkpoint.heads.len()));
        }
        sc.doc()?;
        Ok(sc)
    }

    /// The document it is of.
    pub fn doc(&self) -> Result<DocId, CheckpointError> {
        self.checkpoint
            .doc
            .parse()
            .map_err(|_| CheckpointError::BadDoc(self.checkpoint.doc.chars().take(64).collect()))
    }

    /// The device key, if the signature is that device's (strictly).
    pub fn verify(&self) -> Result<PublicKey, CheckpointError> {
        let key = PublicKey::from_bytes(self.checkpoint.device)
            .map_err(|_| CheckpointError::BadDevice)?;
        let sig =
            Signature::from_slice(&self.signature).map_err(|_| CheckpointError::BadSignature)?;
        key.verify(PURPOSE, &[&self.checkpoint.body()], &sig)
            .map_err(|_| CheckpointError::BadSignature)?;
        Ok(key)
    }

    /// Whether the signature is that of `key`, checked once already (an
    /// enrolled device's, decompressed once per replica rather than per
    /// checkpoint: every node checks every device's checkpoints).
    pub fn verify_prepared(&self, key: &keys::PreparedKey) -> Result<(), CheckpointError> {
        let sig =
            Signature::from_slice(&self.signature).map_err(|_| CheckpointError::BadSignature)?;
        key.verify(PURPOSE, &[&self.checkpoint.body()], &sig)
            .map_err(|_| CheckpointError::BadSignature)
    }

    /// Which of two checkpoints of one device and document is the later: more
    /// changes held, then the later time (an honest device's document only
    /// grows), then the signature, so every replica keeps the same one.
    fn rank(&self) -> (u64, i64, &[u8]) {
        (self.checkpoint.changes, self.checkpoint.at, &self.signature)
    }

    /// What [`SignedCheckpoint::rank`] orders by, owned.
    pub fn rank_key(&self) -> (u64, i64, Vec<u8>) {
        (
            self.checkpoint.changes,
            self.checkpoint.at,
            self.signature.clone(),
        )
    }
}

/// The checkpoints a replica keeps: the latest of each enrolled device for
/// each document, each numbered in the order it came (what a connection has
/// sent of them is the number it reached).
#[derive(Debug, Default, Clone)]
pub struct Checkpoints {
    latest: BTreeMap<([u8; 32], DocId), (u64, SignedCheckpoint)>,
    /// The same, by number.
    by_seq: BTreeMap<u64, ([u8; 32], DocId)>,
    next: u64,
    /// Documents kept per device (its share, [`MAX_PER_DEVICE`]).
    per_device: BTreeMap<[u8; 32], usize>,
}

impl Checkpoints {
    /// Takes a checkpoint: kept if its signature is its device's, the device
    /// is enrolled under `trust`, and it is later than the one held of that
    /// device and document. Returns whether it was kept.
    pub fn admit(&mut self, sc: SignedCheckpoint, trust: &Trust) -> Result<bool, CheckpointError> {
        if sc.checkpoint.heads.len() > MAX_CHECKPOINT_HEADS {
            return Err(CheckpointError::TooManyHeads(sc.checkpoint.heads.len()));
        }
        if !self.would_keep(&sc) {
            return Ok(false);
        }
        let key = (sc.checkpoint.device, sc.doc()?);
        let device = sc.verify()?;
        Ok(self.keep(key, sc, &device, trust))
    }

    /// Whether a checkpoint would be kept, before its signature is checked
    /// (cheap: a peer's repeats and older ones cost no verification): a
    /// document, later than the one held of that device and document, and
    /// room for it.
    pub fn would_keep(&self, sc: &SignedCheckpoint) -> bool {
        let Ok(doc) = sc.doc() else { return false };
        if sc.checkpoint.heads.len() > MAX_CHECKPOINT_HEADS {
            return false;
        }
        match self.latest.get(&(sc.checkpoint.device, doc)) {
            Some((_, held)) => held.rank() < sc.rank(),
            None => {
                self.latest.len() < MAX_KEPT
                    && self
                        .per_device
                        .get(&sc.checkpoint.device)
                        .copied()
                        .unwrap_or(0)
                        < MAX_PER_DEVICE
            }
        }
    }

    /// [`Checkpoints::admit`] of a checkpoint whose signature `device`'s
    /// key was checked already.
    pub(crate) fn admit_verified(
        &mut self,
        sc: SignedCheckpoint,
        device: &PublicKey,
        trust: &Trust,
    ) -> bool {
        let Ok(doc) = sc.doc() else { return false };
        let key = (sc.checkpoint.device, doc);
        if let Some((_, held)) = self.latest.get(&key)
            && held.rank() >= sc.rank()
        {
            return false;
        }
        self.keep(key, sc, device, trust)
    }

    fn keep(
        &mut self,
        key: ([u8; 32], DocId),
        sc: SignedCheckpoint,
        device: &PublicKey,
        trust: &Trust,
    ) -> bool {
        if !trust.is_enrolled(device) {
            return false;
        }
        if !self.latest.contains_key(&key) {
            let mine = self.per_device.entry(key.0).or_default();
            if self.latest.len() >= MAX_KEPT || *mine >= MAX_PER_DEVICE {
                return false;
            }
            *mine += 1;
        }
        let seq = self.next;
        self.next += 1;
        if let Some((old, _)) = self.latest.insert(key.clone(), (seq, sc)) {
            self.by_seq.remove(&old);
        }
        self.by_seq.insert(seq, key);
        true
    }

    /// Every checkpoint kept, by device and document.
    pub fn iter(&self) -> impl Iterator<Item = &SignedCheckpoint> {
        self.latest.values().map(|(_, sc)| sc)
    }

    /// The checkpoints of one document, by device.
    pub fn of_doc<'a>(&'a self, doc: &'a DocId) -> impl Iterator<Item = &'a SignedCheckpoint> {
        self.latest
            .iter()
            .filter(move |((_, d), _)| d == doc)
            .map(|(_, (_, sc))| sc)
    }

    /// A device's latest checkpoint of a document.
    pub fn latest(&self, device: &PublicKey, doc: &DocId) -> Option<&SignedCheckpoint> {
        self.latest
            .get(&(*device.as_bytes(), doc.clone()))
            .map(|(_, sc)| sc)
    }

    /// Checkpoints taken from number `seq` on (what a connection has not
    /// sent yet), at most `limit`, each with its number.
    pub fn after(&self, seq: u64, limit: usize) -> Vec<(u64, &SignedCheckpoint)> {
        self.by_seq
            .range(seq..)
            .take(limit)
            .filter_map(|(n, k)| self.latest.get(k).map(|(_, sc)| (*n, sc)))
            .collect()
    }

    /// The number the next checkpoint kept will have.
    pub fn next_seq(&self) -> u64 {
        self.next
    }

    pub fn len(&self) -> usize {
        self.latest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.latest.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crdt_schema::automerge::transaction::Transactable;
    use crdt_schema::automerge::{Automerge, ROOT};

    /// The trust of a registry enrolling `device`.
    fn enrolling(authority: &SecretKey, device: &PublicKey) -> Trust {
        let cert = keys::DeviceCert::issue(
            authority,
            keys::DeviceBody {
                endpoint_id: *device,
                label: "狱政科PC".into(),
                enrolled: "2026-01-01".parse().unwrap(),
            },
        )
        .unwrap();
        let mut am = Automerge::new();
        let mut tx = am.transaction();
        tx.put(ROOT, format!("device/{device}"), cert.to_json())
            .unwrap();
        tx.commit();
        Trust::from_registry(authority.public(), &am)
    }

    #[test]
    fn a_checkpoint_verifies_only_as_signed_and_round_trips() {
        let device = SecretKey::from_seed(&[7; 32]);
        let doc: DocId = "month/D01/2026-03".parse().unwrap();
        let cp = Checkpoint::of(
            &device.public(),
            &doc,
            &[ChangeHash([3; 32])],
            12,
            1_790_000_000,
        )
        .sign(&device);
        let back = SignedCheckpoint::decode(&cp.encode()).unwrap();
        assert_eq!(back, cp);
        assert_eq!(back.verify().unwrap(), device.public());
        let mut altered = cp.clone();
        altered.checkpoint.changes = 11;
        assert_eq!(altered.verify(), Err(CheckpointError::BadSignature));
        // Signed by another key in this device's name.
        let forged =
            Checkpoint::of(&device.public(), &doc, &[], 0, 1).sign(&SecretKey::from_seed(&[8; 32]));
        assert_eq!(forged.verify(), Err(CheckpointError::BadSignature));
        assert!(SignedCheckpoint::decode(&[0xff; 40]).is_err());
    }

    #[test]
    fn only_an_enrolled_devices_later_checkpoint_is_kept_and_numbered() {
        let device = SecretKey::from_seed(&[7; 32]);
        let doc: DocId = "month/D01/2026-03".parse().unwrap();
        let authority = SecretKey::from_seed(&[1; 32]);
        // No device enrolled in an empty registry: nothing is kept.
        let none = Trust::from_registry(authority.public(), &Automerge::new());
        let mut cps = Checkpoints::default();
        let first =
            Checkpoint::of(&device.public(), &doc, &[ChangeHash([3; 32])], 2, 100).sign(&device);
        assert_eq!(cps.admit(first.clone(), &none), Ok(false));
        assert!(cps.is_empty());
        let trust = enrolling(&authority, &device.public());
        assert_eq!(cps.admit(first.clone(), &trust), Ok(true));
        assert_eq!(cps.admit(first.clone(), &trust), Ok(false), "held already");
        let earlier = Checkpoint::of(&device.public(), &doc, &[], 1, 200).sign(&device);
        assert_eq!(
            cps.admit(earlier, &trust),
            Ok(false),
            "fewer changes: older"
        );
        let later =
            Checkpoint::of(&device.public(), &doc, &[ChangeHash([4; 32])], 3, 300).sign(&device);
        assert_eq!(cps.admit(later.clone(), &trust), Ok(true));
        assert_eq!(cps.len(), 1);
        assert_eq!(cps.latest(&device.public(), &doc), Some(&later));
        // What a connection that sent up to the first has not sent: the later one.
        assert_eq!(cps.after(1, 10), vec![(1, &later)]);
        assert_eq!(cps.next_seq(), 2);
        assert!(cps.after(2, 10).is_empty());
        // A checkpoint naming more heads than a document has is refused
        // before its signature is even checked.
        let wide = Checkpoint::of(
            &device.public(),
            &doc,
            &vec![ChangeHash([9; 32]); MAX_CHECKPOINT_HEADS + 1],
            9,
            400,
        )
        .sign(&device);
        assert!(!cps.would_keep(&wide));
        assert!(SignedCheckpoint::decode(&wide.encode()).is_err());
    }

    #[test]
    fn one_device_fills_its_own_share_not_the_replica() {
        let authority = SecretKey::from_seed(&[1; 32]);
        let (flooder, honest) = (
            SecretKey::from_seed(&[7; 32]),
            SecretKey::from_seed(&[8; 32]),
        );
        let mut am = Automerge::new();
        let mut tx = am.transaction();
        for (k, label) in [(&flooder, "a"), (&honest, "b")] {
            let cert = keys::DeviceCert::issue(
                &authority,
                keys::DeviceBody {
                    endpoint_id: k.public(),
                    label: label.into(),
                    enrolled: "2026-01-01".parse().unwrap(),
                },
            )
            .unwrap();
            tx.put(ROOT, format!("device/{}", k.public()), cert.to_json())
                .unwrap();
        }
        tx.commit();
        let trust = Trust::from_registry(authority.public(), &am);
        let mut cps = Checkpoints::default();
        // Checkpoints of districts no registry has, one per document.
        let mut kept = 0;
        for i in 0..MAX_PER_DEVICE + 5 {
            let doc: DocId = format!("month/X{i}/2026-03").parse().unwrap();
            let cp = Checkpoint::of(&flooder.public(), &doc, &[], 1, 1).sign(&flooder);
            kept += usize::from(cps.admit(cp, &trust).unwrap());
        }
        assert_eq!(kept, MAX_PER_DEVICE);
        // Another device's checkpoints are still kept.
        let doc: DocId = "month/D01/2026-03".parse().unwrap();
        let cp = Checkpoint::of(&honest.public(), &doc, &[], 1, 1).sign(&honest);
        assert_eq!(cps.admit(cp, &trust), Ok(true));
    }
}
