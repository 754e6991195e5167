//! Smaller tables of the configuration file: `[filters]` and `[dovecot]`.

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
