//! The key layout of tally's documents.
//!
//! Every document is one flat Automerge map (the root), and every record is one
//! entry whose key is its path:
//!
//! ```text
//! registry                          month/<district>/<YYYY-MM>
//!   meta/schema      int            meta/schema            int
//!   meta/doc         "registry"     meta/doc               "month/D01/2026-03"
//!   meta/prison      name           att/<inmate>/<DD>      "work|480|10000"
//!   district/<id>    name           cnt/<inmate>/<DD>/<proc>   int quantity
//!   inmate/<no>      json           asg/<inmate>/<DD>/<proc>   int 1
//!   product/<id>     name           team/<DD>/<proc>       int quantity
//!   procedure/<id>/<YYYY-MM-DD> json adj/<inmate>/<id>     json
//!   ruleset/<YYYY-MM> json          apv/<inmate>/bonus     int approved cp
//!   officer/<pubkey> json (cert)    apv/<inmate>/adj/<id>  int approved cp
//!   revoked/<pubkey> json           cfm/<inmate>/<DD>      day digest (confirmation)
//!   device/<pubkey>  json           cft/<DD>/<proc>        team-count digest
//!                                   seal                   json (chief's seal)
//!                                   obj/<id>               json (procurator's objection)
//!
//! roster/<YYYY>   (the roster's facts dated in that year: crate::roster)
//!   inmate/<no>                 json (admission: name, district, admitted)
//!   release/<no>                "YYYY-MM-DD"
//!   transfer/<no>/<YYYY-MM-DD>  district
//! ```
//!
//! The registry's own `inmate/` and `transfer/` records are those of data
//! directories from before the roster had shards: still read (under every
//! shard), no longer written.
//!
//! Why flat: no nested object is ever created, so two replicas that start the
//! same document independently can never create rival maps that hide each
//! other's records; a record's path alone says what it is, which is what the
//! signed-changes layer authorizes; and reading a whole month is one ordered
//! range scan (`att/` keys sort by inmate then day).

use std::fmt;
use std::str::FromStr;

use crate::calendar::{Date, Month, Week, Year};
use crate::ids::{CodeError, DistrictId, InmateNo, ProcedureId, ProductId};

/// Version of this layout, stored at `meta/schema`.
pub const SCHEMA_VERSION: i64 = 1;

pub const META_SCHEMA: &str = "meta/schema";
pub const META_DOC: &str = "meta/doc";
pub const META_PRISON: &str = "meta/prison";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("unknown record path `{0}`")]
    Unknown(String),
    #[error("bad record path `{key}`: {reason}")]
    Bad { key: String, reason: String },
}

impl KeyError {
    fn bad(key: &str, reason: impl fmt::Display) -> KeyError {
        KeyError::Bad {
            key: key.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// Which document: the prison's registry, one year of its roster, or one
/// district's month.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DocId {
    Registry,
    /// The roster's admissions, releases and transfers dated in one year
    /// ([`crate::roster`]): the roster is sharded by year as records are by
    /// month, so what a month or an import loads does not grow with the
    /// prison's whole history.
    Roster {
        year: Year,
    },
    Month {
        district: DistrictId,
        month: Month,
    },
}

impl DocId {
    pub fn month(district: DistrictId, month: Month) -> DocId {
        DocId::Month { district, month }
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DocId::Registry => f.write_str("registry"),
            DocId::Roster { year } => write!(f, "roster/{year}"),
            DocId::Month { district, month } => write!(f, "month/{district}/{month}"),
        }
    }
}

impl FromStr for DocId {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<DocId, KeyError> {
        if s == "registry" {
            return Ok(DocId::Registry);
        }
        let mut parts = s.split('/');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("roster"), Some(y), None, None) => Ok(DocId::Roster {
                year: y.parse().map_err(|e| KeyError::bad(s, e))?,
            }),
            (Some("month"), Some(d), Some(m), None) => Ok(DocId::Month {
                district: d.parse().map_err(|e: CodeError| KeyError::bad(s, e))?,
                month: m.parse().map_err(|e| KeyError::bad(s, e))?,
            }),
            _ => Err(KeyError::Unknown(s.to_string())),
        }
    }
}

