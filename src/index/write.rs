//! The write transaction: everything intake and the ticket commands change, in one place.

use super::db::{p, Db, Engine};

use super::rows::{Article, Attribution, Quarantined, State};
use super::Result;

pub struct Tx<'a> {
    db: &'a Db,
    open: bool,
    /// The tickets opened in this transaction, and those the batch asked ahead for: what is
    /// known of them without asking the engine again (a round trip each on PostgreSQL).
    opened: std::cell::RefCell<std::collections::HashMap<String, Opened>>,
    /// Ticket numbers drawn in this transaction, by counter.
    drawn: std::cell::RefCell<std::collections::HashMap<String, Drawn>>,
    /// What the batch asked ahead (`prefetch`).
    pub(super) prefetched: std::cell::RefCell<super::prefetch::Prefetched>,
    /// Begun by `Index::begin_lazy` on a durable SQLite index: `synchronous` goes back to FULL
    /// when the transaction ends, however it ends.
    pub(super) restore_full: bool,
    /// Ids of `pending_lines` drawn ahead for this transaction, the next one last (PostgreSQL).
    pub(super) pending_ids: std::cell::RefCell<Vec<i64>>,
    /// This process's turn at the write lock (`turns`), given back after the commit or the
    /// rollback: dropped after `drop` has run.
    _turn: Option<super::turns::Turn>,
}

/// A counter this transaction draws ticket numbers from. The write lock keeps what it knows
/// true until the commit: no other writer moves the counter or opens a ticket meanwhile.
struct Drawn {
    /// The counter's value as this transaction last wrote it.
    value: u64,
    /// The numbers of counter values up to this one are checked against existing tickets...
    checked_to: u64,
    /// ...and these of them are taken.
    taken: std::collections::HashSet<String>,
}

/// Ticket numbers checked against existing tickets in one query, ahead of their drawing.
const NUMBERS_CHECKED_AT_ONCE: u64 = 32;

struct Opened {
    /// The last article sequence given out (0: none yet).
    last_seq: u64,
    created: String,
    /// `tickets.updated` as this transaction last wrote it (it only ever grows).
    updated: String,
}

/// An article to insert, with the staged file it waits in until it is placed in the tree.
pub struct NewArticle<'a> {
    pub article: &'a Article,
    pub staged: Option<&'a str>,
}

/// Rows named in one statement by the methods that change many (`clear_staged_all`).
pub(super) const ROWS_A_STATEMENT: usize = 500;

/// Serialises writers on PostgreSQL as SQLite's write lock does: the first statement of every
/// write transaction takes it, so decisions made inside one (counters, duplicates, limits)
/// cannot race another node's. Released by the commit or rollback.
const WRITE_LOCK: &str = "SELECT pg_advisory_xact_lock(7306652237)";
/// `WRITE_LOCK` if it is free at once: true when taken.
const TRY_WRITE_LOCK: &str = "SELECT pg_try_advisory_xact_lock(7306652237)";

impl<'a> Tx<'a> {
    /// Starts a write transaction holding the write lock. The borrow of the connection is the
    /// caller's `&mut`: nothing else runs on it until the transaction ends.
    pub(super) fn begin(db: &'a Db, turn: Option<super::turns::Turn>) -> Result<Tx<'a>> {
        match db.engine() {
            Engine::Sqlite => db.batch("BEGIN IMMEDIATE")?,
            Engine::Postgres => db.batch(&format!("BEGIN; {WRITE_LOCK}"))?,
        }
        Ok(Tx::begun(db, turn))
    }

    /// `begin`, except that on PostgreSQL the write lock is only tried: `None` when another
    /// transaction holds it. (SQLite's `BEGIN IMMEDIATE` waits as long as the connection's busy
    /// timeout, which the caller sets.)
    pub(super) fn begin_if_free(
        db: &'a Db,
        turn: Option<super::turns::Turn>,
    ) -> Result<Option<Tx<'a>>> {
        if db.engine() == Engine::Sqlite {
            return Tx::begin(db, turn).map(Some);
        }
        db.batch("BEGIN")?;
        // Rolled back when dropped: without the lock, or on an error.
        let tx = Tx::begun(db, turn);
        let held: bool = db.one(TRY_WRITE_LOCK, p![], |r| r.get(0))?;
        Ok(held.then_some(tx))
    }

