//! The outbox: sends what intake committed and queued, oldest first, through the configured
//! transport; retries transient failures with exponential backoff; records a permanent failure
//! (or a mail too old to keep trying) in the ticket's history and tells the queue's agents.
//!
//! Where a mail is if the process dies: queued in the index until the transport accepted it;
//! then its id in this node's journal (synced after each handover of up to eight mails), then
//! marked sent in the index (one commit for the handovers since the last, as soon as the write
//! lock is free and at the latest at the end of the group; durable before the journal is
//! emptied), then a `sent` line in the ticket's event log (synced with its group, so `reindex`
//! does not queue it again). The next sender records what the journals hold before it sends
//! anything. A crash between the server's acceptance and the journal's sync sends that handover
//! again after the restart, with the same Message-IDs (the window every MTA has). Everything
//! else is sent exactly once.
//!
//! One sender at a time per node (a lock file in the data directory): the daemon's, or
//! `run --once`'s. And one node at a time among several sharing the store and the index: the
//! holder of the lease `outbox`, and only while it holds it: before each mail the sender makes
//! sure two thirds of the lease are left, renewing it when a third has gone by, and stops the
//! group (the rest stays queued) when it cannot, so a group slower than the lease (a slow relay)
//! does not send on after another node took the lease over. It gives the lease up when it stops.
//! When a node dies, its lease runs out and the next node's sender takes it over (it asks at
//! least every few seconds). What no node can prevent: a single mail whose handover outlasts
//! the rest of the lease (a relay that stalls up to the SMTP timeout) may go out from both.

mod failure;
mod journal;
mod record;

use std::fs::{File, OpenOptions};
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::article::history::HistoryLine;
use crate::config::Config;
use crate::execute::pending;
use crate::index::{Index, Queued, TicketRef};
use crate::maillog::MailLog;
use crate::outgoing::build;
use crate::outgoing::{Outbound, Waker};
use crate::store::{trace, Folder, Store};
use crate::transport::{self, Envelope, SendError, Transport};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub sent: u64,
    pub deferred: u64,
    pub failed: u64,
}

impl std::ops::AddAssign for Sent {
    fn add_assign(&mut self, o: Sent) {
        self.sent += o.sent;
        self.deferred += o.deferred;
        self.failed += o.failed;
    }
}

pub struct Sender {
    /// The time the outbox reads: when mail is due, when it was sent.
    clock: Arc<dyn crate::clock::Clock>,
    cfg: Config,
    out: Arc<Outbound>,
    store: Arc<Store>,
    index: Index,
    transport: Box<dyn Transport>,
    log: MailLog,
    /// Since when nothing could be sent (the first deferral without a success), for the log.
    outage: Option<std::time::Instant>,
    lease: Lease,
    /// Where the index said the current group's tickets are (asked for the group at once).
    locations: std::cell::RefCell<std::collections::HashMap<String, (String, crate::index::State)>>,
    /// The event-log lines appended to the tree, still to be forgotten by the index once a
    /// sync of the store has made them durable (see `append_lines`).
    appended: Vec<record::Appended>,
    /// The mails this node handed over and has not recorded yet (see `journal`).
    journal: journal::Journal,
    /// Where every node's journal is.
    data_dir: std::path::PathBuf,
    _lock: File,
}

/// This node's hold on the lease `outbox`.
struct Lease {
    /// This node's name, the lease's length, and until when (Unix seconds) it holds the lease.
    node: String,
    seconds: i64,
    held_until: Option<i64>,
    /// Taken since the sender last looked: the journals of every node are recorded first.
    taken: bool,
}

impl Lease {
    /// Whether this node holds the lease now, for at least two thirds of its length: renewed
    /// (or taken over) when a third has gone by. Between renewals, a look at the clock.
    fn hold(&mut self, index: &mut Index) -> Result<bool, SenderError> {
        let now = crate::index::unix_now();
        if self
            .held_until
            .is_some_and(|until| until - now >= self.seconds - self.seconds / 3)
        {
            return Ok(true);
        }
        let held = match index.take_lease(LEASE, &self.node, now, self.seconds) {
            Ok(held) => held,
            Err(e) => {
                // Unknown: this node may not go on as the holder.
                self.held_until = None;
                return Err(e.into());
            }
        };
        match (held, self.held_until.is_some()) {
            (true, false) => {
                tracing::info!(node = %self.node, "outbox: this node sends");
                self.taken = true;
            }
            (false, true) => {
                tracing::warn!(node = %self.node, "outbox: lease lost to another node")
            }
            _ => {}
        }
        self.held_until = held.then_some(now + self.seconds);
        Ok(held)
    }
}

