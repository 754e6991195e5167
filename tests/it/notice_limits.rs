//! Notices to agents are rate limited per sender like autoresponses: an autoresponder without
//! `Auto-Submitted` gets its acknowledgements stopped at the limit, and the agents' notices
//! about its mail stop there too; the last notice says so, the ticket's history records each
//! one held back; `explain` says what intake would do about both.

use crate::harness::{mail, post};
use crate::outgoing::{body, desk, history, only_ticket, to};
use crate::services::SmtpSink;

#[test]
fn notices_about_one_senders_mail_stop_at_the_limit_and_the_last_one_says_so() {
    let sink = SmtpSink::start();
    let desk = desk(sink.port, "follow-up = true");
    let md = desk.maildir("in");
    post(
        &md,
        "bob@responder.example",
        "support@company.example",
        "Hello",
        "r0@responder.example",
        "",
        "Hi",
    );
    desk.drain(&md);
    let n = only_ticket(&desk);
    // A careless responder: mail after mail, no Auto-Submitted or Precedence header.
    for i in 1..=13 {
        post(
            &md,
            "Bob <bob@responder.example>",
            "support@company.example",
            &format!("Re: [Ticket#{n}] Hello"),
            &format!("r{i}@responder.example"),
            "",
            "I am away until Monday.",
        );
        desk.drain(&md);
    }
    assert_eq!(to(&sink, "bob@responder.example").len(), 10);
    let notices = to(&sink, "alice@company.example");
    assert_eq!(notices.len(), 10, "per sender, like autoresponses");
    let held: Vec<_> = notices
        .iter()
        .filter(|(raw, _)| body(raw).contains("held back"))
        .collect();
    assert_eq!(held.len(), 1);
    let last = body(&notices.last().unwrap().0);
    assert!(
        last.contains("further notices about mail from bob@responder.example are held back for 14"),
        "{last}"
    );
    let h = history(&desk, &n);
    assert_eq!(
        h.matches("rate limit: 10 notices about mail from bob@responder.example")
            .count(),
        4,
        "{h}"
    );
    // explain says so before a mail is filed.
    let next = desk.path().join("next.eml");
    std::fs::write(
        &next,
        mail(
            "bob@responder.example",
            "support@company.example",
            "Away",
            "r99@responder.example",
            "",
            "I am away.",
        ),
    )
    .unwrap();
    let out = desk.ok(&["explain", next.to_str().unwrap()]);
    assert!(
        out.contains("notice:         held back: rate limit: 10 notices about mail from bob@"),
        "{out}"
    );
    // And of the autoresponse what intake would do, with the same counts.
    assert!(
        out.contains(
            "autoresponse:   rate limit: 10 autoresponses to bob@responder.example in 24 hours"
        ),
        "{out}"
    );
    // Another sender's mail is not held back.
    post(
        &md,
        "jane@example.org",
        "support@company.example",
        "Other",
        "j1@example.org",
        "",
        "Hi",
    );
    desk.drain(&md);
    assert_eq!(to(&sink, "alice@company.example").len(), 11);
}
