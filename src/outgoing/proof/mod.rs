//! What proves that an agent's mail comes from the agent, beyond a From anyone can write and a
//! reply address anyone who saw it can copy: the site's own MTA saying so.
//!
//! With `[agents] require-proof` set, an agent's mail must carry, from the site's MTA:
//! - `smtp-auth`: the agent's login as the SMTP AUTH user, either as Postfix writes it into its
//!   Received header (`(Authenticated sender: LOGIN)`, `smtpd_sasl_authenticated_header = yes`)
//!   or as `auth=pass smtp.auth=LOGIN` in an Authentication-Results header;
//! - `dkim`: `dkim=pass` with `header.d` (or `header.i`'s domain) equal to the domain of the
//!   agent's address, in an Authentication-Results header (OpenDKIM writes these);
//! - `either`: one of the two.
//!
//! Which headers are the site's: the topmost `trusted-received` Received headers (the ones the
//! site's servers prepend; the last of them records the mail's arrival), and the
//! Authentication-Results headers whose authserv-id is `authserv-id` above the first Received
//! header below those (milters such as OpenDKIM insert theirs right below the MTA's own Received
//! header). The sender writes everything further down. A sender can also put an
//! Authentication-Results header at the top of their own headers, right where a milter inserts
//! one: the site's MTA must remove incoming ones bearing its authserv-id (RFC 8601 section 5;
//! OpenDKIM's `RemoveARFrom` with `RemoveARAll`, or a Postfix `header_checks` IGNORE rule). The
//! Received form of `smtp-auth` needs no such removal.
//!
//! Decisions only: no I/O.

pub mod authres;

pub use crate::config::proof::{ProofConfig, Require};

/// The agent a proof must name.
pub struct Claimed<'a> {
    /// SMTP AUTH login.
    pub login: &'a str,
    /// The agent's address (its domain is what DKIM must show).
    pub address: &'a str,
}

/// What the headers showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof {
    /// Nothing is required.
    NotRequired,
    /// The sentence saying what proved it.
    Proven(String),
    /// The sentence saying what was required and what was (not) found.
    Missing(String),
}

/// Checks `trace` (the message's Received and Authentication-Results headers, names lowercased,
/// top to bottom) for the proof `cfg` requires of `agent`.
pub fn check(cfg: &ProofConfig, trace: &[(String, String)], agent: &Claimed) -> Proof {
    if cfg.require_proof == Require::None {
        return Proof::NotRequired;
    }
    let received = trace.iter().filter(|(n, _)| n == "received").count();
    if received < cfg.trusted_received {
        return Proof::Missing(format!(
            "no proof trusted: {received} Received header(s), fewer than agents.trusted-received = {}",
            cfg.trusted_received
        ));
    }
    let mut logins = Vec::new();
    let mut domains = Vec::new();
    let mut seen = 0;
    for (name, value) in trace {
        if name == "received" {
            seen += 1;
            if seen > cfg.trusted_received {
                break;
            }
            if let Some(login) = authres::authenticated_sender(value) {
                logins.push((login, "Received header"));
            }
            continue;
        }
        let Some((id, results)) = authres::parse(value) else {
            continue;
        };
        if !id.eq_ignore_ascii_case(cfg.authserv_id.trim()) {
            continue;
        }
        for r in results.iter().filter(|r| r.result == "pass") {
            match r.method.as_str() {
                "auth" => {
                    if let Some(l) = r.prop("smtp.auth") {
                        logins.push((l.to_string(), "Authentication-Results"));
                    }
                }
                "dkim" => {
                    let d = r.prop("header.d").map(str::to_string).or_else(|| {
                        r.prop("header.i")
                            .and_then(|i| i.rsplit_once('@'))
                            .map(|(_, d)| d.to_string())
                    });
                    domains.extend(d);
                }
                _ => {}
            }
        }
    }
    let domain = agent.address.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    let auth_ok = logins
        .iter()
        .find(|(l, _)| l.eq_ignore_ascii_case(agent.login));
    let dkim_ok = domains
        .iter()
        .any(|d| !domain.is_empty() && d.eq_ignore_ascii_case(domain));
    let id = cfg.authserv_id.trim();
    let auth_sentence = auth_ok.map(|(l, from)| format!("SMTP AUTH as {l} ({from} of {id})"));
    let dkim_sentence =
        dkim_ok.then(|| format!("dkim=pass for {domain} (Authentication-Results of {id})"));
    let proven = match cfg.require_proof {
        Require::None => return Proof::NotRequired,
        Require::SmtpAuth => auth_sentence,
        Require::Dkim => dkim_sentence,
        Require::Either => auth_sentence.or(dkim_sentence),
    };
    if let Some(p) = proven {
        return Proof::Proven(p);
    }
    let mut found: Vec<String> = logins
        .iter()
        .map(|(l, from)| format!("SMTP AUTH as {l} ({from})"))
        .collect();
    found.extend(domains.iter().map(|d| format!("dkim=pass for {d}")));
    let wanted = match cfg.require_proof {
        Require::SmtpAuth => format!("SMTP AUTH as {}", agent.login),
        Require::Dkim => format!("dkim=pass for {domain}"),
        _ => format!("SMTP AUTH as {} or dkim=pass for {domain}", agent.login),
    };
    Proof::Missing(if found.is_empty() {
        format!("no proof from {id}: wanted {wanted}")
    } else {
        format!(
            "no proof from {id}: wanted {wanted}, found {}",
            found.join(", ")
        )
    })
}

#[cfg(test)]
mod tests;
