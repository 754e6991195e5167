//! `ImapSource`: the synchronous face of one `[[imap]]` account. It owns a current-thread tokio
//! runtime and at most one connection, which it opens on demand and drops after any error; the
//! next call reconnects. A failed connect starts a backoff (1 s doubling to 5 min) during which
//! calls fail at once with the last error. An operation that fails as `Transient` on a connection
//! kept from an earlier call (the server may have restarted since) is retried once on a fresh
//! connection: fetching changes nothing and acknowledging is idempotent, so that is safe.
//!
//! Not for use inside an async runtime: every call blocks the calling thread.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::backoff::Backoff;
use super::config::{ImapConfig, Tls};
use super::conn::{self, within, Conn, Endpoint};
use super::idle::{self, STOP_CHECK};
use super::ops;
use super::{Checkpoint, ImapError, Item, SourceState};

pub struct ImapSource {
    rt: tokio::runtime::Runtime,
    inner: Inner,
}

struct Inner {
    cfg: ImapConfig,
    ep: Endpoint,
    conn: Option<Conn>,
    backoff: Backoff,
    last_success: Option<SystemTime>,
    last_error: Option<String>,
    /// Per folder, from the last fetch: UIDVALIDITY and the UID the next new message gets at least.
    seen: HashMap<String, (u32, Option<u32>)>,
}

impl std::fmt::Debug for ImapSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapSource")
            .field("name", &self.inner.cfg.name)
            .field(
                "server",
                &format_args!("{}:{}", self.inner.ep.host, self.inner.ep.port),
            )
            .field("user", &self.inner.ep.user)
            .field("connected", &self.inner.conn.is_some())
            .finish_non_exhaustive()
    }
}

impl ImapSource {
    /// Validates the entry, reads the password (a relative `password-file` is resolved against
    /// `base_dir`) and the CA file, builds the runtime. Does not connect.
    pub fn new(cfg: &ImapConfig, base_dir: &Path) -> Result<ImapSource, ImapError> {
        cfg.validate().map_err(ImapError::Protocol)?;
        let password = cfg.read_password(base_dir).map_err(ImapError::Auth)?;
        let tls_config = match cfg.tls {
            Tls::None => None,
            Tls::Implicit | Tls::Starttls => {
                let ca = cfg.tls_ca_file.as_ref().map(|p| base_dir.join(p));
                let c = conn::tls_config(cfg, ca.as_deref()).map_err(ImapError::Protocol)?;
                Some(Arc::new(c))
            }
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ImapError::Transient(format!("imap.{}: runtime: {e}", cfg.name)))?;
        let ep = Endpoint {
            host: cfg.host.clone(),
            port: cfg.port(),
            tls: cfg.tls,
            user: cfg.user.clone(),
            password,
            timeout: Duration::from_secs(cfg.timeout_seconds),
            tls_config,
        };
        Ok(ImapSource {
            rt,
            inner: Inner {
                cfg: cfg.clone(),
                ep,
                conn: None,
                backoff: Backoff::default(),
                last_success: None,
                last_error: None,
                seen: HashMap::new(),
            },
        })
    }

    pub fn config(&self) -> &ImapConfig {
        &self.inner.cfg
    }

    /// Up to `max` messages of `folder` with a UID above `since.last_uid`, oldest first; every
    /// message when there is no checkpoint or the folder's UIDVALIDITY differs from it. Messages
    /// over `max-message-bytes` come as `Item::Oversize`, without their bodies. Nothing is
    /// flagged at the server.
    pub fn fetch(
        &mut self,
        folder: &str,
        since: Option<Checkpoint>,
        max: usize,
    ) -> Result<Vec<Item>, ImapError> {
        let inner = &mut self.inner;
        let (t, max_bytes) = (inner.ep.timeout, inner.cfg.max_message_bytes);
        let found = self.rt.block_on(inner.with_conn(async |c: &mut Conn| {
            ops::fetch(c, folder, since, max, max_bytes, t).await
        }))?;
        inner
            .seen
            .insert(folder.to_owned(), (found.uidvalidity, found.known_next));
        Ok(found.items)
    }

