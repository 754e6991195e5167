//! The configuration file: strict TOML (an unknown key is an error naming it), kebab-case keys,
//! defaults that run from the repository with no edits. `postdesk.example.toml` documents every key.
//!
//! Only this module knows the file's shape; the rest of the program reads the typed `Config`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::number::{Generator, Scheme};

pub mod api;
pub mod directory;
pub mod fax;
pub mod index;
pub mod ldap;
mod levels;
pub mod outgoing;
pub mod proof;
pub mod report;
pub mod requests;
mod sections;
mod validate;
use outgoing::{Autoresponse, Outgoing, QueueSwitches, Switches};
pub use sections::{Dovecot, Filters, Lmtp, LmtpListen};

/// Where the configuration is looked for when `--config` is not given.
pub const SEARCH_PATH: &[&str] = &["/etc/postdesk/postdesk.toml", "./postdesk.toml"];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("no configuration file: give --config, or create one of {}", SEARCH_PATH.join(", "))]
    NotFound,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    #[serde(default)]
    pub general: General,
    #[serde(default)]
    pub tickets: Tickets,
    #[serde(default)]
    pub intake: Intake,
    #[serde(default, rename = "source")]
    pub sources: Vec<Source>,
    /// IMAP mailboxes fetched like Maildir sources.
    #[serde(default, rename = "imap")]
    pub imap: Vec<crate::imap::ImapConfig>,
    #[serde(rename = "queue")]
    pub queues: Vec<Queue>,
    #[serde(default, rename = "agent")]
    pub agents: Vec<Agent>,
    /// `[agents]`: what proves an agent's mail besides the reply address and the From.
    #[serde(default, rename = "agents")]
    pub agent_proof: proof::ProofConfig,
    #[serde(default)]
    pub outgoing: Outgoing,
    #[serde(default)]
    pub autoresponse: Autoresponse,
    #[serde(default)]
    pub filters: Filters,
    #[serde(default)]
    pub scan: crate::scan::ScanConfig,
    #[serde(default)]
    pub dovecot: Dovecot,
    #[serde(default)]
    pub lmtp: Lmtp,
    /// `[directory]`: who is who (persons, organisations, services, groups).
    #[serde(default)]
    pub directory: directory::DirectoryConfig,
    /// `[customer-requests]`: customers asking by mail (`#tickets`, `#status`, `#history`).
    #[serde(default)]
    pub customer_requests: requests::RequestsConfig,
    /// `[api]`: the HTTP API for telephone systems.
    #[serde(default)]
    pub api: api::ApiConfig,
    /// `[index]`: SQLite in the data folder, or a shared PostgreSQL.
    #[serde(default)]
    pub index: index::IndexConfig,
    /// `[[calendar]]`: working hours and holidays that service levels count in.
    #[serde(default, rename = "calendar")]
    pub calendars: Vec<crate::sla::config::CalendarConfig>,
    /// `[[sla]]`: service levels (first response, update, solution in business time).
    #[serde(default, rename = "sla")]
    pub slas: Vec<crate::sla::config::SlaConfig>,
    /// `[[fax]]`: fax gateways whose mails are faxes.
    #[serde(default, rename = "fax")]
    pub fax: Vec<fax::FaxGateway>,
    /// `[[pbx]]`: telephone systems that place agents' calls (click-to-dial).
    #[serde(default, rename = "pbx")]
    pub pbxs: Vec<crate::dial::PbxConfig>,
    /// `[[report]]`: reports the daemon mails on a schedule.
    #[serde(default, rename = "report")]
    pub reports: Vec<report::ReportConfig>,
    /// The file this was read from; relative paths in it are resolved against its folder.
    #[serde(skip)]
    pub file: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct General {
    /// Store, index, staging area and local outbox live here.
    pub data_dir: PathBuf,
    /// The mail log (one line per message), relative to data-dir unless absolute; "-" for stderr.
    pub mail_log: String,
    /// Our X-Loop header value; mail carrying it is ours coming back.
    pub loop_value: String,
    /// Queue for mail that names none of the queues' addresses.
    pub default_queue: String,
    /// Group-commit durability: fsync (syncfs) before a message leaves its source. Turn off only
    /// for throwaway test runs.
    pub durable: bool,
    /// This machine's name among the nodes sharing one store and index (1-64 of
    /// `[A-Za-z0-9._-]`); empty: the host name.
    pub node: String,
    /// A node whose heartbeat is older than this is dead, and a lease (the outbox, an IMAP
    /// folder) its holder stopped renewing runs out after it.
    pub node_lease_seconds: u64,
}

