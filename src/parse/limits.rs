//! How deep and how many: the MIME structure of a message measured before mail-parser builds it.
//!
//! mail-parser builds a nested `Message` for every `message/rfc822` level and a `MessagePart`
//! (with its headers) for every part, and dropping such a tree recurses once per level: 100,000
//! nested messages overflow any thread's stack, and a million tiny parts take gigabytes. So
//! `measure` walks the structure first, with mail-parser's own stream primitives (the same
//! header reader, the same boundary search, the same rules for when a part is a nested message
//! or a multipart) but keeping nothing: no header is stored beyond the part being read, no body
//! decoded except a base64 or quoted-printable `message/*` part, which mail-parser would parse.
//! It stops as soon as a limit is passed, so its own cost is bounded by the limits too.
//!
//! Nesting is counted as mail-parser's state stack grows (every multipart and every nested
//! message adds a level); parts as mail-parser would push them (the root, every part of every
//! multipart, the parts of nested messages). Encoded nested messages are measured by a call
//! into the decoded bytes; mail-parser follows at most `ENCODED_LEVELS` of those, so that
//! recursion has a fixed bound whatever the input.
//!
//! Most mail is plainly within the limits, and for it the walk is skipped: every part after the
//! root begins after a boundary delimiter, and every multipart level opens at one, so a message
//! with fewer `--` than the limits allow cannot pass them through multiparts alone; nesting
//! beyond that needs a Content-Type naming a nested message or a digest in a header block, and
//! header blocks begin at the top or after a `--`. A message that may have either is walked.
//! The bound costs one vectorised search for `--` and a look at header text only. A test over
//! the corpus checks that the walk agrees wherever the bound spares it.

use std::sync::OnceLock;

use mail_parser::parsers::MessageStream;
use mail_parser::{HeaderName, HeaderValue, MessageParser};
use memchr::memmem;

/// Levels of base64/quoted-printable `message/*` parts mail-parser decodes and parses.
const ENCODED_LEVELS: usize = 3;

/// The limits a message must stay within to be parsed at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Nesting levels of multiparts and nested messages.
    pub max_depth: usize,
    /// MIME parts in the whole message, nested messages included.
    pub max_parts: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 100,
            max_parts: 10_000,
        }
    }
}

/// Why a message is over its limits, as the quarantine records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Over {
    Depth(usize),
    Parts(usize),
}

impl std::fmt::Display for Over {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Over::Depth(max) => write!(
                f,
                "MIME parts nested more than {max} levels deep (intake.max-mime-depth)"
            ),
            Over::Parts(max) => {
                write!(f, "more than {max} MIME parts (intake.max-mime-parts)")
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Message,
    Digest,
    Multipart,
    Leaf,
}

struct Frame {
    kind: Kind,
    boundary: Option<Vec<u8>>,
}

/// Only Content-Type and Content-Transfer-Encoding matter for the structure.
fn reader() -> &'static MessageParser {
    static READER: OnceLock<MessageParser> = OnceLock::new();
    READER.get_or_init(|| {
        MessageParser::new()
            .header_content_type(HeaderName::ContentType)
            .header_text(HeaderName::ContentTransferEncoding)
            .default_header_ignore()
    })
}

/// Checks `mail` against `limits` without building it.
pub fn measure(mail: &[u8], limits: &Limits) -> Result<(), Over> {
    if plainly_within(mail, limits) {
        return Ok(());
    }
    let mut parts = 0;
    walk(mail, limits, 0, ENCODED_LEVELS, &mut parts)
}

