//! On-disk storage of a replica: one append-only log of changes plus one
//! compacted snapshot per document.
//!
//! ```text
//! DATA/tally.toml                      replica configuration
//! DATA/lock                            advisory lock: shared to read, exclusive to write
//! DATA/writer.id                       the device half of the actors written here
//! DATA/write.intent                    only while a write of several records is under way
//! DATA/checkpoints.log                 the devices' signed checkpoints this replica keeps
//! DATA/docs/registry.snap|.log|.quarantine
//! DATA/docs/month/<district>/<YYYY-MM>.snap|.log|.quarantine
//! ```
//!
//! A write is acknowledged only after its records are appended and fsynced;
//! a write of several records is whole or absent ([`Store::begin_intent`]).
//! A log is folded into its snapshot past 256 records, 4 MiB, or 16 KiB plus
//! a quarter of the snapshot (a replica fed change by change stays near the
//! origin's size).
//! Compaction writes a new snapshot atomically (temp file, fsync, rename,
//! fsync of the directory) before emptying the log, so a crash at any byte
//! leaves either the old or the new state, never a mix that loses a change.
//! Loading reports torn or corrupt records and skips them; one bad document
//! never stops the others from loading.

mod checkpoints;
pub mod disk;
pub mod frame;
mod rest_index;

use std::fs::File;

pub use disk::{Disk, RealDisk};
use std::path::{Path, PathBuf};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use crdt_schema::automerge::{Automerge, ChangeHash};
use crdt_schema::{DistrictId, DocId, Document, Month, SchemaError, Year};
use keys::{PublicKey, Signature};

use crate::validate::{Refusal, SignedChange, Wait};
pub use replica_core::replica::Kept;
use serde::{Deserialize, Serialize};

pub use rest_index::RestEntry;

/// Version of the data-directory layout.
pub const FORMAT: u32 = 1;
const CONFIG_FILE: &str = "tally.toml";

/// A log whose records outweigh this many bytes is folded into the snapshot.
const COMPACT_LOG_BYTES: u64 = 4 * 1024 * 1024;
/// A log with more records than this is folded into the snapshot.
const COMPACT_LOG_RECORDS: usize = 256;
/// The registry's log is folded at this many records, or past this many
/// bytes (a first sync's registry comes in a few large records; see
/// `maybe_compact_parts`).
const COMPACT_REGISTRY_RECORDS: usize = 16;
const COMPACT_REGISTRY_BYTES: u64 = 8 * 1024;
/// A log longer than this plus a quarter of its snapshot is folded in too: a
/// replica that receives a document change by change (a sync, a few rows
/// per save) keeps it within 1.25× its snapshot plus this, as the origin
/// does, instead of growing logs that every load replays.
const COMPACT_LOG_FLOOR: u64 = 16 * 1024;

/// Kinds of log records: a signed change (`signature | change`).
const RECORD_SIGNED: u8 = 2;
/// A refused change in a quarantine log as versions before typed reasons
/// wrote it: `reason length (u16 LE) | reason | signature | change` (a
/// pending one's reason starts with [`PENDING_PREFIX`]). Still read; no
/// longer written.
const RECORD_REFUSED: u8 = 3;
/// A change kept in a quarantine log, refused or pending, with why:
/// `length (u32 LE) | postcard of Kept | signature | change`.
const RECORD_KEPT: u8 = 5;
/// Most bytes of a stored reason read back (a reason is a few hundred).
const MAX_KEPT_BYTES: usize = 64 * 1024;
/// In a quarantine log: a change kept as pending was accepted since (its
/// 32-byte hash). Older versions skip the record; the change is in the
/// document, so they only keep it pending for nothing.
const RECORD_ACCEPTED: u8 = 4;
/// Accepted records a quarantine file may hold before it is rewritten
/// without them (at least this many, and at least as many as the changes
/// still in it: rewriting costs the file, so it happens once per doubling).
const QUARANTINE_REWRITE_MIN: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} is not a tally data directory (no {CONFIG_FILE}); run `tally init` first")]
    NotInitialized(PathBuf),
    #[error("{0} is already a tally data directory")]
    AlreadyInitialized(PathBuf),
    #[error("{path}: {reason}")]
    BadConfig { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("{doc}: {source}")]
    Schema {
        doc: DocId,
        #[source]
        source: Box<SchemaError>,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The replica's configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub format: u32,
    pub prison: String,
    /// The prison authority's public key (hex): the one key this replica trusts.
    pub authority: String,
}

/// A document as loaded, with anything wrong that was found and skipped,
/// and where its log continues.
#[derive(Debug)]
pub struct Loaded<D = Document> {
    pub doc: D,
    /// The signature of every change in the document.
    pub signatures: BTreeMap<ChangeHash, Signature>,
    pub issues: Vec<String>,
    log: LogState,
}

/// A document's files as [`Store::version`] saw them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocVersion {
    snapshot: Option<(u64, std::time::SystemTime)>,
    log: Option<(u64, std::time::SystemTime)>,
}

/// Where a document's log stands after loading: what the next append and
/// refresh start from. Opaque outside the store.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogState {
    /// The snapshot file as it was when loaded (length, modification time):
    /// if it changes, another process compacted the document.
    snapshot: Option<(u64, std::time::SystemTime)>,
    records: usize,
    /// Length up to the end of the last record that can be framed.
    valid_len: u64,
    /// The log is not tally's, or a bad block took its header and every
    /// record: nothing in it can be read, so the next append keeps the file
    /// aside (`.damaged`, its bytes never lost) and starts the log again —
    /// the document does not refuse writes for ever. (A damaged header with
    /// intact records after it is read, and appended to.)
    damaged_header: bool,
    /// The length of such a log when read: until it changes (a write sets
    /// it aside), there is nothing new to read in it.
    damaged_len: u64,
    /// The snapshot did not decode (a bad block): the document was read
    /// from its log alone, and the next compaction keeps the damaged file
    /// aside before writing a new one.
    damaged_snapshot: bool,
    /// The log file as last read or written here (length, modification
    /// time), taken before reading it: a torn tail already read is not
    /// news, any write since is ([`Store::stored_since`]).
    log_stamp: Option<(u64, std::time::SystemTime)>,
}

