//! A ticket's service-level deadlines for `ticket show` and the `ticket list` filters `--due`
//! and `--breached`: read from the index, worked out at the moment of asking (`sla::due`), so
//! they are right even before the daemon's round has looked at a change.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::index::{Index, Result};
use crate::sla::config::show_duration;
use crate::sla::policy::Deadline;
use crate::sla::{due, Slas};

/// One run of a clock, as `ticket show --json` prints it.
#[derive(Debug, Serialize)]
pub struct DeadlineView {
    /// `first-response`, `update` or `solution`.
    pub clock: &'static str,
    /// `running`, `paused` (pending or closed), `met` or `breached` (still running, late);
    /// `missed` once met late.
    pub state: &'static str,
    pub start: String,
    pub warning: String,
    pub due: String,
    /// The clock's business time, in seconds.
    pub target_seconds: u64,
    /// Business time left before the breach; how late after it (seconds).
    pub left_seconds: u64,
    pub late_seconds: u64,
}

impl DeadlineView {
    fn of(d: &Deadline) -> DeadlineView {
        let state = match (d.stopped.is_some(), d.breached(), d.paused) {
            (true, false, _) => "met",
            (true, true, _) => "missed",
            (false, true, _) => "breached",
            (false, false, true) => "paused",
            (false, false, false) => "running",
        };
        DeadlineView {
            clock: d.clock.as_str(),
            state,
            start: d.start.to_rfc3339(),
            warning: d.warn_at.to_rfc3339(),
            due: d.due.to_rfc3339(),
            target_seconds: d.target.as_secs(),
            left_seconds: d.left().as_secs(),
            late_seconds: d.late().as_secs(),
        }
    }

    /// One line for the text output.
    pub fn line(&self) -> String {
        let how = match self.state {
            "met" => "met".to_string(),
            "missed" | "breached" => format!(
                "{} late",
                show_duration(Duration::from_secs(self.late_seconds))
            ),
            _ => format!(
                "{} left",
                show_duration(Duration::from_secs(self.left_seconds))
            ),
        };
        format!(
            "{:<15} {:<8} due {}  {how}",
            self.clock, self.state, self.due
        )
    }

    /// Still running (paused included) and not yet late.
    pub fn running(&self) -> bool {
        matches!(self.state, "running" | "paused")
    }
}

/// The service level that holds for the ticket and its deadlines at `now`.
pub fn of_ticket(
    index: &Index,
    slas: &Slas,
    number: &str,
    now: DateTime<Utc>,
) -> Result<(Option<String>, Vec<DeadlineView>)> {
    let Some(rows) = index.sla_rows(number)? else {
        return Ok((None, Vec::new()));
    };
    let party = index.directory_ticket(number)?;
    let instance = crate::sla::ticket_instance_sla(&party, || index.directory_only_service())?;
    let name = slas
        .name_for(rows.sla.as_deref(), instance.as_deref(), &rows.queue)
        .map(str::to_string);
    let views = due::shown(slas, &rows, instance.as_deref(), now)
        .iter()
        .map(DeadlineView::of)
        .collect();
    Ok((name, views))
}

/// `--due LIMIT`: some deadline not yet breached has at most `limit` of business time left.
/// `--breached`: some deadline still running is breached.
pub fn matches(views: &[DeadlineView], due: Option<Duration>, breached: bool) -> bool {
    let due_ok = due.is_none_or(|limit| {
        views
            .iter()
            .any(|v| v.running() && v.left_seconds <= limit.as_secs())
    });
    let breached_ok = !breached || views.iter().any(|v| v.state == "breached");
    due_ok && breached_ok
}
