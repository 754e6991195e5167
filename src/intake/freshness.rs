//! Before any mail is taken, the index must know every ticket of the tree: an index that was
//! deleted, damaged, replaced or restored from an older copy would hand out ticket numbers
//! again and file new customers' mail into other customers' tickets. It is rebuilt from the
//! tree first (DESIGN invariant 3), by every process that writes: the daemon, `run --once`,
//! `deliver`, the ticket and outbox commands, `reindex`.
//!
//! The check is cheap enough for every `deliver`: the index and the store's marker each hold
//! the store's identity and a generation that every commit opening tickets counts up
//! (`index::generation`, `store::generation`); comparing them is one small file read and one
//! query. Only an index without a generation (new, or from before markers) looks at the tree,
//! and only as far as its first ticket.

use rand::Rng;

use crate::config::Config;
use crate::index::Index;
use crate::intake::reindex;
use crate::store::generation::Generation;
use crate::store::{Store, Tree};

use super::{IntakeError, Rules};

/// What to do about the index at start.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Fresh,
    /// Record this generation in both (a new store, or a store from before markers).
    Mark(Generation),
    /// Rebuild from the tree, for this reason.
    Rebuild(String),
}

/// The decision, from what index and store record; `tree_has_contents` is asked only when the
/// index records nothing.
pub fn judge(
    index: Option<(u64, u64)>,
    index_has_contents: bool,
    marker: Option<Generation>,
    tree_has_contents: impl FnOnce() -> bool,
    new_id: u64,
) -> Verdict {
    match (index, marker) {
        (Some((id, _)), Some(m)) if m.store != id => {
            Verdict::Rebuild("the index belongs to another store".into())
        }
        (Some((_, g)), Some(m)) if m.count > g => Verdict::Rebuild(format!(
            "the index is older than the tree (generation {g}, the tree's is {})",
            m.count
        )),
        (Some(_), Some(_)) => Verdict::Fresh,
        (Some((store, count)), None) => Verdict::Mark(Generation { store, count }),
        (None, Some(_)) => Verdict::Rebuild(
            "the index does not know this store (it is new, was deleted or replaced)".into(),
        ),
        (None, None) if !index_has_contents && tree_has_contents() => {
            Verdict::Rebuild("the index is empty and the tree has tickets".into())
        }
        (None, None) => Verdict::Mark(Generation {
            store: new_id,
            count: 0,
        }),
    }
}

/// Checks the index against the store and rebuilds it when it is behind. `damaged` says the
/// index was just set aside and replaced by an empty one.
pub fn ensure(
    cfg: &Config,
    data_dir: &std::path::Path,
    store: &Store,
    index: &mut Index,
    damaged: bool,
) -> Result<(), IntakeError> {
    // Judged and marked under the index's write lock: processes starting together on a new
    // store would otherwise each mark it with an identity of their own, and the next one to
    // start would find index and tree disagreeing and rebuild under the others' commits.
    let tx = index.begin()?;
    let marker = store.generation()?;
    let verdict = if damaged {
        Verdict::Rebuild("the index was damaged".into())
    } else {
        judge(
            tx.generation()?,
            tx.has_contents()?,
            marker,
            || store.has_contents().unwrap_or(true),
            new_id(),
        )
    };
    match verdict {
        Verdict::Fresh => Ok(()),
        Verdict::Mark(g) => {
            tx.set_generation(g.store, g.count)?;
            // The tree's marker first: a crash before the commit leaves a marker the index
            // does not know, which the next start rebuilds from the tree, never the reverse.
            store.set_generation(g)?;
            tx.commit()?;
            Ok(())
        }
        Verdict::Rebuild(why) => {
            drop(tx);
            tracing::warn!("{why}: rebuilding the index from the tree before taking mail");
            rebuild(cfg, data_dir, store, index)
        }
    }
}

/// Rebuilds the index from the tree and records the store's generation in it.
pub fn rebuild(
    cfg: &Config,
    data_dir: &std::path::Path,
    store: &Store,
    index: &mut Index,
) -> Result<(), IntakeError> {
    rebuild_with(cfg, data_dir, store, index, &mut |_, _| {}).map(|_| ())
}

pub fn rebuild_with(
    cfg: &Config,
    data_dir: &std::path::Path,
    store: &Store,
    index: &mut Index,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<reindex::Counts, IntakeError> {
    let rules = Rules::new(cfg);
    let counts = reindex::rebuild(&Tree::at(data_dir), index, &rules, progress)?;
    let g = match store.generation()? {
        Some(g) => g,
        None => Generation {
            store: new_id(),
            count: 0,
        },
    };
    index.set_generation(g.store, g.count)?;
    store.set_generation(g)?;
    Ok(counts)
}

/// A store identity: random, positive as an SQLite integer.
fn new_id() -> u64 {
    (rand::rng().random::<u64>() >> 1).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: Generation = Generation { store: 7, count: 5 };

    #[test]
    fn an_index_behind_the_tree_or_of_another_store_is_rebuilt() {
        let no_tree = || panic!("the tree need not be looked at");
        assert_eq!(
            judge(Some((7, 5)), true, Some(M), no_tree, 1),
            Verdict::Fresh
        );
        assert_eq!(
            judge(Some((7, 6)), true, Some(M), no_tree, 1),
            Verdict::Fresh
        );
        assert!(matches!(
            judge(Some((7, 4)), true, Some(M), no_tree, 1),
            Verdict::Rebuild(_)
        ));
        assert!(matches!(
            judge(Some((8, 9)), true, Some(M), no_tree, 1),
            Verdict::Rebuild(_)
        ));
        assert!(matches!(
            judge(None, false, Some(M), no_tree, 1),
            Verdict::Rebuild(_)
        ));
        assert_eq!(
            judge(Some((7, 3)), true, None, no_tree, 1),
            Verdict::Mark(Generation { store: 7, count: 3 })
        );
    }

    #[test]
    fn without_records_the_tree_decides() {
        assert!(matches!(
            judge(None, false, None, || true, 9),
            Verdict::Rebuild(_)
        ));
        let fresh = Verdict::Mark(Generation { store: 9, count: 0 });
        assert_eq!(judge(None, false, None, || false, 9), fresh);
        // An index from before markers is trusted once and marked.
        assert_eq!(judge(None, true, None, || true, 9), fresh);
    }
}
