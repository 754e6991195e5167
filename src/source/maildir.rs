//! A Maildir source: messages are files in `new/`; once committed they are deleted, moved to
//! `cur/` with the Seen flag, or kept (and remembered in the index), as configured.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use super::{DrainError, Source, Summary};
use crate::config::After;
use crate::intake::Engine;

#[derive(Debug, Clone)]
pub struct MaildirSource {
    pub name: String,
    pub dir: PathBuf,
    pub after: After,
}

impl MaildirSource {
    pub fn new_dir(&self) -> PathBuf {
        self.dir.join("new")
    }

    /// Names of the messages waiting in `new/`, oldest first (Maildir names start with the time).
    pub fn pending(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(self.new_dir())? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                tracing::warn!(source = %self.name, "skipping a file whose name is not UTF-8");
                continue;
            };
            if name.starts_with('.') || !entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
                continue;
            }
            names.push(name.to_string());
        }
        names.sort();
        Ok(names)
    }

    /// The message's bytes; `None` if it vanished (another worker or the user took it).
    pub fn read(&self, name: &str) -> io::Result<Option<Vec<u8>>> {
        match fs::read(self.new_dir().join(name)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn size(&self, name: &str) -> u64 {
        fs::metadata(self.new_dir().join(name))
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// Lets go of a committed message. Only called after the commit (DESIGN invariant 1).
    pub fn ack(&self, name: &str) -> io::Result<()> {
        let src = self.new_dir().join(name);
        let r = match self.after {
            After::Keep => Ok(()),
            After::Delete => fs::remove_file(&src),
            After::Seen => {
                let base = name.split(':').next().unwrap_or(name);
                fs::rename(&src, self.dir.join("cur").join(format!("{base}:2,S")))
            }
        };
        match r {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }
}

impl Source for MaildirSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "maildir"
    }

    fn drain(
        &mut self,
        engine: &mut Engine,
        stop: &AtomicBool,
        summary: &mut Summary,
    ) -> Result<(), DrainError> {
        Ok(super::drain_maildir(engine, self, stop, summary)?)
    }

    fn backlog(&self) -> Option<u64> {
        self.pending().ok().map(|p| p.len() as u64)
    }
}

/// Checks that `dir` looks like a Maildir we can read.
pub fn check(dir: &Path) -> Result<(), String> {
    if !dir.join("new").is_dir() {
        return Err(format!(
            "{} is not a Maildir (no new/ folder)",
            dir.display()
        ));
    }
    Ok(())
}
