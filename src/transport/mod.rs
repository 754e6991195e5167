//! How an already-built mail (raw RFC 5322 bytes) leaves postdesk: into a local Maildir outbox
//! (the default, so the project runs without an MTA), to an SMTP relay, or through a local
//! `sendmail` program. Also the retry policy the outgoing queue applies to transient failures.
//!
//! Every transport is blocking and `Send + Sync`; the daemon calls it from a blocking thread.
//! A failure is either `Transient` (try again later: network, disk, 4xx, timeouts, our own
//! configuration) or `Permanent` (the mail can never go out as it is: 5xx for the mail or a
//! recipient, an unusable envelope address). The caller bounces on `Permanent` and on
//! `give_up`, and retries after `retry_delay` otherwise.
//!
//! Configuration lives under `[outgoing]` in postdesk.toml; see `TransportConfig`.

mod maildir;
mod sendmail;
mod smtp;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Mails handed to a transport at the same time (the SMTP pool keeps as many connections).
pub const SEND_LANES: usize = 8;
/// The outbox's group (`Transport::group`) unless a transport says otherwise.
pub const GROUP: usize = 256;

pub use maildir::MaildirTransport;
pub use sendmail::SendmailTransport;
pub use smtp::SmtpSender;

/// The SMTP envelope. `from: None` is the empty reverse path (`MAIL FROM:<>`), used for
/// automatic mail (bounces, auto-replies) so that it cannot cause more automatic mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub from: Option<String>,
    pub to: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("temporary: {0}")]
    Transient(String),
    #[error("permanent: {0}")]
    Permanent(String),
}

impl SendError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Permanent(_))
    }
}

pub trait Transport: Send + Sync {
    /// Hands the mail over. `Ok` carries the server's answer or the file name, for the mail log.
    fn send(&self, env: &Envelope, raw: &[u8]) -> Result<String, SendError>;
    /// Makes every mail `send` accepted so far durable; called before they are marked sent.
    /// Transports whose `send` returns only once the mail is safe elsewhere need nothing here.
    fn sync(&self) -> Result<(), SendError> {
        Ok(())
    }
    /// How many mails are handed over before one `sync` and one commit records them: what a
    /// crash between the two may send again.
    fn handover(&self) -> usize {
        SEND_LANES
    }
    /// How many mails the outbox takes from the queue at a time, up to 8 MiB of them: handed
    /// over `handover` at a time, each handover put in the journal, recorded in the index
    /// whenever its write lock is free and at the latest at the group's end, where the outbox
    /// waits for the lock. While intake files, that wait lasts about one of its batches, so the
    /// group is about what the outbox sends per batch of intake.
    fn group(&self) -> usize {
        GROUP
    }
    /// One line for the log at start-up, without secrets: "smtp mail.example.org:587 (starttls)".
    fn describe(&self) -> String;
}

