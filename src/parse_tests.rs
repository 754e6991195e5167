//! Unit tests of `parse`: charsets, attachment names, bounces, the digest and garbage.

use super::*;

fn mail(headers: &str, body: &str) -> Vec<u8> {
    format!("{headers}\n\n{body}").into_bytes()
}

const BASE: &str = "From: Anna <anna@example.org>\nTo: hotline@company.example\n\
    Date: Tue, 1 Jul 2025 10:00:00 +0200\nMessage-ID: <m1@example.org>";

fn subject(encoded: &str) -> String {
    parse(&mail(&format!("{BASE}\nSubject: {encoded}"), "hi")).subject
}

#[test]
fn subjects_in_any_charset() {
    assert_eq!(subject("=?ISO-8859-1?Q?Caf=E9_cr=E8me?="), "Café crème");
    assert_eq!(
        subject("=?windows-1252?Q?=80_price_=93quoted=94?="),
        "€ price “quoted”"
    );
    assert_eq!(
        subject("=?ISO-2022-JP?B?GyRCJDMkcyRLJEEkT0AkMyYbKEI=?="),
        "こんにちは世界"
    );
    assert_eq!(
        subject("=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?="),
        "Grüße aus Köln"
    );
    assert_eq!(
        subject("Re: =?utf-8?q?caf=C3=A9?=\n =?utf-8?q?_ouvert?="),
        "Re: café ouvert"
    );
    assert_eq!(subject("Grüße aus Köln"), "Grüße aus Köln"); // raw UTF-8 (RFC 6532)
    let raw_latin1 = [&b"From: a@b\nSubject: Gr\xfc\xdfe =?utf-8?q?=E2=82=AC?=\n\nx"[..]].concat();
    assert_eq!(parse(&raw_latin1).subject, "Grüße €");
}

#[test]
fn control_characters_become_spaces() {
    assert_eq!(
        subject("=?UTF-8?Q?a=0D=0ABcc:_x@evil.example?="),
        "a  Bcc: x@evil.example"
    );
    let facts = parse(&mail(
        "From: =?UTF-8?Q?Eve=0AX?= <EVE@Example.ORG>\nSubject: x",
        "",
    ));
    let from = facts.from.unwrap();
    assert_eq!(
        (from.name.as_deref(), from.address.as_str()),
        (Some("Eve X"), "eve@example.org")
    );
}

#[test]
fn rfc2231_filenames() {
    let raw = format!(
        "{BASE}\nSubject: files\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n\
         --b\nContent-Type: text/plain\n\nsee attached\n\
         --b\nContent-Type: application/pdf\n\
         Content-Disposition: attachment; filename*=UTF-8''na%C3%AFve%20r%C3%A9sum%C3%A9.pdf\n\
         Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n\
         --b\nContent-Type: text/plain\nContent-Disposition: attachment;\n \
         filename*0*=ISO-8859-1''%E9t%E9_;\n filename*1=\"../notes.txt\"\n\nsummer\n\
         --b\nContent-Type: application/octet-stream\n\nxyz\n--b--\n"
    );
    let facts = parse(raw.as_bytes());
    let names: Vec<&str> = facts
        .attachments
        .iter()
        .map(|a| a.filename.as_str())
        .collect();
    assert_eq!(names, ["naïve résumé.pdf", "été_../notes.txt", ""]);
    assert_eq!(facts.attachments[0].content_type, "application/pdf");
    assert_eq!(facts.attachments[0].size, 9);
    assert_eq!(facts.content_type, "multipart/mixed");
    assert_eq!(facts.body_preview, "see attached");
}

#[test]
fn missing_headers_are_defects() {
    let facts = parse(b"From: a@example.org\nSubject: no id\n\nbody\n");
    assert_eq!(facts.message_id, None);
    assert_eq!(facts.unparseable, None);
    assert_eq!(facts.defects, ["missing Message-ID", "missing Date"]);
    let facts = parse(b"Subject: only\nX-Thing: \xe9t\xe9");
    assert!(facts.defects.contains(&"missing From".to_string()));
    assert!(facts
        .defects
        .contains(&"header block not terminated by a blank line".to_string()));
    assert!(facts
        .defects
        .contains(&"8-bit bytes in headers (not UTF-8)".to_string()));
}

