//! Customers asking by mail: a mail to a queue address whose first line is `#tickets`,
//! `#status NUMBER` or `#history NUMBER` (German `#vorgänge`, `#status`, `#verlauf`) is a
//! request, answered from the queue's address and not filed as a ticket.
//!
//! `command` reads the request (pure), `answer` decides what the sender may see and gathers it
//! (through `index::Records`, in the batch's transaction or read-only for `explain`). Intake
//! stores the request and the answer as one batch (`intake::request`).

mod answer;
mod command;

use serde::Deserialize;

pub use answer::{answer, Answer, Reply};

/// The templates answers are written with (`Reply::template`).
pub const TEMPLATES: &[&str] = &[
    "request-tickets",
    "request-status",
    "request-history",
    "request-no-ticket",
    "request-unknown-sender",
];
pub use command::{parse, Command};

/// `[customer-requests]` in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct RequestsConfig {
    /// Recognise requests at all (they need the directory: only its persons get answers).
    pub enabled: bool,
    /// What a sender the directory does not know gets.
    pub unknown_sender: UnknownSender,
    /// At most this many tickets in an answer to `#tickets` (the most recently changed).
    pub max_tickets: usize,
    /// At most this many articles in an answer to `#history` (the latest).
    pub max_history: usize,
}

impl Default for RequestsConfig {
    fn default() -> Self {
        RequestsConfig {
            enabled: true,
            unknown_sender: UnknownSender::Ignore,
            max_tickets: 50,
            max_history: 20,
        }
    }
}

impl RequestsConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.max_tickets == 0 || self.max_history == 0 {
            return Err("max-tickets and max-history must be at least 1".into());
        }
        Ok(())
    }
}

/// What a sender the directory does not know gets: nothing (the default: an answer to a forged
/// From would be backscatter), or a short answer that the address is not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnknownSender {
    Ignore,
    Answer,
}

/// Whether an answer may go to `to` at all, before the rate limits: the loop rules of every
/// automatic answer (nothing to automatic mail, to our own addresses, agents, or addresses
/// that do not read replies; nothing when a filter said no autoresponse). `Err`: why not.
pub fn may_answer(
    class: &crate::classify::Classification,
    suppressed_by_filter: Option<&str>,
    to: &str,
    own: &[String],
    agents: &[String],
) -> Result<(), String> {
    if class.kind.is_automatic() {
        let why = class.reasons.first().map(String::as_str).unwrap_or("");
        return Err(format!(
            "no answer to automatic mail ({}{}{why})",
            class.kind.as_str(),
            if why.is_empty() { "" } else { ": " }
        ));
    }
    if let Some(r) = suppressed_by_filter {
        return Err(format!("no answer: {r}"));
    }
    let base = crate::route::base_address(to);
    if own.contains(&base) || agents.contains(&base) {
        return Err(format!("no answer: {to} is our own or an agent's address"));
    }
    if crate::classify::rules::is_unanswerable(to) {
        return Err(format!("no answer: {to} does not read replies"));
    }
    Ok(())
}
