//! The store's half of the freshness check (`index::generation` holds the other): a small file
//! in the store's root, `postdesk-generation`, holding the store's random identity and the
//! generation of the last commit that opened tickets. Dovecot ignores it (not a folder name).
//!
//! It is written after the index commit it reports, so it is never ahead of an index that saw
//! every commit; when it is ahead, the index missed tickets (deleted, restored from an older
//! copy, replaced). Two processes writing it at once may leave the older value: that only makes
//! the check less strict for a moment, never wrong. No fsync: the next `syncfs` covers it, and a
//! marker lost in a crash is behind, which is safe.

use std::fs;
use std::io;
use std::path::Path;

const FILE: &str = "postdesk-generation";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation {
    pub store: u64,
    pub count: u64,
}

/// The marker, `None` when there is none (a new store, or one from before markers).
pub fn read(root: &Path) -> io::Result<Option<Generation>> {
    let text = match fs::read_to_string(root.join(FILE)) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        r => r?,
    };
    let mut words = text.split_whitespace().map(str::parse::<u64>);
    match (words.next(), words.next()) {
        (Some(Ok(store)), Some(Ok(count))) => Ok(Some(Generation { store, count })),
        // A torn or edited marker says nothing; the caller treats it as absent.
        _ => Ok(None),
    }
}

/// Replaces the marker atomically (write aside, rename).
pub fn write(root: &Path, g: Generation) -> io::Result<()> {
    let tmp = root.join(format!("{FILE}.{}", std::process::id()));
    fs::write(&tmp, format!("{} {}\n", g.store, g.count)).map_err(crate::access::at(&tmp))?;
    fs::rename(&tmp, root.join(FILE)).map_err(crate::access::at(&tmp))
}
