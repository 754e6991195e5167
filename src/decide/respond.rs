//! The mail a filed customer's message causes, decided before anything is written: the
//! autoresponse under its policy and rate limits, the recipients a follow-up named but does not
//! add, the agents' notice under the per-sender limit. Pure over the configuration and what
//! the index answers through `Lookup`.

use super::action::{Action, Note, Target};
use super::policy::{self, Counts, Inputs, Limits, Verdict};
use super::{Decision, Lookup, Why};
use crate::classify::Classification;
use crate::config::Config;
use crate::facts::{Facts, Mailbox};
use crate::index::State;
use crate::outgoing::recipients;
use crate::template::{Event, Kind};

/// What the answering decisions read besides the message and the index.
pub struct Answering<'a> {
    pub cfg: &'a Config,
    /// Our own addresses and the agents': never answered.
    pub own: &'a [String],
    pub agents: &'a [String],
    /// Whether mail is sent at all (templates loaded); without, nothing is decided here.
    pub sends: bool,
    /// The time the rate limits count back from (Unix seconds).
    pub now: i64,
}

/// The message as the answering decisions see it.
pub struct Filed<'a> {
    pub facts: &'a Facts,
    pub class: &'a Classification,
    /// Why a filter or scanner said not to autorespond.
    pub suppressed: Option<&'a str>,
}

/// The autoresponse, recipients' warning and agents' notice for a message filed in `ticket`
/// (of `queue`, in `state` once filed) as `decision` says.
pub fn respond<L: Lookup>(
    a: &Answering,
    m: &Filed,
    decision: &Decision,
    ticket: &Target,
    queue: &str,
    state: State,
    index: &L,
) -> Result<Vec<Action>, L::Error> {
    let mut out = Vec::new();
    if !a.sends {
        return Ok(out);
    }
    let cfg = a.cfg;
    let event = match decision {
        Decision::New { .. } => Event::Created,
        Decision::FollowUp { reopen: true, .. } => Event::Reopened,
        _ => Event::FollowUp,
    };
    if let Some(kind) = policy::template_for(decision) {
        out.push(
            match may_autorespond(a, kind, queue, m, m.suppressed, index)? {
                Err(reason) => Action::AutoresponseSuppressed {
                    ticket: Some(ticket.clone()),
                    kind,
                    reason,
                },
                Ok(to) => Action::Autorespond {
                    ticket: ticket.clone(),
                    kind,
                    to,
                    event,
                    previous: match decision {
                        Decision::New {
                            refers: Some((n, Why::Closed)),
                            ..
                        } => Some(n.clone()),
                        _ => None,
                    },
                    reason: match (decision, ticket) {
                        (Decision::Reject { .. }, Target::Existing(t)) => {
                            Some(format!("ticket {} is closed", t.number))
                        }
                        _ => None,
                    },
                },
            },
        );
    }

    // A follow-up never adds recipients; say whom it named, so an agent can add them on purpose.
    let mut warnings = Vec::new();
    if let (Decision::FollowUp { .. }, Target::Existing(t)) = (decision, ticket) {
        let parties = index.answer_parties(&t.number)?;
        let receiving = recipients::receiving(&parties, a.own, a.agents);
        let wanted = recipients::wanted(m.facts, &receiving, a.own, a.agents);
        if let Some(sentence) = recipients::wanted_sentence(&wanted) {
            out.push(Action::RecordEvent {
                ticket: ticket.clone(),
                note: Note::RecipientsNotAdded(sentence.clone()),
            });
            warnings.push(sentence);
        }
    }

    // Automatic mail filed in a closed ticket tells no one.
    let automatic_on_closed =
        matches!(decision, Decision::FollowUp { .. }) && state == State::Closed;
    if !cfg.switches(queue).agent_notify || automatic_on_closed {
        return Ok(out);
    }
    let agents: Vec<Mailbox> = (cfg.agents.iter())
        .filter(|g| g.queues.iter().any(|q| q.eq_ignore_ascii_case(queue)))
        .map(|g| Mailbox {
            name: Some(g.name.clone()),
            address: g.address.clone(),
        })
        .collect();
    if agents.is_empty() {
        // No one to tell: nothing is sent, and nothing is held back.
        return Ok(out);
    }
    // The same per-sender limit as autoresponses: an autoresponder that sends no
    // Auto-Submitted must not flood the agents either.
    let sender = policy::notice_sender(m.facts);
    let (sent, oldest) = index.notices_about(&sender, a.now - 86_400)?;
    let limit = cfg.autoresponse.per_recipient_per_day;
    match policy::notice_limit(&sender, sent, oldest, a.now, limit) {
        policy::Notice::Suppress(reason) => {
            out.push(Action::NoticeSuppressed {
                ticket: ticket.clone(),
                reason,
            });
            return Ok(out);
        }
        policy::Notice::Last(sentence) => warnings.push(sentence),
        policy::Notice::Send => {}
    }
    out.push(Action::Notify {
        ticket: ticket.clone(),
        agents,
        style: cfg.notice_style(queue),
        event,
        sender,
        warnings,
    });
    Ok(out)
}

/// Whether an autoresponse (`kind`) may go out, and to whom: the policy (switches, automatic
/// mail, filters, who the recipient is), then the rate limits the index counts. `Err` is the
/// reason it may not, for the history and the mail log.
pub fn may_autorespond<L: Lookup>(
    a: &Answering,
    kind: Kind,
    queue: &str,
    m: &Filed,
    suppressed: Option<&str>,
    index: &L,
) -> Result<Result<String, String>, L::Error> {
    let verdict = policy::autoresponse(&Inputs {
        template: kind,
        switches: a.cfg.switches(queue),
        queue,
        facts: m.facts,
        class: m.class,
        suppressed_by_filter: suppressed,
        own: a.own,
        agents: a.agents,
    });
    let to = match verdict {
        Verdict::Suppress(reason) => return Ok(Err(reason)),
        Verdict::Send { to } => to,
    };
    let (to_recipient, last_minute) = index.autoreply_counts(&to, a.now)?;
    let counts = Counts {
        to_recipient,
        last_minute,
    };
    Ok(policy::within_limits(&to, counts, Limits::of(a.cfg)).map(|()| to))
}
