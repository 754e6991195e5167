//! Outgoing mail: autoresponses from templates, notifications to agents, agents' answers relayed
//! to customers, and the outbox that sends them.
//!
//! Every mail is decided inside intake's batch (pure decisions in `policy`, mails built in
//! `build`), stored as an outgoing article of its ticket and queued in the index in the same
//! commit as the message that caused it; `sender` sends what is queued. So a crash anywhere
//! leaves a mail either not yet decided (its cause is still at the source) or committed and
//! queued (sent after the restart).

pub mod agent;
pub mod build;
pub mod commands;
pub mod compose;
pub mod digest;
pub use crate::config::outgoing as config;
pub mod greeting;
pub mod msgid;
pub mod proof;
pub mod recipients;
pub mod secret;
mod waker;

pub use waker::Waker;
pub mod text;

use std::sync::Arc;

use crate::config::{Config, Queue};
use crate::outgoing::compose::Address;
use crate::outgoing::msgid::{IdVerdict, Signer};
use crate::template::Templates;

/// What building outgoing mail needs besides the configuration.
pub struct Outbound {
    pub signer: Signer,
    pub templates: Arc<Templates>,
    /// Domain of our Message-IDs.
    pub domain: String,
    /// Domains whose Message-IDs we recognise as ours (the Message-ID domain and the queues').
    pub domains: Vec<String>,
    /// The key was not on disk (read-only use such as `explain` before the first start): our
    /// reply addresses and Message-IDs cannot be verified.
    pub ephemeral: bool,
}

impl Outbound {
    /// Loads the key (creating it when `create`) and compiles the templates.
    pub fn load(cfg: &Config, create: bool) -> Result<Outbound, String> {
        let path = cfg.data_dir().join(&cfg.outgoing.secret_file);
        let (keys, ephemeral) = match secret::load(&path, create) {
            Ok(Some(k)) => (k, false),
            Ok(None) => (
                secret::Keys {
                    current: rand::random::<[u8; 32]>().to_vec(),
                    retired: Vec::new(),
                },
                true,
            ),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        // Retired keys end their grace at a fixed time; the signer checks it at each use.
        let mut signer = Signer::new(&keys.current);
        for (key, until) in keys.graces(cfg.outgoing.grace_seconds()) {
            signer = signer.with_retired(key, until);
        }
        let templates = Templates::load(&cfg.templates_dir()).map_err(|errs| {
            errs.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        let domain = cfg.message_domain();
        let mut domains = vec![domain.clone()];
        for a in cfg.own_addresses() {
            if let Some((_, d)) = a.rsplit_once('@') {
                if !domains.iter().any(|x| x == d) {
                    domains.push(d.to_string());
                }
            }
        }
        Ok(Outbound {
            signer,
            templates: Arc::new(templates),
            domain,
            domains,
            ephemeral,
        })
    }
}

/// What a referenced Message-ID is to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnId {
    /// Ours, naming this ticket.
    Ours(String),
    /// Our shape under our domain, but the MAC is wrong.
    Forged,
    NotOurs,
}

impl Outbound {
    /// Whether a referenced Message-ID is one of ours.
    pub fn own_id(&self, id: &str, now: i64) -> OwnId {
        match self.signer.check_message_id(id, &self.domains, now) {
            IdVerdict::Ours(n) => OwnId::Ours(n),
            IdVerdict::Forged { .. } => OwnId::Forged,
            IdVerdict::NotOurs => OwnId::NotOurs,
        }
    }
}

/// The address a queue sends from: its first address, with its display name.
pub fn queue_sender(q: &Queue) -> Address {
    Address {
        name: q.display_name.clone().or_else(|| Some(q.name.clone())),
        email: q.addresses.first().cloned().unwrap_or_default(),
    }
}
