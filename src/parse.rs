//! Raw bytes to `Facts`: the only module that knows mail-parser.
//!
//! `parse` never fails and never panics: whatever the bytes, it returns `Facts`. Broken mail is
//! normal input, so problems that still leave a usable message are recorded in `defects`; only bytes
//! that are not a mail at all get `unparseable`, and the pipeline quarantines those. Precisely:
//! after dropping a UTF-8 BOM, an mbox `From ` separator line and leading white space (and reading
//! bare-CR line ends as LF), the input is unparseable when nothing is left, when its first line is
//! not a header field (`name:` with a printable-ASCII name; this rejects binary and NUL garbage and
//! plain text), or when mail-parser finds no header at all. An unparseable message's digest is the
//! SHA-256 of its raw bytes. Should mail-parser ever panic (in debug builds its internal
//! `debug_assert!`s can fire on mangled MIME), the panic is caught and the message is unparseable.
//!
//! Choices worth knowing:
//! - `attachments` are the parts mail-parser reports as attachments, in order. The message a
//!   bounce returns stays in that list as one `message/rfc822` attachment (its size is its raw
//!   length); its own parts are not listed. A DSN's `message/delivery-status` and
//!   `text/rfc822-headers` parts are listed too. Text attachments count their decoded UTF-8 length.
//! - `returned_message_id` is looked for in every `message/rfc822` (or `message/global`) part, then
//!   in `text/rfc822-headers` parts, and only when the message may be a bounce (multipart/report,
//!   null Return-Path, or a MAILER-DAEMON/postmaster author) in a `Message-ID:` line of its text.
//! - `digest` hashes the raw Message-ID, Date, From and Subject values (unfolded, trimmed) and the
//!   body with CRLF read as LF and trailing line ends dropped, each followed by a NUL, so a copy
//!   fetched over IMAP (CRLF) and one read from a Maildir (LF) of the same delivery agree.
//! - `From: mailer-daemon` (one word, no address) is read as that local address, as Python's
//!   `email` does; a From with no usable address at all (`<>`) leaves `from` empty, with a defect.
//! - Subjects, display names and attachment names are decoded by `decode` (split encoded words
//!   joined, RFC 2231 pieces joined, undeclared 8-bit bytes read in the charset that fits).
//!   Headers in raw UTF-8 (RFC 6532) are fine; other 8-bit header bytes are still a defect.
//! - Only the header fields we use get a structured parse; the rest are skipped (their raw bytes
//!   stay reachable through the offsets), a good part of the speed-up over the default parser.

use std::sync::OnceLock;

use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::parsers::MessageStream;
use mail_parser::{HeaderName, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders};
use sha2::{Digest, Sha256};

use crate::decode::{Fallback, HeaderText};
use crate::facts::{Facts, Mailbox};

mod addresses;
mod body;
mod digest;
mod headers;
mod limits;

#[cfg(test)]
mod decoding_cases;

pub use limits::{Limits, Over};

use addresses::{addresses, capped, plausible, salvage_address};

/// Longest `body_preview`, in characters.
pub const PREVIEW_CHARS: usize = 4096;
/// Caps that keep `Facts` small for pathological mail; what is dropped is noted as a defect.
const MAX_RECIPIENTS: usize = 1000;
const MAX_REFERENCES: usize = 200;
const MALFORMED_PART: &str = "malformed MIME part kept as text";

fn parser() -> &'static MessageParser {
    static PARSER: OnceLock<MessageParser> = OnceLock::new();
    // Only the headers we read get a structured parse; the rest (Received above all) are skipped,
    // their raw bytes still reachable through the header offsets.
    PARSER.get_or_init(|| {
        MessageParser::new()
            .header_content_type(HeaderName::ContentType)
            .header_content_type(HeaderName::ContentDisposition)
            .header_text(HeaderName::ContentTransferEncoding)
            .header_text(HeaderName::Subject)
            .header_date(HeaderName::Date)
            .header_id(HeaderName::MessageId)
            .header_id(HeaderName::InReplyTo)
            .header_id(HeaderName::References)
            .header_address(HeaderName::From)
            .header_address(HeaderName::Sender)
            .header_address(HeaderName::ReplyTo)
            .header_address(HeaderName::To)
            .header_address(HeaderName::Cc)
            .default_header_ignore()
    })
}

