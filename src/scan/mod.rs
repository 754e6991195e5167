//! The scanners postdesk runs on every incoming message: SpamAssassin's spamd and ClamAV's clamd,
//! both over blocking sockets from the worker threads (TCP `host:port` or a Unix socket path).
//!
//! `Scanners::scan` asks both (concurrently, in a `std::thread::scope`) and returns a
//! `ScanReport`; `Scanners::headers` turns it into the lines postdesk prepends to the stored
//! article; `policy` (pure) says whether the message may go on, must stay at its source and be
//! retried (`on-failure = "tempfail"`), or goes to quarantine (`on-oversize = "quarantine"`).
//! What to do with spam or an infected message is the caller's decision, made on the verdicts.
//!
//! Header values are single lines (no folding) of printable ASCII, at most 900 characters; the
//! caller's header writer may fold them. Incoming copies of `X-Spam-*` and `X-Virus-*` headers
//! are the sender's word: the caller should drop or rename them before prepending ours.

pub mod clamd;
pub mod config;
mod conn;
pub mod spamd;

pub use clamd::{ClamdClient, VirusVerdict};
pub use config::{ClamdConfig, OnFailure, OnOversize, ScanConfig, SpamdConfig};
pub use conn::Endpoint;
pub use spamd::{SpamVerdict, SpamdClient};

/// Why a scanner gave no verdict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// Transient: refused or failed connection, timeout, reset, an answer that is not the
    /// daemon's protocol, or the daemon saying it is in trouble.
    #[error("{0}")]
    Unavailable(String),
    /// The daemon answered, with an error for this request (e.g. spamd `76 Bad header line`,
    /// `69 TELL commands are not enabled`, clamd `... ERROR`).
    #[error("{0}")]
    Rejected(String),
}

/// What one client call returns when it did not fail.
#[derive(Debug, Clone, PartialEq)]
pub enum Scan<T> {
    Done(T),
    /// Not scanned because of its size (our `max-size`, or clamd's StreamMaxLength).
    Skipped {
        reason: String,
    },
}

/// One scanner's result for one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<T> {
    /// The scanner is not enabled.
    Off,
    Done(T),
    /// Not scanned because of its size; `on-oversize` applies.
    Skipped(String),
    /// No verdict; `on-failure` applies.
    Failed(ScanError),
}

impl<T> From<Result<Scan<T>, ScanError>> for Outcome<T> {
    fn from(r: Result<Scan<T>, ScanError>) -> Self {
        match r {
            Ok(Scan::Done(v)) => Outcome::Done(v),
            Ok(Scan::Skipped { reason }) => Outcome::Skipped(reason),
            Err(e) => Outcome::Failed(e),
        }
    }
}

/// Both scanners' results for one message.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanReport {
    pub spam: Outcome<SpamVerdict>,
    pub virus: Outcome<VirusVerdict>,
}

/// What the scan results allow, per the configured policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// Go on (verdicts, or `Unscanned` marks where a scanner skipped or failed under "pass"/"skip").
    Proceed,
    /// `on-failure = "tempfail"` and a scanner failed: leave the message at its source, retry later.
    Retry(String),
    /// `on-oversize = "quarantine"` and a scanner skipped the message for its size.
    Quarantine(String),
}

/// The policy for a report: a retry wins over quarantine (a retry may still fail the other way,
/// and nothing is decided until every scanner has had its say); "pass" and "skip" never stop.
pub fn policy(report: &ScanReport, cfg: &ScanConfig) -> Policy {
    let mut quarantine = None;
    let scanners = [
        (
            "spamd",
            outcome_kind(&report.spam),
            cfg.spamd.on_failure,
            cfg.spamd.on_oversize,
        ),
        (
            "clamd",
            outcome_kind(&report.virus),
            cfg.clamd.on_failure,
            cfg.clamd.on_oversize,
        ),
    ];
    for (name, kind, on_failure, on_oversize) in scanners {
        match kind {
            Kind::Failed(e) if on_failure == OnFailure::Tempfail => {
                return Policy::Retry(format!("{name}: {e}"));
            }
            Kind::Skipped(r) if on_oversize == OnOversize::Quarantine && quarantine.is_none() => {
                quarantine = Some(format!("{name}: {r}"));
            }
            _ => {}
        }
    }
    quarantine.map_or(Policy::Proceed, Policy::Quarantine)
}

enum Kind<'a> {
    Other,
    Skipped(&'a str),
    Failed(&'a ScanError),
}

fn outcome_kind<T>(o: &Outcome<T>) -> Kind<'_> {
    match o {
        Outcome::Skipped(r) => Kind::Skipped(r),
        Outcome::Failed(e) => Kind::Failed(e),
        Outcome::Off | Outcome::Done(_) => Kind::Other,
    }
}

/// The configured scanners; share one between the worker threads (`&Scanners` is enough).
#[derive(Debug, Clone)]
pub struct Scanners {
    spamd: Option<SpamdClient>,
    clamd: Option<ClamdClient>,
    cfg: ScanConfig,
}

impl Scanners {
    /// Validates the configuration and builds the enabled clients; connects to nothing.
    pub fn new(cfg: &ScanConfig) -> Result<Scanners, String> {
        cfg.validate()?;
        let spamd = cfg
            .spamd
            .enabled
            .then(|| SpamdClient::new(&cfg.spamd))
            .transpose();
        let clamd = cfg
            .clamd
            .enabled
            .then(|| ClamdClient::new(&cfg.clamd))
            .transpose();
        Ok(Scanners {
            spamd: spamd.map_err(|e| format!("spamd.{e}"))?,
            clamd: clamd.map_err(|e| format!("clamd.{e}"))?,
            cfg: cfg.clone(),
        })
    }

