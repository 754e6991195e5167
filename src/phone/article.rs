//! The phone article: the mail postdesk writes for a call that ended, filed like any mail so it
//! sits in the ticket's folder beside the mails. Built from the call's facts alone, so the same
//! call gives the same bytes every time: a PBX that sends the end of a call twice gets a
//! duplicate the second time (intake's digest), never a second article.

use chrono::{DateTime, FixedOffset, Utc};
use sha2::{Digest, Sha256};

use crate::directory::Person;
use crate::number::Scheme;
use crate::outgoing::compose::{self, Address, Attachment, Auto, Outgoing};

/// Where addresses of callers without one in the directory live (RFC 2606: never delivered).
const NO_MAIL: &str = "phone.invalid";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// The customer called.
    #[default]
    In,
    /// An agent called the customer.
    Out,
}

/// A call that ended, as the PBX reported it and the directory completed it.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    pub id: &'a str,
    pub direction: Direction,
    /// The customer's number, E.164; `None` when withheld.
    pub number: Option<&'a str>,
    /// Whom the directory knows by it (one person only; several or none: the number).
    pub person: Option<&'a Person>,
    /// The hotline dialled, E.164, and its service.
    pub dialled: Option<&'a str>,
    pub service: Option<&'a str>,
    pub start: DateTime<FixedOffset>,
    pub duration_seconds: u64,
    pub extension: &'a str,
    pub note: &'a str,
    /// The recording's content type: the article gets its part, whose base64 is put in where
    /// `Written::recording_tail` says, from the file the recording arrived in.
    pub recording: Option<&'a str>,
}

/// An article as built: the mail, the recording's part without its base64.
#[derive(Debug)]
pub struct Written {
    pub raw: Vec<u8>,
    /// With a recording: how many bytes of `raw` come after the place of its base64 (its part's
    /// end and the closing boundary), for `store::spliced::Spliced::tail`.
    pub recording_tail: Option<usize>,
}

/// The words of an article in a language (`de`, else English).
struct Words {
    from: &'static str,
    to: &'static str,
    withheld: &'static str,
    direction: &'static str,
    incoming: &'static str,
    outgoing: &'static str,
    dialled: &'static str,
    start: &'static str,
    duration: &'static str,
    extension: &'static str,
    call_id: &'static str,
    note: &'static str,
    recording: &'static str,
}

const EN: Words = Words {
    from: "Call from",
    to: "Call to",
    withheld: "a withheld number",
    direction: "Direction",
    incoming: "incoming",
    outgoing: "outgoing",
    dialled: "Number dialled",
    start: "Start",
    duration: "Duration",
    extension: "Agent's extension",
    call_id: "Call id",
    note: "Note",
    recording: "The recording is attached.",
};

const DE: Words = Words {
    from: "Anruf von",
    to: "Anruf an",
    withheld: "unterdrückter Nummer",
    direction: "Richtung",
    incoming: "eingehend",
    outgoing: "ausgehend",
    dialled: "Gewählte Nummer",
    start: "Beginn",
    duration: "Dauer",
    extension: "Nebenstelle",
    call_id: "Anruf-ID",
    note: "Notiz",
    recording: "Die Aufnahme ist angehängt.",
};