/// Everything the pipeline needs to know about `raw`, never failing, within the default limits.
pub fn parse(raw: &[u8]) -> Facts {
    parse_within(raw, &Limits::default())
}

/// `parse` with the configured limits. A message over them is measured without being built
/// (`limits`): only its top-level header block is parsed, `over_limits` says why, and its digest
/// is the one it would have had, so a copy seen again is still a duplicate.
pub fn parse_within(raw: &[u8], limits: &Limits) -> Facts {
    parse_inner(raw, limits, false).0
}

/// `parse_within`, and the parsed message for the filters when it is `raw` as it stands (no
/// bare-CR line ends, no envelope line, within the limits): parsed with every header field
/// read, as the filters' Sieve interpreter wants it, so they need not parse it again.
pub fn parse_keeping<'x>(raw: &'x [u8], limits: &Limits) -> (Facts, Option<Message<'x>>) {
    parse_inner(raw, limits, true)
}

/// The parser the filters use: every header field read as mail-parser reads it by default. A
/// parse `parse_keeping` hands them is this parser's, as theirs would be.
pub fn filters_parser() -> &'static MessageParser {
    static PARSER: OnceLock<MessageParser> = OnceLock::new();
    PARSER.get_or_init(MessageParser::new)
}

fn parse_inner<'x>(raw: &'x [u8], limits: &Limits, keep: bool) -> (Facts, Option<Message<'x>>) {
    let mut facts = Facts {
        size: raw.len() as u64,
        ..Facts::default()
    };
    // Old Macintosh files end lines with a bare CR, which mail-parser does not read as a line end.
    let lf_copy;
    let mut mail = raw;
    if ends_lines_with_bare_cr(raw) {
        lf_copy = raw
            .iter()
            .map(|&b| if b == b'\r' { b'\n' } else { b })
            .collect::<Vec<u8>>();
        mail = &lf_copy;
        facts.defects.push("lines end with a bare CR".into());
    }
    let mail = strip_envelope_line(mail);
    let problem = first_line_problem(mail);
    let mut parse_input = mail;
    if problem.is_none() {
        if let Err(over) = limits::measure(mail, limits) {
            parse_input = &mail[..header_block_end(mail)];
            facts.over_limits = Some(over.to_string());
        }
    }
    // The message as it stands, within the limits: parsed once for intake and the filters.
    let whole = keep && problem.is_none() && facts.over_limits.is_none() && std::ptr::eq(mail, raw);
    if whole {
        let parsed = std::panic::catch_unwind(|| filters_parser().parse(raw));
        if let Ok(Some(message)) = parsed {
            fill(&mut facts, raw, &message);
            return (facts, Some(message));
        }
        // Not parsed: the way below says why, as for every other message.
    }
    let parsed = match problem {
        Some(reason) => Err(reason.to_string()),
        // mail-parser promises not to panic; a bug there must still not take the daemon down.
        None => std::panic::catch_unwind(|| parser().parse(parse_input))
            .map_err(|_| "the MIME parser failed on this message".to_string())
            .and_then(|m| m.ok_or_else(|| "no header field found".to_string())),
    };
    match parsed {
        Ok(message) if facts.over_limits.is_some() => {
            fill(&mut facts, mail, &message);
            // What the header-only parse made of the body's first line means nothing.
            facts.attachments.clear();
            facts.body_preview.clear();
            facts.returned_message_id = None;
            facts.defects.retain(|d| d != MALFORMED_PART);
            facts
                .defects
                .push("MIME body not read (over the limits)".into());
        }
        Ok(message) => fill(&mut facts, mail, &message),
        Err(reason) => {
            facts.unparseable = Some(reason);
            facts.digest = hex(&Sha256::digest(raw));
        }
    }
    (facts, None)
}

/// Where the top-level header block ends (after its blank line), or the end of the mail.
fn header_block_end(mail: &[u8]) -> usize {
    let mut stream = MessageStream::new(mail);
    let mut headers = Vec::new();
    stream.parse_headers(parser(), &mut headers);
    stream.offset().min(mail.len())
}

