//! The ticket store: a Maildir++ tree of open tickets that Dovecot serves as it is, and the
//! archive of closed tickets beside it, served as a second namespace that is not listed.
//!
//! Only this module knows the on-disk layout:
//! ```text
//! <data-dir>/store/.Support/                       a queue (an empty, selectable mail folder)
//! <data-dir>/store/.Support.2026112110000017/      an open ticket: cur/ new/ tmp/, one file per article
//! <data-dir>/store/.Quarantine/                    messages that became no article, with the reason
//! <data-dir>/archive/Support/2026-12/2026112010000023/   a ticket closed in December 2026 (LAYOUT=fs)
//! <data-dir>/store/.Support.Closed.2026112010000023/     a closed ticket of a store from before the
//!                                                  archive, until `migrate-layout` moves it
//! <data-dir>/staging/<process>/                    files written but not yet committed
//! ```
//! Articles are written to the staging area, made durable, committed in the index, then renamed
//! into the ticket folder's `new/`; a rename within one file system is atomic, so a reader sees
//! a whole article or none. Closing and reopening are one rename of the ticket's folder between
//! the two trees. Nothing here edits a stored file in place.

pub mod acl;
mod archive;
pub mod compact;
pub mod dovecot;
pub mod durable;
mod flags;
mod folders;
pub mod generation;
mod layout;
pub mod listed_lock;
pub mod migrate;
pub mod names;
mod scan;
pub mod spliced;
pub mod spool;
mod staging;
mod sync_marks;
pub mod trace;

pub use archive::{month_now, Found, Roots, ARCHIVE_DIR};
pub use dovecot::Companions;
pub use layout::{Folder, HISTORY_FILE, QUARANTINE};
pub use scan::{ArticleFile, TreeTicket};
pub use staging::{Liveness, Staged};

/// The index file under a data directory (SQLite keeps `-wal` and `-shm` files beside it).
pub const INDEX_FILE: &str = "index.sqlite";
/// This process's staging areas live in here.
const STAGING_DIR: &str = "staging";

/// Where the index of the store under `data_dir` is.
pub fn index_file(data_dir: &Path) -> PathBuf {
    data_dir.join(INDEX_FILE)
}

/// The index file and the files SQLite keeps beside it.
pub fn index_files(data_dir: &Path) -> [PathBuf; 3] {
    ["", "-wal", "-shm"].map(|ext| data_dir.join(format!("{INDEX_FILE}{ext}")))
}

/// The listed tree of open tickets (the Maildir++ root Dovecot serves).
pub fn open_tree(data_dir: &Path) -> PathBuf {
    Roots::at(data_dir).open
}

/// The outbox's journal of node `node` (see `outbox::journal`).
pub fn outbox_journal(data_dir: &Path, node: &str) -> PathBuf {
    data_dir.join(format!("outbox.{node}{JOURNAL}"))
}

/// Every node's outbox journal under `data_dir`.
pub fn outbox_journals(data_dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for e in fs::read_dir(data_dir)? {
        let name = e?.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("outbox.") && name.ends_with(JOURNAL) {
            found.push(data_dir.join(&*name));
        }
    }
    found.sort();
    Ok(found)
}

const JOURNAL: &str = ".journal";

/// Where staging areas are made.
pub fn staging_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(STAGING_DIR)
}

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub struct Store {
    roots: Roots,
    staging: staging::Area,
    durable: bool,
    /// Folders seen complete, by logical name, with where they are on disk.
    known: Mutex<HashMap<String, PathBuf>>,
    dovecot: Companions,
    /// Held shared around every mkdir and rename in the listed tree (see `compact`).
    listed: listed_lock::ListedLock,
    /// Whose month a ticket closed now is archived under.
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    /// Which writes a completed `sync` has covered (`sync_mark`, `is_synced`).
    syncs: sync_marks::SyncMarks,
}

