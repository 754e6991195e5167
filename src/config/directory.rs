//! `[directory]`: where who is who comes from (see `directory`).

use std::path::PathBuf;

use serde::Deserialize;

use super::ldap;
use crate::people::Numbering;

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
