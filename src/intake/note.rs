//! A line in a ticket's history that changes nothing else (spamd taught, a call placed):
//! committed to the index with the line pending, then appended to the ticket's event log and
//! made durable (`execute`); a crash in between leaves it pending, and recovery appends it. And a notice to an agent about a ticket
//! outside any batch (a call that could not be placed), queued in one commit.

use super::apply::{record_in, After};
use super::history::HistoryLine;
use super::outbound::{queue_kept, Moment};
use super::{Engine, IntakeError};
use crate::execute;
use crate::index::{State, TicketRef};
use crate::outgoing::build::Mailer;
use crate::store::Folder;

impl Engine {
    /// Records `event` with `detail` on ticket `number` in `folder`.
    pub(super) fn note_in(
        &mut self,
        number: &str,
        folder: &Folder,
        event: &str,
        detail: &str,
    ) -> Result<(), IntakeError> {
        let now = self.rules.clock.now();
        let line = HistoryLine {
            at: crate::clock::stamp(now),
            event: event.into(),
            detail: detail.into(),
            key: format!("{event}:{}", now.timestamp_nanos_opt().unwrap_or_default()),
            value: None,
        };
        let tx = self.index.begin_deferred()?;
        let mut after = After::default();
        record_in(&tx, &mut after, number, folder.clone(), line)?;
        execute::commit(&self.store, tx, after, &mut self.placer)?;
        self.flush()
    }

    /// `note_in` the ticket's folder wherever it is; `false` when there is no such ticket.
    pub fn note(&mut self, number: &str, event: &str, detail: &str) -> Result<bool, IntakeError> {
        self.flush()?;
        let Some(t) = self.index.ticket(number)? else {
            return Ok(false);
        };
        let folder = Folder::ticket(&t.queue, &t.number, t.state == State::Closed);
        let folder = if self.store.folder_exists(&folder) {
            folder
        } else {
            match self.store.find_ticket(number)? {
                Some(f) => f,
                None => return Ok(false),
            }
        };
        self.note_in(number, &folder, event, detail)?;
        Ok(true)
    }

    /// Queues a notice about ticket `number` to the agent at `to`; `false` when there is no
    /// such ticket or nothing is sent from here.
    pub fn notify_agent(
        &mut self,
        number: &str,
        to: &str,
        subject: &str,
        body: String,
    ) -> Result<bool, IntakeError> {
        self.flush()?;
        let Some(out) = self.rules.out.clone() else {
            return Ok(false);
        };
        let Some(t) = self.index.ticket(number)? else {
            return Ok(false);
        };
        let t = TicketRef {
            number: t.number,
            queue: t.queue,
            state: t.state,
        };
        let clock = Moment::at(self.rules.clock.now());
        let mut mail = Mailer {
            cfg: &self.rules.cfg,
            out: &out,
            date: clock.date(),
        }
        .notice(
            &t.queue,
            &t.number,
            &[to.to_string()],
            subject,
            body,
            &mut rand::rng(),
        )
        .map_err(IntakeError::Config)?;
        // Kept in the index like agents' pointer notices: no article of the ticket.
        mail.kind = "notification";
        let tx = self.index.begin()?;
        let mut after = After::default();
        queue_kept(&self.store, &tx, &mut after, &t, mail, &clock)?;
        tx.commit()?;
        if let Some(w) = &self.waker {
            w.wake();
        }
        Ok(true)
    }
}
