//! Tests for `build`: every output is parsed back with mail-parser and its raw bytes checked.

use super::*;
use chrono::TimeZone;
use mail_parser::{HeaderName, Message, MessageParser, MimeHeaders};

mod rejects;

fn outgoing() -> Outgoing {
    Outgoing {
        from: Address::named("Company Support", "support@company.example"),
        to: vec![Address::named("Jane Doe", "jane@customer.example")],
        cc: vec![],
        reply_to: None,
        subject: "Your order [Ticket#2016010110000019]".into(),
        message_id: "2016010110000019.abcdefghijkl.0123456789abcdef@company.example".into(),
        in_reply_to: None,
        references: vec![],
        date: Utc.with_ymd_and_hms(2026, 11, 22, 10, 30, 5).unwrap(),
        auto: Auto::No,
        loop_value: "support@company.example".into(),
        language: None,
        extra: vec![],
        body: "Dear Jane,\n\nyour order has shipped.\n".into(),
        attachments: vec![],
    }
}

fn parse(raw: &[u8]) -> Message<'_> {
    MessageParser::default().parse(raw).expect("parses")
}

/// The header section, unfolded, as (name, value) pairs.
fn raw_headers(raw: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap().to_string();
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            out.last_mut().unwrap().1.push_str(line);
        } else {
            let (n, v) = line.split_once(':').expect("header line");
            out.push((n.to_string(), v.trim().to_string()));
        }
    }
    out
}

fn count(raw: &[u8], name: &str) -> usize {
    raw_headers(raw)
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .count()
}

