//! `[[imap]]` entries: one IMAP account to fetch mail from. Strict parsing (unknown keys are
//! rejected with their name), defaults, and `validate`, which checks what can be checked without
//! touching the disk or the network. The password is never part of the configuration: it is read
//! from `password-file` or the environment variable `password-env` when the source is built and
//! kept in a `Secret` that never prints.

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use crate::transport::{is_loopback, Secret};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tls {
    /// TLS from the first byte (imaps, port 993).
    #[default]
    Implicit,
    /// STARTTLS, required: a server that does not offer it is an error, never a silent downgrade.
    Starttls,
    /// Plain text; only to a loopback host.
    None,
}

/// What happens to a message at the server once postdesk has committed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImapAfter {
    /// Flag it `\Seen` and leave it where it is (the checkpoint keeps it from being fetched again).
    Seen,
    /// Move it into `processed-folder`.
    #[default]
    Move,
    /// Flag it `\Deleted` and expunge it.
    Delete,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImapConfig {
    /// The source's name in logs, the index and `postdesk status`.
    pub name: String,
    pub host: String,
    /// Default 993 with implicit TLS, 143 otherwise.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: Tls,
    pub user: String,
    /// A file whose first line is the password; relative to the configuration file's folder.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// An environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// Mailbox names as the server lists them (modified UTF-7 for non-ASCII names).
    #[serde(default = "default_folders")]
    pub folders: Vec<String>,
    #[serde(default)]
    pub after: ImapAfter,
    /// Where `after = "move"` puts committed messages; created if missing.
    #[serde(default = "default_processed")]
    pub processed_folder: String,
    /// Use IDLE when the server offers it; otherwise (or when false) poll.
    #[serde(default = "yes")]
    pub idle: bool,
    #[serde(default = "default_poll")]
    pub poll_seconds: u64,
    /// Limit for connecting and for each command (for a long FETCH: between two messages).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Larger messages are not fetched; they are reported as `Item::Oversize`.
    #[serde(default = "default_max_bytes")]
    pub max_message_bytes: u64,
    /// Extra trusted CA certificate(s), PEM, on top of the system store.
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
}

fn default_folders() -> Vec<String> {
    vec!["INBOX".into()]
}
fn default_processed() -> String {
    "Processed".into()
}
fn yes() -> bool {
    true
}
fn default_poll() -> u64 {
    60
}
fn default_timeout() -> u64 {
    30
}
fn default_max_bytes() -> u64 {
    64 << 20
}

impl ImapConfig {
    /// The port in effect: the configured one, else 993 for implicit TLS and 143 otherwise.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            Tls::Implicit => 993,
            Tls::Starttls | Tls::None => 143,
        })
    }

    /// Checks the entry; the lead's `Config::validate` should prefix `imap.<name>: ` where the
    /// message does not already name the source.
    pub fn validate(&self) -> Result<(), String> {
        let n = &self.name;
        if n.is_empty()
            || !n
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(format!(
                "imap: name {n:?} must be non-empty ASCII letters, digits, '-', '_' or '.'"
            ));
        }
        let bad_host = self.host.is_empty() || self.host.chars().any(|c| c.is_whitespace());
        if bad_host {
            return Err(format!("imap.{n}: host {:?} is not a host name", self.host));
        }
        if self.port == Some(0) {
            return Err(format!("imap.{n}: port must not be 0"));
        }
        if self.tls == Tls::None && !is_loopback(&self.host) {
            return Err(format!(
                "imap.{n}: tls = \"none\" is only allowed to a loopback host, not {:?}",
                self.host
            ));
        }
        if self.tls_ca_file.is_some() && self.tls == Tls::None {
            return Err(format!("imap.{n}: tls-ca-file is set but tls is \"none\""));
        }
        if !valid_text(&self.user) {
            return Err(format!(
                "imap.{n}: user must be non-empty, without control characters"
            ));
        }
        match (&self.password_file, &self.password_env) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "imap.{n}: give password-file or password-env, not both"
                ))
            }
            (None, None) => {
                return Err(format!(
                    "imap.{n}: password-file or password-env is required"
                ))
            }
            _ => {}
        }
        if self.folders.is_empty() {
            return Err(format!("imap.{n}: folders must not be empty"));
        }
        for f in self.folders.iter().chain([&self.processed_folder]) {
            if !valid_text(f) || !f.is_ascii() {
                return Err(format!(
                    "imap.{n}: folder {f:?} must be non-empty ASCII (give non-ASCII names in modified UTF-7, as the server lists them)"
                ));
            }
        }
        if self.after == ImapAfter::Move && self.folders.contains(&self.processed_folder) {
            return Err(format!(
                "imap.{n}: processed-folder {:?} is also one of the folders fetched from",
                self.processed_folder
            ));
        }
        if self.poll_seconds == 0 || self.timeout_seconds == 0 {
            return Err(format!(
                "imap.{n}: poll-seconds and timeout-seconds must be at least 1"
            ));
        }
        if self.max_message_bytes == 0 {
            return Err(format!("imap.{n}: max-message-bytes must be at least 1"));
        }
        Ok(())
    }

    /// Reads the password; `base_dir` anchors a relative `password-file`.
    pub fn read_password(&self, base_dir: &Path) -> Result<Secret, String> {
        let n = &self.name;
        if let Some(path) = &self.password_file {
            let path = base_dir.join(path);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("imap.{n}: password-file {}: {e}", path.display()))?;
            let line = text.lines().next().unwrap_or("");
            if line.is_empty() {
                return Err(format!("imap.{n}: password-file {}: empty", path.display()));
            }
            return Ok(Secret::new(line.to_owned()));
        }
        if let Some(var) = &self.password_env {
            return match std::env::var(var) {
                Ok(v) if !v.is_empty() => Ok(Secret::new(v)),
                _ => Err(format!(
                    "imap.{n}: password-env: ${var} is not set or empty"
                )),
            };
        }
        Err(format!(
            "imap.{n}: password-file or password-env is required"
        ))
    }
}

fn valid_text(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(|c| c.is_control())
}
