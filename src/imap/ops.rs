//! The IMAP conversations behind `ImapSource`: fetching what is new in a folder and
//! acknowledging committed messages (waiting is in `idle`). Short commands have the configured timeout as a
//! whole; streamed answers (FETCH of many messages) have it between two items, so a large fetch
//! may take longer as long as the server keeps sending.

use std::collections::HashMap;
use std::time::Duration;

use async_imap::types::Fetch;
use futures::{Stream, StreamExt};

use super::config::ImapAfter;
use super::conn::{within, Conn};
use super::{Checkpoint, Fetched, ImapError, Item};

/// UIDs per command, so that command lines stay short whatever the UIDs look like.
const UIDS_PER_COMMAND: usize = 500;
/// Bytes of message bodies asked for in one UID FETCH.
const BYTES_PER_FETCH: u64 = 32 << 20;

/// The folder as SELECT reported it.
#[derive(Debug, Clone, Copy)]
pub struct Selected {
    pub uidvalidity: u32,
    pub uid_next: Option<u32>,
}

pub async fn select(c: &mut Conn, folder: &str, t: Duration) -> Result<Selected, ImapError> {
    c.selected = None;
    let mb = within(t, "SELECT", async {
        c.session.select(folder).await.map_err(ImapError::from_imap)
    })
    .await
    .map_err(|e| e.context(&format!("folder {folder:?}")))?;
    let uidvalidity = mb.uid_validity.ok_or_else(|| {
        ImapError::Protocol(format!("folder {folder:?}: the server sent no UIDVALIDITY"))
    })?;
    c.selected = Some((folder.to_owned(), uidvalidity));
    Ok(Selected {
        uidvalidity,
        uid_next: mb.uid_next,
    })
}

/// What a fetch found: the items, and the UID the next new message will have at least (what
/// `wait` compares the folder's UIDNEXT with to notice mail that came before the IDLE started).
pub struct Found {
    pub items: Vec<Item>,
    pub uidvalidity: u32,
    pub known_next: Option<u32>,
}

pub async fn fetch(
    c: &mut Conn,
    folder: &str,
    since: Option<Checkpoint>,
    max: usize,
    max_bytes: u64,
    t: Duration,
) -> Result<Found, ImapError> {
    let sel = select(c, folder, t).await?;
    let v = sel.uidvalidity;
    let start = match since {
        Some(cp) if cp.uidvalidity == v => cp.last_uid.checked_add(1),
        _ => Some(1),
    };
    let Some(start) = start else {
        return Ok(Found {
            items: Vec::new(),
            uidvalidity: v,
            known_next: sel.uid_next,
        });
    };
    // `start:*` also matches the highest UID when every UID is below `start`: filter.
    let query = format!("UID {start}:*");
    let found = within(t, "UID SEARCH", async {
        c.session
            .uid_search(&query)
            .await
            .map_err(ImapError::from_imap)
    })
    .await?;
    let mut uids: Vec<u32> = found.into_iter().filter(|&u| u >= start).collect();
    uids.sort_unstable();
    let all_max = uids.last().copied();
    let truncated = uids.len() > max;
    uids.truncate(max);
    let known_next = if truncated {
        uids.last().map(|u| u + 1)
    } else {
        let after_found = all_max.map(|u| u.saturating_add(1)).unwrap_or(0);
        sel.uid_next
            .map(|n| n.max(after_found))
            .or(all_max.map(|u| u + 1))
    };
    if uids.is_empty() {
        return Ok(Found {
            items: Vec::new(),
            uidvalidity: v,
            known_next,
        });
    }

    let mut sizes: HashMap<u32, u64> = HashMap::new();
    for set in uid_sets(&uids, UIDS_PER_COMMAND) {
        for f in fetch_items(c, &set, "(UID RFC822.SIZE)", t).await? {
            if let (Some(uid), Some(size)) = (f.uid, f.size) {
                sizes.insert(uid, u64::from(size));
            }
        }
    }
    // Messages expunged since the search have no size: they are gone, skip them.
    let present: Vec<(u32, u64)> = uids
        .iter()
        .filter_map(|u| sizes.get(u).map(|s| (*u, *s)))
        .collect();
    let wanted: Vec<u32> = present
        .iter()
        .filter(|(_, s)| *s <= max_bytes)
        .map(|(u, _)| *u)
        .collect();
    let mut bodies: HashMap<u32, Vec<u8>> = HashMap::new();
    for chunk in chunks_by_bytes(&wanted, &sizes) {
        for set in uid_sets(&chunk, UIDS_PER_COMMAND) {
            for f in fetch_items(c, &set, "(UID BODY.PEEK[])", t).await? {
                if let (Some(uid), Some(body)) = (f.uid, f.body()) {
                    bodies.insert(uid, body.to_vec());
                }
            }
        }
    }
    let mut items = Vec::with_capacity(present.len());
    for (uid, size) in present {
        if size > max_bytes {
            items.push(Item::Oversize {
                folder: folder.to_owned(),
                uid,
                uidvalidity: v,
                size,
            });
        } else if let Some(raw) = bodies.remove(&uid) {
            items.push(Item::Mail(Fetched {
                folder: folder.to_owned(),
                uid,
                uidvalidity: v,
                raw,
            }));
        }
    }
    Ok(Found {
        items,
        uidvalidity: v,
        known_next,
    })
}

