//! A decision made into the actions that carry it out, in the order intake carries them out:
//! what is filed where, what changes on the ticket, what is recorded, and what is sent or held
//! back (see `respond`). Pure over the decision, the message and what `Lookup` answers.

use super::action::{Action, Note, Target};
use super::customer::Customer;
use super::respond::{may_autorespond, respond, Answering, Filed};
use super::{policy, Decision, Lookup};
use crate::index::{Attribute, Duplicate, State};
use crate::template::Kind;

/// What a filter or the message itself asks besides the decision.
pub struct Asked<'a> {
    /// The queue the message was routed to (a filter's reject reply is sent as it).
    pub queue: &'a str,
    /// Attributes the filters set: name, value, cause.
    pub attributes: &'a [(String, String, String)],
    /// A filter's reject, with the text of its reply.
    pub reject: Option<&'a str>,
    /// A fax gateway's mail, with its sender's number when it could be read: its rendition is
    /// filed beside it, and the number says whose the ticket is.
    pub fax: Option<Option<&'a str>>,
    /// A customer's request: what the index lets its sender be told (`requests::answer`).
    pub request: Option<&'a crate::requests::Answer>,
}

pub fn actions<L: Lookup>(
    a: &Answering,
    m: &Filed,
    asked: &Asked,
    decision: &Decision,
    index: &L,
) -> Result<Vec<Action>, L::Error> {
    let mut out = Vec::new();
    match decision {
        Decision::Quarantine { reason } => {
            out.push(Action::Quarantine {
                reason: reason.clone(),
                ticket: None,
            });
            if let (Some(text), true) = (asked.reject, a.sends) {
                // Under the autoresponse rules, filters aside (the filter asked for it).
                out.push(
                    match may_autorespond(a, Kind::Reject, asked.queue, m, None, index)? {
                        Ok(to) => Action::RejectReply {
                            to,
                            text: text.to_string(),
                        },
                        Err(reason) => Action::AutoresponseSuppressed {
                            ticket: None,
                            kind: Kind::Reject,
                            reason,
                        },
                    },
                );
            }
        }
        Decision::Duplicate(Duplicate::Article { ticket }) => {
            out.push(Action::Duplicate {
                ticket: Some(ticket.clone()),
            });
            if let Some(t) = index.ticket(ticket)? {
                out.push(Action::RecordEvent {
                    ticket: Target::Existing(t),
                    note: Note::DuplicateIgnored,
                });
            }
        }
        Decision::Duplicate(Duplicate::Quarantined { .. }) => {
            out.push(Action::Duplicate { ticket: None })
        }
        Decision::Reject { ticket } => {
            out.push(Action::Quarantine {
                reason: format!(
                    "follow-up to closed ticket {} rejected by queue {}",
                    ticket.number, ticket.queue
                ),
                ticket: Some(ticket.number.clone()),
            });
            let target = Target::Existing(ticket.clone());
            out.push(Action::RecordEvent {
                ticket: target.clone(),
                note: Note::Rejected,
            });
            out.extend(respond(
                a,
                m,
                decision,
                &target,
                &ticket.queue,
                ticket.state,
                index,
            )?);
        }
        Decision::Request { queue, command } => {
            let answer = asked
                .request
                .expect("a request's answer is asked before its plan");
            out.push(Action::AnswerRequest {
                queue: queue.clone(),
                command: command.clone(),
                answer: Box::new(answer.clone()),
                to: may_answer(a, m, answer, index)?,
            })
        }
        // An agent's commands and answer need the templates: planned by intake
        // (`intake::agent_plan`), through the same `Lookup`.
        Decision::Agent { .. } => {}
        Decision::New { queue, refers } => {
            let customer = match asked.fax {
                Some(Some(number)) => Customer::of_number(index, number)?,
                Some(None) => Customer::default(),
                None => Customer::of_sender(index, m.facts)?,
            };
            out.push(Action::OpenTicket {
                queue: queue.clone(),
                refers: refers.clone(),
                customer: Box::new(customer),
            });
            let target = Target::Opened;
            out.push(Action::FileArticle {
                ticket: target.clone(),
                event: "created",
                stranger: false,
                refers: refers.clone(),
            });
            filed(&mut out, asked, &target);
            out.extend(respond(a, m, decision, &target, queue, State::Open, index)?);
        }
        Decision::FollowUp {
            ticket,
            reopen,
            stranger,
        } => {
            let event = if *reopen {
                "reopened"
            } else if ticket.state == State::Closed {
                "follow-up-closed"
            } else {
                "follow-up"
            };
            let mut t = ticket.clone();
            if *reopen {
                out.push(Action::Reopen {
                    ticket: ticket.clone(),
                });
                t.state = State::Open;
            }
            let target = Target::Existing(t.clone());
            out.push(Action::FileArticle {
                ticket: target.clone(),
                event,
                stranger: *stranger,
                refers: None,
            });
            filed(&mut out, asked, &target);
            out.extend(respond(a, m, decision, &target, &t.queue, t.state, index)?);
        }
    }
    Ok(out)
}

/// What follows a filed article: a fax's rendition, the attributes the filters set.
fn filed(out: &mut Vec<Action>, asked: &Asked, ticket: &Target) {
    if asked.fax.is_some() {
        out.push(Action::FileFax {
            ticket: ticket.clone(),
        });
    }
    for (name, value, cause) in asked.attributes {
        let attribute = match name.as_str() {
            "priority" => Attribute::Priority(value.clone()),
            "owner" => Attribute::Owner(value.clone()),
            "customer-id" => Attribute::CustomerId(value.clone()),
            _ => continue,
        };
        out.push(Action::SetAttribute {
            ticket: ticket.clone(),
            attribute,
            cause: cause.clone(),
        });
    }
}

/// Whether a customer's request is answered, and to whom: the directory's address of the
/// sender, under the loop rules and the autoresponse rate limits; `Err` says why not.
fn may_answer<L: Lookup>(
    a: &Answering,
    m: &Filed,
    answer: &crate::requests::Answer,
    index: &L,
) -> Result<Result<String, String>, L::Error> {
    if !a.sends {
        return Ok(Err("nothing is sent from here".into()));
    }
    let Some(to) = &answer.to else {
        return Ok(Err(answer.reply.summary()));
    };
    let rules = crate::requests::may_answer(m.class, m.suppressed, to, a.own, a.agents);
    if let Err(why) = rules {
        return Ok(Err(why));
    }
    let (to_recipient, last_minute) = index.autoreply_counts(to, a.now)?;
    let counts = policy::Counts {
        to_recipient,
        last_minute,
    };
    Ok(policy::within_limits(to, counts, policy::Limits::of(a.cfg)).map(|()| to.clone()))
}