/// The lease only one node's sender holds at a time.
const LEASE: &str = "outbox";

#[derive(Debug, thiserror::Error)]
pub enum SenderError {
    #[error(transparent)]
    Index(#[from] crate::index::IndexError),
    #[error("outbox: {0}")]
    Io(#[from] std::io::Error),
    #[error("outgoing: {0}")]
    Config(String),
}

impl From<crate::execute::Error> for SenderError {
    fn from(e: crate::execute::Error) -> SenderError {
        match e {
            crate::execute::Error::Index(e) => SenderError::Index(e),
            crate::execute::Error::Io(e) => SenderError::Io(e),
        }
    }
}

impl Sender {
    /// The sender for `data_dir`; `None` when another process of this node holds the outbox
    /// lock.
    pub fn open(
        cfg: &Config,
        out: Arc<Outbound>,
        store: Arc<Store>,
        data_dir: &Path,
        clock: Arc<dyn crate::clock::Clock>,
    ) -> Result<Option<Sender>, SenderError> {
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(data_dir.join(format!("outbox.{}.lock", cfg.general.node())))?;
        // SAFETY: flock on a file descriptor we own; no memory is shared.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Ok(None);
        }
        let transport =
            transport::build(&cfg.transport_config(), data_dir).map_err(SenderError::Config)?;
        let index = Index::open_at(&cfg.index_location_in(data_dir), cfg.general.durable)?;
        index.limit_cache(8 * 1024)?;
        index.leave_checkpoints()?;
        let log_path = match cfg.general.mail_log.as_str() {
            "-" => None,
            p => Some(data_dir.join(p)),
        };
        Ok(Some(Sender {
            clock,
            cfg: cfg.clone(),
            out,
            store,
            index,
            transport,
            log: MailLog::open(log_path.as_deref())?,
            outage: None,
            lease: Lease {
                node: cfg.general.node(),
                seconds: cfg.general.lease(),
                held_until: None,
                taken: false,
            },
            locations: Default::default(),
            appended: Vec::new(),
            journal: journal::Journal::open(&crate::store::outbox_journal(
                data_dir,
                &cfg.general.node(),
            ))?,
            data_dir: data_dir.to_path_buf(),
            _lock: lock,
        }))
    }

    pub fn describe(&self) -> String {
        self.transport.describe()
    }

    /// Sends every mail due now, once each. Mails go out in groups: each is handed to the
    /// transport, then one commit and one sync record the whole group. Each mail only while
    /// this node holds the lease: without it, the group stops and the rest stays queued.
    pub fn send_due(&mut self) -> Result<Sent, SenderError> {
        // Lines an earlier round could not append.
        self.append_lines()?;
        let sent = self.send_groups();
        let cleared = self.clear_appended();
        let sent = sent?;
        cleared?;
        Ok(sent)
    }

    /// `send_due`'s groups, until none is due, the lease is lost or something fails.
    fn send_groups(&mut self) -> Result<Sent, SenderError> {
        let mut total = Sent::default();
        loop {
            if !self.lease.hold(&mut self.index)? {
                return Ok(total); // another node sends
            }
            let now = self.clock.now().timestamp();
            let taken = std::mem::take(&mut self.lease.taken);
            if taken || self.journal.holds_any() {
                if let Err(e) = self.replay(now, taken) {
                    self.lease.taken = taken; // looked at again next time
                    return Err(e);
                }
            }
            let due = self.index.due(now, self.transport.group())?;
            if due.is_empty() {
                return Ok(total);
            }
            // Intake's commits are made durable after they return (`index::LogSync`): none of
            // these mails leaves for a commit a power loss could still take back.
            self.index.sync_log()?;
            // Reading is local and quick; sending waits on the network, so several go at once.
            // The group ends at GROUP_BYTES; the rest stays due for the next turn of the loop.
            let mut ready: Vec<(Queued, Result<Vec<u8>, Try>)> = Vec::with_capacity(due.len());
            let mut bytes = 0;
            // Which are still staged, for the whole group in one query.
            let files: Vec<&str> = due.iter().map(|q| q.file.as_str()).collect();
            let staged = self.index.staged_of_all(&files)?;
            // Where the tickets of those placed since are, at once too.
            let placed: std::collections::HashSet<&str> = (due.iter())
                .filter(|q| !q.ticket.is_empty() && !staged.contains_key(&q.file))
                .map(|q| q.ticket.as_str())
                .collect();
            let placed: Vec<&str> = placed.into_iter().collect();
            *self.locations.borrow_mut() = self.index.ticket_locations(&placed)?;
            for q in due {
                if bytes >= GROUP_BYTES {
                    break;
                }
                let r = self.load(&q, staged.get(&q.file).map(String::as_str));
                bytes += r.as_ref().map_or(0, Vec::len);
                ready.push((q, r));
            }
            let max_age = Duration::from_secs(self.cfg.outgoing.max_age_hours * 3600);
            let mut tried = Vec::with_capacity(ready.len());
            // `tried[recorded..]` are handed over (and the sent ones in the journal) but not yet
            // recorded in the index.
            let mut recorded = 0;
            // Set when the lease was not held before a mail: `Some(None)` another node holds
            // it, `Some(Some(e))` the index could not say.
            let mut stopped: Option<Option<SenderError>> = None;
            // A handover's mails are sent (SEND_LANES at a time), made durable with one sync and
            // put in the journal: a crash resends no more than one handover. The index records
            // every handover since its last record when its write lock is free, and at the end
            // of the group.
            for lane in ready.chunks(self.transport.handover()) {
                let t = &self.transport;
                // Before each mail, the lease: once it is not held, no mail of the group goes.
                let hold = Mutex::new((&mut self.lease, &mut self.index, None));
                let results = crate::parallel::map_on(lane, transport::SEND_LANES, |(q, r)| {
                    let mut hold = hold.lock().unwrap_or_else(|e| e.into_inner());
                    let (lease, index, lost) = &mut *hold;
                    if lost.is_some() {
                        return None;
                    }
                    match lease.hold(index) {
                        Ok(true) => {}
                        Ok(false) => *lost = Some(None),
                        Err(e) => *lost = Some(Some(e)),
                    }
                    if lost.is_some() {
                        return None;
                    }
                    drop(hold);
                    Some(match r {
                        Ok(raw) => attempt(t.as_ref(), q, raw, now, max_age),
                        Err(t) => t.clone(),
                    })
                });
                let (_, _, lost) = hold.into_inner().unwrap_or_else(|e| e.into_inner());
                let mut done: Vec<(Queued, Try)> = lane
                    .iter()
                    .zip(results)
                    .filter_map(|((q, _), r)| Some((q.clone(), r?)))
                    .collect();
                if let Err(e) = t.sync() {
                    // Not safely handed over: try these again later.
                    for (_, r) in done.iter_mut().filter(|(_, r)| matches!(r, Try::Sent(_))) {
                        *r = Try::Retry(e.to_string(), Duration::from_secs(30));
                    }
                }
                let sent: Vec<i64> = (done.iter())
                    .filter(|(_, t)| matches!(t, Try::Sent(_)))
                    .map(|(q, _)| q.id)
                    .collect();
                tried.extend(done);
                // Without the journal, the handover is recorded before the next one goes.
                let wait = match self.journal.add(&sent) {
                    Ok(()) => lost.is_some(),
                    Err(e) => {
                        tracing::warn!(
                            "outbox: journal {} not written, recording at once: {e}",
                            self.journal.path().display()
                        );
                        true
                    }
                };
                if self.record(&tried[recorded..], now, wait)? {
                    recorded = tried.len();
                }
                if lost.is_some() {
                    stopped = lost;
                    break;
                }
            }
            if recorded < tried.len() {
                self.record(&tried[recorded..], now, true)?;
            }
            // The group's event-log lines, made durable together.
            self.append_lines()?;
            self.note_outage(&tried);
            for (q, t) in &tried {
                match t {
                    Try::Sent(_) => total.sent += 1,
                    Try::Retry(..) => total.deferred += 1,
                    Try::Failed(e) => {
                        total.failed += 1;
                        if q.kind != "notification" && q.kind != "failure-notice" {
                            if let Err(err) = self.report(q, e, now) {
                                tracing::error!(ticket = %q.ticket, "cannot report a failed delivery: {err}");
                            }
                        }
                    }
                }
            }
            match stopped {
                Some(None) => return Ok(total), // another node sends the rest
                Some(Some(e)) => return Err(e),
                None => {}
            }
        }
    }

    /// Runs until `stop`: sends what is due, sleeps until woken or the next retry is due.
    /// Sends until `stop`; what it did in all.
    pub fn run(mut self, waker: Arc<Waker>, stop: Arc<AtomicBool>) -> Sent {
        let mut pause = Duration::from_millis(100);
        let mut total = Sent::default();
        while !stop.load(Ordering::SeqCst) {
            match self.send_due() {
                Ok(n) => {
                    total += n;
                    pause = Duration::from_millis(100);
                }
                Err(e) => {
                    tracing::error!("outbox: {e}");
                    pause = (pause * 2).min(Duration::from_secs(30));
                    std::thread::sleep(pause);
                }
            }
            let now = self.clock.now().timestamp();
            let next = match self.index.next_due() {
                Ok(Some(t)) => Duration::from_secs((t - now).clamp(0, 5) as u64),
                _ => Duration::from_secs(5),
            };
            // Another process (`deliver`) may queue mail too: look at least every few seconds.
            waker.wait(next.max(Duration::from_millis(20)));
        }
        total
    }

    /// The stored copy of a queued mail, or what to record when it cannot be read.
    fn load(&self, q: &Queued, staged: Option<&str>) -> Result<Vec<u8>, Try> {
        match self.read_article(q, staged) {
            Ok(Some(raw)) => Ok(raw),
            Ok(None) => Err(Try::Failed(
                "the stored copy of this mail is missing".into(),
            )),
            Err(e) => {
                let delay = transport::retry_delay(q.attempts + 1, &mut rand::rng());
                Err(Try::Retry(format!("reading the stored copy: {e}"), delay))
            }
        }
    }

    /// A ticket's folder: where the index says, else wherever it is in the tree. Mail of no
    /// ticket (the reply to a rejected message) lives in the quarantine. A ticket this very
    /// batch opened may not have its folder yet (the sender can be faster than placement): it
    /// is created here, as placement would.
    fn folder(&self, number: &str) -> Result<Option<Folder>, SenderError> {
        if let Some(at) = self.locations.borrow().get(number).cloned() {
            return Ok(pending::folder_at(&self.store, number, Some(at))?);
        }
        Ok(pending::ticket_folder(&self.store, &self.index, number)?)
    }

    /// The stored copy: kept in the index (a pointer notice), still staged (at `staged`, if
    /// the index said so when the group was read), or placed in the ticket's folder wherever
    /// it is now.
    fn read_article(
        &self,
        q: &Queued,
        staged: Option<&str>,
    ) -> Result<Option<Vec<u8>>, SenderError> {
        // Pointer notices and scheduled reports are kept in the index, not the tree.
        if q.kind == "notification" || q.kind == "report" {
            if let Some(bytes) = self.index.outbox_mail(&q.file)? {
                return Ok(Some(bytes));
            }
        }
        if let Some(staged) = staged {
            // Placed since, the file is in the ticket's folder: looked for below.
            match std::fs::read(staged) {
                Ok(b) => return Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        let Some(folder) = self.folder(&q.ticket)? else {
            return Ok(None);
        };
        match self.store.locate(&folder, &q.file) {
            Some(p) => Ok(Some(std::fs::read(p)?)),
            None => Ok(None),
        }
    }
}

impl Drop for Sender {
    /// Gives the lease up (a clean stop): another node need not wait for it to run out.
    fn drop(&mut self) {
        if self.lease.held_until.is_some() {
            if let Err(e) = self.index.release_lease(LEASE, &self.lease.node) {
                tracing::warn!("outbox: lease not given up, it runs out: {e}");
            }
        }
    }
}

/// A group (`Transport::group`) ends at this many bytes of mail.
const GROUP_BYTES: usize = 8 << 20;

/// Hands one mail (its stored copy, trace headers stripped) to the transport.
fn attempt(t: &dyn Transport, q: &Queued, raw: &[u8], now: i64, max_age: Duration) -> Try {
    let body = &raw[trace::parse(raw).body_offset..];
    let env = Envelope {
        from: (!q.env_from.is_empty()).then(|| q.env_from.clone()),
        to: q.rcpts.clone(),
    };
    match t.send(&env, body) {
        Ok(answer) => Try::Sent(answer),
        Err(SendError::Permanent(e)) => Try::Failed(e),
        Err(SendError::Transient(e)) => {
            let age = Duration::from_secs((now - q.created).max(0) as u64);
            if transport::give_up(age, max_age) {
                Try::Failed(format!("gave up after {} hours: {e}", age.as_secs() / 3600))
            } else {
                Try::Retry(e, transport::retry_delay(q.attempts + 1, &mut rand::rng()))
            }
        }
    }
}

/// What handing a mail to the transport came to.
#[derive(Clone)]
enum Try {
    Sent(String),
    Retry(String, Duration),
    Failed(String),
}
