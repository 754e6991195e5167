//! LMTP command lines (RFC 2033, RFC 5321's grammar) read into commands. Pure: bytes in, a
//! command or the reply that refuses the line out.

use super::reply::Reply;

/// The longest address accepted in MAIL FROM and RCPT TO (RFC 5321's path limit).
pub const MAX_PATH: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Lhlo,
    /// The reverse path ("" for the null sender) and the size the client announced.
    Mail {
        from: String,
        size: Option<u64>,
    },
    Rcpt(String),
    Data,
    Rset,
    Noop,
    Quit,
    Vrfy,
}

/// Reads one command line (without its CRLF).
pub fn parse(line: &[u8]) -> Result<Command, Reply> {
    let text = std::str::from_utf8(line)
        .map_err(|_| Reply::new(500, "5.5.2", "command line is not UTF-8"))?;
    let (verb, rest) = match text.split_once(' ') {
        Some((v, r)) => (v, r),
        None => (text, ""),
    };
    let verb = verb.to_ascii_uppercase();
    let no_args = |c: Command| {
        if rest.trim().is_empty() {
            Ok(c)
        } else {
            Err(Reply::new(501, "5.5.4", "no parameters allowed"))
        }
    };
    match verb.as_str() {
        "LHLO" if rest.trim().is_empty() => Err(Reply::new(501, "5.5.4", "LHLO needs a host name")),
        "LHLO" => Ok(Command::Lhlo),
        "HELO" | "EHLO" => Err(Reply::new(500, "5.5.1", "this is LMTP: say LHLO")),
        "MAIL" => mail(rest),
        "RCPT" => rcpt(rest),
        "DATA" => no_args(Command::Data),
        "RSET" => no_args(Command::Rset),
        "NOOP" => Ok(Command::Noop),
        "QUIT" => no_args(Command::Quit),
        "VRFY" => Ok(Command::Vrfy),
        _ => Err(Reply::new(500, "5.5.2", "command not recognised")),
    }
}

fn mail(rest: &str) -> Result<Command, Reply> {
    let (from, params) = path_after(rest, "FROM:")?;
    let mut size = None;
    for p in params.split(' ').filter(|p| !p.is_empty()) {
        let (key, value) = match p.split_once('=') {
            Some((k, v)) => (k.to_ascii_uppercase(), Some(v)),
            None => (p.to_ascii_uppercase(), None),
        };
        match (key.as_str(), value) {
            ("SIZE", Some(v)) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
                size = Some(v.parse::<u64>().unwrap_or(u64::MAX))
            }
            ("BODY", Some(v))
                if v.eq_ignore_ascii_case("7BIT") || v.eq_ignore_ascii_case("8BITMIME") => {}
            ("SMTPUTF8", None) => {}
            _ => {
                return Err(Reply::new(
                    555,
                    "5.5.4",
                    format!("MAIL parameter {key} not supported"),
                ))
            }
        }
    }
    Ok(Command::Mail { from, size })
}

fn rcpt(rest: &str) -> Result<Command, Reply> {
    let (to, params) = path_after(rest, "TO:")?;
    if !params.trim().is_empty() {
        return Err(Reply::new(555, "5.5.4", "RCPT parameters not supported"));
    }
    if to.is_empty() {
        return Err(Reply::new(501, "5.1.3", "a recipient needs an address"));
    }
    Ok(Command::Rcpt(to))
}

/// `FROM:<path> params` → (the address, the parameters). A source route (`<@a,@b:u@d>`) is
/// dropped, as RFC 5321 asks of servers.
fn path_after<'a>(rest: &'a str, keyword: &str) -> Result<(String, &'a str), Reply> {
    let syntax = || Reply::new(501, "5.5.4", format!("syntax: {keyword}<address>"));
    let head = rest.get(..keyword.len()).ok_or_else(syntax)?;
    if !head.eq_ignore_ascii_case(keyword) {
        return Err(syntax());
    }
    let after = rest[keyword.len()..].trim_start();
    let inner = after.strip_prefix('<').ok_or_else(syntax)?;
    let end = closing_bracket(inner).ok_or_else(syntax)?;
    let (path, params) = (&inner[..end], &inner[end + 1..]);
    if !params.is_empty() && !params.starts_with(' ') {
        return Err(syntax());
    }
    let address = match path.strip_prefix('@') {
        Some(route) => route.split_once(':').map(|(_, a)| a).ok_or_else(syntax)?,
        None => path,
    };
    if address.len() > MAX_PATH {
        return Err(Reply::new(501, "5.1.7", "address too long"));
    }
    let bad = |c: char| c.is_control() || (c.is_whitespace() && c != ' ');
    if address.chars().any(bad) || (!address.is_empty() && !address.contains('@')) {
        return Err(Reply::new(501, "5.1.7", "bad address syntax"));
    }
    if address.contains(' ') && !address.starts_with('"') {
        return Err(Reply::new(501, "5.1.7", "bad address syntax"));
    }
    Ok((address.to_string(), params))
}