impl Store {
    /// Opens (creating when needed) the store, the archive and this process's staging area under
    /// `data_dir`. `dovecot_dir`: where `dovecot-config` keeps Dovecot's files for the tree, which
    /// follow a folder postdesk renames.
    /// `node`: this node's name, which its staging area carries.
    pub fn open(
        data_dir: &Path,
        durable: bool,
        dovecot_dir: PathBuf,
        node: &str,
    ) -> io::Result<Store> {
        let roots = Roots::at(data_dir);
        let at = crate::access::at;
        fs::create_dir_all(&roots.open).map_err(at(&roots.open))?;
        layout::make_maildir(&roots.open, false).map_err(at(&roots.open))?;
        fs::create_dir_all(&roots.archive).map_err(at(&roots.archive))?;
        same_file_system(&roots.open, &roots.archive)?;
        let area = staging_dir(data_dir);
        let staging = staging::Area::open(&area, node).map_err(at(&area))?;
        let store = Store {
            roots,
            staging,
            durable,
            known: Mutex::new(HashMap::new()),
            dovecot: Companions::at(dovecot_dir),
            listed: listed_lock::ListedLock::open(data_dir)?,
            clock: crate::clock::system(),
            syncs: Default::default(),
        };
        store.ensure_folder(&Folder::quarantine())?;
        Ok(store)
    }

    /// This store, reading the time (the month a ticket closed now is archived under) from
    /// `clock`.
    pub fn with_clock(self, clock: std::sync::Arc<dyn crate::clock::Clock>) -> Store {
        Store { clock, ..self }
    }

