//! Smaller tables of the configuration file: `[filters]`, `[dovecot]` and `[lmtp]`.

use std::path::PathBuf;

use serde::Deserialize;

/// `[filters]`: the admin's Sieve scripts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Filters {
    /// Folder of `*.sieve` scripts, run in file-name order; relative to the configuration file.
    pub dir: PathBuf,
}

impl Default for Filters {
    fn default() -> Self {
        Filters {
            dir: PathBuf::from("filters"),
        }
    }
}

/// `[dovecot]`: what `postdesk dovecot-config` writes for serving the ticket store to agents.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Dovecot {
    /// Where the files go; relative to data-dir.
    pub dir: PathBuf,
    /// Logins with every right on every queue and on the quarantine.
    pub admins: Vec<String>,
    /// uid and gid of Dovecot's mail processes for agents in the generated passwd file
    /// (Dovecot refuses uid 0); default: the owner of the data directory.
    pub mail_uid: Option<u32>,
    pub mail_gid: Option<u32>,
    /// A group (name or number) Dovecot's mail processes run in: the store belongs to it and is
    /// group-writable (files 0660, folders 2770). Unset: files 0640, folders 0750.
    pub store_group: Option<String>,
}

impl Default for Dovecot {
    fn default() -> Self {
        Dovecot {
            dir: PathBuf::from("dovecot"),
            admins: Vec::new(),
            mail_uid: None,
            mail_gid: None,
            store_group: None,
        }
    }
}

/// `[lmtp]`: the daemon's LMTP listener, for an MTA that delivers by LMTP instead of a pipe.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Lmtp {
    /// `host:port` on a loopback address, or the absolute path of a UNIX socket; empty: no
    /// LMTP listener.
    pub listen: String,
    /// The UNIX socket's permission bits.
    pub socket_mode: u32,
    /// Seconds a client may take for a command or a piece of the message before it is
    /// disconnected.
    pub timeout_seconds: u64,
    /// Connections served at once; more are told to try again later (421).
    pub max_connections: usize,
}

impl Default for Lmtp {
    fn default() -> Self {
        Lmtp {
            listen: String::new(),
            socket_mode: 0o660,
            timeout_seconds: 300,
            max_connections: 32,
        }
    }
}

/// Where `[lmtp] listen` says to listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LmtpListen {
    Tcp(std::net::SocketAddr),
    Unix(PathBuf),
}

impl Lmtp {
    /// The address to listen on, `None` without one; an error says what is wrong with it. LMTP
    /// has no authentication, so only loopback addresses and UNIX sockets are accepted.
    pub fn address(&self) -> Result<Option<LmtpListen>, String> {
        let l = self.listen.trim();
        if l.is_empty() {
            return Ok(None);
        }
        if l.starts_with('/') {
            return Ok(Some(LmtpListen::Unix(PathBuf::from(l))));
        }
        let addr: std::net::SocketAddr = l.parse().map_err(|_| {
            format!("listen {l:?}: neither host:port (an IP address) nor an absolute socket path")
        })?;
        if !addr.ip().is_loopback() {
            return Err(format!(
                "listen {l:?}: LMTP has no authentication; listen on a loopback address or a UNIX socket"
            ));
        }
        Ok(Some(LmtpListen::Tcp(addr)))
    }

    pub fn validate(&self) -> Result<(), String> {
        self.address()?;
        if self.socket_mode > 0o777 {
            return Err("socket-mode: permission bits, at most 0o777".into());
        }
        if self.timeout_seconds == 0 || self.max_connections == 0 {
            return Err("timeout-seconds and max-connections must be at least 1".into());
        }
        Ok(())
    }
}
