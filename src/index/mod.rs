//! The index: SQLite in WAL mode, behind an interface that speaks tickets, articles and events.
//!
//! The index is derived data: `reindex` rebuilds it from the tree. It holds what makes intake
//! fast (Message-IDs, digests, participants, counters) and what the CLI prints. No other module
//! writes SQL; a PostgreSQL implementation for two-node sites would replace this module only.

mod calls;
mod checkpoints;
pub(crate) mod db;
mod deferred;
mod digest;
mod directory;
mod directory_write;
mod find;
mod generation;
mod limits;
mod lookup;
mod nodes;
mod outbox;
mod outbox_read;
mod pending_lines;
mod pg;
mod pg_client;
mod pg_literal;
mod phone;
mod prefetch;
mod read;
mod repair;
mod report;
mod rows;
mod schema;
mod sla;
mod turns;
mod values;
mod write;

pub use calls::PendingCall;
pub use deferred::LogSync;
pub use digest::{DigestAgent, DigestEntry};
pub use directory::{Entry, EntryKind, Line, Loaded, Sender, TicketParty, DIRECTORY_FILE};
pub use find::Query;
pub use lookup::Lookup;
pub use nodes::{unix_now, Node};
pub use outbox::{Accepted, AnswerParties, Attribute, Queued, ThreadHead};
pub use pg::PgConfig;
pub use phone::{Lines, Parties};
pub use read::{article_order, Records, TicketFilter};
pub use report::{Change, TicketFacts};
pub use rows::{Article, Attribution, Duplicate, Event, Quarantined, State, Ticket, TicketRef};
pub use sla::SlaRows;
pub use write::{NewArticle, Tx};

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use db::Db;

/// Prepared statements kept per connection: more than all the SQL the index runs (rusqlite keeps
/// 16 by default, fewer than intake alone uses, so every filed message parsed and planned some of
/// its statements again).
const STATEMENT_CACHE: usize = 128;

/// How long a connection waits for another process's writer.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("index: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("index: {}", db::pg_message(.0))]
    Pg(#[from] tokio_postgres::Error),
    /// A statement PostgreSQL refused to prepare, with its first line.
    #[error("index: {} in: {}", db::pg_message(.0), .1)]
    PgStatement(tokio_postgres::Error, String),
    #[error("index: {0}")]
    Corrupt(String),
    /// A query that always yields a row yielded none.
    #[error("index: no row from: {0}")]
    NoRow(String),
    /// The `[index]` settings cannot work (a password in the url, an unreadable password file).
    #[error("{0}")]
    Config(String),
    /// Read-only commands do not upgrade the index; anything that takes mail does.
    #[error(
        "index: schema version {found} is older than this postdesk's ({}): start the daemon, or \
         run `postdesk run --once` or `postdesk reindex`, to upgrade it",
        schema::VERSION
    )]
    Outdated { found: i64 },
}

impl IndexError {
    fn is_busy(&self) -> bool {
        matches!(self, IndexError::Sql(rusqlite::Error::SqliteFailure(e, _))
            if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
    }

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
            // No SQLSTATE: the connection failed, closed or timed out. Then the classes that
            // say "try again": connection exceptions, transaction rollbacks (serialization,
            // deadlock), insufficient resources, operator intervention (shutdown, restart).
            IndexError::Pg(e) | IndexError::PgStatement(e, _) => e.code().is_none_or(|c| {
                let c = c.code();
                ["08", "40", "53", "57P"]
                    .iter()
                    .any(|class| c.starts_with(class))
            }),
            _ => false,
        }
    }
}

pub type Result<T> = std::result::Result<T, IndexError>;

/// Where the index is: SQLite's file, or a PostgreSQL database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(std::path::PathBuf),
    Postgres(PgConfig),
}

impl Location {
    /// What to say in logs and errors: the file, or the url (which holds no password).
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(c) => c.url.clone(),
        }
    }
}

