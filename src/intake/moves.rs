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

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, SystemTime};

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

/// What one look for moved folders did.
#[derive(Debug, Default)]
pub struct Adopted {
    /// A sentence per adopted move.
    pub said: Vec<String>,
    /// A move was seen that is too fresh to adopt yet: look again in a few seconds.
    pub fresh: bool,
    /// Ticket folders compared with the index: none when the listed tree has not changed since
    /// the last look, else its ticket folders (bounded by the open tickets, never the archive).
    pub looked: usize,
}

impl Engine {
    /// Adopts ticket folders that agents moved. Costs one stat when the listed tree has not
    /// changed since the last look; otherwise a read of the listed tree, one index query per
    /// queue for its open tickets, and an index lookup per ticket folder that is not among them
    /// (the moved ones). Archived tickets are never read: agents cannot rename them.
    pub fn adopt_moves(&mut self) -> Result<Adopted, IntakeError> {
        self.flush()?;
        let now = SystemTime::now();
        let stamp = self.store.listed_changed_at()?;
        if self.moves_seen == Some(stamp) {
            return Ok(Adopted::default());
        }
        let mut by_number: BTreeMap<String, Option<Folder>> = BTreeMap::new();
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
        let mut looked = 0;
        let mut open: BTreeMap<String, HashSet<String>> = BTreeMap::new();
        for (number, found) in &by_number {
            let Some(Folder::Ticket { queue, closed, .. }) = found else {
                continue;
            };
            if !closed {
                if !open.contains_key(queue) {
                    open.insert(queue.clone(), self.index.open_numbers(queue)?);
                }
                if open[queue].contains(number) {
                    looked += 1; // open in this queue, where the index has it
                    continue;
                }
            }
            let Some((old_queue, old_state)) = self.index.ticket_location(number)? else {
                continue;
            };
            looked += 1;
            let number = number.clone();
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
                if *closed {
                    if settled() {
                        self.store.rename_folder(&here, &here)?;
                        self.store.sync()?;
                    } else {
                        fresh = true;
                    }
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
            let stamp = self.rules.clock.now();
            let at = crate::clock::stamp(stamp);
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
        // Remember this look only when nothing waits and the directory had been still for a
        // while: a rename within the same clock tick as `stamp` would not change it.
        let still = now.duration_since(stamp).is_ok_and(|d| d >= SETTLED);
        self.moves_seen = (!fresh && still).then_some(stamp);
        Ok(Adopted {
            said,
            fresh,
            looked,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;
    use std::time::{Duration, SystemTime};

    use crate::config::Config;
    use crate::index::State;
    use crate::intake::Engine;

    fn set_mtime(dir: &Path, t: SystemTime) {
        let f = fs::File::open(dir).unwrap();
        f.set_times(fs::FileTimes::new().set_modified(t)).unwrap();
    }

    #[test]
    fn a_look_costs_the_open_tree_when_it_changed_and_nothing_when_it_did_not() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let cfg = Config::parse(
            &format!(
                "[general]\ndata-dir = {:?}\n[[queue]]\nname = \"Support\"\naddresses = [\"support@company.example\"]\n[[queue]]\nname = \"Billing\"\n",
                tmp.path().join("var")
            ),
            &repo.join("postdesk.toml"),
        )
        .unwrap();
        let data = cfg.data_dir();
        let mut engine = Engine::open(&cfg, &data).unwrap();
        let tx = engine.index_mut().begin().unwrap();
        for n in 1..=200u32 {
            let (open, dir) = if n <= 3 {
                (true, data.join(format!("store/.Support.{n}")))
            } else {
                (false, data.join(format!("archive/Support/2026-01/{n}")))
            };
            let state = if open { State::Open } else { State::Closed };
            tx.insert_ticket(
                &n.to_string(),
                "Support",
                state,
                "s",
                "c@example.org",
                "2026-01-01",
                None,
                &Default::default(),
            )
            .unwrap();
            for sub in ["cur", "new", "tmp"] {
                fs::create_dir_all(dir.join(sub)).unwrap();
            }
        }
        tx.commit().unwrap();
        let store = data.join("store");
        let long_ago = SystemTime::now() - Duration::from_secs(60);
        set_mtime(&store, long_ago);

        let a = engine.adopt_moves().unwrap();
        assert_eq!((a.looked, a.fresh, a.said.len()), (3, false, 0), "{a:?}");
        let a = engine.adopt_moves().unwrap();
        assert_eq!(a.looked, 0, "the listed tree did not change: {a:?}");

        // An agent moves a ticket: the next look reads the open tree again (never the 197
        // archived tickets), and keeps looking while the move is too fresh to adopt.
        fs::rename(store.join(".Support.2"), store.join(".Billing.2")).unwrap();
        let a = engine.adopt_moves().unwrap();
        assert_eq!((a.looked, a.fresh), (3, true), "{a:?}");
        let a = engine.adopt_moves().unwrap();
        assert_eq!((a.looked, a.fresh), (3, true), "{a:?}");
    }
}
