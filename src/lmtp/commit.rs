//! The LMTP listener's committer: a thread with an intake engine of its own (as a `deliver`
//! process has), which files the messages the connections received and answers each only after
//! `Engine::process` and `Engine::flush` returned, the guarantee `deliver`'s exit 0 gives.
//!
//! Where a message is if the process dies: until its commit, only with the MTA (no 250 was
//! sent; it retries); after the commit, in the store, and the MTA's retry of a message whose
//! 250 was lost is filed as a duplicate (its digest), so it is stored once.
//!
//! Messages waiting together are committed together (one syncfs for all); a batch that fails
//! is tried again one message at a time, so that one message a scanner cannot look at now does
//! not defer the others.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::oneshot;

use crate::config::Config;
use crate::intake::{Engine, IntakeError, Message, Outcome};
use crate::outgoing::Waker;

use super::session::Envelope;

/// A received message and where its outcome goes.
pub struct Job {
    pub envelope: Envelope,
    pub taken: Instant,
    /// `Err(())` when it was not committed (the detail is in the log).
    pub reply: oneshot::Sender<Result<Outcome, ()>>,
}

pub enum Order {
    Mail(Job),
    /// A reloaded configuration.
    Reconfigure(Box<Config>),
}

pub struct Committer {
    cfg: Config,
    engine: Option<Engine>,
    waker: Option<Arc<Waker>>,
}

impl Committer {
    pub fn new(cfg: Config, waker: Option<Arc<Waker>>) -> Committer {
        Committer {
            cfg,
            engine: None,
            waker,
        }
    }

    /// Runs until every sender of orders is gone.
    pub fn run(mut self, orders: mpsc::Receiver<Order>) {
        while let Ok(first) = orders.recv() {
            let mut jobs = Vec::new();
            let mut next = Some(first);
            while let Some(order) = next.take() {
                match order {
                    Order::Mail(job) => jobs.push(job),
                    Order::Reconfigure(cfg) => self.reconfigure(*cfg),
                }
                if jobs.len() < self.cfg.intake.batch_size.max(1) {
                    next = orders.try_recv().ok();
                }
            }
            if !jobs.is_empty() {
                self.commit(jobs);
            }
        }
    }

    fn reconfigure(&mut self, cfg: Config) {
        if let Some(e) = &mut self.engine {
            if let Err(err) = e.reconfigure(&cfg) {
                tracing::error!("lmtp: configuration not taken, the old one stays: {err}");
                return;
            }
        }
        self.cfg = cfg;
    }

    fn commit(&mut self, jobs: Vec<Job>) {
        let (msgs, replies): (Vec<Message>, Vec<_>) = jobs
            .into_iter()
            .map(|j| (message(j.envelope, j.taken), j.reply))
            .unzip();
        match self.file(&msgs) {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(e) if msgs.len() > 1 => {
                tracing::warn!(
                    "lmtp: a batch of {} failed ({}); one at a time",
                    msgs.len(),
                    e.text
                );
                for (msg, reply) in msgs.into_iter().zip(replies) {
                    let result = self.file(std::slice::from_ref(&msg));
                    let _ = reply.send(self.answer(result));
                }
            }
            Err(e) => {
                if let Some(reply) = replies.into_iter().next() {
                    let _ = reply.send(self.answer(Err(e)));
                }
            }
        }
    }

    fn answer(&self, r: Result<Vec<Outcome>, Failed>) -> Result<Outcome, ()> {
        match r {
            Ok(mut o) if o.len() == 1 => Ok(o.remove(0)),
            Ok(_) => Err(()),
            Err(e) => {
                tracing::error!(
                    transient = e.transient,
                    "lmtp: not filed, the MTA retries: {}",
                    e.text
                );
                Err(())
            }
        }
    }

    /// Commits a batch and makes it durable.
    fn file(&mut self, msgs: &[Message]) -> Result<Vec<Outcome>, Failed> {
        if self.engine.is_none() {
            let mut e = Engine::open(&self.cfg, &self.cfg.data_dir()).map_err(Failed::from)?;
            if let Some(w) = &self.waker {
                e.set_waker(w.clone());
            }
            self.engine = Some(e);
        }
        let Some(engine) = self.engine.as_mut() else {
            unreachable!("opened above")
        };
        let outcomes = engine.process(msgs).map_err(Failed::from)?;
        engine.flush().map_err(Failed::from)?;
        Ok(outcomes)
    }
}

/// Why a batch was not filed.
struct Failed {
    text: String,
    transient: bool,
}

impl From<IntakeError> for Failed {
    fn from(e: IntakeError) -> Failed {
        Failed {
            transient: e.is_transient(),
            text: e.to_string(),
        }
    }
}

fn message(env: Envelope, taken: Instant) -> Message {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    Message {
        raw: env.raw,
        source: "lmtp".into(),
        name: format!(
            "{}.{}.{}",
            chrono::Utc::now().timestamp_micros(),
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ),
        remember: false,
        taken,
        quarantine: None,
        phone: false,
        spliced: None,
    }
}
