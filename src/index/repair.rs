//! An index file that cannot be used (not a database, damaged, cut short) is set aside, never
//! deleted or patched: the tree is the truth and a rebuild restores everything; the old file
//! stays next to it for whoever wants to look at it.
//!
//! The check costs one `stat` and a 100-byte read on every open: SQLite's header records the
//! database size in pages, and a file shorter than that lost its tail. Only then does a full
//! `quick_check` run, since a checkpoint in another process may briefly write page 1 before
//! the pages it grows the file by.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::{Index, IndexError, Result};

impl IndexError {
    /// The file is not a database or is damaged: retrying cannot help, a rebuild does.
    pub fn is_corrupt(&self) -> bool {
        match self {
            IndexError::Sql(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt
            ),
            IndexError::Corrupt(_) => true,
            _ => false,
        }
    }
}

impl Index {
    /// Opens the index; a damaged one is renamed `<name>.broken-<unix time>` (with its WAL and
    /// shared-memory files) and a new, empty one opened in its place. Returns where the damaged
    /// one went.
    /// `open_or_set_aside` for SQLite; PostgreSQL keeps its own pages whole, and a database
    /// that cannot be opened is an error to report, not a file to move.
    pub fn open_or_set_aside_at(
        at: &super::Location,
        durable: bool,
    ) -> Result<(Index, Option<PathBuf>)> {
        match at {
            super::Location::Sqlite(path) => Index::open_or_set_aside(path, durable),
            pg => Ok((Index::open_at(pg, durable)?, None)),
        }
    }

    pub fn open_or_set_aside(path: &Path, durable: bool) -> Result<(Index, Option<PathBuf>)> {
        let damage = match short_file(path) {
            true => Some(IndexError::Corrupt(
                "the file is shorter than its header says".into(),
            )),
            false => None,
        };
        let opened = Index::open(path, durable).and_then(|i| match damage {
            // Only SQLite's own verdict says "damaged"; a busy database or a failed read is
            // what it is (transient), not a reason to set the index aside.
            Some(e) => i
                .quick_check()
                .map(|_| i)
                .map_err(|q| match q.is_corrupt() {
                    true => e,
                    false => q,
                }),
            None => Ok(i),
        });
        match opened {
            Ok(i) => Ok((i, None)),
            Err(e) if e.is_corrupt() => {
                let aside = set_aside(path)?;
                tracing::error!(
                    index = %path.display(),
                    moved_to = %aside.display(),
                    "the index is damaged ({e}): set aside, rebuilding from the tree"
                );
                Ok((Index::open(path, durable)?, Some(aside)))
            }
            Err(e) => Err(e),
        }
    }

    fn quick_check(&self) -> Result<()> {
        // PostgreSQL checks its own pages; the question is SQLite's file alone.
        let Some(c) = self.db.lite() else {
            return Ok(());
        };
        let verdict: String = c.query_row("PRAGMA quick_check(1)", [], |r| r.get(0))?;
        match verdict.as_str() {
            "ok" => Ok(()),
            other => Err(IndexError::Corrupt(other.to_string())),
        }
    }
}

/// Whether the file is shorter than the size its header records.
fn short_file(path: &Path) -> bool {
    let Some(f) = header_file(path) else {
        return false;
    };
    let Ok(len) = f.metadata().map(|m| m.len()) else {
        return false;
    };
    let mut h = [0u8; 100];
    // The recorded size counts only when its "valid for" number matches the change counter.
    if f.read_exact_at(&mut h, 0).is_err()
        || &h[..16] != b"SQLite format 3\0"
        || h[92..96] != h[24..28]
    {
        return false;
    }
    let page = match u16::from_be_bytes([h[16], h[17]]) {
        1 => 65_536,
        p => u64::from(p),
    };
    let pages = u64::from(u32::from_be_bytes([h[28], h[29], h[30], h[31]]));
    len < page * pages
}

/// The descriptor the header is read through, kept open for the life of the process, one per
/// file: POSIX locks belong to the process, and closing any descriptor of the index file would
/// drop the locks SQLite's connections in this process hold on it (the daemon opens a second
/// engine for its LMTP listener while the first one is in use).
fn header_file(path: &Path) -> Option<std::sync::Arc<std::fs::File>> {
    use std::os::unix::fs::MetadataExt;
    use std::sync::{Arc, Mutex};
    type Kept = Vec<((u64, u64), Arc<std::fs::File>)>;
    static KEPT: Mutex<Kept> = Mutex::new(Vec::new());
    let m = std::fs::metadata(path).ok()?;
    let key = (m.dev(), m.ino());
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, f)) = kept.iter().find(|(k, _)| *k == key) {
        return Some(f.clone());
    }
    let f = Arc::new(std::fs::File::open(path).ok()?);
    let m = f.metadata().ok()?;
    kept.push(((m.dev(), m.ino()), f.clone()));
    Some(f)
}

fn set_aside(path: &Path) -> Result<PathBuf> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let aside = PathBuf::from(format!("{}.broken-{now}", path.display()));
    let io = |e: std::io::Error| IndexError::Corrupt(format!("{}: {e}", path.display()));
    std::fs::rename(path, &aside).map_err(io)?;
    for ext in ["-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{ext}", path.display()));
        if from.exists() {
            std::fs::rename(&from, format!("{}{ext}", aside.display())).map_err(io)?;
        }
    }
    Ok(aside)
}
