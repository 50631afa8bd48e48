//! The sync protocol's messages and their byte encoding (postcard), with the
//! bounds every decoder enforces: a peer can make us allocate at most
//! [`MAX_MESSAGE_BYTES`] per message and nothing it sends can panic the node.

use serde::{Deserialize, Serialize};

/// Version of the protocol; peers of another version are refused. Version 2
/// added [`Wire::Checkpoints`]; version 3 the roster's year shards
/// (`roster/<YYYY>`, documents a node of version 2 cannot name). Every node
/// of a prison is upgraded together: nodes of two versions refuse each
/// other, saying so.
pub const PROTOCOL_VERSION: u32 = 3;
/// Largest encoded message.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// Change bytes one message may carry (the rest follows in later messages).
pub const MAX_CHANGE_BYTES: usize = 4 * 1024 * 1024;
/// Most documents one inventory may name.
pub const MAX_DOCS: usize = 100_000;
/// Most heads one document may have in an inventory.
pub const MAX_HEADS: usize = 4096;
/// Most changes one message may carry.
pub const MAX_CHANGES: usize = 100_000;
/// Most checkpoints one message may carry.
pub const MAX_CHECKPOINTS: usize = 10_000;

/// The heads of one document, in an inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocHeads {
    pub doc: String,
    pub heads: Vec<[u8; 32]>,
}

/// What peers send each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Wire {
    /// First message of a connection: protocol version and the documents the
    /// sender holds, with their heads.
    Hello { version: u32, docs: Vec<DocHeads> },
    /// One round of Automerge's sync protocol for one document (heads, needs
    /// and Bloom-filter summary, with no changes inside), plus the signed
    /// changes the sender believes the recipient lacks.
    Sync {
        doc: String,
        message: Vec<u8>,
        changes: Vec<Vec<u8>>,
    },
    /// Signed checkpoints (`checkpoint::SignedCheckpoint`, encoded) the
    /// sender holds and has not sent on this connection: its own and those
    /// it relays.
    Checkpoints(Vec<Vec<u8>>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("message of {0} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("undecodable message: {0}")]
    Decode(String),
    #[error("message exceeds a limit: {0}")]
    Limit(&'static str),
}

impl Wire {
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("wire messages always serialize")
    }

    /// Decodes and checks the bounds of one message.
    pub fn decode(bytes: &[u8]) -> Result<Wire, WireError> {
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(WireError::TooLarge(bytes.len()));
        }
        let w: Wire = postcard::from_bytes(bytes).map_err(|e| WireError::Decode(e.to_string()))?;
        match &w {
            Wire::Hello { docs, .. } => {
                if docs.len() > MAX_DOCS {
                    return Err(WireError::Limit("documents in an inventory"));
                }
                if docs.iter().any(|d| d.heads.len() > MAX_HEADS) {
                    return Err(WireError::Limit("heads of a document"));
                }
            }
            Wire::Sync { changes, .. } => {
                if changes.len() > MAX_CHANGES {
                    return Err(WireError::Limit("changes in a message"));
                }
            }
            Wire::Checkpoints(c) => {
                if c.len() > MAX_CHECKPOINTS {
                    return Err(WireError::Limit("checkpoints in a message"));
                }
            }
        }
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip() {
        let w = Wire::Sync {
            doc: "month/D01/2026-03".into(),
            message: vec![1, 2, 3],
            changes: vec![vec![4; 70]],
        };
        assert_eq!(Wire::decode(&w.encode()), Ok(w));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Wire::decode(&bytes);
        }
    }
}
