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

/// The opening of a text for a pointer notice: at most `lines` lines and about `chars`
/// characters, without leading blank lines, and whether anything was left out.
pub fn excerpt(text: &str, lines: usize, chars: usize) -> (String, bool) {
    let text = text.trim_start_matches(['\n', '\r', ' ', '\t']);
    let mut out = String::new();
    let mut taken = 0;
    for (i, line) in text.lines().enumerate() {
        let room = chars.saturating_sub(taken);
        if i == lines || room == 0 {
            return (out, true);
        }
        let n = line.chars().count();
        if n > room {
            out.extend(line.chars().take(room));
            out.push_str(" […]\n");
            return (out, true);
        }
        out.push_str(line.trim_end());
        out.push('\n');
        taken += n;
    }
    let cut = out.trim_end().len();
    out.truncate(cut);
    out.push('\n');
    (out, false)
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

#[cfg(test)]
mod excerpt_tests {
    use super::excerpt;

    #[test]
    fn short_text_is_whole() {
        assert_eq!(
            excerpt("\n\nHello,\nmy card.\n\n", 8, 600),
            ("Hello,\nmy card.\n".into(), false)
        );
    }

    #[test]
    fn long_text_is_cut_by_lines_and_by_characters() {
        let text = (1..=20).map(|i| format!("line {i}\n")).collect::<String>();
        let (e, cut) = excerpt(&text, 3, 600);
        assert!(cut);
        assert_eq!(e, "line 1\nline 2\nline 3\n");
        let (e, cut) = excerpt(&"ä".repeat(1000), 8, 10);
        assert!(cut);
        assert_eq!(e, format!("{} […]\n", "ä".repeat(10)));
    }
}
