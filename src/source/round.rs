//! One kind of source and one round over them. A Maildir, an IMAP account and the one message
//! `deliver` reads from standard input are each a `Source`; the daemon's loop, `run --once` and
//! `deliver` all file mail by calling `round` over theirs, so what a round does (stop between
//! sources, tell a failing source from a failing intake, each source's state for `status`)
//! is written once.

use std::sync::atomic::{AtomicBool, Ordering};

use super::Summary;
use crate::intake::{Engine, IntakeError};
use crate::status::{self, SourceStatus};

/// Why a drain stopped early. Either way, what was not committed is still at the source.
#[derive(Debug, thiserror::Error)]
pub enum DrainError {
    /// Filing failed (the index, the store, a full disk).
    #[error(transparent)]
    Intake(#[from] IntakeError),
    /// The source itself failed: its server is away, or refused the login.
    #[error("{0}")]
    Peer(String),
}

/// Where mail comes from. A source lets go of a message (deletes it, marks it seen, advances
/// its checkpoint) only after the batch that filed it is committed and durable.
pub trait Source {
    fn name(&self) -> &str;

    /// `maildir`, `imap` or `stdin`, as `status` shows it.
    fn kind(&self) -> &'static str;

    /// Files everything waiting, in batches, until there is nothing left or `stop` is set:
    /// through the one drain loop (`source::drain`), with the source's `Reader` and `Holder`.
    fn drain(
        &mut self,
        engine: &mut Engine,
        stop: &AtomicBool,
        summary: &mut Summary,
    ) -> Result<(), DrainError>;

    /// Messages waiting, where the source can count them without asking a server.
    fn backlog(&self) -> Option<u64> {
        None
    }

    /// Whether the source backs off by itself after its server failed (it then answers a drain
    /// at once), so that the round is tried again soon instead of backing off as a whole.
    fn backs_off_itself(&self) -> bool {
        false
    }

