//! The HTTP API for telephone systems (PBXs, IVRs): JSON in and out, off by default
//! (`[api] listen`). Every request carries a client's token (`Authorization: Bearer`); bodies
//! are bounded (`max-body-bytes`); errors are `{"error": "…"}` with their status.
//!
//! `config` is `[api]`, `auth` the tokens, `error` the error answer; `calls` (prefill) and
//! `tickets` (keypad lookup) answer from the index; `end` files a call's phone article through
//! intake and answers once it is durable, `upload` reads its streamed form (multipart, the
//! recording spooled to a file as it arrives); `server` is the router on its own tokio
//! runtime, on a thread of its own. Index reads run on tokio's blocking threads, each with a
//! read-only connection taken from a small pool.

mod auth;
mod calls;
mod end;
mod error;
mod server;
mod tickets;
mod tls;
mod upload;

use std::sync::{Arc, Mutex};

pub use crate::config::api::{self as config, ApiConfig};

use crate::config::Config;
use crate::index::Index;
use crate::outgoing::Waker;
use crate::store::spool::Spool;

/// What every request reads.
pub struct Shared {
    cfg: Config,
    tokens: auth::Tokens,
    /// Read-only connections to the index, reused.
    pool: Mutex<Vec<Index>>,
    /// The intake engine phone articles are filed with, opened at the first.
    engine: Mutex<Option<crate::intake::Engine>>,
    /// Wakes the outbox when a phone article queued mail.
    waker: Option<Arc<Waker>>,
    /// Where recordings are spooled as they arrive, made at the first.
    spool: Mutex<Option<Arc<Spool>>>,
}

impl Shared {
    /// The spool for recordings (a staging area of this process's, locked while it lives).
    fn spool(&self) -> Result<Arc<Spool>, error::ApiError> {
        let mut slot = self.spool.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = slot.as_ref() {
            return Ok(s.clone());
        }
        let s = Arc::new(
            Spool::open(&self.cfg.data_dir(), &self.cfg.general.node())
                .map_err(error::ApiError::internal)?,
        );
        *slot = Some(s.clone());
        Ok(s)
    }

    /// Runs `f` with a read-only connection to the index.
    fn with_index<T>(&self, f: impl FnOnce(&Index) -> T) -> Result<T, error::ApiError> {
        let taken = self.pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let index = match taken {
            Some(i) => i,
            None => Index::open_readonly_at(&self.cfg.index_location())?,
        };
        let out = f(&index);
        self.pool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(index);
        Ok(out)
    }
}

/// What `check` asks: every client's token file readable, with a token long enough; the TLS
/// certificate and key readable and fitting each other.
pub fn check(cfg: &Config) -> Result<(), String> {
    if cfg.api.address()?.is_none() {
        return Ok(());
    }
    auth::Tokens::load(&cfg.api, |p| cfg.resolve(p))
        .map(|_| ())
        .map_err(|e| format!("[api]: {e}"))?;
    tls_config(cfg).map(|_| ())
}

/// The TLS configuration `[api]` names, if any.
fn tls_config(cfg: &Config) -> Result<Option<rustls::ServerConfig>, String> {
    match (&cfg.api.tls_cert_file, &cfg.api.tls_key_file) {
        (Some(c), Some(k)) => tls::server_config(&cfg.resolve(c), &cfg.resolve(k))
            .map(Some)
            .map_err(|e| format!("[api]: {e}")),
        _ => Ok(None),
    }
}

/// A running API: its runtime's thread.
pub struct Listener {
    stop: tokio::sync::watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Listener {
    /// Binds `[api] listen` and serves; `None` when it is not set. Unreadable token files and
    /// an address that cannot be bound are errors.
    pub fn start(cfg: &Config, waker: Option<Arc<Waker>>) -> Result<Option<Listener>, String> {
        let Some(addr) = cfg.api.address().map_err(|e| format!("[api]: {e}"))? else {
            return Ok(None);
        };
        let tokens =
            auth::Tokens::load(&cfg.api, |p| cfg.resolve(p)).map_err(|e| format!("[api]: {e}"))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(16)
            .thread_name("api")
            .enable_all()
            .build()
            .map_err(|e| format!("api runtime: {e}"))?;
        let tls = tls_config(cfg)?;
        let socket = rt
            .block_on(tokio::net::TcpListener::bind(addr))
            .map_err(|e| format!("api: cannot listen on {addr}: {e}"))?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let socket = match tls {
            None => server::Socket::Plain(socket),
            Some(config) => {
                let _in_runtime = rt.enter();
                server::Socket::Tls(
                    tls::TlsListener::new(socket, config).map_err(|e| format!("api: {e}"))?,
                )
            }
        };
        let shared = Arc::new(Shared {
            cfg: cfg.clone(),
            tokens,
            pool: Mutex::new(Vec::new()),
            engine: Mutex::new(None),
            waker,
            spool: Mutex::new(None),
        });
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let thread = std::thread::Builder::new()
            .name("api".into())
            .spawn(move || rt.block_on(server::serve(socket, shared, stopped)))
            .map_err(|e| format!("api thread: {e}"))?;
        tracing::info!("api: listening on {scheme}://{addr}");
        Ok(Some(Listener {
            stop,
            thread: Some(thread),
        }))
    }

    /// Stops accepting and lets the requests in hand finish.
    pub fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
