//! Outgoing mail in the index: the outbox queue, ticket attributes agents set, and what an answer needs to know about a ticket's thread.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use super::{Index, Result, Tx};

/// One mail in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Queued {
    pub id: i64,
    pub ticket: String,
    /// The outgoing article's file name (the stored copy is what is sent).
    pub file: String,
    /// autoresponse, notification, answer, failure-notice.
    pub kind: String,
    /// Envelope sender; empty for the null sender of automatic mail.
    pub env_from: String,
    pub rcpts: Vec<String>,
    /// queued, sent or failed.
    pub state: String,
    pub attempts: u32,
    /// Unix seconds.
    pub created: i64,
    pub next_at: i64,
    pub last_error: Option<String>,
}

/// A ticket attribute agents set by command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute {
    Owner(String),
    Priority(String),
    Pending(String),
    CustomerId(String),
    /// A service level's name; empty: the service's or the queue's again.
    Sla(String),
}

/// What an answer to a ticket threads onto: its latest incoming article from outside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadHead {
    pub message_id: Option<String>,
    pub reply_addr: Option<String>,
    pub subject: String,
    pub from: String,
}

const QUEUED_COLUMNS: &str =
    "id, ticket, file, kind, env_from, rcpts, state, attempts, created, next_at, last_error";

fn queued_row(r: &Row) -> rusqlite::Result<Queued> {
    let rcpts: String = r.get(5)?;
    Ok(Queued {
        id: r.get(0)?,
        ticket: r.get(1)?,
        file: r.get(2)?,
        kind: r.get(3)?,
        env_from: r.get(4)?,
        rcpts: serde_json::from_str(&rcpts).unwrap_or_default(),
        state: r.get(6)?,
        attempts: r.get::<_, i64>(7)? as u32,
        created: r.get(8)?,
        next_at: r.get(9)?,
        last_error: r.get(10)?,
    })
}

fn thread_head(c: &Connection, number: &str) -> Result<Option<ThreadHead>> {
    Ok(c.prepare_cached(
        "SELECT message_id, reply_addr, subject, from_addr FROM articles
             WHERE ticket = ?1 AND direction = 'in' AND classification = 'normal'
             ORDER BY seq DESC, received DESC, id DESC LIMIT 1",
    )?
    .query_row([number], |r| {
        Ok(ThreadHead {
            message_id: r.get(0)?,
            reply_addr: r.get(1)?,
            subject: r.get(2)?,
            from: r.get(3)?,
        })
    })
    .optional()?)
}

/// What an answer's recipients are made of (see `outgoing::recipients`): the opening article's
/// From and answer address, the customer address an agent set (`#customer`), the To and Cc
/// lists of the agents' earlier answers with their times, and the participants agents accepted
/// or removed with `#cc`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnswerParties {
    pub opening: Option<(String, Option<String>)>,
    pub customer: Option<String>,
    /// (received, `Name <a>, b`) of each earlier answer.
    pub accepted: Vec<(String, String)>,
    /// The latest `#cc` change of each address, oldest first.
    pub cc: Vec<Accepted>,
}

/// A participant an agent accepted (`#cc a@x`) or removed (`#cc -a@x`), and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub address: String,
    pub added: bool,
    pub at: String,
}

