//! Certificates, revocations and device enrolments, each signed by the prison
//! authority.
//!
//! The authority key (监狱) is held offline; its public key is pinned in every
//! node. Everything it signs is self-authenticating: a node checks the
//! authority's signature and needs to trust nothing else about where the
//! record came from.

use std::fmt;
use std::str::FromStr;

use crdt_schema::records::check_text;
use crdt_schema::{Date, DistrictId};
use serde::{Deserialize, Serialize};

use crate::key::{KeyError, PublicKey, SecretKey, Signature};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    #[error("certificate of officer {officer}: not signed by this prison's authority")]
    NotByAuthority { officer: String },
    #[error("{0}")]
    Key(#[from] KeyError),
    #[error("certificate of officer {officer}: {reason}")]
    Invalid { officer: String, reason: String },
    #[error("malformed {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
}

/// What an officer may do (see the authorization rules in `node::validate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// District officer (民警): the daily records of their district.
    Officer,
    /// District chief (监区长): as officer, plus the weekly review of the
    /// district scoring group, conflict resolution, posting, seals.
    Chief,
    /// Prison scoring working group (计分考核工作组): approves large entries,
    /// special bonuses and large over-fulfilment bonuses in every district,
    /// and answers applications for 复核.
    PrisonGroup,
    /// Labor section (劳动改造科): products, procedures, standard times, rule sets.
    LaborSection,
    /// Records office (狱政/档案): districts, roster, officers, devices.
    Records,
    /// Procuratorate resident office (驻监检察室): read, and signed objections.
    Procurator,
    /// Everything, for migration and set-up.
    Admin,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Officer,
        Role::Chief,
        Role::PrisonGroup,
        Role::LaborSection,
        Role::Records,
        Role::Procurator,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Chief => "chief",
            Role::PrisonGroup => "prison_group",
            Role::LaborSection => "labor_section",
            Role::Records => "records",
            Role::Procurator => "procurator",
            Role::Admin => "admin",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Role::Officer => "民警",
            Role::Chief => "监区长",
            Role::PrisonGroup => "计分考核工作组",
            Role::LaborSection => "劳动改造科",
            Role::Records => "狱政档案",
            Role::Procurator => "驻监检察室",
            Role::Admin => "系统管理员",
        }
    }

    /// Whether the role acts within one district (and so needs one).
    pub fn is_district_role(self) -> bool {
        matches!(self, Role::Officer | Role::Chief)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown role `{s}` (expected officer, chief, prison_group, labor_section, records, procurator or admin)"
                )
            })
    }
}

/// What the authority certifies about an officer's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertBody {
    /// Police number (警号).
    pub officer_no: String,
    pub name: String,
    /// The district of a district role; `None` for prison-wide roles.
    pub district: Option<DistrictId>,
    pub role: Role,
    pub public_key: PublicKey,
    pub valid_from: Date,
    pub valid_to: Date,
}

/// An officer certificate: the body and the authority's signature over it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    pub body: CertBody,
    pub signature: Signature,
}

/// The authority withdraws a key. Its effect is causal: changes made knowing
/// it are refused, changes concurrent with it are accepted and flagged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevocationBody {
    pub officer_no: String,
    pub public_key: PublicKey,
    /// As stated by the authority; informational only.
    pub date: Date,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    pub body: RevocationBody,
    pub signature: Signature,
}

/// A device (a node's network endpoint key) allowed to connect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceBody {
    pub endpoint_id: PublicKey,
    pub label: String,
    pub enrolled: Date,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceCert {
    pub body: DeviceBody,
    pub signature: Signature,
}

fn canonical<T: Serialize>(body: &T) -> Vec<u8> {
    serde_json::to_vec(body).expect("certificate bodies always serialize")
}

fn parse<T: serde::de::DeserializeOwned>(what: &'static str, s: &str) -> Result<T, CertError> {
    serde_json::from_str(s).map_err(|e| CertError::Malformed {
        what,
        reason: e.to_string(),
    })
}

/// Officer numbers use the same alphabet as other codes.
fn check_officer_no(no: &str) -> Result<(), String> {
    crdt_schema::InmateNo::new(no)
        .map(|_| ())
        .map_err(|_| format!("`{no}` is not a valid officer number"))
}

impl CertBody {
    pub fn check(&self) -> Result<(), String> {
        check_officer_no(&self.officer_no)?;
        check_text("name", &self.name).map_err(|e| e.to_string())?;
        if self.valid_to < self.valid_from {
            return Err(format!(
                "valid_to {} is before valid_from {}",
                self.valid_to, self.valid_from
            ));
        }
        match (self.role.is_district_role(), &self.district) {
            (true, None) => Err(format!("role {} needs a district", self.role)),
            (false, Some(d)) => Err(format!(
                "role {} is prison-wide, not of district {d}",
                self.role
            )),
            _ => Ok(()),
        }
    }

    /// Whether the certificate covers `date`.
    pub fn valid_on(&self, date: Date) -> bool {
        self.valid_from <= date && date <= self.valid_to
    }
}

impl Certificate {
    /// The authority signs a certificate body after checking it.
    pub fn issue(authority: &SecretKey, body: CertBody) -> Result<Certificate, CertError> {
        body.check().map_err(|reason| CertError::Invalid {
            officer: body.officer_no.clone(),
            reason,
        })?;
        PublicKey::from_bytes(*body.public_key.as_bytes())?;
        let signature = authority.sign("cert", &[&canonical(&body)]);
        Ok(Certificate { body, signature })
    }

