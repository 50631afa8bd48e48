//! On-disk storage of a replica: one append-only log of changes plus one
//! compacted snapshot per document.
//!
//! ```text
//! DATA/tally.toml                      replica configuration
//! DATA/lock                            advisory lock: shared to read, exclusive to write
//! DATA/docs/registry.snap|.log
//! DATA/docs/month/<district>/<YYYY-MM>.snap|.log
//! ```
//!
//! A write is acknowledged only after its records are appended and fsynced.
//! Compaction writes a new snapshot atomically (temp file, fsync, rename,
//! fsync of the directory) before emptying the log, so a crash at any byte
//! leaves either the old or the new state, never a mix that loses a change.
//! Loading reports torn or corrupt records and skips them; one bad document
//! never stops the others from loading.

pub mod frame;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crdt_schema::automerge::{Automerge, Change};
use crdt_schema::{DistrictId, DocId, Document, Month, SchemaError};
use serde::{Deserialize, Serialize};

/// Version of the data-directory layout.
pub const FORMAT: u32 = 1;
const CONFIG_FILE: &str = "tally.toml";

/// A log whose records outweigh this many bytes is folded into the snapshot.
const COMPACT_LOG_BYTES: u64 = 4 * 1024 * 1024;
/// A log with more records than this is folded into the snapshot.
const COMPACT_LOG_RECORDS: usize = 256;

/// Kinds of log records.
const RECORD_CHANGE: u8 = 1;

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
    /// Author bytes (hex) this replica writes under.
    pub writer: String,
}

/// A document as loaded, with anything wrong that was found and skipped,
/// and where its log continues.
#[derive(Debug)]
pub struct Loaded<D = Document> {
    pub doc: D,
    pub issues: Vec<String>,
    log: LogState,
}

/// Where a document's log stands after loading.
#[derive(Debug, Clone, Copy, Default)]
struct LogState {
    records: usize,
    /// Length up to the end of the last record that can be framed.
    valid_len: u64,
    /// The log's header is not tally's: never append to (and so truncate) it.
    foreign: bool,
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

impl Stored for crdt_schema::MonthDoc {
    fn document(&self) -> &Document {
        crdt_schema::MonthDoc::document(self)
    }
}

impl Loaded<Document> {
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
            issues: self.issues,
            log: self.log,
        })
    }
}

/// A replica's data directory.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    config: Config,
}

