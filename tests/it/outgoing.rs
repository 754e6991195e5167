//! Outgoing mail against a real SMTP server (aiosmtpd): acknowledgements and their headers,
//! no answers to automatic mail, a responder loop that stops, agents' answers relayed from the
//! queue's address, notes, commands, forged agents, SMTP down and back, a 550, and template
//! injection.

use std::time::Duration;

use crate::harness::{drop_mail, mail, post, Desk};
use crate::services::{free_port, SmtpSink};

/// A desk sending through SMTP on `port`; `extra` goes into [autoresponse].
pub(crate) fn desk(port: u16, autoresponse: &str) -> Desk {
    Desk::with(
        "",
        &format!(
            "[outgoing]\ntransport = \"smtp\"\n[outgoing.smtp]\nport = {port}\ntimeout-seconds = 5\n\n[autoresponse]\n{autoresponse}\n"
        ),
    )
}

/// Mails the sink received for `rcpt`: (raw text, envelope JSON).
pub(crate) fn to(sink: &SmtpSink, rcpt: &str) -> Vec<(String, String)> {
    sink.messages()
        .into_iter()
        .filter(|(_, env)| env.contains(&format!("\"{rcpt}\"")))
        .map(|(raw, env)| (String::from_utf8_lossy(&raw).into_owned(), env))
        .collect()
}

/// The value of the first header `name` in a raw mail (unfolded).
pub(crate) fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw
        .split("\r\n\r\n")
        .next()
        .unwrap_or(raw)
        .replace("\r\n ", " ");
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

/// The subject decoded (mail-builder encodes long or non-ASCII subjects).
pub(crate) fn subject(raw: &str) -> String {
    let m = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("parse");
    m.subject().unwrap_or_default().to_string()
}

pub(crate) fn body(raw: &str) -> String {
    let m = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("parse");
    m.body_text(0).unwrap_or_default().into_owned()
}

pub(crate) fn history(desk: &Desk, n: &str) -> String {
    desk.show(n)["history"].to_string()
}

pub(crate) fn only_ticket(desk: &Desk) -> String {
    let t = desk.tickets();
    assert_eq!(t.len(), 1, "{t:?}");
    t[0]["number"].as_str().unwrap().to_string()
}

#[test]
fn acknowledgement_then_follow_up() {
    let sink = SmtpSink::start();
    let desk = desk(sink.port, "follow-up = true");
    let md = desk.maildir("in");
    post(
        &md,
        "Jane Doe <jane@example.org>",
        "support@company.example",
        "Printer on fire",
        "p1@example.org",
        "",
        "It burns.",
    );
    let out = desk.drain(&md);
    assert!(out.contains("outbox") && out.contains("sent 2"), "{out}");
    let n = only_ticket(&desk);
    let acks = to(&sink, "jane@example.org");
    assert_eq!(acks.len(), 1);
    let (raw, env) = &acks[0];
    assert!(env.contains("\"mail_from\": \"<>\""), "null sender: {env}");
    assert_eq!(
        header(raw, "From").unwrap(),
        "\"Support\" <support@company.example>"
    );
    assert!(header(raw, "To").unwrap().contains("jane@example.org"));
    assert!(
        subject(raw).contains(&format!("[Ticket#{n}]")),
        "{}",
        subject(raw)
    );
    assert_eq!(header(raw, "In-Reply-To").unwrap(), "<p1@example.org>");
    assert!(header(raw, "References")
        .unwrap()
        .contains("<p1@example.org>"));
    let id = header(raw, "Message-ID").unwrap();
    assert!(
        id.starts_with(&format!("<{n}.")) && id.ends_with("@company.example>"),
        "{id}"
    );
    assert_eq!(header(raw, "Auto-Submitted").unwrap(), "auto-replied");
    assert_eq!(header(raw, "Precedence").unwrap(), "bulk");
    assert_eq!(header(raw, "X-Auto-Response-Suppress").unwrap(), "All");
    assert_eq!(header(raw, "X-Loop").unwrap(), "postdesk@company.example");
    assert!(header(raw, "Content-Type").unwrap().contains("charset"));
    assert!(
        !raw.contains("X-Postdesk-"),
        "trace headers never leave: {raw}"
    );
    // The agent heard of it, with the ticket's reply address.
    let notes = to(&sink, "alice@company.example");
    assert_eq!(notes.len(), 1);
    assert!(header(&notes[0].0, "Reply-To")
        .unwrap()
        .contains(&format!("support+{n}-")));
    assert!(body(&notes[0].0).contains("It burns."));

    // The customer answers the acknowledgement: a follow-up, acknowledged in turn.
    let reply = format!("Re: {}", subject(raw));
    post(
        &md,
        "jane@example.org",
        "support@company.example",
        &reply,
        "p2@example.org",
        &format!("In-Reply-To: {id}\r\n"),
        "Still burning.",
    );
    let out = desk.drain(&md);
    assert!(out.contains("follow-ups 1"), "{out}");
    let acks = to(&sink, "jane@example.org");
    assert_eq!(acks.len(), 2);
    assert!(subject(&acks[1].0).contains(&format!("[Ticket#{n}]")));
    let h = history(&desk, &n);
    assert!(h.contains("autoresponse") && h.contains("\"sent\""), "{h}");
    desk.fsck_clean();
    let before = desk.show(&n);
    desk.ok(&["reindex"]);
    assert_eq!(
        desk.show(&n),
        before,
        "reindex reproduces articles and history"
    );
    // Nothing is queued again by the rebuild.
    assert_eq!(desk.ok(&["outbox", "list", "--queued"]).trim(), "");
}

