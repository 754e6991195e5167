//! What a template can see: the `Context` tree handed to minijinja as data (never as template
//! source), and the sample values `postdesk check` renders every template against.
//!
//! Every field is documented for admins in `templates/README.md`; keep the two in step. An
//! `Option` that is `None` renders as nothing, but reading a field of it (`agent.name` when
//! there is no agent) is an error, so templates guard optional parts with `{% if agent %}`.

use serde::Serialize;

/// Everything a template may use. Serialised with serde; field names are the placeholder names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Context {
    pub ticket: Ticket,
    pub customer: Customer,
    /// The message this mail answers or reports: the customer's new ticket, follow-up, or the
    /// rejected message.
    pub article: Article,
    pub queue: Queue,
    /// The agent answering (salutation, signature, standard responses); `None` in autoresponses.
    pub agent: Option<Agent>,
    /// `closed-new`: the closed ticket the customer wrote to; always set there.
    pub previous: Option<Previous>,
    /// `reject`: why the message was not accepted, in the admin's words.
    pub reason: Option<String>,
    /// `agent-notify`: what happened.
    pub event: Event,
    /// The customer's organisation, when the directory knows it.
    pub organisation: Option<Organisation>,
    /// The service the ticket is for, when the directory names one.
    pub service: Option<Service>,
    /// `request-*`: what a customer asked for by mail and the answer's data; always set there.
    pub request: Option<Request>,
    /// `sla-warning`, `sla-breach`: the deadline the notice is about; always set there.
    pub deadline: Option<Deadline>,
    /// `pending-reminder`: the pending time that has come (as the agent wrote it); always set
    /// there.
    pub pending: Option<String>,
    /// `agent-digest`: the events the agent is told of; always set there.
    pub digest: Option<Digest>,
}

/// An agent's digest of notices: the customers' mail filed since the agent's last digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Digest {
    /// How many events it lists, over all its tickets.
    pub events: usize,
    /// At most one digest in this many minutes (`digest-minutes`).
    pub minutes: u32,
    /// More events wait than one digest lists: they come in the agent's next digest.
    pub more: bool,
    /// The tickets, the one with the newest event first.
    pub tickets: Vec<DigestTicket>,
}

/// A ticket in a digest, as it is when the digest is made, with its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DigestTicket {
    pub number: String,
    pub tag: String,
    /// The ticket's subject, without the tag.
    pub subject: String,
    pub queue: String,
    /// `open` or `closed`.
    pub state: String,
    /// Its folder as agents see it over IMAP, e.g. `Tickets/Support/2016010110000019`.
    pub folder: String,
    /// Newest first.
    pub events: Vec<DigestEvent>,
}

/// One customer's mail filed, in a digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DigestEvent {
    /// `created`, `follow-up` or `reopened`.
    pub event: Event,
    /// When it was filed, e.g. `2016-01-01 10:00 UTC`.
    pub at: String,
    /// The From header as received.
    pub from: String,
    pub subject: String,
    /// The first lines of the customer's text.
    pub excerpt: String,
    /// What else intake had to say (the sender's last notice today, recipients not added).
    pub notes: Vec<String>,
}

/// A service level's deadline, for the notices about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadline {
    /// The service level's name.
    pub sla: String,
    /// `first-response`, `update` or `solution`.
    pub clock: String,
    /// When it is due (or was), e.g. `2026-12-01 14:00 UTC`.
    pub due: String,
    /// The clock's business time, e.g. `4h`.
    pub target: String,
    /// Business time left before the breach (`0s` once breached), e.g. `48m`.
    pub left: String,
    /// Business time past the breach (`0s` before it).
    pub late: String,
}

