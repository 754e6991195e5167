//! When postdesk answers by itself: pure decisions over the message, the ticket event and the
//! counts the index supplies. Each answer is `Send` or `Suppress` with the reason that goes into
//! the ticket's history and the mail log (DESIGN invariant 5).

use super::{Decision, Why};
use crate::classify::rules::is_unanswerable;
use crate::classify::Classification;
use crate::facts::Facts;
use crate::outgoing::config::Switches;
use crate::route::base_address;
use crate::template::Kind;

/// The autoresponse template an event calls for, if any.
pub fn template_for(decision: &Decision) -> Option<Kind> {
    match decision {
        Decision::New {
            refers: Some((_, Why::Closed)),
            ..
        } => Some(Kind::ClosedNew),
        Decision::New { .. } => Some(Kind::NewTicket),
        Decision::FollowUp { reopen: true, .. } => Some(Kind::Reopened),
        Decision::FollowUp { ticket, .. } if ticket.state == crate::index::State::Closed => None,
        Decision::FollowUp { .. } => Some(Kind::FollowUp),
        Decision::Reject { .. } => Some(Kind::Reject),
        Decision::Duplicate(_)
        | Decision::Quarantine { .. }
        | Decision::Agent { .. }
        | Decision::Request { .. } => None,
    }
}

/// What the limits count, read from the index inside the batch's transaction.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    /// Autoresponses to this recipient in the last 24 hours.
    pub to_recipient: u32,
    /// Autoresponses to anyone in the last minute.
    pub last_minute: u32,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_recipient_per_day: u32,
    pub per_minute: u32,
}

impl Limits {
    pub fn of(cfg: &crate::config::Config) -> Limits {
        Limits {
            per_recipient_per_day: cfg.autoresponse.per_recipient_per_day,
            per_minute: cfg.autoresponse.circuit_breaker_per_minute,
        }
    }
}

/// Everything the decision reads.
pub struct Inputs<'a> {
    pub template: Kind,
    pub switches: Switches,
    pub queue: &'a str,
    pub facts: &'a Facts,
    pub class: &'a Classification,
    /// Set by a filter (spam, virus, a no-autoresponse rule): the reason.
    pub suppressed_by_filter: Option<&'a str>,
    pub own: &'a [String],
    pub agents: &'a [String],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Send { to: String },
    Suppress(String),
}

/// The address an answer goes to: Reply-To, else From (`Facts::answer_address`).
pub fn answer_address(facts: &Facts) -> Option<String> {
    facts.answer_address()
}

/// The checks that need no counts: switches, automatic mail, filters, who the recipient is.
pub fn autoresponse(i: &Inputs) -> Verdict {
    if !i.switches.allows(i.template) {
        return Verdict::Suppress(format!(
            "autoresponse {} is off for queue {}",
            i.template, i.queue
        ));
    }
    if i.class.kind.is_automatic() {
        let why = i.class.reasons.first().cloned().unwrap_or_default();
        return Verdict::Suppress(format!(
            "no autoresponse to automatic mail ({}{}{})",
            i.class.kind.as_str(),
            if why.is_empty() { "" } else { ": " },
            why
        ));
    }
    if let Some(r) = i.suppressed_by_filter {
        return Verdict::Suppress(format!("no autoresponse: {r}"));
    }
    let Some(to) = answer_address(i.facts) else {
        return Verdict::Suppress("no autoresponse: the message names no address to answer".into());
    };
    // What the mail's To could not carry (an address with spaces from a broken From, a UTF-8
    // address): decided here, so explain says it and intake does not try to build the mail.
    if !crate::outgoing::compose::valid_email(to.trim()) {
        return Verdict::Suppress(format!(
            "no autoresponse: {to:?} is not an address mail can be sent to"
        ));
    }
    let base = base_address(&to);
    if i.own.contains(&base) {
        return Verdict::Suppress(format!("no autoresponse: {to} is one of our own addresses"));
    }
    if i.agents.contains(&base) {
        return Verdict::Suppress(format!("no autoresponse: {to} is an agent"));
    }
    if is_unanswerable(&to) {
        return Verdict::Suppress(format!("no autoresponse: {to} does not read replies"));
    }
    Verdict::Send { to }
}

/// The rate limits, applied after `autoresponse` said Send.
pub fn within_limits(to: &str, counts: Counts, limits: Limits) -> Result<(), String> {
    if counts.last_minute >= limits.per_minute {
        return Err(format!(
            "circuit breaker open: {} autoresponses in the last minute (limit {}); autoresponses paused",
            counts.last_minute, limits.per_minute
        ));
    }
    if counts.to_recipient >= limits.per_recipient_per_day {
        return Err(format!(
            "rate limit: {} autoresponses to {to} in 24 hours (limit {})",
            counts.to_recipient, limits.per_recipient_per_day
        ));
    }
    Ok(())
}

/// Whether the agents get a notice about a mail from `sender`, under the same per-sender limit
/// as autoresponses: `sent` notices about this sender's mail in the last 24 hours, the oldest
/// of them sent at `oldest` (unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Send,
    /// The last one the limit lets through: it says for how long the next ones are held back.
    Last(String),
    Suppress(String),
}

