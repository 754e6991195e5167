//! A customer's request by mail (`requests`), inside the batch that takes it: the answer is
//! rendered, stored in the quarantine and queued in the outbox, and the request itself is kept
//! in the quarantine with what was answered, all in the batch's one commit. A crash before the
//! commit leaves the request at its source and nothing queued; after it, the request is stored
//! and its answer queued, and the copy at the source comes back as a duplicate (its digest),
//! which is neither answered nor stored again.

use super::apply::After;
use super::customer::Customer;
use super::file::quarantine;
use super::outbound::Moment;
use super::reject::stage_loose;
use super::{IntakeError, Message, Outcome, Rules};
use crate::facts::Facts;
use crate::index::{State, Ticket, TicketRef, Tx};
use crate::outgoing::build::{self, TicketView};
use crate::requests::{Answer, Command, Reply};
use crate::store::{trace, Folder, Store};
use crate::template;

/// How long a message's text may be in a `#history` answer.
const MAX_TEXT: usize = 4_000;

/// Takes one request as its plan says: `answer` sent `to` the sender's directory address, or
/// why not; the request kept in the quarantine with what was answered. Returns its outcome and
/// what the mail log says.
#[allow(clippy::too_many_arguments)]
pub(super) fn take<'a>(
    store: &Store,
    tx: &Tx,
    after: &mut After<'a>,
    rules: &Rules,
    msg: &'a Message,
    facts: &Facts,
    queue: &str,
    command: &Command,
    answer: &Answer,
    to: &Result<String, String>,
    base: trace::Trace,
    clock: &Moment,
    rng: &mut impl rand::Rng,
) -> Result<Outcome, IntakeError> {
    let cfg = &rules.cfg;
    let said = match to {
        Err(reason) => format!("not answered: {reason}"),
        Ok(to) => {
            let out = rules
                .out
                .as_ref()
                .expect("a plan answers only with outgoing rules");
            let ctx = context(rules, store, facts, queue, command, answer, to);
            let template = answer.reply.template();
            let lang = language(rules, out, facts, queue, answer);
            let mailer = build::Mailer {
                cfg,
                out,
                date: clock.date(),
            };
            match mailer.request_answer(template, &ctx, &lang, facts, to, rng) {
                Ok(mail) => {
                    let reason = format!("answer to a customer's request, to {to}");
                    stage_loose(store, tx, after, mail, &reason, clock)?;
                    format!("answered to {to}: {}", answer.reply.summary())
                }
                Err(e) => {
                    tracing::error!("answer to a customer's request ({template}): {e}");
                    format!("not answered: cannot build {template}: {e}")
                }
            }
        }
    };
    let reason = format!("customer request #{} to {queue}: {said}", command.name());
    quarantine(store, tx, after, msg, facts, &reason, &clock.at, None, base)?;
    Ok(Outcome::Request {
        queue: queue.to_string(),
        said,
    })
}

/// The message's language preference, else the person's from the directory, else the queue's.
fn language(
    rules: &Rules,
    out: &crate::outgoing::Outbound,
    facts: &Facts,
    queue: &str,
    answer: &Answer,
) -> String {
    match answer.person.as_ref().map(|p| p.language.as_str()) {
        Some(l) if !l.is_empty() && facts.languages.is_empty() => {
            template::choose_language(None, None, &out.templates.languages(), l)
        }
        _ => build::language(&rules.cfg, out, facts, queue),
    }
}

/// What the template sees: the asked-for ticket (for `#status` and `#history`), the customer
/// as the directory has them, the request's data. The queue is the one the request was sent
/// to: the answer comes from its address.
fn context(
    rules: &Rules,
    store: &Store,
    facts: &Facts,
    queue: &str,
    command: &Command,
    answer: &Answer,
    to: &str,
) -> template::Context {
    let cfg = &rules.cfg;
    let one = match &answer.reply {
        Reply::Status(t) | Reply::History(t, _) => Some(t),
        _ => None,
    };
    let tref = TicketRef {
        number: one.map(|t| t.number.clone()).unwrap_or_default(),
        queue: queue.to_string(),
        state: one.map_or(State::Open, |t| t.state),
    };
    let created = one.map(|t| when(&t.created)).unwrap_or_default();
    let subject = one.map_or(facts.subject.as_str(), |t| t.subject.as_str());
    let view = TicketView::new(cfg, &tref, subject, &created);
    let mut ctx = build::context(cfg, &view, facts, "", template::Event::Created);
    if one.is_none() {
        ctx.ticket.tag = String::new();
        ctx.ticket.subject = String::new();
    }
    ctx.customer.address = to.to_string();
    Customer {
        person: answer.person.clone(),
        organisation: answer.organisation.clone(),
        service: None,
    }
    .fill(&mut ctx);
    let listed = |t: &Ticket| template::ListedTicket {
        number: t.number.clone(),
        tag: cfg.scheme().tag(&t.number),
        subject: build::plain_subject(cfg, &t.subject, &t.number),
        state: t.state.as_str().to_string(),
        queue: t.queue.clone(),
        created: when(&t.created),
        updated: when(&t.updated),
    };
    let (tickets, history, wide) = match &answer.reply {
        Reply::Tickets {
            tickets,
            organisation_wide,
        } => (
            tickets.iter().map(listed).collect(),
            Vec::new(),
            *organisation_wide,
        ),
        Reply::Status(t) => (vec![listed(t)], Vec::new(), false),
        Reply::History(t, entries) => {
            let ours = cfg
                .queue(&t.queue)
                .map(crate::outgoing::queue_sender)
                .and_then(|s| s.name)
                .unwrap_or_else(|| t.queue.clone());
            let name = ctx.customer.name.clone().unwrap_or_else(|| to.to_string());
            let folder = Folder::ticket(&t.queue, &t.number, t.state == State::Closed);
            let history = entries
                .iter()
                .map(|e| template::HistoryEntry {
                    at: when(&e.article.received),
                    side: e.side.to_string(),
                    from: if e.side == "agent" {
                        ours.clone()
                    } else {
                        name.clone()
                    },
                    subject: e.article.subject.clone(),
                    text: text_of(store, &folder, &e.article.file),
                })
                .collect();
            (vec![listed(t)], history, false)
        }
        Reply::NoTicket(_) | Reply::UnknownSender => (Vec::new(), Vec::new(), false),
    };
    ctx.request = Some(template::Request {
        command: command.name().to_string(),
        number: command.number().unwrap_or("").to_string(),
        organisation_wide: wide,
        tickets,
        history,
    });
    ctx
}

/// An article's text from its stored file (without our trace block), shortened; empty when
/// the file cannot be read (placed by a batch still running).
fn text_of(store: &Store, folder: &Folder, file: &str) -> String {
    let Some(bytes) = store
        .locate(folder, file)
        .and_then(|p| std::fs::read(p).ok())
    else {
        return String::new();
    };
    let at = trace::parse(&bytes).body_offset;
    crate::outgoing::text::body_text_capped(&bytes[at..], MAX_TEXT)
}

/// An index time (`2026-12-06T01:23:27.227Z`) as customers read it: `2026-12-06 01:23 UTC`.
fn when(at: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(at) {
        Ok(t) => t.format("%Y-%m-%d %H:%M UTC").to_string(),
        Err(_) => at.to_string(),
    }
}
