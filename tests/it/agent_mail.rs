//! An agent's mail as the customer and the operator see it: the agent's own greeting replaces
//! the template's salutation; a note is reported as a note to the MTA and in the index.

use std::io::Write;
use std::process::Stdio;

use crate::harness::{drop_mail, post, Desk};
use crate::outgoing::{body, desk, header, only_ticket, to};
use crate::services::SmtpSink;

/// The ticket's reply address, as the agent's mail client finds it in the stored article.
pub(crate) fn reply_address(desk: &Desk, n: &str) -> String {
    let show = desk.show(n);
    let stored = std::fs::read_to_string(show["articles"][0]["path"].as_str().unwrap()).unwrap();
    header(&stored, "Reply-To").unwrap()
}

pub(crate) fn agent_mail(reply_to: &str, n: &str, id: &str, text: &str) -> String {
    format!(
        "From: Alice Agent <alice@company.example>\r\nTo: {reply_to}\r\nSubject: Re: [Ticket#{n}] Printer\r\nMessage-ID: <{id}@company.example>\r\nDate: Sun, 22 Nov 2026 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}"
    )
}

#[test]
fn an_agents_greeting_replaces_the_salutation_and_a_note_is_a_note() {
    let sink = SmtpSink::start();
    let desk = desk(sink.port, "");
    let md = desk.maildir("in");
    post(
        &md,
        "Jane Doe <jane@example.org>",
        "support@company.example",
        "Printer",
        "g1@example.org",
        "",
        "It jams.",
    );
    desk.drain(&md);
    let n = only_ticket(&desk);
    let reply_to = reply_address(&desk, &n);

    drop_mail(
        &md,
        agent_mail(
            &reply_to,
            &n,
            "g2",
            "Hello Jane,\r\n\r\nit works again.\r\n",
        )
        .as_bytes(),
    );
    desk.drain(&md);
    let got = to(&sink, "jane@example.org");
    let text = body(&got.last().unwrap().0);
    assert!(
        text.contains("Hello Jane,") && text.contains("works again"),
        "{text}"
    );
    assert!(
        !text.contains("Dear"),
        "salutation in front of the agent's own: {text}"
    );

    // Without a greeting the template's salutation stays.
    drop_mail(
        &md,
        agent_mail(&reply_to, &n, "g3", "It works again.\r\n").as_bytes(),
    );
    desk.drain(&md);
    let text = body(&to(&sink, "jane@example.org").last().unwrap().0);
    assert!(text.contains("Dear Jane Doe,"), "{text}");

    // A note through the MTA pipe: reported as a note, filed as one.
    let mut child = desk
        .cmd()
        .arg("deliver")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(agent_mail(&reply_to, &n, "g4", "#note\r\n\r\nCalled her back.\r\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("stored: note to ticket"), "{said}");
    let show = desk.show(&n);
    let events: Vec<String> = show["articles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["direction"] == "agent")
        .map(|a| a["event"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(events, ["answer", "answer", "note"], "{show}");
}
