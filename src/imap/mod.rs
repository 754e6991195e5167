//! IMAP sources: mail fetched from mailboxes on an IMAP server (async-imap on a current-thread
//! tokio runtime that each `ImapSource` owns, so the daemon's threads call it synchronously).
//!
//! Durability stays with the caller, as for Maildir sources: `fetch` reads messages without
//! changing anything at the server (UID SEARCH, then UID FETCH of RFC822.SIZE and BODY.PEEK[]);
//! the caller commits them and stores a `Checkpoint` per (source, folder); only then does it call
//! `acknowledge`, which flags, moves or deletes them as configured. A crash in between fetches
//! them again; the caller recognises them by content digest.
//!
//! Errors say whether retrying can help: `Auth` (our configuration is wrong), `Transient`
//! (network, timeout, BYE: the connection is dropped and the next call reconnects, after a
//! backoff if connecting itself failed), `Protocol` (the server refused a command).

mod backoff;
mod client;
mod config;
mod conn;
mod idle;
mod ops;

pub use client::ImapSource;
pub use config::{is_loopback, ImapAfter, ImapConfig, Secret, Tls};

use std::time::SystemTime;

/// Where the caller got to in one folder; stored in its index per (source, folder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    pub uidvalidity: u32,
    pub last_uid: u32,
}

/// A message's bytes as the server stores them (Dovecot sends CRLF line ends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub folder: String,
    pub uid: u32,
    pub uidvalidity: u32,
    pub raw: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Mail(Fetched),
    /// Larger than `max-message-bytes`: its body was not fetched. The caller decides what to do
    /// (log it, advance the checkpoint past it, acknowledge it or leave it).
    Oversize {
        folder: String,
        uid: u32,
        uidvalidity: u32,
        size: u64,
    },
}

impl Item {
    pub fn uid(&self) -> u32 {
        match self {
            Item::Mail(f) => f.uid,
            Item::Oversize { uid, .. } => *uid,
        }
    }

    pub fn uidvalidity(&self) -> u32 {
        match self {
            Item::Mail(f) => f.uidvalidity,
            Item::Oversize { uidvalidity, .. } => *uidvalidity,
        }
    }

    /// The checkpoint to store once this item (and every one before it) is committed.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            uidvalidity: self.uidvalidity(),
            last_uid: self.uid(),
        }
    }
}

/// For `postdesk status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceState {
    pub connected: bool,
    pub last_success: Option<SystemTime>,
    pub last_error: Option<String>,
    /// Set while connecting is suspended after failures (1 s doubling to 5 min).
    pub backoff_until: Option<SystemTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImapError {
    /// The server refused our credentials (or login altogether): fix the configuration.
    #[error("authentication: {0}")]
    Auth(String),
    /// Network trouble, a timeout, the server going away: retry later.
    #[error("transient: {0}")]
    Transient(String),
    /// The server refused or garbled a command (a folder that does not exist, a NO, a BAD).
    #[error("protocol: {0}")]
    Protocol(String),
}

impl ImapError {
    pub fn is_transient(&self) -> bool {
        matches!(self, ImapError::Transient(_))
    }

    /// The same class with `context: ` in front of the message.
    pub(crate) fn context(self, context: &str) -> ImapError {
        match self {
            ImapError::Auth(m) => ImapError::Auth(format!("{context}: {m}")),
            ImapError::Transient(m) => ImapError::Transient(format!("{context}: {m}")),
            ImapError::Protocol(m) => ImapError::Protocol(format!("{context}: {m}")),
        }
    }

    /// An error from async-imap: I/O and lost connections are transient, refusals are protocol
    /// errors (LOGIN maps its refusals to `Auth` itself).
    pub(crate) fn from_imap(e: async_imap::error::Error) -> ImapError {
        use async_imap::error::Error as E;
        match e {
            E::Io(io) => ImapError::Transient(io.to_string()),
            E::ConnectionLost => ImapError::Transient("connection lost".into()),
            other => ImapError::Protocol(other.to_string()),
        }
    }
}
