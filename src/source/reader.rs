//! The drain's reader thread: takes the next batch from the source, scans it (as many at once
//! as configured) and understands it (parse, classify, route, in parallel), while the
//! committing thread files the batch before. A message a scanner could not look at is put back
//! where its source allows it, or stops the drain before its batch.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SendError, SyncSender};

use super::producer::{Reader, Taken};
use super::DrainError;
use crate::intake::{IntakeError, Message, Rules, Understood};
use crate::parallel;

/// A batch read and understood, waiting for its commit.
pub(super) struct Prepared<H> {
    pub messages: Vec<Message>,
    pub handles: Vec<H>,
    pub understood: Vec<Understood>,
}

/// What the reader thread came to.
pub(super) struct ReadEnd<H> {
    /// Messages the source could not take.
    pub failed: u64,
    /// Messages put back for a scanner that could not look.
    pub deferred: u64,
    /// Taken and never handed to the committing thread: to give back.
    pub unsent: Vec<H>,
    pub result: Result<(), DrainError>,
}

/// Reads, scans and understands batches until the source is empty, `stop` is set, or the
/// committing thread stops taking them.
pub(super) fn read<R: Reader>(
    reader: &mut R,
    rules: &Rules,
    stop: &AtomicBool,
    tx: SyncSender<Prepared<R::Handle>>,
) -> ReadEnd<R::Handle> {
    let mut end = ReadEnd {
        failed: 0,
        deferred: 0,
        unsent: Vec::new(),
        result: Ok(()),
    };
    while !stop.load(Ordering::Relaxed) {
        let taken = match reader.next(&mut end.failed) {
            Ok(Some(t)) => t,
            Ok(None) => break,
            Err(e) => {
                end.result = Err(e);
                break;
            }
        };
        if taken.is_empty() {
            continue;
        }
        let prepared = match prepare(reader, rules, taken, &mut end.deferred) {
            Ok(Some(p)) => p,
            Ok(None) => continue,
            Err((e, back)) => {
                end.unsent = back;
                end.result = Err(e);
                break;
            }
        };
        if let Err(SendError(p)) = tx.send(prepared) {
            end.unsent = p.handles; // the committing thread stopped
            break;
        }
    }
    end
}

/// Why a batch could not be prepared, and its messages' handles, to give back.
type Unprepared<H> = (DrainError, Vec<H>);

/// Scans and understands one batch; `None` when every message of it was put back. On an error
/// the batch's handles come back with it.
fn prepare<R: Reader>(
    reader: &mut R,
    rules: &Rules,
    taken: Vec<Taken<R::Handle>>,
    deferred: &mut u64,
) -> Result<Option<Prepared<R::Handle>>, Unprepared<R::Handle>> {
    let (batch, handles): (Vec<Message>, Vec<R::Handle>) =
        taken.into_iter().map(|t| (t.message, t.handle)).unzip();
    let scans = rules.scan_all(&batch);
    let mut messages = Vec::with_capacity(batch.len());
    let mut kept = Vec::with_capacity(batch.len());
    let mut scanned = Vec::with_capacity(batch.len());
    let mut refused = None;
    for ((m, h), scan) in batch.into_iter().zip(handles).zip(scans) {
        match scan {
            Ok(sc) => scanned.push(sc),
            Err(why) if refused.is_none() && reader.defer(&h) => {
                // Back at the source: the next drain (of any node) tries again.
                tracing::warn!(source = %m.source, file = %m.name, "deferred: {why}");
                *deferred += 1;
                continue;
            }
            Err(why) => {
                refused.get_or_insert(why);
                scanned.push(Default::default());
            }
        }
        messages.push(m);
        kept.push(h);
    }
    if let Some(why) = refused {
        return Err((IntakeError::Deferred(why).into(), kept));
    }
    if messages.is_empty() {
        return Ok(None);
    }
    let pairs: Vec<(&Message, _)> = messages.iter().zip(scanned).collect();
    let understood = parallel::map(&pairs, |(m, sc)| rules.understand_message(m, sc.clone()));
    match understood.into_iter().collect::<Result<Vec<_>, _>>() {
        Ok(understood) => Ok(Some(Prepared {
            messages,
            handles: kept,
            understood,
        })),
        Err(e) => Err((IntakeError::from(e).into(), kept)),
    }
}
