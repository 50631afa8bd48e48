//! What the store asks of a filesystem, in one trait: the real one for
//! every program ([`RealDisk`]), a simulated one for the simulator's crashes
//! (`simulations::disk`), so a simulated restart reopens a replica through
//! the very code the daemon's start-up runs.
//!
//! Each method's promise is the durability the store builds on: `append_at`
//! and `write_atomic` return only once the bytes survive a crash; a
//! `write_atomic` is seen whole or not at all; `remove` and `truncate` are
//! durable when they return.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A file's length and modification time (how the store tells that another
/// process wrote).
pub type Stamp = (u64, SystemTime);

pub trait Disk: Send + Sync + std::fmt::Debug {
    /// The whole file, or `None` if there is none.
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>>;
    /// Length and modification time, if the file exists.
    fn stamp(&self, path: &Path) -> Option<Stamp>;
    /// Cuts the file to `valid_len`, appends `buf` and syncs it (and its
    /// folder when the file is new). Creates folders as needed.
    fn append_at(&self, path: &Path, valid_len: u64, buf: &[u8]) -> io::Result<()>;
    /// Replaces the file with `bytes`: a crash leaves the old or the new.
    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> io::Result<()>;
    /// Cuts the file to `len`, durably.
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    /// Removes the file, durably.
    fn remove(&self, path: &Path) -> io::Result<()>;
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// The names in a folder and whether each is a folder; `None` if there
    /// is no such folder.
    fn list(&self, dir: &Path) -> io::Result<Option<Vec<(String, bool)>>>;
    /// Takes the data directory's advisory lock (held until the returned
    /// guard drops); a disk of one process needs none.
    fn lock(&self, path: &Path, exclusive: bool) -> io::Result<Option<File>>;
}

/// The machine's filesystem.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealDisk;

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

impl Disk for RealDisk {
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        match fs::read(path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn stamp(&self, path: &Path) -> Option<Stamp> {
        let m = fs::metadata(path).ok()?;
        Some((m.len(), m.modified().ok()?))
    }

    fn append_at(&self, path: &Path, valid_len: u64, buf: &[u8]) -> io::Result<()> {
        use std::io::Seek;
        let dir = platform::parent(path);
        fs::create_dir_all(dir)?;
        let existed = path.exists();
        let mut f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(path)?;
        f.set_len(valid_len)?;
        f.seek(io::SeekFrom::End(0))?;
        f.write_all(buf)?;
        f.sync_data()?;
        if !existed {
            platform::sync_dir(dir)?;
        }
        Ok(())
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let dir = platform::parent(path);
        fs::create_dir_all(dir)?;
        let tmp = tmp_path(path);
        {
            let mut f = File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        platform::rename_durable(&tmp, path).inspect_err(|_| {
            let _ = fs::remove_file(&tmp);
        })
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let f = OpenOptions::new().write(true).open(path)?;
        f.set_len(len)?;
        f.sync_all()
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)?;
        platform::sync_dir(platform::parent(path))
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Option<Vec<(String, bool)>>> {
        let entries = match fs::read_dir(dir) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for e in entries {
            let e = e?;
            if let Some(name) = e.file_name().to_str() {
                out.push((name.to_string(), e.file_type()?.is_dir()));
            }
        }
        Ok(Some(out))
    }

    fn lock(&self, path: &Path, exclusive: bool) -> io::Result<Option<File>> {
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        if exclusive {
            f.lock()?;
        } else {
            f.lock_shared()?;
        }
        Ok(Some(f))
    }
}
