//! Builds an outgoing mail (an answer, an autoresponse, a notification) with mail-builder.
//!
//! Pure: the caller passes the date and the Message-ID. Customer text is data, so before
//! anything reaches mail-builder:
//! - every header value and display name has CR, LF and other control characters (and the
//!   Unicode line/paragraph separators) replaced by a space, so no text can start a header;
//! - addresses (the `email` part) must be plain ASCII `local@domain` without whitespace,
//!   control characters or any of `<>,;:"()[]\`; anything else is an error, never passed on;
//! - our own Message-ID must be a plain `left@right` id (an error otherwise); In-Reply-To and
//!   References come from customers' mails, so ids of a bad shape there are dropped instead;
//! - extra header names must match `[A-Za-z0-9-]+` and must not be one this module writes;
//! - attachment names lose directory parts, bidirectional controls and the like (`filename`).
//!
//! mail-builder RFC 2047-encodes non-ASCII subjects, display names and text headers, picks
//! quoted-printable or base64 for the body (lines stay within 78 characters), writes filenames
//! as RFC 2231 parameters, and folds long headers.
//!
//! Every mail carries `X-Loop`; automatic ones (`Auto::Replied`, `Auto::Generated`) also carry
//! `Auto-Submitted` (RFC 3834), `Precedence: bulk` and `X-Auto-Response-Suppress: All`, which
//! keep well-behaved autoresponders from answering them.

mod filename;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use mail_builder::headers::address::Address as MbAddress;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
use mail_builder::mime::{BodyPart, MimePart};
use mail_builder::MessageBuilder;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub name: Option<String>,
    pub email: String,
}

impl Address {
    pub fn new(email: &str) -> Address {
        Address {
            name: None,
            email: email.to_string(),
        }
    }

    pub fn named(name: &str, email: &str) -> Address {
        Address {
            name: Some(name.to_string()),
            email: email.to_string(),
        }
    }
}

/// Whether a mail is automatic, and which kind (RFC 3834 `Auto-Submitted`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auto {
    /// Written by a person (an agent's answer).
    No,
    /// An autoresponse to a customer's mail: `Auto-Submitted: auto-replied`.
    Replied,
    /// A notification: `Auto-Submitted: auto-generated`.
    Generated,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    /// `type/subtype`, optionally with a `charset` parameter. Other parameters are dropped; a
    /// malformed type, `multipart/*` and `message/*` (which must not be base64-encoded) are sent
    /// as `application/octet-stream`.
    pub content_type: String,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub from: Address,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub reply_to: Option<Address>,
    pub subject: String,
    /// Without angle brackets.
    pub message_id: String,
    /// Without angle brackets.
    pub in_reply_to: Option<String>,
    /// Without angle brackets, oldest first.
    pub references: Vec<String>,
    pub date: DateTime<Utc>,
    pub auto: Auto,
    pub loop_value: String,
    /// `Content-Language` of the text, e.g. `de` or `en-GB`.
    pub language: Option<String>,
    /// Appended as text headers, e.g. `("X-Postdesk-Ticket", "2016010110000019")`.
    pub extra: Vec<(String, String)>,
    /// The text/plain body; LF, CR and CRLF line breaks are all sent as CRLF.
    pub body: String,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    #[error("{field}: invalid address {address:?}")]
    InvalidAddress {
        field: &'static str,
        address: String,
    },
    #[error("invalid Message-ID {0:?}")]
    InvalidMessageId(String),
    #[error("invalid header name {0:?}")]
    InvalidHeaderName(String),
    #[error("header {0} is written by compose and cannot be an extra header")]
    ReservedHeader(String),
    #[error("invalid Content-Language {0:?}")]
    InvalidLanguage(String),
}

/// Headers `build` writes itself (lowercase); any `content-*` is reserved too.
const RESERVED: &[&str] = &[
    "date",
    "from",
    "sender",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "subject",
    "message-id",
    "in-reply-to",
    "references",
    "mime-version",
    "auto-submitted",
    "precedence",
    "x-auto-response-suppress",
    "x-loop",
];
/// RFC 5321's limit on a path; longer addresses are refused.
const MAX_ADDRESS: usize = 254;
/// Longer ids cannot be written within a header line's 998 characters.
const MAX_ID: usize = 900;

