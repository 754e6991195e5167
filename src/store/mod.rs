//! The ticket store: a Maildir++ tree that Dovecot serves as it is.
//!
//! Only this module knows the on-disk layout:
//! ```text
//! <data-dir>/store/.Support/                       a queue (an empty, selectable mail folder)
//! <data-dir>/store/.Support.2026112110000017/      an open ticket: cur/ new/ tmp/, one file per article
//! <data-dir>/store/.Support.Closed/                the queue's closed area
//! <data-dir>/store/.Support.Closed.2026112010000023/   a closed ticket
//! <data-dir>/store/.Quarantine/                    messages that became no article, with the reason
//! <data-dir>/staging/<process>/                    files written but not yet committed
//! ```
//! Articles are written to the staging area, made durable, committed in the index, then renamed
//! into the ticket folder's `new/`; a rename within one file system is atomic, so a reader sees
//! a whole article or none. Nothing here edits a stored file in place.

pub mod durable;
pub mod generation;
mod layout;
pub mod names;
mod scan;
mod staging;
pub mod trace;

pub use layout::{Folder, QUARANTINE};
pub use scan::{ArticleFile, TreeTicket};
pub use staging::Staged;

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub struct Store {
    root: PathBuf,
    staging: staging::Area,
    durable: bool,
    known: Mutex<HashSet<String>>,
}

impl Store {
    /// Opens (creating when needed) the store and this process's staging area under `data_dir`.
    pub fn open(data_dir: &Path, durable: bool) -> io::Result<Store> {
        let root = data_dir.join("store");
        let at = crate::access::at;
        fs::create_dir_all(&root).map_err(at(&root))?;
        layout::make_maildir(&root, false).map_err(at(&root))?;
        let area = data_dir.join("staging");
        let staging = staging::Area::open(&area).map_err(at(&area))?;
        let store = Store {
            root,
            staging,
            durable,
            known: Mutex::new(HashSet::new()),
        };
        store.ensure_folder(&Folder::quarantine())?;
        Ok(store)
    }

    /// Names a staged file without writing it, so that writes can happen later, in parallel.
    pub fn reserve(&self, size: u64) -> Staged {
        self.staging.reserve(size)
    }

    pub fn write_staged(&self, staged: &Staged, head: &[u8], body: &[u8]) -> io::Result<()> {
        self.staging.write(staged, head, body)
    }

    /// Makes everything written so far durable: one syncfs for the whole batch, which covers the
    /// staged files' data and every rename and mkdir done before it. A no-op when not durable.
    pub fn sync(&self) -> io::Result<()> {
        if self.durable {
            durable::syncfs(&self.root)?;
        }
        Ok(())
    }

