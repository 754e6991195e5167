//! The two engines behind the index: SQLite (embedded, one machine) and PostgreSQL (shared by
//! several nodes). The index's queries are written once, with `?N` parameters, in the SQL both
//! engines speak; `Db` binds them, runs them and reads their rows on either. Where the dialects
//! differ a query names both texts (`Db::pick`).
//!
//! Values travel as `P` (what a query binds) and `Get` (what a row yields): integers, reals,
//! text, bytes and NULL, the types SQLite stores. PostgreSQL's stricter types are met at the
//! edge: a parameter is written as the type the server inferred for it, and a column is read
//! from whatever integer or boolean type the server produced.

pub use super::pg_client::Pg;
pub(crate) use super::values::p;
pub use super::values::{Row, P};
use super::{IndexError, Result};

/// The engine a connection speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// One connection to the index's database.
pub enum Db {
    Lite(rusqlite::Connection),
    Pg(Box<Pg>),
}

impl Db {
    pub fn engine(&self) -> Engine {
        match self {
            Db::Lite(_) => Engine::Sqlite,
            Db::Pg(_) => Engine::Postgres,
        }
    }

    /// The SQLite connection, for what only SQLite has (pragmas, its schema's upgrades).
    pub fn lite(&self) -> Option<&rusqlite::Connection> {
        match self {
            Db::Lite(c) => Some(c),
            Db::Pg(_) => None,
        }
    }

    /// One of two texts of a query, where the dialects differ.
    pub fn pick<'s>(&self, sqlite: &'s str, postgres: &'s str) -> &'s str {
        match self {
            Db::Lite(_) => sqlite,
            Db::Pg(_) => postgres,
        }
    }

