//! Which writes to the store a sync has covered: each `Store::sync` is numbered when it begins
//! and recorded when it completes, so a writer that took a mark after its writes knows, from
//! any thread of the process, when a sync that began later has made them durable.

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

/// Syncs begun, and the highest of (its number + 1) over those that completed.
#[derive(Default)]
pub struct SyncMarks {
    begun: AtomicU64,
    done: AtomicU64,
}

impl SyncMarks {
    /// A sync begins: its number.
    pub fn begin(&self) -> u64 {
        self.begun.fetch_add(1, SeqCst)
    }

    /// Sync `n` completed.
    pub fn end(&self, n: u64) {
        self.done.fetch_max(n + 1, SeqCst);
    }

    /// The mark for what was written until now.
    pub fn mark(&self) -> u64 {
        self.begun.load(SeqCst)
    }

    /// Whether a sync numbered `mark` or later has completed: it began after the mark was
    /// taken, so after the writes before it.
    pub fn covers(&self, mark: u64) -> bool {
        self.done.load(SeqCst) > mark
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    /// What was written before a mark is durable once a sync that began after the mark has
    /// completed, and not by a sync before it.
    #[test]
    fn a_mark_is_covered_by_a_later_sync_only() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path(), true, tmp.path().join("dovecot"), "a").unwrap();
        let first = store.sync_mark();
        assert!(!store.is_synced(first));
        store.sync().unwrap();
        assert!(store.is_synced(first));
        let second = store.sync_mark();
        assert!(
            !store.is_synced(second),
            "a sync before the mark does not count"
        );
        store.sync().unwrap();
        assert!(store.is_synced(second) && store.is_synced(first));
        // A store that is not durable needs no sync.
        let other = tmp.path().join("other");
        let loose = Store::open(&other, false, other.join("dovecot"), "a").unwrap();
        assert!(loose.is_synced(loose.sync_mark()));
    }
}
