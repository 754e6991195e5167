//! What became of the handovers' mails: recorded in the index in one commit, then their
//! event-log lines appended to the tickets' logs and, once a sync of the store has made them
//! durable, forgotten by the index in a later record. A write transaction of the outbox waits
//! for intake's batch to commit, so handovers are recorded when the lock is free and at the end
//! of a group; the journal holds them meanwhile. The journals are recorded before a sender sends anything (`replay`). And when
//! the transport's outages begin and end, for the log.

use super::{pending, HistoryLine, Queued, Sender, SenderError, Try};

/// An event-log line appended to its ticket's log: its `pending_lines` id, and the store's
/// sync mark after the append (durable once `Store::is_synced(mark)`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Appended {
    id: i64,
    mark: u64,
}

impl Sender {
    /// Records what became of handovers' mails in one commit, with their event-log lines to
    /// append, then the mail log; `false` when `wait` is not set and another writer holds or waits
    /// for the index's write lock (nothing is recorded then). The
    /// commit survives a crash of the process; a power loss may take it back and resend the
    /// last few mails, unless the journal held them: then the commit is made durable before
    /// the journal is emptied.
    pub(super) fn record(
        &mut self,
        tried: &[(Queued, Try)],
        now: i64,
        wait: bool,
    ) -> Result<bool, SenderError> {
        let at = crate::clock::stamp(self.clock.now());
        let tx = if wait {
            self.index.begin_lazy()?
        } else {
            match self.index.begin_lazy_if_free()? {
                Some(tx) => tx,
                None => return Ok(false),
            }
        };
        // The lines earlier groups appended that a sync has made durable in the tree since,
        // forgotten in this commit; the others wait for a later one.
        let (durable, waiting): (Vec<Appended>, Vec<Appended>) =
            (self.appended.iter()).partition(|a| self.store.is_synced(a.mark));
        let durable: Vec<i64> = durable.iter().map(|a| a.id).collect();
        tx.clear_pending_lines(&durable)?;
        let sent: Vec<i64> = (tried.iter())
            .filter(|(_, t)| matches!(t, Try::Sent(_)))
            .map(|(q, _)| q.id)
            .collect();
        tx.mark_sent(&sent)?;
        for (q, t) in tried {
            let to = q.rcpts.join(", ");
            let mut line = None;
            let ticketless = q.ticket.is_empty();
            match t {
                Try::Sent(_) if ticketless => {}
                Try::Failed(e) if ticketless => tx.mark_failed(q.id, e)?,
                Try::Sent(_) => {
                    let detail = format!("{} to {to}", q.kind);
                    let key = format!("sent:{}", q.file);
                    tx.add_history_keyed(&q.ticket, &at, "sent", &detail, &key)?;
                    line = Some(("sent", detail, key));
                }
                Try::Retry(e, delay) => {
                    tx.mark_retry(q.id, now + delay.as_secs().max(1) as i64, e)?;
                }
                Try::Failed(e) => {
                    let detail = format!("{} to {to}: {e}", q.kind);
                    let key = format!("failed:{}", q.file);
                    tx.mark_failed(q.id, e)?;
                    tx.add_history_keyed(&q.ticket, &at, "send-failed", &detail, &key)?;
                    line = Some(("send-failed", detail, key));
                }
            }
            // The event-log line that tells a later `reindex` this mail is done is committed
            // with the state, and leaves the index only once it is durable in the ticket's
            // folder.
            if let Some((event, detail, key)) = line {
                let line = HistoryLine {
                    at: at.clone(),
                    event: event.into(),
                    detail,
                    key,
                    value: None,
                };
                let json = serde_json::to_string(&line).map_err(std::io::Error::other)?;
                tx.add_pending_line_later(&q.ticket, &json)?;
            }
        }
        if self.journal.holds_any() {
            tx.commit_durable()?;
            self.index.sync_log()?;
            self.journal.clear()?;
        } else {
            tx.commit()?;
        }
        self.appended = waiting;
        for (q, t) in tried {
            self.log_outcome(q, t);
        }
        Ok(true)
    }

    /// Records as sent what the journals hold and the index does not: this node's own, and,
    /// when it has just taken the lease over, every node's (a node that died with handovers in
    /// its journal). Before anything is sent.
    pub(super) fn replay(&mut self, now: i64, every_node: bool) -> Result<(), SenderError> {
        let mut ids = super::journal::read(self.journal.path())?;
        if every_node {
            for path in crate::store::outbox_journals(&self.data_dir)? {
                if path != self.journal.path() {
                    ids.extend(super::journal::read(&path)?);
                }
            }
        }
        ids.sort_unstable();
        ids.dedup();
        let tried: Vec<(Queued, Try)> = (self.index.queued_of(&ids)?.into_iter())
            .map(|q| {
                (
                    q,
                    Try::Sent("handed over before a restart (outbox journal)".into()),
                )
            })
            .collect();
        if !tried.is_empty() {
            tracing::info!(
                "outbox: {} mail(s) handed over before a restart recorded as sent from the journal",
                tried.len()
            );
        }
        if !tried.is_empty() || self.journal.holds_any() {
            self.record(&tried, now, true)?;
        }
        Ok(())
    }

