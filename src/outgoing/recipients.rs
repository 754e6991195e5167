//! Who receives an agent's answer. Only the ticket's customer (the answer address of the mail
//! that opened the ticket, or the address an agent set with `#customer`) and the people an agent
//! accepted (whom an agent's own answer named in To or Cc, now or before, or added with `#cc`,
//! unless a later `#cc -address` removed them) — never an address a follow-up brought along: a
//! Reply-To or Cc in an incoming mail is the sender's wish, and the sender may be a stranger or a
//! forger. Pure: the caller reads the opening article, the agents' earlier answers and their
//! commands from the index, which `reindex` rebuilds from the stored articles and the event log,
//! so the recipients after a rebuild are the same.

use crate::facts::{Facts, Mailbox};
use crate::index::{Accepted, AnswerParties};
use crate::route::base_address;

/// The recipients of one answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recipients {
    /// The customer, if the ticket has an address to answer.
    pub to: Option<String>,
    /// The customer's name for the greeting; never an agent's.
    pub name: Option<String>,
    /// Participants an agent accepted.
    pub cc: Vec<String>,
}

/// What an answer's recipients are made of.
pub struct Parties<'a> {
    /// The opening article: its From as stored (`Name <addr>`) and its answer address.
    pub opening: Option<(&'a str, Option<&'a str>)>,
    /// The customer address an agent set (`#customer`), which replaces the opener's.
    pub customer: Option<&'a str>,
    /// The times and To and Cc lists (`Name <a>, b`) of the agents' earlier answers.
    pub accepted_before: &'a [(String, String)],
    /// `#cc` changes, oldest first: those stored for the ticket, then this mail's.
    pub cc: &'a [Accepted],
    /// The agent's mail being relayed.
    pub answer: &'a Facts,
    /// Our own addresses and the agents': never recipients of an answer.
    pub own: &'a [String],
    pub agents: &'a [String],
}

impl<'a> Parties<'a> {
    /// The parties the index recorded for a ticket, for `answer`.
    pub fn of(
        p: &'a AnswerParties,
        cc: &'a [Accepted],
        answer: &'a Facts,
        own: &'a [String],
        agents: &'a [String],
    ) -> Parties<'a> {
        Parties {
            opening: p
                .opening
                .as_ref()
                .map(|(from, reply)| (from.as_str(), reply.as_deref())),
            customer: p.customer.as_deref(),
            accepted_before: &p.accepted,
            cc,
            answer,
            own,
            agents,
        }
    }
}

/// Who an answer without To or Cc of its own would go to now: the customer, then the accepted
/// participants.
pub fn receiving(p: &AnswerParties, own: &[String], agents: &[String]) -> Vec<String> {
    let nobody = Facts::default();
    let r = answer(&Parties::of(p, &p.cc, &nobody, own, agents));
    r.to.into_iter().chain(r.cc).collect()
}

pub fn answer(p: &Parties) -> Recipients {
    let ours = |a: &str| {
        let b = base_address(a);
        !b.contains('@') || p.own.contains(&b) || p.agents.contains(&b)
    };
    let mut r = Recipients::default();
    if let Some(address) = p.customer.filter(|a| !ours(a)) {
        r.to = Some(address.to_string());
        // The opener's name greets the set customer only when it is the same address.
        if let Some((from, _)) = p.opening {
            let shown = parse_display(from);
            if base_address(&shown.address) == base_address(address) {
                r.name = shown.name;
            }
        }
    } else if let Some((from, reply)) = p.opening {
        let shown = parse_display(from);
        let address = reply
            .map(str::to_string)
            .unwrap_or_else(|| shown.address.clone());
        if !ours(&address) {
            // The greeting names the opener only when the answer goes to the opener.
            if base_address(&shown.address) == base_address(&address) {
                r.name = shown.name;
            }
            r.to = Some(address);
        }
    }
    // The latest `#cc` change of an address: a removal drops it from answers named before it.
    let last_change = |b: &str| p.cc.iter().rev().find(|c| base_address(&c.address) == b);
    let earlier = p.accepted_before.iter().flat_map(|(at, list)| {
        split_list(list)
            .into_iter()
            .filter(move |m| match last_change(&base_address(&m.address)) {
                Some(c) if !c.added => at.as_str() >= c.at.as_str(),
                _ => true,
            })
    });
    let added =
        p.cc.iter()
            .filter(|c| c.added && last_change(&base_address(&c.address)) == Some(c))
            .map(|c| Mailbox::new(&c.address));
    // This answer's own To and Cc: the agent addressed it so.
    let now = p.answer.to.iter().chain(p.answer.cc.iter()).cloned();
    for m in earlier.chain(added).chain(now) {
        let b = base_address(&m.address);
        if ours(&m.address)
            || r.to.as_deref().map(base_address) == Some(b.clone())
            || r.cc.iter().any(|c| base_address(c) == b)
        {
            continue;
        }
        r.cc.push(m.address);
    }
    r
}

/// The addresses a customer's follow-up names (Reply-To, To, Cc) besides those that receive
/// answers already (`receiving`) and our own: they would have received answers if a follow-up
/// could add recipients. `explain` and the agents' notice show them, so an agent can add them
/// on purpose.
pub fn wanted(
    facts: &Facts,
    receiving: &[String],
    own: &[String],
    agents: &[String],
) -> Vec<String> {
    let receiving: Vec<String> = receiving.iter().map(|a| base_address(a)).collect();
    let mut out: Vec<String> = Vec::new();
    let named = facts
        .author()
        .into_iter()
        .chain(facts.reply_to.iter())
        .chain(facts.to.iter())
        .chain(facts.cc.iter());
    for m in named {
        let b = base_address(&m.address);
        if !b.contains('@')
            || own.contains(&b)
            || agents.contains(&b)
            || receiving.contains(&b)
            || out.contains(&b)
        {
            continue;
        }
        out.push(b);
    }
    out
}

/// The sentence `explain`, the history and the agents' notice show for [`wanted`].
pub fn wanted_sentence(wanted: &[String]) -> Option<String> {
    (!wanted.is_empty()).then(|| {
        format!(
            "this follow-up names {} besides the ticket's customer; not added as recipients of answers (an agent adds people with #cc or by naming them in an answer's Cc)",
            wanted.join(", ")
        )
    })
}

/// "Name <addr>" or "addr", as the index stores a sender.
pub fn parse_display(s: &str) -> Mailbox {
    match (s.rfind('<'), s.rfind('>')) {
        (Some(l), Some(r)) if l < r => Mailbox {
            name: Some(s[..l].trim().trim_matches('"').to_string()).filter(|n| !n.is_empty()),
            address: s[l + 1..r].trim().to_ascii_lowercase(),
        },
        _ => Mailbox::new(s),
    }
}

/// A list as the index stores it (`Name <a>, b`): split at commas outside quotes and brackets.
fn split_list(s: &str) -> Vec<Mailbox> {
    let (mut out, mut cur, mut quoted, mut angle) = (Vec::new(), String::new(), false, false);
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.iter()
        .map(|p| parse_display(p.trim()))
        .filter(|m| m.address.contains('@'))
        .collect()
}

#[cfg(test)]
mod tests;
