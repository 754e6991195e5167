//! Who receives an agent's answer: the ticket's customer and whom an agent named, never an
//! address a follow-up brought along. Both attacks end with an agent's answer whose SMTP
//! envelope is exactly the customer.

use std::fs;

use crate::harness::{drop_mail, post, Desk};
use crate::outgoing::{body, header, history, only_ticket, to};
use crate::services::SmtpSink;

fn desk_with(port: u16, tickets: &str) -> Desk {
    Desk::with(
        "",
        &format!(
            "[outgoing]\ntransport = \"smtp\"\n[outgoing.smtp]\nport = {port}\ntimeout-seconds = 5\n\n{tickets}\n"
        ),
    )
}

/// The reply address of the ticket's first stored article, as the agent's client sees it.
fn reply_address(desk: &Desk, n: &str) -> String {
    let show = desk.show(n);
    let stored = fs::read_to_string(show["articles"][0]["path"].as_str().unwrap()).unwrap();
    let v = header(&stored, "Reply-To").unwrap();
    v.split('<')
        .nth(1)
        .unwrap()
        .trim_end_matches('>')
        .to_string()
}

/// Jane opens a ticket; returns its number.
fn opened(desk: &Desk, md: &std::path::Path) -> String {
    post(
        md,
        "Jane Doe <jane@example.org>",
        "support@company.example",
        "Card blocked",
        "open1@example.org",
        "",
        "My card is blocked.",
    );
    desk.drain(md);
    only_ticket(desk)
}

/// The real agent answers with a standard response; returns the envelope recipients and the
/// mail the customer got.
fn agent_answers(
    desk: &Desk,
    md: &std::path::Path,
    sink: &SmtpSink,
    n: &str,
    id: &str,
) -> (Vec<String>, String) {
    let text = "#template password-reset\r\nYour temporary password is 123456.";
    let (rcpts, mut sent, out) = agent_mail(desk, md, sink, n, id, text);
    assert!(out.contains("agent mails 1"), "{out}");
    assert_eq!(sent.len(), 1, "one answer sent");
    (rcpts, sent.remove(0))
}

#[test]
fn a_forged_agent_from_adds_no_recipients() {
    let sink = SmtpSink::start();
    let desk = desk_with(sink.port, "");
    let md = desk.maildir("in");
    let n = opened(&desk, &md);

    // Predictable number, the agent's From, a Reply-To and a Cc of the attacker's.
    let forged = format!("From: Alice Agent <alice@company.example>\r\nReply-To: mallory@evil.example\r\nCc: spy@evil.example\r\nTo: support@company.example\r\nSubject: Re: [Ticket#{n}] Card blocked\r\nMessage-ID: <forged1@evil.example>\r\n\r\nPlease send the new password here.\r\n");
    let file = drop_mail(&md, forged.as_bytes());
    let explained = desk.ok(&["explain", md.join("new").join(&file).to_str().unwrap()]);
    assert!(
        explained.contains("not through the agent's reply address"),
        "{explained}"
    );
    desk.drain(&md);
    // The customer's own From forged the same way.
    let forged = format!("From: Jane Doe <jane@example.org>\r\nReply-To: mallory@evil.example\r\nCc: spy@evil.example\r\nTo: support@company.example\r\nSubject: Re: [Ticket#{n}] Card blocked\r\nMessage-ID: <forged2@evil.example>\r\n\r\nSend it to my other address.\r\n");
    let file = drop_mail(&md, forged.as_bytes());
    let explained = desk.ok(&["explain", md.join("new").join(&file).to_str().unwrap()]);
    assert!(
        explained.contains("names mallory@evil.example, spy@evil.example"),
        "explain shows whom the follow-up wanted to add: {explained}"
    );
    desk.drain(&md);
    let notice = to(&sink, "alice@company.example");
    assert!(
        body(&notice.last().unwrap().0).contains("mallory@evil.example, spy@evil.example"),
        "the agents' notice says whom the follow-up named"
    );
    assert!(history(&desk, &n).contains("recipients-not-added"));

    let (rcpts, raw) = agent_answers(&desk, &md, &sink, &n, "ans1");
    assert_eq!(rcpts, vec!["jane@example.org"], "{raw}");
    let text = body(&raw);
    assert!(
        text.contains("Dear Jane Doe"),
        "greets the customer: {text}"
    );
    assert!(
        !text.contains("Dear Alice"),
        "never greets an agent: {text}"
    );
    // Rebuilt from the tree, the ticket answers the same people.
    desk.ok(&["reindex"]);
    let (rcpts, _) = agent_answers(&desk, &md, &sink, &n, "ans2");
    assert_eq!(rcpts, vec!["jane@example.org"]);
}