    fn begun(db: &'a Db, turn: Option<super::turns::Turn>) -> Tx<'a> {
        Tx {
            db,
            open: true,
            opened: Default::default(),
            drawn: Default::default(),
            prefetched: Default::default(),
            restore_full: false,
            pending_ids: Default::default(),
            _turn: turn,
        }
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

    /// The next ticket number from counter `key`: what `format` makes of the counter's next
    /// value, skipping numbers a ticket already has. The counter is read once a transaction and
    /// the numbers are checked a block at a time, so drawing one costs no round trip of its own
    /// on PostgreSQL.
    pub fn next_number(&self, key: &str, mut format: impl FnMut(u64) -> String) -> Result<String> {
        let mut drawn = self.drawn.borrow_mut();
        if !drawn.contains_key(key) {
            let value: Option<i64> =
                self.db
                    .opt("SELECT value FROM counters WHERE key = ?1", p![key], |r| {
                        r.get(0)
                    })?;
            let value = value.unwrap_or(0).max(0) as u64;
            drawn.insert(
                key.to_string(),
                Drawn {
                    value,
                    checked_to: value,
                    taken: Default::default(),
                },
            );
        }
        let d = drawn.get_mut(key).expect("inserted above");
        loop {
            let counter = d.value + 1;
            if counter > d.checked_to {
                let block: Vec<String> = (counter..counter + NUMBERS_CHECKED_AT_ONCE)
                    .map(&mut format)
                    .collect();
                let block = serde_json::to_string(&block).expect("strings serialise");
                let block_table = self.db.json_texts_table(1, "candidate");
                self.db.each(
                    &format!(
                        "SELECT t.number FROM {block_table}
                           JOIN tickets t ON t.number = candidate.value"
                    ),
                    p![block],
                    |r| {
                        d.taken.insert(r.get(0)?);
                        Ok(())
                    },
                )?;
                d.checked_to = counter + NUMBERS_CHECKED_AT_ONCE - 1;
            }
            d.value = counter;
            let number = format(counter);
            if !d.taken.contains(&number) && !self.opened.borrow().contains_key(&number) {
                self.db.defer(
                    "INSERT INTO counters(key, value) VALUES (?1, ?2)
                         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    p![key, counter as i64],
                )?;
                return Ok(number);
            }
        }
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
        self.db.defer(
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
        (self.prefetched.borrow_mut()).ticket_at(number, queue, state);
        let opened = Opened {
            last_seq: 0,
            created: at.to_string(),
            updated: at.to_string(),
        };
        self.opened.borrow_mut().insert(number.to_string(), opened);
        Ok(())
    }

    pub fn set_ticket(&self, number: &str, queue: &str, state: State, at: &str) -> Result<()> {
        (self.prefetched.borrow_mut()).ticket_at(number, queue, state);
        self.db
            .exec("UPDATE tickets SET queue = ?2, state = ?3, updated = CASE WHEN updated > ?4 THEN updated ELSE ?4 END WHERE number = ?1", p![number, queue, state.as_str(), at])?;
        Ok(())
    }

    pub fn insert_article(&self, new: &NewArticle) -> Result<()> {
        let a = new.article;
        // The ticket's `updated` moves on only if the article is newer: a ticket this
        // transaction opened is known not to need it (an update fires the due-time trigger).
        let newer = match self.opened.borrow_mut().get_mut(&a.ticket) {
            Some(t) => {
                t.last_seq = t.last_seq.max(a.seq);
                let newer = a.received > t.updated;
                if newer {
                    t.updated = a.received.clone();
                }
                newer
            }
            None => true,
        };
        (self.prefetched.borrow_mut()).filed(a.message_id.as_deref(), &a.digest, &a.ticket);
        let attachments = serde_json::to_string(&a.attachments).unwrap_or_else(|_| "[]".into());
        self.db.defer(
            "INSERT INTO articles(ticket, file, message_id, digest, from_addr, to_addrs, cc_addrs,
                    subject, date, received, direction, classification, event, bounce_of, stranger,
                    size, attachments, staged, reply_addr, seq, author_header)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                    ?18, ?19, ?20, ?21)",
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
        )?;
        if !newer {
            return Ok(());
        }
        self.db
            .defer("UPDATE tickets SET updated = CASE WHEN updated > ?2 THEN updated ELSE ?2 END WHERE number = ?1", p![a.ticket, a.received])
    }

    /// What a ticket the batch asked ahead for is (`prefetch_tickets`): filing into it then
    /// needs no question about its last article or its opening. The write lock keeps it true.
    pub(super) fn known_ticket(
        &self,
        number: &str,
        last_seq: u64,
        created: String,
        updated: String,
    ) {
        let known = Opened {
            last_seq,
            created,
            updated,
        };
        self.opened
            .borrow_mut()
            .entry(number.to_string())
            .or_insert(known);
    }

    /// When a ticket opened in this transaction (or asked ahead for) was, if it was.
    pub(super) fn opened_at(&self, number: &str) -> Option<String> {
        self.opened.borrow().get(number).map(|t| t.created.clone())
    }

    /// The sequence the ticket's next article gets: one more than its last.
    pub fn next_seq(&self, number: &str) -> Result<u64> {
        if let Some(t) = self.opened.borrow_mut().get_mut(number) {
            t.last_seq += 1;
            return Ok(t.last_seq);
        }
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
        (self.prefetched.borrow_mut()).participant_added(number, address);
        self.db.defer(
            "INSERT INTO participants(ticket, address) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            p![number, address],
        )?;
        Ok(())
    }

    pub fn add_history(&self, ticket: &str, at: &str, event: &str, detail: &str) -> Result<()> {
        self.db.defer(
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
        self.db.defer(
            "INSERT INTO history(ticket, at, event, detail, key) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(ticket, key) WHERE key IS NOT NULL
                 DO UPDATE SET at = excluded.at, event = excluded.event, detail = excluded.detail",
            p![ticket, at, event, detail, key],
        )?;
        Ok(())
    }

    pub fn insert_quarantine(&self, q: &Quarantined, staged: Option<&str>) -> Result<()> {
        (self.prefetched.borrow_mut()).quarantined(&q.digest, &q.reason);
        self.db.exec(
            "INSERT INTO quarantine(file, digest, message_id, reason, received, staged)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            p![q.file, q.digest, q.message_id, q.reason, q.received, staged],
        )?;
        Ok(())
    }

    /// Marks many staged files placed, a few hundred a statement: each statement costs the
    /// engine more than the rows it changes.
    pub fn clear_staged_all(&self, staged: &[String]) -> Result<()> {
        let within = self.db.in_json_texts();
        for chunk in staged.chunks(ROWS_A_STATEMENT) {
            let names = serde_json::to_string(chunk).expect("strings serialise");
            for table in ["articles", "quarantine"] {
                self.db.defer(
                    &format!("UPDATE {table} SET staged = NULL WHERE staged {within}"),
                    p![names],
                )?;
            }
        }
        Ok(())
    }

    /// Marks articles and quarantined messages as placed in the tree.
    pub fn clear_staged(&self, staged: &str) -> Result<()> {
        self.db.defer(
            "UPDATE articles SET staged = NULL WHERE staged = ?1",
            p![staged],
        )?;
        self.db.defer(
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
        // SQLite rolls a transaction back itself on some errors (a full disk): then there is
        // nothing left to roll back.
        let still_open = self.db.lite().is_none_or(|c| !c.is_autocommit());
        if self.open && still_open {
            if let Err(e) = self.db.batch("ROLLBACK") {
                tracing::warn!("index: rollback: {e}");
            }
        }
        if self.restore_full {
            if let Some(c) = self.db.lite() {
                if let Err(e) = c.pragma_update(None, "synchronous", "FULL") {
                    tracing::warn!("index: synchronous=FULL not restored: {e}");
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;
