//! What the daemon tells `postdesk status`: a small JSON file in the data directory, rewritten
//! (atomically) after every round of the daemon's loop, with each source's state, when it last
//! worked, its last error and its backlog.

use std::path::Path;

use serde::{Deserialize, Serialize};

pub const FILE: &str = "status.json";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Snapshot {
    pub pid: u32,
    pub started: String,
    pub updated: String,
    pub sources: Vec<SourceStatus>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SourceStatus {
    pub name: String,
    /// maildir or imap.
    pub kind: String,
    /// ok, failing, backing-off, connecting.
    pub state: String,
    pub last_success: Option<String>,
    pub last_error: Option<String>,
    /// Messages waiting at the source (as far as known).
    pub backlog: Option<u64>,
}

pub fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Writes the snapshot (temporary file, rename); a failure is only logged.
pub fn write(data_dir: &Path, s: &Snapshot) {
    let tmp = data_dir.join(format!("{FILE}.tmp"));
    let r = serde_json::to_vec_pretty(s)
        .map_err(std::io::Error::other)
        .and_then(|b| std::fs::write(&tmp, b))
        .and_then(|()| std::fs::rename(&tmp, data_dir.join(FILE)));
    if let Err(e) = r {
        tracing::warn!("status file: {e}");
    }
}

pub fn read(data_dir: &Path) -> Option<Snapshot> {
    serde_json::from_slice(&std::fs::read(data_dir.join(FILE)).ok()?).ok()
}
