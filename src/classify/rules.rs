//! The rules behind `classify`, one function per kind, each appending a sentence per match.
//!
//! Subject phrases are matched as prefixes of the whole subject followed by a colon (or ending
//! the subject), so "Re: Out of stock" or "Absence of invoice" stay normal; DSN phrases are only
//! trusted together with a sender that can be a mail system (MAILER-DAEMON, postmaster, the null
//! Return-Path).

use super::OwnIdentity;
use crate::facts::Facts;

/// Subject prefixes of out-of-office and other automatic replies, lowercase.
const AUTO_REPLY_SUBJECTS: &[&str] = &[
    // English
    "out of office",
    "out of office autoreply",
    "out of the office",
    "automatic reply",
    "auto reply",
    "auto-reply",
    "autoreply",
    "auto-response",
    "auto response",
    "autoresponse",
    "auto",
    "away from the office",
    "vacation reply",
    // German
    "abwesenheitsnotiz",
    "automatische antwort",
    "abwesend",
    "automatische abwesenheitsnotiz",
    // French
    "réponse automatique",
    "reponse automatique",
    "absence",
    "absent du bureau",
    // Spanish, Italian, Portuguese
    "respuesta automática",
    "respuesta automatica",
    "fuera de la oficina",
    "risposta automatica",
    "fuori sede",
    "resposta automática",
    "ausente",
    // Dutch
    "afwezig",
    "automatisch antwoord",
    "afwezigheidsbericht",
    // Nordic
    "frånvaro",
    "autosvar",
    "automatiskt svar",
    "fravær",
    "fraværende",
    "automatisk svar",
    "poissa",
    "automaattinen vastaus",
];

/// Phrases that subjects of delivery status notifications contain, lowercase.
const BOUNCE_SUBJECTS: &[&str] = &[
    "undelivered mail",
    "undeliverable",
    "undelivered message",
    "delivery status notification",
    "delivery failure",
    "delivery failed",
    "delivery has failed",
    "delivery problem",
    "mail delivery failed",
    "failure notice",
    "returned mail",
    "non-delivery",
    "nondelivery",
    "non delivery",
    "not delivered",
    "could not be delivered",
    "could not send message",
    "delivery notification",
    "mail system error",
    "message delayed",
    "delayed mail",
    "delivery report",
    "rejected message",
    "mail delivery system",
    "unzustellbar",
    "nicht zustellbar",
    "non remis",
    "non distribuable",
    "onbestelbaar",
    "no se puede entregar",
    "olevererbart",
    "kan ikke leveres",
    "impossibile recapitare",
];

/// Words that, from a mail system, make a subject a delivery notice, lowercase.
const DAEMON_SUBJECT_WORDS: &[&str] = &[
    "deliver", "delay", "fail", "error", "warning", "return", "bounce", "status", "notif",
];

/// Local parts of mail-system senders.
const DAEMONS: &[&str] = &[
    "mailer-daemon",
    "mailer_daemon",
    "mailerdaemon",
    "postmaster",
];

/// Local-part prefixes of senders that do not read replies.
const NOREPLY: &[&str] = &[
    "noreply",
    "no-reply",
    "no_reply",
    "donotreply",
    "do-not-reply",
    "do_not_reply",
];

/// A header value short enough to quote in a reason.
fn quote(value: &str) -> String {
    match value.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_string(),
    }
}

