//! A ticket's customer is an address: a mail that names none anywhere (From, Reply-To, Sender,
//! the envelope sender) opens no ticket and is quarantined with the reason; when the address
//! comes from a header other than From, the index records which and `ticket show` says so.

use crate::harness::{drop_mail, files_in, Desk};

const NAME_ONLY: &[u8] = b"From: Support Team\r\nTo: support@company.example\r\n\
Subject: Hello\r\nDate: Tue, 1 Jul 2025 10:00:00 +0200\r\n\
Message-ID: <name-only@client.example>\r\n\r\nPlease call me back.\r\n";

const NAME_AND_SENDER: &[u8] = b"From: Support Team\r\nSender: Help <help@client.example>\r\n\
To: support@company.example\r\nSubject: Hello again\r\nDate: Tue, 1 Jul 2025 10:00:00 +0200\r\n\
Message-ID: <name-and-sender@client.example>\r\n\r\nPlease call me back.\r\n";

const REASON: &str = "no sender address: neither From, Reply-To, Sender nor the envelope \
                      sender (Return-Path) names one";

#[test]
fn a_mail_naming_no_address_is_quarantined_not_a_ticket() {
    let desk = Desk::new();
    let file = desk.path().join("name-only.eml");
    std::fs::write(&file, NAME_ONLY).unwrap();
    let out = desk.ok(&["explain", file.to_str().unwrap()]);
    assert!(out.contains(&format!("quarantine: {REASON}")), "{out}");

    let md = desk.maildir("in");
    drop_mail(&md, NAME_ONLY);
    let out = desk.drain(&md);
    assert!(out.contains("quarantined 1"), "{out}");
    assert!(desk.tickets().is_empty());
    assert!(desk.mail_log().contains(REASON), "{}", desk.mail_log());
    let held: Vec<_> = files_in(&desk.data.join("store/.Quarantine/new"))
        .into_iter()
        .chain(files_in(&desk.data.join("store/.Quarantine/cur")))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert_eq!(held.len(), 1);
    assert!(held[0].ends_with(NAME_ONLY));
    desk.ok(&["reindex"]);
    desk.fsck_clean();
}

#[test]
fn the_header_the_customer_came_from_is_recorded_and_shown() {
    let desk = Desk::new();
    let md = desk.maildir("in");
    drop_mail(&md, NAME_AND_SENDER);
    let out = desk.drain(&md);
    assert!(out.contains("new tickets 1"), "{out}");
    let t = &desk.tickets()[0];
    assert_eq!(t["customer"], "Help <help@client.example>");
    let number = t["number"].as_str().unwrap();
    let show = desk.show(number);
    assert_eq!(show["articles"][0]["author_header"], "Sender", "{show}");
    let text = desk.ok(&["ticket", "show", number]);
    assert!(
        text.contains("From: Help <help@client.example>  (no address in From; taken from Sender)"),
        "{text}"
    );
    desk.ok(&["reindex"]);
    assert_eq!(desk.show(number)["articles"][0]["author_header"], "Sender");
    desk.fsck_clean();
}
