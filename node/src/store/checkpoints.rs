//! The signed checkpoints a replica keeps (`DATA/checkpoints.log`): its own
//! and those its peers relayed (`replica_core::checkpoint`). Framed like a
//! log, appended and fsynced as they come; rewritten with only the latest of
//! each device and document once most of it is superseded.

use std::path::PathBuf;

use replica_core::checkpoint::SignedCheckpoint;

use super::{Store, StoreError, frame};

const FILE: &str = "checkpoints.log";

/// Where the file ends, as this process last read or wrote it.
#[derive(Debug, Clone, Copy)]
pub(super) struct LogEnd {
    /// The end of its last intact record: the next one goes there.
    valid_len: u64,
    /// Its length then: another length means another process appended.
    file_len: u64,
    records: usize,
}

impl Store {
    pub fn checkpoints_path(&self) -> PathBuf {
        self.root.join(FILE)
    }

    /// Every checkpoint stored (older ones of a device and document too),
    /// and what was skipped reading them.
    pub fn checkpoints(&self) -> Result<(Vec<SignedCheckpoint>, Vec<String>), StoreError> {
        let path = self.checkpoints_path();
        let bytes = self.read_optional(&path)?.unwrap_or_default();
        let scan = frame::scan(&bytes);
        let mut issues: Vec<String> = scan
            .issues
            .iter()
            .map(|i| format!("{}: {i}", path.display()))
            .collect();
        let mut out = Vec::with_capacity(scan.records.len());
        for (i, r) in scan.records.iter().enumerate() {
            match SignedCheckpoint::decode(&bytes[r.clone()]) {
                Ok(cp) => out.push(cp),
                Err(e) => issues.push(format!("{}: record {i}: {e}, skipped", path.display())),
            }
        }
        Ok((out, issues))
    }

    /// Appends checkpoints (fsynced before this returns). Returns how many
    /// records the file holds now.
    pub fn append_checkpoints(&self, cps: &[SignedCheckpoint]) -> Result<usize, StoreError> {
        let path = self.checkpoints_path();
        let mut end = self
            .checkpoint_log
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let on_disk = self.len_of(&path);
        let mut at = match *end {
            Some(e) if e.file_len == on_disk => e,
            _ => {
                let bytes = self.read_optional(&path)?.unwrap_or_default();
                let scan = frame::scan(&bytes);
                if scan.issues.contains(&frame::FrameIssue::BadMagic) && !bytes.is_empty() {
                    // Not a checkpoint file (or its header was hit): kept
                    // aside, started again — checkpoints come back from peers.
                    super::keep_damaged_on(self.disk.as_ref(), &path)?;
                    LogEnd {
                        valid_len: 0,
                        file_len: 0,
                        records: 0,
                    }
                } else {
                    LogEnd {
                        valid_len: scan.valid_len,
                        file_len: bytes.len() as u64,
                        records: scan.records.len(),
                    }
                }
            }
        };
        if cps.is_empty() {
            *end = Some(at);
            return Ok(at.records);
        }
        let mut buf = Vec::new();
        if at.valid_len == 0 {
            buf.extend_from_slice(frame::LOG_MAGIC);
        }
        for cp in cps {
            frame::encode(&cp.encode(), &mut buf);
        }
        self.append_at(&path, at.valid_len, &buf)?;
        at.valid_len += buf.len() as u64;
        at.file_len = at.valid_len;
        at.records += cps.len();
        *end = Some(at);
        Ok(at.records)
    }

    /// Replaces the file with exactly these checkpoints (atomically).
    pub fn rewrite_checkpoints<'a>(
        &self,
        cps: impl IntoIterator<Item = &'a SignedCheckpoint>,
    ) -> Result<(), StoreError> {
        let path = self.checkpoints_path();
        let mut end = self
            .checkpoint_log
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mut buf = frame::LOG_MAGIC.to_vec();
        let mut records = 0;
        for cp in cps {
            frame::encode(&cp.encode(), &mut buf);
            records += 1;
        }
        self.write_atomic(&path, &buf)?;
        *end = Some(LogEnd {
            valid_len: buf.len() as u64,
            file_len: buf.len() as u64,
            records,
        });
        Ok(())
    }
}
