//! What wakes the daemon's loop: inotify on the sources, the store's top folder and the files
//! of the rules, and signals.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

use notify::{RecursiveMode, Watcher};

use crate::cli::Failure;
use crate::config::Config;
use crate::source::MaildirSource;

pub(super) enum Wake {
    Mail,
    Reload,
    /// The directory's copy changed: agents' queues from groups may have.
    Directory,
    Stop,
}

/// The listed tree's directory as inotify knows it (its inode).
pub(super) fn tree_identity(cfg: &Config) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(crate::store::open_tree(&cfg.data_dir()))
        .ok()
        .map(|m| m.ino())
}

/// inotify on every source's new/ (mail to file) and on the store's top folder (a ticket folder
/// renamed by an agent's mail client).
pub(super) fn watch(
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
pub(super) fn watch_rules(
    cfg: &Config,
    tx: mpsc::Sender<Wake>,
) -> Option<notify::RecommendedWatcher> {
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
pub(super) fn spawn_signals(tx: mpsc::Sender<Wake>, stop: Arc<AtomicBool>) -> Result<(), Failure> {
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
