//! Identifiers of the things tally records: districts, inmates, products, procedures.
//!
//! Each is a newtype over a short ASCII code. Codes become parts of document
//! keys (`att/<inmate>/<day>`) and of file names (`month/<district>/…`), so the
//! alphabet is restricted to letters, digits, `-` and `_`: no separator, no
//! path component, no look-alike Unicode. Ordering is byte order, which for the
//! usual fixed-width prison numbers is numeric order.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest code accepted, generous for prison numbers (usually 10 digits).
pub const MAX_CODE_LEN: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {what}: use 1–32 ASCII letters, digits, `-` or `_`")]
pub struct CodeError {
    pub what: &'static str,
    pub value: String,
}

fn valid_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_CODE_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

macro_rules! code_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            pub const WHAT: &'static str = $what;

            pub fn new(s: impl Into<String>) -> Result<Self, CodeError> {
                let s = s.into();
                if valid_code(&s) {
                    Ok(Self(s))
                } else {
                    Err(CodeError { what: $what, value: s })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = CodeError;
            fn from_str(s: &str) -> Result<Self, CodeError> {
                Self::new(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

code_type!(
    /// A district (监区/分监区), e.g. `D01`.
    DistrictId,
    "district id"
);
code_type!(
    /// An inmate's number (罪犯编号), e.g. `5201000123`.
    InmateNo,
    "inmate number"
);
code_type!(
    /// A product (产品), e.g. `SHIRT`.
    ProductId,
    "product id"
);
code_type!(
    /// A procedure (工序), e.g. `SHIRT-07`.
    ProcedureId,
    "procedure id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_reject_separators_and_non_ascii() {
        assert!(InmateNo::new("5201000123").is_ok());
        assert!(DistrictId::new("D-01_a").is_ok());
        for bad in [
            "",
            "a/b",
            "a b",
            "..",
            "一监区",
            "x".repeat(33).as_str(),
            "a|b",
        ] {
            assert!(InmateNo::new(bad).is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn codes_order_bytewise() {
        let mut v: Vec<InmateNo> = ["B2", "A10", "A9"]
            .iter()
            .map(|s| InmateNo::new(*s).unwrap())
            .collect();
        v.sort();
        let got: Vec<&str> = v.iter().map(InmateNo::as_str).collect();
        assert_eq!(got, ["A10", "A9", "B2"]);
    }
}