pub struct Index {
    db: Db,
    durable: bool,
    /// Turns at the write lock among this process's connections to the file (SQLite's only).
    turns: Option<std::sync::Arc<turns::Turns>>,
}

impl Index {
    /// Opens the index at `at`, creating or upgrading its schema.
    pub fn open_at(at: &Location, durable: bool) -> Result<Index> {
        match at {
            Location::Sqlite(path) => Index::open(path, durable),
            Location::Postgres(cfg) => Ok(Index {
                db: pg::open(cfg, true)?
                    .ok_or_else(|| IndexError::Corrupt("the schema was not made".into()))?,
                durable,
                turns: None,
            }),
        }
    }

    /// Opens the index at `at` for reading (see `open_readonly`).
    pub fn open_readonly_at(at: &Location) -> Result<Index> {
        match at {
            Location::Sqlite(path) => Index::open_readonly(path),
            // Nothing has made the schema yet: an empty index, as for a missing SQLite file.
            Location::Postgres(cfg) => match pg::open(cfg, false)? {
                Some(db) => Ok(Index {
                    db,
                    durable: false,
                    turns: None,
                }),
                None => Index::open_memory(),
            },
        }
    }

    /// Which engine holds the index.
    pub fn engine(&self) -> db::Engine {
        self.db.engine()
    }

