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

/// `[[sla]]`: a service level.
///
/// ```toml
/// [[sla]]
/// name = "gold"
/// calendar = "office"
/// first-response = "4h"
/// update = "8h"
/// solution = "40h"
/// warning-percent = 80
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SlaConfig {
    pub name: String,
    /// A `[[calendar]]`'s name; default `24/7`.
    #[serde(default)]
    pub calendar: Option<String>,
    #[serde(default)]
    pub first_response: Option<String>,
    #[serde(default)]
    pub update: Option<String>,
    #[serde(default)]
    pub solution: Option<String>,
    #[serde(default = "default_warning")]
    pub warning_percent: u32,
}

fn default_warning() -> u32 {
    80
}

impl SlaConfig {
    /// The service level, checked: durations readable, some target, a known calendar.
    pub fn policy(&self, calendars: &[CalendarConfig]) -> Result<super::policy::Sla, String> {
        let what = |e: String| format!("[[sla]] {:?}: {e}", self.name);
        if self.name.is_empty()
            || self.name == "default"
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(what(
                "the name is ASCII letters, digits, '-' and '_', and not \"default\"".into(),
            ));
        }
        let duration = |key: &str, v: &Option<String>| match v {
            None => Ok(None),
            Some(s) => parse_duration(s).map(Some).ok_or_else(|| {
                what(format!(
                    "{key} {s:?} is not a time such as \"4h\" or \"1h30m\""
                ))
            }),
        };
        let calendar = self
            .calendar
            .clone()
            .unwrap_or_else(|| super::Calendar::ALWAYS.into());
        if calendar != super::Calendar::ALWAYS && !calendars.iter().any(|c| c.name == calendar) {
            return Err(what(format!("calendar {calendar:?} is not a [[calendar]]")));
        }
        if !(1..=99).contains(&self.warning_percent) {
            return Err(what("warning-percent is 1..=99".into()));
        }
        let sla = super::policy::Sla {
            name: self.name.clone(),
            calendar,
            first_response: duration("first-response", &self.first_response)?,
            update: duration("update", &self.update)?,
            solution: duration("solution", &self.solution)?,
            warning_percent: self.warning_percent,
        };
        if sla.first_response.is_none() && sla.update.is_none() && sla.solution.is_none() {
            return Err(what(
                "none of first-response, update, solution is set".into(),
            ));
        }
        Ok(sla)
    }
}

/// `4h`, `30m`, `1h30m`, `90s`: hours, minutes and seconds of business time (no days: a
/// business day's length is the calendar's). More than zero.
pub fn parse_duration(s: &str) -> Option<std::time::Duration> {
    let mut total = 0u64;
    let mut digits = String::new();
    let mut any = false;
    for c in s.trim().chars() {
        match c {
            '0'..='9' => digits.push(c),
            'h' | 'm' | 's' if !digits.is_empty() => {
                let n: u64 = digits.parse().ok()?;
                let unit = match c {
                    'h' => 3600,
                    'm' => 60,
                    _ => 1,
                };
                total = total.checked_add(n.checked_mul(unit)?)?;
                digits.clear();
                any = true;
            }
            _ => return None,
        }
    }
    (any && digits.is_empty() && total > 0).then(|| std::time::Duration::from_secs(total))
}

/// `4h`, `1h30m`, `45s` again: how durations are written back to people.
pub fn show_duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    let (h, m, sec) = (s / 3600, s % 3600 / 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if sec > 0 || out.is_empty() {
        out.push_str(&format!("{sec}s"));
    }
    out
}
