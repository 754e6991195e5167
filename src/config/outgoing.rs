//! The `[outgoing]` and `[autoresponse]` sections, and a queue's `[queue.autoresponse]` overrides.

use std::path::PathBuf;

use serde::Deserialize;

use crate::transport::{Kind, SmtpConfig, TransportConfig};

/// How mail leaves postdesk, and what identifies it as ours.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Outgoing {
    /// `maildir` (a local outbox folder, the default), `smtp` or `sendmail`.
    pub transport: Kind,
    /// The local outbox Maildir, relative to data-dir.
    pub outbox: PathBuf,
    pub smtp: SmtpConfig,
    /// The sendmail binary for `transport = "sendmail"` (run directly, no shell).
    pub sendmail: PathBuf,
    /// The sendmail program is killed after this long (a transient failure).
    pub sendmail_timeout_seconds: u64,
    /// Domain of our Message-IDs; empty: the domain of the first queue's first address.
    pub domain: String,
    /// The key that authenticates our Message-IDs and agents' reply addresses; relative to
    /// data-dir. Created (32 random bytes, mode 0600) when missing.
    pub secret_file: PathBuf,
    /// After `postdesk secret rotate`, addresses and Message-IDs made with the replaced key are
    /// accepted for this many days.
    pub secret_grace_days: u32,
    /// A mail that could not be delivered for this long is given up and reported.
    pub max_age_hours: u64,
}

impl Outgoing {
    /// `secret-grace-days` in seconds.
    pub fn grace_seconds(&self) -> i64 {
        i64::from(self.secret_grace_days) * 86_400
    }

    pub fn transport_config(&self) -> TransportConfig {
        TransportConfig {
            transport: self.transport,
            outbox: self.outbox.clone(),
            smtp: self.smtp.clone(),
            sendmail: self.sendmail.clone(),
            sendmail_timeout_seconds: self.sendmail_timeout_seconds,
        }
    }
}

impl Default for Outgoing {
    fn default() -> Self {
        let t = TransportConfig::default();
        Outgoing {
            transport: t.transport,
            outbox: t.outbox,
            smtp: t.smtp,
            sendmail: t.sendmail,
            sendmail_timeout_seconds: t.sendmail_timeout_seconds,
            domain: String::new(),
            secret_file: PathBuf::from("secret"),
            secret_grace_days: 30,
            max_age_hours: 120,
        }
    }
}

/// Which autoresponses are sent, and the limits that bound them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Autoresponse {
    /// Folder of the templates; relative to the configuration file's folder.
    pub templates: PathBuf,
    pub new_ticket: bool,
    pub follow_up: bool,
    pub reopened: bool,
    pub closed_new: bool,
    pub reject: bool,
    pub agent_notify: bool,
    /// What an agents' notice is: one short pointer per event to all of the queue's agents
    /// (`pointer`), a full copy to each agent, stored in the ticket (`copy`), or the events
    /// collected into one mail per agent at most every `digest-minutes` (`digest`).
    pub agent_notice: NoticeStyle,
    /// `agent-notice = "digest"`: an agent gets at most one digest in this many minutes
    /// (1 to 1440).
    pub digest_minutes: u32,
    /// At most this many autoresponses to one address in 24 hours, and this many notices to the
    /// agents about mail from one address.
    pub per_recipient_per_day: u32,
    /// More than this many autoresponses in one minute pause them all (an alarm is logged).
    pub circuit_breaker_per_minute: u32,
}

impl Default for Autoresponse {
    fn default() -> Self {
        Autoresponse {
            templates: PathBuf::from("templates"),
            new_ticket: true,
            follow_up: false,
            reopened: true,
            closed_new: true,
            reject: true,
            agent_notify: true,
            agent_notice: NoticeStyle::default(),
            digest_minutes: 15,
            per_recipient_per_day: 10,
            circuit_breaker_per_minute: 60,
        }
    }
}

impl Autoresponse {
    pub fn switches(&self) -> Switches {
        Switches {
            new_ticket: self.new_ticket,
            follow_up: self.follow_up,
            reopened: self.reopened,
            closed_new: self.closed_new,
            reject: self.reject,
            agent_notify: self.agent_notify,
        }
    }
}

/// What the agents of a queue get when a customer's mail is filed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoticeStyle {
    /// One mail per event to all of the queue's agents: who wrote, the first lines, and the
    /// ticket's folder. Its Reply-To is the ticket's shared reply address (as in the stored
    /// copies agents read), and it is kept in the outbox until sent, not filed in the ticket.
    #[default]
    Pointer,
    /// One mail per agent with the customer's whole text, the agent's own reply address (bound
    /// to that agent's From), filed in the ticket as an outgoing article.
    Copy,
    /// Each event recorded in the index with the article it is about; the digest round sends
    /// each agent one mail listing the events since their last, at most every `digest-minutes`.
    Digest,
}

/// One switch per template type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switches {
    pub new_ticket: bool,
    pub follow_up: bool,
    pub reopened: bool,
    pub closed_new: bool,
    pub reject: bool,
    pub agent_notify: bool,
}

/// A queue's overrides: each key given replaces the global switch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct QueueSwitches {
    pub new_ticket: Option<bool>,
    pub follow_up: Option<bool>,
    pub reopened: Option<bool>,
    pub closed_new: Option<bool>,
    pub reject: Option<bool>,
    pub agent_notify: Option<bool>,
    /// This queue's `agent-notice` style.
    pub agent_notice: Option<NoticeStyle>,
}

impl Switches {
    pub fn with(self, q: &QueueSwitches) -> Switches {
        Switches {
            new_ticket: q.new_ticket.unwrap_or(self.new_ticket),
            follow_up: q.follow_up.unwrap_or(self.follow_up),
            reopened: q.reopened.unwrap_or(self.reopened),
            closed_new: q.closed_new.unwrap_or(self.closed_new),
            reject: q.reject.unwrap_or(self.reject),
            agent_notify: q.agent_notify.unwrap_or(self.agent_notify),
        }
    }

    /// Whether that mail is switched on.
    pub fn allows(&self, kind: crate::template::Kind) -> bool {
        use crate::template::Kind;
        match kind {
            Kind::NewTicket => self.new_ticket,
            Kind::FollowUp => self.follow_up,
            Kind::Reopened => self.reopened,
            Kind::ClosedNew => self.closed_new,
            Kind::Reject => self.reject,
            Kind::AgentNotify | Kind::AgentDigest => self.agent_notify,
        }
    }
}