#[test]
fn a_marked_strangers_reply_to_gets_no_answer() {
    let sink = SmtpSink::start();
    let desk = desk_with(
        sink.port,
        "[tickets]\nstranger-policy = \"accept-and-mark\"\n",
    );
    let md = desk.maildir("in");
    let n = opened(&desk, &md);
    post(
        &md,
        "Mallory <mallory@evil.example>",
        "support@company.example",
        &format!("Re: [Ticket#{n}] Card blocked"),
        "stranger1@evil.example",
        "Reply-To: drop@evil.example\r\nCc: spy@evil.example\r\n",
        "Any news?",
    );
    desk.drain(&md);
    assert_eq!(
        desk.show(&n)["articles"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["stranger"] == true)
            .count(),
        1
    );
    let (rcpts, _) = agent_answers(&desk, &md, &sink, &n, "ans1");
    assert_eq!(rcpts, vec!["jane@example.org"]);
}

#[test]
fn an_agents_cc_is_accepted_and_kept() {
    let sink = SmtpSink::start();
    let desk = desk_with(sink.port, "");
    let md = desk.maildir("in");
    let n = opened(&desk, &md);
    let addr = reply_address(&desk, &n);
    // Reply-all from the agent's client: the queue address in To, a colleague of Jane's in Cc.
    let answer = format!("From: alice@company.example\r\nTo: \"Support\" <{addr}>, support@company.example\r\nCc: Tom <tom@example.org>\r\nSubject: Re: [Ticket#{n}] Card blocked\r\nMessage-ID: <cc1@company.example>\r\n\r\nCopying Tom as you asked.\r\n");
    drop_mail(&md, answer.as_bytes());
    desk.drain(&md);
    let (_, env) = to(&sink, "tom@example.org").pop().expect("Tom got it");
    assert!(env.contains("jane@example.org"), "{env}");
    // Later answers keep Tom without naming him again, also after a rebuild.
    desk.ok(&["reindex"]);
    let (mut rcpts, _) = agent_answers(&desk, &md, &sink, &n, "ans2");
    rcpts.sort();
    assert_eq!(rcpts, vec!["jane@example.org", "tom@example.org"]);
}

#[test]
fn an_agent_of_another_queue_cannot_act_on_a_ticket() {
    let sink = SmtpSink::start();
    let desk = desk_with(
        sink.port,
        "[[agent]]\nname = \"Bob Billing\"\naddress = \"bob@company.example\"\nqueues = [\"Billing\"]\n",
    );
    let md = desk.maildir("in");
    let n = opened(&desk, &md);
    let addr = reply_address(&desk, &n);
    let before = sink.messages().len();
    let mail = format!("From: bob@company.example\r\nTo: {addr}\r\nSubject: Re: [Ticket#{n}] Card blocked\r\nMessage-ID: <bob1@company.example>\r\n\r\n#close\r\nNot my queue, but closing.\r\n");
    let file = drop_mail(&md, mail.as_bytes());
    let explained = desk.ok(&["explain", md.join("new").join(&file).to_str().unwrap()]);
    assert!(explained.contains("is not one of theirs"), "{explained}");
    let out = desk.drain(&md);
    assert!(!out.contains("agent mails 1"), "{out}");
    assert_eq!(desk.show(&n)["state"], "open", "no command obeyed");
    assert!(
        sink.messages()[before..]
            .iter()
            .all(|(_, env)| !env.contains("jane@example.org")),
        "nothing relayed to the customer"
    );
}

#[test]
fn ticket_show_escapes_attachment_names() {
    let desk = Desk::new();
    let md = desk.maildir("in");
    let mail = "From: jane@example.org\r\nTo: support@company.example\r\nSubject: file\r\nMessage-ID: <att1@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee file\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=utf-8''%1B%5D0%3Bpwned%07evil%E2%80%AEtxt.exe\r\n\r\nAAAA\r\n--b--\r\n";
    drop_mail(&md, mail.as_bytes());
    desk.drain(&md);
    let n = crate::outgoing::only_ticket(&desk);
    let shown = desk.ok(&["ticket", "show", &n]);
    assert!(shown.contains("Attachment:"), "{shown}");
    assert!(
        !shown.contains('\u{1b}') && !shown.contains('\u{7}') && !shown.contains('\u{202e}'),
        "{shown:?}"
    );
}

/// An agent's mail to the ticket with `text` as its body; returns the sorted envelope
/// recipients of what it relayed to outside addresses (none when it was held or a note), those
/// mails, and the drain's summary.
fn agent_mail(
    desk: &Desk,
    md: &std::path::Path,
    sink: &SmtpSink,
    n: &str,
    id: &str,
    text: &str,
) -> (Vec<String>, Vec<String>, String) {
    let addr = reply_address(desk, n);
    let before = sink.messages().len();
    let mail = format!("From: Alice Agent <alice@company.example>\r\nTo: {addr}\r\nSubject: Re: [Ticket#{n}] Card blocked\r\nMessage-ID: <{id}@company.example>\r\n\r\n{text}\r\n");
    drop_mail(md, mail.as_bytes());
    let out = desk.drain(md);
    let (mut rcpts, mut sent) = (Vec::new(), Vec::new());
    for (raw, env) in &sink.messages()[before..] {
        let env: serde_json::Value = serde_json::from_str(env).unwrap();
        let to: Vec<String> = env["rcpt_tos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        if !to.iter().any(|r| r == "alice@company.example") {
            rcpts.extend(to);
            sent.push(String::from_utf8_lossy(raw).into_owned());
        }
    }
    rcpts.sort();
    (rcpts, sent, out)
}

