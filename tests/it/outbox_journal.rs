//! The outbox's journal: while another writer holds the index's write lock, the sender goes on
//! handing mail over (each handover in the journal, not yet recorded in the index); a sender
//! killed then sends none of it twice, because the next one records the journal first.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::harness::{drop_mail, mail, Desk};
use crate::services::{free_port, SmtpSink};

/// More than one send group (256), so the killed sender had a whole group in its journal.
const MAILS: usize = 300;

fn wait_for(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let t = Instant::now();
    while !done() {
        assert!(t.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Acknowledgements received per customer.
fn received(sink: &SmtpSink) -> HashMap<String, usize> {
    let mut got = HashMap::new();
    for (_, env) in sink.messages() {
        let env: serde_json::Value = serde_json::from_str(&env).unwrap();
        for r in env["rcpt_tos"].as_array().unwrap() {
            *got.entry(r.as_str().unwrap().to_string()).or_default() += 1;
        }
    }
    got
}

/// The index's write lock, held by this process as a busy intake of another process would.
enum Holder {
    Sqlite(rusqlite::Connection),
    Postgres(postgres::Client),
}

impl Holder {
    /// Makes the queue due in two seconds, then takes the write lock.
    fn take(desk: &Desk) -> Holder {
        match &desk.pg_url {
            None => {
                let db = rusqlite::Connection::open(desk.path().join("var/index.sqlite")).unwrap();
                db.execute_batch(
                    "UPDATE outbox SET next_at = CAST(strftime('%s', 'now') AS INTEGER) + 2;
                     BEGIN IMMEDIATE",
                )
                .unwrap();
                Holder::Sqlite(db)
            }
            Some(url) => {
                let mut c = crate::postgres::server().client(url);
                // Two messages: statements sent together are one transaction.
                c.batch_execute(
                    "UPDATE outbox SET next_at = CAST(extract(epoch from now()) AS BIGINT) + 2",
                )
                .unwrap();
                c.batch_execute("BEGIN; SELECT pg_advisory_xact_lock(7306652237)")
                    .unwrap();
                Holder::Postgres(c)
            }
        }
    }

    fn release(self) {
        match self {
            Holder::Sqlite(db) => db.execute_batch("ROLLBACK").unwrap(),
            Holder::Postgres(mut c) => c.batch_execute("ROLLBACK").unwrap(),
        }
    }
}

#[test]
fn a_sender_killed_while_the_lock_is_held_elsewhere_sends_nothing_twice() {
    let port = free_port();
    let desk = filed_with_nothing_sent(port, "a");
    let queued = "SELECT count(*) FROM outbox WHERE state = 'queued'";

    let sink = SmtpSink::start_at(Some(port));
    let mut daemon = desk.daemon();
    std::thread::sleep(Duration::from_secs(1)); // started, with nothing due
    let held = Holder::take(&desk);

    // The whole first group goes out although nothing of it can be recorded...
    let journal = desk.path().join("var/outbox.a.journal");
    let journaled = || {
        std::fs::read_to_string(&journal)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    wait_for(
        Duration::from_secs(25),
        "a group handed over and journaled",
        || journaled() >= 256,
    );
    assert!(sink.messages().len() >= 256, "the group reached the server");
    // ...and the sender is killed while it waits for the lock to record it.
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    held.release();
    assert_eq!(
        desk.index_count(queued),
        MAILS as i64,
        "nothing was recorded"
    );

    // The next sender records the journal before it sends: the rest goes, nothing twice.
    let out = desk.ok(&["outbox", "flush"]);
    assert!(out.contains("sent 44"), "{out}");
    assert_eq!(desk.index_count(queued), 0);
    let got = received(&sink);
    assert_eq!(got.len(), MAILS, "every customer got an acknowledgement");
    let twice: Vec<_> = got.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:?}");
    assert_eq!(journaled(), 0, "the journal is emptied once recorded");
    let log = desk.mail_log();
    assert!(
        log.contains("handed over before a restart (outbox journal)"),
        "the replayed mails are in the mail log"
    );
    // Each mail once in its ticket's history too.
    let sent = desk.index_count("SELECT count(*) FROM history WHERE event = 'sent'");
    assert_eq!(sent, MAILS as i64);
}

/// A desk (node `node`) that filed MAILS customers' messages while nothing listened on `port`:
/// every acknowledgement is queued, deferred.
fn filed_with_nothing_sent(port: u16, node: &str) -> Desk {
    // A long lease: neither its renewal nor the heartbeat needs the lock while a test holds it.
    let desk = Desk::with(
        &format!("node = \"{node}\"\nnode-lease-seconds = 300\n"),
        &format!(
            "[outgoing]\ntransport = \"smtp\"\n[outgoing.smtp]\nport = {port}\ntimeout-seconds = 5\n\
             [autoresponse]\nagent-notify = false\nper-recipient-per-day = 1000\n\
             circuit-breaker-per-minute = 1000000\n"
        ),
    );
    let md = desk.maildir("in");
    for i in 0..MAILS {
        let from = format!("Customer {i} <c{i}@example.org>");
        let id = format!("m{i}@journal.test");
        let text = format!("Message number {i}.");
        drop_mail(
            &md,
            &mail(
                &from,
                "support@company.example",
                &format!("Question {i}"),
                &id,
                "",
                &text,
            ),
        );
    }
    desk.drain(&md);
    let queued = "SELECT count(*) FROM outbox WHERE state = 'queued'";
    assert_eq!(desk.index_count(queued), MAILS as i64);
    desk
}

#[test]
fn a_node_taking_the_outbox_over_records_a_dead_nodes_journal_first() {
    let port = free_port();
    let desk = filed_with_nothing_sent(port, "b");
    // Node a handed the first ten over and died before it recorded them.
    let ids = desk.index_rows("SELECT id FROM outbox ORDER BY id LIMIT 10");
    let ids: String = ids.iter().map(|r| format!("{}\n", r[0])).collect();
    std::fs::write(desk.path().join("var/outbox.a.journal"), ids).unwrap();

    let sink = SmtpSink::start_at(Some(port));
    let out = desk.ok(&["outbox", "flush"]);
    assert!(out.contains("sent 290,"), "{out}");
    let got = received(&sink);
    assert_eq!(got.len(), MAILS - 10, "node a's ten were not sent again");
    assert!(!got.contains_key("c0@example.org") && got.contains_key("c10@example.org"));
    let queued = "SELECT count(*) FROM outbox WHERE state = 'queued'";
    assert_eq!(desk.index_count(queued), 0, "and are recorded as sent");
    let sent = desk.index_count("SELECT count(*) FROM history WHERE event = 'sent'");
    assert_eq!(sent, MAILS as i64);
}
