//! `postdesk explain FILE...`: every decision for a message with its reason, and the plan intake
//! would carry out, in the terms of the mail log line it writes (verdict, ticket, queue, detail,
//! the outgoing mail queued or suppressed). Reads the index read-only and writes nothing.
//!
//! The plan follows `intake::apply` and `intake::outbound::respond` step by step; the
//! integration test `explain_plan` runs every fixture and the corpus through both and compares.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::{Failure, EX_CONFIG, EX_NOINPUT};
use crate::commands::Context;
use crate::decide::policy::{self, Counts, Limits};
use crate::decide::Decision;
use crate::index::{Duplicate, Index, State};
use crate::intake::{Analysis, Rules};
use crate::outgoing::{build, recipients};
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
    /// The mail log's verdict: created, follow-up, reopened, duplicate, quarantined, note,
    /// answer or request.
    pub verdict: String,
    /// The existing ticket the message goes to (none for a new ticket: its number is drawn
    /// when it is filed).
    pub ticket: Option<String>,
    pub queue: Option<String>,
    /// Why it is quarantined, or what a customer's request is answered.
    pub detail: Option<String>,
    /// Outgoing mail, queued or suppressed and why, as the mail log's `out` lists it; none
    /// where it is only known when filed (an agent's answer, whose commands are carried out
    /// then).
    pub out: Option<Vec<String>>,
    /// A scanner could not look: intake would leave the message at its source for now (the
    /// rest is the plan as if it had looked and found nothing).
    pub deferred: Option<String>,
}

/// The text form's lines, or nothing in the JSON form.
struct Say {
    text: bool,
}

impl Say {
    fn line(&self, label: &str, value: impl std::fmt::Display) {
        if self.text {
            println!("{label:<16}{value}");
        }
    }
}

pub fn explain(ctx: &Context, files: &[PathBuf], json: bool) -> Result<i32, Failure> {
    let cfg = ctx.load()?;
    let index_file = crate::store::index_file(&cfg.data_dir());
    let index = Index::open_readonly(&index_file)?;
    // The agents the directory's groups add, as intake reads them.
    let cfg = match crate::directory::rights::with_group_agents(&cfg, &index) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("agents' groups not read from the directory: {e}");
            cfg
        }
    };
    let rules = Rules::with_outgoing(&cfg, false).map_err(|e| Failure::new(EX_CONFIG, e))?;
    let say = Say { text: !json };
    let mut first = Some(index);
    let mut one = |file: &Path| -> Result<(), Failure> {
        let raw = std::fs::read(file)
            .map_err(|e| Failure::new(EX_NOINPUT, format!("{}: {e}", file.display())))?;
        // Each message against the index as it is when its turn comes: what was filed since
        // the last one counts.
        let index = match first.take() {
            Some(i) => i,
            None => Index::open_readonly(&index_file)?,
        };
        let plan = plan(&rules, &index, &raw, file, &say)?;
        let mut stdout = std::io::stdout().lock();
        if json {
            let line = serde_json::to_string(&plan).expect("a plan is JSON");
            writeln!(stdout, "{line}").map_err(Failure::from)?;
        } else {
            writeln!(stdout).map_err(Failure::from)?;
        }
        stdout.flush().map_err(Failure::from)
    };
    if files.is_empty() {
        for name in std::io::stdin().lock().lines() {
            let name = name.map_err(Failure::from)?;
            if !name.is_empty() {
                one(Path::new(&name))?;
            }
        }
    } else {
        for file in files {
            one(file)?;
        }
    }
    Ok(0)
}

