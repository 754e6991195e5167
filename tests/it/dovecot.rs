//! Real Dovecot serves the ticket tree as it is: queue and ticket folders listed, an article
//! fetched byte for byte, and per-queue ACLs.

use std::fs;

use crate::harness::{drop_mail, mail, post, Desk};
use crate::services::{imap_fetch_all, imap_list, imap_select_ok, require, Dovecot};

#[test]
fn dovecot_serves_the_tree() {
    require("dovecot");
    let desk = Desk::new();
    let md = desk.maildir("in");
    let mut one = mail(
        "kunde@example.org",
        "support@company.example",
        "Drucker",
        "dv1@example.org",
        "",
        "Hallo,\r\nder Drucker.",
    );
    one.extend_from_slice("Grüße\r\n".as_bytes());
    drop_mail(&md, &one);
    post(
        &md,
        "k2@example.org",
        "billing@company.example",
        "Rechnung",
        "dv2@example.org",
        "",
        "Betrag",
    );
    post(
        &md,
        "kunde@example.org",
        "support@company.example",
        "Re: Drucker",
        "dv3@example.org",
        "In-Reply-To: <dv1@example.org>\r\n",
        "Noch da?",
    );
    desk.drain(&md);
    let tickets = desk.tickets();
    let sup = tickets.iter().find(|t| t["queue"] == "Support").unwrap()["number"]
        .as_str()
        .unwrap()
        .to_string();
    let bil = tickets.iter().find(|t| t["queue"] == "Billing").unwrap()["number"]
        .as_str()
        .unwrap()
        .to_string();
    desk.ok(&["ticket", "close", &bil]);

    let store = desk.data.join("store");
    let acl = vec![
        "Tickets/Support user=agent1 lrwsti".to_string(),
        "Tickets/Support/* user=agent1 lrwsti".to_string(),
        "Tickets/Billing user=agent2 lrwsti".to_string(),
        "Tickets/Billing/* user=agent2 lrwsti".to_string(),
        "Tickets/* user=admin lrwstipekxa".to_string(),
    ];
    let dv = Dovecot::start(
        &store,
        &[("agent1", "pw1"), ("agent2", "pw2"), ("admin", "adminpw")],
        &acl,
    );

    let a1 = imap_list(dv.imap_port, "agent1", "pw1");
    assert!(a1.contains(&"Tickets/Support".to_string()), "{a1:?}");
    assert!(a1.contains(&format!("Tickets/Support/{sup}")), "{a1:?}");
    assert!(
        !a1.iter().any(|m| m.contains("Billing")),
        "agent1 must not see Billing: {a1:?}"
    );
    assert!(!imap_select_ok(
        dv.imap_port,
        "agent1",
        "pw1",
        &format!("Tickets/Billing/Closed/{bil}")
    ));

    let a2 = imap_list(dv.imap_port, "agent2", "pw2");
    assert!(
        a2.contains(&format!("Tickets/Billing/Closed/{bil}")),
        "closed tickets are in the queue's Closed area: {a2:?}"
    );
    assert!(!a2.iter().any(|m| m.contains("Support")), "{a2:?}");

    let admin = imap_list(dv.imap_port, "admin", "adminpw");
    for m in ["Tickets/Support", "Tickets/Billing", "Tickets/Quarantine"] {
        assert!(admin.contains(&m.to_string()), "{m} in {admin:?}");
    }

    // The articles come back byte for byte (IMAP sends CRLF; the files are CRLF as received).
    let show = desk.show(&sup);
    let mut on_disk: Vec<Vec<u8>> = show["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| fs::read(a["path"].as_str().unwrap()).unwrap())
        .collect();
    let mut fetched = imap_fetch_all(
        dv.imap_port,
        "agent1",
        "pw1",
        &format!("Tickets/Support/{sup}"),
    );
    on_disk.sort();
    fetched.sort();
    assert_eq!(fetched.len(), on_disk.len());
    assert_eq!(fetched, on_disk);
    assert!(fetched
        .iter()
        .any(|m| m.windows(4).any(|w| w == "Grü".as_bytes())));
    assert!(
        String::from_utf8_lossy(&fetched[0]).starts_with(&format!("X-Postdesk-Ticket: {sup}\r\n"))
    );
}
