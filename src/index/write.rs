//! The write transaction: everything intake and the ticket commands change, in one place.

use super::db::{p, Db, Engine};

use super::rows::{Article, Attribution, Quarantined, State};
use super::Result;

pub struct Tx<'a> {
    db: &'a Db,
    open: bool,
}

/// An article to insert, with the staged file it waits in until it is placed in the tree.
pub struct NewArticle<'a> {
    pub article: &'a Article,
    pub staged: Option<&'a str>,
}

/// Serialises writers on PostgreSQL as SQLite's write lock does: the first statement of every
/// write transaction takes it, so decisions made inside one (counters, duplicates, limits)
/// cannot race another node's. Released by the commit or rollback.
const WRITE_LOCK: &str = "SELECT pg_advisory_xact_lock(7306652237)";

impl<'a> Tx<'a> {
    /// Starts a write transaction holding the write lock. The borrow of the connection is the
    /// caller's `&mut`: nothing else runs on it until the transaction ends.
    pub(super) fn begin(db: &'a Db) -> Result<Tx<'a>> {
        match db.engine() {
            Engine::Sqlite => db.batch("BEGIN IMMEDIATE")?,
            Engine::Postgres => db.batch(&format!("BEGIN; {WRITE_LOCK}"))?,
        }
        Ok(Tx { db, open: true })
    }

    pub(crate) fn db(&self) -> &Db {
        self.db
    }

    pub fn commit(mut self) -> Result<()> {
        self.db.batch("COMMIT")?;
        self.open = false;
        Ok(())
    }

    /// Increments and returns a counter (the daily ticket counter, the plain counter).
    pub fn next_counter(&self, key: &str) -> Result<u64> {
        let v: i64 = self.db.one(
            "INSERT INTO counters(key, value) VALUES (?1, 1)
                 ON CONFLICT(key) DO UPDATE SET value = counters.value + 1 RETURNING value",
            p![key],
            |r| r.get(0),
        )?;
        Ok(v as u64)
    }

    /// Raises a counter to at least `value` (reindex).
    pub fn raise_counter(&self, key: &str, value: u64) -> Result<()> {
        self.db
            .exec("INSERT INTO counters(key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value =
                    CASE WHEN counters.value > excluded.value THEN counters.value ELSE excluded.value END", p![key, value as i64])?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub fn insert_ticket(
        &self,
        number: &str,
        queue: &str,
        state: State,
        subject: &str,
        customer: &str,
        at: &str,
        refers: Option<&str>,
        who: &Attribution,
    ) -> Result<()> {
        self.db.exec(
            "INSERT INTO tickets(number, queue, state, subject, customer, created, updated, refers,
                    person, organisation, service)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9, ?10)",
            p![
                number,
                queue,
                state.as_str(),
                subject,
                customer,
                at,
                refers,
                who.person,
                who.organisation,
                who.service
            ],
        )?;
        Ok(())
    }

    pub fn set_ticket(&self, number: &str, queue: &str, state: State, at: &str) -> Result<()> {
        self.db
            .exec("UPDATE tickets SET queue = ?2, state = ?3, updated = CASE WHEN updated > ?4 THEN updated ELSE ?4 END WHERE number = ?1", p![number, queue, state.as_str(), at])?;
        Ok(())
    }

