//! Whom a ticket belongs to: the directory's person by the sender's address, else the
//! organisation by the sender's mail domain, else nobody known; the organisation's service. Kept
//! in the index and in the trace block of the opening article (a rebuild from the tree gives the
//! same), listed and filtered by `ticket list`, and shown to templates.

use std::fs;

use crate::directory::{desk_with_directory, DIRECTORY};
use crate::harness::{post, Desk};
use crate::outgoing::body;

/// `DIRECTORY` with a second organisation of two services (which one a mail is about is not
/// known) and a person of it.
fn directory() -> String {
    format!(
        "{DIRECTORY}
[[service]]
name = \"Branch\"

[[organisation]]
id = \"globex\"
name = \"Globex Corporation\"
domains = [\"globex.example\"]
service = [{{ service = \"Online\" }}, {{ service = \"Branch\" }}]

[[person]]
id = \"hank\"
first-name = \"Hank\"
last-name = \"Scorpio\"
mail = [\"hank@globex.example\"]
organisations = [\"globex\"]
"
    )
}

fn attribution(t: &serde_json::Value) -> [Option<String>; 3] {
    ["person", "organisation", "service"].map(|k| t[k].as_str().map(str::to_string))
}

fn by_subject(desk: &Desk) -> Vec<(String, [Option<String>; 3])> {
    let mut v: Vec<_> = desk
        .tickets()
        .iter()
        .map(|t| (t["subject"].as_str().unwrap().to_string(), attribution(t)))
        .collect();
    v.sort();
    v
}

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

#[test]
fn new_tickets_belong_to_the_directorys_person_or_organisation() {
    let desk = desk_with_directory(&directory());
    let md = desk.maildir("in");
    let mails = [
        ("M. Mueller <Maria.Mueller@ACME.example>", "Card blocked"),
        ("Someone <someone@acme.example>", "Login fails"),
        ("Hank <hank@globex.example>", "Volcano"),
        ("Jane <jane@example.org>", "Printer"),
    ];
    for (i, (from, subject)) in mails.iter().enumerate() {
        post(
            &md,
            from,
            "support@company.example",
            subject,
            &format!("c{i}@example.org"),
            "",
            "Hello",
        );
    }
    desk.drain(&md);
    let want = vec![
        (
            "Card blocked".to_string(),
            [
                some("maria.mueller@acme.example"),
                some("acme"),
                some("Online"),
            ],
        ),
        ("Login fails".into(), [None, some("acme"), some("Online")]),
        ("Printer".into(), [None, None, None]),
        ("Volcano".into(), [some("hank"), some("globex"), None]),
    ];
    assert_eq!(by_subject(&desk), want);

    // `ticket show` says it too, and the opening article's trace block holds it.
    let n = desk.number_of("Card blocked");
    let show = desk.show(&n);
    assert_eq!(show["organisation"], "acme");
    let text = desk.ok(&["ticket", "show", &n]);
    assert!(
        text.contains("person maria.mueller@acme.example   organisation acme   service Online"),
        "{text}"
    );
    let stored = fs::read_to_string(show["articles"][0]["path"].as_str().unwrap()).unwrap();
    assert!(stored.contains("X-Postdesk-Organisation: acme"), "{stored}");

    // Filters: by address (any of the person's), by person id, by organisation.
    let list = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["ticket", "list", "--json"];
        a.extend_from_slice(args);
        let mut v: Vec<String> = desk
            .json(&a)
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["subject"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        list(&["--customer", "maria.mueller@acme.example"]),
        ["Card blocked"]
    );
    assert_eq!(list(&["--customer", "hank"]), ["Volcano"]);
    assert_eq!(list(&["--customer", "JANE@example.org"]), ["Printer"]);
    assert_eq!(
        list(&["--organisation", "acme"]),
        ["Card blocked", "Login fails"]
    );
    assert!(list(&["--organisation", "acme", "--customer", "hank"]).is_empty());
    let table = desk.ok(&["ticket", "list"]);
    assert!(
        table.contains("ORGANISATION") && table.contains("globex"),
        "{table}"
    );

    // Templates: the directory's name in the salutation, the organisation in the notice;
    // the unknown sender is greeted by the name in their From.
    let ack = desk.outbox_to("maria.mueller@acme.example");
    assert_eq!(ack.len(), 1);
    assert!(
        body(&ack[0]).contains("Dear Maria Müller,"),
        "{}",
        body(&ack[0])
    );
    let ack = desk.outbox_to("jane@example.org");
    assert!(body(&ack[0]).contains("Dear Jane,"), "{}", body(&ack[0]));
    let notices: Vec<String> = desk
        .outbox_to("alice@company.example")
        .iter()
        .map(|m| body(m))
        .collect();
    assert!(
        notices
            .iter()
            .any(|b| b.contains("Company:   ACME GmbH") && b.contains("SLA:       gold")),
        "{notices:#?}"
    );
    assert!(notices
        .iter()
        .any(|b| b.contains("Company:   Globex") && !b.contains("Service:")));

    // A rebuild from the tree alone gives the same.
    for f in postdesk::store::index_files(&desk.data) {
        let _ = fs::remove_file(f);
    }
    desk.ok(&["reindex"]);
    assert_eq!(by_subject(&desk), want);
    desk.fsck_clean();
}

/// A follow-up from a colleague leaves the ticket the customer's who opened it.
#[test]
fn follow_ups_keep_the_tickets_customer() {
    let desk = desk_with_directory(&directory());
    let md = desk.maildir("in");
    post(
        &md,
        "maria.mueller@acme.example",
        "support@company.example",
        "Card blocked",
        "f1@acme.example",
        "Cc: bob@acme.example\r\n",
        "Hello",
    );
    desk.drain(&md);
    let n = desk.number_of("Card blocked");
    let tag = format!("[Ticket#{n}]");
    post(
        &md,
        "Bob <bob@acme.example>",
        "support@company.example",
        &format!("Re: {tag} Card blocked"),
        "f2@acme.example",
        "In-Reply-To: <f1@acme.example>\r\n",
        "Me too",
    );
    desk.drain(&md);
    let t = desk.tickets();
    assert_eq!(t.len(), 1, "{t:#?}");
    assert_eq!(
        attribution(&t[0]),
        [
            some("maria.mueller@acme.example"),
            some("acme"),
            some("Online")
        ]
    );
}

/// Without a directory nothing changes: tickets belong to nobody known.
#[test]
fn without_a_directory_tickets_read_as_unknown() {
    let desk = Desk::new();
    let md = desk.maildir("in");
    post(
        &md,
        "Jane <jane@example.org>",
        "support@company.example",
        "Printer",
        "u1@example.org",
        "",
        "Hello",
    );
    desk.drain(&md);
    let t = desk.tickets();
    assert_eq!(attribution(&t[0]), [None, None, None]);
    assert!(t[0].as_object().unwrap().contains_key("organisation"));
}
