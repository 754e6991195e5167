//! Who may add or remove entries of the listed tree's directory. Every postdesk process takes a
//! shared lock around its own mkdirs and renames there; compaction (see `compact`) takes it
//! exclusively while it moves the entries into a new directory, so that no postdesk process
//! creates or renames a folder in the middle. Dovecot does not take it; compaction copes with
//! what agents do meanwhile.
//!
//! A lock is held per open file description, which the threads of a process share, so the
//! shared lock is counted within the process and taken from the kernel once.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The lock file beside the listed tree.
pub const LOCK_FILE: &str = "store.lock";

pub struct ListedLock {
    path: PathBuf,
    file: File,
    holders: Mutex<u32>,
}

/// A shared hold; released when dropped (by the last holder in the process).
pub struct Shared<'a>(&'a ListedLock);

/// An exclusive hold on a file description of its own.
pub struct Exclusive(File);

impl ListedLock {
    pub fn open(data_dir: &Path) -> io::Result<ListedLock> {
        let path = data_dir.join(LOCK_FILE);
        Ok(ListedLock {
            file: open_lock_file(&path)?,
            path,
            holders: Mutex::new(0),
        })
    }

    pub fn shared(&self) -> io::Result<Shared<'_>> {
        let mut n = self.holders.lock().expect("listed lock holders");
        if *n == 0 {
            self.file
                .lock_shared()
                .map_err(crate::access::at(&self.path))?;
        }
        *n += 1;
        Ok(Shared(self))
    }

    /// Waits until no other process holds the lock. Not for a process that holds it shared.
    pub fn exclusive(&self) -> io::Result<Exclusive> {
        let f = open_lock_file(&self.path)?;
        f.lock().map_err(crate::access::at(&self.path))?;
        Ok(Exclusive(f))
    }
}

impl Drop for Shared<'_> {
    fn drop(&mut self) {
        let mut n = self.0.holders.lock().expect("listed lock holders");
        *n -= 1;
        if *n == 0 {
            let _ = self.0.file.unlock();
        }
    }
}

impl Drop for Exclusive {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// Opened for reading (a lock needs no more), so a process of another user than the one that
/// made the file can take it too.
fn open_lock_file(path: &Path) -> io::Result<File> {
    match File::open(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o644)
                .open(path)
                .map_err(crate::access::at(path))?;
            File::open(path).map_err(crate::access::at(path))
        }
        r => r.map_err(crate::access::at(path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_holds_are_counted_and_exclude_an_exclusive_one() {
        let tmp = tempfile::tempdir().unwrap();
        let lock = ListedLock::open(tmp.path()).unwrap();
        let other = File::open(tmp.path().join(LOCK_FILE)).unwrap();
        let a = lock.shared().unwrap();
        let b = lock.shared().unwrap();
        drop(a);
        assert!(other.try_lock().is_err(), "still held by b");
        drop(b);
        other.try_lock().unwrap();
        other.unlock().unwrap();
        let ex = lock.exclusive().unwrap();
        assert!(other.try_lock_shared().is_err());
        drop(ex);
        other.try_lock_shared().unwrap();
    }
}
