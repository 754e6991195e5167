//! Intake's error: what failed, and whether to retry.

use crate::index;

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Index(#[from] index::IndexError),
    #[error("store: {0}")]
    Store(#[from] std::io::Error),
    /// Templates or key unusable: fix the configuration.
    #[error("{0}")]
    Config(String),
    /// A scanner could not look at the message and its policy is tempfail: try again later.
    #[error("deferred: {0}")]
    Deferred(String),
    /// The tree cannot be indexed as it is (two folders with one number): an admin must look.
    #[error("{0}")]
    Tree(String),
    /// The data directory's file system is full: what fitted was filed, the rest waits.
    #[error("{0}")]
    Full(String),
}

impl From<crate::execute::Error> for IntakeError {
    fn from(e: crate::execute::Error) -> IntakeError {
        match e {
            crate::execute::Error::Index(e) => IntakeError::Index(e),
            crate::execute::Error::Io(e) => IntakeError::Store(e),
        }
    }
}

impl From<crate::intake::reindex::ReindexError> for IntakeError {
    fn from(e: crate::intake::reindex::ReindexError) -> IntakeError {
        use crate::intake::reindex::ReindexError as R;
        match e {
            R::Index(e) => IntakeError::Index(e),
            R::Io(e) => IntakeError::Store(e),
            e @ R::Duplicate { .. } => IntakeError::Tree(e.to_string()),
        }
    }
}

impl IntakeError {
    pub fn is_transient(&self) -> bool {
        match self {
            IntakeError::Index(e) => e.is_transient(),
            // Disk full, permissions fixed by an admin, a remounted file system: worth retrying.
            IntakeError::Store(_) => true,
            IntakeError::Config(_) => false,
            IntakeError::Deferred(_) => true,
            // Mail waits at its source until an admin has looked.
            IntakeError::Tree(_) => true,
            IntakeError::Full(_) => true,
        }
    }
}
