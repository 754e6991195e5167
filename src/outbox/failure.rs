//! A mail that cannot be sent: the notice to the queue's agents, filed in the ticket as an
//! outgoing article and queued like any other mail.

use std::borrow::Cow;

use super::*;
use crate::execute::{self, After, Placer};

impl Sender {
    /// Files a notice to the queue's agents as an outgoing article and queues it.
    pub(super) fn report(&mut self, q: &Queued, error: &str, now: i64) -> Result<(), SenderError> {
        let Some(t) = self.index.ticket(&q.ticket)? else {
            return Ok(());
        };
        let agents: Vec<String> = self
            .cfg
            .agents
            .iter()
            .filter(|a| a.queues.iter().any(|x| x.eq_ignore_ascii_case(&t.queue)))
            .map(|a| a.address.clone())
            .collect();
        if agents.is_empty() {
            return Ok(());
        }
        let body = format!(
            "A mail of ticket {} could not be delivered and will not be retried.\n\n  kind:       {}\n  recipients: {}\n  error:      {error}\n",
            q.ticket,
            q.kind,
            q.rcpts.join(", ")
        );
        let mail = build::Mailer {
            cfg: &self.cfg,
            out: &self.out,
            date: chrono::DateTime::from_timestamp(now, 0).unwrap_or_default(),
        }
        .notice(
            &t.queue,
            &t.number,
            &agents,
            &format!("Undeliverable: {}", t.subject),
            body,
            &mut rand::rng(),
        )
        .map_err(SenderError::Config)?;
        let tref = TicketRef {
            number: t.number.clone(),
            queue: t.queue.clone(),
            state: t.state,
        };
        let folder = Folder::ticket(
            &tref.queue,
            &tref.number,
            tref.state == crate::index::State::Closed,
        );
        let at = crate::clock::stamp(self.clock.now());
        // The sequence is drawn inside the transaction that records the article, so no other
        // writer gives the ticket's next article the same one.
        let mut placer = Placer::new(&self.index);
        let tx = self.index.begin_deferred()?;
        let seq = tx.next_seq(&tref.number)?;
        let (head, facts) = crate::article::out_head(&mail, &tref, &at, seq);
        let staged = self.store.reserve((head.len() + mail.bytes.len()) as u64);
        let staged_path = staged.path.to_string_lossy().into_owned();
        crate::article::record_out(
            &tx,
            &mail,
            &facts,
            &tref,
            (&staged.file, seq),
            &staged_path,
            &at,
            now,
        )?;
        // Placed where the ticket's folder is when the placement runs.
        let mut after = After::default();
        after.stage(staged, head, Cow::Borrowed(&mail.bytes[..]), folder);
        execute::commit(&self.store, tx, after, &mut placer)?;
        placer.flush(&self.store, &mut self.index)?;
        Ok(())
    }
}
