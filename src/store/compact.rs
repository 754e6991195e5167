//! Compaction of the listed tree's directory while Dovecot and postdesk run.
//!
//! ext4 never shrinks a directory: after `migrate-layout` moved a million closed tickets out of
//! the listed tree, its directory keeps the blocks it had with all of them in, and Dovecot reads
//! every block on each LIST. Compaction moves the entries into a new directory that then takes
//! the old one's place, without a moment in which a folder cannot be found under its path:
//!
//! 1. beside the tree (`store`), a new directory `store.compact` is made;
//! 2. for each entry `X` of the tree, a symbolic link `store.compact/X -> ../store.compact/X`
//!    is made and exchanged with `store/X` in one `renameat2(RENAME_EXCHANGE)`: the folder is
//!    now `store.compact/X`, and `store/X` is a link to it, so every path still works;
//! 3. the two directories are exchanged the same way: `store` is now the new, small directory
//!    holding the folders, `store.compact` the old one holding only links;
//! 4. what agents did through Dovecot meanwhile is carried over from the old directory: a link
//!    renamed (a folder moved to another name) is replayed on the folder, a folder or file
//!    created is moved in; then the old directory is removed.
//!
//! postdesk's own processes make and rename folders in the tree only under the shared listed
//! lock, which compaction holds exclusively from step 1 to 4.
//!
//! Where a folder is if the process dies at any line: in `store`, or in `store.compact` with a
//! link to it in `store` (before step 3), or in `store` with the old directory at
//! `store.compact` (after it); every path to it works in each state. The next run tells the
//! states apart by where the links are and finishes the work. Renames become durable with a
//! `syncfs` after step 2 and after step 3; after a power loss some may be undone, which leaves
//! one of the states above.

use std::ffi::{CString, OsStr, OsString};
use std::fs;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{chown, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::durable;
use super::listed_lock::ListedLock;

/// The new directory's name is the tree's with this suffix.
const SUFFIX: &str = ".compact";

/// What a run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Compacted {
    /// Entries moved into the new directory.
    pub moved: u64,
    /// Renames agents made during the run, replayed on the folders.
    pub replayed: u64,
    /// Folders or files agents made during the run, moved in.
    pub adopted: u64,
    /// Entries of the old directory left where they were because the tree has one of that name
    /// (a conflict for an admin to look at; nothing is removed).
    pub left: u64,
    /// The directory's size before and after, in bytes.
    pub size_before: u64,
    pub size_after: u64,
}

/// Where a fault-injection point makes the process abort (the crash test).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashAt {
    /// After this many entries were exchanged.
    Moved(u64),
    /// Right after the two directories were exchanged.
    Swapped,
}

/// Whether the listed tree's directory is worth compacting: it takes much more room than its
/// entries need (an entry of a ticket folder takes about 32 bytes; ext4 leaves blocks part
/// full, so a factor of 8 is normal and more is waste).
pub fn worth_it(tree: &Path) -> io::Result<bool> {
    let size = fs::symlink_metadata(tree)?.size();
    if size < 256 * 1024 {
        return Ok(false);
    }
    let entries = fs::read_dir(tree)?.count() as u64;
    Ok(size > entries.max(1) * 32 * 8)
}

