//! `postdesk explain FILE`: every decision for a message with its reason. Reads the index
//! read-only and writes nothing.

use std::path::Path;

use crate::cli::{Failure, EX_CONFIG, EX_NOINPUT};
use crate::commands::Context;
use crate::decide::policy;
use crate::decide::Decision;
use crate::index::Index;
use crate::intake::Rules;
use crate::outgoing::{build, recipients};
use crate::requests;

pub fn explain(ctx: &Context, file: &Path) -> Result<i32, Failure> {
    let cfg = ctx.load()?;
    let raw = std::fs::read(file)
        .map_err(|e| Failure::new(EX_NOINPUT, format!("{}: {e}", file.display())))?;
    let index = Index::open_readonly(&crate::store::index_file(&cfg.data_dir()))?;
    let rules = Rules::with_outgoing(&cfg, false).map_err(|e| Failure::new(EX_CONFIG, e))?;
    let scanned = match rules.scan(&raw) {
        Ok(s) => s,
        Err(why) => {
            println!("scan:           deferred, the message would wait at its source: {why}");
            crate::intake::Scanned::default()
        }
    };
    let mut u = rules.understand_with(&raw, scanned);
    if let Some(Ok(number)) = u.fax.as_ref().map(|f| f.number.clone()) {
        u.fax_from_customer =
            crate::intake::fax::from_customer(&index, &rules, &u.facts.subject, &number)?;
    }
    let a = rules.decide(u, &index)?;
    let f = &a.facts;
    println!(
        "message-id:     {}",
        f.message_id
            .as_deref()
            .map(|m| format!("<{m}>"))
            .unwrap_or("(none)".into())
    );
    println!(
        "from:           {}{}",
        f.author().map(|m| m.display()).unwrap_or_default(),
        match f.author_header() {
            Some("From") => String::new(),
            Some(header) => format!(" (taken from {header}: From has no address)"),
            None => " (no address in From, Reply-To, Sender or Return-Path)".into(),
        }
    );
    println!("subject:        {}", f.subject);
    println!(
        "size:           {} bytes, {} attachments",
        f.size,
        f.attachments.len()
    );
    for att in &f.attachments {
        println!(
            "  attachment:   {:?} {} {} bytes",
            att.filename, att.content_type, att.size
        );
    }
    for d in &f.defects {
        println!("  defect:       {d}");
    }
    println!("classification: {}", a.class.kind.as_str());
    for r in &a.class.reasons {
        println!("  because       {r}");
    }
    if let Some(b) = &a.class.bounce_of {
        println!("  returns       <{b}>");
    }
    for (name, value) in &a.inspection.headers {
        println!("scan:           {name}: {value}");
    }
    for t in &a.inspection.verdict.trace {
        println!("filter:         {t}");
    }
    for e in &a.inspection.verdict.errors {
        println!("filter error:   {e}");
    }
    println!("route:          {} ({})", a.route.queue, a.route.reason);
    if let Some(q) = &a.quarantine {
        println!("decision:       quarantine: {q}");
        return Ok(0);
    }
    let plan = a.plan.expect("plan when not quarantined");
    for s in &plan.steps {
        println!("  step          {s}");
    }
    let d = match &plan.decision {
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
    println!("decision:       {d}");
    if let Decision::Request { command, .. } = &plan.decision {
        let answer = requests::answer(&index, &cfg.customer_requests, f, command)?;
        let reply = &answer.reply;
        let said = match &answer.to {
            None => format!("none: {}", reply.summary()),
            Some(to) => match requests::may_answer(
                &a.class,
                a.inspection.no_autoresponse.as_deref(),
                to,
                &rules.own,
                &rules.agents,
            ) {
                Err(why) => why,
                Ok(()) => format!(
                    "{} to {to} (the directory's address), if within the rate limits: {}",
                    reply.template(),
                    reply.summary()
                ),
            },
        };
        println!("answer:         {said}");
        if let requests::Reply::Tickets { tickets, .. } = reply {
            for t in tickets {
                println!(
                    "  ticket        {} {} {}",
                    t.number,
                    t.state.as_str(),
                    t.subject
                );
            }
        }
        return Ok(0);
    }
    if let Decision::FollowUp { ticket, .. } = &plan.decision {
        let parties = index.answer_parties(&ticket.number)?;
        let receiving = recipients::receiving(&parties, &rules.own, &rules.agents);
        let wanted = recipients::wanted(f, &receiving, &rules.own, &rules.agents);
        if let Some(s) = recipients::wanted_sentence(&wanted) {
            println!("recipients:     {s}");
        }
    }
    let queue = match &plan.decision {
        Decision::New { queue, .. } => queue.clone(),
        Decision::FollowUp { ticket, .. }
        | Decision::Reject { ticket }
        | Decision::Agent { ticket, .. } => ticket.queue.clone(),
        Decision::Duplicate(_) | Decision::Request { .. } => a.route.queue.clone(),
    };
    let answer = match policy::template_for(&plan.decision) {
        None => "none for this event".to_string(),
        Some(template) => {
            let out = rules.out.as_ref().expect("loaded with outgoing rules");
            let lang = build::language(&cfg, out, f, &queue);
            match policy::autoresponse(&policy::Inputs {
                template,
                switches: cfg.switches(&queue),
                queue: &queue,
                facts: f,
                class: &a.class,
                suppressed_by_filter: a.inspection.no_autoresponse.as_deref(),
                own: &rules.own,
                agents: &rules.agents,
            }) {
                policy::Verdict::Send { to } => {
                    // The counts intake asks for, so this says what intake would do now.
                    let now = chrono::Utc::now().timestamp();
                    let (to_recipient, last_minute) = index.autoreply_counts(&to, now)?;
                    let counts = policy::Counts {
                        to_recipient,
                        last_minute,
                    };
                    match policy::within_limits(&to, counts, policy::Limits::of(&cfg)) {
                        Ok(()) => format!(
                            "{template} ({lang}) to {to} ({to_recipient} to them in 24 hours, {last_minute} to anyone in the last minute)"
                        ),
                        Err(why) => why,
                    }
                }
                policy::Verdict::Suppress(why) => why,
            }
        }
    };
    println!("autoresponse:   {answer}");
    if matches!(
        plan.decision,
        Decision::New { .. } | Decision::FollowUp { .. }
    ) && cfg.switches(&queue).agent_notify
    {
        let sender = policy::notice_sender(f);
        let now = chrono::Utc::now().timestamp();
        let (sent, oldest) = index.notices_about(&sender, now - 86_400)?;
        let limit = cfg.autoresponse.per_recipient_per_day;
        let whom = match cfg.autoresponse.agent_notice {
            crate::outgoing::config::NoticeStyle::Pointer => "one pointer to the queue's agents",
            crate::outgoing::config::NoticeStyle::Copy => "a copy to each of the queue's agents",
        };
        let notice = match policy::notice_limit(&sender, sent, oldest, now, limit) {
            policy::Notice::Send => whom.to_string(),
            policy::Notice::Last(s) => format!("{whom}, saying: {s}"),
            policy::Notice::Suppress(why) => format!("held back: {why}"),
        };
        println!("notice:         {notice}");
    }
    Ok(0)
}