/// A record path inside the registry document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryKey {
    Meta(String),
    District(DistrictId),
    Inmate(InmateNo),
    /// A transfer (调监区): from this date the inmate is in the district the
    /// record names (its first day there).
    Transfer(InmateNo, Date),
    Product(ProductId),
    Procedure(ProcedureId, Date),
    RuleSet(Month),
    /// An officer certificate, by the officer's public key.
    Officer(KeyHex),
    /// A revocation of a key.
    Revocation(KeyHex),
    /// A device enrolment, by the device's endpoint id.
    Device(KeyHex),
}

/// A public key as 64 lower-case hex digits, as it appears in a record path.
/// (The crypto lives in the `keys` crate; here it is only a well-formed name.)
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyHex(String);

impl KeyHex {
    pub fn parse(s: &str) -> Result<KeyHex, KeyError> {
        if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(KeyHex(s.to_string()))
        } else {
            Err(KeyError::bad(s, "a key must be 64 lower-case hex digits"))
        }
    }

    pub fn from_bytes(b: &[u8; 32]) -> KeyHex {
        KeyHex(hex::encode(b))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyHex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for RegistryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryKey::Meta(m) => write!(f, "meta/{m}"),
            RegistryKey::District(d) => write!(f, "district/{d}"),
            RegistryKey::Inmate(i) => write!(f, "inmate/{i}"),
            RegistryKey::Transfer(i, d) => write!(f, "transfer/{i}/{d}"),
            RegistryKey::Product(p) => write!(f, "product/{p}"),
            RegistryKey::Procedure(p, d) => write!(f, "procedure/{p}/{d}"),
            RegistryKey::RuleSet(m) => write!(f, "ruleset/{m}"),
            RegistryKey::Officer(k) => write!(f, "officer/{k}"),
            RegistryKey::Revocation(k) => write!(f, "revoked/{k}"),
            RegistryKey::Device(k) => write!(f, "device/{k}"),
        }
    }
}

fn code<T: FromStr<Err = CodeError>>(key: &str, s: &str) -> Result<T, KeyError> {
    s.parse().map_err(|e| KeyError::bad(key, e))
}

impl RegistryKey {
    pub fn parse(key: &str) -> Result<RegistryKey, KeyError> {
        let parts: Vec<&str> = key.split('/').collect();
        Ok(match parts.as_slice() {
            ["meta", m] if matches!(*m, "schema" | "doc" | "prison") => {
                RegistryKey::Meta(m.to_string())
            }
            ["district", d] => RegistryKey::District(code(key, d)?),
            ["inmate", i] => RegistryKey::Inmate(code(key, i)?),
            ["transfer", i, d] => {
                RegistryKey::Transfer(code(key, i)?, d.parse().map_err(|e| KeyError::bad(key, e))?)
            }
            ["product", p] => RegistryKey::Product(code(key, p)?),
            ["procedure", p, d] => {
                RegistryKey::Procedure(code(key, p)?, d.parse().map_err(|e| KeyError::bad(key, e))?)
            }
            ["ruleset", m] => RegistryKey::RuleSet(m.parse().map_err(|e| KeyError::bad(key, e))?),
            ["officer", k] => RegistryKey::Officer(KeyHex::parse(k)?),
            ["revoked", k] => RegistryKey::Revocation(KeyHex::parse(k)?),
            ["device", k] => RegistryKey::Device(KeyHex::parse(k)?),
            _ => return Err(KeyError::Unknown(key.to_string())),
        })
    }
}

/// A record path inside a roster shard (`roster/<YYYY>`). Each record is a
/// fact dated in the shard's year: checked by [`RosterKey::parse`] for the
/// keys and by the schema for the values, so a fact can live in one shard
/// only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RosterKey {
    Meta(String),
    /// An admission: the inmate's name, first district and admission date.
    Admission(InmateNo),
    /// A release: the inmate's last day in custody.
    Release(InmateNo),
    /// A transfer (调监区): from this date the inmate is in the district the
    /// record names (its first day there).
    Transfer(InmateNo, Date),
}

impl fmt::Display for RosterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RosterKey::Meta(m) => write!(f, "meta/{m}"),
            RosterKey::Admission(i) => write!(f, "inmate/{i}"),
            RosterKey::Release(i) => write!(f, "release/{i}"),
            RosterKey::Transfer(i, d) => write!(f, "transfer/{i}/{d}"),
        }
    }
}

