//! What an event-log line that carries a value sets on its ticket: an attribute (`owner`,
//! `priority`, `pending`, `customer-id`, `sla`), the customer address (`customer`), a participant
//! an agent accepted or removed (`cc`, valued `+a@x` or `-a@x`), or the article a service level's
//! warning or breach flagged (`sla-warning`, `sla-breach`, valued with its file; `sla-met`
//! unflags what the ticket's escalations flagged). Intake applies a line when it
//! records it, `reindex` when it replays the event log, so both arrive at the same ticket.

use crate::index::{self, Accepted, Attribute, Tx};

/// The `cc` line's value for a change.
pub fn cc_value(address: &str, added: bool) -> String {
    format!("{}{address}", if added { '+' } else { '-' })
}

/// Applies what the line `event` with `value`, recorded at `at`, sets on ticket `number`.
/// Events without such an effect change nothing.
pub fn apply(tx: &Tx, number: &str, event: &str, value: &str, at: &str) -> index::Result<()> {
    let attribute = match event {
        "owner" => Attribute::Owner(value.to_string()),
        "priority" => Attribute::Priority(value.to_string()),
        "pending" => Attribute::Pending(value.to_string()),
        "customer-id" => Attribute::CustomerId(value.to_string()),
        "sla" => Attribute::Sla(value.to_string()),
        "sla-warning" | "sla-breach" if !value.is_empty() => {
            return tx.want_flag(number, value, true);
        }
        "sla-met" => return tx.unflag_ticket(number).map(drop),
        "customer" => {
            tx.set_customer(number, value, at)?;
            return tx.add_participant(number, value);
        }
        "cc" => {
            let (added, address) = match value.split_at_checked(1) {
                Some(("+", a)) => (true, a),
                Some(("-", a)) => (false, a),
                _ => return Ok(()),
            };
            let change = Accepted {
                address: address.to_string(),
                added,
                at: at.to_string(),
            };
            tx.set_accepted(number, &change)?;
            return if added {
                tx.add_participant(number, address)
            } else {
                Ok(())
            };
        }
        _ => return Ok(()),
    };
    tx.set_attribute(number, &attribute, at)
}