/// Compacts the listed tree `tree` (see the module's text). `durable`: whether to `syncfs`.
pub fn compact(
    tree: &Path,
    lock: &ListedLock,
    durable: bool,
    crash: Option<CrashAt>,
) -> io::Result<Compacted> {
    let side = side_of(tree);
    let link_prefix = link_prefix(&side);
    let _held = lock.exclusive()?;
    let mut done = Compacted {
        size_before: fs::symlink_metadata(tree)?.size(),
        ..Compacted::default()
    };
    let sync = |p: &Path| if durable { durable::syncfs(p) } else { Ok(()) };

    if side.exists() && !has_links(tree, &link_prefix)? {
        // A run died after step 3 (or before its first exchange): finish it.
        carry_over(tree, &side, &link_prefix, &mut done)?;
        sync(tree)?;
        if !worth_it(tree)? {
            done.size_after = fs::symlink_metadata(tree)?.size();
            return Ok(done);
        }
    }
    if !side.exists() {
        make_like(&side, tree)?;
    }
    // Step 2. Dovecot may make a folder while the loop runs; a second pass takes those.
    for _pass in 0..3 {
        let mut moved_this_pass = 0;
        for name in names(tree)? {
            let here = tree.join(&name);
            if is_our_link(&here, &link_prefix) {
                continue;
            }
            let there = side.join(&name);
            match fs::symlink_metadata(&there) {
                // A link left by a run that died before its exchange.
                Ok(m) if m.file_type().is_symlink() => {}
                Ok(_) => {
                    done.left += 1;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    std::os::unix::fs::symlink(link_target(&link_prefix, &name), &there)
                        .map_err(crate::access::at(&there))?;
                }
                Err(e) => return Err(crate::access::at(&there)(e)),
            }
            match exchange(&here, &there) {
                Ok(()) => {}
                // Renamed or removed by an agent in between: the link goes, the next pass sees.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    let _ = fs::remove_file(&there);
                    continue;
                }
                Err(e) => return Err(e),
            }
            done.moved += 1;
            moved_this_pass += 1;
            if crash == Some(CrashAt::Moved(done.moved)) {
                std::process::abort();
            }
        }
        if moved_this_pass == 0 {
            break;
        }
    }
    sync(tree)?;
    // Step 3.
    exchange(tree, &side)?;
    if crash == Some(CrashAt::Swapped) {
        std::process::abort();
    }
    sync(tree)?;
    // Step 4.
    carry_over(tree, &side, &link_prefix, &mut done)?;
    sync(tree)?;
    done.size_after = fs::symlink_metadata(tree)?.size();
    Ok(done)
}

/// Step 4: the old directory `side` holds links into the tree, and what agents made or
/// renamed while the entries moved. Removes it when nothing is left in it.
fn carry_over(
    tree: &Path,
    side: &Path,
    link_prefix: &[u8],
    done: &mut Compacted,
) -> io::Result<()> {
    for name in names(side)? {
        let old = side.join(&name);
        let here = tree.join(&name);
        let meta = fs::symlink_metadata(&old).map_err(crate::access::at(&old))?;
        if meta.file_type().is_symlink() {
            let target = fs::read_link(&old).map_err(crate::access::at(&old))?;
            let bytes = target.as_os_str().as_bytes();
            if let Some(was) = bytes.strip_prefix(link_prefix) {
                let was = tree.join(OsStr::from_bytes(was));
                // An agent renamed the folder while its link stood in for it.
                if was != here && was.exists() && !exists(&here)? {
                    fs::rename(&was, &here).map_err(crate::access::at(&was))?;
                    done.replayed += 1;
                }
            }
            fs::remove_file(&old).map_err(crate::access::at(&old))?;
        } else if !exists(&here)? || (meta.is_file() && fs::metadata(&here)?.is_file()) {
            // Made during the run (a file written anew replaces the one that moved).
            fs::rename(&old, &here).map_err(crate::access::at(&old))?;
            done.adopted += 1;
        } else {
            tracing::warn!(
                entry = %old.display(),
                "compaction: left in place, the tree has an entry of that name"
            );
            done.left += 1;
        }
    }
    if done.left == 0 {
        fs::remove_dir(side).map_err(crate::access::at(side))?;
    }
    Ok(())
}

fn side_of(tree: &Path) -> PathBuf {
    let mut name = tree.file_name().unwrap_or_default().to_os_string();
    name.push(SUFFIX);
    tree.with_file_name(name)
}

/// Links point at `../store.compact/NAME`, relative to the directory that holds them.
fn link_prefix(side: &Path) -> Vec<u8> {
    let mut p = b"../".to_vec();
    p.extend_from_slice(side.file_name().unwrap_or_default().as_bytes());
    p.push(b'/');
    p
}