/// The message as bytes with CRLF line ends, ready for the submission queue. Headers in order:
/// Date, From, To, Cc, Reply-To, Subject, Message-ID, In-Reply-To, References, the automatic
/// ones, X-Loop, `extra`, MIME-Version, then the body's Content-* headers. Empty `to`/`cc` and
/// a `None` or dropped `in_reply_to` write no header.
pub fn build(o: &Outgoing) -> Result<Vec<u8>, ComposeError> {
    let mut b = MessageBuilder::new()
        .date(Date::new(o.date.timestamp()))
        .from(address("From", &o.from)?);
    if !o.to.is_empty() {
        b = b.to(address_list("To", &o.to)?);
    }
    if !o.cc.is_empty() {
        b = b.cc(address_list("Cc", &o.cc)?);
    }
    if let Some(r) = &o.reply_to {
        b = b.reply_to(address("Reply-To", r)?);
    }
    let subject = sanitize(&o.subject);
    b = if plain_ascii(&subject) {
        // Folded as it is: mail-builder would Q-encode any ASCII subject past 77 characters,
        // which some clients and every `grep` of a mail log show as =?utf-8?q?...
        b.header("Subject", Raw::new(subject))
    } else {
        b.subject(Text::new(subject))
    };

    let id = strip_brackets(&o.message_id);
    if !valid_id(id) {
        return Err(ComposeError::InvalidMessageId(o.message_id.clone()));
    }
    b = b.message_id(MessageId::new(id.to_string()));
    if let Some(irt) = o
        .in_reply_to
        .as_deref()
        .map(strip_brackets)
        .filter(|i| valid_id(i))
    {
        b = b.in_reply_to(MessageId::new(irt.to_string()));
    }
    let refs: Vec<String> = o
        .references
        .iter()
        .map(|r| strip_brackets(r))
        .filter(|r| valid_id(r))
        .map(str::to_string)
        .collect();
    if !refs.is_empty() {
        b = b.references(MessageId::from(refs));
    }

    let auto = match o.auto {
        Auto::No => None,
        Auto::Replied => Some("auto-replied"),
        Auto::Generated => Some("auto-generated"),
    };
    if let Some(value) = auto {
        b = b
            .header("Auto-Submitted", Raw::new(value))
            .header("Precedence", Raw::new("bulk"))
            .header("X-Auto-Response-Suppress", Raw::new("All"));
    }
    b = b.header("X-Loop", Text::new(sanitize(&o.loop_value)));
    for (name, value) in &o.extra {
        check_header_name(name)?;
        b = b.header(name.clone(), Text::new(sanitize(value)));
    }

    let mut text = MimePart::new("text/plain", BodyPart::Text(crlf(&o.body).into()));
    if let Some(lang) = &o.language {
        if !valid_language(lang) {
            return Err(ComposeError::InvalidLanguage(lang.clone()));
        }
        text = text.language(lang.clone());
    }
    let body = if o.attachments.is_empty() {
        text
    } else {
        let mut parts = Vec::with_capacity(o.attachments.len() + 1);
        parts.push(text);
        parts.extend(o.attachments.iter().map(attachment));
        MimePart::new("multipart/mixed", parts)
    };

    let mut out = Vec::new();
    b.body(body).serialize(&mut out);
    Ok(out)
}

/// Control characters (CR and LF included) and U+2028/U+2029 → space.
/// A header text that can be written unencoded: printable ASCII, no trailing white space
/// (folding would eat it), and no word too long to fold within a line's 998 characters.
fn plain_ascii(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !s.ends_with(' ')
        && s.split(' ').all(|w| w.len() <= MAX_ID)
}

pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// Line breaks in canonical form (RFC 2046 4.1.1): bare LF and bare CR become CRLF, so a
/// base64-encoded body decodes to CRLF lines like a quoted-printable one.
fn crlf(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 32);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str("\r\n");
            }
            '\n' => out.push_str("\r\n"),
            c => out.push(c),
        }
    }
    out
}

fn address<'a>(field: &'static str, a: &Address) -> Result<MbAddress<'a>, ComposeError> {
    let email = a.email.trim();
    if !valid_email(email) {
        return Err(ComposeError::InvalidAddress {
            field,
            address: a.email.clone(),
        });
    }
    let name = a
        .name
        .as_deref()
        .map(|n| sanitize(n).trim().to_string())
        .filter(|n| !n.is_empty());
    Ok(MbAddress::new_address(name, email.to_string()))
}

fn address_list<'a>(field: &'static str, list: &[Address]) -> Result<MbAddress<'a>, ComposeError> {
    let items = list
        .iter()
        .map(|a| address(field, a))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(MbAddress::new_list(items))
}

/// Plain ASCII `local@domain`: one `@`, both sides non-empty, nothing that could end the
/// address or start another (whitespace, control, `<>,;:"()[]\`). What the autoresponse policy
/// checks before it answers an address.
pub fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && s.len() <= MAX_ADDRESS
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !b"<>,;:\"()[]\\".contains(&b))
}

fn strip_brackets(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(s)
}

/// `left@right`, printable ASCII without whitespace or `<>`, short enough for one header line.
fn valid_id(s: &str) -> bool {
    s.len() <= MAX_ID
        && s.split_once('@')
            .is_some_and(|(l, r)| !l.is_empty() && !r.is_empty())
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>')
}

fn check_header_name(name: &str) -> Result<(), ComposeError> {
    if name.is_empty()
        || name.len() > 76
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(ComposeError::InvalidHeaderName(name.to_string()));
    }
    let lower = name.to_ascii_lowercase();
    if RESERVED.contains(&lower.as_str()) || lower.starts_with("content-") {
        return Err(ComposeError::ReservedHeader(name.to_string()));
    }
    Ok(())
}

/// A BCP 47-shaped tag: letters, digits and `-`, at most 35 characters.
fn valid_language(s: &str) -> bool {
    !s.is_empty() && s.len() <= 35 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 127
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
}

/// `type/subtype` (lowercased) and an optional charset; a malformed type is
/// `application/octet-stream`.
fn content_type(s: &str) -> ContentType<'static> {
    let mut params = s.split(';');
    let mime = params.next().unwrap_or("").trim().to_ascii_lowercase();
    let ok = mime
        .split_once('/')
        .is_some_and(|(t, st)| token(t) && token(st) && t != "multipart" && t != "message");
    if !ok {
        return ContentType::new("application/octet-stream");
    }
    let mut ct = ContentType::new(mime);
    let charset = params.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        let v = v.trim().trim_matches('"');
        (k.trim().eq_ignore_ascii_case("charset") && token(v)).then(|| v.to_string())
    });
    if let Some(cs) = charset {
        ct = ct.attribute("charset", cs);
    }
    ct
}

fn attachment(a: &Attachment) -> MimePart<'_> {
    let name = filename::attachment_name(&a.filename);
    MimePart::new(
        content_type(&a.content_type),
        BodyPart::Binary(a.data.as_slice().into()),
    )
    .attachment(name)
}
