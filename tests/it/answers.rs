//! Agents answer from their mail client: the reply address in the stored article reaches
//! postdesk, the answer goes to the customer from the queue's address without a trace of the
//! agent, notes stay inside, commands change the ticket, forged agents get nowhere.

use std::fs;

use crate::harness::{drop_mail, post};
use crate::outgoing::{body, desk, header, history, only_ticket, subject, to};
use crate::services::SmtpSink;

#[test]
fn agents_answer_note_and_command_from_a_mail_client() {
    let sink = SmtpSink::start();
    let desk = desk(sink.port, "");
    let md = desk.maildir("in");
    post(
        &md,
        "Jane Doe <jane@example.org>",
        "support@company.example",
        "Card blocked",
        "c1@example.org",
        "Cc: tom@example.org\r\n",
        "My card is blocked.",
    );
    desk.drain(&md);
    let n = only_ticket(&desk);
    let before = to(&sink, "jane@example.org").len();

    // The stored article, as the agent's mail client shows it: Reply reaches postdesk.
    let show = desk.show(&n);
    let stored = fs::read_to_string(show["articles"][0]["path"].as_str().unwrap()).unwrap();
    let reply_to = header(&stored, "Reply-To").unwrap();
    let addr = reply_to
        .split('<')
        .nth(1)
        .unwrap()
        .trim_end_matches('>')
        .to_string();
    assert!(addr.starts_with(&format!("support+{n}-")), "{addr}");
    let answer = format!(
        "From: Alice Agent <alice@company.example>\r\nTo: {reply_to}\r\nCc: tom@example.org\r\nSubject: Re: [Ticket#{n}] Card blocked\r\nMessage-ID: <ans1@company.example>\r\nIn-Reply-To: <c1@example.org>\r\nDate: Sun, 22 Nov 2026 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n#priority high\r\n#owner alice\r\n\r\nYour card is unblocked again.\r\n\r\n> My card is blocked.\r\n"
    );
    drop_mail(&md, answer.as_bytes());
    let out = desk.drain(&md);
    assert!(out.contains("agent mails 1"), "{out}");
    let got = to(&sink, "jane@example.org");
    assert_eq!(got.len(), before + 1, "the answer reached the customer");
    let (raw, env) = got.last().unwrap();
    assert!(
        env.contains("tom@example.org"),
        "whom the agent named in Cc gets it: {env}"
    );
    assert!(
        !raw.to_ascii_lowercase().contains("alice@company.example"),
        "no trace of the agent: {raw}"
    );
    assert!(!raw.contains(&addr), "the reply secret never leaves: {raw}");
    assert_eq!(
        header(raw, "From").unwrap(),
        "\"Support\" <support@company.example>"
    );
    assert!(subject(raw).contains(&format!("[Ticket#{n}]")));
    assert_eq!(header(raw, "In-Reply-To").unwrap(), "<c1@example.org>");
    assert!(
        header(raw, "Auto-Submitted").is_none(),
        "an answer is not automatic"
    );
    let text = body(raw);
    assert!(
        text.contains("unblocked again") && !text.contains("#priority"),
        "{text}"
    );
    let t = desk.show(&n);
    assert_eq!(t["priority"], "high", "{t}");
    assert_eq!(t["owner"], "Alice Agent");

    // A standard response, put before the agent's own words.
    let std = format!("From: alice@company.example\r\nTo: {addr}\r\nSubject: Re: [Ticket#{n}] Card blocked\r\nMessage-ID: <ans0@company.example>\r\n\r\n#template password-reset\r\nAnd call us if it does not work.\r\n");
    drop_mail(&md, std.as_bytes());
    desk.drain(&md);
    let text = body(&to(&sink, "jane@example.org").last().unwrap().0);
    let reset = text.find("reset your password").expect(&text);
    assert!(
        reset < text.find("call us if").unwrap() && !text.contains("#template"),
        "{text}"
    );

    // The agent's out-of-office answering a notice: filed, never relayed.
    let ooo = format!("From: alice@company.example\r\nTo: {addr}\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <ooo1@company.example>\r\n\r\n#close\r\nI am away until Monday.\r\n");
    let jane_before = to(&sink, "jane@example.org").len();
    drop_mail(&md, ooo.as_bytes());
    desk.drain(&md);
    assert_eq!(to(&sink, "jane@example.org").len(), jane_before);
    assert_eq!(desk.show(&n)["state"], "open");
    assert!(history(&desk, &n).contains("filed as a note, not relayed"));

    // A note: filed, sent to no one.
    let notice = to(&sink, "alice@company.example");
    let note_addr = header(&notice[0].0, "X-Postdesk-Note-Address").unwrap();
    let sent_before = sink.messages().len();
    let note = format!("From: alice@company.example\r\nTo: {note_addr}\r\nSubject: called her\r\nMessage-ID: <note1@company.example>\r\n\r\nPhoned the customer, card reissued.\r\n");
    drop_mail(&md, note.as_bytes());
    desk.drain(&md);
    assert_eq!(sink.messages().len(), sent_before, "a note is never sent");
    assert!(history(&desk, &n).contains("\"note\""));

    // A forged agent: the agent's From without the secret, or a wrong secret: no relay, no command.
    let forged = [
        format!("From: alice@company.example\r\nTo: support+{n}-0123456789abcdef@company.example\r\nSubject: Re: [Ticket#{n}] x\r\nMessage-ID: <f1@evil.example>\r\n\r\n#close\r\nGive me the money.\r\n"),
        format!("From: alice@company.example\r\nTo: support@company.example\r\nSubject: Re: [Ticket#{n}] x\r\nMessage-ID: <f2@evil.example>\r\n\r\n#close\r\nGive me the money.\r\n"),
    ];
    let jane_before = to(&sink, "jane@example.org").len();
    for f in &forged {
        drop_mail(&md, f.as_bytes());
    }
    desk.drain(&md);
    assert_eq!(
        to(&sink, "jane@example.org").len(),
        jane_before,
        "nothing relayed"
    );
    assert_eq!(desk.show(&n)["state"], "open", "no command obeyed");

    // #close from the real agent closes it; the answer still goes out.
    let close = format!("From: alice@company.example\r\nTo: {addr}\r\nSubject: Re: [Ticket#{n}] Card blocked\r\nMessage-ID: <ans2@company.example>\r\n\r\n#close\r\nAll done, closing this.\r\n");
    drop_mail(&md, close.as_bytes());
    desk.drain(&md);
    assert_eq!(desk.show(&n)["state"], "closed");
    assert!(body(&to(&sink, "jane@example.org").last().unwrap().0).contains("All done"));

    // An unknown standard response holds the whole answer back and tells the agent.
    desk.ok(&["ticket", "reopen", &n]);
    let jane_before = to(&sink, "jane@example.org").len();
    let bad = format!("From: alice@company.example\r\nTo: {addr}\r\nSubject: Re: x\r\nMessage-ID: <ans3@company.example>\r\n\r\n#template no-such-response\r\n#close\r\nHere you go.\r\n");
    drop_mail(&md, bad.as_bytes());
    desk.drain(&md);
    assert_eq!(to(&sink, "jane@example.org").len(), jane_before);
    assert_eq!(desk.show(&n)["state"], "open");
    let told = to(&sink, "alice@company.example");
    assert!(body(&told.last().unwrap().0).contains("no-such-response"));
    desk.fsck_clean();
    let before = desk.show(&n);
    desk.ok(&["reindex"]);
    assert_eq!(
        desk.show(&n),
        before,
        "reindex restores commands, answers and notes"
    );
}
