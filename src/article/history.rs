//! Ticket history, derived so that the index and `reindex` agree: events that come with an
//! article follow from its trace headers (`article_events`); the others (duplicates, rejects,
//! close/reopen/move) are lines in the ticket folder's event log (`postdesk-history`), one JSON
//! object per line, appended after the change they record is committed.

use std::fs::OpenOptions;
use std::io::{self, BufRead, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::index::Event;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryLine {
    pub at: String,
    pub event: String,
    pub detail: String,
    /// Identifies the occurrence: a replay after a crash may append the same line again, and
    /// readers keep the last line per key.
    pub key: String,
    /// The new value of a ticket attribute (owner, priority, pending) the event set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// The events one filed article records on its ticket.
pub fn article_events(
    ticket: &str,
    at: &str,
    event: &str,
    from: &str,
    refers: Option<(&str, &str)>,
    stranger: bool,
) -> Vec<Event> {
    let ev = |event: &str, detail: String| Event {
        ticket: ticket.into(),
        at: at.into(),
        event: event.into(),
        detail,
    };
    let mut out = Vec::new();
    match event {
        "created" => out.push(ev("created", format!("from {from}"))),
        "reopened" => out.push(ev("reopened", format!("by a follow-up from {from}"))),
        "follow-up-closed" => out.push(ev(
            "follow-up",
            format!("from {from}; automatic, ticket stays closed"),
        )),
        "fax-rendition" => out.push(ev("fax-rendition", "the fax as PDF".into())),
        _ => out.push(ev("follow-up", format!("from {from}"))),
    }
    match refers {
        Some((n, "stranger")) => out.push(ev(
            "suspected-stranger",
            format!("{from} referred to ticket {n} but is not a participant"),
        )),
        Some((n, "closed")) => out.push(ev("linked", format!("follow-up to closed ticket {n}"))),
        Some((n, _)) => out.push(ev(
            "linked",
            format!("subject named ticket {n}, which does not exist"),
        )),
        None => {}
    }
    if stranger {
        out.push(ev(
            "suspected-stranger",
            format!("accepted and marked: {from} is not a participant"),
        ));
    }
    out
}

/// Splits an `X-Postdesk-Refers` value `NUMBER; why`.
pub fn split_refers(v: &str) -> (&str, &str) {
    match v.split_once(';') {
        Some((n, why)) => (n.trim(), why.trim()),
        None => (v.trim(), "unknown"),
    }
}

pub fn append(path: &Path, line: &HistoryLine) -> io::Result<()> {
    append_all(path, std::iter::once(line))
}

/// Appends `lines` to the event log at `path` in one write, in their order.
pub fn append_all<'a>(
    path: &Path,
    lines: impl IntoIterator<Item = &'a HistoryLine>,
) -> io::Result<()> {
    let mut s = String::new();
    for line in lines {
        s.push_str(&serde_json::to_string(line).map_err(io::Error::other)?);
        s.push('\n');
    }
    let at = crate::access::at(path);
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(crate::access::at(path))?;
    f.write_all(s.as_bytes()).map_err(at)
}

/// The events an outgoing article records (`kind` autoresponse, notification, answer,
/// failure-notice; `event` the template or "answer"), queued to `to`.
pub fn out_events(ticket: &str, at: &str, kind: &str, event: &str, to: &str) -> Event {
    let (name, detail) = match kind {
        "autoresponse" => ("autoresponse", format!("{event} to {to} queued")),
        "notification" => ("notified", format!("agents {to}")),
        "answer" => ("answer-queued", format!("to {to}")),
        _ => ("notice", format!("{event} to {to}")),
    };
    Event {
        ticket: ticket.into(),
        at: at.into(),
        event: name.into(),
        detail,
    }
}

/// The event an agent's own mail (its answer or note as written) records.
pub fn agent_event(ticket: &str, at: &str, event: &str, from: &str) -> Event {
    Event {
        ticket: ticket.into(),
        at: at.into(),
        event: if event == "note" { "note" } else { "answer" }.into(),
        detail: format!("by {from}"),
    }
}

/// Reads an event log: unparseable lines (a torn last line after a crash) are skipped, and
/// for each key only the last line counts.
pub fn read(path: &Path) -> io::Result<Vec<HistoryLine>> {
    let f = std::fs::File::open(path)?;
    let mut out: Vec<HistoryLine> = Vec::new();
    for line in io::BufReader::new(f).lines() {
        let Ok(line) = line else { continue };
        let Ok(h) = serde_json::from_str::<HistoryLine>(&line) else {
            continue;
        };
        out.retain(|o| o.key != h.key);
        out.push(h);
    }
    Ok(out)
}
