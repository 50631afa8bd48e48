//! Keys on this machine: the data directory's authority and admin key files,
//! officers' key files, the authority's public key file, and passphrases
//! (from `TALLY_PASSPHRASE` or a prompt that does not echo).

use crate::keyfile::KeyFileIo;
use std::path::{Path, PathBuf};

use keys::{KeyFile, KeyFileError, KeyKind, PublicKey, SecretKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::session::Identity;

/// Environment variable holding the passphrase for non-interactive use.
pub const PASSPHRASE_ENV: &str = "TALLY_PASSPHRASE";

pub fn authority_key_path(data: &Path) -> PathBuf {
    data.join("authority.key")
}

pub fn authority_pub_path(data: &Path) -> PathBuf {
    data.join("authority.pub")
}

pub fn admin_key_path(data: &Path) -> PathBuf {
    data.join("admin.key")
}

/// Why a passphrase, the authority's key or its public key file could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyAccessError {
    #[error("reading the passphrase for {what} (or set {PASSPHRASE_ENV}): {source}")]
    Prompt {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the two passphrases differ")]
    PassphrasesDiffer,
    #[error("{}: not an authority public key file: {reason}", path.display())]
    NotAuthorityPub { path: PathBuf, reason: String },
    #[error("{}: format `{found}`, expected {AUTHORITY_PUB_FORMAT}", path.display())]
    AuthorityPubFormat { path: PathBuf, found: String },
    #[error(
        "this replica holds no authority key ({}); certificates are issued where it is kept: {source}",
        path.display()
    )]
    NoAuthorityKey {
        path: PathBuf,
        #[source]
        source: KeyFileError,
    },
    #[error("{} is not an authority key file", path.display())]
    NotAuthorityKey { path: PathBuf },
    #[error(transparent)]
    Key(#[from] KeyFileError),
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

fn prompt(what: &str, asked: String) -> Result<Zeroizing<String>, KeyAccessError> {
    rpassword::prompt_password(asked)
        .map(Zeroizing::new)
        .map_err(|source| KeyAccessError::Prompt {
            what: what.to_string(),
            source,
        })
}

/// The passphrase for `what`: `TALLY_PASSPHRASE` if set, else asked for.
pub fn passphrase(what: &str) -> Result<Zeroizing<String>, KeyAccessError> {
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        return Ok(Zeroizing::new(p));
    }
    prompt(what, format!("passphrase for {what}: "))
}

/// A passphrase for a new key: `TALLY_PASSPHRASE` if set, else asked twice.
pub fn new_passphrase(what: &str) -> Result<Zeroizing<String>, KeyAccessError> {
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        return Ok(Zeroizing::new(p));
    }
    let a = prompt(what, format!("new passphrase for {what}: "))?;
    let b = prompt(what, "again: ".to_string())?;
    if a != b {
        return Err(KeyAccessError::PassphrasesDiffer);
    }
    Ok(a)
}

/// The authority's public key file (`authority.pub`), given to replicas and to
/// the procuratorate for `tally verify`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorityPub {
    pub format: String,
    pub prison: String,
    pub public_key: PublicKey,
}

const AUTHORITY_PUB_FORMAT: &str = "tally-authority/1";

pub fn write_authority_pub(
    path: &Path,
    prison: &str,
    key: &PublicKey,
) -> Result<(), KeyAccessError> {
    let f = AuthorityPub {
        format: AUTHORITY_PUB_FORMAT.into(),
        prison: prison.into(),
        public_key: *key,
    };
    let text = serde_json::to_string_pretty(&f).expect("strings and a key always serialize");
    crate::store::write_atomic(path, text.as_bytes())?;
    Ok(())
}

pub fn read_authority_pub(path: &Path) -> Result<AuthorityPub, KeyAccessError> {
    let bytes = crate::input::read_bounded(path, crate::input::MAX_KEY_BYTES, "public-key file")?;
    let not = |reason: String| KeyAccessError::NotAuthorityPub {
        path: path.to_path_buf(),
        reason,
    };
    let text = String::from_utf8(bytes).map_err(|e| not(e.to_string()))?;
    let f: AuthorityPub = serde_json::from_str(&text).map_err(|e| not(e.to_string()))?;
    if f.format != AUTHORITY_PUB_FORMAT {
        return Err(KeyAccessError::AuthorityPubFormat {
            path: path.to_path_buf(),
            found: f.format,
        });
    }
    Ok(f)
}

/// Why an officer's key did not open, or is not accepted here.
#[derive(Debug, thiserror::Error)]
pub enum UnlockError {
    #[error(transparent)]
    Key(#[from] keys::KeyFileError),
    #[error("{}: not an officer key file", path.display())]
    NotOfficer { path: PathBuf },
    #[error("{}: no certificate in the key file", path.display())]
    NoCertificate { path: PathBuf },
    #[error("{}: the certificate is for another key", path.display())]
    CertificateMismatch { path: PathBuf },
    #[error("officer {officer}'s certificate was not issued by this prison's authority: {reason}")]
    ForeignCertificate { officer: String, reason: String },
    #[error("officer {officer}'s certificate is valid {from} to {to}; today is {today}")]
    NotValidToday {
        officer: String,
        from: crdt_schema::Date,
        to: crdt_schema::Date,
        today: crdt_schema::Date,
    },
    #[error("officer {officer}'s key has been revoked")]
    Revoked { officer: String },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Unlocks an officer key file into an identity.
pub fn unlock_officer(path: &Path, passphrase: &str) -> Result<Identity, UnlockError> {
    let file = KeyFile::read(path)?;
    if file.kind != KeyKind::Officer {
        return Err(UnlockError::NotOfficer {
            path: path.to_path_buf(),
        });
    }
    let certificate = file
        .certificate
        .clone()
        .ok_or_else(|| UnlockError::NoCertificate {
            path: path.to_path_buf(),
        })?;
    let key = file.unlock(passphrase, path)?;
    if certificate.body.public_key != key.public() {
        return Err(UnlockError::CertificateMismatch {
            path: path.to_path_buf(),
        });
    }
    Ok(Identity { key, certificate })
}

/// Unlocks the authority key of a data directory.
pub fn unlock_authority(data: &Path, passphrase: &str) -> Result<SecretKey, KeyAccessError> {
    let path = authority_key_path(data);
    let file = KeyFile::read(&path).map_err(|source| KeyAccessError::NoAuthorityKey {
        path: path.clone(),
        source,
    })?;
    if file.kind != KeyKind::Authority {
        return Err(KeyAccessError::NotAuthorityKey { path });
    }
    Ok(file.unlock(passphrase, &path)?)
}
