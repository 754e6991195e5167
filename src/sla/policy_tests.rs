use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::*;

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 2, h, m, 0).unwrap()
}

fn sla() -> Sla {
    Sla {
        name: "gold".into(),
        calendar: "24/7".into(),
        first_response: Some(Duration::from_secs(3600)),
        update: Some(Duration::from_secs(2 * 3600)),
        solution: Some(Duration::from_secs(8 * 3600)),
        warning_percent: 80,
    }
}

fn opened() -> Timeline {
    Timeline {
        created: at(9, 0),
        open: true,
        events: vec![(at(9, 0), Happening::Customer)],
        pending: None,
    }
}

fn decide_at(t: &Timeline, recorded: &HashSet<String>, now: DateTime<Utc>) -> Decision {
    let cal = Calendar::always();
    decide(Some((&sla(), &cal)), t, recorded, now)
}

fn names(d: &Decision) -> Vec<String> {
    d.actions
        .iter()
        .map(|a| match a {
            Action::Warn(d) => format!("warn {}", d.clock.as_str()),
            Action::Breach(d) => format!("breach {}", d.clock.as_str()),
            Action::Met { deadline, unflag } => {
                format!("met {} {unflag}", deadline.clock.as_str())
            }
            Action::PendingOver { .. } => "pending over".into(),
        })
        .collect()
}

fn record(recorded: &mut HashSet<String>, d: &Decision) {
    for a in &d.actions {
        match a {
            Action::Warn(d) => recorded.insert(format!("{}:warning", d.key())),
            Action::Breach(d) => recorded.insert(format!("{}:breach", d.key())),
            Action::Met { deadline, .. } => recorded.insert(format!("{}:met", deadline.key())),
            Action::PendingOver { until } => recorded.insert(pending_key(*until)),
        };
    }
}

#[test]
fn warning_then_breach_each_once_then_met() {
    let t = opened();
    let mut rec = HashSet::new();
    let d = decide_at(&t, &rec, at(9, 10));
    assert!(d.actions.is_empty());
    // First response: warning at 80 % of an hour.
    assert_eq!(d.next, Some(at(9, 48)));
    let d = decide_at(&t, &rec, at(9, 48));
    assert_eq!(names(&d), ["warn first-response"]);
    assert_eq!(d.next, Some(at(10, 0)));
    record(&mut rec, &d);
    assert!(decide_at(&t, &rec, at(9, 50)).actions.is_empty());
    let d = decide_at(&t, &rec, at(10, 0));
    assert_eq!(names(&d), ["breach first-response"]);
    record(&mut rec, &d);
    let d = decide_at(&t, &rec, at(10, 30));
    assert!(d.actions.is_empty());
    // The solution clock's warning (80 % of 8 h) is next.
    assert_eq!(d.next, Some(at(9, 0) + chrono::Duration::minutes(384)));
    // The answer meets it: the flag goes, since no other run is escalated.
    let mut t = t;
    t.events.push((at(10, 40), Happening::Answer));
    let d = decide_at(&t, &rec, at(10, 41));
    assert_eq!(names(&d), ["met first-response true"]);
    record(&mut rec, &d);
    assert!(decide_at(&t, &rec, at(10, 42)).actions.is_empty());
}

#[test]
fn a_late_round_sends_warning_and_breach_in_order() {
    let d = decide_at(&opened(), &HashSet::new(), at(11, 0));
    assert_eq!(names(&d), ["warn first-response", "breach first-response"]);
}

#[test]
fn pending_stops_the_clock_until_its_time() {
    let mut t = opened();
    t.events
        .push((at(9, 30), Happening::Pending { until: at(12, 0) }));
    t.pending = Some(at(12, 0));
    // 30 minutes used before the pause; 18 more to the warning after it.
    let d = decide_at(&t, &HashSet::new(), at(10, 0));
    assert!(d.actions.is_empty());
    assert_eq!(d.next, Some(at(12, 0)));
    let dl = &deadlines(&sla(), &Calendar::always(), &t, at(10, 0))[0];
    assert!(dl.paused);
    assert_eq!(dl.used, Duration::from_secs(30 * 60));
    assert_eq!(dl.warn_at, at(12, 18));
    assert_eq!(dl.due, at(12, 30));
    // At its time the ticket is for working on again.
    let d = decide_at(&t, &HashSet::new(), at(12, 0));
    assert_eq!(names(&d), ["pending over"]);
}