#[test]
fn customer_and_cc_commands_choose_who_gets_answers() {
    let sink = SmtpSink::start();
    let desk = desk_with(sink.port, "");
    let md = desk.maildir("in");
    let n = opened(&desk, &md);
    let (rcpts, _, _) = agent_mail(
        &desk,
        &md,
        &sink,
        &n,
        "c1",
        "#customer <Office@Example.org>\r\n#cc bob@example.org, carl@example.org\r\n\r\nAnswer one.",
    );
    assert_eq!(
        rcpts,
        ["bob@example.org", "carl@example.org", "office@example.org"]
    );
    assert_eq!(desk.tickets()[0]["customer"], "office@example.org");
    let h = history(&desk, &n);
    assert!(
        h.contains("set to office@example.org by Alice Agent")
            && h.contains("bob@example.org accepted as a participant by Alice Agent"),
        "{h}"
    );
    // Removed, Bob gets no later answer; Carl is kept without being named again.
    let (rcpts, _, _) = agent_mail(
        &desk,
        &md,
        &sink,
        &n,
        "c2",
        "#cc -bob@example.org\r\n\r\nTwo.",
    );
    assert_eq!(rcpts, ["carl@example.org", "office@example.org"]);
    let (rcpts, _, _) = agent_mail(&desk, &md, &sink, &n, "c3", "Three.");
    assert_eq!(rcpts, ["carl@example.org", "office@example.org"]);
    // A follow-up from Jane (no longer the customer) naming Carl (accepted) and Zed (not):
    // Carl receives answers already.
    let file = post(
        &md,
        "Jane Doe <jane@example.org>",
        "support@company.example",
        &format!("Re: [Ticket#{n}] Card blocked"),
        "f1@example.org",
        "Cc: carl@example.org, zed@example.org\r\n",
        "Thanks.",
    );
    let explained = desk.ok(&["explain", md.join("new").join(&file).to_str().unwrap()]);
    assert!(
        explained.contains("names jane@example.org, zed@example.org besides"),
        "{explained}"
    );
    desk.drain(&md);
    // A note sets them without sending anything.
    let (rcpts, _, _) = agent_mail(
        &desk,
        &md,
        &sink,
        &n,
        "c4",
        "#note\r\n#cc dan@example.org\r\n\r\nDan is Jane's manager.",
    );
    assert!(rcpts.is_empty(), "{rcpts:?}");
    // Rebuilt from the tree, the ticket has the same customer and participants.
    desk.fsck_clean();
    desk.ok(&["reindex"]);
    desk.fsck_clean();
    assert_eq!(desk.tickets()[0]["customer"], "office@example.org");
    let (rcpts, _, _) = agent_mail(&desk, &md, &sink, &n, "c5", "Five.");
    assert_eq!(
        rcpts,
        ["carl@example.org", "dan@example.org", "office@example.org"]
    );
}

#[test]
fn customer_and_cc_commands_refuse_our_addresses_and_non_addresses() {
    let sink = SmtpSink::start();
    let desk = desk_with(sink.port, "");
    let md = desk.maildir("in");
    let n = opened(&desk, &md);
    for (id, text, why) in [
        (
            "r1",
            "#customer support@company.example\r\n\r\nx",
            "our own or an agent's address",
        ),
        (
            "r2",
            "#cc alice@company.example\r\n\r\nx",
            "our own or an agent's address",
        ),
        (
            "r3",
            "#customer Jane Doe\r\n\r\nx",
            "#customer takes one address",
        ),
        ("r4", "#cc mallory\r\n\r\nx", "is not a mail address"),
    ] {
        let (rcpts, _, _) = agent_mail(&desk, &md, &sink, &n, id, text);
        assert!(rcpts.is_empty(), "{text}: held, nothing sent: {rcpts:?}");
        let notice = to(&sink, "alice@company.example");
        let last = body(&notice.last().unwrap().0);
        assert!(
            last.contains("filed but not sent") && last.contains(why),
            "{text}: {last}"
        );
    }
    assert_eq!(desk.tickets()[0]["customer"], "Jane Doe <jane@example.org>");
    let (rcpts, _, _) = agent_mail(&desk, &md, &sink, &n, "r5", "Plain.");
    assert_eq!(rcpts, ["jane@example.org"]);
    desk.fsck_clean();
}