/// One (possibly nested, decoded) message: `depth` levels are already open around it.
fn walk(
    mail: &[u8],
    limits: &Limits,
    depth: usize,
    encoded_left: usize,
    parts: &mut usize,
) -> Result<(), Over> {
    let mut stream = MessageStream::new(mail);
    let mut state = Frame {
        kind: Kind::Message,
        boundary: None,
    };
    let mut stack: Vec<Frame> = Vec::new();
    let mut headers = Vec::new();
    loop {
        headers.clear();
        if !stream.parse_headers(reader(), &mut headers) {
            return Ok(());
        }
        *parts += 1;
        if *parts > limits.max_parts {
            return Err(Over::Parts(limits.max_parts));
        }
        let content_type = headers
            .iter()
            .rev()
            .find(|h| h.name == HeaderName::ContentType)
            .and_then(|h| h.value.as_content_type());
        let mut kind = kind_of(content_type, state.kind);
        let boundary = content_type.and_then(|ct| ct.attribute("boundary"));
        if kind == Kind::Multipart || kind == Kind::Digest {
            match boundary {
                Some(b) if stream.seek_next_part(b.as_bytes()) => {
                    let inner = Frame {
                        kind,
                        boundary: Some(b.as_bytes().to_vec()),
                    };
                    stack.push(std::mem::replace(&mut state, inner));
                    if depth + stack.len() > limits.max_depth {
                        return Err(Over::Depth(limits.max_depth));
                    }
                    stream.skip_crlf();
                    continue;
                }
                _ => kind = Kind::Leaf,
            }
        }
        let encoding = headers
            .iter()
            .rev()
            .find(|h| h.name == HeaderName::ContentTransferEncoding);
        let encoding = match encoding.map(|h| &h.value) {
            Some(HeaderValue::Text(e)) if e.eq_ignore_ascii_case("base64") => Some(true),
            Some(HeaderValue::Text(e)) if e.eq_ignore_ascii_case("quoted-printable") => Some(false),
            _ => None,
        };
        if kind == Kind::Message && encoding.is_none() {
            let inner = Frame {
                kind: Kind::Message,
                boundary: state.boundary.take(),
            };
            stack.push(std::mem::replace(&mut state, inner));
            if depth + stack.len() > limits.max_depth {
                return Err(Over::Depth(limits.max_depth));
            }
            continue;
        }
        let boundary = state.boundary.as_deref().unwrap_or_default();
        let mut found = None;
        if let (Kind::Message, Some(base64)) = (kind, encoding) {
            if encoded_left > 0 {
                let (end, bytes) = if base64 {
                    stream.decode_base64_mime(boundary)
                } else {
                    stream.decode_quoted_printable_mime(boundary)
                };
                if end != usize::MAX {
                    found = Some(true);
                    let before = *parts;
                    walk(
                        &bytes,
                        limits,
                        depth + stack.len() + 1,
                        encoded_left - 1,
                        parts,
                    )?;
                    // mail-parser keeps a message it could not take apart as one part.
                    *parts = (*parts).max(before);
                }
            }
        }
        let found = match found {
            Some(found) => found,
            None => stream.seek_part_end(state.boundary.as_deref()).1,
        };
        if !found {
            state.boundary = None;
        }
        if state.boundary.is_none() {
            if stream.offset() >= mail.len() {
                return Ok(());
            }
            continue;
        }
        // The part ended at its boundary: close finished nested messages and multiparts.
        loop {
            if state.kind == Kind::Message {
                let Some(mut outer) = stack.pop() else {
                    return Ok(());
                };
                outer.boundary = state.boundary.take();
                state = outer;
            }
            if !stream.is_multipart_end() {
                break;
            }
            let Some(outer) = stack.pop() else {
                return Ok(());
            };
            state = outer;
            match state.boundary.as_deref() {
                Some(b) if stream.seek_next_part_offset(b).is_some() => continue,
                _ => return Ok(()),
            }
        }
    }
}

/// Whether `mail` cannot pass `limits` whatever its structure (see the module's notes). False
/// means "walk it", not "over".
fn plainly_within(mail: &[u8], limits: &Limits) -> bool {
    let bound = limits.max_parts.min(limits.max_depth);
    // The root and a part after each `--`: at most `starts` parts, and fewer levels.
    let mut starts = 1;
    if starts > bound {
        return false;
    }
    let mut covered = 0;
    for at in std::iter::once(0).chain(memmem::find_iter(mail, b"--")) {
        if at > 0 {
            starts += 1;
            if starts > bound {
                return false;
            }
        }
        // A header block may begin here and runs to the first blank line; blocks that begin
        // inside one already read end where it ends, so every byte is read once.
        if at < covered {
            continue;
        }
        let end = at + header_end(&mail[at..]);
        if nests(&mail[at..end]) {
            return false;
        }
        covered = end;
    }
    true
}

/// Where the first blank line begins (the end of a header block), or the whole length. Reads
/// only as far as that line.
fn header_end(text: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', text)
        .find(|&lf| matches!(&text[lf + 1..], [b'\n', ..] | [b'\r', b'\n', ..]))
        .map_or(text.len(), |lf| lf + 1)
}

/// Whether header text has a Content-Type field whose value names a nested message or a
/// digest (in any letter case; the field runs to a line break not followed by white space).
fn nests(headers: &[u8]) -> bool {
    let mut rest = headers;
    while let Some(at) = find_ignoring_case(rest, b"content-type") {
        rest = &rest[at + b"content-type".len()..];
        let mut end = 0;
        while let Some(lf) = memchr::memchr(b'\n', &rest[end..]) {
            end += lf + 1;
            if !matches!(rest.get(end), Some(b' ' | b'\t')) {
                break;
            }
        }
        if end == 0 {
            end = rest.len();
        }
        let value = &rest[..end];
        if find_ignoring_case(value, b"message").is_some()
            || find_ignoring_case(value, b"digest").is_some()
        {
            return true;
        }
    }
    false
}

/// Where a lower-case ASCII `word` first occurs in `text`, in any letter case.
fn find_ignoring_case(text: &[u8], word: &[u8]) -> Option<usize> {
    let first = word[0];
    memchr::memchr2_iter(first, first.to_ascii_uppercase(), text).find(|&at| {
        text[at..].len() >= word.len()
            && text[at..at + word.len()]
                .iter()
                .zip(word)
                .all(|(a, b)| a.to_ascii_lowercase() == *b)
    })
}

/// mail-parser's reading of a Content-Type: a multipart, a nested message, or a leaf. Inside a
/// multipart/digest a part without a Content-Type is a message.
fn kind_of(content_type: Option<&mail_parser::ContentType<'_>>, parent: Kind) -> Kind {
    match content_type {
        Some(ct) => match ct.ctype() {
            "multipart" if ct.subtype() == Some("digest") => Kind::Digest,
            "multipart" => Kind::Multipart,
            "message" if matches!(ct.subtype(), Some("rfc822") | Some("global")) => Kind::Message,
            _ => Kind::Leaf,
        },
        None if parent == Kind::Digest => Kind::Message,
        None => Kind::Leaf,
    }
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
