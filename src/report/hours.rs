//! How long something took, in the hours that count for service levels: business time in the
//! queue's calendar (`sla::Calendar`). Every duration a report gives is measured here and
//! nowhere else.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::sla::Calendar;

/// Each queue's calendar; queues without one count every second (the 24/7 calendar).
#[derive(Debug, Clone)]
pub struct Hours {
    /// By lower-cased queue name.
    calendars: BTreeMap<String, Calendar>,
    always: Calendar,
}

impl Hours {
    /// Every queue counts every second.
    pub fn always() -> Hours {
        Hours::new(Vec::new())
    }

    /// The calendars of the queues named; other queues count every second.
    pub fn new(calendars: Vec<(String, Calendar)>) -> Hours {
        Hours {
            calendars: calendars
                .into_iter()
                .map(|(q, c)| (q.to_lowercase(), c))
                .collect(),
            always: Calendar::always(),
        }
    }

    fn calendar(&self, queue: &str) -> &Calendar {
        self.calendars
            .get(&queue.to_lowercase())
            .unwrap_or(&self.always)
    }

    /// Seconds between `start` and `end` that count for tickets of `queue` (0 when `end` is
    /// not after `start`).
    pub fn between(&self, queue: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
        if end <= start {
            return 0;
        }
        let c = self.calendar(queue);
        if c.name() == Calendar::ALWAYS {
            return (end - start).num_seconds();
        }
        c.business_between(start, end).as_secs() as i64
    }

    /// What the report says its durations are: `business` when some queue has a calendar of
    /// working hours, else `wall-clock`.
    pub fn kind(&self) -> &'static str {
        if self
            .calendars
            .values()
            .any(|c| c.name() != Calendar::ALWAYS)
        {
            "business"
        } else {
            "wall-clock"
        }
    }
}

/// A time as the index writes it (`2026-12-06T03:56:45.123Z`); `None` for anything else.
pub fn parse(stamp: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(stamp)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
