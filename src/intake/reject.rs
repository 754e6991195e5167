//! Outgoing mail of no ticket (the reply to a message a filter rejected, the answer to a
//! customer's request): stored beside its cause in the quarantine and queued in the same commit,
//! under the autoresponse rules.

use std::borrow::Cow;

use super::apply::After;
use super::outbound::Moment;
use super::{IntakeError, Rules};
use crate::article::queued;
use crate::facts::Facts;
use crate::index::Tx;
use crate::outgoing::build;
use crate::store::{trace, Store};

/// The reply to a message a filter rejected (`reject "text"`), to `to` as the plan says: no
/// ticket exists, so the reply is stored beside the rejected message in the quarantine (a
/// quarantine row, so recovery and reindex know the file) and queued like any outgoing mail.
#[allow(clippy::too_many_arguments)]
pub(super) fn reject_reply(
    store: &Store,
    tx: &Tx,
    after: &mut After,
    rules: &Rules,
    facts: &Facts,
    queue: &str,
    to: &str,
    text: &str,
    clock: &Moment,
    rng: &mut impl rand::Rng,
) -> Result<String, IntakeError> {
    let out = rules
        .out
        .as_ref()
        .expect("a plan sends only with outgoing rules");
    let mailer = build::Mailer {
        cfg: &rules.cfg,
        out,
        date: clock.date(),
    };
    let mail = match mailer.rejection(queue, facts, to, text, rng) {
        Ok(m) => m,
        Err(e) => return Ok(format!("reject reply not built: {e}")),
    };
    stage_loose(
        store,
        tx,
        after,
        mail,
        &format!("reply to a rejected message, to {to}"),
        clock,
    )?;
    Ok(format!("reject reply queued to {to}"))
}

/// Stores `mail`, which belongs to no ticket, beside the message it answers in the quarantine
/// (a quarantine row, so recovery and reindex know the file), counts it against its recipients'
/// autoresponse limit and queues it like any outgoing mail, all in the batch's commit.
pub(super) fn stage_loose(
    store: &Store,
    tx: &Tx,
    after: &mut After,
    mail: build::OutMail,
    reason: &str,
    clock: &Moment,
) -> Result<(), IntakeError> {
    let parsed = crate::parse::parse(&mail.bytes);
    let mut tr = trace::Trace::default();
    tr.add(trace::REASON, reason)
        .add(trace::DIRECTION, "out")
        .add(trace::CLASSIFICATION, mail.kind)
        .add(trace::EVENT, &mail.event)
        .add(trace::ENVELOPE_FROM, "<>")
        .add(trace::ENVELOPE_TO, mail.rcpts.join(", "))
        .add(trace::RECEIVED, &clock.at)
        .add(trace::DIGEST, &parsed.digest);
    let head = tr.render(&mail.bytes);
    let staged = store.reserve((head.len() + mail.bytes.len()) as u64);
    let staged_path = staged.path.to_string_lossy().into_owned();
    tx.insert_quarantine(
        &crate::index::Quarantined {
            file: staged.file.clone(),
            digest: parsed.digest.clone(),
            message_id: parsed.message_id.clone(),
            reason: reason.to_string(),
            received: clock.at.clone(),
        },
        Some(&staged_path),
    )?;
    for to in &mail.rcpts {
        tx.add_autoreply(to, clock.now)?;
    }
    tx.enqueue(&queued("", staged.file.clone(), &mail, clock.now))?;
    after.stage(
        staged,
        head,
        Cow::Owned(mail.bytes),
        crate::store::Folder::quarantine(),
    );
    after.queued = true;
    Ok(())
}