fn ends_lines_with_bare_cr(raw: &[u8]) -> bool {
    let head = &raw[..raw.len().min(4096)];
    match head.iter().position(|&b| b == b'\r' || b == b'\n') {
        Some(i) => head[i] == b'\r' && head.get(i + 1).is_some_and(|&b| b != b'\n'),
        None => false,
    }
}

/// Drops a UTF-8 byte order mark, an mbox `From ` separator line (MTA pipes and procmail add
/// one) and leading white space, as mail-parser itself would.
fn strip_envelope_line(raw: &[u8]) -> &[u8] {
    let mut mail = raw.strip_prefix(b"\xef\xbb\xbf").unwrap_or(raw);
    if mail.starts_with(b"From ") {
        mail = mail
            .iter()
            .position(|&b| b == b'\n')
            .map_or(&[][..], |i| &mail[i + 1..]);
    }
    let start = mail
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(mail.len());
    &mail[start..]
}

fn first_line_problem(mail: &[u8]) -> Option<&'static str> {
    if mail.iter().all(u8::is_ascii_whitespace) {
        return Some("empty message");
    }
    let name_len = mail
        .iter()
        .take_while(|&&b| (b'!'..=b'~').contains(&b) && b != b':')
        .count();
    let rest = mail[name_len..]
        .iter()
        .skip_while(|&&b| b == b' ' || b == b'\t');
    if name_len == 0 || rest.copied().next() != Some(b':') {
        return Some("the first line is not a header field");
    }
    None
}

fn fill(facts: &mut Facts, mail: &[u8], message: &Message<'_>) {
    let root = message.root_part();
    let body_at = (root.offset_body as usize).min(mail.len());
    let header_block = &mail[..body_at];
    let mut text = HeaderText::new(Fallback::new(header_block, || declared_charsets(message)));

    facts.subject = subject(&mut text, root, mail);
    let mut first = |name| addresses(&mut text, root, mail, name).into_iter().next();
    facts.from = first(HeaderName::From)
        .filter(|m| plausible(&m.address))
        .or_else(|| raw_values(root, mail, HeaderName::From).find_map(salvage_address));
    facts.sender = first(HeaderName::Sender);
    facts.reply_to = first(HeaderName::ReplyTo);
    facts.to = capped(
        addresses(&mut text, root, mail, HeaderName::To),
        &mut facts.defects,
        "To",
    );
    facts.cc = capped(
        addresses(&mut text, root, mail, HeaderName::Cc),
        &mut facts.defects,
        "Cc",
    );
    facts.message_id = message.message_id().map(clean).filter(|id| !id.is_empty());
    facts.in_reply_to = ids(message.header(HeaderName::InReplyTo));
    facts.references = ids(message.header(HeaderName::References));
    if facts.references.len() > MAX_REFERENCES {
        // The first names the thread's root, the last ones the recent articles: keep both ends.
        facts
            .references
            .drain(1..facts.references.len() - (MAX_REFERENCES - 1));
    }
    facts.date = message
        .date()
        .filter(|d| d.is_valid())
        .map(|d| d.to_rfc3339());
    headers::read_raw(facts, mail, root);
    facts.envelope_from = facts
        .return_path
        .as_deref()
        .filter(|a| plausible(a) && a.contains('@'))
        .map(Mailbox::new);
    body::content_type(facts, root);
    body::attachments(facts, message, &mut text);
    facts.returned_message_id = body::returned_message_id(facts, message);
    facts.body_preview = body::preview(message);
    facts.digest = digest(mail, root, body_at);
    defects(facts, message, header_block, mail.len());
}

/// The decoded subject (see `decode`); of several Subject fields the last, as mail-parser reads.
fn subject(text: &mut HeaderText<'_>, root: &MessagePart<'_>, mail: &[u8]) -> String {
    raw_values(root, mail, HeaderName::Subject)
        .last()
        .map(|raw| clean(&text.unstructured(raw)))
        .unwrap_or_default()
}

