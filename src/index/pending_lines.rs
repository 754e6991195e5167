//! Event-log lines committed to the index with their batch and appended to the tickets' event
//! logs after it (`pending_lines`): kept until the append is durable, so that recovery can
//! finish it after a crash.

use super::db::p;
use super::{Index, Result, Tx};

impl Tx<'_> {
    /// An event-log line committed with its batch and appended to the tree after it: kept
    /// here until the append is durable, so recovery can finish it after a crash.
    pub fn add_pending_line(&self, ticket: &str, line: &str) -> Result<i64> {
        self.db().one(
            "INSERT INTO pending_lines(ticket, line) VALUES (?1, ?2) RETURNING id",
            p![ticket, line],
            |r| r.get(0),
        )
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
