//! One message's plan carried out inside its batch: its actions (`decide::action`) in order,
//! each staging files and writing index rows for the batch's one commit. Nothing is decided
//! here: what is made (a ticket's number, a mail's bytes) is made as the plan says.

use super::answer::file_agent_mail;
use super::apply::{folder_of, record};
use super::customer::Customer;
use super::fax;
use super::file::{article_trace, file_article, quarantine};
use super::find::answer_find;
use super::history::{self, HistoryLine};
use super::reject::reject_reply;
use super::reply::{alarm, Out, Reply};
use super::request;
use super::{Analysis, IntakeError, Message, Outcome};
use crate::decide::action::{Action, Note, Target};
use crate::decide::Lookup;
use crate::facts::Mailbox;
use crate::index::{self, Attribute, State, TicketRef};
use crate::outgoing::recipients::Recipients;
use crate::store::trace;

/// What became of a message: its outcome, what the mail log says of its outgoing mail, and the
/// actions carried out, in order.
pub(super) struct Carried {
    pub outcome: Outcome,
    pub said: Vec<String>,
    pub actions: Vec<Action>,
}

/// Carries out `actions`, the plan of `a`, for `msg`; `base` is its trace block's start
/// (source, time, digest), `fax` a fax gateway's rendition.
pub(super) fn carry<'a, R: rand::Rng>(
    o: &mut Out<'_, 'a, '_, R>,
    today: chrono::NaiveDate,
    msg: &'a Message,
    a: &Analysis,
    actions: Vec<Action>,
    fax: Option<&crate::fax::Received>,
    base: trace::Trace,
) -> Result<Carried, IntakeError> {
    let facts = &a.facts;
    let origin = format!("{}/{}", msg.source, msg.name);
    let from = facts.author().map(Mailbox::display).unwrap_or_default();
    let at = o.clock.at.clone();
    let mut base = Some(base);
    let mut opened: Option<(TicketRef, Customer)> = None;
    let mut outcome = None;
    let mut said = Vec::new();
    let mut reply: Option<Reply> = None;
    let resolve = |target: &Target, opened: &Option<(TicketRef, Customer)>| match target {
        Target::Existing(t) => t.clone(),
        Target::Opened => opened.as_ref().expect("opened before").0.clone(),
    };
    let mut done = Vec::with_capacity(actions.len());
    for action in actions {
        match &action {
            Action::Duplicate { ticket } => {
                outcome = Some(Outcome::Duplicate {
                    ticket: ticket.clone(),
                })
            }
            Action::Quarantine { reason, ticket } => {
                outcome = Some(quarantine(
                    o.store,
                    o.tx,
                    o.after,
                    msg,
                    facts,
                    reason,
                    &at,
                    ticket.as_deref(),
                    base.take().expect("the message is kept once"),
                )?);
            }
            Action::OpenTicket {
                queue,
                refers,
                customer,
            } => {
                let number = allocate(o, today)?;
                let customer = (**customer).clone();
                o.tx.insert_ticket(
                    &number,
                    queue,
                    State::Open,
                    &facts.subject,
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
                o.after.fresh.insert(folder_of(&t));
                outcome = Some(Outcome::Created {
                    ticket: number,
                    queue: queue.clone(),
                });
                opened = Some((t, customer));
            }
            Action::Reopen { ticket } => {
                let mut t = ticket.clone();
                t.state = State::Open;
                o.tx.set_ticket(&t.number, &t.queue, State::Open, &at)?;
                o.after.renames.push((folder_of(ticket), folder_of(&t)));
            }
            Action::FileArticle {
                ticket,
                event,
                stranger,
                refers,
            } => {
                let t = resolve(ticket, &opened);
                let mut tr = article_trace(&t, a.class.kind.as_str(), event);
                let refers = refers.as_ref().map(|(n, why)| (n.as_str(), why.as_str()));
                if let Some((n, why)) = refers {
                    tr.add(trace::REFERS, format!("{n}; {why}"));
                }
                if let (Target::Opened, Some((_, customer))) = (ticket, &opened) {
                    customer.trace(&mut tr);
                }
                if *stranger {
                    tr.add(trace::STRANGER, "yes");
                }
                file_article(
                    o.store,
                    o.tx,
                    o.after,
                    msg,
                    facts,
                    &a.class,
                    &t,
                    event,
                    *stranger,
                    tr,
                    base.take().expect("the message is filed once"),
                    &a.inspection,
                    o.rules,
                )?;
                let events =
                    history::article_events(&t.number, &at, event, &from, refers, *stranger);
                for e in events {
                    o.tx.add_history(&e.ticket, &e.at, &e.event, &e.detail)?;
                }
                if outcome.is_none() {
                    outcome = Some(Outcome::FollowUp {
                        ticket: t.number.clone(),
                        queue: t.queue.clone(),
                        reopened: *event == "reopened",
                    });
                }
            }
            Action::FileFax { ticket } => {
                let t = resolve(ticket, &opened);
                let f = fax.expect("a fax's plan files its rendition");
                let known = (opened.as_ref().map(|(_, c)| c))
                    .filter(|c| c.person.is_some() || c.organisation.is_some());
                fax::file(
                    o.store, o.tx, o.after, o.rules, f, facts, &t, known, o.clock,
                )?;
            }
            Action::SetAttribute {
                ticket,
                attribute,
                cause,
            } => {
                let t = resolve(ticket, &opened);
                o.tx.set_attribute(&t.number, attribute, &at)?;
                let (name, value) = match attribute {
                    Attribute::Priority(v) => ("priority", v),
                    Attribute::Owner(v) => ("owner", v),
                    Attribute::CustomerId(v) => ("customer-id", v),
                    Attribute::Pending(v) => ("pending", v),
                    Attribute::Sla(v) => ("sla", v),
                };
                let line = HistoryLine {
                    at: at.clone(),
                    event: name.into(),
                    detail: format!("set to {value} by {cause}"),
                    key: format!("filter:{}:{name}", facts.digest),
                    value: Some(value.clone()),
                };
                record(o.tx, o.after, &t, line)?;
            }
            Action::RecordEvent { ticket, note } => {
                let t = resolve(ticket, &opened);
                let (detail, key) = match note {
                    Note::DuplicateIgnored => (
                        format!("the same message again from {origin}"),
                        format!("dup:{}:{origin}", facts.digest),
                    ),
                    Note::Rejected => (
                        format!("follow-up from {from} rejected and quarantined"),
                        format!("rej:{}", facts.digest),
                    ),
                    Note::RecipientsNotAdded(sentence) => {
                        said.push(sentence.clone());
                        (sentence.clone(), format!("wanted:{}", facts.digest))
                    }
                    Note::AgentAutomatic(detail) => {
                        said.push("automatic mail from an agent: filed as a note".into());
                        (detail.clone(), format!("held:{}", facts.digest))
                    }
                };
                let line = HistoryLine {
                    at: at.clone(),
                    event: note.event().into(),
                    detail,
                    key,
                    value: None,
                };
                record(o.tx, o.after, &t, line)?;
            }
            Action::Autorespond {
                ticket,
                kind,
                to,
                event,
                previous,
                reason,
            } => {
                let t = resolve(ticket, &opened);
                let r = reply_for(o, &mut reply, a, msg, &t, *event, &opened)?;
                if let Some(n) = previous {
                    r.ctx.previous = Some(crate::template::Previous {
                        number: n.clone(),
                        tag: o.rules.cfg.scheme().tag(n),
                    });
                }
                if let Some(reason) = reason {
                    r.ctx.reason = Some(reason.clone());
                }
                let r = reply.as_ref().expect("made above");
                said.push(o.autorespond(r, &t, facts, *kind, to)?);
            }
            Action::AutoresponseSuppressed { ticket, reason, .. } => {
                if reason.starts_with("circuit breaker") {
                    alarm(o.clock.now, reason);
                }
                match ticket {
                    Some(ticket) => {
                        let t = resolve(ticket, &opened);
                        said.push(o.suppressed(&t, facts, "autoresponse", reason.clone())?);
                    }
                    None => said.push(format!("reject reply suppressed: {reason}")),
                }
            }
            Action::RejectReply { to, text } => {
                let (store, tx, rules, clock) = (o.store, o.tx, o.rules, o.clock);
                said.push(reject_reply(
                    store,
                    tx,
                    o.after,
                    rules,
                    facts,
                    &a.route.queue,
                    to,
                    text,
                    clock,
                    o.rng,
                )?);
            }
            Action::Notify {
                ticket,
                agents,
                style,
                event,
                sender,
                warnings,
            } => {
                let t = resolve(ticket, &opened);
                reply_for(o, &mut reply, a, msg, &t, *event, &opened)?;
                let r = reply.as_mut().expect("made above");
                let told = o.notify(
                    r,
                    &t,
                    facts,
                    agents,
                    *style,
                    *event,
                    sender,
                    warnings.clone(),
                )?;
                said.extend(told);
            }
            Action::NoticeSuppressed { ticket, reason } => {
                let t = resolve(ticket, &opened);
                said.push(o.suppressed(&t, facts, "notification", reason.clone())?);
            }
            Action::AnswerRequest {
                queue,
                command,
                answer,
                to,
            } => {
                let (store, tx, rules, clock) = (o.store, o.tx, o.rules, o.clock);
                let done = request::take(
                    store,
                    tx,
                    o.after,
                    rules,
                    msg,
                    facts,
                    queue,
                    command,
                    answer,
                    to,
                    base.take().expect("the request is kept once"),
                    clock,
                    o.rng,
                )?;
                if let Outcome::Request { said: s, .. } = &done {
                    said.push(s.clone());
                }
                outcome = Some(done);
            }
            Action::QueueCall {
                ticket,
                agent,
                number,
            } => {
                // Placed by the daemon's dialler after the commit, never on intake's path.
                o.tx.add_pending_call(ticket, agent, number, &at)?;
            }
            Action::Move { from, to } => {
                o.tx.set_ticket(&to.number, &to.queue, to.state, &at)?;
                o.after.renames.push((folder_of(from), folder_of(to)));
            }
            Action::FileAgentMail {
                ticket,
                event,
                agent,
                note,
            } => {
                file_agent_mail(
                    o.store,
                    o.tx,
                    o.after,
                    msg,
                    facts,
                    ticket,
                    event,
                    agent,
                    base.take().expect("the agent's mail is filed once"),
                    o.clock,
                )?;
                outcome = Some(Outcome::Answered {
                    ticket: ticket.number.clone(),
                    queue: ticket.queue.clone(),
                    note: *note,
                });
            }
            Action::Change {
                ticket,
                change,
                detail,
                n,
            } => said.push(o.change(ticket, facts, change, detail, *n)?),
            Action::HoldAnswer {
                ticket,
                mail,
                problems,
            } => said.push(o.hold(ticket, facts, mail, problems)?),
            Action::NoteFiled { agent } => said.push(format!("note by {agent}")),
            Action::AnswerFind { ticket, mail, text } => {
                let (store, tx, rules, clock) = (o.store, o.tx, o.rules, o.clock);
                said.push(answer_find(
                    store, tx, o.after, rules, mail, ticket, text, clock, o.rng,
                )?);
            }
            Action::RelayAnswer {
                ticket,
                was,
                mail,
                to,
                cc,
                name,
                party,
                response,
                body,
            } => {
                let rcpts = Recipients {
                    to: Some(to.clone()),
                    name: name.clone(),
                    cc: cc.clone(),
                };
                said.push(o.relay(
                    msg,
                    facts,
                    ticket,
                    was,
                    mail,
                    &rcpts,
                    party,
                    response.as_deref(),
                    body,
                )?);
            }
        }
        done.push(action);
    }
    Ok(Carried {
        outcome: outcome.expect("every plan files, keeps or drops its message"),
        said,
        actions: done,
    })
}

/// The mails' context for a message filed in `t`, made when the first of them is.
fn reply_for<'r, R: rand::Rng>(
    o: &Out<'_, '_, '_, R>,
    reply: &'r mut Option<Reply>,
    a: &Analysis,
    msg: &Message,
    t: &TicketRef,
    event: crate::template::Event,
    opened: &Option<(TicketRef, Customer)>,
) -> Result<&'r mut Reply, IntakeError> {
    if reply.is_none() {
        let customer = opened.as_ref().map(|(_, c)| c);
        *reply = Some(Reply::new(
            o.tx, o.rules, &a.facts, &msg.raw, t, event, customer, o.clock,
        )?);
    }
    Ok(reply.as_mut().expect("made above"))
}

/// A new ticket's number, drawn from the scheme's counter or at random.
fn allocate<R: rand::Rng>(
    o: &mut Out<'_, '_, '_, R>,
    today: chrono::NaiveDate,
) -> index::Result<String> {
    let scheme = &o.rules.scheme;
    if let Some(key) = scheme.counter_key(today) {
        let rng = &mut *o.rng;
        return o
            .tx
            .next_number(&key, |counter| scheme.format(today, counter, rng));
    }
    loop {
        let n = scheme.format(today, 0, o.rng);
        if o.tx.ticket(&n)?.is_none() {
            return Ok(n);
        }
    }
}
