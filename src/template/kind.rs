//! The mails a queue switches on and off in `[autoresponse]`: four acknowledgements of a
//! customer's mail, the answer to mail for a closed ticket, and the agents' notice and digest. Each is a
//! template every language a queue uses must have, and a switch; the compiler checks that a new
//! one gets both.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    NewTicket,
    FollowUp,
    Reopened,
    /// A new ticket opened by mail that referred to a closed one.
    ClosedNew,
    /// Mail for a closed ticket the queue does not reopen.
    Reject,
    AgentNotify,
    /// The agents' notices collected into one mail per agent (`agent-notice = "digest"`),
    /// switched with `agent-notify`.
    AgentDigest,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::NewTicket,
        Kind::FollowUp,
        Kind::Reopened,
        Kind::ClosedNew,
        Kind::Reject,
        Kind::AgentNotify,
        Kind::AgentDigest,
    ];

    /// The template's file name and the switch's key.
    pub fn name(self) -> &'static str {
        match self {
            Kind::NewTicket => "new-ticket",
            Kind::FollowUp => "follow-up",
            Kind::Reopened => "reopened",
            Kind::ClosedNew => "closed-new",
            Kind::Reject => "reject",
            Kind::AgentNotify => "agent-notify",
            Kind::AgentDigest => "agent-digest",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_name(k.name()), Some(k));
        }
        assert_eq!(Kind::from_name("sla-warning"), None);
    }

    #[test]
    fn each_is_a_template_file_with_a_subject() {
        for k in Kind::ALL {
            assert!(
                super::super::source::WITH_SUBJECT.contains(&k.name()),
                "{k}"
            );
        }
    }
}
