//! A line in a ticket's history that changes nothing else (spamd taught, a call placed): into
//! the ticket's event log first, made durable, then into the index; a crash in between leaves
//! the line in the tree, where `reindex` finds it.

use chrono::Utc;

use super::history::{self, HistoryLine};
use super::{Engine, IntakeError};
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
        let now = Utc::now();
        let at = now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
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
        let folder = Folder::ticket(&t.queue, &t.number, t.state == crate::index::State::Closed);
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
}
