//! The one drain loop every source is filed through. Two stages overlap: the reader thread
//! (`reader`) takes, scans and understands the next batch while this thread files the current
//! one, whose time is mostly spent waiting for the disk.
//!
//! Nothing is lost: a batch's messages are let go of at their source only once the batch is
//! committed and its placement durable, which the next batch's commit (its sync) or the final
//! `Engine::flush` makes it. A failure of filing or of the source stops the drain; the messages
//! of the batch that failed, and every one taken and not filed, are given back. On a full disk
//! the part of a batch that fitted is filed and let go of, the rest given back.

use std::sync::atomic::AtomicBool;
use std::sync::mpsc;

use super::producer::{Holder, Reader};
use super::progress::Progress;
use super::reader::{self, Prepared};
use super::{DrainError, Summary};
use crate::intake::{Engine, Outcome};

/// Files everything `reader` takes from source `name` until it has nothing left, `stop` is
/// set or something fails; `expected` is how many messages wait, where the source knows.
pub fn drain<R, H>(
    engine: &mut Engine,
    mut reader: R,
    holder: &mut H,
    name: &str,
    expected: Option<usize>,
    stop: &AtomicBool,
    summary: &mut Summary,
) -> Result<(), DrainError>
where
    R: Reader,
    H: Holder<Handle = R::Handle>,
{
    let rules = engine.shared_rules();
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::sync_channel::<Prepared<R::Handle>>(1);
        let reading = s.spawn(|| reader::read(&mut reader, &rules, stop, tx));
        let mut c = Commit {
            engine,
            holder,
            summary,
            held: Vec::new(),
            letting_go: true,
            progress: Progress::new(name, expected),
        };
        let mut result = c.each(rx);
        let flushed = c.finish();
        keep_first(&mut result, flushed);
        let read = reading.join().expect("reader thread panicked");
        c.summary.failed += read.failed;
        c.summary.deferred += read.deferred;
        c.holder.give_back(read.unsent);
        keep_first(&mut result, read.result);
        result.map_err(|e| match e {
            DrainError::Intake(e) => DrainError::Intake(e.said_full()),
            e => e,
        })
    })
}

/// The first failure is the drain's; later ones are only logged.
fn keep_first(result: &mut Result<(), DrainError>, next: Result<(), DrainError>) {
    match next {
        Err(e) if result.is_ok() => *result = Err(e),
        Err(e) => tracing::warn!("{e}"),
        Ok(()) => {}
    }
}

/// The committing thread's side of a drain.
struct Commit<'a, H: Holder> {
    engine: &'a mut Engine,
    holder: &'a mut H,
    summary: &'a mut Summary,
    /// Committed, waiting for their placement to be durable before they are let go of.
    held: Vec<(H::Handle, Outcome)>,
    /// Cleared when letting go failed: what is held then is given back instead.
    letting_go: bool,
    progress: Progress<'a>,
}

impl<H: Holder> Commit<'_, H> {
    /// Files each batch the reader prepared, until they end or one fails.
    fn each(&mut self, rx: mpsc::Receiver<Prepared<H::Handle>>) -> Result<(), DrainError> {
        // Leaving this function drops the receiver: the reader stops at its next batch.
        for p in rx {
            match self.holder.still_held(self.engine) {
                Ok(true) => {}
                Ok(false) => {
                    self.holder.give_back(p.handles);
                    return Ok(());
                }
                Err(e) => {
                    self.holder.give_back(p.handles);
                    return Err(e);
                }
            }
            let filed = self.engine.process_fitting(&p.messages, p.understood);
            self.progress.advance(filed.outcomes.len());
            let mut handles = p.handles;
            let rest = handles.split_off(filed.outcomes.len());
            let done = handles.into_iter().zip(filed.outcomes);
            if let Some(e) = filed.rest {
                // What fitted (on a full disk) is let go of after the final flush, with the
                // batch before it; the rest stays at the source.
                self.held.extend(done);
                self.holder.give_back(rest);
                return Err(e.into());
            }
            // This batch's commit made the placement of the one before it durable.
            let durable = std::mem::replace(&mut self.held, done.collect());
            self.let_go(durable)?;
        }
        Ok(())
    }

    /// Makes what is held durable and lets go of it; given back if that fails.
    fn finish(&mut self) -> Result<(), DrainError> {
        let held = std::mem::take(&mut self.held);
        if held.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.engine.flush() {
            self.give_back(held);
            return Err(e.into());
        }
        if !self.letting_go {
            self.give_back(held);
            return Ok(());
        }
        self.let_go(held)
    }

    fn let_go(&mut self, done: Vec<(H::Handle, Outcome)>) -> Result<(), DrainError> {
        if done.is_empty() {
            return Ok(());
        }
        for (_, o) in &done {
            self.summary.add(o);
        }
        let r = self.holder.let_go(self.engine, done);
        if r.is_err() {
            self.letting_go = false;
        }
        r
    }

    fn give_back(&mut self, held: Vec<(H::Handle, Outcome)>) {
        self.holder
            .give_back(held.into_iter().map(|(h, _)| h).collect());
    }
}
