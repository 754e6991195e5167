//! An agent's extension: the `extension` attribute of the directory's person with the agent's
//! address, else their first phone number.

use crate::index::{Index, Result};

pub fn of(index: &Index, address: &str) -> Result<Option<String>> {
    Ok(index.directory_person(address)?.and_then(|p| {
        p.attributes
            .get("extension")
            .cloned()
            .or_else(|| p.phone.first().cloned())
    }))
}
