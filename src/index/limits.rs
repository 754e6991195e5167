//! What the rate limits count: autoresponses per recipient and in the last minute, agents'
//! notices per sender; pruned after two days.

use super::db::{p, Db, Engine};

use super::{Index, Result, Tx};

fn notices_about(c: &Db, sender: &str, since: i64) -> Result<(u32, Option<i64>)> {
    c.one(
        "SELECT count(*), min(at) FROM notices WHERE sender = ?1 AND at >= ?2",
        p![sender, since],
        |r| Ok((r.get::<i64>(0)? as u32, r.get(1)?)),
    )
}

fn autoreply_counts(c: &Db, recipient: &str, now: i64) -> Result<(u32, u32)> {
    // One query for both: each is a round trip on PostgreSQL.
    let (to, minute) = c.one(
        "SELECT (SELECT count(*) FROM autoreplies WHERE recipient = ?1 AND at >= ?2),
                (SELECT CAST(coalesce(sum(n), 0) AS BIGINT) FROM autoreply_seconds
                 WHERE at >= ?3)",
        p![recipient, now - 86_400, now - 60],
        |r| Ok((r.get::<i64>(0)?, r.get::<i64>(1)?)),
    )?;
    Ok((to as u32, minute as u32))
}

impl Tx<'_> {
    /// Autoresponses to `recipient` in the 24 hours before `now`, and to anyone in the minute
    /// before it (unix seconds): what the rate limit and the circuit breaker count.
    pub fn autoreply_counts(&self, recipient: &str, now: i64) -> Result<(u32, u32)> {
        if let Some(counts) = self.prefetched.borrow().autoreply_counts(recipient, now) {
            return Ok(counts);
        }
        autoreply_counts(self.db(), recipient, now)
    }

    /// Records an autoresponse for both counts (on PostgreSQL in one statement).
    pub fn add_autoreply(&self, recipient: &str, at: i64) -> Result<()> {
        const SECOND: &str = "INSERT INTO autoreply_seconds(at, n) VALUES (?2, 1)
                 ON CONFLICT(at) DO UPDATE SET n = autoreply_seconds.n + 1";
        self.prefetched.borrow_mut().autoreplied(recipient, at);
        match self.db().engine() {
            Engine::Sqlite => {
                self.db().exec(
                    "INSERT INTO autoreplies(recipient, at) VALUES (?1, ?2)",
                    p![recipient, at],
                )?;
                self.db().exec(SECOND, p![recipient, at])?;
            }
            Engine::Postgres => self.db().defer(
                &format!(
                    "WITH r AS (INSERT INTO autoreplies(recipient, at) VALUES (?1, ?2)) {SECOND}"
                ),
                p![recipient, at],
            )?,
        }
        Ok(())
    }

    /// Notices to agents about mail from `sender` at or after `since` (unix seconds), and when
    /// the oldest of them was sent.
    pub fn notices_about(&self, sender: &str, since: i64) -> Result<(u32, Option<i64>)> {
        notices_about(self.db(), sender, since)
    }

    pub fn add_notice(&self, sender: &str, at: i64) -> Result<()> {
        self.db().exec(
            "INSERT INTO notices(sender, at) VALUES (?1, ?2)",
            p![sender, at],
        )?;
        Ok(())
    }

    /// Drops the autoresponse and notice counts from before `before` (unix seconds); returns
    /// how many.
    pub fn prune_rate_limits(&self, before: i64) -> Result<usize> {
        let mut dropped = 0;
        for sql in [
            "DELETE FROM autoreplies WHERE at < ?1",
            "DELETE FROM notices WHERE at < ?1",
        ] {
            dropped += self.db().exec(sql, p![before])?;
        }
        self.db()
            .exec("DELETE FROM autoreply_seconds WHERE at < ?1", p![before])?;
        Ok(dropped)
    }
}

impl Index {
    /// `Tx::autoreply_counts`, read-only (for `explain`, which must say what intake would do).
    pub fn autoreply_counts(&self, recipient: &str, now: i64) -> Result<(u32, u32)> {
        autoreply_counts(&self.db, recipient, now)
    }

    /// `Tx::notices_about`, read-only. An index no run has written to since the notices table
    /// came has none: nothing was counted yet.
    pub fn notices_about(&self, sender: &str, since: i64) -> Result<(u32, Option<i64>)> {
        match notices_about(&self.db, sender, since) {
            Err(super::IndexError::Sql(e)) if e.to_string().contains("no such table: notices") => {
                Ok((0, None))
            }
            r => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::index::Index;

    #[test]
    fn pruning_drops_only_counts_from_before_the_cut() {
        let mut index = Index::open_memory().unwrap();
        let tx = index.begin().unwrap();
        for at in [100, 199, 200, 300] {
            tx.add_autoreply("jane@example.org", at).unwrap();
            tx.add_notice("jane@example.org", at).unwrap();
        }
        assert_eq!(tx.prune_rate_limits(200).unwrap(), 4);
        assert_eq!(
            tx.notices_about("jane@example.org", 0).unwrap(),
            (2, Some(200))
        );
        assert_eq!(
            tx.autoreply_counts("jane@example.org", 300).unwrap(),
            (2, 1)
        );
        assert_eq!(tx.prune_rate_limits(200).unwrap(), 0);
    }

    #[test]
    fn the_circuit_breaker_counts_the_minute_before_now_by_the_second() {
        let mut index = Index::open_memory().unwrap();
        let tx = index.begin().unwrap();
        // 3 at 1000, 2 at 1030, 1 at 1060, 4 at 1061.
        for (at, n) in [(1000, 3), (1030, 2), (1060, 1), (1061, 4)] {
            for i in 0..n {
                tx.add_autoreply(&format!("c{i}@example.org"), at).unwrap();
            }
        }
        let minute = |now| tx.autoreply_counts("c0@example.org", now).unwrap().1;
        // The minute before `now`, its first second included.
        assert_eq!(minute(1060), 10);
        assert_eq!(minute(1061), 7);
        assert_eq!(minute(1090), 7);
        assert_eq!(minute(1091), 5);
        assert_eq!(minute(1122), 0);
        assert_eq!(tx.autoreply_counts("c0@example.org", 1061).unwrap().0, 4);
    }

    #[test]
    fn an_index_of_schema_8_gets_the_per_second_counts_of_what_it_recorded() {
        let index = Index::open_memory().unwrap();
        index
            .db
            .lite()
            .expect("an SQLite index")
            .execute_batch(
                "INSERT INTO autoreplies(recipient, at) VALUES ('a@x', 10), ('b@x', 10), ('a@x', 50);
                 DROP TABLE autoreply_seconds;
                 PRAGMA user_version = 8;",
            )
            .unwrap();
        crate::index::schema::migrate(index.db.lite().expect("an SQLite index")).unwrap();
        assert_eq!(index.autoreply_counts("a@x", 70).unwrap(), (2, 3));
        assert_eq!(index.autoreply_counts("a@x", 71).unwrap(), (2, 1));
    }
}
