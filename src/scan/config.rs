//! `[scan.spamd]` and `[scan.clamd]`: strict (unknown keys are errors), kebab-case, every key
//! optional. Both scanners are off unless `enabled = true`.
//!
//! ```toml
//! [scan.spamd]
//! enabled = true
//! address = "127.0.0.1:783"      # or "/run/spamd.sock": a value starting with '/' is a Unix socket
//! timeout-seconds = 30           # connect + send + scan + reply, all together
//! max-size = 524288              # bytes; larger messages are not sent (spamc's default, 512 KiB)
//! on-oversize = "skip"           # or "quarantine"
//! on-failure = "tempfail"        # or "pass"
//! user = "postdesk"              # spamd's User header
//! # threshold = 6.5              # overrides spamd's required score
//!
//! [scan.clamd]
//! enabled = true
//! address = "/run/clamav/clamd.ctl"
//! max-size = 26214400            # 25 MiB; keep it at or below clamd's StreamMaxLength
//! ```

use serde::Deserialize;

use super::conn::Endpoint;

/// The `[scan]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct ScanConfig {
    pub spamd: SpamdConfig,
    pub clamd: ClamdConfig,
    /// Messages scanned at the same time. spamd does the work in its children; more than
    /// spamd's `--max-children` only queues there.
    pub concurrency: usize,
    /// Moving a ticket into this queue reports its messages to spamd as spam (TELL), out of it
    /// as ham.
    pub junk_queue: String,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            spamd: SpamdConfig::default(),
            clamd: ClamdConfig::default(),
            concurrency: 4,
            junk_queue: "Junk".into(),
        }
    }
}

/// What to do with a message a scanner did not look at because of its size: over `max-size`,
/// or refused by the daemon's own limit (clamd's `INSTREAM size limit exceeded`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnOversize {
    /// File the message as usual, with `Unscanned (reason)` in its status header.
    #[default]
    Skip,
    /// File it marked unscanned, and tell the caller to quarantine it (`Policy::Quarantine`):
    /// for sites where nothing unscanned may reach an agent's queue.
    Quarantine,
}

/// What to do when a scanner could not be asked or gave no usable answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnFailure {
    /// Leave the message at its source and try again later (`Policy::Retry`).
    #[default]
    Tempfail,
    /// Go on without this scanner's verdict; the headers say `Unscanned (reason)`.
    Pass,
}

/// `[scan.spamd]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct SpamdConfig {
    pub enabled: bool,
    pub address: String,
    pub timeout_seconds: u64,
    pub max_size: u64,
    pub on_oversize: OnOversize,
    pub on_failure: OnFailure,
    /// Sent as `User:`; selects the per-user settings on a spamd that has them.
    pub user: String,
    /// Decides `is_spam` (score >= threshold) instead of spamd's `required_score`.
    pub threshold: Option<f32>,
}

impl Default for SpamdConfig {
    fn default() -> Self {
        SpamdConfig {
            enabled: false,
            address: "127.0.0.1:783".into(),
            timeout_seconds: 30,
            max_size: 512 * 1024,
            on_oversize: OnOversize::Skip,
            on_failure: OnFailure::Tempfail,
            user: "postdesk".into(),
            threshold: None,
        }
    }
}

/// `[scan.clamd]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct ClamdConfig {
    pub enabled: bool,
    pub address: String,
    pub timeout_seconds: u64,
    pub max_size: u64,
    pub on_oversize: OnOversize,
    pub on_failure: OnFailure,
}

impl Default for ClamdConfig {
    fn default() -> Self {
        ClamdConfig {
            enabled: false,
            address: "127.0.0.1:3310".into(),
            timeout_seconds: 30,
            max_size: 25 * 1024 * 1024,
            on_oversize: OnOversize::Skip,
            on_failure: OnFailure::Tempfail,
        }
    }
}

impl ScanConfig {
    /// Checks what can be checked without the network, for enabled and disabled scanners alike
    /// (so a typo shows before someone turns a scanner on). The lead's `Config::validate` should
    /// call this and prefix "scan.".
    pub fn validate(&self) -> Result<(), String> {
        self.spamd.validate().map_err(|e| format!("spamd.{e}"))?;
        self.clamd.validate().map_err(|e| format!("clamd.{e}"))
    }
}

