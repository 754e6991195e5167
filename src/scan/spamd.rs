//! A SPAMC/1.5 client for SpamAssassin's spamd, spoken directly (no spamc process).
//!
//! One request per connection, as spamd wants it: `SYMBOLS` for a verdict with the rule names,
//! `TELL` for learning, `PING` for a health check. We send `Content-length`, so spamd answers as
//! soon as the whole message has arrived and then closes; we read to EOF. The reply's status line
//! says `SPAMD/1.1` even to a 1.5 request, so any `SPAMD/<version>` is accepted.
//!
//! Errors: no connection, a timeout, a reset, or a reply that is not SPAMD protocol is
//! `Unavailable` (try again later). A well-formed reply with a non-zero `EX_` code is `Rejected`,
//! except the codes that say spamd itself is in trouble (EX_SOFTWARE 70, EX_OSERR 71, EX_IOERR 74,
//! EX_TEMPFAIL 75, spamd's own timeout 79), which are `Unavailable` too.
//!
//! TELL (observed with SpamAssassin 4.0.1 on Debian): spamd needs `--allow-tell`; without it the
//! reply is `SPAMD/1.0 69 Service Unavailable: TELL commands are not enabled, set the --allow-tell
//! switch.`, which is `Rejected` here (configuration, not a passing fault: 69 is not in the list
//! above). With `--allow-tell` but Bayes off
//! (`use_bayes 0`) spamd answers `SPAMD/1.1 0 EX_OK` with no `DidSet` header and logs
//! "Tell: Did nothing": `tell` returns `Ok(false)`. With Bayes on, a message that was learned
//! gets `DidSet: local` and `tell` returns `Ok(true)`; one already learned as that class gets
//! no `DidSet`.

use std::time::{Duration, Instant};

use super::config::SpamdConfig;
use super::conn::{clean, describe, Endpoint};
use super::{Scan, ScanError};

/// Replies longer than this are garbage (a SYMBOLS reply is a few hundred bytes).
const MAX_REPLY: usize = 256 * 1024;

/// spamd's answer for one message.
#[derive(Debug, Clone, PartialEq)]
pub struct SpamVerdict {
    /// spamd's own verdict, or `score >= threshold` when the configuration overrides the threshold.
    pub is_spam: bool,
    pub score: f32,
    /// The threshold in effect: the configured override, else spamd's required score.
    pub threshold: f32,
    /// The rules that hit, as spamd listed them (e.g. `GTUBE`, `NO_RELAYS`).
    pub rules: Vec<String>,
}

/// A client for one spamd; cheap to share between threads (it holds no connection).
#[derive(Debug, Clone)]
pub struct SpamdClient {
    endpoint: Endpoint,
    timeout: Duration,
    max_size: u64,
    user: String,
    threshold: Option<f32>,
}

impl SpamdClient {
    /// Builds the client from its configuration (validated here); does not connect.
    pub fn new(cfg: &SpamdConfig) -> Result<SpamdClient, String> {
        cfg.validate()?;
        Ok(SpamdClient {
            endpoint: Endpoint::parse(&cfg.address)?,
            timeout: Duration::from_secs(cfg.timeout_seconds),
            max_size: cfg.max_size,
            user: cfg.user.clone(),
            threshold: cfg.threshold,
        })
    }

    /// Overrides the configured timeout (whole seconds are coarse for tests and probes).
    pub fn with_timeout(mut self, timeout: Duration) -> SpamdClient {
        self.timeout = timeout;
        self
    }

    /// "spamd 127.0.0.1:783" for logs.
    pub fn describe(&self) -> String {
        format!("spamd {}", self.endpoint)
    }

    /// `SYMBOLS`: score, threshold and the rules that hit. A message over `max-size` is not sent.
    pub fn symbols(&self, raw: &[u8]) -> Result<Scan<SpamVerdict>, ScanError> {
        if raw.len() as u64 > self.max_size {
            return Ok(Scan::Skipped {
                reason: format!("{} bytes, over spamd max-size {}", raw.len(), self.max_size),
            });
        }
        let head = format!(
            "SYMBOLS SPAMC/1.5\r\nContent-length: {}\r\nUser: {}\r\n\r\n",
            raw.len(),
            self.user
        );
        let reply = self.exchange(head.as_bytes(), raw)?;
        verdict(&reply, self.threshold).map(Scan::Done)
    }

    /// `TELL` with `Set: local`: learn `raw` as spam or ham. `Ok(true)` if spamd says it changed
    /// something (`DidSet`), `Ok(false)` if it answered OK but did nothing (Bayes off, or learned
    /// before). A message over `max-size` is refused (`Rejected`) without being sent.
    pub fn tell(&self, raw: &[u8], spam: bool) -> Result<bool, ScanError> {
        if raw.len() as u64 > self.max_size {
            return Err(ScanError::Rejected(format!(
                "not learned: {} bytes, over spamd max-size {}",
                raw.len(),
                self.max_size
            )));
        }
        let class = if spam { "spam" } else { "ham" };
        let head = format!(
            "TELL SPAMC/1.5\r\nMessage-class: {class}\r\nSet: local\r\nContent-length: {}\r\nUser: {}\r\n\r\n",
            raw.len(),
            self.user
        );
        let reply = self.exchange(head.as_bytes(), raw)?;
        Ok(reply.header("DidSet").is_some_and(|v| v.contains("local")))
    }

