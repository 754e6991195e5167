use super::*;

fn asked(digests: &[&str]) -> Prefetched {
    Prefetched {
        dups: Some(Dups {
            asked: digests.iter().map(|d| d.to_string()).collect(),
            articles: HashMap::new(),
            quarantined: HashMap::new(),
        }),
        replies: Some(Replies {
            now: 1_000_000,
            to: [("ann@x".to_string(), 2)].into_iter().collect(),
            minute: 5,
        }),
        senders: Some([("mail:ann@x".to_string(), None)].into_iter().collect()),
        threads: Some([("m0".to_string(), None)].into_iter().collect()),
        tickets: Some([("T9".to_string(), None)].into_iter().collect()),
        ..Default::default()
    }
}

/// What the batch filed itself counts as an earlier copy, an article before a quarantine
/// entry, by the exact (Message-ID, digest) pair; what it did not ask is not known.
#[test]
fn the_batchs_own_filing_keeps_the_answers_true() {
    let mut p = asked(&["d1", "d2"]);
    assert_eq!(p.duplicate("d1", Some("m1")), Some(None));
    assert_eq!(p.duplicate("d3", Some("m3")), None, "not asked");
    p.quarantined("d1", "virus");
    assert_eq!(
        p.duplicate("d1", Some("m1")),
        Some(Some(Duplicate::Quarantined {
            reason: "virus".into()
        }))
    );
    p.filed(Some("m1"), "d1", "T1");
    p.filed(None, "d2", "T2");
    assert_eq!(
        p.duplicate("d1", Some("m1")),
        Some(Some(Duplicate::Article {
            ticket: "T1".into()
        }))
    );
    assert_eq!(
        p.duplicate("d1", None),
        Some(Some(Duplicate::Quarantined {
            reason: "virus".into()
        }))
    );
    assert_eq!(
        p.duplicate("d2", None),
        Some(Some(Duplicate::Article {
            ticket: "T2".into()
        }))
    );
    assert_eq!(p.duplicate("d2", Some("m2")), Some(None));
}

/// Autoresponses counted in the batch raise the counts of the recipients asked and of the
/// minute; another moment or recipient is asked of the engine.
#[test]
fn autoresponses_in_the_batch_are_counted() {
    let mut p = asked(&[]);
    assert_eq!(p.autoreply_counts("ann@x", 1_000_000), Some((2, 5)));
    assert_eq!(p.autoreply_counts("bob@x", 1_000_000), None);
    assert_eq!(p.autoreply_counts("ann@x", 1_000_001), None);
    p.autoreplied("ann@x", 1_000_000);
    p.autoreplied("bob@x", 1_000_000);
    assert_eq!(p.autoreply_counts("ann@x", 1_000_000), Some((3, 7)));
    p.autoreplied("ann@x", 1_000_000 - 100);
    assert_eq!(p.autoreply_counts("ann@x", 1_000_000), Some((4, 7)));
    assert_eq!(
        p.sender("mail:ann@x"),
        Some(None),
        "asked, not in the directory"
    );
    assert_eq!(p.sender("mail:bob@x"), None, "not asked");
}

/// A reference asked ahead finds the ticket the batch filed its article in; a number
/// asked ahead finds the ticket the batch opened or moved under it.
#[test]
fn references_and_numbers_follow_the_batchs_filing() {
    let mut p = asked(&["d1"]);
    assert_eq!(p.ticket_of_message("m0"), Some(None));
    assert_eq!(p.ticket_of_message("m1"), None, "not asked");
    p.filed(Some("m0"), "d1", "T9");
    assert_eq!(p.ticket_of_message("m0"), Some(Some("T9".into())));
    assert_eq!(p.ticket("T9"), Some(None));
    p.ticket_at("T9", "Support", State::Open);
    p.ticket_at("T8", "Support", State::Open);
    assert_eq!(
        p.ticket("T9"),
        Some(Some(TicketRef {
            number: "T9".into(),
            queue: "Support".into(),
            state: State::Open
        }))
    );
    p.ticket_at("T9", "Billing", State::Closed);
    assert_eq!(p.ticket("T9").unwrap().unwrap().state, State::Closed);
    assert_eq!(p.ticket("T8"), None, "not asked");
}
