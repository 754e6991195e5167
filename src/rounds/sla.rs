//! The daemon's timer round: the tickets whose stored due time has come (an indexed range, so a
//! round costs what the due tickets cost, not what all open tickets cost), what is due for each
//! (`due::decide`), done, and each ticket's next due time stored.
//!
//! Where things are if the process dies (each warning, breach, met deadline and pending
//! reminder is one history line whose key makes it happen once):
//! 1. One index transaction per batch of due tickets holds, for each action, the history row,
//!    its event-log line in `pending_lines`, the notice's outbox row with its bytes
//!    (`outbox_mail`), the flag wanted (`sla_flags`, `done = 0`), and the ticket's next due time.
//!    A crash before the commit leaves nothing: the ticket is still due, and the next round
//!    decides the same again. After it, the line's key is recorded, so nothing is done twice.
//! 2. After the commit the event-log lines are appended and the flags renamed, then one
//!    `syncfs`, then the rows are marked done. A crash in between leaves them in `pending_lines`
//!    and `sla_flags`: the next round (and intake's recovery, for the lines) applies them again,
//!    and both are idempotent (readers keep the last line per key; a flag already set stays).
//! 3. The outbox sends the notice as any other mail, and records `sent` in the event log.
//!
//! `reindex` replays the event log's lines: the keys (nothing again) and the flags wanted.

use std::collections::HashSet;
use std::time::Instant;

use chrono::{DateTime, Utc};

use crate::article::{attributes, HistoryLine};
use crate::execute::pending;
use crate::index::{Index, SlaRows, State, TicketRef, Tx};
use crate::intake::{Engine, IntakeError, Rules};
use crate::outgoing::build::{self, Mailer, TicketView};
use crate::sla::config::show_duration;
use crate::sla::policy::Action;
use crate::sla::{due, ticket_instance_sla, Slas};
use crate::store::{Folder, Store};

/// Tickets decided in one transaction.
const BATCH: usize = 500;
/// Batches in one round at most: the rest waits for the next round, which comes at once.
const MAX_BATCHES: usize = 200;

/// What a round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Tickets whose due time had come.
    pub looked: usize,
    pub warnings: usize,
    pub breaches: usize,
    pub met: usize,
    pub reminders: usize,
    /// The earliest due time left (Unix seconds).
    pub next: Option<i64>,
    /// How long the round took.
    pub micros: u128,
}

impl Report {
    pub fn line(&self) -> String {
        format!(
            "{} due, {} warning(s), {} breach(es), {} met, {} reminder(s) in {:.3} ms",
            self.looked,
            self.warnings,
            self.breaches,
            self.met,
            self.reminders,
            self.micros as f64 / 1000.0
        )
    }
}

/// One round at `now`.
pub fn run(engine: &mut Engine, slas: &Slas, now: DateTime<Utc>) -> Result<Report, IntakeError> {
    let started = Instant::now();
    let (store, index, rules) = engine.for_round()?;
    let mut report = Report::default();
    // Flags a crash left half done, before anything new.
    apply_flags(&store, index)?;
    let mut lines = Vec::new();
    let mut queued = false;
    for batch in 0..MAX_BATCHES {
        let tx = index.begin()?;
        if batch == 0 {
            let n = tx.sla_configuration(slas.fingerprint)?;
            if n > 0 {
                tracing::info!(
                    tickets = n,
                    "service levels changed: deadlines computed again"
                );
            }
        }
        if slas.is_empty() {
            tx.settle_due_without_levels(now.timestamp())?;
        }
        let due = tx.due_tickets(now.timestamp(), BATCH)?;
        for number in &due {
            let Some(rows) = tx.sla_rows(number)? else {
                continue;
            };
            let party = tx.directory_ticket(number)?;
            let instance = ticket_instance_sla(&party, || tx.directory_only_service())?;
            let decision = due::decide(slas, &rows, instance.as_deref(), now);
            let sla = slas
                .name_for(rows.sla.as_deref(), instance.as_deref(), &rows.queue)
                .unwrap_or_default()
                .to_string();
            let mut again = false;
            for action in &decision.actions {
                let done = act(&tx, &rules, &sla, &rows, action, now)?;
                queued |= done.queued;
                lines.extend(done.line);
                match action {
                    Action::Warn(_) => report.warnings += 1,
                    Action::Breach(_) => report.breaches += 1,
                    Action::Met { .. } => report.met += 1,
                    Action::PendingOver { .. } => {
                        report.reminders += 1;
                        // Its deadlines run again from now: look once more with pending gone.
                        again = true;
                    }
                }
            }
            let next = match again {
                true => Some(now.timestamp()),
                // Whole seconds, rounded up: due is never stored before the instant it is.
                false => decision
                    .next
                    .map(|n| n.timestamp() + i64::from(n.timestamp_subsec_nanos() > 0)),
            };
            tx.set_due(number, next)?;
        }
        tx.commit()?;
        report.looked += due.len();
        if due.len() < BATCH {
            break;
        }
    }
    append_lines(&store, index, &lines)?;
    apply_flags(&store, index)?;
    if queued {
        engine.wake_outbox();
    }
    let (_, index, _) = engine.for_round()?;
    report.next = index.earliest_due()?;
    report.micros = started.elapsed().as_micros();
    Ok(report)
}

