//! Who is who: persons, organisations, services and groups from a directory file, copied into
//! the index so that intake asks one indexed query per new ticket (`index::directory`).
//!
//! The data (and `phone`, numbers to E.164) is `crate::people`; `file` reads the admin's file
//! strictly, `sync` copies it into the index when it changed; `ldap` reads an LDAP server and
//! `refresh` writes what changed there into the index, `state` says how the last reads went.
//! Both sources may be configured: where they know the same address, number or group, the
//! file's entry wins (`index::directory`).

mod background;
mod file;
pub mod ldap;
mod people_csv;
mod refresh;
pub mod rights;
pub mod state;
mod sync;

use std::path::PathBuf;

use serde::Deserialize;

pub use crate::people::{phone, Numbering};
pub use crate::people::{Directory, Group, Organisation, Person, Service, ServiceInstance};
pub use background::Refresher;
pub use file::{load, parse, DirectoryError};
pub use refresh::{forget_ldap, refresh_and_record, refresh_ldap, Refreshed};
pub use sync::{sync_file, Synced};

/// `[directory]` in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct DirectoryConfig {
    /// The directory file (TOML), relative to the configuration file; none: no file.
    pub file: Option<PathBuf>,
    /// CSV files of persons (exported from elsewhere), read with the directory file and
    /// relative to the configuration file.
    pub people: Vec<PathBuf>,
    /// Country calling code numbers written nationally are completed with (`49`).
    pub country_code: String,
    /// Area code (without the leading 0) numbers written locally are completed with.
    pub area_code: String,
    /// `[directory.ldap]`: persons, organisations and groups from an LDAP server.
    pub ldap: Option<ldap::LdapConfig>,
}

impl Default for DirectoryConfig {
    fn default() -> Self {
        let n = Numbering::default();
        DirectoryConfig {
            file: None,
            people: Vec::new(),
            country_code: n.country_code,
            area_code: n.area_code,
            ldap: None,
        }
    }
}

impl DirectoryConfig {
    pub fn numbering(&self) -> Numbering {
        Numbering {
            country_code: self.country_code.clone(),
            area_code: self.area_code.clone(),
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        self.numbering().validate()?;
        if !self.people.is_empty() && self.file.is_none() {
            return Err(
                "people: CSV files of persons need a directory file (file) beside them".into(),
            );
        }
        if let Some(l) = &self.ldap {
            l.validate().map_err(|e| format!("ldap: {e}"))?;
        }
        Ok(())
    }
}
