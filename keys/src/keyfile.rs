//! Secret keys at rest: encrypted under a passphrase with Argon2id (memory-hard)
//! and XChaCha20-Poly1305 (an AEAD), as a small JSON text. The public key, the
//! key's kind and the file format are bound to the ciphertext as associated
//! data, so no field can be swapped. Reading and writing the file (readable
//! only by its owner) is the node's (`node::keyfile`): this crate does no I/O.

use std::path::{Path, PathBuf};

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::TryRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::cert::Certificate;
use crate::key::{PublicKey, SecretKey};

const FORMAT: &str = "tally-key/1";
/// Shortest passphrase accepted for a new key.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a tally key file: {reason}")]
    Malformed { path: PathBuf, reason: String },
    #[error("{path}: wrong passphrase (or the file was altered)")]
    WrongPassphrase { path: PathBuf },
    #[error("{0} already exists; refusing to overwrite a key file")]
    Exists(PathBuf),
    #[error("a passphrase needs at least {MIN_PASSPHRASE_CHARS} characters")]
    WeakPassphrase,
    #[error("key derivation failed: {0}")]
    Kdf(String),
    #[error("{0}")]
    Key(#[from] crate::key::KeyError),
}

/// What a key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    Authority,
    Officer,
    Device,
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdfParams {
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
}

impl KdfParams {
    /// RFC 9106 / OWASP's recommended Argon2id setting: 19 MiB, 2 passes
    /// (about 25 ms on the development machine).
    pub const STANDARD: KdfParams = KdfParams {
        m_kib: 19_456,
        t: 2,
        p: 1,
    };

