//! Executes the plans of one batch: each message's plan made (`Rules::decide`) and carried out
//! (`carry`) in the batch's one index transaction, then committed through `execute`: staged
//! files, the transaction, renames into the tree.

use super::carry::carry;
use super::fax;
use super::history::HistoryLine;
use super::outbound::Moment;
use super::reply::Out;
use super::{Engine, IntakeError, LogInfo, Message, Outcome};
use crate::execute;
pub(super) use crate::execute::After;
use crate::index::{self, State, TicketRef, Tx};
use crate::store::{trace, Folder};

pub(super) fn batch(
    engine: &mut Engine,
    batch: &[Message],
    understood: Vec<super::Understood>,
) -> Result<(Vec<Outcome>, Vec<LogInfo>), IntakeError> {
    let Engine {
        rules,
        store,
        index,
        placer,
        waker,
        carried,
        ..
    } = engine;
    let now = rules.clock.now();
    let clock = Moment::at(now);
    let at = clock.at.clone();
    let today = if rules.cfg.tickets.local_time {
        now.with_timezone(&chrono::Local).date_naive()
    } else {
        now.date_naive()
    };
    let mut rng = rand::rng();

    let tx = index.begin_deferred()?;
    let keys: Vec<(Option<&str>, &str)> = (understood.iter())
        .map(|u| (u.facts.message_id.as_deref(), u.facts.digest.as_str()))
        .collect();
    tx.prefetch_duplicates(&keys)?;
    let recipients: Vec<String> = (understood.iter())
        .filter_map(|u| crate::decide::policy::answer_address(&u.facts))
        .collect();
    let recipients: Vec<&str> = recipients.iter().map(String::as_str).collect();
    tx.prefetch_autoreplies(&recipients, clock.now)?;
    let senders: Vec<&str> = (understood.iter())
        .filter_map(|u| u.facts.author().map(|a| a.address.as_str()))
        .collect();
    tx.prefetch_senders(&senders)?;
    // The matcher's questions (see decide::find_ticket): the tickets of the references, the
    // numbers in the subjects.
    let ids: Vec<&str> = (understood.iter())
        .flat_map(|u| {
            let thread = (u.facts.in_reply_to.iter())
                .chain(u.facts.references.iter().rev())
                .take(64);
            thread.chain(u.class.bounce_of.iter()).map(String::as_str)
        })
        .collect();
    let numbers: Vec<String> = (understood.iter())
        .flat_map(|u| rules.scheme.find_in_subject(&u.facts.subject))
        .collect();
    tx.prefetch_tickets(&ids, &numbers)?;
    let mut after = After::default();
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut logs = Vec::with_capacity(batch.len());
    // Each message's plan made and carried out in order: a plan sees what the earlier ones did.
    {
        let mut out = Out {
            store,
            tx: &tx,
            after: &mut after,
            rules,
            clock: &clock,
            rng: &mut rng,
        };
        for (msg, u) in batch.iter().zip(understood) {
            let fax = u.fax.clone();
            let mut u = u;
            if let Some(Ok(number)) = fax.as_ref().map(|f| &f.number) {
                u.fax_from_customer = fax::from_customer(out.tx, rules, &u.facts.subject, number)?;
            }
            let mut a = rules.decide(u, out.tx, now)?;
            let actions = std::mem::take(&mut a.plan.actions);
            let origin = format!("{}/{}", msg.source, msg.name);
            if msg.remember {
                out.tx.mark_source_seen(&msg.source, &msg.name)?;
            }
            let mut base = trace::Trace::default();
            base.add(trace::SOURCE, &origin)
                .add(trace::RECEIVED, &at)
                .add(trace::DIGEST, &a.facts.digest);
            let done = carry(&mut out, today, msg, &a, actions, fax.as_deref(), base)?;
            logs.push(LogInfo {
                message_id: a.facts.message_id.clone(),
                source: origin,
                class: Some(a.class.kind.as_str().to_string()),
                out: done.said,
            });
            if let Some(carried) = carried.as_mut() {
                carried.push(done.actions);
            }
            outcomes.push(done.outcome);
        }
    }
    let queued = after.queued;
    execute::commit(store, tx, after, placer)?;
    if queued {
        if let Some(w) = waker {
            w.wake();
        }
    }
    Ok((outcomes, logs))
}

pub(super) fn folder_of(t: &TicketRef) -> Folder {
    Folder::ticket(&t.queue, &t.number, t.state == State::Closed)
}

/// An event that is not an article: into the index now, and into the ticket's event log (from
/// which reindex rebuilds it) once the batch has committed.
pub(super) fn record(
    tx: &Tx,
    after: &mut After,
    ticket: &TicketRef,
    line: HistoryLine,
) -> index::Result<()> {
    record_in(tx, after, &ticket.number, folder_of(ticket), line)
}

/// `record` of a line for ticket `number`, appended in `folder` (or wherever the ticket is by
/// then).
pub(super) fn record_in(
    tx: &Tx,
    after: &mut After,
    number: &str,
    folder: Folder,
    line: HistoryLine,
) -> index::Result<()> {
    tx.add_history_keyed(number, &line.at, &line.event, &line.detail, &line.key)?;
    let json = serde_json::to_string(&line).unwrap_or_default();
    let id = tx.add_pending_line(number, &json)?;
    after.history.push((folder, line, id));
    Ok(())
}
