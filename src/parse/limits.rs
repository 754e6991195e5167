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

use std::sync::OnceLock;

use mail_parser::parsers::MessageStream;
use mail_parser::{HeaderName, HeaderValue, MessageParser};

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
