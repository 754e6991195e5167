//! Deadlines and what to do about them, without I/O: a ticket's history as a `Timeline`, its
//! service level and calendar, and the escalations already recorded go in; its deadlines, the
//! actions due now and the next time anything is due come out.
//!
//! Three clocks run in business time on the service level's calendar:
//! - **first response**: from the ticket's opening to the first answer an agent sent to the
//!   customer (a note is none);
//! - **update**: once answered, from the customer's first message that no answer followed yet
//!   (or from a reopening) to the next answer; each such run is a cycle of its own;
//! - **solution**: from the opening until the ticket is closed.
//!
//! No clock runs while the ticket is closed or pending (`#pending UNTIL`, until then, or until
//! the customer writes again). Closing stops every clock. Each cycle's warning (at the service
//! level's percentage of its time) and breach happen once: their keys (`sla:CLOCK:CYCLE:warning`)
//! are recorded in the ticket's history and passed back in as `recorded`.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Calendar;

/// A service level: targets per clock in business time on a calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sla {
    pub name: String,
    /// A calendar's name (`24/7` for every hour of every day).
    pub calendar: String,
    pub first_response: Option<Duration>,
    pub update: Option<Duration>,
    pub solution: Option<Duration>,
    /// The warning comes when this share (percent, 1-99) of a clock's time is used.
    pub warning_percent: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Clock {
    FirstResponse,
    Update,
    Solution,
}

impl Clock {
    pub fn as_str(self) -> &'static str {
        match self {
            Clock::FirstResponse => "first-response",
            Clock::Update => "update",
            Clock::Solution => "solution",
        }
    }
}

/// What happened to a ticket, as far as deadlines care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Happening {
    /// A message from the customer.
    Customer,
    /// An agent's answer sent to the customer.
    Answer,
    Closed,
    Reopened,
    /// `#pending UNTIL` was set.
    Pending {
        until: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, Default)]
pub struct Timeline {
    pub created: DateTime<Utc>,
    pub open: bool,
    /// In the order they happened.
    pub events: Vec<(DateTime<Utc>, Happening)>,
    /// The ticket's pending time as it is now, if any.
    pub pending: Option<DateTime<Utc>>,
}

/// One run of a clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    pub clock: Clock,
    /// When it started: with the clock, what identifies this run in the history's keys.
    pub start: DateTime<Utc>,
    pub target: Duration,
    pub warn_at: DateTime<Utc>,
    pub due: DateTime<Utc>,
    /// When it was met (answered, closed) or stopped (closed for the other clocks).
    pub stopped: Option<DateTime<Utc>>,
    /// Business time used until now or until it stopped.
    pub used: Duration,
    /// Not running now: the ticket is pending or closed.
    pub paused: bool,
}

impl Deadline {
    /// `sla:CLOCK:CYCLE`, the prefix of this run's keys.
    pub fn key(&self) -> String {
        format!("sla:{}:{}", self.clock.as_str(), self.start.timestamp())
    }

    /// Business time left before the breach (zero once breached).
    pub fn left(&self) -> Duration {
        self.target.saturating_sub(self.used)
    }

    /// Business time past the breach (zero before it).
    pub fn late(&self) -> Duration {
        self.used.saturating_sub(self.target)
    }

