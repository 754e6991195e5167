//! Event-log lines committed to the index before they are in the tree (`pending_lines`): each
//! appended to its ticket's event log, made durable with one sync, and only then forgotten by
//! the index, so a crash at any point leaves the line in the index (appended again at the next
//! flush or start; a line read twice counts once, by its key) or in the tree, never in neither.
//! The outbox's `sent:` and `failed:` lines and the service-level round's lines go this way.

use std::collections::{HashMap, HashSet};

use super::Error;
use crate::article::history::{self, HistoryLine};
use crate::index::Index;
use crate::store::{Folder, Store};

/// The lines a flush could not append (kept in the index for the next one): their ticket and
/// why.
pub type Failed = Vec<(String, std::io::Error)>;

/// Where ticket `number`'s folder is now: where its index row says, in the other state's place
/// while a close or reopen is being renamed, or wherever the tree has it (`None`: nowhere). The
/// quarantine for mail of no ticket (an empty number).
pub fn ticket_folder(store: &Store, index: &Index, number: &str) -> Result<Option<Folder>, Error> {
    if number.is_empty() {
        return Ok(Some(Folder::quarantine()));
    }
    folder_at(store, number, index.ticket_location(number)?)
}

/// `ticket_folder` of a ticket whose row in the index says `location` (`None`: it has none).
pub fn folder_at(
    store: &Store,
    number: &str,
    location: Option<(String, crate::index::State)>,
) -> Result<Option<Folder>, Error> {
    let Some((queue, state)) = location else {
        return Ok(store.find_ticket(number)?);
    };
    let closed = state == crate::index::State::Closed;
    let f = Folder::ticket(&queue, number, closed);
    if store.folder_exists(&f) {
        return Ok(Some(f));
    }
    let other = Folder::ticket(&queue, number, !closed);
    if store.folder_exists(&other) {
        return Ok(Some(other));
    }
    if let Some(found) = store.find_ticket(number)? {
        return Ok(Some(found));
    }
    store.ensure_folder(&f)?;
    Ok(Some(f))
}

/// Appends the pending lines `pick` chooses to their tickets' event logs, syncs them, and
/// forgets them. A line whose ticket is nowhere (in neither the index nor the tree) is forgotten
/// with a warning; one that cannot be written stays pending and is returned.
pub fn flush(
    store: &Store,
    index: &mut Index,
    pick: impl Fn(i64, &HistoryLine) -> bool,
) -> Result<Failed, Error> {
    let (done, failed) = append(store, index, pick)?;
    if !done.is_empty() {
        let tx = index.begin_lazy()?;
        tx.clear_pending_lines(&done)?;
        tx.commit()?;
    }
    Ok(failed)
}

/// `flush` without the forgetting: the lines `pick` chooses appended and synced, and the ids of
/// those now durable in the tree (or dropped, their ticket being nowhere), for the caller to
/// clear from the index in a transaction of its own choosing. Until then they are still
/// pending, and a crash appends them again (readers keep the last line per key).
pub fn append(
    store: &Store,
    index: &mut Index,
    pick: impl Fn(i64, &HistoryLine) -> bool,
) -> Result<(Vec<i64>, Failed), Error> {
    let (done, failed) = append_unsynced(store, index, pick)?;
    if !done.is_empty() {
        store.sync()?;
    }
    Ok((done, failed))
}

/// `append` without the sync: the lines are durable in the tree once a sync of the store that
/// began after this returned has completed (`Store::sync_mark`, `Store::is_synced`); until then
/// only the index may be trusted with them.
pub fn append_unsynced(
    store: &Store,
    index: &mut Index,
    pick: impl Fn(i64, &HistoryLine) -> bool,
) -> Result<(Vec<i64>, Failed), Error> {
    let mut done = Vec::new();
    let mut failed = Failed::new();
    let mut picked = Vec::new();
    for (id, ticket, json) in index.pending_lines()? {
        let Ok(line) = serde_json::from_str::<HistoryLine>(&json) else {
            continue;
        };
        if pick(id, &line) {
            picked.push((id, ticket, line));
        }
    }
    // Where their tickets are, asked for all at once; each ticket's lines in one write.
    let mut tickets: Vec<(String, Vec<(i64, HistoryLine)>)> = Vec::new();
    let mut slot: HashMap<String, usize> = HashMap::new();
    for (id, ticket, line) in picked {
        let i = *slot.entry(ticket.clone()).or_insert_with(|| {
            tickets.push((ticket, Vec::new()));
            tickets.len() - 1
        });
        tickets[i].1.push((id, line));
    }
    let numbers: Vec<&str> = (tickets.iter().map(|(t, _)| t.as_str()))
        .filter(|n| !n.is_empty())
        .collect();
    let locations = index.ticket_locations(&numbers)?;
    for (ticket, lines) in tickets {
        let folder = match ticket.is_empty() {
            true => Some(Folder::quarantine()),
            false => folder_at(store, &ticket, locations.get(&ticket).cloned())?,
        };
        let ids = lines.iter().map(|(id, _)| *id);
        let Some(folder) = folder else {
            tracing::warn!(ticket = %ticket, "event-log line of a ticket that is nowhere: dropped");
            done.extend(ids);
            continue;
        };
        match history::append_all(&store.history_path(&folder), lines.iter().map(|(_, l)| l)) {
            Ok(()) => done.extend(ids),
            Err(e) => failed.push((ticket, e)),
        }
    }
    Ok((done, failed))
}

/// `flush` of the lines with these ids.
pub fn flush_ids(store: &Store, index: &mut Index, ids: &[i64]) -> Result<Failed, Error> {
    if ids.is_empty() {
        return Ok(Failed::new());
    }
    let wanted: HashSet<i64> = ids.iter().copied().collect();
    flush(store, index, |id, _| wanted.contains(&id))
}
