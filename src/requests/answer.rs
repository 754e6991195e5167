//! What a request is answered with, and to whom. The reply goes only to the sender's address as
//! the directory has it: the message's From must be one of a person's addresses (never its
//! Reply-To, so a forged From makes postdesk write to the real customer, who did not ask). A
//! customer sees their own tickets, and their organisation's where the directory allows it; a
//! number that is not among them is answered exactly as a number that does not exist.

use super::{Command, RequestsConfig, UnknownSender};
use crate::directory::{Organisation, Person};
use crate::facts::Facts;
use crate::index::{self, Article, Records, Ticket, TicketFilter};

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Where it goes; `None`: nowhere (a sender the directory does not know, by default).
    pub to: Option<String>,
    pub person: Option<Person>,
    pub organisation: Option<Organisation>,
    pub reply: Reply,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `#tickets`: theirs (or their organisation's), most recently changed first.
    Tickets {
        tickets: Vec<Ticket>,
        organisation_wide: bool,
    },
    /// `#status`: one of their tickets.
    Status(Ticket),
    /// `#history`: one of their tickets and what a customer may read of it, oldest first.
    History(Ticket, Vec<Entry>),
    /// A number that is not one of their tickets, or none at all.
    NoTicket(String),
    /// The directory knows no person with the message's From address.
    UnknownSender,
}

impl Reply {
    /// The template it is written with.
    pub fn template(&self) -> &'static str {
        match self {
            Reply::Tickets { .. } => "request-tickets",
            Reply::Status(_) => "request-status",
            Reply::History(..) => "request-history",
            Reply::NoTicket(_) => "request-no-ticket",
            Reply::UnknownSender => "request-unknown-sender",
        }
    }

    /// One line for `explain`, the mail log and the stored request's reason.
    pub fn summary(&self) -> String {
        match self {
            Reply::Tickets {
                tickets,
                organisation_wide,
            } => format!(
                "{} ticket(s) of the {}",
                tickets.len(),
                if *organisation_wide {
                    "organisation"
                } else {
                    "customer"
                }
            ),
            Reply::Status(t) => format!("the state of ticket {}", t.number),
            Reply::History(t, e) => format!("{} message(s) of ticket {}", e.len(), t.number),
            Reply::NoTicket(n) => format!("no ticket {n:?} of theirs"),
            Reply::UnknownSender => "the directory does not know the sender".into(),
        }
    }
}

/// One message of a ticket's history as a customer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub article: Article,
    /// `customer` (their own mail) or `agent` (an answer sent to the customer).
    pub side: &'static str,
}

/// Decides the answer to `command` from the message's sender, reading the directory and the
/// tickets through `records`.
pub fn answer<R: Records>(
    records: &R,
    cfg: &RequestsConfig,
    facts: &Facts,
    command: &Command,
) -> index::Result<Answer> {
    let from = facts
        .from
        .as_ref()
        .map(|m| m.address.trim().to_ascii_lowercase())
        .filter(|a| a.contains('@'));
    let found = match &from {
        Some(a) => records.sender(a)?,
        None => index::Sender::default(),
    };
    let (Some(person), Some(from)) = (found.person, from) else {
        let to = match cfg.unknown_sender {
            UnknownSender::Answer => facts
                .from
                .as_ref()
                .map(|m| m.address.clone())
                .filter(|a| a.contains('@')),
            UnknownSender::Ignore => None,
        };
        return Ok(Answer {
            to,
            person: None,
            organisation: None,
            reply: Reply::UnknownSender,
        });
    };
    // The person was found by this address, so it is one of theirs: the directory's spelling.
    let to = person.mail.iter().find(|m| **m == from).cloned();
    let org = found.organisation;
    let wide = org.as_ref().filter(|o| o.customers_see_organisation);
    let reply = match command {
        Command::Tickets => {
            let mut tickets = records.records(&TicketFilter {
                person: Some(&person.id),
                address: Some(&from),
                ..TicketFilter::default()
            })?;
            if let Some(o) = wide {
                tickets.extend(records.records(&TicketFilter {
                    organisation: Some(&o.id),
                    ..TicketFilter::default()
                })?);
            }
            tickets.sort_by(|a, b| b.updated.cmp(&a.updated).then(a.number.cmp(&b.number)));
            tickets.dedup_by(|a, b| a.number == b.number);
            tickets.truncate(cfg.max_tickets);
            Reply::Tickets {
                tickets,
                organisation_wide: wide.is_some(),
            }
        }
        Command::Status(n) | Command::History(n) => {
            let ticket = match n.is_empty() {
                true => None,
                false => records.record(n)?,
            };
            match ticket.filter(|t| visible(t, &person, wide)) {
                None => Reply::NoTicket(n.clone()),
                Some(t) if matches!(command, Command::Status(_)) => Reply::Status(t),
                Some(t) => {
                    let mut entries = history(records.articles_of(&t.number)?, &person);
                    let skip = entries.len().saturating_sub(cfg.max_history);
                    entries.drain(..skip);
                    Reply::History(t, entries)
                }
            }
        }
    };
    Ok(Answer {
        to,
        person: Some(person),
        organisation: org,
        reply,
    })
}

