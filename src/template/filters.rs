//! Text helpers for plain-text mail: the `quote` and `wrap` filters templates may use, and the
//! cleaning every rendered header value goes through so customer text cannot start a header.

use minijinja::{Error, ErrorKind};

/// Default width of `wrap` without an argument.
pub const WRAP_WIDTH: usize = 72;

/// `{{ article.body | quote }}`: every line prefixed with `> ` (`>` alone on empty lines, and
/// `>` before lines already quoted, giving `>>`). Any line ending becomes `\n`; the text's
/// final line break is dropped, so the template's own line break ends the quote.
pub fn quote(text: String) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let mut out = String::with_capacity(text.len() + text.len() / 16 + 4);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if line.is_empty() {
            out.push('>');
        } else if line.starts_with('>') {
            out.push('>');
            out.push_str(line);
        } else {
            out.push_str("> ");
            out.push_str(line);
        }
    }
    out
}

/// `{{ text | wrap }}` or `{{ text | wrap(60) }}`: breaks lines longer than the width at spaces.
/// Words longer than the width stay whole; existing line breaks stay; quoted lines (`>`) are
/// left alone so quoting is not mangled.
pub fn wrap(text: String, width: Option<usize>) -> Result<String, Error> {
    let width = width.unwrap_or(WRAP_WIDTH);
    if width == 0 {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "wrap width must be at least 1",
        ));
    }
    let text = text.replace("\r\n", "\n");
    let mut out = String::with_capacity(text.len() + text.len() / width + 1);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if line.chars().count() <= width || line.starts_with('>') {
            out.push_str(line);
            continue;
        }
        let mut used = 0;
        for word in line.split(' ').filter(|w| !w.is_empty()) {
            let len = word.chars().count();
            if used > 0 && used + 1 + len > width {
                out.push('\n');
                used = 0;
            } else if used > 0 {
                out.push(' ');
                used += 1;
            }
            out.push_str(word);
            used += len;
        }
    }
    Ok(out)
}

/// A rendered header value made safe for one header line: control characters (CR, LF, TAB,
/// NUL, DEL, C1) and Unicode line and paragraph separators become spaces; the ends are trimmed.
pub fn clean_header(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_prefixes_every_line() {
        assert_eq!(quote("a\n\nb\n".into()), "> a\n>\n> b");
        assert_eq!(quote("a\r\n> earlier\rb".into()), "> a\n>> earlier\n> b");
        assert_eq!(quote(String::new()), ">");
    }

    #[test]
    fn wrap_breaks_at_spaces() {
        assert_eq!(wrap("aaa bbb ccc".into(), Some(7)).unwrap(), "aaa bbb\nccc");
        assert_eq!(wrap("short\nline".into(), Some(7)).unwrap(), "short\nline");
        assert_eq!(
            wrap("x verylongword y".into(), Some(4)).unwrap(),
            "x\nverylongword\ny"
        );
        assert_eq!(
            wrap("> a b c d e f".into(), Some(3)).unwrap(),
            "> a b c d e f"
        );
        assert_eq!(wrap("äöü äöü".into(), Some(7)).unwrap(), "äöü äöü");
        assert!(wrap("a".into(), Some(0)).is_err());
    }

    #[test]
    fn header_values_lose_control_characters() {
        assert_eq!(
            clean_header(" Hi\r\nBcc: evil@example.com\t"),
            "Hi  Bcc: evil@example.com"
        );
        assert_eq!(clean_header("a\u{0}b\u{7f}c\u{85}d\u{2028}e"), "a b c d e");
    }
}