impl SpamdConfig {
    pub fn validate(&self) -> Result<(), String> {
        common(&self.address, self.timeout_seconds, self.max_size)?;
        // Content-length is what spamd reads; it keeps the whole message in memory.
        if self.max_size > u32::MAX as u64 {
            return Err(format!("max-size {} is over 4 GiB", self.max_size));
        }
        let bad_user = self.user.is_empty()
            || self.user.len() > 64
            || !self.user.chars().all(|c| c.is_ascii_graphic());
        if bad_user {
            return Err(format!(
                "user {:?}: 1-64 printable ASCII characters, no spaces",
                self.user
            ));
        }
        if let Some(t) = self.threshold {
            if !t.is_finite() {
                return Err("threshold must be a finite number".into());
            }
        }
        Ok(())
    }
}

impl ClamdConfig {
    pub fn validate(&self) -> Result<(), String> {
        common(&self.address, self.timeout_seconds, self.max_size)
    }
}

fn common(address: &str, timeout_seconds: u64, max_size: u64) -> Result<(), String> {
    Endpoint::parse(address).map_err(|e| format!("address: {e}"))?;
    if timeout_seconds == 0 || timeout_seconds > 3600 {
        return Err("timeout-seconds must be between 1 and 3600".into());
    }
    if max_size == 0 {
        return Err("max-size must be at least 1".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct File {
        scan: ScanConfig,
    }

    fn parse(s: &str) -> Result<ScanConfig, String> {
        toml::from_str::<File>(s)
            .map(|f| f.scan)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults() {
        let c = parse("[scan]\n").unwrap();
        assert_eq!(c, ScanConfig::default());
        assert!(!c.spamd.enabled && !c.clamd.enabled);
        assert_eq!(c.spamd.max_size, 524_288);
        assert_eq!(c.clamd.max_size, 26_214_400);
        assert_eq!((c.spamd.timeout_seconds, c.clamd.timeout_seconds), (30, 30));
        assert_eq!(c.spamd.on_failure, OnFailure::Tempfail);
        assert_eq!(c.clamd.on_oversize, OnOversize::Skip);
        assert_eq!(c.spamd.user, "postdesk");
        c.validate().unwrap();
    }

    #[test]
    fn full_table() {
        let c = parse(
            r#"
            [scan.spamd]
            enabled = true
            address = "/run/spamd.sock"
            timeout-seconds = 5
            max-size = 1000
            on-oversize = "quarantine"
            on-failure = "pass"
            user = "helpdesk"
            threshold = 6.5
            [scan.clamd]
            enabled = true
            address = "localhost:3310"
            on-failure = "pass"
            "#,
        )
        .unwrap();
        c.validate().unwrap();
        assert!(c.spamd.enabled && c.clamd.enabled);
        assert_eq!(c.spamd.on_oversize, OnOversize::Quarantine);
        assert_eq!(c.spamd.on_failure, OnFailure::Pass);
        assert_eq!(c.spamd.threshold, Some(6.5));
        assert_eq!(c.clamd.on_failure, OnFailure::Pass);
        assert_eq!(c.clamd.timeout_seconds, 30);
    }

    #[test]
    fn rejects_unknown_keys_and_values() {
        assert!(parse("[scan.spamd]\nport = 783\n").is_err());
        assert!(parse("[scan.clamd]\non-failure = \"ignore\"\n").is_err());
        assert!(parse("[scan.clamd]\non-oversize = \"drop\"\n").is_err());
        assert!(parse("[scan.virus]\n").is_err());
    }

    #[test]
    fn validation() {
        let bad = |s: &str| parse(s).unwrap().validate().unwrap_err();
        assert!(bad("[scan.spamd]\naddress = \"spamd\"\n").starts_with("spamd.address"));
        assert!(bad("[scan.clamd]\ntimeout-seconds = 0\n").starts_with("clamd.timeout"));
        assert!(bad("[scan.clamd]\nmax-size = 0\n").starts_with("clamd.max-size"));
        assert!(bad("[scan.spamd]\nuser = \"a b\"\n").starts_with("spamd.user"));
        assert!(bad("[scan.spamd]\nthreshold = nan\n").starts_with("spamd.threshold"));
    }
}