    /// Bounds on what a file may ask for: never weaker than 8 MiB and one
    /// pass, never more than 1 GiB (a file cannot make unlocking hang).
    fn check(&self) -> Result<(), String> {
        if !(8 * 1024..=1024 * 1024).contains(&self.m_kib)
            || !(1..=10).contains(&self.t)
            || !(1..=16).contains(&self.p)
        {
            return Err(format!("KDF parameters out of bounds: {self:?}"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Kdf {
    algorithm: String,
    #[serde(flatten)]
    params: KdfParams,
    salt: String,
}

/// An encrypted secret key, with the officer's certificate when it has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    format: String,
    pub kind: KeyKind,
    pub public_key: PublicKey,
    kdf: Kdf,
    cipher: String,
    nonce: String,
    ciphertext: String,
    pub certificate: Option<Certificate>,
}

fn random<const N: usize>() -> Result<[u8; N], KeyFileError> {
    let mut b = [0u8; N];
    rand::rngs::SysRng
        .try_fill_bytes(&mut b)
        .map_err(|e| KeyFileError::Kdf(format!("system random number generator: {e}")))?;
    Ok(b)
}

fn derive(
    passphrase: &str,
    salt: &[u8],
    p: KdfParams,
) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    let params =
        Params::new(p.m_kib, p.t, p.p, Some(32)).map_err(|e| KeyFileError::Kdf(e.to_string()))?;
    let mut out = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), salt, out.as_mut())
        .map_err(|e| KeyFileError::Kdf(e.to_string()))?;
    Ok(out)
}

fn aad(kind: KeyKind, public: &PublicKey) -> Vec<u8> {
    let mut a = FORMAT.as_bytes().to_vec();
    a.push(0);
    a.extend_from_slice(
        serde_json::to_string(&kind)
            .expect("kind serializes")
            .as_bytes(),
    );
    a.push(0);
    a.extend_from_slice(public.as_bytes());
    a
}

impl KeyFile {
    /// Encrypts `key` under `passphrase`.
    pub fn seal(
        key: &SecretKey,
        kind: KeyKind,
        passphrase: &str,
        params: KdfParams,
        certificate: Option<Certificate>,
    ) -> Result<KeyFile, KeyFileError> {
        if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(KeyFileError::WeakPassphrase);
        }
        params.check().map_err(KeyFileError::Kdf)?;
        let salt: [u8; 16] = random()?;
        let nonce: [u8; 24] = random()?;
        let k = derive(passphrase, &salt, params)?;
        let cipher = XChaCha20Poly1305::new_from_slice(k.as_ref())
            .map_err(|e| KeyFileError::Kdf(e.to_string()))?;
        let public = key.public();
        let seed = key.seed();
        let ciphertext = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: seed.as_ref(),
                    aad: &aad(kind, &public),
                },
            )
            .map_err(|_| KeyFileError::Kdf("encryption failed".into()))?;
        Ok(KeyFile {
            format: FORMAT.into(),
            kind,
            public_key: public,
            kdf: Kdf {
                algorithm: "argon2id".into(),
                params,
                salt: hex::encode(salt),
            },
            cipher: "xchacha20poly1305".into(),
            nonce: hex::encode(nonce),
            ciphertext: hex::encode(ciphertext),
            certificate,
        })
    }

    /// Decrypts the key. A wrong passphrase and a tampered file are the same
    /// error: the AEAD cannot tell them apart, and neither may be ignored.
    pub fn unlock(&self, passphrase: &str, path: &Path) -> Result<SecretKey, KeyFileError> {
        let malformed = |reason: &str| KeyFileError::Malformed {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        if self.format != FORMAT {
            return Err(malformed(&format!(
                "format `{}` (expected {FORMAT})",
                self.format
            )));
        }
        if self.kdf.algorithm != "argon2id" || self.cipher != "xchacha20poly1305" {
            return Err(malformed("unknown algorithm"));
        }
        self.kdf.params.check().map_err(|r| malformed(&r))?;
        let salt = hex::decode(&self.kdf.salt).map_err(|_| malformed("salt is not hex"))?;
        let nonce: [u8; 24] = hex::decode(&self.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or_else(|| malformed("nonce is not 24 hex bytes"))?;
        let ct = hex::decode(&self.ciphertext).map_err(|_| malformed("ciphertext is not hex"))?;
        let k = derive(passphrase, &salt, self.kdf.params)?;
        let cipher = XChaCha20Poly1305::new_from_slice(k.as_ref())
            .map_err(|e| KeyFileError::Kdf(e.to_string()))?;
        let seed = Zeroizing::new(
            cipher
                .decrypt(
                    &XNonce::from(nonce),
                    Payload {
                        msg: &ct,
                        aad: &aad(self.kind, &self.public_key),
                    },
                )
                .map_err(|_| KeyFileError::WrongPassphrase {
                    path: path.to_path_buf(),
                })?,
        );
        let seed: [u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| malformed("key is not 32 bytes"))?;
        let key = SecretKey::from_seed(&seed);
        if key.public() != self.public_key {
            return Err(malformed("key does not match its public key"));
        }
        Ok(key)
    }

    /// The file's text (JSON), to write where the caller keeps key files.
    pub fn to_text(&self) -> String {
        serde_json::to_string_pretty(self).expect("key files serialize")
    }

    /// Reads a key file's text (without unlocking it); `path` names it in errors.
    pub fn from_text(text: &str, path: &Path) -> Result<KeyFile, KeyFileError> {
        serde_json::from_str(text).map_err(|e| KeyFileError::Malformed {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_unlock_round_trip_and_wrong_passphrase() {
        let path = Path::new("officer.key");
        let key = SecretKey::from_seed(&[5; 32]);
        let f = KeyFile::seal(
            &key,
            KeyKind::Officer,
            "correct horse",
            KdfParams::STANDARD,
            None,
        )
        .unwrap();
        let back = KeyFile::from_text(&f.to_text(), path).unwrap();
        assert_eq!(
            back.unlock("correct horse", path).unwrap().public(),
            key.public()
        );
        assert!(matches!(
            back.unlock("wrong horse!", path),
            Err(KeyFileError::WrongPassphrase { .. })
        ));
    }

    #[test]
    fn swapping_the_public_key_or_kind_is_detected() {
        let key = SecretKey::from_seed(&[5; 32]);
        let f = KeyFile::seal(
            &key,
            KeyKind::Officer,
            "correct horse",
            KdfParams::STANDARD,
            None,
        )
        .unwrap();
        let mut swapped = f.clone();
        swapped.public_key = SecretKey::from_seed(&[6; 32]).public();
        assert!(swapped.unlock("correct horse", Path::new("k")).is_err());
        let mut kind = f;
        kind.kind = KeyKind::Authority;
        assert!(kind.unlock("correct horse", Path::new("k")).is_err());
    }

    #[test]
    fn short_passphrases_and_absurd_costs_are_refused() {
        let key = SecretKey::from_seed(&[5; 32]);
        assert!(matches!(
            KeyFile::seal(&key, KeyKind::Officer, "short", KdfParams::STANDARD, None),
            Err(KeyFileError::WeakPassphrase)
        ));
        let mut f = KeyFile::seal(
            &key,
            KeyKind::Officer,
            "correct horse",
            KdfParams::STANDARD,
            None,
        )
        .unwrap();
        f.kdf.params.m_kib = u32::MAX;
        assert!(matches!(
            f.unlock("correct horse", Path::new("k")),
            Err(KeyFileError::Malformed { .. })
        ));
    }
}
