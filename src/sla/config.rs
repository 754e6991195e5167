//! `[[calendar]]` tables: when the help desk works. Strict like the rest of the file.
//!
//! ```toml
//! [[calendar]]
//! name = "office"
//! time-zone = "Europe/Berlin"
//! monday = ["08:00-12:00", "13:00-17:00"]
//! holidays = ["2026-12-24"]
//! holidays-file = "holidays.ics"
//! ```
//!
//! A weekday not given has no working hours.

use std::path::PathBuf;

use serde::Deserialize;

use super::calendar::{Range, Week};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CalendarConfig {
    pub name: String,
    /// An IANA zone such as `Europe/Berlin`; working hours are its local times.
    pub time_zone: String,
    #[serde(default)]
    pub monday: Vec<String>,
    #[serde(default)]
    pub tuesday: Vec<String>,
    #[serde(default)]
    pub wednesday: Vec<String>,
    #[serde(default)]
    pub thursday: Vec<String>,
    #[serde(default)]
    pub friday: Vec<String>,
    #[serde(default)]
    pub saturday: Vec<String>,
    #[serde(default)]
    pub sunday: Vec<String>,
    /// Days without working hours, `YYYY-MM-DD`.
    #[serde(default)]
    pub holidays: Vec<String>,
    /// An iCalendar file whose events' days are holidays; relative to the configuration's folder.
    #[serde(default)]
    pub holidays_file: Option<PathBuf>,
}

impl CalendarConfig {
    /// The weekdays' ranges, checked for form; order and overlap are `Calendar::new`'s to check.
    pub fn week(&self) -> Result<Week, String> {
        let days = [
            ("monday", &self.monday),
            ("tuesday", &self.tuesday),
            ("wednesday", &self.wednesday),
            ("thursday", &self.thursday),
            ("friday", &self.friday),
            ("saturday", &self.saturday),
            ("sunday", &self.sunday),
        ];
        let mut week: Week = Default::default();
        for (i, (key, ranges)) in days.into_iter().enumerate() {
            for r in ranges {
                week[i].push(parse_range(r).ok_or_else(|| {
                    format!("{key}: {r:?} is not a range of times such as \"08:00-12:00\"")
                })?);
            }
        }
        Ok(week)
    }
}

/// `HH:MM-HH:MM`, the end up to `24:00`.
pub fn parse_range(s: &str) -> Option<Range> {
    let (a, b) = s.trim().split_once('-')?;
    let (start, end) = (parse_time(a)?, parse_time(b)?);
    (start < end && start < 24 * 60).then_some(Range { start, end })
}

fn parse_time(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    let t = h.checked_mul(60)? + m;
    (m < 60 && t <= 24 * 60).then_some(t)
}

impl CalendarConfig {
    /// What can be checked without reading the holidays file.
    pub fn validate(&self) -> Result<(), String> {
        if self.name.is_empty() || self.name == super::Calendar::ALWAYS {
            return Err(format!(
                "[[calendar]] name {:?}: empty or the built-in {:?}",
                self.name,
                super::Calendar::ALWAYS
            ));
        }
        let zone: chrono_tz::Tz = self.time_zone.parse().map_err(|_| {
            format!(
                "[[calendar]] {:?}: time-zone {:?} is no IANA zone",
                self.name, self.time_zone
            )
        })?;
        let holidays = super::holidays::Holidays::from_dates(&self.holidays)
            .map_err(|e| format!("[[calendar]] {:?}: {e}", self.name))?;
        self.week()
            .and_then(|week| super::Calendar::new(&self.name, zone, week, holidays))
            .map(drop)
            .map_err(|e| format!("[[calendar]] {:?}: {e}", self.name))
    }
}
