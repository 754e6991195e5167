//! Trace headers: the `X-Postdesk-*` block prepended to every stored message, as an MDA prepends
//! `Received`. Together with the message itself they hold everything the index knows about an
//! article, which is what lets `reindex` rebuild the index from the tree alone.
//!
//! Only the block at the very top counts: `X-Postdesk-*` headers further down came from outside.
//! The block opens with `X-Postdesk-Block: 2 <length>`, the byte length of the field lines that
//! follow it, so where the block ends never depends on what the message starts with (a message
//! that itself begins with `X-Postdesk-*` lines cannot extend it). Values are encoded (`codec`)
//! so that any value, of any length and with any bytes, reads back exactly as it was written.
//! Files written before the block line existed are still read (`legacy`).

mod codec;
mod legacy;

/// The first line of a block: the format and the length of the field lines after it.
pub const BLOCK: &str = "X-Postdesk-Block";
const FORMAT: &str = "2";
/// Fields in the order they are written.
pub const TICKET: &str = "X-Postdesk-Ticket";
pub const QUEUE: &str = "X-Postdesk-Queue";
pub const DIRECTION: &str = "X-Postdesk-Direction";
pub const CLASSIFICATION: &str = "X-Postdesk-Classification";
pub const EVENT: &str = "X-Postdesk-Event";
pub const REFERS: &str = "X-Postdesk-Refers";
pub const STRANGER: &str = "X-Postdesk-Stranger";
pub const REASON: &str = "X-Postdesk-Reason";
pub const SOURCE: &str = "X-Postdesk-Source";
pub const RECEIVED: &str = "X-Postdesk-Received";
pub const DIGEST: &str = "X-Postdesk-Digest";
/// An article's place among its ticket's articles (1, 2, ...), assigned at commit. Articles
/// stored before it existed are numbered by `store::names::order_key` when the index is rebuilt.
pub const SEQUENCE: &str = "X-Postdesk-Sequence";
/// Outgoing articles: the envelope they are sent with (`<>` for the null sender).
pub const ENVELOPE_FROM: &str = "X-Postdesk-Envelope-From";
pub const ENVELOPE_TO: &str = "X-Postdesk-Envelope-To";
/// Agents' mail: which agent wrote it.
pub const AGENT: &str = "X-Postdesk-Agent";
/// Customer articles: where an answer goes (the message's own Reply-To, else its From), when the
/// stored copy carries our `Reply-To` line (the ticket's reply address, so that an agent's
/// "Reply" reaches postdesk); the message's own Reply-To header is then renamed
/// `X-Original-Reply-To`.
pub const ANSWER_TO: &str = "X-Postdesk-Answer-To";
/// The article that opened a ticket: whom the ticket belongs to in the directory (the person's
/// id, the organisation's id, the service's name), each only when known.
pub const CUSTOMER: &str = "X-Postdesk-Customer";
pub const ORGANISATION: &str = "X-Postdesk-Organisation";
pub const SERVICE: &str = "X-Postdesk-Service";
/// How many header lines we added right after the block (our Reply-To, the scanners' verdicts):
/// they belong to the block, not to the message.
pub const ADDED: &str = "X-Postdesk-Added";

/// An ordered list of (name, value) that renders to a header block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    pub fields: Vec<(&'static str, String)>,
}

impl Trace {
    /// Values are kept as given: rendering encodes them, so nothing in them (line breaks,
    /// NULs, any length) can start a header line or be cut.
    pub fn add(&mut self, name: &'static str, value: impl Into<String>) -> &mut Self {
        self.fields.push((name, value.into()));
        self
    }

