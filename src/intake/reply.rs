//! The plan's outgoing mail carried out for a filed message: its autoresponse and the agents'
//! notice rendered and queued in the batch's commit (`outbound`), or the notice recorded for
//! the agents' next digests; what is held back recorded with its reason. Whether, to whom and
//! in which style was decided in the plan (`decide::respond`); only the mails are made here.

use super::apply::{folder_of, record, After};
use super::customer::Customer;
use super::history::HistoryLine;
use super::outbound::{queue_kept, stage_out, Moment};
use super::{IntakeError, Rules};
use crate::facts::{Facts, Mailbox};
use crate::index::{DigestEntry, TicketRef, Tx};
use crate::outgoing::build::{self, TicketView};
use crate::outgoing::config::NoticeStyle;
use crate::outgoing::digest;
use crate::outgoing::text;
use crate::store::Store;
use crate::template::{self, Event, Kind};

/// How much of the customer's text a pointer notice shows.
const EXCERPT_LINES: usize = 12;
const EXCERPT_CHARS: usize = 800;

/// What the mails about one filed message are made from: the templates' context, once.
pub(super) struct Reply {
    pub ctx: template::Context,
    pub lang: String,
}

impl Reply {
    /// The context of the mails about `facts` (`raw`), filed in `t` as `event`; `customer` is
    /// the directory's customer of a ticket opened now (else the ticket's is read).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        tx: &Tx,
        rules: &Rules,
        facts: &Facts,
        raw: &[u8],
        t: &TicketRef,
        event: Event,
        customer: Option<&Customer>,
        clock: &Moment,
    ) -> Result<Reply, IntakeError> {
        let cfg = &rules.cfg;
        let out = rules
            .out
            .as_ref()
            .expect("a plan sends only with outgoing rules");
        let known;
        let customer = match customer {
            Some(c) => c,
            None => {
                known = Customer::of_ticket(tx, &t.number)?;
                &known
            }
        };
        // The preview is the whole text of most mail; only longer mail is parsed again.
        let body = if facts.body_preview.chars().count() < crate::parse::PREVIEW_CHARS {
            facts.body_preview.clone()
        } else {
            text::body_text_capped(raw, text::MAX_NOTIFY_TEXT)
        };
        // A follow-up's notice shows when the ticket was opened, not when the follow-up came.
        let created = tx
            .ticket_created(&t.number)?
            .unwrap_or_else(|| clock.at.clone());
        let view = TicketView::new(cfg, t, &facts.subject, &created);
        let mut ctx = build::context(cfg, &view, facts, &body, event);
        customer.fill(&mut ctx);
        let lang = build::language(cfg, out, facts, &t.queue);
        Ok(Reply { ctx, lang })
    }
}

/// The things every mail of a batch needs.
pub(super) struct Out<'s, 'a, 'b, R> {
    pub store: &'s Store,
    pub tx: &'s Tx<'b>,
    pub after: &'s mut After<'a>,
    pub rules: &'s Rules,
    pub clock: &'s Moment,
    pub rng: &'s mut R,
}