    /// Creates a mail folder (and its queue/closed-area parents) if missing. Folders seen to be
    /// complete are remembered, so the common case costs no system call.
    pub fn ensure_folder(&self, folder: &Folder) -> io::Result<bool> {
        let mut created = false;
        for f in folder.with_parents() {
            let name = f.dir_name();
            if self.known.lock().expect("known folders").contains(&name) {
                continue;
            }
            let dir = self.root.join(&name);
            // All three: a crash may have stopped make_maildir half way.
            if !["cur", "new", "tmp"].iter().all(|s| dir.join(s).is_dir()) {
                match fs::create_dir(&dir) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(crate::access::at(&dir)(e)),
                }
                layout::make_maildir(&dir, !matches!(f, Folder::Ticket { .. }))
                    .map_err(crate::access::at(&dir))?;
                created = true;
            }
            self.remember(name);
        }
        Ok(created)
    }

    /// Creates the folder of a ticket opened just now: no look before the mkdir, since in a large
    /// store each look for a name that does not exist yet is a search of a large directory.
    pub fn create_fresh(&self, folder: &Folder) -> io::Result<()> {
        for parent in folder.with_parents() {
            if parent != *folder {
                self.ensure_folder(&parent)?;
            }
        }
        let name = folder.dir_name();
        let dir = self.root.join(&name);
        match fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(crate::access::at(&dir)(e)),
        }
        layout::make_maildir(&dir, !matches!(folder, Folder::Ticket { .. }))
            .map_err(crate::access::at(&dir))?;
        self.remember(name);
        Ok(())
    }

    /// Marks a folder as existing with its `new/` (one stat), for placing into it.
    pub fn check_placeable(&self, folder: &Folder) -> bool {
        if self.is_known(folder) {
            return true;
        }
        let ok = self.root.join(folder.dir_name()).join("new").is_dir();
        if ok {
            self.remember(folder.dir_name());
        }
        ok
    }

    /// The cache of known folders is bounded: it serves the queues and the tickets of recent
    /// batches, not the whole store.
    fn remember(&self, name: String) {
        let mut known = self.known.lock().expect("known folders");
        if known.len() >= 20_000 {
            known.clear();
        }
        known.insert(name);
    }

    /// Whether the folder was seen complete by this process (and not renamed by it since).
    pub fn is_known(&self, folder: &Folder) -> bool {
        self.known
            .lock()
            .expect("known folders")
            .contains(&folder.dir_name())
    }

    /// Forgets what is known about a folder (it was renamed, perhaps by another process).
    pub fn forget(&self, folder: &Folder) {
        self.known
            .lock()
            .expect("known folders")
            .remove(&folder.dir_name());
    }

    /// Moves a staged file into `folder`'s `new/` under its final name.
    /// Renames a staged file into a folder: into new/, or, when `file` carries Maildir flags
    /// (`NAME:2,S`), into cur/ as a mail client would have left it.
    pub fn place(&self, staged: &Path, folder: &Folder, file: &str) -> io::Result<PathBuf> {
        let sub = if file.contains(":2,") { "cur" } else { "new" };
        let target = self.root.join(folder.dir_name()).join(sub).join(file);
        match fs::rename(staged, &target) {
            // NotFound is a question the caller answers (the folder was renamed meanwhile).
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(crate::access::at(&target)(e)),
            r => r.map(|_| target),
        }
    }

    /// Where an article is now: Dovecot moves files from new/ to cur/ and appends flags.
    pub fn locate(&self, folder: &Folder, file: &str) -> Option<PathBuf> {
        locate_in(&self.root, folder, file)
    }

    pub fn folder_exists(&self, folder: &Folder) -> bool {
        self.root.join(folder.dir_name()).join("cur").is_dir()
    }

    /// Renames a whole ticket folder (close, reopen, move to another queue). Like every other
    /// change to the tree it becomes durable with the caller's next `sync`.
    pub fn rename_folder(&self, from: &Folder, to: &Folder) -> io::Result<()> {
        for parent in to.with_parents() {
            if parent != *to {
                self.ensure_folder(&parent)?;
            }
        }
        self.forget(from);
        let target = self.root.join(to.dir_name());
        fs::rename(self.root.join(from.dir_name()), &target).map_err(crate::access::at(&target))
    }

    /// The staged files of this process and of processes that died (the caller decides which
    /// of them are committed). Staging areas of live processes are left alone.
    pub fn orphaned_staged(&self) -> io::Result<Vec<PathBuf>> {
        self.staging.orphans()
    }

    /// Whether a staged file belongs to this process or to one that is gone.
    pub fn is_abandoned(&self, staged: &Path) -> bool {
        self.staging.is_abandoned(staged)
    }

    /// The folder a ticket number has in the tree, in whichever queue or state.
    pub fn find_ticket(&self, number: &str) -> io::Result<Option<Folder>> {
        let suffix = format!(".{number}");
        for entry in fs::read_dir(&self.root)? {
            let name = entry?.file_name();
            let Some(name) = name.to_str() else { continue };
            if !name.ends_with(&suffix) {
                continue;
            }
            if let Some(f @ Folder::Ticket { .. }) = Folder::from_dir_name(name) {
                return Ok(Some(f));
            }
        }
        Ok(None)
    }

    /// Every ticket folder in the tree (names only: nothing inside is read).
    pub fn ticket_folders(&self) -> io::Result<Vec<Folder>> {
        let mut out = Vec::new();
        let entries = match fs::read_dir(&self.root) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            r => r?,
        };
        for entry in entries {
            let name = entry?.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(f @ Folder::Ticket { .. }) = Folder::from_dir_name(name) {
                out.push(f);
            }
        }
        Ok(out)
    }

    /// When a folder last changed (a rename sets it: the directory's ctime).
    pub fn changed_at(&self, folder: &Folder) -> io::Result<std::time::SystemTime> {
        use std::os::unix::fs::MetadataExt;
        let meta = fs::metadata(self.root.join(folder.dir_name()))?;
        Ok(std::time::UNIX_EPOCH
            + std::time::Duration::new(meta.ctime().max(0) as u64, meta.ctime_nsec() as u32))
    }

    /// The store's generation marker (see `generation`).
    pub fn generation(&self) -> io::Result<Option<generation::Generation>> {
        generation::read(&self.root)
    }

    pub fn set_generation(&self, g: generation::Generation) -> io::Result<()> {
        generation::write(&self.root, g)
    }

    /// Whether the tree holds any ticket or quarantined message: stops at the first one, so a
    /// large store costs a few directory entries.
    pub fn has_contents(&self) -> io::Result<bool> {
        for entry in fs::read_dir(&self.root)? {
            let name = entry?.file_name();
            if let Some(Folder::Ticket { .. }) = name.to_str().and_then(Folder::from_dir_name) {
                return Ok(true);
            }
        }
        let q = self.root.join(Folder::quarantine().dir_name());
        for sub in ["new", "cur"] {
            if fs::read_dir(q.join(sub))?.next().is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub fn history_path(&self, folder: &Folder) -> PathBuf {
        self.root.join(folder.dir_name()).join(layout::HISTORY_FILE)
    }
}

/// `Store::locate` without opening a store (read-only commands).
pub fn locate_in(root: &Path, folder: &Folder, file: &str) -> Option<PathBuf> {
    let dir = root.join(folder.dir_name());
    let p = dir.join("new").join(file);
    if p.exists() {
        return Some(p);
    }
    let p = dir.join("cur").join(file);
    if p.exists() {
        return Some(p);
    }
    let prefix = format!("{file}:");
    fs::read_dir(dir.join("cur")).ok()?.flatten().find_map(|e| {
        let name = e.file_name();
        let name = name.to_str()?;
        name.starts_with(&prefix).then(|| e.path())
    })
}

/// The tree as it is on disk, for reading only (`reindex`, `fsck`): opening it creates and
/// locks nothing.
pub struct Tree {
    root: PathBuf,
}

impl Tree {
    pub fn at(data_dir: &Path) -> Tree {
        Tree {
            root: data_dir.join("store"),
        }
    }

    /// Every ticket folder with its article files; none when there is no store yet.
    pub fn tickets(&self) -> io::Result<Vec<TreeTicket>> {
        match scan::tickets(&self.root) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            r => r,
        }
    }

    /// Every file in the quarantine folder.
    pub fn quarantine(&self) -> io::Result<Vec<ArticleFile>> {
        scan::files(&self.root.join(Folder::quarantine().dir_name()))
    }
}