/// Whom the per-sender notice limit counts a message under: its author's address.
pub fn notice_sender(facts: &Facts) -> String {
    facts
        .author()
        .map(|m| base_address(&m.address))
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "(no sender)".into())
}

pub fn notice_limit(sender: &str, sent: u32, oldest: Option<i64>, now: i64, limit: u32) -> Notice {
    if sent >= limit {
        return Notice::Suppress(format!(
            "rate limit: {sent} notices about mail from {sender} in 24 hours (limit {limit})"
        ));
    }
    if sent + 1 < limit {
        return Notice::Send;
    }
    // The next notice may go when the oldest one counted leaves the 24 hours.
    let until = oldest.unwrap_or(now).max(now - 86_400) + 86_400;
    let minutes = (until - now + 59) / 60;
    Notice::Last(format!(
        "This is notice {limit} in 24 hours about mail from {sender}: further notices about mail \
         from {sender} are held back for {minutes} minutes (the mail is still filed)."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Kind;
    use crate::facts::Mailbox;

    fn facts(from: &str) -> Facts {
        Facts {
            from: Some(Mailbox::new(from)),
            ..Facts::default()
        }
    }

    fn class(kind: Kind) -> Classification {
        Classification {
            kind,
            reasons: vec!["Auto-Submitted: auto-replied".into()],
            bounce_of: None,
        }
    }

    fn run(f: &Facts, kind: Kind, switches: Switches) -> Verdict {
        let own = vec!["support@company.example".to_string()];
        let agents = vec!["alice@company.example".to_string()];
        autoresponse(&Inputs {
            template: crate::template::Kind::NewTicket,
            switches,
            queue: "Support",
            facts: f,
            class: &class(kind),
            suppressed_by_filter: None,
            own: &own,
            agents: &agents,
        })
    }

    fn on() -> Switches {
        crate::outgoing::config::Autoresponse::default().switches()
    }

    #[test]
    fn answers_a_customer_and_no_one_else() {
        let send = |from: &str| run(&facts(from), Kind::Normal, on());
        assert_eq!(
            send("jane@example.org"),
            Verdict::Send {
                to: "jane@example.org".into()
            }
        );
        for from in [
            "support@company.example",
            "support+x@company.example",
            "alice@company.example",
            "noreply@shop.example",
            "MAILER-DAEMON@mx.example",
            "postmaster@mx.example",
            "",
        ] {
            assert!(
                matches!(send(from), Verdict::Suppress(_)),
                "{from} must not be answered"
            );
        }
        for kind in [
            Kind::AutoReply,
            Kind::Bounce,
            Kind::List,
            Kind::Bulk,
            Kind::Loop,
        ] {
            let v = run(&facts("jane@example.org"), kind, on());
            assert!(
                matches!(&v, Verdict::Suppress(r) if r.contains(kind.as_str())),
                "{v:?}"
            );
        }
        let mut off = on();
        off.new_ticket = false;
        assert!(
            matches!(run(&facts("jane@example.org"), Kind::Normal, off), Verdict::Suppress(r) if r.contains("off"))
        );
    }

    #[test]
    fn an_address_mail_cannot_carry_is_not_answered() {
        for from in [
            "big bug bb@bug.com",
            "tim@powerupdev.com concierge@powerupdev.com",
            "jd\u{f6}e@m\u{e4}chine.example",
        ] {
            match run(&facts(from), Kind::Normal, on()) {
                Verdict::Suppress(r) => {
                    assert!(r.contains("not an address mail can be sent to"), "{r}")
                }
                v => panic!("{from}: {v:?}"),
            }
        }
    }

    #[test]
    fn reply_to_wins_over_from() {
        let mut f = facts("jane@example.org");
        f.reply_to = Some(Mailbox::new("desk@example.org"));
        assert_eq!(
            run(&f, Kind::Normal, on()),
            Verdict::Send {
                to: "desk@example.org".into()
            }
        );
    }

    #[test]
    fn notices_per_sender() {
        let now = 1_000_000;
        assert_eq!(notice_limit("a@x", 0, None, now, 10), Notice::Send);
        assert_eq!(
            notice_limit("a@x", 8, Some(now - 60), now, 10),
            Notice::Send
        );
        match notice_limit("a@x", 9, Some(now - 3600), now, 10) {
            Notice::Last(s) => assert!(s.contains("held back for 1380 minutes"), "{s}"),
            v => panic!("{v:?}"),
        }
        match notice_limit("a@x", 0, None, now, 1) {
            Notice::Last(s) => assert!(s.contains("for 1440 minutes"), "{s}"),
            v => panic!("{v:?}"),
        }
        match notice_limit("a@x", 10, Some(now - 60), now, 10) {
            Notice::Suppress(r) => assert!(r.contains("10 notices about mail from a@x"), "{r}"),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn limits() {
        let l = Limits {
            per_recipient_per_day: 10,
            per_minute: 60,
        };
        let c = |to_recipient, last_minute| Counts {
            to_recipient,
            last_minute,
        };
        assert!(within_limits("a@x", c(9, 59), l).is_ok());
        assert!(within_limits("a@x", c(10, 0), l)
            .unwrap_err()
            .contains("rate limit"));
        assert!(within_limits("a@x", c(0, 60), l)
            .unwrap_err()
            .contains("circuit breaker"));
    }
}
