//! The matcher: does a message join a ticket, open one, or neither? Pure over the message's
//! facts and what the index answers through `Lookup`; returns a `Plan` with a reason for each
//! step. `actions` makes the decision into the typed actions (`action`) that intake's executor
//! carries out in order and `explain` prints, with what is sent or held back (`respond`).
//!
//! Order: duplicate → ticket tag in the subject → References/In-Reply-To naming an article →
//! a bounce's returned Message-ID → a new ticket. A match through the tag or references from
//! someone who is not a participant goes through the stranger policy; a match on a closed
//! ticket through the queue's closed policy.

pub mod action;
pub mod actions;
pub mod customer;
pub mod policy;
pub mod respond;
mod shown;

use crate::classify::Classification;
use crate::config::{ClosedPolicy, StrangerPolicy};
use crate::facts::Facts;
use crate::index::{Duplicate, State, TicketRef};
use crate::number::Scheme;
use crate::route::{base_address, Route};

pub use crate::index::Lookup;
pub use crate::outgoing::OwnId;

/// The settings the matcher obeys.
pub struct Policy<'a> {
    pub scheme: &'a Scheme,
    pub stranger: StrangerPolicy,
    pub on_closed: &'a dyn Fn(&str) -> ClosedPolicy,
    /// Agents' addresses: never participants on this path (agents act through reply addresses).
    pub agents: &'a [String],
    /// Whether a Message-ID is one of ours (its MAC verifies), a forgery of ours, or foreign.
    pub own_id: &'a dyn Fn(&str) -> OwnId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Kept in the quarantine (too large, unparseable, a scanner's or filter's verdict, no
    /// sender, an agent's mail for a ticket that does not exist).
    Quarantine { reason: String },
    /// Seen before: no new article.
    Duplicate(Duplicate),
    /// Open a ticket in `queue`; `refers` is a ticket the message pointed at but may not join.
    New {
        queue: String,
        refers: Option<(String, Why)>,
    },
    /// File in an existing ticket.
    FollowUp {
        ticket: TicketRef,
        reopen: bool,
        stranger: bool,
    },
    /// A follow-up to a closed ticket whose queue rejects them: quarantined, recorded on the ticket.
    Reject { ticket: TicketRef },
    /// An agent's answer or note, through the ticket's verified reply address.
    Agent {
        ticket: TicketRef,
        mail: crate::outgoing::agent::AgentMail,
    },
    /// A customer's request by mail (`#tickets`, `#status`, `#history`) to `queue`: answered,
    /// not filed as a ticket.
    Request {
        queue: String,
        command: crate::requests::Command,
    },
}

/// Why a new ticket refers to another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The sender is not a participant of the ticket they referred to.
    Stranger,
    /// The ticket is closed and its queue opens a new one for follow-ups.
    Closed,
    /// The subject named a ticket number that does not exist.
    Unknown,
}

impl Why {
    pub fn as_str(self) -> &'static str {
        match self {
            Why::Stranger => "stranger",
            Why::Closed => "closed",
            Why::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub decision: Decision,
    /// One line per step taken, in order, saying why.
    pub steps: Vec<String>,
    /// What carries the decision out, in order (`actions::actions`).
    pub actions: Vec<action::Action>,
}

impl Plan {
    /// The event the filed article records: created, follow-up or reopened.
    pub fn event(&self) -> &'static str {
        match &self.decision {
            Decision::New { .. } => "created",
            Decision::FollowUp { reopen: true, .. } => "reopened",
            Decision::FollowUp { .. } => "follow-up",
            Decision::Duplicate(_) => "duplicate",
            Decision::Quarantine { .. } => "quarantined",
            Decision::Reject { .. } => "rejected",
            Decision::Agent { mail, .. } if mail.note => "note",
            Decision::Agent { .. } => "answer",
            Decision::Request { .. } => "request",
        }
    }
}

/// How a ticket was found, for the stranger check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Tag,
    Reference,
    Bounce,
}