    /// Holds off compaction of the listed tree (see `compact`) while the guard lives.
    pub fn listed_shared(&self) -> io::Result<listed_lock::Shared<'_>> {
        self.listed.shared()
    }

    /// Moves the listed tree's entries into a directory of their size, while Dovecot and other
    /// postdesk processes go on (see `compact`). Not to be called while holding `listed_shared`.
    pub fn compact_listed(
        &self,
        crash: Option<compact::CrashAt>,
    ) -> io::Result<compact::Compacted> {
        let done = compact::compact(&self.roots.open, &self.listed, self.durable, crash)?;
        self.known.lock().expect("known folders").clear();
        Ok(done)
    }

    /// Whether the listed tree's directory takes much more room than its entries need.
    pub fn listed_worth_compacting(&self) -> io::Result<bool> {
        compact::worth_it(&self.roots.open)
    }

    /// Names a staged file without writing it, so that writes can happen later, in parallel.
    pub fn reserve(&self, size: u64) -> Staged {
        self.staging.reserve(size)
    }

    pub fn write_staged(&self, staged: &Staged, head: &[u8], body: &[u8]) -> io::Result<()> {
        self.staging.write(staged, head, body)
    }

    /// `write_staged` of a message whose part lives in a file (`spliced`), read piece by piece.
    pub fn write_staged_spliced(
        &self,
        staged: &Staged,
        head: &[u8],
        body: &[u8],
        spliced: &spliced::Spliced,
    ) -> io::Result<()> {
        self.staging
            .write_with(staged, head, |f| spliced.write_to(body, f))
    }

    /// Makes everything written so far durable: one syncfs for the whole batch, which covers the
    /// staged files' data and every rename and mkdir done before it (the archive is on the same
    /// file system, checked at open). A no-op when not durable.
    pub fn sync(&self) -> io::Result<()> {
        let n = self.syncs.begin();
        if self.durable {
            durable::syncfs(&self.roots.open)?;
        }
        self.syncs.end(n);
        Ok(())
    }

    /// A mark for everything written to the store until now (the writes returned): durable
    /// once `is_synced(mark)`.
    pub fn sync_mark(&self) -> u64 {
        self.syncs.mark()
    }

    /// Whether a `sync` that began after `mark` was taken has completed (always, for a store
    /// that is not durable).
    pub fn is_synced(&self, mark: u64) -> bool {
        !self.durable || self.syncs.covers(mark)
    }

    /// Where a folder is on disk (a closed ticket: its month in the archive), or where it goes.
    pub fn path_of(&self, folder: &Folder) -> PathBuf {
        if let Some(p) = self
            .known
            .lock()
            .expect("known folders")
            .get(&folder.dir_name())
        {
            return p.clone();
        }
        self.roots.path(folder, || self.month())
    }

    /// The month a ticket closed now is archived under.
    fn month(&self) -> String {
        archive::month_of_instant(self.clock.now())
    }

    /// The name a folder has in agents' mail clients: `Tickets/Support/N` for an open ticket,
    /// `Archive/Support/2026-12/N` for an archived one.
    pub fn imap_name(&self, folder: &Folder) -> String {
        // Only a closed ticket can be in the archive: anything else needs no look at the disk
        // (a notice names the folder of a ticket its batch has not made yet).
        if !matches!(folder, Folder::Ticket { closed: true, .. }) {
            return format!("Tickets/{}", folder.imap_name());
        }
        imap_name_at(&self.roots, &self.path_of(folder), folder)
    }

    /// Renames a staged file into a folder: into new/, or, when `file` carries Maildir flags
    /// (`NAME:2,S`), into cur/ as a mail client would have left it.
    pub fn place(&self, staged: &Path, folder: &Folder, file: &str) -> io::Result<PathBuf> {
        let sub = if file.contains(":2,") { "cur" } else { "new" };
        let target = self.path_of(folder).join(sub).join(file);
        match fs::rename(staged, &target) {
            // NotFound is a question the caller answers (the folder was renamed meanwhile).
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(crate::access::at(&target)(e)),
            r => r.map(|_| target),
        }
    }

    /// Where an article is now: Dovecot moves files from new/ to cur/ and appends flags.
    pub fn locate(&self, folder: &Folder, file: &str) -> Option<PathBuf> {
        locate_at(&self.path_of(folder), file)
    }

    pub fn folder_exists(&self, folder: &Folder) -> bool {
        if let Some(p) = self
            .known
            .lock()
            .expect("known folders")
            .get(&folder.dir_name())
        {
            if p.join("cur").is_dir() {
                return true;
            }
        }
        self.roots
            .find(folder)
            .is_some_and(|p| p.join("cur").is_dir())
    }

    /// Renames a whole ticket folder (close, reopen, move to another queue): into the archive
    /// (this month's folder) when it is closed, back into the listed tree when it opens again.
    /// Dovecot's files for the folder follow it. Like every other change to the tree it becomes
    /// durable with the caller's next `sync`.
    pub fn rename_folder(&self, from: &Folder, to: &Folder) -> io::Result<()> {
        let _listed = self.listed.shared()?;
        let src = self.roots.find(from).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("no folder for {}", from.dir_name()),
            )
        })?;
        // A closed ticket moved to another queue keeps its month; one closed now gets this one.
        let month = self.roots.month_of(&src).unwrap_or_else(|| self.month());
        let dst = self.roots.fresh_path(to, &month);
        for parent in to.with_parents() {
            if parent != *to {
                self.ensure_folder(&parent)?;
            }
        }
        if let Some(parent) = dst.parent() {
            if parent != self.roots.open {
                fs::create_dir_all(parent)?;
            }
        }
        self.forget(from);
        self.forget(to);
        self.move_dir(&src, &dst)
    }

    fn move_dir(&self, src: &Path, dst: &Path) -> io::Result<()> {
        fs::rename(src, dst).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("rename {} to {}: {e}", src.display(), dst.display()),
            )
        })?;
        self.dovecot.follow(&self.roots, src, dst);
        Ok(())
    }

    /// The staged files of this process and of processes that died (the caller decides which
    /// of them are committed). Staging areas of live processes are left alone.
    pub fn orphaned_staged(&self, live: &Liveness) -> io::Result<Vec<PathBuf>> {
        self.staging.orphans(live)
    }

    /// The nodes other than `node` with staging areas in the store.
    pub fn staging_nodes_besides(&self, node: &str) -> io::Result<Vec<String>> {
        self.staging.other_nodes(node)
    }

    /// Whether a staged file belongs to this process or to one that is gone (on another node:
    /// a dead one, see `staging`).
    pub fn is_abandoned(&self, staged: &Path, live: &Liveness) -> bool {
        self.staging.is_abandoned(staged, live)
    }

    /// The folder a ticket number has in the tree or the archive, in whichever queue or state.
    pub fn find_ticket(&self, number: &str) -> io::Result<Option<Folder>> {
        Ok(self.roots.find_number(number)?.map(|f| f.folder))
    }

    /// Every ticket folder in the listed tree (names only: nothing inside is read). Archived
    /// tickets are not here: agents cannot rename them (Dovecot renames within a namespace
    /// only), so there is nothing to adopt there.
    pub fn ticket_folders(&self) -> io::Result<Vec<Folder>> {
        Ok(self
            .roots
            .open_tickets()?
            .into_iter()
            .map(|f| f.folder)
            .collect())
    }

    /// When the listed tree's own directory last changed (its mtime): every folder created,
    /// renamed or removed in it sets it, so an unchanged time means no agent renamed a ticket.
    pub fn listed_changed_at(&self) -> io::Result<std::time::SystemTime> {
        fs::metadata(&self.roots.open)?.modified()
    }

    /// When a folder last changed (a rename sets it: the directory's ctime).
    pub fn changed_at(&self, folder: &Folder) -> io::Result<std::time::SystemTime> {
        use std::os::unix::fs::MetadataExt;
        let meta = fs::metadata(self.path_of(folder))?;
        Ok(std::time::UNIX_EPOCH
            + std::time::Duration::new(meta.ctime().max(0) as u64, meta.ctime_nsec() as u32))
    }

    /// The store's generation marker (see `generation`).
    pub fn generation(&self) -> io::Result<Option<generation::Generation>> {
        generation::read(&self.roots.open)
    }

    pub fn set_generation(&self, g: generation::Generation) -> io::Result<()> {
        generation::write(&self.roots.open, g)
    }

    /// Whether the tree holds any ticket or quarantined message: stops at the first one, so a
    /// large store costs a few directory entries.
    pub fn has_contents(&self) -> io::Result<bool> {
        for entry in fs::read_dir(&self.roots.open)? {
            let name = entry?.file_name();
            if let Some(Folder::Ticket { .. }) = name.to_str().and_then(Folder::from_dir_name) {
                return Ok(true);
            }
        }
        if self.roots.has_archived()? {
            return Ok(true);
        }
        let q = self.roots.open.join(Folder::quarantine().dir_name());
        for sub in ["new", "cur"] {
            if fs::read_dir(q.join(sub))?.next().is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub fn history_path(&self, folder: &Folder) -> PathBuf {
        self.path_of(folder).join(layout::HISTORY_FILE)
    }
}

/// A closed ticket on disk in the listed tree's old closed area moves to the archive on
/// `migrate-layout`; until then its IMAP name is the old one.
fn imap_name_at(roots: &Roots, dir: &Path, folder: &Folder) -> String {
    match dir.strip_prefix(&roots.archive) {
        Ok(rel) => format!("Archive/{}", rel.to_string_lossy()),
        Err(_) => format!("Tickets/{}", folder.imap_name()),
    }
}

/// The archive must be on the store's file system: a close is one rename, and one syncfs
/// makes both trees durable.
fn same_file_system(a: &Path, b: &Path) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    if fs::metadata(a)?.dev() != fs::metadata(b)?.dev() {
        return Err(io::Error::other(format!(
            "{} and {} are on different file systems; the archive must be beside the store",
            a.display(),
            b.display()
        )));
    }
    Ok(())
}