fn headers<'a>(facts: &'a Facts, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    facts
        .headers
        .iter()
        .filter(move |(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The first token of a header value, lowercase: `auto-replied (vacation)` gives `auto-replied`.
fn token(value: &str) -> String {
    let end = value.find([';', '(', ' ', '\t']).unwrap_or(value.len());
    value[..end].trim().to_ascii_lowercase()
}

fn local_part(address: &str) -> String {
    let local = address.rsplit_once('@').map_or(address, |(l, _)| l);
    local.trim_matches('"').to_ascii_lowercase()
}

fn author_local(facts: &Facts) -> Option<String> {
    facts.author().map(|a| local_part(&a.address))
}

/// "sender is MAILER-DAEMON" when the author or the Return-Path is a mail system.
fn daemon(facts: &Facts) -> Option<String> {
    let is_daemon = |a: &str| DAEMONS.contains(&local_part(a).as_str());
    if let Some(author) = facts.author().filter(|a| is_daemon(&a.address)) {
        return Some(format!(
            "sender is {}",
            local_part(&author.address).to_ascii_uppercase()
        ));
    }
    let path = facts.return_path.as_deref().filter(|p| is_daemon(p))?;
    Some(format!(
        "Return-Path is {}",
        local_part(path).to_ascii_uppercase()
    ))
}

/// The subject starts with `phrase`, then ends or goes on with a colon.
fn subject_prefix(subject: &str, phrases: &[&str]) -> Option<String> {
    let lower = subject.trim().to_lowercase();
    phrases.iter().find_map(|p| {
        let rest = lower.strip_prefix(p)?.trim_start();
        (rest.is_empty() || rest.starts_with(':')).then(|| p.to_string())
    })
}

fn bounce_subject(subject: &str) -> Option<&'static str> {
    let lower = subject.to_lowercase();
    BOUNCE_SUBJECTS.iter().copied().find(|p| lower.contains(p))
}

pub(crate) fn looped(facts: &Facts, own: &OwnIdentity, reasons: &mut Vec<String>) {
    let ours = own.loop_value.trim();
    if !ours.is_empty() && headers(facts, "x-loop").any(|v| v.eq_ignore_ascii_case(ours)) {
        reasons.push(format!("X-Loop: {} is ours", quote(ours)));
    }
    if let Some(from) = &facts.from {
        if own
            .addresses
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&from.address))
        {
            reasons.push(format!("From {} is one of our own addresses", from.address));
        }
    }
}

pub(crate) fn bounce(facts: &Facts, reasons: &mut Vec<String>) {
    let report = facts
        .report_type
        .as_deref()
        .filter(|_| facts.content_type == "multipart/report");
    match report {
        Some("delivery-status") => {
            reasons.push("multipart/report with report-type delivery-status".into())
        }
        // A complaint about a message: automatic, and it names the message like a bounce does.
        Some("feedback-report") => reasons.push("abuse feedback report (ARF)".into()),
        _ => {}
    }
    let is_status =
        |t: &str| t == "message/delivery-status" || t == "message/global-delivery-status";
    if report != Some("delivery-status")
        && (is_status(&facts.content_type)
            || facts.attachments.iter().any(|a| is_status(&a.content_type)))
    {
        reasons.push("a message/delivery-status part".into());
    }
    if let Some(v) = headers(facts, "x-failed-recipients").next() {
        reasons.push(format!("X-Failed-Recipients: {}", quote(v)));
    }
    let subject = bounce_subject(&facts.subject);
    let returned = facts.returned_message_id.is_some()
        || facts
            .attachments
            .iter()
            .any(|a| a.content_type == "message/rfc822" || a.content_type == "text/rfc822-headers");
    if let Some(who) = daemon(facts) {
        let lower = facts.subject.to_lowercase();
        let notice = DAEMON_SUBJECT_WORDS.iter().find(|w| lower.contains(*w));
        let what = match (subject, notice, returned, report) {
            (Some(p), _, _, _) => Some(format!("a delivery-failure subject ({p:?})")),
            (None, Some(w), _, _) => Some(format!("a subject about delivery ({w:?})")),
            (None, None, true, _) => Some("a returned message".into()),
            (None, None, false, Some(_)) => Some("a report".into()),
            _ => None,
        };
        if let Some(what) = what {
            reasons.push(format!("{who} with {what}"));
        }
    } else if let Some(p) = subject {
        // Mail systems send as the null sender, and some say `From: MAILER-DAEMON <>`.
        if facts.return_path.as_deref() == Some("") {
            reasons.push(format!(
                "null Return-Path with a delivery-failure subject ({p:?})"
            ));
        } else if facts.author().is_none() {
            reasons.push(format!(
                "no sender address and a delivery-failure subject ({p:?})"
            ));
        }
    }
}

