//! The index: SQLite in WAL mode, behind an interface that speaks tickets, articles and events.
//!
//! The index is derived data: `reindex` rebuilds it from the tree. It holds what makes intake
//! fast (Message-IDs, digests, participants, counters) and what the CLI prints. No other module
//! writes SQL; a PostgreSQL implementation for two-node sites would replace this module only.

mod lookup;
mod read;
mod rows;
mod schema;
mod write;

pub use rows::{Article, Duplicate, Event, Quarantined, State, Ticket, TicketRef};
pub use write::{NewArticle, Tx};

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("index: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("index: {0}")]
    Corrupt(String),
}

impl IndexError {
    /// Busy/locked and I/O failures can succeed on retry; a corrupt or incompatible index cannot.
    pub fn is_transient(&self) -> bool {
        match self {
            IndexError::Sql(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy
                    | rusqlite::ErrorCode::DatabaseLocked
                    | rusqlite::ErrorCode::SystemIoFailure
                    | rusqlite::ErrorCode::DiskFull
                    | rusqlite::ErrorCode::OutOfMemory
            ),
            _ => false,
        }
    }
}

pub type Result<T> = std::result::Result<T, IndexError>;

pub struct Index {
    conn: Connection,
}

impl Index {
    /// Opens or creates the index. `durable` chooses `synchronous=FULL` (a commit survives power
    /// loss) over `NORMAL` (survives a process crash).
    pub fn open(path: &Path, durable: bool) -> Result<Index> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", if durable { "FULL" } else { "NORMAL" })?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "cache_size", -16_000)?;
        schema::migrate(&conn)?;
        Ok(Index { conn })
    }

    /// Opens an existing index without writing to it, or an empty one in memory when there is
    /// none (for `explain`, which must change nothing).
    pub fn open_readonly(path: &Path) -> Result<Index> {
        if !path.exists() {
            return Index::open_memory();
        }
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(Duration::from_secs(30))?;
        Ok(Index { conn })
    }

    /// A fresh index in memory (fsck rebuilds the tree's view into one).
    pub fn open_memory() -> Result<Index> {
        let conn = Connection::open_in_memory()?;
        schema::migrate(&conn)?;
        Ok(Index { conn })
    }

    /// Starts a write transaction, taking the write lock at once so that decisions made inside
    /// it (counters, duplicates) cannot race another process.
    pub fn begin(&mut self) -> Result<Tx<'_>> {
        Tx::begin(&mut self.conn)
    }

    /// Removes every row (for reindex, inside its own transaction).
    pub fn clear(&mut self) -> Result<()> {
        Ok(schema::clear(&self.conn)?)
    }
}
