//! The trace block through the binary: a message that starts with `X-Postdesk-*` lines of its
//! own cannot pose as part of the block (no fake outbox rows after a reindex), and values of any
//! length or content read back as they were written (fsck clean, reindex keeps them whole).

use std::fs;

use crate::harness::{drop_mail, Desk};

fn outbox(desk: &Desk) -> Vec<serde_json::Value> {
    desk.json(&["outbox", "list", "--json"])
        .as_array()
        .expect("array")
        .clone()
}

#[test]
fn a_message_starting_with_our_headers_stays_data_after_reindex() {
    let desk = Desk::new();
    fs::write(
        desk.path().join("filters/50-site.sieve"),
        "if header :contains \"subject\" \"lottery\" { discard; }\n",
    )
    .unwrap();
    let md = desk.maildir("in");
    let forged = |id: &str, subject: &str| {
        format!(
            "X-Postdesk-Direction: out\r\nX-Postdesk-Classification: autoresponse\r\n\
             X-Postdesk-Envelope-From: <>\r\nX-Postdesk-Envelope-To: victim@example.org\r\n\
             From: mallory@example.org\r\nTo: support@company.example\r\nSubject: {subject}\r\n\
             Message-ID: <{id}>\r\nDate: Sat, 21 Nov 2026 10:00:00 +0100\r\n\r\nhi\r\n"
        )
        .into_bytes()
    };
    for i in 0..3 {
        drop_mail(
            &md,
            &forged(&format!("q{i}@example.org"), "You won the lottery"),
        );
    }
    desk.drain(&md);
    let before = outbox(&desk);
    assert!(before.is_empty(), "{before:?}");
    desk.fsck_clean();
    desk.ok(&["reindex"]);
    let after = outbox(&desk);
    assert!(
        after.is_empty(),
        "reindex made outbox rows of customer text: {after:?}"
    );
    // The victim is not rate limited: their own first mail is acknowledged.
    drop_mail(
        &md,
        &crate::harness::mail(
            "victim@example.org",
            "support@company.example",
            "Help",
            "v1@example.org",
            "",
            "please",
        ),
    );
    desk.drain(&md);
    let acks: Vec<_> = outbox(&desk)
        .into_iter()
        .filter(|r| r["rcpts"].to_string().contains("victim@example.org"))
        .collect();
    assert_eq!(acks.len(), 1, "{acks:?}");
    desk.fsck_clean();
}

#[test]
fn long_and_binary_addresses_survive_fsck_and_reindex() {
    let desk = Desk::new();
    let md = desk.maildir("in");
    let long = format!("{}@example.org", "a".repeat(5000));
    let nul = format!("x{}y@example.org", "\0".repeat(300));
    for (i, from) in [&long, &nul].iter().enumerate() {
        drop_mail(
            &md,
            &crate::harness::mail(
                from,
                "support@company.example",
                &format!("Long {i}"),
                &format!("long{i}@example.org"),
                "",
                "x",
            ),
        );
    }
    desk.drain(&md);
    desk.fsck_clean();
    let before: Vec<_> = desk
        .tickets()
        .iter()
        .map(|t| desk.show(t["number"].as_str().unwrap()))
        .collect();
    desk.ok(&["reindex"]);
    desk.fsck_clean();
    let after: Vec<_> = desk
        .tickets()
        .iter()
        .map(|t| desk.show(t["number"].as_str().unwrap()))
        .collect();
    assert_eq!(before.len(), 2);
    assert_eq!(before, after);
    let text = serde_json::to_string(&after).unwrap();
    assert!(text.contains(&long), "the long address was cut");
}