fn answer_parties(c: &Connection, number: &str) -> Result<AnswerParties> {
    // The opening article: the one that created the ticket, else the first one from outside
    // that is not a stranger's.
    let opening = c
        .prepare_cached(
            "SELECT from_addr, reply_addr FROM articles
             WHERE ticket = ?1 AND direction IN ('in', 'phone') AND stranger = 0
             ORDER BY event = 'created' DESC, seq, received, id LIMIT 1",
        )?
        .query_row([number], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let customer = c
        .prepare_cached("SELECT customer_address FROM tickets WHERE number = ?1")?
        .query_row([number], |r| r.get::<_, Option<String>>(0))
        .optional()?
        .flatten();
    let mut st = c.prepare_cached(
        "SELECT received, to_addrs, cc_addrs FROM articles
         WHERE ticket = ?1 AND direction = 'agent' AND event = 'answer' ORDER BY seq, received, id",
    )?;
    let mut accepted = Vec::new();
    for row in st.query_map([number], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })? {
        let (at, to, cc) = row?;
        accepted.extend(
            [to, cc]
                .into_iter()
                .filter(|l| !l.is_empty())
                .map(|l| (at.clone(), l)),
        );
    }
    let cc = accepted_of(c, Some(number))?
        .into_iter()
        .map(|(_, a)| a)
        .collect();
    Ok(AnswerParties {
        opening,
        customer,
        accepted,
        cc,
    })
}

