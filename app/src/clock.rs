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

/// Yesterday in China Standard Time: the day the board shows by default.
pub fn yesterday() -> Date {
    node::validate::date_of(unix_now() - 86_400)
        .or_else(|| Date::from_ordinal(0))
        .expect("a date")
}
