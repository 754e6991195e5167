//! Reading `Authentication-Results` (RFC 8601) and the `(Authenticated sender: …)` comment
//! Postfix writes into its Received header with `smtpd_sasl_authenticated_header = yes`.
//!
//! Pure and forgiving: a header that does not parse yields nothing, never a panic; the caller
//! decides which headers to trust.

/// One result of an `Authentication-Results` header: `method=result` and its properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResult {
    /// Lowercased, without a `/version`: `dkim`, `auth`, `spf`…
    pub method: String,
    /// Lowercased: `pass`, `fail`, `none`…
    pub result: String,
    /// `ptype.property` lowercased, with its value as written (quotes removed).
    pub props: Vec<(String, String)>,
}

impl AuthResult {
    pub fn prop(&self, name: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The authserv-id of a header value and its results; `None` when it does not parse.
pub fn parse(value: &str) -> Option<(String, Vec<AuthResult>)> {
    let text = without_comments(value)?;
    let mut segments = split_outside_quotes(&text, ';').into_iter();
    let head = tokens(segments.next()?)?;
    let id = match head.first()? {
        Token::Word(w) | Token::Quoted(w) => w.clone(),
        Token::Equals => return None,
    };
    let mut results = Vec::new();
    for segment in segments {
        let t = tokens(segment)?;
        if t.is_empty() {
            continue;
        }
        if let [Token::Word(none)] = t.as_slice() {
            if none.eq_ignore_ascii_case("none") {
                continue;
            }
        }
        let mut pairs = pairs(&t)?.into_iter();
        let (method, result) = pairs.next()?;
        let method = method.split('/').next().unwrap_or_default().trim();
        let props = pairs
            .filter(|(k, _)| !k.eq_ignore_ascii_case("reason"))
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        results.push(AuthResult {
            method: method.to_ascii_lowercase(),
            result: result.to_ascii_lowercase(),
            props,
        });
    }
    Some((id, results))
}

/// The login of `(Authenticated sender: LOGIN)` in a Received header, when that comment comes
/// before the header's `by` clause (where Postfix writes it; what follows `by` names the
/// recipient, which the sender chooses).
pub fn authenticated_sender(received: &str) -> Option<String> {
    let mut depth = 0usize;
    let mut comment = String::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in received.chars() {
        if escaped {
            escaped = false;
            if depth > 0 {
                comment.push(c);
            }
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' if depth == 0 => quoted = !quoted,
            '(' if !quoted => {
                if depth > 0 {
                    comment.push(c);
                }
                depth += 1;
            }
            ')' if !quoted && depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    if let Some(login) = comment.trim().strip_prefix("Authenticated sender:") {
                        let login = login.trim();
                        return (!login.is_empty()).then(|| login.to_string());
                    }
                    comment.clear();
                } else {
                    comment.push(c);
                }
            }
            _ if depth > 0 => comment.push(c),
            c if c.is_whitespace() && !quoted => {
                if word.eq_ignore_ascii_case("by") {
                    return None;
                }
                word.clear();
            }
            c => word.push(c),
        }
    }
    None
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Equals,
}

/// The text with RFC 5322 comments (nested, escapes) replaced by a space; `None` when a comment
/// or a quoted string is not closed.
fn without_comments(value: &str) -> Option<String> {
    let mut out = String::with_capacity(value.len());
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for c in value.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' if quoted || depth > 0 => {
                escaped = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    out.push(' ');
                }
            }
            _ if depth > 0 => {}
            c => out.push(c),
        }
    }
    (depth == 0 && !quoted).then_some(out)
}

fn split_outside_quotes(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' && quoted {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            parts.push(&text[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&text[start..]);
    parts
}

fn tokens(segment: &str) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let mut chars = segment.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '=' {
            chars.next();
            out.push(Token::Equals);
        } else if c == '"' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next()? {
                    '\\' => s.push(chars.next()?),
                    '"' => break,
                    c => s.push(c),
                }
            }
            out.push(Token::Quoted(s));
        } else {
            let mut s = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '=' || c == '"' {
                    break;
                }
                s.push(c);
                chars.next();
            }
            out.push(Token::Word(s));
        }
    }
    Some(out)
}

/// `key=value` pairs; `None` when the tokens are not pairs.
fn pairs(tokens: &[Token]) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match tokens.get(i..i + 3)? {
            [Token::Word(k), Token::Equals, Token::Word(v) | Token::Quoted(v)] => {
                out.push((k.clone(), v.clone()))
            }
            _ => return None,
        }
        i += 3;
    }
    Some(out)
}
