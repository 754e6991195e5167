//! The daemon's threads besides the loop: the IMAP sources' waiters and the outbox's sender.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use super::Wake;
use crate::cli::Failure;
use crate::config::Config;
use crate::intake::Engine;
use crate::outbox::{Sender, Sent};
use crate::outgoing::Waker;
use crate::source::imap::ImapIntake;

/// The IMAP sources: one connection each that the loop drains, and one per source on its own
/// thread that waits (IDLE or polling) and wakes the loop when mail arrives.
pub(super) struct ImapSources {
    pub(super) sources: Vec<ImapIntake>,
    stop: Arc<AtomicBool>,
    watchers: Vec<std::thread::JoinHandle<()>>,
}

impl ImapSources {
    pub(super) fn start(cfg: &Config, tx: mpsc::Sender<Wake>) -> ImapSources {
        let base = cfg
            .file
            .parent()
            .map(|p| p.to_path_buf())
            .unwrap_or_default();
        let stop = Arc::new(AtomicBool::new(false));
        let mut sources = Vec::new();
        let mut watchers = Vec::new();
        for c in &cfg.imap {
            match (ImapIntake::new(c, &base), ImapIntake::new(c, &base)) {
                (Ok(src), Ok(mut watcher)) => {
                    sources.push(src);
                    let (stop, tx) = (stop.clone(), tx.clone());
                    let spawned = std::thread::Builder::new()
                        .name(format!("imap-{}", c.name))
                        .spawn(move || {
                            // After a broken connection, mail may have arrived while the
                            // watcher was away (a new IDLE reports only what comes after it):
                            // the loop looks once the watcher is back, and right away too.
                            let mut after_error = false;
                            while !stop.load(Ordering::Relaxed) {
                                let wake = match watcher.wait(&stop) {
                                    Ok(news) => std::mem::take(&mut after_error) || news,
                                    Err(e) => {
                                        tracing::debug!(source = %watcher.name, "waiting: {e}");
                                        after_error = true;
                                        std::thread::sleep(Duration::from_secs(1));
                                        true
                                    }
                                };
                                if wake && tx.send(Wake::Mail).is_err() {
                                    return;
                                }
                            }
                        });
                    match spawned {
                        Ok(h) => watchers.push(h),
                        Err(e) => {
                            tracing::error!(source = %c.name, "cannot start its watcher: {e}")
                        }
                    }
                }
                (Err(e), _) | (_, Err(e)) => {
                    tracing::error!(source = %c.name, "IMAP source not started: {e}")
                }
            }
        }
        ImapSources {
            sources,
            stop,
            watchers,
        }
    }

    pub(super) fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for h in self.watchers.drain(..) {
            let _ = h.join();
        }
    }
}

/// The outbox sender on its own thread (when this process holds the outbox lock): the daemon's,
/// and `run --once`'s while it files, so mail committed early is sent while later mail is filed.
pub(crate) struct OutboxThread {
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    handle: Option<std::thread::JoinHandle<Sent>>,
}

impl OutboxThread {
    pub(crate) fn start(
        cfg: &Config,
        engine: &Engine,
        waker: Arc<Waker>,
    ) -> Result<OutboxThread, Failure> {
        let stop = Arc::new(AtomicBool::new(false));
        let out = engine
            .rules()
            .out
            .clone()
            .ok_or_else(|| Failure::new(crate::cli::EX_SOFTWARE, "no outgoing rules"))?;
        let sender = Sender::open(cfg, out, engine.store(), &cfg.data_dir(), engine.clock())
            .map_err(|e| Failure::new(crate::cli::EX_CONFIG, e.to_string()))?;
        let handle = match sender {
            Some(sender) => {
                tracing::info!(transport = %sender.describe(), "outbox sending");
                let (stop, waker) = (stop.clone(), waker.clone());
                Some(
                    std::thread::Builder::new()
                        .name("outbox".into())
                        .spawn(move || sender.run(waker, stop))
                        .map_err(|e| {
                            Failure::new(crate::cli::EX_SOFTWARE, format!("outbox thread: {e}"))
                        })?,
                )
            }
            None => {
                tracing::warn!("another process holds the outbox lock; it sends the mail");
                None
            }
        };
        Ok(OutboxThread {
            stop,
            waker,
            handle,
        })
    }

    /// Finishes the mail in hand and stops; what it sent, deferred and failed in all.
    pub(crate) fn stop(&mut self) -> Sent {
        self.stop.store(true, Ordering::SeqCst);
        self.waker.wake();
        match self.handle.take().map(|h| h.join()) {
            Some(Ok(n)) => n,
            _ => Sent::default(),
        }
    }
}

/// The node's heartbeat on its own thread, so that a long batch does not make the node look
/// dead: one at start, then every third of the lease, on a connection of its own. The daemon's,
/// and `run --once`'s: another node takes over the Maildir messages a node claimed once the
/// node looks dead, which one that never beat does.
pub(crate) struct Heartbeat {
    stop: Option<mpsc::Sender<()>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Heartbeat {
    /// Beats once now (a failure is logged: the index may be away), then on a thread.
    pub(crate) fn start(cfg: &Config) -> Result<Heartbeat, Failure> {
        let node = cfg.general.node();
        let every = Duration::from_secs((cfg.general.node_lease_seconds / 3).max(1));
        let location = cfg.index_location();
        let durable = cfg.general.durable;
        let started = crate::index::unix_now();
        let mut index = None;
        let mut beat = move || -> Result<(), crate::index::IndexError> {
            if index.is_none() {
                index = Some(crate::index::Index::open_at(&location, durable)?);
            }
            let i = index.as_mut().expect("opened above");
            let r = i.heartbeat(&node, std::process::id(), started, crate::index::unix_now());
            if r.is_err() {
                index = None; // opened again next time
            }
            r
        };
        let mut failing = false;
        let mut report = move |r: Result<(), crate::index::IndexError>| match r {
            Ok(()) if failing => {
                failing = false;
                tracing::info!("heartbeat recorded again");
            }
            Ok(()) => {}
            Err(e) if !failing => {
                failing = true;
                tracing::error!("heartbeat not recorded: {e}");
            }
            Err(_) => {}
        };
        report(beat());
        let (tx, rx) = mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("heartbeat".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(every) {
                    report(beat());
                }
            })
            .map_err(|e| Failure::new(crate::cli::EX_SOFTWARE, format!("heartbeat thread: {e}")))?;
        Ok(Heartbeat {
            stop: Some(tx),
            handle: Some(handle),
        })
    }

    pub(crate) fn stop(&mut self) {
        drop(self.stop.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.stop();
    }
}