    /// `PING`: `Ok` when spamd answers `PONG`.
    pub fn ping(&self) -> Result<(), ScanError> {
        let reply = self.exchange(b"PING SPAMC/1.5\r\n\r\n", b"")?;
        if reply.message == "PONG" {
            Ok(())
        } else {
            Err(ScanError::Unavailable(format!(
                "spamd answered PING with {:?}",
                reply.message
            )))
        }
    }

    fn exchange(&self, head: &[u8], body: &[u8]) -> Result<Reply, ScanError> {
        let deadline = Instant::now() + self.timeout;
        let mut conn = self.endpoint.connect(deadline, MAX_REPLY)?;
        let io = |what: &str, e: std::io::Error| {
            ScanError::Unavailable(format!("spamd {}: {what}: {}", self.endpoint, describe(&e)))
        };
        use std::io::Write as _;
        conn.write_all(head).map_err(|e| io("sending", e))?;
        conn.write_all(body).map_err(|e| io("sending", e))?;
        let bytes = conn.read_reply().map_err(|e| io("reading the reply", e))?;
        if bytes.is_empty() {
            let when = if conn.write_broken().is_some() {
                "while we were sending"
            } else {
                "without a reply"
            };
            return Err(ScanError::Unavailable(format!(
                "spamd {} closed the connection {when}",
                self.endpoint
            )));
        }
        parse_reply(&bytes)
    }
}

/// A parsed spamd reply.
#[derive(Debug)]
struct Reply {
    message: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        let h = self
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name));
        h.map(|(_, v)| v.as_str())
    }
}

fn garbage(what: &str, bytes: &[u8]) -> ScanError {
    let shown: String = String::from_utf8_lossy(&bytes[..bytes.len().min(60)])
        .chars()
        .map(|c| if c.is_control() { '.' } else { c })
        .collect();
    ScanError::Unavailable(format!(
        "spamd reply is not SPAMD protocol ({what}): {shown:?}"
    ))
}

