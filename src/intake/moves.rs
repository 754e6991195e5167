//! Agents move tickets with their mail client: an IMAP RENAME of `Tickets/Support/N` to
//! `Tickets/Support/Closed/N` (or into another queue) renames the ticket's folder in the tree;
//! a ticket closed that way then moves on into the archive (`Archive/Support/YYYY-MM/N`).
//! The tree is the truth, so postdesk adopts the move: the index follows, the ticket's event
//! log records it, and a move into or out of the Junk queue teaches spamd.
//!
//! What is safe to adopt: a ticket folder whose name still parses as a ticket of a configured
//! queue, whose location differs from the index, and that has not changed for a few seconds (so
//! postdesk's own renames in flight, e.g. a reopen by another process between its commit and its
//! rename, are not mistaken for an agent's). Anything else (a folder renamed to something that is
//! no ticket, a queue that is not configured, two folders with one number) is left alone and
//! logged: `fsck` shows it and `reindex` adopts the tree as it is.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use chrono::Utc;

use super::history::{self, HistoryLine};
use super::{Engine, IntakeError};
use crate::index::State;
use crate::store::Folder;

/// Where the index had a ticket.
struct Old {
    number: String,
    queue: String,
    state: State,
}

/// A folder must have been still this long before its location is adopted.
const SETTLED: Duration = Duration::from_secs(2);

impl Engine {
    /// Adopts ticket folders that agents moved; returns a sentence per adopted move, and whether
    /// a move was seen that is too fresh to adopt yet (look again in a few seconds).
    pub fn adopt_moves(&mut self) -> Result<(Vec<String>, bool), IntakeError> {
        self.flush()?;
        let now = SystemTime::now();
        let mut by_number: HashMap<String, Option<Folder>> = HashMap::new();
        for f in self.store.ticket_folders()? {
            let Folder::Ticket { number, .. } = &f else {
                continue;
            };
            let slot = by_number.entry(number.clone()).or_insert(Some(f.clone()));
            if slot.as_ref() != Some(&f) {
                tracing::warn!(ticket = %number, "two folders for one ticket; not adopting either");
                *slot = None;
            }
        }
        let mut said = Vec::new();
        let mut fresh = false;
        for (number, old_queue, old_state) in self.index.ticket_locations()? {
            let Some(Some(Folder::Ticket { queue, closed, .. })) = by_number.get(&number) else {
                continue;
            };
            let t = Old {
                number,
                queue: old_queue,
                state: old_state,
            };
            let state = if *closed { State::Closed } else { State::Open };
            let here = Folder::ticket(queue, &t.number, *closed);
            let settled = || {
                self.store
                    .changed_at(&here)
                    .is_ok_and(|c| now.duration_since(c).is_ok_and(|d| d >= SETTLED))
            };
            if *queue == t.queue && state == t.state {
                // Closed in the listed tree (an agent's move adopted before a crash, or a store
                // from before the archive): the archive is where it belongs.
                if *closed && settled() {
                    self.store.rename_folder(&here, &here)?;
                    self.store.sync()?;
                }
                continue;
            }
            if !settled() {
                fresh = true; // perhaps postdesk's own rename in flight: look again soon
                continue;
            }
            let Some(q) = self.rules.cfg.queue(queue) else {
                tracing::warn!(ticket = %t.number, queue = %queue, "moved into a queue that is not configured; not adopted");
                continue;
            };
            let queue = q.name.clone();
            let (event, detail) = if queue != t.queue {
                (
                    "moved",
                    format!("from {} to {queue} by an agent's mail client", t.queue),
                )
            } else if state == State::Closed {
                (
                    "closed",
                    "by an agent's mail client (folder moved)".to_string(),
                )
            } else {
                (
                    "reopened",
                    "by an agent's mail client (folder moved)".to_string(),
                )
            };
            let folder = Folder::ticket(&queue, &t.number, state == State::Closed);
            let stamp = Utc::now();
            let at = stamp.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
            let key = format!(
                "imap:{event}:{}",
                stamp.timestamp_nanos_opt().unwrap_or_default()
            );
            let line = HistoryLine {
                at: at.clone(),
                event: event.into(),
                detail: detail.clone(),
                key: key.clone(),
                value: None,
            };
            history::append(&self.store.history_path(&folder), &line)?;
            self.store.sync()?;
            let tx = self.index.begin()?;
            tx.set_ticket(&t.number, &queue, state, &at)?;
            tx.add_history_keyed(&t.number, &at, event, &detail, &key)?;
            tx.commit()?;
            if state == State::Closed {
                // Out of the listed tree: Dovecot cannot rename across namespaces, so postdesk
                // moves the folder into the archive (its Dovecot files with it).
                self.store.rename_folder(&folder, &folder)?;
                self.store.sync()?;
            }
            let mut sentence = format!("ticket {} {event} {detail}", t.number);
            let junk = self.rules.cfg.scan.junk_queue.clone();
            if queue != t.queue
                && (queue.eq_ignore_ascii_case(&junk) || t.queue.eq_ignore_ascii_case(&junk))
            {
                let spam = queue.eq_ignore_ascii_case(&junk);
                sentence.push_str(&format!("; {}", self.learn(&t.number, &folder, spam)?));
            }
            tracing::info!("{sentence}");
            said.push(sentence);
        }
        Ok((said, fresh))
    }
}
