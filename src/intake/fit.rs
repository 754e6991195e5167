//! Filing a batch on a nearly full disk: when the data directory's file system runs out of
//! space (or inodes, or quota) the batch is tried again in halves, so the messages that fit are
//! filed and only the rest waits at its source.
//!
//! Each attempt is an ordinary batch (see the module above for where a message is at each
//! step): a failed attempt's transaction is rolled back and its staged files are removed by the
//! recovery that follows it, so a smaller attempt starts from the same state with the space
//! given back. Messages of the first attempts that committed are filed; those after the last
//! commit are untouched at their source and are taken in a later round.

use super::{Engine, IntakeError, Message, Outcome, Understood};

/// What became of a batch filed as far as the disk allowed.
pub struct Filed {
    /// The outcomes of the batch's first `outcomes.len()` messages, in order: committed.
    pub outcomes: Vec<Outcome>,
    /// Why the rest was not filed; it stays at its source.
    pub rest: Option<IntakeError>,
}

impl IntakeError {
    /// The file system is full (no space, no inodes, quota exceeded): a smaller batch may fit.
    pub fn is_disk_full(&self) -> bool {
        use std::io::ErrorKind as K;
        match self {
            IntakeError::Store(e) => matches!(e.kind(), K::StorageFull | K::QuotaExceeded),
            IntakeError::Index(crate::index::IndexError::Sql(rusqlite::Error::SqliteFailure(
                e,
                _,
            ))) => e.code == rusqlite::ErrorCode::DiskFull,
            IntakeError::Full(_) => true,
            _ => false,
        }
    }

    /// A full disk met anywhere in a drain (the final flush, a checkpoint, a recovery) says so
    /// in the words of a batch that did not fit, the sentence operators look for.
    pub fn said_full(self) -> IntakeError {
        match self {
            e @ IntakeError::Full(_) => e,
            e if e.is_disk_full() => {
                IntakeError::Full(format!("the data directory's file system is full: {e}"))
            }
            e => e,
        }
    }
}

impl Engine {
    /// `process_understood`, halving the batch while the disk is full, down to one message.
    pub fn process_fitting(&mut self, batch: &[Message], understood: Vec<Understood>) -> Filed {
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut size = batch.len();
        while outcomes.len() < batch.len() {
            let start = outcomes.len();
            let end = (start + size).min(batch.len());
            match self.process_understood(&batch[start..end], understood[start..end].to_vec()) {
                Ok(done) => outcomes.extend(done),
                Err(e) if e.is_disk_full() && end - start > 1 => {
                    size = (end - start) / 2;
                    tracing::warn!("{e}: trying {size} of the batch's messages at a time");
                }
                Err(e) if e.is_disk_full() => {
                    let rest = IntakeError::Full(format!(
                        "the data directory's file system is full: {} of {} messages of the \
                         batch filed, the rest wait at their source ({e})",
                        start,
                        batch.len()
                    ));
                    return Filed {
                        outcomes,
                        rest: Some(rest),
                    };
                }
                Err(e) => {
                    return Filed {
                        outcomes,
                        rest: Some(e),
                    }
                }
            }
        }
        Filed {
            outcomes,
            rest: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::IntakeError;
    use std::io::{Error, ErrorKind};

    #[test]
    fn full_is_no_space_no_inodes_or_quota_and_nothing_else() {
        let store = |k: ErrorKind| IntakeError::Store(Error::new(k, "x"));
        assert!(store(ErrorKind::StorageFull).is_disk_full());
        assert!(store(ErrorKind::QuotaExceeded).is_disk_full());
        assert!(IntakeError::Store(Error::from_raw_os_error(libc::ENOSPC)).is_disk_full());
        assert!(!store(ErrorKind::PermissionDenied).is_disk_full());
        assert!(!IntakeError::Deferred("spamd".into()).is_disk_full());
        let sql = |code| {
            IntakeError::Index(crate::index::IndexError::Sql(
                rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None),
            ))
        };
        assert!(sql(rusqlite::ffi::SQLITE_FULL).is_disk_full());
        assert!(!sql(rusqlite::ffi::SQLITE_BUSY).is_disk_full());
    }

    #[test]
    fn a_full_disk_anywhere_says_the_file_system_is_full() {
        let enospc = IntakeError::Store(Error::from_raw_os_error(libc::ENOSPC));
        let said = enospc.said_full().to_string();
        assert!(said.contains("file system is full"), "{said}");
        assert!(said.contains("No space left on device"), "{said}");
        let sql = IntakeError::Index(crate::index::IndexError::Sql(
            rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
                None,
            ),
        ));
        assert!(sql.said_full().to_string().contains("file system is full"));
        let fitted = IntakeError::Full("the data directory's file system is full: 3 of 8".into());
        assert_eq!(
            fitted.said_full().to_string(),
            "the data directory's file system is full: 3 of 8"
        );
        let other = IntakeError::Deferred("spamd".into())
            .said_full()
            .to_string();
        assert_eq!(other, "deferred: spamd");
    }
}
