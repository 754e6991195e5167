//! Outgoing text from admin-edited files: autoresponses (acknowledgement, follow-up, reopened,
//! closed-new, reject), the notification to a queue's agents, the salutation and signature put
//! around agents' answers, and the standard responses agents insert with `#template NAME`.
//!
//! `templates/README.md` is the admins' manual: layout, file format, every placeholder. The
//! rules that make customer text safe to put in these mails live here:
//! - customer text is only ever a value in the `Context`, never template source;
//! - the `Subject:` line is split off the file before rendering and its rendered value loses
//!   every control character, so no CR/LF from a customer can start a header;
//! - the set of templates is fixed at `load`: no loader, so `{% include %}` reaches only other
//!   files of the set, by their path under the folder (`"en/signature.txt"`); every render has
//!   a fuel limit, so a template cannot loop forever;
//! - an unknown variable is an error (`UndefinedBehavior::Strict`), reported with the file and
//!   the line in the file, as are syntax errors.

mod check;
pub mod context;
mod files;
mod filters;
mod kind;
pub mod lang;
mod source;
#[cfg(test)]
mod tests;
mod text;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

pub use context::{
    Agent, Article, Context, Customer, Deadline, Digest, DigestEvent, DigestTicket, Event,
    HistoryEntry, ListedTicket, Organisation, Previous, Queue, Request, Service, Ticket,
};
pub use kind::Kind;
pub use lang::choose_language;
use source::Slot;
pub use text::render_text;

/// Instructions one render may execute. The shipped templates need a few hundred; this stops an
/// endless loop, not an honest template.
const FUEL: u64 = 100_000;

/// The compiled set of templates. Loaded once; rendering only reads it (`Send + Sync`).
pub struct Templates {
    env: Environment<'static>,
    entries: BTreeMap<Slot, Entry>,
    /// Every compiled template (bodies and subject lines) by its name in the environment.
    parts: HashMap<String, Part>,
    languages: Vec<String>,
}

/// One file: the names of its compiled subject and body in the environment.
struct Entry {
    subject: Option<String>,
    body: String,
}

/// Where a compiled template came from, to turn minijinja's lines into the file's lines.
struct Part {
    file: PathBuf,
    /// Template line N is file line N + offset.
    offset: usize,
    source: String,
}

/// A rendered template. `subject` is a single line, already cleaned; `body` is the file's text
/// after the blank line, rendered, its final newline kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: Option<String>,
    pub body: String,
}

/// A problem with one template file, e.g.
/// `templates/en/new-ticket.txt:3: undefined value `ticket.nmber` …`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", .file.display(), .line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct TemplateError {
    pub file: PathBuf,
    /// 1-based line in the file, when the problem has one.
    pub line: Option<usize>,
    pub message: String,
}

impl TemplateError {
    fn new(file: &Path, line: Option<usize>, message: impl Into<String>) -> TemplateError {
        TemplateError {
            file: file.to_path_buf(),
            line,
            message: message.into(),
        }
    }
}

