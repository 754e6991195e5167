//! A small Sieve tokenizer (RFC 5228 §2), used for what sieve-rs does not tell us: which
//! extensions a script requires, and where each action command starts (file line and byte
//! offset), so `compile` can put a marker in front of it.
//!
//! It only has to agree with sieve-rs on what is a comment, a string and a command; the real
//! parsing is sieve-rs's. Scripts are compiled unchanged first, so a script this tokenizer
//! misreads still gets sieve-rs's own error; see `compile` for what happens if the marked
//! copy does not compile.

/// One token: what it is, the 1-based line it starts on, its byte offset in the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub line: usize,
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `fileinto`, `if`, `require`, … (as written; compare case-insensitively).
    Ident(String),
    /// `:contains`, `:value`, …
    Tag(String),
    /// A quoted or `text:` string, unescaped.
    Str(String),
    Number,
    /// One of `; , ( ) [ ] { }`.
    Punct(char),
    /// Anything else (sieve-rs reports it when it compiles the script).
    Other,
}

/// Splits a script into tokens, skipping white space and comments. Never fails: an unterminated
/// string or comment simply ends the list (the compiler reports it).
pub fn tokens(src: &str) -> Vec<Token> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let (mut i, mut line) = (0usize, 1usize);
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    line += usize::from(b[i] == b'\n');
                    i += 1;
                }
                i = (i + 2).min(b.len());
            }
            b'"' => {
                let (start, start_line) = (i, line);
                let mut text = Vec::new();
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' && i + 1 < b.len() {
                        i += 1;
                    }
                    line += usize::from(b[i] == b'\n');
                    text.push(b[i]);
                    i += 1;
                }
                i = (i + 1).min(b.len());
                let text = String::from_utf8_lossy(&text).into_owned();
                out.push(Token {
                    kind: Kind::Str(text),
                    line: start_line,
                    offset: start,
                });
            }
            b':' => {
                let start = i;
                i += 1;
                let word = ident_at(b, &mut i);
                out.push(Token {
                    kind: Kind::Tag(word),
                    line,
                    offset: start,
                });
            }
            b'0'..=b'9' => {
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                if i < b.len() && matches!(b[i].to_ascii_uppercase(), b'K' | b'M' | b'G') {
                    i += 1;
                }
                out.push(Token {
                    kind: Kind::Number,
                    line,
                    offset: start,
                });
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                let word = ident_at(b, &mut i);
                if word.eq_ignore_ascii_case("text") && b.get(i) == Some(&b':') {
                    let start_line = line;
                    let text = multiline(b, &mut i, &mut line);
                    out.push(Token {
                        kind: Kind::Str(text),
                        line: start_line,
                        offset: start,
                    });
                } else {
                    out.push(Token {
                        kind: Kind::Ident(word),
                        line,
                        offset: start,
                    });
                }
            }
            b';' | b',' | b'(' | b')' | b'[' | b']' | b'{' | b'}' => {
                out.push(Token {
                    kind: Kind::Punct(c as char),
                    line,
                    offset: i,
                });
                i += 1;
            }
            _ => {
                out.push(Token {
                    kind: Kind::Other,
                    line,
                    offset: i,
                });
                // Skip a whole UTF-8 sequence so offsets stay on character boundaries.
                i += 1;
                while i < b.len() && (b[i] & 0xC0) == 0x80 {
                    i += 1;
                }
            }
        }
    }
    out
}

fn ident_at(b: &[u8], i: &mut usize) -> String {
    let start = *i;
    while *i < b.len() && (b[*i].is_ascii_alphanumeric() || b[*i] == b'_') {
        *i += 1;
    }
    String::from_utf8_lossy(&b[start..*i]).into_owned()
}

/// `text:` (at `i`, pointing at the colon) up to a line holding only `.`; dot-unstuffed.
fn multiline(b: &[u8], i: &mut usize, line: &mut usize) -> String {
    while *i < b.len() && b[*i] != b'\n' {
        *i += 1;
    }
    let mut text = String::new();
    while *i < b.len() {
        *i += 1; // the '\n' ending the previous line
        *line += 1;
        let start = *i;
        while *i < b.len() && b[*i] != b'\n' {
            *i += 1;
        }
        let l = String::from_utf8_lossy(&b[start..*i]);
        let l = l.strip_suffix('\r').unwrap_or(&l);
        if l == "." {
            *i = (*i + 1).min(b.len());
            *line += usize::from(b.get(*i - 1) == Some(&b'\n'));
            return text;
        }
        text.push_str(l.strip_prefix('.').unwrap_or(l));
        text.push('\n');
    }
    text
}

/// Every extension named by a `require`, with the line it is named on.
pub fn requires(toks: &[Token]) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut iter = toks.iter();
    while let Some(t) = iter.next() {
        if matches!(&t.kind, Kind::Ident(w) if w.eq_ignore_ascii_case("require")) {
            for t in iter.by_ref() {
                match &t.kind {
                    Kind::Str(s) => out.push((s.clone(), t.line)),
                    Kind::Punct(';') => break,
                    _ => {}
                }
            }
        }
    }
    out
}

/// Identifiers in command position: the first token, or one after `;`, `{` or `}`.
pub fn commands(toks: &[Token]) -> Vec<&Token> {
    let mut out = Vec::new();
    let mut prev: Option<&Token> = None;
    for t in toks {
        let at_start = match prev {
            None => true,
            Some(p) => matches!(p.kind, Kind::Punct(';' | '{' | '}')),
        };
        if at_start && matches!(t.kind, Kind::Ident(_)) {
            out.push(t);
        }
        prev = Some(t);
    }
    out
}

/// The folder each `fileinto` names, with its line: the last string before the `;` (a
/// `:flags` list or other tagged arguments come first).
pub fn fileinto_targets(toks: &[Token]) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if !matches!(&t.kind, Kind::Ident(w) if w.eq_ignore_ascii_case("fileinto")) {
            continue;
        }
        let mut last = None;
        for a in &toks[i + 1..] {
            match &a.kind {
                Kind::Str(s) => last = Some(s.clone()),
                Kind::Punct(';' | '{' | '}') => break,
                _ => {}
            }
        }
        if let Some(folder) = last {
            out.push((folder, t.line));
        }
    }
    out
}

/// The lower-cased word of an identifier token.
pub fn word(t: &Token) -> Option<String> {
    match &t.kind {
        Kind::Ident(w) => Some(w.to_ascii_lowercase()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fileinto_targets_are_the_last_string_of_each_fileinto() {
        let src = "require [\"fileinto\", \"imap4flags\"];\n# fileinto \"Commented\";\n\
                   if true { fileinto :flags \"\\\\Seen\" \"Junk\"; }\nFILEINTO \"Sales\";\n";
        assert_eq!(
            fileinto_targets(&tokens(src)),
            vec![("Junk".to_string(), 3), ("Sales".to_string(), 4)]
        );
    }
}