impl General {
    /// This node's name: `node`, or the host name made to fit (other characters become `-`).
    pub fn node(&self) -> String {
        if !self.node.is_empty() {
            return self.node.clone();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let name: String = host
            .trim()
            .chars()
            .map(|c| if node_char(c) { c } else { '-' })
            .take(64)
            .collect();
        if name.is_empty() {
            "localhost".into()
        } else {
            name
        }
    }

    /// The lease in seconds, as a signed number for the index's clock arithmetic.
    pub fn lease(&self) -> i64 {
        self.node_lease_seconds as i64
    }
}

/// Whether `c` may be part of a node name.
pub fn node_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

impl Default for General {
    fn default() -> Self {
        General {
            data_dir: PathBuf::from("./var"),
            mail_log: "mail.log".into(),
            loop_value: "postdesk".into(),
            default_queue: String::new(),
            durable: true,
            node: String::new(),
            node_lease_seconds: 10,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrangerPolicy {
    /// File the follow-up in the ticket as if from a participant.
    Accept,
    /// File it in the ticket, marked as from a stranger in the index and its trace headers.
    AcceptAndMark,
    /// Open a new ticket that records the number the stranger referred to.
    NewTicket,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClosedPolicy {
    Reopen,
    NewTicket,
    Reject,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Tickets {
    pub generator: Generator,
    pub system_id: String,
    pub hook: String,
    pub counter_digits: usize,
    pub random_digits: usize,
    pub stranger_policy: StrangerPolicy,
    /// Whether ticket dates (the number's YYYYMMDD) use local time or UTC.
    pub local_time: bool,
}

impl Default for Tickets {
    fn default() -> Self {
        Tickets {
            generator: Generator::DateChecksum,
            system_id: "10".into(),
            hook: "Ticket#".into(),
            counter_digits: 6,
            random_digits: 10,
            stranger_policy: StrangerPolicy::NewTicket,
            local_time: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum After {
    /// Remove the source file once the message is committed.
    Delete,
    /// Move it to `cur/` with the Seen flag (`:2,S`), as a mail client would.
    Seen,
    /// Leave it; the index remembers it so it is not processed twice. For read-only sources.
    Keep,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Intake {
    pub after: After,
    /// Seconds between full rescans of every source, in addition to inotify.
    pub rescan_seconds: u64,
    /// Messages committed together (one fsync round for all of them).
    pub batch_size: usize,
    /// Larger messages are quarantined with a reason instead of being filed.
    pub max_message_bytes: u64,
    /// Messages with multiparts and nested messages deeper than this are quarantined unparsed.
    pub max_mime_depth: usize,
    /// Messages with more MIME parts than this (nested messages' included) are quarantined.
    pub max_mime_parts: usize,
}

impl Intake {
    /// The MIME limits `parse` measures a message against before building it.
    pub fn mime_limits(&self) -> crate::parse::Limits {
        crate::parse::Limits {
            max_depth: self.max_mime_depth,
            max_parts: self.max_mime_parts,
        }
    }
}

impl Default for Intake {
    fn default() -> Self {
        Intake {
            after: After::Seen,
            rescan_seconds: 30,
            batch_size: 256,
            max_message_bytes: 64 << 20,
            max_mime_depth: crate::parse::Limits::default().max_depth,
            max_mime_parts: crate::parse::Limits::default().max_parts,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Source {
    pub name: String,
    /// A Maildir (with new/); relative to the configuration file's folder.
    pub maildir: PathBuf,
    /// Overrides intake.after for this source.
    pub after: Option<After>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Queue {
    pub name: String,
    #[serde(default)]
    pub addresses: Vec<String>,
    #[serde(default = "default_on_closed")]
    pub on_closed: ClosedPolicy,
    #[serde(default = "default_language")]
    pub language: String,
    /// Display name used when mail is sent from this queue.
    #[serde(default)]
    pub display_name: Option<String>,
    /// This queue's autoresponse switches; keys not given follow `[autoresponse]`.
    #[serde(default)]
    pub autoresponse: QueueSwitches,
    /// The service level of this queue's tickets (an `[[sla]]`'s name), unless their service
    /// instance in the directory or an agent names another.
    #[serde(default)]
    pub sla: Option<String>,
}

fn default_on_closed() -> ClosedPolicy {
    ClosedPolicy::Reopen
}

fn default_language() -> String {
    "en".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Agent {
    pub name: String,
    pub address: String,
    #[serde(default)]
    pub queues: Vec<String>,
    /// The agent's login at Dovecot (IMAP) and at the site's MTA (SMTP AUTH, which
    /// `[agents] require-proof = "smtp-auth"` checks); default: `address`.
    #[serde(default)]
    pub login: Option<String>,
    /// For `postdesk dovecot-config`'s passwd file: a Dovecot password hash such as
    /// `{SHA512-CRYPT}$6$…` (`doveadm pw -s SHA512-CRYPT`). Without it the site's own user
    /// database authenticates the agent.
    #[serde(default)]
    pub password_hash: Option<String>,
}

impl Agent {
    pub fn login(&self) -> &str {
        self.login.as_deref().unwrap_or(&self.address)
    }
}

impl Config {
    /// Finds and loads the configuration: `explicit`, else the first of SEARCH_PATH that exists.
    pub fn locate(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        if let Some(p) = explicit {
            return Config::load(p);
        }
        for p in SEARCH_PATH {
            if Path::new(p).exists() {
                return Config::load(Path::new(p));
            }
        }
        Err(ConfigError::NotFound)
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().replace('\n', " | "),
        })?;
        cfg.file = path.to_path_buf();
        cfg.validate()
            .and_then(|()| cfg.validate_outgoing())
            .map_err(|message| ConfigError::Invalid {
                path: path.to_path_buf(),
                message,
            })?;
        cfg.normalise();
        Ok(cfg)
    }

    fn normalise(&mut self) {
        if self.general.default_queue.is_empty() {
            self.general.default_queue = self.queues[0].name.clone();
        }
        for q in &mut self.queues {
            for a in &mut q.addresses {
                *a = a.trim().to_ascii_lowercase();
            }
        }
        for a in &mut self.agents {
            a.address = a.address.trim().to_ascii_lowercase();
        }
    }

    pub fn queue(&self, name: &str) -> Option<&Queue> {
        self.queues
            .iter()
            .find(|q| q.name.eq_ignore_ascii_case(name))
    }

    /// Resolves a path from the file against the file's folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            return p.to_path_buf();
        }
        match self.file.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.join(p),
            _ => p.to_path_buf(),
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.resolve(&self.general.data_dir)
    }

    /// Every address that is ours: the queues' addresses and nothing else.
    pub fn own_addresses(&self) -> Vec<String> {
        self.queues
            .iter()
            .flat_map(|q| q.addresses.iter().cloned())
            .collect()
    }

    /// The domain of our Message-IDs: `outgoing.domain`, else the first queue address's domain.
    pub fn message_domain(&self) -> String {
        if !self.outgoing.domain.is_empty() {
            return self.outgoing.domain.to_ascii_lowercase();
        }
        self.queues
            .iter()
            .flat_map(|q| q.addresses.iter())
            .find_map(|a| a.rsplit_once('@').map(|(_, d)| d.to_string()))
            .unwrap_or_else(|| "localhost".into())
    }

    /// The transport settings with file paths resolved against the configuration's folder.
    pub fn transport_config(&self) -> crate::transport::TransportConfig {
        let mut t = self.outgoing.transport_config();
        t.sendmail = self.resolve(&t.sendmail);
        t.smtp.password_file = t.smtp.password_file.map(|p| self.resolve(&p));
        t.smtp.tls_ca_file = t.smtp.tls_ca_file.map(|p| self.resolve(&p));
        t
    }

    pub fn filters_dir(&self) -> PathBuf {
        self.resolve(&self.filters.dir)
    }

    pub fn templates_dir(&self) -> PathBuf {
        self.resolve(&self.autoresponse.templates)
    }

    /// The autoresponse switches that hold for a queue.
    pub fn switches(&self, queue: &str) -> Switches {
        let global = self.autoresponse.switches();
        match self.queue(queue) {
            Some(q) => global.with(&q.autoresponse),
            None => global,
        }
    }

    /// What the agents of a queue get when a customer's mail is filed: the queue's
    /// `agent-notice`, else `[autoresponse]`'s.
    pub fn notice_style(&self, queue: &str) -> outgoing::NoticeStyle {
        self.queue(queue)
            .and_then(|q| q.autoresponse.agent_notice)
            .unwrap_or(self.autoresponse.agent_notice)
    }

    pub fn scheme(&self) -> Scheme {
        Scheme {
            generator: self.tickets.generator,
            system_id: self.tickets.system_id.clone(),
            hook: self.tickets.hook.clone(),
            counter_digits: self.tickets.counter_digits,
            random_digits: self.tickets.random_digits,
        }
    }
}

pub use validate::valid_folder_name;
