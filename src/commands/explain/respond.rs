//! The outgoing mail a filed message causes, as `intake::outbound::respond` decides it: the
//! autoresponse under its policy and rate limits, the recipients of an answer, the agents'
//! notice.

use super::Say;
use crate::cli::Failure;
use crate::decide::policy::{self, Counts, Limits};
use crate::decide::Decision;
use crate::index::{Index, State};
use crate::intake::{Analysis, Rules};
use crate::outgoing::config::NoticeStyle;
use crate::outgoing::{build, recipients};

/// The autoresponse and the agents' notice for a message filed in a ticket of `queue` whose
/// state after filing is `state`, as `intake::outbound::respond` decides them; returns what
/// the mail log's `out` says.
pub(super) fn respond(
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
    let style = cfg.notice_style(queue);
    let whom = match style {
        NoticeStyle::Pointer => "one pointer to the queue's agents",
        NoticeStyle::Copy => "a copy to each of the queue's agents",
        NoticeStyle::Digest => "in each of the queue's agents' next digest",
    };
    match last {
        Some(s) => say.line("notice:", format!("{whom}, saying: {s}")),
        None => say.line("notice:", whom),
    }
    out.push(match style {
        NoticeStyle::Digest => {
            format!("agents notified in the next digest ({})", agents.join(", "))
        }
        _ => format!("agents notified ({})", agents.join(", ")),
    });
    Ok(out)
}

/// `intake::outbound::may_autorespond` over the read-only index: the policy, then the rate
/// limits; the recipient and the counts, or why not.
pub(super) fn may_autorespond(
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
pub(super) fn within_limits(
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