/// Whether `person` may see ticket `t`: it is theirs (by the directory, or opened from one of
/// their addresses), or their organisation's and the organisation allows it.
pub fn visible(t: &Ticket, person: &Person, wide: Option<&Organisation>) -> bool {
    let address = customer_address(&t.customer);
    t.attribution.person.as_deref() == Some(person.id.as_str())
        || person.mail.contains(&address)
        || wide.is_some_and(|o| t.attribution.organisation.as_deref() == Some(o.id.as_str()))
}

/// The address in a ticket's `customer` (`Name <address>` or the address alone), lower-case.
fn customer_address(customer: &str) -> String {
    let c = customer.trim();
    let a = match (c.rfind('<'), c.ends_with('>')) {
        (Some(i), true) => &c[i + 1..c.len() - 1],
        _ => c,
    };
    a.trim().to_ascii_lowercase()
}

/// What a customer may read of a ticket: their own mail and the answers agents sent; never
/// agents' notes, notices to agents, automatic mail, or other people's mail.
pub fn history(articles: Vec<Article>, person: &Person) -> Vec<Entry> {
    articles
        .into_iter()
        .filter_map(|a| {
            let side = match (a.direction.as_str(), a.classification.as_str()) {
                ("in" | "phone", _) if person.mail.contains(&customer_address(&a.from)) => {
                    "customer"
                }
                ("out", "answer") => "agent",
                _ => return None,
            };
            Some(Entry { article: a, side })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(number: &str, customer: &str, person: Option<&str>, org: Option<&str>) -> Ticket {
        Ticket {
            number: number.into(),
            queue: "Support".into(),
            state: index::State::Open,
            subject: "s".into(),
            customer: customer.into(),
            created: "c".into(),
            updated: "u".into(),
            articles: 1,
            refers: None,
            owner: None,
            priority: "normal".into(),
            pending: None,
            customer_id: None,
            attribution: index::Attribution {
                person: person.map(Into::into),
                organisation: org.map(Into::into),
                service: None,
            },
            sla: None,
        }
    }

    fn maria() -> Person {
        Person {
            id: "mm".into(),
            mail: vec!["maria@acme.example".into()],
            ..Person::default()
        }
    }

    #[test]
    fn a_customer_sees_their_own_and_where_allowed_their_organisations() {
        let acme = Organisation {
            id: "acme".into(),
            customers_see_organisation: true,
            ..Organisation::default()
        };
        let p = maria();
        assert!(visible(&ticket("1", "x@y", Some("mm"), None), &p, None));
        assert!(visible(
            &ticket("2", "Maria <Maria@ACME.example>", None, None),
            &p,
            None
        ));
        let colleague = ticket("3", "bob@acme.example", Some("bob"), Some("acme"));
        assert!(!visible(&colleague, &p, None));
        assert!(visible(&colleague, &p, Some(&acme)));
        let other = ticket("4", "eve@globex.example", Some("eve"), Some("globex"));
        assert!(!visible(&other, &p, Some(&acme)));
    }

    #[test]
    fn the_history_holds_their_mail_and_agents_answers_only() {
        let art = |dir: &str, class: &str, from: &str| Article {
            ticket: "1".into(),
            seq: 0,
            file: "f".into(),
            message_id: None,
            digest: "d".into(),
            from: from.into(),
            author_header: None,
            to: String::new(),
            cc: String::new(),
            subject: "s".into(),
            date: None,
            received: "r".into(),
            direction: dir.into(),
            classification: class.into(),
            event: "e".into(),
            bounce_of: None,
            stranger: false,
            size: 1,
            attachments: Vec::new(),
            reply_addr: None,
        };
        let h = history(
            vec![
                art("in", "normal", "Maria <maria@acme.example>"),
                art("out", "autoresponse", "support@company.example"),
                art("out", "notification", "support@company.example"),
                art("agent", "normal", "alice@company.example"),
                art("out", "answer", "Support <support@company.example>"),
                art("in", "normal", "eve@other.example"),
                art("phone", "bulk", "Maria <maria@acme.example>"),
            ],
            &maria(),
        );
        let sides: Vec<&str> = h.iter().map(|e| e.side).collect();
        assert_eq!(sides, ["customer", "agent", "customer"]);
    }
}
