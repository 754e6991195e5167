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
    let snap = status::read(&data);
    let index = Index::open_readonly_at(&crate::index::Location::of(&cfg))?;
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
        outbox,
        tickets_open: index.tickets(None, Some(State::Open))?.len(),
        tickets_closed: index.tickets(None, Some(State::Closed))?.len(),
        quarantined: index.quarantined()?.len(),
        disk,
        disk_warning: disk.as_ref().and_then(crate::space::warning),
        directory_ldap: match &cfg.directory.ldap {
            Some(l) => Some(LdapReport {
                url: l.url.clone(),
                copy_from: index
                    .directory_loaded(crate::directory::ldap::SOURCE)?
                    .map(|l| l.at),
                state: crate::directory::state::read(&data).unwrap_or_default(),
            }),
            None => None,
        },
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
