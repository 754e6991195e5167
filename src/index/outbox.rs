//! Outgoing mail in the index: the outbox queue, ticket attributes agents set, and what an answer needs to know about a ticket's thread.

use super::db::{p, Db};
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

fn thread_head(c: &Db, number: &str) -> Result<Option<ThreadHead>> {
    c.opt(
        "SELECT message_id, reply_addr, subject, from_addr FROM articles
             WHERE ticket = ?1 AND direction = 'in' AND classification = 'normal'
             ORDER BY seq DESC, received DESC, id DESC LIMIT 1",
        p![number],
        |r| {
            Ok(ThreadHead {
                message_id: r.get(0)?,
                reply_addr: r.get(1)?,
                subject: r.get(2)?,
                from: r.get(3)?,
            })
        },
    )
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

fn answer_parties(c: &Db, number: &str) -> Result<AnswerParties> {
    // One query (a round trip each on PostgreSQL), its parts told apart by the first column
    // and each in its order: 0, the opening article (the one that created the ticket, else the
    // first one from outside that is not a stranger's); 1, the customer address an agent set;
    // 2, the agents' answers; 3, the `#cc` changes.
    let mut parties = AnswerParties::default();
    let mut answers = Vec::new();
    c.each(
        "SELECT 0, 0, '', 0, from_addr, reply_addr, CAST(NULL AS BIGINT) FROM
           (SELECT from_addr, reply_addr FROM articles
             WHERE ticket = ?1 AND direction IN ('in', 'phone') AND stranger = 0
             ORDER BY event = 'created' DESC, seq, received, id LIMIT 1) o
         UNION ALL SELECT 1, 0, '', 0, customer_address, NULL, NULL FROM tickets
             WHERE number = ?1 AND customer_address IS NOT NULL
         UNION ALL SELECT 2, seq, received, id, to_addrs, cc_addrs, NULL FROM articles
             WHERE ticket = ?1 AND direction = 'agent' AND event = 'answer'
         UNION ALL SELECT 3, 0, at, 0, address, NULL, added FROM accepted WHERE ticket = ?1
         ORDER BY 1, 2, 3, 4, 5",
        p![number],
        |r| {
            match r.get::<i64>(0)? {
                0 => parties.opening = Some((r.get(4)?, r.get(5)?)),
                1 => parties.customer = Some(r.get(4)?),
                2 => answers.push((
                    r.get::<String>(2)?,
                    r.get::<String>(4)?,
                    r.get::<String>(5)?,
                )),
                _ => parties.cc.push(Accepted {
                    address: r.get(4)?,
                    added: r.get(6)?,
                    at: r.get(2)?,
                }),
            }
            Ok(())
        },
    )?;
    for (at, to, cc) in answers {
        parties.accepted.extend(
            [to, cc]
                .into_iter()
                .filter(|l| !l.is_empty())
                .map(|l| (at.clone(), l)),
        );
    }
    Ok(parties)
}

/// Every ticket's `#cc` changes: (ticket, change), by ticket and time.
fn all_accepted(c: &Db) -> Result<Vec<(String, Accepted)>> {
    c.all(
        "SELECT ticket, address, added, at FROM accepted ORDER BY ticket, at, address",
        p![],
        |r| {
            Ok((
                r.get(0)?,
                Accepted {
                    address: r.get(1)?,
                    added: r.get(2)?,
                    at: r.get(3)?,
                },
            ))
        },
    )
}

fn participants_of(c: &Db, number: &str) -> Result<Vec<String>> {
    c.all(
        "SELECT address FROM participants WHERE ticket = ?1 ORDER BY address",
        p![number],
        |r| r.get(0),
    )
}

impl Tx<'_> {
    /// The customer an agent set (`#customer`): answers go there, and lists show it.
    pub fn set_customer(&self, number: &str, address: &str, at: &str) -> Result<()> {
        self.db()
            .exec("UPDATE tickets SET customer = ?2, customer_address = ?2, updated = CASE WHEN updated > ?3 THEN updated ELSE ?3 END
                 WHERE number = ?1", p![number, address, at])?;
        Ok(())
    }

    /// A participant an agent accepted or removed (`#cc`); the latest change per address counts.
    pub fn set_accepted(&self, number: &str, change: &Accepted) -> Result<()> {
        self.db()
            .exec("INSERT INTO accepted(ticket, address, added, at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(ticket, address) DO UPDATE SET added = excluded.added, at = excluded.at", p![number, change.address, change.added, change.at])?;
        Ok(())
    }

    pub fn set_attribute(&self, number: &str, attr: &Attribute, at: &str) -> Result<()> {
        let (sql, value) = match attr {
            Attribute::Owner(v) => (
                "UPDATE tickets SET owner = ?2, updated = CASE WHEN updated > ?3 THEN updated ELSE ?3 END WHERE number = ?1",
                v,
            ),
            Attribute::Priority(v) => (
                "UPDATE tickets SET priority = ?2, updated = CASE WHEN updated > ?3 THEN updated ELSE ?3 END WHERE number = ?1",
                v,
            ),
            Attribute::CustomerId(v) => (
                "UPDATE tickets SET customer_id = ?2, updated = CASE WHEN updated > ?3 THEN updated ELSE ?3 END WHERE number = ?1",
                v,
            ),
            Attribute::Pending(v) => (
                "UPDATE tickets SET pending = ?2, updated = CASE WHEN updated > ?3 THEN updated ELSE ?3 END WHERE number = ?1",
                v,
            ),
            Attribute::Sla(v) => (
                "UPDATE tickets SET sla = nullif(?2, ''), updated = CASE WHEN updated > ?3 THEN updated ELSE ?3 END WHERE number = ?1",
                v,
            ),
        };
        self.db().exec(sql, p![number, value, at])?;
        Ok(())
    }

    pub fn thread_head(&self, number: &str) -> Result<Option<ThreadHead>> {
        thread_head(self.db(), number)
    }

    /// When the ticket was opened, as stored (`tickets.created`).
    pub fn ticket_created(&self, number: &str) -> Result<Option<String>> {
        if let Some(at) = self.opened_at(number) {
            return Ok(Some(at));
        }
        self.db().opt(
            "SELECT created FROM tickets WHERE number = ?1",
            p![number],
            |r| r.get(0),
        )
    }

    pub fn participants_of(&self, number: &str) -> Result<Vec<String>> {
        participants_of(self.db(), number)
    }

    pub fn answer_parties(&self, number: &str) -> Result<AnswerParties> {
        answer_parties(self.db(), number)
    }

    /// Queues a mail (`q.id` is ignored: the engine numbers it); a replay after a crash finds it queued already and leaves it. Sent
    /// with the transaction's next statement that reads, or its commit.
    pub fn enqueue(&self, q: &Queued) -> Result<()> {
        let rcpts = serde_json::to_string(&q.rcpts).unwrap_or_else(|_| "[]".into());
        self.db().defer(
            "INSERT INTO outbox(ticket, file, kind, env_from, rcpts, state, attempts, created,
                    next_at, last_error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT(file) DO NOTHING",
            p![
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
            ],
        )
    }

    /// Keeps the bytes of a queued mail that has no stored copy in the tree (an agents' pointer
    /// notice) until it is sent.
    pub fn keep_outbox_mail(&self, file: &str, bytes: &[u8]) -> Result<()> {
        self.db().defer(
            "INSERT INTO outbox_mail(file, bytes) VALUES (?1, ?2)
                 ON CONFLICT(file) DO UPDATE SET bytes = excluded.bytes",
            p![file, bytes],
        )?;
        Ok(())
    }

    /// Makes every queued mail due now.
    pub fn retry_all_now(&self, now: i64) -> Result<usize> {
        self.db().exec(
            "UPDATE outbox SET next_at = ?1 WHERE state = 'queued'",
            p![now],
        )
    }

    /// Marks a handover's sent mails, a few hundred a statement.
    pub fn mark_sent(&self, ids: &[i64]) -> Result<()> {
        let within = self.db().in_json_integers();
        for chunk in ids.chunks(super::write::ROWS_A_STATEMENT) {
            let ids = serde_json::to_string(chunk).expect("numbers serialise");
            self.db().defer(
                &format!(
                    "UPDATE outbox SET state = 'sent', attempts = attempts + 1, last_error = NULL
                     WHERE id {within}"
                ),
                p![ids],
            )?;
            // Mail kept only in the index is not needed once it is sent.
            self.db().defer(
                &format!(
                    "DELETE FROM outbox_mail WHERE file IN (SELECT file FROM outbox WHERE id {within})"
                ),
                p![ids],
            )?;
        }
        Ok(())
    }

    pub fn mark_retry(&self, id: i64, next_at: i64, error: &str) -> Result<()> {
        self.db()
            .exec("UPDATE outbox SET attempts = attempts + 1, next_at = ?2, last_error = ?3 WHERE id = ?1", p![id, next_at, error])?;
        Ok(())
    }

    pub fn mark_failed(&self, id: i64, error: &str) -> Result<()> {
        self.db()
            .exec("UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?2 WHERE id = ?1", p![id, error])?;
        Ok(())
    }
}

impl Index {
    /// A ticket's queue and state (for comparing with where its folder is), by its number.
    pub fn ticket_location(&self, number: &str) -> Result<Option<(String, super::State)>> {
        self.db.opt(
            "SELECT queue, state FROM tickets WHERE number = ?1",
            p![number],
            |r| {
                let state: String = r.get(1)?;
                Ok((
                    r.get(0)?,
                    super::State::parse(&state).unwrap_or(super::State::Open),
                ))
            },
        )
    }

    /// `ticket_location` of many tickets in one query: those the index has.
    pub fn ticket_locations(
        &self,
        numbers: &[&str],
    ) -> Result<std::collections::HashMap<String, (String, super::State)>> {
        let mut found = std::collections::HashMap::new();
        for chunk in numbers.chunks(super::write::ROWS_A_STATEMENT) {
            let json = serde_json::to_string(chunk).expect("strings serialise");
            let asked = self.db.json_texts_table(1, "asked");
            self.db.each(
                &format!(
                    "SELECT t.number, t.queue, t.state FROM {asked}
                       JOIN tickets t ON t.number = asked.value"
                ),
                p![json],
                |r| {
                    let state: String = r.get(2)?;
                    let state = super::State::parse(&state).unwrap_or(super::State::Open);
                    found.insert(r.get(0)?, (r.get(1)?, state));
                    Ok(())
                },
            )?;
        }
        Ok(found)
    }

    /// The numbers of a queue's open tickets, in one read of the (queue, state) index, which
    /// holds the numbers too: comparing a listed tree with the index costs one query per queue
    /// rather than a lookup per folder.
    pub fn open_numbers(&self, queue: &str) -> Result<std::collections::HashSet<String>> {
        let mut numbers = std::collections::HashSet::new();
        self.db.each(
            "SELECT number FROM tickets WHERE queue = ?1 AND state = 'open'",
            p![queue],
            |r| {
                numbers.insert(r.get(0)?);
                Ok(())
            },
        )?;
        Ok(numbers)
    }

    /// Whether a schema upgrade added facts that only a rebuild from the tree can fill in.
    pub fn reindex_needed(&self) -> Result<bool> {
        self.db
            .exists("SELECT 1 FROM counters WHERE key = 'reindex-needed'", p![])
    }

    pub fn participants_of(&self, number: &str) -> Result<Vec<String>> {
        participants_of(&self.db, number)
    }

    pub fn answer_parties(&self, number: &str) -> Result<AnswerParties> {
        answer_parties(&self.db, number)
    }

    /// Every ticket's `#cc` changes (for fsck).
    pub fn all_accepted(&self) -> Result<Vec<(String, Accepted)>> {
        all_accepted(&self.db)
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
