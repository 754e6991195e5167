//! `[customer-requests]`: answers to customers' requests by mail (see `requests`).

use serde::Deserialize;

/// `[customer-requests]` in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct RequestsConfig {
    /// Recognise requests at all (they need the directory: only its persons get answers).
    pub enabled: bool,
    /// What a sender the directory does not know gets.
    pub unknown_sender: UnknownSender,
    /// At most this many tickets in an answer to `#tickets` (the most recently changed).
    pub max_tickets: usize,
    /// At most this many articles in an answer to `#history` (the latest).
    pub max_history: usize,
}

impl Default for RequestsConfig {
    fn default() -> Self {
        RequestsConfig {
            enabled: true,
            unknown_sender: UnknownSender::Ignore,
            max_tickets: 50,
            max_history: 20,
        }
    }
}

impl RequestsConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.max_tickets == 0 || self.max_history == 0 {
            return Err("max-tickets and max-history must be at least 1".into());
        }
        Ok(())
    }
}

/// What a sender the directory does not know gets: nothing (the default: an answer to a forged
/// From would be backscatter), or a short answer that the address is not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnknownSender {
    Ignore,
    Answer,
}
