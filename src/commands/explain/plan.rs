//! The plan for one message: the decisions with their reasons, the actions intake carries out
//! (`decide::action`), and in the terms of the mail log line intake writes; `explain --json`
//! prints it as one JSON line.

use std::path::Path;

use serde::Serialize;

use super::Say;
use crate::cli::Failure;
use crate::config::outgoing::NoticeStyle;
use crate::decide::action::{Action, Note};
use crate::decide::Decision;
use crate::index::{Duplicate, Index};
use crate::intake::Rules;
use crate::requests;

/// What intake would do with a message, in the terms of its mail log line.
#[derive(Debug, Default, Serialize)]
pub struct Plan {
    pub file: String,
    pub message_id: Option<String>,
    pub class: String,
    /// The decision in words.
    pub decision: String,
    /// The matcher's steps, each with its reason.
    pub steps: Vec<String>,
    /// What intake carries out, in order (`decide::action::Action::json`).
    pub actions: Vec<serde_json::Value>,
    /// The mail log's verdict: created, follow-up, reopened, duplicate, quarantined, note,
    /// answer or request.
    pub verdict: String,
    /// The existing ticket the message goes to (none for a new ticket: its number is drawn
    /// when it is filed).
    pub ticket: Option<String>,
    pub queue: Option<String>,
    /// Why it is quarantined, or what a customer's request is answered.
    pub detail: Option<String>,
    /// Outgoing mail, queued or suppressed and why, and an agent's commands' changes, as the
    /// mail log's `out` lists them (the actions' `said`); none where it is only known when
    /// carried out (an agent's `#find`).
    pub out: Option<Vec<String>>,
    /// A scanner could not look: intake would leave the message at its source for now (the
    /// rest is the plan as if it had looked and found nothing).
    pub deferred: Option<String>,
}

