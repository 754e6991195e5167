//! Sources of mail: Maildirs, IMAP accounts and, through `deliver`, an MTA's pipe, each a
//! `Source` that `round` drains. A source hands what is waiting to intake in batches and lets go
//! of each message only after its batch is committed.

pub mod imap;
pub mod maildir;
mod round;
mod single;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

pub use maildir::MaildirSource;
pub use round::{round, DrainError, Drained, Round, Source};
pub use single::Single;

use crate::config::{After, Config};
use crate::index::Index;
use crate::intake::{Engine, IntakeError, Message, Outcome, Scanned, Understood};
use crate::parallel;

/// Bytes read into one batch at most, so a run of large messages stays within memory bounds.
const BATCH_BYTES: u64 = 16 << 20;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub processed: u64,
    pub new_tickets: u64,
    pub follow_ups: u64,
    pub duplicates: u64,
    pub quarantined: u64,
    pub failed: u64,
    /// Agents' answers and notes.
    pub answers: u64,
    /// Left at the source to try again later (a scanner was unavailable).
    pub deferred: u64,
    /// Customers' requests by mail (`#tickets`, ...).
    pub requests: u64,
}

impl Summary {
    pub fn add(&mut self, o: &Outcome) {
        self.processed += 1;
        match o {
            Outcome::Created { .. } => self.new_tickets += 1,
            Outcome::FollowUp { .. } => self.follow_ups += 1,
            Outcome::Duplicate { .. } => self.duplicates += 1,
            Outcome::Quarantined { .. } => self.quarantined += 1,
            Outcome::Answered { .. } => self.answers += 1,
            Outcome::Request { .. } => self.requests += 1,
        }
    }

    pub fn line(&self) -> String {
        let mut answers = if self.answers > 0 {
            format!(", agent mails {}", self.answers)
        } else {
            String::new()
        };
        if self.requests > 0 {
            answers.push_str(&format!(", customer requests {}", self.requests));
        }
        if self.deferred > 0 {
            answers.push_str(&format!(", deferred {}", self.deferred));
        }
        format!(
            "processed {}, new tickets {}, follow-ups {}, duplicates {}, quarantined {}, failed {}{answers}",
            self.processed,
            self.new_tickets,
            self.follow_ups,
            self.duplicates,
            self.quarantined,
            self.failed
        )
    }
}

/// The configured Maildir sources, paths resolved against the configuration file.
pub fn configured(cfg: &Config) -> Vec<MaildirSource> {
    cfg.sources
        .iter()
        .map(|s| MaildirSource {
            name: s.name.clone(),
            dir: cfg.resolve(&s.maildir),
            after: s.after.unwrap_or(cfg.intake.after),
        })
        .collect()
}

/// Acknowledges committed, durable messages node `node` claimed at their source and counts them.
fn let_go(
    src: &MaildirSource,
    node: &str,
    names: &[String],
    outcomes: &[Outcome],
    summary: &mut Summary,
) {
    for (name, o) in names.iter().zip(outcomes) {
        summary.add(o);
        if let Err(e) = src.ack(node, name) {
            // Committed; the copy left behind is recognised as a duplicate next time.
            tracing::warn!(source = %src.name, file = %name, "cannot acknowledge: {e}");
        }
    }
}

/// A batch read and understood, waiting for its commit.
struct Prepared {
    batch: Vec<Message>,
    names: Vec<String>,
    understood: Vec<Understood>,
}