    /// Replaces the value of `name` (adds it when absent).
    pub fn set(&mut self, name: &'static str, value: impl Into<String>) -> &mut Self {
        let value = value.into();
        match self.fields.iter_mut().find(|(n, _)| *n == name) {
            Some(f) => f.1 = value,
            None => self.fields.push((name, value)),
        }
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The block, with the line ending the message itself uses so the file stays consistent.
    pub fn render(&self, message: &[u8]) -> Vec<u8> {
        let eol: &[u8] = if uses_crlf(message) { b"\r\n" } else { b"\n" };
        let mut fields = Vec::with_capacity(64 * self.fields.len());
        for (n, v) in &self.fields {
            codec::write_field(&mut fields, n, v, eol);
        }
        let mut out = format!("{BLOCK}: {FORMAT} {}", fields.len()).into_bytes();
        out.extend_from_slice(eol);
        out.extend_from_slice(&fields);
        out
    }
}

/// Reads the leading trace block of a stored file. Returns the fields (names as written in the
/// file, matched case-insensitively by `Parsed::get`) and the offset where the original message
/// starts.
pub fn parse(bytes: &[u8]) -> Parsed {
    let (fields, pos) = match block_length(bytes) {
        Some((start, len)) => {
            let end = start.saturating_add(len).min(bytes.len());
            (codec::read_fields(&bytes[start..end]), end)
        }
        None => legacy::fields(bytes),
    };
    // Header lines we added after the block belong to it.
    let added = fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(ADDED))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut pos = pos;
    for _ in 0..added.min(64) {
        let rest = &bytes[pos..];
        pos += rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
    }
    Parsed {
        fields,
        body_offset: pos,
    }
}

/// `X-Postdesk-Block: 2 <length>` on the first line: where the field lines start and how long
/// they are.
fn block_length(bytes: &[u8]) -> Option<(usize, usize)> {
    let first = bytes.iter().take(80).position(|&b| b == b'\n')?;
    let line = std::str::from_utf8(&bytes[..first])
        .ok()?
        .trim_end_matches('\r');
    let (name, value) = line.split_once(':')?;
    if !name.eq_ignore_ascii_case(BLOCK) {
        return None;
    }
    let (format, len) = value.trim().split_once(' ')?;
    if format != FORMAT {
        return None;
    }
    Some((first + 1, len.trim().parse().ok()?))
}

#[derive(Debug, Clone)]
pub struct Parsed {
    pub fields: Vec<(String, String)>,
    pub body_offset: usize,
}

