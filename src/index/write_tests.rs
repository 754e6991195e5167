use super::*;
use crate::index::{Article, Attribution, Index};

const AT: &str = "2026-06-02T09:00:00.000Z";

/// `synchronous` of a SQLite connection (2: FULL, 1: NORMAL).
fn synchronous(db: &Db) -> i64 {
    let c = db.lite().expect("sqlite");
    c.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap()
}

#[test]
fn commits_are_durable_again_after_a_lazy_transaction_however_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = Index::open(&dir.path().join("index.sqlite"), true).unwrap();
    assert_eq!(synchronous(&index.db), 2);
    // Committed.
    let tx = index.begin_lazy().unwrap();
    assert_eq!(synchronous(tx.db()), 1);
    tx.commit().unwrap();
    assert_eq!(synchronous(&index.db), 2);
    // Failed on the way (the caller's `?` drops it).
    let tx = index.begin_lazy().unwrap();
    assert!(tx
        .db()
        .batch("INSERT INTO no_such_table VALUES (1)")
        .is_err());
    drop(tx);
    assert_eq!(synchronous(&index.db), 2);
    // Not begun: another writer holds the lock.
    let other = rusqlite::Connection::open(dir.path().join("index.sqlite")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let lite = index.db.lite().unwrap();
    lite.busy_timeout(std::time::Duration::ZERO).unwrap();
    assert!(index.begin_lazy().is_err());
    assert_eq!(synchronous(&index.db), 2);
}

/// Ticket `number`, opened at `AT` in `tx`.
fn open_ticket(tx: &Tx, number: &str) {
    let who = Attribution::default();
    tx.insert_ticket(
        number,
        "Support",
        State::Open,
        "s",
        "c@example.org",
        AT,
        None,
        &who,
    )
    .unwrap();
}

fn article(ticket: &str, seq: u64, file: &str) -> Article {
    Article {
        ticket: ticket.into(),
        seq,
        file: file.into(),
        message_id: None,
        digest: file.into(),
        from: "c@example.org".into(),
        author_header: None,
        to: String::new(),
        cc: String::new(),
        subject: "s".into(),
        date: None,
        received: AT.into(),
        direction: "in".into(),
        classification: "normal".into(),
        event: "created".into(),
        bounce_of: None,
        stranger: false,
        size: 1,
        attachments: Vec::new(),
        reply_addr: None,
    }
}

/// Placed files are marked placed many at a time; others stay pending, and so do the
/// event-log lines not named.
#[test]
fn many_placements_and_lines_are_marked_in_one_go() {
    let mut index = Index::open_memory().unwrap();
    let tx = index.begin().unwrap();
    open_ticket(&tx, "1");
    let mut lines = Vec::new();
    for (seq, name) in ["a", "b", "c"].into_iter().enumerate() {
        let staged = format!("staging/{name}");
        let a = article("1", seq as u64 + 1, name);
        tx.insert_article(&NewArticle {
            article: &a,
            staged: Some(&staged),
        })
        .unwrap();
        lines.push(tx.add_pending_line("1", name).unwrap());
    }
    tx.clear_staged_all(&[
        "staging/a".into(),
        "staging/c".into(),
        "staging/x\"x".into(),
    ])
    .unwrap();
    tx.clear_pending_lines(&lines[..2]).unwrap();
    tx.commit().unwrap();
    let pending: Vec<String> = index
        .pending()
        .unwrap()
        .into_iter()
        .map(|p| p.staged)
        .collect();
    assert_eq!(pending, ["staging/b"]);
    let left: Vec<String> = index
        .pending_lines()
        .unwrap()
        .into_iter()
        .map(|l| l.2)
        .collect();
    assert_eq!(left, ["c"]);
}

/// A ticket opened in the transaction numbers its articles without asking the engine, as
/// the engine would have answered; others ask, after the transaction too.
#[test]
fn article_sequences_follow_on_with_and_without_asking() {
    let mut index = Index::open_memory().unwrap();
    let tx = index.begin().unwrap();
    open_ticket(&tx, "1");
    assert_eq!(tx.next_seq("1").unwrap(), 1);
    assert_eq!(tx.ticket_created("1").unwrap().as_deref(), Some(AT));
    let insert = |a: &Article| {
        tx.insert_article(&NewArticle {
            article: a,
            staged: None,
        })
    };
    insert(&article("1", 1, "a")).unwrap();
    // An article numbered from elsewhere (reindex reads its number from the tree).
    insert(&article("1", 5, "b")).unwrap();
    assert_eq!(tx.next_seq("1").unwrap(), 6);
    let mut later = article("1", 6, "c");
    later.received = "2026-06-02T10:00:00.000Z".into();
    insert(&later).unwrap();
    insert(&article("1", 7, "d")).unwrap();
    let updated = |tx: &Tx| -> String {
        tx.db()
            .one(
                "SELECT updated FROM tickets WHERE number = '1'",
                p![],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(
        updated(&tx),
        "2026-06-02T10:00:00.000Z",
        "the newest article's"
    );
    tx.commit().unwrap();
    let tx = index.begin().unwrap();
    assert_eq!(tx.next_seq("1").unwrap(), 8);
    assert_eq!(
        tx.next_seq("1").unwrap(),
        8,
        "asked again: nothing was inserted"
    );
    assert_eq!(tx.ticket_created("1").unwrap().as_deref(), Some(AT));
}

/// Numbers drawn from a counter skip those tickets already have, beyond the first block
/// checked too, and the counter is left at the last number drawn, for the next
/// transaction to go on from.
#[test]
fn numbers_drawn_skip_taken_ones_and_the_counter_follows() {
    let mut index = Index::open_memory().unwrap();
    let tx = index.begin().unwrap();
    let taken = ["T2", "T3", "T40"];
    for n in taken {
        open_ticket(&tx, n);
    }
    tx.commit().unwrap();
    let format = |c: u64| format!("T{c}");
    let tx = index.begin().unwrap();
    let mut drawn = Vec::new();
    for _ in 0..40 {
        drawn.push(tx.next_number("k", format).unwrap());
    }
    assert_eq!(drawn[..3], ["T1", "T4", "T5"]);
    assert_eq!(drawn.last().map(String::as_str), Some("T43"));
    assert!(drawn.iter().all(|n| !taken.contains(&n.as_str())));
    tx.commit().unwrap();
    let tx = index.begin().unwrap();
    assert_eq!(tx.next_number("k", format).unwrap(), "T44");
    tx.commit().unwrap();
    // A rolled-back draw gives its number out again.
    let tx = index.begin().unwrap();
    assert_eq!(tx.next_number("k", format).unwrap(), "T45");
    drop(tx);
    let tx = index.begin().unwrap();
    assert_eq!(tx.next_number("k", format).unwrap(), "T45");
}
