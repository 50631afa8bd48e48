//! A simulated disk under the real store (`node::store::Disk`): files in
//! memory, each with the prefix that was synced, so a crash can take from
//! every file exactly what a power cut takes — and tear a write that was
//! under way — by seed. A simulated restart reopens the replica from it
//! through `Replica::open`, the daemon's own start-up.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use node::store::Disk;
use rand::RngExt;
use rand::rngs::ChaCha8Rng;

#[derive(Debug, Default, Clone)]
struct SimFile {
    data: Vec<u8>,
    /// How much of `data` a crash keeps: what was synced.
    synced: usize,
    /// A counter, not a clock: every write moves it.
    mtime: u64,
}

#[derive(Debug, Default)]
struct Inner {
    files: BTreeMap<PathBuf, SimFile>,
    dirs: std::collections::BTreeSet<PathBuf>,
    tick: u64,
    /// The planted bug: appends are acknowledged without being synced.
    skip_sync: bool,
    /// Bytes appended since the last crash (what a crash can tear).
    last_append: Option<PathBuf>,
}

/// One node's disk.
#[derive(Debug, Default)]
pub struct SimDisk {
    inner: Mutex<Inner>,
}

/// A bad block [`SimDisk::corrupt`] put on the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub path: PathBuf,
    pub offset: usize,
    pub len: usize,
    /// The file as it was before.
    pub before: Vec<u8>,
}

/// What a crash did, for the trace.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Crash {
    /// Unsynced bytes lost, over all files.
    pub lost: usize,
    /// A write under way at the crash left this many bytes of a torn record.
    pub torn: usize,
}

impl SimDisk {
    /// A disk whose appends are not synced (the planted bug).
    pub fn skipping_sync() -> SimDisk {
        let d = SimDisk::default();
        d.lock().skip_sync = true;
        d
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A power cut: every file keeps what was synced. With `tear`, a write
    /// was under way: the last log appended to gets part of a record that
    /// was never acknowledged (random bytes, as a half-written block).
    pub fn crash(&self, rng: &mut ChaCha8Rng, tear: bool) -> Crash {
        let mut d = self.lock();
        let mut out = Crash::default();
        for f in d.files.values_mut() {
            out.lost += f.data.len() - f.synced;
            f.data.truncate(f.synced);
        }
        if tear && let Some(path) = d.last_append.clone() {
            // What a torn write leaves: a prefix of what was being written —
            // a new file's header, or part of a record after the last one.
            let empty = d.files.get(&path).is_some_and(|f| f.data.is_empty());
            let bytes: Vec<u8> = if empty {
                let n = rng.random_range(1..node::store::frame::LOG_MAGIC.len());
                node::store::frame::LOG_MAGIC[..n].to_vec()
            } else {
                let n = rng.random_range(1..64usize);
                (0..n).map(|_| rng.random()).collect()
            };
            let n = bytes.len();
            if let Some(f) = d.files.get_mut(&path) {
                f.data.extend_from_slice(&bytes);
                f.synced = f.data.len();
                out.torn = n;
            }
        }
        d.last_append = None;
        out
    }

    /// A bad block: `1..=64` bytes of one document file (a log, a snapshot
    /// or a quarantine, under `docs/`; not a damaged file kept aside), picked by seed, flipped where they
    /// lie — acknowledged bytes, unlike a torn write's. `None` when there is
    /// no such file yet.
    pub fn corrupt(&self, rng: &mut ChaCha8Rng) -> Option<Damage> {
        let mut d = self.lock();
        let candidates: Vec<PathBuf> = d
            .files
            .iter()
            .filter(|(p, f)| {
                !f.data.is_empty()
                    && p.components().any(|c| c.as_os_str() == "docs")
                    && p.extension()
                        .is_some_and(|e| e == "log" || e == "snap" || e == "quarantine")
            })
            .map(|(p, _)| p.clone())
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let path = candidates[rng.random_range(0..candidates.len())].clone();
        let f = d.files.get_mut(&path).expect("listed above");
        let before = f.data.clone();
        let offset = rng.random_range(0..f.data.len());
        let len = rng.random_range(1..=64usize).min(f.data.len() - offset);
        for b in &mut f.data[offset..offset + len] {
            *b ^= rng.random_range(1..=255u8);
        }
        Some(Damage {
            path,
            offset,
            len,
            before,
        })
    }

    /// Bytes held, over all files.
    pub fn size(&self) -> usize {
        self.lock().files.values().map(|f| f.data.len()).sum()
    }
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{}: no such file", path.display()),
    )
}

