//! Text helpers for answers: quoting the customer's mail and keeping the ticket tag in subjects.
//!
//! Subjects and bodies are customer data: any Unicode, any length. Both functions are linear in
//! their input and never index inside a character.

/// Reply and forward prefixes (compared case-insensitively), each followed by an optional `[n]`
/// or `(n)` counter and `:` or `：`. A subset of `number::strip_prefixes`' list; when this module
/// moves into the main crate, `ensure_tag` should use that function instead.
const PREFIXES: &[&str] = &[
    "re", "fwd", "fw", "aw", "wg", "sv", "vs", "vb", "vl", "tr", "rif", "antw", "doorst", "odp",
    "pd", "rv", "enc", "res", "ynt",
];

/// `subject` with `tag` (e.g. `[Ticket#2016010110000019]`) appended after a space unless it
/// already contains it (ASCII case-insensitively). A leading chain of reply/forward prefixes
/// (`Re: AW: Fwd:` …, any case, with counters like `Re[2]:`) becomes one `Re: `; a subject
/// without prefixes gets none. Surrounding whitespace is trimmed. An empty `tag` only
/// normalises the prefixes.
pub fn ensure_tag(subject: &str, tag: &str) -> String {
    let subject = subject.trim();
    let rest = strip_prefixes(subject);
    let mut out = String::with_capacity(subject.len() + tag.len() + 5);
    if rest.len() != subject.len() {
        out.push_str("Re: ");
    }
    out.push_str(rest.trim_end());
    let tag = tag.trim();
    if !tag.is_empty() && !contains_ci(&out, tag) {
        if !rest.is_empty() {
            out.push(' ');
        }
        out.push_str(tag);
    }
    out
}

/// Each line prefixed with `> ` (`>` alone for an empty line, `>` without a space for a line
/// that is already quoted, so `> a` becomes `>> a`). Empty text stays empty. Lines end in LF; a final line break in
/// `text` is kept and not quoted as an extra empty line.
pub fn quote(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let mut out = String::with_capacity(text.len() + text.len() / 20 + 2);
    let body = text.strip_suffix('\n').unwrap_or(text);
    let body = body.strip_suffix('\r').unwrap_or(body);
    for line in body.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            out.push('>');
        } else if line.starts_with('>') {
            out.push('>');
            out.push_str(line);
        } else {
            out.push_str("> ");
            out.push_str(line);
        }
        out.push('\n');
    }
    if body.len() == text.len() {
        out.pop();
    }
    out
}

fn strip_prefixes(mut s: &str) -> &str {
    while let Some(after) = strip_one(s) {
        s = after.trim_start();
    }
    s
}

fn strip_one(s: &str) -> Option<&str> {
    PREFIXES.iter().find_map(|word| {
        let head = s.get(..word.len())?;
        if !head.eq_ignore_ascii_case(word) {
            return None;
        }
        let mut rest = s[word.len()..].trim_start();
        if let Some(after) = strip_counter(rest) {
            rest = after.trim_start();
        }
        rest.strip_prefix(':').or_else(|| rest.strip_prefix('：'))
    })
}

/// `[n]` or `(n)` with 1 to 9 digits.
fn strip_counter(s: &str) -> Option<&str> {
    let close = match s.as_bytes().first()? {
        b'[' => b']',
        b'(' => b')',
        _ => return None,
    };
    let digits = s
        .bytes()
        .skip(1)
        .take(10)
        .take_while(u8::is_ascii_digit)
        .count();
    if digits == 0 || digits > 9 || s.as_bytes().get(1 + digits) != Some(&close) {
        return None;
    }
    Some(&s[digits + 2..])
}

fn contains_ci(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    n.len() <= h.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: &str = "[Ticket#2016010110000019]";

    #[test]
    fn tag_is_appended_once() {
        assert_eq!(ensure_tag("Order 42", TAG), format!("Order 42 {TAG}"));
        assert_eq!(
            ensure_tag(&format!("Order 42 {TAG}"), TAG),
            format!("Order 42 {TAG}")
        );
        assert_eq!(
            ensure_tag(&format!("{TAG} Order"), TAG),
            format!("{TAG} Order")
        );
        let lower = "re: order [ticket#2016010110000019]";
        assert_eq!(
            ensure_tag(lower, TAG),
            "Re: order [ticket#2016010110000019]"
        );
        assert_eq!(ensure_tag("", TAG), TAG);
        assert_eq!(ensure_tag("  Re:  ", TAG), format!("Re: {TAG}"));
    }

    #[test]
    fn prefix_chains_become_one_re() {
        for s in [
            "AW: Re: Fwd: Bestellung",
            "RE:Bestellung",
            "Re[2]: aw (3): Bestellung",
            "FW： Bestellung",
        ] {
            assert_eq!(ensure_tag(s, TAG), format!("Re: Bestellung {TAG}"), "{s}");
        }
        assert_eq!(ensure_tag("Fwd: x", ""), "Re: x");
        assert_eq!(ensure_tag("Reply needed", ""), "Reply needed");
        assert_eq!(ensure_tag("Rückfrage: Termin", ""), "Rückfrage: Termin");
        assert_eq!(ensure_tag("Ré: x", ""), "Ré: x");
    }

    #[test]
    fn quoting() {
        assert_eq!(
            quote("Hello\n\n> earlier\nBye\n"),
            "> Hello\n>\n>> earlier\n> Bye\n"
        );
        assert_eq!(quote("a\r\nb"), "> a\n> b");
        assert_eq!(quote("a\r\n"), "> a\n");
        assert_eq!(quote(""), "");
        assert_eq!(quote("\n"), ">\n");
    }
}
