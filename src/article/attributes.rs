//! What an event-log line that carries a value sets on its ticket: an attribute (`owner`,
//! `priority`, `pending`, `customer-id`, `sla`), the customer address (`customer`), a participant
//! an agent accepted or removed (`cc`, valued `+a@x` or `-a@x`), or the article a service level's
//! warning or breach flagged (`sla-warning`, `sla-breach`, valued with its file; `sla-met`
//! unflags what the ticket's escalations flagged). Intake applies a line when it
//! records it, `reindex` when it replays the event log, so both arrive at the same ticket.

use super::change::Change;
use crate::index::{self, Attribute, Tx};

pub use super::change::cc_value;

/// Applies what the line `event` with `value`, recorded at `at`, sets on ticket `number`.
/// Events without such an effect change nothing.
pub fn apply(tx: &Tx, number: &str, event: &str, value: &str, at: &str) -> index::Result<()> {
    if let Some(change) = Change::from_line(event, value) {
        return change.apply(tx, number, at);
    }
    match event {
        "customer-id" => tx.set_attribute(number, &Attribute::CustomerId(value.to_string()), at),
        "sla-warning" | "sla-breach" if !value.is_empty() => tx.want_flag(number, value, true),
        "sla-met" => tx.unflag_ticket(number).map(drop),
        _ => Ok(()),
    }
}
