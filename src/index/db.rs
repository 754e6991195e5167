//! The two engines behind the index: SQLite (embedded, one machine) and PostgreSQL (shared by
//! several nodes). The index's queries are written once, with `?N` parameters, in the SQL both
//! engines speak; `Db` binds them, runs them and reads their rows on either. Where the dialects
//! differ a query names both texts (`Db::pick`).
//!
//! Values travel as `P` (what a query binds) and `Get` (what a row yields): integers, reals,
//! text, bytes and NULL, the types SQLite stores. PostgreSQL's stricter types are met at the
//! edge: a parameter is written as the type the server inferred for it, and a column is read
//! from whatever integer or boolean type the server produced.

use std::cell::RefCell;
use std::collections::HashMap;

use postgres::types::{IsNull, ToSql, Type};

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

/// A PostgreSQL connection with its prepared statements. A connection is used by one thread at
/// a time (like SQLite's); the cells let the index's `&self` methods run queries.
pub struct Pg {
    /// `None` only while being dropped.
    client: RefCell<Option<postgres::Client>>,
    statements: RefCell<HashMap<String, postgres::Statement>>,
    /// How to connect again after the server closed the connection (a restart, a failover).
    config: postgres::Config,
    /// Inside a transaction: a lost connection is not replaced, the transaction's caller
    /// hears of the loss (its statements must not go on outside the transaction).
    in_transaction: std::cell::Cell<bool>,
}

/// Prepared statements kept per PostgreSQL connection before the cache starts afresh (the
/// index's fixed queries are fewer; searches make one text per shape).
const PG_STATEMENTS: usize = 512;

/// Runs `op` where the synchronous client may block on its own runtime: here, or, on a thread
/// inside a tokio runtime (the API's blocking threads), where starting a runtime panics, on a
/// thread of its own for the time it takes.
fn off_runtime<T: Send>(op: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return op();
    }
    std::thread::scope(|s| s.spawn(op).join()).unwrap_or_else(|p| std::panic::resume_unwind(p))
}

impl Pg {
    pub fn connect(config: postgres::Config) -> Result<Pg> {
        let client = off_runtime(|| config.connect(postgres::NoTls))?;
        Ok(Pg {
            client: RefCell::new(Some(client)),
            statements: RefCell::new(HashMap::new()),
            config,
            in_transaction: std::cell::Cell::new(false),
        })
    }

    /// Runs `op` on the client (see `off_runtime`).
    fn on_client<T: Send>(&self, op: impl FnOnce(&mut postgres::Client) -> T + Send) -> T {
        let mut guard = self.client.borrow_mut();
        let client = guard.as_mut().expect("a connection until dropped");
        off_runtime(move || op(client))
    }

    /// A closed connection is opened again, outside a transaction only: a transaction that
    /// lost its connection is gone, and its caller hears of it as an error.
    fn reconnect_if_closed(&self) -> Result<()> {
        let closed = self.client.borrow().as_ref().is_none_or(|c| c.is_closed());
        if !closed || self.in_transaction.get() {
            return Ok(());
        }
        let config = &self.config;
        let client = off_runtime(|| config.connect(postgres::NoTls))?;
        let old = self.client.borrow_mut().replace(client);
        off_runtime(move || drop(old));
        self.statements.borrow_mut().clear();
        Ok(())
    }

    fn statement(&self, sql: &str) -> Result<postgres::Statement> {
        self.reconnect_if_closed()?;
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        if self.statements.borrow().len() >= PG_STATEMENTS {
            self.statements.borrow_mut().clear();
        }
        let text = dollars(sql);
        let prepared = self
            .on_client(|c| c.prepare(&text))
            .map_err(|e| IndexError::PgStatement(e, first_line(sql)))?;
        self.statements
            .borrow_mut()
            .insert(sql.to_string(), prepared.clone());
        Ok(prepared)
    }

