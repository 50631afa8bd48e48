//! Creating a prison: its authority key, an admin officer, the data
//! directory, and the registry's first change.

use crate::keyfile::KeyFileIo;
use std::path::Path;

use crdt_schema::{Date, DistrictId, KeyHex, Month, RegistryKey, RuleSet};
use keys::{
    CertBody, CertError, Certificate, KdfParams, KeyError, KeyFile, KeyFileError, KeyKind,
    PublicKey, Role, SecretKey,
};

use crate::identity::{self, KeyAccessError};
use crate::session::{Identity, WriteError, WriteSession};
use crate::store::{Store, StoreError};

/// Why a prison could not be created; nothing of the registry is written
/// unless every step before it succeeded.
#[derive(Debug, thiserror::Error)]
pub enum PrisonError {
    #[error("prison name: {0}")]
    Name(#[from] crdt_schema::records::RecordError),
    #[error("{} is already a tally data directory", .0.display())]
    AlreadyInitialized(std::path::PathBuf),
    #[error("{today} plus ten years is past the calendar tally reads")]
    DateOutOfRange { today: Date },
    #[error("making a key: {0}")]
    Key(#[from] KeyError),
    #[error(transparent)]
    Cert(#[from] CertError),
    #[error("creating {}: {source}", path.display())]
    CreateDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error(transparent)]
    KeyAccess(#[from] KeyAccessError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// The authority signs a certificate for `key`.
#[allow(clippy::too_many_arguments)]
pub fn issue_cert(
    authority: &SecretKey,
    key: &SecretKey,
    no: &str,
    name: &str,
    district: Option<DistrictId>,
    role: Role,
    from: Date,
    to: Date,
) -> Result<Certificate, CertError> {
    Certificate::issue(
        authority,
        CertBody {
            officer_no: no.into(),
            name: name.into(),
            district,
            role,
            public_key: key.public(),
            valid_from: from,
            valid_to: to,
        },
    )
}

/// The record path of a key's trust records.
pub fn trust_key(key: &PublicKey) -> KeyHex {
    KeyHex::from_bytes(key.as_bytes())
}

/// A new prison: the authority key (`authority.key`, encrypted, and
/// `authority.pub`), an admin officer valid ten years from `today`
/// (`admin.key`), and the registry's first change (prison name, the admin's
/// certificate, the standard rule set), stated at `now`.
pub fn init_prison(
    data: &Path,
    prison: &str,
    passphrase: &str,
    today: Date,
    now: i64,
) -> Result<(), PrisonError> {
    crdt_schema::records::check_text("prison name", prison)?;
    if data.join("tally.toml").exists() {
        return Err(PrisonError::AlreadyInitialized(data.to_path_buf()));
    }
    let authority = SecretKey::generate()?;
    let admin_key = SecretKey::generate()?;
    let until =
        Date::from_ordinal(today.ordinal() + 3652).ok_or(PrisonError::DateOutOfRange { today })?;
    let cert = issue_cert(
        &authority,
        &admin_key,
        "ADMIN",
        "系统管理员",
        None,
        Role::Admin,
        today,
        until,
    )?;
    std::fs::create_dir_all(data).map_err(|source| PrisonError::CreateDir {
        path: data.to_path_buf(),
        source,
    })?;
    KeyFile::seal(
        &authority,
        KeyKind::Authority,
        passphrase,
        KdfParams::STANDARD,
        None,
    )?
    .write_new(&identity::authority_key_path(data))?;
    KeyFile::seal(
        &admin_key,
        KeyKind::Officer,
        passphrase,
        KdfParams::STANDARD,
        Some(cert.clone()),
    )?
    .write_new(&identity::admin_key_path(data))?;
    identity::write_authority_pub(
        &identity::authority_pub_path(data),
        prison,
        &authority.public(),
    )?;
    let store = Store::init(data, prison, &authority.public())?;
    let admin = Identity {
        key: admin_key,
        certificate: cert.clone(),
    };
    let mut s = WriteSession::begin(&store, &admin, now, "init")?;
    s.write_registry(|w| {
        w.set_prison(prison)?;
        w.put_trust(
            &RegistryKey::Officer(trust_key(&admin.public())),
            &cert.to_json(),
        )?;
        w.put_rule_set(&RuleSet::standard(
            Month::new(2021, 10).expect("valid month"),
        ))
    })?;
    s.commit()?;
    Ok(())
}
