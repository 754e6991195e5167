//! Nothing lost, nothing twice: kill -9 at random points while 2,000 messages are filed,
//! restart, repeat with a fixed seed; then every message is stored exactly once, none is left at
//! the source, no staged file is left behind, and fsck finds tree and index in agreement.

use std::collections::HashMap;
use std::fs;
use std::time::{Duration, Instant};

use crate::harness::{post, Desk};

/// xorshift64*: a fixed seed gives the same kill points on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const N: usize = 2000;

#[test]
fn kill_9_at_random_points_loses_and_duplicates_nothing() {
    let desk = Desk::with("", "[intake]\nbatch-size = 16\n[[source]]\nname = \"inbox\"\nmaildir = \"inbox\"\nafter = \"seen\"\n");
    let md = desk.maildir("inbox");
    let mut rng = Rng(0x5EED_2026_1121);
    let mut ids = Vec::new();
    for i in 0..N {
        let id = format!("crash{i}@example.org");
        let (subject, extra) = if i > 10 && rng.below(10) < 3 {
            let parent = rng.below(i as u64);
            (
                format!("Re: Anfrage {parent}"),
                format!("In-Reply-To: <crash{parent}@example.org>\r\n"),
            )
        } else {
            (format!("Anfrage {i}"), String::new())
        };
        let body = if rng.below(10) == 0 {
            "x".repeat(50_000)
        } else {
            format!("Text {i}")
        };
        post(
            &md,
            &format!("c{}@example.org", i % 300),
            "support@company.example",
            &subject,
            &id,
            &extra,
            &body,
        );
        ids.push(id);
    }

    let started = Instant::now();
    let kills = desk.run_with_kills(&md, 6, || Duration::from_millis(20 + rng.below(400)));
    assert!(
        kills >= 3,
        "the test must actually kill runs (killed {kills})"
    );

    assert_eq!(
        fs::read_dir(md.join("new")).unwrap().count(),
        0,
        "nothing left at the source"
    );
    assert_eq!(fs::read_dir(md.join("cur")).unwrap().count(), N);

    let counts: HashMap<String, i64> = desk
        .index_rows(
            "SELECT message_id, count(*) FROM articles WHERE direction = 'in' GROUP BY message_id",
        )
        .into_iter()
        .map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_i64().unwrap()))
        .collect();
    let missing: Vec<_> = ids.iter().filter(|id| !counts.contains_key(*id)).collect();
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        missing.is_empty(),
        "{} messages lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(twice.is_empty(), "stored more than once: {twice:?}");
    assert_eq!(counts.len(), N);

    // Every article file is in the tree exactly once.
    let mut files = 0;
    for e in fs::read_dir(desk.data.join("store")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(".Support.") {
            for sub in ["new", "cur"] {
                files += fs::read_dir(e.path().join(sub)).unwrap().count();
            }
        }
    }
    let rows: i64 = desk.index_count("SELECT count(*) FROM articles");
    assert_eq!(
        files as i64, rows,
        "article files in the tree vs rows in the index"
    );
    // Every queued mail was sent (at least once: a kill between the transport's acceptance
    // and the commit sends that one again, with the same Message-ID).
    let unsent: i64 = desk.index_count("SELECT count(*) FROM outbox WHERE state != 'sent'");
    assert_eq!(unsent, 0, "mail left unsent in the outbox");
    let queued: i64 = desk.index_count("SELECT count(*) FROM outbox");
    let out_rows: i64 = desk.index_count("SELECT count(*) FROM articles WHERE direction = 'out'");
    // Agents' pointer notices are queued with their bytes in the index, not filed as articles;
    // once sent their bytes are dropped.
    let kept: i64 = desk.index_count(
        "SELECT count(*) FROM outbox WHERE kind = 'notification'
             AND file NOT IN (SELECT file FROM articles)",
    );
    assert!(kept > 0, "no agents' notices were queued");
    assert_eq!(
        queued,
        out_rows + kept,
        "every outgoing article and every notice is in the outbox"
    );
    let waiting: i64 = desk.index_count("SELECT count(*) FROM outbox_mail");
    assert_eq!(waiting, 0, "bytes of sent notices left in the index");
    // Every event-log line (intake's and the outbox's `sent` lines) is in its ticket's log
    // and forgotten by the index once the last run ended.
    let lines: i64 = desk.index_count("SELECT count(*) FROM pending_lines");
    assert_eq!(lines, 0, "event-log lines still pending in the index");
    let sent_files = fs::read_dir(desk.data.join("outbox/new")).unwrap().count() as i64;
    assert!(
        sent_files >= queued,
        "{sent_files} files in the outbox for {queued} mails"
    );
    eprintln!(
        "crash test: {queued} outgoing mails, {} sent twice after a kill",
        sent_files - queued
    );
    assert_eq!(desk.staged_files(), 0, "staged files left behind");
    desk.fsck_clean();
    eprintln!(
        "crash test: {kills} kills, {N} messages, {:?}",
        started.elapsed()
    );
}
