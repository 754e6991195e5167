//! An agent's mail to a ticket's reply address: commands at its top change the ticket, the rest
//! is relayed to the customer and the participants agents accepted (`outgoing::recipients`) from the queue's address (or, for a
//! note, only filed). The agent's mail is filed as written (direction `agent`), the relayed mail
//! as an outgoing article queued in the same commit. A command that cannot be carried out holds
//! the whole mail back: nothing changes, nothing is sent, the agent gets a notice saying why.

use super::apply::{folder_of, record, After};
use super::history::{self, HistoryLine};
use super::outbound::{stage_out, Moment};
use super::{IntakeError, Message, Rules};
use crate::article::Change;
use crate::facts::Facts;
use crate::index::{Accepted, NewArticle, State, TicketRef, Tx};
use crate::outgoing::agent::AgentMail;
use crate::outgoing::build::{self, TicketView};
use crate::outgoing::commands::{self, Command};
use crate::outgoing::recipients::{self, Parties};
use crate::outgoing::text;
use crate::route::base_address;
use crate::store::{trace, Store};

/// What became of an agent's mail, for the outcome and the mail log.
pub(super) struct Answered {
    pub ticket: TicketRef,
    pub said: Vec<String>,
    /// Filed only (a note address, `#note`, or an agent's automatic mail), not relayed.
    pub note: bool,
}

#[allow(clippy::too_many_arguments)]
pub(super) fn answer<'a>(
    store: &Store,
    tx: &Tx,
    after: &mut After<'a>,
    rules: &Rules,
    msg: &'a Message,
    facts: &Facts,
    t: &TicketRef,
    mail: &AgentMail,
    automatic: bool,
    base: trace::Trace,
    clock: &Moment,
    rng: &mut impl rand::Rng,
) -> Result<Answered, IntakeError> {
    let cfg = &rules.cfg;
    if automatic {
        // An agent's out-of-office answering a notice: filed, never relayed, no commands.
        file_agent_mail(
            store, tx, after, msg, facts, t, "note", &mail.name, base, clock,
        )?;
        let line = HistoryLine {
            at: clock.at.clone(),
            event: "answer-held".into(),
            detail: format!(
                "automatic mail from {} (an out-of-office?) filed as a note, not relayed",
                mail.name
            ),
            key: format!("held:{}", facts.digest),
            value: None,
        };
        record(tx, after, t, line)?;
        return Ok(Answered {
            ticket: t.clone(),
            said: vec!["automatic mail from an agent: filed as a note".into()],
            note: true,
        });
    }
    let out = rules
        .out
        .as_ref()
        .expect("agent mail is only detected with outgoing rules");
    let parsed = commands::parse(&text::body_text(&msg.raw));
    let mut problems: Vec<String> = parsed
        .errors
        .iter()
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
    let lang = cfg
        .queue(&t.queue)
        .map(|q| q.language.clone())
        .unwrap_or_else(|| "en".into());
    let head = tx.thread_head(&t.number)?;
    let mut parties = tx.answer_parties(&t.number)?;
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
                        at: clock.at.clone(),
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
    let view = TicketView::new(cfg, t, &facts.subject, &clock.at);
    let mut ctx = build::context(
        cfg,
        &view,
        facts,
        &parsed.body,
        crate::template::Event::FollowUp,
    );
    ctx.customer = crate::template::Customer {
        name: rcpts.name.clone(),
        address: rcpts.to.clone().unwrap_or_default(),
        id: None,
        first_name: None,
        last_name: None,
        vip: false,
    };
    // The directory's names for the salutation, when the answer goes to the ticket's person.
    super::customer::Customer::of_ticket(tx, &t.number)?.fill(&mut ctx);
    ctx.agent = Some(crate::template::Agent {
        name: mail.name.clone(),
        address: mail.address.clone(),
    });
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
    let mut said = Vec::new();
    // Where the answer goes, checked before anything changes.
    let recipient = rcpts.to.clone();
    if !note && recipient.is_none() && problems.is_empty() {
        problems.push(
            "the ticket has no customer address to answer: set one with #customer ADDRESS".into(),
        );
    }
    let held = !problems.is_empty();
    if held {
        to = t.clone();
        changes.clear();
    }
    if let (false, Some(number)) = (held, &call) {
        // Placed by the daemon's dialler after the commit, never on intake's path.
        tx.add_pending_call(&to.number, &mail.address, number, &clock.at)?;
    }
    if folder_of(&to) != folder_of(t) {
        tx.set_ticket(&to.number, &to.queue, to.state, &clock.at)?;
        after.renames.push((folder_of(t), folder_of(&to)));
    }
    let event = match (held, note) {
        (true, _) => "answer-held",
        (false, true) => "note",
        (false, false) => "answer",
    };
    file_agent_mail(
        store, tx, after, msg, facts, &to, event, &mail.name, base, clock,
    )?;
    for (i, (change, detail)) in changes.into_iter().enumerate() {
        change.apply(tx, &to.number, &clock.at)?;
        said.push(format!("{} {detail}", change.event()));
        let line = HistoryLine {
            at: clock.at.clone(),
            event: change.event().into(),
            detail,
            key: format!("cmd:{}:{i}", facts.digest),
            value: change.value(),
        };
        record(tx, after, &to, line)?;
    }
    if held {
        let reason = problems.join("; ");
        said.push(format!("answer held: {reason}"));
        let line = HistoryLine {
            at: clock.at.clone(),
            event: "answer-held".into(),
            detail: format!("not sent, nothing changed: {reason}"),
            key: format!("held:{}", facts.digest),
            value: None,
        };
        record(tx, after, &to, line)?;
        let body = format!(
            "Your mail to ticket {} was filed but not sent, and the ticket was not changed:\n\n{}\n\nCorrect it and send it again.\n",
            to.number,
            problems.iter().map(|p| format!("  - {p}\n")).collect::<String>()
        );
        let subject = format!("Not sent: {}", facts.subject);
        match (build::Mailer {
            cfg,
            out,
            date: clock.date(),
        })
        .notice(
            &to.queue,
            &to.number,
            std::slice::from_ref(&mail.address),
            &subject,
            body,
            rng,
        ) {
            Ok(m) => stage_out(store, tx, after, &to, m, clock)?,
            Err(e) => tracing::error!(ticket = %to.number, "notice to {}: {e}", mail.address),
        }
        return Ok(Answered {
            ticket: to,
            said,
            note,
        });
    }
    if note {
        said.push(format!("note by {}", mail.name));
        if let Some(text) = find {
            said.push(super::find::answer_find(
                store, tx, after, rules, mail, &to, text, clock, rng,
            )?);
        }
        return Ok(Answered {
            ticket: to,
            said,
            note,
        });
    }
    let recipient = recipient.expect("checked above");
    let cc = rcpts.cc;
    let mut body = String::new();
    if let Some(r) = response {
        body.push_str(r.trim_end());
        body.push_str("\n\n");
    }
    body.push_str(&parsed.body);
    ctx.ticket.queue = to.queue.clone();
    ctx.ticket.state = to.state.as_str().to_string();
    let in_reply_to = head.as_ref().and_then(|h| h.message_id.clone());
    let relay = build::Mailer {
        cfg,
        out,
        date: clock.date(),
    }
    .relay(
        &ctx,
        &lang,
        build::Answer {
            to: std::slice::from_ref(&recipient),
            cc: &cc,
            in_reply_to: in_reply_to.as_deref(),
            subject: &facts.subject,
            text: &body,
            attachments: text::attachments(&msg.raw),
        },
        rng,
    );
    match relay {
        Ok(m) => {
            said.push(format!(
                "answer by {} queued to {}",
                mail.name,
                m.rcpts.join(", ")
            ));
            stage_out(store, tx, after, &to, m, clock)?;
        }
        Err(e) => {
            let line = HistoryLine {
                at: clock.at.clone(),
                event: "answer-held".into(),
                detail: format!("cannot build the answer: {e}"),
                key: format!("held:{}", facts.digest),
                value: None,
            };
            said.push(format!("answer not sent: {e}"));
            record(tx, after, &to, line)?;
        }
    }
    Ok(Answered {
        ticket: to,
        said,
        note: false,
    })
}

