//! Agents' notices as an agent reads them: one pointer per mail to all of the queue's agents, and
//! a follow-up's notice says when the ticket was opened, not when the follow-up arrived.

use crate::harness::{files_in, post, Desk};
use crate::outgoing::header;

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

/// With the default `agent-notice = "pointer"`: one notice per mail to all of the queue's agents,
/// the first lines of the text and the folder that holds the rest, the ticket's shared reply
/// address (any of the queue's agents may answer through it), not filed in the ticket, and in the
/// history once sent, also after a rebuild of the index.
#[test]
fn one_pointer_notice_per_mail_reaches_every_agent_of_the_queue() {
    let bob = "[[agent]]\nname = \"Bob Agent\"\naddress = \"bob@company.example\"\nqueues = [\"Support\"]\n";
    let desk = Desk::with(
        "",
        &format!("[[source]]\nname = \"inbox\"\nmaildir = \"inbox\"\n{bob}"),
    );
    let md = desk.maildir("inbox");
    let body: String = (1..=30)
        .map(|i| format!("line {i} of the report\r\n"))
        .collect();
    post(
        &md,
        "Jane Doe <jane@example.org>",
        "support@company.example",
        "Printer jams",
        "p1@example.org",
        "",
        &body,
    );
    desk.ok(&["run", "--once"]);
    let n = desk.tickets()[0]["number"].as_str().unwrap().to_string();
    let mails: Vec<String> = files_in(&desk.data.join("outbox/new"))
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    let notices: Vec<&String> = mails
        .iter()
        .filter(|m| header(m, "Auto-Submitted").as_deref() == Some("auto-generated"))
        .collect();
    assert_eq!(notices.len(), 1, "{mails:#?}");
    let notice = notices[0];
    let to = header(notice, "To").unwrap();
    assert!(
        to.contains("alice@company.example") && to.contains("bob@company.example"),
        "{to}"
    );
    assert!(notice.contains("> line 12 of the report"), "{notice}");
    assert!(!notice.contains("line 13 of the report"), "{notice}");
    assert!(
        notice.contains(&format!("The whole message is in Tickets/Support/{n}.")),
        "{notice}"
    );
    // Not filed: the ticket holds the customer's mail and the acknowledgement.
    let show = desk.show(&n);
    let articles = show["articles"].as_array().unwrap();
    assert_eq!(articles.len(), 2, "{articles:#?}");
    assert!(articles
        .iter()
        .all(|a| a["classification"] != "notification"));
    let stored = std::fs::read_to_string(articles[0]["path"].as_str().unwrap()).unwrap();
    let reply_to = header(notice, "Reply-To").unwrap();
    assert_eq!(Some(reply_to.clone()), header(&stored, "Reply-To"));
    let history = show["history"].to_string();
    assert!(
        history.contains("notification to bob@company.example, alice@company.example"),
        "{history}"
    );
    // Bob answers from the notice.
    let address = reply_to
        .rsplit('<')
        .next()
        .unwrap()
        .trim_end_matches('>')
        .to_string();
    post(
        &md,
        "Bob Agent <bob@company.example>",
        &address,
        &format!("Re: [Ticket#{n}] Printer jams"),
        "b1@company.example",
        "",
        "Please try the other tray.",
    );
    desk.ok(&["run", "--once"]);
    let answers = desk.show(&n)["articles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["direction"] == "agent")
        .count();
    assert_eq!(answers, 1);
    desk.fsck_clean();
    desk.ok(&["reindex"]);
    desk.fsck_clean();
    let history = desk.show(&n)["history"].to_string();
    assert!(
        history.contains("notification to bob@company.example, alice@company.example"),
        "{history}"
    );
}

/// A notice whose bytes live only in the index (a pointer, not filed in the ticket) is still
/// queued after a rebuild of the index, and sent once the server is back; the acknowledgement,
/// an article of the ticket, is queued again from the tree.
#[test]
fn a_queued_pointer_notice_survives_a_rebuild_of_the_index() {
    let port = crate::services::free_port();
    let desk = crate::outgoing::desk(port, "");
    let md = desk.maildir("in");
    post(
        &md,
        "jane@example.org",
        "support@company.example",
        "Hello",
        "q1@example.org",
        "",
        "x",
    );
    let out = desk.drain(&md);
    assert!(out.contains("deferred 2"), "{out}");
    desk.ok(&["reindex"]);
    let queued = desk.ok(&["outbox", "list", "--queued"]);
    assert_eq!(queued.lines().count(), 2, "{queued}");
    assert!(queued.contains("notification"), "{queued}");
    let sink = crate::services::SmtpSink::start_at(Some(port));
    let out = desk.ok(&["outbox", "flush"]);
    assert!(out.contains("sent 2"), "{out}");
    assert_eq!(crate::outgoing::to(&sink, "jane@example.org").len(), 1);
    assert_eq!(crate::outgoing::to(&sink, "alice@company.example").len(), 1);
    desk.fsck_clean();
}
