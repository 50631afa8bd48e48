//! Civil dates and months, the only notion of time scoring knows.
//!
//! Scoring never reads a clock: every date comes from a record. These types
//! accept only real calendar dates (proleptic Gregorian, years 1900–2999), so a
//! `Date` that exists is a valid day and `Month::days()` is exact.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Earliest and latest years tally accepts. Wide enough for any custody record,
/// narrow enough that day arithmetic can never overflow.
const MIN_YEAR: u16 = 1900;
const MAX_YEAR: u16 = 2999;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("`{0}` is not a date of the form YYYY-MM-DD")]
    BadDate(String),
    #[error("`{0}` is not a month of the form YYYY-MM")]
    BadMonth(String),
    #[error("`{0}` is not an ISO week of the form YYYY-Www (e.g. 2026-W43)")]
    BadWeek(String),
    #[error("`{0}` is not a year of the form YYYY")]
    BadYear(String),
}

/// A calendar year, e.g. 2026: what a roster shard covers
/// ([`crate::roster`]). Orders chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Year(u16);

impl Year {
    pub fn new(year: u16) -> Option<Year> {
        (MIN_YEAR..=MAX_YEAR).contains(&year).then_some(Year(year))
    }

    pub fn of(date: Date) -> Year {
        Year(date.year)
    }

    pub fn of_month(month: Month) -> Year {
        Year(month.year)
    }

    pub fn get(self) -> u16 {
        self.0
    }

    pub fn contains(self, date: Date) -> bool {
        date.year == self.0
    }

    /// January 1st.
    pub fn first(self) -> Date {
        Date {
            year: self.0,
            month: 1,
            day: 1,
        }
    }
}

impl fmt::Display for Year {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.0)
    }
}

impl FromStr for Year {
    type Err = CalendarError;

    fn from_str(s: &str) -> Result<Year, CalendarError> {
        let bad = || CalendarError::BadYear(s.to_string());
        if s.len() != 4 {
            return Err(bad());
        }
        let y = parse_digits(s).ok_or_else(bad)?;
        Year::new(u16::try_from(y).map_err(|_| bad())?).ok_or_else(bad)
    }
}

/// A calendar month, e.g. 2026-03. Orders chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: u16,
    month: u8,
}

/// A calendar day, e.g. 2026-03-14. Orders chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

fn is_leap(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn parse_digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Month {
    pub fn new(year: u16, month: u8) -> Option<Month> {
        ((MIN_YEAR..=MAX_YEAR).contains(&year) && (1..=12).contains(&month))
            .then_some(Month { year, month })
    }

    pub fn year(self) -> u16 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    /// Number of calendar days (the `K` of RULES.md).
    pub fn days(self) -> u8 {
        match self.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            _ if is_leap(self.year) => 29,
            _ => 28,
        }
    }

    /// The given day of this month, if it exists.
    pub fn day(self, day: u8) -> Option<Date> {
        (1..=self.days()).contains(&day).then_some(Date {
            year: self.year,
            month: self.month,
            day,
        })
    }

    pub fn first(self) -> Date {
        Date {
            year: self.year,
            month: self.month,
            day: 1,
        }
    }

    pub fn last(self) -> Date {
        Date {
            year: self.year,
            month: self.month,
            day: self.days(),
        }
    }

    /// Every day of the month in order.
    pub fn dates(self) -> impl Iterator<Item = Date> {
        (1..=self.days()).map(move |day| Date {
            year: self.year,
            month: self.month,
            day,
        })
    }

    pub fn contains(self, date: Date) -> bool {
        date.month() == self
    }

    pub fn next(self) -> Option<Month> {
        if self.month == 12 {
            Month::new(self.year + 1, 1)
        } else {
            Month::new(self.year, self.month + 1)
        }
    }

    pub fn prev(self) -> Option<Month> {
        if self.month == 1 {
            Month::new(self.year - 1, 12)
        } else {
            Month::new(self.year, self.month - 1)
        }
    }
}

