//! The daemon's lifecycle. Only this module knows systemd and signals.
//!
//! config → state (engine: store, index, recovery) → watchers → READY=1 → loop { drain every
//! source; wait for inotify, the rescan timer or a signal } → STOPPING=1 after the batch in
//! hand is committed. SIGHUP reloads the configuration; a broken one leaves the old running.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use crate::cli::Failure;
use crate::config::Config;
use crate::intake::Engine;
use crate::source::imap::ImapIntake;
use crate::source::{self, MaildirSource, Summary};
use crate::status;
use crate::{outbox::Sender, outgoing::Waker};

enum Wake {
    Mail,
    Reload,
    /// The directory's copy changed: agents' queues from groups may have.
    Directory,
    Stop,
}

/// `reload`: reads the configuration again (SIGHUP, a changed file), as the command line said.
pub fn run(
    reload: &dyn Fn() -> Result<Config, Failure>,
    mut cfg: Config,
    sources: Vec<MaildirSource>,
) -> Result<i32, Failure> {
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
        let mut failed = false;
        let mut states = Vec::new();
        for s in &sources {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let deferred = total.deferred;
            let mut st = snapshot
                .sources
                .iter()
                .find(|x| x.name == s.name)
                .cloned()
                .unwrap_or_else(|| status::SourceStatus {
                    name: s.name.clone(),
                    kind: "maildir".into(),
                    ..Default::default()
                });
            match source::drain(&mut engine, s, &stop, &mut total) {
                Ok(()) => {
                    st.state = "ok".into();
                    st.last_success = Some(status::now());
                }
                Err(e) => {
                    tracing::error!(source = %s.name, transient = e.is_transient(), "{e}; will retry");
                    failed = true;
                    st.state = "failing".into();
                    st.last_error = Some(e.to_string());
                }
            }
            if total.deferred > deferred {
                // A scanner is away: back off before trying those messages again.
                failed = true;
                st.state = "deferring".into();
                st.last_error =
                    Some("a scanner is unavailable; messages wait at the source".into());
            }
            st.backlog = s.pending().ok().map(|p| p.len() as u64);
            states.push(st);
        }
        // An IMAP source keeps its own backoff (it answers at once while backing off), so a
        // failing one is simply tried again soon, without slowing the other sources down.
        let mut imap_failing = false;
        for src in &mut imap.sources {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            if let Err(e) = src.drain(&mut engine, &stop, &mut total) {
                tracing::error!(source = %src.name, "{e}; will retry");
                imap_failing = true;
            }
            states.push(src.status());
        }
        snapshot.sources = states;
        snapshot.updated = status::now();
        status::write(&engine.rules().cfg.data_dir(), &snapshot);
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
        if let Err(e) = engine.housekeeping() {
            tracing::error!("pruning the rate-limit counts: {e}");
        }
        let due = sla_round(&mut engine, &slas, &mut failed);
        scheduled_reports(&mut engine, &waker);
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
        // Wake at the earliest deadline or reminder, not only at the next rescan.
        let wait = due.map_or(wait, |d| wait.min(d));
        // Awake for the next scheduled report's moment.
        let wait =
            match crate::report::scheduled::until_next(&engine.rules().cfg, chrono::Utc::now()) {
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
    outbox.stop();
    if let Some(d) = directory {
        d.stop();
    }
    tracing::info!("postdesk stopped: {}", total.line());
    Ok(0)
}

/// The service levels' round (`rounds::sla`); how long until the next due time. A failing round
/// is retried with the loop's backoff.
fn sla_round(engine: &mut Engine, slas: &crate::sla::Slas, failed: &mut bool) -> Option<Duration> {
    match crate::rounds::sla::run(engine, slas, chrono::Utc::now()) {
        Ok(r) => {
            if r.looked > 0 {
                tracing::debug!("service levels: {}", r.line());
            }
            // Due times are whole seconds (rounded up): wake at that second, not one later.
            let now = chrono::Utc::now().timestamp_millis();
            r.next.map(|n| {
                let ms = n.saturating_mul(1000).saturating_sub(now);
                Duration::from_millis(ms.clamp(50, 86_400_000) as u64)
            })
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

/// Queues the scheduled reports that are due (`report::scheduled`) and wakes the outbox for them.
fn scheduled_reports(engine: &mut Engine, waker: &Waker) {
    let rules = engine.shared_rules();
    let Some(out) = rules.out.clone() else {
        return;
    };
    let store = engine.store();
    let now = chrono::Utc::now();
    let mut queued = false;
    let index = engine.index_mut();
    for r in crate::report::scheduled::queue_due(&rules.cfg, &out, &store, index, now) {
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
}

/// The IMAP sources: one connection each that the loop drains, and one per source on its own
/// thread that waits (IDLE or polling) and wakes the loop when mail arrives.
struct ImapSources {
    sources: Vec<ImapIntake>,
    stop: Arc<AtomicBool>,
    watchers: Vec<std::thread::JoinHandle<()>>,
}

impl ImapSources {
    fn start(cfg: &Config, tx: mpsc::Sender<Wake>) -> ImapSources {
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

    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for h in self.watchers.drain(..) {
            let _ = h.join();
        }
    }
}

/// The outbox sender on its own thread (when this process holds the outbox lock).
struct OutboxThread {
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl OutboxThread {
    fn start(cfg: &Config, engine: &Engine, waker: Arc<Waker>) -> Result<OutboxThread, Failure> {
        let stop = Arc::new(AtomicBool::new(false));
        let out = engine
            .rules()
            .out
            .clone()
            .ok_or_else(|| Failure::new(crate::cli::EX_SOFTWARE, "no outgoing rules"))?;
        let sender = Sender::open(cfg, out, engine.store(), &cfg.data_dir())
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

    /// Finishes the mail in hand and stops.
    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.waker.wake();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
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

/// The listed tree's directory as inotify knows it (its inode).
fn tree_identity(cfg: &Config) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(crate::store::open_tree(&cfg.data_dir()))
        .ok()
        .map(|m| m.ino())
}

/// inotify on every source's new/ (mail to file) and on the store's top folder (a ticket folder
/// renamed by an agent's mail client).
fn watch(
    sources: &[MaildirSource],
    store: &std::path::Path,
    tx: mpsc::Sender<Wake>,
) -> Result<notify::RecommendedWatcher, Failure> {
    let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        // Reading a folder (our own readdir) is an access, not news.
        if let Ok(ev) = res {
            if !matches!(ev.kind, notify::EventKind::Access(_)) {
                let _ = tx.send(Wake::Mail);
            }
        }
    })
    .map_err(|e| Failure::new(crate::cli::EX_TEMPFAIL, format!("inotify: {e}")))?;
    for s in sources {
        let dir: PathBuf = s.new_dir();
        if let Err(e) = w.watch(&dir, RecursiveMode::NonRecursive) {
            // The periodic rescan still finds its mail.
            tracing::warn!(source = %s.name, "cannot watch {}: {e}; relying on rescans", dir.display());
        }
    }
    if let Err(e) = w.watch(store, RecursiveMode::NonRecursive) {
        tracing::warn!(
            "cannot watch {}: {e}; folder moves are seen at rescans",
            store.display()
        );
    }
    Ok(w)
}

/// Hot reload: a change to the configuration file, the directory file, a template or a filter
/// script asks for a reload, as SIGHUP does. Editors replace files (write a copy, rename it
/// over): the folders are watched, not the files.
fn watch_rules(cfg: &Config, tx: mpsc::Sender<Wake>) -> Option<notify::RecommendedWatcher> {
    use notify::EventKind;
    let file_name = cfg.file.file_name().map(|n| n.to_os_string());
    let config_dir = match cfg.file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let rule_dirs = [cfg.templates_dir(), cfg.filters_dir()];
    let dirs = rule_dirs.clone();
    let directory = cfg.directory.file.as_ref().map(|f| cfg.resolve(f));
    // The directory file and its CSV files of persons, by name.
    let directory_names: Vec<_> = directory
        .iter()
        .cloned()
        .chain(cfg.directory.people.iter().map(|p| cfg.resolve(p)))
        .filter_map(|p| p.file_name().map(|n| n.to_os_string()))
        .collect();
    let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(ev) = res else { return };
        if matches!(ev.kind, EventKind::Access(_)) {
            return;
        }
        let relevant = ev.paths.iter().any(|p| {
            dirs.iter().any(|d| p.starts_with(d))
                || (p.file_name().map(|n| n.to_os_string()) == file_name)
                || p.file_name()
                    .is_some_and(|n| directory_names.iter().any(|d| d == n))
        });
        if relevant {
            let _ = tx.send(Wake::Reload);
        }
    })
    .map_err(|e| tracing::warn!("cannot watch configuration, templates and filters: {e}"))
    .ok()?;
    if let Err(e) = w.watch(&config_dir, RecursiveMode::NonRecursive) {
        tracing::warn!(
            "cannot watch {}: {e}; reload with SIGHUP",
            config_dir.display()
        );
    }
    // The folders of the directory file and its CSV files, when they are not the configuration's.
    let mut directory_dirs: Vec<PathBuf> = directory
        .iter()
        .cloned()
        .chain(cfg.directory.people.iter().map(|p| cfg.resolve(p)))
        .filter_map(|f| f.parent().map(|d| d.to_path_buf()))
        .filter(|d| !d.as_os_str().is_empty() && *d != config_dir)
        .collect();
    directory_dirs.sort();
    directory_dirs.dedup();
    for d in &directory_dirs {
        if let Err(e) = w.watch(d, RecursiveMode::NonRecursive) {
            tracing::warn!("cannot watch {}: {e}; reload with SIGHUP", d.display());
        }
    }
    for d in &rule_dirs {
        if d.is_dir() {
            if let Err(e) = w.watch(d, RecursiveMode::Recursive) {
                tracing::warn!("cannot watch {}: {e}; reload with SIGHUP", d.display());
            }
        }
    }
    Some(w)
}

/// SIGTERM/SIGINT set `stop` (the batch in hand finishes) and wake the loop; SIGHUP reloads.
fn spawn_signals(tx: mpsc::Sender<Wake>, stop: Arc<AtomicBool>) -> Result<(), Failure> {
    use tokio::signal::unix::{signal, SignalKind};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(crate::cli::EX_SOFTWARE, format!("runtime: {e}")))?;
    let (ready_tx, ready_rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            rt.block_on(async move {
                let (Ok(mut term), Ok(mut int), Ok(mut hup)) =
                    (signal(SignalKind::terminate()), signal(SignalKind::interrupt()), signal(SignalKind::hangup()))
                else {
                    let _ = ready_tx.send(false);
                    return;
                };
                let _ = ready_tx.send(true);
                loop {
                    tokio::select! {
                        _ = term.recv() => { stop.store(true, Ordering::Relaxed); let _ = tx.send(Wake::Stop); }
                        _ = int.recv() => { stop.store(true, Ordering::Relaxed); let _ = tx.send(Wake::Stop); }
                        _ = hup.recv() => { let _ = tx.send(Wake::Reload); }
                    }
                }
            })
        })
        .map_err(|e| Failure::new(crate::cli::EX_SOFTWARE, format!("signal thread: {e}")))?;
    match ready_rx.recv() {
        Ok(true) => Ok(()),
        _ => Err(Failure::new(
            crate::cli::EX_SOFTWARE,
            "cannot install signal handlers",
        )),
    }
}
