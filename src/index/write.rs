//! The write transaction: everything intake and the ticket commands change, in one place.

use rusqlite::{params, Connection, Transaction, TransactionBehavior};

use super::rows::{Article, Attribution, Quarantined, State};
use super::Result;

pub struct Tx<'a> {
    tx: Transaction<'a>,
}

/// An article to insert, with the staged file it waits in until it is placed in the tree.
pub struct NewArticle<'a> {
    pub article: &'a Article,
    pub staged: Option<&'a str>,
}

impl<'a> Tx<'a> {
    pub(super) fn begin(conn: &'a mut Connection) -> Result<Tx<'a>> {
        Ok(Tx {
            tx: conn.transaction_with_behavior(TransactionBehavior::Immediate)?,
        })
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.tx
    }

    pub fn commit(self) -> Result<()> {
        Ok(self.tx.commit()?)
    }

    /// Increments and returns a counter (the daily ticket counter, the plain counter).
    pub fn next_counter(&self, key: &str) -> Result<u64> {
        let v: i64 = self
            .tx
            .prepare_cached(
                "INSERT INTO counters(key, value) VALUES (?1, 1)
                 ON CONFLICT(key) DO UPDATE SET value = value + 1 RETURNING value",
            )?
            .query_row([key], |r| r.get(0))?;
        Ok(v as u64)
    }

    /// Raises a counter to at least `value` (reindex).
    pub fn raise_counter(&self, key: &str, value: u64) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO counters(key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)",
            )?
            .execute(params![key, value as i64])?;
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
        self.tx
            .prepare_cached(
                "INSERT INTO tickets(number, queue, state, subject, customer, created, updated, refers,
                    person, organisation, service)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
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
            ])?;
        Ok(())
    }

    pub fn set_ticket(&self, number: &str, queue: &str, state: State, at: &str) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE tickets SET queue = ?2, state = ?3, updated = max(updated, ?4) WHERE number = ?1")?
            .execute(params![number, queue, state.as_str(), at])?;
        Ok(())
    }

    pub fn insert_article(&self, new: &NewArticle) -> Result<i64> {
        let a = new.article;
        let attachments = serde_json::to_string(&a.attachments).unwrap_or_else(|_| "[]".into());
        self.tx
            .prepare_cached(
                "INSERT INTO articles(ticket, file, message_id, digest, from_addr, to_addrs, cc_addrs,
                    subject, date, received, direction, classification, event, bounce_of, stranger,
                    size, attachments, staged, reply_addr, seq, author_header)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                    ?18, ?19, ?20, ?21)",
            )?
            .execute(params![
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
            ])?;
        self.tx
            .prepare_cached("UPDATE tickets SET updated = max(updated, ?2) WHERE number = ?1")?
            .execute(params![a.ticket, a.received])?;
        Ok(self.tx.last_insert_rowid())
    }

    /// The sequence the ticket's next article gets: one more than its last.
    pub fn next_seq(&self, number: &str) -> Result<u64> {
        let v: i64 = self
            .tx
            .prepare_cached("SELECT coalesce(max(seq), 0) + 1 FROM articles WHERE ticket = ?1")?
            .query_row([number], |r| r.get(0))?;
        Ok(v as u64)
    }

    pub fn add_participant(&self, number: &str, address: &str) -> Result<()> {
        if address.is_empty() {
            return Ok(());
        }
        self.tx
            .prepare_cached("INSERT OR IGNORE INTO participants(ticket, address) VALUES (?1, ?2)")?
            .execute(params![number, address])?;
        Ok(())
    }

    pub fn add_history(&self, ticket: &str, at: &str, event: &str, detail: &str) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO history(ticket, at, event, detail) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![ticket, at, event, detail])?;
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
        self.tx
            .prepare_cached(
                "INSERT INTO history(ticket, at, event, detail, key) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(ticket, key) WHERE key IS NOT NULL
                 DO UPDATE SET at = excluded.at, event = excluded.event, detail = excluded.detail",
            )?
            .execute(params![ticket, at, event, detail, key])?;
        Ok(())
    }

    pub fn insert_quarantine(&self, q: &Quarantined, staged: Option<&str>) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO quarantine(file, digest, message_id, reason, received, staged)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                q.file,
                q.digest,
                q.message_id,
                q.reason,
                q.received,
                staged
            ])?;
        Ok(())
    }

    /// Marks articles and quarantined messages as placed in the tree.
    pub fn clear_staged(&self, staged: &str) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE articles SET staged = NULL WHERE staged = ?1")?
            .execute([staged])?;
        self.tx
            .prepare_cached("UPDATE quarantine SET staged = NULL WHERE staged = ?1")?
            .execute([staged])?;
        Ok(())
    }

    /// Forgets a row whose staged file vanished before it was placed (see recovery).
    pub fn drop_staged(&self, staged: &str) -> Result<()> {
        self.tx
            .prepare_cached("DELETE FROM articles WHERE staged = ?1")?
            .execute([staged])?;
        self.tx
            .prepare_cached("DELETE FROM quarantine WHERE staged = ?1")?
            .execute([staged])?;
        Ok(())
    }

    pub fn source_seen(&self, source: &str, name: &str) -> Result<bool> {
        Ok(self
            .tx
            .prepare_cached("SELECT 1 FROM seen_sources WHERE source = ?1 AND name = ?2")?
            .exists(params![source, name])?)
    }

    pub fn mark_source_seen(&self, source: &str, name: &str) -> Result<()> {
        self.tx
            .prepare_cached("INSERT OR IGNORE INTO seen_sources(source, name) VALUES (?1, ?2)")?
            .execute(params![source, name])?;
        Ok(())
    }
}