impl Date {
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        Month::new(year, month)?.day(day)
    }

    pub fn year(self) -> u16 {
        self.year
    }

    /// The month this date falls in.
    pub fn month(self) -> Month {
        Month {
            year: self.year,
            month: self.month,
        }
    }

    /// Day of the month, 1-based.
    pub fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`), used for
    /// differences between dates and weekdays. Exact for every `Date`.
    pub fn ordinal(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The inverse of [`Date::ordinal`]; `None` outside the supported years.
    pub fn from_ordinal(z: i64) -> Option<Date> {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date::new(
            u16::try_from(year).ok()?,
            u8::try_from(month).ok()?,
            u8::try_from(day).ok()?,
        )
    }

    /// Weekday with Monday = 1 … Sunday = 7.
    pub fn weekday(self) -> u8 {
        // 1970-01-01 was a Thursday (4).
        let w = (self.ordinal() + 3).rem_euclid(7) + 1;
        w as u8
    }

    /// Signed number of days from `earlier` to `self`.
    pub fn days_since(self, earlier: Date) -> i64 {
        self.ordinal() - earlier.ordinal()
    }

    pub fn succ(self) -> Option<Date> {
        Date::from_ordinal(self.ordinal() + 1)
    }
}

/// An ISO 8601 week, Monday to Sunday, e.g. 2026-W43: the week of the
/// weekly review (周评议). Its year is the year of its Thursday, so the
/// first days of January may belong to the last week of the year before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Week {
    monday: Date,
}

impl Week {
    /// The week `date` falls in; `None` only at the very edge of the
    /// supported years.
    pub fn of(date: Date) -> Option<Week> {
        let monday = Date::from_ordinal(date.ordinal() - i64::from(date.weekday()) + 1)?;
        // Its Thursday and Sunday must be representable too.
        Date::from_ordinal(monday.ordinal() + 6)?;
        Some(Week { monday })
    }

    /// ISO week `week` of ISO year `year`.
    pub fn new(year: u16, week: u8) -> Option<Week> {
        let jan4 = Date::new(year, 1, 4)?;
        let first = Week::of(jan4)?;
        let w = Week::of(Date::from_ordinal(
            first.monday.ordinal() + 7 * (i64::from(week) - 1),
        )?)?;
        (week >= 1 && w.iso() == (year, week)).then_some(w)
    }

    pub fn monday(self) -> Date {
        self.monday
    }

    /// The week before; `None` at the edge of the supported dates.
    pub fn prev(self) -> Option<Week> {
        Date::from_ordinal(self.monday.ordinal() - 7).and_then(Week::of)
    }

    /// The week after; `None` at the edge of the supported dates.
    pub fn next(self) -> Option<Week> {
        Date::from_ordinal(self.monday.ordinal() + 7).and_then(Week::of)
    }

    /// Its Sunday.
    pub fn sunday(self) -> Date {
        Date::from_ordinal(self.monday.ordinal() + 6).unwrap_or(self.monday)
    }

    /// Its seven days, Monday first.
    pub fn dates(self) -> impl Iterator<Item = Date> {
        let first = self.monday.ordinal();
        (0..7).filter_map(move |i| Date::from_ordinal(first + i))
    }

    pub fn contains(self, date: Date) -> bool {
        let d = date.ordinal() - self.monday.ordinal();
        (0..7).contains(&d)
    }

    /// (ISO year, week number).
    pub fn iso(self) -> (u16, u8) {
        let thursday = Date::from_ordinal(self.monday.ordinal() + 3).unwrap_or(self.monday);
        let year = thursday.year();
        let week1 = Date::new(year, 1, 4)
            .map(|j| j.ordinal() - i64::from(j.weekday()) + 1)
            .unwrap_or(self.monday.ordinal());
        (year, ((self.monday.ordinal() - week1) / 7 + 1) as u8)
    }
}

impl fmt::Display for Week {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, w) = self.iso();
        write!(f, "{y:04}-W{w:02}")
    }
}

impl FromStr for Week {
    type Err = CalendarError;

    fn from_str(s: &str) -> Result<Week, CalendarError> {
        let bad = || CalendarError::BadWeek(s.to_string());
        let (y, w) = s.split_once("-W").ok_or_else(bad)?;
        if y.len() != 4 || w.len() != 2 {
            return Err(bad());
        }
        let y = u16::try_from(parse_digits(y).ok_or_else(bad)?).map_err(|_| bad())?;
        let w = u8::try_from(parse_digits(w).ok_or_else(bad)?).map_err(|_| bad())?;
        if !(MIN_YEAR..=MAX_YEAR).contains(&y) {
            return Err(bad());
        }
        Week::new(y, w).ok_or_else(bad)
    }
}

impl FromStr for Month {
    type Err = CalendarError;

    fn from_str(s: &str) -> Result<Month, CalendarError> {
        let bad = || CalendarError::BadMonth(s.to_string());
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let y = parse_digits(y).ok_or_else(bad)?;
        let m = parse_digits(m).ok_or_else(bad)?;
        Month::new(
            u16::try_from(y).map_err(|_| bad())?,
            u8::try_from(m).map_err(|_| bad())?,
        )
        .ok_or_else(bad)
    }
}

impl FromStr for Date {
    type Err = CalendarError;

    fn from_str(s: &str) -> Result<Date, CalendarError> {
        let bad = || CalendarError::BadDate(s.to_string());
        if s.len() != 10 {
            return Err(bad());
        }
        let month: Month = s.get(..7).ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let rest = s.get(7..).ok_or_else(bad)?;
        let d = rest.strip_prefix('-').ok_or_else(bad)?;
        let d = parse_digits(d).ok_or_else(bad)?;
        month
            .day(u8::try_from(d).map_err(|_| bad())?)
            .ok_or_else(bad)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

macro_rules! string_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
string_serde!(Month);
string_serde!(Date);
string_serde!(Week);
string_serde!(Year);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_weeks_run_monday_to_sunday_and_belong_to_their_thursdays_year() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        // 2026-10-19 is a Monday; ISO week 43 of 2026.
        let w: Week = "2026-W43".parse().unwrap();
        assert_eq!(w.monday(), d("2026-10-19"));
        assert_eq!(Week::of(d("2026-10-25")), Some(w), "its Sunday");
        assert_eq!(Week::of(d("2026-10-26")).unwrap().to_string(), "2026-W44");
        // Week 44 of 2026 runs into November: 2026-10-26 to 2026-11-01.
        let w44: Week = "2026-W44".parse().unwrap();
        assert!(w44.contains(d("2026-11-01")) && !w44.contains(d("2026-11-02")));
        assert_eq!(w44.dates().count(), 7);
        // 2027-01-01 is a Friday: it belongs to 2026's last week, W53.
        assert_eq!(Week::of(d("2027-01-01")).unwrap().to_string(), "2026-W53");
        assert_eq!(Week::of(d("2027-01-04")).unwrap().to_string(), "2027-W01");
        // 2025 has 52 weeks; 2026 has 53.
        assert!("2025-W53".parse::<Week>().is_err());
        assert!("2026-W53".parse::<Week>().is_ok());
        for bad in ["2026-W00", "2026-W5", "2026W43", "2026-43", "x"] {
            assert!(bad.parse::<Week>().is_err(), "{bad}");
        }
    }

    #[test]
    fn month_lengths_follow_the_gregorian_calendar() {
        assert_eq!(Month::new(2026, 2).map(Month::days), Some(28));
        assert_eq!(Month::new(2024, 2).map(Month::days), Some(29));
        assert_eq!(Month::new(2000, 2).map(Month::days), Some(29));
        assert_eq!(Month::new(1900, 2).map(Month::days), Some(28));
        assert_eq!(Month::new(2026, 4).map(Month::days), Some(30));
        assert_eq!(Month::new(2026, 12).map(Month::days), Some(31));
    }

    #[test]
    fn parsing_rejects_anything_but_real_dates() {
        assert_eq!("2026-03-14".parse::<Date>().map(|d| d.day()), Ok(14));
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-3-14",
            "26-03-14",
            "2026-03-1 ",
            "2026-03-+1",
            "２０２６-03-01",
            "",
            "3000-01-01",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad:?} must be rejected");
        }
        assert!("2026-03".parse::<Month>().is_ok());
        assert!("2026-3".parse::<Month>().is_err());
    }

    #[test]
    fn ordinal_round_trips_and_knows_weekdays() {
        let d: Date = "1970-01-01".parse().unwrap();
        assert_eq!(d.ordinal(), 0);
        assert_eq!(d.weekday(), 4); // Thursday
        let d: Date = "2026-11-24".parse().unwrap();
        assert_eq!(d.weekday(), 2); // Tuesday
        let mut day: Date = "1999-12-25".parse().unwrap();
        for _ in 0..3000 {
            assert_eq!(Date::from_ordinal(day.ordinal()), Some(day));
            let next = day.succ().unwrap();
            assert_eq!(next.days_since(day), 1);
            day = next;
        }
    }
}
