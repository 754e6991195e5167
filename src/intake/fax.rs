//! A fax filed: beside the gateway's mail (filed as received, byte for byte, like any mail),
//! the rendition article with a PDF of each TIFF, and the fax's lines in the ticket's history
//! (who sent it, and each TIFF that has no PDF and why).
//!
//! Why a second article rather than a part added to the fax's mail: the stored fax stays the
//! gateway's mail exactly (its digest, any signature, what `fsck` and `reindex` read back), and
//! a rendition that cannot be made changes nothing about it. Both are staged in the batch of
//! the fax and committed together: a crash before the commit leaves the fax at its source and
//! neither article (its staged files are orphans that recovery deletes), one after it leaves
//! both, placed by recovery; the fax coming again is a duplicate and gets no second PDF.

use std::borrow::Cow;

use super::apply::{folder_of, record, After};
use super::customer::Customer;
use super::file::{article_trace, insert_staged};
use super::history::{self, HistoryLine};
use super::outbound::Moment;
use super::{IntakeError, Rules};
use crate::article::build_article;
use crate::classify::{self, OwnIdentity};
use crate::facts::Facts;
use crate::fax::{rendition, Received};
use crate::index::{self, Lookup, Parties, TicketRef, Tx};
use crate::store::{trace, Store};

/// The event of a rendition article, in its trace block and the ticket's history.
pub const EVENT: &str = "fax-rendition";

/// Whether the fax's `number` belongs to the directory's customer (person, else organisation)
/// of the first existing ticket `subject` names, as the matcher would find it: a gateway is
/// nobody's participant, so without this every fax to a ticket would meet the stranger policy.
/// The sender by number: the one person with it (and their first organisation), else the one
/// organisation with it.
pub fn from_customer<L>(l: &L, rules: &Rules, subject: &str, number: &str) -> index::Result<bool>
where
    L: Lookup<Error = index::IndexError> + Parties,
{
    let Some(ticket) = rules
        .scheme
        .find_in_subject(subject)
        .into_iter()
        .find_map(|n| l.ticket(&n).transpose())
        .transpose()?
    else {
        return Ok(false);
    };
    let lines = l.number_lines(number)?;
    let (person, organisation) = match (lines.persons.as_slice(), lines.organisations.as_slice()) {
        ([p], _) => (Some(p.id.clone()), p.organisations.first().cloned()),
        ([], [o]) => (None, Some(o.id.clone())),
        _ => (None, None),
    };
    let party = l.ticket_party(&ticket.number)?;
    let same = |a: Option<&String>, b: Option<&String>| a.is_some() && a == b;
    Ok(match &party.person {
        Some(p) => same(person.as_ref(), Some(&p.id)),
        None => same(
            organisation.as_ref(),
            party.organisation.as_ref().map(|o| &o.id),
        ),
    })
}

/// Files what follows from the fax `facts` just filed into `t`.
#[allow(clippy::too_many_arguments)]
pub(super) fn file(
    store: &Store,
    tx: &Tx,
    after: &mut After,
    rules: &Rules,
    fax: &Received,
    facts: &Facts,
    t: &TicketRef,
    customer: Option<&Customer>,
    clock: &Moment,
) -> Result<(), IntakeError> {
    let mut line = |event: &str, detail: String, key: String| {
        let l = HistoryLine {
            at: clock.at.clone(),
            event: event.into(),
            detail,
            key,
            value: None,
        };
        record(tx, after, t, l)
    };
    let who = customer
        .and_then(|c| {
            c.person
                .as_ref()
                .map(|p| format!("{} ({})", p.display_name, p.id))
                .or_else(|| {
                    c.organisation
                        .as_ref()
                        .map(|o| format!("{} ({})", o.name, o.id))
                })
        })
        .unwrap_or_else(|| "not in the directory".into());
    let from = match &fax.number {
        Ok(n) if customer.is_some() => format!("{n}, {who}"),
        Ok(n) => n.clone(),
        Err(why) => format!("an unknown number ({why})"),
    };
    line(
        "fax",
        format!("a fax from {from} through gateway {}", fax.gateway),
        format!("fax:{}", facts.digest),
    )?;
    for (i, r) in fax.renditions.iter().enumerate() {
        if let Err(why) = &r.pdf {
            line(
                "fax-not-rendered",
                format!("{}: no PDF ({why}); the fax is filed as it came", r.tiff),
                format!("fax:{}:{i}", facts.digest),
            )?;
        }
    }
    let Some(q) = rules.cfg.queue(&t.queue) else {
        return Ok(());
    };
    let Some(address) = q.addresses.first() else {
        return Ok(());
    };
    let built = rendition::build(
        fax,
        &rendition::Context {
            digest: &facts.digest,
            message_id: facts.message_id.as_deref(),
            subject: &facts.subject,
            queue: address,
            language: &q.language,
            scheme: &rules.scheme,
            ticket: &t.number,
            loop_value: &rules.cfg.general.loop_value,
            date: clock.date(),
        },
    );
    let raw = match built {
        Ok(Some(raw)) => raw,
        Ok(None) => return Ok(()),
        Err(e) => {
            return line(
                "fax-not-rendered",
                format!("the PDF article cannot be written: {e}"),
                format!("fax:{}:article", facts.digest),
            )
            .map_err(Into::into)
        }
    };
    stage(store, tx, after, rules, t, raw, clock)
}

/// Stages the rendition article `raw` in `t`'s folder with its rows, as reindex reads it back.
fn stage(
    store: &Store,
    tx: &Tx,
    after: &mut After,
    rules: &Rules,
    t: &TicketRef,
    raw: Vec<u8>,
    clock: &Moment,
) -> Result<(), IntakeError> {
    let facts = crate::parse::parse(&raw);
    let class = classify::classify(
        &facts,
        &OwnIdentity {
            addresses: &rules.own,
            loop_value: &rules.cfg.general.loop_value,
        },
    );
    let seq = tx.next_seq(&t.number)?;
    let mut tr = article_trace(t, class.kind.as_str(), EVENT);
    tr.add(trace::RECEIVED, &clock.at)
        .add(trace::DIGEST, &facts.digest)
        .add(trace::SEQUENCE, seq.to_string());
    let head = tr.render(&raw);
    let staged = store.reserve((head.len() + raw.len()) as u64);
    let mut article = build_article(&facts, &class, t, EVENT, false, &staged.file, &clock.at);
    article.size = raw.len() as u64;
    article.seq = seq;
    insert_staged(tx, &article, &staged)?;
    for e in history::article_events(&t.number, &clock.at, EVENT, &article.from, None, false) {
        tx.add_history(&e.ticket, &e.at, &e.event, &e.detail)?;
    }
    after.stage(staged, head, Cow::Owned(raw), folder_of(t));
    Ok(())
}
