//! Follow-up matching end to end: tag, references, strangers, closed-ticket policies, duplicates.

use crate::harness::{drop_mail, incoming, mail, post, Desk};

fn only_ticket(desk: &Desk) -> String {
    let t = desk.tickets();
    assert_eq!(t.len(), 1, "{t:?}");
    t[0]["number"].as_str().unwrap().to_string()
}

#[test]
fn tag_in_subject_joins_the_ticket_and_wrong_check_digit_does_not() {
    let desk = Desk::new();
    let md = desk.maildir("in");
    post(
        &md,
        "kunde@example.org",
        "support@company.example",
        "Konto gesperrt",
        "m1@example.org",
        "",
        "Hilfe",
    );
    desk.drain(&md);
    let n = only_ticket(&desk);
    // A reply prefix in another language, the tag in the middle, no References.
    let subj = format!("AW: WG: Konto gesperrt [Ticket#{n}] noch offen");
    post(
        &md,
        "kunde@example.org",
        "support@company.example",
        &subj,
        "m2@example.org",
        "",
        "Noch da?",
    );
    // The same number with a wrong check digit is not a match: a new ticket.
    let last = n.chars().last().unwrap().to_digit(10).unwrap();
    let wrong = format!("{}{}", &n[..n.len() - 1], (last + 1) % 10);
    let subj = format!("Re: [Ticket#{wrong}] Konto gesperrt");
    post(
        &md,
        "kunde@example.org",
        "support@company.example",
        &subj,
        "m3@example.org",
        "",
        "x",
    );
    let summary = desk.drain(&md);
    assert!(summary.contains("new tickets 1, follow-ups 1"), "{summary}");
    let show = desk.show(&n);
    assert_eq!(incoming(&show).len(), 2);
    desk.fsck_clean();
}

#[test]
fn stranger_opens_a_new_ticket_that_records_the_reference() {
    let desk = Desk::new();
    let md = desk.maildir("in");
    post(
        &md,
        "kunde@example.org",
        "support@company.example",
        "Passwort",
        "s1@example.org",
        "",
        "a",
    );
    desk.drain(&md);
    let n = only_ticket(&desk);
    let subj = format!("Re: [Ticket#{n}] Passwort");
    post(
        &md,
        "mallory@evil.example",
        "support@company.example",
        &subj,
        "s2@evil.example",
        "",
        "b",
    );
    let s = desk.drain(&md);
    assert!(s.contains("new tickets 1, follow-ups 0"), "{s}");
    let list = desk.tickets();
    let new = list.iter().find(|t| t["number"] != n.as_str()).unwrap();
    let shown = desk.show(new["number"].as_str().unwrap());
    assert_eq!(shown["refers"], n.as_str());
    let hist = serde_json::to_string(&shown["history"]).unwrap();
    assert!(hist.contains("suspected-stranger"), "{hist}");
    // The original ticket got nothing.
    assert_eq!(desk.incoming(&n).len(), 1);

    // An address copied on the ticket is a participant.
    let cc = "Cc: kollege@example.org\r\n";
    post(
        &md,
        "kunde@example.org",
        "support@company.example",
        &format!("Re: [Ticket#{n}] x"),
        "s3@example.org",
        cc,
        "c",
    );
    desk.drain(&md);
    post(
        &md,
        "kollege@example.org",
        "support@company.example",
        &format!("Re: [Ticket#{n}] y"),
        "s4@example.org",
        "",
        "d",
    );
    let s = desk.drain(&md);
    assert!(s.contains("follow-ups 1"), "{s}");
    assert_eq!(desk.incoming(&n).len(), 3);
    desk.fsck_clean();
}

#[test]
fn accept_and_mark_files_the_strangers_mail_marked() {
    let desk = Desk::with("", "[tickets]\nstranger-policy = \"accept-and-mark\"\n");
    let md = desk.maildir("in");
    post(
        &md,
        "kunde@example.org",
        "support@company.example",
        "Karte",
        "k1@example.org",
        "",
        "a",
    );
    desk.drain(&md);
    let n = only_ticket(&desk);
    let refs = "In-Reply-To: <k1@example.org>\r\nReferences: <k1@example.org>\r\n";
    post(
        &md,
        "other@example.net",
        "support@company.example",
        "Re: Karte",
        "k2@example.net",
        refs,
        "b",
    );
    desk.drain(&md);
    let show = desk.show(&n);
    let arts = incoming(&show);
    assert_eq!(arts.len(), 2);
    assert_eq!(arts[1]["stranger"], true);
    desk.fsck_clean();
}

