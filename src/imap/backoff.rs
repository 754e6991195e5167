//! Reconnect backoff: after a failed connect, the next attempt waits 1 s, then 2 s, 4 s, ...
//! up to 5 minutes; a successful connect resets it. While waiting, `check` answers at once with
//! the last failure, so a caller looping over fetch does not hammer the server.

use std::time::{Duration, Instant, SystemTime};

use super::ImapError;

pub const FIRST: Duration = Duration::from_secs(1);
pub const CAP: Duration = Duration::from_secs(300);

#[derive(Debug, Default)]
pub struct Backoff {
    failures: u32,
    until: Option<(Instant, SystemTime)>,
    last: Option<ImapError>,
}

impl Backoff {
    /// The delay after `failures` consecutive failed connects (1 = the first one failed).
    pub fn delay(failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(16);
        FIRST.saturating_mul(1u32 << doublings).min(CAP)
    }

    /// Err with the last failure while backing off, Ok when a connect may be tried.
    pub fn check(&self, now: Instant) -> Result<(), ImapError> {
        match (&self.until, &self.last) {
            (Some((until, _)), Some(last)) if now < *until => {
                let left = until.duration_since(now).as_secs_f64();
                Err(last
                    .clone()
                    .context(&format!("not reconnecting for another {left:.1} s after")))
            }
            _ => Ok(()),
        }
    }

    pub fn failed(&mut self, e: &ImapError, now: Instant) {
        self.failures = self.failures.saturating_add(1);
        let d = Backoff::delay(self.failures);
        self.until = Some((now + d, SystemTime::now() + d));
        self.last = Some(e.clone());
    }

    pub fn succeeded(&mut self) {
        *self = Backoff::default();
    }

    /// When the next connect may be tried, if that is in the future.
    pub fn until(&self, now: Instant) -> Option<SystemTime> {
        self.until.filter(|(i, _)| *i > now).map(|(_, s)| s)
    }

    /// How long until the next connect may be tried.
    pub fn remaining(&self, now: Instant) -> Duration {
        self.until
            .map(|(i, _)| i.saturating_duration_since(now))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_five_minutes() {
        let secs: Vec<u64> = (1..=11).map(|n| Backoff::delay(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(Backoff::delay(u32::MAX), CAP);
    }

    #[test]
    fn refuses_while_waiting_and_resets() {
        let mut b = Backoff::default();
        let t0 = Instant::now();
        assert!(b.check(t0).is_ok());
        b.failed(&ImapError::Auth("bad password".into()), t0);
        let e = b.check(t0 + Duration::from_millis(500)).unwrap_err();
        assert!(
            matches!(&e, ImapError::Auth(m) if m.contains("bad password")),
            "{e}"
        );
        assert!(b.check(t0 + Duration::from_millis(1001)).is_ok());
        b.failed(&ImapError::Transient("refused".into()), t0);
        assert_eq!(b.remaining(t0), Duration::from_secs(2));
        b.succeeded();
        assert!(b.check(t0).is_ok());
        assert_eq!(b.until(t0), None);
    }
}
