//! How the last reads of the LDAP directory went: a small JSON file in the data directory,
//! rewritten (atomically) after every attempt by whoever made it (the daemon or `directory
//! sync`), read by `postdesk status`. The copy itself is in the index; this only says since when
//! it is the last good one and why the newer attempts failed.

use std::path::Path;

use serde::{Deserialize, Serialize};

pub const FILE: &str = "directory-ldap.json";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LdapState {
    pub last_attempt: Option<String>,
    /// The end of the last complete read: the copy in force is from then.
    pub last_success: Option<String>,
    /// Why the last attempt failed; none when it succeeded.
    pub last_error: Option<String>,
    /// Entries the last complete read found.
    pub persons: u64,
    pub organisations: u64,
    pub groups: u64,
    /// Entries the last complete read wrote (new or changed) and removed.
    pub written: u64,
    pub removed: u64,
    /// How long the last complete read took.
    pub seconds: f64,
}

pub fn read(data_dir: &Path) -> Option<LdapState> {
    serde_json::from_slice(&std::fs::read(data_dir.join(FILE)).ok()?).ok()
}

/// Writes the state; a failure is only logged.
pub fn write(data_dir: &Path, s: &LdapState) {
    crate::status::write_json(data_dir, FILE, s)
}
