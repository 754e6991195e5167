//! A Maildir source: messages are files in `new/`; once committed they are deleted, moved to
//! `cur/` with the Seen flag, or kept (and remembered in the index), as configured.
//!
//! Several nodes may drain one Maildir on a shared file system. A node first claims a message:
//! it renames it from `new/` into its own folder, `postdesk-claims/<node>/` (a rename within
//! one file system is atomic, so of two nodes one wins and the other finds nothing there and
//! moves on), then reads and files it from there and lets go of it there. A message a node
//! claimed and did not let go of (it was killed) is filed by the node when it starts again, or
//! taken over by another node once the first is dead (its heartbeat older than the lease); one
//! filed and not let go of is then recognised as a duplicate. A source whose messages are kept
//! (`after = "keep"`, which may be read-only to postdesk) is read in place: its messages stay in
//! `new/` and the index remembers them, and two nodes reading one are told apart by the
//! duplicate check alone.

mod batches;

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

/// The folder in a Maildir source where each node keeps the messages it claimed.
pub const CLAIMS: &str = "postdesk-claims";

impl MaildirSource {
    pub fn new_dir(&self) -> PathBuf {
        self.dir.join("new")
    }

    /// Where node `node` keeps the messages it claimed.
    pub fn claims_of(&self, node: &str) -> PathBuf {
        self.dir.join(CLAIMS).join(node)
    }

    /// Whether messages are claimed before they are read (not when they are kept).
    pub fn claims(&self) -> bool {
        self.after != After::Keep
    }

    /// Where node `node` reads a message it claimed.
    fn held(&self, node: &str) -> PathBuf {
        if self.claims() {
            self.claims_of(node)
        } else {
            self.new_dir()
        }
    }

    /// The nodes that have claimed messages here (their folders).
    pub fn claimants(&self) -> io::Result<Vec<String>> {
        let dirs = match fs::read_dir(self.dir.join(CLAIMS)) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for d in dirs {
            if let Some(n) = d?.file_name().to_str() {
                out.push(n.to_string());
            }
        }
        Ok(out)
    }