#[test]
fn closed_ticket_policies() {
    let desk = Desk::with("", "");
    let md = desk.maildir("in");
    // Support reopens; Phone opens a new linked ticket (see harness QUEUES).
    post(
        &md,
        "a@example.org",
        "support@company.example",
        "Reopen me",
        "c1@example.org",
        "",
        "a",
    );
    post(
        &md,
        "b@example.org",
        "phone@company.example",
        "Rueckruf",
        "c2@example.org",
        "",
        "a",
    );
    desk.drain(&md);
    let list = desk.tickets();
    let sup = list.iter().find(|t| t["queue"] == "Support").unwrap()["number"]
        .as_str()
        .unwrap()
        .to_string();
    let pho = list.iter().find(|t| t["queue"] == "Phone").unwrap()["number"]
        .as_str()
        .unwrap()
        .to_string();
    desk.ok(&["ticket", "close", &sup]);
    desk.ok(&["ticket", "close", &pho]);
    let refs = |id: &str| format!("In-Reply-To: <{id}>\r\n");
    // An out-of-office reply to a closed ticket is filed without reopening it.
    let ooo = format!("{}Auto-Submitted: auto-replied\r\n", refs("c1@example.org"));
    post(
        &md,
        "a@example.org",
        "support@company.example",
        "Out of Office: Reopen me",
        "c3@example.org",
        &ooo,
        "away",
    );
    desk.drain(&md);
    assert_eq!(desk.show(&sup)["state"], "closed");
    post(
        &md,
        "a@example.org",
        "support@company.example",
        "Re: Reopen me",
        "c4@example.org",
        &refs("c1@example.org"),
        "again",
    );
    post(
        &md,
        "b@example.org",
        "phone@company.example",
        "Re: Rueckruf",
        "c5@example.org",
        &refs("c2@example.org"),
        "again",
    );
    let s = desk.drain(&md);
    assert!(s.contains("new tickets 1, follow-ups 1"), "{s}");
    let show = desk.show(&sup);
    assert_eq!(show["state"], "open");
    assert!(show["folder"].as_str().unwrap() == format!("Tickets/Support/{sup}"));
    assert_eq!(desk.show(&pho)["state"], "closed");
    let linked: Vec<_> = desk
        .tickets()
        .into_iter()
        .filter(|t| t["refers"] == pho.as_str())
        .collect();
    assert_eq!(linked.len(), 1, "a new Phone ticket links the closed one");
    desk.fsck_clean();
}

#[test]
fn reject_policy_quarantines_and_records() {
    let rest = r#"
[[queue]]
name = "Strict"
addresses = ["strict@company.example"]
on-closed = "reject"
"#;
    let desk = Desk::with("", rest);
    let md = desk.maildir("in");
    post(
        &md,
        "a@example.org",
        "strict@company.example",
        "Frage",
        "r1@example.org",
        "",
        "a",
    );
    desk.drain(&md);
    let n = only_ticket(&desk);
    desk.ok(&["ticket", "close", &n]);
    post(
        &md,
        "a@example.org",
        "strict@company.example",
        &format!("Re: [Ticket#{n}] Frage"),
        "r2@example.org",
        "",
        "b",
    );
    let s = desk.drain(&md);
    assert!(s.contains("quarantined 1"), "{s}");
    let show = desk.show(&n);
    assert_eq!(incoming(&show).len(), 1);
    assert!(serde_json::to_string(&show["history"])
        .unwrap()
        .contains("rejected"));
    desk.fsck_clean();
}

#[test]
fn the_same_mail_to_two_queue_addresses_is_one_article() {
    let desk = Desk::new();
    let md = desk.maildir("in");
    let m = mail(
        "a@example.org",
        "support@company.example",
        "Doppelt",
        "d1@example.org",
        "Cc: billing@company.example\r\n",
        "x",
    );
    drop_mail(
        &md,
        &[b"Delivered-To: support@company.example\r\n".as_slice(), &m].concat(),
    );
    drop_mail(&md, &[b"Delivered-To: billing@company.example\r\nReceived: from mx2 by mx; Sat, 21 Nov 2026 10:00:01 +0100\r\n".as_slice(), &m].concat());
    let s = desk.drain(&md);
    assert!(
        s.contains("new tickets 1, follow-ups 0, duplicates 1"),
        "{s}"
    );
    let t = desk.tickets();
    assert_eq!(t[0]["queue"], "Support");
    let hist =
        serde_json::to_string(&desk.show(t[0]["number"].as_str().unwrap())["history"]).unwrap();
    assert!(hist.contains("duplicate-ignored"), "{hist}");
    desk.fsck_clean();
}

#[test]
fn explain_shows_each_decision_and_changes_nothing() {
    let desk = Desk::new();
    let md = desk.maildir("in");
    post(
        &md,
        "kunde@example.org",
        "support@company.example",
        "Karte",
        "x1@example.org",
        "",
        "a",
    );
    desk.drain(&md);
    let n = desk.tickets()[0]["number"].as_str().unwrap().to_string();
    let probe = desk.path().join("probe.eml");
    let m = mail(
        "mallory@evil.example",
        "billing@company.example",
        &format!("Re: [Ticket#{n}] Karte"),
        "x2@evil.example",
        "Auto-Submitted: auto-replied\r\n",
        "b",
    );
    std::fs::write(&probe, m).unwrap();
    let index = desk.index_snapshot();
    let out = desk.ok(&["explain", probe.to_str().unwrap()]);
    for want in [
        "classification: auto-reply",
        "Auto-Submitted",
        &format!("subject carries the tag of ticket {n}"),
        "is not a participant",
        "new ticket in Billing",
        "autoresponse:   no autoresponse to automatic mail (auto-reply",
    ] {
        assert!(out.contains(want), "{want:?} missing in:\n{out}");
    }
    assert_eq!(desk.index_snapshot(), index, "explain wrote to the index");
    assert_eq!(desk.tickets().len(), 1);
    // On a fresh installation explain creates nothing.
    let fresh = Desk::new();
    fresh.ok(&["explain", probe.to_str().unwrap()]);
    assert!(!fresh.data.exists(), "explain created the data dir");
    // Neither does fsck, which only reads.
    fresh.fsck_clean();
    assert!(!fresh.data.exists(), "fsck created the data dir");
}
