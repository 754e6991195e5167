//! How an action is shown: as JSON for `explain --json` (and the test that compares it with
//! what intake carried out), in words for `explain`'s text form, and as the mail log's `out`.

use serde_json::{json, Value};

use super::action::{Action, Note, Target};
use super::customer::Customer;
use super::Why;
use crate::config::outgoing::NoticeStyle;
use crate::facts::Mailbox;
use crate::index::Attribute;

impl Target {
    fn json(&self) -> Value {
        match self {
            Target::Opened => json!("new"),
            Target::Existing(t) => json!(t.number),
        }
    }

    fn words(&self) -> String {
        match self {
            Target::Opened => "the new ticket".into(),
            Target::Existing(t) => format!("ticket {}", t.number),
        }
    }
}

/// A new ticket's customer as its ids (those the ticket's row keeps).
fn customer_json(c: &Customer) -> Value {
    let ids = c.ids();
    json!({"person": ids.person, "organisation": ids.organisation, "service": ids.service})
}

/// A new ticket's customer in words, `None` when the directory knows nobody.
fn customer_words(c: &Customer) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(p) = &c.person {
        parts.push(format!("{} ({})", p.display_name, p.id));
    }
    if let Some(o) = &c.organisation {
        parts.push(format!("of {} ({})", o.name, o.id));
    }
    if let Some(s) = &c.service {
        parts.push(format!("service {}", s.service));
    }
    (!parts.is_empty()).then(|| format!("for {}", parts.join(" ")))
}

fn refers_json(r: &Option<(String, Why)>) -> Value {
    match r {
        Some((n, why)) => json!({"ticket": n, "why": why.as_str()}),
        None => Value::Null,
    }
}

fn style_name(s: NoticeStyle) -> &'static str {
    match s {
        NoticeStyle::Pointer => "pointer",
        NoticeStyle::Copy => "copy",
        NoticeStyle::Digest => "digest",
    }
}

fn attribute_parts(a: &Attribute) -> (&'static str, &str) {
    match a {
        Attribute::Owner(v) => ("owner", v),
        Attribute::Priority(v) => ("priority", v),
        Attribute::Pending(v) => ("pending", v),
        Attribute::CustomerId(v) => ("customer-id", v),
        Attribute::Sla(v) => ("sla", v),
    }
}

