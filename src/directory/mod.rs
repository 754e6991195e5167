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

pub use crate::people::{phone, Numbering};
pub use crate::people::{Directory, Group, Organisation, Person, Service, ServiceInstance};
pub use background::Refresher;
pub use file::{load, parse, DirectoryError};
pub use refresh::{forget_ldap, refresh_and_record, refresh_ldap, Refreshed};
pub use sync::{sync_file, Synced};

pub use crate::config::directory::DirectoryConfig;