/// Processes everything waiting in the Maildir `src`. A transient failure stops the drain (the
/// caller retries later); messages of a failed batch go back to `new/`.
///
/// First the messages this node claimed before and did not let go of (it was killed), with
/// those of dead nodes it takes over; then those in `new/`, each claimed before it is read.
///
/// Two stages overlap: a reader thread reads and understands the next batch (parsing, hashing)
/// while this thread commits the current one, whose time is mostly spent waiting for the disk.
fn drain_maildir(
    engine: &mut Engine,
    src: &MaildirSource,
    stop: &AtomicBool,
    summary: &mut Summary,
) -> Result<(), IntakeError> {
    let node = engine.node().to_string();
    for other in src.claimants()? {
        if src.claims() && other != node && engine.node_dead(&other)? {
            let taken = src.take_over(&other, &node)?;
            if taken > 0 {
                tracing::warn!(source = %src.name, node = %other, taken, "took over the messages a dead node had claimed");
            }
        }
    }
    let claimed = src.claimed(&node)?;
    let names: Vec<(String, bool)> = (claimed.into_iter().map(|n| (n, true)))
        .chain(src.pending()?.into_iter().map(|n| (n, false)))
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    let node = node.as_str();
    let total = names.len();
    let rules = engine.shared_rules();
    let batch_size = rules.cfg.intake.batch_size;
    let remember = src.after == After::Keep;
    let seen = if remember {
        Some(Index::open_readonly_at(&engine.index_location())?)
    } else {
        None
    };
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::sync_channel::<Prepared>(1);
        let reader = s.spawn(move || -> Result<(u64, u64), IntakeError> {
            let mut failed = 0;
            let mut deferred = 0;
            let mut i = 0;
            while i < names.len() && !stop.load(Ordering::Relaxed) {
                let mut batch = Vec::new();
                let mut taken = Vec::new();
                let mut bytes = 0;
                while i < names.len() && batch.len() < batch_size && bytes < BATCH_BYTES {
                    let (name, claimed) = &names[i];
                    i += 1;
                    if let Some(index) = &seen {
                        if index.source_seen(&src.name, name)? {
                            continue;
                        }
                    }
                    if !claimed {
                        match src.claim(node, name) {
                            Ok(true) => {}
                            Ok(false) => continue, // another node's now
                            Err(e) => {
                                tracing::error!(source = %src.name, file = %name, "cannot claim: {e}");
                                failed += 1;
                                continue;
                            }
                        }
                    }
                    match src.read(node, name) {
                        Ok(Some(raw)) => {
                            bytes += raw.len() as u64;
                            batch.push(Message {
                                raw,
                                source: src.name.clone(),
                                name: name.clone(),
                                remember,
                                taken: std::time::Instant::now(),
                                quarantine: None,
                                phone: false,
                                spliced: None,
                            });
                            taken.push(name.clone());
                        }
                        Ok(None) => {}
                        Err(e) => {
                            tracing::error!(source = %src.name, file = %name, "cannot read: {e}");
                            failed += 1;
                        }
                    }
                }
                if batch.is_empty() {
                    continue;
                }
                // Scanning waits on spamd and clamd: as many at once as configured.
                let scans = match &rules.scanners {
                    Some(_) => {
                        parallel::map_on(&batch, rules.cfg.scan.concurrency, |m| rules.scan(&m.raw))
                    }
                    None => batch.iter().map(|_| Ok(Scanned::default())).collect(),
                };
                let mut ready = Vec::with_capacity(batch.len());
                let mut kept_names = Vec::with_capacity(batch.len());
                for ((m, name), scan) in batch.into_iter().zip(taken).zip(scans) {
                    match scan {
                        Ok(sc) => {
                            ready.push((m, sc));
                            kept_names.push(name);
                        }
                        Err(why) => {
                            // Back to new/: the next drain (of any node) tries again.
                            tracing::warn!(source = %src.name, file = %name, "deferred: {why}");
                            if let Err(e) = src.unclaim(node, &name) {
                                tracing::error!(source = %src.name, file = %name, "cannot put back: {e}");
                            }
                            deferred += 1;
                        }
                    }
                }
                if ready.is_empty() {
                    continue;
                }
                let understood =
                    parallel::map(&ready, |(m, sc)| rules.understand_with(&m.raw, sc.clone()));
                let batch: Vec<Message> = ready.into_iter().map(|(m, _)| m).collect();
                let taken = kept_names;
                if tx
                    .send(Prepared {
                        batch,
                        names: taken,
                        understood,
                    })
                    .is_err()
                {
                    break; // the committer stopped
                }
            }
            Ok((failed, deferred))
        });
        let mut result = Ok(());
        let mut progress = Progress::new(&src.name, total);
        // A batch's messages are let go once the next batch (or the final flush) has made its
        // placement durable.
        let mut held: Option<(Vec<String>, Vec<Outcome>)> = None;
        for p in rx {
            let filed = engine.process_fitting(&p.batch, p.understood);
            progress.advance(filed.outcomes.len());
            let Some(e) = filed.rest else {
                if let Some((names, outcomes)) = held.take() {
                    let_go(src, node, &names, &outcomes, summary);
                }
                held = Some((p.names, filed.outcomes));
                continue;
            };
            // The part of the batch that fitted (on a full disk) is let go after the flush
            // below, with the batch before it; the rest stays at the source.
            let (mut names, mut outcomes) = held.take().unwrap_or_default();
            names.extend(p.names.into_iter().take(filed.outcomes.len()));
            outcomes.extend(filed.outcomes);
            held = Some((names, outcomes));
            result = Err(e);
            break;
        }
        match engine.flush() {
            Ok(()) => {
                if let Some((names, outcomes)) = held.take() {
                    let_go(src, node, &names, &outcomes, summary);
                }
            }
            Err(e) if result.is_ok() => result = Err(e),
            Err(e) => tracing::warn!("flush: {e}"),
        }
        match reader.join().expect("reader thread panicked") {
            Ok((failed, deferred)) => {
                summary.failed += failed;
                summary.deferred += deferred;
            }
            Err(e) if result.is_ok() => result = Err(e),
            Err(_) => {}
        }
        // What this drain claimed and did not file (a failed batch, one that was never
        // committed) goes back to new/, for the next drain of any node. A message committed
        // and not let go of (the flush failed) comes again as a duplicate.
        match src.claimed(node) {
            Ok(left) => {
                for n in left {
                    if let Err(e) = src.unclaim(node, &n) {
                        tracing::warn!(source = %src.name, file = %n, "cannot put back: {e}");
                    }
                }
            }
            Err(e) => tracing::warn!(source = %src.name, "claimed messages not read: {e}"),
        }
        result
    })
}

/// Progress on stderr for long imports, when a person is watching (stderr is a terminal).
struct Progress<'a> {
    source: &'a str,
    total: usize,
    done: usize,
    show: bool,
}

impl<'a> Progress<'a> {
    fn new(source: &'a str, total: usize) -> Progress<'a> {
        use std::io::IsTerminal;
        Progress {
            source,
            total,
            done: 0,
            show: total >= 1000 && std::io::stderr().is_terminal(),
        }
    }

    fn advance(&mut self, n: usize) {
        self.done += n;
        if self.show {
            eprint!("\r{}: {}/{} messages", self.source, self.done, self.total);
            if self.done >= self.total {
                eprintln!();
            }
        }
    }
}
