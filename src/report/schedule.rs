//! When a scheduled report is due, without I/O: `every` names the moments (`daily 07:00`,
//! `monday 07:00`, `monthly 07:00` for the first of each month) in a time zone; at any moment
//! the one due is the period of the latest moment passed, which is sent unless the index says it
//! was. So a restart just after a moment sends nothing twice, a machine that was down sends it
//! when it is back, and one down for several moments sends only the latest.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

pub use crate::config::report::Every;

use super::period::{Named, Period};

impl Every {
    fn time(self) -> NaiveTime {
        match self {
            Every::Daily(t) | Every::Weekly(_, t) | Every::Monthly(t) => t,
        }
    }

    fn on(self, day: NaiveDate) -> bool {
        match self {
            Every::Daily(_) => true,
            Every::Weekly(w, _) => day.weekday() == w,
            Every::Monthly(_) => day.day() == 1,
        }
    }

    /// The moment on `day` in `zone`; in a gap of a clock change, the first instant after it.
    fn moment(self, day: NaiveDate, zone: Tz) -> DateTime<Utc> {
        let local = day.and_time(self.time());
        let mut probe = local;
        loop {
            if let Some(t) = zone.from_local_datetime(&probe).earliest() {
                return t.with_timezone(&Utc);
            }
            probe += Duration::minutes(15);
        }
    }

    /// The latest moment at or before `now`.
    pub fn last(self, zone: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
        let today = now.with_timezone(&zone).date_naive();
        (0..=32)
            .map(|back| today - Duration::days(back))
            .filter(|d| self.on(*d))
            .map(|d| self.moment(d, zone))
            .find(|t| *t <= now)
            .expect("every schedule has a moment within 32 days")
    }

    /// The first moment after `now`.
    pub fn next(self, zone: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
        let today = now.with_timezone(&zone).date_naive();
        (0..=32)
            .map(|ahead| today + Duration::days(ahead))
            .filter(|d| self.on(*d))
            .map(|d| self.moment(d, zone))
            .find(|t| *t > now)
            .expect("every schedule has a moment within 32 days")
    }
}

/// The period due at `now`: that of the latest moment passed, named relative to its day.
pub fn due(every: Every, zone: Tz, period: Named, now: DateTime<Utc>) -> Period {
    let moment = every.last(zone, now);
    period.on(moment.with_timezone(&zone).date_naive())
}

#[cfg(test)]
mod tests {
    use chrono::Weekday;

    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn parses_the_three_kinds() {
        let t = NaiveTime::from_hms_opt(7, 0, 0).unwrap();
        assert_eq!(
            Every::parse("monday 07:00"),
            Ok(Every::Weekly(Weekday::Mon, t))
        );
        assert_eq!(Every::parse("Daily 07:00"), Ok(Every::Daily(t)));
        assert_eq!(Every::parse("monthly 07:00"), Ok(Every::Monthly(t)));
        for bad in [
            "monday",
            "mon 07:00",
            "monday 7",
            "monday 25:00",
            "daily 07:00 x",
            "",
        ] {
            assert!(Every::parse(bad).is_err(), "{bad:?}");
        }
    }

    /// Monday 07:00 in Berlin is 06:00 UTC in winter: a restart at 07:00:30 local finds the
    /// same period due (which the index then says was sent); a machine down over the weekend
    /// and back on Monday at 09:00 finds last week due; on Tuesday it is still last week.
    #[test]
    fn the_latest_moment_passed_names_the_period() {
        let every = Every::parse("monday 07:00").unwrap();
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let week = |s: &str| due(every, berlin, Named::LastWeek, at(s)).key();
        assert_eq!(week("2026-12-07T06:00:00Z"), "2026-11-30..2026-12-06");
        assert_eq!(week("2026-12-07T06:00:30Z"), "2026-11-30..2026-12-06");
        assert_eq!(week("2026-12-08T10:00:00Z"), "2026-11-30..2026-12-06");
        // A minute before the moment, the week before is the latest.
        assert_eq!(week("2026-12-07T05:59:00Z"), "2026-11-23..2026-11-29");
        assert_eq!(
            every.next(berlin, at("2026-12-07T06:00:00Z")),
            at("2026-12-14T06:00:00Z")
        );
    }

    #[test]
    fn daily_and_monthly() {
        let utc: Tz = "UTC".parse().unwrap();
        let daily = Every::parse("daily 00:30").unwrap();
        let p = due(daily, utc, Named::Yesterday, at("2026-12-06T00:10:00Z"));
        assert_eq!(p.key(), "2026-12-04..2026-12-04");
        let monthly = Every::parse("monthly 07:00").unwrap();
        let p = due(monthly, utc, Named::LastMonth, at("2026-12-06T00:10:00Z"));
        assert_eq!(p.key(), "2026-11-01..2026-11-30");
        assert_eq!(
            monthly.next(utc, at("2026-12-06T00:10:00Z")),
            at("2027-01-01T07:00:00Z")
        );
    }

    /// 02:30 does not exist in Berlin on the last Sunday of March: the moment is just after.
    #[test]
    fn a_moment_in_a_clock_change_gap() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let every = Every::parse("sunday 02:30").unwrap();
        assert_eq!(
            every.next(berlin, at("2027-03-27T12:00:00Z")),
            at("2027-03-28T01:00:00Z")
        );
    }
}