impl<R: rand::Rng> Out<'_, '_, '_, R> {
    /// Records on `t` that `what` (autoresponse, notification) was held back and why; returns
    /// what the mail log says.
    pub fn suppressed(
        &mut self,
        t: &TicketRef,
        facts: &Facts,
        what: &str,
        reason: String,
    ) -> Result<String, IntakeError> {
        let said = format!("{what} suppressed: {reason}");
        let line = HistoryLine {
            at: self.clock.at.clone(),
            event: format!("{what}-suppressed"),
            detail: reason,
            key: format!("sup:{}:{what}", facts.digest),
            value: None,
        };
        record(self.tx, self.after, t, line)?;
        Ok(said)
    }

    /// The autoresponse `kind` to `to`, queued as an outgoing article of `t`.
    pub fn autorespond(
        &mut self,
        reply: &Reply,
        t: &TicketRef,
        facts: &Facts,
        kind: Kind,
        to: &str,
    ) -> Result<String, IntakeError> {
        let out = self
            .rules
            .out
            .as_ref()
            .expect("a plan sends only with outgoing rules");
        let mailer = build::Mailer {
            cfg: &self.rules.cfg,
            out,
            date: self.clock.date(),
        };
        match mailer.autoresponse(kind, &reply.ctx, &reply.lang, facts, to, self.rng) {
            Ok(mail) => {
                stage_out(self.store, self.tx, self.after, t, mail, self.clock)?;
                Ok(format!("autoresponse {kind} queued to {to}"))
            }
            Err(e) => {
                tracing::error!(ticket = %t.number, "autoresponse {kind}: {e}");
                self.suppressed(t, facts, "autoresponse", format!("cannot build: {e}"))
            }
        }
    }

    /// The agents' notice about a message filed in `t`, in `style`, with `warnings`; counted
    /// against `sender`'s notice limit. Returns what the mail log says, if anything.
    #[allow(clippy::too_many_arguments)]
    pub fn notify(
        &mut self,
        reply: &mut Reply,
        t: &TicketRef,
        facts: &Facts,
        agents: &[Mailbox],
        style: NoticeStyle,
        event: Event,
        sender: &str,
        mut warnings: Vec<String>,
    ) -> Result<Option<String>, IntakeError> {
        let cfg = &self.rules.cfg;
        let (tx, clock) = (self.tx, self.clock);
        if style == NoticeStyle::Digest {
            let entry = DigestEntry {
                id: 0,
                ticket: t.number.clone(),
                queue: t.queue.clone(),
                event: event.name().into(),
                from: reply.ctx.article.from.clone(),
                subject: build::plain_subject(cfg, &facts.subject, &t.number),
                excerpt: text::excerpt(
                    &reply.ctx.article.body,
                    digest::EXCERPT_LINES,
                    digest::EXCERPT_CHARS,
                )
                .0,
                notes: warnings.join("\n"),
                at: clock.now,
            };
            let said = record_digest(tx, self.after, t, &entry, agents, facts, clock)?;
            tx.add_notice(sender, clock.now)?;
            return Ok(Some(said));
        }
        if style == NoticeStyle::Pointer {
            let body = &reply.ctx.article.body;
            let (excerpt, cut) = text::excerpt(body, EXCERPT_LINES, EXCERPT_CHARS);
            reply.ctx.article.body = excerpt;
            if cut {
                warnings.push(format!(
                    "The whole message is in {}.",
                    self.store.imap_name(&folder_of(t))
                ));
            }
        }
        let out = self
            .rules
            .out
            .as_ref()
            .expect("a plan sends only with outgoing rules");
        let mailer = build::Mailer {
            cfg,
            out,
            date: clock.date(),
        };
        let lang = cfg
            .queue(&t.queue)
            .map(|q| q.language.clone())
            .unwrap_or_else(|| reply.lang.clone());
        let built = mailer.notify(&reply.ctx, &lang, agents, facts, &warnings, style, self.rng);
        match built {
            Ok(mails) if mails.is_empty() => Ok(None),
            Ok(mails) => {
                let rcpts: Vec<String> = mails.iter().flat_map(|m| m.rcpts.clone()).collect();
                for mail in mails {
                    match style {
                        NoticeStyle::Copy => stage_out(self.store, tx, self.after, t, mail, clock)?,
                        _ => queue_kept(self.store, tx, self.after, t, mail, clock)?,
                    }
                }
                tx.add_notice(sender, clock.now)?;
                Ok(Some(format!("agents notified ({})", rcpts.join(", "))))
            }
            Err(e) => {
                tracing::error!(ticket = %t.number, "agent notice: {e}");
                let said =
                    self.suppressed(t, facts, "notification", format!("cannot build: {e}"))?;
                Ok(Some(said))
            }
        }
    }
}

/// Records `entry` for the next digest of each of `agents`, with the ticket's history line that
/// says they are told there; returns what the mail log says.
fn record_digest(
    tx: &Tx,
    after: &mut After,
    t: &TicketRef,
    entry: &DigestEntry,
    agents: &[Mailbox],
    facts: &Facts,
    clock: &Moment,
) -> Result<String, IntakeError> {
    let to: Vec<String> = agents.iter().map(|a| a.address.clone()).collect();
    tx.add_digest_entry(entry, &to)?;
    let said = format!("agents notified in the next digest ({})", to.join(", "));
    let line = HistoryLine {
        at: clock.at.clone(),
        event: "notification-digest".into(),
        detail: said.clone(),
        key: format!("digest:{}", facts.digest),
        value: None,
    };
    record(tx, after, t, line)?;
    Ok(said)
}

/// The circuit breaker's alarm: logged once a minute while it is open, not once per message.
pub(super) fn alarm(now: i64, reason: &str) {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let last = LAST.load(Ordering::Relaxed);
    if now - last >= 60
        && LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        tracing::error!(alarm = "autoresponse-circuit-breaker", "{reason}");
    }
}
