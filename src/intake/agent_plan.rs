//! An agent's mail to a ticket's reply address made into the plan's actions: the commands at
//! its top as typed `article::Change`s (or the problems that hold the whole mail back), where
//! the ticket goes, how the mail is filed, and whether and to whom the rest is relayed. Pure
//! over the configuration, the templates and what the index answers through `Lookup`.

use super::apply::folder_of;
use super::customer::Customer;
use super::Rules;
use crate::article::Change;
use crate::decide::action::{Action, Note, Target};
use crate::decide::Lookup;
use crate::facts::Facts;
use crate::index::{Accepted, State, TicketParty, TicketRef};
use crate::outgoing::agent::AgentMail;
use crate::outgoing::build::{self, TicketView};
use crate::outgoing::commands::{Command, Parsed};
use crate::outgoing::recipients::{self, Parties};
use crate::route::base_address;
use crate::template;

/// The actions of `mail` (its commands `parsed`) to ticket `t`, at `at` (the batch's time).
#[allow(clippy::too_many_arguments)]
pub(super) fn actions<L: Lookup>(
    rules: &Rules,
    facts: &Facts,
    parsed: &Parsed,
    t: &TicketRef,
    mail: &AgentMail,
    automatic: bool,
    at: &str,
    lookup: &L,
) -> Result<Vec<Action>, L::Error> {
    let cfg = &rules.cfg;
    if automatic {
        // An agent's out-of-office answering a notice: filed, never relayed, no commands.
        return Ok(vec![
            Action::FileAgentMail {
                ticket: t.clone(),
                event: "note",
                agent: mail.name.clone(),
                note: true,
            },
            Action::RecordEvent {
                ticket: Target::Existing(t.clone()),
                note: Note::AgentAutomatic(format!(
                    "automatic mail from {} (an out-of-office?) filed as a note, not relayed",
                    mail.name
                )),
            },
        ]);
    }
    let out = rules
        .out
        .as_ref()
        .expect("agent mail is only detected with outgoing rules");
    let mut problems: Vec<String> = (parsed.errors.iter())
        .map(|e| format!("line {}: {}: {}", e.line, e.text.trim(), e.message))
        .collect();
    let mut note = mail.note;
    let mut to = t.clone();
    // What the commands change, each with its event-log line's detail.
    let mut changes: Vec<(Change, String)> = Vec::new();
    let mut response: Option<String> = None;
    let mut find: Option<&str> = None;
    // `#call`: the number as written, empty for the customer's.
    let mut call: Option<String> = None;
    let lang = (cfg.queue(&t.queue))
        .map(|q| q.language.clone())
        .unwrap_or_else(|| "en".into());
    let mut parties = lookup.answer_parties(&t.number)?;
    // `#customer` and `#cc` decide this answer's recipients already.
    let ours = |a: &str| {
        let b = base_address(a);
        rules.own.contains(&b) || rules.agents.contains(&b)
    };
    let mut cc = std::mem::take(&mut parties.cc);
    for c in &parsed.commands {
        match c {
            Command::Customer(a) if ours(a) => {
                problems.push(format!("#customer {a}: our own or an agent's address"))
            }
            Command::Customer(a) => parties.customer = Some(a.clone()),
            Command::Cc(list) => {
                for ch in list {
                    if ch.added && ours(&ch.address) {
                        problems.push(format!("#cc {}: our own or an agent's address", ch.address));
                    }
                    cc.push(Accepted {
                        address: ch.address.clone(),
                        added: ch.added,
                        at: at.to_string(),
                    });
                }
            }
            _ => {}
        }
    }
    let rcpts = recipients::answer(&Parties::of(
        &parties,
        &cc,
        facts,
        &rules.own,
        &rules.agents,
    ));
    let party = lookup.directory_ticket(&t.number)?;
    let ctx = context(rules, t, facts, &parsed.body, &rcpts, &party, mail, at);
    for c in &parsed.commands {
        match c {
            Command::Note => note = true,
            Command::Find(text) => {
                note = true;
                find = Some(text);
            }
            Command::Call(number) => {
                note = true;
                call = Some(number.clone().unwrap_or_default());
                let whom = number.as_deref().unwrap_or("the customer's number");
                changes.push((
                    Change::CallRequested,
                    format!("to {whom} by {} (mail command)", mail.name),
                ));
            }
            Command::Close => {
                to.state = State::Closed;
                changes.push((Change::Closed, format!("by {} (mail command)", mail.name)));
            }
            Command::Queue(q) => match cfg.queue(q) {
                Some(q) => {
                    changes.push((
                        Change::Moved,
                        format!(
                            "from {} to {} by {} (mail command)",
                            t.queue, q.name, mail.name
                        ),
                    ));
                    to.queue = q.name.clone();
                }
                None => problems.push(format!("#queue {q}: no such queue")),
            },
            Command::Owner(o) => match find_agent(rules, o) {
                Some(a) => changes.push((
                    Change::Owner(a.name.clone()),
                    format!("set to {} by {}", a.name, mail.name),
                )),
                None => problems.push(format!("#owner {o}: no such agent")),
            },
            Command::Priority(p) => changes.push((
                Change::Priority(p.as_str().to_string()),
                format!("set to {} by {}", p.as_str(), mail.name),
            )),
            Command::Pending { date, time } => {
                let until = match time {
                    Some(t) => format!("{date} {}", t.format("%H:%M")),
                    None => date.to_string(),
                };
                let detail = format!("until {until} by {}", mail.name);
                changes.push((Change::Pending(until), detail))
            }
            Command::Template(name) => match out.templates.response(name, &lang, &t.queue, &ctx) {
                Ok(Some(r)) => response = Some(r.body),
                Ok(None) => problems.push(format!("#template {name}: no such standard response")),
                Err(e) => problems.push(format!("#template {name}: {e}")),
            },
            Command::Sla(name) if name == "default" => changes.push((
                Change::Sla(String::new()),
                format!("back to the service's or queue's by {}", mail.name),
            )),
            Command::Sla(name) => match cfg.slas.iter().find(|s| s.name == *name) {
                Some(s) => changes.push((
                    Change::Sla(s.name.clone()),
                    format!("set to {} by {}", s.name, mail.name),
                )),
                None => problems.push(format!("#sla {name}: no such service level")),
            },
            Command::Customer(a) => changes.push((
                Change::Customer(a.clone()),
                format!("set to {a} by {}", mail.name),
            )),
            Command::Cc(list) => {
                for ch in list {
                    let did = if ch.added { "accepted" } else { "removed" };
                    changes.push((
                        Change::Cc {
                            address: ch.address.clone(),
                            added: ch.added,
                        },
                        format!("{} {did} as a participant by {}", ch.address, mail.name),
                    ));
                }
            }
        }
    }
    // Where the answer goes, checked before anything changes.
    if !note && rcpts.to.is_none() && problems.is_empty() {
        problems.push(
            "the ticket has no customer address to answer: set one with #customer ADDRESS".into(),
        );
    }
    let held = !problems.is_empty();
    if held {
        to = t.clone();
        changes.clear();
    }
    let mut plan = Vec::new();
    if let (false, Some(number)) = (held, call) {
        plan.push(Action::QueueCall {
            ticket: to.number.clone(),
            agent: mail.address.clone(),
            number,
        });
    }
    if folder_of(&to) != folder_of(t) {
        plan.push(Action::Move {
            from: t.clone(),
            to: to.clone(),
        });
    }
    plan.push(Action::FileAgentMail {
        ticket: to.clone(),
        event: match (held, note) {
            (true, _) => "answer-held",
            (false, true) => "note",
            (false, false) => "answer",
        },
        agent: mail.name.clone(),
        note,
    });
    for (n, (change, detail)) in changes.into_iter().enumerate() {
        plan.push(Action::Change {
            ticket: to.clone(),
            change,
            detail,
            n,
        });
    }
    if held {
        plan.push(Action::HoldAnswer {
            ticket: to,
            mail: mail.clone(),
            problems,
        });
    } else if note {
        plan.push(Action::NoteFiled {
            agent: mail.name.clone(),
        });
        if let Some(text) = find {
            plan.push(Action::AnswerFind {
                ticket: to,
                mail: mail.clone(),
                text: text.to_string(),
            });
        }
    } else {
        plan.push(Action::RelayAnswer {
            ticket: to,
            was: t.clone(),
            mail: mail.clone(),
            to: rcpts.to.expect("checked above"),
            cc: rcpts.cc,
            name: rcpts.name,
            party: Box::new(party),
            response,
            body: parsed.body.clone(),
        });
    }
    Ok(plan)
}