impl Disk for SimDisk {
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        Ok(self.lock().files.get(path).map(|f| f.data.clone()))
    }

    fn stamp(&self, path: &Path) -> Option<(u64, SystemTime)> {
        self.lock().files.get(path).map(|f| {
            (
                f.data.len() as u64,
                SystemTime::UNIX_EPOCH + Duration::from_nanos(f.mtime),
            )
        })
    }

    fn append_at(&self, path: &Path, valid_len: u64, buf: &[u8]) -> io::Result<()> {
        let mut d = self.lock();
        d.tick += 1;
        let (tick, skip) = (d.tick, d.skip_sync);
        let f = d.files.entry(path.to_path_buf()).or_default();
        f.data.truncate(valid_len as usize);
        f.synced = f.synced.min(f.data.len());
        f.data.extend_from_slice(buf);
        if !skip {
            f.synced = f.data.len();
        }
        f.mtime = tick;
        d.last_append = Some(path.to_path_buf());
        Ok(())
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut d = self.lock();
        d.tick += 1;
        let tick = d.tick;
        d.files.insert(
            path.to_path_buf(),
            SimFile {
                data: bytes.to_vec(),
                synced: bytes.len(),
                mtime: tick,
            },
        );
        Ok(())
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let mut d = self.lock();
        d.tick += 1;
        let tick = d.tick;
        let f = d.files.get_mut(path).ok_or_else(|| not_found(path))?;
        f.data.truncate(len as usize);
        f.synced = f.synced.min(f.data.len());
        f.mtime = tick;
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.lock()
            .files
            .remove(path)
            .map(|_| ())
            .ok_or_else(|| not_found(path))
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.lock().dirs.insert(dir.to_path_buf());
        Ok(())
    }

    fn list(&self, dir: &Path) -> io::Result<Option<Vec<(String, bool)>>> {
        let d = self.lock();
        let mut out: BTreeMap<String, bool> = BTreeMap::new();
        let mut any = d.dirs.contains(dir);
        let paths = d
            .files
            .keys()
            .map(|p| (p, false))
            .chain(d.dirs.iter().map(|p| (p, true)));
        for (p, is_dir) in paths {
            let Ok(rest) = p.strip_prefix(dir) else {
                continue;
            };
            let mut parts = rest.components();
            let Some(first) = parts.next() else { continue };
            any = true;
            let name = first.as_os_str().to_string_lossy().into_owned();
            let deeper = parts.next().is_some();
            *out.entry(name).or_default() |= deeper || is_dir;
        }
        Ok(any.then(|| out.into_iter().collect()))
    }

    fn lock(&self, _: &Path, _: bool) -> io::Result<Option<std::fs::File>> {
        // One process per simulated disk: nothing to exclude.
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_crash_keeps_what_was_synced_and_tears_only_an_unacknowledged_write() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let d = SimDisk::default();
        let log = Path::new("/n/docs/a.log");
        d.append_at(log, 0, b"one").unwrap();
        d.append_at(log, 3, b"two").unwrap();
        d.write_atomic(Path::new("/n/docs/a.snap"), b"snap")
            .unwrap();
        let c = d.crash(&mut rng, false);
        assert_eq!(c, Crash::default(), "everything was synced");
        assert_eq!(d.read(log).unwrap().unwrap(), b"onetwo");
        let c = d.crash(&mut rng, true);
        assert_eq!(c.torn, 0, "no write under way since the last crash");
        d.append_at(log, 6, b"three").unwrap();
        let c = d.crash(&mut rng, true);
        assert!(c.torn > 0);
        let after = d.read(log).unwrap().unwrap();
        assert!(after.starts_with(b"onetwothree"), "acknowledged bytes kept");
        assert_eq!(after.len(), 11 + c.torn);
        // Listing sees folders from the files in them.
        let top = d.list(Path::new("/n")).unwrap().unwrap();
        assert_eq!(top, vec![("docs".to_string(), true)]);
        assert_eq!(d.list(Path::new("/m")).unwrap(), None);
    }

    #[test]
    fn without_sync_a_crash_loses_what_was_acknowledged() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let d = SimDisk::skipping_sync();
        let log = Path::new("/n/a.log");
        d.append_at(log, 0, b"acknowledged").unwrap();
        let c = d.crash(&mut rng, false);
        assert_eq!(c.lost, 12);
        assert_eq!(d.read(log).unwrap().unwrap(), b"");
    }

    #[test]
    fn a_bad_block_flips_bytes_of_a_document_file_only() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let d = SimDisk::default();
        assert_eq!(d.corrupt(&mut rng), None, "nothing to damage yet");
        d.write_atomic(Path::new("/n/tally.toml"), b"config")
            .unwrap();
        let log = Path::new("/n/docs/a.log");
        d.append_at(log, 0, &[0u8; 100]).unwrap();
        for _ in 0..20 {
            let before = d.read(log).unwrap().unwrap();
            let dmg = d.corrupt(&mut rng).expect("a document file");
            assert_eq!(dmg.path, log);
            let after = d.read(log).unwrap().unwrap();
            let changed: Vec<usize> = (0..100).filter(|&i| before[i] != after[i]).collect();
            assert_eq!(changed.len(), dmg.len, "every byte of the block flipped");
            assert!(
                changed
                    .iter()
                    .all(|&i| (dmg.offset..dmg.offset + dmg.len).contains(&i))
            );
        }
        assert_eq!(
            d.read(Path::new("/n/tally.toml")).unwrap().unwrap(),
            b"config"
        );
    }
}
