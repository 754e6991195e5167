//! Filing one message: its stored copy (trace block, the lines we add after it, the message) as
//! an article of a ticket or as a quarantined message, the index rows that describe it, and the
//! ticket attributes the filters set.

use std::borrow::Cow;

use super::apply::{folder_of, After};
use super::inspect::Inspection;
use super::{IntakeError, Message, Outcome, Rules};
use crate::facts::Facts;
use crate::filter::HeaderEdit;
use crate::index::{self, Article, NewArticle, Quarantined, TicketRef, Tx};
use crate::route::base_address;
use crate::store::{trace, Folder, Staged, Store};

/// The direction of a call's article (the customer's side of the ticket, as `in`, but by
/// telephone): what `ticket show` lists.
pub const PHONE: &str = "phone";

pub(super) fn article_trace(t: &TicketRef, class: &str, event: &str) -> trace::Trace {
    let mut tr = trace::Trace::default();
    tr.add(trace::TICKET, &t.number)
        .add(trace::QUEUE, &t.queue)
        .add(trace::DIRECTION, "in")
        .add(trace::CLASSIFICATION, class)
        .add(trace::EVENT, event);
    tr
}

#[allow(clippy::too_many_arguments)]
pub(super) fn file_article<'a>(
    store: &Store,
    tx: &Tx,
    after: &mut After<'a>,
    msg: &'a Message,
    facts: &Facts,
    class: &crate::classify::Classification,
    t: &TicketRef,
    event: &str,
    stranger: bool,
    mut tr: trace::Trace,
    base: trace::Trace,
    ins: &Inspection,
    rules: &Rules,
) -> Result<(), IntakeError> {
    tr.fields.extend(base.fields);
    if msg.phone {
        tr.set(trace::DIRECTION, PHONE);
    }
    let seq = tx.next_seq(&t.number)?;
    tr.add(trace::SEQUENCE, seq.to_string());
    // The copy agents read answers through postdesk: its Reply-To is the ticket's reply address.
    let mut body = Cow::Borrowed(&msg.raw[..]);
    let mut added: Vec<Vec<u8>> = Vec::new();
    match (&rules.out, rules.cfg.queue(&t.queue)) {
        (Some(out), Some(q)) if !q.addresses.is_empty() => {
            let from = crate::outgoing::queue_sender(q);
            let addr = out.signer.reply_address(&from.email, &t.number, false);
            tr.add(
                trace::ANSWER_TO,
                crate::decide::policy::answer_address(facts).unwrap_or_default(),
            );
            if let Some(renamed) = trace::rename_reply_to(&msg.raw) {
                body = Cow::Owned(renamed);
            }
            let name = from.name.unwrap_or_default().replace('"', "");
            added.push(trace::header_line(
                &msg.raw,
                "Reply-To",
                &format!("\"{name}\" <{addr}>"),
            ));
        }
        _ => {}
    };
    // The scanners' verdicts, as a content filter adds them, and the filters' addheader.
    for (name, value) in &ins.headers {
        added.push(trace::header_line(&msg.raw, name, value));
    }
    for edit in &ins.verdict.header_edits {
        if let HeaderEdit::Add { name, value, .. } = edit {
            added.push(trace::header_line(&msg.raw, name, value));
        }
    }
    if !added.is_empty() {
        tr.add(trace::ADDED, added.len().to_string());
    }
    let mut head = tr.render(&msg.raw);
    head.extend(added.concat());
    // A spliced part (a call's recording) is written after `body`'s head, from its file.
    let spliced_len = msg.spliced.as_ref().map_or(0, |s| s.encoded_len());
    let size = body.len() as u64 + spliced_len;
    let staged = store.reserve(head.len() as u64 + size);
    let mut article = crate::article::build_article(
        facts,
        class,
        t,
        event,
        stranger,
        &staged.file,
        tr.get(trace::RECEIVED).unwrap_or(""),
    );
    if msg.phone {
        article.direction = PHONE.into();
    }
    // The size of the message as stored (its Reply-To renamed), as reindex reads it.
    article.size = size;
    article.seq = seq;
    insert_staged(tx, &article, &staged)?;
    if !stranger {
        for addr in participants(facts, rules) {
            tx.add_participant(&t.number, &addr)?;
        }
    }
    let flags = maildir_flags(&ins.verdict.flags);
    after.stage_spliced(
        staged,
        head,
        body,
        msg.spliced.as_ref(),
        folder_of(t),
        &flags,
    );
    Ok(())
}

