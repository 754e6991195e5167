//! Hostile MIME structure: 100,000 nested messages and hundreds of thousands of parts are
//! quarantined with the reason by every way in (`run --once`, the daemon, `deliver`), `explain`
//! says why, and the mail queued behind them is filed; `reindex` and `fsck` read them back.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{drop_mail, files_in, post, Desk};

fn nested(levels: usize, id: &str) -> Vec<u8> {
    let mut m = format!(
        "From: a@example.org\nTo: support@company.example\nSubject: nested {levels}\n\
         Message-ID: <{id}>\nDate: Sat, 21 Nov 2026 10:00:00 +0100\n"
    );
    for i in 0..levels {
        m.push_str(&format!(
            "Content-Type: message/rfc822\n\nSubject: level {i}\n"
        ));
    }
    m.push_str("\nhello\n");
    m.into_bytes()
}

fn empty_parts(parts: usize, id: &str) -> Vec<u8> {
    let mut m = format!(
        "From: b@example.org\nTo: support@company.example\nSubject: parts\nMessage-ID: <{id}>\n\
         Content-Type: multipart/mixed; boundary=\"x\"\n\n"
    )
    .into_bytes();
    m.extend(b"--x\n\n".repeat(parts));
    m
}

fn quarantined(desk: &Desk) -> Vec<Vec<u8>> {
    files_in(&desk.data.join("store/.Quarantine/new"))
        .into_iter()
        .chain(files_in(&desk.data.join("store/.Quarantine/cur")))
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

fn stored_whole(desk: &Desk, original: &[u8]) -> bool {
    quarantined(desk).iter().any(|q| q.ends_with(original))
}

const DEPTH_REASON: &str = "not parsed: MIME parts nested more than 100 levels deep";
const PARTS_REASON: &str = "not parsed: more than 10000 MIME parts";

#[test]
fn run_once_quarantines_them_and_files_the_mail_behind() {
    let desk = Desk::new();
    let md = desk.maildir("inbox");
    let deep = nested(100_000, "deep1@example.org");
    let wide = empty_parts(300_000, "wide1@example.org");
    drop_mail(&md, &deep);
    drop_mail(&md, &wide);
    post(
        &md,
        "c@example.org",
        "support@company.example",
        "behind",
        "behind1@example.org",
        "",
        "x",
    );
    let out = desk.drain(&md);
    assert!(
        out.contains("new tickets 1") && out.contains("quarantined 2"),
        "{out}"
    );
    assert!(stored_whole(&desk, &deep) && stored_whole(&desk, &wide));
    let log = desk.mail_log();
    assert!(
        log.contains(DEPTH_REASON) && log.contains(PARTS_REASON),
        "{log}"
    );
    // Seen again, they are duplicates, not a second quarantine entry.
    let again = desk.maildir("again");
    drop_mail(&again, &deep);
    let out = desk.drain(&again);
    assert!(out.contains("duplicates 1"), "{out}");
    assert_eq!(quarantined(&desk).len(), 2);
    // The index is rebuilt from the tree, quarantine included.
    desk.ok(&["reindex"]);
    desk.fsck_clean();
}

#[test]
fn deliver_and_explain_say_why() {
    let desk = Desk::new();
    let deep = nested(100_000, "deep2@example.org");
    let file = desk.path().join("deep.eml");
    std::fs::write(&file, &deep).unwrap();
    let out = desk.ok(&["explain", file.to_str().unwrap()]);
    assert!(
        out.contains(&format!("decision:       quarantine: {DEPTH_REASON}")),
        "{out}"
    );
    assert!(out.contains("subject:        nested 100000"), "{out}");

    let mut child = desk
        .cmd()
        .arg("deliver")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&deep).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!("stored in quarantine: {DEPTH_REASON}")),
        "{text}"
    );
    assert!(stored_whole(&desk, &deep));
}

#[test]
fn the_limits_are_configurable() {
    let desk = Desk::with("", "[intake]\nmax-mime-depth = 10\nmax-mime-parts = 50\n");
    let md = desk.maildir("inbox");
    drop_mail(&md, &nested(11, "d11@example.org"));
    drop_mail(&md, &nested(10, "d10@example.org"));
    drop_mail(&md, &empty_parts(50, "p50@example.org"));
    drop_mail(&md, &empty_parts(48, "p48@example.org"));
    let out = desk.drain(&md);
    assert!(
        out.contains("new tickets 2") && out.contains("quarantined 2"),
        "{out}"
    );
    let log = desk.mail_log();
    assert!(
        log.contains("more than 10 levels deep") && log.contains("more than 50 MIME parts"),
        "{log}"
    );
}

#[test]
fn the_daemon_survives_and_files_what_comes_behind() {
    let desk = Desk::with(
        "",
        "[intake]\nrescan-seconds = 3600\n[[source]]\nname = \"inbox\"\nmaildir = \"inbox\"\n",
    );
    let md = desk.maildir("inbox");
    let deep = nested(100_000, "deep3@example.org");
    drop_mail(&md, &deep);
    let mut child = desk
        .cmd()
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    post(
        &md,
        "c@example.org",
        "support@company.example",
        "live",
        "live3@example.org",
        "",
        "x",
    );
    drop_mail(&md, &empty_parts(300_000, "wide3@example.org"));
    post(
        &md,
        "d@example.org",
        "support@company.example",
        "later",
        "live4@example.org",
        "",
        "y",
    );
    let t = Instant::now();
    while !(desk.mail_log().contains("live4@example.org") && quarantined(&desk).len() == 2) {
        assert!(child.try_wait().unwrap().is_none(), "the daemon died");
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "timed out: {}",
            desk.mail_log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(desk.mail_log().contains("live3@example.org"));
    assert!(stored_whole(&desk, &deep));
    assert!(child.try_wait().unwrap().is_none(), "the daemon died");
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    assert!(child.wait().unwrap().success());
}