#[test]
fn addresses_dates_and_ids() {
    let raw = "Return-Path: <>\nDelivered-To: Hotline@Company.example\n\
        X-Original-To: <hotline@company.example>\nEnvelope-To: a@x.example, b@x.example\n\
        From: Anna <anna@example.org>\nTo: A <a@x.example>, b@x.example\nCc: grp: c@x.example;\n\
        Date: Tue, 1 Jul 2025 10:00:00 +0200\nMessage-ID: <m2@example.org>\n\
        In-Reply-To: <p1@company.example>\nReferences: <r0@x> <p1@company.example>\n\
        Content-Language: de-DE\nAccept-Language: fr;q=0.5, en-US, de-DE\n\
        Auto-Submitted: auto-replied\nX-Spam: no\nSubject: x\n\nhi";
    let facts = parse(raw.as_bytes());
    assert_eq!(facts.return_path.as_deref(), Some(""));
    assert_eq!(
        facts.envelope_to,
        [
            "hotline@company.example",
            "hotline@company.example",
            "a@x.example",
            "b@x.example"
        ]
    );
    let to: Vec<String> = facts.to.iter().map(|m| m.display()).collect();
    assert_eq!(to, ["A <a@x.example>", "b@x.example"]);
    assert_eq!(facts.cc[0].address, "c@x.example");
    assert_eq!(facts.date.as_deref(), Some("2025-07-01T10:00:00+02:00"));
    assert_eq!(facts.message_id.as_deref(), Some("m2@example.org"));
    assert_eq!(facts.in_reply_to, ["p1@company.example"]);
    assert_eq!(facts.references, ["r0@x", "p1@company.example"]);
    assert_eq!(facts.languages, ["de-de", "en-us", "fr"]);
    assert_eq!(
        facts.headers,
        [("auto-submitted".to_string(), "auto-replied".to_string())]
    );
    let facts = parse(b"Return-Path: <Bounces+X@List.example>\nFrom: a@b\n\nx");
    assert_eq!(facts.return_path.as_deref(), Some("bounces+x@list.example"));
}

const DSN_HEAD: &str = "From: Mail Delivery System <MAILER-DAEMON@mx.example>\n\
    To: hotline@company.example\nSubject: Undelivered Mail Returned to Sender\n\
    Date: Tue, 1 Jul 2025 10:00:00 +0200\nMessage-ID: <dsn1@mx.example>\nMIME-Version: 1.0\n\
    Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"";

fn dsn(returned_type: &str, returned: &str) -> Facts {
    let raw = format!(
        "{DSN_HEAD}\n\n--r\nContent-Type: text/plain\n\nI could not deliver it.\n\
         --r\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n\
         Final-Recipient: rfc822; gone@customer.example\nAction: failed\nStatus: 5.1.1\n\n\
         --r\nContent-Type: {returned_type}\n\n{returned}\n--r--\n"
    );
    parse(raw.as_bytes())
}

#[test]
fn dsn_returned_message_id() {
    let returned = "From: hotline@company.example\nTo: gone@customer.example\n\
        Subject: [Ticket#2025070110000011] ack\nMessage-ID: <ack-1@company.example>\n\nThanks";
    let facts = dsn("message/rfc822", returned);
    assert_eq!(
        facts.returned_message_id.as_deref(),
        Some("ack-1@company.example")
    );
    assert_eq!(facts.report_type.as_deref(), Some("delivery-status"));
    let kinds: Vec<&str> = facts
        .attachments
        .iter()
        .map(|a| a.content_type.as_str())
        .collect();
    assert_eq!(kinds, ["message/delivery-status", "message/rfc822"]);
    assert_eq!(facts.body_preview, "I could not deliver it.");

    let headers_only = "From: hotline@company.example\n\
        Message-Id:\n <ack-2@company.example>\nSubject: x";
    let facts = dsn("text/rfc822-headers", headers_only);
    assert_eq!(
        facts.returned_message_id.as_deref(),
        Some("ack-2@company.example")
    );
}

