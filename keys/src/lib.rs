//! # keys
//!
//! The trust primitives of tally: Ed25519 keys for the prison authority,
//! officers and devices ([`SecretKey`], [`PublicKey`]), encrypted key files
//! ([`KeyFile`]), and what the authority signs — officer certificates with role,
//! district and validity ([`Certificate`]), revocations ([`Revocation`]) and
//! device enrolments ([`DeviceCert`]).
//!
//! Architecture invariant: verification is strict (`verify_strict`, weak keys
//! refused) and domain-separated, so every machine reaches the same verdict on
//! the same bytes. No I/O except reading and writing key files.

pub mod cert;
pub mod key;
pub mod keyfile;

pub use cert::{
    CertBody, CertError, Certificate, DeviceBody, DeviceCert, Revocation, RevocationBody, Role,
};
pub use key::{KeyError, PreparedKey, PublicKey, SecretKey, Signature, signing_message};
pub use keyfile::{KdfParams, KeyFile, KeyFileError, KeyKind};