impl Envelope {
    /// Rejects what no transport can carry: no recipient, or an address that is empty, has no
    /// `@`, or holds whitespace or control characters (they would break SMTP commands, header
    /// lines and sendmail's argument list). Always a permanent error.
    pub fn check(&self) -> Result<(), SendError> {
        if self.to.is_empty() {
            return Err(SendError::Permanent("no recipients".into()));
        }
        let bad = |a: &str| {
            !a.contains('@')
                || a.starts_with('-')
                || a.chars().any(|c| c.is_whitespace() || c.is_control())
                || a.contains(['<', '>'])
        };
        if let Some(f) = self.from.as_deref().filter(|f| bad(f)) {
            return Err(SendError::Permanent(format!(
                "{f:?} is not a usable envelope sender"
            )));
        }
        if let Some(t) = self.to.iter().find(|t| bad(t)) {
            return Err(SendError::Permanent(format!(
                "{t:?} is not a usable envelope recipient"
            )));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Write into the Maildir `<data-dir>/<outbox>` and let something else pick it up.
    #[default]
    Maildir,
    Smtp,
    Sendmail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tls {
    /// Plain text. Only to a loopback host, unless `allow-plaintext = true`.
    None,
    /// STARTTLS, required: a server that does not offer it is a (transient) error, never a
    /// silent downgrade.
    Starttls,
    /// TLS from the first byte ("submissions", port 465).
    Implicit,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct TransportConfig {
    pub transport: Kind,
    /// The Maildir transport's outbox; relative to the data dir unless absolute.
    pub outbox: PathBuf,
    pub smtp: SmtpConfig,
    /// The sendmail program (run directly, no shell).
    pub sendmail: PathBuf,
    /// The sendmail program is killed after this long (a transient failure).
    pub sendmail_timeout_seconds: u64,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            transport: Kind::Maildir,
            outbox: PathBuf::from("outbox"),
            smtp: SmtpConfig::default(),
            sendmail: PathBuf::from("/usr/sbin/sendmail"),
            sendmail_timeout_seconds: 120,
        }
    }
}

/// `[outgoing.smtp]`. No field holds the password itself: it is read from `password-file` or
/// the environment variable `password-env` when the transport is built, and kept in a
/// `Secret` that never prints.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// Not given: `none` for a loopback host, `starttls` otherwise.
    pub tls: Option<Tls>,
    /// Permits `tls = "none"` to a host that is not loopback.
    pub allow_plaintext: bool,
    pub user: Option<String>,
    /// A file whose first line is the password (read at start-up; trailing newline dropped).
    pub password_file: Option<PathBuf>,
    /// An environment variable holding the password.
    pub password_env: Option<String>,
    /// Connect, read and write timeout.
    pub timeout_seconds: u64,
    /// EHLO name; default the machine's host name.
    pub helo: Option<String>,
    /// Extra trusted CA certificate(s), PEM, on top of the system store (Debian ca-certificates).
    pub tls_ca_file: Option<PathBuf>,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: "127.0.0.1".into(),
            port: 25,
            tls: None,
            allow_plaintext: false,
            user: None,
            password_file: None,
            password_env: None,
            timeout_seconds: 30,
            helo: None,
            tls_ca_file: None,
        }
    }
}

impl SmtpConfig {
    /// The TLS mode in effect: the configured one, else `none` to loopback and `starttls` elsewhere.
    pub fn tls_mode(&self) -> Tls {
        self.tls.unwrap_or(if is_loopback(&self.host) {
            Tls::None
        } else {
            Tls::Starttls
        })
    }
}

/// A password. Debug and Display never show it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl TransportConfig {
    /// Checks what can be checked without touching the disk or the network; the lead's
    /// `Config::validate` should call this and prefix "outgoing.".
    pub fn validate(&self) -> Result<(), String> {
        if self.transport == Kind::Sendmail && self.sendmail.as_os_str().is_empty() {
            return Err("sendmail: the program path is empty".into());
        }
        if self.sendmail_timeout_seconds == 0 {
            return Err("sendmail-timeout-seconds must be at least 1".into());
        }
        let s = &self.smtp;
        if s.host.is_empty() || s.host.chars().any(|c| c.is_whitespace()) {
            return Err(format!("smtp.host {:?} is not a host name", s.host));
        }
        if s.port == 0 {
            return Err("smtp.port must not be 0".into());
        }
        if s.timeout_seconds == 0 {
            return Err("smtp.timeout-seconds must be at least 1".into());
        }
        if s.tls_mode() == Tls::None && !is_loopback(&s.host) && !s.allow_plaintext {
            return Err(format!(
                "smtp.tls = \"none\" to {:?}, which is not loopback: set allow-plaintext = true to permit it",
                s.host
            ));
        }
        if s.password_file.is_some() && s.password_env.is_some() {
            return Err("smtp: give password-file or password-env, not both".into());
        }
        let has_password = s.password_file.is_some() || s.password_env.is_some();
        if s.user.is_some() != has_password {
            return Err(
                "smtp: user and a password (password-file or password-env) go together".into(),
            );
        }
        if s.tls_ca_file.is_some() && s.tls_mode() == Tls::None {
            return Err("smtp.tls-ca-file is set but smtp.tls is \"none\"".into());
        }
        if let Some(h) = &s.helo {
            if h.is_empty() || h.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(format!("smtp.helo {h:?} is not a host name"));
            }
        }
        Ok(())
    }
}

