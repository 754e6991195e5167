//! A line in a ticket's history that changes nothing else (spamd taught, a call placed): into
//! the ticket's event log first, made durable, then into the index; a crash in between leaves
//! the line in the tree, where `reindex` finds it. And a notice to an agent about a ticket
//! outside any batch (a call that could not be placed), queued in one commit.

use super::apply::After;
use super::history::{self, HistoryLine};
use super::outbound::{queue_kept, Moment};
use super::{Engine, IntakeError};
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
        let at = crate::clock::stamp(now);
        let key = format!("{event}:{}", now.timestamp_nanos_opt().unwrap_or_default());
        let line = HistoryLine {
            at: at.clone(),
            event: event.into(),
            detail: detail.into(),
            key: key.clone(),
            value: None,
        };
        history::append(&self.store.history_path(folder), &line)?;
        self.store.sync()?;
        let tx = self.index.begin()?;
        tx.add_history_keyed(number, &at, event, detail, &key)?;
        tx.commit()?;
        Ok(())
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