    /// Builds from ready clients (tests, or a caller that wants sub-second timeouts).
    pub fn from_clients(
        cfg: &ScanConfig,
        spamd: Option<SpamdClient>,
        clamd: Option<ClamdClient>,
    ) -> Scanners {
        Scanners {
            spamd,
            clamd,
            cfg: cfg.clone(),
        }
    }

    /// "spamd 127.0.0.1:783, clamd /run/clamav/clamd.ctl" (or "no scanners") for the start-up log.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = [
            self.spamd.as_ref().map(SpamdClient::describe),
            self.clamd.as_ref().map(ClamdClient::describe),
        ]
        .into_iter()
        .flatten()
        .collect();
        if parts.is_empty() {
            "no scanners".into()
        } else {
            parts.join(", ")
        }
    }

    /// Whether any scanner is enabled.
    pub fn any(&self) -> bool {
        self.spamd.is_some() || self.clamd.is_some()
    }

    /// Runs both scanners on one message, concurrently when both are on. Never panics on
    /// what a daemon sends; a scanner that fails shows as `Outcome::Failed`.
    pub fn scan(&self, raw: &[u8]) -> ScanReport {
        let spam = || {
            self.spamd
                .as_ref()
                .map_or(Outcome::Off, |c| c.symbols(raw).into())
        };
        let virus = || {
            self.clamd
                .as_ref()
                .map_or(Outcome::Off, |c| c.instream(raw).into())
        };
        if self.spamd.is_some() && self.clamd.is_some() {
            std::thread::scope(|s| {
                let clam = s.spawn(virus);
                let spam = spam();
                let virus = clam.join().unwrap_or_else(|_| {
                    Outcome::Failed(ScanError::Unavailable("clamd scan thread panicked".into()))
                });
                ScanReport { spam, virus }
            })
        } else {
            ScanReport {
                spam: spam(),
                virus: virus(),
            }
        }
    }

    /// The header lines to prepend, in order. Nothing for a scanner that is off.
    pub fn headers(&self, report: &ScanReport) -> Vec<(String, String)> {
        headers(report)
    }

    /// Learns `raw` as spam (`true`) or ham via spamd's TELL. `Ok(true)` when spamd changed
    /// something, `Ok(false)` when it answered OK and did nothing (Bayes off, or already learned).
    /// With spamd off: `Rejected`.
    pub fn tell(&self, raw: &[u8], spam: bool) -> Result<bool, ScanError> {
        match &self.spamd {
            Some(c) => c.tell(raw, spam),
            None => Err(ScanError::Rejected(
                "spamd is not enabled ([scan.spamd])".into(),
            )),
        }
    }

    /// `policy(report, config)` with this instance's configuration.
    pub fn policy(&self, report: &ScanReport) -> Policy {
        policy(report, &self.cfg)
    }

    pub fn spamd(&self) -> Option<&SpamdClient> {
        self.spamd.as_ref()
    }

    pub fn clamd(&self) -> Option<&ClamdClient> {
        self.clamd.as_ref()
    }
}

/// Longest header value we produce (RFC 5322 allows 998 per line, name included).
const MAX_VALUE: usize = 900;

/// `X-Spam-Status`, `X-Spam-Score` and `X-Virus-Status` for a report (see `Scanners::headers`).
pub fn headers(report: &ScanReport) -> Vec<(String, String)> {
    let mut out = Vec::new();
    match &report.spam {
        Outcome::Off => {}
        Outcome::Done(v) => {
            let score = one_decimal(v.score);
            let head = format!(
                "{}, score={score} required={} tests=",
                if v.is_spam { "Yes" } else { "No" },
                one_decimal(v.threshold)
            );
            let mut tests = String::new();
            for rule in &v.rules {
                if head.len() + tests.len() + rule.len() + 5 > MAX_VALUE {
                    tests.push_str(",...");
                    break;
                }
                if !tests.is_empty() {
                    tests.push(',');
                }
                tests.push_str(rule);
            }
            if tests.is_empty() {
                tests.push_str("none");
            }
            out.push(("X-Spam-Status".into(), format!("{head}{tests}")));
            out.push(("X-Spam-Score".into(), score));
        }
        Outcome::Skipped(r) => out.push(("X-Spam-Status".into(), unscanned(r))),
        Outcome::Failed(e) => out.push(("X-Spam-Status".into(), unscanned(&e.to_string()))),
    }
    let virus = match &report.virus {
        Outcome::Off => None,
        Outcome::Done(VirusVerdict {
            infected: false, ..
        }) => Some("Clean".to_owned()),
        Outcome::Done(VirusVerdict { signature, .. }) => Some(format!(
            "Infected ({})",
            safe(signature.as_deref().unwrap_or("unknown"))
        )),
        Outcome::Skipped(r) => Some(unscanned(r)),
        Outcome::Failed(e) => Some(unscanned(&e.to_string())),
    };
    if let Some(v) = virus {
        out.push(("X-Virus-Status".into(), v));
    }
    out
}

/// SpamAssassin's `_SCORE_` style (`sprintf "%.1f"`, ties to even), but never "-0.0".
fn one_decimal(x: f32) -> String {
    let s = format!("{x:.1}");
    if s == "-0.0" {
        "0.0".into()
    } else {
        s
    }
}

fn unscanned(reason: &str) -> String {
    format!("Unscanned ({})", safe(reason))
}

/// Printable ASCII only (anything else becomes `?`), parentheses become brackets (the value is
/// inside a comment-like pair), and at most 200 characters.
fn safe(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| match c {
            '(' => '[',
            ')' => ']',
            c if c == ' ' || c.is_ascii_graphic() => c,
            _ => '?',
        })
        .take(200)
        .collect();
    if s.chars().count() > 200 {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests;