impl Action {
    /// The action as one JSON object: `action` its name, the rest its fields.
    pub fn json(&self) -> Value {
        let mut v = match self {
            Action::Duplicate { ticket } => json!({ "ticket": ticket }),
            Action::Quarantine { reason, ticket } => json!({"reason": reason, "ticket": ticket}),
            Action::OpenTicket {
                queue,
                refers,
                customer,
            } => {
                json!({"queue": queue, "refers": refers_json(refers), "customer": customer_json(customer)})
            }
            Action::Reopen { ticket } => json!({"ticket": ticket.number, "queue": ticket.queue}),
            Action::FileArticle {
                ticket,
                event,
                stranger,
                refers,
            } => json!({
                "ticket": ticket.json(),
                "event": event,
                "stranger": stranger,
                "refers": refers_json(refers),
            }),
            Action::FileFax { ticket } => json!({"ticket": ticket.json()}),
            Action::SetAttribute {
                ticket,
                attribute,
                cause,
            } => {
                let (name, value) = attribute_parts(attribute);
                json!({"ticket": ticket.json(), "name": name, "value": value, "cause": cause})
            }
            Action::RecordEvent { ticket, note } => {
                let detail = match note {
                    Note::RecipientsNotAdded(s) | Note::AgentAutomatic(s) => Some(s),
                    _ => None,
                };
                json!({"ticket": ticket.json(), "event": note.event(), "detail": detail})
            }
            Action::Autorespond {
                ticket,
                kind,
                to,
                event,
                previous,
                reason,
            } => json!({
                "ticket": ticket.json(),
                "kind": kind.name(),
                "to": to,
                "event": event.name(),
                "previous": previous,
                "reason": reason,
            }),
            Action::AutoresponseSuppressed {
                ticket,
                kind,
                reason,
            } => json!({
                "ticket": ticket.as_ref().map(Target::json),
                "kind": kind.name(),
                "reason": reason,
            }),
            Action::RejectReply { to, text } => json!({"to": to, "text": text}),
            Action::Notify {
                ticket,
                agents,
                style,
                event,
                sender,
                warnings,
            } => json!({
                "ticket": ticket.json(),
                "agents": agents.iter().map(|a| a.address.as_str()).collect::<Vec<_>>(),
                "style": style_name(*style),
                "event": event.name(),
                "sender": sender,
                "warnings": warnings,
            }),
            Action::NoticeSuppressed { ticket, reason } => {
                json!({"ticket": ticket.json(), "reason": reason})
            }
            Action::AnswerRequest {
                queue,
                command,
                answer,
                to,
            } => json!({
                "queue": queue,
                "command": command.name(),
                "reply": answer.reply.summary(),
                "to": to.as_ref().ok(),
                "not-answered": to.as_ref().err(),
            }),
            Action::Move { from, to } => json!({
                "ticket": from.number,
                "from": [from.queue, from.state.as_str()],
                "to": [to.queue, to.state.as_str()],
            }),
            Action::QueueCall {
                ticket,
                agent,
                number,
            } => json!({"ticket": ticket, "agent": agent, "number": number}),
            Action::FileAgentMail {
                ticket,
                event,
                agent,
                note,
            } => json!({"ticket": ticket.number, "event": event, "agent": agent, "note": note}),
            Action::Change {
                ticket,
                change,
                detail,
                n,
            } => json!({
                "ticket": ticket.number,
                "event": change.event(),
                "value": change.value(),
                "detail": detail,
                "n": n,
            }),
            Action::HoldAnswer {
                ticket,
                mail,
                problems,
            } => json!({"ticket": ticket.number, "agent": mail.address, "problems": problems}),
            Action::NoteFiled { agent } => json!({ "agent": agent }),
            Action::AnswerFind { ticket, mail, text } => {
                json!({"ticket": ticket.number, "agent": mail.address, "text": text})
            }
            Action::RelayAnswer {
                ticket,
                mail,
                to,
                cc,
                response,
                ..
            } => json!({
                "ticket": ticket.number,
                "agent": mail.address,
                "to": to,
                "cc": cc,
                "response": response.is_some(),
            }),
        };
        v.as_object_mut()
            .expect("an object")
            .insert("action".into(), json!(self.name()));
        v
    }

    /// The action in words, for `explain`'s text form.
    pub fn words(&self) -> String {
        match self {
            Action::Duplicate { ticket: Some(t) } => {
                format!("nothing filed: a duplicate of an article of ticket {t}")
            }
            Action::Duplicate { ticket: None } => {
                "nothing filed: a duplicate of a quarantined message".into()
            }
            Action::Quarantine { reason, .. } => format!("quarantine: {reason}"),
            Action::OpenTicket {
                queue,
                refers,
                customer,
            } => {
                let mut said = format!("open a ticket in {queue}");
                if let Some(c) = customer_words(customer) {
                    said = format!("{said} {c}");
                }
                match refers {
                    Some((n, why)) => format!("{said}, referring to {n} ({})", why.as_str()),
                    None => said,
                }
            }
            Action::Reopen { ticket } => format!("reopen ticket {}", ticket.number),
            Action::FileArticle {
                ticket,
                event,
                stranger,
                ..
            } => format!(
                "file the message in {} ({event}{})",
                ticket.words(),
                if *stranger { ", from a stranger" } else { "" }
            ),
            Action::FileFax { ticket } => format!("file the fax's PDF in {}", ticket.words()),
            Action::SetAttribute {
                ticket,
                attribute,
                cause,
            } => {
                let (name, value) = attribute_parts(attribute);
                format!("set {name} of {} to {value} ({cause})", ticket.words())
            }
            Action::RecordEvent { ticket, note } => match note {
                Note::RecipientsNotAdded(s) => format!("record on {}: {s}", ticket.words()),
                n => format!("record on {}: {}", ticket.words(), n.event()),
            },
            Action::Autorespond { kind, to, .. } => format!("autoresponse {kind} to {to}"),
            Action::AutoresponseSuppressed { kind, reason, .. } => {
                format!("no autoresponse {kind}: {reason}")
            }
            Action::RejectReply { to, text } => format!("reject reply to {to}, saying: {text}"),
            Action::Notify {
                agents,
                style,
                warnings,
                ..
            } => {
                let to: Vec<&str> = agents.iter().map(|a| a.address.as_str()).collect();
                let whom = match style {
                    NoticeStyle::Pointer => "one pointer to",
                    NoticeStyle::Copy => "a copy to each of",
                    NoticeStyle::Digest => "in the next digest of",
                };
                let mut s = format!("agents told: {whom} {}", to.join(", "));
                for w in warnings {
                    s.push_str(&format!("; saying: {w}"));
                }
                s
            }
            Action::NoticeSuppressed { reason, .. } => format!("notice held back: {reason}"),
            Action::AnswerRequest {
                queue, command, to, ..
            } => match to {
                Ok(to) => format!("answer the request #{} to {queue}, to {to}", command.name()),
                Err(why) => format!(
                    "the request #{} to {queue} is not answered: {why}",
                    command.name()
                ),
            },
            Action::Move { from, to } => format!(
                "move ticket {} from {} ({}) to {} ({})",
                from.number,
                from.queue,
                from.state.as_str(),
                to.queue,
                to.state.as_str()
            ),
            Action::QueueCall { agent, number, .. } if number.is_empty() => {
                format!("queue a call to the customer's number for {agent}")
            }
            Action::QueueCall { agent, number, .. } => {
                format!("queue a call to {number} for {agent}")
            }
            Action::FileAgentMail {
                ticket,
                event,
                agent,
                ..
            } => format!("file {agent}'s mail in ticket {} ({event})", ticket.number),
            Action::Change { change, detail, .. } => format!("{} {detail}", change.event()),
            Action::HoldAnswer { problems, .. } => {
                format!("hold the answer back: {}", problems.join("; "))
            }
            Action::NoteFiled { agent } => format!("note by {agent}"),
            Action::AnswerFind { text, .. } => format!("answer #find {text}"),
            Action::RelayAnswer { mail, to, cc, .. } => {
                format!("relay {}'s answer to {}", mail.name, recipients(to, cc))
            }
        }
    }