#[test]
fn automatic_mail_is_never_answered() {
    let sink = SmtpSink::start();
    let desk = desk(sink.port, "");
    let md = desk.maildir("in");
    let cases = [
        (
            "ooo@example.org",
            "Auto-Submitted: auto-replied\r\n",
            "Out of office",
        ),
        (
            "list-member@example.org",
            "List-Id: <users.lists.example.org>\r\n",
            "List traffic",
        ),
        ("noreply@shop.example", "", "Your order"),
        ("bulk@example.org", "Precedence: bulk\r\n", "Newsletter"),
        (
            "MAILER-DAEMON@mx.example.org",
            "",
            "Undelivered Mail Returned to Sender",
        ),
    ];
    for (i, (from, extra, subj)) in cases.iter().enumerate() {
        post(
            &md,
            from,
            "support@company.example",
            subj,
            &format!("a{i}@example.org"),
            extra,
            "text",
        );
    }
    desk.drain(&md);
    for (from, _, _) in &cases {
        assert!(
            to(&sink, &from.to_ascii_lowercase()).is_empty(),
            "answered {from}"
        );
    }
    for t in desk.tickets() {
        let n = t["number"].as_str().unwrap();
        let h = history(&desk, n);
        assert!(h.contains("autoresponse-suppressed"), "{n}: {h}");
    }
    assert!(desk.mail_log().contains("autoresponse suppressed"));
}

#[test]
fn a_vacation_responder_loop_stops_at_the_rate_limit() {
    let sink = SmtpSink::start();
    let desk = desk(sink.port, "follow-up = true");
    let md = desk.maildir("in");
    post(
        &md,
        "bob@responder.example",
        "support@company.example",
        "Hello",
        "v0@responder.example",
        "",
        "Hi",
    );
    desk.drain(&md);
    // A careless responder: answers everything, with no Auto-Submitted or Precedence header.
    for round in 1..=15 {
        let got = to(&sink, "bob@responder.example");
        let (raw, _) = got.last().expect("an answer to answer");
        let id = header(raw, "Message-ID").unwrap();
        post(
            &md,
            "bob@responder.example",
            "support@company.example",
            &format!("Re: {}", subject(raw)),
            &format!("v{round}@responder.example"),
            &format!("In-Reply-To: {id}\r\n"),
            "I am away until Monday.",
        );
        desk.drain(&md);
        if to(&sink, "bob@responder.example").len() == got.len() {
            break;
        }
    }
    let n = only_ticket(&desk);
    assert_eq!(
        to(&sink, "bob@responder.example").len(),
        10,
        "per-recipient-per-day"
    );
    assert!(history(&desk, &n).contains("rate limit: 10 autoresponses to bob@responder.example"));
}

