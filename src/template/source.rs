//! Template files before minijinja sees them: where a file sits in the folder tree says what it
//! is (`Slot`), and an autoresponse's header section is split off its body here, so that header
//! values are compiled and rendered one line at a time.
//!
//! Errors carry a line number in the file (1-based); the caller adds the file name.

/// Autoresponses and agent mail: a `Subject:` line, a blank line, then the body.
pub const WITH_SUBJECT: &[&str] = &[
    "new-ticket",
    "follow-up",
    "reopened",
    "closed-new",
    "reject",
    "agent-notify",
    "agent-digest",
    "request-tickets",
    "request-status",
    "request-history",
    "request-no-ticket",
    "request-unknown-sender",
    "sla-warning",
    "sla-breach",
    "pending-reminder",
];
/// Put around agents' answers: body only.
pub const PARTS: &[&str] = &["salutation", "signature"];

/// What a file is, from its place under the templates folder.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slot {
    pub lang: String,
    /// `queues/<Queue>/…` overrides.
    pub queue: Option<String>,
    /// One of `WITH_SUBJECT` or `PARTS`, or `responses/<NAME>`.
    pub name: String,
}

impl Slot {
    /// Reads a path relative to the templates folder, split into its components.
    pub fn from_components(parts: &[&str]) -> Result<Slot, String> {
        let (lang, rest) = parts.split_first().ok_or("empty path")?;
        if rest.is_empty() {
            return Err("templates live in a language folder, e.g. en/new-ticket.txt".into());
        }
        if !is_language(lang) {
            return Err(format!(
                "`{lang}` is not a language folder: use a lowercase primary language tag such as `en` or `de`"
            ));
        }
        let (queue, rest) = match rest {
            ["queues", queue, rest @ ..] if !rest.is_empty() => (Some(queue.to_string()), rest),
            _ => (None, rest),
        };
        let name = match rest {
            [file] => {
                let name = stem(file)?;
                if !WITH_SUBJECT.contains(&name) && !PARTS.contains(&name) {
                    return Err(format!(
                        "unknown template `{name}`: expected one of {}, {} (standard responses go in responses/)",
                        WITH_SUBJECT.join(", "),
                        PARTS.join(", ")
                    ));
                }
                name.to_string()
            }
            ["responses", file] => format!("responses/{}", stem(file)?),
            _ => {
                return Err(
                    "not a place for a template (see templates/README.md for the layout)".into(),
                )
            }
        };
        Ok(Slot {
            lang: lang.to_string(),
            queue,
            name,
        })
    }

    /// Whether the file must start with a `Subject:` line.
    pub fn has_subject(&self) -> bool {
        WITH_SUBJECT.contains(&self.name.as_str())
    }
}

fn stem(file: &str) -> Result<&str, String> {
    match file.strip_suffix(".txt") {
        Some(stem) if !stem.is_empty() && !stem.starts_with('.') => Ok(stem),
        _ => Err(format!("`{file}` is not a template file name (NAME.txt)")),
    }
}

/// A language folder name: a lowercase primary subtag, 2 to 8 letters.
pub fn is_language(s: &str) -> bool {
    (2..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase())
}

/// A file's text split into what gets compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The Subject value's template source and the file line it is on.
    pub subject: Option<(usize, String)>,
    /// The body's template source.
    pub body: String,
    /// Lines before the body: body line N is file line N + body_offset.
    pub body_offset: usize,
}

/// Splits a file's text. `with_subject` files need a header section holding exactly one
/// `Subject:` line; other files are all body, and one starting with `Subject:` is an error
/// rather than a header that would be mailed as text.
pub fn split(text: &str, with_subject: bool) -> Result<Split, (usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = text.replace("\r\n", "\n");
    if !with_subject {
        if header_name(text.lines().next().unwrap_or(""))
            .is_some_and(|n| n.eq_ignore_ascii_case("subject"))
        {
            return Err((
                1,
                "this template has no header section (salutation, signature and responses are body only): remove the Subject line".into(),
            ));
        }
        return Ok(Split {
            subject: None,
            body: text,
            body_offset: 0,
        });
    }
    let mut subject = None;
    let mut offset = 0;
    for (i, line) in text.split('\n').enumerate() {
        let lineno = i + 1;
        offset += line.len() + 1;
        if line.trim().is_empty() {
            if i == 0 {
                return Err((1, "the file must start with its `Subject:` line".into()));
            }
            let Some(subject) = subject else {
                return Err((lineno, "a `Subject:` line is required".into()));
            };
            return Ok(Split {
                subject: Some(subject),
                body: text.get(offset..).unwrap_or("").to_string(),
                body_offset: lineno,
            });
        }
        if line.starts_with([' ', '\t']) {
            return Err((
                lineno,
                "folded header lines are not supported: keep the Subject on one line".into(),
            ));
        }
        let Some(name) = header_name(line) else {
            return Err((
                lineno,
                if i == 0 {
                    "the file must start with its `Subject:` line, then a blank line, then the body"
                        .into()
                } else {
                    "expected a header line or the blank line that ends the headers".into()
                },
            ));
        };
        if !name.eq_ignore_ascii_case("subject") {
            return Err((
                lineno,
                format!("header `{name}` is not allowed: only `Subject:` may be set"),
            ));
        }
        if subject.is_some() {
            return Err((lineno, "a second `Subject:` line".into()));
        }
        let value = line[name.len() + 1..].trim().to_string();
        subject = Some((lineno, value));
    }
    let last = text.split('\n').count();
    Err((
        last,
        "the headers must be followed by a blank line and the body".into(),
    ))
}

