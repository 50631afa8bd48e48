//! Reading a folder for the file picker (the key file at login, a
//! spreadsheet to import, where an export goes). Runs on the backend thread:
//! the UI never touches the disk. Officers carry key files and spreadsheets
//! on USB sticks, so the picker also offers the places where those appear.

use std::path::{Path, PathBuf};

/// One entry of a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub is_dir: bool,
    /// Size in bytes (0 for folders).
    pub bytes: u64,
}

/// A folder as the picker shows it: sub-folders first, then files, each
/// sorted by name, hidden entries (a leading dot) left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub dir: PathBuf,
    pub parent: Option<PathBuf>,
    pub entries: Vec<Entry>,
    /// Places worth a button: the data directory, the home folder, mounted
    /// removable media and (on Windows) drive letters.
    pub places: Vec<(Place, PathBuf)>,
}

/// A place the picker offers as a button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// The replica's data directory (the admin key, the demo's keys).
    Data,
    Home,
    Desktop,
    Documents,
    /// A mounted removable medium, by its folder name.
    Media(String),
    /// A Windows drive.
    Drive(char),
}

/// What went wrong reading a folder, naming it.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", dir.display())]
pub struct ListError {
    pub dir: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Reads `dir`, offering `places` beside it. Entries whose names are not
/// valid UTF-8 are left out (the app could not name them back to the
/// backend faithfully on every platform).
pub fn list(dir: &Path, places: &[(Place, PathBuf)]) -> Result<Listing, ListError> {
    let err = |source| ListError {
        dir: dir.to_path_buf(),
        source,
    };
    let dir = std::path::absolute(dir).map_err(err)?;
    let mut entries = Vec::new();
    for e in std::fs::read_dir(&dir).map_err(err)? {
        let Ok(e) = e else { continue };
        let Ok(name) = e.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        // Follows symbolic links, as a file dialog does.
        let Ok(meta) = std::fs::metadata(e.path()) else {
            continue;
        };
        entries.push(Entry {
            name,
            is_dir: meta.is_dir(),
            bytes: if meta.is_dir() { 0 } else { meta.len() },
        });
    }
    entries.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
    Ok(Listing {
        parent: dir.parent().map(Path::to_path_buf),
        dir,
        entries,
        places: places.to_vec(),
    })
}

/// Where key files and spreadsheets are likely to be. Probing drives can
/// take a while (an empty floppy or a lost network drive on Windows), so the
/// backend asks once each time the picker opens, not for every folder.
pub fn places(data: &Path) -> Vec<(Place, PathBuf)> {
    let mut out = vec![(
        Place::Data,
        std::path::absolute(data).unwrap_or_else(|_| data.to_path_buf()),
    )];
    if let Some(u) = directories::UserDirs::new() {
        out.push((Place::Home, u.home_dir().to_path_buf()));
        if let Some(d) = u.desktop_dir() {
            out.push((Place::Desktop, d.to_path_buf()));
        }
        if let Some(d) = u.document_dir() {
            out.push((Place::Documents, d.to_path_buf()));
        }
    }
    // Removable media: Linux desktops mount USB sticks under /media/USER or
    // /run/media/USER; Windows gives them drive letters.
    let user = std::env::var("USER").unwrap_or_default();
    let mut mounts = vec![PathBuf::from("/mnt")];
    if !user.is_empty() {
        mounts.push(Path::new("/media").join(&user));
        mounts.push(Path::new("/run/media").join(&user));
    }
    for m in mounts {
        if let Ok(rd) = std::fs::read_dir(&m) {
            let mut found: Vec<PathBuf> = rd
                .flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.path())
                .collect();
            found.sort();
            for p in found {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                out.push((Place::Media(name), p));
            }
        }
    }
    if cfg!(windows) {
        for letter in b'A'..=b'Z' {
            let root = PathBuf::from(format!("{}:\\", letter as char));
            if root.is_dir() {
                out.push((Place::Drive(letter as char), root));
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|(_, p)| p.is_dir() && seen.insert(p.clone()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_come_first_then_files_by_name_without_hidden_ones() {
        let d = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(d.path().join("z-folder")).expect("mkdir");
        std::fs::create_dir(d.path().join("a-folder")).expect("mkdir");
        std::fs::write(d.path().join("b.key"), b"12345").expect("write");
        std::fs::write(d.path().join("a.csv"), b"").expect("write");
        std::fs::write(d.path().join(".hidden"), b"").expect("write");
        let l = list(d.path(), &places(d.path())).expect("listing");
        let names: Vec<(&str, bool, u64)> = l
            .entries
            .iter()
            .map(|e| (e.name.as_str(), e.is_dir, e.bytes))
            .collect();
        assert_eq!(
            names,
            [
                ("a-folder", true, 0),
                ("z-folder", true, 0),
                ("a.csv", false, 0),
                ("b.key", false, 5)
            ]
        );
        assert_eq!(l.parent.as_deref(), d.path().parent());
        assert_eq!(l.places[0].1, d.path(), "the data directory comes first");
    }

    #[test]
    fn a_missing_folder_is_an_error_naming_it() {
        let d = tempfile::tempdir().expect("tempdir");
        let gone = d.path().join("no-such");
        let e = list(&gone, &places(d.path())).expect_err("missing");
        assert!(e.to_string().contains("no-such"), "{e}");
    }
}