struct Done {
    /// The event-log line's `pending_lines` row, with its ticket.
    line: Option<i64>,
    queued: bool,
}

fn act(
    tx: &Tx,
    rules: &Rules,
    sla: &str,
    rows: &SlaRows,
    action: &Action,
    now: DateTime<Utc>,
) -> Result<Done, IntakeError> {
    let at = now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let (event, key, value, template) = match action {
        Action::Warn(d) => (
            "sla-warning",
            format!("{}:warning", d.key()),
            newest_customer_article(rows),
            "sla-warning",
        ),
        Action::Breach(d) => (
            "sla-breach",
            format!("{}:breach", d.key()),
            newest_customer_article(rows),
            "sla-breach",
        ),
        Action::Met { deadline, unflag } => (
            "sla-met",
            format!("{}:met", deadline.key()),
            unflag.then(String::new),
            "",
        ),
        Action::PendingOver { until } => (
            "pending",
            crate::sla::policy::pending_key(*until),
            Some(String::new()),
            "pending-reminder",
        ),
    };
    let mut detail = match action {
        Action::Warn(d) => format!(
            "{} of {}: {} of business time left, due {}",
            d.clock.as_str(),
            sla,
            show_duration(d.left()),
            show_time(d.due)
        ),
        Action::Breach(d) => format!(
            "{} of {}: due {} passed",
            d.clock.as_str(),
            sla,
            show_time(d.due)
        ),
        Action::Met { deadline, .. } => match deadline.stopped {
            Some(s) if rows.open => format!("{} met at {}", deadline.clock.as_str(), show_time(s)),
            _ => format!("{} over: the ticket is closed", deadline.clock.as_str()),
        },
        Action::PendingOver { .. } => format!(
            "over: pending until {}",
            rows.pending.as_deref().unwrap_or_default()
        ),
    };
    let mut queued = false;
    if !template.is_empty() {
        let to = recipients(rules, rows, matches!(action, Action::PendingOver { .. }));
        match notice(rules, sla, rows, action, template, &to, now) {
            Ok(Some(mail)) => {
                let file = format!("sla-{}-{}", rows.number, key.replace(':', "-"));
                tx.keep_outbox_mail(&file, &mail.bytes)?;
                let q = crate::article::queued(&rows.number, file, &mail, now.timestamp());
                tx.enqueue(&q)?;
                detail.push_str(&format!("; notice to {}", to.join(", ")));
                queued = true;
            }
            Ok(None) => detail.push_str("; no notice: no template or nobody to send it to"),
            Err(e) => {
                tracing::error!(ticket = %rows.number, "{template}: {e}");
                detail.push_str(&format!("; no notice: {e}"));
            }
        }
    }
    if let Some(file) = value.as_deref().filter(|f| !f.is_empty()) {
        detail.push_str(&format!("; flagged {file}"));
    }
    let line = HistoryLine {
        at: at.clone(),
        event: event.into(),
        detail,
        key: key.clone(),
        value: value.clone(),
    };
    tx.add_history_keyed(&rows.number, &at, event, &line.detail, &key)?;
    if let Some(v) = &value {
        // The same code applies the line when reindex replays it.
        attributes::apply(tx, &rows.number, event, v, &at)?;
    }
    let json = serde_json::to_string(&line).unwrap_or_default();
    let id = tx.add_pending_line(&rows.number, &json)?;
    Ok(Done {
        line: Some(id),
        queued,
    })
}

fn show_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The file of the customer's newest message (mail or call): the one flagged.
fn newest_customer_article(rows: &SlaRows) -> Option<String> {
    rows.articles
        .iter()
        .rev()
        .find(|(_, direction, ..)| direction == "in" || direction == "phone")
        .map(|(.., file)| file.clone())
}