/// The plan for one message, its reasons said along the way.
pub(super) fn plan(
    rules: &Rules,
    index: &Index,
    raw: &[u8],
    file: &Path,
    say: &Say,
) -> Result<Plan, Failure> {
    let mut plan = Plan {
        file: file.display().to_string(),
        ..Plan::default()
    };
    say.line("file:", file.display());
    let scanned = match rules.scan(raw) {
        Ok(s) => s,
        Err(why) => {
            say.line(
                "scan:",
                format!("deferred, the message would wait at its source: {why}"),
            );
            plan.deferred = Some(why);
            crate::intake::Scanned::default()
        }
    };
    let mut u = rules.understand_with(raw, scanned);
    if let Some(Ok(number)) = u.fax.as_ref().map(|f| f.number.clone()) {
        u.fax_from_customer =
            crate::intake::fax::from_customer(index, rules, &u.facts.subject, &number)?;
    }
    let a = rules.decide(u, index, rules.clock.now())?;
    let f = &a.facts;
    plan.message_id = f.message_id.clone();
    plan.class = a.class.kind.as_str().to_string();
    say.line(
        "message-id:",
        f.message_id
            .as_deref()
            .map(|m| format!("<{m}>"))
            .unwrap_or("(none)".into()),
    );
    say.line(
        "from:",
        format!(
            "{}{}",
            f.author().map(|m| m.display()).unwrap_or_default(),
            match f.author_header() {
                Some("From") => String::new(),
                Some(header) => format!(" (taken from {header}: From has no address)"),
                None => " (no address in From, Reply-To, Sender or Return-Path)".into(),
            }
        ),
    );
    say.line("subject:", &f.subject);
    say.line(
        "size:",
        format!("{} bytes, {} attachments", f.size, f.attachments.len()),
    );
    for att in &f.attachments {
        say.line(
            "  attachment:",
            format!("{:?} {} {} bytes", att.filename, att.content_type, att.size),
        );
    }
    for d in &f.defects {
        say.line("  defect:", d);
    }
    say.line("classification:", a.class.kind.as_str());
    for r in &a.class.reasons {
        say.line("  because", r);
    }
    if let Some(b) = &a.class.bounce_of {
        say.line("  returns", format!("<{b}>"));
    }
    for (name, value) in &a.inspection.headers {
        say.line("scan:", format!("{name}: {value}"));
    }
    for t in &a.inspection.verdict.trace {
        say.line("filter:", t);
    }
    for e in &a.inspection.verdict.errors {
        say.line("filter error:", e);
    }
    say.line("route:", format!("{} ({})", a.route.queue, a.route.reason));
    let decided = &a.plan;
    for s in &decided.steps {
        say.line("  step", s);
    }
    plan.steps = decided.steps.clone();
    let automatic = a.class.kind.is_automatic();
    plan.decision = match &decided.decision {
        Decision::Quarantine { reason } => format!("quarantine: {reason}"),
        Decision::Duplicate(_) => "duplicate: no new article".to_string(),
        Decision::New {
            queue,
            refers: Some((n, why)),
        } => {
            format!("new ticket in {queue}, referring to {n} ({})", why.as_str())
        }
        Decision::New {
            queue,
            refers: None,
        } => format!("new ticket in {queue}"),
        Decision::FollowUp {
            ticket,
            reopen,
            stranger,
        } => format!(
            "follow-up to {}{}{}",
            ticket.number,
            if *reopen { ", reopening it" } else { "" },
            if *stranger {
                ", marked as from a stranger"
            } else {
                ""
            }
        ),
        Decision::Reject { ticket } => {
            format!("rejected (ticket {} is closed): quarantine", ticket.number)
        }
        Decision::Agent { ticket, mail } if automatic => format!(
            "note by agent {} to ticket {}: automatic mail from an agent is filed, not relayed, its commands not read",
            mail.name, ticket.number
        ),
        Decision::Agent { ticket, mail } => format!(
            "{} by agent {} to ticket {}",
            if mail.note { "note" } else { "answer" },
            mail.name,
            ticket.number
        ),
        Decision::Request { queue, command } => format!(
            "a customer's request #{} to {queue}: answered by mail, not filed (kept in the quarantine)",
            command.name()
        ),
    };
    say.line("decision:", &plan.decision);
    for action in &decided.actions {
        let (label, words) = in_words(action);
        say.line(label, words);
    }
    plan.actions = decided.actions.iter().map(Action::json).collect();
    let said: Vec<String> = decided.actions.iter().filter_map(Action::said).collect();
    match &decided.decision {
        Decision::Quarantine { reason } => {
            plan.verdict = "quarantined".into();
            plan.detail = Some(reason.clone());
            plan.out = Some(said);
        }
        Decision::Duplicate(dup) => {
            plan.verdict = "duplicate".into();
            plan.ticket = match dup {
                Duplicate::Article { ticket } => Some(ticket.clone()),
                Duplicate::Quarantined { .. } => None,
            };
            plan.out = Some(said);
        }
        Decision::Agent { ticket, .. } => {
            let note = decided
                .actions
                .iter()
                .any(|a| matches!(a, Action::FileAgentMail { note: true, .. }));
            plan.verdict = if note { "note" } else { "answer" }.into();
            // The ticket as the commands leave it (a `#queue` moves it).
            let to = decided.actions.iter().find_map(|a| match a {
                Action::FileAgentMail { ticket, .. } => Some(ticket),
                _ => None,
            });
            plan.ticket = Some(ticket.number.clone());
            plan.queue = Some(to.unwrap_or(ticket).queue.clone());
            // A `#find`'s answer is only known when it is carried out.
            let find = (decided.actions.iter()).any(|a| matches!(a, Action::AnswerFind { .. }));
            plan.out = (!find).then_some(said);
        }
        Decision::Request { queue, .. } => {
            if let Some(Action::AnswerRequest { answer, to, .. }) = decided.actions.first() {
                let reply = &answer.reply;
                match to {
                    Ok(to) => say.line(
                        "answer:",
                        format!(
                            "{} to {to} (the directory's address): {}",
                            reply.template(),
                            reply.summary()
                        ),
                    ),
                    Err(why) => say.line("answer:", format!("not answered: {why}")),
                }
                if let requests::Reply::Tickets { tickets, .. } = reply {
                    for t in tickets {
                        say.line(
                            "  ticket",
                            format!("{} {} {}", t.number, t.state.as_str(), t.subject),
                        );
                    }
                }
            }
            plan.verdict = "request".into();
            plan.queue = Some(queue.clone());
            plan.detail = said.first().cloned();
            plan.out = Some(said);
        }
        Decision::New { queue, .. } => {
            plan.verdict = "created".into();
            plan.queue = Some(queue.clone());
            plan.out = Some(said);
        }
        Decision::FollowUp { ticket, reopen, .. } => {
            plan.verdict = if *reopen { "reopened" } else { "follow-up" }.into();
            plan.ticket = Some(ticket.number.clone());
            plan.queue = Some(ticket.queue.clone());
            plan.out = Some(said);
        }
        Decision::Reject { ticket } => {
            plan.verdict = "quarantined".into();
            plan.detail = Some(format!(
                "follow-up to closed ticket {} rejected by queue {}",
                ticket.number, ticket.queue
            ));
            plan.out = Some(said);
        }
    }
    Ok(plan)
}

/// An action as the text form says it: its label and its words.
fn in_words(action: &Action) -> (&'static str, String) {
    match action {
        Action::Autorespond { kind, to, .. } => ("autoresponse:", format!("{kind} to {to}")),
        Action::AutoresponseSuppressed {
            ticket: Some(_),
            reason,
            ..
        } => ("autoresponse:", reason.clone()),
        Action::AutoresponseSuppressed {
            ticket: None,
            reason,
            ..
        } => ("reject reply:", format!("suppressed: {reason}")),
        Action::RejectReply { to, text } => ("reject reply:", format!("to {to}, saying: {text}")),
        Action::RecordEvent {
            note: Note::RecipientsNotAdded(s),
            ..
        } => ("recipients:", s.clone()),
        Action::Notify {
            style, warnings, ..
        } => {
            let whom = match style {
                NoticeStyle::Pointer => "one pointer to the queue's agents",
                NoticeStyle::Copy => "a copy to each of the queue's agents",
                NoticeStyle::Digest => "in each of the queue's agents' next digest",
            };
            let mut s = whom.to_string();
            if !warnings.is_empty() {
                s.push_str(&format!(", saying: {}", warnings.join(" ")));
            }
            ("notice:", s)
        }
        Action::NoticeSuppressed { reason, .. } => ("notice:", format!("held back: {reason}")),
        other => ("action:", other.words()),
    }
}