    /// Statements without results; follows `BEGIN`, `COMMIT` and `ROLLBACK`.
    fn batch(&self, sql: &str) -> Result<()> {
        let word = sql.trim_start();
        let begins = word.starts_with("BEGIN");
        let ends = word.starts_with("COMMIT") || word.starts_with("ROLLBACK");
        if begins {
            self.in_transaction.set(false);
        }
        self.reconnect_if_closed()?;
        let done = self.on_client(|c| c.batch_execute(sql));
        if begins {
            self.in_transaction.set(done.is_ok());
        }
        if ends {
            self.in_transaction.set(false);
        }
        Ok(done?)
    }

    fn query(&self, sql: &str, params: &[P]) -> Result<Vec<postgres::Row>> {
        let statement = self.statement(sql)?;
        Ok(self.on_client(|c| {
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
            c.query(&statement, &refs)
        })?)
    }

    fn execute(&self, sql: &str, params: &[P]) -> Result<u64> {
        let statement = self.statement(sql)?;
        Ok(self.on_client(|c| {
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
            c.execute(&statement, &refs)
        })?)
    }

    /// Rows as they come; inside a tokio runtime (small queries of the API) read whole first.
    fn each(&self, sql: &str, params: &[P], mut f: impl FnMut(&Row) -> Result<()>) -> Result<()> {
        use postgres::fallible_iterator::FallibleIterator;
        if tokio::runtime::Handle::try_current().is_ok() {
            for row in self.query(sql, params)? {
                f(&Row::Pg(&row))?;
            }
            return Ok(());
        }
        let statement = self.statement(sql)?;
        let mut guard = self.client.borrow_mut();
        let client = guard.as_mut().expect("a connection until dropped");
        let mut rows = client.query_raw(&statement, params.iter())?;
        while let Some(row) = rows.next()? {
            f(&Row::Pg(&row))?;
        }
        Ok(())
    }
}

impl Drop for Pg {
    /// Closing the connection blocks on the client's runtime too (see `off_runtime`).
    fn drop(&mut self) {
        if let Some(client) = self.client.get_mut().take() {
            off_runtime(move || drop(client));
        }
    }
}

/// `?N` (and bare `?`) parameters as PostgreSQL's `$N`, outside quoted text.
pub fn dollars(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut quoted = false;
    // A bare `?` is numbered one above the highest number so far, as SQLite numbers it.
    let mut highest = 0u32;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().copied().filter(|d| d.is_ascii_digit()) {
                    digits.push(d);
                    chars.next();
                }
                let n = digits.parse().unwrap_or(highest + 1);
                highest = highest.max(n);
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push(c),
        }
    }
    out
}

/// A value a query binds.
#[derive(Debug, Clone, PartialEq)]
pub enum P<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// What can be bound as a `P` (used through the `p!` macro).
pub trait Bind {
    fn bind(&self) -> P<'_>;
}

macro_rules! bind_int {
    ($($t:ty),*) => {$(
        impl Bind for $t {
            fn bind(&self) -> P<'_> {
                P::Int(*self as i64)
            }
        }
    )*};
}
bind_int!(i64, i32, u32, u64, usize, u16, u8);

impl Bind for bool {
    fn bind(&self) -> P<'_> {
        P::Int(i64::from(*self))
    }
}

impl Bind for f64 {
    fn bind(&self) -> P<'_> {
        P::Real(*self)
    }
}

impl Bind for str {
    fn bind(&self) -> P<'_> {
        P::Text(self)
    }
}

impl Bind for String {
    fn bind(&self) -> P<'_> {
        P::Text(self)
    }
}

impl Bind for [u8] {
    fn bind(&self) -> P<'_> {
        P::Blob(self)
    }
}

impl Bind for Vec<u8> {
    fn bind(&self) -> P<'_> {
        P::Blob(self)
    }
}