/// The `#cc` changes of one ticket or of all: (ticket, change), by ticket and time.
fn accepted_of(c: &Connection, number: Option<&str>) -> Result<Vec<(String, Accepted)>> {
    let mut st = c.prepare_cached(
        "SELECT ticket, address, added, at FROM accepted WHERE ?1 IS NULL OR ticket = ?1
         ORDER BY ticket, at, address",
    )?;
    let rows = st.query_map([number], |r| {
        Ok((
            r.get(0)?,
            Accepted {
                address: r.get(1)?,
                added: r.get(2)?,
                at: r.get(3)?,
            },
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn participants_of(c: &Connection, number: &str) -> Result<Vec<String>> {
    let mut st =
        c.prepare_cached("SELECT address FROM participants WHERE ticket = ?1 ORDER BY address")?;
    let rows = st.query_map([number], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

impl Tx<'_> {
    /// The customer an agent set (`#customer`): answers go there, and lists show it.
    pub fn set_customer(&self, number: &str, address: &str, at: &str) -> Result<()> {
        self.conn()
            .prepare_cached(
                "UPDATE tickets SET customer = ?2, customer_address = ?2, updated = max(updated, ?3)
                 WHERE number = ?1",
            )?
            .execute(params![number, address, at])?;
        Ok(())
    }

    /// A participant an agent accepted or removed (`#cc`); the latest change per address counts.
    pub fn set_accepted(&self, number: &str, change: &Accepted) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO accepted(ticket, address, added, at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(ticket, address) DO UPDATE SET added = excluded.added, at = excluded.at",
            )?
            .execute(params![number, change.address, change.added, change.at])?;
        Ok(())
    }

    pub fn set_attribute(&self, number: &str, attr: &Attribute, at: &str) -> Result<()> {
        let (sql, value) = match attr {
            Attribute::Owner(v) => (
                "UPDATE tickets SET owner = ?2, updated = max(updated, ?3) WHERE number = ?1",
                v,
            ),
            Attribute::Priority(v) => (
                "UPDATE tickets SET priority = ?2, updated = max(updated, ?3) WHERE number = ?1",
                v,
            ),
            Attribute::CustomerId(v) => (
                "UPDATE tickets SET customer_id = ?2, updated = max(updated, ?3) WHERE number = ?1",
                v,
            ),
            Attribute::Pending(v) => (
                "UPDATE tickets SET pending = ?2, updated = max(updated, ?3) WHERE number = ?1",
                v,
            ),
            Attribute::Sla(v) => (
                "UPDATE tickets SET sla = nullif(?2, ''), updated = max(updated, ?3) WHERE number = ?1",
                v,
            ),
        };
        self.conn()
            .prepare_cached(sql)?
            .execute(params![number, value, at])?;
        Ok(())
    }

    pub fn thread_head(&self, number: &str) -> Result<Option<ThreadHead>> {
        thread_head(self.conn(), number)
    }

    /// When the ticket was opened, as stored (`tickets.created`).
    pub fn ticket_created(&self, number: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT created FROM tickets WHERE number = ?1")?
            .query_row([number], |r| r.get(0))
            .optional()?)
    }

    pub fn participants_of(&self, number: &str) -> Result<Vec<String>> {
        participants_of(self.conn(), number)
    }

    pub fn answer_parties(&self, number: &str) -> Result<AnswerParties> {
        answer_parties(self.conn(), number)
    }

    /// Queues a mail; `q.id`, `q.state` and `q.attempts` are ignored.
    pub fn enqueue(&self, q: &Queued) -> Result<i64> {
        let rcpts = serde_json::to_string(&q.rcpts).unwrap_or_else(|_| "[]".into());
        self.conn()
            .prepare_cached(
                "INSERT INTO outbox(ticket, file, kind, env_from, rcpts, state, attempts, created,
                    next_at, last_error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT(file) DO NOTHING",
            )?
            .execute(params![
                q.ticket,
                q.file,
                q.kind,
                q.env_from,
                rcpts,
                q.state,
                q.attempts as i64,
                q.created,
                q.next_at,
                q.last_error
            ])?;
        Ok(self.conn().last_insert_rowid())
    }

    /// Keeps the bytes of a queued mail that has no stored copy in the tree (an agents' pointer
    /// notice) until it is sent.
    pub fn keep_outbox_mail(&self, file: &str, bytes: &[u8]) -> Result<()> {
        self.conn()
            .prepare_cached("INSERT OR REPLACE INTO outbox_mail(file, bytes) VALUES (?1, ?2)")?
            .execute(params![file, bytes])?;
        Ok(())
    }

    /// Makes every queued mail due now.
    pub fn retry_all_now(&self, now: i64) -> Result<usize> {
        Ok(self
            .conn()
            .prepare_cached("UPDATE outbox SET next_at = ?1 WHERE state = 'queued'")?
            .execute([now])?)
    }

    pub fn mark_sent(&self, id: i64) -> Result<()> {
        self.conn()
            .prepare_cached("UPDATE outbox SET state = 'sent', attempts = attempts + 1, last_error = NULL WHERE id = ?1")?
            .execute([id])?;
        // Mail kept only in the index is not needed once it is sent.
        self.conn()
            .prepare_cached(
                "DELETE FROM outbox_mail WHERE file = (SELECT file FROM outbox WHERE id = ?1)",
            )?
            .execute([id])?;
        Ok(())
    }

    pub fn mark_retry(&self, id: i64, next_at: i64, error: &str) -> Result<()> {
        self.conn()
            .prepare_cached(
                "UPDATE outbox SET attempts = attempts + 1, next_at = ?2, last_error = ?3 WHERE id = ?1",
            )?
            .execute(params![id, next_at, error])?;
        Ok(())
    }

    pub fn mark_failed(&self, id: i64, error: &str) -> Result<()> {
        self.conn()
            .prepare_cached(
                "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
            )?
            .execute(params![id, error])?;
        Ok(())
    }
}

impl Tx<'_> {
    /// An event-log line committed with its batch and appended to the tree after it: kept
    /// here until the append is durable, so recovery can finish it after a crash.
    pub fn add_pending_line(&self, ticket: &str, line: &str) -> Result<i64> {
        self.conn()
            .prepare_cached("INSERT INTO pending_lines(ticket, line) VALUES (?1, ?2)")?
            .execute(params![ticket, line])?;
        Ok(self.conn().last_insert_rowid())
    }

    pub fn clear_pending_line(&self, id: i64) -> Result<()> {
        self.conn()
            .prepare_cached("DELETE FROM pending_lines WHERE id = ?1")?
            .execute([id])?;
        Ok(())
    }
}

impl Index {
    /// A ticket's queue and state (for comparing with where its folder is), by its number.
    pub fn ticket_location(&self, number: &str) -> Result<Option<(String, super::State)>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT queue, state FROM tickets WHERE number = ?1")?;
        Ok(st
            .query_row([number], |r| {
                let state: String = r.get(1)?;
                Ok((
                    r.get(0)?,
                    super::State::parse(&state).unwrap_or(super::State::Open),
                ))
            })
            .optional()?)
    }

    /// The numbers of a queue's open tickets, in one read of the (queue, state) index, which
    /// holds the numbers too: comparing a listed tree with the index costs one query per queue
    /// rather than a lookup per folder.
    pub fn open_numbers(&self, queue: &str) -> Result<std::collections::HashSet<String>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT number FROM tickets WHERE queue = ?1 AND state = 'open'")?;
        let rows = st.query_map([queue], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Whether a schema upgrade added facts that only a rebuild from the tree can fill in.
    pub fn reindex_needed(&self) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM counters WHERE key = 'reindex-needed'")?
            .exists([])?)
    }

    /// Event-log lines committed but perhaps not yet in the tree: (id, ticket, line).
    pub fn pending_lines(&self) -> Result<Vec<(i64, String, String)>> {
        let mut st = self
            .conn
            .prepare("SELECT id, ticket, line FROM pending_lines ORDER BY id")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Queued mail due at `now` (unix seconds), oldest first.
    pub fn due(&self, now: i64, limit: usize) -> Result<Vec<Queued>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {QUEUED_COLUMNS} FROM outbox WHERE state = 'queued' AND next_at <= ?1
             ORDER BY next_at, id LIMIT ?2"
        ))?;
        let rows = st.query_map(params![now, limit as i64], queued_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// When the next queued mail is due.
    pub fn next_due(&self) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached("SELECT min(next_at) FROM outbox WHERE state = 'queued'")?
            .query_row([], |r| r.get(0))?)
    }

    /// The whole outbox, or one ticket's part of it.
    pub fn outbox(&self, ticket: Option<&str>) -> Result<Vec<Queued>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {QUEUED_COLUMNS} FROM outbox WHERE ?1 IS NULL OR ticket = ?1 ORDER BY id"
        ))?;
        let rows = st.query_map([ticket], queued_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The bytes of a queued mail kept in the index rather than in the tree, if it is one.
    pub fn outbox_mail(&self, file: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn
            .prepare_cached("SELECT bytes FROM outbox_mail WHERE file = ?1")?
            .query_row([file], |r| r.get::<_, Vec<u8>>(0))
            .optional()?)
    }

    /// The staged path of an article (or a quarantined file) not yet placed in the tree.
    pub fn staged_of(&self, file: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT staged FROM articles WHERE file = ?1
                 UNION ALL SELECT staged FROM quarantine WHERE file = ?1 LIMIT 1",
            )?
            .query_row([file], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten())
    }

    pub fn participants_of(&self, number: &str) -> Result<Vec<String>> {
        participants_of(&self.conn, number)
    }

    pub fn answer_parties(&self, number: &str) -> Result<AnswerParties> {
        answer_parties(&self.conn, number)
    }

    /// Every ticket's `#cc` changes (for fsck).
    pub fn all_accepted(&self) -> Result<Vec<(String, Accepted)>> {
        accepted_of(&self.conn, None)
    }
}

#[cfg(test)]
mod tests {
    use crate::index::{Index, State};

    #[test]
    fn open_numbers_are_a_queues_open_tickets_only() {
        let mut index = Index::open_memory().unwrap();
        let tx = index.begin().unwrap();
        for (n, queue, state) in [
            ("11", "Support", State::Open),
            ("12", "Support", State::Closed),
            ("13", "Billing", State::Open),
            ("14", "Support", State::Open),
        ] {
            let who = crate::index::Attribution::default();
            tx.insert_ticket(
                n,
                queue,
                state,
                "s",
                "c@example.org",
                "2026-01-01",
                None,
                &who,
            )
            .unwrap();
        }
        tx.commit().unwrap();
        let mut support: Vec<String> = index.open_numbers("Support").unwrap().into_iter().collect();
        support.sort();
        assert_eq!(support, ["11", "14"]);
        assert!(index.open_numbers("Junk").unwrap().is_empty());
    }
}