#[test]
fn plain_text_bounce_message_id() {
    let raw = "From: MAILER-DAEMON@mx.example\nSubject: failure notice\nMessage-ID: <q@mx>\n\n\
        Sorry, I couldn't deliver.\n--- Below this line is a copy of the message.\n\n\
        Return-Path: <hotline@company.example>\nMessage-ID: <ack-3@company.example>\n";
    assert_eq!(
        parse(raw.as_bytes()).returned_message_id.as_deref(),
        Some("ack-3@company.example")
    );
    // The same line in a person's mail is just text.
    let raw = raw.replace("MAILER-DAEMON", "anna");
    assert_eq!(parse(raw.as_bytes()).returned_message_id, None);
}

#[test]
fn digest_ignores_trace_headers_and_line_ends() {
    let body = "Hello,\nmy printer is on fire.\n";
    let a = mail(
        &format!(
            "Received: from a by b\nDelivered-To: hotline@company.example\n{BASE}\nSubject: Help"
        ),
        body,
    );
    let b = mail(&format!("Received: from c by d\nReceived: from e by f\nDelivered-To: billing@company.example\n{BASE}\nSubject: Help"), body);
    let c = String::from_utf8(b.clone())
        .unwrap()
        .replace('\n', "\r\n")
        .into_bytes();
    let d = mail(&format!("{BASE}\nSubject: Help!"), body);
    let (a, b, c, d) = (parse(&a), parse(&b), parse(&c), parse(&d));
    assert_eq!(a.digest.len(), 64);
    assert_eq!(a.digest, b.digest);
    assert_eq!(a.digest, c.digest);
    assert_ne!(a.digest, d.digest);
}

#[test]
fn garbage_is_unparseable() {
    for raw in [
        &b""[..],
        b"\n\r\n  \n",
        b"\x00\x00\x01\x02garbage\x00:",
        b"hello world\nsecond: line\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b": no name\n\n",
    ] {
        let facts = parse(raw);
        assert!(facts.unparseable.is_some(), "{raw:?}");
        assert_eq!(facts.size, raw.len() as u64);
        assert_eq!(facts.digest.len(), 64);
    }
    // An mbox separator and leading blank lines are not garbage.
    let facts =
        parse(b"From anna@example.org Tue Jul  1 10:00:00 2025\n\nSubject: hi\nFrom: a@b\n\nx");
    assert_eq!((facts.unparseable, facts.subject.as_str()), (None, "hi"));
}

#[test]
fn html_only_preview_is_stripped() {
    let facts = parse(&mail(
        &format!("{BASE}\nSubject: h\nContent-Type: text/html; charset=utf-8"),
        "<html><head><style>p {color: red}</style></head><body><p>Hello&nbsp;<b>you</b></p>\
         <!-- hidden --><p>Line &amp; two</p></body></html>",
    ));
    assert_eq!(facts.body_preview.trim(), "Hello you Line & two");
}

#[test]
fn no_panic_on_truncated_and_nested_input() {
    let raw = dsn(
        "message/rfc822",
        "From: x\nContent-Type: multipart/mixed; boundary=z\n\n--z\n",
    );
    let bytes = format!("{:?}", raw.attachments).into_bytes();
    for cut in [1, 7, 50, 200, 333, bytes.len()] {
        let _ = parse(&DSN_HEAD.as_bytes()[..cut.min(DSN_HEAD.len())]);
    }
    let deep = "Content-Type: multipart/mixed; boundary=a\n\n--a\n".repeat(500);
    let _ = parse(format!("From: a@b\n{deep}").as_bytes());
}