fn link_target(prefix: &[u8], name: &OsStr) -> PathBuf {
    let mut t = prefix.to_vec();
    t.extend_from_slice(name.as_bytes());
    PathBuf::from(OsString::from_vec(t))
}

fn is_our_link(path: &Path, prefix: &[u8]) -> bool {
    fs::read_link(path).is_ok_and(|t| t.as_os_str().as_bytes().starts_with(prefix))
}

fn has_links(tree: &Path, prefix: &[u8]) -> io::Result<bool> {
    for entry in fs::read_dir(tree)? {
        let entry = entry?;
        if entry.file_type()?.is_symlink() && is_our_link(&entry.path(), prefix) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn names(dir: &Path) -> io::Result<Vec<OsString>> {
    fs::read_dir(dir)
        .map_err(crate::access::at(dir))?
        .map(|e| e.map(|e| e.file_name()))
        .collect()
}

fn exists(p: &Path) -> io::Result<bool> {
    match fs::symlink_metadata(p) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(crate::access::at(p)(e)),
    }
}

/// A new directory with the owner and mode of `like`, so Dovecot may read it as before.
fn make_like(dir: &Path, like: &Path) -> io::Result<()> {
    let m = fs::metadata(like)?;
    fs::create_dir(dir).map_err(crate::access::at(dir))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(m.mode() & 0o7777))?;
    if fs::metadata(dir)?.uid() != m.uid() || fs::metadata(dir)?.gid() != m.gid() {
        chown(dir, Some(m.uid()), Some(m.gid())).map_err(crate::access::at(dir))?;
    }
    Ok(())
}

