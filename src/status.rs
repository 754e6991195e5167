//! What the daemon tells `postdesk status`: a small JSON file in the data directory, rewritten
//! (atomically) after every round of the daemon's loop, with each source's state, when it last
//! worked, its last error and its backlog. One file per node (`status.<node>.json`): nodes
//! sharing the data directory each report their own daemon.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The status file of node `node`.
pub fn file(node: &str) -> String {
    format!("status.{node}.json")
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Snapshot {
    pub pid: u32,
    /// Written by `run --once` (which has ended), not by a daemon.
    #[serde(default)]
    pub once: bool,
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

/// Writes node `node`'s snapshot (temporary file, rename); a failure is only logged.
pub fn write(data_dir: &Path, node: &str, s: &Snapshot) {
    write_json(data_dir, &file(node), s)
}

/// Writes `value` as `name` in the data directory (temporary file, rename); a failure is only
/// logged: these files report, they are no truth anything depends on.
pub fn write_json<T: Serialize>(data_dir: &Path, name: &str, value: &T) {
    let tmp = data_dir.join(format!("{name}.tmp"));
    let r = serde_json::to_vec_pretty(value)
        .map_err(std::io::Error::other)
        .and_then(|b| std::fs::write(&tmp, b))
        .and_then(|()| std::fs::rename(&tmp, data_dir.join(name)));
    if let Err(e) = r {
        tracing::warn!("{name}: {e}");
    }
}

/// The state of a source after one drain.
pub fn drained(
    name: &str,
    kind: &str,
    error: Option<String>,
    backlog: Option<u64>,
) -> SourceStatus {
    SourceStatus {
        name: name.into(),
        kind: kind.into(),
        state: if error.is_some() { "failing" } else { "ok" }.into(),
        last_success: error.is_none().then(now),
        last_error: error,
        backlog,
    }
}

/// Whether `run --once` may write its snapshot: not over the one of a daemon still running.
pub fn once_may_write(existing: Option<&Snapshot>, alive: impl Fn(u32) -> bool) -> bool {
    match existing {
        Some(s) if !s.once => !alive(s.pid),
        _ => true,
    }
}

/// Node `node`'s snapshot.
pub fn read(data_dir: &Path, node: &str) -> Option<Snapshot> {
    serde_json::from_slice(&std::fs::read(data_dir.join(file(node))).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_once_never_overwrites_a_live_daemons_status() {
        let daemon = Snapshot {
            pid: 7,
            ..Default::default()
        };
        assert!(!once_may_write(Some(&daemon), |_| true));
        assert!(once_may_write(Some(&daemon), |_| false));
        let once = Snapshot {
            once: true,
            ..daemon
        };
        assert!(once_may_write(Some(&once), |_| true));
        assert!(once_may_write(None, |_| true));
    }
}
