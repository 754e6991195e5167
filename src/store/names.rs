//! Unique Maildir file names (`SECS.MUSEC PPID QSEQ.HOST,S=SIZE`): for the staging area and the
//! local outbox. The size in the name (`,S=`) spares Dovecot a stat call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug)]
pub struct UniqueNames {
    host: String,
    pid: u32,
    seq: AtomicU64,
}

impl Default for UniqueNames {
    fn default() -> Self {
        UniqueNames {
            host: hostname(),
            pid: std::process::id(),
            seq: AtomicU64::new(0),
        }
    }
}

impl UniqueNames {
    /// A name no other writer uses: time, pid, a per-process counter, host, and the size.
    pub fn next(&self, size: u64) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        format!(
            "{}.M{}P{}Q{}.{},S={size}",
            now.as_secs(),
            now.subsec_micros(),
            self.pid,
            seq,
            self.host
        )
    }
}

/// The host name with `/`, `:` and `,` escaped as the Maildir convention asks.
fn hostname() -> String {
    let raw =
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_else(|_| "localhost".into());
    let h: String = raw
        .trim()
        .chars()
        .map(|c| match c {
            '/' => "\\057".to_string(),
            ':' => "\\072".to_string(),
            ',' => "\\054".to_string(),
            c if c.is_ascii_graphic() => c.to_string(),
            _ => String::new(),
        })
        .collect();
    if h.is_empty() {
        "localhost".into()
    } else {
        h
    }
}
