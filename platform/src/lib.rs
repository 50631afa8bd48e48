//! # platform — what differs between Windows and Unix, in one place
//!
//! tally runs on Windows 10/11 district PCs and on the domestic Linux
//! distributions; everything that behaves differently there is here, so the
//! rest of the workspace is written once and keeps `unsafe_code = "forbid"`:
//!
//! - **Durable replacement of a file** ([`rename_durable`], [`sync_dir`]). On
//!   Unix a rename is made durable by fsyncing the directory. Windows cannot
//!   open a directory as a file (std's `File::open` on one fails with "access
//!   denied"), so there the rename itself is asked to reach the disk before it
//!   returns (`MoveFileExW` with `MOVEFILE_WRITE_THROUGH`), and [`sync_dir`]
//!   has nothing left to do.
//! - **Files only their owner may read** ([`create_private`]): mode 0600 on
//!   Unix; on Windows a protected DACL granting the file's owner, SYSTEM and
//!   the Administrators group, and no one else (NTFS ignores Unix modes).
//!   [`private_problem`] tells whether an existing file is readable by others.
//! - **The machine's data directory** ([`default_data_dir`]): one replica per
//!   machine, shared by the service and the officers' app.
//! - **The Windows service** ([`service`]) and a **message box** for errors of a
//!   program without a console ([`message_box`]).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

#[cfg(windows)]
mod windows;

/// Replaces `to` by `from` so that, once this returns, a crash or power cut
/// leaves `to` with the new content (never a mix, never the old one back).
/// `from` must be fsynced already.
pub fn rename_durable(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(windows)]
    {
        windows::move_write_through(from, to)
    }
    #[cfg(not(windows))]
    {
        std::fs::rename(from, to)?;
        sync_dir(parent(to))
    }
}

/// Makes the entries of `dir` (files created, renamed or removed in it)
/// durable. On Windows this is done by each rename ([`rename_durable`]) and a
/// file's own fsync, and this does nothing.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(windows)]
    {
        let _ = dir;
        Ok(())
    }
    #[cfg(not(windows))]
    {
        File::open(dir)?.sync_all()
    }
}

/// The directory a path's entry lives in (`.` for a bare file name).
pub fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Creates a new file (failing if it exists) that only its owner can read
/// or write: mode 0600 on Unix; on Windows an ACL granting the owner,
/// SYSTEM and Administrators alone, set before anything is written to it.
pub fn create_private(path: &Path) -> io::Result<File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(path)?;
    #[cfg(windows)]
    {
        if let Err(e) = windows::restrict_to_owner(path) {
            drop(file);
            let _ = std::fs::remove_file(path);
            return Err(e);
        }
    }
    Ok(file)
}

/// Writes a new file only its owner can read, whole or not at all, never
/// replacing one: fails with `AlreadyExists` when `path` exists, also when
/// another process creates it at the same moment (two processes making one
/// device key must end with one key). Durable once it returns.
pub fn write_new_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    if path.exists() {
        return Err(io::ErrorKind::AlreadyExists.into());
    }
    // A name of this call's own (process and sequence): no other writer
    // removes or overwrites it.
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}-{seq}.tmp", std::process::id()));
    let tmp = path.with_file_name(name);
    let _ = std::fs::remove_file(&tmp);
    let mut f = create_private(&tmp)?;
    let written = f.write_all(bytes).and_then(|()| f.sync_all());
    drop(f);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // `rename` would replace a file created meanwhile; a hard link fails instead.
    let linked = match std::fs::hard_link(&tmp, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        // FAT-formatted USB sticks have no hard links: the whole file is
        // written, so the rename replaces nothing but a file created in the
        // instant since the check above.
        Err(_) if path.exists() => Err(io::ErrorKind::AlreadyExists.into()),
        Err(_) => rename_durable(&tmp, path),
    };
    let _ = std::fs::remove_file(&tmp);
    linked?;
    sync_dir(parent(path))
}

/// Whether an existing secret file can be read by others than its owner,
/// said in words (`None`: it cannot, as far as this platform tells). On
/// Unix: group or other permission bits. On Windows the ACL is not judged
/// here; files tally creates carry an owner-only ACL ([`create_private`]).
pub fn private_problem(path: &Path) -> io::Result<Option<String>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        Ok((mode & 0o077 != 0).then(|| {
            format!(
                "mode {mode:04o} lets other users read it (chmod 600 makes it the owner's alone)"
            )
        }))
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(path)?;
        Ok(None)
    }
}

/// The machine-wide data directory: `%ProgramData%\tally` on Windows,
/// `/var/lib/tally` elsewhere. There is one replica per machine, and the
/// service (or systemd unit) and every officer's app must find the same one,
/// so it is not a per-user directory.
pub fn default_data_dir() -> PathBuf {
    #[cfg(windows)]
    {
        std::env::var_os("ProgramData")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"))
            .join("tally")
    }
    #[cfg(not(windows))]
    {
        PathBuf::from("/var/lib/tally")
    }
}