impl<T: Bind + ?Sized> Bind for &T {
    fn bind(&self) -> P<'_> {
        (**self).bind()
    }
}

impl<T: Bind> Bind for Option<T> {
    fn bind(&self) -> P<'_> {
        match self {
            Some(v) => v.bind(),
            None => P::Null,
        }
    }
}

impl Bind for P<'_> {
    fn bind(&self) -> P<'_> {
        self.clone()
    }
}

/// The parameters of a query: `p![number, state.as_str(), at]`.
macro_rules! p {
    ($($x:expr),* $(,)?) => {
        &[$($crate::index::db::Bind::bind(&$x)),*][..]
    };
}
pub(crate) use p;

impl rusqlite::ToSql for P<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            P::Null => ValueRef::Null,
            P::Int(v) => ValueRef::Integer(*v),
            P::Real(v) => ValueRef::Real(*v),
            P::Text(s) => ValueRef::Text(s.as_bytes()),
            P::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for P<'_> {
    /// Written as the type the server inferred for the parameter.
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, BoxError> {
        match self {
            P::Null => Ok(IsNull::Yes),
            P::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                Type::FLOAT8 => (*v as f64).to_sql(ty, out),
                Type::FLOAT4 => (*v as f32).to_sql(ty, out),
                _ => v.to_string().to_sql(ty, out),
            },
            P::Real(v) => match *ty {
                Type::FLOAT4 => (*v as f32).to_sql(ty, out),
                Type::FLOAT8 => v.to_sql(ty, out),
                _ => v.to_string().to_sql(ty, out),
            },
            P::Text(s) => match *ty {
                Type::INT8 => s.parse::<i64>()?.to_sql(ty, out),
                Type::INT4 => s.parse::<i32>()?.to_sql(ty, out),
                Type::BYTEA => s.as_bytes().to_sql(ty, out),
                _ => s.to_sql(ty, out),
            },
            P::Blob(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// A row of a query's result, on either engine.
pub enum Row<'r> {
    Lite(&'r rusqlite::Row<'r>),
    Pg(&'r postgres::Row),
}

impl Row<'_> {
    pub fn get<T: Get>(&self, i: usize) -> Result<T> {
        match self {
            Row::Lite(r) => Ok(T::lite(r, i)?),
            Row::Pg(r) => T::pg(r, i),
        }
    }
}

impl<'r> Row<'r> {
    /// A text column borrowed from the row (no copy: large scans read millions).
    pub fn text(&self, i: usize) -> Result<&'r str> {
        self.text_opt(i)?.ok_or_else(|| null(i))
    }

    /// As `text`, NULL as `None`.
    pub fn text_opt(&self, i: usize) -> Result<Option<&'r str>> {
        match *self {
            Row::Lite(r) => Ok(r.get_ref(i)?.as_str_or_null().map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    i,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?),
            Row::Pg(r) => Ok(r.try_get(i)?),
        }
    }
}