/// A customer's request by mail (`#tickets`, `#status`, `#history`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request {
    /// `tickets`, `status` or `history`.
    pub command: String,
    /// The number asked for, as understood (digits; may be empty).
    pub number: String,
    /// `tickets`: the list includes the organisation's tickets.
    pub organisation_wide: bool,
    /// `tickets`: theirs, most recently changed first; `status`, `history`: the one ticket.
    pub tickets: Vec<ListedTicket>,
    /// `history`: the messages a customer may read, oldest first.
    pub history: Vec<HistoryEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedTicket {
    pub number: String,
    pub tag: String,
    pub subject: String,
    /// `open` or `closed`.
    pub state: String,
    pub queue: String,
    pub created: String,
    /// The last change.
    pub updated: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    pub at: String,
    /// `customer` (their own mail) or `agent` (an answer they were sent).
    pub side: String,
    /// The customer's name, or the queue's display name for an answer: never an agent's own
    /// address.
    pub from: String,
    pub subject: String,
    /// The message's text, plain, shortened when long.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ticket {
    /// Digits only, e.g. `2016010110000019`.
    pub number: String,
    /// The subject tag with brackets, e.g. `[Ticket#2016010110000019]`.
    pub tag: String,
    /// The ticket's subject without the tag.
    pub subject: String,
    pub queue: String,
    /// `open` or `closed`.
    pub state: String,
    /// When the ticket was opened, as the rest of postdesk prints it.
    pub created: String,
    pub priority: String,
    /// The agent who owns the ticket, if any.
    pub owner: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Customer {
    /// The directory's name for the customer, else the display name from the From header.
    pub name: Option<String>,
    pub address: String,
    /// The customer's id in the directory; `None` when the directory does not know them.
    pub id: Option<String>,
    /// From the directory, when it has them.
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The directory marks the customer as a VIP.
    pub vip: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organisation {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    pub name: String,
    /// The organisation's service level for it, as the directory names it (may be empty).
    pub sla: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Article {
    pub subject: String,
    /// The From header as received (display name and address).
    pub from: String,
    /// The Date header, if the message had a readable one.
    pub date: Option<String>,
    /// The customer's text, plain; quote it with `{{ article.body | quote }}`.
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Queue {
    pub name: String,
    /// The address customers write to; autoresponses come from it.
    pub address: String,
    /// The name shown to customers, e.g. "Company Support".
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agent {
    pub name: String,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Previous {
    pub number: String,
    pub tag: String,
}

/// What happened to the ticket, for `agent-notify`. Serialises as `created`, `follow-up` or
/// `reopened`, which is what templates compare `event` with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    Created,
    FollowUp,
    Reopened,
}

impl Event {
    pub const ALL: [Event; 3] = [Event::Created, Event::FollowUp, Event::Reopened];

    /// As templates see it and the index stores it.
    pub fn name(self) -> &'static str {
        match self {
            Event::Created => "created",
            Event::FollowUp => "follow-up",
            Event::Reopened => "reopened",
        }
    }

    pub fn from_name(name: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.name() == name)
    }
}

impl Context {
    /// Plausible values with every optional field set, so that every `{% if %}` branch that
    /// tests an optional value renders during `postdesk check`.
    pub fn sample() -> Context {
        Context {
            ticket: Ticket {
                number: "2016010110000019".into(),
                tag: "[Ticket#2016010110000019]".into(),
                subject: "Printer jams after the driver update".into(),
                queue: "Support".into(),
                state: "open".into(),
                created: "2016-01-01 10:00:00".into(),
                priority: "3 normal".into(),
                owner: Some("Jana Novak".into()),
            },
            customer: Customer {
                name: Some("Erika Mustermann".into()),
                address: "erika.mustermann@example.org".into(),
                id: Some("erika.mustermann@example.org".into()),
                first_name: Some("Erika".into()),
                last_name: Some("Mustermann".into()),
                vip: true,
            },
            article: Article {
                subject: "Printer jams after the driver update".into(),
                from: "Erika Mustermann <erika.mustermann@example.org>".into(),
                date: Some("Fri, 01 Jan 2016 09:58:12 +0100".into()),
                body: "Hello,\n\nmy debit card was blocked this morning at the cash machine.\n\
                       > Please unblock it.\n\nRegards\nErika Mustermann\n"
                    .into(),
            },
            queue: Queue {
                name: "Support".into(),
                address: "support@company.example".into(),
                display_name: "Company Support".into(),
            },
            agent: Some(Agent {
                name: "Jana Novak".into(),
                address: "jana.novak@company.example".into(),
            }),
            previous: Some(Previous {
                number: "2015122310000027".into(),
                tag: "[Ticket#2015122310000027]".into(),
            }),
            reason: Some("Closed tickets accept no further messages.".into()),
            event: Event::Created,
            organisation: Some(Organisation {
                id: "example".into(),
                name: "Example Ltd".into(),
            }),
            service: Some(Service {
                name: "Online Banking".into(),
                sla: "gold".into(),
            }),
            request: Some(Request::sample()),
            deadline: Some(Deadline {
                sla: "gold".into(),
                clock: "first-response".into(),
                due: "2016-01-01 14:00 UTC".into(),
                target: "4h".into(),
                left: "48m".into(),
                late: "0s".into(),
            }),
            pending: Some("2016-01-08 09:00".into()),
            digest: Some(Digest::sample()),
        }
    }

    /// `sample()` with every optional field `None`: what a template must also survive.
    pub fn sample_sparse() -> Context {
        let mut c = Context::sample();
        c.ticket.owner = None;
        c.customer.name = None;
        c.customer.id = None;
        c.customer.first_name = None;
        c.customer.last_name = None;
        c.customer.vip = false;
        c.organisation = None;
        c.service = None;
        c.request = None;
        c.article.date = None;
        c.agent = None;
        c.previous = None;
        c.reason = None;
        c.deadline = None;
        c.pending = None;
        c.digest = None;
        c
    }
}

impl Digest {
    fn sample() -> Digest {
        let event = |event, at: &str, subject: &str, excerpt: &str| DigestEvent {
            event,
            at: at.into(),
            from: "Erika Mustermann <erika.mustermann@example.org>".into(),
            subject: subject.into(),
            excerpt: excerpt.into(),
            notes: Vec::new(),
        };
        let mut reopened = event(
            Event::Reopened,
            "2016-01-02 09:30 UTC",
            "Re: [Ticket#2015122310000027] Card blocked",
            "It is blocked again.\n",
        );
        reopened.notes = vec![
            "This is the last notice about mail from erika.mustermann@example.org today.".into(),
        ];
        Digest {
            events: 3,
            minutes: 15,
            more: true,
            tickets: vec![
                DigestTicket {
                    number: "2015122310000027".into(),
                    tag: "[Ticket#2015122310000027]".into(),
                    subject: "Card blocked".into(),
                    queue: "Support".into(),
                    state: "open".into(),
                    folder: "Tickets/Support/2015122310000027".into(),
                    events: vec![reopened],
                },
                DigestTicket {
                    number: "2016010110000019".into(),
                    tag: "[Ticket#2016010110000019]".into(),
                    subject: "Printer jams after the driver update".into(),
                    queue: "Support".into(),
                    state: "open".into(),
                    folder: "Tickets/Support/2016010110000019".into(),
                    events: vec![
                        event(
                            Event::FollowUp,
                            "2016-01-01 10:20 UTC",
                            "Re: [Ticket#2016010110000019] Printer jams after the driver update",
                            "It jams with the old driver too.\n",
                        ),
                        event(
                            Event::Created,
                            "2016-01-01 10:00 UTC",
                            "Printer jams after the driver update",
                            "Hello,\n\nmy printer jams since this morning.\n",
                        ),
                    ],
                },
            ],
        }
    }
}

impl Request {
    fn sample() -> Request {
        let listed = |number: &str, subject: &str, state: &str| ListedTicket {
            number: number.into(),
            tag: format!("[Ticket#{number}]"),
            subject: subject.into(),
            state: state.into(),
            queue: "Support".into(),
            created: "2016-01-01 10:00:00".into(),
            updated: "2016-01-02 09:30:00".into(),
        };
        Request {
            command: "history".into(),
            number: "2016010110000019".into(),
            organisation_wide: true,
            tickets: vec![
                listed(
                    "2016010110000019",
                    "Printer jams after the driver update",
                    "open",
                ),
                listed("2015122310000027", "Card blocked", "closed"),
            ],
            history: vec![
                HistoryEntry {
                    at: "2016-01-01 10:00".into(),
                    side: "customer".into(),
                    from: "Erika Mustermann".into(),
                    subject: "Printer jams after the driver update".into(),
                    text: "My printer jams.\n".into(),
                },
                HistoryEntry {
                    at: "2016-01-01 11:00".into(),
                    side: "agent".into(),
                    from: "Company Support".into(),
                    subject: "Re: Printer jams".into(),
                    text: "Please install version 2.1.\n".into(),
                },
            ],
        }
    }
}