fn locate_at(dir: &Path, file: &str) -> Option<PathBuf> {
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

/// The tree as it is on disk, for reading only (`reindex`, `fsck`, `ticket show`): opening it
/// creates and locks nothing.
pub struct Tree {
    roots: Roots,
}

impl Tree {
    pub fn at(data_dir: &Path) -> Tree {
        Tree {
            roots: Roots::at(data_dir),
        }
    }

    /// Every ticket folder with its article files, open and archived (and closed tickets still
    /// in the old closed area while a migration runs); none when there is no store yet.
    pub fn tickets(&self) -> io::Result<Vec<TreeTicket>> {
        let mut found = self.roots.open_tickets()?;
        found.extend(self.roots.archived_tickets()?);
        // A folder renamed while the tree is read (by `migrate-layout`, or a close in another
        // process) is read where it is now, and once, though it was listed in both places.
        let mut read = std::collections::HashSet::new();
        let mut out = Vec::with_capacity(found.len());
        for f in found {
            let mut f = f;
            loop {
                let t = scan::ticket(f.clone())?;
                if t.dir.is_dir() {
                    if read.insert(t.dir.clone()) {
                        out.push(t);
                    }
                    break;
                }
                match self.roots.relocate(&f.folder)? {
                    Some(now) => f = now,
                    None => break, // removed meanwhile
                }
            }
        }
        out.sort_by(|a, b| a.dir.cmp(&b.dir));
        Ok(out)
    }

    /// Where an article of `folder` is now.
    pub fn locate(&self, folder: &Folder, file: &str) -> Option<PathBuf> {
        locate_at(&self.roots.find(folder)?, file)
    }

    /// A ticket's folder's IMAP name, if it exists.
    pub fn imap_name(&self, folder: &Folder) -> Option<String> {
        let dir = self.roots.find(folder)?;
        Some(imap_name_at(&self.roots, &dir, folder))
    }

    /// Every file in the quarantine folder.
    pub fn quarantine(&self) -> io::Result<Vec<ArticleFile>> {
        scan::files(&self.roots.open.join(Folder::quarantine().dir_name()))
    }
}