/// The `>` that closes a path, skipping a quoted local part (`<"a>b"@c>`).
fn closing_bracket(s: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '>' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Command {
        parse(line.as_bytes()).unwrap_or_else(|r| panic!("{line}: {r:?}"))
    }

    fn refused(line: &[u8]) -> u16 {
        parse(line).expect_err("refused").code
    }

    #[test]
    fn commands_and_their_arguments() {
        assert_eq!(ok("LHLO mx.example.org"), Command::Lhlo);
        assert_eq!(ok("lhlo x"), Command::Lhlo);
        assert_eq!(
            ok("MAIL FROM:<kunde@example.org> SIZE=1234 BODY=8BITMIME"),
            Command::Mail {
                from: "kunde@example.org".into(),
                size: Some(1234)
            }
        );
        assert_eq!(
            ok("mail from: <> SMTPUTF8"),
            Command::Mail {
                from: String::new(),
                size: None
            }
        );
        assert_eq!(
            ok("RCPT TO:<support+x@company.example>"),
            Command::Rcpt("support+x@company.example".into())
        );
        assert_eq!(
            ok("RCPT TO:<@relay.example,@b.example:support@company.example>"),
            Command::Rcpt("support@company.example".into())
        );
        assert_eq!(
            ok("RCPT TO:<\"a >b\"@company.example>"),
            Command::Rcpt("\"a >b\"@company.example".into())
        );
        assert_eq!(ok("DATA"), Command::Data);
        assert_eq!(ok("RSET"), Command::Rset);
        assert_eq!(ok("NOOP anything"), Command::Noop);
        assert_eq!(ok("QUIT"), Command::Quit);
    }

    #[test]
    fn bad_lines_get_the_right_refusal() {
        assert_eq!(refused(b"LHLO"), 501);
        assert_eq!(refused(b"EHLO x"), 500);
        assert_eq!(refused(b"HELO x"), 500);
        assert_eq!(refused(b"XYZZY"), 500);
        assert_eq!(refused(b""), 500);
        assert_eq!(refused(b"\xff\xfe"), 500);
        assert_eq!(refused(b"MAIL kunde@example.org"), 501);
        assert_eq!(refused(b"MAIL FROM:kunde@example.org"), 501);
        assert_eq!(refused(b"MAIL FROM:<kunde@example.org"), 501);
        assert_eq!(refused(b"MAIL FROM:<kunde@example.org>x"), 501);
        assert_eq!(refused(b"MAIL FROM:<k\x01@example.org>"), 501);
        assert_eq!(refused(b"MAIL FROM:<no-domain>"), 501);
        assert_eq!(refused(b"MAIL FROM:<a@b> SIZE=12x"), 555);
        assert_eq!(refused(b"MAIL FROM:<a@b> RET=HDRS"), 555);
        assert_eq!(refused(b"MAIL FROM:<a@b> BODY=BINARYMIME"), 555);
        assert_eq!(refused(b"RCPT TO:<>"), 501);
        assert_eq!(refused(b"RCPT TO:<a@b> NOTIFY=NEVER"), 555);
        assert_eq!(refused(b"RCPT <a@b>"), 501);
        assert_eq!(refused(b"DATA now"), 501);
        let long = format!("RCPT TO:<{}@b>", "a".repeat(MAX_PATH));
        assert_eq!(refused(long.as_bytes()), 501);
    }

    #[test]
    fn a_huge_size_is_read_as_too_big_not_refused_as_syntax() {
        assert_eq!(
            ok("MAIL FROM:<a@b> SIZE=99999999999999999999999"),
            Command::Mail {
                from: "a@b".into(),
                size: Some(u64::MAX)
            }
        );
    }
}
