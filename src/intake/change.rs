//! State changes made by people (CLI now; mail commands and IMAP folder moves later): close,
//! reopen, move to another queue. The tree changes first (the folder is renamed, the event log
//! gets a line), then the index; a crash in between shows in `fsck` and `reindex` repairs it.

use super::apply::folder_of;
use super::history::{self, HistoryLine};
use super::{Engine, IntakeError};
use crate::article::Change;
use crate::index::{State, TicketRef};
use crate::store::Folder;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketChange {
    Close,
    Reopen,
    Move(String),
    /// The ticket's service level (an `[[sla]]`'s name; empty: its service's or queue's again).
    Sla(String),
}

impl Engine {
    /// Applies a change; `None` when the ticket does not exist, else a sentence saying what
    /// happened (including "already closed").
    pub fn change_ticket(
        &mut self,
        number: &str,
        what: TicketChange,
        by: &str,
    ) -> Result<Option<String>, IntakeError> {
        self.flush()?;
        let Some(t) = self.index.ticket(number)? else {
            return Ok(None);
        };
        let from = TicketRef {
            number: t.number.clone(),
            queue: t.queue.clone(),
            state: t.state,
        };
        let mut to = from.clone();
        let mut change = None;
        let (event, detail) = match &what {
            TicketChange::Close if t.state == State::Closed => {
                return Ok(Some(format!("ticket {number} is already closed")))
            }
            TicketChange::Reopen if t.state == State::Open => {
                return Ok(Some(format!("ticket {number} is already open")))
            }
            TicketChange::Move(q) if *q == t.queue => {
                return Ok(Some(format!("ticket {number} is already in {q}")))
            }
            TicketChange::Close => {
                to.state = State::Closed;
                ("closed", format!("by {by}"))
            }
            TicketChange::Reopen => {
                to.state = State::Open;
                ("reopened", format!("by {by}"))
            }
            TicketChange::Move(q) => {
                to.queue = q.clone();
                ("moved", format!("from {} to {q} by {by}", t.queue))
            }
            TicketChange::Sla(name) if t.sla.as_deref().unwrap_or_default() == name => {
                return Ok(Some(format!(
                    "ticket {number} already has that service level"
                )))
            }
            TicketChange::Sla(name) => {
                change = Some(Change::Sla(name.clone()));
                match name.as_str() {
                    "" => ("sla", format!("back to the service's or queue's by {by}")),
                    n => ("sla", format!("set to {n} by {by}")),
                }
            }
        };
        let value = change.as_ref().and_then(Change::value);
        let (old, new) = (folder_of(&from), folder_of(&to));
        let actual = if self.store.folder_exists(&old) {
            Some(old)
        } else {
            self.store.find_ticket(number)?
        };
        match actual {
            Some(f) if f != new => self.store.rename_folder(&f, &new)?,
            Some(_) => {}
            None => {
                self.store.ensure_folder(&new)?;
            }
        }
        let now = self.rules.clock.now();
        let at = crate::clock::stamp(now);
        let key = format!(
            "op:{event}:{}",
            now.timestamp_nanos_opt().unwrap_or_default()
        );
        history::append(
            &self.store.history_path(&new),
            &HistoryLine {
                at: at.clone(),
                event: event.into(),
                detail: detail.clone(),
                key: key.clone(),
                value: value.clone(),
            },
        )?;
        self.store.sync()?;
        let tx = self.index.begin()?;
        tx.set_ticket(number, &to.queue, to.state, &at)?;
        tx.add_history_keyed(number, &at, event, &detail, &key)?;
        if let Some(c) = &change {
            c.apply(&tx, number, &at)?;
        }
        tx.commit()?;
        let mut said = format!(
            "ticket {number} {event}: now {}",
            self.store.imap_name(&new)
        );
        let junk = &self.rules.cfg.scan.junk_queue;
        if let TicketChange::Move(q) = &what {
            let spam = if q.eq_ignore_ascii_case(junk) {
                Some(true)
            } else if from.queue.eq_ignore_ascii_case(junk) {
                Some(false)
            } else {
                None
            };
            if let Some(spam) = spam {
                said.push_str(&format!("; {}", self.learn(number, &new, spam)?));
            }
        }
        Ok(Some(said))
    }

    /// Reports a ticket's incoming messages to spamd as spam or ham (moved into or out of the
    /// Junk queue), and records it in the ticket's history.
    pub(super) fn learn(
        &mut self,
        number: &str,
        folder: &Folder,
        spam: bool,
    ) -> Result<String, IntakeError> {
        let Some(spamd) = self.rules.scanners.clone().filter(|s| s.spamd().is_some()) else {
            return Ok("spamd is not configured: nothing learned".into());
        };
        let class = if spam { "spam" } else { "ham" };
        let (mut told, mut failed) = (0, Vec::new());
        for a in self.index.articles(number)? {
            if a.direction != "in" {
                continue;
            }
            let Some(path) = self.store.locate(folder, &a.file) else {
                continue;
            };
            let raw = std::fs::read(&path)?;
            let body = &raw[crate::store::trace::parse(&raw).body_offset..];
            match spamd.tell(body, spam) {
                Ok(_) => told += 1,
                Err(e) => failed.push(e.to_string()),
            }
        }
        let detail = match failed.first() {
            None => format!("{told} message(s) reported to spamd as {class}"),
            Some(e) => format!(
                "{told} message(s) reported to spamd as {class}, {} failed: {e}",
                failed.len()
            ),
        };
        self.note_in(number, folder, "learned", &detail)?;
        Ok(detail)
    }
}