    fn log_outcome(&mut self, q: &Queued, t: &Try) {
        let to = q.rcpts.join(",");
        match t {
            Try::Sent(answer) => self.log.fields(&[
                ("outbox", "sent"),
                ("ticket", &q.ticket),
                ("kind", &q.kind),
                ("to", &to),
                ("file", &q.file),
                ("answer", answer),
            ]),
            Try::Retry(e, delay) => self.log.fields(&[
                ("outbox", "deferred"),
                ("ticket", &q.ticket),
                ("kind", &q.kind),
                ("to", &to),
                ("retry-in", &format!("{}s", delay.as_secs())),
                ("error", e),
            ]),
            Try::Failed(e) => self.log.fields(&[
                ("outbox", "failed"),
                ("ticket", &q.ticket),
                ("kind", &q.kind),
                ("to", &to),
                ("error", e),
            ]),
        }
    }

    /// Appends the outbox's committed event-log lines (`sent:`, `failed:`) to their tickets'
    /// event logs; only once they are durable does the index forget them. A line that cannot
    /// be appended (a folder made unwritable, a full disk) stays in the index, is reported as
    /// an error naming the file, and is tried again next round and at every start: without it
    /// a rebuilt index would send the mail again.
    ///
    /// The index forgets them in the first group's record after a sync of the store has covered
    /// them (one write transaction a group, not two: each waits for intake's batch to commit),
    /// or at the end of `send_due`. While intake files, its syncs cover them; otherwise every
    /// other group syncs, not every group.
    pub(super) fn append_lines(&mut self) -> Result<(), SenderError> {
        let appended: std::collections::HashSet<i64> = self.appended.iter().map(|a| a.id).collect();
        let ours = |id: i64, l: &HistoryLine| {
            (l.key.starts_with("sent:") || l.key.starts_with("failed:")) && !appended.contains(&id)
        };
        let (done, failed) = pending::append_unsynced(&self.store, &mut self.index, ours)?;
        // Not synced here: any sync of the store makes them durable (intake's, a batch every
        // fraction of a second while it files), and the record after it lets the index forget
        // them. Lines of an earlier group that no sync has covered yet get one now, with these.
        let stale = (self.appended.iter()).any(|a| !self.store.is_synced(a.mark));
        let mark = self.store.sync_mark();
        self.appended
            .extend(done.into_iter().map(|id| Appended { id, mark }));
        if stale {
            self.store.sync()?;
        }
        for (ticket, e) in failed {
            tracing::error!(ticket = %ticket, "event log not written, kept in the index and retried: {e}");
        }
        Ok(())
    }

    /// Lets the index forget the lines appended since the last record, once they are durable.
    pub(super) fn clear_appended(&mut self) -> Result<(), SenderError> {
        if self.appended.is_empty() {
            return Ok(());
        }
        if (self.appended.iter()).any(|a| !self.store.is_synced(a.mark)) {
            self.store.sync()?;
        }
        let ids: Vec<i64> = self.appended.iter().map(|a| a.id).collect();
        let tx = self.index.begin_lazy()?;
        tx.clear_pending_lines(&ids)?;
        tx.commit()?;
        self.appended.clear();
        Ok(())
    }

    /// Logs the start and the end of an outage of the transport (see `outage_change`).
    pub(super) fn note_outage(&mut self, tried: &[(Queued, Try)]) {
        let sent = tried
            .iter()
            .filter(|(_, t)| matches!(t, Try::Sent(_)))
            .count() as u64;
        let deferred: Vec<&str> = tried
            .iter()
            .filter_map(|(_, t)| match t {
                Try::Retry(e, _) => Some(e.as_str()),
                _ => None,
            })
            .collect();
        match outage_change(self.outage.is_some(), sent, deferred.len() as u64) {
            Some(true) => {
                self.outage = Some(std::time::Instant::now());
                tracing::warn!(
                    "outbox: cannot send through {}: {}; {} mail(s) wait and are retried",
                    self.transport.describe(),
                    deferred[0],
                    deferred.len()
                );
            }
            Some(false) => {
                let since = self
                    .outage
                    .take()
                    .map(|t| t.elapsed().as_secs())
                    .unwrap_or(0);
                tracing::info!(
                    "outbox: sending again through {} after {since}s; {sent} mail(s) sent",
                    self.transport.describe()
                );
            }
            None => {}
        }
    }
}

/// What a group of attempts means for an outage: `Some(true)` one begins (mail deferred and
/// nothing sent), `Some(false)` it is over (something sent again), `None` nothing changed. Each
/// change is logged once, so the journal shows outages without a line per retry.
fn outage_change(in_outage: bool, sent: u64, deferred: u64) -> Option<bool> {
    match (in_outage, sent, deferred) {
        (false, 0, d) if d > 0 => Some(true),
        (true, s, _) if s > 0 => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod outage_tests {
    use super::outage_change;

    #[test]
    fn an_outage_begins_once_and_ends_with_the_first_success() {
        assert_eq!(outage_change(false, 0, 3), Some(true));
        assert_eq!(outage_change(true, 0, 3), None, "no line per retry");
        assert_eq!(outage_change(true, 1, 2), Some(false));
        assert_eq!(
            outage_change(false, 2, 1),
            None,
            "one deferral among successes is no outage"
        );
        assert_eq!(outage_change(false, 0, 0), None);
    }
}
