//! One folder of an IMAP account as the drain loop takes it. The folder is read by the holder of
//! its lease, taken before the drain and renewed before each batch is filed, from its
//! checkpoint. The reader fetches the next batch while the one before is filed; each batch's
//! checkpoint is stored and its messages acknowledged on the server only once it is committed
//! and durable. A message over `max-message-bytes` is filed as a placeholder in the quarantine
//! and left on the server, the checkpoint passing it.

use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use crate::imap::{Checkpoint, ImapSource, Item};
use crate::intake::{Engine, IntakeError, Message, Outcome};
use crate::source::{DrainError, Holder, Reader, Summary, Taken};

/// Messages fetched and committed together.
const BATCH: usize = 64;

/// One folder of one account.
pub(super) struct Folder<'a> {
    /// `imap:<source name>`, as the index and the mail log name the source.
    pub source: &'a str,
    pub folder: &'a str,
    /// The account's name, for the lease and the log.
    pub account: &'a str,
    pub max_message_bytes: u64,
}

/// Where a message was on the server, to acknowledge it and store the checkpoint past it.
pub(super) struct Uid {
    /// `None` for a message too large to fetch: it stays on the server.
    uid: Option<u32>,
    at: Checkpoint,
}

impl Folder<'_> {
    /// Files everything waiting in the folder, if this node holds its lease.
    pub(super) fn drain(
        &self,
        conn: &mut ImapSource,
        engine: &mut Engine,
        stop: &AtomicBool,
        summary: &mut Summary,
    ) -> Result<(), DrainError> {
        let conn = Mutex::new(conn);
        let mut holder = FolderHolder {
            folder: self,
            conn: &conn,
            lease: format!("imap:{}:{}", self.account, self.folder),
        };
        if !holder.still_held(engine)? {
            tracing::debug!(source = %self.account, folder = %self.folder, "another node reads this folder");
            return Ok(());
        }
        let since = engine
            .index_mut()
            .imap_checkpoint(self.source, self.folder)
            .map_err(IntakeError::from)?
            .map(|(uidvalidity, last_uid)| Checkpoint {
                uidvalidity,
                last_uid,
            });
        let reader = FolderReader {
            folder: self,
            conn: &conn,
            since,
        };
        crate::source::drain(
            engine,
            reader,
            &mut holder,
            self.source,
            None,
            stop,
            summary,
        )
    }
}

/// Fetches the folder's messages after the last one fetched.
struct FolderReader<'a, 'c> {
    folder: &'a Folder<'a>,
    conn: &'a Mutex<&'c mut ImapSource>,
    /// The last message fetched (at first: the stored checkpoint).
    since: Option<Checkpoint>,
}

impl Reader for FolderReader<'_, '_> {
    type Handle = Uid;

    fn next(&mut self, _failed: &mut u64) -> Result<Option<Vec<Taken<Uid>>>, DrainError> {
        let f = self.folder;
        let items = (self.conn.lock().unwrap_or_else(PoisonError::into_inner))
            .fetch(f.folder, self.since, BATCH)?;
        let Some(last) = items.last() else {
            return Ok(None);
        };
        self.since = Some(last.checkpoint());
        let taken = items
            .into_iter()
            .map(|it| {
                let at = it.checkpoint();
                match it {
                    Item::Mail(m) => Taken {
                        message: Message {
                            raw: m.raw,
                            source: f.source.to_string(),
                            name: format!("{}/{}/{}", f.folder, m.uidvalidity, m.uid),
                            remember: false,
                            taken: Instant::now(),
                            quarantine: None,
                            phone: false,
                            spliced: None,
                        },
                        handle: Uid {
                            uid: Some(m.uid),
                            at,
                        },
                    },
                    Item::Oversize {
                        folder,
                        uid,
                        uidvalidity,
                        size,
                    } => Taken {
                        message: oversize(
                            f.source,
                            &folder,
                            uid,
                            uidvalidity,
                            size,
                            f.max_message_bytes,
                        ),
                        handle: Uid { uid: None, at },
                    },
                }
            })
            .collect();
        Ok(Some(taken))
    }
}

/// Keeps the folder's lease, stores its checkpoint and acknowledges filed messages.
struct FolderHolder<'a, 'c> {
    folder: &'a Folder<'a>,
    conn: &'a Mutex<&'c mut ImapSource>,
    lease: String,
}

impl Holder for FolderHolder<'_, '_> {
    type Handle = Uid;

    fn still_held(&mut self, engine: &mut Engine) -> Result<bool, DrainError> {
        let node = engine.node().to_string();
        let lease = engine.rules().cfg.general.lease();
        let now = crate::index::unix_now();
        Ok(engine
            .index_mut()
            .take_lease(&self.lease, &node, now, lease)
            .map_err(IntakeError::from)?)
    }

    /// The checkpoint first, past every message let go of; then the acknowledgement, each UID
    /// with the UIDVALIDITY it was fetched under (a folder recreated since is not touched).
    ///
    /// The messages are filed and durable whether or not the checkpoint could be written (on a
    /// full disk it cannot): they are acknowledged all the same, and the checkpoint's failure
    /// is the answer. Without it the next fetch starts further back and finds them gone, or,
    /// where they stay on the server, sees them again as duplicates.
    fn let_go(&mut self, engine: &mut Engine, done: Vec<(Uid, Outcome)>) -> Result<(), DrainError> {
        let f = self.folder;
        let Some((last, _)) = done.last() else {
            return Ok(());
        };
        let checkpoint = engine
            .index_mut()
            .set_imap_checkpoint(f.source, f.folder, last.at.uidvalidity, last.at.last_uid)
            .map_err(IntakeError::from);
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        for run in done.chunk_by(|(a, _), (b, _)| a.at.uidvalidity == b.at.uidvalidity) {
            let uids: Vec<u32> = run.iter().filter_map(|(u, _)| u.uid).collect();
            conn.acknowledge(f.folder, run[0].0.at.uidvalidity, &uids)?;
        }
        Ok(checkpoint?)
    }
}

/// The stand-in for a message too large to fetch: quarantined with the reason, so an admin
/// finds it; the message itself stays on the server.
fn oversize(
    source: &str,
    folder: &str,
    uid: u32,
    uidvalidity: u32,
    size: u64,
    max: u64,
) -> Message {
    let reason = format!(
        "message of {size} bytes in {source} folder {folder} (UID {uid}, UIDVALIDITY {uidvalidity}) exceeds max-message-bytes {max}; left on the server"
    );
    let raw = format!(
        "From: postdesk <postmaster@localhost>\r\nSubject: Too large to fetch: {folder} UID {uid}\r\n\
         Message-ID: <oversize.{uidvalidity}.{uid}.{}@postdesk.invalid>\r\n\r\n{reason}\r\n",
        source.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    );
    Message {
        raw: raw.into_bytes(),
        source: source.to_string(),
        name: format!("{folder}/{uidvalidity}/{uid}"),
        remember: false,
        taken: Instant::now(),
        quarantine: Some(reason),
        phone: false,
        spliced: None,
    }
}