async fn fetch_items(
    c: &mut Conn,
    set: &str,
    query: &str,
    t: Duration,
) -> Result<Vec<Fetch>, ImapError> {
    let stream = within(t, "UID FETCH", async {
        c.session
            .uid_fetch(set, query)
            .await
            .map_err(ImapError::from_imap)
    })
    .await?;
    collect(stream, t, "UID FETCH").await
}

/// Reads a streamed answer to its end, with the timeout between two items.
async fn collect<T, S>(stream: S, t: Duration, what: &str) -> Result<Vec<T>, ImapError>
where
    S: Stream<Item = async_imap::error::Result<T>>,
{
    let mut stream = std::pin::pin!(stream);
    let mut out = Vec::new();
    loop {
        let next = within(t, what, async { Ok(stream.next().await) }).await?;
        match next {
            Some(Ok(x)) => out.push(x),
            Some(Err(e)) => return Err(ImapError::from_imap(e).context(what)),
            None => return Ok(out),
        }
    }
}

/// Flags, moves or deletes `uids` in `folder`; UIDs already gone are skipped. `uidvalidity` is the
/// one the UIDs were fetched under, if known: when the folder's differs, nothing is touched.
#[allow(clippy::too_many_arguments)]
pub async fn acknowledge(
    c: &mut Conn,
    folder: &str,
    uids: &[u32],
    uidvalidity: Option<u32>,
    after: ImapAfter,
    processed: &str,
    t: Duration,
) -> Result<(), ImapError> {
    let sel = select(c, folder, t).await?;
    if let Some(v) = uidvalidity.filter(|v| *v != sel.uidvalidity) {
        return Err(ImapError::Protocol(format!(
            "folder {folder:?}: UIDVALIDITY changed from {v} to {}: not acknowledging UIDs of the old one",
            sel.uidvalidity
        )));
    }
    if after == ImapAfter::Move && !c.processed_ready {
        ensure_folder(c, processed, t).await?;
        c.processed_ready = true;
    }
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    for set in uid_sets(&sorted, UIDS_PER_COMMAND) {
        let query = format!("UID {set}");
        let mut present: Vec<u32> = within(t, "UID SEARCH", async {
            c.session
                .uid_search(&query)
                .await
                .map_err(ImapError::from_imap)
        })
        .await?
        .into_iter()
        .collect();
        if present.is_empty() {
            continue;
        }
        present.sort_unstable();
        let set = uid_sets(&present, usize::MAX).concat();
        match after {
            ImapAfter::Seen => store(c, &set, "+FLAGS.SILENT (\\Seen)", t).await?,
            ImapAfter::Delete => {
                store(c, &set, "+FLAGS.SILENT (\\Deleted)", t).await?;
                expunge(c, &set, t).await?;
            }
            ImapAfter::Move if c.has("MOVE") => {
                within(t, "UID MOVE", async {
                    c.session
                        .uid_mv(&set, processed)
                        .await
                        .map_err(ImapError::from_imap)
                })
                .await?
            }
            ImapAfter::Move => {
                within(t, "UID COPY", async {
                    c.session
                        .uid_copy(&set, processed)
                        .await
                        .map_err(ImapError::from_imap)
                })
                .await?;
                store(c, &set, "+FLAGS.SILENT (\\Deleted)", t).await?;
                expunge(c, &set, t).await?;
            }
        }
    }
    Ok(())
}