fn header(raw: &[u8], name: &str) -> Option<String> {
    raw_headers(raw)
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn assert_lines_ok(raw: &[u8]) {
    for (i, line) in raw.split(|&b| b == b'\n').enumerate() {
        assert!(line.len() <= 999, "line {i} has {} bytes", line.len());
    }
    for (i, w) in raw.windows(2).enumerate() {
        assert!(w[1] != b'\n' || w[0] == b'\r', "bare LF at {i}");
    }
    assert!(raw.first() != Some(&b'\n'));
}

#[test]
fn headers_round_trip() {
    let mut o = outgoing();
    o.cc = vec![
        Address::new("boss@customer.example"),
        Address::named("Al", "al@x.example"),
    ];
    o.reply_to = Some(Address::new(
        "support+2016010110000019-0123456789abcdef@company.example",
    ));
    o.in_reply_to = Some("<CAF123@mail.customer.example>".into());
    o.references = vec![
        "first@customer.example".into(),
        "CAF123@mail.customer.example".into(),
    ];
    o.language = Some("en-GB".into());
    o.extra = vec![("X-Postdesk-Ticket".into(), "2016010110000019".into())];
    let raw = build(&o).unwrap();
    assert_lines_ok(&raw);
    let m = parse(&raw);
    assert_eq!(m.subject(), Some("Your order [Ticket#2016010110000019]"));
    let from = m.from().unwrap().first().unwrap();
    assert_eq!(from.name(), Some("Company Support"));
    assert_eq!(from.address(), Some("support@company.example"));
    assert_eq!(
        m.to().unwrap().first().unwrap().address(),
        Some("jane@customer.example")
    );
    let cc: Vec<_> = m
        .cc()
        .unwrap()
        .iter()
        .map(|a| a.address().unwrap())
        .collect();
    assert_eq!(cc, ["boss@customer.example", "al@x.example"]);
    assert_eq!(
        m.reply_to().unwrap().first().unwrap().address(),
        Some("support+2016010110000019-0123456789abcdef@company.example")
    );
    assert_eq!(m.message_id(), Some(o.message_id.as_str()));
    assert_eq!(
        m.in_reply_to().as_text(),
        Some("CAF123@mail.customer.example")
    );
    assert_eq!(
        m.references().as_text_list().unwrap(),
        ["first@customer.example", "CAF123@mail.customer.example"]
    );
    assert_eq!(
        header(&raw, "In-Reply-To").unwrap(),
        "<CAF123@mail.customer.example>"
    );
    assert_eq!(m.date().unwrap().to_timestamp(), o.date.timestamp());
    assert_eq!(
        header(&raw, "Date").unwrap(),
        "Sun, 22 Nov 2026 10:30:05 +0000"
    );
    assert_eq!(header(&raw, "MIME-Version").unwrap(), "1.0");
    assert_eq!(header(&raw, "X-Loop").unwrap(), "support@company.example");
    assert_eq!(
        header(&raw, "X-Postdesk-Ticket").unwrap(),
        "2016010110000019"
    );
    assert_eq!(header(&raw, "Content-Language").unwrap(), "en-GB");
    for h in [
        "Auto-Submitted",
        "Precedence",
        "X-Auto-Response-Suppress",
        "Bcc",
    ] {
        assert_eq!(count(&raw, h), 0, "{h}");
    }
    assert_eq!(m.body_text(0).unwrap().replace("\r\n", "\n"), o.body);
}

#[test]
fn automatic_mail_headers() {
    for (auto, value) in [
        (Auto::Replied, "auto-replied"),
        (Auto::Generated, "auto-generated"),
    ] {
        let raw = build(&Outgoing { auto, ..outgoing() }).unwrap();
        assert_eq!(header(&raw, "Auto-Submitted").unwrap(), value);
        assert_eq!(header(&raw, "Precedence").unwrap(), "bulk");
        assert_eq!(header(&raw, "X-Auto-Response-Suppress").unwrap(), "All");
        assert_eq!(count(&raw, "X-Loop"), 1);
    }
}

#[test]
fn customer_text_cannot_create_headers() {
    let mut o = outgoing();
    o.subject = "Hi\r\nBcc: evil@x".into();
    o.to = vec![Address::named("Jane\nBcc: evil@x", "jane@customer.example")];
    o.from.name = Some("Support\r\n\r\nbody".into());
    o.loop_value = "loop\nX-Evil: 1".into();
    o.extra = vec![(
        "X-Postdesk-Queue".into(),
        "Billing\r\nBcc: evil@x\u{2028}\u{0}".into(),
    )];
    o.attachments = vec![Attachment {
        filename: "a\r\nBcc: evil@x.pdf".into(),
        content_type: "application/pdf\r\nBcc: evil@x".into(),
        data: b"%PDF".to_vec(),
    }];
    let raw = build(&o).unwrap();
    assert_lines_ok(&raw);
    assert_eq!(count(&raw, "Subject"), 1);
    assert_eq!(count(&raw, "Bcc"), 0);
    assert_eq!(count(&raw, "X-Evil"), 0);
    let text = String::from_utf8_lossy(&raw);
    assert!(!text.contains("\nBcc"), "{text}");
    let m = parse(&raw);
    assert!(m.bcc().is_none());
    assert_eq!(m.subject(), Some("Hi  Bcc: evil@x"));
    let to = m.to().unwrap().first().unwrap();
    assert_eq!(to.name(), Some("Jane Bcc: evil@x"));
    assert_eq!(to.address(), Some("jane@customer.example"));
    assert_eq!(m.header_raw("X-Evil"), None);
    assert_eq!(
        m.attachment(0).unwrap().attachment_name(),
        Some("a  Bcc: evil@x.pdf")
    );
    assert_eq!(
        m.attachment(0).unwrap().content_type().unwrap().ctype(),
        "application"
    );
}

#[test]
fn non_ascii_subject_and_names_are_encoded() {
    let mut o = outgoing();
    o.subject = "Rückfrage zu Ihrer Bestellung".into();
    o.from = Address::named("Kundendienst Müller & Söhne", "support@company.example");
    o.to = vec![Address::named(
        "Zoë \"Z\" O'Brien, Jr.",
        "zoe@customer.example",
    )];
    o.extra = vec![("X-Postdesk-Queue".into(), "Rechnungsprüfung".into())];
    o.body = "Grüße aus Köln – 😀\n".into();
    o.language = Some("de".into());
    let raw = build(&o).unwrap();
    assert_lines_ok(&raw);
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    assert!(raw.is_ascii(), "the whole message is 7-bit");
    assert!(header(&raw[..head_end], "Subject").unwrap().contains("=?"));
    let m = parse(&raw);
    assert_eq!(m.subject(), Some("Rückfrage zu Ihrer Bestellung"));
    assert_eq!(
        m.from().unwrap().first().unwrap().name(),
        Some("Kundendienst Müller & Söhne")
    );
    let to = m.to().unwrap().first().unwrap();
    assert_eq!(to.name(), Some("Zoë \"Z\" O'Brien, Jr."));
    assert_eq!(to.address(), Some("zoe@customer.example"));
    // mail-parser leaves unknown headers raw unless told to decode them as text.
    let queue = HeaderName::Other("X-Postdesk-Queue".into());
    let decoded = MessageParser::default()
        .header_text(queue)
        .parse(&raw)
        .unwrap();
    assert_eq!(
        decoded.header("X-Postdesk-Queue").unwrap().as_text(),
        Some("Rechnungsprüfung")
    );
    assert_eq!(m.body_text(0).unwrap().replace("\r\n", "\n"), o.body);
    let ct = m.content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("text", Some("plain")));
    assert_eq!(ct.attribute("charset"), Some("utf-8"));
}

