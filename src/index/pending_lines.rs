//! Event-log lines committed to the index with their batch and appended to the tickets' event
//! logs after it (`pending_lines`): kept until the append is durable, so that recovery can
//! finish it after a crash.

use super::db::{p, Engine};
use super::{Index, Result, Tx};

/// Ids of `pending_lines` a transaction draws at once (PostgreSQL).
const PENDING_IDS_AT_ONCE: i64 = 64;

impl Tx<'_> {
    /// An event-log line committed with its batch and appended to the tree after it: kept
    /// here until the append is durable, so recovery can finish it after a crash.
    ///
    /// On PostgreSQL the row's id is drawn from the table's sequence ahead, a block at a time
    /// for the transaction, and the row is written with the next statement that reads (or the
    /// commit): no round trip a line. The write lock keeps ids in the order of the commits.
    pub fn add_pending_line(&self, ticket: &str, line: &str) -> Result<i64> {
        if self.db().engine() == Engine::Sqlite {
            return self.db().one(
                "INSERT INTO pending_lines(ticket, line) VALUES (?1, ?2) RETURNING id",
                p![ticket, line],
                |r| r.get(0),
            );
        }
        let id = self.next_pending_id()?;
        self.db().defer(
            "INSERT INTO pending_lines(id, ticket, line) VALUES (?1, ?2, ?3)",
            p![id, ticket, line],
        )?;
        Ok(id)
    }

    /// The next id from the block this transaction drew from `pending_lines`' sequence.
    fn next_pending_id(&self) -> Result<i64> {
        let mut ids = self.pending_ids.borrow_mut();
        if ids.is_empty() {
            let drawn: Vec<i64> = self.db().all(
                "SELECT nextval(pg_get_serial_sequence('pending_lines', 'id'))
                   FROM generate_series(1, ?1) ORDER BY 1 DESC",
                p![PENDING_IDS_AT_ONCE],
                |r| r.get(0),
            )?;
            *ids = drawn;
        }
        Ok(ids.pop().expect("a block of ids was drawn"))
    }

    /// Forgets lines now durable in the tree, a few hundred a statement.
    pub fn clear_pending_lines(&self, ids: &[i64]) -> Result<()> {
        let within = self.db().in_json_integers();
        for chunk in ids.chunks(super::write::ROWS_A_STATEMENT) {
            let ids = serde_json::to_string(chunk).expect("numbers serialise");
            self.db().defer(
                &format!("DELETE FROM pending_lines WHERE id {within}"),
                p![ids],
            )?;
        }
        Ok(())
    }

    /// `add_pending_line` for a caller that finds its lines again by reading them all
    /// (`pending_lines`): the row is written with the next statement that reads, or the commit.
    pub fn add_pending_line_later(&self, ticket: &str, line: &str) -> Result<()> {
        self.db().defer(
            "INSERT INTO pending_lines(ticket, line) VALUES (?1, ?2)",
            p![ticket, line],
        )
    }
}

impl Index {
    /// Event-log lines committed but perhaps not yet in the tree: (id, ticket, line).
    pub fn pending_lines(&self) -> Result<Vec<(i64, String, String)>> {
        self.db.all(
            "SELECT id, ticket, line FROM pending_lines ORDER BY id",
            p![],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    }
}
