//! The filter stage of understanding a message: the admin's Sieve scripts run on the message
//! (with `X-Postdesk-*` headers from outside removed, so only scripts set them) and the
//! scanners' values; their verdict becomes a queue, a quarantine reason, a rejection, ticket
//! attributes and "no autoresponse". Pure: the scanning (I/O) happened before.

use std::borrow::Cow;

use crate::facts::Facts;
use crate::filter::{Envelope, Filters, ScanValues, Verdict};
use crate::route::Route;
use crate::scan::{Outcome, Policy, ScanReport, Scanners};

/// What the scanners said about a message, as the filters and the stored copy use it.
#[derive(Debug, Clone, Default)]
pub struct Scanned {
    pub values: ScanValues,
    /// `X-Spam-Status`, `X-Spam-Score`, `X-Virus-Status` for the stored copy.
    pub headers: Vec<(String, String)>,
    /// A virus, or a size the configuration quarantines: never becomes an article.
    pub quarantine: Option<String>,
    /// Spam: never answered, whatever the filters say.
    pub no_autoresponse: Option<String>,
}

impl Scanned {
    /// The scanners' report in the terms of the filters and the store. `Err` when the message
    /// must wait at its source (a scanner failed and its policy is tempfail).
    pub fn from_report(s: &Scanners, report: &ScanReport) -> Result<Scanned, String> {
        let mut out = Scanned {
            headers: s.headers(report),
            ..Scanned::default()
        };
        match s.policy(report) {
            Policy::Retry(why) => return Err(why),
            Policy::Quarantine(why) => out.quarantine = Some(why),
            Policy::Proceed => {}
        }
        if let Outcome::Done(v) = &report.spam {
            let t = if v.threshold > 0.0 { v.threshold } else { 5.0 };
            let pct = (100.0 * v.score / (2.0 * t)).clamp(0.0, 100.0);
            out.values.spam_percent = Some(pct.round() as u8);
            if v.is_spam {
                out.no_autoresponse = Some(format!("spam (score {:.1})", v.score));
            }
        }
        if let Outcome::Done(v) = &report.virus {
            out.values.virustest = Some(if v.infected { 5 } else { 1 });
            if v.infected {
                let name = v.signature.clone().unwrap_or_else(|| "a virus".into());
                out.quarantine = Some(format!("virus: {name}"));
                out.no_autoresponse = Some(format!("virus ({name})"));
            }
        }
        Ok(out)
    }
}

/// What the filters decided, in postdesk's terms.
#[derive(Debug, Clone, Default)]
pub struct Inspection {
    /// The scripts' own account, for `explain`: every action with its file and line.
    pub verdict: Verdict,
    /// The scanners' headers for the stored copy (`X-Spam-Status`, `X-Virus-Status`, …).
    pub headers: Vec<(String, String)>,
    /// Why no autoresponse may go out (spam, virus, a rule).
    pub no_autoresponse: Option<String>,
    /// `priority`, `owner`, `customer-id` with the script line that set them.
    pub attributes: Vec<(String, String, String)>,
    /// `reject "text"`: the text for the reject reply.
    pub reject: Option<String>,
}

/// The outcome for routing: a different queue, or the quarantine with a reason.
pub enum Effect {
    Keep,
    Route(Route),
    Quarantine(String),
}

/// Runs the filters and maps their verdict: on the raw message, or on its parse when there is
/// one (`parse::parse_keeping`). `queues` are the configured queue names.
pub fn run(
    filters: &Filters,
    (raw, parsed): (&[u8], Option<mail_parser::Message<'_>>),
    facts: &Facts,
    values: ScanValues,
    queues: &[String],
) -> (Inspection, Effect) {
    let env = Envelope {
        from: facts
            .return_path
            .clone()
            .or_else(|| facts.author().map(|m| m.address.clone()))
            .unwrap_or_default(),
        to: facts.recipients().map(str::to_string).collect(),
    };
    let input = without_postdesk_headers(raw);
    // The parse is of `raw`: the filters' input only when no header was taken out of it.
    let parsed = parsed.filter(|_| matches!(input, std::borrow::Cow::Borrowed(_)));
    let verdict = filters.run_parsed(&input, parsed, &env, &values);
    let mut ins = Inspection {
        no_autoresponse: verdict
            .attribute("no-autoresponse")
            .map(|why| format!("filters: {why}")),
        ..Inspection::default()
    };
    for (name, value, cause) in &verdict.attributes {
        if name != "no-autoresponse" {
            ins.attributes
                .push((name.clone(), value.clone(), cause.to_string()));
        }
    }
    let effect = if let Some((text, cause)) = &verdict.reject {
        ins.reject = Some(text.clone());
        Effect::Quarantine(format!("rejected by {cause}: {text}"))
    } else if let Some(reason) = verdict.quarantine_reason() {
        Effect::Quarantine(reason)
    } else if let Some((q, cause)) = &verdict.queue {
        match queues.iter().find(|x| x.eq_ignore_ascii_case(q)) {
            Some(name) => Effect::Route(Route {
                queue: name.clone(),
                address: None,
                reason: format!("filed into {name} by {cause}"),
            }),
            None => Effect::Keep,
        }
    } else {
        Effect::Keep
    };
    ins.verdict = verdict;
    (ins, effect)
}

/// The message without `X-Postdesk-*` header fields in its top-level header block (a customer
/// cannot set a ticket attribute or fake a filter's decision); borrowed when there are none.
pub fn without_postdesk_headers(raw: &[u8]) -> Cow<'_, [u8]> {
    let mut out: Option<Vec<u8>> = None;
    let mut pos = 0;
    let mut skipping = false;
    while pos < raw.len() {
        let end = raw[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |i| pos + i + 1);
        let line = &raw[pos..end];
        if line == b"\n" || line == b"\r\n" {
            if let Some(o) = &mut out {
                o.extend_from_slice(&raw[pos..]);
            }
            break;
        }
        let continuation = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if !continuation {
            skipping = line.len() >= 11 && line[..11].eq_ignore_ascii_case(b"x-postdesk-");
        }
        if skipping {
            out.get_or_insert_with(|| raw[..pos].to_vec());
        } else if let Some(o) = &mut out {
            o.extend_from_slice(line);
        }
        pos = end;
    }
    match out {
        Some(o) => Cow::Owned(o),
        None => Cow::Borrowed(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_postdesk_headers_are_removed_from_the_header_block_only() {
        let m = b"From: a@b\r\nX-Postdesk-Priority: urgent\r\n folded\r\nSubject: x\r\n\r\nX-Postdesk-Priority: body\r\n";
        assert_eq!(
            &*without_postdesk_headers(m),
            b"From: a@b\r\nSubject: x\r\n\r\nX-Postdesk-Priority: body\r\n"
        );
        let clean = b"From: a@b\r\n\r\nbody\r\n";
        assert!(matches!(without_postdesk_headers(clean), Cow::Borrowed(_)));
    }
}
