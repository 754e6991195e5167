//! Where folders are on disk. Open tickets live in the Maildir++ tree agents list
//! (`store/.Queue.NUMBER`); closed tickets live in the archive, a second tree in `LAYOUT=fs`
//! with one folder per queue and month of closing (`archive/Queue/YYYY-MM/NUMBER`), which
//! Dovecot serves as a namespace of its own that is not listed. So the listed tree is bounded by
//! the open tickets, and no directory postdesk writes into grows past one month of one queue.
//!
//! A `Folder` names a ticket logically (queue, number, open or closed); only this file knows
//! that a closed ticket's folder carries a month, and that stores from before the archive keep
//! closed tickets in the listed tree as `.Queue.Closed.NUMBER` (read and moved out by
//! `migrate-layout`, still found here while a migration runs).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::layout::Folder;

/// The archive's directory beside `store/` under the data directory (one file system, so that
/// a close is one atomic rename).
pub const ARCHIVE_DIR: &str = "archive";

#[derive(Debug, Clone)]
pub struct Roots {
    pub open: PathBuf,
    pub archive: PathBuf,
}

/// A ticket folder found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub folder: Folder,
    pub dir: PathBuf,
}

impl Roots {
    pub fn at(data_dir: &Path) -> Roots {
        Roots {
            open: data_dir.join("store"),
            archive: data_dir.join(ARCHIVE_DIR),
        }
    }

    /// Where `folder` is now; for a closed ticket, the archive (newest month first), then the
    /// listed tree's old closed area. `None` if it is nowhere.
    pub fn find(&self, folder: &Folder) -> Option<PathBuf> {
        match folder {
            Folder::Ticket {
                queue,
                number,
                closed: true,
            } => {
                for month in self.months(queue) {
                    let p = self.archive.join(queue).join(&month).join(number);
                    if p.join("cur").is_dir() {
                        return Some(p);
                    }
                }
                let legacy = self.open.join(folder.dir_name());
                legacy.join("cur").is_dir().then_some(legacy)
            }
            _ => {
                let p = self.open.join(folder.dir_name());
                p.is_dir().then_some(p)
            }
        }
    }

    /// Where `folder` is, or where a new one goes (a closed ticket: `month`'s archive folder).
    pub fn path(&self, folder: &Folder, month: impl FnOnce() -> String) -> PathBuf {
        if let Some(p) = self.find(folder) {
            return p;
        }
        self.fresh_path(folder, &month())
    }

    /// Where `folder` goes when it is made now; `month` for a closed ticket.
    pub fn fresh_path(&self, folder: &Folder, month: &str) -> PathBuf {
        match folder {
            Folder::Ticket {
                queue,
                number,
                closed: true,
            } => self.archive.join(queue).join(month).join(number),
            _ => self.open.join(folder.dir_name()),
        }
    }