/// The article's row, naming the staged file it is written to before the commit.
pub(super) fn insert_staged(tx: &Tx, article: &Article, staged: &Staged) -> index::Result<()> {
    let staged_path = staged.path.to_string_lossy().into_owned();
    tx.insert_article(&NewArticle {
        article,
        staged: Some(&staged_path),
    })?;
    Ok(())
}

/// IMAP system flags as Maildir info letters (in the order Maildir wants: sorted). Keywords
/// have no letter without Dovecot's keyword file and are left out.
pub(super) fn maildir_flags(flags: &[String]) -> String {
    let mut letters: Vec<char> = flags
        .iter()
        .filter_map(|f| match f.to_ascii_lowercase().as_str() {
            "\\seen" => Some('S'),
            "\\answered" => Some('R'),
            "\\flagged" => Some('F'),
            "\\deleted" => Some('T'),
            "\\draft" => Some('D'),
            _ => None,
        })
        .collect();
    letters.sort_unstable();
    letters.dedup();
    letters.into_iter().collect()
}

/// Addresses that become participants of the ticket (who may follow up without the stranger
/// policy; answers go only to whom `outgoing::recipients` names): the author, Reply-To, To and
/// Cc, except our own queue addresses and agents. A mail from an agent's address that reached
/// this path was not proven to be the agent's and makes nobody a participant, and neither does
/// a fax gateway's.
pub fn participants(facts: &Facts, rules: &Rules) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let author = facts.author().map(|m| base_address(&m.address));
    // A fax gateway writes for whoever sent the fax: it is no customer of any ticket.
    if author.is_some_and(|a| rules.agents.contains(&a)) || rules.fax.of(facts).is_some() {
        return out;
    }
    let all = facts
        .author()
        .into_iter()
        .chain(facts.reply_to.iter())
        .chain(facts.to.iter())
        .chain(facts.cc.iter());
    for m in all {
        let a = base_address(&m.address);
        if a.is_empty()
            || !a.contains('@')
            || rules.own.contains(&a)
            || rules.agents.contains(&a)
            || out.contains(&a)
        {
            continue;
        }
        out.push(a);
    }
    out
}

#[allow(clippy::too_many_arguments)]
pub(super) fn quarantine<'a>(
    store: &Store,
    tx: &Tx,
    after: &mut After<'a>,
    msg: &'a Message,
    facts: &Facts,
    reason: &str,
    at: &str,
    ticket: Option<&str>,
    base: trace::Trace,
) -> Result<Outcome, IntakeError> {
    let mut tr = trace::Trace::default();
    tr.add(trace::REASON, reason);
    if let Some(n) = ticket {
        tr.add(trace::TICKET, n);
    }
    tr.fields.extend(base.fields);
    let head = tr.render(&msg.raw);
    let staged = store.reserve(head.len() as u64 + msg.len());
    let staged_path = staged.path.to_string_lossy().into_owned();
    let q = Quarantined {
        file: staged.file.clone(),
        digest: facts.digest.clone(),
        message_id: facts.message_id.clone(),
        reason: reason.to_string(),
        received: at.to_string(),
    };
    tx.insert_quarantine(&q, Some(&staged_path))?;
    after.stage_spliced(
        staged,
        head,
        std::borrow::Cow::Borrowed(&msg.raw[..]),
        msg.spliced.as_ref(),
        Folder::quarantine(),
        "",
    );
    Ok(Outcome::Quarantined {
        reason: reason.to_string(),
    })
}
