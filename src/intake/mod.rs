//! Intake: turns batches of raw messages into articles, tickets and quarantine entries, and
//! commits each batch together.
//!
//! Where a message is if the process dies (DESIGN invariant 1), for batch N:
//! 1. understanding (parse, classify, route; on a reader thread), deciding, writing staged
//!    files: only at its source; its staged files are orphans that recovery deletes.
//! 2. `syncfs` (covering batch N's staged files and batch N-1's renames), then one index
//!    transaction: batch N's rows, naming their staged files (`staged` column), and batch N-1's
//!    rows marked placed. From here the message is at its source *and* committed; recovery
//!    places whatever is unplaced, and the source copy comes back as a duplicate (its digest).
//! 3. renames into the tree, on the placement thread, while batch N+1 is decided.
//! 4. the next batch's `syncfs` and commit (or `Engine::flush`) make the renames durable and
//!    mark the rows placed; only then does the source let go of batch N's messages.
//!
//! On a full disk a batch is filed in halves (`fit`): what fits is committed as above, the rest
//! is never written and stays at its source.

mod agent_plan;
mod answer;
mod apply;
mod carry;
mod change;
#[cfg(test)]
mod clock_tests;
mod customer;
mod error;
pub mod fax;
mod file;
mod find;
mod fit;
mod freshness;
mod housekeeping;
pub mod inspect;
mod moves;
mod note;
mod outbound;

mod plan;
mod process;
mod recover;
pub mod reindex;
mod reject;
mod reply;
mod request;
mod rules;

pub use crate::article::{attributes, build_article, history};
pub use change::TicketChange;
pub use error::IntakeError;
pub use file::{participants, PHONE};
pub use fit::Filed;
pub use history::HistoryLine;
pub use inspect::Scanned;
pub use moves::Adopted;
pub use plan::Analysis;
pub(crate) use process::LogInfo;
pub use rules::{Rules, Understood};

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::config::Config;
use crate::index::Index;
use crate::maillog::MailLog;
use crate::store::spliced::Spliced;
use crate::store::Store;

/// A message handed in by a source.
pub struct Message {
    pub raw: Vec<u8>,
    /// Source name and the message's name there, for the mail log and the trace headers.
    pub source: String,
    pub name: String,
    /// Record the (source, name) pair as seen, in the same commit (for sources that keep files).
    pub remember: bool,
    /// When the source handed it over: the mail log reports the time from here to the commit.
    pub taken: Instant,
    /// The source already knows it must be quarantined (e.g. too large to fetch), and why.
    pub quarantine: Option<String>,
    /// A call's article the telephone API wrote: filed with direction `phone`.
    pub phone: bool,
    /// The message's last part lives in a file (a call's recording): `raw` is the message
    /// without that part's bytes, which are read from the file piece by piece to hash the
    /// message and to write its stored copy. The file must stay until the message is filed.
    pub spliced: Option<Spliced>,
}

