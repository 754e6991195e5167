//! Dovecot's own files for a ticket folder follow it when postdesk renames the folder (close,
//! reopen, move). Dovecot keeps a folder's UIDVALIDITY and UIDs in its control folder
//! (`dovecot-uidlist`), its index beside it, and each agent's `\Seen` flags in a private index
//! under the agent's home; `dovecot-config` puts all of them outside the store, under its output
//! folder. A rename of the mail folder alone makes Dovecot start the folder afresh: new
//! UIDVALIDITY, every message unread again for every agent. Dovecot cannot rename a folder from
//! one public namespace into another (`Renaming not supported across non-private namespaces`),
//! so postdesk moves its files along itself, which keeps UIDs, UIDVALIDITY and flags.
//!
//! Order: the ticket folder first (the truth), then Dovecot's files. A crash in between loses
//! only Dovecot's view of that one folder (it starts it afresh, as before); never a message.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::archive::Roots;

/// Names under the output folder of `dovecot-config` (it writes them into the namespaces).
pub const OPEN_INDEX: &str = "index";
pub const OPEN_CONTROL: &str = "control";
pub const ARCHIVE_INDEX: &str = "archive-index";
pub const ARCHIVE_CONTROL: &str = "archive-control";
/// Private (per-agent) index folders in each agent's home.
pub const OPEN_PRIVATE: &str = "postdesk";
pub const ARCHIVE_PRIVATE: &str = "postdesk-archive";
pub const HOMES: &str = "home";

#[derive(Debug, Clone)]
pub struct Companions {
    dir: PathBuf,
}

impl Companions {
    /// `dir`: the output folder of `dovecot-config`. Nothing happens while it does not exist.
    pub fn at(dir: PathBuf) -> Companions {
        Companions { dir }
    }

    /// Moves Dovecot's files of the folder that was at `from` to where the folder is now, `to`.
    /// Failures are logged, not returned: the rename of the folder has happened, and what
    /// is lost is Dovecot's cache of it, which Dovecot rebuilds.
    pub fn follow(&self, roots: &Roots, from: &Path, to: &Path) {
        if !self.dir.is_dir() {
            return;
        }
        let (Some(a), Some(b)) = (self.places(roots, from), self.places(roots, to)) else {
            return;
        };
        for (src, dst) in a.into_iter().zip(b) {
            if let Err(e) = move_dir(&src, &dst) {
                tracing::warn!(
                    from = %src.display(),
                    to = %dst.display(),
                    "Dovecot's files did not follow the folder (agents will see it afresh): {e}"
                );
            }
        }
    }

    /// Names of closed tickets' folders in the listed tree (`.Queue.Closed.N`) that Dovecot
    /// keeps files for: the index, the control folder, each agent's private index.
    pub fn stranded_closed(&self) -> Vec<String> {
        let mut dirs = vec![self.dir.join(OPEN_INDEX), self.dir.join(OPEN_CONTROL)];
        if let Ok(rd) = fs::read_dir(self.dir.join(HOMES)) {
            dirs.extend(rd.flatten().map(|e| e.path().join(OPEN_PRIVATE)));
        }
        let mut out: Vec<String> = dirs
            .iter()
            .filter_map(|d| fs::read_dir(d).ok())
            .flat_map(|rd| rd.flatten())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| {
                matches!(
                    super::layout::Folder::from_dir_name(n),
                    Some(super::layout::Folder::Ticket { closed: true, .. })
                )
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Dovecot's folders for a mail folder at `dir`, in a fixed order: index, control, then one
    /// private index per home found.
    fn places(&self, roots: &Roots, dir: &Path) -> Option<Vec<PathBuf>> {
        let (index, control, private, rel) = if let Ok(rel) = dir.strip_prefix(&roots.archive) {
            (ARCHIVE_INDEX, ARCHIVE_CONTROL, ARCHIVE_PRIVATE, rel)
        } else {
            let rel = dir.strip_prefix(&roots.open).ok()?;
            (OPEN_INDEX, OPEN_CONTROL, OPEN_PRIVATE, rel)
        };
        let mut out = vec![
            self.dir.join(index).join(rel),
            self.dir.join(control).join(rel),
        ];
        let mut homes: Vec<PathBuf> = match fs::read_dir(self.dir.join(HOMES)) {
            Ok(rd) => rd.flatten().map(|e| e.path()).collect(),
            Err(_) => Vec::new(),
        };
        homes.sort();
        out.extend(homes.into_iter().map(|h| h.join(private).join(rel)));
        Some(out)
    }
}

/// Renames `src` to `dst` if `src` exists, creating `dst`'s parents with the owner of the
/// nearest existing ancestor (Dovecot's mail processes create folders there too). A stale
/// `dst` (left by an earlier crash) is replaced.
fn move_dir(src: &Path, dst: &Path) -> io::Result<()> {
    if !src.exists() {
        return Ok(());
    }
    if let Some(parent) = dst.parent() {
        make_parents(parent)?;
    }
    match fs::rename(src, dst) {
        Err(e) if dst.is_dir() => {
            tracing::debug!("replacing Dovecot's stale {}: {e}", dst.display());
            fs::remove_dir_all(dst)?;
            fs::rename(src, dst)
        }
        r => r,
    }
}

fn make_parents(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(up) = dir.parent() {
        make_parents(up)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(e),
    }
    use std::os::unix::fs::MetadataExt;
    if let Some(up) = dir.parent() {
        let meta = fs::metadata(up)?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } == 0 && meta.uid() != 0 {
            std::os::unix::fs::chown(dir, Some(meta.uid()), Some(meta.gid()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_control_and_private_indexes_follow_a_close() {
        let tmp = tempfile::tempdir().unwrap();
        let roots = Roots::at(tmp.path());
        let dv = tmp.path().join("dovecot");
        for d in [
            "index/.Support.7",
            "control/.Support.7",
            "home/carol/postdesk/.Support.7",
            "home/bob",
        ] {
            fs::create_dir_all(dv.join(d)).unwrap();
        }
        fs::write(dv.join("control/.Support.7/dovecot-uidlist"), "3 V17 N2\n").unwrap();
        let c = Companions::at(dv.clone());
        let from = roots.open.join(".Support.7");
        let to = roots.archive.join("Support/2026-12/7");
        c.follow(&roots, &from, &to);
        assert_eq!(
            fs::read_to_string(dv.join("archive-control/Support/2026-12/7/dovecot-uidlist"))
                .unwrap(),
            "3 V17 N2\n"
        );
        assert!(dv.join("archive-index/Support/2026-12/7").is_dir());
        assert!(dv
            .join("home/carol/postdesk-archive/Support/2026-12/7")
            .is_dir());
        assert!(!dv.join("home/bob/postdesk-archive").exists());
        assert!(!dv.join("index/.Support.7").exists());
        // And back, over a stale copy left by a crash.
        fs::create_dir_all(dv.join("control/.Support.7/junk")).unwrap();
        c.follow(&roots, &to, &from);
        assert!(dv.join("control/.Support.7/dovecot-uidlist").is_file());
        assert!(!dv.join("control/.Support.7/junk").exists());
    }
}
