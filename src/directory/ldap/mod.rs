//! The directory from an LDAP server: `[directory.ldap]` in the configuration (`config`), what
//! an entry's attributes mean (`entry`, pure), and the connection with its paged searches
//! (`conn`). `refresh` (one level up) writes what changed into the index.

mod conn;
mod entry;

pub use crate::config::ldap::{self as config, Attributes, LdapConfig};
pub use conn::{Connection, LdapError};
pub use entry::{dn_key, organisation_names, Raw, Reader};

/// The source name of LDAP's entries in the index.
pub const SOURCE: &str = "ldap";
