//! Service reports: what the help desk did over a period, from the index alone — tickets opened
//! and closed per day and queue, the backlog, first-response and solution times, the longest
//! open tickets, each agent's answers and closes — as PDF for printing, HTML with the same
//! charts, CSV and JSON with the same numbers.
//!
//! `figures` computes from rows without I/O, `compliance` reads and works out the service
//! levels' deadlines, `hours` is the one place durations are measured,
//! one file renders each format (`pdf` with `canvas` and `helvetica`, `html`, `text`), `charts`
//! draws for both PDF and HTML, `schedule` decides without I/O when a scheduled report is due,
//! `scheduled` makes and queues the due ones in the daemon (`[[report]]` is `config::report`).

pub mod canvas;
pub mod charts;
pub mod compliance;
pub mod figures;
pub mod helvetica;
pub mod hours;
pub mod html;
pub mod pdf;
pub mod period;
pub mod schedule;
pub mod scheduled;
pub mod stats;
pub mod tables;
pub mod text;

pub use crate::config::report::{Every, Format, ReportConfig};
pub use figures::{Figures, Report};
pub use hours::Hours;
pub use period::{Named, Period};

use chrono::{DateTime, Utc};

use crate::index::{Index, IndexError};
use crate::sla::Slas;

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Html => "html",
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Html => "text/html; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
        }
    }
}

/// The report over `period` for `queues` (all when empty), read from the index at `now`; with
/// service levels, their compliance for the tickets opened in the period, worked out as
/// `ticket show` works out a ticket's deadlines (`sla::due`).
pub fn make(
    index: &Index,
    period: Period,
    queues: &[String],
    slas: &Slas,
    now: DateTime<Utc>,
) -> Result<Report, IndexError> {
    index.snapshot(|index| {
        let f = Figures::new(period, queues, hours(slas), now);
        let end = period.end();
        let start = period.start();
        let mut opened = Vec::new();
        // Both callbacks fill the figures, one after the other.
        let f = std::cell::RefCell::new(f);
        index.report_rows(
            &end,
            |c| f.borrow_mut().add_change(c),
            |t| {
                let mut f = f.borrow_mut();
                if !slas.is_empty() && t.created >= start.as_str() && f.covers(t.queue) {
                    opened.push(t.number.to_string());
                }
                f.add_ticket(t)
            },
        )?;
        let f = f.into_inner();
        let until = f.until();
        opened.sort_unstable();
        let f = compliance::add(index, slas, &opened, until, f)?;
        let generated = now.format("%Y-%m-%d %H:%M UTC").to_string();
        Ok(f.finish(&generated))
    })
}

/// The hours each queue's durations count in: the calendar of the queue's service level, else
/// every second.
pub fn hours(slas: &Slas) -> Hours {
    Hours::new(slas.queue_calendars())
}

/// The report in `format`.
pub fn render(r: &Report, format: Format) -> Result<Vec<u8>, String> {
    match format {
        Format::Pdf => pdf::render(r),
        Format::Html => html::render(r),
        Format::Csv => text::csv(r),
        Format::Json => Ok(text::json(r)),
    }
}