/// Status line, headers, body. A non-zero status is an error here.
fn parse_reply(bytes: &[u8]) -> Result<Reply, ScanError> {
    let split = |b: &[u8]| -> Option<(Vec<u8>, usize)> {
        let nl = b.iter().position(|&c| c == b'\n')?;
        let line = b[..nl].strip_suffix(b"\r").unwrap_or(&b[..nl]);
        Some((line.to_vec(), nl + 1))
    };
    let Some((status, mut at)) = split(bytes) else {
        return Err(garbage("no status line", bytes));
    };
    let status = String::from_utf8_lossy(&status).into_owned();
    let mut parts = status.splitn(3, ' ');
    let (proto, code, message) = (parts.next().unwrap_or(""), parts.next(), parts.next());
    let code = code.and_then(|c| c.parse::<u32>().ok());
    let (true, Some(code)) = (proto.starts_with("SPAMD/"), code) else {
        return Err(garbage("bad status line", bytes));
    };
    let message = message.unwrap_or("").trim().to_owned();
    if code != 0 {
        let text = format!("spamd: {code} {}", clean(&message));
        return Err(if matches!(code, 70 | 71 | 74 | 75 | 79) {
            ScanError::Unavailable(text)
        } else {
            ScanError::Rejected(text)
        });
    }
    let mut headers = Vec::new();
    loop {
        let Some((line, used)) = split(&bytes[at..]) else {
            // PING's reply is one line; others must end their headers with an empty line.
            if at == bytes.len() && message == "PONG" {
                break;
            }
            return Err(garbage("headers not terminated", bytes));
        };
        at += used;
        if line.is_empty() {
            break;
        }
        let line = String::from_utf8_lossy(&line).into_owned();
        let Some((name, value)) = line.split_once(':') else {
            return Err(garbage("bad header line", bytes));
        };
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let mut reply = Reply {
        message,
        headers,
        body: bytes[at..].to_vec(),
    };
    if let Some(len) = reply.header("Content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| garbage("bad Content-length", bytes))?;
        if reply.body.len() < len {
            return Err(garbage("body shorter than Content-length", bytes));
        }
        reply.body.truncate(len);
    }
    Ok(reply)
}

/// The verdict in a SYMBOLS (or CHECK) reply.
fn verdict(reply: &Reply, threshold_override: Option<f32>) -> Result<SpamVerdict, ScanError> {
    let bad = || ScanError::Unavailable("spamd reply has no usable Spam header".into());
    // "True ; 1000.0 / 5.0"
    let spam = reply.header("Spam").ok_or_else(bad)?;
    let (flag, numbers) = spam.split_once(';').ok_or_else(bad)?;
    let (score, required) = numbers.split_once('/').ok_or_else(bad)?;
    let score: f32 = score.trim().parse().map_err(|_| bad())?;
    let required: f32 = required.trim().parse().map_err(|_| bad())?;
    let flag = match flag.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" => true,
        "false" | "no" => false,
        _ => return Err(bad()),
    };
    if !score.is_finite() || !required.is_finite() {
        return Err(bad());
    }
    let rules = String::from_utf8_lossy(&reply.body)
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .map(str::to_owned)
        .collect();
    let (is_spam, threshold) = match threshold_override {
        Some(t) => (score >= t, t),
        None => (flag, required),
    };
    Ok(SpamVerdict {
        is_spam,
        score,
        threshold,
        rules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Reply, ScanError> {
        parse_reply(s.as_bytes())
    }

    #[test]
    fn symbols_reply() {
        let r = parse("SPAMD/1.1 0 EX_OK\r\nContent-length: 27\r\nSpam: True ; 1000.0 / 5.0\r\n\r\nGTUBE,NO_RECEIVED,NO_RELAYS").unwrap();
        let v = verdict(&r, None).unwrap();
        assert!(v.is_spam);
        assert_eq!((v.score, v.threshold), (1000.0, 5.0));
        assert_eq!(v.rules, ["GTUBE", "NO_RECEIVED", "NO_RELAYS"]);
        let ham = parse("SPAMD/1.1 0 EX_OK\r\nSpam: False ; -0.0 / 5.0\r\n\r\n").unwrap();
        let v = verdict(&ham, None).unwrap();
        assert!(!v.is_spam && v.rules.is_empty());
    }

    #[test]
    fn threshold_override_decides() {
        let r = parse("SPAMD/1.1 0 EX_OK\r\nSpam: False ; 3.2 / 5.0\r\n\r\n").unwrap();
        let v = verdict(&r, Some(3.0)).unwrap();
        assert!(v.is_spam);
        assert_eq!(v.threshold, 3.0);
        let v = verdict(&r, Some(3.2)).unwrap();
        assert!(v.is_spam, "score >= threshold is spam, as in SpamAssassin");
        let v = verdict(&r, Some(8.0)).unwrap();
        assert!(!v.is_spam);
    }

    #[test]
    fn error_codes() {
        let e = parse("SPAMD/1.0 76 Bad header line: FOO SPAMC/1.5\r\n").unwrap_err();
        assert!(
            matches!(e, ScanError::Rejected(ref m) if m.contains("76 Bad header")),
            "{e:?}"
        );
        let e = parse("SPAMD/1.0 79 Timeout: (300 second timeout while trying to SYMBOLS)\r\n")
            .unwrap_err();
        assert!(matches!(e, ScanError::Unavailable(_)), "{e:?}");
        let e = parse("SPAMD/1.0 69 Service Unavailable: TELL commands are not enabled, set the --allow-tell switch.\r\n").unwrap_err();
        assert!(matches!(e, ScanError::Rejected(_)), "{e:?}");
    }

    #[test]
    fn garbage_is_unavailable() {
        for g in [
            "HTTP/1.1 400 Bad Request\r\n\r\n",
            "SPAMD/1.1 x EX_OK\r\n\r\n",
            "SPAMD/1.1 0 EX_OK\r\nSpam True\r\n\r\n",
            "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1.0 / 5.0\r\n",
            "SPAMD/1.1 0 EX_OK\r\nContent-length: 99\r\nSpam: True ; 1.0 / 5.0\r\n\r\nA",
            "no newline at all",
        ] {
            assert!(matches!(parse(g), Err(ScanError::Unavailable(_))), "{g:?}");
        }
        for g in [
            "Spam: True",
            "Spam: Maybe ; 1 / 5",
            "Spam: True ; x / 5",
            "Spam: True ; NaN / 5",
            "X: y",
        ] {
            let r = parse(&format!("SPAMD/1.1 0 EX_OK\r\n{g}\r\n\r\n")).unwrap();
            assert!(
                matches!(verdict(&r, None), Err(ScanError::Unavailable(_))),
                "{g:?}"
            );
        }
    }

    #[test]
    fn tell_and_ping_replies() {
        let r = parse("SPAMD/1.1 0 EX_OK\r\nDidSet: local\r\n\r\n").unwrap();
        assert_eq!(r.header("didset"), Some("local"));
        let r = parse("SPAMD/1.1 0 EX_OK\r\n\r\n\r\n").unwrap();
        assert_eq!(r.header("DidSet"), None);
        let r = parse("SPAMD/1.5 0 PONG\r\n").unwrap();
        assert_eq!(r.message, "PONG");
    }

    #[test]
    fn odd_rule_names_are_dropped() {
        let r = parse("SPAMD/1.1 0 EX_OK\r\nSpam: True ; 6.0 / 5.0\r\n\r\nA_1, B\r\nX-Evil: 1,C")
            .unwrap();
        assert_eq!(verdict(&r, None).unwrap().rules, ["A_1", "C"]);
    }
}
