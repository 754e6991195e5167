//! Business time: when a help desk works. A calendar is a time zone, working hours per weekday
//! (several ranges a day, such as a lunch break between two) and holidays; business time is the
//! real time that passes inside working hours. The 24/7 calendar counts every second.
//!
//! Pure: the calendar is built from its configuration (`from_config` reads the holidays file, if
//! any, and nothing else) and then only computes. Working hours are local times of the zone: on a
//! day a clock change shortens or lengthens, a range that spans the change is an hour shorter or
//! longer, as the people who work it experience it. A local time that does not exist (the hour
//! skipped in spring) is the moment the clocks jump; a range's start at a local time that occurs
//! twice (autumn) is the first occurrence and its end the second.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::config::CalendarConfig;
use super::holidays::Holidays;
use super::timeline::{Year, Years};

/// How many years `add_business` looks ahead for working time before it gives up (a calendar
/// whose holidays cover every working day of a decade has none).
const MAX_YEARS_AHEAD: i32 = 10;

/// Minutes after local midnight, `start < end <= 1440`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: u16,
    pub end: u16,
}

/// Working hours of the seven weekdays, Monday first; each day's ranges sorted, not overlapping.
pub type Week = [Vec<Range>; 7];

#[derive(Debug, Clone)]
pub struct Calendar {
    name: String,
    /// `None`: the 24/7 calendar, where business time is real time.
    hours: Option<Hours>,
}

#[derive(Debug, Clone)]
struct Hours {
    zone: Tz,
    week: Week,
    holidays: Holidays,
    /// The working ranges of each local year asked about, as tables.
    years: Years,
}

#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("calendar {name:?}: {message}")]
    Invalid { name: String, message: String },
}

impl Calendar {
    /// The name of the built-in calendar that counts every hour of every day.
    pub const ALWAYS: &'static str = "24/7";

    /// The 24/7 calendar: every second is business time.
    pub fn always() -> Calendar {
        Calendar {
            name: Calendar::ALWAYS.into(),
            hours: None,
        }
    }

    /// A calendar from its parts; `week` must hold some working time (else no deadline would
    /// ever come).
    pub fn new(name: &str, zone: Tz, week: Week, holidays: Holidays) -> Result<Calendar, String> {
        for day in &week {
            for (i, r) in day.iter().enumerate() {
                if r.start >= r.end || r.end > 24 * 60 {
                    return Err(format!(
                        "working hours {} are empty or past 24:00",
                        show(*r)
                    ));
                }
                if i > 0 && day[i - 1].end > r.start {
                    return Err(format!(
                        "working hours {} and {} overlap or are out of order",
                        show(day[i - 1]),
                        show(*r)
                    ));
                }
            }
        }
        if week.iter().all(Vec::is_empty) {
            return Err("no working hours on any weekday".into());
        }
        Ok(Calendar {
            name: name.into(),
            hours: Some(Hours {
                zone,
                week,
                holidays,
                years: Years::default(),
            }),
        })
    }

    /// The calendar a `[[calendar]]` table describes; reads its `holidays-file` (relative paths
    /// against `config_dir`).
    pub fn from_config(cfg: &CalendarConfig, config_dir: &Path) -> Result<Calendar, CalendarError> {
        let invalid = |message: String| CalendarError::Invalid {
            name: cfg.name.clone(),
            message,
        };
        let zone: Tz = cfg
            .time_zone
            .parse()
            .map_err(|_| invalid(format!("time-zone {:?} is no IANA zone", cfg.time_zone)))?;
        let week = cfg.week().map_err(invalid)?;
        let mut holidays = Holidays::from_dates(&cfg.holidays).map_err(invalid)?;
        if let Some(file) = &cfg.holidays_file {
            let path = config_dir.join(file);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| invalid(format!("holidays-file {}: {e}", path.display())))?;
            holidays
                .add_ics(&text)
                .map_err(|e| invalid(format!("holidays-file {}: {e}", path.display())))?;
        }
        Calendar::new(&cfg.name, zone, week, holidays).map_err(invalid)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Business time between two instants: zero when `end` is not after `start`. Working
    /// ranges that overlap (two of a day that touch, when the clocks go back between them)
    /// count once.
    pub fn business_between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Duration {
        if end <= start {
            return Duration::ZERO;
        }
        let Some(h) = &self.hours else {
            return (end - start).to_std().unwrap_or_default();
        };
        let mut total = chrono::TimeDelta::zero();
        for year in h.first_year(start)..=h.local_date(end).year() {
            let y = h.year(year);
            total += y.until(end) - y.until(start);
        }
        total.to_std().unwrap_or_default()
    }

