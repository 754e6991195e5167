//! The daemon's digest round (`agent-notice = "digest"`): for each agent whose digest is due
//! (`outgoing::digest::due`), one mail listing the events waiting for that agent, grouped by
//! ticket.
//!
//! Where things are if the process dies:
//! 1. Intake commits each event with the mail it is about (`index::digest`): before that
//!    commit neither exists, after it the event waits for each of the queue's agents.
//! 2. The round reads an agent's events and builds the mail, then one index transaction queues
//!    it (the outbox row with its bytes, as for a pointer notice) and takes the events it lists.
//!    A crash before that commit leaves the events waiting: the next round makes the digest
//!    again. After it, the events are taken and the outbox sends the digest once.
//! 3. `reindex` leaves events waiting and queued digests alike (neither is in the tree).

use std::time::Instant;

use chrono::{DateTime, Utc};

use crate::execute::pending;
use crate::facts::{Facts, Mailbox};
use crate::index::{DigestAgent, Index, State, TicketRef};
use crate::intake::{Engine, IntakeError, Rules};
use crate::outgoing::build::{self, Mailer, TicketView};
use crate::outgoing::digest::{self, Place};
use crate::store::Store;

/// What a round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Digests queued.
    pub digests: usize,
    /// Events they listed, counted once per digest.
    pub events: usize,
    /// When the next digest is due (Unix seconds), if events wait.
    pub next: Option<i64>,
    pub micros: u128,
}

impl Report {
    pub fn line(&self) -> String {
        format!(
            "{} digest(s) with {} event(s) queued in {:.3} ms",
            self.digests,
            self.events,
            self.micros as f64 / 1000.0
        )
    }
}

/// One round at `now`.
pub fn run(engine: &mut Engine, now: DateTime<Utc>) -> Result<Report, IntakeError> {
    let started = Instant::now();
    let (rules, store) = (engine.shared_rules(), engine.store());
    let mut report = Report::default();
    if rules.out.is_none() {
        return Ok(report);
    }
    let index = engine.index_mut();
    let minutes = rules.cfg.autoresponse.digest_minutes;
    for a in index.digest_agents()? {
        let due = digest::due(a.waiting_since, a.sent, minutes);
        if due > now.timestamp() {
            report.next = Some(report.next.map_or(due, |n| n.min(due)));
            continue;
        }
        if let Some(events) = one(&rules, &store, index, &a, now)? {
            report.digests += 1;
            report.events += events;
        }
        // The agent's events filed meanwhile wait for the next interval.
        if let Some(left) = index
            .digest_agents()?
            .into_iter()
            .find(|x| x.agent == a.agent)
        {
            let due = digest::due(left.waiting_since, left.sent, minutes);
            report.next = Some(report.next.map_or(due, |n| n.min(due)));
        }
    }
    if report.digests > 0 {
        engine.wake_outbox();
    }
    report.micros = started.elapsed().as_micros();
    Ok(report)
}

/// `a`'s digest, queued with its events taken in one transaction; how many events it lists, or
/// `None` when none was queued (nothing waited, or it could not be made: then it is tried again
/// an interval later, and the error is logged).
fn one(
    rules: &Rules,
    store: &Store,
    index: &mut Index,
    a: &DigestAgent,
    now: DateTime<Utc>,
) -> Result<Option<usize>, IntakeError> {
    let cfg = &rules.cfg;
    let mut entries = index.digest_entries(&a.agent, digest::MAX_EVENTS + 1)?;
    let more = entries.len() > digest::MAX_EVENTS;
    entries.truncate(digest::MAX_EVENTS);
    let Some(newest) = entries.iter().max_by_key(|e| (e.at, e.id)) else {
        let tx = index.begin()?;
        tx.take_digest(&a.agent, 0, a.sent.unwrap_or(0))?;
        tx.commit()?;
        return Ok(None);
    };
    let upto = entries.iter().map(|e| e.id).max().unwrap_or(0);
    let mut failed = None;
    let tickets = digest::group(&entries, |e| {
        let (queue, state, subject) = match index.ticket(&e.ticket) {
            Ok(Some(t)) => (t.queue, t.state, t.subject),
            Ok(None) => (e.queue.clone(), State::Open, e.subject.clone()),
            Err(err) => {
                failed.get_or_insert(IntakeError::from(err));
                (e.queue.clone(), State::Open, e.subject.clone())
            }
        };
        let folder = match pending::ticket_folder(store, index, &e.ticket) {
            Ok(Some(f)) => store.imap_name(&f),
            Ok(None) => String::new(),
            Err(err) => {
                failed.get_or_insert(IntakeError::from(err));
                String::new()
            }
        };
        Place {
            tag: cfg.scheme().tag(&e.ticket),
            subject: build::plain_subject(cfg, &subject, &e.ticket),
            queue,
            state: state.as_str().into(),
            folder,
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    let known = cfg
        .agents
        .iter()
        .find(|x| x.address.eq_ignore_ascii_case(&a.agent));
    // The queue most of its events are in (of those, the newest event's) speaks for the
    // digest: its language, its sender address.
    let queue = digest::speaking_queue(&entries).to_string();
    let lang = cfg
        .queue(&queue)
        .map(|q| q.language.clone())
        .unwrap_or_else(|| "en".into());
    let to = Mailbox {
        name: known.map(|x| x.name.clone()),
        address: a.agent.clone(),
    };
    let t = TicketRef {
        number: newest.ticket.clone(),
        queue: tickets[0].queue.clone(),
        state: State::parse(&tickets[0].state).unwrap_or(State::Open),
    };
    let view = TicketView::new(cfg, &t, &newest.subject, "");
    let event = crate::template::Event::from_name(&newest.event)
        .unwrap_or(crate::template::Event::FollowUp);
    let mut ctx = build::context(cfg, &view, &Facts::default(), &newest.excerpt, event);
    ctx.article.from = newest.from.clone();
    ctx.article.subject = newest.subject.clone();
    ctx.agent = Some(crate::template::Agent {
        name: to.name.clone().unwrap_or_else(|| to.address.clone()),
        address: to.address.clone(),
    });
    ctx.digest = Some(crate::template::Digest {
        events: entries.len(),
        more,
        minutes: cfg.autoresponse.digest_minutes,
        tickets,
    });
    let out = rules.out.as_ref().expect("checked by the round");
    let mailer = Mailer {
        cfg,
        out,
        date: now,
    };
    let mail = match mailer.digest(&queue, &ctx, &lang, &to, &mut rand::rng()) {
        Ok(Some(mail)) => mail,
        made => {
            let why = match made {
                Err(e) => e,
                _ => "no agent-digest template in any language".into(),
            };
            tracing::error!(agent = %a.agent, "digest not made: {why}; tried again later");
            let tx = index.begin()?;
            tx.postpone_digest(&a.agent, now.timestamp())?;
            tx.commit()?;
            return Ok(None);
        }
    };
    // A unique name from the store's generator; no file of this name is ever written.
    let file = store.reserve(mail.bytes.len() as u64).file;
    let tx = index.begin()?;
    // Another round (a `run --once` beside the daemon) may have taken them since they were
    // read: then this digest is dropped with the transaction.
    if tx.take_digest(&a.agent, upto, now.timestamp())? != entries.len() {
        return Ok(None);
    }
    tx.keep_outbox_mail(&file, &mail.bytes)?;
    tx.enqueue(&crate::article::queued("", file, &mail, now.timestamp()))?;
    tx.commit()?;
    Ok(Some(entries.len()))
}
