//! The mail log: one line per message, for operators, apart from debug tracing.
//!
//! `2026-11-21T21:38:32.123Z msgid=<...> source=fixtures:1763700001.M001P1 ticket=2026112110000017
//!  queue=Support verdict=created class=normal ms=0.41`
//! Values are quoted when they contain spaces; control characters never reach the log.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

pub struct MailLog {
    out: Option<File>,
}

#[derive(Debug, Default)]
pub struct Line<'a> {
    pub message_id: Option<&'a str>,
    pub source: &'a str,
    pub ticket: Option<&'a str>,
    pub queue: Option<&'a str>,
    pub verdict: &'a str,
    pub class: Option<&'a str>,
    pub detail: Option<&'a str>,
    /// What was decided about outgoing mail: queued, or suppressed and why.
    pub out: Option<&'a str>,
    pub millis: f64,
}

impl MailLog {
    /// `path` None or "-" logs to stderr.
    pub fn open(path: Option<&Path>) -> io::Result<MailLog> {
        match path {
            Some(p) if p != Path::new("-") => {
                if let Some(dir) = p.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                Ok(MailLog {
                    out: Some({
                        let f = OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(p)
                            .map_err(crate::access::at(p))?;
                        crate::access::private(p)?;
                        f
                    }),
                })
            }
            _ => Ok(MailLog { out: None }),
        }
    }

    pub fn write(&mut self, l: &Line) {
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
        let mut s = format!(
            "{now} msgid={} source={} ticket={} queue={} verdict={} class={} ms={:.2}",
            field(
                l.message_id
                    .map(|m| format!("<{m}>"))
                    .as_deref()
                    .unwrap_or("-")
            ),
            field(l.source),
            field(l.ticket.unwrap_or("-")),
            field(l.queue.unwrap_or("-")),
            field(l.verdict),
            field(l.class.unwrap_or("-")),
            l.millis
        );
        if let Some(d) = l.detail {
            s.push_str(" detail=");
            s.push_str(&field(d));
        }
        if let Some(o) = l.out {
            s.push_str(" out=");
            s.push_str(&field(o));
        }
        self.emit(s);
    }

    /// A line of named fields, e.g. the outbox's `sent`/`deferred`/`failed`.
    pub fn fields(&mut self, fields: &[(&str, &str)]) {
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
        let mut s = now.to_string();
        for (k, v) in fields {
            s.push(' ');
            s.push_str(k);
            s.push('=');
            s.push_str(&field(v));
        }
        self.emit(s);
    }

    fn emit(&mut self, mut s: String) {
        s.push('\n');
        let r = match &mut self.out {
            Some(f) => f.write_all(s.as_bytes()),
            None => io::stderr().write_all(s.as_bytes()),
        };
        if let Err(e) = r {
            tracing::warn!("mail log: {e}");
        }
    }
}

fn field(v: &str) -> String {
    let clean: String = v
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    if clean.is_empty() || clean.contains(' ') || clean.contains('"') {
        format!("\"{}\"", clean.replace('"', "'"))
    } else {
        clean
    }
}
