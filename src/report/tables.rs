//! The report's tables as rows of text, shared by the HTML and PDF renderings so that both
//! show the same figures in the same words.

use super::figures::{QueueFigures, Report};
use super::stats::{human, Stats};

pub struct Table {
    pub title: String,
    pub head: Vec<&'static str>,
    /// Which columns are numbers (set flush right).
    pub numeric: Vec<bool>,
    pub rows: Vec<Vec<String>>,
}

fn time(s: Option<i64>) -> String {
    s.map(human).unwrap_or_else(|| "–".into())
}

fn queue_name(q: &QueueFigures) -> String {
    if q.queue.is_empty() {
        "All queues".into()
    } else {
        q.queue.clone()
    }
}

fn all_queues(r: &Report) -> impl Iterator<Item = &QueueFigures> {
    r.per_queue.iter().chain(std::iter::once(&r.totals))
}

pub fn summary(r: &Report) -> Table {
    Table {
        title: "Per queue".into(),
        head: vec!["Queue", "Opened", "Closed", "Backlog at end"],
        numeric: vec![false, true, true, true],
        rows: all_queues(r)
            .map(|q| {
                vec![
                    queue_name(q),
                    q.opened.to_string(),
                    q.closed.to_string(),
                    q.backlog.to_string(),
                ]
            })
            .collect(),
    }
}

pub fn times(r: &Report) -> Table {
    let row = |q: &QueueFigures, what: &str, s: &Stats| {
        vec![
            queue_name(q),
            what.to_string(),
            s.count.to_string(),
            time(s.median_seconds),
            time(s.p90_seconds),
        ]
    };
    Table {
        title: format!("First response and solution times ({} hours)", r.hours),
        head: vec!["Queue", "Time", "Tickets", "Median", "90th percentile"],
        numeric: vec![false, false, true, true, true],
        rows: all_queues(r)
            .flat_map(|q| {
                [
                    row(q, "first response", &q.first_response),
                    row(q, "solution", &q.solution),
                ]
            })
            .collect(),
    }
}

pub fn distribution(r: &Report) -> Table {
    let t = &r.totals;
    Table {
        title: "Distribution (all queues)".into(),
        head: vec!["Time", "First responses", "Solutions"],
        numeric: vec![false, true, true],
        rows: t
            .first_response
            .distribution
            .iter()
            .zip(&t.solution.distribution)
            .map(|(a, b)| vec![a.label.clone(), a.count.to_string(), b.count.to_string()])
            .collect(),
    }
}

pub fn days(r: &Report) -> Table {
    let mut head = vec!["Day"];
    let mut numeric = vec![false];
    let queues: Vec<&QueueFigures> = if r.per_queue.len() > 1 {
        r.per_queue.iter().collect()
    } else {
        Vec::new()
    };
    head.extend(["Opened", "Closed", "Backlog"]);
    numeric.extend([true, true, true]);
    let mut rows = Vec::new();
    for (i, d) in r.totals.days.iter().enumerate() {
        let mut row = vec![
            d.date.to_string(),
            d.opened.to_string(),
            d.closed.to_string(),
            d.backlog.to_string(),
        ];
        if !queues.is_empty() {
            let per: Vec<String> = queues
                .iter()
                .map(|q| format!("{} {}/{}", q.queue, q.days[i].opened, q.days[i].closed))
                .collect();
            row.push(per.join(", "));
        }
        rows.push(row);
    }
    if !queues.is_empty() {
        head.push("Per queue (opened/closed)");
        numeric.push(false);
    }
    Table {
        title: "Per day (all queues)".into(),
        head,
        numeric,
        rows,
    }
}

pub fn longest(r: &Report) -> Table {
    Table {
        title: format!("The {} longest open tickets", super::figures::LONGEST),
        head: vec!["Ticket", "Queue", "Opened", "Open for", "Subject"],
        numeric: vec![false, false, false, true, false],
        rows: r
            .longest_open
            .iter()
            .map(|t| {
                vec![
                    t.number.clone(),
                    t.queue.clone(),
                    t.created.get(..16).unwrap_or(&t.created).replace('T', " "),
                    human(t.open_seconds),
                    t.subject.clone(),
                ]
            })
            .collect(),
    }
}

pub fn agents(r: &Report) -> Table {
    Table {
        title: "Per agent".into(),
        head: vec!["Agent", "Answers sent", "Tickets closed"],
        numeric: vec![false, true, true],
        rows: r
            .agents
            .iter()
            .map(|a| vec![a.agent.clone(), a.answers.to_string(), a.closed.to_string()])
            .collect(),
    }
}

pub fn sla(r: &Report) -> Table {
    Table {
        title: "Service levels (tickets opened in the period; late in business time)".into(),
        head: vec![
            "For",
            "Clock",
            "Met",
            "Breached",
            "Running",
            "Late, median",
            "Late, max",
        ],
        numeric: vec![false, false, true, true, true, true, true],
        rows: r
            .sla
            .iter()
            .map(|c| {
                let who = match c.by {
                    "all" => "All tickets".to_string(),
                    "queue" => format!("Queue {}", c.name),
                    _ => format!("Organisation {}", c.name),
                };
                vec![
                    who,
                    c.clock.to_string(),
                    c.met.to_string(),
                    c.breached.to_string(),
                    c.running.to_string(),
                    time(c.late_median_seconds),
                    time(c.late_max_seconds),
                ]
            })
            .collect(),
    }
}

/// Every table in the order reports show them, after the charts.
pub fn all(r: &Report) -> Vec<Table> {
    vec![
        summary(r),
        times(r),
        distribution(r),
        sla(r),
        longest(r),
        agents(r),
        days(r),
    ]
}
