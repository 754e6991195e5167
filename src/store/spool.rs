//! Files that arrive before their message is filed (a call's recording, as the PBX sends it).
//!
//! They are kept in a staging area of their own, not in an intake engine's: recovery after a
//! failed batch removes every file of its own process's area that no index row names, which
//! would take a recording still arriving on another connection. A spool's area is locked as
//! long as its process lives, so recovery leaves it alone; once the process is gone, its files
//! are staging leftovers like any other and the next recovery (at any start of the daemon,
//! `deliver` or a command that opens the store) removes them.
//!
//! A spooled file is removed when its handle is dropped: after its message was filed, or when
//! the request that brought it failed or was refused.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::staging::Area;

pub struct Spool {
    area: Area,
}

impl Spool {
    /// A spool in the staging area under `data_dir`, of node `node`.
    pub fn open(data_dir: &Path, node: &str) -> io::Result<Spool> {
        let base = super::staging_dir(data_dir);
        Ok(Spool {
            area: Area::open(&base, node).map_err(crate::access::at(&base))?,
        })
    }

    /// A new, empty file.
    pub fn create(&self) -> io::Result<SpoolFile> {
        let path = self.area.reserve(0).path;
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(crate::access::at(&path))?;
        Ok(SpoolFile {
            path,
            file: Some(file),
            len: 0,
        })
    }
}

/// A file being spooled, removed when dropped.
#[derive(Debug)]
pub struct SpoolFile {
    path: PathBuf,
    /// Open while it is written.
    file: Option<File>,
    len: u64,
}

impl SpoolFile {
    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let Some(f) = self.file.as_mut() else {
            return Err(io::Error::other("the spooled file is closed"));
        };
        f.write_all(bytes).map_err(crate::access::at(&self.path))?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Closes it for writing; it is read by its path from then on.
    pub fn close(&mut self) {
        self.file = None;
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SpoolFile {
    fn drop(&mut self) {
        self.file = None;
        if let Err(e) = fs::remove_file(&self.path) {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!("{}: not removed: {e}", self.path.display());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spooled_file_is_gone_when_dropped_and_the_area_is_no_one_elses() {
        let data = tempfile::tempdir().unwrap();
        let spool = Spool::open(data.path(), "a").unwrap();
        let mut f = spool.create().unwrap();
        f.write_all(b"RIFF....WAVE").unwrap();
        f.close();
        assert_eq!(fs::read(f.path()).unwrap(), b"RIFF....WAVE");
        // An engine's area in the same process does not take it for a leftover.
        let engine = Area::open(&crate::store::staging_dir(data.path()), "a").unwrap();
        assert!(engine
            .orphans(&super::super::staging::Liveness::alone("a"))
            .unwrap()
            .is_empty());
        let path = f.path().to_path_buf();
        drop(f);
        assert!(!path.exists());
    }

    #[test]
    fn a_dead_spools_files_are_leftovers() {
        let data = tempfile::tempdir().unwrap();
        let spool = Spool::open(data.path(), "a").unwrap();
        let f = spool.create().unwrap();
        let path = f.path().to_path_buf();
        std::mem::forget(f);
        drop(spool); // its lock is released, as when its process dies
        let engine = Area::open(&crate::store::staging_dir(data.path()), "a").unwrap();
        assert_eq!(
            engine
                .orphans(&super::super::staging::Liveness::alone("a"))
                .unwrap(),
            vec![path]
        );
    }
}
