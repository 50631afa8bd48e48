//! Ed25519 keys and signatures, with strict verification only.
//!
//! Every machine must reach the same verdict on the same bytes, so signatures
//! are checked with `verify_strict` (which rejects small-order public keys and
//! non-canonical encodings) and weak keys are refused wherever a key is
//! accepted. Every signature is over a domain-separated message (see
//! [`signing_message`]) so that a signature made for one purpose can never be
//! replayed for another.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rand::TryRng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("`{0}` is not a public key (64 hex digits)")]
    BadPublicKey(String),
    #[error("public key {0} is not a valid Ed25519 point")]
    NotAPoint(String),
    #[error("public key {0} is a weak (small-order) key")]
    WeakKey(String),
    #[error("`{0}…` is not a signature (128 hex digits)")]
    BadSignature(String),
    #[error("signature does not verify")]
    Forged,
    #[error("the system random number generator failed: {0}")]
    Random(String),
}

/// A public key: 32 bytes, shown as 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey([u8; 32]);

/// A signature: 64 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; 64]);

/// A secret signing key; its bytes are wiped from memory when dropped.
pub struct SecretKey(SigningKey);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.public())
    }
}

/// The message a signature covers: `tally/<purpose>/v1`, a zero byte, then the parts
/// each followed by a zero byte. Domains keep signatures for certificates,
/// changes and devices apart.
pub fn signing_message(purpose: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut m = Vec::with_capacity(64);
    m.extend_from_slice(b"tally/");
    m.extend_from_slice(purpose.as_bytes());
    m.extend_from_slice(b"/v1\0");
    for p in parts {
        m.extend_from_slice(p);
        m.push(0);
    }
    m
}

impl SecretKey {
    /// A new key from the operating system's random number generator.
    pub fn generate() -> Result<SecretKey, KeyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::rngs::SysRng
            .try_fill_bytes(seed.as_mut())
            .map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(SecretKey::from_seed(&seed))
    }

    /// The key of a 32-byte seed (deterministic: for tests and simulations).
    pub fn from_seed(seed: &[u8; 32]) -> SecretKey {
        SecretKey(SigningKey::from_bytes(seed))
    }

    pub(crate) fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// Signs `parts` under `purpose` (see [`signing_message`]).
    pub fn sign(&self, purpose: &str, parts: &[&[u8]]) -> Signature {
        Signature(self.0.sign(&signing_message(purpose, parts)).to_bytes())
    }
}

impl PublicKey {
    /// Parses and checks a key: a valid point, not of small order.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<PublicKey, KeyError> {
        let k = PublicKey(bytes);
        let vk =
            VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::NotAPoint(k.to_string()))?;
        if vk.is_weak() {
            return Err(KeyError::WeakKey(k.to_string()));
        }
        Ok(k)
    }

    /// Like [`PublicKey::from_bytes`], from a byte slice of any length.
    pub fn from_slice(bytes: &[u8]) -> Result<PublicKey, KeyError> {
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KeyError::BadPublicKey(hex::encode(bytes)))?;
        PublicKey::from_bytes(arr)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Decompresses and checks the key for repeated verification.
    pub fn prepare(&self) -> Result<PreparedKey, KeyError> {
        let vk =
            VerifyingKey::from_bytes(&self.0).map_err(|_| KeyError::NotAPoint(self.to_string()))?;
        if vk.is_weak() {
            return Err(KeyError::WeakKey(self.to_string()));
        }
        Ok(PreparedKey(vk))
    }

    /// Strictly verifies `signature` over `parts` under `purpose`.
    pub fn verify(
        &self,
        purpose: &str,
        parts: &[&[u8]],
        signature: &Signature,
    ) -> Result<(), KeyError> {
        self.prepare()?.verify(purpose, parts, signature)
    }
}

/// A public key decompressed and checked once, for verifying many signatures
/// by the same author (decompression costs about as much as a quarter of a
/// verification).
#[derive(Debug, Clone)]
pub struct PreparedKey(VerifyingKey);

impl PreparedKey {
    /// Strictly verifies `signature` over `parts` under `purpose`.
    pub fn verify(
        &self,
        purpose: &str,
        parts: &[&[u8]],
        signature: &Signature,
    ) -> Result<(), KeyError> {
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        self.0
            .verify_strict(&signing_message(purpose, parts), &sig)
            .map_err(|_| KeyError::Forged)
    }
}

impl Signature {
    pub fn from_bytes(bytes: [u8; 64]) -> Signature {
        Signature(bytes)
    }

    pub fn from_slice(bytes: &[u8]) -> Result<Signature, KeyError> {
        let arr: [u8; 64] = bytes
            .try_into()
            .map_err(|_| KeyError::BadSignature(hex::encode(&bytes[..bytes.len().min(8)])))?;
        Ok(Signature(arr))
    }

    pub fn to_bytes(&self) -> [u8; 64] {
        self.0
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", &hex::encode(self.0)[..16])
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}…)", &hex::encode(self.0)[..16])
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<PublicKey, KeyError> {
        if s.len() != 64 {
            return Err(KeyError::BadPublicKey(s.to_string()));
        }
        let bytes = hex::decode(s).map_err(|_| KeyError::BadPublicKey(s.to_string()))?;
        PublicKey::from_slice(&bytes)
    }
}

impl FromStr for Signature {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Signature, KeyError> {
        let bad = || KeyError::BadSignature(s.chars().take(16).collect());
        if s.len() != 128 {
            return Err(bad());
        }
        let bytes = hex::decode(s).map_err(|_| bad())?;
        Signature::from_slice(&bytes)
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_for_their_purpose_and_parts() {
        let k = SecretKey::from_seed(&[1; 32]);
        let s = k.sign("change", &[b"doc", b"hash"]);
        assert_eq!(k.public().verify("change", &[b"doc", b"hash"], &s), Ok(()));
        assert_eq!(
            k.public().verify("cert", &[b"doc", b"hash"], &s),
            Err(KeyError::Forged)
        );
        assert_eq!(
            k.public().verify("change", &[b"doc2", b"hash"], &s),
            Err(KeyError::Forged)
        );
        // Part boundaries matter: ("do", "chash") is not ("doc", "hash").
        assert_eq!(
            k.public().verify("change", &[b"do", b"chash"], &s),
            Err(KeyError::Forged)
        );
        let other = SecretKey::from_seed(&[2; 32]);
        assert_eq!(
            other.public().verify("change", &[b"doc", b"hash"], &s),
            Err(KeyError::Forged)
        );
    }

    #[test]
    fn weak_keys_are_refused() {
        // The identity point (small order) encodes as 1 followed by zeros.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(matches!(
            PublicKey::from_bytes(identity),
            Err(KeyError::WeakKey(_))
        ));
        // A point of order 8 (from the Ed25519 torsion subgroup).
        let order8 =
            hex::decode("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
                .unwrap();
        assert!(PublicKey::from_slice(&order8).is_err());
        // A signature "by" the identity key on anything is refused even if it
        // would pass the permissive check.
        let forged = Signature([0u8; 64]);
        assert!(
            PublicKey(identity)
                .verify("change", &[b"x"], &forged)
                .is_err()
        );
    }

    #[test]
    fn hex_forms_round_trip() {
        let k = SecretKey::from_seed(&[9; 32]).public();
        assert_eq!(k.to_string().parse::<PublicKey>(), Ok(k));
        assert!("zz".parse::<PublicKey>().is_err());
        let s = SecretKey::from_seed(&[9; 32]).sign("x", &[]);
        assert_eq!(hex::encode(s.to_bytes()).parse::<Signature>(), Ok(s));
    }
}
