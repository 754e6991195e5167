//! Agents' digests (`agent-notice = "digest"`): each event a customer's mail made, recorded in
//! the transaction that files the mail (`digest_events`), with one row for each agent still to
//! be told of it (`digest_waiting`), and for each agent when its events began to wait and when
//! its last digest was queued (`digest_agents`). The digest round takes an agent's events in the
//! transaction that queues the agent's digest. Not derived from the tree: reindex leaves them.

use super::db::{p, Row};

use super::{Index, Result, Tx};

/// One event an agent is to be told of in a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestEntry {
    /// The row's id (0 before it is recorded): entries are taken up to one.
    pub id: i64,
    pub ticket: String,
    pub queue: String,
    /// `created`, `follow-up` or `reopened`.
    pub event: String,
    /// The From header as received.
    pub from: String,
    pub subject: String,
    /// The first lines of the customer's text.
    pub excerpt: String,
    /// Intake's notes on it, one a line (the sender's last notice today, recipients not added).
    pub notes: String,
    /// When the mail was filed (Unix seconds).
    pub at: i64,
}

/// An agent with events waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestAgent {
    pub agent: String,
    /// When its oldest waiting event was filed (Unix seconds).
    pub waiting_since: i64,
    /// When its last digest was queued.
    pub sent: Option<i64>,
}

impl Tx<'_> {
    /// Records `entry` for each of `agents` (their addresses).
    pub fn add_digest_entry(&self, entry: &DigestEntry, agents: &[String]) -> Result<i64> {
        let db = self.db();
        let id: i64 = db.one(
            "INSERT INTO digest_events (ticket, queue, event, from_addr, subject, excerpt, notes, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
            p![
                entry.ticket,
                entry.queue,
                entry.event,
                entry.from,
                entry.subject,
                entry.excerpt,
                entry.notes,
                entry.at
            ],
            |r| r.get(0),
        )?;
        for agent in agents {
            db.exec(
                "INSERT INTO digest_waiting (agent, event) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                p![agent, id],
            )?;
            db.exec(
                "INSERT INTO digest_agents (agent, waiting_since) VALUES (?1, ?2)
                 ON CONFLICT(agent) DO UPDATE SET
                     waiting_since = coalesce(digest_agents.waiting_since, excluded.waiting_since)",
                p![agent, entry.at],
            )?;
        }
        Ok(id)
    }

    /// `agent`'s digest, with its events up to `upto`, is queued at `now`: they are taken, and
    /// events no agent waits for any more are forgotten. Returns how many were taken.
    pub fn take_digest(&self, agent: &str, upto: i64, now: i64) -> Result<usize> {
        let db = self.db();
        let taken = db.exec(
            "DELETE FROM digest_waiting WHERE agent = ?1 AND event <= ?2",
            p![agent, upto],
        )?;
        let left: Option<i64> = db.one(
            "SELECT min(e.at) FROM digest_waiting w JOIN digest_events e ON e.id = w.event
             WHERE w.agent = ?1",
            p![agent],
            |r| r.get(0),
        )?;
        db.exec(
            "UPDATE digest_agents SET waiting_since = ?2, sent = ?3 WHERE agent = ?1",
            p![agent, left, now],
        )?;
        db.exec(
            "DELETE FROM digest_events WHERE id <= ?1
                 AND NOT EXISTS (SELECT 1 FROM digest_waiting w WHERE w.event = digest_events.id)",
            p![upto],
        )?;
        Ok(taken)
    }

    /// `agent`'s digest could not be made: tried again a digest's interval after `now`.
    pub fn postpone_digest(&self, agent: &str, now: i64) -> Result<()> {
        self.db().exec(
            "UPDATE digest_agents SET sent = ?2 WHERE agent = ?1",
            p![agent, now],
        )?;
        Ok(())
    }
}

fn entry(r: &Row) -> Result<DigestEntry> {
    Ok(DigestEntry {
        id: r.get(0)?,
        ticket: r.get(1)?,
        queue: r.get(2)?,
        event: r.get(3)?,
        from: r.get(4)?,
        subject: r.get(5)?,
        excerpt: r.get(6)?,
        notes: r.get(7)?,
        at: r.get(8)?,
    })
}

