//! Routing: which queue a new ticket opens in. Pure: reads the message's recipients and the
//! queues' addresses.
//!
//! The envelope headers an MTA adds (Delivered-To, X-Original-To, Envelope-To) say where the mail
//! was really delivered, so they win over To, and To over Cc. A plus-address (`support+x@`)
//! counts as its base address.

use crate::config::Config;
use crate::facts::Facts;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub queue: String,
    /// The recipient address that chose the queue; `None` for the default queue.
    pub address: Option<String>,
    pub reason: String,
}

pub fn route(facts: &Facts, cfg: &Config) -> Route {
    for rcpt in facts.recipients() {
        let base = base_address(rcpt);
        for q in &cfg.queues {
            if q.addresses.contains(&base) {
                return Route {
                    queue: q.name.clone(),
                    address: Some(rcpt.to_string()),
                    reason: format!("recipient {rcpt} belongs to queue {}", q.name),
                };
            }
        }
    }
    Route {
        queue: cfg.general.default_queue.clone(),
        address: None,
        reason: format!(
            "no recipient is a queue address; default queue {}",
            cfg.general.default_queue
        ),
    }
}

/// `local+detail@domain` → `local@domain`, lowercased.
pub fn base_address(addr: &str) -> String {
    let addr = addr.trim().to_ascii_lowercase();
    match addr.split_once('@') {
        Some((local, domain)) => {
            let local = local.split('+').next().unwrap_or(local);
            format!("{local}@{domain}")
        }
        None => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Mailbox;
    use std::path::Path;

    fn cfg() -> Config {
        Config::parse(
            r#"
            [[queue]]
            name = "Support"
            addresses = ["support@company.example"]
            [[queue]]
            name = "Billing"
            addresses = ["Billing@company.example"]
            "#,
            Path::new("t.toml"),
        )
        .unwrap()
    }

    #[test]
    fn envelope_then_to_then_cc() {
        let cfg = cfg();
        let mut f = Facts {
            to: vec![Mailbox::new("support@company.example")],
            ..Default::default()
        };
        f.cc = vec![Mailbox::new("billing@company.example")];
        assert_eq!(route(&f, &cfg).queue, "Support");
        f.envelope_to = vec!["billing+7@company.example".into()];
        assert_eq!(route(&f, &cfg).queue, "Billing");
        let f = Facts {
            to: vec![Mailbox::new("someone@else.example")],
            ..Default::default()
        };
        let r = route(&f, &cfg);
        assert_eq!((r.queue.as_str(), r.address), ("Support", None));
    }
}