/// Exchanges two paths atomically (`renameat2` with `RENAME_EXCHANGE`, Linux 3.15; ext4, XFS
/// and btrfs support it).
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    let ca = CString::new(a.as_os_str().as_bytes())?;
    let cb = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both are valid NUL-terminated paths that live for the duration of the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        let e = io::Error::last_os_error();
        Err(io::Error::new(
            e.kind(),
            format!("exchange {} and {}: {e}", a.display(), b.display()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree_with(names: &[&str]) -> (tempfile::TempDir, PathBuf, ListedLock) {
        let tmp = tempfile::tempdir().unwrap();
        let tree = tmp.path().join("store");
        for n in names {
            fs::create_dir_all(tree.join(n).join("cur")).unwrap();
            fs::write(tree.join(n).join("cur").join("1:2,S"), n).unwrap();
        }
        let lock = ListedLock::open(tmp.path()).unwrap();
        (tmp, tree, lock)
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = names(dir)
            .unwrap()
            .into_iter()
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn entries_move_into_a_new_directory_that_takes_the_trees_place() {
        let (_tmp, tree, lock) = tree_with(&[".Support", ".Support.11", ".Billing.12", "cur"]);
        fs::write(tree.join("generation"), "7").unwrap();
        let before = fs::metadata(&tree).unwrap().ino();
        let c = compact(&tree, &lock, false, None).unwrap();
        assert_eq!(c.moved, 5);
        assert_eq!((c.replayed, c.adopted, c.left), (0, 0, 0));
        assert_ne!(
            fs::metadata(&tree).unwrap().ino(),
            before,
            "a new directory"
        );
        assert_eq!(
            listing(&tree),
            [
                ".Billing.12",
                ".Support",
                ".Support.11",
                "cur",
                "generation"
            ]
        );
        for e in fs::read_dir(&tree).unwrap() {
            assert!(!e.unwrap().file_type().unwrap().is_symlink());
        }
        assert_eq!(
            fs::read_to_string(tree.join(".Support.11/cur/1:2,S")).unwrap(),
            ".Support.11"
        );
        assert!(!side_of(&tree).exists(), "the old directory is gone");
    }

    #[test]
    fn a_run_killed_before_or_after_the_swap_is_finished_by_the_next_and_paths_work_throughout() {
        // The states a killed run leaves, made by hand: some entries exchanged (a link in the
        // tree), and a link made but not yet exchanged.
        let (_tmp, tree, lock) = tree_with(&[".Support.11", ".Support.12", ".Support.13"]);
        let side = side_of(&tree);
        let prefix = link_prefix(&side);
        make_like(&side, &tree).unwrap();
        for n in [".Support.11", ".Support.12"] {
            std::os::unix::fs::symlink(link_target(&prefix, OsStr::new(n)), side.join(n)).unwrap();
        }
        exchange(&tree.join(".Support.11"), &side.join(".Support.11")).unwrap();
        assert_eq!(
            fs::read_to_string(tree.join(".Support.11/cur/1:2,S")).unwrap(),
            ".Support.11",
            "through the link"
        );
        let c = compact(&tree, &lock, false, None).unwrap();
        assert_eq!(c.moved, 2);
        assert_eq!(
            listing(&tree),
            [".Support.11", ".Support.12", ".Support.13"]
        );
        assert!(!side.exists());

        // Killed right after the swap: the old directory of links is at the side's name.
        let (_tmp, tree, lock) = tree_with(&[".Support.21", ".Support.22"]);
        let side = side_of(&tree);
        let prefix = link_prefix(&side);
        make_like(&side, &tree).unwrap();
        for n in [".Support.21", ".Support.22"] {
            std::os::unix::fs::symlink(link_target(&prefix, OsStr::new(n)), side.join(n)).unwrap();
            exchange(&tree.join(n), &side.join(n)).unwrap();
        }
        exchange(&tree, &side).unwrap();
        let c = compact(&tree, &lock, false, None).unwrap();
        assert_eq!(c.moved, 0, "nothing left to move");
        assert_eq!(listing(&tree), [".Support.21", ".Support.22"]);
        assert!(!side.exists());
    }

    #[test]
    fn what_agents_did_meanwhile_is_carried_over() {
        let (_tmp, tree, _lock) = tree_with(&[".Support.31", ".Support.32", ".Support.33"]);
        let side = side_of(&tree);
        let prefix = link_prefix(&side);
        make_like(&side, &tree).unwrap();
        for n in [".Support.31", ".Support.32", ".Support.33"] {
            std::os::unix::fs::symlink(link_target(&prefix, OsStr::new(n)), side.join(n)).unwrap();
            exchange(&tree.join(n), &side.join(n)).unwrap();
        }
        // Through the old paths, as Dovecot would: a folder renamed (its link is), one made.
        fs::rename(tree.join(".Support.31"), tree.join(".Support.Closed.31")).unwrap();
        fs::create_dir_all(tree.join(".Support.34/cur")).unwrap();
        // And a clash: an entry of the same name on both sides stays for an admin.
        fs::create_dir_all(side.join(".Support.35")).unwrap();
        exchange(&tree, &side).unwrap();
        fs::create_dir_all(side.join(".Support.35/cur")).unwrap();
        let mut done = Compacted::default();
        carry_over(&tree, &side, &prefix, &mut done).unwrap();
        assert_eq!((done.replayed, done.adopted, done.left), (1, 1, 1));
        assert_eq!(
            listing(&tree),
            [
                ".Support.32",
                ".Support.33",
                ".Support.34",
                ".Support.35",
                ".Support.Closed.31"
            ]
        );
        assert_eq!(
            fs::read_to_string(tree.join(".Support.Closed.31/cur/1:2,S")).unwrap(),
            ".Support.31"
        );
        assert_eq!(listing(&side), [".Support.35"], "the clash stays");
    }

    #[test]
    fn worth_it_only_for_a_directory_much_larger_than_its_entries() {
        let (_tmp, tree, _lock) = tree_with(&[".Support.1"]);
        assert!(!worth_it(&tree).unwrap());
    }
}
