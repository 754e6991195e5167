//! Trace headers: the `X-Postdesk-*` block prepended to every stored message, as an MDA prepends
//! `Received`. Together with the message itself they hold everything the index knows about an
//! article, which is what lets `reindex` rebuild the index from the tree alone.
//!
//! Only the block at the very top counts: `X-Postdesk-*` headers further down came from outside.

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
/// How many header lines we added right after the block (our Reply-To, the scanners' verdicts):
/// they belong to the block, not to the message.
pub const ADDED: &str = "X-Postdesk-Added";

const PREFIX: &[u8] = b"x-postdesk-";
/// A trace block is small; reading this much of a file is enough to parse it.
pub const MAX_BLOCK: usize = 4096;

/// An ordered list of (name, value) that renders to a header block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    pub fields: Vec<(&'static str, String)>,
}

impl Trace {
    pub fn add(&mut self, name: &'static str, value: impl Into<String>) -> &mut Self {
        self.fields.push((name, clean(&value.into())));
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
        let mut out = Vec::with_capacity(64 * self.fields.len());
        for (n, v) in &self.fields {
            out.extend_from_slice(n.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v.as_bytes());
            out.extend_from_slice(eol);
        }
        out
    }
}

/// Reads the leading trace block of a stored file. Returns the fields (names as written in the
/// file, matched case-insensitively by `Parsed::get`) and the offset where the original message
/// starts.
pub fn parse(bytes: &[u8]) -> Parsed {
    let mut fields = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let end = bytes[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| pos + i + 1)
            .unwrap_or(bytes.len());
        let line = &bytes[pos..end];
        if line.len() < PREFIX.len() || !line[..PREFIX.len()].eq_ignore_ascii_case(PREFIX) {
            break;
        }
        let text = String::from_utf8_lossy(line);
        let Some((name, value)) = text.split_once(':') else {
            break;
        };
        fields.push((name.trim().to_string(), value.trim().to_string()));
        pos = end;
    }
    // Header lines we added after the block belong to it.
    let added = fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(ADDED))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
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
        if line.len() >= 9 && line[..9].eq_ignore_ascii_case(b"reply-to:") {
            starts.push(pos);
        }
        pos = line_end;
    }
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

fn uses_crlf(message: &[u8]) -> bool {
    match message.iter().position(|&b| b == b'\n') {
        Some(i) => i > 0 && message[i - 1] == b'\r',
        None => false,
    }
}

/// Values are ours, but names and reasons may quote customer text: no control characters,
/// so no value can start a new header line.
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
        assert_eq!(p.get(REASON), Some("evil  Bcc: x@y"));
        assert_eq!(&all[p.body_offset..], msg);
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
