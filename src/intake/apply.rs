//! Executes the plans of one batch: staged files, one index transaction, renames into the tree.

use super::answer;
use super::customer::Customer;
use super::fax;
use super::file::{article_trace, file_article, quarantine, set_attributes};
use super::history::{self, HistoryLine};
use super::outbound::{respond, Moment};
use super::reject::reject_reply;
use super::request;
use super::{Analysis, Engine, IntakeError, LogInfo, Message, Outcome, Rules};
use crate::decide::Decision;
use crate::decide::Lookup;
use crate::execute;
pub(super) use crate::execute::After;
use crate::facts::Mailbox;
use crate::index::{self, Duplicate, State, TicketRef, Tx};
use crate::store::{trace, Folder, Store};

pub(super) fn batch(
    engine: &mut Engine,
    batch: &[Message],
    understood: Vec<super::Understood>,
) -> Result<(Vec<Outcome>, Vec<LogInfo>), IntakeError> {
    let Engine {
        rules,
        store,
        index,
        placer,
        waker,
        ..
    } = engine;
    let now = rules.clock.now();
    let clock = Moment::at(now);
    let at = clock.at.clone();
    let today = if rules.cfg.tickets.local_time {
        now.with_timezone(&chrono::Local).date_naive()
    } else {
        now.date_naive()
    };
    let mut rng = rand::rng();

    let tx = index.begin()?;
    let keys: Vec<(Option<&str>, &str)> = (understood.iter())
        .map(|u| (u.facts.message_id.as_deref(), u.facts.digest.as_str()))
        .collect();
    tx.prefetch_duplicates(&keys)?;
    let recipients: Vec<String> = (understood.iter())
        .filter_map(|u| crate::decide::policy::answer_address(&u.facts))
        .collect();
    let recipients: Vec<&str> = recipients.iter().map(String::as_str).collect();
    tx.prefetch_autoreplies(&recipients, clock.now)?;
    let senders: Vec<&str> = (understood.iter())
        .filter_map(|u| u.facts.author().map(|a| a.address.as_str()))
        .collect();
    tx.prefetch_senders(&senders)?;
    // The matcher's questions (see decide::find_ticket): the tickets of the references, the
    // numbers in the subjects.
    let ids: Vec<&str> = (understood.iter())
        .flat_map(|u| {
            let thread = (u.facts.in_reply_to.iter())
                .chain(u.facts.references.iter().rev())
                .take(64);
            thread.chain(u.class.bounce_of.iter()).map(String::as_str)
        })
        .collect();
    let numbers: Vec<String> = (understood.iter())
        .flat_map(|u| rules.scheme.find_in_subject(&u.facts.subject))
        .collect();
    tx.prefetch_tickets(&ids, &numbers)?;
    let mut after = After::default();
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut logs = Vec::with_capacity(batch.len());
    for (msg, u) in batch.iter().zip(understood) {
        let fax = u.fax.clone();
        let mut u = u;
        if let Some(Ok(number)) = fax.as_ref().map(|f| &f.number) {
            u.fax_from_customer = fax::from_customer(&tx, rules, &u.facts.subject, number)?;
        }
        let mut a = rules.decide(u, &tx)?;
        let origin = format!("{}/{}", msg.source, msg.name);
        logs.push(LogInfo {
            message_id: a.facts.message_id.clone(),
            source: origin.clone(),
            class: Some(a.class.kind.as_str().to_string()),
            out: Vec::new(),
        });
        if msg.remember {
            tx.mark_source_seen(&msg.source, &msg.name)?;
        }
        let mut base = trace::Trace::default();
        base.add(trace::SOURCE, &origin)
            .add(trace::RECEIVED, &at)
            .add(trace::DIGEST, &a.facts.digest);

        if let Some(reason) = &a.quarantine {
            let outcome = quarantine(
                store, &tx, &mut after, msg, &a.facts, reason, &at, None, base,
            )?;
            if let Some(text) = &a.inspection.reject {
                let said = reject_reply(
                    store,
                    &tx,
                    &mut after,
                    rules,
                    &a.facts,
                    &a.class,
                    &a.route.queue,
                    text,
                    &clock,
                    &mut rng,
                )?;
                logs.last_mut().expect("pushed above").out = said;
            }
            outcomes.push(outcome);
            continue;
        }
        let plan = a.plan.take().expect("a plan exists when not quarantined");
        let from = a.facts.author().map(Mailbox::display).unwrap_or_default();
        let into = match plan.decision {
            Decision::Duplicate(dup) => {
                let ticket = match dup {
                    Duplicate::Article { ticket } => {
                        if let Some(t) = tx.ticket(&ticket)? {
                            let line = HistoryLine {
                                at: at.clone(),
                                event: "duplicate-ignored".into(),
                                detail: format!("the same message again from {origin}"),
                                key: format!("dup:{}:{origin}", a.facts.digest),
                                value: None,
                            };
                            record(&tx, &mut after, &t, line)?;
                        }
                        Some(ticket)
                    }
                    Duplicate::Quarantined { .. } => None,
                };
                outcomes.push(Outcome::Duplicate { ticket });
                continue;
            }
            Decision::Reject { ticket } => {
                let reason = format!(
                    "follow-up to closed ticket {} rejected by queue {}",
                    ticket.number, ticket.queue
                );
                let outcome = quarantine(
                    store,
                    &tx,
                    &mut after,
                    msg,
                    &a.facts,
                    &reason,
                    &at,
                    Some(&ticket.number),
                    base,
                )?;
                let line = HistoryLine {
                    at: at.clone(),
                    event: "rejected".into(),
                    detail: format!("follow-up from {from} rejected and quarantined"),
                    key: format!("rej:{}", a.facts.digest),
                    value: None,
                };
                record(&tx, &mut after, &ticket, line)?;
                let decision = Decision::Reject {
                    ticket: ticket.clone(),
                };
                let said = respond(
                    store,
                    &tx,
                    &mut after,
                    rules,
                    &a.facts,
                    &a.class,
                    a.inspection.no_autoresponse.as_deref(),
                    &msg.raw,
                    &ticket,
                    &decision,
                    &clock,
                    &mut rng,
                    None,
                )?;
                logs.last_mut().expect("pushed above").out = said;
                outcomes.push(outcome);
                continue;
            }
            Decision::Request { queue, command } => {
                let outcome = request::take(
                    store,
                    &tx,
                    &mut after,
                    rules,
                    msg,
                    &a.facts,
                    &a.class,
                    a.inspection.no_autoresponse.as_deref(),
                    &queue,
                    &command,
                    base,
                    &clock,
                    &mut rng,
                )?;
                if let Outcome::Request { said, .. } = &outcome {
                    logs.last_mut().expect("pushed above").out = vec![said.clone()];
                }
                outcomes.push(outcome);
                continue;
            }
            Decision::Agent { ticket, mail } => {
                let done = answer::answer(
                    store,
                    &tx,
                    &mut after,
                    rules,
                    msg,
                    &a.facts,
                    &ticket,
                    &mail,
                    a.class.kind.is_automatic(),
                    base,
                    &clock,
                    &mut rng,
                )?;
                logs.last_mut().expect("pushed above").out = done.said;
                outcomes.push(Outcome::Answered {
                    ticket: done.ticket.number,
                    queue: done.ticket.queue,
                    note: done.note,
                });
                continue;
            }
            Decision::New { queue, refers } => {
                let number = allocate(&tx, rules, today, &mut rng)?;
                let why = refers.as_ref().map(|(n, why)| (n.clone(), why.as_str()));
                let customer = match fax.as_ref().map(|f| &f.number) {
                    Some(Ok(number)) => Customer::of_number(&tx, number)?,
                    Some(Err(_)) => Customer::default(),
                    None => Customer::of_sender(&tx, &a.facts)?,
                };
                tx.insert_ticket(
                    &number,
                    &queue,
                    State::Open,
                    &a.facts.subject,
                    &from,
                    &at,
                    refers.as_ref().map(|(n, _)| n.as_str()),
                    &customer.ids(),
                )?;
                let t = TicketRef {
                    number: number.clone(),
                    queue: queue.clone(),
                    state: State::Open,
                };
                after.fresh.insert(folder_of(&t));
                let mut tr = article_trace(&t, a.class.kind.as_str(), "created");
                if let Some((n, why)) = &why {
                    tr.add(trace::REFERS, format!("{n}; {why}"));
                }
                customer.trace(&mut tr);
                Into {
                    event: "created",
                    trace: tr,
                    refers: why.map(|(n, w)| (n, w.to_string())),
                    stranger: false,
                    customer: Some(customer),
                    outcome: Outcome::Created {
                        ticket: number,
                        queue: queue.clone(),
                    },
                    decision: Decision::New { queue, refers },
                    t,
                }
            }
            Decision::FollowUp {
                ticket,
                reopen,
                stranger,
            } => {
                let event = if reopen {
                    "reopened"
                } else if ticket.state == State::Closed {
                    "follow-up-closed"
                } else {
                    "follow-up"
                };
                let mut t = ticket.clone();
                if reopen {
                    t.state = State::Open;
                    tx.set_ticket(&t.number, &t.queue, State::Open, &at)?;
                    after.renames.push((folder_of(&ticket), folder_of(&t)));
                }
                let mut tr = article_trace(&t, a.class.kind.as_str(), event);
                if stranger {
                    tr.add(trace::STRANGER, "yes");
                }
                Into {
                    event,
                    trace: tr,
                    refers: None,
                    stranger,
                    customer: None,
                    outcome: Outcome::FollowUp {
                        ticket: t.number.clone(),
                        queue: t.queue.clone(),
                        reopened: reopen,
                    },
                    decision: Decision::FollowUp {
                        ticket,
                        reopen,
                        stranger,
                    },
                    t,
                }
            }
        };
        let said = file_customer_mail(
            store,
            &tx,
            &mut after,
            rules,
            msg,
            &a,
            fax.as_deref(),
            base,
            &from,
            &clock,
            &mut rng,
            &into,
        )?;
        logs.last_mut().expect("pushed above").out = said;
        outcomes.push(into.outcome);
    }

    let queued = after.queued;
    // New tickets: the store's marker follows the index (after the commit, never ahead of it).
    let fresh = !after.fresh.is_empty();
    let generation = execute::commit(store, tx, after, placer, |tx| match fresh {
        true => tx.bump_generation(),
        false => Ok(None),
    })?;
    if let Some((store_id, count)) = generation {
        // A marker left behind is safe (it only weakens the next start's check); failing the
        // batch after its commit would not be.
        let g = crate::store::generation::Generation {
            store: store_id,
            count,
        };
        if let Err(e) = store.set_generation(g) {
            tracing::warn!("store generation marker not updated: {e}");
        }
    }
    if queued {
        if let Some(w) = waker {
            w.wake();
        }
    }
    Ok((outcomes, logs))
}

