//! Export bundles: one self-contained file of signed changes — the registry's
//! and one or more district-months' — carried to the procuratorate on a USB
//! stick and verified there from scratch (`tally verify`).
//!
//! Layout: the magic `TALLYBD1`, then framed records (length, CRC-32,
//! payload; see `store::frame`): a header, the registry's signed changes, the
//! month documents' signed changes, and an end record holding the number of
//! records before it and the SHA-256 of everything before it, so a bundle cut
//! short or spliced is detected even at a record boundary. The CRCs and the
//! end digest only detect damage; authenticity comes from the signatures
//! inside, checked against an authority key the verifier supplies.
//!
//! Before the end record comes the exporter's [`Statement`]: the documents,
//! their heads and change counts, the time, the exporting device, and the
//! SHA-256 of every byte before it, signed with the device's key (the key
//! the authority enrolled it by). Each change is signed by its author, but
//! only the statement says what the exporter chose to carry: a bundle that
//! leaves a change out is then the exporter's signed word that it had no
//! more, evidence against the device that signed it. A bundle from a tally
//! before statements has none, and `verify` says so.

use std::collections::BTreeMap;

use crdt_schema::{DocId, Month};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::store::frame;
use crate::validate::SignedChange;

const MAGIC: &[u8; 8] = b"TALLYBD1";
const FORMAT: &str = "tally-bundle/1";
const KIND_HEADER: u8 = 0;
const KIND_REGISTRY: u8 = 1;
const KIND_MONTH: u8 = 2;
const KIND_STATEMENT: u8 = 3;
const KIND_END: u8 = 9;
const STATEMENT_FORMAT: &str = "tally-bundle-statement/1";
/// The signature domain of a statement (see `keys::signing_message`).
const STATEMENT_PURPOSE: &str = "bundle-statement";

/// Largest bundle `decode` accepts (a 10,000-inmate month is a few MB).
pub const MAX_BUNDLE_BYTES: usize = 2 * 1024 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub format: String,
    pub prison: String,
    pub month: Month,
    /// The district, for a one-district bundle.
    pub district: Option<String>,
    /// The authority the exporter trusts: informational only, never used to verify.
    pub authority: String,
}

#[derive(Debug, Clone)]
pub struct Bundle {
    pub header: Header,
    pub registry: Vec<SignedChange>,
    /// Every other document carried, by name: the district-months, and the
    /// roster's shards their reports read (those up to the month's year).
    pub months: BTreeMap<DocId, Vec<SignedChange>>,
    /// The exporter's signed statement, if the bundle has one.
    pub statement: Option<SignedStatement>,
    /// SHA-256 of the bytes before the statement record (or before the end
    /// record, without one), as read: what a statement must name to cover
    /// the bundle. Set by [`Bundle::decode`]; ignored by the encoders.
    pub content_digest: [u8; 32],
}

/// What the exporter states it put in the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    pub format: String,
    /// Hex SHA-256 of every byte of the bundle before the statement.
    pub content: String,
    /// Every document carried: its name, change count and heads.
    pub documents: Vec<StatedDocument>,
    /// Seconds since the epoch, by the exporting device's clock.
    pub exported_at: i64,
    /// Hex public key of the exporting device.
    pub device: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatedDocument {
    pub document: String,
    pub changes: u64,
    /// Hex hashes of the changes no other carried change depends on.
    pub heads: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedStatement {
    pub statement: Statement,
    /// Hex Ed25519 signature by `statement.device` over the statement's JSON.
    pub signature: String,
}

impl SignedStatement {
    /// Whether the signature is the stated device's over the statement
    /// (strict verification).
    pub fn verifies(&self) -> Result<keys::PublicKey, String> {
        if self.statement.format != STATEMENT_FORMAT {
            return Err(format!(
                "format `{}`, expected {STATEMENT_FORMAT}",
                self.statement.format.chars().take(40).collect::<String>()
            ));
        }
        let key = hex::decode(&self.statement.device)
            .ok()
            .and_then(|b| keys::PublicKey::from_slice(&b).ok())
            .ok_or_else(|| {
                format!(
                    "device key `{}` is not a public key",
                    self.statement.device.chars().take(64).collect::<String>()
                )
            })?;
        let sig = hex::decode(&self.signature)
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b.as_slice()).ok())
            .map(keys::Signature::from_bytes)
            .ok_or_else(|| "the signature is not 64 bytes of hex".to_string())?;
        let body = serde_json::to_vec(&self.statement).map_err(|e| e.to_string())?;
        key.verify(STATEMENT_PURPOSE, &[&body], &sig)
            .map(|()| key)
            .map_err(|_| "the signature does not verify".to_string())
    }
}

