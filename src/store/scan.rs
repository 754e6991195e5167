//! Reads ticket folders for `reindex` and `fsck`: every article file in each, and its event log.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::archive::Found;
use super::layout::{Folder, HISTORY_FILE};

#[derive(Debug, Clone)]
pub struct TreeTicket {
    pub folder: Folder,
    pub dir: PathBuf,
    pub articles: Vec<ArticleFile>,
    /// The ticket's event log, if it has one.
    pub history: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct ArticleFile {
    /// The Maildir base name (without the `:2,` flags Dovecot may add).
    pub file: String,
    pub path: PathBuf,
}

/// The articles and event log of a ticket folder found.
pub fn ticket(Found { folder, dir }: Found) -> io::Result<TreeTicket> {
    let history = dir.join(HISTORY_FILE);
    Ok(TreeTicket {
        folder,
        articles: files(&dir)?,
        history: history.exists().then_some(history),
        dir,
    })
}

/// Message files in a mail folder's new/ and cur/, sorted by name (which starts with the time).
pub fn files(dir: &Path) -> io::Result<Vec<ArticleFile>> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        let d = dir.join(sub);
        let entries = match fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let base = name.split(':').next().unwrap_or(&name).to_string();
            out.push(ArticleFile {
                file: base,
                path: entry.path(),
            });
        }
    }
    out.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(out)
}
