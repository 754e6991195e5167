//! An outgoing article (an autoresponse, a relayed answer, a notice filed in its ticket): the
//! trace block it is stored with and its rows (the article, its history event, the rate-limit
//! entries of an autoresponse, its outbox row), written alike by intake and the outbox's sender.

use crate::classify::Classification;
use crate::facts::Facts;
use crate::index::{Queued, TicketRef, Tx};
use crate::outgoing::build::OutMail;
use crate::store::trace;

use super::history;

/// The trace block an outgoing article is stored with (ticket, direction, envelope, digest, its
/// sequence in the ticket), and the mail's facts, which its index row is built from as reindex
/// would.
pub fn out_head(mail: &OutMail, t: &TicketRef, at: &str, seq: u64) -> (Vec<u8>, Facts) {
    let facts = crate::parse::parse(&mail.bytes);
    let mut tr = trace::Trace::default();
    tr.add(trace::TICKET, &t.number)
        .add(trace::QUEUE, &t.queue)
        .add(trace::DIRECTION, "out")
        .add(trace::CLASSIFICATION, mail.kind)
        .add(trace::EVENT, &mail.event)
        .add(
            trace::ENVELOPE_FROM,
            format!("<{}>", mail.env_from.as_deref().unwrap_or("")),
        )
        .add(trace::ENVELOPE_TO, mail.rcpts.join(", "))
        .add(trace::RECEIVED, at)
        .add(trace::DIGEST, &facts.digest)
        .add(trace::SEQUENCE, seq.to_string());
    (tr.render(&mail.bytes), facts)
}

/// The rows of an outgoing article (its file name and sequence) staged as `staged_path`: the
/// article, its history event, the rate-limit entries of an autoresponse, and its place in the
/// outbox.
#[allow(clippy::too_many_arguments)]
pub fn record_out(
    tx: &Tx,
    mail: &OutMail,
    facts: &Facts,
    t: &TicketRef,
    (file, seq): (&str, u64),
    staged_path: &str,
    at: &str,
    now: i64,
) -> crate::index::Result<()> {
    let mut article = super::row::build_article(
        facts,
        &Classification::normal(),
        t,
        &mail.event,
        false,
        file,
        at,
    );
    article.direction = "out".into();
    article.classification = mail.kind.into();
    article.reply_addr = None;
    article.seq = seq;
    tx.insert_article(&crate::index::NewArticle {
        article: &article,
        staged: Some(staged_path),
    })?;
    let rcpts = mail.rcpts.join(", ");
    let e = history::out_events(&t.number, at, mail.kind, &mail.event, &rcpts);
    tx.add_history(&e.ticket, &e.at, &e.event, &e.detail)?;
    if mail.kind == "autoresponse" {
        for r in &mail.rcpts {
            tx.add_autoreply(r, now)?;
        }
    }
    tx.enqueue(&queued(&t.number, file.to_string(), mail, now))?;
    Ok(())
}

/// The outbox row of `mail`, due now; `ticket` is empty for mail of no ticket.
pub fn queued(ticket: &str, file: String, mail: &OutMail, now: i64) -> Queued {
    Queued {
        id: 0,
        ticket: ticket.to_string(),
        file,
        kind: mail.kind.into(),
        env_from: mail.env_from.clone().unwrap_or_default(),
        rcpts: mail.rcpts.clone(),
        state: "queued".into(),
        attempts: 0,
        created: now,
        next_at: now,
        last_error: None,
    }
}
