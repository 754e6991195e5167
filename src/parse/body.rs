//! What the MIME parts say: the content type, the attachment list, the Message-ID a bounce
//! returns, and a plain-text preview of the first text body.

use mail_parser::{HeaderName, Message, MessagePart, MimeHeaders, PartType};

use super::{clean, is_unsafe, parser, raw_values, PREVIEW_CHARS};
use crate::decode::HeaderText;
use crate::facts::{Attachment, Facts};

fn mime_type(part: &MessagePart<'_>) -> Option<String> {
    let ct = part.content_type()?;
    let subtype = ct.subtype().unwrap_or("");
    let mime = format!("{}/{}", ct.ctype(), subtype).to_ascii_lowercase();
    Some(clean(&mime))
}

pub(super) fn content_type(facts: &mut Facts, root: &MessagePart<'_>) {
    facts.content_type = mime_type(root).unwrap_or_else(|| "text/plain".into());
    if facts.content_type == "multipart/report" {
        let report = root
            .content_type()
            .and_then(|ct| ct.attribute("report-type"));
        facts.report_type = report.map(|r| clean(r).to_ascii_lowercase());
    }
}

pub(super) fn attachments(facts: &mut Facts, message: &Message<'_>, text: &mut HeaderText<'_>) {
    let mail: &[u8] = &message.raw_message;
    facts.attachments = message
        .attachments()
        .map(|part| Attachment {
            filename: file_name(part, mail, text),
            content_type: mime_type(part).unwrap_or_else(|| {
                if part.is_message() {
                    "message/rfc822"
                } else {
                    "text/plain"
                }
                .into()
            }),
            size: part.len() as u64,
        })
        .collect();
}

/// The part's file name as `decode` reads it, else as mail-parser does; controls as spaces.
fn file_name(part: &MessagePart<'_>, mail: &[u8], text: &mut HeaderText<'_>) -> String {
    let disposition = raw_values(part, mail, HeaderName::ContentDisposition).next();
    let content_type = raw_values(part, mail, HeaderName::ContentType).next();
    let decoded = text.file_name(disposition, content_type);
    let name = decoded.as_deref().or_else(|| part.attachment_name());
    name.map(clean).unwrap_or_default()
}

pub(super) fn returned_message_id(facts: &Facts, message: &Message<'_>) -> Option<String> {
    let found = |id: Option<&str>| id.map(clean).filter(|id| !id.is_empty());
    let parts = || message.parts.iter().skip(1);
    let from_nested = parts().find_map(|part| match &part.body {
        PartType::Message(nested) => found(nested.message_id()),
        // A returned message mail-parser could not take apart: read its header block ourselves.
        _ if part.is_content_type("message", "rfc822") => headers_message_id(part.contents()),
        _ => None,
    });
    let from_headers = || {
        parts()
            .filter(|p| p.is_content_type("text", "rfc822-headers"))
            .find_map(|p| headers_message_id(p.contents()))
    };
    let from_text = || {
        let may_be_bounce = facts.content_type == "multipart/report"
            || facts.return_path.as_deref() == Some("")
            || facts.author().is_some_and(|a| is_daemon(&a.address));
        may_be_bounce
            .then(|| {
                message
                    .parts
                    .iter()
                    .find_map(|p| text_message_id(p.text_contents()?))
            })
            .flatten()
    };
    from_nested.or_else(from_headers).or_else(from_text)
}

fn is_daemon(address: &str) -> bool {
    let local = address.split('@').next().unwrap_or("");
    local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster")
}

fn headers_message_id(bytes: &[u8]) -> Option<String> {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let headers = parser().parse_headers(&bytes[start..])?;
    headers.message_id().map(clean).filter(|id| !id.is_empty())
}

/// The first `Message-ID:` line of a text (value possibly on the folded next line).
fn text_message_id(text: &str) -> Option<String> {
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line = line.trim_start_matches(|c: char| c == '>' || c.is_whitespace());
        let Some(value) = line
            .get(..11)
            .filter(|p| p.eq_ignore_ascii_case("message-id:"))
        else {
            continue;
        };
        let mut value = line[value.len()..].trim();
        if value.is_empty() {
            value = lines.next().unwrap_or("").trim();
        }
        let id = match (value.find('<'), value.find('>')) {
            (Some(open), Some(close)) if open < close => &value[open + 1..close],
            _ => value.split_whitespace().next().unwrap_or(""),
        };
        let id = clean(id);
        if !id.is_empty() {
            return Some(id);
        }
    }
    None
}

pub(super) fn preview(message: &Message<'_>) -> String {
    let first = |list: &[u32]| list.first().and_then(|&id| message.parts.get(id as usize));
    let part = first(&message.text_body).or_else(|| first(&message.html_body));
    match part.map(|p| &p.body) {
        Some(PartType::Text(text)) => preview_text(text),
        Some(PartType::Html(html)) => preview_text(&strip_tags(html)),
        _ => String::new(),
    }
}

fn preview_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(PREVIEW_CHARS));
    for c in text.chars().filter(|&c| c != '\r').take(PREVIEW_CHARS) {
        out.push(if c != '\n' && c != '\t' && is_unsafe(c) {
            ' '
        } else {
            c
        });
    }
    out
}

/// Crude HTML to text for the preview: tags, comments, style and script dropped, a few entities
/// decoded, whitespace runs collapsed. Stops once the preview is surely full.
fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while out.len() < PREVIEW_CHARS * 4 {
        let Some(open) = rest.find('<') else {
            push_text(&mut out, rest);
            break;
        };
        push_text(&mut out, &rest[..open]);
        rest = &rest[open..];
        let starts = |p: &str| {
            rest.get(..p.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(p))
        };
        let close = if starts("<!--") {
            rest.find("-->").map(|i| i + 3)
        } else if starts("<style") || starts("<script") {
            let end = if starts("<style") {
                "</style"
            } else {
                "</script"
            };
            find_ignore_case(rest, end).and_then(|i| rest[i..].find('>').map(|j| i + j + 1))
        } else {
            rest.find('>').map(|i| i + 1)
        };
        rest = &rest[close.unwrap_or(rest.len())..];
        if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    }
    out
}

fn find_ignore_case(haystack: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

fn push_text(out: &mut String, text: &str) {
    if !text.contains('&') {
        return push_words(out, text);
    }
    let text = text
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    push_words(out, &text);
}

fn push_words(out: &mut String, text: &str) {
    for word in text.split_whitespace() {
        if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
        out.push_str(word);
    }
}
