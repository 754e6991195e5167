//! The outbox's queue as the sender reads it: the mail due, the whole queue, the bytes of mail
//! kept in the index, and where a group's mail is still staged.

use super::db::{p, Row};

use super::outbox::Queued;
use super::{Index, Result};

const QUEUED_COLUMNS: &str =
    "id, ticket, file, kind, env_from, rcpts, state, attempts, created, next_at, last_error";

fn queued_row(r: &Row) -> Result<Queued> {
    let rcpts: String = r.get(5)?;
    Ok(Queued {
        id: r.get(0)?,
        ticket: r.get(1)?,
        file: r.get(2)?,
        kind: r.get(3)?,
        env_from: r.get(4)?,
        rcpts: serde_json::from_str(&rcpts).unwrap_or_default(),
        state: r.get(6)?,
        attempts: r.get::<i64>(7)? as u32,
        created: r.get(8)?,
        next_at: r.get(9)?,
        last_error: r.get(10)?,
    })
}

impl Index {
    /// Queued mail due at `now` (unix seconds), oldest first.
    pub fn due(&self, now: i64, limit: usize) -> Result<Vec<Queued>> {
        self.db.all(
            &format!(
                "SELECT {QUEUED_COLUMNS} FROM outbox WHERE state = 'queued' AND next_at <= ?1
             ORDER BY next_at, id LIMIT ?2"
            ),
            p![now, limit as i64],
            queued_row,
        )
    }

    /// Which of the mails `ids` are still queued (sent ones and unknown ids are left out).
    pub fn queued_of(&self, ids: &[i64]) -> Result<Vec<Queued>> {
        let within = self.db.in_json_integers();
        let mut out = Vec::new();
        for chunk in ids.chunks(super::write::ROWS_A_STATEMENT) {
            let ids = serde_json::to_string(chunk).expect("numbers serialise");
            out.extend(self.db.all(
                &format!(
                    "SELECT {QUEUED_COLUMNS} FROM outbox WHERE state = 'queued' AND id {within}
                     ORDER BY id"
                ),
                p![ids],
                queued_row,
            )?);
        }
        Ok(out)
    }

    /// When the next queued mail is due.
    pub fn next_due(&self) -> Result<Option<i64>> {
        self.db.one(
            "SELECT min(next_at) FROM outbox WHERE state = 'queued'",
            p![],
            |r| r.get(0),
        )
    }

    /// The whole outbox, or one ticket's part of it.
    pub fn outbox(&self, ticket: Option<&str>) -> Result<Vec<Queued>> {
        self.db.all(
            &format!(
                "SELECT {QUEUED_COLUMNS} FROM outbox WHERE CAST(?1 AS TEXT) IS NULL OR ticket = ?1 ORDER BY id"
            ),
            p![ticket],
            queued_row,
        )
    }

    /// The bytes of a queued mail kept in the index rather than in the tree, if it is one.
    pub fn outbox_mail(&self, file: &str) -> Result<Option<Vec<u8>>> {
        self.db.opt(
            "SELECT bytes FROM outbox_mail WHERE file = ?1",
            p![file],
            |r| r.get::<Vec<u8>>(0),
        )
    }

    /// `staged_of` for many files at once (a group of queued mail): file → staged path, for
    /// those still staged.
    pub fn staged_of_all(
        &self,
        files: &[&str],
    ) -> Result<std::collections::HashMap<String, String>> {
        let within = self.db.in_json_texts();
        let sql = format!(
            "SELECT file, staged FROM articles WHERE file {within} AND staged IS NOT NULL
             UNION ALL
             SELECT file, staged FROM quarantine WHERE file {within} AND staged IS NOT NULL"
        );
        let mut out = std::collections::HashMap::new();
        for chunk in files.chunks(super::write::ROWS_A_STATEMENT) {
            let names = serde_json::to_string(chunk).expect("strings serialise");
            self.db.each(&sql, p![names], |r| {
                out.insert(r.get(0)?, r.get(1)?);
                Ok(())
            })?;
        }
        Ok(out)
    }
}