impl Index {
    /// The oldest `limit` events waiting for `agent`, oldest first.
    pub fn digest_entries(&self, agent: &str, limit: usize) -> Result<Vec<DigestEntry>> {
        self.db.all(
            "SELECT e.id, e.ticket, e.queue, e.event, e.from_addr, e.subject, e.excerpt, e.notes,
                    e.at
             FROM digest_waiting w JOIN digest_events e ON e.id = w.event
             WHERE w.agent = ?1 ORDER BY e.id LIMIT ?2",
            p![agent, limit as i64],
            entry,
        )
    }

    /// The agents with events waiting.
    pub fn digest_agents(&self) -> Result<Vec<DigestAgent>> {
        self.db.all(
            "SELECT agent, waiting_since, sent FROM digest_agents
             WHERE waiting_since IS NOT NULL ORDER BY agent",
            p![],
            |r| {
                Ok(DigestAgent {
                    agent: r.get(0)?,
                    waiting_since: r.get(1)?,
                    sent: r.get(2)?,
                })
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(ticket: &str, at: i64) -> DigestEntry {
        DigestEntry {
            id: 0,
            ticket: ticket.into(),
            queue: "Support".into(),
            event: "created".into(),
            from: "a@example.org".into(),
            subject: "s".into(),
            excerpt: "x".into(),
            notes: String::new(),
            at,
        }
    }

    fn add(index: &mut Index, ticket: &str, at: i64, agents: &[&str]) -> i64 {
        let agents: Vec<String> = agents.iter().map(|a| a.to_string()).collect();
        let tx = index.begin().unwrap();
        let id = tx.add_digest_entry(&event(ticket, at), &agents).unwrap();
        tx.commit().unwrap();
        id
    }

    fn agent(index: &Index, name: &str) -> Option<DigestAgent> {
        index
            .digest_agents()
            .unwrap()
            .into_iter()
            .find(|a| a.agent == name)
    }

    #[test]
    fn an_agent_waits_from_its_oldest_event_until_its_digest_takes_them() {
        let mut index = Index::open_memory().unwrap();
        let first = add(&mut index, "1", 100, &["a@x", "b@x"]);
        add(&mut index, "2", 200, &["a@x"]);
        assert_eq!(agent(&index, "a@x").unwrap().waiting_since, 100);
        assert_eq!(index.digest_entries("a@x", 10).unwrap().len(), 2);
        assert_eq!(index.digest_entries("a@x", 1).unwrap()[0].id, first);
        // a's digest takes the first event; the second still waits, from its own time.
        let tx = index.begin().unwrap();
        assert_eq!(tx.take_digest("a@x", first, 150).unwrap(), 1);
        tx.commit().unwrap();
        let a = agent(&index, "a@x").unwrap();
        assert_eq!((a.waiting_since, a.sent), (200, Some(150)));
        // The first event is b's still.
        assert_eq!(index.digest_entries("b@x", 10).unwrap()[0].id, first);
        let tx = index.begin().unwrap();
        assert_eq!(tx.take_digest("b@x", first, 160).unwrap(), 1);
        assert_eq!(tx.take_digest("a@x", i64::MAX, 170).unwrap(), 1);
        tx.commit().unwrap();
        // Nobody waits; every event is forgotten, the last digests' times kept.
        assert!(index.digest_agents().unwrap().is_empty());
        assert!(index.digest_entries("a@x", 10).unwrap().is_empty());
        let left: i64 = index
            .db
            .one("SELECT count(*) FROM digest_events", p![], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0);
        add(&mut index, "3", 300, &["a@x"]);
        let a = agent(&index, "a@x").unwrap();
        assert_eq!((a.waiting_since, a.sent), (300, Some(170)));
    }

    #[test]
    fn a_digest_that_cannot_be_made_is_postponed_and_its_events_kept() {
        let mut index = Index::open_memory().unwrap();
        add(&mut index, "1", 100, &["a@x"]);
        let tx = index.begin().unwrap();
        tx.postpone_digest("a@x", 500).unwrap();
        tx.commit().unwrap();
        let a = agent(&index, "a@x").unwrap();
        assert_eq!((a.waiting_since, a.sent), (100, Some(500)));
        assert_eq!(index.digest_entries("a@x", 10).unwrap().len(), 1);
    }

    #[test]
    fn a_rebuild_keeps_the_events_waiting() {
        let mut index = Index::open_memory().unwrap();
        add(&mut index, "1", 100, &["a@x"]);
        index.clear().unwrap();
        assert_eq!(index.digest_entries("a@x", 10).unwrap().len(), 1);
        assert_eq!(agent(&index, "a@x").unwrap().waiting_since, 100);
    }
}