#[test]
fn smtp_down_then_back_sends_once_and_a_550_is_recorded() {
    let port = free_port();
    let desk = desk(port, "");
    let md = desk.maildir("in");
    post(
        &md,
        "jane@example.org",
        "support@company.example",
        "Hello",
        "d1@example.org",
        "",
        "x",
    );
    let out = desk.drain(&md);
    assert!(out.contains("deferred 2"), "{out}");
    let queued = desk.ok(&["outbox", "list", "--queued"]);
    assert_eq!(queued.lines().count(), 2, "{queued}");
    // A restart with the server still down changes nothing.
    let out = desk.ok(&["outbox", "flush"]);
    assert!(out.contains("deferred 2"), "{out}");
    let sink = SmtpSink::start_at(Some(port));
    let out = desk.ok(&["outbox", "flush"]);
    assert!(out.contains("sent 2"), "{out}");
    let out = desk.ok(&["outbox", "flush"]);
    assert!(out.contains("sent 0"), "{out}");
    assert_eq!(to(&sink, "jane@example.org").len(), 1, "exactly once");

    // A recipient the server refuses for good.
    post(
        &md,
        "reject-me@example.org",
        "support@company.example",
        "Hi",
        "d2@example.org",
        "",
        "x",
    );
    desk.drain(&md);
    let n = desk
        .tickets()
        .into_iter()
        .find(|t| t["customer"].as_str().unwrap().contains("reject-me"))
        .unwrap()["number"]
        .as_str()
        .unwrap()
        .to_string();
    let h = history(&desk, &n);
    assert!(h.contains("send-failed") && h.contains("550"), "{h}");
    assert!(desk.ok(&["outbox", "list"]).contains("failed"));
    std::thread::sleep(Duration::from_millis(100));
    let told = to(&sink, "alice@company.example");
    assert!(
        told.iter()
            .any(|(raw, _)| subject(raw).contains("Undeliverable")),
        "agents told"
    );
    desk.fsck_clean();
}

#[test]
fn template_injection_stays_literal() {
    let sink = SmtpSink::start();
    let desk = desk(sink.port, "");
    let md = desk.maildir("in");
    let raw = mail(
        "jane@example.org",
        "support@company.example",
        "{{ 7*7 }} {% for x in range(3) %}loop{% endfor %} =?utf-8?q?a=0D=0ABcc:_evil@example.org?=",
        "i1@example.org",
        "",
        "{{ ticket.number }} {% if true %}yes{% endif %}",
    );
    drop_mail(&md, &raw);
    desk.drain(&md);
    let acks = to(&sink, "jane@example.org");
    assert_eq!(acks.len(), 1);
    let (ack, env) = &acks[0];
    let s = subject(ack);
    assert!(
        s.contains("{{ 7*7 }}") && s.contains("{% for x in range(3) %}"),
        "{s}"
    );
    assert!(!s.contains("49") && !s.contains("looploop"), "{s}");
    assert!(
        header(ack, "Bcc").is_none() && !env.contains("evil"),
        "{ack}"
    );
    let notes = to(&sink, "alice@company.example");
    let text = body(&notes[0].0);
    assert!(
        text.contains("{{ ticket.number }} {% if true %}yes{% endif %}"),
        "{text}"
    );
}

#[test]
fn the_circuit_breaker_pauses_autoresponses() {
    let sink = SmtpSink::start();
    let desk = desk(
        sink.port,
        "circuit-breaker-per-minute = 3\nagent-notify = false",
    );
    let md = desk.maildir("in");
    for i in 0..5 {
        post(
            &md,
            &format!("c{i}@example.org"),
            "support@company.example",
            "Help",
            &format!("cb{i}@example.org"),
            "",
            "x",
        );
    }
    desk.drain(&md);
    assert_eq!(sink.messages().len(), 3);
    let paused = desk
        .tickets()
        .iter()
        .filter(|t| history(&desk, t["number"].as_str().unwrap()).contains("circuit breaker open"))
        .count();
    assert_eq!(paused, 2);
}

#[test]
fn the_customers_language_is_answered() {
    let sink = SmtpSink::start();
    let desk = desk(sink.port, "");
    let md = desk.maildir("in");
    post(
        &md,
        "hans@example.de",
        "support@company.example",
        "Frage",
        "l1@example.de",
        "Content-Language: de-DE\r\n",
        "Hallo",
    );
    post(
        &md,
        "ann@example.org",
        "support@company.example",
        "Question",
        "l2@example.org",
        "",
        "Hello",
    );
    desk.drain(&md);
    let de = &to(&sink, "hans@example.de")[0].0;
    let en = &to(&sink, "ann@example.org")[0].0;
    assert_eq!(header(de, "Content-Language").as_deref(), Some("de"));
    assert_eq!(header(en, "Content-Language").as_deref(), Some("en"));
    assert!(body(de).contains("Vorgangsnummer"), "{}", body(de));
}