/// The article's Message-ID: the same for every report of one call.
pub fn message_id(call_id: &str) -> String {
    let d = Sha256::digest(call_id.as_bytes());
    let hex: String = d[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("call-{hex}@{NO_MAIL}")
}

/// The mail, addressed to `queue` (a queue's address), in `language`, its subject tagged with
/// `ticket` when the call belongs to one. The recording's part is written without its bytes:
/// its base64 goes in at `recording_tail` bytes from the end, so that the mail with it is the
/// one mail-builder writes for the whole recording, byte for byte, without ever holding it.
pub fn build(
    call: &Call,
    queue: &str,
    language: &str,
    scheme: &Scheme,
    ticket: Option<&str>,
    loop_value: &str,
) -> Result<Written, String> {
    let w = if language.starts_with("de") { &DE } else { &EN };
    let who = caller_name(call, w);
    let subject = format!(
        "{} {who}",
        if call.direction == Direction::In {
            w.from
        } else {
            w.to
        }
    );
    let subject = match ticket {
        Some(n) => scheme.tag_subject(&subject, n, false),
        None => subject,
    };
    let mut body = format!("{subject}\n\n");
    let mut line = |k: &str, v: &str| {
        if !v.is_empty() {
            body.push_str(&format!("{k}: {v}\n"));
        }
    };
    line(
        w.direction,
        if call.direction == Direction::In {
            w.incoming
        } else {
            w.outgoing
        },
    );
    let dialled = match (call.dialled, call.service) {
        (Some(d), Some(s)) => format!("{d} ({s})"),
        (Some(d), None) => d.to_string(),
        _ => String::new(),
    };
    line(w.dialled, &dialled);
    line(
        w.start,
        &call.start.format("%Y-%m-%d %H:%M:%S %:z").to_string(),
    );
    line(w.duration, &duration(call.duration_seconds));
    line(w.extension, call.extension);
    line(w.call_id, call.id);
    if !call.note.trim().is_empty() {
        body.push_str(&format!("\n{}:\n{}\n", w.note, call.note.trim_end()));
    }
    let mut attachments = Vec::new();
    if let Some(ct) = call.recording {
        body.push_str(&format!("\n{}\n", w.recording));
        attachments.push(Attachment {
            filename: format!("recording.{}", extension_of(ct)),
            content_type: ct.to_string(),
            // An empty binary part is still base64: nothing between its blank line and the
            // closing boundary, which is where the recording's base64 goes.
            data: Vec::new(),
        });
    }
    let raw = compose::build(&Outgoing {
        from: sender(call),
        to: vec![Address::new(queue)],
        cc: Vec::new(),
        reply_to: None,
        subject,
        message_id: message_id(call.id),
        in_reply_to: None,
        references: Vec::new(),
        date: call.start.with_timezone(&Utc),
        // Written by a machine: no autoresponse goes to the caller.
        auto: Auto::Generated,
        // Not ours coming back: intake files it like a customer's mail.
        loop_value: format!("{loop_value}-phone"),
        language: Some(
            if language.starts_with("de") {
                "de"
            } else {
                "en"
            }
            .into(),
        ),
        extra: Vec::new(),
        body,
        attachments,
    })
    .map_err(|e| e.to_string())?;
    let raw = fixed_boundary(raw, call.id);
    let recording_tail = match call.recording {
        None => None,
        Some(_) => {
            let closing = format!("\r\n--{}--\r\n", boundary(call.id));
            if !raw.ends_with(closing.as_bytes()) {
                return Err("the recording's part is not the mail's last".into());
            }
            Some(closing.len())
        }
    };
    Ok(Written {
        raw,
        recording_tail,
    })
}

/// The MIME boundary of a call's article.
fn boundary(call_id: &str) -> String {
    format!("=_{}", &message_id(call_id)[5..37])
}

/// The MIME boundary mail-builder draws at random, replaced by one from the call id, so that a
/// repeated report gives the same bytes. `=_` starts the new one: it cannot occur in base64 or
/// quoted-printable text.
fn fixed_boundary(raw: Vec<u8>, call_id: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(&raw);
    let Some(start) = text.find("boundary=\"").map(|i| i + "boundary=\"".len()) else {
        return raw;
    };
    let Some(len) = text[start..].find('"') else {
        return raw;
    };
    let old = &text[start..start + len];
    if old.is_empty() || String::from_utf8(raw.clone()).is_err() {
        return raw;
    }
    text.replace(old, &boundary(call_id)).into_bytes()
}

/// The recording types a phone article takes, and their file name extension.
pub fn extension_of(content_type: &str) -> &'static str {
    match content_type {
        "audio/mpeg" => "mp3",
        "audio/wav" => "wav",
        "audio/ogg" => "ogg",
        _ => "bin",
    }
}

fn caller_name(call: &Call, w: &Words) -> String {
    let number = call.number.unwrap_or(w.withheld);
    match call.person {
        Some(p) => {
            let name = if p.display_name.is_empty() {
                format!("{} {}", p.first_name, p.last_name)
                    .trim()
                    .to_string()
            } else {
                p.display_name.clone()
            };
            if name.is_empty() {
                number.to_string()
            } else {
                format!("{name} ({number})")
            }
        }
        None => number.to_string(),
    }
}

/// The caller as the directory knows them (their first address), else their number at an
/// address no mail goes to.
fn sender(call: &Call) -> Address {
    let digits: String = call
        .number
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let name = match call.person {
        Some(p) if !p.display_name.is_empty() => p.display_name.clone(),
        Some(p) => format!("{} {}", p.first_name, p.last_name)
            .trim()
            .to_string(),
        None => call.number.unwrap_or("").to_string(),
    };
    let email = match call.person.and_then(|p| p.mail.first()) {
        Some(m) => m.clone(),
        None if digits.is_empty() => format!("withheld@{NO_MAIL}"),
        None => format!("{digits}@{NO_MAIL}"),
    };
    if name.is_empty() {
        Address::new(&email)
    } else {
        Address::named(&name, &email)
    }
}