    /// What the mail log's `out` says of the action, where it sends, holds back or changes
    /// something (a customer's request and an agent's `#find` say it when carried out).
    pub fn said(&self) -> Option<String> {
        let list = |agents: &[Mailbox]| {
            (agents.iter())
                .map(|a| a.address.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Action::Autorespond { kind, to, .. } => {
                Some(format!("autoresponse {kind} queued to {to}"))
            }
            Action::AutoresponseSuppressed {
                ticket: Some(_),
                reason,
                ..
            } => Some(format!("autoresponse suppressed: {reason}")),
            Action::AutoresponseSuppressed {
                ticket: None,
                reason,
                ..
            } => Some(format!("reject reply suppressed: {reason}")),
            Action::RejectReply { to, .. } => Some(format!("reject reply queued to {to}")),
            Action::RecordEvent {
                note: Note::RecipientsNotAdded(s),
                ..
            } => Some(s.clone()),
            Action::Notify {
                agents,
                style: NoticeStyle::Digest,
                ..
            } => Some(format!(
                "agents notified in the next digest ({})",
                list(agents)
            )),
            Action::Notify { agents, .. } => Some(format!("agents notified ({})", list(agents))),
            Action::NoticeSuppressed { reason, .. } => {
                Some(format!("notification suppressed: {reason}"))
            }
            Action::RecordEvent {
                note: Note::AgentAutomatic(_),
                ..
            } => Some("automatic mail from an agent: filed as a note".into()),
            Action::Change { change, detail, .. } => Some(format!("{} {detail}", change.event())),
            Action::HoldAnswer { problems, .. } => {
                Some(format!("answer held: {}", problems.join("; ")))
            }
            Action::NoteFiled { agent } => Some(format!("note by {agent}")),
            Action::AnswerRequest { answer, to, .. } => Some(match to {
                Ok(to) => format!("answered to {to}: {}", answer.reply.summary()),
                Err(why) => format!("not answered: {why}"),
            }),
            Action::RelayAnswer { mail, to, cc, .. } => Some(format!(
                "answer by {} queued to {}",
                mail.name,
                recipients(to, cc)
            )),
            _ => None,
        }
    }
}

/// An answer's recipients as one list: the customer first, then the copies.
fn recipients(to: &str, cc: &[String]) -> String {
    std::iter::once(to)
        .chain(cc.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(", ")
}
