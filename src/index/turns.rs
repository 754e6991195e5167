//! Turns at SQLite's write lock among this process's own writers, first come first served.
//!
//! SQLite's lock is not a queue: a writer that finds it taken sleeps in the busy handler and
//! tries again, and a writer that commits and begins again at once takes it back before any
//! sleeper wakes. The daemon's intake does exactly that, batch after batch, so the outbox, the
//! API and the timers could wait seconds for a commit of a few milliseconds. Before `BEGIN
//! IMMEDIATE` each of the process's connections to one file therefore takes a turn here, and
//! gives it back when its transaction ends: a writer that asks while another holds the lock goes
//! next. Other processes (`deliver`, the CLI) still meet SQLite's busy handler.
//!
//! A turn is never waited for by the thread that holds the current one (two connections in one
//! thread: SQLite answers "busy", as before), and not longer than `WAIT`: a holder stuck on
//! another thread's work then meets SQLite's busy timeout instead of waiting here for ever.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

/// The longest wait for a turn: as long as for another process's writer.
const WAIT: Duration = super::BUSY_TIMEOUT;

/// The turns of one database file.
#[derive(Default)]
pub(super) struct Turns {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    /// The thread whose transaction holds the turn.
    holder: Option<ThreadId>,
    /// Waiting, in the order they asked.
    waiting: VecDeque<u64>,
    next_ticket: u64,
}

impl Turns {
    /// The turns of the database at `path` (one for every connection of this process to it).
    pub(super) fn of(path: &Path) -> Arc<Turns> {
        static ALL: OnceLock<Mutex<HashMap<PathBuf, Arc<Turns>>>> = OnceLock::new();
        // The folder canonical, the file's name as given: the same key before the file exists.
        let key = match (path.parent(), path.file_name()) {
            (Some(dir), Some(name)) => (std::fs::canonicalize(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            }))
            .map(|d| d.join(name))
            .unwrap_or_else(|_| path.to_path_buf()),
            _ => path.to_path_buf(),
        };
        let mut all = ALL
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        all.entry(key).or_default().clone()
    }

    /// Waits for this thread's turn (see the module's text); held until the `Turn` is dropped.
    pub(super) fn take(self: &Arc<Turns>) -> Option<Turn> {
        self.take_within(WAIT)
    }

    /// The turn at once, or `None` when another writer of this process holds or waits for it.
    pub(super) fn try_take(self: &Arc<Turns>) -> Option<Turn> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.holder.is_some() || !s.waiting.is_empty() {
            return None;
        }
        s.holder = Some(std::thread::current().id());
        Some(Turn {
            turns: self.clone(),
        })
    }

    fn take_within(self: &Arc<Turns>, wait: Duration) -> Option<Turn> {
        let me = std::thread::current().id();
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.holder == Some(me) {
            return None;
        }
        let ticket = s.next_ticket;
        s.next_ticket += 1;
        s.waiting.push_back(ticket);
        let until = Instant::now() + wait;
        loop {
            if s.holder.is_none() && s.waiting.front() == Some(&ticket) {
                s.waiting.pop_front();
                s.holder = Some(me);
                return Some(Turn {
                    turns: self.clone(),
                });
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                s.waiting.retain(|t| *t != ticket);
                drop(s);
                self.changed.notify_all();
                return None;
            }
            s = (self.changed.wait_timeout(s, left))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// A transaction's turn at the write lock; the next waiter's once dropped.
pub(super) struct Turn {
    turns: Arc<Turns>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut s = self.turns.state.lock().unwrap_or_else(|e| e.into_inner());
        s.holder = None;
        drop(s);
        self.turns.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn a_writer_that_asks_while_another_holds_goes_before_the_holders_next_turn() {
        let turns = Arc::new(Turns::default());
        let first = turns.take().unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let asked = Arc::new(AtomicBool::new(false));
        let other = {
            let (turns, order, asked) = (turns.clone(), order.clone(), asked.clone());
            std::thread::spawn(move || {
                asked.store(true, Ordering::SeqCst);
                let _t = turns.take().unwrap();
                order.lock().unwrap().push("other");
            })
        };
        while !asked.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        // Let the other thread reach its wait, then give the turn back and ask again at once.
        while turns.state.lock().unwrap().waiting.is_empty() {
            std::thread::yield_now();
        }
        drop(first);
        let again = turns.take().unwrap();
        order.lock().unwrap().push("holder again");
        drop(again);
        other.join().unwrap();
        assert_eq!(*order.lock().unwrap(), ["other", "holder again"]);
    }

    #[test]
    fn the_holders_own_thread_and_a_long_wait_do_not_wait_for_ever() {
        let turns = Arc::new(Turns::default());
        let held = turns.take().unwrap();
        assert!(
            turns.take().is_none(),
            "the holder's thread is not made to wait for itself"
        );
        let t = turns.clone();
        let waited = std::thread::spawn(move || t.take_within(Duration::from_millis(50)).is_none());
        assert!(
            waited.join().unwrap(),
            "a wait longer than allowed gives up"
        );
        assert!(
            turns.state.lock().unwrap().waiting.is_empty(),
            "and leaves the queue"
        );
        assert!(turns.try_take().is_none(), "held: no turn at once");
        drop(held);
        let again = turns.try_take();
        assert!(again.is_some(), "free: the turn at once");
        drop(again);
        assert!(turns.take().is_some());
    }

    #[test]
    fn one_file_has_one_set_of_turns_however_its_path_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("index.sqlite");
        std::fs::write(&a, b"").unwrap();
        let b = dir.path().join(".").join("index.sqlite");
        assert!(Arc::ptr_eq(&Turns::of(&a), &Turns::of(&b)));
        assert!(!Arc::ptr_eq(
            &Turns::of(&a),
            &Turns::of(&dir.path().join("other"))
        ));
    }
}
