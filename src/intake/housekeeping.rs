//! Keeping the index small: the rate-limit counts (autoresponses and agents' notices per
//! address) matter for a day and are dropped after two, at most once an hour.

use std::time::{Duration, Instant};

use super::{Engine, IntakeError};

/// How often the counts are pruned.
const EVERY: Duration = Duration::from_secs(3600);
/// Counts older than this are dropped: the longest window they are asked for is a day.
const KEEP_SECONDS: i64 = 2 * 86_400;

impl Engine {
    /// Drops rate-limit counts nobody asks for any more, at most once per `EVERY`; the daemon
    /// calls it every round, `run --once` once.
    pub fn housekeeping(&mut self) -> Result<(), IntakeError> {
        if self.pruned.is_some_and(|at| at.elapsed() < EVERY) {
            return Ok(());
        }
        self.flush()?;
        let before = self.rules.clock.now().timestamp() - KEEP_SECONDS;
        let tx = self.index.begin()?;
        let dropped = tx.prune_rate_limits(before)?;
        tx.commit()?;
        if dropped > 0 {
            tracing::debug!("dropped {dropped} rate-limit counts older than two days");
        }
        self.pruned = Some(Instant::now());
        Ok(())
    }
}