impl RosterKey {
    pub fn parse(key: &str, year: Year) -> Result<RosterKey, KeyError> {
        let parts: Vec<&str> = key.split('/').collect();
        Ok(match parts.as_slice() {
            ["meta", m] if matches!(*m, "schema" | "doc") => RosterKey::Meta(m.to_string()),
            ["inmate", i] => RosterKey::Admission(code(key, i)?),
            ["release", i] => RosterKey::Release(code(key, i)?),
            ["transfer", i, d] => {
                let date: Date = d.parse().map_err(|e| KeyError::bad(key, e))?;
                if !year.contains(date) {
                    return Err(KeyError::bad(
                        key,
                        format!("a transfer of {year} is dated in {year}"),
                    ));
                }
                RosterKey::Transfer(code(key, i)?, date)
            }
            _ => return Err(KeyError::Unknown(key.to_string())),
        })
    }

    /// The inmate the record is about.
    pub fn inmate(&self) -> Option<&InmateNo> {
        match self {
            RosterKey::Meta(_) => None,
            RosterKey::Admission(i) | RosterKey::Release(i) | RosterKey::Transfer(i, _) => Some(i),
        }
    }
}

/// What an approval (by the district chief) is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApprovalTarget {
    /// The month's over-fulfilment bonus.
    OverfulfilmentBonus,
    /// One adjustment entry.
    Adjustment(AdjustmentId),
}

/// A 16-hex-digit content id: the first 8 bytes of a SHA-256. Identifies
/// adjustment and objection entries by what they say, so recording the same
/// fact twice is one entry; also the digest a confirmation carries.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct ContentId(String);

/// Identifier of an adjustment entry (see [`ContentId`]).
pub type AdjustmentId = ContentId;

