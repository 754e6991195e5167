//! The article row for a message: what intake files and what `reindex` builds from a stored
//! file, from the message's facts alone.

use crate::facts::{Facts, Mailbox};
use crate::index::{Article, TicketRef};

/// The article row for a message; also what reindex builds from a stored file.
pub fn build_article(
    facts: &Facts,
    class: &crate::classify::Classification,
    t: &TicketRef,
    event: &str,
    stranger: bool,
    file: &str,
    received: &str,
) -> Article {
    let join = |v: &[Mailbox]| {
        v.iter()
            .map(Mailbox::display)
            .collect::<Vec<_>>()
            .join(", ")
    };
    Article {
        ticket: t.number.clone(),
        seq: 0,
        file: file.to_string(),
        message_id: facts.message_id.clone(),
        digest: facts.digest.clone(),
        from: facts.author().map(Mailbox::display).unwrap_or_default(),
        author_header: facts.author_header().map(str::to_string),
        to: join(&facts.to),
        cc: join(&facts.cc),
        subject: facts.subject.clone(),
        date: facts.date.clone(),
        received: received.to_string(),
        direction: "in".into(),
        classification: class.kind.as_str().to_string(),
        event: event.to_string(),
        bounce_of: class.bounce_of.clone(),
        stranger,
        size: facts.size,
        attachments: facts.attachments.clone(),
        reply_addr: facts.answer_address(),
    }
}
