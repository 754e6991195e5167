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
    let addr = reply_address(desk, n);
    let before = sink.messages().len();
    let answer = format!("From: Alice Agent <alice@company.example>\r\nTo: {addr}\r\nSubject: Re: [Ticket#{n}] Card blocked\r\nMessage-ID: <{id}@company.example>\r\n\r\n#template password-reset\r\nYour temporary password is 123456.\r\n");
    drop_mail(md, answer.as_bytes());
    let out = desk.drain(md);
    assert!(out.contains("agent mails 1"), "{out}");
    let all = sink.messages();
    let answers: Vec<_> = all[before..]
        .iter()
        .filter(|(raw, _)| String::from_utf8_lossy(raw).contains("temporary password"))
        .collect();
    assert_eq!(answers.len(), 1, "one answer sent");
    let (raw, env) = answers[0];
    let env: serde_json::Value = serde_json::from_str(env).unwrap();
    let rcpts = env["rcpt_tos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    (rcpts, String::from_utf8_lossy(raw).into_owned())
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