    /// The source's state for `status` after a drain; `last` is what the previous round said.
    fn status(&self, last: Option<&SourceStatus>, drained: &Drained) -> SourceStatus {
        let mut st = last.cloned().unwrap_or_else(|| SourceStatus {
            name: self.name().into(),
            kind: self.kind().into(),
            ..Default::default()
        });
        match &drained.error {
            None => {
                st.state = "ok".into();
                st.last_success = Some(status::now());
            }
            Some(e) => {
                st.state = "failing".into();
                st.last_error = Some(e.to_string());
            }
        }
        if drained.deferred {
            st.state = "deferring".into();
            st.last_error = Some("a scanner is unavailable; messages wait at the source".into());
        }
        st.backlog = self.backlog();
        st
    }
}

/// How one source's drain went.
#[derive(Debug, Default)]
pub struct Drained {
    pub error: Option<DrainError>,
    /// Messages were left at the source for a scanner that could not look.
    pub deferred: bool,
}

/// What a round over the sources came to.
#[derive(Debug, Default)]
pub struct Round {
    /// Each drained source's state, in the order drained.
    pub states: Vec<SourceStatus>,
    /// Filing failed, or a source that does not back off by itself failed or deferred
    /// messages: the next round should wait longer.
    pub back_off: bool,
    /// A source that backs off by itself failed: look again soon.
    pub retry_soon: bool,
    /// The first failure of filing itself, which ends `run --once` and `deliver` with an error.
    pub failure: Option<IntakeError>,
    /// Messages left at failing sources (their backlog, or one for a source that cannot count).
    pub left: u64,
}

/// Drains each source in turn (until `stop` is set), each failure logged and kept in its
/// source's state; `last` holds the states of the previous round.
pub fn round<'a>(
    engine: &mut Engine,
    sources: impl IntoIterator<Item = &'a mut dyn Source>,
    stop: &AtomicBool,
    summary: &mut Summary,
    last: &[SourceStatus],
) -> Round {
    let mut r = Round::default();
    for src in sources {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let deferred_before = summary.deferred;
        let error = src.drain(engine, stop, summary).err();
        let drained = Drained {
            deferred: summary.deferred > deferred_before,
            error,
        };
        if let Some(e) = &drained.error {
            let transient = matches!(e, DrainError::Intake(i) if i.is_transient());
            tracing::error!(source = %src.name(), transient, "{e}");
            r.left += src.backlog().unwrap_or(1);
            match e {
                DrainError::Peer(_) if src.backs_off_itself() => r.retry_soon = true,
                _ => r.back_off = true,
            }
        }
        if drained.deferred {
            r.back_off = true;
        }
        let previous = last.iter().find(|s| s.name == src.name());
        r.states.push(src.status(previous, &drained));
        if let Some(DrainError::Intake(e)) = drained.error {
            r.failure.get_or_insert(e);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;

    /// A source whose drains go as the test says, counting them.
    struct Scripted {
        name: &'static str,
        outcome: fn() -> Result<(), DrainError>,
        defers: bool,
        own_backoff: bool,
        drains: u32,
    }

    impl Source for Scripted {
        fn name(&self) -> &str {
            self.name
        }
        fn kind(&self) -> &'static str {
            "maildir"
        }
        fn drain(
            &mut self,
            _: &mut Engine,
            stop: &AtomicBool,
            summary: &mut Summary,
        ) -> Result<(), DrainError> {
            self.drains += 1;
            if self.defers {
                summary.deferred += 1;
            }
            if self.name == "stops" {
                stop.store(true, Ordering::Relaxed);
            }
            (self.outcome)()
        }
        fn backlog(&self) -> Option<u64> {
            Some(7)
        }
        fn backs_off_itself(&self) -> bool {
            self.own_backoff
        }
    }

    fn scripted(name: &'static str, outcome: fn() -> Result<(), DrainError>) -> Scripted {
        Scripted {
            name,
            outcome,
            defers: false,
            own_backoff: false,
            drains: 0,
        }
    }

    fn engine(dir: &Path) -> Engine {
        let text = format!(
            "[general]\ndata-dir = {:?}\n[[queue]]\nname = \"Support\"\naddresses = [\"support@company.example\"]\n",
            dir.join("var")
        );
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let cfg = Config::parse(&text, &repo.join("postdesk.toml")).unwrap();
        Engine::open(&cfg, &cfg.data_dir()).unwrap()
    }

    fn ok() -> Result<(), DrainError> {
        Ok(())
    }
    fn server_away() -> Result<(), DrainError> {
        Err(DrainError::Peer("connection refused".into()))
    }
    fn disk_full() -> Result<(), DrainError> {
        Err(IntakeError::Full("no space left on device".into()).into())
    }

    #[test]
    fn each_source_is_drained_and_its_failure_kept_in_its_state_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let mut engine = engine(tmp.path());
        let mut a = scripted("a", ok);
        let mut imap = scripted("imap", server_away);
        imap.own_backoff = true;
        let mut c = scripted("c", ok);
        let stop = AtomicBool::new(false);
        let mut summary = Summary::default();
        let earlier = SourceStatus {
            name: "imap".into(),
            kind: "imap".into(),
            state: "ok".into(),
            last_success: Some("2026-12-01T00:00:00.000Z".into()),
            ..Default::default()
        };
        let all: [&mut dyn Source; 3] = [&mut a, &mut imap, &mut c];
        let r = round(&mut engine, all, &stop, &mut summary, &[earlier]);
        assert_eq!((a.drains, imap.drains, c.drains), (1, 1, 1));
        assert!(r.retry_soon && !r.back_off && r.failure.is_none());
        assert_eq!(r.left, 7);
        let states: Vec<(&str, &str)> = (r.states.iter())
            .map(|s| (s.name.as_str(), s.state.as_str()))
            .collect();
        assert_eq!(states, [("a", "ok"), ("imap", "failing"), ("c", "ok")]);
        let imap_state = &r.states[1];
        assert_eq!(imap_state.last_error.as_deref(), Some("connection refused"));
        assert_eq!(
            imap_state.last_success.as_deref(),
            Some("2026-12-01T00:00:00.000Z"),
            "when it last worked stays known"
        );
        assert_eq!(r.states[0].backlog, Some(7));
    }

    #[test]
    fn a_failing_intake_backs_off_and_is_the_round_failure() {
        let tmp = tempfile::tempdir().unwrap();
        let mut engine = engine(tmp.path());
        let mut full = scripted("full", disk_full);
        full.own_backoff = true;
        let mut deferring = scripted("deferring", ok);
        deferring.defers = true;
        let stop = AtomicBool::new(false);
        let mut summary = Summary::default();
        let all: [&mut dyn Source; 2] = [&mut full, &mut deferring];
        let r = round(&mut engine, all, &stop, &mut summary, &[]);
        assert!(
            r.back_off && !r.retry_soon,
            "a full disk is no server's backoff"
        );
        assert!(matches!(r.failure, Some(IntakeError::Full(_))));
        assert_eq!(r.states[0].state, "failing");
        assert_eq!(r.states[1].state, "deferring");
    }

    #[test]
    fn a_stop_ends_the_round_before_the_next_source() {
        let tmp = tempfile::tempdir().unwrap();
        let mut engine = engine(tmp.path());
        let mut stops = scripted("stops", ok);
        let mut next = scripted("next", ok);
        let stop = AtomicBool::new(false);
        let mut summary = Summary::default();
        let all: [&mut dyn Source; 2] = [&mut stops, &mut next];
        let r = round(&mut engine, all, &stop, &mut summary, &[]);
        assert_eq!((stops.drains, next.drains), (1, 0));
        assert_eq!(r.states.len(), 1);
    }
}
