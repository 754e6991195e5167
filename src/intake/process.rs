//! A batch filed: its messages scanned and understood, carried out through `apply`, and what
//! became of each written to the mail log.

use std::time::Instant;

use super::{apply, Engine, IntakeError, Message, Outcome, Scanned, Understood};
use crate::maillog::Line;
use crate::parallel;

impl Engine {
    /// Files a batch. Either every message of it is committed (and the returned outcomes say
    /// what became of each, in order) or none is and the error says whether to retry.
    ///
    /// Group commit across batches: a batch's articles are committed and placed when this
    /// returns, but their placement is made durable by the next batch's flush or by `flush`.
    /// Let go of a batch's source messages only after the next `process` or `flush` succeeded.
    pub fn process(&mut self, batch: &[Message]) -> Result<Vec<Outcome>, IntakeError> {
        let understood = self.understand(batch)?;
        self.process_understood(batch, understood)
    }

    /// Scans (as many at once as configured) and understands a batch's messages, in order. A
    /// scanner that cannot look and whose policy is tempfail defers the whole batch.
    pub fn understand(&self, batch: &[Message]) -> Result<Vec<Understood>, IntakeError> {
        let understood = {
            let rules = &self.rules;
            let scans = rules.scan_all(batch);
            let mut scanned = Vec::with_capacity(batch.len());
            for s in scans {
                scanned.push(s.map_err(IntakeError::Deferred)?);
            }
            let pairs: Vec<(&Message, Scanned)> = batch.iter().zip(scanned).collect();
            let u = parallel::map(&pairs, |(m, sc)| rules.understand_message(m, sc.clone()));
            u.into_iter().collect::<Result<Vec<_>, _>>()?
        };
        Ok(understood)
    }

    /// From now on, keep the actions carried out for each message until `take_carried`.
    pub fn record_actions(&mut self) {
        self.carried.get_or_insert_with(Vec::new);
    }

    /// The actions carried out for each message since the last call, in order.
    pub fn take_carried(&mut self) -> Vec<Vec<crate::decide::action::Action>> {
        self.carried
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// `process` for messages already understood (by `Rules::understand`, in the same order).
    pub fn process_understood(
        &mut self,
        batch: &[Message],
        understood: Vec<Understood>,
    ) -> Result<Vec<Outcome>, IntakeError> {
        if self.recovery_owed {
            // What an earlier failed batch staged; the index is back if this succeeds, and if
            // it is not, the batch below fails as well and owes it again.
            if let Err(pe) = self.placer.settle() {
                tracing::warn!("placement: {pe}");
            }
            self.recover_after_failure();
        }
        let (outcomes, lines) = match apply::batch(self, batch, understood) {
            Ok(r) => r,
            Err(e) => {
                // Whatever part of the batch committed is finished now, not at the next start.
                if let Err(pe) = self.placer.settle() {
                    tracing::warn!("placement: {pe}");
                }
                self.recover_after_failure();
                return Err(e);
            }
        };
        let done = Instant::now();
        for ((line, outcome), msg) in lines.into_iter().zip(&outcomes).zip(batch) {
            let (ticket, queue, verdict, detail) = match outcome {
                Outcome::Created { ticket, queue } => {
                    (Some(ticket.as_str()), Some(queue.as_str()), "created", None)
                }
                Outcome::FollowUp {
                    ticket,
                    queue,
                    reopened,
                } => (
                    Some(ticket.as_str()),
                    Some(queue.as_str()),
                    if *reopened { "reopened" } else { "follow-up" },
                    None,
                ),
                Outcome::Duplicate { ticket } => (ticket.as_deref(), None, "duplicate", None),
                Outcome::Quarantined { reason } => {
                    (None, None, "quarantined", Some(reason.as_str()))
                }
                Outcome::Answered {
                    ticket,
                    queue,
                    note,
                } => (
                    Some(ticket.as_str()),
                    Some(queue.as_str()),
                    if *note { "note" } else { "answer" },
                    None,
                ),
                Outcome::Request { queue, said } => {
                    (None, Some(queue.as_str()), "request", Some(said.as_str()))
                }
            };
            let out = line.out.join("; ");
            self.log.write(&Line {
                message_id: line.message_id.as_deref(),
                source: &line.source,
                ticket,
                queue,
                verdict,
                class: line.class.as_deref(),
                detail,
                out: (!out.is_empty()).then_some(out.as_str()),
                millis: done.duration_since(msg.taken).as_secs_f64() * 1000.0,
            });
        }
        Ok(outcomes)
    }
}

/// What the mail log needs of a message after the batch is committed.
pub(crate) struct LogInfo {
    pub message_id: Option<String>,
    pub source: String,
    pub class: Option<String>,
    /// Outgoing mail decided for it: queued, or suppressed and why.
    pub out: Vec<String>,
}
