//! The outbox's journal: the ids of the mails a node handed over and has not yet recorded in the
//! index, one line each, made durable after every handover.
//!
//! Recording a handover in the index needs the write lock, which intake holds for most of a
//! busy second. With the journal the sender goes on sending while it waits: a handover is
//! durable in the journal before the next begins, and the index records every handover since
//! its last record in one commit, when the lock is free and at the end of each group. A crash
//! still sends again at most the handover in flight: the next sender of any node records what
//! the journals hold before it sends anything (`Sender::replay`).
//!
//! Each node writes its own file in the data directory (`outbox.<node>.journal`), which every
//! node sharing the store sees. Only its node empties it, after the record of everything in it
//! is durable. A torn last line (a crash while appending) is not an id and is passed over.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub(super) struct Journal {
    path: PathBuf,
    file: File,
    /// Whether ids were appended since the file was last emptied.
    holding: bool,
}

impl Journal {
    /// This node's journal at `path`, created when missing. What it holds is read by `read`.
    pub(super) fn open(path: &Path) -> io::Result<Journal> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let holding = !read(path)?.is_empty();
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            holding,
        })
    }

    /// Appends `ids` and makes them durable: a crash after this does not send them again.
    pub(super) fn add(&mut self, ids: &[i64]) -> io::Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let text: String = ids.iter().map(|id| format!("{id}\n")).collect();
        self.file.write_all(text.as_bytes())?;
        self.file.sync_data()?;
        self.holding = true;
        Ok(())
    }

    /// Whether ids wait in the file for their record.
    pub(super) fn holds_any(&self) -> bool {
        self.holding
    }

    /// Empties the file, once the index's record of all it held is durable.
    pub(super) fn clear(&mut self) -> io::Result<()> {
        if !self.holding {
            return Ok(());
        }
        self.file.set_len(0)?;
        self.holding = false;
        Ok(())
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }
}

/// The ids in the journal at `path` (none when there is no such file).
pub(super) fn read(path: &Path) -> io::Result<Vec<i64>> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    // Only whole lines: the last one may have been cut by a crash.
    let whole = match text.iter().rposition(|b| *b == b'\n') {
        Some(i) => &text[..=i],
        None => &[][..],
    };
    Ok(String::from_utf8_lossy(whole)
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_added_are_read_back_until_the_journal_is_emptied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.a.journal");
        assert_eq!(
            read(&path).unwrap(),
            Vec::<i64>::new(),
            "no file: nothing held"
        );
        let mut j = Journal::open(&path).unwrap();
        assert!(!j.holds_any());
        j.add(&[3, 4]).unwrap();
        j.add(&[]).unwrap();
        j.add(&[9]).unwrap();
        assert!(j.holds_any());
        assert_eq!(read(&path).unwrap(), [3, 4, 9]);
        // A journal opened again (after a restart) knows what it holds.
        assert!(Journal::open(&path).unwrap().holds_any());
        j.clear().unwrap();
        assert_eq!(read(&path).unwrap(), Vec::<i64>::new());
        j.add(&[10]).unwrap();
        assert_eq!(
            read(&path).unwrap(),
            [10],
            "appends after emptying start afresh"
        );
    }

    #[test]
    fn a_torn_last_line_is_passed_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.a.journal");
        std::fs::write(&path, b"12\n13\n14").unwrap();
        assert_eq!(read(&path).unwrap(), [12, 13]);
        std::fs::write(&path, b"12\nx\n").unwrap();
        assert_eq!(read(&path).unwrap(), [12]);
    }
}