/// The raw bytes of every `name` header of a part, in order.
fn raw_values<'m>(
    part: &'m MessagePart<'_>,
    mail: &'m [u8],
    name: HeaderName<'static>,
) -> impl Iterator<Item = &'m [u8]> + 'm {
    part.headers()
        .iter()
        .filter(move |h| h.name == name)
        .filter_map(move |h| mail.get(h.offset_start as usize..h.offset_end as usize))
}

/// What every charset parameter of the message's parts names, for undeclared 8-bit headers.
fn declared_charsets(message: &Message<'_>) -> Vec<String> {
    let charsets = message
        .parts
        .iter()
        .filter_map(|p| p.content_type()?.attribute("charset"));
    charsets.map(str::to_string).collect()
}

/// Decoded text made safe for a single header line and a log: controls become spaces.
fn clean(text: &str) -> String {
    let text = text.trim_matches(|c: char| c.is_whitespace() || c.is_control());
    text.chars()
        .map(|c| if is_unsafe(c) { ' ' } else { c })
        .collect()
}

fn is_unsafe(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

fn ids(value: Option<&HeaderValue<'_>>) -> Vec<String> {
    let list: Vec<&str> = match value {
        Some(HeaderValue::Text(id)) => vec![id.as_ref()],
        Some(HeaderValue::TextList(ids)) => ids.iter().map(|id| id.as_ref()).collect(),
        _ => Vec::new(),
    };
    list.into_iter()
        .map(clean)
        .filter(|id| !id.is_empty())
        .collect()
}

fn digest(mail: &[u8], root: &MessagePart<'_>, body_at: usize) -> String {
    let mut d = digest::Digest::headers(mail, root);
    d.body(&mail[body_at..]);
    d.finish()
}

/// The digest of `raw` with the bytes `middle` reads put in at `at` (a part that lives in a
/// file: `store::spliced`), as `parse` gives it for the whole message. `raw` is a message
/// postdesk wrote (a call's article), read as it is.
pub fn spliced_digest(
    raw: &[u8],
    at: usize,
    middle: &mut dyn std::io::Read,
) -> std::io::Result<String> {
    let message = std::panic::catch_unwind(|| parser().parse(raw))
        .ok()
        .flatten()
        .ok_or_else(|| std::io::Error::other("the message to splice into is not a mail"))?;
    let root = message.root_part();
    let body_at = (root.offset_body as usize).min(at);
    let mut d = digest::Digest::headers(raw, root);
    d.body(&raw[body_at..at]);
    d.body_from(middle)?;
    d.body(&raw[at..]);
    Ok(d.finish())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let pairs = bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]]);
    pairs.map(char::from).collect()
}

fn defects(facts: &mut Facts, message: &Message<'_>, header_block: &[u8], len: usize) {
    let mut add = |defect: &str| facts.defects.push(defect.to_string());
    let has = |name: HeaderName<'static>| message.header(name).is_some();
    if facts.message_id.is_none() {
        add("missing Message-ID");
    }
    if facts.from.is_none() {
        add(if has(HeaderName::From) {
            "From has no address"
        } else {
            "missing From"
        });
    }
    if facts.date.is_none() {
        add(if has(HeaderName::Date) {
            "unparseable Date"
        } else {
            "missing Date"
        });
    }
    let terminated = header_block.ends_with(b"\n\n") || header_block.ends_with(b"\n\r\n");
    if header_block.len() >= len && !terminated {
        add("header block not terminated by a blank line");
    }
    if !header_block.is_ascii() && std::str::from_utf8(header_block).is_err() {
        add("8-bit bytes in headers (not UTF-8)");
    }
    if message.parts.iter().any(|p| p.is_encoding_problem) {
        add(MALFORMED_PART);
    }
    for part in message.parts.iter().filter(|p| p.is_text()) {
        let charset = part.content_type().and_then(|ct| ct.attribute("charset"));
        if let Some(c) = charset.filter(|c| charset_decoder(c.as_bytes()).is_none()) {
            let known = ["utf-8", "utf8", "us-ascii"]
                .iter()
                .any(|k| c.eq_ignore_ascii_case(k));
            if !known {
                let name: String = clean(c).chars().take(40).collect();
                facts
                    .defects
                    .push(format!("unknown charset {name:?}, read as UTF-8"));
                break;
            }
        }
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
