//! The staging area: files written before their index transaction commits.
//!
//! Each process writes into its own subfolder and holds an exclusive lock on a file in it for
//! its lifetime, so that recovery (in this or another process) can tell a dead writer's leftovers
//! from a live writer's work in progress. `deliver` processes run beside the daemon.
//!
//! Several nodes (machines) may share the store. An area's name carries its node's name
//! (`<node>-<pid>-<nanos>`), and a lock does not reach across machines on every shared file
//! system: another node's area counts as abandoned only when that node is dead (its heartbeat in
//! the index is older than the lease, which the caller says through `Liveness`), its lock is
//! free, and its file is older than the lease (so a `deliver` still running on a node whose
//! daemon died is not taken for dead). The own node's areas, and areas named before nodes
//! (`<pid>-<nanos>`), go by their lock alone.
//!
//! An area is born locked: it is made under a dotted name, its lock taken, and only then renamed
//! to its own name. Otherwise another process's recovery could find it in the moment between
//! the folder and the lock, take it for a dead writer's and remove it under its owner.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::names::UniqueNames;

const LOCK: &str = ".lock";
/// The prefix of an area being made; recovery leaves such folders alone while they are young.
const BIRTH: &str = ".birth-";
/// A folder left in birth by a process that died there is removed after this long.
const STILLBORN: std::time::Duration = std::time::Duration::from_secs(600);

/// A staged file: where it is, the Maildir file name it will get, and its size.
#[derive(Debug, Clone)]
pub struct Staged {
    pub path: PathBuf,
    pub file: String,
    pub size: u64,
}

/// Which nodes are alive, for telling another node's staging areas abandoned.
pub struct Liveness<'a> {
    /// This node's name.
    pub node: &'a str,
    /// Whether another node is dead (its heartbeat older than the lease).
    pub dead: &'a dyn Fn(&str) -> bool,
    /// A dead node's staged file is taken once older than this.
    pub lease: std::time::Duration,
}

impl Liveness<'_> {
    /// Only this node's areas, by their locks (a single node).
    pub fn alone(node: &str) -> Liveness<'_> {
        Liveness {
            node,
            dead: &|_| false,
            lease: std::time::Duration::MAX,
        }
    }
}

/// The node an area's folder name carries, if any (`<node>-<pid>-<nanos>`).
fn node_of(dir: &Path) -> Option<String> {
    let name = dir.file_name()?.to_str()?;
    let mut parts = name.rsplitn(3, '-');
    let (nanos, pid, node) = (parts.next()?, parts.next()?, parts.next()?);
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (numeric(nanos) && numeric(pid) && !node.is_empty()).then(|| node.to_string())
}

pub struct Area {
    base: PathBuf,
    mine: PathBuf,
    _lock: File,
    names: UniqueNames,
}

impl Area {
    /// A new area under `base` for a process of node `node`.
    pub fn open(base: &Path, node: &str) -> io::Result<Area> {
        fs::create_dir_all(base)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let name = format!("{node}-{}-{}", std::process::id(), now.as_nanos());
        let birth = base.join(format!("{BIRTH}{name}"));
        fs::create_dir(&birth)?;
        let lock = File::create(birth.join(LOCK))?;
        lock.try_lock()
            .map_err(|e| io::Error::other(format!("staging lock: {e}")))?;
        let mine = base.join(name);
        fs::rename(&birth, &mine)?;
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
        let mut f = create_new(staged)?;
        f.write_all(head)
            .and_then(|_| f.write_all(body))
            .map_err(crate::access::at(&staged.path))
    }

    /// `write`, the body written by `body` through a buffer.
    pub fn write_with(
        &self,
        staged: &Staged,
        head: &[u8],
        body: impl FnOnce(&mut io::BufWriter<File>) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut f = io::BufWriter::with_capacity(64 * 1024, create_new(staged)?);
        f.write_all(head)
            .and_then(|_| body(&mut f))
            .and_then(|_| f.flush())
            .map_err(crate::access::at(&staged.path))
    }

    /// Whether `path` lies in this process's area or in one whose process is gone.
    pub fn is_abandoned(&self, path: &Path, live: &Liveness) -> bool {
        let Some(dir) = path.parent() else {
            return false;
        };
        if dir == self.mine {
            return true;
        }
        let free = match File::open(dir.join(LOCK)) {
            Ok(lock) => lock.try_lock().is_ok(),
            Err(_) => true,
        };
        free && match foreign(dir, live) {
            None => true,
            Some(node) => (live.dead)(&node) && older_than(path, live.lease),
        }
    }