fn duration(s: u64) -> String {
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s} s"),
        (0, m, s) => format!("{m} min {s} s"),
        (h, m, s) => format!("{h} h {m} min {s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call<'a>(person: Option<&'a Person>, recording: Option<&'a str>) -> Call<'a> {
        Call {
            id: "A-1",
            direction: Direction::In,
            number: Some("+49541123417"),
            person,
            dialled: Some("+49800123456"),
            service: Some("Online"),
            start: DateTime::parse_from_rfc3339("2026-12-06T10:00:00+01:00").unwrap(),
            duration_seconds: 192,
            extension: "17",
            note: "Router \"restarted\"\r\nSubject: injected",
            recording,
        }
    }

    fn text(b: &[u8]) -> String {
        String::from_utf8_lossy(b).replace("\r\n", "\n")
    }

    #[test]
    fn the_same_call_gives_the_same_bytes() {
        let p = Person {
            first_name: "Maria".into(),
            last_name: "Müller".into(),
            mail: vec!["mm@acme.example".into()],
            ..Person::default()
        };
        let s = Scheme::default();
        let write = || {
            let c = call(Some(&p), Some("audio/mpeg"));
            build(
                &c,
                "support@x.example",
                "en",
                &s,
                Some("2026120610000011"),
                "pd",
            )
            .unwrap()
            .raw
        };
        let (a, b) = (write(), write());
        assert_eq!(a, b);
        let t = text(&a);
        assert!(
            t.contains("From: \"Maria M") || t.contains("From: =?"),
            "{t}"
        );
        assert!(t.contains("mm@acme.example"), "{t}");
        assert!(t.contains("[Ticket#2026120610000011]"), "{t}");
        assert!(t.contains("Duration: 3 min 12 s"), "{t}");
        assert!(t.contains("recording.mp3"), "{t}");
        assert!(t.contains("Auto-Submitted: auto-generated"), "{t}");
        let head = t.split("\n\n").next().unwrap();
        assert!(!head.contains("Subject: injected"), "{t}");
        assert!(
            t.contains(&format!("Message-ID: <{}>", message_id("A-1"))),
            "{t}"
        );
        assert_ne!(message_id("A-1"), message_id("A-2"));
    }

    #[test]
    fn an_unknown_caller_is_their_number_in_german_too() {
        let s = Scheme::default();
        let t = text(
            &build(&call(None, None), "support@x.example", "de", &s, None, "pd")
                .unwrap()
                .raw,
        );
        assert!(t.contains("49541123417@phone.invalid"), "{t}");
        assert!(t.contains("Anruf von +49541123417"), "{t}");
        assert!(t.contains("Dauer: 3 min 12 s"), "{t}");
        let mut c = call(None, None);
        c.number = None;
        c.direction = Direction::Out;
        let t = text(
            &build(&c, "support@x.example", "en", &s, None, "pd")
                .unwrap()
                .raw,
        );
        assert!(
            t.contains("withheld@phone.invalid") && t.contains("Call to a withheld number"),
            "{t}"
        );
    }

    /// The article with the recording spliced in from its file is the mail mail-builder writes
    /// with the whole recording in memory (and the same boundary), byte for byte.
    #[test]
    fn the_spliced_recording_gives_the_bytes_of_the_whole_mail() {
        let s = Scheme::default();
        let dir = tempfile::tempdir().unwrap();
        for len in [0usize, 1, 2, 3, 56, 57, 58, 113, 114, 115, 65_550, 200_003] {
            let audio: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let path = dir.path().join(format!("r{len}"));
            std::fs::write(&path, &audio).unwrap();
            let c = call(None, Some("audio/ogg"));
            let w = build(&c, "support@x.example", "en", &s, None, "pd").unwrap();
            let spliced = crate::store::spliced::Spliced {
                path,
                len: len as u64,
                tail: w.recording_tail.unwrap(),
            };
            let mut out = Vec::new();
            spliced.write_to(&w.raw, &mut out).unwrap();
            assert_eq!(out.len() as u64, spliced.total_len(&w.raw), "{len}");
            let whole = whole_mail(&c, &audio);
            assert!(
                out == whole,
                "{len} bytes:\n{}\n---\n{}",
                text(&out),
                text(&whole)
            );
            // The digest of the parts is the one parse gives the whole mail.
            let mut encoded = spliced.encoded().unwrap();
            let digest =
                crate::parse::spliced_digest(&w.raw, spliced.at(&w.raw), &mut encoded).unwrap();
            assert_eq!(digest, crate::parse::parse(&whole).digest, "{len}");
        }
    }

    /// The article as it was written before recordings were spliced: mail-builder given the
    /// whole recording.
    fn whole_mail(c: &Call, audio: &[u8]) -> Vec<u8> {
        let raw = compose::build(&Outgoing {
            from: sender(c),
            to: vec![Address::new("support@x.example")],
            cc: Vec::new(),
            reply_to: None,
            subject: "Call from +49541123417".into(),
            message_id: message_id(c.id),
            in_reply_to: None,
            references: Vec::new(),
            date: c.start.with_timezone(&Utc),
            auto: Auto::Generated,
            loop_value: "pd-phone".into(),
            language: Some("en".into()),
            extra: Vec::new(),
            body: "Call from +49541123417\n\nDirection: incoming\nNumber dialled: +49800123456 \
                   (Online)\nStart: 2026-12-06 10:00:00 +01:00\nDuration: 3 min 12 s\n\
                   Agent's extension: 17\nCall id: A-1\n\nNote:\nRouter \"restarted\"\r\n\
                   Subject: injected\n\nThe recording is attached.\n"
                .into(),
            attachments: vec![Attachment {
                filename: "recording.ogg".into(),
                content_type: "audio/ogg".into(),
                data: audio.to_vec(),
            }],
        })
        .unwrap();
        fixed_boundary(raw, c.id)
    }
}
