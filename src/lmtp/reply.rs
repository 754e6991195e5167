//! Replies as they go on the wire: a code, an RFC 3463 enhanced status code, text.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub status: &'static str,
    pub text: String,
}

impl Reply {
    pub fn new(code: u16, status: &'static str, text: impl Into<String>) -> Reply {
        Reply {
            code,
            status,
            text: text.into(),
        }
    }

    /// The reply's line with CRLF; control characters in the text become spaces.
    pub fn line(&self) -> String {
        format!("{} {}\r\n", self.head(), clean(&self.text))
    }

    fn head(&self) -> String {
        if self.status.is_empty() {
            self.code.to_string()
        } else {
            format!("{} {}", self.code, self.status)
        }
    }
}

/// A multi-line reply (LHLO's): `250-first`, …, `250 last`.
pub fn multiline(code: u16, lines: &[String]) -> String {
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        let sep = if i + 1 == lines.len() { ' ' } else { '-' };
        out.push_str(&format!("{code}{sep}{}\r\n", clean(l)));
    }
    out
}

fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_one_line_each() {
        assert_eq!(
            Reply::new(451, "4.3.0", "a\r\nb").line(),
            "451 4.3.0 a  b\r\n"
        );
        assert_eq!(
            multiline(250, &["x".into(), "SIZE 10".into()]),
            "250-x\r\n250 SIZE 10\r\n"
        );
    }
}
