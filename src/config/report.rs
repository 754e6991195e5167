//! `[[report]]`: reports the daemon mails on a schedule, and the words it is written in: the
//! schedule (`Every`), the period (`Named`), the format. What they mean is `report`'s.

use chrono::{NaiveTime, Weekday};
use serde::Deserialize;

/// The format a report is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Pdf,
    Html,
    Csv,
    Json,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "pdf" => Some(Format::Pdf),
            "html" => Some(Format::Html),
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// A period named relative to the day a report is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Named {
    Yesterday,
    /// Monday to Sunday of the week before.
    LastWeek,
    /// The calendar month before.
    LastMonth,
}

/// When a scheduled report is made: `daily HH:MM`, `monday HH:MM`, `monthly HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Every {
    Daily(NaiveTime),
    Weekly(Weekday, NaiveTime),
    /// The first of each month.
    Monthly(NaiveTime),
}

impl Every {
    pub fn parse(s: &str) -> Result<Every, String> {
        let bad = || {
            format!(
                "every = {s:?}: expected \"daily HH:MM\", \"monday HH:MM\" (any weekday) or \
                 \"monthly HH:MM\" (the first of the month)"
            )
        };
        let mut words = s.split_whitespace();
        let (Some(day), Some(time), None) = (words.next(), words.next(), words.next()) else {
            return Err(bad());
        };
        let time = NaiveTime::parse_from_str(time, "%H:%M").map_err(|_| bad())?;
        Ok(match day.to_ascii_lowercase().as_str() {
            "daily" => Every::Daily(time),
            "monthly" => Every::Monthly(time),
            d => Every::Weekly(weekday(d).ok_or_else(bad)?, time),
        })
    }
}

fn weekday(s: &str) -> Option<Weekday> {
    Some(match s {
        "monday" => Weekday::Mon,
        "tuesday" => Weekday::Tue,
        "wednesday" => Weekday::Wed,
        "thursday" => Weekday::Thu,
        "friday" => Weekday::Fri,
        "saturday" => Weekday::Sat,
        "sunday" => Weekday::Sun,
        _ => return None,
    })
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReportConfig {
    /// Names the report in the index's record of what was sent: letters, digits, `-`, `_`.
    pub name: String,
    /// Who gets it.
    pub to: Vec<String>,
    /// `daily HH:MM`, `monday HH:MM` (any weekday), `monthly HH:MM` (the first).
    pub every: String,
    /// The zone `every` is read in (IANA name); default UTC.
    #[serde(default = "utc")]
    pub time_zone: String,
    /// `yesterday`, `last-week` (Monday to Sunday) or `last-month`.
    pub period: Named,
    /// The queues it covers; default all.
    #[serde(default)]
    pub queues: Vec<String>,
    #[serde(default = "pdf")]
    pub format: Format,
}

fn utc() -> String {
    "UTC".into()
}

fn pdf() -> Format {
    Format::Pdf
}

impl ReportConfig {
    pub fn every(&self) -> Result<Every, String> {
        Every::parse(&self.every)
    }

    pub fn zone(&self) -> Result<chrono_tz::Tz, String> {
        self.time_zone
            .parse()
            .map_err(|_| format!("time-zone {:?} is no IANA time zone", self.time_zone))
    }

    /// Checks what serde cannot: the name, the addresses, the schedule, the zone, the queues.
    pub fn validate(&self, queue_exists: impl Fn(&str) -> bool) -> Result<(), String> {
        let ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if self.name.is_empty() || self.name.len() > 64 || !self.name.chars().all(ok) {
            return Err(format!(
                "name {:?}: 1 to 64 letters, digits, '-' or '_'",
                self.name
            ));
        }
        if self.to.is_empty() {
            return Err("to: at least one address".into());
        }
        for a in &self.to {
            let (local, domain) = a.split_once('@').unwrap_or(("", ""));
            let plain = |s: &str| {
                !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || "<>,;\"".contains(c))
            };
            if !plain(local) || !plain(domain) || domain.contains('@') {
                return Err(format!("to: {a:?} is no mail address"));
            }
        }
        self.every()?;
        self.zone()?;
        for q in &self.queues {
            if !queue_exists(q) {
                return Err(format!("queues: no queue {q:?} in the configuration"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<ReportConfig, String> {
        let r: ReportConfig = toml::from_str(s).map_err(|e| e.to_string())?;
        r.validate(|q| q == "Support").map(|()| r)
    }

    #[test]
    fn strict_and_checked() {
        let good = "name = \"weekly\"\nto = [\"lead@company.example\"]\nevery = \"monday 07:00\"\nperiod = \"last-week\"\n";
        let r = parse(good).unwrap();
        assert_eq!((r.format, r.time_zone.as_str()), (Format::Pdf, "UTC"));
        for (extra, error) in [
            ("colour = \"red\"\n", "colour"),
            ("format = \"doc\"\n", "doc"),
            ("queues = [\"Nope\"]\n", "Nope"),
            ("time-zone = \"Mars/Olympus\"\n", "Mars/Olympus"),
        ] {
            let e = parse(&format!("{good}{extra}")).unwrap_err();
            assert!(e.contains(error), "{extra}: {e}");
        }
        let e = parse(&good.replace("monday 07:00", "mondays")).unwrap_err();
        assert!(e.contains("mondays"), "{e}");
        let e = parse(&good.replace("last-week", "fortnight")).unwrap_err();
        assert!(e.contains("fortnight"), "{e}");
        let e = parse(&good.replace("weekly", "a/b")).unwrap_err();
        assert!(e.contains("a/b"), "{e}");
        let e = parse(&good.replace("lead@company.example", "lead")).unwrap_err();
        assert!(e.contains("no mail address"), "{e}");
    }
}
