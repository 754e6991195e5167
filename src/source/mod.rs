//! Sources of mail: Maildirs (and, through `deliver`, an MTA's pipe). `drain` takes what is
//! waiting in each source, hands it to intake in batches, and lets go of each message only after
//! its batch is committed.

pub mod maildir;

use std::sync::atomic::{AtomicBool, Ordering};

pub use maildir::MaildirSource;

use crate::config::{After, Config};
use crate::intake::{Engine, IntakeError, Message, Outcome};

/// Bytes read into one batch at most, so a run of large messages stays within memory bounds.
const BATCH_BYTES: u64 = 32 << 20;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub processed: u64,
    pub new_tickets: u64,
    pub follow_ups: u64,
    pub duplicates: u64,
    pub quarantined: u64,
    pub failed: u64,
}

impl Summary {
    pub fn add(&mut self, o: &Outcome) {
        self.processed += 1;
        match o {
            Outcome::Created { .. } => self.new_tickets += 1,
            Outcome::FollowUp { .. } => self.follow_ups += 1,
            Outcome::Duplicate { .. } => self.duplicates += 1,
            Outcome::Quarantined { .. } => self.quarantined += 1,
        }
    }

    pub fn line(&self) -> String {
        format!(
            "processed {}, new tickets {}, follow-ups {}, duplicates {}, quarantined {}, failed {}",
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

/// Processes everything waiting in `src`. A transient failure stops the drain (the caller
/// retries later); messages of a failed batch stay where they are.
pub fn drain(
    engine: &mut Engine,
    src: &MaildirSource,
    stop: &AtomicBool,
    summary: &mut Summary,
) -> Result<(), IntakeError> {
    let names = src.pending()?;
    let batch_size = engine.rules().cfg.intake.batch_size;
    let remember = src.after == After::Keep;
    let mut i = 0;
    while i < names.len() && !stop.load(Ordering::Relaxed) {
        let mut batch = Vec::new();
        let mut taken = Vec::new();
        let mut bytes = 0;
        while i < names.len() && batch.len() < batch_size && bytes < BATCH_BYTES {
            let name = &names[i];
            i += 1;
            if remember && engine.index().source_seen(&src.name, name)? {
                continue;
            }
            match src.read(name) {
                Ok(Some(raw)) => {
                    bytes += raw.len() as u64;
                    batch.push(Message {
                        raw,
                        source: src.name.clone(),
                        name: name.clone(),
                        remember,
                        taken: std::time::Instant::now(),
                    });
                    taken.push(name.clone());
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(source = %src.name, file = %name, "cannot read: {e}");
                    summary.failed += 1;
                }
            }
        }
        if batch.is_empty() {
            continue;
        }
        let outcomes = engine.process(&batch)?;
        for (name, o) in taken.iter().zip(&outcomes) {
            summary.add(o);
            if let Err(e) = src.ack(name) {
                // Committed; the copy left behind is recognised as a duplicate next time.
                tracing::warn!(source = %src.name, file = %name, "cannot acknowledge: {e}");
            }
        }
    }
    Ok(())
}
