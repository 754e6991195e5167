use super::*;

/// The schema as version 2 wrote it, with one article.
const VERSION_2: &str = "CREATE TABLE tickets (number TEXT PRIMARY KEY, queue TEXT NOT NULL,
            state TEXT NOT NULL, subject TEXT NOT NULL, customer TEXT NOT NULL,
            created TEXT NOT NULL, updated TEXT NOT NULL, refers TEXT, owner TEXT,
            priority TEXT NOT NULL DEFAULT 'normal', pending TEXT, customer_id TEXT)
            WITHOUT ROWID;
         CREATE TABLE articles (id INTEGER PRIMARY KEY, ticket TEXT NOT NULL, file TEXT NOT NULL
            UNIQUE, message_id TEXT, digest TEXT NOT NULL UNIQUE, from_addr TEXT NOT NULL,
            to_addrs TEXT NOT NULL, cc_addrs TEXT NOT NULL, subject TEXT NOT NULL, date TEXT,
            received TEXT NOT NULL, direction TEXT NOT NULL, classification TEXT NOT NULL,
            event TEXT NOT NULL, bounce_of TEXT, stranger INTEGER NOT NULL, size INTEGER NOT NULL,
            attachments TEXT NOT NULL, staged TEXT, reply_addr TEXT);
         CREATE INDEX articles_ticket ON articles(ticket);
         CREATE TABLE counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
         INSERT INTO articles(ticket, file, digest, from_addr, to_addrs, cc_addrs, subject,
            received, direction, classification, event, stranger, size, attachments)
            VALUES ('1', 'a', 'd', 'f', '', '', 's', 'x', 'in', '', '', 0, 1, '[]');
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