impl ContentId {
    pub fn parse(s: &str) -> Result<ContentId, KeyError> {
        if s.len() == 16 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(ContentId(s.to_string()))
        } else {
            Err(KeyError::bad(s, "an id must be 16 lower-case hex digits"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of the given parts (each followed by a zero byte).
    pub fn of(parts: &[&str]) -> ContentId {
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        for part in parts {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
        ContentId(hex::encode(&h.finalize()[..8]))
    }
}

impl<'de> serde::Deserialize<'de> for ContentId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ContentId::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A record path inside a district-month document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonthKey {
    Meta(String),
    Attendance(InmateNo, u8),
    Count(InmateNo, u8, ProcedureId),
    Assignment(InmateNo, u8, ProcedureId),
    TeamCount(u8, ProcedureId),
    Adjustment(InmateNo, AdjustmentId),
    /// The chief's approval, under rule sets of the former procedure.
    Approval(InmateNo, ApprovalTarget),
    /// The prison scoring working group's approval (计分考核工作组), under
    /// rule sets with decision levels: a key of its own, so that whose
    /// approval counts follows from the key, never from when it arrived.
    GroupApproval(InmateNo, ApprovalTarget),
    /// A second officer's confirmation of an inmate's day records.
    Confirmation(InmateNo, u8),
    /// A second officer's confirmation of a team count.
    TeamConfirmation(u8, ProcedureId),
    /// The chief's seal of the month.
    Seal,
    /// A procurator's signed objection.
    Objection(ContentId),
    /// A weekly review (周评议) of the district scoring group, by its id.
    Review(Week, ContentId),
    /// The chief's posting (公示) of the month's report, by its id.
    Posting(ContentId),
    /// An application for 复查 or 复核, by its id.
    Application(ContentId),
    /// The district group's answer to a 复查, by the application's id.
    Answer(ContentId),
    /// The prison group's final answer to a 复核, by the application's id.
    FinalAnswer(ContentId),
    /// The inmate's acknowledgement of the monthly sheet.
    Acknowledgement(InmateNo),
}

impl fmt::Display for MonthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MonthKey::Meta(m) => write!(f, "meta/{m}"),
            MonthKey::Attendance(i, d) => write!(f, "att/{i}/{d:02}"),
            MonthKey::Count(i, d, p) => write!(f, "cnt/{i}/{d:02}/{p}"),
            MonthKey::Assignment(i, d, p) => write!(f, "asg/{i}/{d:02}/{p}"),
            MonthKey::TeamCount(d, p) => write!(f, "team/{d:02}/{p}"),
            MonthKey::Adjustment(i, id) => write!(f, "adj/{i}/{id}"),
            MonthKey::Approval(i, ApprovalTarget::OverfulfilmentBonus) => {
                write!(f, "apv/{i}/bonus")
            }
            MonthKey::Approval(i, ApprovalTarget::Adjustment(id)) => write!(f, "apv/{i}/adj/{id}"),
            MonthKey::GroupApproval(i, ApprovalTarget::OverfulfilmentBonus) => {
                write!(f, "gapv/{i}/bonus")
            }
            MonthKey::GroupApproval(i, ApprovalTarget::Adjustment(id)) => {
                write!(f, "gapv/{i}/adj/{id}")
            }
            MonthKey::Confirmation(i, d) => write!(f, "cfm/{i}/{d:02}"),
            MonthKey::TeamConfirmation(d, p) => write!(f, "cft/{d:02}/{p}"),
            MonthKey::Seal => f.write_str("seal"),
            MonthKey::Objection(id) => write!(f, "obj/{id}"),
            MonthKey::Review(w, id) => write!(f, "rev/{w}/{id}"),
            MonthKey::Posting(id) => write!(f, "post/{id}"),
            MonthKey::Application(id) => write!(f, "appl/{id}"),
            MonthKey::Answer(id) => write!(f, "ans/{id}"),
            MonthKey::FinalAnswer(id) => write!(f, "fans/{id}"),
            MonthKey::Acknowledgement(i) => write!(f, "ack/{i}"),
        }
    }
}

/// Parses the two-digit day of a month key, checking it exists in `month`.
fn day(key: &str, s: &str, month: Month) -> Result<u8, KeyError> {
    let d = (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse::<u8>().ok())
        .flatten()
        .ok_or_else(|| KeyError::bad(key, "day must be two digits"))?;
    month
        .day(d)
        .map(|_| d)
        .ok_or_else(|| KeyError::bad(key, format!("day {d} is not in {month}")))
}

impl MonthKey {
    pub fn parse(key: &str, month: Month) -> Result<MonthKey, KeyError> {
        // At most four parts; no allocation (this runs for every record read).
        let mut it = key.split('/');
        let parts = [it.next(), it.next(), it.next(), it.next(), it.next()];
        Ok(match parts {
            [Some("meta"), Some(m), None, ..] if matches!(m, "schema" | "doc") => {
                MonthKey::Meta(m.to_string())
            }
            [Some("att"), Some(i), Some(d), None, _] => {
                MonthKey::Attendance(code(key, i)?, day(key, d, month)?)
            }
            [Some("cnt"), Some(i), Some(d), Some(p), None] => {
                MonthKey::Count(code(key, i)?, day(key, d, month)?, code(key, p)?)
            }
            [Some("asg"), Some(i), Some(d), Some(p), None] => {
                MonthKey::Assignment(code(key, i)?, day(key, d, month)?, code(key, p)?)
            }
            [Some("team"), Some(d), Some(p), None, _] => {
                MonthKey::TeamCount(day(key, d, month)?, code(key, p)?)
            }
            [Some("adj"), Some(i), Some(id), None, _] => {
                MonthKey::Adjustment(code(key, i)?, AdjustmentId::parse(id)?)
            }
            [Some("apv"), Some(i), Some("bonus"), None, _] => {
                MonthKey::Approval(code(key, i)?, ApprovalTarget::OverfulfilmentBonus)
            }
            [Some("apv"), Some(i), Some("adj"), Some(id), None] => MonthKey::Approval(
                code(key, i)?,
                ApprovalTarget::Adjustment(AdjustmentId::parse(id)?),
            ),
            [Some("gapv"), Some(i), Some("bonus"), None, _] => {
                MonthKey::GroupApproval(code(key, i)?, ApprovalTarget::OverfulfilmentBonus)
            }
            [Some("gapv"), Some(i), Some("adj"), Some(id), None] => MonthKey::GroupApproval(
                code(key, i)?,
                ApprovalTarget::Adjustment(AdjustmentId::parse(id)?),
            ),
            [Some("cfm"), Some(i), Some(d), None, _] => {
                MonthKey::Confirmation(code(key, i)?, day(key, d, month)?)
            }
            [Some("cft"), Some(d), Some(p), None, _] => {
                MonthKey::TeamConfirmation(day(key, d, month)?, code(key, p)?)
            }
            [Some("seal"), None, ..] => MonthKey::Seal,
            [Some("obj"), Some(id), None, ..] => MonthKey::Objection(ContentId::parse(id)?),
            [Some("post"), Some(id), None, ..] => MonthKey::Posting(ContentId::parse(id)?),
            [Some("appl"), Some(id), None, ..] => MonthKey::Application(ContentId::parse(id)?),
            [Some("ans"), Some(id), None, ..] => MonthKey::Answer(ContentId::parse(id)?),
            [Some("fans"), Some(id), None, ..] => MonthKey::FinalAnswer(ContentId::parse(id)?),
            [Some("ack"), Some(i), None, ..] => MonthKey::Acknowledgement(code(key, i)?),
            [Some("rev"), Some(w), Some(id), None, _] => MonthKey::Review(
                w.parse().map_err(|e: crate::calendar::CalendarError| {
                    KeyError::bad(key, e.to_string())
                })?,
                ContentId::parse(id)?,
            ),
            _ => return Err(KeyError::Unknown(key.to_string())),
        })
    }

