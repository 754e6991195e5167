//! One connection to PostgreSQL, on tokio-postgres driven by a runtime of its own: the index's
//! callers are synchronous, one thread at a time, as with SQLite.
//!
//! Statements whose result nobody reads (history, participants, counters' increments, marks)
//! can be deferred inside a transaction (`defer`): they are sent together, in one flight with
//! the next statement that reads, or just before the commit. A message's intake asks the server
//! about a dozen questions and writes about twenty rows; without this each row cost a round
//! trip of its own. A deferred statement that fails fails the transaction, whose caller hears
//! of it from the next statement or the commit, with the failed statement's text.
//!
//! The deferred statements of a flight go as one text, `EXECUTE name(literal, …)` each, of
//! statements prepared by name once a connection (`pg_literal`): in the extended protocol each
//! statement ends in a synchronisation that the server answers with a send of its own, which
//! cost it more than the rows did.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::task::Poll;

use futures::StreamExt;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, NoTls, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::db::first_line;
use super::pg_literal;
use super::values::{Owned, Row, P};
use super::{IndexError, Result};

/// A PostgreSQL connection with its prepared statements and its deferred statements.
pub struct Pg {
    /// Drives the connection; `None` only while being dropped.
    runtime: Option<tokio::runtime::Runtime>,
    client: RefCell<Client>,
    statements: RefCell<HashMap<String, Statement>>,
    /// Statements waiting for the next flight (only inside a transaction).
    deferred: RefCell<Vec<(String, Vec<Owned>)>>,
    /// The names deferred statements are prepared under (`PREPARE`), by their text, and the
    /// number of the next name. A name is never used twice on a connection.
    prepared_as: RefCell<HashMap<String, String>>,
    next_name: Cell<u64>,
    /// How to connect again after the server closed the connection (a restart, a failover).
    config: Config,
    /// TLS (`sslmode=require`), or none.
    tls: Option<MakeRustlsConnect>,
    /// Inside a transaction: a lost connection is not replaced, the transaction's caller
    /// hears of the loss (its statements must not go on outside the transaction).
    in_transaction: Cell<bool>,
}

/// Prepared statements kept per PostgreSQL connection before the cache starts afresh (the
/// index's fixed queries are fewer; searches make one text per shape).
const PG_STATEMENTS: usize = 512;

/// Deferred statements sent in one flight at most (a large batch's rows go in several).
const FLIGHT: usize = 1024;

/// Runs `op` where blocking on a runtime is allowed: here, or, on a thread inside a tokio
/// runtime (the API's blocking threads), where starting another panics, on a thread of its own
/// for the time it takes.
fn off_runtime<T: Send>(op: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return op();
    }
    std::thread::scope(|s| s.spawn(op).join()).unwrap_or_else(|p| std::panic::resume_unwind(p))
}

fn connect(
    runtime: &tokio::runtime::Runtime,
    config: &Config,
    tls: Option<&MakeRustlsConnect>,
) -> Result<Client> {
    // Its end (the server gone) shows as the client's next call failing.
    let client = match tls {
        None => {
            let (client, connection) = off_runtime(|| runtime.block_on(config.connect(NoTls)))?;
            runtime.spawn(async move { drop(connection.await) });
            client
        }
        Some(tls) => {
            let (client, connection) =
                off_runtime(|| runtime.block_on(config.connect(tls.clone())))?;
            runtime.spawn(async move { drop(connection.await) });
            client
        }
    };
    Ok(client)
}

