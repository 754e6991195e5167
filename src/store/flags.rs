//! Maildir flags in an article's file name (`NAME:2,FS`), changed as a mail client changes them:
//! by renaming the file into `cur/` with the new flags, letters in ASCII order. Dovecot, which
//! may rename the same file at the same time (an agent reads it), keys its UIDs on the base name
//! and reads flags from the name, so a rename of ours is a flag change it picks up; when its
//! rename wins, ours finds the file gone and is tried again under the new name.

use std::collections::BTreeSet;
use std::io;

use super::{Folder, Store};

/// How often a rename that lost a race with another renamer is tried again.
const TRIES: usize = 8;

impl Store {
    /// Sets (`on`) or clears a flag on an article; `false` when the article is not in the
    /// folder. Changes nothing when the flag already is as wanted.
    pub fn set_flag(&self, folder: &Folder, file: &str, flag: char, on: bool) -> io::Result<bool> {
        for _ in 0..TRIES {
            let Some(path) = self.locate(folder, file) else {
                return Ok(false);
            };
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            let (base, flags) = name.split_once(":2,").unwrap_or((&name, ""));
            if flags.contains(flag) == on {
                return Ok(true);
            }
            let mut set: BTreeSet<char> = flags.chars().collect();
            if on {
                set.insert(flag);
            } else {
                set.remove(&flag);
            }
            let target = self
                .path_of(folder)
                .join("cur")
                .join(format!("{base}:2,{}", set.iter().collect::<String>()));
            match std::fs::rename(&path, &target) {
                Ok(()) => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(crate::access::at(&target)(e)),
            }
        }
        Err(io::Error::other(format!(
            "{file}: renamed by someone else {TRIES} times while its flags were changed"
        )))
    }
}