/// Where a customer's message goes once its ticket is known: opened for it, or found.
struct Into {
    t: TicketRef,
    /// `created`, `follow-up`, `follow-up-closed` or `reopened`.
    event: &'static str,
    trace: trace::Trace,
    /// The ticket a new one refers to, and why.
    refers: Option<(String, String)>,
    stranger: bool,
    /// The directory's customer of a ticket opened now.
    customer: Option<Customer>,
    decision: Decision,
    outcome: Outcome,
}

/// Files a customer's message into its ticket: the article, its history, a fax's rendition,
/// the attributes the filters set, and what is sent in answer (said for the mail log).
#[allow(clippy::too_many_arguments)]
fn file_customer_mail<'a>(
    store: &Store,
    tx: &Tx,
    after: &mut After<'a>,
    rules: &Rules,
    msg: &'a Message,
    a: &Analysis,
    fax: Option<&crate::fax::Received>,
    base: trace::Trace,
    from: &str,
    clock: &Moment,
    rng: &mut impl rand::Rng,
    into: &Into,
) -> Result<Vec<String>, IntakeError> {
    let t = &into.t;
    file_article(
        store,
        tx,
        after,
        msg,
        &a.facts,
        &a.class,
        t,
        into.event,
        into.stranger,
        into.trace.clone(),
        base,
        &a.inspection,
        rules,
    )?;
    let events = history::article_events(
        &t.number,
        &clock.at,
        into.event,
        from,
        into.refers.as_ref().map(|(n, w)| (n.as_str(), w.as_str())),
        into.stranger,
    );
    for e in events {
        tx.add_history(&e.ticket, &e.at, &e.event, &e.detail)?;
    }
    if let Some(f) = fax {
        let known = into
            .customer
            .as_ref()
            .filter(|c| c.person.is_some() || c.organisation.is_some());
        fax::file(store, tx, after, rules, f, &a.facts, t, known, clock)?;
    }
    set_attributes(tx, after, t, &a.facts, &a.inspection.attributes, &clock.at)?;
    respond(
        store,
        tx,
        after,
        rules,
        &a.facts,
        &a.class,
        a.inspection.no_autoresponse.as_deref(),
        &msg.raw,
        t,
        &into.decision,
        clock,
        rng,
        into.customer.as_ref(),
    )
}