/// The templates' context of an agent's answer to `t`: the ticket as it was when the mail
/// came, the customer it goes to (`rcpts`, greeted with the directory's `party`), the agent.
#[allow(clippy::too_many_arguments)]
pub(super) fn context(
    rules: &Rules,
    t: &TicketRef,
    facts: &Facts,
    body: &str,
    rcpts: &recipients::Recipients,
    party: &TicketParty,
    mail: &AgentMail,
    at: &str,
) -> template::Context {
    let cfg = &rules.cfg;
    let view = TicketView::new(cfg, t, &facts.subject, at);
    let mut ctx = build::context(cfg, &view, facts, body, template::Event::FollowUp);
    ctx.customer = template::Customer {
        name: rcpts.name.clone(),
        address: rcpts.to.clone().unwrap_or_default(),
        id: None,
        first_name: None,
        last_name: None,
        vip: false,
    };
    // The directory's names for the salutation, when the answer goes to the ticket's person.
    Customer::of_party(party.clone()).fill(&mut ctx);
    ctx.agent = Some(template::Agent {
        name: mail.name.clone(),
        address: mail.address.clone(),
    });
    ctx
}

fn find_agent<'r>(rules: &'r Rules, who: &str) -> Option<&'r crate::config::Agent> {
    let w = who.trim().to_ascii_lowercase();
    rules.cfg.agents.iter().find(|a| {
        a.name.to_ascii_lowercase() == w
            || a.address == w
            || a.address.split('@').next() == Some(w.as_str())
    })
}