/// Builds the configured transport. `data_dir` anchors a relative `outbox`; other paths
/// (sendmail, password-file, tls-ca-file) are used as given, so the caller resolves them
/// against the configuration file's folder first. Reads the password and CA file now, so a
/// mistake shows at start-up rather than at the first mail.
pub fn build(cfg: &TransportConfig, data_dir: &Path) -> Result<Box<dyn Transport>, String> {
    cfg.validate()?;
    Ok(match cfg.transport {
        Kind::Maildir => {
            let dir = data_dir.join(&cfg.outbox);
            Box::new(
                MaildirTransport::open(&dir)
                    .map_err(|e| format!("outbox {}: {e}", dir.display()))?,
            )
        }
        Kind::Smtp => Box::new(SmtpSender::new(&cfg.smtp)?),
        Kind::Sendmail => {
            if let Some(w) = confinement(cfg) {
                tracing::warn!("{w}");
            }
            Box::new(SendmailTransport::new(
                &cfg.sendmail,
                Duration::from_secs(cfg.sendmail_timeout_seconds),
            ))
        }
    })
}

/// Why the configured transport cannot work in this process, if it cannot.
pub fn confinement(cfg: &TransportConfig) -> Option<&'static str> {
    (cfg.transport == Kind::Sendmail && sendmail::no_new_privileges()).then_some(sendmail::CONFINED)
}

/// `localhost`, `localhost.` or a loopback IP literal (brackets allowed: `[::1]`).
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.eq_ignore_ascii_case("localhost.")
        || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// rustls with ring, trusting the system store and the PEM certificates in `ca_file` (for a
/// server with a certificate of the site's own CA). `what` names the setting in errors.
pub fn tls_client_config(
    what: &str,
    ca_file: Option<&Path>,
) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(native.certs);
    if let Some(path) = ca_file {
        let bad =
            |e: &dyn std::fmt::Display| format!("{what}: tls-ca-file {}: {e}", path.display());
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| bad(&e))?;
        if certs.is_empty() {
            return Err(bad(&"no certificate"));
        }
        for c in certs {
            roots.add(c).map_err(|e| bad(&e))?;
        }
    } else if added == 0 {
        return Err(format!(
            "{what}: no trusted CA certificates in the system store"
        ));
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("{what}: tls: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// First retry after this long; each further attempt waits twice as long, up to `RETRY_CAP`.
pub const RETRY_BASE: Duration = Duration::from_secs(30);
pub const RETRY_CAP: Duration = Duration::from_secs(3600);
/// Like MTAs (Postfix's maximal_queue_lifetime): bounce after five days of transient failures.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(5 * 24 * 3600);

/// How long to wait after failed attempt number `attempt` (1 = the first attempt failed):
/// 30 s, 60 s, 120 s, ... capped at 1 h, each with ±10 % jitter so that mail that failed
/// together does not retry in lockstep. `attempt` 0 is treated as 1.
pub fn retry_delay<R: rand::Rng + ?Sized>(attempt: u32, rng: &mut R) -> Duration {
    let doublings = attempt.saturating_sub(1).min(16);
    let base = RETRY_BASE.saturating_mul(1u32 << doublings).min(RETRY_CAP);
    base.mul_f64(rng.random_range(0.9..=1.1))
}

/// Whether to stop retrying and bounce: the first attempt was `max_age` or more ago.
pub fn give_up(first_attempt_age: Duration, max_age: Duration) -> bool {
    first_attempt_age >= max_age
}

#[cfg(test)]
mod tests;
