//! The figures of a report, computed from the index's rows without I/O: tickets opened and
//! closed per day and queue, the backlog at the end of each day, first-response and solution
//! times, the longest open tickets and what each agent did.
//!
//! Definitions (the README states them for readers):
//! - a ticket counts for the queue it is in now;
//! - opened: its creation falls in the period; closed: each close in the period;
//! - backlog at the end of a day: tickets opened by then, less closes, plus reopens by then;
//! - first response: creation to the first agent's answer, for tickets first answered in the
//!   period; solution: creation to the first close, for tickets first closed in the period;
//! - open at the end: the ticket's last close or reopen before the period's end was no close;
//! - an agent: whom an `answer` or `closed` event names (`by …`).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::hours::{self, Hours};
use super::period::Period;
use super::stats::{summarise, Stats};
use crate::index::{Change, TicketFacts};
use crate::sla::policy::Deadline;

/// How many of the longest open tickets a report lists.
pub const LONGEST: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub period: Period,
    /// When it was made (UTC).
    pub generated: String,
    /// The queues it covers, alphabetically.
    pub queues: Vec<String>,
    /// Which hours durations count: `wall-clock` or `business`.
    pub hours: &'static str,
    /// The totals over its queues.
    pub totals: QueueFigures,
    pub per_queue: Vec<QueueFigures>,
    pub longest_open: Vec<OpenTicket>,
    pub agents: Vec<AgentFigures>,
    /// Service-level compliance of the tickets opened in the period, per queue, per
    /// organisation and over all, each clock on a row of its own; empty without service levels.
    pub sla: Vec<Compliance>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Compliance {
    /// `all`, `queue` or `organisation`.
    pub by: &'static str,
    /// The queue's name or the organisation's id (`-`: none known); empty for `all`.
    pub name: String,
    /// `first-response`, `update` or `solution`.
    pub clock: &'static str,
    /// Met in time.
    pub met: u64,
    /// Late: met late, or still running past the due time.
    pub breached: u64,
    /// Still running (or paused) and not due yet.
    pub running: u64,
    /// How late the late ones were, in business time.
    pub late_median_seconds: Option<i64>,
    pub late_max_seconds: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueFigures {
    /// The queue's name; empty for the totals.
    pub queue: String,
    pub opened: u64,
    pub closed: u64,
    /// At the end of the period.
    pub backlog: i64,
    pub days: Vec<Day>,
    pub first_response: Stats,
    pub solution: Stats,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Day {
    pub date: NaiveDate,
    pub opened: u64,
    pub closed: u64,
    /// Open tickets at the end of the day.
    pub backlog: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenTicket {
    pub number: String,
    pub queue: String,
    pub subject: String,
    pub created: String,
    /// Open until the period's end (or now, for a period not over yet).
    pub open_seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentFigures {
    pub agent: String,
    pub answers: u64,
    pub closed: u64,
}

/// Collects rows; `finish` gives the report.
pub struct Figures {
    period: Period,
    start: String,
    end: String,
    /// Open times are measured up to here.
    until: DateTime<Utc>,
    hours: Hours,
    /// Lower-cased queue names asked for; empty: all.
    wanted: Vec<String>,
    asked: Vec<String>,
    queues: BTreeMap<String, Acc>,
    longest: Vec<OpenTicket>,
    agents: BTreeMap<String, (u64, u64)>,
    /// Service-level compliance over all, by queue and by organisation: by name, then clock.
    sla: [BTreeMap<String, BTreeMap<&'static str, SlaAcc>>; 3],
}

#[derive(Default)]
struct SlaAcc {
    met: u64,
    running: u64,
    late: Vec<i64>,
}

#[derive(Default)]
struct Acc {
    /// Open tickets when the period starts.
    base: i64,
    opened: Vec<u64>,
    closed: Vec<u64>,
    /// The backlog's change on each day.
    delta: Vec<i64>,
    first_response: Vec<i64>,
    solution: Vec<i64>,
}

impl Figures {
    /// `queues`: the queues to report (any spelling of their names); empty for all. `now`:
    /// when the report is made.
    pub fn new(period: Period, queues: &[String], hours: Hours, now: DateTime<Utc>) -> Figures {
        let end = period.end();
        let until = hours::parse(&end).map_or(now, |e| e.min(now));
        Figures {
            start: period.start(),
            end,
            until,
            hours,
            wanted: queues.iter().map(|q| q.to_lowercase()).collect(),
            asked: queues.to_vec(),
            period,
            queues: BTreeMap::new(),
            longest: Vec::new(),
            agents: BTreeMap::new(),
            sla: Default::default(),
        }
    }

    /// Whether tickets of `queue` count in this report.
    pub fn covers(&self, queue: &str) -> bool {
        self.wanted(queue)
    }

    /// Open times and deadlines are measured up to here: the period's end, or now.
    pub fn until(&self) -> DateTime<Utc> {
        self.until
    }

    /// The deadlines of a ticket opened in the period, as `sla::due::shown` gives them.
    pub fn add_deadlines(
        &mut self,
        queue: &str,
        organisation: Option<&str>,
        deadlines: &[Deadline],
    ) {
        if !self.wanted(queue) {
            return;
        }
        let org = organisation.unwrap_or("-");
        for d in deadlines {
            for (by, name) in self.sla.iter_mut().zip(["", queue, org]) {
                // Names repeat for most tickets: allocate only for a new one.
                if !by.contains_key(name) {
                    by.insert(name.to_string(), BTreeMap::new());
                }
                let Some(clocks) = by.get_mut(name) else {
                    continue;
                };
                let acc = clocks.entry(d.clock.as_str()).or_default();
                if d.breached() {
                    acc.late.push(d.late().as_secs() as i64);
                } else if d.stopped.is_some() {
                    acc.met += 1;
                } else {
                    acc.running += 1;
                }
            }
        }
    }

    fn wanted(&self, queue: &str) -> bool {
        self.wanted.is_empty() || self.wanted.contains(&queue.to_lowercase())
    }

    fn acc(&mut self, queue: &str) -> &mut Acc {
        let days = self.period.days_count();
        self.queues.entry(queue.to_string()).or_insert_with(|| Acc {
            opened: vec![0; days],
            closed: vec![0; days],
            delta: vec![0; days],
            ..Acc::default()
        })
    }

    /// The day of the period `at` falls on; `None` before or after it.
    fn day(&self, at: &str) -> Option<usize> {
        if at < self.start.as_str() || at >= self.end.as_str() {
            return None;
        }
        let date = NaiveDate::parse_from_str(at.get(..10)?, "%Y-%m-%d").ok()?;
        Some((date - self.period.from).num_days() as usize)
    }

    fn in_period(&self, at: &str) -> bool {
        at >= self.start.as_str() && at < self.end.as_str()
    }

    pub fn add_ticket(&mut self, t: &TicketFacts) {
        if !self.wanted(t.queue) || t.created >= self.end.as_str() {
            return;
        }
        let day = self.day(t.created);
        let before = t.created < self.start.as_str();
        let created = hours::parse(t.created);
        let response = match (created, t.first_answer) {
            (Some(c), Some(a)) if self.in_period(a) => {
                hours::parse(a).map(|a| self.hours.between(t.queue, c, a))
            }
            _ => None,
        };
        let solution = match (created, t.first_close) {
            (Some(c), Some(a)) if self.in_period(a) => {
                hours::parse(a).map(|a| self.hours.between(t.queue, c, a))
            }
            _ => None,
        };
        if t.open_at_end {
            if let Some(c) = created {
                self.keep_longest(OpenTicket {
                    number: t.number.to_string(),
                    queue: t.queue.to_string(),
                    subject: t.subject.to_string(),
                    created: t.created.to_string(),
                    open_seconds: self.hours.between(t.queue, c, self.until),
                });
            }
        }
        let acc = self.acc(t.queue);
        if before {
            acc.base += 1;
        } else if let Some(i) = day {
            acc.opened[i] += 1;
            acc.delta[i] += 1;
        }
        acc.first_response.extend(response);
        acc.solution.extend(solution);
    }

    /// Keeps the `LONGEST` tickets opened first (ties: by number).
    fn keep_longest(&mut self, t: OpenTicket) {
        let key = |o: &OpenTicket| (o.created.clone(), o.number.clone());
        if self.longest.len() == LONGEST {
            let last = &self.longest[LONGEST - 1];
            if key(&t) >= key(last) {
                return;
            }
            self.longest.pop();
        }
        let at = self.longest.partition_point(|o| key(o) < key(&t));
        self.longest.insert(at, t);
    }

    pub fn add_change(&mut self, c: &Change) {
        if !self.wanted(c.queue) || c.at >= self.end.as_str() {
            return;
        }
        let before = c.at < self.start.as_str();
        let day = self.day(c.at);
        let change = match c.event {
            "closed" => -1,
            "reopened" => 1,
            _ => 0,
        };
        if change != 0 {
            let acc = self.acc(c.queue);
            if before {
                acc.base += change;
            } else if let Some(i) = day {
                acc.delta[i] += change;
                if change < 0 {
                    acc.closed[i] += 1;
                }
            }
        }
        if day.is_some() && matches!(c.event, "answer" | "closed") {
            let a = self.agents.entry(agent(c.detail)).or_default();
            if c.event == "answer" {
                a.0 += 1;
            } else {
                a.1 += 1;
            }
        }
    }

    pub fn finish(mut self, generated: &str) -> Report {
        for q in self.asked.clone() {
            if !self.queues.keys().any(|k| k.eq_ignore_ascii_case(&q)) {
                self.acc(&q);
            }
        }
        let days: Vec<NaiveDate> = self.period.days().collect();
        let mut total = Acc {
            opened: vec![0; days.len()],
            closed: vec![0; days.len()],
            delta: vec![0; days.len()],
            ..Acc::default()
        };
        let mut per_queue = Vec::new();
        for (name, acc) in std::mem::take(&mut self.queues) {
            total.base += acc.base;
            for i in 0..days.len() {
                total.opened[i] += acc.opened[i];
                total.closed[i] += acc.closed[i];
                total.delta[i] += acc.delta[i];
            }
            total.first_response.extend_from_slice(&acc.first_response);
            total.solution.extend_from_slice(&acc.solution);
            per_queue.push(queue_figures(name, acc, &days));
        }
        let sla = std::mem::take(&mut self.sla)
            .into_iter()
            .zip(["all", "queue", "organisation"])
            .flat_map(|(names, by)| {
                names.into_iter().flat_map(move |(name, clocks)| {
                    clocks.into_iter().map(move |(clock, mut acc)| {
                        acc.late.sort_unstable();
                        Compliance {
                            by,
                            name: name.clone(),
                            clock,
                            met: acc.met,
                            breached: acc.late.len() as u64,
                            running: acc.running,
                            late_median_seconds: super::stats::percentile(&acc.late, 50),
                            late_max_seconds: acc.late.last().copied(),
                        }
                    })
                })
            })
            .collect();
        Report {
            sla,
            period: self.period,
            generated: generated.to_string(),
            queues: per_queue.iter().map(|q| q.queue.clone()).collect(),
            hours: self.hours.kind(),
            totals: queue_figures(String::new(), total, &days),
            per_queue,
            longest_open: self.longest,
            agents: self
                .agents
                .into_iter()
                .map(|(agent, (answers, closed))| AgentFigures {
                    agent,
                    answers,
                    closed,
                })
                .collect(),
        }
    }
}

fn queue_figures(queue: String, acc: Acc, dates: &[NaiveDate]) -> QueueFigures {
    let mut backlog = acc.base;
    let days: Vec<Day> = dates
        .iter()
        .enumerate()
        .map(|(i, &date)| {
            backlog += acc.delta[i];
            Day {
                date,
                opened: acc.opened[i],
                closed: acc.closed[i],
                backlog,
            }
        })
        .collect();
    QueueFigures {
        queue,
        opened: acc.opened.iter().sum(),
        closed: acc.closed.iter().sum(),
        backlog,
        days,
        first_response: summarise(acc.first_response),
        solution: summarise(acc.solution),
    }
}

/// Whom an event's detail names: `by alice@example.org` → `alice@example.org`, `by Alice
/// (mail command)` → `Alice`.
pub fn agent(detail: &str) -> String {
    let who = detail.strip_prefix("by ").unwrap_or(detail);
    let who = who.split(" (").next().unwrap_or(who).trim();
    if who.is_empty() {
        "unknown".into()
    } else {
        who.to_string()
    }
}

#[cfg(test)]
#[path = "figures_tests.rs"]
mod tests;