    /// Messages node `node` claimed and has not let go of, oldest first.
    pub fn claimed(&self, node: &str) -> io::Result<Vec<String>> {
        if !self.claims() {
            return Ok(Vec::new());
        }
        match names_in(&self.claims_of(node), &self.name) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            r => r,
        }
    }

    /// Claims message `name` of `new/` for node `node`; false when it is gone (another node
    /// claimed it, or the user took it).
    pub fn claim(&self, node: &str, name: &str) -> io::Result<bool> {
        if !self.claims() {
            return Ok(true);
        }
        let to = self.claims_of(node);
        let r = match fs::rename(self.new_dir().join(name), to.join(name)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound && !to.is_dir() => {
                fs::create_dir_all(&to)?;
                fs::rename(self.new_dir().join(name), to.join(name))
            }
            r => r,
        };
        match r {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Puts a message node `node` claimed back into `new/` (not filed now; a later drain, of
    /// any node, tries again).
    pub fn unclaim(&self, node: &str, name: &str) -> io::Result<()> {
        if !self.claims() {
            return Ok(());
        }
        match fs::rename(self.claims_of(node).join(name), self.new_dir().join(name)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }

    /// Moves the messages dead node `dead` claimed to node `node`; how many it took (another
    /// node taking them at the same moment gets the others).
    pub fn take_over(&self, dead: &str, node: &str) -> io::Result<usize> {
        let from = self.claims_of(dead);
        let names = match names_in(&from, &self.name) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            r => r?,
        };
        let to = self.claims_of(node);
        fs::create_dir_all(&to)?;
        let mut taken = 0;
        for n in names {
            match fs::rename(from.join(&n), to.join(&n)) {
                Ok(()) => taken += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(taken)
    }

    /// Names of the messages waiting in `new/`, oldest first (Maildir names start with the time).
    pub fn pending(&self) -> io::Result<Vec<String>> {
        names_in(&self.new_dir(), &self.name)
    }

    /// The bytes of a message node `node` claimed; `None` if it vanished (the user took it).
    pub fn read(&self, node: &str, name: &str) -> io::Result<Option<Vec<u8>>> {
        match fs::read(self.held(node).join(name)) {
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

    /// Lets go of a committed message node `node` claimed. Only called after the commit (DESIGN
    /// invariant 1).
    pub fn ack(&self, node: &str, name: &str) -> io::Result<()> {
        let src = self.held(node).join(name);
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
        batches::drain(self, engine, stop, summary)
    }

    fn backlog(&self) -> Option<u64> {
        self.pending().ok().map(|p| p.len() as u64)
    }
}

/// The message files in `dir` (not dotted), oldest first; `source` names the source in the log.
fn names_in(dir: &Path, source: &str) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            tracing::warn!(source = %source, "skipping a file whose name is not UTF-8");
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

#[cfg(test)]
mod tests {
    use super::*;

    fn source(after: After) -> (tempfile::TempDir, MaildirSource) {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["new", "cur", "tmp"] {
            fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let src = MaildirSource {
            name: "in".into(),
            dir: dir.path().to_path_buf(),
            after,
        };
        (dir, src)
    }

    #[test]
    fn a_message_is_claimed_by_one_node_and_taken_over_from_a_dead_one() {
        let (_dir, src) = source(After::Delete);
        fs::write(src.new_dir().join("1.M1.h"), b"one").unwrap();
        fs::write(src.new_dir().join("2.M2.h"), b"two").unwrap();
        assert!(src.claim("a", "1.M1.h").unwrap());
        assert!(!src.claim("b", "1.M1.h").unwrap(), "a has it");
        assert_eq!(src.pending().unwrap(), vec!["2.M2.h"]);
        assert_eq!(
            src.read("a", "1.M1.h").unwrap().as_deref(),
            Some(&b"one"[..])
        );
        assert_eq!(src.read("b", "1.M1.h").unwrap(), None);
        // Node a dies holding it: b takes it over and lets go of it.
        let mut claimants = src.claimants().unwrap();
        claimants.sort();
        assert_eq!(claimants, vec!["a", "b"]);
        assert_eq!(src.take_over("a", "b").unwrap(), 1);
        assert_eq!(src.claimed("b").unwrap(), vec!["1.M1.h"]);
        assert!(src.claimed("a").unwrap().is_empty());
        src.ack("b", "1.M1.h").unwrap();
        assert!(src.claimed("b").unwrap().is_empty());
        // A claim not filed goes back to new/.
        assert!(src.claim("b", "2.M2.h").unwrap());
        src.unclaim("b", "2.M2.h").unwrap();
        assert_eq!(src.pending().unwrap(), vec!["2.M2.h"]);
    }

    #[test]
    fn kept_messages_are_read_in_place_and_seen_ones_go_to_cur() {
        let (_dir, kept) = source(After::Keep);
        fs::write(kept.new_dir().join("1.M1.h"), b"one").unwrap();
        assert!(kept.claim("a", "1.M1.h").unwrap());
        assert_eq!(
            kept.read("a", "1.M1.h").unwrap().as_deref(),
            Some(&b"one"[..])
        );
        kept.ack("a", "1.M1.h").unwrap();
        assert_eq!(kept.pending().unwrap(), vec!["1.M1.h"]);
        assert!(!kept.dir.join(CLAIMS).exists());

        let (_dir, seen) = source(After::Seen);
        fs::write(seen.new_dir().join("1.M1.h:2,"), b"one").unwrap();
        assert!(seen.claim("a", "1.M1.h:2,").unwrap());
        seen.ack("a", "1.M1.h:2,").unwrap();
        assert!(seen.dir.join("cur/1.M1.h:2,S").exists());
        assert!(seen.claimed("a").unwrap().is_empty());
    }
}
