//! `postdesk check` for templates: every file rendered against the sample contexts it can meet,
//! plus a search for unknown names in branches no sample reaches.

use minijinja::Value;

use super::{undefined_message, Context, Event, TemplateError, Templates};

impl Templates {
    /// Renders every file against `Context::sample()` (every optional value set) and against
    /// `Context::sample_sparse()` (every optional value unset, except `previous` in
    /// `closed-new`), once per `event`; then looks for unknown names in branches no sample
    /// reached. Returns every error, each once. Used by `postdesk check`.
    pub fn check(&self) -> Vec<TemplateError> {
        let full = Context::sample();
        let full_value = Value::from_serialize(&full);
        let mut out: Vec<TemplateError> = Vec::new();
        for (slot, entry) in &self.entries {
            let names: Vec<&str> = entry
                .subject
                .iter()
                .chain([&entry.body])
                .map(String::as_str)
                .collect();
            for event in Event::ALL {
                let mut sparse = Context::sample_sparse();
                if slot.name == "closed-new" {
                    sparse.previous = full.previous.clone();
                }
                if slot.name.starts_with("request-") {
                    sparse.request = full.request.clone();
                }
                if slot.name.starts_with("sla-") {
                    sparse.deadline = full.deadline.clone();
                }
                if slot.name == "pending-reminder" {
                    sparse.pending = full.pending.clone();
                }
                if slot.name == "agent-digest" {
                    sparse.digest = full.digest.clone();
                }
                let full = Context {
                    event,
                    ..full.clone()
                };
                sparse.event = event;
                for ctx in [full, sparse] {
                    let value = Value::from_serialize(&ctx);
                    for name in &names {
                        if let Err(e) = self.run(name, &value) {
                            push_once(&mut out, e);
                        }
                    }
                }
            }
            for name in &names {
                for e in self.unknown_names(name, &full_value) {
                    if !out
                        .iter()
                        .any(|o| o.file == e.file && o.message == e.message)
                    {
                        out.push(e);
                    }
                }
            }
        }
        out
    }

    /// Names a template reads that the context does not have, found without rendering, so that
    /// branches no sample reaches are checked too. The line is where the name first appears.
    fn unknown_names(&self, name: &str, ctx: &Value) -> Vec<TemplateError> {
        let (Ok(template), Some(part)) = (self.env.get_template(name), self.parts.get(name)) else {
            return Vec::new();
        };
        let mut paths: Vec<String> = template.undeclared_variables(true).into_iter().collect();
        paths.sort();
        let mut out = Vec::new();
        for path in paths {
            let root = path.split('.').next().unwrap_or("");
            if self.env.globals().any(|(g, _)| g == root)
                || ["loop", "caller", "self", "super"].contains(&root)
            {
                continue;
            }
            let mut value = ctx.clone();
            let known = path.split('.').all(|seg| match value.get_attr(seg) {
                Ok(v) if !v.is_undefined() => {
                    value = v;
                    true
                }
                _ => false,
            });
            if !known {
                let line = part
                    .source
                    .find(&path)
                    .map(|at| part.source[..at].matches('\n').count() + 1 + part.offset);
                out.push(TemplateError::new(
                    &part.file,
                    line,
                    undefined_message(&path),
                ));
            }
        }
        out
    }
}

fn push_once(out: &mut Vec<TemplateError>, e: TemplateError) {
    if !out.contains(&e) {
        out.push(e);
    }
}