    /// Opens or creates the index. `durable` chooses `synchronous=FULL` (a commit survives power
    /// loss) over `NORMAL` (survives a process crash).
    pub fn open(path: &Path, durable: bool) -> Result<Index> {
        // Switching a new database to WAL and creating its tables can answer "busy" at once,
        // without waiting, while another process does the same: retry for a while.
        let mut tries = 0;
        loop {
            match Index::try_open(path, durable) {
                Err(e) if e.is_busy() && tries < 100 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(20 + tries * 5));
                }
                r => return r,
            }
        }
    }

    fn try_open(path: &Path, durable: bool) -> Result<Index> {
        let conn = Connection::open(path)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", if durable { "FULL" } else { "NORMAL" })?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // 64 MiB of page cache: with 200,000 tickets the digest and Message-ID indexes no longer
        // fit 16 MiB, and every miss is a pread. Checkpoints every 32 MiB of WAL write hot pages
        // once instead of four times.
        conn.pragma_update(None, "cache_size", -64_000)?;
        conn.pragma_update(None, "wal_autocheckpoint", 8_000)?;
        schema::migrate(&conn)?;
        Ok(Index {
            db: Db::Lite(conn),
            durable,
            turns: Some(turns::Turns::of(path)),
        })
    }

    /// Opens an existing index without writing to it, or an empty one in memory when there is
    /// none (for `explain`, which must change nothing).
    pub fn open_readonly(path: &Path) -> Result<Index> {
        if !path.exists() {
            return Index::open_memory();
        }
        // Without the connection's mutex, as `Connection::open` does: a connection is used by
        // one thread at a time, and the mutex cost a lock and an unlock for every column read.
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
            | rusqlite::OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let found = schema::version(&conn)?;
        if found == 0 {
            // Being created by the first process that takes mail: nothing is in it yet.
            return Index::open_memory();
        }
        if (1..schema::VERSION).contains(&found) {
            return Err(IndexError::Outdated { found });
        }
        Ok(Index {
            db: Db::Lite(conn),
            durable: false,
            turns: None, // never writes
        })
    }

    /// A fresh index in memory (fsck rebuilds the tree's view into one).
    pub fn open_memory() -> Result<Index> {
        let conn = Connection::open_in_memory()?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        schema::migrate(&conn)?;
        Ok(Index {
            db: Db::Lite(conn),
            durable: false,
            turns: None,
        })
    }

    /// Starts a write transaction, taking the write lock at once so that decisions made inside
    /// it (counters, duplicates) cannot race another process.
    pub fn begin(&mut self) -> Result<Tx<'_>> {
        Tx::begin(&self.db, self.turns.as_ref().and_then(|t| t.take()))
    }

    /// A write transaction whose commit need not survive power loss: what it records can be
    /// reconstructed (marking placed files as placed). It saves a flush per batch; the next
    /// durable commit flushes it along. Commits are durable again once it ends, by its commit,
    /// an error or a rollback.
    pub fn begin_lazy(&mut self) -> Result<Tx<'_>> {
        let turn = self.turns.as_ref().and_then(|t| t.take());
        let tx = self.begin_lazy_in(turn, true)?;
        tx.ok_or_else(|| IndexError::Corrupt("a transaction that waits began none".into()))
    }

    /// `begin_lazy` when no other writer holds or waits for the write lock, else `None` at
    /// once (for work that can wait for a better moment: the outbox's records).
    pub fn begin_lazy_if_free(&mut self) -> Result<Option<Tx<'_>>> {
        let turn = match &self.turns {
            Some(turns) => match turns.try_take() {
                Some(turn) => Some(turn),
                None => return Ok(None),
            },
            None => None,
        };
        // Another process's writer (`deliver`, the CLI) is not waited for either; PostgreSQL's
        // lock is tried.
        let Some(conn) = self.db.lite() else {
            return self.begin_lazy_in(turn, false);
        };
        conn.busy_timeout(Duration::ZERO)?;
        let began = self.begin_lazy_in(turn, false);
        if let Some(conn) = self.db.lite() {
            conn.busy_timeout(BUSY_TIMEOUT)?;
        }
        match began {
            Err(e) if e.is_busy() => Ok(None),
            r => r,
        }
    }

    /// A lazy transaction (see `begin_lazy`); `wait` for the write lock, else `None` when it is
    /// not free.
    fn begin_lazy_in(&self, turn: Option<turns::Turn>, wait: bool) -> Result<Option<Tx<'_>>> {
        if self.durable {
            self.set_synchronous("NORMAL")?;
        }
        let began = match wait {
            true => Tx::begin(&self.db, turn).map(Some),
            false => Tx::begin_if_free(&self.db, turn),
        };
        let mut tx = match began {
            Ok(Some(tx)) => tx,
            other => {
                if self.durable {
                    if let Err(re) = self.set_synchronous("FULL") {
                        tracing::warn!("index: synchronous=FULL not restored: {re}");
                    }
                }
                return other;
            }
        };
        tx.restore_full = self.durable && self.db.lite().is_some();
        if self.db.engine() == db::Engine::Postgres {
            tx.db().batch("SET LOCAL synchronous_commit = off")?;
        }
        Ok(Some(tx))
    }

    /// Caps this connection's page cache (the default is 64 MiB, for intake's lookups): the
    /// outbox reads little but each mail's row once.
    pub fn limit_cache(&self, kib: i64) -> Result<()> {
        if let Some(c) = self.db.lite() {
            c.pragma_update(None, "cache_size", -kib)?;
        }
        Ok(())
    }

    /// Leaves the write-ahead log's checkpoints to the process's other connections. SQLite runs
    /// a checkpoint inside the commit that finds the log past its limit, and this process's
    /// other writers wait for their turn (`turns`) until that commit returns: the outbox, which
    /// commits after every handover it can, should not make intake wait for one. Intake's
    /// batches, the heartbeat (every few seconds) and the last connection to close checkpoint
    /// the log.
    pub fn leave_checkpoints(&self) -> Result<()> {
        if let Some(c) = self.db.lite() {
            c.pragma_update(None, "wal_autocheckpoint", 0)?;
        }
        Ok(())
    }

    /// Removes every row (for reindex, inside its own transaction).
    pub fn clear(&mut self) -> Result<()> {
        schema::clear(&self.db)
    }

    fn set_synchronous(&self, level: &str) -> Result<()> {
        if let Some(c) = self.db.lite() {
            c.pragma_update(None, "synchronous", level)?;
        }
        Ok(())
    }
}
