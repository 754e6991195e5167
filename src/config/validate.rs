//! Checks of a parsed configuration that serde cannot make: names, references between tables,
//! and each table's own `validate`.

use std::collections::HashSet;

use super::*;

impl Config {
    pub(super) fn validate(&self) -> Result<(), String> {
        if self.queues.is_empty() {
            return Err("at least one [[queue]] is required".into());
        }
        self.index.validate()?;
        let node = &self.general.node;
        if !node.is_empty() && (node.len() > 64 || !node.chars().all(node_char)) {
            return Err(format!(
                "general.node {node:?}: 1 to 64 letters, digits, '.', '_' or '-'"
            ));
        }
        if !(5..=3600).contains(&self.general.node_lease_seconds) {
            return Err(format!(
                "general.node-lease-seconds {}: 5 to 3600",
                self.general.node_lease_seconds
            ));
        }
        let mut names = HashSet::new();
        let mut addrs = HashSet::new();
        for q in &self.queues {
            valid_folder_name(&q.name).map_err(|e| format!("queue name {:?}: {e}", q.name))?;
            if !names.insert(q.name.to_ascii_lowercase()) {
                return Err(format!("queue {:?} is defined twice", q.name));
            }
            for a in &q.addresses {
                if !a.contains('@') || a.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(format!("queue {:?}: {a:?} is not a mail address", q.name));
                }
                if !addrs.insert(a.to_ascii_lowercase()) {
                    return Err(format!("address {a:?} belongs to two queues"));
                }
            }
        }
        if !self.general.default_queue.is_empty()
            && self.queue(&self.general.default_queue).is_none()
        {
            return Err(format!(
                "general.default-queue {:?} is not a [[queue]]",
                self.general.default_queue
            ));
        }
        let t = &self.tickets;
        if t.system_id.is_empty()
            || !t.system_id.bytes().all(|b| b.is_ascii_digit())
            || t.system_id.len() > 4
        {
            return Err(format!(
                "tickets.system-id {:?}: one to four digits",
                t.system_id
            ));
        }
        if t.hook.is_empty()
            || t.hook
                .chars()
                .any(|c| c.is_whitespace() || c == ']' || c == '[')
        {
            return Err(format!(
                "tickets.hook {:?}: non-empty, no spaces or brackets",
                t.hook
            ));
        }
        if !(1..=12).contains(&t.counter_digits) || !(4..=18).contains(&t.random_digits) {
            return Err("tickets.counter-digits is 1..=12 and tickets.random-digits 4..=18".into());
        }
        if self.intake.batch_size == 0 || self.intake.batch_size > 10_000 {
            return Err("intake.batch-size is 1..=10000".into());
        }
        if !(1..=500).contains(&self.intake.max_mime_depth) {
            return Err("intake.max-mime-depth is 1..=500".into());
        }
        if !(1..=1_000_000).contains(&self.intake.max_mime_parts) {
            return Err("intake.max-mime-parts is 1..=1000000".into());
        }
        let mut sources = HashSet::new();
        for s in &self.sources {
            if s.name.is_empty() || !sources.insert(s.name.clone()) {
                return Err(format!("source name {:?} is empty or used twice", s.name));
            }
        }
        for a in &self.agents {
            if !a.address.contains('@') {
                return Err(format!(
                    "agent {:?}: {:?} is not a mail address",
                    a.name, a.address
                ));
            }
            for q in &a.queues {
                if self.queue(q).is_none() {
                    return Err(format!(
                        "agent {:?}: queue {q:?} is not a [[queue]]",
                        a.name
                    ));
                }
            }
        }
        Ok(())
    }

    pub(super) fn validate_outgoing(&self) -> Result<(), String> {
        let mut names: HashSet<&str> = self.sources.iter().map(|s| s.name.as_str()).collect();
        for i in &self.imap {
            i.validate()
                .map_err(|e| format!("[[imap]] {:?}: {e}", i.name))?;
            if !names.insert(&i.name) {
                return Err(format!("source name {:?} is used twice", i.name));
            }
        }
        self.scan.validate().map_err(|e| format!("[scan]: {e}"))?;
        self.agent_proof.validate()?;
        if self.outgoing.secret_grace_days > 3650 {
            return Err("[outgoing]: secret-grace-days is 0..=3650".into());
        }
        self.lmtp.validate().map_err(|e| format!("[lmtp]: {e}"))?;
        self.directory
            .validate()
            .map_err(|e| format!("[directory]: {e}"))?;
        self.customer_requests
            .validate()
            .map_err(|e| format!("[customer-requests]: {e}"))?;
        self.api.validate().map_err(|e| format!("[api]: {e}"))?;
        let mut calendars = HashSet::new();
        for c in &self.calendars {
            c.validate()?;
            if !calendars.insert(c.name.as_str()) {
                return Err(format!("[[calendar]] {:?} is defined twice", c.name));
            }
        }
        let mut slas = HashSet::new();
        for s in &self.slas {
            s.policy(&self.calendars)?;
            if !slas.insert(s.name.as_str()) {
                return Err(format!("[[sla]] {:?} is defined twice", s.name));
            }
        }
        for q in &self.queues {
            if let Some(s) = q.sla.as_deref().filter(|s| !slas.contains(s)) {
                return Err(format!("queue {:?}: sla {s:?} is not an [[sla]]", q.name));
            }
        }
        let mut reports = HashSet::new();
        for r in &self.reports {
            r.validate(|q| self.queue(q).is_some())
                .map_err(|e| format!("[[report]] {:?}: {e}", r.name))?;
            if !reports.insert(r.name.as_str()) {
                return Err(format!("[[report]] {:?} is defined twice", r.name));
            }
        }
        for (service, queue) in &self.api.service_queues {
            if self.queue(queue).is_none_or(|q| q.addresses.is_empty()) {
                return Err(format!(
                    "[api] service-queues: {service} = {queue:?} names no [[queue]] with an address"
                ));
            }
        }
        let mut pbxs = HashSet::new();
        for p in &self.pbxs {
            p.validate()
                .map_err(|e| format!("[[pbx]] {:?}: {e}", p.name))?;
            if !pbxs.insert(p.name.as_str()) {
                return Err(format!("[[pbx]] {:?} is defined twice", p.name));
            }
        }
        let mut gateways = HashSet::new();
        for g in &self.fax {
            g.validate()
                .map_err(|e| format!("[[fax]] {:?}: {e}", g.name))?;
            if !gateways.insert(g.sender.trim().to_ascii_lowercase()) {
                return Err(format!(
                    "[[fax]] {:?}: sender {:?} is another gateway's",
                    g.name, g.sender
                ));
            }
            if let Some(q) = &g.queue {
                if self.queue(q).is_none() {
                    return Err(format!(
                        "[[fax]] {:?}: queue {q:?} is not a [[queue]]",
                        g.name
                    ));
                }
            }
        }
        if self.scan.concurrency == 0 || self.scan.concurrency > 64 {
            return Err("[scan]: concurrency must be 1 to 64".into());
        }
        self.outgoing
            .transport_config()
            .validate()
            .map_err(|e| format!("[outgoing]: {e}"))?;
        let a = &self.autoresponse;
        if a.per_recipient_per_day == 0 || a.circuit_breaker_per_minute == 0 {
            return Err(
                "[autoresponse]: per-recipient-per-day and circuit-breaker-per-minute must be at least 1 (switch templates off instead)".into(),
            );
        }
        if !(1..=1440).contains(&a.digest_minutes) {
            return Err(format!(
                "[autoresponse]: digest-minutes is 1..=1440 (a day), not {}",
                a.digest_minutes
            ));
        }
        Ok(())
    }
}

/// Queue names become Maildir++ folder names: Dovecot rejects `.` there, `/` is its separator,
/// and a reserved word would collide with the closed-ticket area.
pub fn valid_folder_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 64 {
        return Err("must be 1 to 64 characters");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err("only ASCII letters, digits, '-' and '_'");
    }
    if name.eq_ignore_ascii_case("closed")
        || name.eq_ignore_ascii_case("quarantine")
        || name.eq_ignore_ascii_case("inbox")
    {
        return Err("Closed, Quarantine and INBOX are reserved");
    }
    Ok(())
}
