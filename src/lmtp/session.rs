//! One LMTP conversation as a state machine without I/O: command lines in, what to answer and
//! do out. After DATA, RFC 2033 asks for one reply per accepted recipient: postdesk files the
//! message once (its envelope recipients as `Delivered-To` lines), so every recipient gets the
//! reply of that one commit.

use super::command::{self, Command};
use super::data::Decoder;
use super::reply::{multiline, Reply};

/// RFC 5321's minimum a server must accept; more get 452 and are sent again later.
pub const MAX_RECIPIENTS: usize = 100;

#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Send this (one or more lines) and read the next command.
    Reply(String),
    /// Send 354, then read the message with a `Decoder`.
    Data(Reply),
    /// Send this and close the connection.
    Close(Reply),
}

/// A message received whole: what to commit, and for whom.
#[derive(Debug, PartialEq, Eq)]
pub struct Envelope {
    pub from: String,
    pub recipients: Vec<String>,
    /// The message with `Return-Path` and one `Delivered-To` per recipient in front.
    pub raw: Vec<u8>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    Commit(Envelope),
    /// One reply per recipient, already final (the message was not taken).
    Refused(String),
}

pub struct Session {
    host: String,
    limit: u64,
    greeted: bool,
    from: Option<String>,
    recipients: Vec<String>,
}

impl Session {
    /// `host` names this server in the greeting; `limit` is the largest message taken.
    pub fn new(host: &str, limit: u64) -> Session {
        Session {
            host: host.to_string(),
            limit,
            greeted: false,
            from: None,
            recipients: Vec::new(),
        }
    }

    pub fn greeting(&self) -> String {
        Reply::new(220, "", format!("{} LMTP postdesk ready", self.host)).line()
    }

    pub fn command(&mut self, line: &[u8]) -> Action {
        let cmd = match command::parse(line) {
            Ok(c) => c,
            Err(r) => return Action::Reply(r.line()),
        };
        let reply = match cmd {
            Command::Lhlo => {
                self.greeted = true;
                self.reset();
                return Action::Reply(multiline(
                    250,
                    &[
                        self.host.clone(),
                        "PIPELINING".into(),
                        "ENHANCEDSTATUSCODES".into(),
                        "8BITMIME".into(),
                        "SMTPUTF8".into(),
                        format!("SIZE {}", self.limit),
                    ],
                ));
            }
            Command::Quit => {
                return Action::Close(Reply::new(221, "2.0.0", "bye"));
            }
            Command::Rset => {
                self.reset();
                Reply::new(250, "2.0.0", "ok")
            }
            Command::Noop => Reply::new(250, "2.0.0", "ok"),
            Command::Vrfy => Reply::new(252, "2.5.0", "cannot verify; send the mail"),
            Command::Mail { .. } if !self.greeted => Reply::new(503, "5.5.1", "say LHLO first"),
            Command::Mail { .. } if self.from.is_some() => {
                Reply::new(503, "5.5.1", "a transaction is already open")
            }
            Command::Mail { size: Some(n), .. } if n > self.limit => Reply::new(
                552,
                "5.3.4",
                format!(
                    "message too big for this help desk (at most {} bytes)",
                    self.limit
                ),
            ),
            Command::Mail { from, .. } => {
                self.from = Some(from);
                Reply::new(250, "2.1.0", "sender ok")
            }
            Command::Rcpt(_) if self.from.is_none() => Reply::new(503, "5.5.1", "MAIL first"),
            Command::Rcpt(_) if self.recipients.len() >= MAX_RECIPIENTS => {
                Reply::new(452, "4.5.3", "too many recipients; send the rest again")
            }
            Command::Rcpt(to) => {
                self.recipients.push(to);
                Reply::new(250, "2.1.5", "recipient ok")
            }
            Command::Data if self.from.is_none() => Reply::new(503, "5.5.1", "MAIL first"),
            Command::Data if self.recipients.is_empty() => {
                Reply::new(503, "5.5.1", "no valid recipients")
            }
            Command::Data => {
                return Action::Data(Reply::new(
                    354,
                    "",
                    "send the message, end with <CRLF>.<CRLF>",
                ))
            }
        };
        Action::Reply(reply.line())
    }

    /// A decoder for the message of the transaction that DATA started.
    pub fn decoder(&self) -> Decoder {
        Decoder::new(self.limit)
    }

    /// The message was read to its end marker: the envelope to commit, or the replies that
    /// refuse it. Either way the transaction is over.
    pub fn received(&mut self, data: Decoder) -> Received {
        let from = self.from.take().unwrap_or_default();
        let recipients = std::mem::take(&mut self.recipients);
        if data.over_limit() {
            let r = Reply::new(
                552,
                "5.3.4",
                format!(
                    "message too big for this help desk (at most {} bytes)",
                    self.limit
                ),
            );
            return Received::Refused(per_recipient(&recipients, |_| r.clone()));
        }
        let mut raw = format!("Return-Path: <{from}>\n").into_bytes();
        for r in &recipients {
            raw.extend_from_slice(format!("Delivered-To: {r}\n").as_bytes());
        }
        raw.extend_from_slice(&data.message);
        Received::Commit(Envelope {
            from,
            recipients,
            raw,
        })
    }