impl Pg {
    pub fn connect(config: Config, tls: Option<rustls::ClientConfig>) -> Result<Pg> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| IndexError::Config(format!("index: no runtime for PostgreSQL: {e}")))?;
        let tls = tls.map(MakeRustlsConnect::new);
        let client = connect(&runtime, &config, tls.as_ref())?;
        Ok(Pg {
            tls,
            runtime: Some(runtime),
            client: RefCell::new(client),
            statements: RefCell::new(HashMap::new()),
            deferred: RefCell::new(Vec::new()),
            prepared_as: RefCell::new(HashMap::new()),
            next_name: Cell::new(0),
            config,
            in_transaction: Cell::new(false),
        })
    }

    /// Waits for `f` on the connection's runtime (see `off_runtime`).
    fn block<T: Send, F: Future<Output = T> + Send>(&self, f: F) -> T {
        let runtime = self.runtime.as_ref().expect("a runtime until dropped");
        off_runtime(|| runtime.block_on(f))
    }

    /// A closed connection is opened again, outside a transaction only: a transaction that
    /// lost its connection is gone, and its caller hears of it as an error.
    fn reconnect_if_closed(&self) -> Result<()> {
        if !self.client.borrow().is_closed() || self.in_transaction.get() {
            return Ok(());
        }
        let runtime = self.runtime.as_ref().expect("a runtime until dropped");
        let client = connect(runtime, &self.config, self.tls.as_ref())?;
        *self.client.borrow_mut() = client;
        self.statements.borrow_mut().clear();
        self.prepared_as.borrow_mut().clear();
        Ok(())
    }

    fn statement(&self, sql: &str) -> Result<Statement> {
        self.reconnect_if_closed()?;
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        if self.statements.borrow().len() >= PG_STATEMENTS {
            self.statements.borrow_mut().clear();
        }
        let text = dollars(sql);
        let client = self.client.borrow();
        let prepared = self
            .block(client.prepare(&text))
            .map_err(|e| IndexError::PgStatement(e, first_line(sql)))?;
        self.statements
            .borrow_mut()
            .insert(sql.to_string(), prepared.clone());
        Ok(prepared)
    }

    /// Sends the deferred statements, all at once, and waits for their answers.
    fn flush(&self) -> Result<()> {
        self.flight(None).map(drop)
    }

    /// The deferred statements `flight` as one text of `EXECUTE`s, preceded by the `PREPARE`
    /// of those new to this connection (and the `DEALLOCATE` of all when there are too many);
    /// `None` if a value has no literal.
    fn script(&self, flight: &[(String, Vec<Owned>)]) -> Option<String> {
        let mut names = self.prepared_as.borrow_mut();
        let mut text = String::new();
        if names.len() + flight.len() > PG_STATEMENTS {
            for name in names.values() {
                text.push_str("DEALLOCATE ");
                text.push_str(name);
                text.push_str(";\n");
            }
            names.clear();
        }
        for (sql, params) in flight {
            let name = match names.get(sql) {
                Some(name) => name.clone(),
                None => {
                    let name = format!("postdesk_deferred_{}", self.next_name.get());
                    self.next_name.set(self.next_name.get() + 1);
                    text.push_str("PREPARE ");
                    text.push_str(&name);
                    text.push_str(" AS ");
                    text.push_str(&dollars(sql));
                    text.push_str(";\n");
                    names.insert(sql.clone(), name.clone());
                    name
                }
            };
            text.push_str("EXECUTE ");
            text.push_str(&name);
            for (i, value) in params.iter().enumerate() {
                text.push_str(if i == 0 { "(" } else { ", " });
                if !pg_literal::push(&mut text, value) {
                    names.clear();
                    return None;
                }
            }
            if !params.is_empty() {
                text.push(')');
            }
            text.push_str(";\n");
        }
        Some(text)
    }

    /// Sends the deferred statements in their order and then `then` (a query whose rows are
    /// wanted), all in one flight, and waits for the answers: one round trip for all. The
    /// first failure is the answer (the server refuses whatever follows it in the transaction).
    fn flight(&self, then: Option<(&str, &[P])>) -> Result<Option<Vec<tokio_postgres::Row>>> {
        let flight: Vec<(String, Vec<Owned>)> = std::mem::take(&mut *self.deferred.borrow_mut());
        let last = match then {
            Some((sql, _)) => Some(self.statement(sql)?),
            None => None,
        };
        if flight.is_empty() && last.is_none() {
            return Ok(None);
        }
        let script = match flight.is_empty() {
            true => None,
            false => match self.script(&flight) {
                Some(text) => Some(text),
                None => {
                    // A value without a literal: each statement the ordinary way.
                    for (sql, params) in &flight {
                        let values: Vec<P> = params.iter().map(Owned::as_p).collect();
                        self.execute(sql, &values).map_err(|e| match e {
                            IndexError::Pg(e) => IndexError::PgStatement(e, first_line(sql)),
                            e => e,
                        })?;
                    }
                    None
                }
            },
        };
        let then_refs: Vec<&(dyn ToSql + Sync)> = then
            .map(|(_, params)| params.iter().map(|p| p as _).collect())
            .unwrap_or_default();
        let client = self.client.borrow();
        let client = &*client;
        let done = self.block(async {
            let mut writes = script
                .as_ref()
                .map(|text| Box::pin(client.batch_execute(text)));
            let mut read = last
                .as_ref()
                .map(|st| Box::pin(client.query(st, &then_refs)));
            let mut written = None;
            let mut rows = None;
            // A request goes out when its future is first polled: the writes, then the read.
            std::future::poll_fn(|cx| {
                if let Some(f) = writes.as_mut() {
                    if let Poll::Ready(r) = f.as_mut().poll(cx) {
                        written = Some(r);
                        writes = None;
                    }
                }
                if let Some(f) = read.as_mut() {
                    if let Poll::Ready(r) = f.as_mut().poll(cx) {
                        rows = Some(r);
                        read = None;
                    }
                }
                Poll::Ready(())
            })
            .await;
            let written = match (written, writes) {
                (Some(r), _) => Some(r),
                (None, Some(f)) => Some(f.await),
                (None, None) => None,
            };
            let rows = match (rows, read) {
                (Some(r), _) => Some(r),
                (None, Some(f)) => Some(f.await),
                (None, None) => None,
            };
            (written, rows)
        });
        match done {
            (Some(Err(e)), _) => {
                // Which of them failed the server does not say; the table it names does.
                self.prepared_as.borrow_mut().clear();
                let table = e.as_db_error().and_then(|d| d.table()).unwrap_or("");
                let sql = (flight.iter())
                    .find(|(sql, _)| !table.is_empty() && sql.contains(table))
                    .unwrap_or(&flight[0]);
                Err(IndexError::PgStatement(e, first_line(&sql.0)))
            }
            (_, Some(rows)) => Ok(Some(rows?)),
            (_, None) => Ok(None),
        }
    }

    /// Queues a statement whose result is not read, inside a transaction; outside one it runs
    /// at once.
    pub fn defer(&self, sql: &str, params: &[P]) -> Result<()> {
        if !self.in_transaction.get() {
            return self.execute(sql, params).map(drop);
        }
        let owned = params.iter().map(Owned::of).collect();
        let full = {
            let mut deferred = self.deferred.borrow_mut();
            deferred.push((sql.to_string(), owned));
            deferred.len() >= FLIGHT
        };
        if full {
            self.flush()?;
        }
        Ok(())
    }

    /// Statements without results; follows `BEGIN`, `COMMIT` and `ROLLBACK`.
    pub fn batch(&self, sql: &str) -> Result<()> {
        let word = sql.trim_start();
        let begins = word.starts_with("BEGIN");
        let ends = word.starts_with("COMMIT") || word.starts_with("ROLLBACK");
        if word.starts_with("ROLLBACK") {
            // What the transaction had not sent yet is rolled back by not sending it.
            self.deferred.borrow_mut().clear();
        } else {
            // A failure fails the transaction: its caller rolls it back.
            self.flush()?;
        }
        if begins {
            self.in_transaction.set(false);
        }
        self.reconnect_if_closed()?;
        let done = {
            let client = self.client.borrow();
            self.block(client.batch_execute(sql))
        };
        if begins {
            self.in_transaction.set(done.is_ok());
        }
        if ends {
            self.in_transaction.set(false);
        }
        Ok(done?)
    }

    pub fn query(&self, sql: &str, params: &[P]) -> Result<Vec<tokio_postgres::Row>> {
        Ok(self.flight(Some((sql, params)))?.expect("a query's rows"))
    }

    pub fn execute(&self, sql: &str, params: &[P]) -> Result<u64> {
        self.flush()?;
        let statement = self.statement(sql)?;
        let client = self.client.borrow();
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
        Ok(self.block(client.execute(&statement, &refs))?)
    }

    /// Rows as they come; inside a tokio runtime (small queries of the API) read whole first.
    pub fn each(
        &self,
        sql: &str,
        params: &[P],
        mut f: impl FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        if tokio::runtime::Handle::try_current().is_ok() {
            for row in self.query(sql, params)? {
                f(&Row::Pg(&row))?;
            }
            return Ok(());
        }
        self.flush()?;
        let statement = self.statement(sql)?;
        let client = self.client.borrow();
        let runtime = self.runtime.as_ref().expect("a runtime until dropped");
        let rows = runtime.block_on(client.query_raw(&statement, params.iter()))?;
        let mut rows = std::pin::pin!(rows);
        while let Some(row) = runtime.block_on(rows.next()) {
            f(&Row::Pg(&row?))?;
        }
        Ok(())
    }
}

impl Drop for Pg {
    /// Dropping a runtime blocks, which a tokio thread must not: it is let go in the background.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
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
}