    /// Checks the body and the authority's strict signature.
    pub fn verify(&self, authority: &PublicKey) -> Result<(), CertError> {
        let officer = self.body.officer_no.clone();
        self.body.check().map_err(|reason| CertError::Invalid {
            officer: officer.clone(),
            reason,
        })?;
        PublicKey::from_bytes(*self.body.public_key.as_bytes())?;
        authority
            .verify("cert", &[&canonical(&self.body)], &self.signature)
            .map_err(|_| CertError::NotByAuthority { officer })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("certificates always serialize")
    }

    pub fn from_json(s: &str) -> Result<Certificate, CertError> {
        parse("certificate", s)
    }
}

impl Revocation {
    pub fn issue(authority: &SecretKey, body: RevocationBody) -> Result<Revocation, CertError> {
        check_officer_no(&body.officer_no).map_err(|reason| CertError::Invalid {
            officer: body.officer_no.clone(),
            reason,
        })?;
        let signature = authority.sign("revocation", &[&canonical(&body)]);
        Ok(Revocation { body, signature })
    }

    pub fn verify(&self, authority: &PublicKey) -> Result<(), CertError> {
        check_officer_no(&self.body.officer_no).map_err(|reason| CertError::Invalid {
            officer: self.body.officer_no.clone(),
            reason,
        })?;
        authority
            .verify("revocation", &[&canonical(&self.body)], &self.signature)
            .map_err(|_| CertError::NotByAuthority {
                officer: self.body.officer_no.clone(),
            })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("revocations always serialize")
    }

    pub fn from_json(s: &str) -> Result<Revocation, CertError> {
        parse("revocation", s)
    }
}

impl DeviceCert {
    pub fn issue(authority: &SecretKey, body: DeviceBody) -> Result<DeviceCert, CertError> {
        check_text("device label", &body.label).map_err(|e| CertError::Malformed {
            what: "device",
            reason: e.to_string(),
        })?;
        PublicKey::from_bytes(*body.endpoint_id.as_bytes())?;
        let signature = authority.sign("device", &[&canonical(&body)]);
        Ok(DeviceCert { body, signature })
    }

    pub fn verify(&self, authority: &PublicKey) -> Result<(), CertError> {
        check_text("device label", &self.body.label).map_err(|e| CertError::Malformed {
            what: "device",
            reason: e.to_string(),
        })?;
        PublicKey::from_bytes(*self.body.endpoint_id.as_bytes())?;
        authority
            .verify("device", &[&canonical(&self.body)], &self.signature)
            .map_err(|_| CertError::NotByAuthority {
                officer: format!("device {}", self.body.label),
            })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("device certificates always serialize")
    }

    pub fn from_json(s: &str) -> Result<DeviceCert, CertError> {
        parse("device certificate", s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(key: &SecretKey) -> CertBody {
        CertBody {
            officer_no: "J0001".into(),
            name: "王警官".into(),
            district: Some("D01".parse().unwrap()),
            role: Role::Officer,
            public_key: key.public(),
            valid_from: "2026-01-01".parse().unwrap(),
            valid_to: "2026-12-31".parse().unwrap(),
        }
    }

    #[test]
    fn certificates_verify_only_under_their_authority() {
        let authority = SecretKey::from_seed(&[1; 32]);
        let other = SecretKey::from_seed(&[2; 32]);
        let officer = SecretKey::from_seed(&[3; 32]);
        let cert = Certificate::issue(&authority, body(&officer)).unwrap();
        assert_eq!(cert.verify(&authority.public()), Ok(()));
        assert!(matches!(
            cert.verify(&other.public()),
            Err(CertError::NotByAuthority { .. })
        ));
        let json = cert.to_json();
        assert_eq!(Certificate::from_json(&json), Ok(cert.clone()));
        // Any edit of the body breaks the signature.
        let mut promoted = cert.clone();
        promoted.body.role = Role::Chief;
        assert!(promoted.verify(&authority.public()).is_err());
        let mut moved = cert;
        moved.body.district = Some("D02".parse().unwrap());
        assert!(moved.verify(&authority.public()).is_err());
    }

    #[test]
    fn bodies_are_checked() {
        let authority = SecretKey::from_seed(&[1; 32]);
        let officer = SecretKey::from_seed(&[3; 32]);
        let mut b = body(&officer);
        b.district = None;
        assert!(Certificate::issue(&authority, b).is_err());
        let mut b = body(&officer);
        b.role = Role::Records;
        assert!(Certificate::issue(&authority, b).is_err());
        let mut b = body(&officer);
        b.valid_to = "2025-01-01".parse().unwrap();
        assert!(Certificate::issue(&authority, b).is_err());
    }

    #[test]
    fn revocations_and_devices_are_signed_for_their_own_purpose() {
        let authority = SecretKey::from_seed(&[1; 32]);
        let r = Revocation::issue(
            &authority,
            RevocationBody {
                officer_no: "J0001".into(),
                public_key: SecretKey::from_seed(&[3; 32]).public(),
                date: "2026-05-01".parse().unwrap(),
            },
        )
        .unwrap();
        assert_eq!(r.verify(&authority.public()), Ok(()));
        assert_eq!(Revocation::from_json(&r.to_json()), Ok(r));
        let d = DeviceCert::issue(
            &authority,
            DeviceBody {
                endpoint_id: SecretKey::from_seed(&[4; 32]).public(),
                label: "一监区办公室".into(),
                enrolled: "2026-05-01".parse().unwrap(),
            },
        )
        .unwrap();
        assert_eq!(d.verify(&authority.public()), Ok(()));
    }
}
