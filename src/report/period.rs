//! The days a report covers: whole UTC days, `from` to `to` inclusive, given as dates or named
//! relative to a day (`yesterday`, `last-week`, `last-month`).

use chrono::{Datelike, Duration, NaiveDate};
use serde::Serialize;

pub use crate::config::report::Named;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: NaiveDate,
    /// Inclusive.
    pub to: NaiveDate,
}

impl Named {
    /// The period as seen on `today`.
    pub fn on(self, today: NaiveDate) -> Period {
        match self {
            Named::Yesterday => {
                let d = today - Duration::days(1);
                Period { from: d, to: d }
            }
            Named::LastWeek => {
                let monday = today - Duration::days(today.weekday().num_days_from_monday() as i64);
                Period {
                    from: monday - Duration::days(7),
                    to: monday - Duration::days(1),
                }
            }
            Named::LastMonth => {
                let first = today.with_day(1).expect("day 1 exists");
                let to = first - Duration::days(1);
                Period {
                    from: to.with_day(1).expect("day 1 exists"),
                    to,
                }
            }
        }
    }
}

impl Period {
    /// `from` and `to` as given on the command line (`YYYY-MM-DD`); missing ones default to the
    /// last seven days before `today`.
    pub fn parse(from: Option<&str>, to: Option<&str>, today: NaiveDate) -> Result<Period, String> {
        let date = |s: &str| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| format!("{s:?} is no date (YYYY-MM-DD)"))
        };
        let to = match to {
            Some(s) => date(s)?,
            None => today - Duration::days(1),
        };
        let from = match from {
            Some(s) => date(s)?,
            None => to - Duration::days(6),
        };
        if from > to {
            return Err(format!("the period starts ({from}) after it ends ({to})"));
        }
        if (to - from).num_days() > 3660 {
            return Err("a report covers at most ten years".into());
        }
        Ok(Period { from, to })
    }

    /// The first instant, as the index writes times.
    pub fn start(&self) -> String {
        stamp(self.from)
    }

    /// The first instant after the period.
    pub fn end(&self) -> String {
        stamp(self.to + Duration::days(1))
    }

    pub fn days(&self) -> impl Iterator<Item = NaiveDate> {
        let from = self.from;
        (0..=(self.to - self.from).num_days()).map(move |i| from + Duration::days(i))
    }

    pub fn days_count(&self) -> usize {
        (self.to - self.from).num_days() as usize + 1
    }

    /// `2026-11-30..2026-12-06`: how the period is named in records and file names.
    pub fn key(&self) -> String {
        format!("{}..{}", self.from, self.to)
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.from == self.to {
            write!(f, "{}", self.from)
        } else {
            write!(f, "{} to {}", self.from, self.to)
        }
    }
}

fn stamp(d: NaiveDate) -> String {
    format!("{}T00:00:00.000Z", d.format("%Y-%m-%d"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn named_periods() {
        // 2026-12-07 is a Monday.
        let p = Named::LastWeek.on(d("2026-12-07"));
        assert_eq!((p.from, p.to), (d("2026-11-30"), d("2026-12-06")));
        let p = Named::LastWeek.on(d("2026-12-06"));
        assert_eq!((p.from, p.to), (d("2026-11-23"), d("2026-11-29")));
        let p = Named::LastMonth.on(d("2026-03-01"));
        assert_eq!((p.from, p.to), (d("2026-02-01"), d("2026-02-28")));
        let p = Named::Yesterday.on(d("2027-01-01"));
        assert_eq!((p.from, p.to), (d("2026-12-31"), d("2026-12-31")));
    }

    #[test]
    fn command_line_periods() {
        let p = Period::parse(None, None, d("2026-12-06")).unwrap();
        assert_eq!((p.from, p.to), (d("2026-11-29"), d("2026-12-05")));
        assert_eq!(p.days_count(), 7);
        assert_eq!(p.end(), "2026-12-06T00:00:00.000Z");
        assert_eq!(p.key(), "2026-11-29..2026-12-05");
        assert!(Period::parse(Some("2026-12-07"), Some("2026-12-06"), d("2026-12-06")).is_err());
        assert!(Period::parse(Some("7.12.2026"), None, d("2026-12-06")).is_err());
    }
}
