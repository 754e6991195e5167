//! `postdesk status`: is the daemon running, how are its sources (state, last success, last
//! error, backlog), what waits in the outbox, how many tickets are open, how much room is left
//! on the data directory's file system.

use serde::Serialize;

use crate::cli::Failure;
use crate::commands::Context;
use crate::index::{Index, State};
use crate::status::{self, SourceStatus};

#[derive(Serialize)]
struct Report {
    /// The configuration file and data dir this report is about.
    config: String,
    data_dir: String,
    daemon: Option<Daemon>,
    sources: Vec<SourceStatus>,
    outbox: Outbox,
    tickets_open: usize,
    tickets_closed: usize,
    quarantined: usize,
    /// Free space and inodes of the data directory's file system.
    disk: Option<crate::space::Space>,
    /// Set when space or inodes run low.
    disk_warning: Option<String>,
    /// How the last reads of the LDAP directory went (with `[directory.ldap]`).
    directory_ldap: Option<LdapReport>,
    /// This node's name, and every node the index knows (several sharing one store and index).
    node: String,
    nodes: Vec<NodeReport>,
    /// Why the index could not be read (a database server away): the counts above are then 0.
    index_error: Option<String>,
}

#[derive(Serialize)]
struct NodeReport {
    name: String,
    /// Seconds since its last heartbeat.
    heartbeat_age: i64,
    /// Its heartbeat is within the lease.
    alive: bool,
    pid: i64,
}

/// What `status` reads from the index.
#[derive(Default)]
struct FromIndex {
    outbox: Outbox,
    open: usize,
    closed: usize,
    quarantined: usize,
    nodes: Vec<NodeReport>,
    ldap_copy_from: Option<String>,
}

fn from_index(cfg: &crate::config::Config) -> Result<FromIndex, crate::index::IndexError> {
    let index = Index::open_readonly_at(&cfg.index_location())?;
    let mut outbox = Outbox::default();
    for q in index.outbox(None)? {
        match q.state.as_str() {
            "queued" => {
                outbox.queued += 1;
                if outbox.oldest_queued.is_none() {
                    outbox.oldest_queued = chrono::DateTime::from_timestamp(q.created, 0)
                        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string());
                }
                if q.last_error.is_some() {
                    outbox.last_error = q.last_error.clone();
                }
            }
            "failed" => outbox.failed += 1,
            _ => {}
        }
    }
    let now = crate::index::unix_now();
    let lease = cfg.general.lease();
    Ok(FromIndex {
        outbox,
        open: index.tickets(None, Some(State::Open))?.len(),
        closed: index.tickets(None, Some(State::Closed))?.len(),
        quarantined: index.quarantined()?.len(),
        nodes: index
            .nodes()?
            .into_iter()
            .map(|n| NodeReport {
                heartbeat_age: now - n.heartbeat,
                alive: n.heartbeat >= now - lease,
                name: n.name,
                pid: n.pid,
            })
            .collect(),
        ldap_copy_from: match &cfg.directory.ldap {
            Some(_) => index
                .directory_loaded(crate::directory::ldap::SOURCE)?
                .map(|l| l.at),
            None => None,
        },
    })
}

#[derive(Serialize)]
struct LdapReport {
    url: String,
    /// When the copy in force was read (none: never read completely).
    copy_from: Option<String>,
    #[serde(flatten)]
    state: crate::directory::state::LdapState,
}

#[derive(Serialize)]
struct Daemon {
    pid: u32,
    running: bool,
    /// The status comes from a `run --once` that has ended, not from a daemon.
    once: bool,
    started: String,
    updated: String,
}

#[derive(Serialize, Default)]
struct Outbox {
    queued: usize,
    failed: usize,
    oldest_queued: Option<String>,
    last_error: Option<String>,
}