#[test]
fn long_lines_stay_within_limits() {
    let mut o = outgoing();
    o.subject = "x".repeat(3000);
    o.to = vec![Address::named(&"Ä".repeat(600), "jane@customer.example")];
    o.body = format!("{}\n{}\nend", "a".repeat(5000), "ö".repeat(2000));
    let raw = build(&o).unwrap();
    assert_lines_ok(&raw);
    let m = parse(&raw);
    assert_eq!(m.subject(), Some("x".repeat(3000).as_str()));
    assert_eq!(
        m.to().unwrap().first().unwrap().name(),
        Some("Ä".repeat(600).as_str())
    );
    assert_eq!(m.body_text(0).unwrap().replace("\r\n", "\n"), o.body);
}

#[test]
fn empty_values() {
    let o = Outgoing {
        to: vec![],
        subject: String::new(),
        loop_value: String::new(),
        body: String::new(),
        ..outgoing()
    };
    let raw = build(&o).unwrap();
    assert_lines_ok(&raw);
    assert_eq!(count(&raw, "To"), 0);
    assert_eq!(count(&raw, "Subject"), 1);
    let m = parse(&raw);
    assert_eq!(m.subject().unwrap_or(""), "");
    assert_eq!(
        m.from().unwrap().first().unwrap().address(),
        Some("support@company.example")
    );
}

#[test]
fn body_line_breaks_are_canonical() {
    let o = Outgoing {
        body: "Grüße\nzwei\r\ndrei\rvier".into(),
        ..outgoing()
    };
    let raw = build(&o).unwrap();
    assert_lines_ok(&raw);
    assert_eq!(
        parse(&raw).body_text(0).unwrap(),
        "Grüße\r\nzwei\r\ndrei\r\nvier"
    );
}

#[test]
fn attachments_make_multipart_mixed_text_first() {
    let mut o = outgoing();
    let binary: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    o.attachments = vec![
        Attachment {
            filename: "Rechnung März.pdf".into(),
            content_type: "Application/PDF".into(),
            data: binary.clone(),
        },
        Attachment {
            filename: "".into(),
            content_type: "not a type".into(),
            data: b"raw".to_vec(),
        },
        Attachment {
            filename: "notes.txt".into(),
            content_type: "text/plain; charset=\"iso-8859-1\"; name=x".into(),
            data: b"caf\xe9".to_vec(),
        },
    ];
    let raw = build(&o).unwrap();
    assert_lines_ok(&raw);
    let m = parse(&raw);
    let ct = m.content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("multipart", Some("mixed")));
    // parts[0] is the multipart itself; the text comes first among its children.
    assert_eq!(m.parts[1].content_type().unwrap().ctype(), "text");
    assert_eq!(m.body_text(0).unwrap().replace("\r\n", "\n"), o.body);
    assert_eq!(m.attachments().count(), 3);
    let a = m.attachment(0).unwrap();
    assert_eq!(a.attachment_name(), Some("Rechnung März.pdf"));
    assert_eq!(a.content_type().unwrap().subtype(), Some("pdf"));
    assert_eq!(a.contents(), binary.as_slice());
    let b = m.attachment(1).unwrap();
    assert_eq!(b.attachment_name(), Some("attachment"));
    assert_eq!(b.content_type().unwrap().subtype(), Some("octet-stream"));
    let c = m.attachment(2).unwrap();
    assert_eq!(
        c.content_type().unwrap().attribute("charset"),
        Some("iso-8859-1")
    );
    assert_eq!(c.content_type().unwrap().attribute("name"), None);
}

#[test]
fn long_ascii_subjects_are_folded_not_encoded() {
    let mut o = outgoing();
    o.subject = "Re: [Ticket#2016010110000019] The printer on the third floor jams after the \
                 driver update of last Tuesday"
        .into();
    let raw = build(&o).unwrap();
    assert_lines_ok(&raw);
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let subject = header(&raw[..head_end], "Subject").unwrap();
    assert!(!subject.contains("=?"), "{subject}");
    assert_eq!(parse(&raw).subject(), Some(o.subject.as_str()));
}

#[test]
fn attachment_names_cannot_name_paths_or_reorder_text() {
    let mut o = outgoing();
    o.attachments = [
        "../../etc/passwd",
        "/abs/path.txt",
        "evil\u{202E}txt.exe",
        "..",
    ]
    .iter()
    .map(|n| Attachment {
        filename: n.to_string(),
        content_type: "application/octet-stream".into(),
        data: b"x".to_vec(),
    })
    .collect();
    let raw = build(&o).unwrap();
    let m = parse(&raw);
    let names: Vec<_> = m
        .attachments()
        .map(|a| a.attachment_name().unwrap())
        .collect();
    assert_eq!(names, ["passwd", "path.txt", "eviltxt.exe", "attachment"]);
    let text = String::from_utf8_lossy(&raw);
    assert!(
        !text.contains("etc/passwd") && !text.contains("/abs"),
        "{text}"
    );
}
