//! What an agent's mail command sets on a ticket, typed from the command to the index: the
//! event-log line it is recorded as (its event name and value) and its effect on the index's
//! rows, which `attributes::apply` also reaches when it replays such a line.

use crate::index::{self, Accepted, Attribute, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The dialler is to call a number (`#call`), placed after the commit.
    CallRequested,
    /// The ticket closed; its folder is renamed by the caller.
    Closed,
    /// The ticket moved to another queue; its folder is renamed by the caller.
    Moved,
    /// The owning agent, by name.
    Owner(String),
    Priority(String),
    /// Pending until a date, or a date and time (`2026-07-01 14:00`).
    Pending(String),
    /// A service level's name; empty: the service's or the queue's again.
    Sla(String),
    /// The customer's address.
    Customer(String),
    /// A participant accepted (or removed) for answers.
    Cc {
        address: String,
        added: bool,
    },
}

impl Change {
    /// The event of its event-log line.
    pub fn event(&self) -> &'static str {
        match self {
            Change::CallRequested => "call-requested",
            Change::Closed => "closed",
            Change::Moved => "moved",
            Change::Owner(_) => "owner",
            Change::Priority(_) => "priority",
            Change::Pending(_) => "pending",
            Change::Sla(_) => "sla",
            Change::Customer(_) => "customer",
            Change::Cc { .. } => "cc",
        }
    }

    /// The value of its event-log line: what `reindex` sets again from it.
    pub fn value(&self) -> Option<String> {
        match self {
            Change::CallRequested | Change::Closed | Change::Moved => None,
            Change::Owner(v)
            | Change::Priority(v)
            | Change::Pending(v)
            | Change::Sla(v)
            | Change::Customer(v) => Some(v.clone()),
            Change::Cc { address, added } => Some(cc_value(address, *added)),
        }
    }

    /// The change an event-log line with a value records, if it is one of these.
    pub fn from_line(event: &str, value: &str) -> Option<Change> {
        let v = value.to_string();
        Some(match event {
            "owner" => Change::Owner(v),
            "priority" => Change::Priority(v),
            "pending" => Change::Pending(v),
            "sla" => Change::Sla(v),
            "customer" => Change::Customer(v),
            "cc" => match value.split_at_checked(1) {
                Some(("+", a)) => Change::Cc {
                    address: a.to_string(),
                    added: true,
                },
                Some(("-", a)) => Change::Cc {
                    address: a.to_string(),
                    added: false,
                },
                _ => return None,
            },
            _ => return None,
        })
    }

    /// Sets what it sets on ticket `number` in the index, as of `at`. State and queue are the
    /// folder's and the ticket row's, changed by whoever renames the folder; a call is queued
    /// by intake.
    pub fn apply(&self, tx: &Tx, number: &str, at: &str) -> index::Result<()> {
        let attribute = match self {
            Change::CallRequested | Change::Closed | Change::Moved => return Ok(()),
            Change::Owner(v) => Attribute::Owner(v.clone()),
            Change::Priority(v) => Attribute::Priority(v.clone()),
            Change::Pending(v) => Attribute::Pending(v.clone()),
            Change::Sla(v) => Attribute::Sla(v.clone()),
            Change::Customer(v) => {
                tx.set_customer(number, v, at)?;
                return tx.add_participant(number, v);
            }
            Change::Cc { address, added } => {
                let change = Accepted {
                    address: address.clone(),
                    added: *added,
                    at: at.to_string(),
                };
                tx.set_accepted(number, &change)?;
                return match added {
                    true => tx.add_participant(number, address),
                    false => Ok(()),
                };
            }
        };
        tx.set_attribute(number, &attribute, at)
    }
}

/// The `cc` line's value for a change.
pub fn cc_value(address: &str, added: bool) -> String {
    format!("{}{address}", if added { '+' } else { '-' })
}

#[cfg(test)]
mod tests {
    use super::Change;

    #[test]
    fn a_change_with_a_value_reads_back_from_its_line() {
        let all = [
            Change::Owner("Alice Agent".into()),
            Change::Priority("high".into()),
            Change::Pending("2026-07-01 14:00".into()),
            Change::Sla(String::new()),
            Change::Sla("gold".into()),
            Change::Customer("jane@example.org".into()),
            Change::Cc {
                address: "a@example.org".into(),
                added: true,
            },
            Change::Cc {
                address: "b@example.org".into(),
                added: false,
            },
        ];
        for c in all {
            let v = c.value().expect("has a value");
            assert_eq!(Change::from_line(c.event(), &v), Some(c.clone()), "{c:?}");
        }
        for c in [Change::Closed, Change::Moved, Change::CallRequested] {
            assert_eq!(c.value(), None);
            assert_eq!(Change::from_line(c.event(), ""), None);
        }
        assert_eq!(Change::from_line("cc", "a@example.org"), None);
    }
}