pub fn status(ctx: &Context, json: bool) -> Result<i32, Failure> {
    let cfg = ctx.load()?;
    let data = cfg.data_dir();
    let snap = status::read(&data, &cfg.general.node());
    let (found, index_error) = match from_index(&cfg) {
        Ok(f) => (f, None),
        Err(e) => (FromIndex::default(), Some(e.to_string())),
    };
    let disk = crate::space::of(&data).ok();
    let report = Report {
        config: std::path::absolute(&cfg.file)
            .unwrap_or_else(|_| cfg.file.clone())
            .display()
            .to_string(),
        data_dir: std::path::absolute(&data)
            .unwrap_or_else(|_| data.clone())
            .display()
            .to_string(),
        daemon: snap.as_ref().map(|s| Daemon {
            pid: s.pid,
            once: s.once,
            // SAFETY: kill with signal 0 only checks that the process exists.
            running: !s.once && unsafe { libc::kill(s.pid as libc::pid_t, 0) } == 0,
            started: s.started.clone(),
            updated: s.updated.clone(),
        }),
        sources: snap.map(|s| s.sources).unwrap_or_default(),
        outbox: found.outbox,
        tickets_open: found.open,
        tickets_closed: found.closed,
        quarantined: found.quarantined,
        disk,
        disk_warning: disk.as_ref().and_then(crate::space::warning),
        directory_ldap: match &cfg.directory.ldap {
            Some(l) => Some(LdapReport {
                url: l.url.clone(),
                copy_from: found.ldap_copy_from,
                state: crate::directory::state::read(&data).unwrap_or_default(),
            }),
            None => None,
        },
        node: cfg.general.node(),
        nodes: found.nodes,
        index_error,
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("serialisable")
        );
        return Ok(0);
    }
    println!(
        "configuration {}, data dir {}",
        report.config, report.data_dir
    );
    match &report.daemon {
        Some(d) if d.once => println!("daemon: not running; last `run --once` {}", d.updated),
        Some(d) if d.running => println!(
            "daemon: running (pid {}), since {}, last round {}",
            d.pid, d.started, d.updated
        ),
        Some(d) => println!(
            "daemon: not running (last seen {}, pid {})",
            d.updated, d.pid
        ),
        None => println!("daemon: no status yet (never ran here)"),
    }
    for s in &report.sources {
        println!(
            "source {} ({}): {}; last success {}; backlog {}{}",
            s.name,
            s.kind,
            s.state,
            s.last_success.as_deref().unwrap_or("never"),
            s.backlog
                .map(|b| b.to_string())
                .unwrap_or_else(|| "?".into()),
            s.last_error
                .as_deref()
                .map(|e| format!("; last error: {e}"))
                .unwrap_or_default()
        );
    }
    if let Some(e) = &report.index_error {
        println!("index: cannot be read, intake and the outbox wait for it: {e}");
    }
    for n in &report.nodes {
        println!(
            "node {}{}: {}, last heartbeat {}s ago (pid {})",
            n.name,
            if n.name == report.node {
                " (this one)"
            } else {
                ""
            },
            if n.alive { "alive" } else { "dead" },
            n.heartbeat_age,
            n.pid
        );
    }
    let o = &report.outbox;
    println!(
        "outbox: {} queued{}, {} failed{}",
        o.queued,
        o.oldest_queued
            .as_deref()
            .map(|t| format!(" (oldest {t})"))
            .unwrap_or_default(),
        o.failed,
        o.last_error
            .as_deref()
            .map(|e| format!("; last error: {e}"))
            .unwrap_or_default()
    );
    println!(
        "tickets: {} open, {} closed; quarantine: {}",
        report.tickets_open, report.tickets_closed, report.quarantined
    );
    if let Some(d) = &report.disk {
        println!(
            "disk: {} of {} bytes free, {} of {} inodes free",
            d.free_bytes, d.total_bytes, d.free_inodes, d.total_inodes
        );
    }
    if let Some(w) = &report.disk_warning {
        println!("warning: {w}");
    }
    if let Some(l) = &report.directory_ldap {
        let s = &l.state;
        println!(
            "directory {}: copy in force from {} ({} persons, {} organisations, {} groups); last attempt {}{}",
            l.url,
            l.copy_from.as_deref().unwrap_or("never (nothing read yet)"),
            s.persons,
            s.organisations,
            s.groups,
            s.last_attempt.as_deref().unwrap_or("none yet"),
            match (&s.last_attempt, &s.last_error) {
                (_, Some(e)) => format!(" failed: {e}"),
                (Some(_), None) => " succeeded".into(),
                (None, None) => String::new(),
            }
        );
    }
    Ok(0)
}