    /// The month folders of a queue in the archive, newest first.
    pub fn months(&self, queue: &str) -> Vec<String> {
        let mut out: Vec<String> = match fs::read_dir(self.archive.join(queue)) {
            Ok(rd) => rd
                .flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| is_month(n))
                .collect(),
            Err(_) => Vec::new(),
        };
        out.sort_unstable_by(|a, b| b.cmp(a));
        out
    }

    /// The month of an archived folder's path, if it is in the archive.
    pub fn month_of(&self, dir: &Path) -> Option<String> {
        let rel = dir.strip_prefix(&self.archive).ok()?;
        let m = rel.iter().nth(1)?.to_str()?;
        is_month(m).then(|| m.to_string())
    }

    /// A ticket number wherever it is: the listed tree (one directory read, bounded by the open
    /// tickets), then the archive (a look per queue and month).
    pub fn find_number(&self, number: &str) -> io::Result<Option<Found>> {
        let suffix = format!(".{number}");
        match fs::read_dir(&self.open) {
            Ok(rd) => {
                for entry in rd {
                    let name = entry?.file_name();
                    let Some(name) = name.to_str() else { continue };
                    if !name.ends_with(&suffix) {
                        continue;
                    }
                    if let Some(f @ Folder::Ticket { .. }) = Folder::from_dir_name(name) {
                        return Ok(Some(Found {
                            dir: self.open.join(name),
                            folder: f,
                        }));
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        for queue in self.archived_queues()? {
            for month in self.months(&queue) {
                let dir = self.archive.join(&queue).join(&month).join(number);
                if dir.join("cur").is_dir() {
                    return Ok(Some(Found {
                        folder: Folder::ticket(&queue, number, true),
                        dir,
                    }));
                }
            }
        }
        Ok(None)
    }

    /// Where a ticket folder that is no longer where it was listed is now: the same state and
    /// queue first (a look per month), then anywhere by its number.
    pub fn relocate(&self, folder: &Folder) -> io::Result<Option<Found>> {
        if let Some(dir) = self.find(folder) {
            return Ok(Some(Found {
                folder: folder.clone(),
                dir,
            }));
        }
        match folder {
            Folder::Ticket { number, .. } => self.find_number(number),
            _ => Ok(None),
        }
    }

    /// Every ticket folder of the listed tree (names only).
    pub fn open_tickets(&self) -> io::Result<Vec<Found>> {
        let mut out = Vec::new();
        let rd = match fs::read_dir(&self.open) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            r => r?,
        };
        for entry in rd {
            let name = entry?.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(f @ Folder::Ticket { .. }) = Folder::from_dir_name(name) {
                out.push(Found {
                    dir: self.open.join(name),
                    folder: f,
                });
            }
        }
        Ok(out)
    }

    /// Every ticket folder in the archive, month by month (names only).
    pub fn archived_tickets(&self) -> io::Result<Vec<Found>> {
        let mut out = Vec::new();
        for queue in self.archived_queues()? {
            for month in self.months(&queue) {
                let dir = self.archive.join(&queue).join(&month);
                for entry in fs::read_dir(&dir)? {
                    let name = entry?.file_name();
                    let Some(name) = name.to_str() else { continue };
                    if !is_number(name) {
                        continue;
                    }
                    out.push(Found {
                        folder: Folder::ticket(&queue, name, true),
                        dir: dir.join(name),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Whether the archive holds any ticket: stops at the first one.
    pub fn has_archived(&self) -> io::Result<bool> {
        for queue in self.archived_queues()? {
            for month in self.months(&queue) {
                let dir = self.archive.join(&queue).join(&month);
                for entry in fs::read_dir(&dir)? {
                    if entry?.file_name().to_str().is_some_and(is_number) {
                        return Ok(true);
                    }
                }
            }
        }
        Ok(false)
    }

    fn archived_queues(&self) -> io::Result<Vec<String>> {
        let rd = match fs::read_dir(&self.archive) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            r => r?,
        };
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry?;
            if !entry.file_type()?.is_dir() {
                continue;
            }
            if let Some(n) = entry.file_name().to_str() {
                if !n.starts_with('.') {
                    out.push(n.to_string());
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

/// The month in UTC of `t`: a ticket closed at `t` is archived in that month's folder.
pub fn month_of_instant(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m").to_string()
}

/// This month in UTC by the system's clock (`migrate-layout`, for a ticket whose history
/// does not say when it was closed).
pub fn month_now() -> String {
    month_of_instant(chrono::Utc::now())
}

fn is_month(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7
        && b[4] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || c.is_ascii_digit())
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_tickets_are_found_in_the_archive_and_in_the_old_closed_area() {
        let tmp = tempfile::tempdir().unwrap();
        let r = Roots::at(tmp.path());
        let a = Folder::ticket("Support", "11", true);
        let b = Folder::ticket("Support", "12", true);
        let o = Folder::ticket("Support", "13", false);
        assert_eq!(r.find(&a), None);
        for d in [
            r.archive.join("Support/2026-01/11/cur"),
            r.archive.join("Support/2026-03/99/cur"),
            r.open.join(".Support.Closed.12/cur"),
            r.open.join(".Support.13/cur"),
        ] {
            fs::create_dir_all(d).unwrap();
        }
        assert_eq!(r.find(&a), Some(r.archive.join("Support/2026-01/11")));
        assert_eq!(r.find(&b), Some(r.open.join(".Support.Closed.12")));
        assert_eq!(r.months("Support"), vec!["2026-03", "2026-01"]);
        assert_eq!(
            r.month_of(&r.archive.join("Support/2026-01/11")).as_deref(),
            Some("2026-01")
        );
        assert_eq!(r.find_number("11").unwrap().unwrap().folder, a);
        assert_eq!(r.find_number("13").unwrap().unwrap().folder, o);
        assert_eq!(r.find_number("14").unwrap(), None);
        assert_eq!(r.archived_tickets().unwrap().len(), 2);
        assert!(r.has_archived().unwrap());
        assert_eq!(r.open_tickets().unwrap().len(), 2);
        let fresh = Folder::ticket("Billing", "15", true);
        assert_eq!(
            r.path(&fresh, || "2031-07".into()),
            r.archive.join("Billing").join("2031-07").join("15")
        );
        assert!(is_month("2026-12") && !is_month("2026-1") && !is_month("2026x12"));
    }
}