    /// Lets go of committed messages as `after` says: `uids` as fetched under `uidvalidity`.
    /// UIDs that are already gone are skipped; if the folder's UIDVALIDITY is another now,
    /// nothing is touched (Protocol). The caller names the UIDVALIDITY because it may have
    /// fetched again since (the next batch, read while this one was filed).
    pub fn acknowledge(
        &mut self,
        folder: &str,
        uidvalidity: u32,
        uids: &[u32],
    ) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        let inner = &mut self.inner;
        let t = inner.ep.timeout;
        let after = inner.cfg.after;
        let processed = inner.cfg.processed_folder.clone();
        self.rt.block_on(inner.with_conn(async |c: &mut Conn| {
            ops::acknowledge(c, folder, uids, Some(uidvalidity), after, &processed, t).await
        }))
    }

    /// Blocks until the server announces new mail in `folder` (IDLE), `poll-seconds` pass, or
    /// `stop` is set (looked at every 250 ms). Ok(true): mail may be waiting, fetch now. Ok(false):
    /// stopped, or IDLE ran for `poll-seconds` without news (the DONE round trip has shown the
    /// connection alive). Without IDLE (configured off, or not offered) it sleeps and returns
    /// true. When no connection can be had, it sleeps out the backoff (at most `poll-seconds`)
    /// and returns true, so that the caller's next fetch reports the error; errors during IDLE
    /// drop the connection and are returned.
    pub fn wait(&mut self, folder: &str, stop: &AtomicBool) -> Result<bool, ImapError> {
        let inner = &mut self.inner;
        let poll = Duration::from_secs(inner.cfg.poll_seconds);
        if !inner.cfg.idle {
            return Ok(sleep(poll, stop));
        }
        if inner.conn.is_none() && self.rt.block_on(inner.connect()).is_err() {
            let left = inner.backoff.remaining(Instant::now()).max(backoff_floor());
            return Ok(sleep(left.min(poll), stop));
        }
        let Some(c) = inner.conn.take() else {
            return Ok(sleep(poll, stop));
        };
        if !c.has("IDLE") {
            inner.conn = Some(c);
            return Ok(sleep(poll, stop));
        }
        let known = inner.seen.get(folder).copied();
        let t = inner.ep.timeout;
        match self
            .rt
            .block_on(idle::idle(c, folder, known, stop, poll, t))
        {
            Ok((c, news)) => {
                inner.conn = Some(c);
                inner.last_success = Some(SystemTime::now());
                Ok(news)
            }
            Err(e) => Err(inner.record(e)),
        }
    }

    pub fn state(&self) -> SourceState {
        let i = &self.inner;
        SourceState {
            connected: i.conn.is_some(),
            last_success: i.last_success,
            last_error: i.last_error.clone(),
            backoff_until: i.backoff.until(Instant::now()),
        }
    }

    /// LOGOUT (best effort, within the timeout) and drop the connection.
    pub fn close(&mut self) {
        if let Some(mut c) = self.inner.conn.take() {
            let t = self.inner.ep.timeout.min(Duration::from_secs(2));
            let _ = self.rt.block_on(within(t, "LOGOUT", async {
                c.session.logout().await.map_err(ImapError::from_imap)
            }));
        }
    }
}

impl Drop for ImapSource {
    fn drop(&mut self) {
        if tokio::runtime::Handle::try_current().is_err() {
            self.close();
        }
    }
}

impl Inner {
    fn label(&self) -> String {
        format!("imap.{} ({}:{})", self.cfg.name, self.ep.host, self.ep.port)
    }

    /// Remembers `e` for `state()` and returns it with the source's name in front.
    fn record(&mut self, e: ImapError) -> ImapError {
        self.conn = None;
        let e = e.context(&self.label());
        tracing::warn!("{e}");
        self.last_error = Some(e.to_string());
        e
    }

    async fn connect(&mut self) -> Result<(), ImapError> {
        let now = Instant::now();
        // While backing off, the answer is the recorded error, which has the label already.
        self.backoff.check(now)?;
        self.conn = None;
        match conn::connect(&self.ep).await {
            Ok(c) => {
                self.backoff.succeeded();
                self.conn = Some(c);
                Ok(())
            }
            Err(e) => {
                let e = self.record(e);
                self.backoff.failed(&e, Instant::now());
                Err(e)
            }
        }
    }

    /// Runs `op` on the connection, connecting first if needed; see the module comment for the
    /// one retry.
    async fn with_conn<T>(
        &mut self,
        mut op: impl AsyncFnMut(&mut Conn) -> Result<T, ImapError>,
    ) -> Result<T, ImapError> {
        let reused = self.conn.is_some();
        if !reused {
            self.connect().await?;
        }
        let first = match self.conn.as_mut() {
            Some(c) => op(c).await,
            None => return Err(ImapError::Transient("not connected".into())),
        };
        let result = match first {
            Err(e) if reused && e.is_transient() => {
                tracing::info!("{}: {e}; reconnecting", self.label());
                self.connect().await?;
                match self.conn.as_mut() {
                    Some(c) => op(c).await,
                    None => Err(ImapError::Transient("not connected".into())),
                }
            }
            r => r,
        };
        match result {
            Ok(v) => {
                self.last_success = Some(SystemTime::now());
                Ok(v)
            }
            Err(e) => Err(self.record(e)),
        }
    }
}

/// The shortest sleep `wait` takes when it cannot connect, so a caller never spins.
fn backoff_floor() -> Duration {
    Duration::from_millis(250)
}

/// Sleeps for `d`, looking at `stop` every 250 ms; true if it was not stopped.
fn sleep(d: Duration, stop: &AtomicBool) -> bool {
    let end = Instant::now() + d;
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        if now >= end {
            return true;
        }
        std::thread::sleep((end - now).min(STOP_CHECK));
    }
}
