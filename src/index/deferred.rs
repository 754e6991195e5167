//! Commits made durable later, by their caller: intake's batches. A durable SQLite index
//! commits with `synchronous=FULL`, an fsync of the write-ahead log inside the commit, while
//! the write lock is held. A deferred commit skips it (`synchronous=NORMAL`: the commit is in
//! the log, in the page cache, and survives a crash of the process) and `LogSync::sync` makes
//! it durable afterwards, from another thread, without the lock: the placement thread does it
//! before anything that relies on the commit (renames into the tree, the store's generation
//! marker), and the next batch waits for that placement before its sources are let go.
//!
//! What a power loss in between does: the commit is rolled back (SQLite's log checksums end
//! the log at the last complete commit before it), and nothing outside the index had acted
//! on it: its staged files are orphans that recovery deletes and its sources were not let go.
//! The outbox syncs the log before it hands mail over, so no mail leaves for a commit that
//! could still be lost.
//!
//! PostgreSQL commits on the server, durably as configured; there is nothing left to sync.

use std::io;
use std::path::PathBuf;

use super::write::Tx;
use super::{Index, Result};

/// The index's write-ahead log, to make deferred commits durable.
#[derive(Debug, Clone)]
pub struct LogSync {
    wal: PathBuf,
}

impl LogSync {
    /// Makes every commit so far durable: one `fdatasync` of the log (any descriptor of a file
    /// flushes the file). No log (the last connection closed it after a checkpoint, which
    /// synced the database itself): nothing to do.
    pub fn sync(&self) -> io::Result<()> {
        match std::fs::File::open(&self.wal) {
            Ok(f) => f.sync_data(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(crate::access::at(&self.wal)(e)),
        }
    }
}

impl Index {
    /// A write transaction whose commit returns before it is durable; `log_sync` makes it so.
    /// On an index that is not durable, or on PostgreSQL, an ordinary one.
    pub fn begin_deferred(&mut self) -> Result<Tx<'_>> {
        match self.log_sync() {
            Some(_) => self.begin_lazy(),
            None => self.begin(),
        }
    }

    /// What makes this index's deferred commits durable: `None` when a commit already is as
    /// durable as configured (PostgreSQL, or an index opened without durability).
    pub fn log_sync(&self) -> Option<LogSync> {
        if !self.durable {
            return None;
        }
        let path = self.db.lite()?.path()?;
        if path.is_empty() {
            return None;
        }
        Some(LogSync {
            wal: PathBuf::from(format!("{path}-wal")),
        })
    }

    /// Makes every deferred commit so far durable (see `log_sync`).
    pub fn sync_log(&self) -> io::Result<()> {
        match self.log_sync() {
            Some(l) => l.sync(),
            None => Ok(()),
        }
    }
}

impl Tx<'_> {
    /// Commits durably where the transaction was begun lazily: on PostgreSQL the commit waits
    /// for the server's flush; on SQLite it is in the log and `Index::sync_log` after it makes
    /// it durable.
    pub fn commit_durable(self) -> Result<()> {
        if self.db().lite().is_none() {
            self.db().batch("SET LOCAL synchronous_commit = on")?;
        }
        self.commit()
    }
}

#[cfg(test)]
impl LogSync {
    /// A log at `wal`, for tests of what waits for it.
    pub(crate) fn at(wal: PathBuf) -> LogSync {
        LogSync { wal }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synchronous(db: &super::super::db::Db) -> i64 {
        let c = db.lite().expect("sqlite");
        c.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn a_deferred_commit_skips_the_flush_and_the_log_sync_makes_it_durable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.sqlite");
        let mut index = Index::open(&path, true).unwrap();
        let log = index
            .log_sync()
            .expect("a durable SQLite index has a log to sync");
        assert_eq!(log.wal, dir.path().join("index.sqlite-wal"));
        let tx = index.begin_deferred().unwrap();
        // NORMAL: the commit writes the log without flushing it.
        assert_eq!(synchronous(tx.db()), 1);
        tx.next_counter("test").unwrap();
        tx.commit().unwrap();
        // Every other commit flushes as before.
        assert_eq!(synchronous(&index.db), 2);
        assert!(log.wal.exists(), "the commit is in the log");
        log.sync().unwrap();
        index.sync_log().unwrap();
    }

    #[test]
    fn without_durability_or_a_log_file_there_is_nothing_to_sync() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = Index::open(&dir.path().join("index.sqlite"), false).unwrap();
        assert!(index.log_sync().is_none());
        let tx = index.begin_deferred().unwrap();
        tx.commit().unwrap();
        index.sync_log().unwrap();
        assert!(Index::open_memory().unwrap().log_sync().is_none());
        // A log that is gone was checkpointed into the database by its last connection.
        LogSync::at(dir.path().join("gone-wal")).sync().unwrap();
    }
}