/// Who is told: the queue's agents and the owner; for a reminder the owner alone when there is
/// one.
fn recipients(rules: &Rules, rows: &SlaRows, owner_first: bool) -> Vec<String> {
    let cfg = &rules.cfg;
    let owner = rows.owner.as_deref().and_then(|o| {
        cfg.agents
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(o) || a.address.eq_ignore_ascii_case(o))
            .map(|a| a.address.clone())
    });
    if owner_first {
        if let Some(o) = owner {
            return vec![o];
        }
    }
    let mut to: Vec<String> = cfg
        .agents
        .iter()
        .filter(|a| a.queues.iter().any(|q| q.eq_ignore_ascii_case(&rows.queue)))
        .map(|a| a.address.clone())
        .collect();
    to.extend(owner);
    let mut seen = HashSet::new();
    to.retain(|a| seen.insert(a.clone()));
    to
}

fn notice(
    rules: &Rules,
    sla: &str,
    rows: &SlaRows,
    action: &Action,
    template: &str,
    to: &[String],
    now: DateTime<Utc>,
) -> Result<Option<build::OutMail>, String> {
    let (Some(out), false) = (rules.out.as_ref(), to.is_empty()) else {
        return Ok(None);
    };
    let cfg = &rules.cfg;
    let t = TicketRef {
        number: rows.number.clone(),
        queue: rows.queue.clone(),
        state: if rows.open {
            State::Open
        } else {
            State::Closed
        },
    };
    let mut view = TicketView::new(cfg, &t, &rows.subject, &rows.created);
    view.owner = rows.owner.clone();
    let mut ctx = build::context(
        cfg,
        &view,
        &crate::facts::Facts::default(),
        "",
        crate::template::Event::FollowUp,
    );
    ctx.customer.address = rows.customer.clone();
    ctx.agent = None;
    match action {
        Action::Warn(d) | Action::Breach(d) => {
            ctx.deadline = Some(crate::template::Deadline {
                sla: sla.to_string(),
                clock: d.clock.as_str().into(),
                due: show_time(d.due),
                target: show_duration(d.target),
                left: show_duration(d.left()),
                late: show_duration(d.late()),
            })
        }
        Action::PendingOver { .. } => ctx.pending = rows.pending.clone(),
        Action::Met { .. } => return Ok(None),
    }
    let lang = cfg
        .queue(&rows.queue)
        .map(|q| q.language.clone())
        .unwrap_or_else(|| "en".into());
    let Some(r) = out
        .templates
        .render(template, &lang, &rows.queue, &ctx)
        .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let mailer = Mailer {
        cfg,
        out,
        date: now,
    };
    let mut mail = mailer.notice(
        &rows.queue,
        &rows.number,
        to,
        r.subject.as_deref().unwrap_or(template),
        r.body,
        &mut rand::rng(),
    )?;
    mail.kind = "notification";
    mail.event = template.into();
    Ok(Some(mail))
}

/// The ticket's folder as it is now.
fn folder(store: &Store, index: &Index, number: &str) -> Result<Option<Folder>, IntakeError> {
    Ok(pending::ticket_folder(store, index, number)?)
}

/// Appends the round's event-log lines, makes them durable, and forgets them; a line that
/// cannot be written stays in the index and fails the round (tried again at the next).
fn append_lines(store: &Store, index: &mut Index, ids: &[i64]) -> Result<(), IntakeError> {
    match pending::flush_ids(store, index, ids)?.into_iter().next() {
        Some((_, e)) => Err(e.into()),
        None => Ok(()),
    }
}

/// Renames the articles whose flag is wanted changed, then marks them done after a `syncfs`.
fn apply_flags(store: &Store, index: &mut Index) -> Result<(), IntakeError> {
    let todo = index.flags_to_do()?;
    if todo.is_empty() {
        return Ok(());
    }
    let mut done = Vec::new();
    for (ticket, file, want) in todo {
        let found = match folder(store, index, &ticket)? {
            Some(f) => store.set_flag(&f, &file, 'F', want)?,
            None => false,
        };
        if !found {
            tracing::warn!(ticket = %ticket, "article {file} not found to change its flag");
        }
        done.push((ticket, file, want));
    }
    store.sync()?;
    let tx = index.begin()?;
    for (ticket, file, want) in &done {
        tx.flag_done(ticket, file, *want)?;
    }
    tx.commit()?;
    Ok(())
}