/// Where the data directory is shared by a group (the packaged
/// `/var/lib/tally`: owner `tally`, group `tally`, mode 2770, the service and
/// every officer's app and CLI writing it), files created from now on in this
/// process can be written by that group: the umask becomes 007. Elsewhere
/// (a private directory, Windows, whose folder ACL decides) nothing changes.
/// Returns whether it changed.
pub fn share_new_files_with_group(data_dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::metadata(data_dir) else {
            return false;
        };
        if meta.permissions().mode() & 0o070 != 0o070 {
            return false;
        }
        let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o007));
        // Keep whatever the old mask also took from others; give the group back.
        let keep = old.as_raw_mode() & 0o007;
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o007 | keep));
        true
    }
    #[cfg(not(unix))]
    {
        let _ = data_dir;
        false
    }
}

/// Shows an error to someone who has no console to read it in: a message
/// box on Windows (the officers' app has no console window there); on other
/// systems the text goes to standard error.
pub fn message_box(title: &str, text: &str) {
    #[cfg(windows)]
    {
        windows::message_box(title, text);
    }
    #[cfg(not(windows))]
    {
        eprintln!("{title}: {text}");
    }
}

/// Running as a Windows service: the service control manager starts the
/// program, which hands it its entry point and reports its state.
pub mod service {
    use std::sync::mpsc::Receiver;

    /// What the service runs: it gets a receiver that yields once when the
    /// service is asked to stop, and returns when it has stopped.
    pub type Main = fn(stop: Receiver<()>) -> Result<(), String>;

    /// Hands the calling thread to the Windows service control manager,
    /// which runs `main` as the service `name` until it is stopped. Returns
    /// an error at once when the program was not started as a service (from
    /// a console, say). Elsewhere there are no services and this fails.
    pub fn run(name: &'static str, main: Main) -> Result<(), String> {
        #[cfg(windows)]
        {
            super::windows::run_service(name, main)
        }
        #[cfg(not(windows))]
        {
            let _ = (name, main);
            Err("Windows services exist only on Windows; run `tally node run` under systemd".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn rename_durable_replaces_the_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.tmp"), dir.path().join("b"));
        std::fs::write(&b, b"old").unwrap();
        let mut f = File::create(&a).unwrap();
        f.write_all(b"new").unwrap();
        f.sync_all().unwrap();
        drop(f);
        rename_durable(&a, &b).unwrap();
        assert_eq!(std::fs::read(&b).unwrap(), b"new");
        assert!(!a.exists());
    }

    #[test]
    fn a_bare_file_name_lives_in_the_working_directory() {
        assert_eq!(parent(Path::new("x.bundle")), Path::new("."));
        assert_eq!(parent(Path::new("d/x.bundle")), Path::new("d"));
        sync_dir(parent(Path::new("x.bundle"))).unwrap();
    }

    #[test]
    fn a_new_private_file_is_written_once_even_by_racing_writers() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("node.key");
        // Each writer must either win or be told the file exists; the file
        // is one writer's whole text.
        let results: Vec<io::Result<()>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4u8)
                .map(|i| {
                    let p = &p;
                    s.spawn(move || write_new_private(p, &[b'a' + i; 64]))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let won = results.iter().filter(|r| r.is_ok()).count();
        assert!(won >= 1);
        for r in &results {
            if let Err(e) = r {
                assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{e}");
            }
        }
        let text = std::fs::read(&p).unwrap();
        assert_eq!(text.len(), 64);
        assert!(
            text.iter().all(|b| *b == text[0]),
            "one writer's text, whole"
        );
        assert_eq!(private_problem(&p).unwrap(), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_group_shared_data_directory_gets_group_writable_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("private");
        std::fs::create_dir(&private).unwrap();
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(!share_new_files_with_group(&private));
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o2770)).unwrap();
        assert!(share_new_files_with_group(&shared));
        let f = shared.join("log");
        File::create(&f).unwrap();
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o060, 0o060, "group may read and write: {mode:o}");
        assert_eq!(mode & 0o007, 0, "others may not: {mode:o}");
    }

    #[test]
    fn private_files_are_new_and_the_owners_alone() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secret.key");
        create_private(&p).unwrap().write_all(b"k").unwrap();
        assert_eq!(private_problem(&p).unwrap(), None);
        assert_eq!(
            create_private(&p).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists,
            "never overwrites"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            let said = private_problem(&p)
                .unwrap()
                .expect("0644 is readable by others");
            assert!(said.contains("0644"), "{said}");
        }
    }
}
