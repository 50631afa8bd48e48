//! The one place the app reads the wall clock: the time a signed change
//! states, "last contact … ago", and the default day of the board.

use crdt_schema::Date;

/// Seconds since the Unix epoch (0 if the clock is before 1970).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Today in China Standard Time: days after it cannot be entered.
pub fn today() -> Date {
    node::validate::date_of(unix_now())
        .or_else(|| Date::from_ordinal(0))
        .expect("a date")
}

/// Yesterday in China Standard Time: the day the board shows by default.
pub fn yesterday() -> Date {
    node::validate::date_of(unix_now() - 86_400)
        .or_else(|| Date::from_ordinal(0))
        .expect("a date")
}

/// "HH:MM:SS" of a Unix time in China Standard Time (UTC+8, no daylight
/// saving): when the data on a screen was read.
pub fn time_of_day(unix: i64) -> String {
    let s = (unix + 8 * 3600).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_of_day_is_china_standard_time() {
        // 2026-10-20T00:00:00Z is 08:00 in Beijing.
        assert_eq!(time_of_day(1_792_454_400), "08:00:00");
        // 16:59:59Z is 00:59:59 the next day there.
        assert_eq!(
            time_of_day(1_792_454_400 + 16 * 3600 + 59 * 60 + 59),
            "00:59:59"
        );
    }
}
