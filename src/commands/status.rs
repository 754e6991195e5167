//! `postdesk status`: is the daemon running, how are its sources (state, last success, last
//! error, backlog), what waits in the outbox, how many tickets are open.

use serde::Serialize;

use crate::cli::Failure;
use crate::commands::Context;
use crate::index::{Index, State};
use crate::status::{self, SourceStatus};

#[derive(Serialize)]
struct Report {
    daemon: Option<Daemon>,
    sources: Vec<SourceStatus>,
    outbox: Outbox,
    tickets_open: usize,
    tickets_closed: usize,
    quarantined: usize,
}

#[derive(Serialize)]
struct Daemon {
    pid: u32,
    running: bool,
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
    let index = Index::open_readonly(&data.join("index.sqlite"))?;
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
    let report = Report {
        daemon: snap.as_ref().map(|s| Daemon {
            pid: s.pid,
            // SAFETY: kill with signal 0 only checks that the process exists.
            running: unsafe { libc::kill(s.pid as libc::pid_t, 0) } == 0,
            started: s.started.clone(),
            updated: s.updated.clone(),
        }),
        sources: snap.map(|s| s.sources).unwrap_or_default(),
        outbox,
        tickets_open: index.tickets(None, Some(State::Open))?.len(),
        tickets_closed: index.tickets(None, Some(State::Closed))?.len(),
        quarantined: index.quarantined()?.len(),
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("serialisable")
        );
        return Ok(0);
    }
    match &report.daemon {
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
    Ok(0)
}