    /// The instant by which `dur` of business time has passed since `start`: `start` itself for
    /// no time; the end of a working range when the time runs out exactly there. A calendar with
    /// no working time for ten years gives the largest instant there is.
    pub fn add_business(&self, start: DateTime<Utc>, dur: Duration) -> DateTime<Utc> {
        if dur.is_zero() {
            return start;
        }
        let Some(h) = &self.hours else {
            return chrono::Duration::from_std(dur)
                .ok()
                .and_then(|d| start.checked_add_signed(d))
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
        };
        let Ok(mut left) = chrono::TimeDelta::from_std(dur) else {
            return DateTime::<Utc>::MAX_UTC;
        };
        let first = h.first_year(start);
        for year in first..=first.saturating_add(MAX_YEARS_AHEAD) {
            let y = h.year(year);
            let done = y.until(start);
            if left <= y.total() - done {
                return y.instant(done + left).unwrap_or(DateTime::<Utc>::MAX_UTC);
            }
            left -= y.total() - done;
        }
        DateTime::<Utc>::MAX_UTC
    }

    /// Whether `at` falls in working time.
    pub fn is_working(&self, at: DateTime<Utc>) -> bool {
        let Some(h) = &self.hours else { return true };
        let day = h.local_date(at);
        [day.pred_opt(), Some(day)]
            .into_iter()
            .flatten()
            .flat_map(|d| h.intervals(d))
            .any(|(a, b)| a <= at && at < b)
    }
}

impl Hours {
    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.zone).date_naive()
    }

    /// The first local year whose working ranges can reach past `at`: the previous one too in
    /// the first days of a year, whose last day's ranges may end after midnight (24:00, or later
    /// when the clocks went back).
    fn first_year(&self, at: DateTime<Utc>) -> i32 {
        let day = self.local_date(at);
        day.pred_opt().unwrap_or(day).year()
    }

    /// The table of a local year's working ranges, made from its days the first time.
    fn year(&self, year: i32) -> std::sync::Arc<Year> {
        self.years.get(year, || {
            let mut ranges = Vec::new();
            let mut day = NaiveDate::from_yo_opt(year, 1);
            while let Some(d) = day.filter(|d| d.year() == year) {
                ranges.extend(self.intervals(d));
                day = d.succ_opt();
            }
            Year::new(ranges)
        })
    }

    /// The day's working ranges as instants; none on a holiday.
    fn intervals(&self, day: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if self.holidays.contains(day) {
            return Vec::new();
        }
        self.week[day.weekday().num_days_from_monday() as usize]
            .iter()
            .map(|r| {
                (
                    self.instant(day, r.start, true),
                    self.instant(day, r.end, false),
                )
            })
            .filter(|(a, b)| a < b)
            .collect()
    }

    /// The instant of a local time on a day: `first` picks between the two of a repeated hour;
    /// a skipped time is the moment the clocks jump past it.
    fn instant(&self, day: NaiveDate, minute: u16, first: bool) -> DateTime<Utc> {
        let (day, minute) = if minute >= 24 * 60 {
            (day.succ_opt().unwrap_or(day), 0)
        } else {
            (day, minute)
        };
        let mut local = day.and_time(
            NaiveTime::from_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)
                .unwrap_or_default(),
        );
        // Gaps are whole minutes and shorter than two days (Samoa skipped one).
        for _ in 0..(2 * 24 * 60) {
            match self.zone.from_local_datetime(&local) {
                LocalResult::Single(t) => return t.with_timezone(&Utc),
                LocalResult::Ambiguous(a, b) => {
                    return if first { a } else { b }.with_timezone(&Utc);
                }
                LocalResult::None => local += chrono::Duration::minutes(1),
            }
        }
        local.and_utc()
    }
}

/// `08:00-12:00`, as the configuration writes ranges.
pub fn show(r: Range) -> String {
    format!(
        "{:02}:{:02}-{:02}:{:02}",
        r.start / 60,
        r.start % 60,
        r.end / 60,
        r.end % 60
    )
}

#[cfg(test)]
#[path = "calendar_tests.rs"]
mod tests;
