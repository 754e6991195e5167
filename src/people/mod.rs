//! Who is who, as data: persons, organisations, services with their instances, groups, and
//! phone numbers in E.164. No I/O and no other module of the crate: the directory reads them
//! from a file or LDAP, the index stores and finds them, intake and the telephone use them.

mod model;
pub mod phone;

pub use model::{Directory, Group, Organisation, Person, Service, ServiceInstance};
pub use phone::Numbering;