    pub fn insert_article(&self, new: &NewArticle) -> Result<i64> {
        let a = new.article;
        let attachments = serde_json::to_string(&a.attachments).unwrap_or_else(|_| "[]".into());
        let id: i64 = self.db.one(
            "INSERT INTO articles(ticket, file, message_id, digest, from_addr, to_addrs, cc_addrs,
                    subject, date, received, direction, classification, event, bounce_of, stranger,
                    size, attachments, staged, reply_addr, seq, author_header)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                    ?18, ?19, ?20, ?21) RETURNING id",
            p![
                a.ticket,
                a.file,
                a.message_id,
                a.digest,
                a.from,
                a.to,
                a.cc,
                a.subject,
                a.date,
                a.received,
                a.direction,
                a.classification,
                a.event,
                a.bounce_of,
                a.stranger,
                a.size as i64,
                attachments,
                new.staged,
                a.reply_addr,
                a.seq as i64,
                a.author_header,
            ],
            |r| r.get(0),
        )?;
        self.db
            .exec("UPDATE tickets SET updated = CASE WHEN updated > ?2 THEN updated ELSE ?2 END WHERE number = ?1", p![a.ticket, a.received])?;
        Ok(id)
    }

    /// The sequence the ticket's next article gets: one more than its last.
    pub fn next_seq(&self, number: &str) -> Result<u64> {
        let v: i64 = self.db.one(
            "SELECT coalesce(max(seq), 0) + 1 FROM articles WHERE ticket = ?1",
            p![number],
            |r| r.get(0),
        )?;
        Ok(v as u64)
    }

    pub fn add_participant(&self, number: &str, address: &str) -> Result<()> {
        if address.is_empty() {
            return Ok(());
        }
        self.db.exec(
            "INSERT INTO participants(ticket, address) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            p![number, address],
        )?;
        Ok(())
    }

    pub fn add_history(&self, ticket: &str, at: &str, event: &str, detail: &str) -> Result<()> {
        self.db.exec(
            "INSERT INTO history(ticket, at, event, detail) VALUES (?1, ?2, ?3, ?4)",
            p![ticket, at, event, detail],
        )?;
        Ok(())
    }

    /// An event from a ticket's event log, identified by its key: a replay after a crash
    /// replaces the earlier row, as readers of the event log keep the last line per key.
    pub fn add_history_keyed(
        &self,
        ticket: &str,
        at: &str,
        event: &str,
        detail: &str,
        key: &str,
    ) -> Result<()> {
        self.db.exec(
            "INSERT INTO history(ticket, at, event, detail, key) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(ticket, key) WHERE key IS NOT NULL
                 DO UPDATE SET at = excluded.at, event = excluded.event, detail = excluded.detail",
            p![ticket, at, event, detail, key],
        )?;
        Ok(())
    }

    pub fn insert_quarantine(&self, q: &Quarantined, staged: Option<&str>) -> Result<()> {
        self.db.exec(
            "INSERT INTO quarantine(file, digest, message_id, reason, received, staged)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            p![q.file, q.digest, q.message_id, q.reason, q.received, staged],
        )?;
        Ok(())
    }

    /// Marks articles and quarantined messages as placed in the tree.
    pub fn clear_staged(&self, staged: &str) -> Result<()> {
        self.db.exec(
            "UPDATE articles SET staged = NULL WHERE staged = ?1",
            p![staged],
        )?;
        self.db.exec(
            "UPDATE quarantine SET staged = NULL WHERE staged = ?1",
            p![staged],
        )?;
        Ok(())
    }

    /// Forgets a row whose staged file vanished before it was placed (see recovery).
    pub fn drop_staged(&self, staged: &str) -> Result<()> {
        self.db
            .exec("DELETE FROM articles WHERE staged = ?1", p![staged])?;
        self.db
            .exec("DELETE FROM quarantine WHERE staged = ?1", p![staged])?;
        Ok(())
    }

    pub fn source_seen(&self, source: &str, name: &str) -> Result<bool> {
        self.db.exists(
            "SELECT 1 FROM seen_sources WHERE source = ?1 AND name = ?2",
            p![source, name],
        )
    }

    pub fn mark_source_seen(&self, source: &str, name: &str) -> Result<()> {
        self.db.exec(
            "INSERT INTO seen_sources(source, name) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            p![source, name],
        )?;
        Ok(())
    }
}

impl Drop for Tx<'_> {
    /// A transaction dropped without its commit is rolled back (an error, or a panic, on the way).
    fn drop(&mut self) {
        if self.open {
            if let Err(e) = self.db.batch("ROLLBACK") {
                tracing::warn!("index: rollback: {e}");
            }
        }
    }
}