/// What a column can be read as.
pub trait Get: Sized {
    fn lite(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Self>;
    fn pg(r: &postgres::Row, i: usize) -> Result<Self>;
}

/// An integer column of any of PostgreSQL's integer types (or a boolean, as 0 and 1).
fn pg_int(r: &postgres::Row, i: usize) -> Result<Option<i64>> {
    let ty = r.columns().get(i).map(|c| c.type_().clone());
    Ok(match ty {
        Some(Type::INT8) => r.try_get::<_, Option<i64>>(i)?,
        Some(Type::INT4) => r.try_get::<_, Option<i32>>(i)?.map(i64::from),
        Some(Type::INT2) => r.try_get::<_, Option<i16>>(i)?.map(i64::from),
        Some(Type::BOOL) => r.try_get::<_, Option<bool>>(i)?.map(i64::from),
        _ => r.try_get::<_, Option<i64>>(i)?,
    })
}

fn null(i: usize) -> IndexError {
    IndexError::Corrupt(format!("column {i} is NULL where a value was expected"))
}

macro_rules! get_int {
    ($($t:ty),*) => {$(
        impl Get for $t {
            fn lite(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Self> {
                r.get(i)
            }
            fn pg(r: &postgres::Row, i: usize) -> Result<Self> {
                let v = pg_int(r, i)?.ok_or_else(|| null(i))?;
                <$t>::try_from(v).map_err(|e| IndexError::Corrupt(format!("column {i}: {e}")))
            }
        }
    )*};
}
get_int!(i64, i32, u32, u64, usize);

impl Get for bool {
    fn lite(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Self> {
        r.get(i)
    }
    fn pg(r: &postgres::Row, i: usize) -> Result<Self> {
        Ok(pg_int(r, i)?.ok_or_else(|| null(i))? != 0)
    }
}

impl Get for f64 {
    fn lite(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Self> {
        r.get(i)
    }
    fn pg(r: &postgres::Row, i: usize) -> Result<Self> {
        let ty = r.columns().get(i).map(|c| c.type_().clone());
        Ok(match ty {
            Some(Type::FLOAT4) => f64::from(r.try_get::<_, f32>(i)?),
            Some(Type::FLOAT8) => r.try_get::<_, f64>(i)?,
            _ => pg_int(r, i)?.ok_or_else(|| null(i))? as f64,
        })
    }
}

impl Get for String {
    fn lite(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Self> {
        r.get(i)
    }
    fn pg(r: &postgres::Row, i: usize) -> Result<Self> {
        Ok(r.try_get(i)?)
    }
}

impl Get for Vec<u8> {
    fn lite(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Self> {
        r.get(i)
    }
    fn pg(r: &postgres::Row, i: usize) -> Result<Self> {
        Ok(r.try_get(i)?)
    }
}

/// Options read NULL as `None`; on PostgreSQL a value is read as `T` reads it.
impl<T: Get + rusqlite::types::FromSql> Get for Option<T> {
    fn lite(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Self> {
        r.get(i)
    }
    fn pg(r: &postgres::Row, i: usize) -> Result<Self> {
        let is_null = match r.columns().get(i).map(|c| c.type_().clone()) {
            Some(Type::INT8) => r.try_get::<_, Option<i64>>(i)?.is_none(),
            Some(Type::INT4) => r.try_get::<_, Option<i32>>(i)?.is_none(),
            Some(Type::INT2) => r.try_get::<_, Option<i16>>(i)?.is_none(),
            Some(Type::BOOL) => r.try_get::<_, Option<bool>>(i)?.is_none(),
            Some(Type::FLOAT8) => r.try_get::<_, Option<f64>>(i)?.is_none(),
            Some(Type::FLOAT4) => r.try_get::<_, Option<f32>>(i)?.is_none(),
            Some(Type::BYTEA) => r.try_get::<_, Option<Vec<u8>>>(i)?.is_none(),
            _ => r.try_get::<_, Option<String>>(i)?.is_none(),
        };
        if is_null {
            Ok(None)
        } else {
            T::pg(r, i).map(Some)
        }
    }
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

    /// Runs statements without parameters or results (schema, transaction control).
    pub fn batch(&self, sql: &str) -> Result<()> {
        match self {
            Db::Lite(c) => Ok(c.execute_batch(sql)?),
            Db::Pg(pg) => pg.batch(sql),
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
pub fn pg_message(e: &postgres::Error) -> String {
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
fn first_line(sql: &str) -> String {
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
    fn parameters_become_dollars_outside_quotes() {
        assert_eq!(
            dollars("SELECT a FROM t WHERE b = ?1 AND c = '?2' AND d IN (?, ?)"),
            "SELECT a FROM t WHERE b = $1 AND c = '?2' AND d IN ($2, $3)"
        );
        assert_eq!(dollars("x = ?12 + ?3"), "x = $12 + $3");
    }

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
