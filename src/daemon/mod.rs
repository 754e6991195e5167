//! The daemon's lifecycle. Only this module knows systemd and signals.
//!
//! config → state (engine: store, index, recovery) → watchers → READY=1 → loop { drain every
//! source; wait for inotify, the rescan timer or a signal } → STOPPING=1 after the batch in
//! hand is committed. SIGHUP reloads the configuration; a broken one leaves the old running.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::cli::Failure;
use crate::config::Config;
use crate::intake::Engine;
use crate::outgoing::Waker;
use crate::source::{self, MaildirSource, Source, Summary};
use crate::status;

pub(crate) mod threads;
mod wake;

use threads::{Heartbeat, ImapSources, OutboxThread};
use wake::{spawn_signals, tree_identity, watch, watch_rules, Wake};

/// `reload`: reads the configuration again (SIGHUP, a changed file), as the command line said.
pub fn run(
    reload: &dyn Fn() -> Result<Config, Failure>,
    mut cfg: Config,
    sources: Vec<MaildirSource>,
) -> Result<i32, Failure> {
    let mut heartbeat = Heartbeat::start(&cfg)?;
    let mut engine = Engine::open(&cfg, &cfg.data_dir())?;
    let mut slas = cfg
        .service_levels()
        .map_err(|e| Failure::new(crate::cli::EX_CONFIG, e))?;
    let waker = Arc::new(Waker::default());
    engine.set_waker(waker.clone());
    let mut outbox = OutboxThread::start(&cfg, &engine, waker.clone())?;
    let explicit_sources = !cfg.sources.is_empty() && sources.len() != cfg.sources.len();
    let mut sources = sources;
    let (tx, rx) = mpsc::channel::<Wake>();
    let stop = Arc::new(AtomicBool::new(false));
    spawn_signals(tx.clone(), stop.clone())?;
    let mut watcher = watch(
        &sources,
        &crate::store::open_tree(&cfg.data_dir()),
        tx.clone(),
    )?;
    let mut watched_tree = tree_identity(&cfg);
    let mut rules_watcher = watch_rules(&cfg, tx.clone());
    let mut imap = ImapSources::start(&cfg, tx.clone());
    let mut lmtp = crate::lmtp::Listener::start(&cfg, Some(waker.clone()))
        .map_err(|e| Failure::new(crate::cli::EX_CONFIG, e))?;
    let mut directory = crate::directory::Refresher::start(&cfg, directory_changed(tx.clone()));
    let mut api = crate::api::Listener::start(&cfg, Some(waker.clone()))
        .map_err(|e| Failure::new(crate::cli::EX_CONFIG, e))?;
    let mut dialler = crate::rounds::dial::Dialler::start(&cfg, waker.clone());
    let mut reports: Option<JoinHandle<()>> = None;

    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
    tracing::info!(sources = sources.len(), "postdesk running");

    let mut backoff = Duration::from_secs(1);
    let mut total = Summary::default();
    let mut snapshot = status::Snapshot {
        pid: std::process::id(),
        started: status::now(),
        ..Default::default()
    };
    loop {
        let all = (sources.iter_mut().map(|s| s as &mut dyn Source))
            .chain(imap.sources.iter_mut().map(|s| s as &mut dyn Source));
        let round = source::round(&mut engine, all, &stop, &mut total, &snapshot.sources);
        // A failing IMAP source keeps its own backoff (it answers at once while backing off),
        // so it is simply tried again soon, without slowing the other sources down.
        let (mut failed, imap_failing) = (round.back_off, round.retry_soon);
        snapshot.sources = round.states;
        snapshot.updated = status::now();
        status::write(&engine.rules().cfg.data_dir(), engine.node(), &snapshot);
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let mut soon = false;
        match engine.adopt_moves() {
            Ok(a) => soon = a.fresh,
            Err(e) => tracing::error!("adopting folders moved by agents: {e}"),
        }
        // `compact-tree` put a new directory in the tree's place: watch that one.
        if tree_identity(&cfg) != watched_tree {
            let tree = crate::store::open_tree(&cfg.data_dir());
            watcher = watch(&sources, &tree, tx.clone())?;
            watched_tree = tree_identity(&cfg);
            tracing::info!("the listed tree's directory was replaced; watching the new one");
            soon = true;
        }
        if let Err(e) = engine.recover_dead_nodes() {
            tracing::error!("recovering the staging areas of dead nodes: {e}");
        }
        if let Err(e) = engine.housekeeping() {
            tracing::error!("pruning the rate-limit counts: {e}");
        }
        let due = sla_round(&mut engine, &slas, &mut failed);
        let due = match digest_round(&mut engine, &mut failed) {
            Some(d) => Some(due.map_or(d, |s| s.min(d))),
            None => due,
        };
        scheduled_reports(&mut reports, &engine, &waker);
        let wait = if soon || imap_failing {
            Duration::from_secs(2)
        } else if failed {
            let w = backoff;
            backoff = (backoff * 2).min(Duration::from_secs(300));
            w
        } else {
            backoff = Duration::from_secs(1);
            Duration::from_secs(engine.rules().cfg.intake.rescan_seconds.max(1))
        };
        // Wake at the earliest deadline, reminder or digest, not only at the next rescan.
        let wait = due.map_or(wait, |d| wait.min(d));
        // Awake for the next scheduled report's moment.
        let wait =
            match crate::report::scheduled::until_next(&engine.rules().cfg, engine.clock().now()) {
                Some(next) => wait.min(next + Duration::from_millis(200)),
                None => wait,
            };
        let (mut reload_wanted, mut agents_changed) = (false, false);
        match rx.recv_timeout(wait) {
            Ok(Wake::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Ok(Wake::Reload) => reload_wanted = true,
            Ok(Wake::Directory) => agents_changed = true,
            Ok(Wake::Mail) => tracing::debug!("woken: mail or a folder change"),
            Err(mpsc::RecvTimeoutError::Timeout) => tracing::debug!("woken: rescan"),
        }
        // Coalesce a burst of inotify events into one drain; keep a reload or stop seen in it.
        while let Ok(w) = rx.try_recv() {
            match w {
                Wake::Stop => stop.store(true, Ordering::Relaxed),
                Wake::Reload => reload_wanted = true,
                Wake::Directory => agents_changed = true,
                Wake::Mail => {}
            }
        }
        if agents_changed && !reload_wanted {
            // The same configuration, the directory's groups read again.
            match engine.reconfigure(&cfg) {
                Ok(()) => {
                    if let Some(l) = &mut lmtp {
                        l.reconfigure(&cfg);
                    }
                }
                Err(e) => tracing::error!("agents' queues not updated from the directory: {e}"),
            }
        }
        if reload_wanted {
            // An editor saves in several steps: let them finish, then reload once.
            std::thread::sleep(Duration::from_millis(200));
            while let Ok(w) = rx.try_recv() {
                if let Wake::Stop = w {
                    stop.store(true, Ordering::Relaxed);
                }
            }
            match reload().and_then(|new| {
                let new_slas = new
                    .service_levels()
                    .map_err(|e| Failure::new(crate::cli::EX_CONFIG, e))?;
                engine
                    .reconfigure(&new)
                    .map_err(|e| Failure::new(crate::cli::EX_CONFIG, e))?;
                Ok((new, new_slas))
            }) {
                Ok((new, new_slas)) => {
                    slas = new_slas;
                    outbox.stop();
                    outbox = OutboxThread::start(&new, &engine, waker.clone())?;
                    heartbeat.stop();
                    heartbeat = Heartbeat::start(&new)?;
                    rules_watcher = watch_rules(&new, tx.clone());
                    imap.stop();
                    imap = ImapSources::start(&new, tx.clone());
                    reload_lmtp(&mut lmtp, &new, &waker);
                    reload_api(&mut api, &new, &waker);
                    if let Some(d) = dialler.take() {
                        d.stop();
                    }
                    dialler = crate::rounds::dial::Dialler::start(&new, waker.clone());
                    if let Some(d) = directory.take() {
                        d.stop();
                    }
                    directory =
                        crate::directory::Refresher::start(&new, directory_changed(tx.clone()));
                    if !explicit_sources {
                        sources = source::configured(&new);
                        watcher = watch(
                            &sources,
                            &crate::store::open_tree(&new.data_dir()),
                            tx.clone(),
                        )?;
                    }
                    cfg = new;
                    tracing::info!(file = %cfg.file.display(), "configuration reloaded");
                }
                Err(e) => tracing::error!(
                    "configuration not reloaded, the old one stays: {}",
                    e.message
                ),
            }
        }
    }
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    drop(watcher);
    drop(rules_watcher);
    imap.stop();
    if let Some(l) = lmtp {
        l.stop();
    }
    if let Some(a) = api {
        a.stop();
    }
    if let Some(d) = dialler {
        d.stop();
    }
    if let Some(h) = reports.take() {
        let _ = h.join();
    }
    outbox.stop();
    if let Some(d) = directory {
        d.stop();
    }
    heartbeat.stop();
    tracing::info!("postdesk stopped: {}", total.line());
    Ok(0)
}

/// How long from `now` until `at` (Unix seconds), at least 50 ms and at most a day. Due times
/// are whole seconds (rounded up): wake at that second, not one later.
fn until(at: i64, now: chrono::DateTime<chrono::Utc>) -> Duration {
    let ms = at
        .saturating_mul(1000)
        .saturating_sub(now.timestamp_millis());
    Duration::from_millis(ms.clamp(50, 86_400_000) as u64)
}

/// The service levels' round (`rounds::sla`); how long until the next due time. A failing round
/// is retried with the loop's backoff.
fn sla_round(engine: &mut Engine, slas: &crate::sla::Slas, failed: &mut bool) -> Option<Duration> {
    let now = engine.clock().now();
    match crate::rounds::sla::run(engine, slas, now) {
        Ok(r) => {
            if r.looked > 0 {
                tracing::debug!("service levels: {}", r.line());
            }
            r.next.map(|n| until(n, now))
        }
        Err(e) => {
            tracing::error!(
                transient = e.is_transient(),
                "service levels: {e}; will retry"
            );
            *failed = true;
            None
        }
    }
}

/// The agents' digests round (`rounds::digest`); how long until the next digest is due. A
/// failing round is retried with the loop's backoff.
fn digest_round(engine: &mut Engine, failed: &mut bool) -> Option<Duration> {
    let now = engine.clock().now();
    match crate::rounds::digest::run(engine, now) {
        Ok(r) => {
            if r.digests > 0 {
                tracing::info!("agents' digests: {}", r.line());
            }
            r.next.map(|n| until(n, now))
        }
        Err(e) => {
            tracing::error!(
                transient = e.is_transient(),
                "agents' digests: {e}; will retry"
            );
            *failed = true;
            None
        }
    }
}

/// Queues the scheduled reports that are due (`report::scheduled`) and wakes the outbox for
/// them, on a thread of its own with its own connection to the index: a year's report of a
/// large index takes seconds, which intake does not wait for. One at a time; `running` is the
/// one still at work.
fn scheduled_reports(running: &mut Option<JoinHandle<()>>, engine: &Engine, waker: &Arc<Waker>) {
    if running.as_ref().is_some_and(|h| !h.is_finished()) {
        return;
    }
    if let Some(h) = running.take() {
        let _ = h.join();
    }
    let rules = engine.shared_rules();
    let Some(out) = rules.out.clone() else {
        return;
    };
    let now = engine.clock().now();
    if !crate::report::scheduled::pending(&rules.cfg, engine.index(), now) {
        return;
    }
    let (store, at, waker) = (engine.store(), engine.index_location(), waker.clone());
    let durable = rules.cfg.general.durable;
    let spawned = std::thread::Builder::new()
        .name("reports".into())
        .spawn(move || {
            let mut index = match crate::index::Index::open_at(&at, durable) {
                Ok(i) => i,
                Err(e) => return tracing::error!("scheduled reports: {e}; will try again"),
            };
            let done =
                crate::report::scheduled::queue_due(&rules.cfg, &out, &store, &mut index, now);
            let mut queued = false;
            for r in done {
                match r {
                    Ok(what) => {
                        tracing::info!("scheduled report {what} queued");
                        queued = true;
                    }
                    Err(e) => tracing::error!("{e}; will try again"),
                }
            }
            if queued {
                waker.wake();
            }
        });
    match spawned {
        Ok(h) => *running = Some(h),
        Err(e) => tracing::error!("scheduled reports: no thread: {e}"),
    }
}

/// The LMTP listener after a reload: the same one told the new configuration, or (its `[lmtp]`
/// table changed) a new one. One that cannot listen is logged; mail waits in the MTA's queue.
fn reload_lmtp(lmtp: &mut Option<crate::lmtp::Listener>, new: &Config, waker: &Arc<Waker>) {
    if let Some(l) = lmtp {
        if l.reconfigure(new) {
            return;
        }
    }
    if let Some(old) = lmtp.take() {
        old.stop();
    }
    match crate::lmtp::Listener::start(new, Some(waker.clone())) {
        Ok(l) => *lmtp = l,
        Err(e) => tracing::error!("{e}; LMTP is off until the next reload"),
    }
}

/// The API after a reload: a new listener with the new configuration and tokens. One that
/// cannot start is logged; the API is off until the next reload.
fn reload_api(api: &mut Option<crate::api::Listener>, new: &Config, waker: &Arc<Waker>) {
    if let Some(old) = api.take() {
        old.stop();
    }
    match crate::api::Listener::start(new, Some(waker.clone())) {
        Ok(a) => *api = a,
        Err(e) => tracing::error!("{e}; the API is off until the next reload"),
    }
}

/// What follows the directory: Dovecot's ACL, rewritten when it was generated in the data
/// directory, so an agent removed from a group loses the queue within one refresh; and the
/// agents intake knows (the loop reads the groups again when woken).
fn directory_changed(
    tx: mpsc::Sender<Wake>,
) -> impl Fn(&Config, &mut crate::index::Index) + Send + 'static {
    move |cfg, index| {
        match crate::directory::rights::update_acl(cfg, index) {
            Ok(true) => tracing::info!("Dovecot's ACL rewritten: the directory's groups changed"),
            Ok(false) => {}
            Err(e) => tracing::error!("Dovecot's ACL not rewritten: {e}"),
        }
        let _ = tx.send(Wake::Directory);
    }
}
