//! The time as the engine reads it. Intake, the outbox and the daemon's rounds ask the `Clock`
//! they were given, never the system directly, so that what a ticket, an article, a history
//! line or a queued mail says of its moment comes from one place, and a test can set it.
//! (File names that must only be unique and the log's own stamps read the system's time.)

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The system's clock, shared.
pub fn system() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// A clock that shows what it was set to until it is set again or moved on.
#[derive(Debug)]
pub struct SetClock(Mutex<DateTime<Utc>>);

impl SetClock {
    pub fn at(t: DateTime<Utc>) -> Arc<SetClock> {
        Arc::new(SetClock(Mutex::new(t)))
    }

    pub fn advance(&self, by: TimeDelta) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }
}

impl Clock for SetClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An instant as the index, the trace headers and the event log write it:
/// `2026-06-02T09:00:00.000Z`.
pub fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_clock_stands_still_until_moved() {
        let t = DateTime::parse_from_rfc3339("2030-01-02T03:04:05.678Z")
            .unwrap()
            .with_timezone(&Utc);
        let c = SetClock::at(t);
        assert_eq!(c.now(), t);
        assert_eq!(c.now(), t);
        c.advance(TimeDelta::hours(25));
        assert_eq!(stamp(c.now()), "2030-01-03T04:04:05.678Z");
    }
}