/// What a bundle carries, document by document (the registry first), as a
/// statement states it.
pub fn carried(
    registry: &[SignedChange],
    months: &BTreeMap<DocId, Vec<SignedChange>>,
) -> Vec<StatedDocument> {
    let mut documents = vec![StatedDocument {
        document: DocId::Registry.to_string(),
        changes: registry.len() as u64,
        heads: heads_of(registry),
    }];
    for (doc, changes) in months {
        documents.push(StatedDocument {
            document: doc.to_string(),
            changes: changes.len() as u64,
            heads: heads_of(changes),
        });
    }
    documents
}

/// The heads of a document's carried changes: those no other depends on.
fn heads_of(changes: &[SignedChange]) -> Vec<String> {
    let deps: std::collections::BTreeSet<_> = changes
        .iter()
        .flat_map(|c| c.change.deps().iter().copied())
        .collect();
    let mut heads: Vec<String> = changes
        .iter()
        .map(|c| c.change.hash())
        .filter(|h| !deps.contains(h))
        .map(|h| h.to_string())
        .collect();
    heads.sort();
    heads
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("not a tally bundle (bad header)")]
    BadMagic,
    #[error("corrupt bundle: {0}")]
    Corrupt(String),
    #[error("truncated bundle: {0}")]
    Truncated(String),
    #[error(
        "{len} bytes after the bundle's end record (at byte {at}): the file was added to, or is two files joined"
    )]
    Trailing { at: usize, len: usize },
}

impl Bundle {
    /// The bundle's bytes, with its statement as it stands (a decoded one
    /// re-encoded; one that no longer covers the contents is then seen by
    /// `verify`).
    pub fn encode(&self) -> Vec<u8> {
        let (mut out, records) = self.encode_contents();
        let mut records = records;
        if let Some(st) = &self.statement {
            let mut p = vec![KIND_STATEMENT];
            p.extend_from_slice(
                serde_json::to_string(st)
                    .expect("statement serializes")
                    .as_bytes(),
            );
            frame::encode(&p, &mut out);
            records += 1;
        }
        Self::finish(out, records)
    }

    /// The bundle's bytes with a statement of what it carries, signed by
    /// `device` at `time`: what `tally export` writes.
    pub fn encode_signed(&mut self, device: &keys::SecretKey, time: i64) -> Vec<u8> {
        let (out, _) = self.encode_contents();
        let content: [u8; 32] = Sha256::digest(&out).into();
        let documents = carried(&self.registry, &self.months);
        let statement = Statement {
            format: STATEMENT_FORMAT.into(),
            content: hex::encode(content),
            documents,
            exported_at: time,
            device: hex::encode(device.public().as_bytes()),
        };
        let body = serde_json::to_vec(&statement).expect("statement serializes");
        let signature = device.sign(STATEMENT_PURPOSE, &[&body]);
        self.statement = Some(SignedStatement {
            statement,
            signature: hex::encode(signature.to_bytes()),
        });
        self.content_digest = content;
        self.encode()
    }

    /// The end record after `out`, which holds `records` records.
    fn finish(mut out: Vec<u8>, records: u64) -> Vec<u8> {
        let digest: [u8; 32] = Sha256::digest(&out).into();
        let mut end = vec![KIND_END];
        end.extend_from_slice(&records.to_le_bytes());
        end.extend_from_slice(&digest);
        frame::encode(&end, &mut out);
        out
    }

    /// The magic, header, registry and month records, and their count.
    fn encode_contents(&self) -> (Vec<u8>, u64) {
        let mut out = MAGIC.to_vec();
        let mut records = 0u64;
        let mut push = |out: &mut Vec<u8>, payload: Vec<u8>| {
            frame::encode(&payload, out);
            records += 1;
        };
        let mut header = vec![KIND_HEADER];
        header.extend_from_slice(
            serde_json::to_string(&self.header)
                .expect("header serializes")
                .as_bytes(),
        );
        push(&mut out, header);
        for sc in &self.registry {
            let mut p = vec![KIND_REGISTRY];
            p.extend_from_slice(&sc.encode());
            push(&mut out, p);
        }
        for (doc, changes) in &self.months {
            let name = doc.to_string();
            for sc in changes {
                let mut p = vec![KIND_MONTH];
                p.extend_from_slice(&(name.len() as u16).to_le_bytes());
                p.extend_from_slice(name.as_bytes());
                p.extend_from_slice(&sc.encode());
                push(&mut out, p);
            }
        }
        (out, records)
    }