/// A rebuild keeps queued mail whose bytes are in the index only (a scheduled report, a pointer
/// notice) with the record of its report, forgets a queued report whose bytes are gone (so it
/// is made again), and keeps the record of those sent.
#[test]
fn clearing_keeps_queued_mail_that_lives_in_the_index_only() {
    let conn = Connection::open_in_memory().unwrap();
    migrate(&conn).unwrap();
    conn.execute_batch(
        "INSERT INTO report_sent VALUES ('w', 'p1', 'x', 'f1'), ('w', 'p2', 'x', 'f2'),
                                        ('w', 'p3', 'x', 'f3');
         INSERT INTO outbox(ticket, file, kind, env_from, rcpts, state, created, next_at)
         VALUES ('', 'f1', 'report', '', '[]', 'sent', 0, 0),
                ('', 'f2', 'report', '', '[]', 'queued', 0, 0),
                ('', 'f3', 'report', '', '[]', 'queued', 0, 0),
                ('1', 'f4', 'autoresponse', '', '[]', 'queued', 0, 0);
         INSERT INTO outbox_mail VALUES ('f3', x'00'), ('f9', x'00');",
    )
    .unwrap();
    let db = crate::index::db::Db::Lite(conn);
    clear(&db).unwrap();
    let conn = db.lite().expect("an SQLite index");
    let one = |sql: &str| -> String { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(one("SELECT group_concat(period) FROM report_sent"), "p1,p3");
    assert_eq!(one("SELECT group_concat(file) FROM outbox"), "f3");
    assert_eq!(one("SELECT group_concat(file) FROM outbox_mail"), "f3");
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
    conn.execute_batch(ARTICLES).unwrap();
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

/// An index of version 6 keeps its articles, now without the unique index of every digest
/// (random keys, a page written per message in a large index); a message seen before is still
/// a duplicate, with its Message-ID or without one, and an article is still found by its
/// Message-ID.
#[test]
fn version_6_articles_lose_the_unique_digest_index_and_keep_their_duplicates() {
    let conn = Connection::open_in_memory().unwrap();
    let v6_articles = ARTICLES.replace(
        "digest         TEXT NOT NULL,",
        "digest TEXT NOT NULL UNIQUE,",
    );
    conn.execute_batch(&v6_articles).unwrap();
    conn.execute_batch(SCHEMA).unwrap();
    conn.execute_batch(DIRECTORY).unwrap();
    conn.execute_batch("DROP INDEX articles_digest_without_id")
        .unwrap();
    conn.execute_batch(
        "INSERT INTO tickets(number, queue, state, subject, customer, created, updated)
         VALUES ('1', 'Support', 'open', 's', 'a@b.example', 'x', 'x');
         INSERT INTO articles(id, ticket, file, message_id, digest, from_addr, to_addrs, cc_addrs,
            subject, received, direction, classification, event, stranger, size, attachments,
            staged, seq, author_header)
         VALUES (7, '1', 'f1', 'm1@x', 'd1', 'a@b.example', '', '', 's', 'x', 'in', '', '', 0, 1,
                 '[]', 'st', 1, 'From'),
                (8, '1', 'f2', NULL, 'd2', 'a@b.example', '', '', 's', 'x', 'in', '', '', 0, 1,
                 '[]', NULL, 2, NULL);
         PRAGMA user_version = 6;",
    )
    .unwrap();
    let autoindexes = |conn: &Connection| -> i64 {
        conn.query_row(
            "SELECT count(*) FROM sqlite_schema WHERE tbl_name = 'articles' AND sql IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(
        autoindexes(&conn),
        2,
        "file and digest, as version 6 had them"
    );
    migrate(&conn).unwrap();
    assert_eq!(version(&conn).unwrap(), VERSION);
    assert_eq!(autoindexes(&conn), 1, "file only");
    let row: (i64, String, Option<String>, i64, Option<String>) = conn
        .query_row(
            "SELECT id, file, staged, seq, author_header FROM articles WHERE digest = 'd1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(
        row,
        (7, "f1".into(), Some("st".into()), 1, Some("From".into()))
    );
    let mut index = crate::index::Index {
        db: crate::index::db::Db::Lite(conn),
        durable: false,
        turns: None,
    };
    use crate::index::{Duplicate, Lookup};
    let article = |t: &str| Some(Duplicate::Article { ticket: t.into() });
    assert_eq!(index.duplicate("d1", Some("m1@x")).unwrap(), article("1"));
    assert_eq!(index.duplicate("d2", None).unwrap(), article("1"));
    assert_eq!(index.duplicate("d1", None).unwrap(), None);
    assert_eq!(index.duplicate("d2", Some("m1@x")).unwrap(), None);
    assert_eq!(index.duplicate("d3", Some("m1@x")).unwrap(), None);
    assert_eq!(index.ticket_of_message("m1@x").unwrap(), Some("1".into()));
    // New articles go in, and the statements use the indexes, not a scan of the articles.
    let plan = |sql: &str| -> String {
        let mut st = index
            .db
            .lite()
            .expect("an SQLite index")
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        st.query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
            .join("; ")
    };
    let by_id = plan("SELECT ticket FROM articles WHERE message_id = 'm' AND digest = 'd' LIMIT 1");
    assert!(by_id.contains("articles_message_id"), "{by_id}");
    let by_digest =
        plan("SELECT ticket FROM articles WHERE digest = 'd' AND message_id IS NULL LIMIT 1");
    assert!(
        by_digest.contains("articles_digest_without_id"),
        "{by_digest}"
    );
    let tx = index.begin().unwrap();
    tx.db()
        .lite()
        .expect("an SQLite index")
        .execute_batch(
            "INSERT INTO articles(ticket, file, message_id, digest, from_addr, to_addrs, cc_addrs,
                subject, received, direction, classification, event, stranger, size, attachments)
             VALUES ('1', 'f3', 'm1@x', 'd1', 'a', '', '', 's', 'x', 'in', '', '', 0, 1, '[]')",
        )
        .unwrap();
    tx.commit().unwrap();
}

/// An index of version 7 made closed tickets due whenever they changed (a rebuild filing their
/// articles did, for every ticket): the upgrade leaves due only the open ones and the closed
/// ones with an escalation not yet recorded as over, and from then on a closed ticket that
/// changes stays as it is.
#[test]
fn version_7_closed_tickets_lose_their_due_time() {
    let conn = Connection::open_in_memory().unwrap();
    migrate(&conn).unwrap();
    conn.execute_batch(
        "DROP TRIGGER tickets_due_closed;
         DROP TRIGGER tickets_due_met;
         DROP TRIGGER tickets_due_changed;
         CREATE TRIGGER tickets_due_changed
             AFTER UPDATE OF updated, state, queue, pending, sla, service ON tickets
         BEGIN
             UPDATE tickets SET due_at = 0 WHERE number = NEW.number;
         END;
         INSERT INTO tickets(number, queue, state, subject, customer, created, updated) VALUES
            ('1', 'S', 'open', 's', 'c', 'x', 'x'),
            ('2', 'S', 'closed', 's', 'c', 'x', 'x'),
            ('3', 'S', 'closed', 's', 'c', 'x', 'x'),
            ('4', 'S', 'closed', 's', 'c', 'x', 'x'),
            ('5', 'S', 'closed', 's', 'c', 'x', 'x');
         INSERT INTO history(ticket, at, event, detail, key) VALUES
            ('3', 'x', 'sla-breach', 'b', 'sla:solution:1:breach'),
            ('4', 'x', 'sla-warning', 'w', 'sla:first-response:1:warning'),
            ('4', 'x', 'sla-met', 'm', 'sla:first-response:1:met'),
            ('5', 'x', 'closed', 'c', 'cmd:1');
         UPDATE tickets SET updated = 'y';
         PRAGMA user_version = 7;",
    )
    .unwrap();
    let due = |conn: &Connection| -> Vec<Option<i64>> {
        let mut st = conn
            .prepare("SELECT due_at FROM tickets ORDER BY number")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(due(&conn), [Some(0); 5], "version 7 made them all due");
    migrate(&conn).unwrap();
    assert_eq!(version(&conn).unwrap(), VERSION);
    assert_eq!(due(&conn), [Some(0), None, Some(0), None, None]);
    conn.execute_batch(
        "UPDATE tickets SET due_at = NULL WHERE number = '1';
         UPDATE tickets SET updated = 'z', queue = 'T';",
    )
    .unwrap();
    assert_eq!(due(&conn), [Some(0), None, Some(0), None, None]);
    // The round reads them through the partial index.
    let plan: String = conn
        .query_row(
            "EXPLAIN QUERY PLAN SELECT number FROM tickets WHERE due_at IS NOT NULL
                 AND due_at <= 5 ORDER BY due_at LIMIT 10",
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("tickets_due"), "{plan}");
}