#[test]
fn a_customer_message_ends_the_pause() {
    let mut t = opened();
    t.events
        .push((at(9, 30), Happening::Pending { until: at(18, 0) }));
    t.events.push((at(10, 0), Happening::Customer));
    let dl = &deadlines(&sla(), &Calendar::always(), &t, at(10, 30))[0];
    assert!(!dl.paused);
    assert_eq!(dl.used, Duration::from_secs(60 * 60));
    assert_eq!(dl.due, at(10, 30));
}

#[test]
fn update_clock_runs_from_the_unanswered_message_and_a_reopen() {
    let mut t = opened();
    t.events.push((at(9, 20), Happening::Answer));
    t.events.push((at(10, 0), Happening::Customer));
    t.events.push((at(10, 5), Happening::Customer));
    let all = deadlines(&sla(), &Calendar::always(), &t, at(10, 30));
    let update: Vec<_> = all.iter().filter(|d| d.clock == Clock::Update).collect();
    assert_eq!(update.len(), 1);
    assert_eq!(update[0].start, at(10, 0));
    assert_eq!(update[0].due, at(12, 0));
    // Answered, closed, reopened: a new run from the reopening.
    t.events.push((at(10, 40), Happening::Answer));
    t.events.push((at(11, 0), Happening::Closed));
    t.events.push((at(13, 0), Happening::Reopened));
    let all = deadlines(&sla(), &Calendar::always(), &t, at(13, 30));
    let update: Vec<_> = all.iter().filter(|d| d.clock == Clock::Update).collect();
    assert_eq!(update.len(), 2);
    assert_eq!(update[0].stopped, Some(at(10, 40)));
    assert_eq!(update[1].start, at(13, 0));
    assert_eq!(update[1].stopped, None);
    // The solution clock did not run while it was closed: 2 h + 0.5 h.
    let solution = all.iter().find(|d| d.clock == Clock::Solution).unwrap();
    assert_eq!(solution.used, Duration::from_secs(150 * 60));
}

#[test]
fn closing_stops_every_clock_and_ends_escalations() {
    let mut t = opened();
    let mut rec = HashSet::new();
    let d = decide_at(&t, &rec, at(10, 0));
    record(&mut rec, &d);
    t.open = false;
    t.events.push((at(10, 10), Happening::Closed));
    let d = decide_at(&t, &rec, at(20, 0));
    assert_eq!(names(&d), ["met first-response true"]);
    assert_eq!(d.next, None);
}

#[test]
fn met_keeps_the_flag_while_another_run_is_escalated() {
    let mut t = opened();
    let mut rec = HashSet::new();
    // At 16:00 both first response and solution are late.
    let d = decide_at(&t, &rec, at(17, 0));
    assert_eq!(
        names(&d),
        [
            "warn first-response",
            "breach first-response",
            "warn solution",
            "breach solution"
        ]
    );
    record(&mut rec, &d);
    t.events.push((at(17, 10), Happening::Answer));
    let d = decide_at(&t, &rec, at(17, 11));
    assert_eq!(names(&d), ["met first-response false"]);
}

#[test]
fn business_hours_move_the_due_time() {
    let cal = crate::sla::Calendar::new(
        "office",
        chrono_tz::UTC,
        std::array::from_fn(|i| {
            if i < 5 {
                vec![crate::sla::config::parse_range("08:00-16:00").unwrap()]
            } else {
                vec![]
            }
        }),
        Default::default(),
    )
    .unwrap();
    let mut t = opened();
    t.created = at(15, 30);
    t.events = vec![(at(15, 30), Happening::Customer)];
    let d = decide(Some((&sla(), &cal)), &t, &HashSet::new(), at(15, 31));
    // 48 minutes: 30 today, 18 tomorrow morning.
    assert_eq!(d.next, Some(at(8, 18) + chrono::Duration::days(1)));
}
