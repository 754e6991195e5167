//! What a plan does, step by step: the typed actions intake's executor carries out in order and
//! `explain` prints. Each says everything its execution needs that is a decision; what is only
//! made (a ticket's number, a mail's bytes, the time) is made when it is carried out.

use serde_json::{json, Value};

use super::Why;
use crate::config::outgoing::NoticeStyle;
use crate::facts::Mailbox;
use crate::index::{Attribute, TicketRef};
use crate::template::{Event, Kind};

/// The ticket an action is about: the one the plan opens (its number is drawn when it is
/// opened), or one that exists, as it is when the action is carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Opened,
    Existing(TicketRef),
}

/// A line of a ticket's history that changes nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// The same message came again from another source.
    DuplicateIgnored,
    /// A follow-up the closed ticket's queue rejects, quarantined.
    Rejected,
    /// A follow-up named recipients who were not added (the sentence says whom).
    RecipientsNotAdded(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Seen before: nothing is filed.
    Duplicate { ticket: Option<String> },
    /// The message is kept in the quarantine, for the ticket it names if any.
    Quarantine {
        reason: String,
        ticket: Option<String>,
    },
    /// Open a ticket in `queue` (its customer the directory's, its number drawn now).
    OpenTicket {
        queue: String,
        refers: Option<(String, Why)>,
    },
    /// A closed ticket opened again.
    Reopen { ticket: TicketRef },
    /// The message filed as an article: `event` is created, follow-up, follow-up-closed or
    /// reopened.
    FileArticle {
        ticket: Target,
        event: &'static str,
        stranger: bool,
        refers: Option<(String, Why)>,
    },
    /// A fax's rendition (its PDF) filed beside it.
    FileFax { ticket: Target },
    /// An attribute a filter set.
    SetAttribute {
        ticket: Target,
        attribute: Attribute,
        cause: String,
    },
    /// A history line of the ticket.
    RecordEvent { ticket: Target, note: Note },
    /// The autoresponse `kind` to `to`, about `event`; `previous` is the closed ticket a new
    /// one follows, `reason` why a follow-up was rejected.
    Autorespond {
        ticket: Target,
        kind: Kind,
        to: String,
        event: Event,
        previous: Option<String>,
        reason: Option<String>,
    },
    /// No autoresponse, and why (recorded on the ticket's history when there is a ticket:
    /// none for the reply to a message a filter rejected).
    AutoresponseSuppressed {
        ticket: Option<Target>,
        kind: Kind,
        reason: String,
    },
    /// The reply to a message a filter rejected with `text`, stored beside it in the
    /// quarantine.
    RejectReply { to: String, text: String },
    /// The queue's agents told of `event` in `style`, with `warnings` (recipients not added, the
    /// sender's last notice for a while); counted against `sender`'s notice limit.
    Notify {
        ticket: Target,
        agents: Vec<Mailbox>,
        style: NoticeStyle,
        event: Event,
        sender: String,
        warnings: Vec<String>,
    },
    /// The agents are not told, and why (recorded on the ticket's history).
    NoticeSuppressed { ticket: Target, reason: String },
    /// A customer's request (`#tickets`, `#status`, `#history`) to `queue`, answered under the
    /// autoresponse rules and kept in the quarantine.
    AnswerRequest {
        queue: String,
        command: crate::requests::Command,
    },
    /// An agent's answer or note: its commands, the relay to the customer.
    Answer {
        ticket: TicketRef,
        mail: crate::outgoing::agent::AgentMail,
        automatic: bool,
    },
}

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

impl Note {
    pub fn event(&self) -> &'static str {
        match self {
            Note::DuplicateIgnored => "duplicate-ignored",
            Note::Rejected => "rejected",
            Note::RecipientsNotAdded(_) => "recipients-not-added",
        }
    }
}

impl Action {
    /// The action's name, as `explain --json` writes it.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Duplicate { .. } => "duplicate",
            Action::Quarantine { .. } => "quarantine",
            Action::OpenTicket { .. } => "open-ticket",
            Action::Reopen { .. } => "reopen",
            Action::FileArticle { .. } => "file-article",
            Action::FileFax { .. } => "file-fax",
            Action::SetAttribute { .. } => "set-attribute",
            Action::RecordEvent { .. } => "record-event",
            Action::Autorespond { .. } => "autorespond",
            Action::AutoresponseSuppressed { .. } => "autoresponse-suppressed",
            Action::RejectReply { .. } => "reject-reply",
            Action::Notify { .. } => "notify",
            Action::NoticeSuppressed { .. } => "notice-suppressed",
            Action::AnswerRequest { .. } => "answer-request",
            Action::Answer { .. } => "answer",
        }
    }

    /// The action as one JSON object: `action` its name, the rest its fields.
    pub fn json(&self) -> Value {
        let mut v = match self {
            Action::Duplicate { ticket } => json!({ "ticket": ticket }),
            Action::Quarantine { reason, ticket } => json!({"reason": reason, "ticket": ticket}),
            Action::OpenTicket { queue, refers } => {
                json!({"queue": queue, "refers": refers_json(refers)})
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
                    Note::RecipientsNotAdded(s) => Some(s),
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
            Action::AnswerRequest { queue, command } => {
                json!({"queue": queue, "command": command.name()})
            }
            Action::Answer {
                ticket,
                mail,
                automatic,
            } => json!({
                "ticket": ticket.number,
                "agent": mail.address,
                "note": mail.note,
                "automatic": automatic,
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
            Action::OpenTicket { queue, refers } => match refers {
                Some((n, why)) => {
                    format!(
                        "open a ticket in {queue}, referring to {n} ({})",
                        why.as_str()
                    )
                }
                None => format!("open a ticket in {queue}"),
            },
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
            Action::AnswerRequest { queue, command } => {
                format!("answer the request #{} to {queue}", command.name())
            }
            Action::Answer {
                ticket,
                mail,
                automatic,
            } => format!(
                "{} by agent {} to ticket {}{}",
                if mail.note || *automatic {
                    "note"
                } else {
                    "answer"
                },
                mail.name,
                ticket.number,
                if *automatic {
                    ": automatic mail from an agent is filed, not relayed, its commands not read"
                } else {
                    ""
                }
            ),
        }
    }

    /// What the mail log's `out` says of the action, where it sends or holds back mail (an
    /// agent's answer and a customer's request say it when carried out).
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
            _ => None,
        }
    }
}
