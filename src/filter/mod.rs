//! The filter stage: admin-edited Sieve scripts in `filters/`, run in file-name order on every
//! incoming message (like Dovecot's `sieve_before` scripts), interpreted by sieve-rs.
//!
//! `filters/README.md` is the admins' manual. What a script can do, in postdesk's terms:
//! - `fileinto "Billing"` chooses the queue (the first `fileinto` wins; later ones are traced as
//!   ignored). `fileinto "Quarantine"` means the quarantine; `fileinto "INBOX"` is `keep`;
//! - `discard` sends the message to the quarantine with a reason naming file and line;
//! - `reject "text"` / `ereject "text"`: no ticket, a reject reply with that text;
//! - `addheader "X-Postdesk-Priority|Owner|No-Autoresponse|Customer-Id" "…"` set ticket
//!   attributes; other `addheader` / `deleteheader` edits are handed to the caller;
//! - `setflag` / `addflag` / `removeflag` set the stored article's IMAP flags;
//! - `keep` (and the implicit keep) leave the message to postdesk's router;
//! - `spamtest`, `spamtest :percent` and `virustest` read the scanners' results (`ScanValues`).
//!
//! Safety: message content is data. Only the extensions in `compile::ALLOWED` can be required
//! (no `include`, `vacation`, `enotify`, no `vnd.*`), `redirect` is refused at load, and each
//! script runs under an instruction limit (`Limits`). Sieve has no loops without `vnd.*`
//! extensions, so execution only moves forward through a script.
//!
//! Lines: sieve-rs's compiled instructions and events carry no source position, so `compile`
//! puts an invisible marker test in front of every action command, on the same line, and `run`
//! attributes everything that happens after a marker to that marker's line. See `compile.rs`.

mod compile;
mod lex;
mod run;
mod verdict;

#[cfg(test)]
mod cases;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_run;

use std::fmt;
use std::path::{Path, PathBuf};

pub use verdict::{HeaderEdit, Verdict};

/// The compiled scripts, in file-name order. Loaded once; `run` only reads it (`Send + Sync`).
pub struct Filters {
    scripts: Vec<compile::Script>,
    runtime: sieve::Runtime,
    /// When set, `fileinto` must name one of these (or Quarantine / INBOX).
    queues: Option<Vec<String>>,
}

/// A problem with one script, at load or at run time, e.g.
/// `filters/10-spam.sieve:3: Unexpected token …`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", .file.display(), .line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct FilterError {
    pub file: PathBuf,
    /// 1-based line in the script, when the problem has one.
    pub line: Option<usize>,
    pub message: String,
}

/// Which script line did something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    pub file: PathBuf,
    /// 1-based; `None` only when the marked copy of the script could not be compiled.
    pub line: Option<usize>,
}

impl fmt::Display for Cause {
    /// `filters/10-spam.sieve line 4` (or just the file when the line is unknown).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{} line {l}", self.file.display()),
            None => write!(f, "{}", self.file.display()),
        }
    }
}

/// The SMTP envelope, for the `envelope` test. An empty `from` is the null sender (`<>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    pub from: String,
    pub to: Vec<String>,
}

/// The scanners' results, for `spamtest` and `virustest` (RFC 5235). `None` = not tested.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanValues {
    /// 0 not tested, 1 clean … 10 definitely spam.
    pub spamtest: Option<u8>,
    /// 0 … 100 for `spamtest :percent`; when given it wins over `spamtest` (sieve-rs keeps one
    /// spam status and derives both forms from it).
    pub spam_percent: Option<u8>,
    /// 0 not tested, 1 clean, 2 replaced, 3 cured, 4 possibly infected, 5 infected.
    pub virustest: Option<u8>,
}

/// Resource limits. The defaults are far above what honest scripts need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Instructions one script may execute per message, markers included (each action's marker
    /// costs two). Over it: a runtime error, and that script's actions are dropped.
    pub instructions: usize,
    /// Largest script file accepted, in bytes.
    pub script_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            instructions: 20_000,
            script_bytes: 64 * 1024,
        }
    }
}

impl Filters {
    /// Compiles every `*.sieve` in `dir`, sorted by file name. All errors are collected, each
    /// with file and line. A missing directory is an error; an empty one gives no scripts.
    pub fn load(dir: &Path) -> Result<Filters, Vec<FilterError>> {
        Filters::load_with(dir, Limits::default())
    }

    /// `load` with other limits.
    pub fn load_with(dir: &Path, limits: Limits) -> Result<Filters, Vec<FilterError>> {
        let scripts = compile::load_dir(dir, &limits)?;
        Ok(Filters {
            scripts,
            runtime: compile::runtime(&limits),
            queues: None,
        })
    }

    /// No scripts: every message gets the implicit keep.
    pub fn empty() -> Filters {
        let limits = Limits::default();
        Filters {
            scripts: Vec::new(),
            runtime: compile::runtime(&limits),
            queues: None,
        }
    }

    /// Restricts `fileinto` to these queue names (plus `Quarantine` and `INBOX`). Without it
    /// any well-formed folder name is accepted and the caller checks it.
    pub fn with_queues<I, S>(mut self, queues: I) -> Filters
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.queues = Some(queues.into_iter().map(Into::into).collect());
        self
    }

    /// Every `fileinto` whose folder is neither one of `queues` nor Quarantine or INBOX, as
    /// errors naming the script and line: `check` refuses them before a message meets them.
    /// Folders built from variables (`${...}`) are decided at run time and skipped here.
    pub fn unknown_folders(&self, queues: &[String]) -> Vec<FilterError> {
        let mut out = Vec::new();
        for s in &self.scripts {
            let Ok(src) = std::fs::read_to_string(&s.file) else {
                continue;
            };
            for (folder, line) in lex::fileinto_targets(&lex::tokens(&src)) {
                let known = queues.iter().any(|q| q == &folder)
                    || folder == "Quarantine"
                    || folder.eq_ignore_ascii_case("INBOX")
                    || folder.contains("${");
                if !known {
                    out.push(FilterError {
                        file: s.file.clone(),
                        line: Some(line),
                        message: format!(
                            "fileinto {folder:?}: no queue of that name in the configuration"
                        ),
                    });
                }
            }
        }
        out
    }

    /// The script files, in the order they run.
    pub fn scripts(&self) -> Vec<PathBuf> {
        self.scripts.iter().map(|s| s.file.clone()).collect()
    }

    /// Runs every script in order against one message. Never fails: problems are in
    /// `Verdict::errors`, and a script that failed contributes nothing.
    pub fn run(&self, raw: &[u8], env: &Envelope, tests: &ScanValues) -> Verdict {
        run::run_all(self, raw, None, env, tests)
    }

    /// `run` on `raw` already parsed (by `parse::filters_parser`), when `parsed` is given.
    pub fn run_parsed<'x>(
        &self,
        raw: &'x [u8],
        parsed: Option<mail_parser::Message<'x>>,
        env: &Envelope,
        tests: &ScanValues,
    ) -> Verdict {
        run::run_all(self, raw, parsed, env, tests)
    }
}