/// The agent's mail as written, filed in the ticket.
#[allow(clippy::too_many_arguments)]
fn file_agent_mail<'a>(
    store: &Store,
    tx: &Tx,
    after: &mut After<'a>,
    msg: &'a Message,
    facts: &Facts,
    t: &TicketRef,
    event: &str,
    agent: &str,
    base: trace::Trace,
    clock: &Moment,
) -> Result<(), IntakeError> {
    let mut tr = trace::Trace::default();
    tr.add(trace::TICKET, &t.number)
        .add(trace::QUEUE, &t.queue)
        .add(trace::DIRECTION, "agent")
        .add(trace::CLASSIFICATION, "normal")
        .add(trace::EVENT, event)
        .add(trace::AGENT, agent);
    tr.fields.extend(base.fields);
    let seq = tx.next_seq(&t.number)?;
    tr.add(trace::SEQUENCE, seq.to_string());
    let head = tr.render(&msg.raw);
    let staged = store.reserve(head.len() as u64 + msg.len());
    let mut article = super::build_article(
        facts,
        &crate::classify::Classification::normal(),
        t,
        event,
        false,
        &staged.file,
        &clock.at,
    );
    article.direction = "agent".into();
    article.reply_addr = None;
    article.seq = seq;
    let staged_path = staged.path.to_string_lossy().into_owned();
    tx.insert_article(&NewArticle {
        article: &article,
        staged: Some(&staged_path),
    })?;
    let e = history::agent_event(&t.number, &clock.at, event, agent);
    tx.add_history(&e.ticket, &e.at, &e.event, &e.detail)?;
    after.stage_spliced(
        staged,
        head,
        std::borrow::Cow::Borrowed(&msg.raw[..]),
        msg.spliced.as_ref(),
        folder_of(t),
        "",
    );
    Ok(())
}

fn find_agent<'r>(rules: &'r Rules, who: &str) -> Option<&'r crate::config::Agent> {
    let w = who.trim().to_ascii_lowercase();
    rules.cfg.agents.iter().find(|a| {
        a.name.to_ascii_lowercase() == w
            || a.address == w
            || a.address.split('@').next() == Some(w.as_str())
    })
}
