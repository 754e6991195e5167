//! IMAP sources: each configured mailbox is read from its checkpoint (UIDVALIDITY and last UID,
//! kept in the index), its messages are filed through the drain loop like a Maildir's, and only
//! after their batch is committed and durable are they acknowledged on the server (\Seen, moved to the processed
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
//! (`imap:<source>:<folder>`), renewed before each batch is filed (`folder`); another node reads the folder only
//! once the lease has run out (its holder died, or read nothing for a lease's length).

mod folder;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{DrainError, Drained, Source, Summary};
use crate::imap::{ImapConfig, ImapError, ImapSource};
use crate::intake::Engine;
use crate::status::SourceStatus;

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

    /// Files everything waiting in every folder of this source, folder after folder.
    fn drain_folders(
        &mut self,
        engine: &mut Engine,
        stop: &AtomicBool,
        summary: &mut Summary,
    ) -> Result<(), DrainError> {
        let source = format!("imap:{}", self.name);
        for folder in &self.cfg.folders {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let f = folder::Folder {
                source: &source,
                folder,
                account: &self.name,
                max_message_bytes: self.cfg.max_message_bytes,
            };
            f.drain(&mut self.src, engine, stop, summary)?;
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