    /// The inmate a record belongs to, if any.
    pub fn inmate(&self) -> Option<&InmateNo> {
        match self {
            MonthKey::Meta(_)
            | MonthKey::TeamCount(..)
            | MonthKey::TeamConfirmation(..)
            | MonthKey::Seal
            | MonthKey::Objection(_)
            | MonthKey::Review(..)
            | MonthKey::Posting(_)
            | MonthKey::Application(_)
            | MonthKey::Answer(_)
            | MonthKey::FinalAnswer(_) => None,
            MonthKey::Attendance(i, _)
            | MonthKey::Count(i, ..)
            | MonthKey::Assignment(i, ..)
            | MonthKey::Adjustment(i, _)
            | MonthKey::Approval(i, _)
            | MonthKey::GroupApproval(i, _)
            | MonthKey::Acknowledgement(i)
            | MonthKey::Confirmation(i, _) => Some(i),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m() -> Month {
        "2026-02".parse().unwrap()
    }

    #[test]
    fn month_keys_round_trip() {
        let i = InmateNo::new("5201000123").unwrap();
        let p = ProcedureId::new("SHIRT-07").unwrap();
        let id = AdjustmentId::parse("0123456789abcdef").unwrap();
        for k in [
            MonthKey::Attendance(i.clone(), 3),
            MonthKey::Count(i.clone(), 28, p.clone()),
            MonthKey::Assignment(i.clone(), 1, p.clone()),
            MonthKey::TeamCount(9, p),
            MonthKey::Adjustment(i.clone(), id.clone()),
            MonthKey::Approval(i.clone(), ApprovalTarget::OverfulfilmentBonus),
            MonthKey::Approval(i, ApprovalTarget::Adjustment(id)),
        ] {
            assert_eq!(MonthKey::parse(&k.to_string(), m()), Ok(k));
        }
    }

    #[test]
    fn month_keys_reject_days_outside_the_month() {
        assert!(MonthKey::parse("att/A1/29", m()).is_err());
        assert!(MonthKey::parse("att/A1/3", m()).is_err());
        assert!(MonthKey::parse("att/A1/00", m()).is_err());
        assert!(MonthKey::parse("att/A1/28/x", m()).is_err());
        assert!(MonthKey::parse("zzz/A1", m()).is_err());
    }

    #[test]
    fn doc_ids_round_trip() {
        for s in ["registry", "month/D01/2026-03", "roster/2026"] {
            assert_eq!(s.parse::<DocId>().unwrap().to_string(), s);
        }
        assert!("month/../2026-03".parse::<DocId>().is_err());
        for bad in [
            "roster/26",
            "roster/2026/01",
            "roster/",
            "roster/0999",
            "roster/２０２６",
        ] {
            assert!(bad.parse::<DocId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn roster_keys_round_trip_and_stay_in_their_year() {
        let y: Year = "2026".parse().unwrap();
        for s in [
            "inmate/A1",
            "release/A1",
            "transfer/A1/2026-12-31",
            "meta/doc",
        ] {
            assert_eq!(RosterKey::parse(s, y).unwrap().to_string(), s);
        }
        assert!(RosterKey::parse("transfer/A1/2027-01-01", y).is_err());
        assert!(RosterKey::parse("meta/prison", y).is_err());
        assert!(RosterKey::parse("district/D01", y).is_err());
    }
}
