//! SMTP relay transport: lettre's blocking `SmtpConnection` (greeting, EHLO, STARTTLS or
//! implicit TLS through rustls on ring, AUTH) in a pool of our own (`pool`, which also writes the
//! mail's transaction, in one write where lettre's would wait 40 ms), the system CA store plus an
//! optional extra CA file.
//!
//! The pool checks a parked connection with NOOP before reusing it, so a server restart costs
//! nothing more than a new connection; if the server is down, the send fails as `Transient` and
//! a later send connects afresh.
//!
//! Line endings: SMTP needs CRLF, and DATA is dot-stuffed only after CRLF, so bare LF or CR in the
//! mail are turned into CRLF here. A mail ending in CRLF arrives byte for byte; the
//! end-of-data `CRLF . CRLF` would add an empty line, so one trailing CRLF is taken off first.
//!
//! Error classes: 5xx replies are `Permanent`, except the authentication codes (530, 534, 535,
//! 538), which mean our configuration is wrong and must not bounce the mail. Everything else
//! (4xx, refused connections, timeouts, TLS failures, broken connections) is `Transient`.
//! A mail is one transaction, so one rejected recipient fails the whole mail. A relay that lacks
//! SMTPUTF8 or 8BITMIME for a mail that needs it is `Transient` too (its configuration).

use std::borrow::Cow;
use std::time::Duration;

use lettre::address::{Address, Envelope as LettreEnvelope};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;

use super::{Envelope, Secret, SendError, SmtpConfig, Tls, Transport};

mod pool;

use pool::{Failed, Pool, Relay, RelayTls};

/// SMTP reply codes that say our credentials or setup are wrong, not the mail.
const AUTH_CODES: &[&str] = &["530", "534", "535", "538"];

pub struct SmtpSender {
    inner: Pool,
    description: String,
}

impl std::fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSender")
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

impl SmtpSender {
    /// Builds the client and reads the password and CA file; does not connect.
    pub fn new(cfg: &SmtpConfig) -> Result<SmtpSender, String> {
        let tls_mode = cfg.tls_mode();
        let tls = match tls_mode {
            Tls::None => RelayTls::None,
            Tls::Starttls => RelayTls::Starttls(tls_parameters(cfg)?),
            Tls::Implicit => RelayTls::Implicit(tls_parameters(cfg)?),
        };
        let mut auth = String::new();
        let mut credentials = None;
        if let Some(user) = &cfg.user {
            let password = read_password(cfg)?;
            credentials = Some(Credentials::new(user.clone(), password.expose().to_owned()));
            auth = format!(", auth as {user}");
        }
        let relay = Relay {
            host: cfg.host.clone(),
            port: cfg.port,
            timeout: Duration::from_secs(cfg.timeout_seconds),
            hello: cfg.helo.clone().map(ClientId::Domain).unwrap_or_default(),
            tls,
            credentials,
        };
        let mode = match tls_mode {
            Tls::None => "plain text",
            Tls::Starttls => "starttls",
            Tls::Implicit => "implicit tls",
        };
        Ok(SmtpSender {
            inner: Pool::new(relay, super::SEND_LANES),
            description: format!("smtp {}:{} ({mode}{auth})", cfg.host, cfg.port),
        })
    }
}

impl Transport for SmtpSender {
    fn send(&self, env: &Envelope, raw: &[u8]) -> Result<String, SendError> {
        env.check()?;
        let envelope = lettre_envelope(env)?;
        let data = smtp_data(raw);
        match self.inner.send(&envelope, &data) {
            Ok(resp) => {
                let text: Vec<&str> = resp.message().collect();
                Ok(format!("{} {}", resp.code(), text.join(" ")))
            }
            Err(Failed::Smtp(e)) => Err(classify(&e)),
            Err(Failed::Unsupported(e)) => Err(SendError::Transient(e.into())),
        }
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

fn lettre_envelope(env: &Envelope) -> Result<LettreEnvelope, SendError> {
    let parse = |a: &str| {
        a.parse::<Address>()
            .map_err(|e| SendError::Permanent(format!("address {a:?}: {e}")))
    };
    let from = env.from.as_deref().map(parse).transpose()?;
    let to = env
        .to
        .iter()
        .map(|a| parse(a))
        .collect::<Result<Vec<_>, _>>()?;
    LettreEnvelope::new(from, to).map_err(|e| SendError::Permanent(format!("envelope: {e}")))
}

/// Error classification, see the module comment.
fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let msg = error_chain(e);
    match e.status() {
        Some(code) if e.is_permanent() => {
            let code = code.to_string();
            if AUTH_CODES.contains(&code.as_str()) {
                SendError::Transient(format!(
                    "{msg} (authentication: check smtp.user and the password)"
                ))
            } else {
                SendError::Permanent(msg)
            }
        }
        _ if e.is_timeout() || io_timed_out(e) => SendError::Transient(format!("timed out: {msg}")),
        _ => SendError::Transient(msg),
    }
}

/// A socket timeout shows as EAGAIN (WouldBlock) on Linux, which lettre's `is_timeout` misses.
fn io_timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut src = Some(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            );
        }
        src = s.source();
    }
    false
}

