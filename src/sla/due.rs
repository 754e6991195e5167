//! A ticket's deadlines from what the index keeps of it: its rows read into a `Timeline` (what
//! counts for the clocks) and the keys of the escalations already recorded. Pure: the round,
//! `ticket show` and `ticket list` read the rows and call these.

use std::collections::HashSet;

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone, Utc};

use super::policy::{self, Deadline, Decision, Happening, Timeline};
use super::{Calendar, Sla, Slas};
use crate::index::SlaRows;

/// An instant as the index writes them (RFC 3339).
pub fn instant(s: &str) -> Option<DateTime<Utc>> {
    utc_instant(s).or_else(|| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    })
}

/// The form the index writes, `2026-06-02T09:00:00.000Z` (any fraction or none), read
/// without the general parser: a report reads millions. Anything else, a leap second
/// included, is `None` and left to the general parser.
fn utc_instant(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let shape = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if b.len() < 20 || b.last() != Some(&b'Z') || shape.iter().any(|&(i, c)| b[i] != c) {
        return None;
    }
    let digits = |d: &[u8]| {
        d.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let nanos = match &b[19..b.len() - 1] {
        [] => 0,
        [b'.', f @ ..] if (1..=9).contains(&f.len()) => digits(f)? * 10u32.pow(9 - f.len() as u32),
        _ => return None,
    };
    let year = digits(&b[0..4])?;
    let date = NaiveDate::from_ymd_opt(year as i32, digits(&b[5..7])?, digits(&b[8..10])?)?;
    let time = date.and_hms_nano_opt(
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
        nanos,
    )?;
    Some(time.and_utc())
}

/// A `#pending` time as agents write it, in the site's local time: `2026-12-01 14:00`, or a date
/// alone for that day's start.
pub fn pending_instant(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let local = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    Local
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// What counts for the clocks: customers' messages (not automatic mail), agents' answers (not
/// notes), closing, reopening and `#pending`.
pub fn timeline(rows: &SlaRows) -> Timeline {
    let created = instant(&rows.created).unwrap_or_default();
    let mut events: Vec<(DateTime<Utc>, Happening)> = Vec::new();
    for (received, direction, event, classification, _) in &rows.articles {
        let Some(at) = instant(received) else {
            continue;
        };
        let h = match (direction.as_str(), event.as_str()) {
            // A call's article (`phone`) is the customer's too.
            ("in" | "phone", _) if classification == "normal" => Happening::Customer,
            ("agent", "answer") => Happening::Answer,
            _ => continue,
        };
        events.push((at, h));
    }
    for (at, event, detail, _) in &rows.events {
        let Some(at) = instant(at) else {
            continue;
        };
        let h = match event.as_str() {
            "closed" => Happening::Closed,
            "reopened" => Happening::Reopened,
            // "until 2026-12-01 14:00 by NAME" (mail command); the reminder's line says "over".
            "pending" => match detail
                .strip_prefix("until ")
                .and_then(|d| d.split(" by ").next())
                .and_then(pending_instant)
            {
                Some(until) => Happening::Pending { until },
                None => continue,
            },
            _ => continue,
        };
        events.push((at, h));
    }
    // Stable: at the same instant, articles before the events they caused.
    events.sort_by_key(|(at, _)| *at);
    Timeline {
        created,
        open: rows.open,
        events,
        pending: rows
            .pending
            .as_deref()
            .filter(|p| !p.is_empty())
            .and_then(pending_instant),
    }
}

/// The keys of the service levels' and reminders' lines already in the ticket's history.
pub fn recorded(rows: &SlaRows) -> HashSet<String> {
    rows.events
        .iter()
        .filter_map(|(_, _, _, key)| key.clone())
        .filter(|k| k.starts_with("sla:") || k.starts_with("pending:"))
        .collect()
}

/// The service level that holds for the ticket, with its calendar; `None` without one (or with
/// a name no `[[sla]]` has: the ticket is then left alone).
pub fn sla_of<'a>(
    slas: &'a Slas,
    rows: &'a SlaRows,
    instance: Option<&'a str>,
) -> Option<(&'a Sla, &'a Calendar)> {
    let name = slas.name_for(rows.sla.as_deref(), instance, &rows.queue)?;
    let sla = slas.get(name)?;
    Some((sla, slas.calendar(sla)))
}

/// What is due for the ticket at `now`.
pub fn decide(slas: &Slas, rows: &SlaRows, instance: Option<&str>, now: DateTime<Utc>) -> Decision {
    policy::decide(
        sla_of(slas, rows, instance),
        &timeline(rows),
        &recorded(rows),
        now,
    )
}

/// The runs to show: every clock's latest run, and older ones still not met.
pub fn shown(
    slas: &Slas,
    rows: &SlaRows,
    instance: Option<&str>,
    now: DateTime<Utc>,
) -> Vec<Deadline> {
    let Some((sla, cal)) = sla_of(slas, rows, instance) else {
        return Vec::new();
    };
    let all = policy::deadlines(sla, cal, &timeline(rows), now);
    let mut out: Vec<Deadline> = Vec::new();
    for (i, d) in all.iter().enumerate() {
        let latest = !all[i + 1..].iter().any(|n| n.clock == d.clock);
        if latest || d.stopped.is_none() {
            out.push(d.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_form_reads_as_the_general_parser_reads_it() {
        let general = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        };
        let mut written = vec![
            "2026-06-02T09:00:00.000Z".to_string(),
            "2026-06-02T09:00:00Z".into(),
            "2024-02-29T23:59:59.123456789Z".into(),
            "2026-12-31T00:00:00.5Z".into(),
            "2016-12-31T23:59:60.000Z".into(),
            "2026-02-29T10:00:00.000Z".into(),
            "2026-06-02T24:00:00.000Z".into(),
            "2026-06-02T09:00:00.Z".into(),
            "2026-06-02T09:00:00.0000000000Z".into(),
            "2026-06-02t09:00:00z".into(),
            "2026-06-02T09:00:00.000+02:00".into(),
            "2026-06-02 09:00:00.000Z".into(),
            "2026-6-02T09:00:00.000Z".into(),
            "+026-06-02T09:00:00.000Z".into(),
            "2026-06-02T09:00:0a.000Z".into(),
            "".into(),
        ];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let t = DateTime::<Utc>::from_timestamp(
                (x % 8_000_000_000) as i64,
                (x >> 40) as u32 % 1_000_000_000,
            )
            .unwrap();
            written.push(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
            written.push(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
        }
        for s in &written {
            assert_eq!(instant(s), general(s), "{s}");
        }
        assert!(utc_instant("2026-06-02T09:00:00.000Z").is_some());
        assert!(utc_instant("2016-12-31T23:59:60.000Z").is_none());
    }

    fn article(at: &str, direction: &str, event: &str) -> (String, String, String, String, String) {
        let f = format!("{at}-{direction}");
        (
            at.into(),
            direction.into(),
            event.into(),
            "normal".into(),
            f,
        )
    }

    #[test]
    fn what_counts_for_the_clocks() {
        let rows = SlaRows {
            number: "1".into(),
            queue: "Support".into(),
            open: true,
            created: "2026-06-02T09:00:00.000Z".into(),
            pending: Some("2026-06-03 12:00".into()),
            articles: vec![
                article("2026-06-02T09:00:00.000Z", "phone", "created"),
                article("2026-06-02T09:10:00.000Z", "agent", "note"),
                article("2026-06-02T09:20:00.000Z", "out", "answer"),
                article("2026-06-02T09:20:00.000Z", "agent", "answer"),
                article("2026-06-02T09:30:00.000Z", "in", "follow-up"),
            ],
            events: vec![
                (
                    "2026-06-02T09:40:00.000Z".into(),
                    "pending".into(),
                    "until 2026-06-03 12:00 by Alice Agent".into(),
                    Some("cmd:x:0".into()),
                ),
                (
                    "2026-06-02T09:50:00.000Z".into(),
                    "sla-warning".into(),
                    "…".into(),
                    Some("sla:update:1:warning".into()),
                ),
            ],
            ..Default::default()
        };
        let t = timeline(&rows);
        let kinds: Vec<Happening> = t.events.iter().map(|(_, h)| *h).collect();
        let until = pending_instant("2026-06-03 12:00").unwrap();
        assert_eq!(
            kinds,
            [
                Happening::Customer,
                Happening::Answer,
                Happening::Customer,
                Happening::Pending { until }
            ]
        );
        assert_eq!(t.pending, Some(until));
        assert_eq!(
            recorded(&rows).into_iter().collect::<Vec<_>>(),
            ["sla:update:1:warning"]
        );
        assert_eq!(
            pending_instant("2026-06-03"),
            pending_instant("2026-06-03 00:00")
        );
        assert!(pending_instant("tomorrow").is_none());
    }
}
