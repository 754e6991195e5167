//! An agent's mail to a ticket's reply address, carried out as its plan says
//! (`agent_plan`): the commands' changes applied and recorded, the agent's mail filed as written
//! (direction `agent`), the rest relayed to the customer and the participants agents accepted
//! from the queue's address as an outgoing article queued in the same commit, or the whole mail
//! held back with a notice to the agent saying why.

use super::agent_plan::context;
use super::apply::{folder_of, record, After};
use super::history::{self, HistoryLine};
use super::outbound::{stage_out, Moment};
use super::reply::Out;
use super::{IntakeError, Message};
use crate::article::Change;
use crate::facts::Facts;
use crate::index::{NewArticle, TicketParty, TicketRef, Tx};
use crate::outgoing::agent::AgentMail;
use crate::outgoing::build;
use crate::outgoing::recipients::Recipients;
use crate::outgoing::text;
use crate::store::{trace, Store};

impl<R: rand::Rng> Out<'_, '_, '_, R> {
    /// A command's change applied to `t` and recorded (the `n`-th of the mail); returns what
    /// the mail log says.
    pub fn change(
        &mut self,
        t: &TicketRef,
        facts: &Facts,
        change: &Change,
        detail: &str,
        n: usize,
    ) -> Result<String, IntakeError> {
        change.apply(self.tx, &t.number, &self.clock.at)?;
        let line = HistoryLine {
            at: self.clock.at.clone(),
            event: change.event().into(),
            detail: detail.to_string(),
            key: format!("cmd:{}:{n}", facts.digest),
            value: change.value(),
        };
        record(self.tx, self.after, t, line)?;
        Ok(format!("{} {detail}", change.event()))
    }

    /// An agent's mail held back: recorded on `t`, and the agent told why by mail.
    pub fn hold(
        &mut self,
        t: &TicketRef,
        facts: &Facts,
        mail: &AgentMail,
        problems: &[String],
    ) -> Result<String, IntakeError> {
        let (tx, clock) = (self.tx, self.clock);
        let reason = problems.join("; ");
        let line = HistoryLine {
            at: clock.at.clone(),
            event: "answer-held".into(),
            detail: format!("not sent, nothing changed: {reason}"),
            key: format!("held:{}", facts.digest),
            value: None,
        };
        record(tx, self.after, t, line)?;
        let body = format!(
            "Your mail to ticket {} was filed but not sent, and the ticket was not changed:\n\n{}\n\nCorrect it and send it again.\n",
            t.number,
            problems.iter().map(|p| format!("  - {p}\n")).collect::<String>()
        );
        let subject = format!("Not sent: {}", facts.subject);
        let out = self
            .rules
            .out
            .as_ref()
            .expect("agent mail is only detected with outgoing rules");
        let built = build::Mailer {
            cfg: &self.rules.cfg,
            out,
            date: clock.date(),
        }
        .notice(
            &t.queue,
            &t.number,
            std::slice::from_ref(&mail.address),
            &subject,
            body,
            self.rng,
        );
        match built {
            Ok(m) => stage_out(self.store, tx, self.after, t, m, clock)?,
            Err(e) => tracing::error!(ticket = %t.number, "notice to {}: {e}", mail.address),
        }
        Ok(format!("answer held: {reason}"))
    }

    /// An agent's answer relayed from the queue's address to `rcpts`, as an outgoing article of
    /// `t` (where the commands left it; `was` where the mail found it); `response` a standard
    /// response's text above the agent's `body`. Returns what the mail log says.
    #[allow(clippy::too_many_arguments)]
    pub fn relay(
        &mut self,
        msg: &Message,
        facts: &Facts,
        t: &TicketRef,
        was: &TicketRef,
        mail: &AgentMail,
        rcpts: &Recipients,
        party: &TicketParty,
        response: Option<&str>,
        body: &str,
    ) -> Result<String, IntakeError> {
        let (tx, clock, rules) = (self.tx, self.clock, self.rules);
        let cfg = &rules.cfg;
        let out = rules
            .out
            .as_ref()
            .expect("agent mail is only detected with outgoing rules");
        let mut ctx = context(rules, was, facts, body, rcpts, party, mail, &clock.at);
        let lang = (cfg.queue(&was.queue))
            .map(|q| q.language.clone())
            .unwrap_or_else(|| "en".into());
        let mut text = String::new();
        if let Some(r) = response {
            text.push_str(r.trim_end());
            text.push_str("\n\n");
        }
        text.push_str(body);
        ctx.ticket.queue = t.queue.clone();
        ctx.ticket.state = t.state.as_str().to_string();
        let head = tx.thread_head(&was.number)?;
        let in_reply_to = head.as_ref().and_then(|h| h.message_id.clone());
        let to = rcpts.to.clone().unwrap_or_default();
        let relay = build::Mailer {
            cfg,
            out,
            date: clock.date(),
        }
        .relay(
            &ctx,
            &lang,
            build::Answer {
                to: std::slice::from_ref(&to),
                cc: &rcpts.cc,
                in_reply_to: in_reply_to.as_deref(),
                subject: &facts.subject,
                text: &text,
                attachments: text::attachments(&msg.raw),
            },
            self.rng,
        );
        match relay {
            Ok(m) => {
                let said = format!("answer by {} queued to {}", mail.name, m.rcpts.join(", "));
                stage_out(self.store, tx, self.after, t, m, clock)?;
                Ok(said)
            }
            Err(e) => {
                let line = HistoryLine {
                    at: clock.at.clone(),
                    event: "answer-held".into(),
                    detail: format!("cannot build the answer: {e}"),
                    key: format!("held:{}", facts.digest),
                    value: None,
                };
                record(tx, self.after, t, line)?;
                Ok(format!("answer not sent: {e}"))
            }
        }
    }
}

/// The agent's mail as written, filed in the ticket.
#[allow(clippy::too_many_arguments)]
pub(super) fn file_agent_mail<'a>(
    store: &Store,
    tx: &Tx,
    after: &mut After<'a>,
    msg: &'a Message,
    facts: &Facts,
    t: &TicketRef,
    event: &str,
    agent: &str,
    base: trace::Trace,
    clock: &Moment,
) -> Result<(), IntakeError> {
    let mut tr = trace::Trace::default();
    tr.add(trace::TICKET, &t.number)
        .add(trace::QUEUE, &t.queue)
        .add(trace::DIRECTION, "agent")
        .add(trace::CLASSIFICATION, "normal")
        .add(trace::EVENT, event)
        .add(trace::AGENT, agent);
    tr.fields.extend(base.fields);
    let seq = tx.next_seq(&t.number)?;
    tr.add(trace::SEQUENCE, seq.to_string());
    let head = tr.render(&msg.raw);
    let staged = store.reserve(head.len() as u64 + msg.len());
    let mut article = super::build_article(
        facts,
        &crate::classify::Classification::normal(),
        t,
        event,
        false,
        &staged.file,
        &clock.at,
    );
    article.direction = "agent".into();
    article.reply_addr = None;
    article.seq = seq;
    let staged_path = staged.path.to_string_lossy().into_owned();
    tx.insert_article(&NewArticle {
        article: &article,
        staged: Some(&staged_path),
    })?;
    let e = history::agent_event(&t.number, &clock.at, event, agent);
    tx.add_history(&e.ticket, &e.at, &e.event, &e.detail)?;
    after.stage_spliced(
        staged,
        head,
        std::borrow::Cow::Borrowed(&msg.raw[..]),
        msg.spliced.as_ref(),
        folder_of(t),
        "",
    );
    Ok(())
}