impl Parsed {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A header line `Name: value` with the message's line ending.
pub fn header_line(message: &[u8], name: &str, value: &str) -> Vec<u8> {
    let eol: &str = if uses_crlf(message) { "\r\n" } else { "\n" };
    format!("{name}: {}{eol}", clean(value)).into_bytes()
}

/// The message with each top-level `Reply-To:` header renamed `X-Original-Reply-To:`; `None`
/// when it has none.
pub fn rename_reply_to(message: &[u8]) -> Option<Vec<u8>> {
    let starts = header_starts(message, b"reply-to:");
    if starts.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(message.len() + 12 * starts.len());
    let mut last = 0;
    for s in starts {
        out.extend_from_slice(&message[last..s]);
        out.extend_from_slice(b"X-Original-");
        last = s;
    }
    out.extend_from_slice(&message[last..]);
    Some(out)
}

/// The message as it arrived, from a stored copy whose Reply-To `rename_reply_to` renamed:
/// each top-level `X-Original-Reply-To:` back to `Reply-To:`; `None` when it has none.
pub fn restore_reply_to(stored: &[u8]) -> Option<Vec<u8>> {
    const PREFIX: usize = "X-Original-".len();
    let starts = header_starts(stored, b"x-original-reply-to:");
    if starts.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(stored.len());
    let mut last = 0;
    for s in starts {
        out.extend_from_slice(&stored[last..s]);
        last = s + PREFIX;
    }
    out.extend_from_slice(&stored[last..]);
    Some(out)
}

/// Where each top-level header line whose name (with its colon, lowercase) is `name` starts.
fn header_starts(message: &[u8], name: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut pos = 0;
    while pos < message.len() {
        let line_end = message[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(message.len(), |i| pos + i + 1);
        let line = &message[pos..line_end];
        if line == b"\n" || line == b"\r\n" {
            break;
        }
        if line.len() >= name.len() && line[..name.len()].eq_ignore_ascii_case(name) {
            starts.push(pos);
        }
        pos = line_end;
    }
    starts
}

fn uses_crlf(message: &[u8]) -> bool {
    match message.iter().position(|&b| b == b'\n') {
        Some(i) => i > 0 && message[i - 1] == b'\r',
        None => false,
    }
}

/// Added header lines are ordinary headers a mail client reads: no control characters, so no
/// value can start a new header line.
fn clean(v: &str) -> String {
    let s: String = v
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let s = s.trim();
    if s.len() > 900 {
        let mut cut = 900;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s[..cut].to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_injection() {
        let msg = b"From: a@b\r\nSubject: x\r\n\r\nbody\r\n";
        let mut t = Trace::default();
        t.add(TICKET, "2026112110000017")
            .add(REASON, "evil\r\nBcc: x@y");
        let head = t.render(msg);
        assert!(head.ends_with(b"\r\n"));
        let mut all = head.clone();
        all.extend_from_slice(msg);
        let p = parse(&all);
        assert_eq!(p.get("x-postdesk-ticket"), Some("2026112110000017"));
        assert_eq!(p.get(REASON), Some("evil\r\nBcc: x@y"));
        assert_eq!(&all[p.body_offset..], msg);
        assert!(!all.windows(5).any(|w| w == b"\nBcc:"));
    }

    #[test]
    fn a_message_starting_with_our_headers_does_not_extend_the_block() {
        let msg = b"X-Postdesk-Direction: out\nX-Postdesk-Envelope-To: x@y\nFrom: a@b\n\nhi\n";
        let mut t = Trace::default();
        t.add(REASON, "too large");
        let mut all = t.render(msg);
        all.extend_from_slice(msg);
        let p = parse(&all);
        assert_eq!(p.fields.len(), 1);
        assert_eq!(p.get(DIRECTION), None);
        assert_eq!(&all[p.body_offset..], msg);
        // Nor does a forged block line of its own.
        let forged = b"X-Postdesk-Block: 2 27\nX-Postdesk-Direction: out\n\nx\n";
        let mut all = t.render(forged);
        all.extend_from_slice(forged);
        assert_eq!(parse(&all).get(DIRECTION), None);
    }

    #[test]
    fn blocks_of_the_old_format_are_read() {
        let old = b"X-Postdesk-Ticket: 2026112110000017\r\nX-Postdesk-Direction: in\r\n\
                    X-Postdesk-Added: 1\r\nReply-To: s@x\r\nFrom: a@b\r\n\r\nbody\r\n";
        let p = parse(old);
        assert_eq!(p.get(TICKET), Some("2026112110000017"));
        assert_eq!(p.get(DIRECTION), Some("in"));
        assert_eq!(&old[p.body_offset..], b"From: a@b\r\n\r\nbody\r\n");
    }

    #[test]
    fn our_reply_to_line_belongs_to_the_block() {
        let msg = b"From: a@b\nReply-To: c@d\nSubject: x\n\nReply-To: body\n";
        let renamed = rename_reply_to(msg).unwrap();
        assert_eq!(
            renamed,
            b"From: a@b\nX-Original-Reply-To: c@d\nSubject: x\n\nReply-To: body\n"
        );
        assert_eq!(rename_reply_to(b"From: a@b\n\nReply-To: x\n"), None);
        assert_eq!(restore_reply_to(&renamed).unwrap(), msg);
        let mut t = Trace::default();
        t.add(ANSWER_TO, "c@d").add(ADDED, "1");
        let mut all = t.render(msg);
        all.extend(header_line(msg, "Reply-To", "support+1-ab@x"));
        all.extend_from_slice(&renamed);
        let p = parse(&all);
        assert_eq!(&all[p.body_offset..], &renamed[..]);
    }

    #[test]
    fn only_leading_block_counts() {
        let p = parse(b"Received: x\nX-Postdesk-Ticket: 1\n\nbody");
        assert!(p.fields.is_empty());
        assert_eq!(p.body_offset, 0);
    }
}
