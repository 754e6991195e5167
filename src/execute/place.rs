//! Placing a committed batch in the tree: the commit made durable first (`index::LogSync`),
//! then the store's generation marker, folder renames (reopen), renames of staged files into
//! ticket folders, event-log lines. It runs on a thread of its own while the next batch is
//! decided and written; the next batch waits for it before its syncfs, which makes both durable.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

use super::Error;
use crate::article::history::{self, HistoryLine};
use crate::index::{self, LogSync};
use crate::parallel;
use crate::store::generation::Generation;
use crate::store::{Folder, Store};

/// What a committed batch still has to do in the tree.
pub struct Placement {
    /// The index's generation after the commit, when the batch opened tickets.
    pub generation: Option<Generation>,
    pub renames: Vec<(Folder, Folder)>,
    pub places: Vec<(PathBuf, Folder, String)>,
    /// Event-log lines, with their `pending_lines` row.
    pub history: Vec<(Folder, HistoryLine, i64)>,
    /// Folders of tickets the batch opened: created without looking for them elsewhere.
    pub fresh: HashSet<Folder>,
}

#[derive(Default)]
pub struct Placer {
    /// What makes the index's deferred commits durable (`None`: they already are).
    log: Option<LogSync>,
    running: Option<JoinHandle<Result<Placed, Error>>>,
    /// Staged paths placed in the tree whose renames are not yet known durable.
    unsynced: Vec<String>,
    /// Event-log lines appended but not yet known durable (`pending_lines` rows).
    unsynced_lines: Vec<i64>,
}

/// What a placement did: staged paths placed, pending event-log lines appended.
type Placed = (Vec<String>, Vec<i64>);

impl Placer {
    /// A placer for commits to `index` (begun by `Index::begin_deferred`).
    pub fn new(index: &index::Index) -> Placer {
        Placer {
            log: index.log_sync(),
            ..Placer::default()
        }
    }

    pub fn start(&mut self, store: Arc<Store>, p: Placement) {
        debug_assert!(self.running.is_none(), "settle before start");
        let log = self.log.clone();
        self.running = Some(std::thread::spawn(move || finish(&store, log.as_ref(), p)));
    }

    /// Waits for the placement in progress, if any.
    pub fn settle(&mut self) -> Result<(), Error> {
        if let Some(h) = self.running.take() {
            let placed = h
                .join()
                .map_err(|_| Error::Io(std::io::Error::other("placement thread panicked")))??;
            self.unsynced.extend(placed.0);
            self.unsynced_lines.extend(placed.1);
        }
        Ok(())
    }

    pub fn unsynced(&self) -> &[String] {
        &self.unsynced
    }

    pub fn unsynced_lines(&self) -> &[i64] {
        &self.unsynced_lines
    }

    /// The unsynced placements were made durable and marked placed.
    pub fn synced(&mut self) {
        self.unsynced.clear();
        self.unsynced_lines.clear();
    }

    /// Settles, makes every placement durable and marks the rows placed.
    pub fn flush(&mut self, store: &Store, index: &mut index::Index) -> Result<(), Error> {
        self.make_durable(store)?;
        self.mark_placed(index)
    }

    /// Settles and makes every placement durable: what was placed is in the tree for good,
    /// whatever happens to the index. The rows stay unmarked (`mark_placed`).
    pub fn make_durable(&mut self, store: &Store) -> Result<(), Error> {
        self.settle()?;
        if self.unsynced.is_empty() && self.unsynced_lines.is_empty() {
            return Ok(());
        }
        store.sync()?;
        Ok(())
    }

    /// Marks the durable placements placed in the index. Until that succeeds they stay listed
    /// here (the next commit or flush marks them) and in the index (recovery finds them placed
    /// and clears them).
    pub fn mark_placed(&mut self, index: &mut index::Index) -> Result<(), Error> {
        if self.unsynced.is_empty() && self.unsynced_lines.is_empty() {
            return Ok(());
        }
        let tx = index.begin_lazy()?;
        tx.clear_staged_all(&self.unsynced)?;
        tx.clear_pending_lines(&self.unsynced_lines)?;
        tx.commit()?;
        self.synced();
        Ok(())
    }
}

