//! LMTP (RFC 2033): the daemon takes mail from an MTA over a loopback TCP port or a UNIX socket,
//! a source of mail like `deliver`, with the same guarantee: 250 for a recipient only once the
//! message is committed to the store and flushed; 451 (try again later) for every failure to
//! file it, a broken configuration included, so the mail waits in the MTA's queue; 552 for a
//! message over `intake.max-message-bytes` (announced as SIZE).
//!
//! `command`, `session`, `data` and `reply` are the protocol without I/O; `server` reads and
//! writes the sockets; `commit` files what was received.

mod command;
mod commit;
mod data;
mod reply;
mod server;
mod session;

use std::sync::{mpsc, Arc};

use crate::config::{Config, Lmtp as Settings};
use crate::outgoing::Waker;

use commit::{Committer, Order};

/// A running listener: its runtime thread and its committer thread.
pub struct Listener {
    settings: Settings,
    orders: Option<mpsc::Sender<Order>>,
    stop: tokio::sync::watch::Sender<bool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Listener {
    /// Binds `[lmtp] listen` and starts serving; `None` when no address is configured. An
    /// address that cannot be bound is an error (another server on the port, no folder for
    /// the socket).
    pub fn start(cfg: &Config, waker: Option<Arc<Waker>>) -> Result<Option<Listener>, String> {
        let settings = cfg.lmtp.clone();
        let Some(at) = settings.address()? else {
            return Ok(None);
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("lmtp runtime: {e}"))?;
        let what = server::describe(&at);
        let socket = rt
            .block_on(server::Listener::bind(&at, settings.socket_mode))
            .map_err(|e| format!("lmtp: cannot listen on {what}: {e}"))?;
        let (orders, rx) = mpsc::channel();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let committer = Committer::new(cfg.clone(), waker);
        let mut threads = vec![std::thread::Builder::new()
            .name("lmtp-commit".into())
            .spawn(move || committer.run(rx))
            .map_err(|e| format!("lmtp thread: {e}"))?];
        let limit = cfg.intake.max_message_bytes;
        let (s, tx) = (settings.clone(), orders.clone());
        threads.push(
            std::thread::Builder::new()
                .name("lmtp".into())
                .spawn(move || rt.block_on(server::serve(socket, s, limit, tx, stopped)))
                .map_err(|e| format!("lmtp thread: {e}"))?,
        );
        tracing::info!("lmtp: listening on {what}");
        Ok(Some(Listener {
            settings,
            orders: Some(orders),
            stop,
            threads,
        }))
    }

    /// Takes a reloaded configuration; false when the `[lmtp]` table changed, which needs a
    /// new listener.
    pub fn reconfigure(&mut self, cfg: &Config) -> bool {
        if cfg.lmtp != self.settings {
            return false;
        }
        if let Some(o) = &self.orders {
            let _ = o.send(Order::Reconfigure(Box::new(cfg.clone())));
        }
        true
    }

    /// Stops accepting, lets the connections in hand finish (a message being committed gets its
    /// replies), then the committer files what it holds and ends.
    pub fn stop(mut self) {
        let _ = self.stop.send(true);
        self.orders = None;
        for t in self.threads.drain(..).rev() {
            let _ = t.join();
        }
    }
}
