//! Unit tests of the report's figures: the backlog by day, durations in a queue's calendar, the
//! queues asked for, the longest open tickets, service levels and agents.

use super::*;

fn period() -> Period {
    Period::parse(Some("2026-12-01"), Some("2026-12-03"), NaiveDate::MAX).unwrap()
}

fn ticket<'a>(number: &'a str, created: &'a str) -> TicketFacts<'a> {
    TicketFacts {
        number,
        queue: "Support",
        organisation: None,
        subject: "s",
        created,
        first_answer: None,
        first_close: None,
        open_at_end: true,
    }
}

fn change<'a>(at: &'a str, event: &'a str, detail: &'a str) -> Change<'a> {
    Change {
        ticket: "1",
        queue: "Support",
        organisation: None,
        at,
        event,
        detail,
    }
}

#[test]
fn backlog_counts_opens_closes_and_reopens_by_day() {
    let now = hours::parse("2026-12-10T00:00:00.000Z").unwrap();
    let mut f = Figures::new(period(), &[], Hours::always(), now);
    f.add_ticket(&ticket("1", "2026-11-30T10:00:00.000Z"));
    f.add_ticket(&TicketFacts {
        first_answer: Some("2026-12-01T11:00:00.000Z"),
        first_close: Some("2026-12-02T10:00:00.000Z"),
        open_at_end: false,
        ..ticket("2", "2026-12-01T10:00:00.000Z")
    });
    f.add_ticket(&ticket("3", "2026-12-04T10:00:00.000Z"));
    f.add_change(&change(
        "2026-12-01T11:00:00.000Z",
        "answer",
        "by a@x.example",
    ));
    f.add_change(&change(
        "2026-12-02T10:00:00.000Z",
        "closed",
        "by b@x.example",
    ));
    f.add_change(&change(
        "2026-12-03T10:00:00.000Z",
        "reopened",
        "by a follow-up",
    ));
    f.add_change(&change("2026-12-03T12:00:00.000Z", "closed", "by cli"));
    let r = f.finish("now");
    let t = &r.totals;
    assert_eq!((t.opened, t.closed, t.backlog), (1, 2, 1));
    let b: Vec<i64> = t.days.iter().map(|d| d.backlog).collect();
    assert_eq!(b, vec![2, 1, 1]);
    assert_eq!(t.first_response.median_seconds, Some(3600));
    assert_eq!(t.solution.median_seconds, Some(86_400));
    assert_eq!(r.longest_open.len(), 1);
    assert_eq!(r.longest_open[0].number, "1");
    // Open from creation until the end of the period.
    assert_eq!(r.longest_open[0].open_seconds, 3 * 86_400 + 14 * 3600);
    let agents: Vec<(&str, u64, u64)> = r
        .agents
        .iter()
        .map(|a| (a.agent.as_str(), a.answers, a.closed))
        .collect();
    assert_eq!(
        agents,
        vec![("a@x.example", 1, 0), ("b@x.example", 0, 1), ("cli", 0, 1)]
    );
}

/// Durations count the queue's business hours: a ticket opened on Friday at 16:00 and
/// answered on Monday at 10:00 in a queue open 09:00-17:00 on weekdays (UTC) waited 2 h.
#[test]
fn durations_count_the_queues_calendar() {
    let day = vec![crate::sla::config::parse_range("09:00-17:00").unwrap()];
    let week = [
        day.clone(),
        day.clone(),
        day.clone(),
        day.clone(),
        day,
        vec![],
        vec![],
    ];
    let holidays = crate::sla::holidays::Holidays::from_dates(&[]).unwrap();
    let office = crate::sla::Calendar::new("office", chrono_tz::UTC, week, holidays).unwrap();
    let hours = Hours::new(vec![("support".into(), office)]);
    assert_eq!(hours.kind(), "business");
    let now = hours::parse("2026-12-10T00:00:00.000Z").unwrap();
    let p = Period::parse(Some("2026-12-04"), Some("2026-12-07"), NaiveDate::MAX).unwrap();
    let mut f = Figures::new(p, &[], hours, now);
    f.add_ticket(&TicketFacts {
        first_answer: Some("2026-12-07T10:00:00.000Z"),
        ..ticket("1", "2026-12-04T16:00:00.000Z")
    });
    f.add_ticket(&TicketFacts {
        queue: "Billing",
        first_answer: Some("2026-12-07T10:00:00.000Z"),
        ..ticket("2", "2026-12-04T16:00:00.000Z")
    });
    let r = f.finish("now");
    assert_eq!(r.hours, "business");
    let support = &r.per_queue[1];
    assert_eq!(support.queue, "Support");
    assert_eq!(support.first_response.median_seconds, Some(2 * 3600));
    // A queue without a calendar counts every second.
    assert_eq!(
        r.per_queue[0].first_response.median_seconds,
        Some(66 * 3600)
    );
}