impl<D> Loaded<D> {
    /// Where the document's log ends (its last intact record): what a write
    /// appending to it starts from.
    pub fn log_len(&self) -> u64 {
        self.log.valid_len
    }

    /// The log could not be read at all (not tally's, or damaged whole):
    /// the next append keeps it aside and starts it again.
    pub fn log_is_set_aside(&self) -> bool {
        self.log.damaged_header
    }
}

/// What [`Store::refresh`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Refreshed {
    /// Whether the document gained changes (or was read again).
    pub changed: bool,
    /// Records skipped, in the words of [`Store::load`]'s issues.
    pub issues: Vec<String>,
}

/// Any typed document that can be stored.
pub trait Stored {
    fn document(&self) -> &Document;
}

impl Stored for Document {
    fn document(&self) -> &Document {
        self
    }
}

impl Stored for crdt_schema::RegistryDoc {
    fn document(&self) -> &Document {
        crdt_schema::RegistryDoc::document(self)
    }
}

impl Stored for crdt_schema::RosterDoc {
    fn document(&self) -> &Document {
        crdt_schema::RosterDoc::document(self)
    }
}

impl Stored for crdt_schema::MonthDoc {
    fn document(&self) -> &Document {
        crdt_schema::MonthDoc::document(self)
    }
}

/// Snapshot body: `count (u32 LE) | count × (hash 32 | signature 64) | Automerge document`.
fn encode_signature_table(sigs: &BTreeMap<ChangeHash, Signature>, doc: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + sigs.len() * 96 + doc.len());
    out.extend_from_slice(&(sigs.len() as u32).to_le_bytes());
    for (h, s) in sigs {
        out.extend_from_slice(&h.0);
        out.extend_from_slice(&s.to_bytes());
    }
    out.extend_from_slice(doc);
    out
}

type SignatureTable<'a> = (BTreeMap<ChangeHash, Signature>, &'a [u8]);

fn decode_signature_table(body: &[u8]) -> Result<SignatureTable<'_>, String> {
    let n = body
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or("snapshot too short")?;
    let table_len = n.checked_mul(96).ok_or("signature table too large")?;
    let table = body
        .get(4..4 + table_len)
        .ok_or("snapshot shorter than its signature table")?;
    let mut sigs = BTreeMap::new();
    for entry in table.chunks_exact(96) {
        let mut h = [0u8; 32];
        h.copy_from_slice(&entry[..32]);
        let sig = Signature::from_slice(&entry[32..]).map_err(|e| e.to_string())?;
        sigs.insert(ChangeHash(h), sig);
    }
    Ok((sigs, &body[4 + table_len..]))
}

impl<D> Loaded<D> {
    /// The document, its signatures, what loading it found, and where its
    /// log stands (for [`Store::append_log`] and the other `_parts` calls).
    pub fn into_parts(self) -> (D, BTreeMap<ChangeHash, Signature>, Vec<String>, LogState) {
        (self.doc, self.signatures, self.issues, self.log)
    }
}

impl Loaded<Document> {
    /// A document not stored yet.
    pub fn fresh(id: DocId) -> Loaded {
        Loaded {
            doc: Document::new(id),
            signatures: BTreeMap::new(),
            issues: Vec::new(),
            log: LogState::default(),
        }
    }

    /// Wraps the document in its typed form.
    pub fn typed<D>(
        self,
        f: impl FnOnce(Document) -> Result<D, SchemaError>,
    ) -> Result<Loaded<D>, StoreError> {
        let id = self.doc.id().clone();
        Ok(Loaded {
            doc: f(self.doc).map_err(|source| StoreError::Schema {
                doc: id,
                source: Box::new(source),
            })?,
            signatures: self.signatures,
            issues: self.issues,
            log: self.log,
        })
    }
}

/// This data directory's writer id ([`Store::writer_id`]).
pub const WRITER_ID_FILE: &str = "writer.id";

/// A document's quarantine as read: why each change is kept, and the change.
pub type Quarantined = Vec<(Kept, SignedChange)>;

/// An intent record read back: per log, its length before the write and
/// whether it existed.
type Intent = BTreeMap<DocId, (u64, bool)>;

/// The intent record of a write under way ([`Store::begin_intent`]), in
/// the data directory.
pub const INTENT_FILE: &str = "write.intent";
const INTENT_MAGIC: &str = "tally write intent 1";

/// How versions before typed reasons marked a change kept because it could
/// not be judged yet (its reason started with this).
const PENDING_PREFIX: &str = "pending: ";

/// Per document, what the quarantine file holds: read once, so keeping a
/// flood of changes is not quadratic.
type QuarantineIndex = Arc<Mutex<BTreeMap<DocId, QuarantineFile>>>;

/// One document's quarantine file as this process last saw it.
#[derive(Debug, Default)]
struct QuarantineFile {
    /// The changes in it, and whether as pending.
    known: BTreeSet<(ChangeHash, bool)>,
    /// Where its last intact record ends: the next record goes there (a torn
    /// tail left by a crash mid-append is cut off first, as the log's is).
    valid_len: u64,
    /// Its length after this process last read or wrote it: a different
    /// length means another process (a CLI merge beside the daemon) appended.
    file_len: u64,
    /// Records in it of changes accepted since (and of what they marked).
    resolved: usize,
}

/// A replica's data directory.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    config: Config,
    quarantine_index: QuarantineIndex,
    /// Where the checkpoints file stands, as this process last saw it.
    checkpoint_log: Arc<Mutex<Option<checkpoints::LogEnd>>>,
    /// The filesystem: the machine's, or the simulator's.
    disk: Arc<dyn Disk>,
}

/// Holds the data-directory lock until dropped.
#[derive(Debug)]
pub struct Lock {
    _file: Option<File>,
}

/// Writes `bytes` to `path` atomically: a reader or a crash sees the old file
/// or the new one, never a part. The temporary file is the whole name plus
/// `.tmp` (`d01.xlsx.tmp`), so outputs sharing a stem never share one; a bare
/// file name is written in the working directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    RealDisk.write_atomic(path, bytes).map_err(io(path))
}

/// `path` with `.tmp` appended to its whole file name.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

impl Store {
    /// Creates a new data directory trusting `authority`.
    pub fn init(root: &Path, prison: &str, authority: &PublicKey) -> Result<Store, StoreError> {
        Store::init_on(Arc::new(RealDisk), root, prison, authority)
    }

