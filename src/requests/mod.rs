//! Customers asking by mail: a mail to a queue address whose first line is `#tickets`,
//! `#status NUMBER` or `#history NUMBER` (German `#vorgänge`, `#status`, `#verlauf`) is a
//! request, answered from the queue's address and not filed as a ticket.
//!
//! `command` reads the request (pure), `answer` decides what the sender may see and gathers it
//! (through `index::Records`, in the batch's transaction or read-only for `explain`). Intake
//! stores the request and the answer as one batch (`intake::request`).

mod answer;
mod command;

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

pub use crate::config::requests::{RequestsConfig, UnknownSender};

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
