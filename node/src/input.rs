//! Files given to tally from outside (spreadsheets, bundles, key files), read
//! only when they are regular files of a bounded size: `/dev/zero` would be
//! read until memory ran out, and a FIFO would block the command for ever.

use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest spreadsheet tally reads (a year of a 10,000-inmate prison's
/// attendance as CSV is about 150 MB).
pub const MAX_TABLE_BYTES: u64 = 512 * 1024 * 1024;
/// Largest key or public-key file (a few hundred bytes in practice).
pub const MAX_KEY_BYTES: u64 = 64 * 1024;

/// Why an input file is not read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a regular file ({what}); give the file itself", path.display())]
    NotAFile { path: PathBuf, what: &'static str },
    #[error("{}: {len} bytes, more than the {max} bytes a {kind} may have", path.display())]
    TooLarge {
        path: PathBuf,
        len: u64,
        max: u64,
        kind: &'static str,
    },
}

/// Reads the regular file at `path`, at most `max` bytes (`kind` names what
/// it should be, for the error).
pub fn read_bounded(path: &Path, max: u64, kind: &'static str) -> Result<Vec<u8>, InputError> {
    let io = |source| InputError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    let ft = meta.file_type();
    if !ft.is_file() {
        let what = if ft.is_dir() {
            "a folder"
        } else if is_fifo(&ft) {
            "a pipe"
        } else {
            "a device or other special file"
        };
        return Err(InputError::NotAFile {
            path: path.to_path_buf(),
            what,
        });
    }
    if meta.len() > max {
        return Err(InputError::TooLarge {
            path: path.to_path_buf(),
            len: meta.len(),
            max,
            kind,
        });
    }
    // The file may grow after the check: read no more than the bound allows.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)
        .map_err(io)?
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > max {
        return Err(InputError::TooLarge {
            path: path.to_path_buf(),
            len: bytes.len() as u64,
            max,
            kind,
        });
    }
    Ok(bytes)
}

#[cfg(unix)]
fn is_fifo(ft: &std::fs::FileType) -> bool {
    std::os::unix::fs::FileTypeExt::is_fifo(ft)
}

#[cfg(not(unix))]
fn is_fifo(_: &std::fs::FileType) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bounded_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.csv");
        std::fs::write(&f, b"date\n").unwrap();
        assert_eq!(read_bounded(&f, 10, "spreadsheet").unwrap(), b"date\n");
        let e = read_bounded(&f, 3, "key file").unwrap_err();
        assert!(
            e.to_string()
                .contains("5 bytes, more than the 3 bytes a key file"),
            "{e}"
        );
        let e = read_bounded(dir.path(), 10, "spreadsheet").unwrap_err();
        assert!(
            e.to_string().contains("not a regular file (a folder)"),
            "{e}"
        );
        #[cfg(unix)]
        {
            let e = read_bounded(Path::new("/dev/zero"), 10, "key file").unwrap_err();
            assert!(e.to_string().contains("a device"), "{e}");
            let fifo = dir.path().join("fifo");
            let made = std::process::Command::new("mkfifo").arg(&fifo).status();
            if made.is_ok_and(|s| s.success()) {
                // Refused without opening it (opening a FIFO blocks).
                let e = read_bounded(&fifo, 10, "key file").unwrap_err();
                assert!(e.to_string().contains("a pipe"), "{e}");
            }
        }
    }
}
