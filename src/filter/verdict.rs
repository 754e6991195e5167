//! What the scripts decided, in postdesk's terms, and how each script's actions are merged into
//! it. The rules, in the order a caller should apply them:
//! - `reject` wins over everything: no ticket, a reject reply (under the autoresponse rules);
//! - `queue`: the first valid `fileinto` of the run; later ones are traced as ignored. A queue
//!   clears `discard` (RFC 5228: `discard` only cancels the implicit keep). "Quarantine" means
//!   the quarantine (`quarantine_reason` gives the reason);
//! - `discard`: set when a script ended with its discard in force; an explicit `keep` (or
//!   `fileinto "INBOX"`) in a later script clears it. The message goes to the quarantine;
//! - otherwise the implicit keep: postdesk's router picks the queue.
//!
//! A `reject` or `stop` ends the run: later scripts are not run. A script that fails at run
//! time contributes nothing (its actions, header edits and flags are dropped) and later scripts
//! see the message as it was before it; the error is in `errors`.

use std::path::Path;

use super::{Cause, FilterError};

/// What the filters decided for one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// The first valid `fileinto`: its folder (a queue name, or "Quarantine").
    pub queue: Option<(String, Cause)>,
    /// The message was discarded: quarantine it with `discard_reason`.
    pub discard: Option<Cause>,
    /// `reject`/`ereject` and its text.
    pub reject: Option<(String, Cause)>,
    /// `priority`, `owner`, `no-autoresponse`, `customer-id`, in the order they were set (the
    /// last one of a name wins: `attribute`). Values are as the script wrote them.
    pub attributes: Vec<(String, String, Cause)>,
    /// Other `addheader`/`deleteheader` edits, in order, for the caller to apply if it wants.
    pub header_edits: Vec<HeaderEdit>,
    /// IMAP flags for the stored article: those in force at the chosen `fileinto`, else at the
    /// end of the run.
    pub flags: Vec<String>,
    /// A script executed `stop`.
    pub stop: bool,
    /// Every action in order, for `postdesk explain`:
    /// `filters/10-spam-virus.sieve:12: fileinto "Junk"`.
    pub trace: Vec<String>,
    /// Run-time errors and refused actions; the message goes on as if they had not happened.
    pub errors: Vec<FilterError>,
}

/// A header edit other than postdesk's attributes. `last`: `addheader :last` (append) rather
/// than the default (prepend). `value` of a deleted header is its unfolded text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderEdit {
    Add {
        name: String,
        value: String,
        last: bool,
        cause: Cause,
    },
    Delete {
        name: String,
        value: String,
        cause: Cause,
    },
}

impl Verdict {
    /// The last value set for an attribute (`"priority"`, `"owner"`, …).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .rev()
            .find(|a| a.0 == name)
            .map(|a| a.1.as_str())
    }

    /// `discarded by filters/50-x.sieve line 7`, when the message was discarded.
    pub fn discard_reason(&self) -> Option<String> {
        self.discard.as_ref().map(|c| format!("discarded by {c}"))
    }

    /// When the message is to go to the quarantine (discarded, or `fileinto "Quarantine"`),
    /// the reason to record: for a `fileinto` the `no-autoresponse` value if set ("virus"),
    /// followed by the file and line.
    pub fn quarantine_reason(&self) -> Option<String> {
        match (&self.queue, &self.discard) {
            (Some((q, cause)), _) if q == QUARANTINE => {
                Some(match self.attribute("no-autoresponse") {
                    Some(why) => format!("{why}: filed into {QUARANTINE} by {cause}"),
                    None => format!("filed into {QUARANTINE} by {cause}"),
                })
            }
            (None, Some(_)) => self.discard_reason(),
            _ => None,
        }
    }
}

const QUARANTINE: &str = "Quarantine";

/// The `X-Postdesk-*` headers that set attributes, and the attribute each sets.
const ATTRIBUTES: &[(&str, &str)] = &[
    ("x-postdesk-priority", "priority"),
    ("x-postdesk-owner", "owner"),
    ("x-postdesk-no-autoresponse", "no-autoresponse"),
    ("x-postdesk-customer-id", "customer-id"),
];

/// One action of one script, in execution order; `line` is `None` when the script could not
/// be marked (see `compile.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    FileInto {
        folder: String,
        flags: Vec<String>,
        line: Option<usize>,
    },
    Reject {
        reason: String,
        extended: bool,
        line: Option<usize>,
    },
    AddHeader {
        name: String,
        value: String,
        last: bool,
        line: Option<usize>,
    },
    DeleteHeader {
        name: String,
        value: String,
        line: Option<usize>,
    },
    Discard {
        line: Option<usize>,
    },
    Keep {
        line: Option<usize>,
    },
    Stop {
        line: Option<usize>,
    },
    /// The flags after a `setflag`/`addflag`/`removeflag`.
    Flags {
        flags: Vec<String>,
        line: Option<usize>,
    },
}

/// What one script did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub acts: Vec<Act>,
    /// The script ended with its discard in force (the line of that `discard`).
    pub discarded: Option<Option<usize>>,
    /// The flags variable at the end.
    pub final_flags: Vec<String>,
    /// A run-time error: the whole outcome is dropped.
    pub error: Option<String>,
}

/// Merges outcomes, script by script.
pub struct Builder<'q> {
    verdict: Verdict,
    queues: Option<&'q [String]>,
    queue_flags: Vec<String>,
}

