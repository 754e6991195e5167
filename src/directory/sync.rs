//! Copies the directory file into the index when it changed since the last copy: a `stat` and
//! one indexed query when it did not, so every process that opens the index may call it. A file
//! with mistakes leaves the last good copy in force.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::index::{self, Index};

/// What a sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Synced {
    /// No directory file is configured and none was loaded.
    None,
    /// The copy in the index is the file's.
    Unchanged,
    /// The file was read again: its entries (persons, organisations).
    Loaded {
        persons: usize,
        organisations: usize,
    },
    /// The file is no longer configured: its entries were removed.
    Removed,
}

/// What identifies one version of the file as read: its size, change time, and the settings
/// that shape what it means (numbering, queue names).
fn fingerprint(cfg: &Config, path: &Path, people: &[PathBuf]) -> Result<String, String> {
    let mut print = String::new();
    for (p, what) in std::iter::once((path, "directory file"))
        .chain(people.iter().map(|p| (p.as_path(), "people file")))
    {
        let m = std::fs::metadata(p)
            .map_err(|e| format!("{}: cannot read the {what}: {e}", p.display()))?;
        print.push_str(&format!(
            "{} {} {}.{} ",
            m.len(),
            m.ino(),
            m.mtime(),
            m.mtime_nsec()
        ));
    }
    let queues: Vec<&str> = cfg.queues.iter().map(|q| q.name.as_str()).collect();
    Ok(format!(
        "{print}+{} {} {}",
        cfg.directory.country_code,
        cfg.directory.area_code,
        queues.join(",")
    ))
}

/// Brings the index's copy of the directory file up to date. `Err` names every mistake in the
/// file (file and line); the index keeps its last good copy then.
pub fn sync_file(cfg: &Config, index: &mut Index) -> Result<Synced, String> {
    let sql = |e: index::IndexError| e.to_string();
    let loaded = index.directory_loaded(index::DIRECTORY_FILE).map_err(sql)?;
    let Some(file) = &cfg.directory.file else {
        if loaded.is_none() {
            return Ok(Synced::None);
        }
        let tx = index.begin().map_err(sql)?;
        tx.remove_directory(index::DIRECTORY_FILE).map_err(sql)?;
        tx.commit().map_err(sql)?;
        return Ok(Synced::Removed);
    };
    let path = cfg.resolve(file);
    let people: Vec<PathBuf> = cfg
        .directory
        .people
        .iter()
        .map(|p| cfg.resolve(p))
        .collect();
    let print = fingerprint(cfg, &path, &people)?;
    if loaded.is_some_and(|l| l.fingerprint == print) {
        return Ok(Synced::Unchanged);
    }
    let queues: Vec<String> = cfg.queues.iter().map(|q| q.name.clone()).collect();
    let dir = super::load(&path, &people, &cfg.directory.numbering(), &queues).map_err(|errs| {
        errs.iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    let tx = index.begin().map_err(sql)?;
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    tx.replace_directory(index::DIRECTORY_FILE, &dir, &print, &at)
        .map_err(sql)?;
    tx.commit().map_err(sql)?;
    Ok(Synced::Loaded {
        persons: dir.persons.len(),
        organisations: dir.organisations.len(),
    })
}