    fn reset(&mut self) {
        self.from = None;
        self.recipients.clear();
    }
}

/// One reply line per recipient, in RCPT order (RFC 2033, 4.2).
pub fn per_recipient(recipients: &[String], reply: impl Fn(&str) -> Reply) -> String {
    recipients.iter().map(|r| reply(r).line()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn say(s: &mut Session, line: &str) -> String {
        match s.command(line.as_bytes()) {
            Action::Reply(r) => r,
            Action::Data(r) | Action::Close(r) => r.line(),
        }
    }

    fn code(s: &mut Session, line: &str) -> u16 {
        say(s, line)[..3].parse().unwrap()
    }

    fn data(s: &mut Session, wire: &[u8]) -> Received {
        assert!(matches!(s.command(b"DATA"), Action::Data(_)));
        let mut d = s.decoder();
        let used = d.feed(wire);
        assert_eq!(used, wire.len());
        assert!(d.done());
        s.received(d)
    }

    #[test]
    fn a_transaction_with_two_recipients() {
        let mut s = Session::new("desk.example", 1000);
        assert!(s.greeting().starts_with("220 desk.example"));
        let lhlo = say(&mut s, "LHLO mx");
        assert!(lhlo.contains("250-PIPELINING\r\n") && lhlo.ends_with("250 SIZE 1000\r\n"));
        assert_eq!(code(&mut s, "MAIL FROM:<kunde@example.org> SIZE=100"), 250);
        assert_eq!(code(&mut s, "RCPT TO:<support@company.example>"), 250);
        assert_eq!(code(&mut s, "RCPT TO:<billing@company.example>"), 250);
        let Received::Commit(env) = data(&mut s, b"Subject: x\r\n\r\nhi\r\n.\r\n") else {
            panic!("not taken")
        };
        assert_eq!(env.recipients.len(), 2);
        assert_eq!(
            String::from_utf8(env.raw).unwrap(),
            "Return-Path: <kunde@example.org>\nDelivered-To: support@company.example\n\
             Delivered-To: billing@company.example\nSubject: x\n\nhi\n"
        );
        // The transaction is over: a new one starts with MAIL.
        assert_eq!(code(&mut s, "RCPT TO:<support@company.example>"), 503);
        assert_eq!(code(&mut s, "MAIL FROM:<>"), 250);
        assert!(matches!(s.command(b"QUIT"), Action::Close(_)));
    }

    #[test]
    fn order_of_commands_is_enforced() {
        let mut s = Session::new("d", 1000);
        assert_eq!(code(&mut s, "MAIL FROM:<a@b>"), 503);
        assert_eq!(code(&mut s, "DATA"), 503);
        assert_eq!(code(&mut s, "LHLO x"), 250);
        assert_eq!(code(&mut s, "RCPT TO:<a@b>"), 503);
        assert_eq!(code(&mut s, "MAIL FROM:<a@b>"), 250);
        assert_eq!(code(&mut s, "MAIL FROM:<a@b>"), 503);
        assert_eq!(code(&mut s, "DATA"), 503);
        assert_eq!(code(&mut s, "RSET"), 250);
        assert_eq!(code(&mut s, "RCPT TO:<a@b>"), 503);
        assert_eq!(code(&mut s, "NOOP"), 250);
    }

    #[test]
    fn sizes_over_the_limit_are_refused_permanently() {
        let mut s = Session::new("d", 10);
        say(&mut s, "LHLO x");
        assert_eq!(code(&mut s, "MAIL FROM:<a@b> SIZE=11"), 552);
        assert_eq!(code(&mut s, "MAIL FROM:<a@b> SIZE=10"), 250);
        say(&mut s, "RCPT TO:<x@d>");
        say(&mut s, "RCPT TO:<y@d>");
        let Received::Refused(r) = data(&mut s, b"12345678901\r\n.\r\n") else {
            panic!("taken")
        };
        assert_eq!(r.lines().count(), 2);
        assert!(r.starts_with("552 5.3.4 "));
    }

    #[test]
    fn recipients_past_the_limit_are_deferred() {
        let mut s = Session::new("d", 10);
        say(&mut s, "LHLO x");
        say(&mut s, "MAIL FROM:<a@b>");
        for i in 0..MAX_RECIPIENTS {
            assert_eq!(code(&mut s, &format!("RCPT TO:<r{i}@d>")), 250);
        }
        assert_eq!(code(&mut s, "RCPT TO:<last@d>"), 452);
    }
}
