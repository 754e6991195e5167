//! The records the index speaks in. They serialise to the JSON shapes the CLI prints.

use serde::Serialize;

use crate::facts::Attachment;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Open,
    Closed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        match s {
            "open" => Some(State::Open),
            "closed" => Some(State::Closed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ticket {
    pub number: String,
    pub queue: String,
    pub state: State,
    pub subject: String,
    pub customer: String,
    pub created: String,
    pub updated: String,
    /// Number of articles.
    pub articles: u64,
    /// The ticket this one was opened in place of (a stranger's or a closed ticket's follow-up).
    pub refers: Option<String>,
    /// Set by agents' commands (`#owner`, `#priority`, `#pending`).
    pub owner: Option<String>,
    pub priority: String,
    pub pending: Option<String>,
    /// Set by a filter (`X-Postdesk-Customer-Id`).
    pub customer_id: Option<String>,
    /// Whom the ticket belongs to in the directory, decided when it was opened.
    #[serde(flatten)]
    pub attribution: Attribution,
    /// The service level an agent chose (`#sla`, `ticket sla`); `None`: the service's or queue's.
    pub sla: Option<String>,
}

/// Whom a ticket belongs to in the directory: the customer (a person's id), their
/// organisation's id and the service's name. `None`: not known when the ticket was opened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Attribution {
    pub person: Option<String>,
    pub organisation: Option<String>,
    pub service: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Article {
    pub ticket: String,
    /// Its place among the ticket's articles: assigned at commit (one more than the ticket's
    /// last), written into its trace block, so `reindex` reproduces it from the tree.
    pub seq: u64,
    /// Maildir base name of the article's file.
    pub file: String,
    pub message_id: Option<String>,
    pub digest: String,
    pub from: String,
    /// The header `from` was taken from: `From`, `Reply-To`, `Sender` or `Return-Path`; `None`
    /// when the message names no address at all.
    pub author_header: Option<String>,
    pub to: String,
    pub cc: String,
    pub subject: String,
    pub date: Option<String>,
    pub received: String,
    /// `in`, `out` or `note`.
    pub direction: String,
    pub classification: String,
    /// What filing it did to the ticket: created, follow-up, reopened, ...
    pub event: String,
    pub bounce_of: Option<String>,
    pub stranger: bool,
    pub size: u64,
    pub attachments: Vec<Attachment>,
    /// Where an answer to this article goes: its Reply-To, else its From (incoming mail only).
    pub reply_addr: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub ticket: String,
    pub at: String,
    pub event: String,
    pub detail: String,
}

/// What an earlier message with the same digest became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Duplicate {
    Article { ticket: String },
    Quarantined { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    pub file: String,
    pub digest: String,
    pub message_id: Option<String>,
    pub reason: String,
    pub received: String,
}

/// A ticket as the matcher needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRef {
    pub number: String,
    pub queue: String,
    pub state: State,
}
