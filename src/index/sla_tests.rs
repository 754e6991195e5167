//! Tests of what service levels keep in the index: due times, their rows, flags.

use super::*;
use crate::index::{Attribution, State};

fn open_ticket(tx: &Tx, number: &str) {
    tx.insert_ticket(
        number,
        "Support",
        State::Open,
        "s",
        "c@example.org",
        "2026-06-02T09:00:00.000Z",
        None,
        &Attribution::default(),
    )
    .unwrap();
}

/// A new open ticket is due at once, a stored due time stays until the ticket changes, and
/// the round reads only what is due, most overdue first.
#[test]
fn due_times_follow_changes() {
    let mut index = Index::open_memory().unwrap();
    let tx = index.begin().unwrap();
    open_ticket(&tx, "1");
    open_ticket(&tx, "2");
    assert_eq!(tx.due_tickets(0, 10).unwrap(), ["1", "2"]);
    tx.set_due("1", Some(500)).unwrap();
    tx.set_due("2", Some(100)).unwrap();
    assert!(tx.due_tickets(99, 10).unwrap().is_empty());
    assert_eq!(tx.due_tickets(1000, 10).unwrap(), ["2", "1"]);
    tx.set_ticket("1", "Support", State::Closed, "2026-06-02T10:00:00.000Z")
        .unwrap();
    assert!(tx.due_tickets(99, 10).unwrap().is_empty());
    tx.commit().unwrap();
    assert_eq!(index.earliest_due().unwrap(), Some(100));
}

/// Without service levels only a pending time keeps a ticket due.
#[test]
fn without_levels_only_pending_tickets_stay_due() {
    let mut index = Index::open_memory().unwrap();
    let tx = index.begin().unwrap();
    for n in ["1", "2", "3"] {
        open_ticket(&tx, n);
    }
    tx.db()
        .exec(
            "UPDATE tickets SET pending = '2026-06-03T09:00:00Z' WHERE number = '2'",
            p![],
        )
        .unwrap();
    tx.set_due("3", Some(500)).unwrap();
    assert_eq!(tx.settle_due_without_levels(100).unwrap(), 1);
    assert_eq!(tx.due_tickets(100, 10).unwrap(), ["2"]);
    assert_eq!(tx.due_tickets(1000, 10).unwrap(), ["2", "3"]);
}

fn due_at(tx: &Tx, number: &str) -> Option<i64> {
    tx.db()
        .lite()
        .expect("an SQLite index")
        .query_row(
            "SELECT due_at FROM tickets WHERE number = ?1",
            [number],
            |r| r.get(0),
        )
        .unwrap()
}

/// A closed ticket has no due time: closing clears it, and what a rebuild or a move does
/// to a closed ticket (articles filed, `updated` moved, another queue) leaves it so. Only an
/// escalation not yet recorded as over makes it due, once, until it is.
#[test]
fn closed_tickets_are_due_only_while_an_escalation_is_unsettled() {
    let mut index = Index::open_memory().unwrap();
    let tx = index.begin().unwrap();
    for n in ["1", "2", "3"] {
        open_ticket(&tx, n);
        tx.set_due(n, Some(500)).unwrap();
    }
    let at = "2026-06-02T10:00:00.000Z";
    tx.add_history_keyed("2", at, "sla-warning", "w", "sla:first-response:1:warning")
        .unwrap();
    tx.add_history_keyed("3", at, "sla-breach", "b", "sla:update:2:breach")
        .unwrap();
    tx.add_history_keyed("3", at, "sla-met", "m", "sla:update:1:met")
        .unwrap();
    for n in ["1", "2", "3"] {
        tx.set_ticket(n, "Support", State::Closed, at).unwrap();
    }
    assert_eq!(
        [due_at(&tx, "1"), due_at(&tx, "2"), due_at(&tx, "3")],
        [None, Some(0), Some(0)]
    );
    // The round records the deadlines as over: nothing is left.
    tx.add_history_keyed("2", at, "sla-met", "m", "sla:first-response:1:met")
        .unwrap();
    tx.add_history_keyed("3", at, "sla-met", "m", "sla:update:2:met")
        .unwrap();
    assert_eq!([due_at(&tx, "2"), due_at(&tx, "3")], [None, None]);
    // An article filed into a closed ticket, and a move to another queue.
    tx.db()
        .lite()
        .expect("an SQLite index")
        .execute(
            "UPDATE tickets SET updated = '2026-06-03T00:00:00.000Z' WHERE number = '1'",
            [],
        )
        .unwrap();
    tx.set_ticket("2", "Billing", State::Closed, at).unwrap();
    assert!(tx.due_tickets(i64::MAX, 10).unwrap().is_empty());
    // Reopened, it is due again.
    tx.set_ticket("1", "Support", State::Open, at).unwrap();
    assert_eq!(due_at(&tx, "1"), Some(0));
    tx.commit().unwrap();
}

