//! Making ticket and queue folders, and the bounded cache of folders known to be complete, so
//! that the common case (a folder of a recent batch) costs no system call.

use std::fs;
use std::io;
use std::path::PathBuf;

use super::{layout, Folder, Store};

impl Store {
    /// Creates a mail folder (and its queue parent) if missing. Folders seen to be complete are
    /// remembered, so the common case costs no system call.
    pub fn ensure_folder(&self, folder: &Folder) -> io::Result<bool> {
        let mut created = false;
        for f in folder.with_parents() {
            let name = f.dir_name();
            if self
                .known
                .lock()
                .expect("known folders")
                .contains_key(&name)
            {
                continue;
            }
            let dir = self.roots.path(&f, || self.month());
            // All three: a crash may have stopped make_maildir half way.
            if !["cur", "new", "tmp"].iter().all(|s| dir.join(s).is_dir()) {
                let _listed = self.listed.shared()?;
                if let Some(parent) = dir.parent() {
                    if parent != self.roots.open {
                        fs::create_dir_all(parent)?;
                    }
                }
                match fs::create_dir(&dir) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(crate::access::at(&dir)(e)),
                }
                layout::make_maildir(&dir, !matches!(f, Folder::Ticket { .. }))
                    .map_err(crate::access::at(&dir))?;
                created = true;
            }
            self.remember(name, dir);
        }
        Ok(created)
    }

    /// Creates the folder of a ticket opened just now: no look before the mkdir, since in a large
    /// store each look for a name that does not exist yet is a search of a large directory.
    pub fn create_fresh(&self, folder: &Folder) -> io::Result<()> {
        if matches!(folder, Folder::Ticket { closed: true, .. }) {
            return self.ensure_folder(folder).map(|_| ());
        }
        for parent in folder.with_parents() {
            if parent != *folder {
                self.ensure_folder(&parent)?;
            }
        }
        let name = folder.dir_name();
        let dir = self.roots.open.join(&name);
        let _listed = self.listed.shared()?;
        match fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(crate::access::at(&dir)(e)),
        }
        layout::make_maildir(&dir, !matches!(folder, Folder::Ticket { .. }))
            .map_err(crate::access::at(&dir))?;
        self.remember(name, dir);
        Ok(())
    }

    /// Marks a folder as existing with its `new/` (one stat), for placing into it.
    pub fn check_placeable(&self, folder: &Folder) -> bool {
        if self.is_known(folder) {
            return true;
        }
        let Some(dir) = self.roots.find(folder) else {
            return false;
        };
        let ok = dir.join("new").is_dir();
        if ok {
            self.remember(folder.dir_name(), dir);
        }
        ok
    }

    /// The cache of known folders is bounded: it serves the queues and the tickets of recent
    /// batches, not the whole store.
    fn remember(&self, name: String, dir: PathBuf) {
        let mut known = self.known.lock().expect("known folders");
        if known.len() >= 20_000 {
            known.clear();
        }
        known.insert(name, dir);
    }

    /// Whether the folder was seen complete by this process (and not renamed by it since).
    pub fn is_known(&self, folder: &Folder) -> bool {
        self.known
            .lock()
            .expect("known folders")
            .contains_key(&folder.dir_name())
    }

    /// Forgets what is known about a folder (it was renamed, perhaps by another process).
    pub fn forget(&self, folder: &Folder) {
        self.known
            .lock()
            .expect("known folders")
            .remove(&folder.dir_name());
    }
}