    pub fn breached(&self) -> bool {
        self.used >= self.target
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Warn(Deadline),
    Breach(Deadline),
    /// A run that was escalated is over; `unflag` when no other run of the ticket still is.
    Met {
        deadline: Deadline,
        unflag: bool,
    },
    /// The pending time has come: the ticket is for working on again and its owner reminded.
    PendingOver {
        until: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    pub actions: Vec<Action>,
    /// When to look at the ticket again; `None`: only when something happens to it.
    pub next: Option<DateTime<Utc>>,
}

/// Time ranges in which no clock runs, sorted and merged.
fn pauses(t: &Timeline) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out = Vec::new();
    for (i, (at, h)) in t.events.iter().enumerate() {
        let later = &t.events[i + 1..];
        match h {
            Happening::Closed => {
                let end = later
                    .iter()
                    .find(|(_, h)| *h == Happening::Reopened)
                    .map_or(DateTime::<Utc>::MAX_UTC, |(r, _)| *r);
                out.push((*at, end));
            }
            Happening::Pending { until } => {
                // Over at its time, when the customer writes, or when another #pending replaces it.
                let cut = later
                    .iter()
                    .find(|(_, h)| matches!(h, Happening::Customer | Happening::Pending { .. }))
                    .map_or(*until, |(c, _)| (*c).min(*until));
                if cut > *at {
                    out.push((*at, cut));
                }
            }
            _ => {}
        }
    }
    out.sort();
    let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for (a, b) in out {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
}

/// Business time from `start` to `end` outside the pauses.
fn used(
    cal: &Calendar,
    pauses: &[(DateTime<Utc>, DateTime<Utc>)],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Duration {
    let mut total = cal.business_between(start, end);
    for (a, b) in pauses {
        let (a, b) = ((*a).max(start), (*b).min(end));
        if a < b {
            total = total.saturating_sub(cal.business_between(a, b));
        }
    }
    total
}

/// The instant at which `target` of business time outside the pauses has passed since `start`.
fn reach(
    cal: &Calendar,
    pauses: &[(DateTime<Utc>, DateTime<Utc>)],
    start: DateTime<Utc>,
    target: Duration,
) -> DateTime<Utc> {
    let (mut t, mut left) = (start, target);
    for (a, b) in pauses {
        if *b <= t {
            continue;
        }
        let a = (*a).max(t);
        let candidate = cal.add_business(t, left);
        if candidate <= a {
            return candidate;
        }
        left = left.saturating_sub(cal.business_between(t, a));
        if *b == DateTime::<Utc>::MAX_UTC {
            return *b;
        }
        t = *b;
    }
    cal.add_business(t, left)
}

#[allow(clippy::too_many_arguments)]
fn deadline(
    cal: &Calendar,
    pauses: &[(DateTime<Utc>, DateTime<Utc>)],
    sla: &Sla,
    clock: Clock,
    start: DateTime<Utc>,
    target: Duration,
    stopped: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Deadline {
    let end = stopped.map_or(now, |s| s.min(now));
    let warn = target.mul_f64(f64::from(sla.warning_percent) / 100.0);
    Deadline {
        clock,
        start,
        target,
        warn_at: reach(cal, pauses, start, warn),
        due: reach(cal, pauses, start, target),
        stopped,
        used: used(cal, pauses, start, end),
        paused: pauses.iter().any(|(a, b)| *a <= now && now < *b),
    }
}

/// Every run of every clock the service level has, oldest first per clock.
pub fn deadlines(sla: &Sla, cal: &Calendar, t: &Timeline, now: DateTime<Utc>) -> Vec<Deadline> {
    let p = pauses(t);
    let mut out = Vec::new();
    let answers: Vec<DateTime<Utc>> = t
        .events
        .iter()
        .filter(|(_, h)| *h == Happening::Answer)
        .map(|(at, _)| *at)
        .collect();
    if let Some(target) = sla.first_response {
        let stopped = answers.first().copied();
        out.push(deadline(
            cal,
            &p,
            sla,
            Clock::FirstResponse,
            t.created,
            target,
            stopped,
            now,
        ));
    }
    if let Some(target) = sla.update {
        let mut answered = false;
        let mut running: Option<DateTime<Utc>> = None;
        for (at, h) in &t.events {
            match h {
                Happening::Answer => {
                    if let Some(start) = running.take() {
                        out.push(deadline(
                            cal,
                            &p,
                            sla,
                            Clock::Update,
                            start,
                            target,
                            Some(*at),
                            now,
                        ));
                    }
                    answered = true;
                }
                Happening::Customer | Happening::Reopened if answered && running.is_none() => {
                    running = Some(*at);
                }
                _ => {}
            }
        }
        if let Some(start) = running {
            out.push(deadline(
                cal,
                &p,
                sla,
                Clock::Update,
                start,
                target,
                None,
                now,
            ));
        }
    }
    if let Some(target) = sla.solution {
        let closed = t
            .events
            .iter()
            .rev()
            .find(|(_, h)| *h == Happening::Closed)
            .map(|(at, _)| *at);
        let stopped = if t.open { None } else { closed };
        out.push(deadline(
            cal,
            &p,
            sla,
            Clock::Solution,
            t.created,
            target,
            stopped,
            now,
        ));
    }
    out
}

/// What is due now for a ticket, and when it must be looked at again.
pub fn decide(
    sla: Option<(&Sla, &Calendar)>,
    t: &Timeline,
    recorded: &HashSet<String>,
    now: DateTime<Utc>,
) -> Decision {
    let mut d = Decision::default();
    let next = |at: DateTime<Utc>, d: &mut Decision| {
        d.next = Some(d.next.map_or(at, |n| n.min(at)));
    };
    if t.open {
        if let Some(until) = t.pending {
            let key = pending_key(until);
            if until <= now && !recorded.contains(&key) {
                d.actions.push(Action::PendingOver { until });
            } else if until > now {
                next(until, &mut d);
            }
        }
    }
    let Some((sla, cal)) = sla else { return d };
    let all = deadlines(sla, cal, t, now);
    let has = |dl: &Deadline, level: &str| recorded.contains(&format!("{}:{level}", dl.key()));
    let mut escalated_running = false;
    let mut over = Vec::new();
    for dl in all {
        let escalated = has(&dl, "warning") || has(&dl, "breach");
        if dl.stopped.is_some() || !t.open {
            if escalated && !has(&dl, "met") {
                over.push(dl);
            }
            continue;
        }
        let warn_now = now >= dl.warn_at && !has(&dl, "warning");
        let breach_now = now >= dl.due && !has(&dl, "breach");
        if warn_now {
            d.actions.push(Action::Warn(dl.clone()));
        }
        if breach_now {
            d.actions.push(Action::Breach(dl.clone()));
        }
        escalated_running |= escalated || warn_now || breach_now;
        if now < dl.warn_at {
            next(dl.warn_at, &mut d);
        } else if now < dl.due {
            next(dl.due, &mut d);
        }
    }
    for dl in over {
        d.actions.push(Action::Met {
            deadline: dl,
            unflag: !escalated_running,
        });
    }
    if d.next == Some(DateTime::<Utc>::MAX_UTC) {
        d.next = None;
    }
    d
}

/// The key of the reminder for a pending time.
pub fn pending_key(until: DateTime<Utc>) -> String {
    format!("pending:{}", until.timestamp())
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
