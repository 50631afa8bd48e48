//! The rest index (`DATA/rest.index`): for each document at rest, what its
//! files were when it was put to rest — their lengths, the snapshot's
//! modification time, a CRC-32 of their bytes — and the heads and number of
//! changes read from them then. A node start takes a document whose files
//! are still exactly those from here, without reading it into Automerge: a
//! year of sealed months starts in a fraction of a second instead of
//! seconds. A cache only: anything that does not match (a file written
//! since, an index damaged, absent or from another version) is read from the
//! files as if there were no index, and the index is written again.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crdt_schema::DocId;
use crdt_schema::automerge::ChangeHash;
use serde::{Deserialize, Serialize};

use super::{LogState, Store, StoreError};

/// The first bytes of the index file (its format's version).
const MAGIC: &[u8; 8] = b"TLYREST1";
/// The largest index read (a year of 10,000 inmates takes ~40 KB).
const MAX_INDEX_BYTES: usize = 16 * 1024 * 1024;
/// The most heads an entry may name (a resting document has a few).
const MAX_ENTRY_HEADS: usize = 1024;

/// One document at rest, as its files were when it was put to rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestEntry {
    /// The snapshot's length and modification time (seconds, nanoseconds
    /// since 1970), if there was one.
    snapshot: Option<(u64, u64, u32)>,
    /// The log's length, every byte of it an intact record.
    log_len: u64,
    /// How many records it held.
    records: u64,
    /// CRC-32 of the snapshot's bytes, then the log's.
    crc: u32,
    heads: Vec<[u8; 32]>,
    changes: u64,
}

impl RestEntry {
    /// The heads and number of changes it records.
    pub fn resting(&self) -> Option<replica_core::replica::Resting> {
        replica_core::replica::Resting::new(
            self.heads.iter().map(|h| ChangeHash(*h)).collect(),
            usize::try_from(self.changes).ok()?,
        )
    }
}

#[derive(Serialize, Deserialize)]
struct IndexFile {
    entries: Vec<(String, RestEntry)>,
}

fn stamp_parts(stamp: Option<(u64, SystemTime)>) -> Option<Option<(u64, u64, u32)>> {
    match stamp {
        None => Some(None),
        Some((len, at)) => {
            let since = at.duration_since(UNIX_EPOCH).ok()?;
            Some(Some((len, since.as_secs(), since.subsec_nanos())))
        }
    }
}

fn stamp_of(parts: Option<(u64, u64, u32)>) -> Option<(u64, SystemTime)> {
    parts.map(|(len, secs, nanos)| (len, UNIX_EPOCH + Duration::new(secs, nanos)))
}

impl Store {
    fn rest_index_path(&self) -> PathBuf {
        self.root.join("rest.index")
    }

    /// The rest index; empty when there is none or it cannot be read (it is
    /// a cache: the documents are then read from their files).
    pub fn rest_index(&self) -> BTreeMap<DocId, RestEntry> {
        let Ok(Some(bytes)) = self.read_optional(&self.rest_index_path()) else {
            return BTreeMap::new();
        };
        if bytes.len() > MAX_INDEX_BYTES || bytes.len() < MAGIC.len() + 4 {
            return BTreeMap::new();
        }
        let (head, rest) = bytes.split_at(MAGIC.len());
        let (body, crc) = rest.split_at(rest.len() - 4);
        if head != MAGIC || crc32fast::hash(body).to_le_bytes() != crc {
            return BTreeMap::new();
        }
        let Ok(file) = postcard::from_bytes::<IndexFile>(body) else {
            return BTreeMap::new();
        };
        file.entries
            .into_iter()
            .filter(|(_, e)| e.heads.len() <= MAX_ENTRY_HEADS)
            .filter_map(|(id, e)| Some((id.parse().ok()?, e)))
            .collect()
    }

    /// Writes the rest index (atomically: a crash leaves the old one or
    /// the new one).
    pub fn write_rest_index(&self, entries: &BTreeMap<DocId, RestEntry>) -> Result<(), StoreError> {
        let file = IndexFile {
            entries: entries
                .iter()
                .map(|(id, e)| (id.to_string(), e.clone()))
                .collect(),
        };
        let body = postcard::to_allocvec(&file).map_err(|e| StoreError::Corrupt {
            path: self.rest_index_path(),
            reason: e.to_string(),
        })?;
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&body);
        bytes.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        self.write_atomic(&self.rest_index_path(), &bytes)
    }

    /// CRC-32 of a document's snapshot and log as they are on disk now,
    /// with the log's length.
    fn files_crc(&self, id: &DocId) -> Result<(u32, u64), StoreError> {
        let mut h = crc32fast::Hasher::new();
        if let Some(snap) = self.read_optional(&self.snap_path(id))? {
            h.update(&snap);
        }
        let log = self.read_optional(&self.log_path(id))?.unwrap_or_default();
        h.update(&log);
        Ok((h.finalize(), log.len() as u64))
    }

    /// The rest entry of a document read as `log` says, with `heads` and
    /// `changes` read from it: `None` when its files are no longer exactly
    /// what was read (written since), or were not read whole (a damaged or
    /// torn file, an unfinished write): such a document is read again at
    /// the next start.
    pub fn rest_entry(
        &self,
        id: &DocId,
        log: &LogState,
        heads: &[ChangeHash],
        changes: usize,
    ) -> Result<Option<RestEntry>, StoreError> {
        if log.damaged_header || log.damaged_snapshot || self.log_cap(id)?.is_some() {
            return Ok(None);
        }
        if self.stamp(&self.snap_path(id)) != log.snapshot {
            return Ok(None);
        }
        let (crc, log_len) = self.files_crc(id)?;
        let Some(snapshot) = stamp_parts(log.snapshot) else {
            return Ok(None);
        };
        if log_len != log.valid_len || heads.is_empty() || heads.len() > MAX_ENTRY_HEADS {
            return Ok(None);
        }
        Ok(Some(RestEntry {
            snapshot,
            log_len,
            records: log.records as u64,
            crc,
            heads: heads.iter().map(|h| h.0).collect(),
            changes: changes as u64,
        }))
    }

    /// Where a document's log stands, if its files are still exactly what
    /// `entry` records (lengths, snapshot time, bytes): the document can
    /// rest without being read. `None`: read it.
    pub fn rest_matches(
        &self,
        id: &DocId,
        entry: &RestEntry,
    ) -> Result<Option<LogState>, StoreError> {
        let snapshot = self.stamp(&self.snap_path(id));
        if stamp_parts(snapshot) != Some(entry.snapshot) || self.log_cap(id)?.is_some() {
            return Ok(None);
        }
        let log_stamp = self.stamp(&self.log_path(id));
        if log_stamp.map_or(0, |(len, _)| len) != entry.log_len {
            return Ok(None);
        }
        let (crc, log_len) = self.files_crc(id)?;
        if crc != entry.crc || log_len != entry.log_len {
            return Ok(None);
        }
        Ok(Some(LogState {
            snapshot: stamp_of(entry.snapshot),
            records: usize::try_from(entry.records).unwrap_or(usize::MAX),
            valid_len: entry.log_len,
            damaged_header: false,
            damaged_len: 0,
            damaged_snapshot: false,
            log_stamp,
        }))
    }
}
