//! A change with its author's signature, and their byte encoding.

use crdt_schema::DocId;
use crdt_schema::automerge::{Automerge, Change, ChangeHash};
use keys::{PreparedKey, PublicKey, SecretKey, Signature};

use super::History;

/// An Automerge change and the Ed25519 signature of its author over the
/// document's name and the change's hash.
#[derive(Debug, Clone)]
pub struct SignedChange {
    pub change: Change,
    pub signature: Signature,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("signed change shorter than a signature ({0} bytes)")]
    Short(usize),
    #[error("not an Automerge change: {0}")]
    Change(String),
}

/// The author of `change`: its own, or its actor's as recorded in `doc`.
pub fn author_of(change: &Change, doc: &Automerge) -> Option<Vec<u8>> {
    author_with(change, doc)
}

/// Like [`author_of`], over any [`History`].
pub fn author_with(change: &Change, history: &dyn History) -> Option<Vec<u8>> {
    match change.author() {
        Some(a) => Some(a.as_bytes().to_vec()),
        None if change.seq() > 1 => history.actor_author(change.actor_id()),
        None => None,
    }
}

fn message_parts(doc: &DocId, hash: &ChangeHash) -> (Vec<u8>, [u8; 32]) {
    (doc.to_string().into_bytes(), hash.0)
}

impl SignedChange {
    /// Signs `change` for `doc` with `key`.
    pub fn sign(key: &SecretKey, doc: &DocId, change: Change) -> SignedChange {
        let (d, h) = message_parts(doc, &change.hash());
        let signature = key.sign("change", &[&d, &h]);
        SignedChange { change, signature }
    }

    /// Whether the signature is `author`'s, strictly, over this change for `doc`.
    pub fn verify(&self, doc: &DocId, author: &PublicKey) -> bool {
        author
            .prepare()
            .is_ok_and(|k| self.verify_prepared(doc, &k))
    }

    /// [`SignedChange::verify`] with the author's key already prepared.
    pub fn verify_prepared(&self, doc: &DocId, author: &PreparedKey) -> bool {
        let (d, h) = message_parts(doc, &self.change.hash());
        author.verify("change", &[&d, &h], &self.signature).is_ok()
    }

    pub fn hash(&self) -> ChangeHash {
        self.change.hash()
    }

    /// The author of the change. Automerge records the author in an actor's
    /// first change only; later changes of the actor (which depend on that
    /// first one, so the hash chain covers it) inherit it, as `doc` knows.
    pub fn author_in(&self, doc: &Automerge) -> Option<Vec<u8>> {
        author_of(&self.change, doc)
    }

    /// `signature (64 bytes) | change bytes`.
    pub fn encode(&self) -> Vec<u8> {
        let raw = self.change.raw_bytes();
        let mut out = Vec::with_capacity(64 + raw.len());
        out.extend_from_slice(&self.signature.to_bytes());
        out.extend_from_slice(raw);
        out
    }

    /// The inverse of [`SignedChange::encode`]; never panics on any input.
    pub fn decode(bytes: &[u8]) -> Result<SignedChange, DecodeError> {
        if bytes.len() < 64 {
            return Err(DecodeError::Short(bytes.len()));
        }
        let (sig, raw) = bytes.split_at(64);
        let change =
            Change::from_bytes(raw.to_vec()).map_err(|e| DecodeError::Change(e.to_string()))?;
        let signature =
            Signature::from_slice(sig).map_err(|e| DecodeError::Change(e.to_string()))?;
        Ok(SignedChange { change, signature })
    }
}