/// The error with its sources ("network error: Connection refused (os error 111)"), deduplicated
/// where lettre's Display already includes the source.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        src = s.source();
    }
    out
}

/// The bytes to hand to the pool: CRLF line endings throughout, without the final CRLF (it
/// comes back with the end-of-data marker).
fn smtp_data(raw: &[u8]) -> Cow<'_, [u8]> {
    let clean = raw.iter().enumerate().all(|(i, &b)| match b {
        b'\r' => raw.get(i + 1) == Some(&b'\n'),
        b'\n' => i > 0 && raw[i - 1] == b'\r',
        _ => true,
    });
    let mut data: Cow<'_, [u8]> = if clean {
        Cow::Borrowed(raw)
    } else {
        let mut v = Vec::with_capacity(raw.len() + raw.len() / 32);
        let mut i = 0;
        while i < raw.len() {
            match raw[i] {
                b'\r' if raw.get(i + 1) == Some(&b'\n') => {
                    v.extend_from_slice(b"\r\n");
                    i += 1;
                }
                b'\r' | b'\n' => v.extend_from_slice(b"\r\n"),
                b => v.push(b),
            }
            i += 1;
        }
        Cow::Owned(v)
    };
    if data.ends_with(b"\r\n") {
        data = match data {
            Cow::Borrowed(b) => Cow::Borrowed(&b[..b.len() - 2]),
            Cow::Owned(mut v) => {
                v.truncate(v.len() - 2);
                Cow::Owned(v)
            }
        };
    }
    data
}

fn tls_parameters(cfg: &SmtpConfig) -> Result<TlsParameters, String> {
    let mut b = TlsParameters::builder(
        cfg.host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned(),
    );
    if let Some(path) = &cfg.tls_ca_file {
        let pem =
            std::fs::read(path).map_err(|e| format!("smtp.tls-ca-file {}: {e}", path.display()))?;
        let cert = Certificate::from_pem(&pem)
            .map_err(|e| format!("smtp.tls-ca-file {}: {e}", path.display()))?;
        b = b.add_root_certificate(cert);
    }
    b.build_rustls()
        .map_err(|e| format!("smtp tls: {}", error_chain(&e)))
}

fn read_password(cfg: &SmtpConfig) -> Result<Secret, String> {
    if let Some(path) = &cfg.password_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("smtp.password-file {}: {e}", path.display()))?;
        let line = text.lines().next().unwrap_or("");
        if line.is_empty() {
            return Err(format!("smtp.password-file {}: empty", path.display()));
        }
        return Ok(Secret::new(line.to_owned()));
    }
    if let Some(var) = &cfg.password_env {
        return match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Secret::new(v)),
            _ => Err(format!("smtp.password-env: ${var} is not set or empty")),
        };
    }
    Err("smtp.user is set but no password-file or password-env".into())
}

#[cfg(test)]
mod tests {
    use super::smtp_data;

    #[test]
    fn line_endings() {
        assert_eq!(&*smtp_data(b"a\r\nb\r\n"), b"a\r\nb");
        assert_eq!(&*smtp_data(b"a\r\nb"), b"a\r\nb");
        assert_eq!(&*smtp_data(b"a\nb\n"), b"a\r\nb");
        assert_eq!(&*smtp_data(b"a\rb\r\n\n"), b"a\r\nb\r\n");
        assert_eq!(&*smtp_data(b"\n.x\r\n"), b"\r\n.x");
    }
}