#[test]
fn only_the_queues_asked_for() {
    let now = hours::parse("2026-12-10T00:00:00.000Z").unwrap();
    let mut f = Figures::new(
        period(),
        &["billing".into(), "Sales".into()],
        Hours::always(),
        now,
    );
    f.add_ticket(&ticket("1", "2026-12-01T10:00:00.000Z"));
    f.add_ticket(&TicketFacts {
        queue: "Billing",
        ..ticket("2", "2026-12-01T10:00:00.000Z")
    });
    let r = f.finish("now");
    assert_eq!(r.queues, vec!["Billing", "Sales"]);
    assert_eq!(r.totals.opened, 1);
}

#[test]
fn ten_longest_open_oldest_first() {
    let now = hours::parse("2026-12-10T00:00:00.000Z").unwrap();
    let mut f = Figures::new(period(), &[], Hours::always(), now);
    let created: Vec<String> = (0..15)
        .map(|i| format!("2026-11-{:02}T10:00:00.000Z", 20 - i % 15))
        .collect();
    for (i, c) in created.iter().enumerate() {
        let n = i.to_string();
        f.add_ticket(&ticket(&n, c));
    }
    let r = f.finish("now");
    let firsts: Vec<&str> = r.longest_open.iter().map(|t| &t.created[..10]).collect();
    assert_eq!(r.longest_open.len(), LONGEST);
    assert_eq!(firsts[0], "2026-11-06");
    assert_eq!(firsts[9], "2026-11-15");
}

/// Deadlines count as met, late (with how late) or running, per queue, organisation and
/// over all.
#[test]
fn service_levels_met_late_and_running() {
    use crate::sla::policy::{Clock, Deadline};
    use std::time::Duration;
    let now = hours::parse("2026-12-10T00:00:00.000Z").unwrap();
    let t = now;
    let dl = |clock, used: u64, stopped: bool| Deadline {
        clock,
        start: t,
        target: Duration::from_secs(3600),
        warn_at: t,
        due: t,
        stopped: stopped.then_some(t),
        used: Duration::from_secs(used),
        paused: false,
    };
    let mut f = Figures::new(period(), &[], Hours::always(), now);
    f.add_deadlines(
        "Support",
        Some("acme"),
        &[
            dl(Clock::FirstResponse, 600, true),
            dl(Clock::Solution, 7200, false),
        ],
    );
    f.add_deadlines("Support", None, &[dl(Clock::FirstResponse, 4200, true)]);
    f.add_deadlines("Billing", None, &[dl(Clock::FirstResponse, 60, false)]);
    let r = f.finish("now");
    let row = |by: &str, name: &str, clock: &str| {
        let c = r
            .sla
            .iter()
            .find(|c| c.by == by && c.name == name && c.clock == clock)
            .unwrap();
        (
            c.met,
            c.breached,
            c.running,
            c.late_median_seconds,
            c.late_max_seconds,
        )
    };
    assert_eq!(
        row("all", "", "first-response"),
        (1, 1, 1, Some(600), Some(600))
    );
    assert_eq!(
        row("queue", "Support", "first-response"),
        (1, 1, 0, Some(600), Some(600))
    );
    assert_eq!(
        row("queue", "Support", "solution"),
        (0, 1, 0, Some(3600), Some(3600))
    );
    assert_eq!(
        row("organisation", "acme", "first-response"),
        (1, 0, 0, None, None)
    );
    assert_eq!(
        row("organisation", "-", "first-response"),
        (0, 1, 1, Some(600), Some(600))
    );
}

#[test]
fn agents_are_named_by_the_event() {
    assert_eq!(agent("by alice@example.org"), "alice@example.org");
    assert_eq!(agent("by Alice (mail command)"), "Alice");
    assert_eq!(agent(""), "unknown");
}
