//! What reports read: every ticket with the times that matter for it, and the changes agents
//! and customers made (answers, closes, reopens), streamed row by row so that a year of a
//! million tickets is never held in memory. The figures are computed from these rows by
//! `report::figures`, without I/O.

use rusqlite::types::Type;
use rusqlite::{params, OptionalExtension, Row};

use super::{Index, Result, Tx};

/// A ticket as a report sees it. Times are the index's UTC stamps (`…T…Z`), which sort as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketFacts<'a> {
    pub number: &'a str,
    pub queue: &'a str,
    pub organisation: Option<&'a str>,
    pub subject: &'a str,
    pub created: &'a str,
    /// The first agent's answer (history `answer`) before the report's end.
    pub first_answer: Option<&'a str>,
    /// The first close (history `closed`) before the report's end.
    pub first_close: Option<&'a str>,
    /// Whether the ticket was open at the report's end: its last close or reopen before then
    /// was no close.
    pub open_at_end: bool,
}

/// An answer, close or reopen, with the queue and organisation of its ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change<'a> {
    pub ticket: &'a str,
    pub queue: &'a str,
    pub organisation: Option<&'a str>,
    pub at: &'a str,
    /// `answer`, `closed` or `reopened`.
    pub event: &'a str,
    pub detail: &'a str,
}

fn text<'r>(r: &'r Row, i: usize) -> rusqlite::Result<&'r str> {
    r.get_ref(i)?
        .as_str()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

fn opt<'r>(r: &'r Row, i: usize) -> rusqlite::Result<Option<&'r str>> {
    r.get_ref(i)?
        .as_str_or_null()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

impl Index {
    /// Calls `f` for every ticket opened before `end`, in number order.
    pub fn report_tickets(&self, end: &str, mut f: impl FnMut(&TicketFacts)) -> Result<()> {
        let mut st = self.conn.prepare(
            "SELECT t.number, t.queue, t.organisation, t.subject, t.created,
                (SELECT min(h.at) FROM history h
                  WHERE h.ticket = t.number AND h.event = 'answer' AND h.at < ?1),
                (SELECT min(h.at) FROM history h
                  WHERE h.ticket = t.number AND h.event = 'closed' AND h.at < ?1),
                (SELECT h.event FROM history h
                  WHERE h.ticket = t.number AND h.event IN ('closed', 'reopened') AND h.at < ?1
                  ORDER BY h.at DESC, h.id DESC LIMIT 1)
             FROM tickets t WHERE t.created < ?1",
        )?;
        let mut rows = st.query([end])?;
        while let Some(r) = rows.next()? {
            let last: Option<&str> = opt(r, 7)?;
            f(&TicketFacts {
                number: text(r, 0)?,
                queue: text(r, 1)?,
                organisation: opt(r, 2)?,
                subject: text(r, 3)?,
                created: text(r, 4)?,
                first_answer: opt(r, 5)?,
                first_close: opt(r, 6)?,
                open_at_end: last != Some("closed"),
            });
        }
        Ok(())
    }

    /// Calls `f` for every answer, close and reopen before `end`.
    pub fn report_changes(&self, end: &str, mut f: impl FnMut(&Change)) -> Result<()> {
        let mut st = self.conn.prepare(
            "SELECT h.ticket, t.queue, t.organisation, h.at, h.event, h.detail
             FROM history h JOIN tickets t ON t.number = h.ticket
             WHERE h.event IN ('answer', 'closed', 'reopened') AND h.at < ?1",
        )?;
        let mut rows = st.query([end])?;
        while let Some(r) = rows.next()? {
            f(&Change {
                ticket: text(r, 0)?,
                queue: text(r, 1)?,
                organisation: opt(r, 2)?,
                at: text(r, 3)?,
                event: text(r, 4)?,
                detail: text(r, 5)?,
            });
        }
        Ok(())
    }

    /// When the scheduled report `name` was queued for `period`, if it was.
    pub fn report_sent(&self, name: &str, period: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT at FROM report_sent WHERE name = ?1 AND period = ?2")?
            .query_row(params![name, period], |r| r.get(0))
            .optional()?)
    }
}

impl Tx<'_> {
    /// Records that the scheduled report `name` for `period` is queued as outbox mail `file`;
    /// committed with the outbox row, so the report is queued exactly once. `false`: it was
    /// already recorded (another process queued it first), and nothing may be queued.
    pub fn record_report_sent(
        &self,
        name: &str,
        period: &str,
        at: &str,
        file: &str,
    ) -> Result<bool> {
        let n = self
            .conn()
            .prepare_cached(
                "INSERT INTO report_sent(name, period, at, file) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(name, period) DO NOTHING",
            )?
            .execute(params![name, period, at, file])?;
        Ok(n == 1)
    }
}
