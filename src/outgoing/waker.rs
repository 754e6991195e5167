//! How a batch that queued mail wakes the outbox's thread.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Wakes the sender when a batch queued mail.
#[derive(Default)]
pub struct Waker {
    flag: Mutex<bool>,
    cv: Condvar,
}

impl Waker {
    pub fn wake(&self) {
        *self.flag.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cv.notify_one();
    }

    /// Waits until woken or `timeout`; clears the flag.
    pub fn wait(&self, timeout: Duration) {
        let mut f = self.flag.lock().unwrap_or_else(|e| e.into_inner());
        if !*f {
            f = self
                .cv
                .wait_timeout(f, timeout)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        *f = false;
    }
}
