//! Customers ask by mail: `#tickets`, `#status N`, `#history N` on the first line are answered
//! through the local outbox from the queue's address, only to the sender's address as the
//! directory has it, with only what that customer may see; nothing is filed as a ticket, and a
//! kill -9 at any point neither loses a request nor answers one twice.

use std::collections::HashMap;
use std::fs;
use std::time::{Duration, Instant};

use crate::harness::{drop_mail, files_in, post, Desk};
use crate::outgoing::{body, header, subject};

const PEOPLE: &str = r#"
[[organisation]]
id = "acme"
name = "ACME GmbH"
domains = ["acme.example"]
customers-see-organisation = true

[[organisation]]
id = "globex"
name = "Globex Corporation"
domains = ["globex.example"]

[[person]]
first-name = "Maria"
last-name = "Müller"
mail = ["maria@acme.example"]
organisations = ["acme"]

[[person]]
first-name = "Bob"
last-name = "Builder"
mail = ["bob@acme.example"]
organisations = ["acme"]

[[person]]
first-name = "Hank"
last-name = "Scorpio"
mail = ["hank@globex.example"]
organisations = ["globex"]
language = "de"

[[person]]
first-name = "Kim"
last-name = "Kaplan"
mail = ["kim@globex.example"]
organisations = ["globex"]
"#;

/// A desk with the directory `PEOPLE`; `extra` goes after its `[directory]` table.
fn desk(extra: &str) -> Desk {
    let desk = Desk::with(
        "",
        &format!(
            "[directory]\nfile = \"directory.toml\"\n{extra}\n[autoresponse]\nper-recipient-per-day = 1000\ncircuit-breaker-per-minute = 100000\n"
        ),
    );
    fs::write(desk.path().join("directory.toml"), PEOPLE).unwrap();
    desk
}

fn all_outbox(desk: &Desk) -> usize {
    files_in(&desk.data.join("outbox/new")).len()
}

/// Sends `first_line` from `from` to the Support queue and drains; returns the summary line.
fn ask(desk: &Desk, from: &str, first_line: &str, extra: &str) -> String {
    let md = desk.maildir("in");
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    post(
        &md,
        from,
        "support@company.example",
        "Question",
        &format!("ask{n}.{}@example.org", std::process::id()),
        extra,
        &format!("{first_line}\r\n\r\nThanks\r\n"),
    );
    desk.drain(&md)
}

