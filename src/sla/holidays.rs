//! Days without working hours: dates from the configuration and from an iCalendar file (RFC 5545)
//! such as a holiday calendar exported from a groupware or downloaded for a region.
//!
//! Of the file only the events' days count: `DTSTART` to `DTEND` (exclusive; one day without
//! either `DTEND` or `DURATION`), whole days whatever the times, cancelled events left out. A
//! yearly rule (`RRULE:FREQ=YEARLY`, with `INTERVAL`, `COUNT` or `UNTIL`) repeats an event on
//! its date; any other rule is refused with the event's summary rather than misread, as is an
//! event without a start. `icalendar` unfolds lines and splits properties; we read the values.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};

#[derive(Debug, Clone, Default)]
pub struct Holidays {
    dates: BTreeSet<NaiveDate>,
    yearly: Vec<Yearly>,
}

/// An event repeated every `interval` years on its first date.
#[derive(Debug, Clone)]
struct Yearly {
    first: NaiveDate,
    days: u32,
    interval: u32,
    count: Option<u32>,
    until: Option<NaiveDate>,
}

impl Holidays {
    /// The configuration's `holidays`, `YYYY-MM-DD` each.
    pub fn from_dates(dates: &[String]) -> Result<Holidays, String> {
        let mut h = Holidays::default();
        for d in dates {
            let date = NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| format!("holiday {d:?} is no date (YYYY-MM-DD)"))?;
            h.dates.insert(date);
        }
        Ok(h)
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        self.dates.contains(&day) || self.yearly.iter().any(|y| y.covers(day))
    }

    /// Adds the events of an iCalendar text.
    pub fn add_ics(&mut self, text: &str) -> Result<(), String> {
        let unfolded = icalendar::parser::unfold(text);
        let cal = icalendar::parser::read_calendar(&unfolded)
            .map_err(|e| format!("not an iCalendar file: {}", e.lines().next().unwrap_or("")))?;
        let mut events = Vec::new();
        collect_events(&cal.components, &mut events);
        for ev in events {
            self.add_event(ev)?;
        }
        Ok(())
    }

    fn add_event(&mut self, ev: &icalendar::parser::Component<'_>) -> Result<(), String> {
        let prop = |name: &str| {
            ev.find_prop(name)
                .map(|p| p.val.as_str().trim().to_string())
        };
        let summary = prop("SUMMARY").unwrap_or_else(|| "(no summary)".into());
        if prop("STATUS").is_some_and(|s| s.eq_ignore_ascii_case("CANCELLED")) {
            return Ok(());
        }
        let start = prop("DTSTART")
            .ok_or_else(|| format!("event {summary:?} has no DTSTART"))
            .and_then(|v| {
                ics_date(&v).ok_or_else(|| format!("event {summary:?}: DTSTART {v:?}"))
            })?;
        let days = match (prop("DTEND"), prop("DURATION")) {
            (Some(v), _) => {
                let end = ics_date(&v).ok_or_else(|| format!("event {summary:?}: DTEND {v:?}"))?;
                // An end with a time on a later day still touches that day.
                let end = if has_time_of_day(&v) {
                    end.succ_opt().unwrap_or(end)
                } else {
                    end
                };
                u32::try_from((end - start).num_days()).unwrap_or(0).max(1)
            }
            (None, Some(v)) => ics_days(&v)
                .ok_or_else(|| format!("event {summary:?}: DURATION {v:?} is not whole days"))?
                .max(1),
            (None, None) => 1,
        };
        match prop("RRULE") {
            None => {
                for i in 0..days {
                    if let Some(d) = start.checked_add_days(chrono::Days::new(u64::from(i))) {
                        self.dates.insert(d);
                    }
                }
            }
            Some(rule) => {
                let mut y = yearly(&rule, start).ok_or_else(|| {
                    format!("event {summary:?}: RRULE {rule:?} is not a yearly date")
                })?;
                y.days = days;
                self.yearly.push(y);
            }
        }
        Ok(())
    }
}

impl Yearly {
    fn covers(&self, day: NaiveDate) -> bool {
        if day < self.first {
            return false;
        }
        // The occurrence that may cover `day` starts this year or, for a long one, before.
        let span_years = self.days / 365 + 1;
        (0..=span_years as i32).any(|back| {
            let year = day.year() - back;
            let n = year - self.first.year();
            if n < 0 || n % self.interval as i32 != 0 {
                return false;
            }
            if self
                .count
                .is_some_and(|c| (n / self.interval as i32) as u32 >= c)
            {
                return false;
            }
            // Feb 29 occurs only in leap years (RFC 5545 skips invalid dates).
            let Some(start) = NaiveDate::from_ymd_opt(year, self.first.month(), self.first.day())
            else {
                return false;
            };
            if self.until.is_some_and(|u| start > u) {
                return false;
            }
            day >= start && (day - start).num_days() < i64::from(self.days)
        })
    }
}

fn collect_events<'a, 'b>(
    comps: &'b [icalendar::parser::Component<'a>],
    out: &mut Vec<&'b icalendar::parser::Component<'a>>,
) {
    for c in comps {
        if c.name.as_str().eq_ignore_ascii_case("VEVENT") {
            out.push(c);
        }
        collect_events(&c.components, out);
    }
}

/// The date of a DATE or DATE-TIME value (`20261225`, `20261225T090000Z`).
fn ics_date(v: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(v.get(..8)?, "%Y%m%d").ok()
}

fn has_time_of_day(v: &str) -> bool {
    v.get(9..15).is_some_and(|t| t != "000000")
}

/// Whole days of a duration: `P1D`, `P2W`, `PT24H`.
fn ics_days(v: &str) -> Option<u32> {
    let v = v.strip_prefix('P')?;
    if let Some(n) = v.strip_suffix('D') {
        return n.parse().ok();
    }
    if let Some(n) = v.strip_suffix('W') {
        return n.parse::<u32>().ok()?.checked_mul(7);
    }
    let h: u32 = v.strip_prefix('T')?.strip_suffix('H')?.parse().ok()?;
    h.is_multiple_of(24).then_some(h / 24)
}

/// `FREQ=YEARLY` with its parts; `None` for any other rule. `BYMONTH` and `BYMONTHDAY`, as
/// groupware writes them, only if they repeat what the start date says.
fn yearly(rule: &str, first: NaiveDate) -> Option<Yearly> {
    let mut y = Yearly {
        first,
        days: 1,
        interval: 1,
        count: None,
        until: None,
    };
    let mut freq = false;
    for part in rule.split(';').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=')?;
        match k.to_ascii_uppercase().as_str() {
            "FREQ" => freq = v.eq_ignore_ascii_case("YEARLY"),
            "INTERVAL" => y.interval = v.parse().ok().filter(|n| *n > 0)?,
            "COUNT" => y.count = Some(v.parse().ok()?),
            "UNTIL" => y.until = Some(ics_date(v)?),
            "BYMONTH" if v.parse() == Ok(first.month()) => {}
            "BYMONTHDAY" if v.parse() == Ok(first.day()) => {}
            "WKST" => {}
            _ => return None,
        }
    }
    freq.then_some(y)
}
