//! Outgoing mail queued inside a batch, in the same commit as what caused it: stored as an
//! outgoing article of its ticket (`stage_out`), or kept in the index until sent
//! (`queue_kept`); and the batch's one reading of the clock these rows carry.

use std::borrow::Cow;

use super::apply::{folder_of, After};
use super::IntakeError;
use crate::article::{out_head, queued, record_out};
use crate::index::{TicketRef, Tx};
use crate::outgoing::build::OutMail;
use crate::store::Store;

/// When a batch runs, for the rows it writes: one reading of the engine's clock.
pub(super) struct Moment {
    /// RFC 3339, as in the trace headers.
    pub at: String,
    /// Unix seconds, for the outbox and the rate limits.
    pub now: i64,
}

impl Moment {
    pub fn at(t: chrono::DateTime<chrono::Utc>) -> Moment {
        Moment {
            at: crate::clock::stamp(t),
            now: t.timestamp(),
        }
    }

    /// The batch's time as the Date of the mails it makes.
    pub fn date(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(self.now, 0).unwrap_or_default()
    }
}

/// Stores `mail` as an outgoing article of `t` (in `t`'s folder) and queues it for sending.
pub(super) fn stage_out(
    store: &Store,
    tx: &Tx,
    after: &mut After,
    t: &TicketRef,
    mail: OutMail,
    clock: &Moment,
) -> Result<(), IntakeError> {
    let seq = tx.next_seq(&t.number)?;
    let (head, facts) = out_head(&mail, t, &clock.at, seq);
    let staged = store.reserve((head.len() + mail.bytes.len()) as u64);
    let staged_path = staged.path.to_string_lossy().into_owned();
    record_out(
        tx,
        &mail,
        &facts,
        t,
        (&staged.file, seq),
        &staged_path,
        &clock.at,
        clock.now,
    )?;
    after.stage(staged, head, Cow::Owned(mail.bytes), folder_of(t));
    after.queued = true;
    Ok(())
}

/// Queues `mail` (an agents' pointer notice) with its bytes kept in the index until it is sent:
/// it is no article of the ticket, so nothing is staged and nothing is written to the tree. Its
/// history is the `sent` (or `send-failed`) line the outbox commits and appends to the ticket's
/// event log, as for every outgoing mail; an index lost before then loses the notice, never the
/// mail it is about.
pub(super) fn queue_kept(
    store: &Store,
    tx: &Tx,
    after: &mut After,
    t: &TicketRef,
    mail: OutMail,
    clock: &Moment,
) -> Result<(), IntakeError> {
    // A unique name from the store's generator; no file of this name is ever written.
    let file = store.reserve(mail.bytes.len() as u64).file;
    tx.keep_outbox_mail(&file, &mail.bytes)?;
    tx.enqueue(&queued(&t.number, file, &mail, clock.now))?;
    after.queued = true;
    Ok(())
}
