//! The staging area: files written before their index transaction commits.
//!
//! Each process writes into its own subfolder and holds an exclusive lock on a file in it for
//! its lifetime, so that recovery (in this or another process) can tell a dead writer's leftovers
//! from a live writer's work in progress. `deliver` processes run beside the daemon.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::names::UniqueNames;

const LOCK: &str = ".lock";

/// A staged file: where it is, the Maildir file name it will get, and its size.
#[derive(Debug, Clone)]
pub struct Staged {
    pub path: PathBuf,
    pub file: String,
    pub size: u64,
}

pub struct Area {
    base: PathBuf,
    mine: PathBuf,
    _lock: File,
    names: UniqueNames,
}

impl Area {
    pub fn open(base: &Path) -> io::Result<Area> {
        fs::create_dir_all(base)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mine = base.join(format!("{}-{}", std::process::id(), now.as_nanos()));
        fs::create_dir_all(&mine)?;
        let lock = File::create(mine.join(LOCK))?;
        lock.try_lock()
            .map_err(|e| io::Error::other(format!("staging lock: {e}")))?;
        Ok(Area {
            base: base.to_path_buf(),
            mine,
            _lock: lock,
            names: UniqueNames::default(),
        })
    }

    /// Chooses the name for a new staged file of `size` bytes: a unique Maildir name carrying its
    /// size (`,S=`), which Dovecot uses to avoid stat calls. Nothing is written yet.
    pub fn reserve(&self, size: u64) -> Staged {
        let file = self.names.next(size);
        Staged {
            path: self.mine.join(&file),
            file,
            size,
        }
    }

    /// Writes a reserved file; the name must not exist yet.
    pub fn write(&self, staged: &Staged, head: &[u8], body: &[u8]) -> io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&staged.path)
            .map_err(crate::access::at(&staged.path))?;
        f.write_all(head)
            .and_then(|_| f.write_all(body))
            .map_err(crate::access::at(&staged.path))
    }

    /// Whether `path` lies in this process's area or in one whose process is gone.
    pub fn is_abandoned(&self, path: &Path) -> bool {
        let Some(dir) = path.parent() else {
            return false;
        };
        if dir == self.mine {
            return true;
        }
        match File::open(dir.join(LOCK)) {
            Ok(lock) => lock.try_lock().is_ok(),
            Err(_) => true,
        }
    }

    /// Staged files of this process, and every file of staging folders whose process is gone
    /// (their lock is free). Empty dead folders are removed.
    pub fn orphans(&self) -> io::Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.base)? {
            let dir = entry?.path();
            if !dir.is_dir() {
                continue;
            }
            let ours = dir == self.mine;
            if !ours {
                let Ok(lock) = File::open(dir.join(LOCK)) else {
                    continue;
                };
                if lock.try_lock().is_err() {
                    continue; // a live process owns it
                }
            }
            let mut files = 0;
            // Another process recovering at the same moment may remove the folder under us.
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for f in entries {
                let p = f?.path();
                if p.file_name().is_some_and(|n| n != LOCK) {
                    out.push(p);
                    files += 1;
                }
            }
            if !ours && files == 0 {
                let _ = fs::remove_file(dir.join(LOCK));
                let _ = fs::remove_dir(&dir);
            }
        }
        Ok(out)
    }
}

impl Drop for Area {
    fn drop(&mut self) {
        // Only an empty area is removed: anything left is for recovery to look at.
        let only_lock = fs::read_dir(&self.mine)
            .map(|d| d.count() == 1)
            .unwrap_or(false);
        if only_lock {
            let _ = fs::remove_file(self.mine.join(LOCK));
            let _ = fs::remove_dir(&self.mine);
        }
    }
}
