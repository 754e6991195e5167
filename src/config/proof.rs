//! `[agents]`: what proves that a mail is an agent's (see `outgoing::proof`).

use serde::Deserialize;

/// The `[agents]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct ProofConfig {
    pub require_proof: Require,
    /// The name the site's MTA writes first in its Authentication-Results headers.
    pub authserv_id: String,
    /// How many Received headers the site's own servers add on the way to postdesk (1: Postfix
    /// delivering to `postdesk deliver` or a Maildir; 2 with Dovecot LMTP in between).
    pub trusted_received: usize,
}

impl Default for ProofConfig {
    fn default() -> Self {
        ProofConfig {
            require_proof: Require::None,
            authserv_id: String::new(),
            trusted_received: 1,
        }
    }
}

impl ProofConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=10).contains(&self.trusted_received) {
            return Err("[agents]: trusted-received is 1..=10".into());
        }
        let id = self.authserv_id.trim();
        if self.require_proof != Require::None
            && (id.is_empty() || id.contains(|c: char| c.is_whitespace() || c == ';'))
        {
            return Err(format!(
                "[agents]: require-proof = {:?} needs authserv-id, the name your MTA writes in its Authentication-Results headers (one word)",
                self.require_proof.name()
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Require {
    /// A reply address and an agent's From are enough.
    None,
    SmtpAuth,
    Dkim,
    Either,
}

impl Require {
    pub fn name(self) -> &'static str {
        match self {
            Require::None => "none",
            Require::SmtpAuth => "smtp-auth",
            Require::Dkim => "dkim",
            Require::Either => "either",
        }
    }
}