/// After the commit: makes it durable, then the marker, renames, placements and event-log
/// lines. Returns the staged paths placed and the event-log lines appended.
fn finish(store: &Store, log: Option<&LogSync>, after: Placement) -> Result<Placed, Error> {
    // Nothing in the tree may run ahead of the index: not an article named by a commit a power
    // loss could still take back, nor the marker of a generation the index might not reach.
    if let Some(log) = log {
        log.sync()?;
    }
    if let Some(g) = after.generation {
        // A marker left behind is safe (it only weakens the next start's check); failing the
        // placement for it would not be.
        if let Err(e) = store.set_generation(g) {
            tracing::warn!("store generation marker not updated: {e}");
        }
    }
    for (from, to) in &after.renames {
        if store.folder_exists(from) {
            store.rename_folder(from, to)?;
        }
    }
    // Folders are independent of each other: place them on all cores.
    let mut groups: Vec<(&Folder, Vec<(&PathBuf, &String)>)> = Vec::new();
    let mut slot: HashMap<&Folder, usize> = HashMap::new();
    for (staged, folder, file) in &after.places {
        let i = *slot.entry(folder).or_insert_with(|| {
            groups.push((folder, Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push((staged, file));
    }
    parallel::try_each(&groups, |(folder, files)| {
        place_group(store, folder, files, after.fresh.contains(*folder))
    })?;
    for (folder, line, _) in &after.history {
        let folder = current_folder(store, folder, false)?;
        history::append(&store.history_path(&folder), line)?;
    }
    // Not synced here: the next batch's syncfs (or `Engine::flush`) makes these renames durable
    // and only then marks the rows placed and lets the sources go.
    Ok((
        after
            .places
            .iter()
            .map(|(staged, _, _)| staged.to_string_lossy().into_owned())
            .collect(),
        after.history.iter().map(|(_, _, id)| *id).collect(),
    ))
}

fn place_group(
    store: &Store,
    folder: &Folder,
    files: &[(&PathBuf, &String)],
    fresh: bool,
) -> std::io::Result<()> {
    let mut folder = current_folder(store, folder, fresh)?;
    for (staged, file) in files {
        match store.place(staged, &folder, file) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && staged.exists() => {
                // Renamed under us since the decision (a close or a move by another process):
                // the article goes where its ticket is now.
                store.forget(&folder);
                folder = current_folder(store, &folder, false)?;
                store.place(staged, &folder, file)?;
            }
            r => {
                r?;
            }
        }
    }
    Ok(())
}

/// A ticket's folder as it is in the tree now (another process may have renamed it), made
/// complete; other folders as they are.
fn current_folder(store: &Store, folder: &Folder, fresh: bool) -> std::io::Result<Folder> {
    if fresh {
        store.create_fresh(folder)?;
        return Ok(folder.clone());
    }
    if store.check_placeable(folder) {
        return Ok(folder.clone());
    }
    if let Folder::Ticket { number, .. } = folder {
        if !store.folder_exists(folder) {
            if let Some(actual) = store.find_ticket(number)? {
                store.ensure_folder(&actual)?;
                return Ok(actual);
            }
        }
    }
    store.ensure_folder(folder)?;
    Ok(folder.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_placed_before_the_commit_is_durable() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Arc::new(Store::open(dir.path(), true, dir.path().join("dovecot"), "n").unwrap());
        let folder = Folder::ticket("Support", "1001", false);
        let place = |placer: &mut Placer| {
            let staged = store.reserve(5);
            store.write_staged(&staged, b"", b"hello").unwrap();
            placer.start(
                store.clone(),
                Placement {
                    generation: Some(Generation { store: 7, count: 1 }),
                    renames: vec![],
                    places: vec![(staged.path.clone(), folder.clone(), staged.file.clone())],
                    history: vec![],
                    fresh: [folder.clone()].into(),
                },
            );
            placer.settle()
        };
        // A log that cannot be synced (its folder is a file): the placement stops before the
        // tree and the marker.
        let not_a_dir = dir.path().join("file");
        std::fs::write(&not_a_dir, b"").unwrap();
        let mut placer = Placer {
            log: Some(LogSync::at(not_a_dir.join("index.sqlite-wal"))),
            ..Placer::default()
        };
        assert!(place(&mut placer).is_err());
        assert!(!store.folder_exists(&folder), "placed ahead of the index");
        assert_eq!(
            store.generation().unwrap(),
            None,
            "marker ahead of the index"
        );
        // Synced: placed, and the marker follows.
        let mut placer = Placer {
            log: Some(LogSync::at(dir.path().join("index.sqlite-wal"))),
            ..Placer::default()
        };
        place(&mut placer).unwrap();
        assert!(store.folder_exists(&folder));
        assert_eq!(
            store.generation().unwrap(),
            Some(Generation { store: 7, count: 1 })
        );
    }
}