/// The plan for one message, its reasons said along the way.
fn plan(rules: &Rules, index: &Index, raw: &[u8], file: &Path, say: &Say) -> Result<Plan, Failure> {
    let cfg = &rules.cfg;
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
    let a = rules.decide(u, index)?;
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
    if let Some(q) = &a.quarantine {
        plan.decision = format!("quarantine: {q}");
        say.line("decision:", &plan.decision);
        plan.verdict = "quarantined".into();
        plan.detail = Some(q.clone());
        let mut out = Vec::new();
        if let Some(text) = &a.inspection.reject {
            // Under the autoresponse rules, filters aside (the filter asked for it).
            let said = match may_autorespond(
                rules,
                index,
                crate::template::Kind::Reject,
                &a.route.queue,
                &a,
                None,
            )? {
                Err(why) => format!("reject reply suppressed: {why}"),
                Ok((to, _)) => format!("reject reply queued to {to}"),
            };
            say.line("reject reply:", format!("{said}, saying: {text}"));
            out.push(said);
        }
        plan.out = Some(out);
        return Ok(plan);
    }
    let decided = a.plan.as_ref().expect("plan when not quarantined");
    for s in &decided.steps {
        say.line("  step", s);
    }
    plan.steps = decided.steps.clone();
    let automatic = a.class.kind.is_automatic();
    plan.decision = match &decided.decision {
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
    match &decided.decision {
        Decision::Duplicate(dup) => {
            plan.verdict = "duplicate".into();
            plan.ticket = match dup {
                Duplicate::Article { ticket } => Some(ticket.clone()),
                Duplicate::Quarantined { .. } => None,
            };
            plan.out = Some(Vec::new());
            say.line("autoresponse:", "none for this event");
        }
        Decision::Agent { ticket, mail } => {
            plan.verdict = if automatic || mail.note {
                "note"
            } else {
                "answer"
            }
            .into();
            // A command in the mail may move the ticket to another queue when it is filed.
            plan.ticket = Some(ticket.number.clone());
            plan.queue = Some(ticket.queue.clone());
            plan.out =
                automatic.then(|| vec!["automatic mail from an agent: filed as a note".into()]);
            say.line("autoresponse:", "none for this event");
        }
        Decision::Request { queue, command } => {
            let answer = requests::answer(index, &cfg.customer_requests, f, command)?;
            let reply = &answer.reply;
            let said = match &answer.to {
                None => format!("not answered: {}", reply.summary()),
                Some(to) => match requests::may_answer(
                    &a.class,
                    a.inspection.no_autoresponse.as_deref(),
                    to,
                    &rules.own,
                    &rules.agents,
                ) {
                    Err(why) => format!("not answered: {why}"),
                    Ok(()) => match within_limits(rules, index, to)? {
                        Err(why) => format!("not answered: {why}"),
                        Ok(_) => format!("answered to {to}: {}", reply.summary()),
                    },
                },
            };
            match &answer.to {
                Some(to) if said.starts_with("answered") => say.line(
                    "answer:",
                    format!(
                        "{} to {to} (the directory's address): {}",
                        reply.template(),
                        reply.summary()
                    ),
                ),
                _ => say.line("answer:", &said),
            }
            if let requests::Reply::Tickets { tickets, .. } = reply {
                for t in tickets {
                    say.line(
                        "  ticket",
                        format!("{} {} {}", t.number, t.state.as_str(), t.subject),
                    );
                }
            }
            plan.verdict = "request".into();
            plan.queue = Some(queue.clone());
            plan.detail = Some(said.clone());
            plan.out = Some(vec![said]);
        }
        Decision::New { queue, .. } => {
            plan.verdict = "created".into();
            plan.queue = Some(queue.clone());
            plan.out = Some(respond(
                rules,
                index,
                &a,
                &decided.decision,
                queue,
                State::Open,
                say,
            )?);
        }
        Decision::FollowUp { ticket, reopen, .. } => {
            plan.verdict = if *reopen { "reopened" } else { "follow-up" }.into();
            plan.ticket = Some(ticket.number.clone());
            plan.queue = Some(ticket.queue.clone());
            let state = if *reopen { State::Open } else { ticket.state };
            plan.out = Some(respond(
                rules,
                index,
                &a,
                &decided.decision,
                &ticket.queue,
                state,
                say,
            )?);
        }
        Decision::Reject { ticket } => {
            plan.verdict = "quarantined".into();
            plan.detail = Some(format!(
                "follow-up to closed ticket {} rejected by queue {}",
                ticket.number, ticket.queue
            ));
            plan.out = Some(respond(
                rules,
                index,
                &a,
                &decided.decision,
                &ticket.queue,
                ticket.state,
                say,
            )?);
        }
    }
    Ok(plan)
}

/// The autoresponse and the agents' notice for a message filed in a ticket of `queue` whose
/// state after filing is `state`, as `intake::outbound::respond` decides them; returns what
/// the mail log's `out` says.
fn respond(
    rules: &Rules,
    index: &Index,
    a: &Analysis,
    decision: &Decision,
    queue: &str,
    state: State,
    say: &Say,
) -> Result<Vec<String>, Failure> {
    let cfg = &rules.cfg;
    let f = &a.facts;
    let mut out = Vec::new();
    match policy::template_for(decision) {
        None => say.line("autoresponse:", "none for this event"),
        Some(template) => {
            let outbound = rules.out.as_ref().expect("loaded with outgoing rules");
            let lang = build::language(cfg, outbound, f, queue);
            match may_autorespond(
                rules,
                index,
                template,
                queue,
                a,
                a.inspection.no_autoresponse.as_deref(),
            )? {
                Err(why) => {
                    say.line("autoresponse:", &why);
                    out.push(format!("autoresponse suppressed: {why}"));
                }
                Ok((to, counts)) => {
                    say.line(
                        "autoresponse:",
                        format!(
                            "{template} ({lang}) to {to} ({} to them in 24 hours, {} to anyone in the last minute)",
                            counts.to_recipient, counts.last_minute
                        ),
                    );
                    out.push(format!("autoresponse {template} queued to {to}"));
                }
            }
        }
    }
    if let Decision::FollowUp { ticket, .. } = decision {
        let parties = index.answer_parties(&ticket.number)?;
        let receiving = recipients::receiving(&parties, &rules.own, &rules.agents);
        let wanted = recipients::wanted(f, &receiving, &rules.own, &rules.agents);
        if let Some(s) = recipients::wanted_sentence(&wanted) {
            say.line("recipients:", &s);
            out.push(s);
        }
    }
    let automatic_on_closed =
        matches!(decision, Decision::FollowUp { .. }) && state == State::Closed;
    if !cfg.switches(queue).agent_notify {
        say.line("notice:", format!("none: agent-notify is off for {queue}"));
        return Ok(out);
    }
    if automatic_on_closed {
        say.line(
            "notice:",
            "none: automatic mail filed in a closed ticket tells no one",
        );
        return Ok(out);
    }
    let sender = policy::notice_sender(f);
    let now = rules.clock.now().timestamp();
    let (sent, oldest) = index.notices_about(&sender, now - 86_400)?;
    let limit = cfg.autoresponse.per_recipient_per_day;
    let last = match policy::notice_limit(&sender, sent, oldest, now, limit) {
        policy::Notice::Suppress(why) => {
            say.line("notice:", format!("held back: {why}"));
            out.push(format!("notification suppressed: {why}"));
            return Ok(out);
        }
        policy::Notice::Last(s) => Some(s),
        policy::Notice::Send => None,
    };
    let agents: Vec<&str> = cfg
        .agents
        .iter()
        .filter(|a| a.queues.iter().any(|q| q.eq_ignore_ascii_case(queue)))
        .map(|a| a.address.as_str())
        .collect();
    if agents.is_empty() {
        say.line("notice:", format!("none: no agent works in {queue}"));
        return Ok(out);
    }
    let whom = match cfg.autoresponse.agent_notice {
        crate::outgoing::config::NoticeStyle::Pointer => "one pointer to the queue's agents",
        crate::outgoing::config::NoticeStyle::Copy => "a copy to each of the queue's agents",
    };
    match last {
        Some(s) => say.line("notice:", format!("{whom}, saying: {s}")),
        None => say.line("notice:", whom),
    }
    out.push(format!("agents notified ({})", agents.join(", ")));
    Ok(out)
}

/// `intake::outbound::may_autorespond` over the read-only index: the policy, then the rate
/// limits; the recipient and the counts, or why not.
fn may_autorespond(
    rules: &Rules,
    index: &Index,
    template: crate::template::Kind,
    queue: &str,
    a: &Analysis,
    suppressed: Option<&str>,
) -> Result<Result<(String, Counts), String>, Failure> {
    let verdict = policy::autoresponse(&policy::Inputs {
        template,
        switches: rules.cfg.switches(queue),
        queue,
        facts: &a.facts,
        class: &a.class,
        suppressed_by_filter: suppressed,
        own: &rules.own,
        agents: &rules.agents,
    });
    match verdict {
        policy::Verdict::Suppress(why) => Ok(Err(why)),
        policy::Verdict::Send { to } => Ok(within_limits(rules, index, &to)?.map(|c| (to, c))),
    }
}

/// The rate limits for an answer to `to`, with the counts intake would read now.
fn within_limits(
    rules: &Rules,
    index: &Index,
    to: &str,
) -> Result<Result<Counts, String>, Failure> {
    let now = rules.clock.now().timestamp();
    let (to_recipient, last_minute) = index.autoreply_counts(to, now)?;
    let counts = Counts {
        to_recipient,
        last_minute,
    };
    Ok(policy::within_limits(to, counts, Limits::of(&rules.cfg)).map(|()| counts))
}