    /// Staged files of this process, and every file of staging folders whose process is gone
    /// (their lock is free; another node's also dead, its files older than the lease). Empty
    /// dead folders are removed.
    pub fn orphans(&self, live: &Liveness) -> io::Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.base)? {
            let dir = entry?.path();
            if !dir.is_dir() {
                continue;
            }
            if dir
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(BIRTH))
            {
                remove_stillborn(&dir);
                continue;
            }
            let ours = dir == self.mine;
            let other_node = foreign(&dir, live);
            if !ours {
                let Ok(lock) = File::open(dir.join(LOCK)) else {
                    continue;
                };
                if lock.try_lock().is_err() {
                    continue; // a live process owns it
                }
                if other_node.as_ref().is_some_and(|n| !(live.dead)(n)) {
                    continue; // a live node's, whose lock may not reach here
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
                    files += 1;
                    if other_node.is_none() || older_than(&p, live.lease) {
                        out.push(p);
                    }
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

/// The node of an area of another node than `live.node`, if it names one.
fn foreign(dir: &Path, live: &Liveness) -> Option<String> {
    node_of(dir).filter(|n| n != live.node)
}

/// Whether the file at `path` was last written longer than `age` ago (a missing file is).
fn older_than(path: &Path, age: std::time::Duration) -> bool {
    match fs::metadata(path).and_then(|m| m.modified()) {
        Ok(t) => t.elapsed().is_ok_and(|e| e > age),
        Err(_) => true,
    }
}

impl Area {
    /// The nodes other than `node` that have staging areas here (a dead one's wait for recovery).
    pub fn other_nodes(&self, node: &str) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.base)? {
            if let Some(n) = node_of(&entry?.path()).filter(|n| n != node) {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
        Ok(out)
    }
}

fn create_new(staged: &Staged) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&staged.path)
        .map_err(crate::access::at(&staged.path))
}

/// Removes a folder a process died in before it became an area (nothing was staged in it yet),
/// once it is old enough that no process can still be making it.
fn remove_stillborn(dir: &Path) {
    let old = fs::metadata(dir)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > STILLBORN));
    let free = File::open(dir.join(LOCK)).map_or(true, |l| l.try_lock().is_ok());
    if old && free {
        let _ = fs::remove_file(dir.join(LOCK));
        let _ = fs::remove_dir(dir);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_area_appears_under_its_name_already_locked() {
        let base = tempfile::tempdir().unwrap();
        let a = Area::open(base.path(), "a").unwrap();
        let lock = File::open(a.mine.join(LOCK)).unwrap();
        assert!(lock.try_lock().is_err(), "the lock is held from the start");
        let names: Vec<_> = fs::read_dir(base.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert!(!names[0].starts_with('.'), "{names:?}");
    }

    #[test]
    fn recovery_leaves_an_area_in_birth_alone_until_it_is_stillborn() {
        let base = tempfile::tempdir().unwrap();
        let other = Area::open(base.path(), "a").unwrap();
        // Made, its lock file created but not yet locked: recovery must not take it.
        let birth = base.path().join(format!("{BIRTH}1-2"));
        fs::create_dir(&birth).unwrap();
        File::create(birth.join(LOCK)).unwrap();
        assert!(other.orphans(&Liveness::alone("a")).unwrap().is_empty());
        assert!(birth.join(LOCK).exists());
        let long_ago = SystemTime::now() - STILLBORN - Duration::from_secs(60);
        File::open(&birth).unwrap().set_modified(long_ago).unwrap();
        assert!(other.orphans(&Liveness::alone("a")).unwrap().is_empty());
        assert!(!birth.exists(), "a stillborn area is removed");
    }

    #[test]
    fn another_nodes_area_is_abandoned_once_the_node_is_dead_and_its_files_old() {
        let base = tempfile::tempdir().unwrap();
        let mine = Area::open(base.path(), "b").unwrap();
        // Node a's area, its process gone (the lock free) as after a kill.
        let theirs = base.path().join("a.x-77-123");
        fs::create_dir(&theirs).unwrap();
        File::create(theirs.join(LOCK)).unwrap();
        let file = theirs.join("1.M1P1Q1.host,S=3");
        fs::write(&file, b"abc").unwrap();
        assert_eq!(node_of(&theirs).as_deref(), Some("a.x"));
        let lease = Duration::from_secs(30);
        let alive = Liveness {
            node: "b",
            dead: &|_| false,
            lease,
        };
        let dead = Liveness {
            node: "b",
            dead: &|n| n == "a.x",
            lease,
        };
        assert!(mine.orphans(&alive).unwrap().is_empty(), "a live node's");
        assert!(!mine.is_abandoned(&file, &alive));
        assert!(
            mine.orphans(&dead).unwrap().is_empty(),
            "a file younger than the lease"
        );
        assert!(!mine.is_abandoned(&file, &dead));
        let old = SystemTime::now() - Duration::from_secs(60);
        File::open(&file).unwrap().set_modified(old).unwrap();
        assert_eq!(mine.orphans(&dead).unwrap(), vec![file.clone()]);
        assert!(mine.is_abandoned(&file, &dead));
        // The own node's other areas (another process of it, or one named before nodes) go by
        // their lock alone.
        let legacy = base.path().join("77-123");
        fs::create_dir(&legacy).unwrap();
        File::create(legacy.join(LOCK)).unwrap();
        fs::write(legacy.join("f"), b"x").unwrap();
        assert_eq!(node_of(&legacy), None);
        assert!(mine.is_abandoned(&legacy.join("f"), &alive));
        let sibling = Area::open(base.path(), "b").unwrap();
        let staged = sibling.reserve(1);
        sibling.write(&staged, b"x", b"").unwrap();
        assert!(!mine.is_abandoned(&staged.path, &alive), "its lock is held");
    }
}