pub(super) fn folder_of(t: &TicketRef) -> Folder {
    Folder::ticket(&t.queue, &t.number, t.state == State::Closed)
}

/// An event that is not an article: into the index now, and into the ticket's event log (from
/// which reindex rebuilds it) once the batch has committed.
pub(super) fn record(
    tx: &Tx,
    after: &mut After,
    ticket: &TicketRef,
    line: HistoryLine,
) -> index::Result<()> {
    record_in(tx, after, &ticket.number, folder_of(ticket), line)
}

/// `record` of a line for ticket `number`, appended in `folder` (or wherever the ticket is by
/// then).
pub(super) fn record_in(
    tx: &Tx,
    after: &mut After,
    number: &str,
    folder: Folder,
    line: HistoryLine,
) -> index::Result<()> {
    tx.add_history_keyed(number, &line.at, &line.event, &line.detail, &line.key)?;
    let json = serde_json::to_string(&line).unwrap_or_default();
    let id = tx.add_pending_line(number, &json)?;
    after.history.push((folder, line, id));
    Ok(())
}

fn allocate(
    tx: &Tx,
    rules: &Rules,
    today: chrono::NaiveDate,
    rng: &mut impl rand::Rng,
) -> index::Result<String> {
    if let Some(key) = rules.scheme.counter_key(today) {
        return tx.next_number(&key, |counter| rules.scheme.format(today, counter, rng));
    }
    loop {
        let n = rules.scheme.format(today, 0, rng);
        if tx.ticket(&n)?.is_none() {
            return Ok(n);
        }
    }
}
