//! `postdesk migrate-layout`: a store from before the archive keeps its closed tickets in the
//! listed tree as `.Queue.Closed.NUMBER`; each moves into `archive/Queue/YYYY-MM/NUMBER`, the
//! month it was closed, by one rename, and Dovecot's files for it follow.
//!
//! Where a ticket is if the process dies at any line: in the old closed area or in the archive,
//! whole either way (a rename within one file system is atomic), and the index, which names no
//! folders, is right for both; `reindex`, `fsck` and intake read both places. A run started
//! again lists what is still in the old area and goes on. Dovecot's files of a folder whose
//! rename happened just before the crash are still under the old name: the next run first moves
//! such files to the archived folder (`Companions::stranded_closed`), so no agent loses seen
//! flags or UIDs. Renames become durable with a `syncfs` every `SYNC_EVERY` folders and at the
//! end; after a power loss some may be undone, and the next run does them again.

use std::io;
use std::path::Path;

use super::archive::Found;
use super::layout::Folder;
use super::Store;

/// Folders renamed between two `syncfs`.
const SYNC_EVERY: u64 = 1000;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Migrated {
    /// Closed tickets moved into the archive.
    pub moved: u64,
    /// Closed tickets that were gone when their turn came (reopened or moved meanwhile by
    /// another process).
    pub gone: u64,
    /// Folders whose Dovecot files an interrupted run had left under the old name.
    pub followed: u64,
}

/// Moves every closed ticket out of the listed tree into the archive. `month_of(dir)`: the
/// month the ticket in `dir` was closed (`YYYY-MM`). `progress(done, total)` is called after
/// each folder. `crash_after`: a fault-injection point for the crash test, which makes the
/// process abort right after that many renames, before Dovecot's files follow.
pub fn migrate(
    store: &Store,
    month_of: &dyn Fn(&Path) -> String,
    progress: &mut dyn FnMut(u64, u64),
    crash_after: Option<u64>,
) -> io::Result<Migrated> {
    let mut done = Migrated::default();
    for name in store.dovecot.stranded_closed() {
        let old = store.roots.open.join(&name);
        let Some(folder @ Folder::Ticket { .. }) = Folder::from_dir_name(&name) else {
            continue;
        };
        if old.exists() {
            continue; // not moved yet: it follows with its folder below
        }
        if let Some(dir) = store.roots.find(&folder) {
            store.dovecot.follow(&store.roots, &old, &dir);
            done.followed += 1;
        }
    }
    let legacy: Vec<Found> = store
        .roots
        .open_tickets()?
        .into_iter()
        .filter(|f| matches!(f.folder, Folder::Ticket { closed: true, .. }))
        .collect();
    let total = legacy.len() as u64;
    for (i, Found { folder, dir }) in legacy.into_iter().enumerate() {
        let dst = store.roots.fresh_path(&folder, &month_of(&dir));
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent).map_err(crate::access::at(parent))?;
        }
        let listed = store.listed_shared()?;
        match std::fs::rename(&dir, &dst) {
            Ok(()) => done.moved += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                done.gone += 1;
                continue;
            }
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("rename {} to {}: {e}", dir.display(), dst.display()),
                ))
            }
        }
        if crash_after == Some(done.moved) {
            std::process::abort();
        }
        drop(listed);
        store.forget(&folder);
        store.dovecot.follow(&store.roots, &dir, &dst);
        if done.moved % SYNC_EVERY == 0 {
            store.sync()?;
        }
        progress(i as u64 + 1, total);
    }
    store.sync()?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn closed_tickets_move_to_their_month_and_dovecots_files_follow_even_after_a_crash() {
        let tmp = tempfile::tempdir().unwrap();
        let dv = tmp.path().join("dovecot");
        let store = Store::open(tmp.path(), false, dv.clone(), "a").unwrap();
        let open = tmp.path().join("store");
        for n in ["11", "12", "13"] {
            fs::create_dir_all(open.join(format!(".Support.Closed.{n}/cur"))).unwrap();
        }
        fs::create_dir_all(open.join(".Support.14/cur")).unwrap();
        fs::create_dir_all(dv.join("control/.Support.Closed.11")).unwrap();
        // An interrupted run moved 13 but not its Dovecot files.
        fs::create_dir_all(tmp.path().join("archive/Support/2025-07/13/cur")).unwrap();
        fs::remove_dir_all(open.join(".Support.Closed.13")).unwrap();
        fs::create_dir_all(dv.join("control/.Support.Closed.13")).unwrap();
        fs::write(
            dv.join("control/.Support.Closed.13/dovecot-uidlist"),
            "3 V13\n",
        )
        .unwrap();

        let mut seen = Vec::new();
        let month = |d: &Path| {
            if d.ends_with(".Support.Closed.11") {
                "2025-01".to_string()
            } else {
                "2025-02".to_string()
            }
        };
        let m = migrate(&store, &month, &mut |d, t| seen.push((d, t)), None).unwrap();
        assert_eq!(
            m,
            Migrated {
                moved: 2,
                gone: 0,
                followed: 1
            }
        );
        assert_eq!(seen, [(1, 2), (2, 2)]);
        let a = tmp.path().join("archive/Support");
        assert!(a.join("2025-01/11/cur").is_dir() && a.join("2025-02/12/cur").is_dir());
        assert!(open.join(".Support.14/cur").is_dir(), "open tickets stay");
        assert!(dv.join("archive-control/Support/2025-01/11").is_dir());
        assert_eq!(
            fs::read_to_string(dv.join("archive-control/Support/2025-07/13/dovecot-uidlist"))
                .unwrap(),
            "3 V13\n"
        );
        assert_eq!(
            migrate(&store, &month, &mut |_, _| {}, None).unwrap(),
            Migrated::default()
        );
    }
}
