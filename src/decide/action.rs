//! What a plan does, step by step: the typed actions intake's executor carries out in order and
//! `explain` prints. Each says everything its execution needs that is a decision; what is only
//! made (a ticket's number, a mail's bytes, the time) is made when it is carried out.

use super::Why;
use crate::article::Change;
use crate::config::outgoing::NoticeStyle;
use crate::facts::Mailbox;
use crate::index::{Attribute, TicketParty, TicketRef};
use crate::outgoing::agent::AgentMail;
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
    /// Automatic mail from the agent (`.0`, an out-of-office?) filed as a note, not relayed.
    AgentAutomatic(String),
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
    /// Open a ticket in `queue` for `customer` (the directory's answer for the sender; see
    /// `decide::customer`). Its number is drawn when it is opened, as a row gets its id: from
    /// the scheme's counter, inside the transaction that opens it.
    OpenTicket {
        queue: String,
        refers: Option<(String, Why)>,
        customer: Box<super::customer::Customer>,
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
    /// A customer's request (`#tickets`, `#status`, `#history`) to `queue`, kept in the
    /// quarantine; `answer` what may be told, sent `to` the directory's address, or why not
    /// (the loop rules, the autoresponse rate limits).
    AnswerRequest {
        queue: String,
        command: crate::requests::Command,
        answer: Box<crate::requests::Answer>,
        to: Result<String, String>,
    },
    /// A ticket moved or closed by an agent's commands, before the agent's mail is filed in it.
    Move { from: TicketRef, to: TicketRef },
    /// A `#call` for the dialler, placed after the commit (never on intake's path); `number` as
    /// written, empty for the customer's.
    QueueCall {
        ticket: String,
        agent: String,
        number: String,
    },
    /// An agent's mail filed as written: `event` answer, note or answer-held; `note` when it
    /// is filed only.
    FileAgentMail {
        ticket: TicketRef,
        event: &'static str,
        agent: String,
        note: bool,
    },
    /// What an agent's command changes, with its event-log line's detail (`n`-th of the mail).
    Change {
        ticket: TicketRef,
        change: Change,
        detail: String,
        n: usize,
    },
    /// An agent's mail held back: nothing changed, nothing sent, the agent told why.
    HoldAnswer {
        ticket: TicketRef,
        mail: AgentMail,
        problems: Vec<String>,
    },
    /// An agent's note, filed only.
    NoteFiled { agent: String },
    /// `#find TEXT`: the agent answered with the tickets it finds.
    AnswerFind {
        ticket: TicketRef,
        mail: AgentMail,
        text: String,
    },
    /// An agent's answer relayed to the customer `to` and the participants agents accepted
    /// (`cc`) from the queue's address, a standard response's text above the agent's `body`;
    /// `name` and `party` greet the customer; `was` is the ticket as the mail found it.
    RelayAnswer {
        ticket: TicketRef,
        was: TicketRef,
        mail: AgentMail,
        to: String,
        cc: Vec<String>,
        name: Option<String>,
        party: Box<TicketParty>,
        response: Option<String>,
        body: String,
    },
}

impl Note {
    pub fn event(&self) -> &'static str {
        match self {
            Note::DuplicateIgnored => "duplicate-ignored",
            Note::Rejected => "rejected",
            Note::RecipientsNotAdded(_) => "recipients-not-added",
            Note::AgentAutomatic(_) => "answer-held",
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
            Action::Move { .. } => "move",
            Action::QueueCall { .. } => "queue-call",
            Action::FileAgentMail { .. } => "file-agent-mail",
            Action::Change { .. } => "change",
            Action::HoldAnswer { .. } => "hold-answer",
            Action::NoteFiled { .. } => "note-filed",
            Action::AnswerFind { .. } => "answer-find",
            Action::RelayAnswer { .. } => "relay-answer",
        }
    }
}