    /// [`Store::init`] on `disk`.
    pub fn init_on(
        disk: Arc<dyn Disk>,
        root: &Path,
        prison: &str,
        authority: &PublicKey,
    ) -> Result<Store, StoreError> {
        let config_path = root.join(CONFIG_FILE);
        if disk.stamp(&config_path).is_some() {
            return Err(StoreError::AlreadyInitialized(root.to_path_buf()));
        }
        disk.create_dir_all(&root.join("docs")).map_err(io(root))?;
        let config = Config {
            format: FORMAT,
            prison: prison.to_string(),
            authority: authority.to_string(),
        };
        let text = toml::to_string(&config).map_err(|e| StoreError::BadConfig {
            path: config_path.clone(),
            reason: e.to_string(),
        })?;
        disk.write_atomic(&config_path, text.as_bytes())
            .map_err(io(&config_path))?;
        Ok(Store {
            root: root.to_path_buf(),
            config,
            quarantine_index: QuarantineIndex::default(),
            checkpoint_log: Arc::default(),
            disk,
        })
    }

    /// Opens an existing data directory.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        Store::open_on(Arc::new(RealDisk), root)
    }

    /// [`Store::open`] on `disk`.
    pub fn open_on(disk: Arc<dyn Disk>, root: &Path) -> Result<Store, StoreError> {
        let config_path = root.join(CONFIG_FILE);
        let Some(bytes) = disk.read(&config_path).map_err(io(&config_path))? else {
            return Err(StoreError::NotInitialized(root.to_path_buf()));
        };
        let text = String::from_utf8(bytes).map_err(|_| StoreError::BadConfig {
            path: config_path.clone(),
            reason: "not UTF-8".into(),
        })?;
        let config: Config = toml::from_str(&text).map_err(|e| StoreError::BadConfig {
            path: config_path.clone(),
            reason: e.to_string(),
        })?;
        if config.format != FORMAT {
            return Err(StoreError::BadConfig {
                path: config_path,
                reason: format!(
                    "data format {} is not the {FORMAT} this tally reads",
                    config.format
                ),
            });
        }
        Ok(Store {
            root: root.to_path_buf(),
            config,
            quarantine_index: QuarantineIndex::default(),
            checkpoint_log: Arc::default(),
            disk,
        })
    }

    fn read_optional(&self, path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
        self.disk.read(path).map_err(io(path))
    }

    fn stamp(&self, path: &Path) -> Option<(u64, std::time::SystemTime)> {
        self.disk.stamp(path)
    }

    fn len_of(&self, path: &Path) -> u64 {
        self.stamp(path).map_or(0, |(len, _)| len)
    }

    /// Appends `buf` to the file at `path` right after its last intact record
    /// (`valid_len`: whatever lies past it was never acknowledged — a torn
    /// tail is cut off), fsyncs it, and the directory too when the file is
    /// new. Once this returns the bytes survive a crash.
    fn append_at(&self, path: &Path, valid_len: u64, buf: &[u8]) -> Result<(), StoreError> {
        self.disk.append_at(path, valid_len, buf).map_err(io(path))
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        self.disk.write_atomic(path, bytes).map_err(io(path))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The pinned authority key.
    pub fn authority(&self) -> Result<PublicKey, StoreError> {
        self.config
            .authority
            .parse()
            .map_err(|e: keys::KeyError| StoreError::BadConfig {
                path: self.root.join(CONFIG_FILE),
                reason: format!("authority: {e}"),
            })
    }

    /// Takes the lock shared: other readers may proceed, writers wait.
    pub fn lock_shared(&self) -> Result<Lock, StoreError> {
        let path = self.root.join("lock");
        let f = self.disk.lock(&path, false).map_err(io(&path))?;
        Ok(Lock { _file: f })
    }

    /// Takes the lock exclusively, for a load–modify–append cycle. A write
    /// that a crash left unfinished ([`Store::begin_intent`]) is rolled back
    /// first, so every writer starts from whole writes only.
    pub fn lock_exclusive(&self) -> Result<Lock, StoreError> {
        let path = self.root.join("lock");
        let f = self.disk.lock(&path, true).map_err(io(&path))?;
        let lock = Lock { _file: f };
        self.roll_back_intent()?;
        Ok(lock)
    }

    /// This data directory's writer id: the second half of the Automerge
    /// actor every officer writes under here (the first is the officer's key
    /// prefix), so one officer's saves on one device continue one actor and
    /// a document's history grows with its writers, not its saves. Made at
    /// the first write (8 random bytes, `DATA/writer.id`). Call under the
    /// exclusive lock.
    pub fn writer_id(&self) -> Result<[u8; 8], StoreError> {
        let path = self.root.join(WRITER_ID_FILE);
        if let Some(bytes) = self.read_optional(&path)? {
            let text = String::from_utf8_lossy(&bytes);
            let mut id = [0u8; 8];
            hex::decode_to_slice(text.trim(), &mut id).map_err(|e| StoreError::Corrupt {
                path: path.clone(),
                reason: format!("not a writer id (16 hex digits): {e}"),
            })?;
            return Ok(id);
        }
        let mut id = [0u8; 8];
        {
            use rand::TryRng;
            rand::rngs::SysRng
                .try_fill_bytes(&mut id)
                .map_err(|e| io(&path)(std::io::Error::other(e.to_string())))?;
        }
        self.write_atomic(&path, format!("{}\n", hex::encode(id)).as_bytes())?;
        Ok(id)
    }

    fn intent_path(&self) -> PathBuf {
        self.root.join(INTENT_FILE)
    }

    /// Records, durably, that a write is about to append to several logs
    /// (or several records to one): each log's length before. Until
    /// [`Store::end_intent`], the write is not there: after a crash the next
    /// writer cuts the logs back to these lengths ([`Store::roll_back_intent`])
    /// and readers read no further ([`Store::load`], [`Store::refresh`]).
    /// Call under the exclusive lock.
    pub fn begin_intent(&self, before: &[(DocId, u64)]) -> Result<(), StoreError> {
        let mut text = format!("{INTENT_MAGIC}\n");
        for (id, len) in before {
            // Whether the log is there already: a rollback removes only a
            // log the write itself created, and never cuts one shorter than
            // it was found.
            let path = self.log_path(id);
            let existed = self.stamp(&path).is_some();
            text.push_str(&format!("{id}\t{len}\t{}\n", u8::from(existed)));
        }
        self.write_atomic(&self.intent_path(), text.as_bytes())
    }

    /// Whether an intent record is on disk (a write under way, or one a
    /// crash left unfinished).
    pub fn intent_pending(&self) -> bool {
        self.stamp(&self.intent_path()).is_some()
    }

    /// The write recorded by [`Store::begin_intent`] is whole: from here on
    /// it is there (the commit point).
    pub fn end_intent(&self) -> Result<(), StoreError> {
        let path = self.intent_path();
        self.disk.remove(&path).map_err(io(&path))
    }

    /// An unfinished write's logs and their lengths before it, if a crash
    /// left one.
    fn read_intent(&self) -> Result<Option<Intent>, StoreError> {
        let path = self.intent_path();
        let Some(bytes) = self.read_optional(&path)? else {
            return Ok(None);
        };
        let corrupt = |reason: &str| StoreError::Corrupt {
            path: path.clone(),
            reason: format!(
                "{reason}: a write's intent record, written whole or not at all, so this file was edited or comes from another tally version; \
                 until it is readable no write is rolled back or read past (restore it, or with the node stopped move it aside: \
                 the unfinished write it guards then shows as written)"
            ),
        };
        let text = std::str::from_utf8(&bytes).map_err(|_| corrupt("not UTF-8"))?;
        let mut lines = text.lines();
        if lines.next() != Some(INTENT_MAGIC) {
            return Err(corrupt("not a tally write intent"));
        }
        let mut out = BTreeMap::new();
        for line in lines {
            let mut parts = line.split('\t');
            let (Some(id), Some(len), Some(existed), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(corrupt("a line that is not: document, length, existed"));
            };
            let id: DocId = id.parse().map_err(|_| corrupt("an unknown document"))?;
            let len: u64 = len
                .parse()
                .map_err(|_| corrupt("a length that is not a number"))?;
            let existed = match existed {
                "0" => false,
                "1" => true,
                _ => return Err(corrupt("an existed flag that is not 0 or 1")),
            };
            out.insert(id, (len, existed));
        }
        Ok(Some(out))
    }

    /// Cuts the logs an unfinished write appended to back to their lengths
    /// before it (removing logs it created), then forgets the intent: the
    /// write is wholly absent. Returns the documents rolled back. Call under
    /// the exclusive lock (taking it does).
    pub fn roll_back_intent(&self) -> Result<Vec<DocId>, StoreError> {
        let Some(before) = self.read_intent()? else {
            return Ok(Vec::new());
        };
        let mut rolled = Vec::new();
        for (id, (len, existed)) in &before {
            let path = self.log_path(id);
            let Some(now) = self.stamp(&path).map(|(l, _)| l) else {
                continue;
            };
            if *existed && now <= *len {
                continue;
            }
            if *existed {
                self.disk.truncate(&path, *len).map_err(io(&path))?;
            } else {
                // Made by the write: removed, the document as it was.
                self.disk.remove(&path).map_err(io(&path))?;
            }
            rolled.push(id.clone());
        }
        self.end_intent()?;
        if !rolled.is_empty() {
            tracing::warn!(
                documents = rolled.len(),
                "rolled back a write a crash left unfinished"
            );
        }
        Ok(rolled)
    }

    /// How far a reader may read a document's log: all of it, unless an
    /// unfinished write is appending to it (then only what was there before).
    fn log_cap(&self, id: &DocId) -> Result<Option<u64>, StoreError> {
        if self.stamp(&self.intent_path()).is_none() {
            return Ok(None);
        }
        Ok(self
            .read_intent()?
            .and_then(|m| m.get(id).map(|(len, _)| *len)))
    }

    fn doc_base(&self, id: &DocId) -> PathBuf {
        let docs = self.root.join("docs");
        match id {
            DocId::Registry => docs.join("registry"),
            DocId::Roster { year } => docs.join("roster").join(year.to_string()),
            DocId::Month { district, month } => docs
                .join("month")
                .join(district.as_str())
                .join(month.to_string()),
        }
    }

    fn snap_path(&self, id: &DocId) -> PathBuf {
        self.doc_base(id).with_extension("snap")
    }

    fn log_path(&self, id: &DocId) -> PathBuf {
        self.doc_base(id).with_extension("log")
    }

    /// What is on disk for a document, read cheaply (file sizes and times,
    /// nothing parsed). Every write appends to the log or replaces the
    /// snapshot, so an equal version means nothing was stored in between:
    /// a reader may keep what it computed from the document. Take it under
    /// the lock the reading is done under.
    pub fn version(&self, id: &DocId) -> DocVersion {
        DocVersion {
            snapshot: self.stamp(&self.snap_path(id)),
            log: self.stamp(&self.log_path(id)),
        }
    }

    /// Every district-month document stored, in order.
    pub fn month_ids(&self) -> Result<Vec<DocId>, StoreError> {
        self.months_with(&[".snap", ".log"])
    }

    /// Every roster shard stored, in year order.
    pub fn roster_ids(&self) -> Result<Vec<DocId>, StoreError> {
        self.rosters_with(&[".snap", ".log"])
    }

    /// Every document stored: the registry (always: a document never
    /// written is empty), the roster's shards, then the months, in the
    /// order [`DocId`] sorts them.
    pub fn doc_ids(&self) -> Result<Vec<DocId>, StoreError> {
        let mut out = vec![DocId::Registry];
        out.extend(self.roster_ids()?);
        out.extend(self.month_ids()?);
        Ok(out)
    }

    /// The roster shards with a file of one of these suffixes.
    fn rosters_with(&self, suffixes: &[&str]) -> Result<Vec<DocId>, StoreError> {
        let dir = self.root.join("docs").join("roster");
        let mut out = Vec::new();
        for (name, _) in self.disk.list(&dir).map_err(io(&dir))?.unwrap_or_default() {
            let stem = suffixes.iter().find_map(|s| name.strip_suffix(s));
            if let Some(year) = stem.and_then(|s| s.parse::<Year>().ok()) {
                out.push(DocId::Roster { year });
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The documents with a quarantine file: a month none of whose changes
    /// was accepted yet (all pending on a registry still syncing) has no
    /// log, only this.
    pub fn quarantine_ids(&self) -> Result<Vec<DocId>, StoreError> {
        let mut out = self.rosters_with(&[".quarantine"])?;
        out.extend(self.months_with(&[".quarantine"])?);
        if self.len_of(&self.quarantine_path(&DocId::Registry)) > 0 {
            out.insert(0, DocId::Registry);
        }
        Ok(out)
    }

    /// The month documents with a file of one of these suffixes.
    fn months_with(&self, suffixes: &[&str]) -> Result<Vec<DocId>, StoreError> {
        let dir = self.root.join("docs").join("month");
        let mut out = Vec::new();
        let Some(districts) = self.disk.list(&dir).map_err(io(&dir))? else {
            return Ok(out);
        };
        for (name, is_dir) in districts {
            let Some(district) = is_dir.then(|| DistrictId::new(&name).ok()).flatten() else {
                continue;
            };
            let ddir = dir.join(&name);
            for (name, _) in self
                .disk
                .list(&ddir)
                .map_err(io(&ddir))?
                .unwrap_or_default()
            {
                let stem = suffixes.iter().find_map(|s| name.strip_suffix(s));
                if let Some(month) = stem.and_then(|s| s.parse::<Month>().ok()) {
                    out.push(DocId::month(district.clone(), month));
                }
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Loads a document from its snapshot and log. A document never written is
    /// empty. Torn or corrupt records are skipped and reported in `issues`.
    pub fn load(&self, id: &DocId) -> Result<Loaded, StoreError> {
        let snap_path = self.snap_path(id);
        let snapshot = self.stamp(&snap_path);
        let log_path = self.log_path(id);
        let mut issues = Vec::new();
        let mut signatures = BTreeMap::new();
        let mut damaged_snapshot = false;
        let am = match self.read_optional(&snap_path)? {
            Some(bytes) => {
                let decoded = frame::decode_snapshot(&bytes)
                    .map_err(str::to_string)
                    .and_then(decode_signature_table)
                    .and_then(|(sigs, doc_bytes)| {
                        Automerge::load(doc_bytes)
                            .map(|am| (sigs, am))
                            .map_err(|e| e.to_string())
                    });
                match decoded {
                    Ok((sigs, am)) => {
                        signatures = sigs;
                        am
                    }
                    // A bad block in the snapshot costs what it held, here
                    // only: the log is still read, peers send the rest
                    // again, and the damaged file is kept, not overwritten.
                    Err(reason) => {
                        damaged_snapshot = true;
                        issues.push(format!(
                            "{}: {reason}: the snapshot is damaged; the document is read from its log, \
                             what the snapshot held comes again from peers, and the file is kept aside \
                             at the next compaction",
                            snap_path.display()
                        ));
                        Automerge::new()
                    }
                }
            }
            None => Automerge::new(),
        };
        let mut doc =
            Document::from_automerge(id.clone(), am).map_err(|source| StoreError::Schema {
                doc: id.clone(),
                source: Box::new(source),
            })?;
        let log_stamp = self.stamp(&log_path);
        let mut log = self.read_optional(&log_path)?.unwrap_or_default();
        if let Some(cap) = self.log_cap(id)?
            && (log.len() as u64) > cap
        {
            // An unfinished write's records: not there until it is whole.
            log.truncate(cap as usize);
        }
        let scan = frame::scan(&log);
        // (A file shorter than its header was torn while being created, a
        // crash in the first write: started again, nothing to keep.)
        let damaged_header = scan.issues.contains(&frame::FrameIssue::BadMagic)
            && !frame::LOG_MAGIC.starts_with(&log);
        for issue in &scan.issues {
            if damaged_header {
                issues.push(format!(
                    "{}: not a tally log, or damaged whole (no intact record): kept aside as .damaged and started again at the next write",
                    log_path.display()
                ));
            } else {
                issues.push(format!("{}: {issue}", log_path.display()));
            }
        }
        let mut changes = Vec::with_capacity(scan.records.len());
        for (i, range) in scan.records.iter().enumerate() {
            match log[range.clone()].split_first() {
                Some((&RECORD_SIGNED, bytes)) => match SignedChange::decode(bytes) {
                    Ok(sc) => {
                        signatures.insert(sc.hash(), sc.signature);
                        changes.push(sc.change);
                    }
                    Err(e) => {
                        issues.push(format!("{}: record {i}: {e}, skipped", log_path.display()))
                    }
                },
                _ => issues.push(format!(
                    "{}: record {i}: unknown record kind, skipped",
                    log_path.display()
                )),
            }
        }
        doc.apply_changes(changes)
            .map_err(|source| StoreError::Schema {
                doc: id.clone(),
                source: Box::new(source),
            })?;
        Ok(Loaded {
            doc,
            signatures,
            issues,
            log: LogState {
                snapshot,
                records: scan.records.len(),
                valid_len: scan.valid_len,
                // A file shorter than its header was torn while being
                // created (a crash in the first write): not foreign, the
                // next append starts it again.
                damaged_header,
                damaged_len: if damaged_header { log.len() as u64 } else { 0 },
                damaged_snapshot,
                log_stamp,
            },
        })
    }

    /// Appends changes to a document's log and fsyncs: once this returns,
    /// the changes survive a crash. Cuts off a torn tail found at load first.
    pub fn append<D: Stored>(
        &self,
        loaded: &mut Loaded<D>,
        changes: &[SignedChange],
    ) -> Result<(), StoreError> {
        let id = loaded.doc.document().id().clone();
        self.append_log(&id, &mut loaded.log, changes)?;
        for c in changes {
            loaded.signatures.insert(c.hash(), c.signature);
        }
        Ok(())
    }

    /// [`Store::append`] for a document held elsewhere (the replica core
    /// holds the document and signatures, the node its log state).
    pub fn append_log(
        &self,
        id: &DocId,
        log: &mut LogState,
        changes: &[SignedChange],
    ) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let path = self.log_path(id);
        if log.damaged_header {
            self.keep_damaged(&path)?;
            log.damaged_header = false;
            log.valid_len = 0;
        }
        let mut buf = Vec::new();
        if log.valid_len == 0 {
            buf.extend_from_slice(frame::LOG_MAGIC);
        }
        for c in changes {
            let mut payload = vec![RECORD_SIGNED];
            payload.extend_from_slice(&c.encode());
            frame::encode(&payload, &mut buf);
        }
        self.append_at(&path, log.valid_len, &buf)?;
        log.valid_len += buf.len() as u64;
        log.records += changes.len();
        log.log_stamp = self.stamp(&path);
        Ok(())
    }

    /// Folds the log into a new snapshot if it has grown large.
    pub fn maybe_compact<D: Stored>(&self, loaded: &mut Loaded<D>) -> Result<bool, StoreError> {
        self.maybe_compact_parts(loaded.doc.document(), &loaded.signatures, &mut loaded.log)
    }

    /// [`Store::maybe_compact`] for a document held elsewhere.
    pub fn maybe_compact_parts(
        &self,
        doc: &Document,
        signatures: &BTreeMap<ChangeHash, Signature>,
        log: &mut LogState,
    ) -> Result<bool, StoreError> {
        let snapshot = log.snapshot.map_or(0, |(len, _)| len);
        // The registry is folded once its log holds a few records or a few
        // KB: every load and every score reads it, and Automerge applying a
        // few dozen changes to a 10,000-inmate roster costs tens of MB each
        // time; a first sync admits registry changes one by one, so folding
        // at every record would write the whole registry hundreds of times.
        let registry = *doc.id() == DocId::Registry
            && (log.records >= COMPACT_REGISTRY_RECORDS || log.valid_len > COMPACT_REGISTRY_BYTES);
        if registry
            || log.records > COMPACT_LOG_RECORDS
            || log.valid_len > COMPACT_LOG_BYTES
            || log.valid_len > COMPACT_LOG_FLOOR + snapshot / 4
        {
            self.compact_parts(doc, signatures, log)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Writes the whole document as a snapshot, then empties the log. Both
    /// steps are atomic; a crash between them leaves changes in both, which
    /// loading applies once.
    pub fn compact<D: Stored>(&self, loaded: &mut Loaded<D>) -> Result<(), StoreError> {
        self.compact_parts(loaded.doc.document(), &loaded.signatures, &mut loaded.log)
    }

    fn compact_parts(
        &self,
        doc: &Document,
        signatures: &BTreeMap<ChangeHash, Signature>,
        log: &mut LogState,
    ) -> Result<(), StoreError> {
        let id = doc.id().clone();
        if log.damaged_snapshot {
            self.keep_damaged(&self.snap_path(&id))?;
        }
        let body = encode_signature_table(signatures, &doc.save());
        let snap = frame::encode_snapshot(&body);
        self.write_atomic(&self.snap_path(&id), &snap)?;
        let log_path = self.log_path(&id);
        let has_log = self.stamp(&log_path).is_some();
        if has_log {
            self.write_atomic(&log_path, frame::LOG_MAGIC)?;
        }
        *log = LogState {
            snapshot: self.stamp(&self.snap_path(&id)),
            records: 0,
            valid_len: if has_log {
                frame::LOG_MAGIC.len() as u64
            } else {
                0
            },
            damaged_header: false,
            damaged_len: 0,
            damaged_snapshot: false,
            log_stamp: self.stamp(&log_path),
        };
        Ok(())
    }

    /// Keeps a damaged file's bytes beside it before it is replaced
    /// ([`keep_damaged_on`]).
    fn keep_damaged(&self, path: &Path) -> Result<(), StoreError> {
        keep_damaged_on(self.disk.as_ref(), path)
    }

    /// Brings a loaded document up to date with what other processes (a CLI
    /// write beside the daemon) stored since: reads the records appended to
    /// its log, or reloads it if it was compacted meanwhile. Call under the
    /// shared or exclusive lock. Returns whether anything changed, and what
    /// was skipped (torn or corrupt records), as [`Store::load`] does.
    pub fn refresh(&self, loaded: &mut Loaded) -> Result<Refreshed, StoreError> {
        self.refresh_parts(&mut loaded.doc, &mut loaded.signatures, &mut loaded.log)
    }

    /// Whether a document's files hold anything its log state has not read:
    /// what [`Store::refresh_parts`] would read, told without reading it
    /// (for a document at rest, whose contents are not in memory).
    pub fn stored_since(&self, id: &DocId, log: &LogState) -> Result<bool, StoreError> {
        if self.stamp(&self.snap_path(id)) != log.snapshot {
            return Ok(true);
        }
        // The log's stamp as last read, not `len != valid_len`: a torn tail
        // already read (a crash mid-append, cut off only by the next
        // append) would then be news at every look, and a resting month
        // woken every second. Any write since moves the stamp.
        let log_stamp = self.stamp(&self.log_path(id));
        if log.damaged_header {
            // As `refresh_parts`: a log damaged whole is news only once it grows.
            let mut len = log_stamp.map_or(0, |(len, _)| len);
            if let Some(cap) = self.log_cap(id)? {
                len = len.min(cap);
            }
            return Ok(len != log.damaged_len);
        }
        Ok(log_stamp != log.log_stamp)
    }

    /// [`Store::refresh`] for a document held elsewhere.
    pub fn refresh_parts(
        &self,
        doc: &mut Document,
        signatures: &mut BTreeMap<ChangeHash, Signature>,
        log: &mut LogState,
    ) -> Result<Refreshed, StoreError> {
        let id = doc.id().clone();
        let log_path = self.log_path(&id);
        let mut log_len = self.len_of(&log_path);
        let cap = self.log_cap(&id)?;
        if let Some(cap) = cap {
            log_len = log_len.min(cap);
        }
        let reload = |doc: &mut Document,
                      signatures: &mut BTreeMap<ChangeHash, Signature>,
                      log: &mut LogState| {
            let loaded = self.load(&id)?;
            *doc = loaded.doc;
            *signatures = loaded.signatures;
            *log = loaded.log;
            Ok(Refreshed {
                changed: true,
                issues: loaded.issues,
            })
        };
        let same_snapshot = self.stamp(&self.snap_path(&id)) == log.snapshot;
        // A log read as damaged whole, not written since: nothing new (it
        // would be read again, and reported, every second).
        if same_snapshot && log.damaged_header && log_len == log.damaged_len {
            return Ok(Refreshed::default());
        }
        if !same_snapshot || log_len < log.valid_len {
            return reload(doc, signatures, log);
        }
        let log_stamp = self.stamp(&log_path);
        if log_len == log.valid_len {
            log.log_stamp = log_stamp;
            return Ok(Refreshed::default());
        }
        let mut bytes = self.read_optional(&log_path)?.unwrap_or_default();
        bytes.truncate(log_len as usize);
        let from = log.valid_len as usize;
        if from == 0 || from > bytes.len() {
            return reload(doc, signatures, log);
        }
        // Scan the tail as if it were a log of its own.
        let mut tail = frame::LOG_MAGIC.to_vec();
        tail.extend_from_slice(&bytes[from..]);
        let scan = frame::scan(&tail);
        let mut changes = Vec::new();
        for range in &scan.records {
            if let Some((&RECORD_SIGNED, b)) = tail[range.clone()].split_first()
                && let Ok(sc) = SignedChange::decode(b)
            {
                signatures.insert(sc.hash(), sc.signature);
                changes.push(sc.change);
            }
        }
        // Offsets of the tail's issues, as in the whole file.
        let shift = from as u64 - frame::LOG_MAGIC.len() as u64;
        let issues = scan
            .issues
            .iter()
            .map(|i| {
                let moved = match *i {
                    frame::FrameIssue::TornTail { offset, len } => frame::FrameIssue::TornTail {
                        offset: offset + shift,
                        len,
                    },
                    frame::FrameIssue::Corrupt { offset, len } => frame::FrameIssue::Corrupt {
                        offset: offset + shift,
                        len,
                    },
                    ref
                    other @ (frame::FrameIssue::BadMagic | frame::FrameIssue::DamagedHeader) => {
                        other.clone()
                    }
                };
                format!("{}: {moved}", log_path.display())
            })
            .collect();
        let n = changes.len();
        doc.apply_changes(changes)
            .map_err(|source| StoreError::Schema {
                doc: id,
                source: Box::new(source),
            })?;
        log.records += scan.records.len();
        log.valid_len = (from + scan.valid_len as usize - frame::LOG_MAGIC.len()) as u64;
        log.log_stamp = log_stamp;
        Ok(Refreshed {
            changed: n > 0,
            issues,
        })
    }

    fn quarantine_path(&self, id: &DocId) -> PathBuf {
        self.doc_base(id).with_extension("quarantine")
    }

    /// Keeps a refused or pending change with why: never applied, never
    /// lost. A change already quarantined is not stored twice; a change kept
    /// as pending and refused later gets its refusal recorded after it, and
    /// the last record is what counts.
    pub fn quarantine(
        &self,
        id: &DocId,
        change: &SignedChange,
        why: &Kept,
    ) -> Result<bool, StoreError> {
        let pending = matches!(why, Kept::Pending(_));
        let hash = change.hash();
        let path = self.quarantine_path(id);
        let mut index = self
            .quarantine_index
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let on_disk = self.len_of(&path);
        load_quarantine_index(self.disk.as_ref(), &mut index, id, &path, on_disk)?;
        let q = index.get_mut(id).expect("inserted above");
        if q.known.contains(&(hash, false)) || q.known.contains(&(hash, pending)) {
            return Ok(false);
        }
        let mut buf = Vec::new();
        if q.valid_len == 0 {
            buf.extend_from_slice(frame::LOG_MAGIC);
        }
        let payload = kept_record(why, change);
        frame::encode(&payload, &mut buf);
        self.append_at(&path, q.valid_len, &buf)?;
        q.valid_len += buf.len() as u64;
        q.file_len = q.valid_len;
        q.known.insert((hash, pending));
        Ok(true)
    }

    /// The refused changes of a document with why (and those kept as
    /// pending that were not accepted since), in the order kept.
    pub fn quarantined(&self, id: &DocId) -> Result<Quarantined, StoreError> {
        Ok(self.quarantined_reporting(id)?.0)
    }

    /// [`Store::quarantined`], and what was skipped reading it (a torn or
    /// corrupt record), as [`Store::load`] reports it.
    pub fn quarantined_reporting(
        &self,
        id: &DocId,
    ) -> Result<(Quarantined, Vec<String>), StoreError> {
        let path = self.quarantine_path(id);
        let bytes = self.read_optional(&path)?.unwrap_or_default();
        let scan = frame::scan(&bytes);
        let issues = scan
            .issues
            .iter()
            .map(|i| format!("{}: {i}", path.display()))
            .collect();
        Ok((live_quarantine(&bytes, &scan).0, issues))
    }

    /// Marks changes kept as pending that have been accepted since: they no
    /// longer count as quarantined, and once such records are many the file
    /// is rewritten without them (atomically), so a replica's quarantine
    /// does not keep every change that once arrived early.
    pub fn resolve_pending(&self, id: &DocId, hashes: &[ChangeHash]) -> Result<(), StoreError> {
        let path = self.quarantine_path(id);
        let mut index = self
            .quarantine_index
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let on_disk = self.len_of(&path);
        if on_disk == 0 {
            return Ok(());
        }
        load_quarantine_index(self.disk.as_ref(), &mut index, id, &path, on_disk)?;
        let q = index.get_mut(id).expect("loaded above");
        let marks: Vec<&ChangeHash> = hashes
            .iter()
            .filter(|h| q.known.contains(&(**h, true)))
            .collect();
        if marks.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        for h in &marks {
            let mut payload = vec![RECORD_ACCEPTED];
            payload.extend_from_slice(&h.0);
            frame::encode(&payload, &mut buf);
        }
        self.append_at(&path, q.valid_len, &buf)?;
        q.valid_len += buf.len() as u64;
        q.file_len = q.valid_len;
        for h in &marks {
            q.known.remove(&(**h, true));
        }
        q.resolved += 2 * marks.len();
        if q.resolved >= QUARANTINE_REWRITE_MIN.max(q.known.len()) {
            // Rewritten with only what still counts, in its order.
            let bytes = self.read_optional(&path)?.unwrap_or_default();
            let scan = frame::scan(&bytes);
            let mut out = frame::LOG_MAGIC.to_vec();
            let (_, live) = live_quarantine(&bytes, &scan);
            for range in live {
                frame::encode(&bytes[range], &mut out);
            }
            self.write_atomic(&path, &out)?;
            index.remove(id);
        }
        Ok(())
    }
}

/// Keeps a damaged file's bytes beside it (`NAME.damaged`, or
/// `NAME.damaged.2` … when that is taken) before it is replaced: what a bad
/// block left is evidence, never deleted by tally.
fn keep_damaged_on(disk: &dyn Disk, path: &Path) -> Result<(), StoreError> {
    let Some(bytes) = disk.read(path).map_err(io(path))? else {
        return Ok(());
    };
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let aside = (1..)
        .map(|n| {
            path.with_file_name(if n == 1 {
                format!("{name}.damaged")
            } else {
                format!("{name}.damaged.{n}")
            })
        })
        .find(|p| disk.stamp(p).is_none())
        .expect("a free name");
    tracing::warn!("{}: damaged, kept as {}", path.display(), aside.display());
    disk.write_atomic(&aside, &bytes).map_err(io(&aside))
}

/// Reads a document's quarantine file into `index` unless this process
/// holds it as it is on disk (`on_disk` bytes long).
fn load_quarantine_index(
    disk: &dyn Disk,
    index: &mut BTreeMap<DocId, QuarantineFile>,
    id: &DocId,
    path: &Path,
    on_disk: u64,
) -> Result<(), StoreError> {
    if index.get(id).is_some_and(|q| q.file_len == on_disk) {
        return Ok(());
    }
    let mut bytes = disk.read(path).map_err(io(path))?.unwrap_or_default();
    let mut scan = frame::scan(&bytes);
    let bad_magic =
        scan.issues.contains(&frame::FrameIssue::BadMagic) && !frame::LOG_MAGIC.starts_with(&bytes);
    if bad_magic {
        // Not a quarantine tally can read (not tally's, or damaged whole):
        // kept aside, started again — its changes come again from peers.
        keep_damaged_on(disk, path)?;
        disk.write_atomic(path, frame::LOG_MAGIC)
            .map_err(io(path))?;
        bytes = frame::LOG_MAGIC.to_vec();
        scan = frame::scan(&bytes);
    }
    let (live, ranges) = live_quarantine(&bytes, &scan);
    let known = live
        .iter()
        .map(|(why, q)| (q.hash(), matches!(why, Kept::Pending(_))))
        .collect();
    index.insert(
        id.clone(),
        QuarantineFile {
            known,
            // A file shorter than its header was torn while being created.
            valid_len: scan.valid_len,
            file_len: bytes.len() as u64,
            resolved: scan.records.len() - ranges.len(),
        },
    );
    Ok(())
}

/// The quarantine's records that still count — why and change — and
/// their payload ranges: refused changes, and pending ones not accepted since.
fn live_quarantine(
    bytes: &[u8],
    scan: &frame::Scan,
) -> (Vec<(Kept, SignedChange)>, Vec<std::ops::Range<usize>>) {
    let accepted: BTreeSet<[u8; 32]> = scan
        .records
        .iter()
        .filter_map(|r| match bytes[r.clone()].split_first() {
            Some((&RECORD_ACCEPTED, h)) => h.try_into().ok(),
            _ => None,
        })
        .collect();
    let mut live = Vec::new();
    let mut ranges = Vec::new();
    for range in &scan.records {
        if let Some((why, sc)) = quarantine_record(&bytes[range.clone()])
            && !(matches!(why, Kept::Pending(_)) && accepted.contains(&sc.hash().0))
        {
            live.push((why, sc));
            ranges.push(range.clone());
        }
    }
    (live, ranges)
}

/// The payload of a quarantine record of `change`, kept for `why`.
fn kept_record(why: &Kept, change: &SignedChange) -> Vec<u8> {
    let encoded = |k: &Kept| postcard::to_allocvec(k).expect("a reason always serializes");
    let mut bytes = encoded(why);
    if bytes.len() > MAX_KEPT_BYTES {
        // A reason is a few hundred bytes; one past the bound (a change
        // naming thousands of missing dependencies) is kept as the start of
        // its text, still pending or refused as it was.
        let text = match why {
            Kept::Pending(w) => w.to_string(),
            Kept::Refused(r) => r.to_string(),
        };
        let mut cut = MAX_KEPT_BYTES / 2;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let text = format!("{} …", &text[..cut]);
        bytes = encoded(&match why {
            Kept::Pending(_) => Kept::Pending(Wait::Recorded(text)),
            Kept::Refused(_) => Kept::Refused(Refusal::Recorded { reason: text }),
        });
    }
    let mut payload = vec![RECORD_KEPT];
    payload.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    payload.extend_from_slice(&bytes);
    payload.extend_from_slice(&change.encode());
    payload
}

/// A refused (or pending) change's record: why, and the change. Records
/// of earlier versions keep only the reason's text; a typed reason this
/// version cannot read (a newer version's) is kept as its refusal, unread.
fn quarantine_record(payload: &[u8]) -> Option<(Kept, SignedChange)> {
    let (&kind, rest) = payload.split_first()?;
    match kind {
        RECORD_KEPT => {
            let len = rest
                .get(..4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)?;
            if len > MAX_KEPT_BYTES {
                return None;
            }
            let why = rest.get(4..4 + len)?;
            let sc = SignedChange::decode(rest.get(4 + len..)?).ok()?;
            // A reason this version cannot read (a newer version's): its
            // first byte still says refused (0) or pending (1), so a change
            // kept waiting is not refused for good by an older tally.
            let why = postcard::from_bytes(why).unwrap_or_else(|_| {
                let unread = "its reason is stored in a form this version of tally does not read";
                match why.first() {
                    Some(1) => Kept::Pending(Wait::Recorded(unread.into())),
                    _ => Kept::Refused(Refusal::Recorded {
                        reason: format!("refused ({unread})"),
                    }),
                }
            });
            Some((why, sc))
        }
        RECORD_REFUSED => {
            let len = rest
                .get(..2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)?;
            let reason = String::from_utf8_lossy(rest.get(2..2 + len)?).into_owned();
            let sc = SignedChange::decode(rest.get(2 + len..)?).ok()?;
            let why = match reason.strip_prefix(PENDING_PREFIX) {
                Some(wait) => Kept::Pending(Wait::Recorded(wait.to_string())),
                None => Kept::Refused(Refusal::Recorded { reason }),
            };
            Some((why, sc))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