impl Message {
    /// The message's length as stored (its spliced part included).
    pub fn len(&self) -> u64 {
        match &self.spliced {
            Some(s) => s.total_len(&self.raw),
            None => self.raw.len() as u64,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created {
        ticket: String,
        queue: String,
    },
    FollowUp {
        ticket: String,
        queue: String,
        reopened: bool,
    },
    Duplicate {
        ticket: Option<String>,
    },
    Quarantined {
        reason: String,
    },
    /// An agent's answer (relayed) or note (filed only).
    Answered {
        ticket: String,
        queue: String,
        note: bool,
    },
    /// A customer's request by mail: kept in the quarantine beside its answer, if any.
    Request {
        queue: String,
        said: String,
    },
}

impl Outcome {
    /// What became of the message, in one line for whoever handed it in (an MTA's pipe or
    /// LMTP client).
    pub fn summary(&self) -> String {
        match self {
            Outcome::Created { ticket, .. } => format!("stored: new ticket {ticket}"),
            Outcome::FollowUp { ticket, .. } => format!("stored: follow-up to ticket {ticket}"),
            Outcome::Duplicate { .. } => "stored: duplicate of a message already filed".into(),
            Outcome::Quarantined { reason } => format!("stored in quarantine: {reason}"),
            Outcome::Answered { ticket, note, .. } => format!(
                "stored: {} to ticket {ticket}",
                if *note { "note" } else { "answer" }
            ),
            Outcome::Request { .. } => "stored: a customer's request, answered by mail".into(),
        }
    }
}

/// What an MTA is told of any failure to take a message (it goes back to the sender in delay
/// notices, so it names nothing of this machine); the detail goes to the system log.
pub const TEMPORARY: &str =
    "temporary failure, the message stays with the mail system and is retried (details in the system log)";

pub struct Engine {
    placer: crate::execute::Placer,
    data_dir: std::path::PathBuf,
    rules: Arc<Rules>,
    store: Arc<Store>,
    index: Index,
    log: MailLog,
    /// Told when a batch queued outgoing mail.
    waker: Option<std::sync::Arc<crate::outgoing::Waker>>,
    /// The listed tree's change time at the last look for folders agents moved that left
    /// nothing to look at again (`moves`).
    moves_seen: Option<std::time::SystemTime>,
    /// When the rate-limit counts were last pruned (`housekeeping`).
    pruned: Option<std::time::Instant>,
    /// This node's name (`[general] node`).
    node: String,
    /// A batch failed and the recovery after it failed too (the index was away): its staged
    /// files are still in this process's area, and the next batch recovers first.
    recovery_owed: bool,
    /// The actions carried out for each message, in order, once `record_actions` asked for
    /// them (a test compares them with `explain`'s plans).
    carried: Option<Vec<Vec<crate::decide::action::Action>>>,
}

/// `cfg` with the agents the directory's groups add; the configuration as it is when the
/// directory cannot be read (its groups then add nothing, and the error is logged).
fn with_group_agents(cfg: &Config, index: &Index) -> Config {
    crate::directory::rights::with_group_agents(cfg, index).unwrap_or_else(|e| {
        tracing::error!("agents' groups not read from the directory: {e}");
        cfg.clone()
    })
}

impl Engine {
    /// Opens store and index under `data_dir`, then finishes whatever a crash interrupted.
    pub fn open(cfg: &Config, data_dir: &Path) -> Result<Engine, IntakeError> {
        Engine::open_with_clock(cfg, data_dir, crate::clock::system())
    }

    /// `open`, with the time read from `clock` instead of the system.
    pub fn open_with_clock(
        cfg: &Config,
        data_dir: &Path,
        clock: Arc<dyn crate::clock::Clock>,
    ) -> Result<Engine, IntakeError> {
        std::fs::create_dir_all(data_dir).map_err(crate::access::at(data_dir))?;
        let shared = cfg.data_dir();
        let shared = [
            crate::store::open_tree(&shared),
            crate::store::staging_dir(&shared),
        ];
        crate::access::share_store(&shared, cfg.dovecot.store_group.as_deref())
            .map_err(|e| IntakeError::Store(std::io::Error::other(e)))?;
        let durable = cfg.general.durable;
        let node = cfg.general.node();
        let store = Arc::new(
            Store::open(data_dir, durable, data_dir.join(&cfg.dovecot.dir), &node)?
                .with_clock(clock.clone()),
        );
        let index_at = cfg.index_location_in(data_dir);
        let (index, damaged) = Index::open_or_set_aside_at(&index_at, durable)?;
        if let crate::index::Location::Sqlite(_) = index_at {
            for file in crate::store::index_files(data_dir) {
                crate::access::private(&file)?;
            }
        }
        let log_path = match cfg.general.mail_log.as_str() {
            "-" => None,
            p => Some(data_dir.join(p)),
        };
        let log = MailLog::open(log_path.as_deref())?;
        let mut engine = Engine {
            placer: crate::execute::Placer::new(&index),
            moves_seen: None,
            pruned: None,
            data_dir: data_dir.to_path_buf(),
            rules: Arc::new(
                Rules::with_outgoing(cfg, true)
                    .map_err(IntakeError::Config)?
                    .with_clock(clock.clone()),
            ),
            store,
            index,
            log,
            waker: None,
            node,
            recovery_owed: false,
            carried: None,
        };
        engine.recover()?;
        if engine.index.reindex_needed()? {
            tracing::warn!("the index was upgraded: rebuilding it from the tree once");
            freshness::rebuild(cfg, data_dir, &engine.store, &mut engine.index)?;
        } else {
            freshness::ensure(
                cfg,
                data_dir,
                &engine.store,
                &mut engine.index,
                damaged.is_some(),
            )?;
        }
        // Intake goes on with the last good copy: a mistake in the file is the admin's to fix
        // (`check` and the daemon's reload name it), not a reason to refuse mail.
        match crate::directory::sync_file(cfg, &mut engine.index) {
            Ok(crate::directory::Synced::Loaded {
                persons,
                organisations,
            }) => tracing::info!(persons, organisations, "directory file loaded"),
            Ok(_) => {}
            Err(e) => tracing::error!("directory file not loaded, the last good copy stays: {e}"),
        }
        engine.rules = Arc::new(
            Rules::with_outgoing(&with_group_agents(cfg, &engine.index), true)
                .map_err(IntakeError::Config)?
                .with_clock(clock),
        );
        Ok(engine)
    }

    /// Finishes what a crash interrupted (see `recover`).
    fn recover(&mut self) -> Result<(), IntakeError> {
        let lease = self.rules.cfg.general.lease();
        recover::run(&self.store, &mut self.index, &self.node, lease)
    }

    /// Recovers after a failed batch: places what it committed, removes what it staged and did
    /// not commit. If that fails too (the index is away), the next batch tries first.
    fn recover_after_failure(&mut self) {
        match self.recover() {
            Ok(()) => {
                self.placer.synced();
                self.recovery_owed = false;
            }
            Err(e) => {
                tracing::warn!("recovery after a failed batch: {e}");
                self.recovery_owed = true;
            }
        }
    }

    /// Recovers the staging areas of dead nodes, if there are any: places what they committed
    /// and did not place, removes what they did not commit. The daemon asks every round; a node
    /// that never starts again leaves nothing pending.
    pub fn recover_dead_nodes(&mut self) -> Result<(), IntakeError> {
        let others = self.store.staging_nodes_besides(&self.node)?;
        let mut dead = false;
        for n in &others {
            dead |= self.node_dead(n)?;
        }
        if dead {
            self.flush()?;
            self.recover()?;
        }
        Ok(())
    }

    /// This node's name (`[general] node`).
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Whether node `other` counts as dead now: its heartbeat is older than the lease.
    pub fn node_dead(&self, other: &str) -> Result<bool, IntakeError> {
        let lease = self.rules.cfg.general.lease();
        Ok(!self
            .index
            .node_alive(other, crate::index::unix_now(), lease)?)
    }

    /// Rebuilds the index from the tree (`postdesk reindex`), keeping the store's generation.
    pub fn rebuild(
        &mut self,
        cfg: &Config,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<crate::intake::reindex::Counts, IntakeError> {
        freshness::rebuild_with(cfg, &self.data_dir, &self.store, &mut self.index, progress)
    }

    /// Makes everything processed so far durable; then every source message it came from may
    /// be let go. That the placements are marked in the index is bookkeeping: if the index
    /// cannot be written now (a full disk), the next batch or flush marks them, or recovery.
    pub fn flush(&mut self) -> Result<(), IntakeError> {
        self.placer.make_durable(&self.store)?;
        if let Err(e) = self.placer.mark_placed(&mut self.index) {
            tracing::warn!("placements are durable but not yet marked in the index: {e}");
        }
        Ok(())
    }

    /// Waits until what is processed so far is in its folders, without making the renames
    /// durable (the next batch's sync does, or `flush`; recovery places what a crash left).
    pub fn settle(&mut self) -> Result<(), IntakeError> {
        Ok(self.placer.settle()?)
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The rules, to understand messages on another thread while this one commits.
    pub fn shared_rules(&self) -> Arc<Rules> {
        self.rules.clone()
    }

    /// Where the index is (another connection to it: a thread of its own, a read-only look).
    pub fn index_location(&self) -> crate::index::Location {
        self.rules.cfg.index_location_in(&self.data_dir)
    }

    /// Replaces the configuration (SIGHUP); store and index stay, the directory file is copied
    /// again if it changed. A configuration whose templates do not compile or whose directory
    /// file has mistakes is refused (the old one keeps running).
    ///
    /// Agents' queues include their groups' in the directory (`directory::rights`): called
    /// again with the same configuration after the directory changed.
    pub fn reconfigure(&mut self, cfg: &Config) -> Result<(), String> {
        Rules::with_outgoing(cfg, true)?;
        if let crate::directory::Synced::Loaded {
            persons,
            organisations,
        } = crate::directory::sync_file(cfg, &mut self.index)?
        {
            tracing::info!(persons, organisations, "directory file loaded");
        }
        self.rules = Arc::new(
            Rules::with_outgoing(&with_group_agents(cfg, &self.index), true)?
                .with_clock(self.rules.clock.clone()),
        );
        Ok(())
    }

    /// The time, as intake reads it.
    pub fn clock(&self) -> Arc<dyn crate::clock::Clock> {
        self.rules.clock.clone()
    }

    /// Who to tell when outgoing mail was queued.
    pub fn set_waker(&mut self, w: std::sync::Arc<crate::outgoing::Waker>) {
        self.waker = Some(w);
    }

    pub fn store(&self) -> Arc<Store> {
        self.store.clone()
    }

    /// Store, index and rules for the service levels' round (`rounds::sla`), with everything
    /// filed so far made durable first.
    pub fn for_round(&mut self) -> Result<(Arc<Store>, &mut Index, Arc<Rules>), IntakeError> {
        self.flush()?;
        Ok((self.store.clone(), &mut self.index, self.rules.clone()))
    }

    /// Tells the outbox that mail was queued outside a batch.
    pub fn wake_outbox(&self) {
        if let Some(w) = &self.waker {
            w.wake();
        }
    }

    pub fn index_mut(&mut self) -> &mut Index {
        &mut self.index
    }

    pub fn index(&self) -> &Index {
        &self.index
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Leave no placement half done, and mark what was placed as placed (made durable
        // first), so a clean stop leaves nothing for the next start's recovery; what a failure
        // here leaves, recovery finishes.
        if let Err(e) = self.placer.flush(&self.store, &mut self.index) {
            tracing::warn!("placement: {e}");
        }
    }
}
