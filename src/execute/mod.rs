//! The one way changes reach the store and the index together: files staged and written, one
//! sync, one index commit, then on a placement thread the commit made durable (`index::LogSync`)
//! and renames into the tree and event-log lines, made durable by the next commit's sync (or
//! `Placer::flush`). If the process dies before the commit (or the power fails before the
//! commit is durable), the staged files are orphans that recovery deletes; after it, recovery
//! places what the index names as staged and appends its pending lines. Intake's batches, its
//! history notes and the outbox's failure notices go through `commit`; event-log lines
//! committed before the tree by the outbox and the service-level round reach it by `pending`.

pub mod pending;
mod place;

pub use place::{Placement, Placer};

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::PathBuf;

use crate::article::HistoryLine;
use crate::index::{IndexError, Tx};
use crate::parallel;
use crate::store::generation::Generation;
use crate::store::spliced::Spliced;
use crate::store::{Folder, Staged, Store};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("store: {0}")]
    Io(#[from] std::io::Error),
}

/// A staged file to write: its name, the trace block, the message, and the message's part that
/// lives in a file, if any.
type Write<'a> = (Staged, Vec<u8>, Cow<'a, [u8]>, Option<&'a Spliced>);

/// What is left to do: files to write before the commit, the rest after it.
#[derive(Default)]
pub struct After<'a> {
    writes: Vec<Write<'a>>,
    pub renames: Vec<(Folder, Folder)>,
    places: Vec<(PathBuf, Folder, String)>,
    /// Event-log lines to append once committed, with their `pending_lines` row.
    pub history: Vec<(Folder, HistoryLine, i64)>,
    /// Folders of tickets this batch opened: created without looking for them elsewhere.
    pub fresh: HashSet<Folder>,
    /// Outgoing mail was queued: wake the sender after the commit.
    pub queued: bool,
}

impl<'a> After<'a> {
    /// A file to write before the commit and to place in `folder` after it: always both.
    pub fn stage(&mut self, staged: Staged, head: Vec<u8>, body: Cow<'a, [u8]>, folder: Folder) {
        self.stage_flagged(staged, head, body, folder, "");
    }

    /// `stage`, placed with Maildir flags (e.g. "S" for \Seen: into cur/ as `NAME:2,S`).
    pub fn stage_flagged(
        &mut self,
        staged: Staged,
        head: Vec<u8>,
        body: Cow<'a, [u8]>,
        folder: Folder,
        flags: &str,
    ) {
        self.stage_spliced(staged, head, body, None, folder, flags);
    }

    /// `stage_flagged` of a message whose last part lives in a file (`Message::spliced`).
    pub fn stage_spliced(
        &mut self,
        staged: Staged,
        head: Vec<u8>,
        body: Cow<'a, [u8]>,
        spliced: Option<&'a Spliced>,
        folder: Folder,
        flags: &str,
    ) {
        let name = if flags.is_empty() {
            staged.file.clone()
        } else {
            format!("{}:2,{flags}", staged.file)
        };
        self.places.push((staged.path.clone(), folder, name));
        self.writes.push((staged, head, body, spliced));
    }
}

/// Writes `after`'s staged files, waits for the placement before (so one sync covers both),
/// syncs, commits `tx` (begun by `Index::begin_deferred`: the commit returns before it is
/// durable), and starts placing `after` on the placer's thread, which makes the commit durable
/// before it touches the tree. A batch that opened tickets moves the index's generation on; the
/// store's marker follows once the commit is durable.
pub fn commit(
    store: &std::sync::Arc<Store>,
    tx: Tx,
    after: After,
    placer: &mut Placer,
) -> Result<(), Error> {
    // The staged files must be durable before the rows that name them are.
    parallel::try_each(
        &after.writes,
        |(staged, head, body, spliced)| match spliced {
            None => store.write_staged(staged, head, body),
            Some(s) => store.write_staged_spliced(staged, head, body, s),
        },
    )?;
    // The previous placement must be complete before one syncfs covers this batch's staged
    // files and those renames together.
    placer.settle()?;
    store.sync()?;
    tx.clear_staged_all(placer.unsynced())?;
    tx.clear_pending_lines(placer.unsynced_lines())?;
    // New tickets: the store's marker follows the index (never ahead of it).
    let generation = match after.fresh.is_empty() {
        true => None,
        false => tx.bump_generation()?,
    };
    tx.commit()?;
    placer.synced();
    let placement = Placement {
        generation: generation.map(|(store, count)| Generation { store, count }),
        renames: after.renames,
        places: after.places,
        history: after.history,
        fresh: after.fresh,
    };
    placer.start(store.clone(), placement);
    Ok(())
}
