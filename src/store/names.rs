//! Unique Maildir file names (`SECS.MUSEC PPID QSEQ.HOST,S=SIZE`): for the staging area and the
//! local outbox. The size in the name (`,S=`) spares Dovecot a stat call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// One counter for the whole process: two engines in one process (the daemon's and its LMTP
/// listener's) write into the same tree, so their names must differ too.
static SEQ: AtomicU64 = AtomicU64::new(0);

#[derive(Debug)]
pub struct UniqueNames {
    host: String,
    pid: u32,
}

impl Default for UniqueNames {
    fn default() -> Self {
        UniqueNames {
            host: hostname(),
            pid: std::process::id(),
        }
    }
}

impl UniqueNames {
    /// A name no other writer uses: time, pid, a per-process counter, host, and the size.
    pub fn next(&self, size: u64) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
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

/// Where an article's file sorts among those received in the same second: the time in its
/// name (`SECS.MUSEC...`, microseconds unpadded) and its `Q` counter read as numbers, so that
/// `…M99990…` comes before `…M100010…`; names of another form sort after, by name.
pub fn order_key(name: &str) -> (u64, u64, u64, &str) {
    let (secs, rest) = name.split_once('.').unwrap_or((name, ""));
    let Ok(secs) = secs.parse::<u64>() else {
        return (u64::MAX, 0, 0, name);
    };
    let unique = rest.split('.').next().unwrap_or("");
    let number_after = |tag: char| {
        let start = unique.find(tag)? + 1;
        let digits: String = unique[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse::<u64>().ok()
    };
    let usec = number_after('M').unwrap_or(0);
    let seq = number_after('Q').unwrap_or(0);
    (secs, usec, seq, name)
}

/// The host name with `/`, `:` and `,` escaped as the Maildir convention asks.
pub fn hostname() -> String {
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

#[cfg(test)]
mod tests {
    use super::order_key;

    #[test]
    fn unpadded_microseconds_sort_as_numbers() {
        let mut names = vec![
            "1700000000.M100010P7Q2.host,S=900",
            "1700000000.M99990P7Q1.host,S=1200",
            "1700000001.M5P7Q3.host,S=10",
            "1699999999.M999999P7Q0.host,S=10",
            "other-name",
        ];
        names.sort_by_key(|n| order_key(n));
        assert_eq!(
            names,
            [
                "1699999999.M999999P7Q0.host,S=10",
                "1700000000.M99990P7Q1.host,S=1200",
                "1700000000.M100010P7Q2.host,S=900",
                "1700000001.M5P7Q3.host,S=10",
                "other-name",
            ]
        );
    }

    #[test]
    fn the_counter_orders_names_of_one_microsecond() {
        let (a, b) = ("1700000000.M5P7Q10.h,S=1", "1700000000.M5P7Q9.h,S=1");
        assert!(order_key(b) < order_key(a));
    }
}