    /// The test that a column is one of a JSON array's texts, bound as one parameter `?1`
    /// (statements that name a few hundred rows at once; both forms use the column's index).
    pub fn in_json_texts(&self) -> &'static str {
        self.pick(
            "IN (SELECT value FROM json_each(?1))",
            "= ANY(ARRAY(SELECT json_array_elements_text(CAST(?1 AS TEXT)::json)))",
        )
    }

    /// A JSON array of texts bound as parameter `?n`, as a table `alias` of one column `value`,
    /// to join on an indexed column: the engine looks each up (a large table's `= ANY` of a few
    /// hundred texts was a scan that compared each row with each text).
    pub fn json_texts_table(&self, n: u32, alias: &str) -> String {
        match self {
            Db::Lite(_) => format!("json_each(?{n}) AS {alias}"),
            Db::Pg(_) => {
                format!("json_array_elements_text(CAST(?{n} AS TEXT)::json) AS {alias}(value)")
            }
        }
    }

    /// `in_json_texts` for a JSON array of integers.
    pub fn in_json_integers(&self) -> &'static str {
        self.pick(
            "IN (SELECT value FROM json_each(?1))",
            "= ANY(ARRAY(SELECT CAST(json_array_elements_text(CAST(?1 AS TEXT)::json) AS BIGINT)))",
        )
    }

    /// Runs statements without parameters or results (schema, transaction control).
    pub fn batch(&self, sql: &str) -> Result<()> {
        match self {
            Db::Lite(c) => Ok(c.execute_batch(sql)?),
            Db::Pg(pg) => pg.batch(sql),
        }
    }

    /// Runs a statement whose result is not read. On PostgreSQL, inside a transaction, it is
    /// sent with the next statement that reads (or the commit), saving its round trip; its
    /// failure fails the transaction there.
    pub fn defer(&self, sql: &str, params: &[P]) -> Result<()> {
        match self {
            Db::Lite(_) => self.exec(sql, params).map(drop),
            Db::Pg(pg) => pg.defer(sql, params),
        }
    }

    /// Runs a statement; returns the rows it changed.
    pub fn exec(&self, sql: &str, params: &[P]) -> Result<usize> {
        match self {
            Db::Lite(c) => Ok(c
                .prepare_cached(sql)?
                .execute(rusqlite::params_from_iter(params))?),
            Db::Pg(pg) => Ok(pg.execute(sql, params)? as usize),
        }
    }

    /// The first row's value, if there is a row.
    pub fn opt<T>(
        &self,
        sql: &str,
        params: &[P],
        f: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<Option<T>> {
        match self {
            Db::Lite(c) => {
                let mut statement = c.prepare_cached(sql)?;
                let mut rows = statement.query(rusqlite::params_from_iter(params))?;
                match rows.next()? {
                    Some(r) => f(&Row::Lite(r)).map(Some),
                    None => Ok(None),
                }
            }
            Db::Pg(pg) => match pg.query(sql, params)?.first() {
                Some(r) => f(&Row::Pg(r)).map(Some),
                None => Ok(None),
            },
        }
    }

    /// The first row's value; no row is an error (the query always yields one).
    pub fn one<T>(&self, sql: &str, params: &[P], f: impl FnOnce(&Row) -> Result<T>) -> Result<T> {
        self.opt(sql, params, f)?
            .ok_or_else(|| IndexError::NoRow(first_line(sql)))
    }

    /// Whether the query yields a row.
    pub fn exists(&self, sql: &str, params: &[P]) -> Result<bool> {
        Ok(self.opt(sql, params, |_| Ok(()))?.is_some())
    }

    /// Every row's value, in order.
    pub fn all<T>(
        &self,
        sql: &str,
        params: &[P],
        mut f: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.each(sql, params, |r| {
            out.push(f(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Calls `f` for each row as it comes, without holding the result (large reads).
    pub fn each(
        &self,
        sql: &str,
        params: &[P],
        mut f: impl FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        match self {
            Db::Lite(c) => {
                let mut statement = c.prepare_cached(sql)?;
                let mut rows = statement.query(rusqlite::params_from_iter(params))?;
                while let Some(r) = rows.next()? {
                    f(&Row::Lite(r))?;
                }
                Ok(())
            }
            Db::Pg(pg) => pg.each(sql, params, f),
        }
    }
}

/// A PostgreSQL error as the server said it (its `Display` says only "db error").
pub fn pg_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{} {}: {}", db.severity(), db.code().code(), db.message());
            if let Some(detail) = db.detail() {
                s.push_str(&format!(" ({detail})"));
            }
            if let Some(hint) = db.hint() {
                s.push_str(&format!("; hint: {hint}"));
            }
            s
        }
        None => {
            let mut s = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                s.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            s
        }
    }
}

/// A query for an error message: its words on one line, at most 240 characters.
pub(super) fn first_line(sql: &str) -> String {
    let words = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    match words.char_indices().nth(240) {
        Some((cut, _)) => format!("{}…", &words[..cut]),
        None => words,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_bind_and_read_back_on_sqlite() {
        let db = Db::Lite(rusqlite::Connection::open_in_memory().unwrap());
        db.batch("CREATE TABLE t(i INTEGER, s TEXT, o TEXT, b BLOB, f REAL)")
            .unwrap();
        let none: Option<&str> = None;
        let n = db
            .exec(
                "INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5)",
                p![7u64, "seven", none, vec![1u8, 2], 0.5],
            )
            .unwrap();
        assert_eq!(n, 1);
        let row = db
            .one("SELECT i, s, o, b, f, i = 7 FROM t", p![], |r| {
                Ok((
                    r.get::<u64>(0)?,
                    r.get::<String>(1)?,
                    r.get::<Option<String>>(2)?,
                    r.get::<Vec<u8>>(3)?,
                    r.get::<f64>(4)?,
                    r.get::<bool>(5)?,
                ))
            })
            .unwrap();
        assert_eq!(row, (7, "seven".into(), None, vec![1, 2], 0.5, true));
        assert!(db
            .exists("SELECT 1 FROM t WHERE s = ?1", p!["seven"])
            .unwrap());
        assert!(db
            .opt("SELECT 1 FROM t WHERE s = ?1", p!["eight"], |_| Ok(()))
            .unwrap()
            .is_none());
        assert!(db.one("SELECT 1 FROM t WHERE 0", p![], |_| Ok(())).is_err());
    }
}