async fn store(c: &mut Conn, set: &str, query: &str, t: Duration) -> Result<(), ImapError> {
    let stream = within(t, "UID STORE", async {
        c.session
            .uid_store(set, query)
            .await
            .map_err(ImapError::from_imap)
    })
    .await?;
    collect(stream, t, "UID STORE").await.map(drop)
}

/// UID EXPUNGE of `set` with UIDPLUS; without it, EXPUNGE, which also removes any other message
/// someone flagged \Deleted in this folder.
async fn expunge(c: &mut Conn, set: &str, t: Duration) -> Result<(), ImapError> {
    if c.has("UIDPLUS") {
        let stream = within(t, "UID EXPUNGE", async {
            c.session
                .uid_expunge(set)
                .await
                .map_err(ImapError::from_imap)
        })
        .await?;
        collect(stream, t, "UID EXPUNGE").await.map(drop)
    } else {
        let stream = within(t, "EXPUNGE", async {
            c.session.expunge().await.map_err(ImapError::from_imap)
        })
        .await?;
        collect(stream, t, "EXPUNGE").await.map(drop)
    }
}

/// LIST the folder; CREATE it when it is not there.
async fn ensure_folder(c: &mut Conn, name: &str, t: Duration) -> Result<(), ImapError> {
    let pattern = quote(name);
    let stream = within(t, "LIST", async {
        c.session
            .list(Some(""), Some(&pattern))
            .await
            .map_err(ImapError::from_imap)
    })
    .await?;
    let names = collect(stream, t, "LIST").await?;
    if names.iter().any(|n| n.name() == name) {
        return Ok(());
    }
    within(t, "CREATE", async {
        c.session.create(name).await.map_err(ImapError::from_imap)
    })
    .await
    .map_err(|e| e.context(&format!("creating processed folder {name:?}")))
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `uids` (sorted) as IMAP sequence sets of at most `per` UIDs each: `1:5,7,9:12`.
pub fn uid_sets(uids: &[u32], per: usize) -> Vec<String> {
    let per = per.max(1);
    uids.chunks(per)
        .map(|chunk| {
            let mut out = String::new();
            let mut i = 0;
            while i < chunk.len() {
                let first = chunk[i];
                let mut last = first;
                while i + 1 < chunk.len() && chunk[i + 1] == last.wrapping_add(1) {
                    i += 1;
                    last = chunk[i];
                }
                if !out.is_empty() {
                    out.push(',');
                }
                if first == last {
                    out.push_str(&first.to_string());
                } else {
                    out.push_str(&format!("{first}:{last}"));
                }
                i += 1;
            }
            out
        })
        .collect()
}

/// Splits `uids` into runs whose sizes add up to at most `BYTES_PER_FETCH` (at least one each).
fn chunks_by_bytes(uids: &[u32], sizes: &HashMap<u32, u64>) -> Vec<Vec<u32>> {
    let mut out: Vec<Vec<u32>> = Vec::new();
    let mut bytes = 0;
    for &u in uids {
        let s = sizes.get(&u).copied().unwrap_or(0);
        match out.last_mut() {
            Some(cur) if bytes + s <= BYTES_PER_FETCH => cur.push(u),
            _ => {
                out.push(vec![u]);
                bytes = 0;
            }
        }
        bytes += s;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_compress_runs() {
        assert_eq!(uid_sets(&[1, 2, 3, 5, 7, 8], 100), ["1:3,5,7:8"]);
        assert_eq!(uid_sets(&[4], 100), ["4"]);
        assert_eq!(uid_sets(&[1, 2, 3, 4], 2), ["1:2", "3:4"]);
        assert!(uid_sets(&[], 10).is_empty());
        assert_eq!(
            uid_sets(&[u32::MAX - 1, u32::MAX], 10),
            ["4294967294:4294967295"]
        );
    }

    #[test]
    fn byte_chunks() {
        let sizes: HashMap<u32, u64> = [(1, 20 << 20), (2, 20 << 20), (3, 1), (4, 40 << 20)].into();
        assert_eq!(
            chunks_by_bytes(&[1, 2, 3, 4], &sizes),
            [vec![1], vec![2, 3], vec![4]]
        );
    }
}
