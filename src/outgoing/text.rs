//! The parts of a message an outgoing mail carries on: the full text of the body (for agents'
//! answers and notifications; `Facts` keeps only a preview) and the attachments of an agent's
//! answer. Never fails: a message that does not parse has no text and no attachments.

use mail_parser::{MessageParser, MimeHeaders};

use crate::outgoing::compose::Attachment;

/// Longest text taken into a notification, in bytes.
pub const MAX_NOTIFY_TEXT: usize = 64 * 1024;

/// The first text body (HTML turned into text when there is no plain part), CRLF as LF.
pub fn body_text(raw: &[u8]) -> String {
    let Ok(Some(m)) = std::panic::catch_unwind(|| MessageParser::default().parse(raw)) else {
        return String::new();
    };
    m.body_text(0)
        .map(|t| t.replace("\r\n", "\n"))
        .unwrap_or_default()
}

/// `body_text` cut at a character boundary near `max` bytes, with a note when cut.
pub fn body_text_capped(raw: &[u8], max: usize) -> String {
    let mut t = body_text(raw);
    if t.len() > max {
        let mut cut = max;
        while !t.is_char_boundary(cut) {
            cut -= 1;
        }
        t.truncate(cut);
        t.push_str("\n[…]\n");
    }
    t
}

/// The attachments of a message, decoded.
pub fn attachments(raw: &[u8]) -> Vec<Attachment> {
    let Ok(Some(m)) = std::panic::catch_unwind(|| MessageParser::default().parse(raw)) else {
        return Vec::new();
    };
    m.attachments()
        .map(|p| Attachment {
            filename: p
                .attachment_name()
                .map(str::to_string)
                .unwrap_or_else(|| "attachment".into()),
            content_type: p
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                })
                .unwrap_or_else(|| "application/octet-stream".into()),
            data: p.contents().to_vec(),
        })
        .collect()
}
