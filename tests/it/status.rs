//! `postdesk status` after `run --once` (no daemon): the sources as that run found them, and
//! which configuration and data dir the report is about; `check`'s summary in plain English.

use crate::harness::{post, Desk};

#[test]
fn status_shows_the_sources_of_the_last_run_once_and_its_files() {
    let desk = Desk::with("", "[[source]]\nname = \"inbox\"\nmaildir = \"inbox\"\n");
    post(
        &desk.maildir("inbox"),
        "kunde@example.org",
        "support@company.example",
        "Status",
        "st1@example.org",
        "",
        "x",
    );
    desk.ok(&["run", "--once"]);
    let s = desk.json(&["status", "--json"]);
    assert_eq!(s["sources"][0]["name"], "inbox", "{s}");
    assert_eq!(s["sources"][0]["state"], "ok", "{s}");
    assert_eq!(s["sources"][0]["backlog"], 0, "{s}");
    assert_eq!(s["daemon"]["once"], true, "{s}");
    assert_eq!(s["daemon"]["running"], false, "{s}");
    assert_eq!(s["config"], desk.config.display().to_string(), "{s}");
    assert_eq!(s["data_dir"], desk.data.display().to_string(), "{s}");
    let text = desk.ok(&["status"]);
    assert!(text.contains("source inbox (maildir): ok"), "{text}");
    assert!(text.contains("last `run --once`"), "{text}");
    assert!(
        text.contains(&format!("data dir {}", desk.data.display())),
        "{text}"
    );
}

#[test]
fn check_counts_in_english() {
    let desk = Desk::with("", "[[source]]\nname = \"inbox\"\nmaildir = \"inbox\"\n");
    desk.maildir("inbox");
    let out = desk.ok(&["check"]);
    assert!(out.contains(", 1 source, "), "{out}");
}

#[test]
fn listings_have_headers_help_and_honest_counts() {
    let desk = Desk::with("", "[[source]]\nname = \"inbox\"\nmaildir = \"inbox\"\n");
    post(
        &desk.maildir("inbox"),
        "kunde@example.org",
        "support@company.example",
        "Header",
        "hd1@example.org",
        "",
        "x",
    );
    desk.ok(&["run", "--once"]);
    let list = desk.ok(&["ticket", "list"]);
    let first = list.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("NUMBER ") && first.contains("SUBJECT"),
        "{list}"
    );
    assert_eq!(list.lines().count(), 2, "{list}");
    // The acknowledgement went out on its first attempt: 1, not 0.
    let sent = desk.json(&["outbox", "list", "--json"]);
    let ack = &sent.as_array().unwrap()[0];
    assert_eq!(ack["state"], "sent", "{sent}");
    assert_eq!(ack["attempts"], 1, "{sent}");
    for cmd in [["status", "--help"], ["fsck", "--help"]] {
        let help = desk.ok(&cmd);
        let line = help
            .lines()
            .find(|l| l.contains("--json"))
            .unwrap_or_default();
        assert!(line.trim().len() > "--json".len(), "no help text: {help}");
    }
}