/// The name of a `Name: value` header line: letters, digits and `-`, starting with a letter.
fn header_name(line: &str) -> Option<&str> {
    let (name, _) = line.split_once(':')?;
    let mut bytes = name.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphabetic());
    (first_ok && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-')).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(path: &str) -> Result<Slot, String> {
        Slot::from_components(&path.split('/').collect::<Vec<_>>())
    }

    #[test]
    fn places_in_the_tree() {
        let s = slot("en/new-ticket.txt").unwrap();
        assert_eq!(
            (s.lang.as_str(), s.queue.as_deref(), s.name.as_str()),
            ("en", None, "new-ticket")
        );
        let s = slot("de/queues/Billing/signature.txt").unwrap();
        assert_eq!(
            (s.queue.as_deref(), s.name.as_str()),
            (Some("Billing"), "signature")
        );
        let s = slot("de/queues/Billing/responses/iban.txt").unwrap();
        assert_eq!(s.name, "responses/iban");
        assert_eq!(
            slot("en/responses/password-reset.txt").unwrap().name,
            "responses/password-reset"
        );
        assert!(slot("en/new_ticket.txt")
            .unwrap_err()
            .contains("unknown template `new_ticket`"));
        assert!(slot("EN/new-ticket.txt")
            .unwrap_err()
            .contains("language folder"));
        assert!(slot("new-ticket.txt").is_err());
        assert!(slot("en/other/new-ticket.txt").is_err());
        assert!(slot("en/queues/new-ticket.txt").is_err());
    }

    #[test]
    fn header_section_is_split_off_with_line_offsets() {
        let s = split("Subject: {{ ticket.tag }}\n\nHello\n{{ x }}\n", true).unwrap();
        assert_eq!(s.subject, Some((1, "{{ ticket.tag }}".to_string())));
        assert_eq!(s.body, "Hello\n{{ x }}\n");
        assert_eq!(s.body_offset, 2);
        // CRLF files and a byte-order mark are accepted.
        let s = split("\u{feff}Subject: a\r\n\r\nb\r\n", true).unwrap();
        assert_eq!(
            (s.subject.unwrap().1.as_str(), s.body.as_str()),
            ("a", "b\n")
        );
    }

    #[test]
    fn header_errors_name_the_line() {
        assert_eq!(
            split("Subject: a\nCc: b@example.org\n\nbody", true)
                .unwrap_err()
                .0,
            2
        );
        assert!(split("Subject: a\nCc: b\n\n", true)
            .unwrap_err()
            .1
            .contains("`Cc`"));
        assert_eq!(split("Subject: a\nSubject: b\n\n", true).unwrap_err().0, 2);
        assert_eq!(split("Subject: a\n  folded\n\n", true).unwrap_err().0, 2);
        assert_eq!(split("Dear customer,\n\nbody", true).unwrap_err().0, 1);
        assert_eq!(split("\nbody", true).unwrap_err().0, 1);
        assert_eq!(split("Subject: a\nb", true).unwrap_err().0, 2);
    }

    #[test]
    fn body_only_files_keep_header_like_lines_but_reject_subject() {
        let s = split("Phone: +49 30 1234\nKind regards\n", false).unwrap();
        assert_eq!(
            (s.subject, s.body.as_str(), s.body_offset),
            (None, "Phone: +49 30 1234\nKind regards\n", 0)
        );
        assert_eq!(split("subject: x\n\nbody", false).unwrap_err().0, 1);
    }
}
