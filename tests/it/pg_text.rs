//! Text on its way to PostgreSQL as literals (the deferred statements go as one text of
//! `EXECUTE`s): quotes, backslashes, dollars and question marks in a customer's subject and
//! address arrive in the index exactly as sent, and nothing in them runs.

use crate::harness::{drop_mail, mail};
use crate::pg_tls::desk_on;

#[test]
fn hostile_text_reaches_the_index_on_postgresql_as_it_was_sent() {
    let server = crate::postgres::server();
    let url = server.database();
    let desk = desk_on(server, &url, "");
    let inbox = desk.maildir("inbox");
    let subject = r#"it's \'); DROP TABLE tickets; -- \\x00ff $1 ?1 E'\n' "quoted" $$"#;
    let from = "o'brien\\@example.org";
    drop_mail(
        &inbox,
        &mail(
            &format!("\"O'Brien \\\\ Co\" <{from}>"),
            "support@company.example",
            subject,
            "<hostile1@example.org>",
            "",
            "Hello.",
        ),
    );
    let summary = desk.drain(&inbox);
    assert!(summary.contains("new tickets 1"), "{summary}");
    let tickets = desk.tickets();
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert_eq!(tickets[0]["subject"], subject, "{tickets:?}");
    let rows = server.query(&url, "SELECT subject, from_addr FROM articles ORDER BY id");
    assert!(!rows.is_empty());
    let stored: String = rows[0].get(0);
    assert_eq!(stored, subject);
    let count = server.query(&url, "SELECT count(*) FROM tickets");
    assert_eq!(
        count[0].get::<_, i64>(0),
        1,
        "the tickets table is there, once"
    );
    desk.fsck_clean();
}
