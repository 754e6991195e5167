//! Table definitions and migrations.

use rusqlite::Connection;

pub(super) const VERSION: i64 = 9;

/// The articles' table, apart so that version 7 can make it under another name.
pub(super) const ARTICLES: &str = "
CREATE TABLE IF NOT EXISTS articles (
    id             INTEGER PRIMARY KEY,
    ticket         TEXT NOT NULL REFERENCES tickets(number),
    file           TEXT NOT NULL UNIQUE,
    message_id     TEXT,
    digest         TEXT NOT NULL,
    from_addr      TEXT NOT NULL,
    to_addrs       TEXT NOT NULL,
    cc_addrs       TEXT NOT NULL,
    subject        TEXT NOT NULL,
    date           TEXT,
    received       TEXT NOT NULL,
    direction      TEXT NOT NULL,
    classification TEXT NOT NULL,
    event          TEXT NOT NULL,
    bounce_of      TEXT,
    stranger       INTEGER NOT NULL,
    size           INTEGER NOT NULL,
    attachments    TEXT NOT NULL,
    staged         TEXT,
    reply_addr     TEXT,
    seq            INTEGER NOT NULL DEFAULT 0,
    author_header  TEXT
);
";

/// Every column of `articles`, in the order of its definition.
const ARTICLE_COLUMNS: &str = "id, ticket, file, message_id, digest, from_addr, to_addrs, cc_addrs,
    subject, date, received, direction, classification, event, bounce_of, stranger, size,
    attachments, staged, reply_addr, seq, author_header";

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tickets (
    number   TEXT PRIMARY KEY,
    queue    TEXT NOT NULL,
    state    TEXT NOT NULL,
    subject  TEXT NOT NULL,
    customer TEXT NOT NULL,
    created  TEXT NOT NULL,
    updated  TEXT NOT NULL,
    refers   TEXT,
    owner    TEXT,
    priority TEXT NOT NULL DEFAULT 'normal',
    pending  TEXT,
    customer_id TEXT,
    customer_address TEXT,
    person TEXT,
    organisation TEXT,
    service TEXT,
    sla TEXT,
    due_at INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tickets_queue_state ON tickets(queue, state);
CREATE INDEX IF NOT EXISTS tickets_person ON tickets(person) WHERE person IS NOT NULL;
CREATE INDEX IF NOT EXISTS tickets_organisation ON tickets(organisation)
    WHERE organisation IS NOT NULL;
CREATE INDEX IF NOT EXISTS articles_ticket ON articles(ticket, seq);
CREATE INDEX IF NOT EXISTS articles_message_id ON articles(message_id);
-- Duplicates are found by Message-ID, then digest (see index::lookup); by digest only those
-- without a Message-ID.
CREATE INDEX IF NOT EXISTS articles_digest_without_id ON articles(digest)
    WHERE message_id IS NULL;
CREATE INDEX IF NOT EXISTS articles_staged ON articles(staged) WHERE staged IS NOT NULL;
CREATE TABLE IF NOT EXISTS participants (
    ticket  TEXT NOT NULL,
    address TEXT NOT NULL,
    PRIMARY KEY (ticket, address)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS accepted (
    ticket  TEXT NOT NULL,
    address TEXT NOT NULL,
    added   INTEGER NOT NULL,
    at      TEXT NOT NULL,
    PRIMARY KEY (ticket, address)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS history (
    id     INTEGER PRIMARY KEY,
    ticket TEXT NOT NULL,
    at     TEXT NOT NULL,
    event  TEXT NOT NULL,
    detail TEXT NOT NULL,
    key    TEXT
);
CREATE INDEX IF NOT EXISTS history_ticket ON history(ticket);
CREATE UNIQUE INDEX IF NOT EXISTS history_key ON history(ticket, key) WHERE key IS NOT NULL;
-- The events service levels' deadlines follow, each ticket's in order, with every column they
-- read: a report reads them for a year of tickets in one scan of this index alone. Partial, so
-- intake's other history lines do not write it; made by any writer that opens an older index.
CREATE INDEX IF NOT EXISTS history_deadlines ON history(ticket, id, at, event, detail, key)
    WHERE event IN ('pending', 'closed', 'reopened') OR key LIKE 'sla:%' OR key LIKE 'pending:%';
CREATE TABLE IF NOT EXISTS quarantine (
    id         INTEGER PRIMARY KEY,
    file       TEXT NOT NULL UNIQUE,
    digest     TEXT NOT NULL UNIQUE,
    message_id TEXT,
    reason     TEXT NOT NULL,
    received   TEXT NOT NULL,
    staged     TEXT
);
CREATE INDEX IF NOT EXISTS quarantine_staged ON quarantine(staged) WHERE staged IS NOT NULL;
CREATE TABLE IF NOT EXISTS outbox (
    id         INTEGER PRIMARY KEY,
    ticket     TEXT NOT NULL,
    file       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    env_from   TEXT NOT NULL,
    rcpts      TEXT NOT NULL,
    state      TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    created    INTEGER NOT NULL,
    next_at    INTEGER NOT NULL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(next_at) WHERE state = 'queued';
-- The bytes of queued mail that is not stored in the tree (agents' pointer notices): kept until
-- sent, then dropped. Created by any writer that opens an index of schema 4, so no upgrade step.
CREATE TABLE IF NOT EXISTS outbox_mail (
    file  TEXT PRIMARY KEY,
    bytes BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS autoreplies (
    recipient TEXT NOT NULL,
    at        INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS autoreplies_recipient ON autoreplies(recipient, at);
CREATE INDEX IF NOT EXISTS autoreplies_at ON autoreplies(at);
-- Autoresponses per second (schema 9): what the circuit breaker adds up over its minute, at
-- most 61 rows read, however many were sent in it.
CREATE TABLE IF NOT EXISTS autoreply_seconds (
    at INTEGER PRIMARY KEY,
    n  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending_lines (
    id     INTEGER PRIMARY KEY,
    ticket TEXT NOT NULL,
    line   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS imap_checkpoints (
    source      TEXT NOT NULL,
    folder      TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    last_uid    INTEGER NOT NULL,
    PRIMARY KEY (source, folder)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS seen_sources (
    source TEXT NOT NULL,
    name   TEXT NOT NULL,
    PRIMARY KEY (source, name)
) WITHOUT ROWID;
-- Notices to agents, by the sender of the mail they were about: the per-sender limit counts them.
CREATE TABLE IF NOT EXISTS notices (
    sender TEXT NOT NULL,
    at     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS notices_sender ON notices(sender, at);
CREATE INDEX IF NOT EXISTS notices_at ON notices(at);
-- Scheduled reports queued, one row per report and period, committed with the outbox row of the
-- mail that carries it: a restart never queues one twice.
CREATE TABLE IF NOT EXISTS report_sent (
    name   TEXT NOT NULL,
    period TEXT NOT NULL,
    at     TEXT NOT NULL,
    file   TEXT NOT NULL,
    PRIMARY KEY (name, period)
) WITHOUT ROWID;
-- Service levels: each ticket's next due time (Unix seconds), NULL when nothing is to be done
-- for it; 0 when something happened and its deadlines must be worked out again. The daemon's
-- round reads only the tickets due, through this index, and wakes at the smallest. A closed
-- ticket has none (see CLOSED_DUE), so the index holds open tickets only.
CREATE INDEX IF NOT EXISTS tickets_due ON tickets(due_at) WHERE due_at IS NOT NULL;
CREATE TRIGGER IF NOT EXISTS tickets_due_opened AFTER INSERT ON tickets WHEN NEW.state = 'open'
BEGIN
    UPDATE tickets SET due_at = 0 WHERE number = NEW.number;
END;
CREATE TRIGGER IF NOT EXISTS tickets_due_changed
    AFTER UPDATE OF updated, state, queue, pending, sla, service ON tickets
    WHEN NEW.state = 'open'
BEGIN
    UPDATE tickets SET due_at = 0 WHERE number = NEW.number;
END;
-- Maildir flags the service levels want on articles (`want` 1: flagged, 0: not), until the
-- rename is done and durable (`done`); rebuilt by reindex from the event log's sla lines.
CREATE TABLE IF NOT EXISTS sla_flags (
    ticket TEXT NOT NULL,
    file   TEXT NOT NULL,
    want   INTEGER NOT NULL,
    done   INTEGER NOT NULL,
    PRIMARY KEY (ticket, file)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sla_flags_todo ON sla_flags(done) WHERE done = 0;
-- Calls agents asked for by mail (`#call`), committed with the agent's mail and placed by the
-- daemon's dialler after it; `taken` once the dialler has begun, so that a call interrupted by a
-- crash is reported, never placed twice. Not derived from the tree: reindex leaves them.
CREATE TABLE IF NOT EXISTS pending_calls (
    id        INTEGER PRIMARY KEY,
    ticket    TEXT NOT NULL,
    agent     TEXT NOT NULL,
    number    TEXT NOT NULL,
    requested TEXT NOT NULL,
    taken     INTEGER NOT NULL DEFAULT 0
);
-- Agents' digests (agent-notice digest, see index::digest): each event committed with the
-- mail it is about, a row for each agent still to be told of it, and each agent's waiting and
-- last digest times. Created by any writer that opens an older index, so no upgrade step; not
-- derived from the tree: reindex leaves them, and no event waiting is lost to a rebuild.
CREATE TABLE IF NOT EXISTS digest_events (
    id        INTEGER PRIMARY KEY,
    ticket    TEXT NOT NULL,
    queue     TEXT NOT NULL,
    event     TEXT NOT NULL,
    from_addr TEXT NOT NULL,
    subject   TEXT NOT NULL,
    excerpt   TEXT NOT NULL,
    notes     TEXT NOT NULL,
    at        INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS digest_waiting (
    agent TEXT NOT NULL,
    event INTEGER NOT NULL,
    PRIMARY KEY (agent, event)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS digest_waiting_event ON digest_waiting(event);
CREATE TABLE IF NOT EXISTS digest_agents (
    agent         TEXT PRIMARY KEY,
    waiting_since INTEGER,
    sent          INTEGER
) WITHOUT ROWID;
-- Nodes sharing the index, each with its last heartbeat (Unix seconds), and the leases of jobs
-- one node does at a time (see index::nodes). Created by any writer, so no upgrade step.
CREATE TABLE IF NOT EXISTS nodes (
    name      TEXT PRIMARY KEY,
    pid       INTEGER NOT NULL,
    started   INTEGER NOT NULL,
    heartbeat INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
    name    TEXT PRIMARY KEY,
    node    TEXT NOT NULL,
    expires INTEGER NOT NULL
);
";

/// Whether a closed ticket still has something for the service levels' round: a warning or
/// breach recorded (keys `sla:CLOCK:CYCLE:warning`, `…:breach`) whose deadline is not yet recorded
/// as over (`sla:CLOCK:CYCLE:met`), which the round does once (and unflags the article). `{t}`:
/// the ticket's number.
const UNSETTLED: &str = "EXISTS (SELECT 1 FROM history e WHERE e.ticket = {t}
    AND (e.key LIKE 'sla:%:warning' OR e.key LIKE 'sla:%:breach')
    AND NOT EXISTS (SELECT 1 FROM history m WHERE m.ticket = e.ticket
        AND m.key = substr(e.key, 1, length(e.key)
            - CASE WHEN e.key LIKE '%:warning' THEN 7 ELSE 6 END) || 'met'))";

/// Version 8: a closed ticket is due only while it has something unsettled, when it closes (or
/// a rebuild replays its closing) and when a deadline of it is recorded as over; an article
/// filed in it, a move or a rebuild leave it alone (`tickets_due_changed` looks at open ones).
fn closed_due() -> String {
    let closing = UNSETTLED.replace("{t}", "NEW.number");
    let met = UNSETTLED.replace("{t}", "NEW.ticket");
    format!(
        "CREATE TRIGGER IF NOT EXISTS tickets_due_closed AFTER UPDATE OF state ON tickets
             WHEN NEW.state <> 'open'
         BEGIN
             UPDATE tickets SET due_at = CASE WHEN {closing} THEN 0 END WHERE number = NEW.number;
         END;
         CREATE TRIGGER IF NOT EXISTS tickets_due_met AFTER INSERT ON history
             WHEN NEW.key LIKE 'sla:%:met'
         BEGIN
             UPDATE tickets SET due_at = CASE WHEN {met} THEN 0 END
             WHERE number = NEW.ticket AND state <> 'open' AND due_at IS NOT NULL;
         END;"
    )
}

/// Version 4: the directory (who is who), copied from its sources. Not derived from the tree:
/// `clear` leaves it, and a fresh index loads it again from its sources.
pub(super) const DIRECTORY: &str = "
CREATE TABLE IF NOT EXISTS directory_persons (
    id           TEXT NOT NULL,
    source       TEXT NOT NULL,
    organisation TEXT,
    data         TEXT NOT NULL,
    PRIMARY KEY (id, source)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS directory_persons_source ON directory_persons(source);
CREATE TABLE IF NOT EXISTS directory_organisations (
    id     TEXT NOT NULL,
    source TEXT NOT NULL,
    data   TEXT NOT NULL,
    PRIMARY KEY (id, source)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS directory_organisations_source ON directory_organisations(source);
CREATE TABLE IF NOT EXISTS directory_services (
    name   TEXT NOT NULL,
    source TEXT NOT NULL,
    data   TEXT NOT NULL,
    PRIMARY KEY (name, source)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS directory_groups (
    name   TEXT NOT NULL,
    source TEXT NOT NULL,
    data   TEXT NOT NULL,
    PRIMARY KEY (name, source)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS directory_keys (
    key    TEXT NOT NULL,
    kind   TEXT NOT NULL,
    id     TEXT NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (key, kind, id, source)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS directory_keys_source ON directory_keys(source);
CREATE TABLE IF NOT EXISTS directory_sources (
    source      TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    loaded      TEXT NOT NULL
) WITHOUT ROWID;
-- An organisation's service instances name its tickets' service level: when its entry changes,
-- the deadlines of its open tickets are worked out again (through tickets_organisation).
CREATE TRIGGER IF NOT EXISTS tickets_due_organisation_added
    AFTER INSERT ON directory_organisations
BEGIN
    UPDATE tickets SET due_at = 0 WHERE organisation = NEW.id AND state = 'open';
END;
CREATE TRIGGER IF NOT EXISTS tickets_due_organisation_changed
    AFTER UPDATE ON directory_organisations
BEGIN
    UPDATE tickets SET due_at = 0 WHERE organisation = NEW.id AND state = 'open';
END;
";

/// The schema version a database was written with (0: a new file).
pub fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

/// Creates or upgrades the schema in one transaction: a process that dies half way leaves the
/// index as it was, and other processes see either no schema or the whole of it.
pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    // Moving the articles into a new table (version 7) copies them as they are: foreign keys
    // are not checked meanwhile (a setting SQLite takes only outside a transaction).
    let foreign_keys: bool = conn.pragma_query_value(None, "foreign_keys", |r| r.get(0))?;
    conn.pragma_update(None, "foreign_keys", false)?;
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let done = match migrate_in_transaction(conn) {
        Ok(()) => conn.execute_batch("COMMIT"),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    };
    conn.pragma_update(None, "foreign_keys", foreign_keys)?;
    done
}

fn migrate_in_transaction(conn: &Connection) -> rusqlite::Result<()> {
    let v = version(conn)?;
    if v > VERSION {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "index schema version {v} is newer than this postdesk understands ({VERSION})"
        )));
    }
    if v == 1 {
        conn.execute_batch(
            "ALTER TABLE tickets ADD COLUMN owner TEXT;
             ALTER TABLE tickets ADD COLUMN priority TEXT NOT NULL DEFAULT 'normal';
             ALTER TABLE tickets ADD COLUMN pending TEXT;
             ALTER TABLE tickets ADD COLUMN customer_id TEXT;
             ALTER TABLE articles ADD COLUMN reply_addr TEXT;
             ALTER TABLE history ADD COLUMN key TEXT;
             CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
             INSERT OR REPLACE INTO counters(key, value) VALUES ('reindex-needed', 1);",
        )?;
    }
    if (1..3).contains(&v) {
        // Version 3: each article's place in its ticket (assigned at commit, kept in its trace
        // block), the header its author came from, the customer address an agent set with
        // `#customer`, and the participants agents accepted with `#cc` (the `accepted` table,
        // created below). A rebuild from the tree fills them in for the articles already there.
        conn.execute_batch(
            "ALTER TABLE articles ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
             ALTER TABLE articles ADD COLUMN author_header TEXT;
             ALTER TABLE tickets ADD COLUMN customer_address TEXT;
             DROP INDEX IF EXISTS articles_ticket;
             INSERT OR REPLACE INTO counters(key, value) VALUES ('reindex-needed', 1);",
        )?;
    }
    if (1..5).contains(&v) {
        // Version 5: whom a ticket belongs to in the directory (the customer's person id, the
        // organisation, the service), from the trace block of the article that opened it.
        // Tickets opened before read as unknown, which is what a rebuild would find for them:
        // no rebuild is needed.
        conn.execute_batch(
            "ALTER TABLE tickets ADD COLUMN person TEXT;
             ALTER TABLE tickets ADD COLUMN organisation TEXT;
             ALTER TABLE tickets ADD COLUMN service TEXT;",
        )?;
    }
    if (1..6).contains(&v) {
        // Version 6: service levels. A ticket's SLA set by an agent (`#sla`), and its next due
        // time: every open ticket is looked at once by the next round, which stores it.
        conn.execute_batch(
            "ALTER TABLE tickets ADD COLUMN sla TEXT;
             ALTER TABLE tickets ADD COLUMN due_at INTEGER;
             UPDATE tickets SET due_at = 0 WHERE state = 'open';",
        )?;
    }
    if (1..7).contains(&v) {
        // Version 7: no unique index of every article's digest (see index::lookup). SQLite
        // drops a column's UNIQUE only with the table: the rows move into a new one, and the
        // indexes are made again below.
        let new_table = ARTICLES.replacen(" articles (", " articles_v7 (", 1);
        conn.execute_batch(&format!(
            "{new_table}
             INSERT INTO articles_v7({ARTICLE_COLUMNS}) SELECT {ARTICLE_COLUMNS} FROM articles;
             DROP TABLE articles;
             ALTER TABLE articles_v7 RENAME TO articles;"
        ))?;
    }
    if (1..8).contains(&v) {
        // Version 8: closed tickets are not made due by what changes them (see closed_due),
        // and those an earlier version made due (every article filed by a rebuild did) are
        // not, unless something is unsettled.
        conn.execute_batch("DROP TRIGGER IF EXISTS tickets_due_changed;")?;
    }
    conn.execute_batch(ARTICLES)?;
    conn.execute_batch(SCHEMA)?;
    if (1..9).contains(&v) {
        // Version 9: the circuit breaker's per-second counts, from the autoresponses recorded.
        conn.execute_batch(
            "INSERT OR REPLACE INTO autoreply_seconds(at, n)
             SELECT at, count(*) FROM autoreplies GROUP BY at;",
        )?;
    }
    conn.execute_batch(&closed_due())?;
    conn.execute_batch(DIRECTORY)?;
    if (1..8).contains(&v) {
        let unsettled = UNSETTLED.replace("{t}", "tickets.number");
        conn.execute_batch(&format!(
            "UPDATE tickets SET due_at = CASE WHEN {unsettled} THEN 0 END
             WHERE due_at IS NOT NULL AND state <> 'open';"
        ))?;
    }
    conn.pragma_update(None, "user_version", VERSION)?;
    Ok(())
}

pub fn clear(conn: &super::db::Db) -> super::Result<()> {
    // Queued mail whose bytes are in the index only (agents' pointer notices, scheduled
    // reports) is not in the tree to be found again: it stays queued, with its bytes and the
    // record that a report was made. Everything else in the outbox is rebuilt from the tree.
    // A report whose queued mail has lost its bytes is forgotten, so the daemon makes it again.
    conn.batch(
        "DELETE FROM report_sent WHERE file IN (SELECT file FROM outbox WHERE state = 'queued'
                                                AND file NOT IN (SELECT file FROM outbox_mail));
         DELETE FROM articles; DELETE FROM participants; DELETE FROM accepted; DELETE FROM history; DELETE FROM counters;
         DELETE FROM quarantine; DELETE FROM tickets;
         DELETE FROM outbox
          WHERE NOT (state = 'queued' AND file IN (SELECT file FROM outbox_mail));
         DELETE FROM outbox_mail WHERE file NOT IN (SELECT file FROM outbox);
         DELETE FROM autoreplies; DELETE FROM autoreply_seconds; DELETE FROM notices;
         DELETE FROM pending_lines;
         DELETE FROM sla_flags;",
    )
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
