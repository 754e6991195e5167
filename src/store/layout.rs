//! Folder names in the Maildir++ tree: `.Queue`, `.Queue.NUMBER`, and `.Queue.Closed.NUMBER`
//! (closed tickets of stores from before the archive; new ones go to `archive::Roots`).
//! Queue names are validated by the configuration (ASCII letters, digits, `-`, `_`), and ticket
//! numbers are digits, so no name here can contain a `.` or `/` or leave the store.

use std::fs;
use std::io;
use std::path::Path;

pub const QUARANTINE: &str = "Quarantine";
pub const CLOSED: &str = "Closed";
/// Per-ticket event log (events that are not articles: close, reopen, move, duplicates).
/// Dovecot ignores files in a mail folder other than its own.
pub const HISTORY_FILE: &str = "postdesk-history";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Folder {
    Queue(String),
    ClosedArea(String),
    Ticket {
        queue: String,
        number: String,
        closed: bool,
    },
    Quarantine,
}

impl Folder {
    pub fn ticket(queue: &str, number: &str, closed: bool) -> Folder {
        Folder::Ticket {
            queue: queue.to_string(),
            number: number.to_string(),
            closed,
        }
    }

    pub fn quarantine() -> Folder {
        Folder::Quarantine
    }

    /// The directory name below the store root.
    pub fn dir_name(&self) -> String {
        match self {
            Folder::Queue(q) => format!(".{q}"),
            Folder::ClosedArea(q) => format!(".{q}.{CLOSED}"),
            Folder::Ticket {
                queue,
                number,
                closed: false,
            } => format!(".{queue}.{number}"),
            Folder::Ticket {
                queue,
                number,
                closed: true,
            } => format!(".{queue}.{CLOSED}.{number}"),
            Folder::Quarantine => format!(".{QUARANTINE}"),
        }
    }

    /// The IMAP name agents see (separator `/`).
    pub fn imap_name(&self) -> String {
        self.dir_name()[1..].replace('.', "/")
    }

    /// Parses a directory name back; `None` for anything that is not ours.
    pub fn from_dir_name(name: &str) -> Option<Folder> {
        let rest = name.strip_prefix('.')?;
        let parts: Vec<&str> = rest.split('.').collect();
        let is_number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        match parts.as_slice() {
            [q] if *q == QUARANTINE => Some(Folder::Quarantine),
            [q] => Some(Folder::Queue(q.to_string())),
            [q, c] if *c == CLOSED => Some(Folder::ClosedArea(q.to_string())),
            [q, n] if is_number(n) => Some(Folder::ticket(q, n, false)),
            [q, c, n] if *c == CLOSED && is_number(n) => Some(Folder::ticket(q, n, true)),
            _ => None,
        }
    }

    /// This folder preceded by the folders that contain it, outermost first. An archived
    /// ticket's month folders are the archive's business (`archive::Roots`).
    pub fn with_parents(&self) -> Vec<Folder> {
        match self {
            Folder::Ticket { queue, .. } | Folder::ClosedArea(queue) => {
                vec![Folder::Queue(queue.clone()), self.clone()]
            }
            _ => vec![self.clone()],
        }
    }
}

/// Creates cur/, new/ and tmp/, and with `marker` the `maildirfolder` file Maildir++ subfolders
/// carry for Courier's tools. Ticket folders go without the marker: Dovecot does not need it, and
/// an inode less per ticket is measurable at thousands of tickets a second.
pub fn make_maildir(dir: &Path, marker: bool) -> io::Result<()> {
    for sub in ["cur", "new", "tmp"] {
        match fs::create_dir(dir.join(sub)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    if marker && !dir.join("maildirfolder").exists() {
        fs::File::create(dir.join("maildirfolder"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in [
            Folder::Queue("Support".into()),
            Folder::ClosedArea("Support".into()),
            Folder::ticket("Billing", "2026112110000017", false),
            Folder::ticket("Billing", "2026112110000017", true),
            Folder::Quarantine,
        ] {
            assert_eq!(
                Folder::from_dir_name(&f.dir_name()),
                Some(f.clone()),
                "{f:?}"
            );
        }
        assert_eq!(
            Folder::ticket("Support", "1", true).imap_name(),
            "Support/Closed/1"
        );
        assert_eq!(Folder::from_dir_name("Support"), None);
        assert_eq!(Folder::from_dir_name(".Support.x.y"), None);
        assert_eq!(Folder::from_dir_name(".Support.12a"), None);
    }
}
