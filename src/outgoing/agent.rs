//! Is a message an agent's answer or note? Only when it is addressed to a ticket's reply address
//! *and* comes from a configured agent. The reply address (`support+NUMBER-MAC@`, a note:
//! `support+NUMBER-note-MAC@`) carries a MAC under our key, and postdesk hands it out only to
//! agents: in the stored articles Dovecot serves them and in their notifications. So a mail that
//! merely claims an agent's From address cannot relay or command (it lacks the MAC), and a leaked
//! reply address alone does not make a stranger an agent (the From must be an agent's too).

use crate::config::Agent;
use crate::facts::Facts;
use crate::outgoing::msgid::{ReplyCheck, Signer};
use crate::route::base_address;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentMail {
    pub number: String,
    /// Written to the note address: filed, never sent.
    pub note: bool,
    pub name: String,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detected {
    /// No reply address among the recipients.
    None,
    Agent(AgentMail),
    /// A valid reply address, but the sender is not an agent: handled as customer mail.
    NotAnAgent {
        number: String,
        from: String,
    },
    /// An agent writing to a ticket of a queue that is not theirs: handled as customer mail.
    OtherQueue {
        number: String,
        agent: String,
        queue: String,
    },
    /// A reply address whose MAC does not verify: handled as customer mail.
    Forged {
        number: String,
    },
}

impl Detected {
    /// The sentence `explain` and the plan show, if any.
    pub fn step(&self) -> Option<String> {
        match self {
            Detected::None => None,
            Detected::Agent(a) => Some(format!(
                "addressed to the {} address of ticket {} (verified) by agent {}",
                if a.note { "note" } else { "reply" },
                a.number,
                a.name
            )),
            Detected::NotAnAgent { number, from } => Some(format!(
                "addressed to the reply address of ticket {number}, but {from} is not an agent: handled as customer mail"
            )),
            Detected::OtherQueue {
                number,
                agent,
                queue,
            } => Some(format!(
                "agent {agent} wrote to ticket {number}, but queue {queue} is not one of theirs: handled as customer mail"
            )),
            Detected::Forged { number } => Some(format!(
                "addressed to a forged reply address for ticket {number}: handled as customer mail"
            )),
        }
    }
}

pub fn detect(facts: &Facts, signer: &Signer, agents: &[Agent]) -> Detected {
    let mut found = Detected::None;
    for addr in facts.recipients() {
        match signer.parse_reply_address(addr) {
            ReplyCheck::Valid(target) => {
                let from = facts
                    .from
                    .as_ref()
                    .map(|m| base_address(&m.address))
                    .unwrap_or_default();
                return match agents.iter().find(|a| a.address == from) {
                    Some(a) => Detected::Agent(AgentMail {
                        number: target.number,
                        note: target.note,
                        name: a.name.clone(),
                        address: a.address.clone(),
                    }),
                    None => Detected::NotAnAgent {
                        number: target.number,
                        from,
                    },
                };
            }
            ReplyCheck::Forged { number } => {
                if found == Detected::None {
                    found = Detected::Forged { number };
                }
            }
            ReplyCheck::NotReply => {}
        }
    }
    found
}
