//! The daemon's scheduled reports: for each `[[report]]` whose period is due (`schedule`) and
//! not yet recorded as sent, the report is made from the index, attached to a mail, and queued.
//!
//! Where the report is if the process dies: until the commit, nowhere — the next round (or
//! start) makes it again. The commit holds the record "sent for period X", the outbox row and
//! the mail's bytes (`outbox_mail`) together, so after it the outbox sends the mail and no
//! round makes it again. Two daemons on one index cannot both queue it: the record's insert
//! decides inside the write transaction.

use chrono::{DateTime, Utc};
use rand::Rng;

use super::ReportConfig;
use super::{schedule, Period, Report};
use crate::config::Config;
use crate::index::{Index, IndexError, Queued};
use crate::outgoing::build::Mailer;
use crate::outgoing::compose::Attachment;
use crate::outgoing::Outbound;
use crate::store::Store;

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("scheduled report {name:?}: {source}")]
    Index { name: String, source: IndexError },
    #[error("scheduled report {name:?}: {message}")]
    Build { name: String, message: String },
}

/// The period `r` has due at `now` (a configuration `check` accepted parses).
pub fn due(r: &ReportConfig, now: DateTime<Utc>) -> Result<Period, String> {
    Ok(schedule::due(r.every()?, r.zone()?, r.period, now))
}

/// How long until the next scheduled moment of any report; `None` without reports.
pub fn until_next(cfg: &Config, now: DateTime<Utc>) -> Option<std::time::Duration> {
    cfg.reports
        .iter()
        .filter_map(|r| Some(r.every().ok()?.next(r.zone().ok()?, now)))
        .min()
        .map(|t| (t - now).to_std().unwrap_or_default())
}

/// Whether some report is due at `now` and not made yet (or cannot be worked out: `queue_due`
/// says why). Cheap: the daemon asks it on every turn of its loop.
pub fn pending(cfg: &Config, index: &Index, now: DateTime<Utc>) -> bool {
    cfg.reports.iter().any(|r| match due(r, now) {
        Ok(p) => !matches!(index.report_sent(&r.name, &p.key()), Ok(Some(_))),
        Err(_) => true,
    })
}

/// Queues every report due at `now` and not sent yet; returns the `name period` of each queued.
/// One report that cannot be made is logged and does not keep the others from going out.
pub fn queue_due(
    cfg: &Config,
    out: &Outbound,
    store: &Store,
    index: &mut Index,
    now: DateTime<Utc>,
) -> Vec<Result<String, ScheduleError>> {
    let mut done = Vec::new();
    for r in &cfg.reports {
        let period = match due(r, now) {
            Ok(p) => p,
            Err(message) => {
                let name = r.name.clone();
                done.push(Err(ScheduleError::Build { name, message }));
                continue;
            }
        };
        match queue_one(cfg, out, store, index, r, period, now) {
            Ok(true) => done.push(Ok(format!("{} {}", r.name, period.key()))),
            Ok(false) => {}
            Err(e) => done.push(Err(e)),
        }
    }
    done
}

fn queue_one(
    cfg: &Config,
    out: &Outbound,
    store: &Store,
    index: &mut Index,
    r: &ReportConfig,
    period: Period,
    now: DateTime<Utc>,
) -> Result<bool, ScheduleError> {
    let key = period.key();
    let name = r.name.clone();
    let ix = |source| ScheduleError::Index {
        name: name.clone(),
        source,
    };
    if index.report_sent(&r.name, &key).map_err(ix)?.is_some() {
        return Ok(false);
    }
    let slas = cfg
        .service_levels()
        .map_err(|message| ScheduleError::Build {
            name: name.clone(),
            message,
        })?;
    let report = super::make(index, period, &r.queues, &slas, now).map_err(ix)?;
    let mail = mail(cfg, out, r, &report, now).map_err(|message| ScheduleError::Build {
        name: name.clone(),
        message,
    })?;
    // A unique name from the store's generator; no file of this name is ever written.
    let file = store.reserve(mail.bytes.len() as u64).file;
    let at = now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let tx = index.begin().map_err(ix)?;
    if !tx
        .record_report_sent(&r.name, &key, &at, &file)
        .map_err(ix)?
    {
        return Ok(false);
    }
    tx.keep_outbox_mail(&file, &mail.bytes).map_err(ix)?;
    tx.enqueue(&Queued {
        id: 0,
        ticket: String::new(),
        file,
        kind: mail.kind.into(),
        env_from: String::new(),
        rcpts: mail.rcpts.clone(),
        state: "queued".into(),
        attempts: 0,
        created: now.timestamp(),
        next_at: now.timestamp(),
        last_error: None,
    })
    .map_err(ix)?;
    tx.commit().map_err(ix)?;
    Ok(true)
}

/// The mail carrying `report`: a short summary in the text, the report attached.
fn mail(
    cfg: &Config,
    out: &Outbound,
    r: &ReportConfig,
    report: &Report,
    now: DateTime<Utc>,
) -> Result<crate::outgoing::build::OutMail, String> {
    let bytes = super::render(report, r.format)?;
    let queue = r
        .queues
        .first()
        .cloned()
        .or_else(|| Some(cfg.general.default_queue.clone()).filter(|q| cfg.queue(q).is_some()))
        .or_else(|| cfg.queues.first().map(|q| q.name.clone()))
        .ok_or("no queue to send from")?;
    let p = report.period;
    let filename = format!(
        "service-report-{}-{}.{}",
        p.from,
        p.to,
        r.format.extension()
    );
    let t = &report.totals;
    let time = |s: Option<i64>| s.map(super::stats::human).unwrap_or_else(|| "–".into());
    let body = format!(
        "Service report {p} ({name})\nQueues: {queues}\n\nOpened: {}\nClosed: {}\nOpen at the end: {}\n\
         First response, median: {} ({} hours)\nSolution, median: {}\n\nThe report is attached: {filename}\n",
        t.opened,
        t.closed,
        t.backlog,
        time(t.first_response.median_seconds),
        report.hours,
        time(t.solution.median_seconds),
        name = r.name,
        queues = super::html::queue_list(report),
    );
    let random: String = (0..12)
        .map(|_| {
            char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rand::rng().random_range(0..36)])
        })
        .collect();
    let message_id = format!(
        "report.{}.{}.{}.{random}@{}",
        r.name.replace('_', "-"),
        p.from,
        p.to,
        out.domain
    );
    let mailer = Mailer {
        cfg,
        out,
        date: now,
    };
    let attachment = Attachment {
        filename,
        content_type: r.format.content_type().into(),
        data: bytes,
    };
    mailer.report(
        &queue,
        &r.to,
        &format!("Service report {p}"),
        body,
        attachment,
        message_id,
    )
}