pub(crate) fn auto_reply(facts: &Facts, reasons: &mut Vec<String>) {
    for name in ["auto-submitted", "autosubmitted"] {
        if let Some(v) = headers(facts, name).find(|v| token(v) != "no") {
            reasons.push(format!("Auto-Submitted: {}", quote(v)));
        }
    }
    for name in [
        "x-autoreply",
        "x-autorespond",
        "x-mail-autoreply",
        "x-autoreply-from",
    ] {
        if let Some(v) = headers(facts, name).next() {
            reasons.push(format!("{}: {}", display_name(name), quote(v)));
        }
    }
    if headers(facts, "x-autogenerated").any(|v| token(v) == "reply") {
        reasons.push("X-Autogenerated: Reply".into());
    }
    if let Some(v) = headers(facts, "x-ms-exchange-generated-message-source").next() {
        reasons.push(format!("generated by Exchange ({})", quote(v)));
    }
    if headers(facts, "precedence").any(|v| token(v) == "auto_reply") {
        reasons.push("Precedence: auto_reply".into());
    }
    if facts.content_type == "multipart/report" {
        match facts.report_type.as_deref() {
            Some("delivery-status") | Some("feedback-report") => {}
            Some("disposition-notification") => {
                reasons.push("read receipt (disposition notification)".into())
            }
            Some(other) => reasons.push(format!("automatic report ({})", quote(other))),
            None => reasons.push("multipart/report without a report-type".into()),
        }
    }
    if let Some(p) = subject_prefix(&facts.subject, AUTO_REPLY_SUBJECTS) {
        reasons.push(format!("subject starts like an automatic reply ({p:?})"));
    }
}

fn display_name(name: &str) -> String {
    let words = name.split('-').map(|w| {
        let mut c = w.chars();
        c.next()
            .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
    });
    words.collect::<Vec<_>>().join("-")
}

pub(crate) fn list(facts: &Facts, reasons: &mut Vec<String>) {
    // RFC 2369/2919 headers, and ezmlm's Mailing-List.
    let list_headers = [
        ("list-id", "List-Id"),
        ("list-unsubscribe", "List-Unsubscribe"),
        ("list-post", "List-Post"),
        ("list-help", "List-Help"),
        ("list-subscribe", "List-Subscribe"),
        ("mailing-list", "Mailing-List"),
    ];
    for (name, shown) in list_headers {
        if let Some(v) = headers(facts, name).next() {
            reasons.push(format!("{shown}: {}", quote(v)));
        }
    }
    if headers(facts, "precedence").any(|v| token(v) == "list") {
        reasons.push("Precedence: list".into());
    }
}

pub(crate) fn bulk(facts: &Facts, reasons: &mut Vec<String>) {
    if let Some(v) = headers(facts, "precedence")
        .map(token)
        .find(|v| v == "bulk" || v == "junk")
    {
        reasons.push(format!("Precedence: {v}"));
    }
    if facts.return_path.as_deref() == Some("") {
        reasons.push("null Return-Path <>".into());
    }
    if let Some(who) = daemon(facts) {
        reasons.push(who);
    }
    if let Some(local) = author_local(facts).filter(|l| NOREPLY.iter().any(|p| l.starts_with(p))) {
        reasons.push(format!("sender {local}@ does not take replies"));
    }
}

/// Whether an address belongs to a mail system or a sender that does not read replies
/// (MAILER-DAEMON, postmaster, noreply and the like): never a recipient of an autoresponse.
pub fn is_unanswerable(address: &str) -> bool {
    let local = address
        .rsplit_once('@')
        .map_or(address, |(l, _)| l)
        .to_ascii_lowercase();
    DAEMONS.contains(&local.as_str()) || NOREPLY.iter().any(|p| local.starts_with(p))
}
