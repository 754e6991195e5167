//! Outgoing mail decided inside a batch: an autoresponse to the customer and a notice to the
//! queue's agents for each filed message, stored as outgoing articles and queued in the same
//! commit (see `outgoing`), or the notice recorded for the agents' next digests in it.
//! Suppressed answers are recorded with their reason.

use std::borrow::Cow;

use super::apply::{folder_of, record, After};
use super::customer::Customer;
use super::history::HistoryLine;
use super::{IntakeError, Rules};
use crate::article::{out_head, queued, record_out};
use crate::classify::Classification;
use crate::decide::policy::{self, Counts, Inputs, Limits, Verdict};
use crate::decide::{Decision, Why};
use crate::facts::{Facts, Mailbox};
use crate::index::{DigestEntry, TicketRef, Tx};
use crate::outgoing::build::{self, OutMail, TicketView};
use crate::outgoing::config::NoticeStyle;
use crate::outgoing::digest;
use crate::outgoing::recipients;
use crate::outgoing::text;
use crate::store::Store;
use crate::template::Event;

/// How much of the customer's text a pointer notice shows.
const EXCERPT_LINES: usize = 12;
const EXCERPT_CHARS: usize = 800;

/// When a batch runs, for the rows it writes: one reading of the engine's clock.
pub(super) struct Moment {
    /// RFC 3339, as in the trace headers.
    pub at: String,
    /// Unix seconds, for the outbox and the rate limits.
    pub now: i64,
}

impl Moment {
    pub fn at(t: chrono::DateTime<chrono::Utc>) -> Moment {
        Moment {
            at: crate::clock::stamp(t),
            now: t.timestamp(),
        }
    }

    /// The batch's time as the Date of the mails it makes.
    pub fn date(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(self.now, 0).unwrap_or_default()
    }
}

/// Stores `mail` as an outgoing article of `t` (in `t`'s folder) and queues it for sending.
pub(super) fn stage_out(
    store: &Store,
    tx: &Tx,
    after: &mut After,
    t: &TicketRef,
    mail: OutMail,
    clock: &Moment,
) -> Result<(), IntakeError> {
    let seq = tx.next_seq(&t.number)?;
    let (head, facts) = out_head(&mail, t, &clock.at, seq);
    let staged = store.reserve((head.len() + mail.bytes.len()) as u64);
    let staged_path = staged.path.to_string_lossy().into_owned();
    record_out(
        tx,
        &mail,
        &facts,
        t,
        (&staged.file, seq),
        &staged_path,
        &clock.at,
        clock.now,
    )?;
    after.stage(staged, head, Cow::Owned(mail.bytes), folder_of(t));
    after.queued = true;
    Ok(())
}

/// Queues `mail` (an agents' pointer notice) with its bytes kept in the index until it is sent:
/// it is no article of the ticket, so nothing is staged and nothing is written to the tree. Its
/// history is the `sent` (or `send-failed`) line the outbox commits and appends to the ticket's
/// event log, as for every outgoing mail; an index lost before then loses the notice, never the
/// mail it is about.
pub(super) fn queue_kept(
    store: &Store,
    tx: &Tx,
    after: &mut After,
    t: &TicketRef,
    mail: OutMail,
    clock: &Moment,
) -> Result<(), IntakeError> {
    // A unique name from the store's generator; no file of this name is ever written.
    let file = store.reserve(mail.bytes.len() as u64).file;
    tx.keep_outbox_mail(&file, &mail.bytes)?;
    tx.enqueue(&queued(&t.number, file, &mail, clock.now))?;
    after.queued = true;
    Ok(())
}