    /// Reads a bundle; any damage is an error naming where. Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Bundle, BundleError> {
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(BundleError::Corrupt(format!(
                "{} bytes is larger than any bundle",
                bytes.len()
            )));
        }
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(BundleError::BadMagic);
        }
        let scan = frame::scan_with(bytes, MAGIC);
        // A bundle ends at its end record: whatever follows is not part of it.
        if let Some(end) = scan
            .records
            .iter()
            .find(|r| bytes[(*r).clone()].first() == Some(&KIND_END))
            && end.end < bytes.len()
        {
            return Err(BundleError::Trailing {
                at: end.end,
                len: bytes.len() - end.end,
            });
        }
        if let Some(issue) = scan.issues.first() {
            return match issue {
                frame::FrameIssue::TornTail { offset, .. } => Err(BundleError::Truncated(format!(
                    "cut short at byte {offset}"
                ))),
                other => Err(BundleError::Corrupt(other.to_string())),
            };
        }
        let n = scan.records.len();
        let (end, records) = scan
            .records
            .split_last()
            .ok_or_else(|| BundleError::Truncated("no records".into()))?;
        // The end record: count and digest of everything before it.
        let end_at = end.start - 8;
        match bytes[end.clone()].split_first() {
            Some((&KIND_END, rest)) if rest.len() == 40 => {
                let count = u64::from_le_bytes(rest[..8].try_into().expect("8 bytes"));
                if count != (n - 1) as u64 {
                    return Err(BundleError::Truncated(format!(
                        "end record counts {count} records, found {}",
                        n - 1
                    )));
                }
                let digest: [u8; 32] = Sha256::digest(&bytes[..end_at]).into();
                if digest[..] != rest[8..] {
                    return Err(BundleError::Corrupt(
                        "bundle digest does not match its contents".into(),
                    ));
                }
            }
            _ => return Err(BundleError::Truncated("no end record".into())),
        }
        // What a statement covers: the bytes before its frame (8 bytes of
        // length and CRC before the payload), or before the end record.
        let content_end = records
            .last()
            .filter(|r| bytes[(*r).clone()].first() == Some(&KIND_STATEMENT))
            .map_or(end_at, |r| r.start - 8);
        let content_digest: [u8; 32] = Sha256::digest(&bytes[..content_end]).into();
        let records: Vec<&[u8]> = records.iter().map(|r| &bytes[r.clone()]).collect();
        let last = records.len().saturating_sub(1);
        let mut it = records.iter().enumerate();
        let header = match it.next() {
            Some((_, r)) if r.first() == Some(&KIND_HEADER) => {
                serde_json::from_slice::<Header>(&r[1..])
                    .map_err(|e| BundleError::Corrupt(format!("header: {e}")))?
            }
            _ => {
                return Err(BundleError::Corrupt(
                    "first record is not the header".into(),
                ));
            }
        };
        if header.format != FORMAT {
            return Err(BundleError::Corrupt(format!(
                "format `{}`, expected {FORMAT}",
                header.format
            )));
        }
        let mut bundle = Bundle {
            header,
            registry: Vec::new(),
            months: BTreeMap::new(),
            statement: None,
            content_digest,
        };
        for (i, r) in it {
            let bad = |what: String| BundleError::Corrupt(format!("record {i}: {what}"));
            match r.split_first() {
                Some((&KIND_REGISTRY, rest)) => {
                    bundle
                        .registry
                        .push(SignedChange::decode(rest).map_err(|e| bad(e.to_string()))?);
                }
                Some((&KIND_MONTH, rest)) => {
                    let len = rest
                        .get(..2)
                        .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
                        .ok_or_else(|| bad("short".into()))?;
                    let name = rest
                        .get(2..2 + len)
                        .and_then(|b| std::str::from_utf8(b).ok())
                        .ok_or_else(|| bad("bad document name".into()))?;
                    let doc: DocId = name
                        .parse()
                        .map_err(|e: crdt_schema::layout::KeyError| bad(e.to_string()))?;
                    if doc == DocId::Registry {
                        return Err(bad("month record for the registry".into()));
                    }
                    let sc =
                        SignedChange::decode(&rest[2 + len..]).map_err(|e| bad(e.to_string()))?;
                    bundle.months.entry(doc).or_default().push(sc);
                }
                // The statement comes last, after everything it covers.
                Some((&KIND_STATEMENT, rest)) if i == last => {
                    bundle.statement = Some(
                        serde_json::from_slice(rest)
                            .map_err(|e| bad(format!("the exporter's statement: {e}")))?,
                    );
                }
                Some((&KIND_STATEMENT, _)) => {
                    return Err(bad("a statement before the end of the contents".into()));
                }
                _ => return Err(bad("unknown record kind".into())),
            }
        }
        Ok(bundle)
    }

    pub fn new_header(
        prison: &str,
        month: Month,
        district: Option<&str>,
        authority: &str,
    ) -> Header {
        Header {
            format: FORMAT.into(),
            prison: prison.into(),
            month,
            district: district.map(str::to_string),
            authority: authority.into(),
        }
    }
}
