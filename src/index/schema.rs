//! Table definitions and migrations.

use rusqlite::Connection;

pub(super) const VERSION: i64 = 6;

const SCHEMA: &str = "
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
CREATE TABLE IF NOT EXISTS articles (
    id             INTEGER PRIMARY KEY,
    ticket         TEXT NOT NULL REFERENCES tickets(number),
    file           TEXT NOT NULL UNIQUE,
    message_id     TEXT,
    digest         TEXT NOT NULL UNIQUE,
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
CREATE INDEX IF NOT EXISTS articles_ticket ON articles(ticket, seq);
CREATE INDEX IF NOT EXISTS articles_message_id ON articles(message_id);
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
-- round reads only the tickets due, through this index, and wakes at the smallest.
CREATE INDEX IF NOT EXISTS tickets_due ON tickets(due_at) WHERE due_at IS NOT NULL;
CREATE TRIGGER IF NOT EXISTS tickets_due_opened AFTER INSERT ON tickets WHEN NEW.state = 'open'
BEGIN
    UPDATE tickets SET due_at = 0 WHERE number = NEW.number;
END;
CREATE TRIGGER IF NOT EXISTS tickets_due_changed
    AFTER UPDATE OF updated, state, queue, pending, sla, service ON tickets
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
";

/// Version 4: the directory (who is who), copied from its sources. Not derived from the tree:
/// `clear` leaves it, and a fresh index loads it again from its sources.
const DIRECTORY: &str = "
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
    conn.execute_batch("BEGIN IMMEDIATE")?;
    match migrate_in_transaction(conn) {
        Ok(()) => conn.execute_batch("COMMIT"),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
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
    conn.execute_batch(SCHEMA)?;
    conn.execute_batch(DIRECTORY)?;
    conn.pragma_update(None, "user_version", VERSION)?;
    Ok(())
}

pub fn clear(conn: &Connection) -> rusqlite::Result<()> {
    // A scheduled report still queued leaves with the outbox (its bytes are in the index only):
    // forgetting that it was sent lets the daemon make it again. Sent ones stay recorded.
    conn.execute_batch(
        "DELETE FROM report_sent WHERE file IN (SELECT file FROM outbox WHERE state = 'queued');
         DELETE FROM articles; DELETE FROM participants; DELETE FROM accepted; DELETE FROM history; DELETE FROM counters;
         DELETE FROM quarantine; DELETE FROM tickets; DELETE FROM outbox; DELETE FROM outbox_mail;
         DELETE FROM autoreplies; DELETE FROM notices; DELETE FROM pending_lines;
         DELETE FROM sla_flags;",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema as version 2 wrote it, with one article.
    const VERSION_2: &str = "CREATE TABLE tickets (number TEXT PRIMARY KEY, queue TEXT NOT NULL,
                state TEXT NOT NULL, subject TEXT NOT NULL, customer TEXT NOT NULL,
                created TEXT NOT NULL, updated TEXT NOT NULL, refers TEXT, owner TEXT,
                priority TEXT NOT NULL DEFAULT 'normal', pending TEXT, customer_id TEXT)
                WITHOUT ROWID;
             CREATE TABLE articles (id INTEGER PRIMARY KEY, ticket TEXT NOT NULL, file TEXT NOT NULL
                UNIQUE, message_id TEXT, received TEXT NOT NULL, staged TEXT, reply_addr TEXT);
             CREATE INDEX articles_ticket ON articles(ticket);
             CREATE TABLE counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
             INSERT INTO articles(ticket, file, received) VALUES ('1', 'a', 'x');
             PRAGMA user_version = 2;";

    /// An upgrade that fails part way leaves the index as it was, so that the next start can
    /// try again instead of finding half of the new columns ("duplicate column").
    #[test]
    fn a_failed_upgrade_changes_nothing() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(VERSION_2).unwrap();
        // The third of the step's statements fails: the first two must not stay.
        conn.execute_batch("ALTER TABLE tickets ADD COLUMN customer_address TEXT;")
            .unwrap();
        assert!(migrate(&conn).is_err());
        assert_eq!(version(&conn).unwrap(), 2);
        assert!(conn.prepare("SELECT seq FROM articles").is_err());
        assert!(conn.prepare("SELECT 1 FROM accepted").is_err());
        conn.execute_batch("ALTER TABLE tickets DROP COLUMN customer_address;")
            .unwrap();
        migrate(&conn).unwrap();
        assert_eq!(version(&conn).unwrap(), VERSION);
    }

    /// An index of version 2 gains the sequence, author header, customer address and accepted
    /// participants, and asks for the rebuild that fills them in.
    #[test]
    fn version_2_is_upgraded_and_asks_for_a_rebuild() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(VERSION_2).unwrap();
        migrate(&conn).unwrap();
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, VERSION);
        let (seq, header): (i64, Option<String>) = conn
            .query_row("SELECT seq, author_header FROM articles", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((seq, header), (0, None));
        conn.execute_batch(
            "SELECT customer_address FROM tickets; SELECT added, at FROM accepted;
             SELECT 1 FROM counters WHERE key = 'reindex-needed';",
        )
        .unwrap();
        let flagged: i64 = conn
            .query_row(
                "SELECT count(*) FROM counters WHERE key = 'reindex-needed'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(flagged, 1);
        // Opening it again changes nothing.
        migrate(&conn).unwrap();
    }

    /// A rebuild forgets the scheduled reports whose mail was still queued (the outbox goes),
    /// so they are made again, and keeps those sent.
    #[test]
    fn clearing_forgets_reports_still_queued() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn).unwrap();
        conn.execute_batch(
            "INSERT INTO report_sent VALUES ('w', 'p1', 'x', 'f1'), ('w', 'p2', 'x', 'f2');
             INSERT INTO outbox(ticket, file, kind, env_from, rcpts, state, created, next_at)
             VALUES ('', 'f1', 'report', '', '[]', 'sent', 0, 0),
                    ('', 'f2', 'report', '', '[]', 'queued', 0, 0);",
        )
        .unwrap();
        clear(&conn).unwrap();
        let left: String = conn
            .query_row("SELECT group_concat(period) FROM report_sent", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(left, "p1");
    }

    /// A reader that opens the index while the first process to take mail is creating it sees
    /// an empty index, not "no such table".
    #[test]
    fn an_index_being_created_reads_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.sqlite");
        let creator = Connection::open(&path).unwrap();
        creator
            .execute_batch("BEGIN IMMEDIATE; CREATE TABLE t (x);")
            .unwrap();
        let reader = crate::index::Index::open_readonly(&path).unwrap();
        assert!(reader.tickets(None, None).unwrap().is_empty());
        creator.execute_batch("ROLLBACK").unwrap();
    }

    /// An index of version 3 gains the directory's tables, empty, and needs no rebuild: the
    /// directory comes from its sources, not from the tree.
    #[test]
    fn version_3_gains_the_directory_without_a_rebuild() {
        let conn = Connection::open_in_memory().unwrap();
        without_attribution(&conn);
        conn.pragma_update(None, "user_version", 3).unwrap();
        migrate(&conn).unwrap();
        let n: i64 = conn
            .query_row(
                "SELECT (SELECT count(*) FROM directory_keys) + (SELECT count(*) FROM directory_sources)
                      + (SELECT count(*) FROM counters WHERE key = 'reindex-needed')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0);
    }

    /// The tables as version 4 had them: today's, without the tickets' attribution.
    fn without_attribution(conn: &Connection) {
        conn.execute_batch(SCHEMA).unwrap();
        conn.execute_batch(
            "DROP INDEX tickets_person; DROP INDEX tickets_organisation;
             ALTER TABLE tickets DROP COLUMN person; ALTER TABLE tickets DROP COLUMN organisation;
             ALTER TABLE tickets DROP COLUMN service;
             DROP TRIGGER tickets_due_opened; DROP TRIGGER tickets_due_changed;
             DROP INDEX tickets_due; ALTER TABLE tickets DROP COLUMN sla;
             ALTER TABLE tickets DROP COLUMN due_at;",
        )
        .unwrap();
    }

    /// A change to an organisation's entry in the directory (its service instances' service
    /// levels) makes its open tickets due for a new computation, and no one else's.
    #[test]
    fn an_organisation_changed_makes_its_open_tickets_due() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn).unwrap();
        conn.execute_batch(
            "INSERT INTO tickets(number, queue, state, subject, customer, created, updated,
                organisation) VALUES
                ('1', 'S', 'open', 's', 'c', 'x', 'x', 'o1'),
                ('2', 'S', 'closed', 's', 'c', 'x', 'x', 'o1'),
                ('3', 'S', 'open', 's', 'c', 'x', 'x', 'o2');
             UPDATE tickets SET due_at = 99;
             INSERT INTO directory_organisations(id, source, data) VALUES ('o1', 'file', '{}');",
        )
        .unwrap();
        let due = |conn: &Connection| -> Vec<i64> {
            let mut st = conn
                .prepare("SELECT due_at FROM tickets ORDER BY number")
                .unwrap();
            st.query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        assert_eq!(due(&conn), [0, 99, 99]);
        conn.execute_batch(
            "UPDATE tickets SET due_at = 99;
             UPDATE directory_organisations SET data = '{\"x\":1}' WHERE id = 'o1';",
        )
        .unwrap();
        assert_eq!(due(&conn), [0, 99, 99]);
    }

    /// An index of version 4 keeps its tickets, which read as belonging to nobody known, and
    /// needs no rebuild: their articles carry no attribution either.
    #[test]
    fn version_4_tickets_read_as_unknown() {
        let conn = Connection::open_in_memory().unwrap();
        without_attribution(&conn);
        conn.execute_batch(DIRECTORY).unwrap();
        conn.execute_batch(
            "INSERT INTO tickets(number, queue, state, subject, customer, created, updated)
             VALUES ('1', 'Support', 'open', 's', 'a@b.example', 'x', 'x');
             PRAGMA user_version = 4;",
        )
        .unwrap();
        migrate(&conn).unwrap();
        assert_eq!(version(&conn).unwrap(), VERSION);
        let row: (Option<String>, Option<String>, Option<String>, i64) = conn
            .query_row(
                "SELECT person, organisation, service,
                        (SELECT count(*) FROM counters WHERE key = 'reindex-needed') FROM tickets",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(row, (None, None, None, 0));
    }
}
