//! Agents' digests (`agent-notice = "digest"`): when an agent's next digest is due, what it
//! lists (the events since the agent's last, grouped by ticket), and the mail. Intake records
//! the events (`intake::outbound`), the daemon's round makes and queues the digests
//! (`rounds::digest`); both commit in the index (`index::digest`).

use chrono::DateTime;

use super::build::{Mailer, OutMail};
use super::compose::{self, Address, Auto, Outgoing};
use crate::facts::Mailbox;
use crate::index::DigestEntry;
use crate::template::{Context, DigestEvent, DigestTicket, Event, Kind};

/// How much of the customer's text an event in a digest shows.
pub const EXCERPT_LINES: usize = 4;
pub const EXCERPT_CHARS: usize = 300;
/// Events one digest lists at most (about 150 KB of text): the rest wait for the agent's next.
pub const MAX_EVENTS: usize = 500;

/// When an agent's next digest is due (Unix seconds): as soon as an event waits, but not sooner
/// than `minutes` after the agent's last digest.
pub fn due(waiting_since: i64, sent: Option<i64>, minutes: u32) -> i64 {
    match sent {
        Some(sent) => waiting_since.max(sent.saturating_add(i64::from(minutes) * 60)),
        None => waiting_since,
    }
}

/// A ticket of a digest as it is when the digest is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub tag: String,
    /// The ticket's subject, without tag and reply prefixes.
    pub subject: String,
    pub queue: String,
    /// `open` or `closed`.
    pub state: String,
    /// Its folder as agents see it over IMAP.
    pub folder: String,
}

/// The events grouped by ticket: the ticket whose newest event is the newest first, each
/// ticket's events newest first. `place` says where each ticket is now.
pub fn group(
    entries: &[DigestEntry],
    mut place: impl FnMut(&DigestEntry) -> Place,
) -> Vec<DigestTicket> {
    let mut newest_first: Vec<&DigestEntry> = entries.iter().collect();
    newest_first.sort_by_key(|e| std::cmp::Reverse((e.at, e.id)));
    let mut tickets: Vec<DigestTicket> = Vec::new();
    for e in newest_first {
        let event = DigestEvent {
            event: Event::from_name(&e.event).unwrap_or(Event::FollowUp),
            at: show_time(e.at),
            from: e.from.clone(),
            subject: e.subject.clone(),
            excerpt: e.excerpt.clone(),
            notes: e.notes.lines().map(str::to_string).collect(),
        };
        match tickets.iter_mut().find(|t| t.number == e.ticket) {
            Some(t) => t.events.push(event),
            None => {
                let p = place(e);
                tickets.push(DigestTicket {
                    number: e.ticket.clone(),
                    tag: p.tag,
                    subject: p.subject,
                    queue: p.queue,
                    state: p.state,
                    folder: p.folder,
                    events: vec![event],
                });
            }
        }
    }
    tickets
}