/// Opens one ticket per (from, subject) and returns their numbers by subject.
fn open(desk: &Desk, mails: &[(&str, &str, &str)]) -> HashMap<String, String> {
    let md = desk.maildir("in");
    for (i, (from, subject, text)) in mails.iter().enumerate() {
        post(
            &md,
            from,
            "support@company.example",
            subject,
            &format!("open{i}@example.org"),
            "",
            text,
        );
    }
    desk.drain(&md);
    desk.tickets()
        .iter()
        .map(|t| {
            (
                t["subject"].as_str().unwrap().to_string(),
                t["number"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// An agent's answer (or, with `#note`, a note) to ticket `n` through its reply address.
fn agent_writes(desk: &Desk, n: &str, id: &str, text: &str) {
    let show = desk.show(n);
    let stored = fs::read_to_string(show["articles"][0]["path"].as_str().unwrap()).unwrap();
    let reply_to = header(&stored, "Reply-To").unwrap();
    let mail = format!(
        "From: Alice Agent <alice@company.example>\r\nTo: {reply_to}\r\nSubject: Re: [Ticket#{n}] x\r\nMessage-ID: <{id}>\r\nDate: Sun, 22 Nov 2026 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    );
    let md = desk.maildir("in");
    drop_mail(&md, mail.as_bytes());
    let out = desk.drain(&md);
    assert!(out.contains("agent mails 1"), "{out}");
}

fn standard(desk: &Desk) -> HashMap<String, String> {
    open(
        desk,
        &[
            (
                "Maria <maria@acme.example>",
                "Card blocked",
                "My card is blocked.",
            ),
            ("bob@acme.example", "Login fails", "I cannot log in."),
            ("hank@globex.example", "Volcano", "The volcano is loud."),
        ],
    )
}

#[test]
fn the_organisations_list_and_a_history_without_notes() {
    let desk = desk("");
    let t = standard(&desk);
    let card = &t["Card blocked"];
    agent_writes(
        &desk,
        card,
        "a1@company.example",
        "Your card is unblocked again.",
    );
    agent_writes(
        &desk,
        card,
        "a2@company.example",
        "#note\r\nInternal: check the customer's credit with jana@company.example",
    );
    let tickets_before = desk.tickets().len();

    // ACME lets its people see all of its tickets: Maria's list has Bob's too, not Hank's.
    let out = ask(&desk, "Maria <maria@acme.example>", "#tickets", "");
    assert!(out.contains("customer requests 1"), "{out}");
    let got = desk.outbox_to("maria@acme.example");
    let list = got
        .iter()
        .find(|m| subject(m).contains("Your requests"))
        .expect("an answer to #tickets");
    let text = body(list);
    assert!(text.contains("Dear Maria Müller,"), "{text}");
    assert!(text.contains("of your organisation"), "{text}");
    for (s, n) in &t {
        assert_eq!(
            text.contains(n.as_str()),
            s != "Volcano",
            "{s} {n} in {text}"
        );
    }
    assert!(text.contains("Login fails") && text.contains("open, last change"));
    assert_eq!(
        header(list, "From").unwrap(),
        "\"Support\" <support@company.example>"
    );
    assert!(header(list, "Auto-Submitted").is_some());

    // Globex does not: Hank sees his own only, in German (his language in the directory).
    ask(&desk, "hank@globex.example", "#vorgänge", "");
    let got = desk.outbox_to("hank@globex.example");
    let text = body(
        got.iter()
            .find(|m| subject(m).contains("Ihre Anliegen"))
            .unwrap(),
    );
    assert!(
        text.contains(&t["Volcano"]) && !text.contains(card),
        "{text}"
    );
    assert!(text.contains("dies sind Ihre Anliegen"), "{text}");

    // The history: her message and the answer, never the note or an agent's address.
    ask(&desk, "maria@acme.example", &format!("#history {card}"), "");
    let got = desk.outbox_to("maria@acme.example");
    let hist = got
        .iter()
        .find(|m| subject(m).contains("Messages:"))
        .expect("an answer to #history");
    let text = body(hist);
    assert!(text.contains("My card is blocked."), "{text}");
    assert!(text.contains("Your card is unblocked again."), "{text}");
    assert!(text.contains("our answer (Support)"), "{text}");
    assert!(
        !text.contains("Internal") && !text.contains("credit"),
        "{text}"
    );
    assert!(!hist.to_ascii_lowercase().contains("alice@company.example"));
    assert!(!hist.contains("jana@company.example"));

    // Status, from a colleague: allowed by the organisation.
    ask(&desk, "bob@acme.example", &format!("#status {card}"), "");
    let got = desk.outbox_to("bob@acme.example");
    let st = got.iter().find(|m| subject(m).contains("Status:")).unwrap();
    assert!(body(st).contains("is open"), "{}", body(st));

    // None of it was filed as a ticket; each request is kept in the quarantine.
    assert_eq!(desk.tickets().len(), tickets_before);
    let log = desk.mail_log();
    assert!(log.contains("request"), "{log}");
    desk.fsck_clean();
}

#[test]
fn a_forged_from_is_answered_at_the_directorys_address_only() {
    let desk = desk("");
    standard(&desk);
    let before = all_outbox(&desk);
    ask(
        &desk,
        "Maria <MARIA@acme.example>",
        "#tickets",
        "Reply-To: thief@evil.example\r\nCc: thief2@evil.example\r\n",
    );
    assert_eq!(all_outbox(&desk), before + 1);
    let got = desk.outbox_to("maria@acme.example");
    let last = got.last().unwrap();
    assert!(subject(last).contains("Your requests"));
    assert_eq!(header(last, "To").unwrap(), "<maria@acme.example>");
    assert!(!last.contains("evil.example"), "{last}");
    assert!(desk.outbox_to("evil.example").is_empty());
}

#[test]
fn unknown_senders_get_nothing_by_default_or_a_short_answer() {
    // A sender known only by the organisation's domain is not a person of the directory.
    for from in ["eve@other.example", "someone@acme.example"] {
        let desk = desk("");
        standard(&desk);
        let before = all_outbox(&desk);
        let tickets = desk.tickets().len();
        let out = ask(&desk, from, "#tickets", "");
        assert!(out.contains("customer requests 1"), "{out}");
        assert_eq!(all_outbox(&desk), before, "{from}: no answer");
        assert_eq!(desk.tickets().len(), tickets, "{from}: no ticket");
        assert!(desk
            .mail_log()
            .contains("not answered: the directory does not know the sender"));
    }
    let desk = desk("[customer-requests]\nunknown-sender = \"answer\"\n");
    standard(&desk);
    ask(&desk, "eve@other.example", "#status 2016010110000019", "");
    let got = desk.outbox_to("eve@other.example");
    assert_eq!(got.len(), 1);
    let text = body(&got[0]);
    assert!(
        text.contains("we do not know the address eve@other.example"),
        "{text}"
    );
}

#[test]
fn an_autoresponder_asking_gets_no_answer() {
    let desk = desk("");
    standard(&desk);
    let before = all_outbox(&desk);
    let tickets = desk.tickets().len();
    let out = ask(
        &desk,
        "maria@acme.example",
        "#tickets",
        "Auto-Submitted: auto-replied\r\n",
    );
    assert!(out.contains("customer requests 1"), "{out}");
    assert_eq!(all_outbox(&desk), before);
    assert_eq!(desk.tickets().len(), tickets);
    assert!(desk.mail_log().contains("no answer to automatic mail"));
}

/// Another organisation's ticket is answered exactly as a number that does not exist.
#[test]
fn another_organisations_ticket_reads_as_an_unknown_number() {
    let desk = desk("");
    let t = standard(&desk);
    let volcano = &t["Volcano"];
    let unknown = "2026010110000099";
    for (line, n) in [
        (format!("#history {volcano}"), volcano.as_str()),
        (format!("#history {unknown}"), unknown),
    ] {
        ask(&desk, "maria@acme.example", &line, "");
        let got = desk.outbox_to("maria@acme.example");
        let last = got.last().unwrap();
        let text = body(last);
        assert!(
            !text.contains("volcano") && !text.contains("Volcano"),
            "{text}"
        );
        assert!(text.contains(n), "{text}");
        assert!(
            text.contains("could not find a request with the number"),
            "{text}"
        );
    }
    let got = desk.outbox_to("maria@acme.example");
    let a = body(&got[got.len() - 2]).replace(volcano.as_str(), "N");
    let b = body(&got[got.len() - 1]).replace(unknown, "N");
    assert_eq!(a, b, "the same answer for someone else's and no ticket");
    assert_eq!(subject(&got[got.len() - 2]), subject(&got[got.len() - 1]));
}

#[test]
fn explain_shows_a_request_and_its_answer() {
    let desk = desk("");
    let t = standard(&desk);
    let f = desk.path().join("ask.eml");
    fs::write(
        &f,
        crate::harness::mail(
            "maria@acme.example",
            "support@company.example",
            "Question",
            "explain1@example.org",
            "",
            &format!("#status {}\r\n", t["Login fails"]),
        ),
    )
    .unwrap();
    let out = desk.ok(&["explain", f.to_str().unwrap()]);
    assert!(
        out.contains("a customer's request #status to Support"),
        "{out}"
    );
    assert!(
        out.contains("request-status to maria@acme.example")
            && out.contains(&format!("the state of ticket {}", t["Login fails"])),
        "{out}"
    );
}

/// kill -9 at random points while requests and ordinary mail are taken: afterwards every
/// request is kept once, answered once, none opened a ticket, and nothing is left at the source.
#[test]
fn kill_9_while_answering_requests_loses_and_repeats_nothing() {
    const N: usize = 240;
    let desk = desk("[intake]\nbatch-size = 8\n[[source]]\nname = \"inbox\"\nmaildir = \"inbox\"\nafter = \"seen\"\n");
    let t = standard(&desk);
    let md = desk.maildir("inbox");
    let people = [
        "maria@acme.example",
        "bob@acme.example",
        "hank@globex.example",
        "kim@globex.example",
    ];
    let mut seed: u64 = 0x5EED_C057_2026;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let numbers: Vec<&String> = t.values().collect();
    let mut requests = 0;
    for i in 0..N {
        let from = people[(next() % 4) as usize];
        let r = next() % 4;
        let body = match r {
            0 => "#tickets".to_string(),
            1 => format!("#status {}", numbers[(next() % 3) as usize]),
            2 => format!("#history {}", numbers[(next() % 3) as usize]),
            _ => format!("A question number {i}"),
        };
        if r < 3 {
            requests += 1;
        }
        post(
            &md,
            from,
            "support@company.example",
            &format!("Mail {i}"),
            &format!("kill{i}@example.org"),
            "",
            &body,
        );
    }
    let tickets_before = desk.tickets().len();
    let started = Instant::now();
    let mut next_delay = 0u64;
    // Short delays, so that even a fast machine is killed part way through its 30 batches.
    let kills = desk.run_with_kills(&md, 6, || {
        next_delay = (next_delay * 7 + 131) % 400;
        Duration::from_millis(10 + next_delay % 120)
    });
    assert!(
        kills >= 3,
        "the test must actually kill runs (killed {kills})"
    );
    assert_eq!(fs::read_dir(md.join("cur")).unwrap().count(), N);

    let count = |sql: &str| -> i64 { desk.index_count(sql) };
    // Each request once in the quarantine, each answered once.
    let kept = count(
        "SELECT count(DISTINCT message_id) FROM quarantine WHERE reason LIKE 'customer request%'",
    );
    let rows = count("SELECT count(*) FROM quarantine WHERE reason LIKE 'customer request%'");
    assert_eq!((kept, rows), (requests, requests));
    let answered =
        count("SELECT count(*) FROM quarantine WHERE reason LIKE 'customer request%answered to%'");
    let answers = count(
        "SELECT count(*) FROM quarantine WHERE reason LIKE 'answer to a customer''s request%'",
    );
    assert_eq!(
        answered, requests,
        "every known customer's request is answered"
    );
    assert_eq!(answers, requests, "and only once");
    assert_eq!(
        count("SELECT count(*) FROM outbox WHERE state != 'sent'"),
        0,
        "mail left unsent"
    );
    // The other mail became tickets; no request did.
    let questions = N as i64 - requests;
    assert_eq!(
        desk.tickets().len() as i64,
        tickets_before as i64 + questions
    );
    assert_eq!(desk.staged_files(), 0, "staged files left behind");
    desk.fsck_clean();
    eprintln!(
        "request crash test: {kills} kills, {requests} requests, {:?}",
        started.elapsed()
    );
}