/// The autoresponse and the agents' notice for a message just filed in `t` (its state after
/// filing). Returns what the mail log says about them.
#[allow(clippy::too_many_arguments)]
pub(super) fn respond(
    store: &Store,
    tx: &Tx,
    after: &mut After,
    rules: &Rules,
    facts: &Facts,
    class: &Classification,
    suppressed: Option<&str>,
    raw: &[u8],
    t: &TicketRef,
    decision: &Decision,
    clock: &Moment,
    rng: &mut impl rand::Rng,
    customer: Option<&Customer>,
) -> Result<Vec<String>, IntakeError> {
    let Some(out) = &rules.out else {
        return Ok(Vec::new());
    };
    let cfg = &rules.cfg;
    let mailer = build::Mailer {
        cfg,
        out,
        date: clock.date(),
    };
    let mut said = Vec::new();
    let known;
    let customer = match customer {
        Some(c) => c,
        None => {
            known = Customer::of_ticket(tx, &t.number)?;
            &known
        }
    };
    let switches = cfg.switches(&t.queue);
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
    let event = match decision {
        Decision::New { .. } => Event::Created,
        Decision::FollowUp { reopen: true, .. } => Event::Reopened,
        _ => Event::FollowUp,
    };
    let mut ctx = build::context(cfg, &view, facts, &body, event);
    customer.fill(&mut ctx);
    let lang = build::language(cfg, out, facts, &t.queue);
    let suppress =
        |said: &mut Vec<String>, tx: &Tx, after: &mut After, what: &str, reason: String| {
            said.push(format!("{what} suppressed: {reason}"));
            let line = HistoryLine {
                at: clock.at.clone(),
                event: format!("{what}-suppressed"),
                detail: reason,
                key: format!("sup:{}:{what}", facts.digest),
                value: None,
            };
            record(tx, after, t, line)
        };

    if let Some(template) = policy::template_for(decision) {
        if let Decision::New {
            refers: Some((n, Why::Closed)),
            ..
        } = decision
        {
            ctx.previous = Some(crate::template::Previous {
                number: n.clone(),
                tag: cfg.scheme().tag(n),
            });
        }
        if let Decision::Reject { .. } = decision {
            ctx.reason = Some(format!("ticket {} is closed", t.number));
        }
        match may_autorespond(
            tx, rules, template, &t.queue, facts, class, suppressed, clock,
        )? {
            Err(reason) => suppress(&mut said, tx, after, "autoresponse", reason)?,
            Ok(to) => match mailer.autoresponse(template, &ctx, &lang, facts, &to, rng) {
                Ok(mail) => {
                    said.push(format!("autoresponse {template} queued to {to}"));
                    stage_out(store, tx, after, t, mail, clock)?;
                }
                Err(e) => {
                    tracing::error!(ticket = %t.number, "autoresponse {template}: {e}");
                    suppress(
                        &mut said,
                        tx,
                        after,
                        "autoresponse",
                        format!("cannot build: {e}"),
                    )?
                }
            },
        }
    }

    // A follow-up never adds recipients; say whom it named, so an agent can add them on purpose.
    let mut warnings = Vec::new();
    if let Decision::FollowUp { .. } = decision {
        let parties = tx.answer_parties(&t.number)?;
        let receiving = recipients::receiving(&parties, &rules.own, &rules.agents);
        let wanted = recipients::wanted(facts, &receiving, &rules.own, &rules.agents);
        if let Some(sentence) = recipients::wanted_sentence(&wanted) {
            said.push(sentence.clone());
            let line = HistoryLine {
                at: clock.at.clone(),
                event: "recipients-not-added".into(),
                detail: sentence.clone(),
                key: format!("wanted:{}", facts.digest),
                value: None,
            };
            record(tx, after, t, line)?;
            warnings.push(sentence);
        }
    }

    let automatic_on_closed =
        matches!(decision, Decision::FollowUp { .. }) && t.state == crate::index::State::Closed;
    if switches.agent_notify && !automatic_on_closed {
        let agents: Vec<Mailbox> = cfg
            .agents
            .iter()
            .filter(|a| a.queues.iter().any(|q| q.eq_ignore_ascii_case(&t.queue)))
            .map(|a| Mailbox {
                name: Some(a.name.clone()),
                address: a.address.clone(),
            })
            .collect();
        let agent_lang = cfg
            .queue(&t.queue)
            .map(|q| q.language.clone())
            .unwrap_or_else(|| lang.clone());
        if agents.is_empty() {
            // No one to tell: nothing is sent, and nothing is held back.
            return Ok(said);
        }
        // The same per-sender limit as autoresponses: an autoresponder that sends no
        // Auto-Submitted must not flood the agents either.
        let sender = policy::notice_sender(facts);
        let (sent, oldest) = tx.notices_about(&sender, clock.now - 86_400)?;
        let limit = cfg.autoresponse.per_recipient_per_day;
        match policy::notice_limit(&sender, sent, oldest, clock.now, limit) {
            policy::Notice::Suppress(reason) => {
                suppress(&mut said, tx, after, "notification", reason)?;
                return Ok(said);
            }
            policy::Notice::Last(sentence) => warnings.push(sentence),
            policy::Notice::Send => {}
        }
        let style = cfg.notice_style(&t.queue);
        if style == NoticeStyle::Digest {
            if !agents.is_empty() {
                let entry = DigestEntry {
                    id: 0,
                    ticket: t.number.clone(),
                    queue: t.queue.clone(),
                    event: event.name().into(),
                    from: ctx.article.from.clone(),
                    subject: build::plain_subject(cfg, &facts.subject, &t.number),
                    excerpt: text::excerpt(
                        &ctx.article.body,
                        digest::EXCERPT_LINES,
                        digest::EXCERPT_CHARS,
                    )
                    .0,
                    notes: warnings.join("\n"),
                    at: clock.now,
                };
                said.push(record_digest(tx, after, t, &entry, &agents, facts, clock)?);
                tx.add_notice(&sender, clock.now)?;
            }
            return Ok(said);
        }
        if style == NoticeStyle::Pointer {
            let (excerpt, cut) = text::excerpt(&ctx.article.body, EXCERPT_LINES, EXCERPT_CHARS);
            ctx.article.body = excerpt;
            if cut {
                warnings.push(format!(
                    "The whole message is in {}.",
                    store.imap_name(&folder_of(t))
                ));
            }
        }
        let built = mailer.notify(&ctx, &agent_lang, &agents, facts, &warnings, style, rng);
        match built {
            Ok(mails) if mails.is_empty() => {}
            Ok(mails) => {
                let rcpts: Vec<String> = mails.iter().flat_map(|m| m.rcpts.clone()).collect();
                said.push(format!("agents notified ({})", rcpts.join(", ")));
                for mail in mails {
                    match style {
                        NoticeStyle::Copy => stage_out(store, tx, after, t, mail, clock)?,
                        _ => queue_kept(store, tx, after, t, mail, clock)?,
                    }
                }
                tx.add_notice(&sender, clock.now)?;
            }
            Err(e) => {
                tracing::error!(ticket = %t.number, "agent notice: {e}");
                suppress(
                    &mut said,
                    tx,
                    after,
                    "notification",
                    format!("cannot build: {e}"),
                )?
            }
        }
    }
    Ok(said)
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

/// Whether an autoresponse (`template`) may go out, and to whom: the policy (switches,
/// automatic mail, filters, who the recipient is), then the rate limits counted in this batch's
/// transaction. `Err` is the reason it may not, for the history and the mail log.
#[allow(clippy::too_many_arguments)]
pub(super) fn may_autorespond(
    tx: &Tx,
    rules: &Rules,
    template: crate::template::Kind,
    queue: &str,
    facts: &Facts,
    class: &Classification,
    suppressed: Option<&str>,
    clock: &Moment,
) -> Result<Result<String, String>, IntakeError> {
    let cfg = &rules.cfg;
    let verdict = policy::autoresponse(&Inputs {
        template,
        switches: cfg.switches(queue),
        queue,
        facts,
        class,
        suppressed_by_filter: suppressed,
        own: &rules.own,
        agents: &rules.agents,
    });
    let to = match verdict {
        Verdict::Suppress(reason) => return Ok(Err(reason)),
        Verdict::Send { to } => to,
    };
    let (to_recipient, last_minute) = tx.autoreply_counts(&to, clock.now)?;
    let counts = Counts {
        to_recipient,
        last_minute,
    };
    Ok(match policy::within_limits(&to, counts, Limits::of(cfg)) {
        Ok(()) => Ok(to),
        Err(reason) => {
            if reason.starts_with("circuit breaker") {
                alarm(clock.now, &reason);
            }
            Err(reason)
        }
    })
}

/// The circuit breaker's alarm: logged once a minute while it is open, not once per message.
fn alarm(now: i64, reason: &str) {
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