/// An event's time as a digest shows it, e.g. `2016-01-01 10:00 UTC`.
pub fn show_time(at: i64) -> String {
    DateTime::from_timestamp(at, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M UTC")
        .to_string()
}

/// The queue most of `entries` are in; of several, the one of the newest entry among them.
pub fn speaking_queue(entries: &[DigestEntry]) -> &str {
    let mut counts: Vec<(&str, usize, (i64, i64))> = Vec::new();
    for e in entries {
        let newest = (e.at, e.id);
        match counts.iter_mut().find(|(q, ..)| *q == e.queue) {
            Some((_, n, latest)) => {
                *n += 1;
                *latest = (*latest).max(newest);
            }
            None => counts.push((&e.queue, 1, newest)),
        }
    }
    counts
        .into_iter()
        .max_by_key(|(_, n, latest)| (*n, *latest))
        .map_or("", |(q, ..)| q)
}

impl Mailer<'_> {
    /// An agent's digest (`ctx.digest` set) from `queue`'s address: automatic mail with no
    /// ticket's tag or reply address (agents answer in each ticket's folder). `None` when no
    /// language has the template.
    pub fn digest(
        &self,
        queue: &str,
        ctx: &Context,
        lang: &str,
        to: &Mailbox,
        rng: &mut impl rand::Rng,
    ) -> Result<Option<OutMail>, String> {
        let name = Kind::AgentDigest.name();
        let Some(rendered) = self
            .out
            .templates
            .render(name, lang, queue, ctx)
            .map_err(|e| e.to_string())?
        else {
            return Ok(None);
        };
        let from = self.sender(queue)?;
        let o = Outgoing {
            from,
            to: vec![Address {
                name: to.name.clone(),
                email: to.address.clone(),
            }],
            cc: Vec::new(),
            reply_to: None,
            subject: rendered.subject.unwrap_or_else(|| name.into()),
            message_id: self.out.signer.message_id("0", &self.out.domain, rng),
            in_reply_to: None,
            references: Vec::new(),
            date: self.date,
            auto: Auto::Generated,
            loop_value: self.cfg.general.loop_value.clone(),
            language: Some(lang.to_string()),
            extra: Vec::new(),
            body: rendered.body,
            attachments: Vec::new(),
        };
        Ok(Some(OutMail {
            kind: "notification",
            event: name.into(),
            bytes: compose::build(&o).map_err(|e| e.to_string())?,
            env_from: None,
            rcpts: vec![to.address.clone()],
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: i64, ticket: &str, event: &str, at: i64) -> DigestEntry {
        DigestEntry {
            id,
            ticket: ticket.into(),
            queue: "Support".into(),
            event: event.into(),
            from: "a@example.org".into(),
            subject: format!("subject {id}"),
            excerpt: "x".into(),
            notes: String::new(),
            at,
        }
    }

    #[test]
    fn the_first_digest_is_due_when_its_first_event_waits() {
        assert_eq!(due(1_000, None, 15), 1_000);
    }

    #[test]
    fn the_next_comes_an_interval_after_the_last_at_the_earliest() {
        // Events waiting since 100 s after the last digest: due 15 minutes after the last.
        assert_eq!(due(10_100, Some(10_000), 15), 10_900);
        // Waiting only since long after: due at once.
        assert_eq!(due(20_000, Some(10_000), 15), 20_000);
        assert_eq!(due(10_000 + 86_400, Some(10_000), 1440), 10_000 + 86_400);
        assert_eq!(due(10_001, Some(10_000), 1), 10_060);
    }

    #[test]
    fn events_are_grouped_by_ticket_newest_first() {
        let entries = [
            entry(1, "111", "created", 100),
            entry(2, "222", "created", 200),
            entry(3, "111", "follow-up", 300),
            entry(4, "333", "reopened", 250),
        ];
        let mut asked = Vec::new();
        let tickets = group(&entries, |e| {
            asked.push(e.ticket.clone());
            Place {
                tag: format!("[Ticket#{}]", e.ticket),
                subject: format!("ticket {}", e.ticket),
                queue: "Support".into(),
                state: if e.ticket == "222" { "closed" } else { "open" }.into(),
                folder: format!("Tickets/Support/{}", e.ticket),
            }
        });
        let order: Vec<&str> = tickets.iter().map(|t| t.number.as_str()).collect();
        assert_eq!(order, ["111", "333", "222"]);
        // Each ticket is looked up once.
        assert_eq!(asked, ["111", "333", "222"]);
        let first = &tickets[0];
        let events: Vec<Event> = first.events.iter().map(|e| e.event).collect();
        assert_eq!(events, [Event::FollowUp, Event::Created]);
        assert_eq!(first.subject, "ticket 111");
        assert_eq!(first.events[0].subject, "subject 3");
        assert_eq!(first.events[0].at, "1970-01-01 00:05 UTC");
        assert_eq!(tickets[2].state, "closed");
        assert_eq!(tickets[1].events[0].event, Event::Reopened);
    }

    #[test]
    fn events_of_one_second_keep_the_order_they_were_filed_in() {
        let entries = [
            entry(7, "111", "created", 100),
            entry(8, "111", "follow-up", 100),
        ];
        let tickets = group(&entries, |_| Place {
            tag: String::new(),
            subject: String::new(),
            queue: String::new(),
            state: String::new(),
            folder: String::new(),
        });
        let ids: Vec<&str> = tickets[0]
            .events
            .iter()
            .map(|e| e.subject.as_str())
            .collect();
        assert_eq!(ids, ["subject 8", "subject 7"]);
    }

    #[test]
    fn the_queue_with_most_events_speaks_and_of_equals_the_newest() {
        let mut billing = entry(5, "222", "created", 50);
        billing.queue = "Billing".into();
        let support = [
            entry(1, "111", "created", 10),
            entry(2, "111", "follow-up", 20),
        ];
        let mut entries = vec![billing.clone()];
        entries.extend(support.iter().cloned());
        assert_eq!(speaking_queue(&entries), "Support");
        let one_each = [support[0].clone(), billing];
        assert_eq!(speaking_queue(&one_each), "Billing");
        assert_eq!(speaking_queue(&[]), "");
    }

    #[test]
    fn notes_are_one_a_line() {
        let mut e = entry(1, "111", "created", 100);
        e.notes = "first\nsecond".into();
        let tickets = group(&[e], |_| Place {
            tag: String::new(),
            subject: String::new(),
            queue: String::new(),
            state: String::new(),
            folder: String::new(),
        });
        assert_eq!(tickets[0].events[0].notes, ["first", "second"]);
    }
}
