//! The daemon's LDAP refresh: a thread of its own with its own index connection, so intake never
//! waits for the server. It reads the directory at start and every `refresh-seconds` (a failed
//! read is tried again after at most a minute), and tells `on_change` when entries changed, so
//! what is derived from the directory (Dovecot's ACL) follows within one refresh.

use std::sync::mpsc;
use std::time::Duration;

use crate::config::Config;
use crate::index::Index;

pub struct Refresher {
    stop: mpsc::Sender<()>,
    handle: std::thread::JoinHandle<()>,
}

impl Refresher {
    /// Starts the thread when `[directory.ldap]` is configured; without it, removes what an
    /// earlier configuration read from LDAP. `on_change` hears of every configuration (the
    /// thread's first read, or at once without LDAP) and of every read that changed entries.
    pub fn start(
        cfg: &Config,
        on_change: impl Fn(&Config, &mut Index) + Send + 'static,
    ) -> Option<Refresher> {
        let at = cfg.index_location();
        let open = move |durable| Index::open_at(&at, durable);
        let Some(l) = &cfg.directory.ldap else {
            let forgot = open(cfg.general.durable)
                .map_err(|e| e.to_string())
                .and_then(|mut index| {
                    let gone = super::forget_ldap(cfg, &mut index)?;
                    // The file's groups or the agents may have changed with the configuration.
                    on_change(cfg, &mut index);
                    Ok(gone)
                });
            match forgot {
                Ok(true) => {
                    tracing::info!("LDAP is no longer configured: its entries were removed")
                }
                Ok(false) => {}
                Err(e) => tracing::error!("removing the LDAP directory's entries: {e}"),
            }
            return None;
        };
        let every = Duration::from_secs(l.refresh_seconds);
        let retry = every.min(Duration::from_secs(60));
        let cfg = cfg.clone();
        let (stop, stopped) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("directory".into())
            .spawn(move || {
                let mut index = match open(cfg.general.durable) {
                    Ok(i) => i,
                    Err(e) => {
                        tracing::error!("LDAP directory: cannot open the index: {e}");
                        return;
                    }
                };
                let mut first = true;
                loop {
                    let wait = match super::refresh_and_record(&cfg, &mut index, &mut |_| {}) {
                        Ok(r) => {
                            tracing::info!(
                                persons = r.persons,
                                organisations = r.organisations,
                                groups = r.groups,
                                written = r.written,
                                removed = r.removed,
                                seconds = r.seconds,
                                "LDAP directory read"
                            );
                            if first || r.written + r.removed > 0 {
                                on_change(&cfg, &mut index);
                            }
                            first = false;
                            every
                        }
                        Err(e) => {
                            tracing::error!("{e}; the last good copy stays in force");
                            retry
                        }
                    };
                    match stopped.recv_timeout(wait) {
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                }
            })
            .ok()?;
        Some(Refresher { stop, handle })
    }

    /// Tells the thread to end; a read in hand is not waited for (its transactions are short
    /// and each leaves the copy whole, so the process may end under it).
    pub fn stop(self) {
        let _ = self.stop.send(());
        drop(self.handle);
    }
}
