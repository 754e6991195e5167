//! Malformed input is normal input: the fixtures, mangled with a fixed seed (truncated, bytes
//! flipped, NULs and stray CR/LF inserted, header blocks repeated, huge header lines), go through
//! the whole pipeline. Every one ends as an article, a duplicate or in quarantine; nothing panics,
//! nothing fails, and fsck agrees afterwards.

use std::path::PathBuf;

use crate::harness::{drop_mail, Desk};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, src: &[u8]) -> Vec<u8> {
    let mut m = src.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(m.len() + 1);
        match rng.below(7) {
            0 => m.truncate(at),
            1 => {
                if at < m.len() {
                    m[at] ^= 1 << rng.below(8);
                }
            }
            2 => m.insert(at.min(m.len()), 0),
            3 => m.splice(at.min(m.len())..at.min(m.len()), b"\r\n:<>\r".iter().copied()).for_each(drop),
            4 => {
                let end = (at + rng.below(400)).min(m.len());
                let chunk = m[at.min(end)..end].to_vec();
                m.splice(at.min(m.len())..at.min(m.len()), chunk).for_each(drop);
            }
            5 => {
                let line = format!("X-Long: {}\r\n", "a".repeat(20_000 + rng.below(100_000)));
                m.splice(0..0, line.into_bytes()).for_each(drop);
            }
            _ => m.splice(0..0, b"Subject: =?x-unknown?B?////?=\r\nContent-Type: multipart/mixed; boundary=\"\"\r\n".iter().copied()).for_each(drop),
        }
    }
    m
}

#[test]
fn mangled_fixtures_never_panic_or_fail() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("maildir-fixtures/new");
    let mut sources: Vec<Vec<u8>> = std::fs::read_dir(&fixtures)
        .unwrap()
        .flatten()
        .map(|e| std::fs::read(e.path()).unwrap())
        .collect();
    sources.sort();
    let desk = Desk::new();
    let md = desk.maildir("mangled");
    let mut rng = Rng(0xDEC0_DE5E_ED00_2026);
    let n = 1500;
    for i in 0..n {
        let src = &sources[i % sources.len()];
        drop_mail(&md, &mutate(&mut rng, src));
    }
    let out = desk.run(&["run", "--once", "--maildir", md.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stdout.starts_with(&format!("processed {n},")), "{stdout}");
    assert!(stdout.ends_with("failed 0\n"), "{stdout}");
    eprintln!("mutation sweep: {stdout}");
    desk.fsck_clean();
}