pub fn decide<L: Lookup>(
    facts: &Facts,
    class: &Classification,
    route: &Route,
    policy: &Policy,
    index: &L,
) -> Result<Plan, L::Error> {
    let mut steps = Vec::new();
    if let Some(dup) = index.duplicate(&facts.digest, facts.message_id.as_deref())? {
        steps.push(match &dup {
            Duplicate::Article { ticket } => {
                format!("same message (digest) is already an article of ticket {ticket}")
            }
            Duplicate::Quarantined { reason } => {
                format!("same message is already in quarantine ({reason})")
            }
        });
        return Ok(Plan {
            decision: Decision::Duplicate(dup),
            steps,
            actions: Vec::new(),
        });
    }
    let mut referred: Option<(String, Why)> = None;
    let found = find_ticket(facts, class, policy, index, &mut steps, &mut referred)?;
    let Some((ticket, via)) = found else {
        steps.push(route.reason.clone());
        steps.push(format!("new ticket in queue {}", route.queue));
        return Ok(Plan {
            decision: Decision::New {
                queue: route.queue.clone(),
                refers: referred,
            },
            steps,
            actions: Vec::new(),
        });
    };

    let author = facts
        .author()
        .map(|m| base_address(&m.address))
        .unwrap_or_default();
    let mut stranger = false;
    if via != Via::Bounce {
        // An agent's address here did not come through the agent's reply address: a From
        // anyone can write, so it earns nothing a participant has.
        let agent = policy.agents.contains(&author);
        let known =
            !agent && !author.is_empty() && index.is_participant(&ticket.number, &author)?;
        if !known {
            let who = if author.is_empty() {
                "an unknown sender".to_string()
            } else if agent {
                format!("{author} (an agent's address, but not through the agent's reply address)")
            } else {
                author.clone()
            };
            match policy.stranger {
                StrangerPolicy::Accept => steps.push(format!(
                    "{who} is not a participant of {}; policy accept",
                    ticket.number
                )),
                StrangerPolicy::AcceptAndMark => {
                    steps.push(format!(
                        "{who} is not a participant of {}; policy accept-and-mark",
                        ticket.number
                    ));
                    stranger = true;
                }
                StrangerPolicy::NewTicket => {
                    steps.push(format!(
                        "{who} is not a participant of {}; policy new-ticket: a new ticket records the reference",
                        ticket.number
                    ));
                    steps.push(route.reason.clone());
                    return Ok(Plan {
                        decision: Decision::New {
                            queue: route.queue.clone(),
                            refers: Some((ticket.number, Why::Stranger)),
                        },
                        steps,
                        actions: Vec::new(),
                    });
                }
            }
        }
    }

    if ticket.state == State::Closed {
        if class.kind.is_automatic() {
            steps.push(format!(
                "ticket {} is closed; automatic mail ({}) is filed without reopening",
                ticket.number,
                class.kind.as_str()
            ));
            return Ok(Plan {
                decision: Decision::FollowUp {
                    ticket,
                    reopen: false,
                    stranger,
                },
                steps,
                actions: Vec::new(),
            });
        }
        match (policy.on_closed)(&ticket.queue) {
            ClosedPolicy::Reopen => {
                steps.push(format!(
                    "ticket {} is closed; queue {} reopens it",
                    ticket.number, ticket.queue
                ));
                return Ok(Plan {
                    decision: Decision::FollowUp {
                        ticket,
                        reopen: true,
                        stranger,
                    },
                    steps,
                    actions: Vec::new(),
                });
            }
            ClosedPolicy::NewTicket => {
                steps.push(format!(
                    "ticket {} is closed; queue {} opens a new ticket linked to it",
                    ticket.number, ticket.queue
                ));
                return Ok(Plan {
                    decision: Decision::New {
                        queue: ticket.queue.clone(),
                        refers: Some((ticket.number, Why::Closed)),
                    },
                    steps,
                    actions: Vec::new(),
                });
            }
            ClosedPolicy::Reject => {
                steps.push(format!(
                    "ticket {} is closed; queue {} rejects follow-ups",
                    ticket.number, ticket.queue
                ));
                return Ok(Plan {
                    decision: Decision::Reject { ticket },
                    steps,
                    actions: Vec::new(),
                });
            }
        }
    }
    steps.push(format!(
        "follow-up to ticket {} in queue {}",
        ticket.number, ticket.queue
    ));
    Ok(Plan {
        decision: Decision::FollowUp {
            ticket,
            reopen: false,
            stranger,
        },
        steps,
        actions: Vec::new(),
    })
}

fn find_ticket<L: Lookup>(
    facts: &Facts,
    class: &Classification,
    policy: &Policy,
    index: &L,
    steps: &mut Vec<String>,
    referred: &mut Option<(String, Why)>,
) -> Result<Option<(TicketRef, Via)>, L::Error> {
    for number in policy.scheme.find_in_subject(&facts.subject) {
        match index.ticket(&number)? {
            Some(t) => {
                steps.push(format!("subject carries the tag of ticket {number}"));
                return Ok(Some((t, Via::Tag)));
            }
            None => {
                steps.push(format!(
                    "subject names ticket {number}, which does not exist"
                ));
                referred.get_or_insert((number, Why::Unknown));
            }
        }
    }
    // The direct parent first, then the thread from its newest end.
    let ids = facts
        .in_reply_to
        .iter()
        .chain(facts.references.iter().rev());
    for id in ids.take(64) {
        if let Some(number) = index.ticket_of_message(id)? {
            if let Some(t) = index.ticket(&number)? {
                steps.push(format!("references <{id}>, an article of ticket {number}"));
                return Ok(Some((t, Via::Reference)));
            }
        }
        match (policy.own_id)(id) {
            OwnId::Ours(number) => {
                if let Some(t) = index.ticket(&number)? {
                    steps.push(format!(
                        "references <{id}>, a Message-ID of ours for ticket {number}"
                    ));
                    return Ok(Some((t, Via::Reference)));
                }
            }
            OwnId::Forged => steps.push(format!(
                "references <{id}>, which has the shape of our Message-IDs but a wrong MAC: ignored"
            )),
            OwnId::NotOurs => {}
        }
    }
    if let (Some(id), true) = (
        &class.bounce_of,
        class.kind == crate::classify::Kind::Bounce,
    ) {
        if let Some(number) = index.ticket_of_message(id)? {
            if let Some(t) = index.ticket(&number)? {
                steps.push(format!(
                    "bounce returns <{id}>, an article of ticket {number}"
                ));
                return Ok(Some((t, Via::Bounce)));
            }
        }
        steps.push(format!("bounce returns <{id}>, which is no article here"));
    }
    Ok(None)
}

#[cfg(test)]
mod tests;
