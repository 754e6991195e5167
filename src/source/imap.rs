//! IMAP sources: each configured mailbox is read from its checkpoint (UIDVALIDITY and last UID,
//! kept in the index), its messages are filed like a Maildir's, and only after their batch is
//! committed and durable are they acknowledged on the server (\Seen, moved to the processed
//! folder, or deleted) and the checkpoint advanced.
//!
//! Exactly once: a crash after the commit and before the acknowledgement brings the messages
//! back at the next fetch; they are recognised by their digest and make no second article, and
//! are acknowledged then. A changed UIDVALIDITY makes the source read the whole folder again,
//! with the same result. A message over `max-message-bytes` is not fetched: a placeholder goes
//! to the quarantine with the reason (folder, UID, size), the message stays on the server, and
//! the checkpoint passes it, so it is dealt with once.
//!
//! Several nodes may read one account: a folder is read by the holder of its lease
//! (`imap:<source>:<folder>`), renewed before each batch; another node reads the folder only
//! once the lease has run out (its holder died, or read nothing for a lease's length).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::{DrainError, Drained, Source, Summary};
use crate::imap::{Checkpoint, ImapConfig, ImapError, ImapSource, Item};
use crate::intake::{Engine, IntakeError, Message};
use crate::status::SourceStatus;

/// Messages fetched and committed together.
const BATCH: usize = 64;

impl From<ImapError> for DrainError {
    fn from(e: ImapError) -> DrainError {
        DrainError::Peer(e.to_string())
    }
}

pub struct ImapIntake {
    pub name: String,
    cfg: ImapConfig,
    src: ImapSource,
}

impl ImapIntake {
    pub fn new(cfg: &ImapConfig, base_dir: &Path) -> Result<ImapIntake, ImapError> {
        Ok(ImapIntake {
            name: cfg.name.clone(),
            cfg: cfg.clone(),
            src: ImapSource::new(cfg, base_dir)?,
        })
    }

    /// Files everything waiting in every folder of this source.
    fn drain_folders(
        &mut self,
        engine: &mut Engine,
        stop: &AtomicBool,
        summary: &mut Summary,
    ) -> Result<(), DrainError> {
        let source = format!("imap:{}", self.name);
        let node = engine.node().to_string();
        let lease = engine.rules().cfg.general.lease();
        for folder in self.cfg.folders.clone() {
            let lease_name = format!("imap:{}:{folder}", self.name);
            while !stop.load(Ordering::Relaxed) {
                let now = crate::index::unix_now();
                let held = engine
                    .index_mut()
                    .take_lease(&lease_name, &node, now, lease)
                    .map_err(IntakeError::from)?;
                if !held {
                    tracing::debug!(source = %self.name, folder = %folder, "another node reads this folder");
                    break;
                }
                let since = engine
                    .index_mut()
                    .imap_checkpoint(&source, &folder)
                    .map_err(IntakeError::from)?
                    .map(|(uidvalidity, last_uid)| Checkpoint {
                        uidvalidity,
                        last_uid,
                    });
                let items = self.src.fetch(&folder, since, BATCH)?;
                if items.is_empty() {
                    break;
                }
                let checkpoints: Vec<Checkpoint> = items.iter().map(Item::checkpoint).collect();
                let mut uids = Vec::new();
                let msgs: Vec<Message> = items
                    .into_iter()
                    .map(|it| match it {
                        Item::Mail(f) => {
                            uids.push(Some(f.uid));
                            Message {
                                raw: f.raw,
                                source: source.clone(),
                                name: format!("{folder}/{}/{}", f.uidvalidity, f.uid),
                                remember: false,
                                taken: Instant::now(),
                                quarantine: None,
                                phone: false,
                                spliced: None,
                            }
                        }
                        Item::Oversize {
                            folder,
                            uid,
                            uidvalidity,
                            size,
                        } => {
                            uids.push(None);
                            oversize(
                                &source,
                                &folder,
                                uid,
                                uidvalidity,
                                size,
                                self.cfg.max_message_bytes,
                            )
                        }
                    })
                    .collect();
                let understood = engine.understand(&msgs)?;
                // On a full disk the first messages may be filed and the rest not: those stay
                // on the server, after the checkpoint.
                let filed = engine.process_fitting(&msgs, understood);
                let n = filed.outcomes.len();
                if n > 0 {
                    engine.flush()?;
                    for o in &filed.outcomes {
                        summary.add(o);
                    }
                    let last = &checkpoints[n - 1];
                    engine
                        .index_mut()
                        .set_imap_checkpoint(&source, &folder, last.uidvalidity, last.last_uid)
                        .map_err(IntakeError::from)?;
                    let acked: Vec<u32> = uids[..n].iter().flatten().copied().collect();
                    if !acked.is_empty() {
                        self.src.acknowledge(&folder, last.uidvalidity, &acked)?;
                    }
                }
                if let Some(e) = filed.rest {
                    return Err(e.into());
                }
            }
        }
        Ok(())
    }

    /// Blocks until the server reports new mail in the first folder (IDLE) or the poll
    /// interval passes, or `stop` is set.
    pub fn wait(&mut self, stop: &AtomicBool) -> Result<bool, ImapError> {
        let folder = self
            .cfg
            .folders
            .first()
            .cloned()
            .unwrap_or_else(|| "INBOX".into());
        self.src.wait(&folder, stop)
    }

    /// The connection's state as the source keeps it.
    pub fn state(&self) -> SourceStatus {
        let st = self.src.state();
        let stamp = |t: std::time::SystemTime| {
            chrono::DateTime::<chrono::Utc>::from(t)
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string()
        };
        SourceStatus {
            name: self.name.clone(),
            kind: "imap".into(),
            state: if st
                .backoff_until
                .is_some_and(|t| t > std::time::SystemTime::now())
            {
                "backing-off".into()
            } else if st.connected {
                "ok".into()
            } else {
                "disconnected".into()
            },
            last_success: st.last_success.map(stamp),
            last_error: st.last_error.clone(),
            backlog: None,
        }
    }
}

impl Source for ImapIntake {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "imap"
    }

    fn drain(
        &mut self,
        engine: &mut Engine,
        stop: &AtomicBool,
        summary: &mut Summary,
    ) -> Result<(), DrainError> {
        self.drain_folders(engine, stop, summary)
    }

    fn backs_off_itself(&self) -> bool {
        true
    }

    /// The connection's own state, and the drain's failure where there was one.
    fn status(&self, _last: Option<&SourceStatus>, drained: &Drained) -> SourceStatus {
        let mut st = self.state();
        if let Some(e) = &drained.error {
            if st.state == "ok" {
                st.state = "failing".into();
            }
            st.last_error = Some(e.to_string());
        }
        st
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