/// Holds the data-directory lock until dropped.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Writes `bytes` to `path` atomically: a reader or a crash sees the old file
/// or the new one, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = path.with_extension("tmp");
    {
        let mut f = File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(io(path))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

impl Store {
    /// Creates a new data directory.
    pub fn init(root: &Path, prison: &str, writer: &[u8]) -> Result<Store, StoreError> {
        let config_path = root.join(CONFIG_FILE);
        if config_path.exists() {
            return Err(StoreError::AlreadyInitialized(root.to_path_buf()));
        }
        fs::create_dir_all(root.join("docs")).map_err(io(root))?;
        let config = Config {
            format: FORMAT,
            prison: prison.to_string(),
            writer: hex::encode(writer),
        };
        let text = toml::to_string(&config).map_err(|e| StoreError::BadConfig {
            path: config_path.clone(),
            reason: e.to_string(),
        })?;
        write_atomic(&config_path, text.as_bytes())?;
        Ok(Store {
            root: root.to_path_buf(),
            config,
        })
    }

    /// Opens an existing data directory.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        let config_path = root.join(CONFIG_FILE);
        let text = match fs::read_to_string(&config_path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotInitialized(root.to_path_buf()));
            }
            Err(e) => return Err(io(&config_path)(e)),
        };
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
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    fn lock_file(&self) -> Result<File, StoreError> {
        let path = self.root.join("lock");
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io(&path))
    }

    /// Takes the lock shared: other readers may proceed, writers wait.
    pub fn lock_shared(&self) -> Result<Lock, StoreError> {
        let f = self.lock_file()?;
        f.lock_shared().map_err(io(&self.root.join("lock")))?;
        Ok(Lock { _file: f })
    }

    /// Takes the lock exclusively, for a load–modify–append cycle.
    pub fn lock_exclusive(&self) -> Result<Lock, StoreError> {
        let f = self.lock_file()?;
        f.lock().map_err(io(&self.root.join("lock")))?;
        Ok(Lock { _file: f })
    }

    fn doc_base(&self, id: &DocId) -> PathBuf {
        let docs = self.root.join("docs");
        match id {
            DocId::Registry => docs.join("registry"),
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

    /// Every district-month document stored, in order.
    pub fn month_ids(&self) -> Result<Vec<DocId>, StoreError> {
        let dir = self.root.join("docs").join("month");
        let mut out = Vec::new();
        let districts = match fs::read_dir(&dir) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io(&dir)(e)),
        };
        for d in districts {
            let d = d.map_err(io(&dir))?;
            let Some(district) = d.file_name().to_str().and_then(|s| DistrictId::new(s).ok())
            else {
                continue;
            };
            let ddir = d.path();
            for f in fs::read_dir(&ddir).map_err(io(&ddir))? {
                let f = f.map_err(io(&ddir))?;
                let name = f.file_name();
                let Some(name) = name.to_str() else { continue };
                let stem = name
                    .strip_suffix(".snap")
                    .or_else(|| name.strip_suffix(".log"));
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
        let log_path = self.log_path(id);
        let mut issues = Vec::new();
        let am = match read_optional(&snap_path)? {
            Some(bytes) => {
                let body = frame::decode_snapshot(&bytes).map_err(|r| StoreError::Corrupt {
                    path: snap_path.clone(),
                    reason: r.to_string(),
                })?;
                Automerge::load(body).map_err(|e| StoreError::Corrupt {
                    path: snap_path.clone(),
                    reason: e.to_string(),
                })?
            }
            None => Automerge::new(),
        };
        let mut doc =
            Document::from_automerge(id.clone(), am).map_err(|source| StoreError::Schema {
                doc: id.clone(),
                source: Box::new(source),
            })?;
        let log = read_optional(&log_path)?.unwrap_or_default();
        let scan = frame::scan(&log);
        for issue in &scan.issues {
            issues.push(format!("{}: {issue}", log_path.display()));
        }
        let mut changes = Vec::with_capacity(scan.records.len());
        for (i, rec) in scan.records.iter().enumerate() {
            match rec.split_first() {
                Some((&RECORD_CHANGE, bytes)) => match Change::from_bytes(bytes.to_vec()) {
                    Ok(c) => changes.push(c),
                    Err(e) => issues.push(format!(
                        "{}: record {i}: not a valid change ({e}), skipped",
                        log_path.display()
                    )),
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
            issues,
            log: LogState {
                records: scan.records.len(),
                valid_len: scan.valid_len,
                foreign: scan.issues.contains(&frame::FrameIssue::BadMagic),
            },
        })
    }

    /// Appends changes to a document's log and fsyncs: once this returns,
    /// the changes survive a crash. Cuts off a torn tail found at load first.
    pub fn append<D: Stored>(
        &self,
        loaded: &mut Loaded<D>,
        changes: &[Change],
    ) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let id = loaded.doc.document().id().clone();
        let path = self.log_path(&id);
        if loaded.log.foreign {
            return Err(StoreError::Corrupt {
                path,
                reason: "log header is not tally's; refusing to append (move the file aside)"
                    .into(),
            });
        }
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let mut buf = Vec::new();
        if loaded.log.valid_len == 0 {
            buf.extend_from_slice(frame::LOG_MAGIC);
        }
        for c in changes {
            let mut payload = Vec::with_capacity(c.raw_bytes().len() + 1);
            payload.push(RECORD_CHANGE);
            payload.extend_from_slice(c.raw_bytes());
            frame::encode(&payload, &mut buf);
        }
        let existed = path.exists();
        let mut f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&path)
            .map_err(io(&path))?;
        // Whatever lies past the last intact record was never acknowledged.
        f.set_len(loaded.log.valid_len).map_err(io(&path))?;
        use std::io::Seek;
        f.seek(std::io::SeekFrom::End(0)).map_err(io(&path))?;
        f.write_all(&buf).map_err(io(&path))?;
        f.sync_data().map_err(io(&path))?;
        if !existed && let Some(dir) = path.parent() {
            sync_dir(dir)?;
        }
        loaded.log.valid_len += buf.len() as u64;
        loaded.log.records += changes.len();
        Ok(())
    }

    /// Folds the log into a new snapshot if it has grown large.
    pub fn maybe_compact<D: Stored>(&self, loaded: &mut Loaded<D>) -> Result<bool, StoreError> {
        if loaded.log.records > COMPACT_LOG_RECORDS || loaded.log.valid_len > COMPACT_LOG_BYTES {
            self.compact(loaded)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Writes the whole document as a snapshot, then empties the log. Both
    /// steps are atomic; a crash between them leaves changes in both, which
    /// loading applies once.
    pub fn compact<D: Stored>(&self, loaded: &mut Loaded<D>) -> Result<(), StoreError> {
        let doc = loaded.doc.document();
        let id = doc.id().clone();
        let snap = frame::encode_snapshot(&doc.save());
        write_atomic(&self.snap_path(&id), &snap)?;
        let log_path = self.log_path(&id);
        if log_path.exists() {
            write_atomic(&log_path, frame::LOG_MAGIC)?;
        }
        loaded.log = LogState {
            records: 0,
            valid_len: if log_path.exists() {
                frame::LOG_MAGIC.len() as u64
            } else {
                0
            },
            foreign: false,
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests;
