//! How long something took, in the hours that count for service levels. Every duration a report
//! gives is measured here and nowhere else.
//!
//! Until queues have business calendars, this is wall-clock time; `KIND` says which, and the
//! report prints it.

use chrono::{DateTime, Utc};

/// Which hours a report's durations count.
pub const KIND: &str = "wall-clock";

/// Seconds between `start` and `end` that count for tickets of `queue` (0 when `end` is not
/// after `start`).
pub fn between(_queue: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
    (end - start).num_seconds().max(0)
}

/// A time as the index writes it (`2026-12-06T03:56:45.123Z`); `None` for anything else.
pub fn parse(stamp: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(stamp)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