impl<'q> Builder<'q> {
    pub fn new(queues: Option<&'q [String]>) -> Builder<'q> {
        Builder {
            verdict: Verdict::default(),
            queues,
            queue_flags: Vec::new(),
        }
    }

    /// Adds one script's outcome; true when the run ends here (`stop` or `reject`).
    pub fn add(&mut self, file: &Path, outcome: Outcome) -> bool {
        let v = &mut self.verdict;
        if let Some(message) = outcome.error {
            v.trace.push(format!(
                "{}: error: {message}; this script's actions are dropped",
                file.display()
            ));
            v.errors.push(FilterError {
                file: file.to_path_buf(),
                line: None,
                message,
            });
            return false;
        }
        let mut ends = false;
        for act in outcome.acts {
            ends |= self.act(file, act);
        }
        if let Some(line) = outcome.discarded {
            self.verdict.discard = Some(Cause {
                file: file.to_path_buf(),
                line,
            });
        }
        ends
    }

    /// Notes that a script was not run because an earlier one ended the run.
    pub fn not_run(&mut self, file: &Path) {
        self.verdict.trace.push(format!(
            "{}: not run (the run ended before it)",
            file.display()
        ));
    }

    pub fn finish(mut self, final_flags: Vec<String>) -> Verdict {
        if self.verdict.queue.is_some() {
            self.verdict.discard = None;
            self.verdict.flags = self.queue_flags;
        } else {
            self.verdict.flags = final_flags;
        }
        self.verdict
    }

    fn act(&mut self, file: &Path, act: Act) -> bool {
        let cause = |line: Option<usize>| Cause {
            file: file.to_path_buf(),
            line,
        };
        let at = |line: Option<usize>| match line {
            Some(l) => format!("{}:{l}: ", file.display()),
            None => format!("{}: ", file.display()),
        };
        let v = &mut self.verdict;
        match act {
            Act::FileInto {
                folder,
                flags,
                line,
            } => {
                let text = format!("fileinto {folder:?}");
                match check_folder(&folder, self.queues) {
                    Err(why) => {
                        v.trace.push(format!("{}{text} (ignored: {why})", at(line)));
                        let message = format!("{text}: {why}");
                        v.errors.push(FilterError {
                            file: file.to_path_buf(),
                            line,
                            message,
                        });
                    }
                    Ok(None) => {
                        v.trace
                            .push(format!("{}{text} (the same as keep)", at(line)));
                        v.discard = None;
                    }
                    Ok(Some(name)) => match &v.queue {
                        Some((q, by)) => v.trace.push(format!(
                            "{}{text} (ignored: already filed into {q:?} by {by})",
                            at(line)
                        )),
                        None => {
                            v.trace.push(format!("{}{text}", at(line)));
                            v.queue = Some((name, cause(line)));
                            self.queue_flags = flags;
                        }
                    },
                }
            }
            Act::Reject {
                reason,
                extended,
                line,
            } => {
                let cmd = if extended { "ereject" } else { "reject" };
                v.trace.push(format!("{}{cmd} {reason:?}", at(line)));
                v.reject.get_or_insert((reason, cause(line)));
                return true;
            }
            Act::AddHeader {
                name,
                value,
                last,
                line,
            } => {
                let text = format!("addheader {name:?} {value:?}");
                let lower = name.to_ascii_lowercase();
                if let Some((_, attr)) = ATTRIBUTES.iter().find(|(h, _)| *h == lower) {
                    v.trace.push(format!("{}{text} (sets {attr})", at(line)));
                    v.attributes
                        .push((attr.to_string(), value.trim().to_string(), cause(line)));
                } else if lower.starts_with("x-postdesk-") {
                    v.trace.push(format!(
                        "{}{text} (ignored: not a postdesk attribute)",
                        at(line)
                    ));
                } else {
                    v.trace.push(format!("{}{text}", at(line)));
                    v.header_edits.push(HeaderEdit::Add {
                        name,
                        value,
                        last,
                        cause: cause(line),
                    });
                }
            }
            Act::DeleteHeader { name, value, line } => {
                let text = format!("deleteheader {name:?} (value {value:?})");
                if name.to_ascii_lowercase().starts_with("x-postdesk-") {
                    v.trace.push(format!(
                        "{}{text} (ignored: postdesk's own header)",
                        at(line)
                    ));
                } else {
                    v.trace.push(format!("{}{text}", at(line)));
                    v.header_edits.push(HeaderEdit::Delete {
                        name,
                        value,
                        cause: cause(line),
                    });
                }
            }
            Act::Discard { line } => v.trace.push(format!("{}discard", at(line))),
            Act::Keep { line } => {
                v.trace.push(format!("{}keep", at(line)));
                v.discard = None;
            }
            Act::Stop { line } => {
                v.trace.push(format!("{}stop", at(line)));
                v.stop = true;
                return true;
            }
            Act::Flags { flags, line } => {
                v.trace
                    .push(format!("{}flags now {:?}", at(line), flags.join(" ")));
            }
        }
        false
    }
}

/// `Ok(Some(queue))`, `Ok(None)` for INBOX (= keep), or why the folder is refused.
fn check_folder(folder: &str, queues: Option<&[String]>) -> Result<Option<String>, String> {
    if folder.eq_ignore_ascii_case("inbox") {
        return Ok(None);
    }
    if folder.eq_ignore_ascii_case(QUARANTINE) {
        return Ok(Some(QUARANTINE.to_string()));
    }
    let shape = !folder.is_empty()
        && folder.len() <= 64
        && folder
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !shape {
        return Err("not a queue name (1 to 64 ASCII letters, digits, '-' and '_')".into());
    }
    if folder.eq_ignore_ascii_case("closed") {
        return Err("Closed is reserved".into());
    }
    match queues {
        Some(qs) if !qs.iter().any(|q| q == folder) => Err(format!("no queue named {folder:?}")),
        _ => Ok(Some(folder.to_string())),
    }
}
