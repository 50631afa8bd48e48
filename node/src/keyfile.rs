//! Key files on disk: `keys::KeyFile` is the encrypted key as text; here it
//! is read from and written to a file readable only by its owner (mode 0600,
//! or an owner-only ACL on Windows), never overwriting one.

use std::path::Path;

use keys::{KeyFile, KeyFileError};

/// Reading and writing [`KeyFile`]s: `KeyFile::read(path)` and
/// `file.write_new(path)` with this trait in scope.
pub trait KeyFileIo: Sized {
    /// Reads a key file (without unlocking it).
    fn read(path: &Path) -> Result<Self, KeyFileError>;
    /// Writes a new key file readable only by its owner; never overwrites.
    fn write_new(&self, path: &Path) -> Result<(), KeyFileError>;
}

impl KeyFileIo for KeyFile {
    fn read(path: &Path) -> Result<KeyFile, KeyFileError> {
        let malformed = |reason: String| KeyFileError::Malformed {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = match crate::input::read_bounded(path, crate::input::MAX_KEY_BYTES, "key file")
        {
            Ok(b) => b,
            Err(crate::input::InputError::Io { source, .. }) => {
                return Err(KeyFileError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
            // A device, a pipe or a huge file: no key file, said so.
            Err(e) => return Err(malformed(e.to_string())),
        };
        let text = String::from_utf8(bytes).map_err(|_| malformed("not UTF-8 text".into()))?;
        KeyFile::from_text(&text, path)
    }

    fn write_new(&self, path: &Path) -> Result<(), KeyFileError> {
        platform::write_new_private(path, self.to_text().as_bytes()).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                KeyFileError::Exists(path.to_path_buf())
            } else {
                KeyFileError::Io {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keys::{KdfParams, KeyKind, SecretKey};
    use std::fs;

    #[test]
    fn a_key_file_is_the_owners_alone_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("officer.key");
        let key = SecretKey::from_seed(&[5; 32]);
        let f = KeyFile::seal(
            &key,
            KeyKind::Officer,
            "correct horse",
            KdfParams::STANDARD,
            None,
        )
        .unwrap();
        f.write_new(&path).unwrap();
        assert_eq!(platform::private_problem(&path).unwrap(), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let back = KeyFile::read(&path).unwrap();
        assert_eq!(
            back.unlock("correct horse", &path).unwrap().public(),
            key.public()
        );
        assert!(matches!(f.write_new(&path), Err(KeyFileError::Exists(_))));
    }
}
