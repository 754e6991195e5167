//! Address headers read into mailboxes: mail-parser's reading, or a decoded rewrite of the raw
//! value when it holds several encoded words or undeclared 8-bit bytes; and, for a From that no
//! parser can read, the best address to be found in it.

use mail_parser::parsers::MessageStream;
use mail_parser::{HeaderName, MessagePart};

use super::{clean, MAX_RECIPIENTS};
use crate::decode::HeaderText;
use crate::facts::Mailbox;

fn mailbox(addr: &mail_parser::Addr<'_>) -> Option<Mailbox> {
    let name = addr.name.as_deref().map(clean).filter(|n| !n.is_empty());
    let address = addr.address.as_deref().map(clean).unwrap_or_default();
    if address.is_empty() {
        // `From: mailer-daemon` is a local address, as Python's email reads it, not a name.
        let local_word = |n: &String| {
            n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._+".contains(&b))
        };
        let token = name.filter(|n| local_word(n) && addr.address.is_none())?;
        return Some(Mailbox::new(&token));
    }
    Some(Mailbox {
        name,
        ..Mailbox::new(&address)
    })
}

/// The mailboxes of every `name` header. mail-parser's own reading is used unless the raw value
/// holds undeclared 8-bit bytes or several encoded words; then it reads the decoded rewrite.
pub(super) fn addresses(
    text: &mut HeaderText<'_>,
    root: &MessagePart<'_>,
    mail: &[u8],
    name: HeaderName<'static>,
) -> Vec<Mailbox> {
    let mut out = Vec::new();
    let headers = root.headers().iter().filter(|h| h.name == name);
    for header in headers {
        let raw = mail
            .get(header.offset_start as usize..header.offset_end as usize)
            .unwrap_or_default();
        match text.address(raw) {
            Some(mut rewritten) => {
                if !rewritten.ends_with(b"\n") {
                    rewritten.push(b'\n');
                }
                let value = MessageStream::new(&rewritten).parse_address();
                out.extend(
                    value
                        .as_address()
                        .into_iter()
                        .flat_map(|a| a.iter())
                        .filter_map(mailbox),
                );
            }
            None => {
                let value = header.value.as_address();
                out.extend(value.into_iter().flat_map(|a| a.iter()).filter_map(mailbox));
            }
        }
        if out.len() > MAX_RECIPIENTS {
            break;
        }
    }
    out
}

/// An address as mail-parser read it is usable when it is `local@domain` or one local word
/// (`mailer-daemon`); `@example.com>` or `"Big Lottery"` are not.
pub(super) fn plausible(address: &str) -> bool {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && !domain.is_empty() && !domain.contains(['<', '>', '"', ' '])
        }
        None => !address.is_empty() && !address.contains(['<', '>', '"', ' ', ',']),
    }
}

/// The first `local@domain` in a From that no parser could read (`"Big Lottery"@example.com>`,
/// `"jo@example.com" <>`); the local part may be a quoted string, as RFC 5322 allows.
pub(super) fn salvage_address(raw: &[u8]) -> Option<Mailbox> {
    let text = String::from_utf8_lossy(raw);
    let atext = |c: char| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c);
    for (at, _) in text.match_indices('@') {
        let before = &text[..at];
        let local = if let Some(inner) = before.strip_suffix('"') {
            inner.rfind('"').map_or("", |open| &before[open..])
        } else {
            let start = before.rfind(|c: char| !atext(c)).map_or(0, |i| i + 1);
            &before[start..]
        };
        let after = &text[at + 1..];
        let end = after
            .find(|c: char| !(c.is_alphanumeric() || ".-[]:".contains(c)))
            .unwrap_or(after.len());
        let domain = after[..end].trim_end_matches('.');
        if !local.is_empty() && local != "\"\"" && domain.contains('.') {
            return Some(Mailbox::new(&format!("{local}@{domain}")));
        }
    }
    None
}

pub(super) fn capped(
    mut list: Vec<Mailbox>,
    defects: &mut Vec<String>,
    header: &str,
) -> Vec<Mailbox> {
    if list.len() > MAX_RECIPIENTS {
        list.truncate(MAX_RECIPIENTS);
        defects.push(format!(
            "more than {MAX_RECIPIENTS} {header} addresses, rest ignored"
        ));
    }
    list
}