impl Templates {
    /// Reads and compiles every `*.txt` under `dir`. All errors are collected (file + line +
    /// message); files and folders whose names start with `.` are skipped, other files ignored.
    pub fn load(dir: &Path) -> Result<Templates, Vec<TemplateError>> {
        let mut errors = Vec::new();
        let mut found = Vec::new();
        files::walk(dir, &mut Vec::new(), &mut found, &mut errors);
        found.sort();
        let mut set = Templates {
            env: environment(),
            entries: BTreeMap::new(),
            parts: HashMap::new(),
            languages: Vec::new(),
        };
        for (path, components) in found {
            let components: Vec<&str> = components.iter().map(String::as_str).collect();
            let slot = match Slot::from_components(&components) {
                Ok(slot) => slot,
                Err(message) => {
                    errors.push(TemplateError::new(&path, None, message));
                    continue;
                }
            };
            let text = match files::read_utf8(&path) {
                Ok(text) => text,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let split = match source::split(&text, slot.has_subject()) {
                Ok(split) => split,
                Err((line, message)) => {
                    errors.push(TemplateError::new(&path, Some(line), message));
                    continue;
                }
            };
            let name = components.join("/");
            let subject = split.subject.map(|(line, src)| {
                let subject = format!("{name}#Subject");
                let added = set.add(&subject, &path, line - 1, src);
                (subject, added)
            });
            let body = set.add(&name, &path, split.body_offset, split.body);
            let subject = match subject {
                Some((n, Ok(()))) => Some(n),
                Some((_, Err(e))) => {
                    errors.push(e);
                    None
                }
                None => None,
            };
            match body {
                Ok(()) if subject.is_some() || !slot.has_subject() => {
                    set.entries.insert(
                        slot,
                        Entry {
                            subject,
                            body: name,
                        },
                    );
                }
                Ok(()) => {}
                Err(e) => errors.push(e),
            }
        }
        let mut languages: Vec<String> = set.entries.keys().map(|s| s.lang.clone()).collect();
        languages.dedup();
        set.languages = languages;
        if errors.is_empty() {
            Ok(set)
        } else {
            Err(errors)
        }
    }

    /// Picks the file: (lang, queue override) → (lang) → the same in `en` → the same in every
    /// other language, alphabetically; renders it. `lang` is what `choose_language` chose.
    /// `None` if no language has a file for `name`.
    pub fn render(
        &self,
        name: &str,
        lang: &str,
        queue: &str,
        ctx: &Context,
    ) -> Result<Option<Rendered>, TemplateError> {
        match self.find(name, lang, queue) {
            Some(entry) => self
                .render_entry(entry, &Value::from_serialize(ctx))
                .map(Some),
            None => Ok(None),
        }
    }

    /// A standard response (`responses/NAME.txt`), found like `render` finds a file. Responses
    /// have no subject. `None` if there is no such response: tell the agent.
    pub fn response(
        &self,
        name: &str,
        lang: &str,
        queue: &str,
        ctx: &Context,
    ) -> Result<Option<Rendered>, TemplateError> {
        self.render(&format!("responses/{name}"), lang, queue, ctx)
    }

    /// The language folders that hold at least one template, sorted.
    pub fn languages(&self) -> Vec<String> {
        self.languages.clone()
    }

    fn find(&self, name: &str, lang: &str, queue: &str) -> Option<&Entry> {
        let mut langs = vec![lang];
        if lang != "en" {
            langs.push("en");
        }
        langs.extend(
            self.languages
                .iter()
                .map(String::as_str)
                .filter(|l| *l != lang && *l != "en"),
        );
        langs.into_iter().find_map(|l| {
            [Some(queue), None].into_iter().find_map(|q| {
                self.entries.get(&Slot {
                    lang: l.to_string(),
                    queue: q.map(str::to_string),
                    name: name.to_string(),
                })
            })
        })
    }

    fn render_entry(&self, entry: &Entry, ctx: &Value) -> Result<Rendered, TemplateError> {
        let subject = match &entry.subject {
            Some(name) => Some(filters::clean_header(&self.run(name, ctx)?)),
            None => None,
        };
        let body = self.run(&entry.body, ctx)?;
        Ok(Rendered { subject, body })
    }

    fn run(&self, name: &str, ctx: &Value) -> Result<String, TemplateError> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| self.error(&e))
    }

    fn add(
        &mut self,
        name: &str,
        file: &Path,
        offset: usize,
        source: String,
    ) -> Result<(), TemplateError> {
        let part = Part {
            file: file.to_path_buf(),
            offset,
            source: source.clone(),
        };
        self.parts.insert(name.to_string(), part);
        self.env
            .add_template_owned(name.to_string(), source)
            .map_err(|e| self.error(&e))
    }

    /// minijinja's error as the file and line an admin must edit: the innermost error of an
    /// `{% include %}` chain names the included file.
    fn error(&self, e: &minijinja::Error) -> TemplateError {
        let mut inner = e;
        let mut next: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
        while let Some(cause) = next {
            if let Some(m) = cause.downcast_ref::<minijinja::Error>() {
                if m.name().is_some_and(|n| self.parts.contains_key(n)) {
                    inner = m;
                }
            }
            next = cause.source();
        }
        let Some(part) = inner.name().and_then(|n| self.parts.get(n)) else {
            return TemplateError::new(
                Path::new(inner.name().unwrap_or("?")),
                None,
                describe(inner, ""),
            );
        };
        TemplateError::new(
            &part.file,
            inner.line().map(|l| l + part.offset),
            describe(inner, &part.source),
        )
    }
}

/// The environment every set uses: plain text, strict about names, no loader, fuel-limited.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_keep_trailing_newline(true);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_fuel(Some(FUEL));
    // Errors need only their span (`Error::range`), not a dump of the context.
    env.set_debug(false);
    // An unset optional value prints as nothing rather than "none".
    env.set_formatter(|out, state, value| {
        if value.is_none() {
            Ok(())
        } else {
            minijinja::escape_formatter(out, state, value)
        }
    });
    env.add_filter("quote", filters::quote);
    env.add_filter("wrap", filters::wrap);
    env
}

fn describe(e: &minijinja::Error, source: &str) -> String {
    use minijinja::ErrorKind;
    match e.kind() {
        ErrorKind::UndefinedError => match e.range().and_then(|r| source.get(r)) {
            Some(expr) => undefined_message(expr.trim()),
            None => "undefined value".into(),
        },
        ErrorKind::OutOfFuel => "the template ran too long (an endless loop?)".into(),
        kind => match e.detail() {
            Some(detail) => format!("{kind}: {detail}"),
            None => kind.to_string(),
        },
    }
}

fn undefined_message(expr: &str) -> String {
    format!("undefined value `{expr}` (a misspelt name, or an optional value used without `{{% if %}}`)")
}
