//! Integer units of scoring (RULES.md, "Units"). No floating point anywhere.
//!
//! Points are kept in centipoints (`Cp`, 1/100 point) and rates in basis points
//! (`Bp`, 1/10000). Both are signed: deductions and negative totals are real
//! (保留负分). Arithmetic that divides is done in `i128` by the scoring code so
//! that products of month-long sums can never overflow.

use std::fmt;
use std::ops::{Add, AddAssign, Neg, Sub};

use serde::{Deserialize, Serialize};

/// Centipoints: 1 point = 100 cp. The labor base of 30 points is 3000 cp.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Cp(pub i64);

/// Basis points: 100% = 10000 bp.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Bp(pub i64);

impl Bp {
    /// 100%.
    pub const ONE: Bp = Bp(10_000);
}

impl Cp {
    pub const ZERO: Cp = Cp(0);
}

impl Add for Cp {
    type Output = Cp;
    fn add(self, o: Cp) -> Cp {
        Cp(self.0 + o.0)
    }
}

impl AddAssign for Cp {
    fn add_assign(&mut self, o: Cp) {
        self.0 += o.0;
    }
}

impl Sub for Cp {
    type Output = Cp;
    fn sub(self, o: Cp) -> Cp {
        Cp(self.0 - o.0)
    }
}

impl Neg for Cp {
    type Output = Cp;
    fn neg(self) -> Cp {
        Cp(-self.0)
    }
}

/// Points with two decimals, e.g. `-12.05`, for people; the data stays in cp.
impl fmt::Display for Cp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", a / 100, a % 100)
    }
}

/// Points as a person types them: `-2`, `1.5`, `+0.75`, `-12.05` (at most two
/// decimals; the inverse of [`Cp`]'s `Display`). No exponent, no thousands
/// separators, nothing a float parser would round.
impl std::str::FromStr for Cp {
    type Err = CpParseError;
    fn from_str(s: &str) -> Result<Cp, CpParseError> {
        let bad = || CpParseError(s.to_string());
        let (neg, rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (whole, frac) = rest.split_once('.').unwrap_or((rest, ""));
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 2 || whole.len() > 12
        {
            return Err(bad());
        }
        if rest.ends_with('.') {
            return Err(bad());
        }
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let frac: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| bad())? * 10,
            _ => frac.parse().map_err(|_| bad())?,
        };
        let cp = whole * 100 + frac;
        Ok(Cp(if neg { -cp } else { cp }))
    }
}

/// Text that is not points with at most two decimals.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not points with at most two decimals (e.g. -2, 1.5, 0.75)")]
pub struct CpParseError(pub String);

/// A percentage with two decimals, e.g. `112.50%`.
impl fmt::Display for Bp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}%", a / 100, a % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_exact() {
        assert_eq!(Cp(3000).to_string(), "30.00");
        assert_eq!(Cp(-1205).to_string(), "-12.05");
        assert_eq!(Cp(-5).to_string(), "-0.05");
        assert_eq!(Bp(11_250).to_string(), "112.50%");
    }

    #[test]
    fn points_parse_exactly_as_typed() {
        let cp = |s: &str| s.parse::<Cp>().map(|c| c.0);
        assert_eq!(cp("-2"), Ok(-200));
        assert_eq!(cp("1.5"), Ok(150));
        assert_eq!(cp("+0.75"), Ok(75));
        assert_eq!(cp("-12.05"), Ok(-1205));
        assert_eq!(cp("0.05"), Ok(5));
        for bad in [
            "", "-", ".5", "1.", "1.234", "1e2", "1,5", " 1", "--1", "１",
        ] {
            assert!(cp(bad).is_err(), "{bad:?} accepted");
        }
        // Display and parse are inverses.
        for c in [-1205, -5, 0, 5, 3000] {
            assert_eq!(Cp(c).to_string().parse::<Cp>(), Ok(Cp(c)));
        }
    }
}
