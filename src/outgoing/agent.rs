//! Is a message an agent's answer or note? Only when it is addressed to a ticket's reply address
//! *and* comes from a configured agent, *and*, where the site asks for it, carries the site's
//! proof that the agent sent it (`proof`). The reply address (`support+NUMBER-MAC@`, a note:
//! `support+NUMBER-note-MAC@`) carries a MAC under our key, and postdesk hands it out only to
//! agents: in each agent's own notices, bound to that agent (it works only with their From), and
//! in the stored articles all of a queue's agents read (the queue's shared form, which works with
//! any of the queue's agents' From). So a mail that merely claims an agent's From address cannot
//! relay or command (it lacks the MAC), and a leaked reply address alone does not make a
//! stranger an agent (the From must be an agent's too, and the right agent's for an agent's own).

use crate::config::Agent;
use crate::facts::Facts;
use crate::outgoing::msgid::{ReplyCheck, Signer};
use crate::outgoing::proof::{self, Claimed, Proof, ProofConfig};
use crate::route::base_address;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentMail {
    pub number: String,
    /// Written to the note address: filed, never sent.
    pub note: bool,
    pub name: String,
    pub address: String,
    /// Whether the address was the agent's own (bound to them) or the queue's shared one.
    pub own_address: bool,
    /// What proved the mail the agent's, when the site requires proof.
    pub proof: Option<String>,
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
        /// The agent whose own address it is, if it is one.
        owner: Option<String>,
    },
    /// One agent's own reply address, from another agent's From: handled as customer mail.
    OtherAgents {
        number: String,
        owner: String,
        from: String,
    },
    /// An agent's From without the proof the site requires: handled as customer mail.
    Unproven {
        number: String,
        agent: String,
        reason: String,
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
                "addressed to {} {} address of ticket {} (verified) by agent {}{}",
                if a.own_address { "the agent's own" } else { "the queue's shared" },
                if a.note { "note" } else { "reply" },
                a.number,
                a.name,
                match &a.proof {
                    Some(p) => format!("; proven by {p}"),
                    None => String::new(),
                }
            )),
            Detected::NotAnAgent { number, from, owner } => Some(format!(
                "addressed to {} reply address of ticket {number}, but {from} is not an agent: handled as customer mail",
                match owner {
                    Some(o) => format!("agent {o}'s own"),
                    None => "the".to_string(),
                }
            )),
            Detected::OtherAgents { number, owner, from } => Some(format!(
                "addressed to agent {owner}'s own reply address of ticket {number}, but from {from}: handled as customer mail"
            )),
            Detected::Unproven { number, agent, reason } => Some(format!(
                "addressed to the reply address of ticket {number} from agent {agent}'s address, but {reason}: handled as customer mail"
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

/// Decides from the message alone; `now` (Unix seconds) says which retired keys still verify.
pub fn detect(
    facts: &Facts,
    signer: &Signer,
    agents: &[Agent],
    proof_cfg: &ProofConfig,
    now: i64,
) -> Detected {
    let addresses: Vec<String> = agents.iter().map(|a| a.address.clone()).collect();
    let name_of = |address: &str| {
        agents
            .iter()
            .find(|a| a.address == address)
            .map(|a| a.name.clone())
            .unwrap_or_else(|| address.to_string())
    };
    let mut found = Detected::None;
    for addr in facts.recipients() {
        match signer.parse_reply_address(addr, &addresses, now) {
            ReplyCheck::Valid(target) => {
                let from = facts
                    .from
                    .as_ref()
                    .map(|m| base_address(&m.address))
                    .unwrap_or_default();
                let Some(a) = agents.iter().find(|a| a.address == from) else {
                    return Detected::NotAnAgent {
                        number: target.number,
                        from,
                        owner: target.agent.as_deref().map(name_of),
                    };
                };
                if let Some(owner) = target.agent.as_deref().filter(|o| *o != a.address) {
                    return Detected::OtherAgents {
                        number: target.number,
                        owner: name_of(owner),
                        from,
                    };
                }
                let claimed = Claimed {
                    login: a.login(),
                    address: &a.address,
                };
                let proof = match proof::check(proof_cfg, &facts.trace_headers, &claimed) {
                    Proof::NotRequired => None,
                    Proof::Proven(p) => Some(p),
                    Proof::Missing(reason) => {
                        return Detected::Unproven {
                            number: target.number,
                            agent: a.name.clone(),
                            reason,
                        }
                    }
                };
                return Detected::Agent(AgentMail {
                    number: target.number,
                    note: target.note,
                    name: a.name.clone(),
                    address: a.address.clone(),
                    own_address: target.agent.is_some(),
                    proof,
                });
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