/// Another configuration of service levels makes every open ticket due once.
#[test]
fn a_changed_configuration_makes_open_tickets_due_once() {
    let mut index = Index::open_memory().unwrap();
    let tx = index.begin().unwrap();
    open_ticket(&tx, "1");
    open_ticket(&tx, "2");
    tx.set_ticket("2", "Support", State::Closed, "x").unwrap();
    tx.set_due("1", Some(500)).unwrap();
    tx.set_due("2", None).unwrap();
    assert_eq!(tx.sla_configuration(7).unwrap(), 1);
    assert_eq!(tx.due_tickets(0, 10).unwrap(), ["1"]);
    tx.set_due("1", Some(500)).unwrap();
    assert_eq!(tx.sla_configuration(7).unwrap(), 0);
    assert!(tx.due_tickets(0, 10).unwrap().is_empty());
    assert_eq!(tx.sla_configuration(8).unwrap(), 1);
    tx.commit().unwrap();
}

/// Each ticket's rows, read with the others in three scans, are what its own look-ups
/// read: its articles in their order, the events deadlines follow and nothing else, for
/// the numbers asked and no others; the events come from the partial index alone.
#[test]
fn a_scan_of_the_numbers_reads_what_lookups_read() {
    let mut index = Index::open_memory().unwrap();
    let tx = index.begin().unwrap();
    let numbers: Vec<String> = (0..40).map(|i| format!("2026{:04}", 7 * i % 40)).collect();
    for (i, n) in numbers.iter().enumerate() {
        open_ticket(&tx, n);
        // Articles in an order of their own: seq, then received; some tickets have none.
        for k in 0..(i % 4) {
            tx.db()
                .lite()
                .expect("an SQLite index")
                .execute(
                    "INSERT INTO articles(ticket, file, digest, from_addr, to_addrs,
                        cc_addrs, subject, received, direction, classification, event,
                        stranger, size, attachments, seq)
                     VALUES (?1, ?2, 'd', 'f', 't', '', 's', ?3, 'in', 'normal', 'follow-up',
                        0, 1, '[]', ?4)",
                    rusqlite::params![
                        n,
                        format!("{n}-{k}"),
                        format!("2026-06-0{}T09:00:00.000Z", 9 - k),
                        (3 - k as i64) % 2
                    ],
                )
                .unwrap();
        }
        tx.add_history(n, "2026-06-02T09:00:00.000Z", "created", "x")
            .unwrap();
        if i % 3 == 0 {
            tx.add_history(n, "2026-06-03T09:00:00.000Z", "closed", "")
                .unwrap();
            tx.add_history(n, "2026-06-04T09:00:00.000Z", "reopened", "")
                .unwrap();
        }
        if i % 5 == 0 {
            tx.add_history_keyed(n, "2026-06-05T09:00:00.000Z", "sla", "warning", "sla:w")
                .unwrap();
            tx.add_history_keyed(n, "2026-06-06T09:00:00.000Z", "note", "x", "other")
                .unwrap();
        }
    }
    tx.commit().unwrap();
    let mut asked: Vec<String> = numbers.iter().step_by(3).cloned().collect();
    asked.push("20260100".into()); // no such ticket
    asked.sort();
    let mut scanned = Vec::new();
    index
        .sla_rows_of(&asked, |t| {
            scanned.push(t);
            Ok(())
        })
        .unwrap();
    let looked_up: Vec<SlaRows> = asked
        .iter()
        .filter_map(|n| index.sla_rows(n).unwrap())
        .collect();
    assert_eq!(scanned.len(), asked.len() - 1);
    assert!(scanned.iter().any(|t| t.articles.len() > 1));
    assert!(scanned.iter().any(|t| t.events.len() > 2));
    assert!(scanned
        .iter()
        .all(|t| t.events.iter().all(|e| e.1 != "created" && e.1 != "note")));
    assert_eq!(format!("{scanned:?}"), format!("{looked_up:?}"));
    let plan: Vec<String> = index
        .db
        .lite()
        .expect("an SQLite index")
        .prepare(&format!(
            "EXPLAIN QUERY PLAN SELECT ticket, at, event, detail, key FROM history
             WHERE ticket BETWEEN 'a' AND 'b' AND {EVENTS_WANTED} ORDER BY ticket, id"
        ))
        .unwrap()
        .query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(
        plan,
        ["SEARCH history USING COVERING INDEX history_deadlines (ticket>? AND ticket<?)"]
    );
}

/// Flags wanted, done, and cleared.
#[test]
fn flags_are_remembered_until_done() {
    let mut index = Index::open_memory().unwrap();
    let tx = index.begin().unwrap();
    tx.want_flag("1", "a", true).unwrap();
    tx.commit().unwrap();
    assert_eq!(
        index.flags_to_do().unwrap(),
        [("1".into(), "a".into(), true)]
    );
    let tx = index.begin().unwrap();
    tx.flag_done("1", "a", true).unwrap();
    assert_eq!(tx.unflag_ticket("1").unwrap(), 1);
    tx.commit().unwrap();
    assert_eq!(
        index.flags_to_do().unwrap(),
        [("1".into(), "a".into(), false)]
    );
    let tx = index.begin().unwrap();
    tx.flag_done("1", "a", false).unwrap();
    tx.commit().unwrap();
    assert!(index.flags_to_do().unwrap().is_empty());
}
