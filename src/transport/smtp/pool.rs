//! Connections to the relay, kept for the next mail, and one mail's transaction on one of them.
//!
//! lettre's `SmtpConnection` speaks the protocol: the greeting, EHLO, STARTTLS or implicit TLS,
//! AUTH, reading replies. The transaction is written here for one reason. lettre sends the
//! end-of-data marker as a write of its own after the body, on a socket without `TCP_NODELAY`;
//! Nagle's algorithm holds those five bytes until the server acknowledges the body, and the
//! server delays that acknowledgement, as it has nothing to answer yet: 40 ms on Linux, for
//! every mail on every connection. Eight connections then carried at most about 190 mails a
//! second, whatever the relay could take. Here the dot-stuffed body and the marker leave in one
//! write.
//!
//! A parked connection is checked with NOOP before it is used again and closed after a minute
//! unused; a connection on which anything failed is closed (QUIT) and not parked.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;

/// How long a parked connection may wait for its next mail.
const IDLE: Duration = Duration::from_secs(60);

/// How the relay is reached.
pub(super) struct Relay {
    pub host: String,
    pub port: u16,
    pub timeout: Duration,
    pub hello: ClientId,
    pub tls: RelayTls,
    pub credentials: Option<Credentials>,
}

pub(super) enum RelayTls {
    None,
    Starttls(TlsParameters),
    Implicit(TlsParameters),
}

/// What a transaction came to when it did not end with the relay's acceptance.
#[derive(Debug)]
pub(super) enum Failed {
    /// What lettre reported: a reply, the network, TLS.
    Smtp(lettre::transport::smtp::Error),
    /// The relay lacks an extension this mail needs (SMTPUTF8, 8BITMIME).
    Unsupported(&'static str),
}

pub(super) struct Pool {
    relay: Relay,
    parked: Mutex<Vec<(SmtpConnection, Instant)>>,
    most: usize,
}

impl Pool {
    /// A pool parking at most `most` connections; connects only when a mail is sent.
    pub(super) fn new(relay: Relay, most: usize) -> Pool {
        Pool {
            relay,
            parked: Mutex::new(Vec::new()),
            most,
        }
    }

    /// Sends `data` (CRLF line endings, without the final CRLF) to `envelope`'s recipients.
    pub(super) fn send(&self, envelope: &Envelope, data: &[u8]) -> Result<Response, Failed> {
        let mut conn = self.take().map_err(Failed::Smtp)?;
        match transaction(&mut conn, envelope, data) {
            Ok(answer) => {
                self.park(conn);
                Ok(answer)
            }
            Err(e) => {
                conn.abort();
                Err(e)
            }
        }
    }

    /// A parked connection that still answers, or a new one.
    fn take(&self) -> Result<SmtpConnection, lettre::transport::smtp::Error> {
        loop {
            let parked = self.lock().pop();
            let Some((mut conn, since)) = parked else {
                return self.connect();
            };
            if since.elapsed() < IDLE && conn.test_connected() {
                return Ok(conn);
            }
            conn.abort();
        }
    }

    fn park(&self, mut conn: SmtpConnection) {
        let mut parked = self.lock();
        if parked.len() < self.most {
            parked.push((conn, Instant::now()));
        } else {
            drop(parked);
            let _ = conn.quit();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(SmtpConnection, Instant)>> {
        self.parked.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn connect(&self) -> Result<SmtpConnection, lettre::transport::smtp::Error> {
        let r = &self.relay;
        let implicit = match &r.tls {
            RelayTls::Implicit(p) => Some(p),
            _ => None,
        };
        let mut conn = SmtpConnection::connect(
            (r.host.as_str(), r.port),
            Some(r.timeout),
            &r.hello,
            implicit,
            None,
        )?;
        let set_up = (|| {
            if let RelayTls::Starttls(p) = &r.tls {
                conn.starttls(p, &r.hello)?;
            }
            if let Some(c) = &r.credentials {
                conn.auth(DEFAULT_MECHANISMS, c)?;
            }
            Ok(())
        })();
        match set_up {
            Ok(()) => Ok(conn),
            Err(e) => {
                conn.abort();
                Err(e)
            }
        }
    }
}

impl Drop for Pool {
    /// Says goodbye to the parked connections.
    fn drop(&mut self) {
        for (mut conn, _) in self.lock().drain(..) {
            let _ = conn.quit();
        }
    }
}

/// MAIL, RCPT for each recipient, DATA, then the body and the end-of-data marker in one write.
fn transaction(
    conn: &mut SmtpConnection,
    envelope: &Envelope,
    data: &[u8],
) -> Result<Response, Failed> {
    let mut options = Vec::new();
    let mut addresses = envelope.from().into_iter().chain(envelope.to());
    if addresses.any(|a: &Address| !AsRef::<str>::as_ref(a).is_ascii()) {
        if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
            return Err(Failed::Unsupported(
                "the envelope has non-ASCII addresses and the relay does not offer SMTPUTF8",
            ));
        }
        options.push(MailParameter::SmtpUtfEight);
    }
    if !data.is_ascii() {
        if !conn.server_info().supports_feature(Extension::EightBitMime) {
            return Err(Failed::Unsupported(
                "the mail has 8-bit text and the relay does not offer 8BITMIME",
            ));
        }
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let smtp = Failed::Smtp;
    conn.command(Mail::new(envelope.from().cloned(), options))
        .map_err(smtp)?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), vec![])).map_err(smtp)?;
    }
    conn.command(Data).map_err(smtp)?;
    match std::str::from_utf8(data) {
        Ok(text) => conn.command(stuffed(text)).map_err(smtp),
        // Not UTF-8 (a legacy 8-bit charset): lettre writes the bytes, and the marker apart.
        Err(_) => conn.message(data).map_err(smtp),
    }
}

/// The mail as DATA carries it: a dot doubled at the start of every line, then CRLF . CRLF.
fn stuffed(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 64 + 8);
    for (i, line) in text.split("\r\n").enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
    }
    out.push_str("\r\n.\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::stuffed;

    #[test]
    fn dots_at_the_start_of_a_line_are_doubled_and_the_marker_follows() {
        assert_eq!(stuffed("a\r\nb"), "a\r\nb\r\n.\r\n");
        assert_eq!(
            stuffed(".a\r\n.\r\nb.c\r\n..d"),
            "..a\r\n..\r\nb.c\r\n...d\r\n.\r\n"
        );
        assert_eq!(stuffed(""), "\r\n.\r\n");
        assert_eq!(
            stuffed("a\r\n"),
            "a\r\n\r\n.\r\n",
            "an empty last line is kept"
        );
    }
}
