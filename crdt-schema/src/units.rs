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
}
