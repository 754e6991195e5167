//! Agents' notices as an agent reads them: a follow-up's notice says when the ticket was
//! opened, not when the follow-up arrived.

use crate::harness::{files_in, post, Desk};

#[test]
fn a_follow_ups_notice_shows_when_the_ticket_was_opened() {
    let desk = Desk::with("", "[[source]]\nname = \"inbox\"\nmaildir = \"inbox\"\n");
    let md = desk.maildir("inbox");
    post(
        &md,
        "kunde@example.org",
        "support@company.example",
        "Scanner",
        "n1@example.org",
        "",
        "x",
    );
    desk.ok(&["run", "--once"]);
    let t = &desk.tickets()[0];
    let (n, created) = (
        t["number"].as_str().unwrap(),
        t["created"].as_str().unwrap(),
    );
    // The follow-up comes at least a second later, so the two times differ.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    post(
        &md,
        "kunde@example.org",
        "support@company.example",
        &format!("Re: [Ticket#{n}] Scanner"),
        "n2@example.org",
        "",
        "y",
    );
    desk.ok(&["run", "--once"]);
    let notices: Vec<String> = files_in(&desk.data.join("outbox/new"))
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .filter(|m| m.contains("added a message to ticket"))
        .collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
    let opened = notices[0]
        .lines()
        .find_map(|l| l.strip_prefix("Opened:"))
        .unwrap_or_else(|| panic!("no Opened line: {}", notices[0]))
        .trim();
    assert_eq!(opened, created);
}
