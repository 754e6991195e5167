//! Recovery at start: finishes batches a crash interrupted between the index commit and the
//! renames into the tree, and removes staged files that were never committed (their messages
//! are still at their sources). Staging areas of live processes are left alone, and those of
//! other nodes until the node is dead (see `store::staging`).

use std::path::Path;

use super::IntakeError;
use crate::index::{Index, State};
use crate::store::{Folder, Liveness, Store};

/// Recovers for node `node`, taking nodes whose heartbeat is older than `lease` seconds for dead.
pub fn run(store: &Store, index: &mut Index, node: &str, lease: i64) -> Result<(), IntakeError> {
    // On a database server, the transaction of a process killed just after it sent its commit
    // may still be finishing: it holds the write lock until it has committed or rolled back,
    // so taking the lock once waits for it, and what follows sees its rows or none of them.
    // Otherwise its staged files could be taken for leftovers and removed under a commit.
    index.begin()?.commit()?;
    let now = crate::index::unix_now();
    let alive: std::collections::HashSet<String> = index
        .nodes()?
        .into_iter()
        .filter(|n| n.heartbeat >= now - lease)
        .map(|n| n.name)
        .collect();
    let dead = |n: &str| !alive.contains(n);
    let live = Liveness {
        node,
        dead: &dead,
        lease: std::time::Duration::from_secs(lease.max(0) as u64),
    };
    // First, so a batch that failed on a full disk gives its space back before the index is
    // written to below.
    let mut removed = 0;
    for f in store.orphaned_staged(&live)? {
        let name = f.to_string_lossy().into_owned();
        if index.is_staged_known(&name)? {
            continue;
        }
        match std::fs::remove_file(&f) {
            Ok(()) => removed += 1,
            // Removed by another process recovering at the same moment.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    if removed > 0 {
        tracing::info!(removed, "removed staged files of uncommitted batches");
    }
    let pending: Vec<_> = index
        .pending()?
        .into_iter()
        .filter(|p| store.is_abandoned(Path::new(&p.staged), &live))
        .collect();
    if !pending.is_empty() {
        tracing::warn!(
            count = pending.len(),
            "recovering articles committed but not yet placed"
        );
        let tx = index.begin()?;
        for p in &pending {
            let folder = match &p.ticket {
                Some(t) => Folder::ticket(&t.queue, &t.number, t.state == State::Closed),
                None => Folder::quarantine(),
            };
            if let Some(t) = &p.ticket {
                // A reopen or move whose folder rename did not happen yet.
                if !store.folder_exists(&folder) {
                    if let Some(other) = store.find_ticket(&t.number)? {
                        store.rename_folder(&other, &folder)?;
                    }
                }
            }
            if store.locate(&folder, &p.file).is_some() {
                tx.clear_staged(&p.staged)?;
            } else if Path::new(&p.staged).exists() {
                store.ensure_folder(&folder)?;
                match store.place(Path::new(&p.staged), &folder, &p.file) {
                    // Placed by another process recovering at the same moment.
                    Err(e)
                        if e.kind() == std::io::ErrorKind::NotFound
                            && store.locate(&folder, &p.file).is_some() => {}
                    r => {
                        r?;
                    }
                }
                tx.clear_staged(&p.staged)?;
            } else if store.locate(&folder, &p.file).is_some() {
                // Placed by another process between our two looks.
                tx.clear_staged(&p.staged)?;
            } else {
                // Cannot happen while staged files are synced before commit; if it does, the
                // message was never acknowledged at its source and will come again.
                tracing::error!(file = %p.file, "staged file vanished; forgetting its index row");
                tx.drop_staged(&p.staged)?;
            }
        }
        store.sync()?;
        tx.commit()?;
    }
    // Event-log lines whose batch committed: append them again (a line appended twice is
    // read once: readers keep the last line per key).
    let failed = crate::execute::pending::flush(store, index, |_, _| true)?;
    if let Some((_, e)) = failed.into_iter().next() {
        return Err(e.into());
    }
    Ok(())
}
