//! A Maildir as the drain loop takes it. First the messages this node claimed before and did
//! not let go of (it was killed), with those of dead nodes it takes over; then those in `new/`,
//! each claimed before it is read. A batch ends at `intake.batch-size` messages or
//! `BATCH_BYTES`. A message a scanner could not look at goes back to `new/` at once; what is
//! claimed and not let go of goes back there when the drain ends, for the next drain of any
//! node. Messages that are kept are remembered in the index, and those it remembers skipped.

use std::sync::atomic::AtomicBool;

use super::MaildirSource;
use crate::config::After;
use crate::index::Index;
use crate::intake::{Engine, IntakeError, Message, Outcome};
use crate::source::{DrainError, Holder, Reader, Summary, Taken};

/// Bytes read into one batch at most, so a run of large messages stays within memory bounds.
const BATCH_BYTES: u64 = 16 << 20;

/// Files everything waiting in `src`; see the module's comment for the order.
pub(super) fn drain(
    src: &MaildirSource,
    engine: &mut Engine,
    stop: &AtomicBool,
    summary: &mut Summary,
) -> Result<(), DrainError> {
    let node = engine.node().to_string();
    take_over_dead(src, engine, &node)?;
    let claimed = src.claimed(&node).map_err(IntakeError::from)?;
    let pending = src.pending().map_err(IntakeError::from)?;
    let names: Vec<(String, bool)> = (claimed.into_iter().map(|n| (n, true)))
        .chain(pending.into_iter().map(|n| (n, false)))
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    let total = names.len();
    let remember = src.after == After::Keep;
    let seen = match remember {
        true => Some(Index::open_readonly_at(&engine.index_location()).map_err(IntakeError::from)?),
        false => None,
    };
    let reader = MaildirReader {
        src,
        node: &node,
        names: names.into_iter(),
        seen,
        remember,
        batch_size: engine.rules().cfg.intake.batch_size,
    };
    let mut holder = MaildirHolder { src, node: &node };
    let result = crate::source::drain(
        engine,
        reader,
        &mut holder,
        &src.name,
        Some(total),
        stop,
        summary,
    );
    put_back_claimed(src, &node);
    result
}

/// Takes over the messages that dead nodes claimed.
fn take_over_dead(src: &MaildirSource, engine: &Engine, node: &str) -> Result<(), IntakeError> {
    if !src.claims() {
        return Ok(());
    }
    for other in src.claimants()? {
        if other != node && engine.node_dead(&other)? {
            let taken = src.take_over(&other, node)?;
            if taken > 0 {
                tracing::warn!(source = %src.name, node = %other, taken, "took over the messages a dead node had claimed");
            }
        }
    }
    Ok(())
}

/// What this drain claimed and did not let go of (a failed batch, one never committed, a claim
/// of an earlier run it did not reach) goes back to `new/`, for the next drain of any node. A
/// message committed and not let go of (the flush failed) comes again as a duplicate.
fn put_back_claimed(src: &MaildirSource, node: &str) {
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
}

/// Reads messages in order, claiming those of `new/` first.
struct MaildirReader<'a> {
    src: &'a MaildirSource,
    node: &'a str,
    /// Each name, and whether this node claimed it already.
    names: std::vec::IntoIter<(String, bool)>,
    /// The index, to skip kept messages it remembers.
    seen: Option<Index>,
    remember: bool,
    batch_size: usize,
}

impl Reader for MaildirReader<'_> {
    /// The message's file name.
    type Handle = String;

    fn next(&mut self, failed: &mut u64) -> Result<Option<Vec<Taken<String>>>, DrainError> {
        let src = self.src;
        let mut batch = Vec::new();
        let mut bytes = 0;
        let mut any = false;
        while batch.len() < self.batch_size && bytes < BATCH_BYTES {
            let Some((name, claimed)) = self.names.next() else {
                break;
            };
            any = true;
            if let Some(index) = &self.seen {
                if index
                    .source_seen(&src.name, &name)
                    .map_err(IntakeError::from)?
                {
                    continue;
                }
            }
            if !claimed {
                match src.claim(self.node, &name) {
                    Ok(true) => {}
                    Ok(false) => continue, // another node's now
                    Err(e) => {
                        tracing::error!(source = %src.name, file = %name, "cannot claim: {e}");
                        *failed += 1;
                        continue;
                    }
                }
            }
            match src.read(self.node, &name) {
                Ok(Some(raw)) => {
                    bytes += raw.len() as u64;
                    let message = Message {
                        raw,
                        source: src.name.clone(),
                        name: name.clone(),
                        remember: self.remember,
                        taken: std::time::Instant::now(),
                        quarantine: None,
                        phone: false,
                        spliced: None,
                    };
                    batch.push(Taken {
                        message,
                        handle: name,
                    });
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(source = %src.name, file = %name, "cannot read: {e}");
                    *failed += 1;
                }
            }
        }
        Ok(any.then_some(batch))
    }

    /// Back to `new/`: the next drain (of any node) tries again.
    fn defer(&mut self, name: &String) -> bool {
        if let Err(e) = self.src.unclaim(self.node, name) {
            tracing::error!(source = %self.src.name, file = %name, "cannot put back: {e}");
        }
        true
    }
}

/// Lets go of filed messages as the source is configured, and puts back the others.
struct MaildirHolder<'a> {
    src: &'a MaildirSource,
    node: &'a str,
}

impl Holder for MaildirHolder<'_> {
    type Handle = String;

    fn let_go(&mut self, _: &mut Engine, done: Vec<(String, Outcome)>) -> Result<(), DrainError> {
        for (name, _) in done {
            if let Err(e) = self.src.ack(self.node, &name) {
                // Committed; the copy left behind is recognised as a duplicate next time.
                tracing::warn!(source = %self.src.name, file = %name, "cannot acknowledge: {e}");
            }
        }
        Ok(())
    }

    fn give_back(&mut self, names: Vec<String>) {
        for name in names {
            if let Err(e) = self.src.unclaim(self.node, &name) {
                tracing::warn!(source = %self.src.name, file = %name, "cannot put back: {e}");
            }
        }
    }
}
