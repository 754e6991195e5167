//! `postdesk deliver`: one message on stdin, sysexits for the MTA.

use std::io::Write;
use std::process::Stdio;

use crate::harness::{mail, Desk};

fn deliver(desk: &Desk, bytes: &[u8]) -> (Option<i32>, String) {
    let mut child = desk
        .cmd()
        .arg("deliver")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A process that fails early may not read its input: a broken pipe here is fine.
    let _ = child.stdin.take().unwrap().write_all(bytes);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn stores_and_exits_zero_and_a_retry_is_a_duplicate() {
    let desk = Desk::new();
    let m = mail(
        "kunde@example.org",
        "hotline@company.example",
        "Bitte Rückruf",
        "dl1@example.org",
        "",
        "Tel 030 123",
    );
    assert_eq!(deliver(&desk, &m).0, Some(0));
    let (code, out) = deliver(&desk, &m);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("duplicate"), "{out}");
    assert_eq!(desk.tickets().len(), 1);
    assert_eq!(
        deliver(&desk, b"").0,
        Some(0),
        "empty input is quarantined, not lost"
    );
    desk.fsck_clean();
}

#[test]
fn configuration_error_is_75_and_names_no_path_unwritable_store_is_75() {
    let desk = Desk::new();
    std::fs::write(&desk.config, "[general]\nno-such-key = 1\n").unwrap();
    let (code, out) = deliver(&desk, b"Subject: x\r\n\r\ny");
    // Postfix bounces on 78 and quotes the output to the sender: an admin's typo must make the
    // mail wait in the queue, and the text must not show the server's files.
    assert_eq!(code, Some(75), "{out}");
    assert!(!out.contains('/'), "a path reaches the MTA: {out}");
    assert!(!out.contains("no-such-key"), "{out}");
    assert!(out.contains("temporary failure"), "{out}");
    // `check` still says what is wrong, with exit 78.
    let check = desk.run(&["check"]);
    assert_eq!(check.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&check.stderr).contains("no-such-key"));

    // No configuration file at all: the same.
    let desk = Desk::new();
    std::fs::remove_file(&desk.config).unwrap();
    let (code, out) = deliver(&desk, b"Subject: x\r\n\r\ny");
    assert_eq!(code, Some(75), "{out}");
    assert!(!out.contains('/'), "{out}");

    let desk = Desk::new();
    // The data dir is a file: nothing can be stored, the MTA must keep the message.
    std::fs::write(&desk.data, b"").unwrap();
    let (code, out) = deliver(
        &desk,
        &mail(
            "a@b.example",
            "support@company.example",
            "x",
            "x@y",
            "",
            "z",
        ),
    );
    assert_eq!(code, Some(75), "{out}");
    assert!(!out.contains('/'), "a path reaches the MTA: {out}");
}

#[test]
fn concurrent_deliveries_get_distinct_numbers() {
    let desk = Desk::new();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let m = mail(
                &format!("p{i}@example.org"),
                "support@company.example",
                &format!("Parallel {i}"),
                &format!("par{i}@example.org"),
                "",
                "x",
            );
            let mut child = desk
                .cmd()
                .arg("deliver")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(&m).unwrap();
            child
        })
        .collect();
    for h in handles {
        let out = h.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let t = desk.tickets();
    let numbers: std::collections::HashSet<_> = t.iter().map(|t| t["number"].to_string()).collect();
    assert_eq!(numbers.len(), 8);
    desk.fsck_clean();
}

#[test]
fn a_message_over_the_size_limit_is_refused_whole_never_stored_cut() {
    let desk = Desk::with("", "[intake]\nmax-message-bytes = 4096\n");
    let body = "y".repeat(10_000);
    let big = mail(
        "a@b.example",
        "support@company.example",
        "big",
        "big@y",
        "",
        &body,
    );
    let (code, out) = deliver(&desk, &big);
    // A permanent failure the MTA bounces, with the RFC 3463 status first in the output.
    assert_eq!(code, Some(65), "{out}");
    assert!(out.starts_with("5.3.4 message too big"), "{out}");
    assert!(out.contains("4096"), "{out}");
    let stored = crate::harness::files_in(&desk.data.join("store/.Quarantine/new"));
    assert!(stored.is_empty(), "a cut copy was stored: {stored:?}");
    assert!(desk.tickets().is_empty());
    // Exactly at the limit it is filed.
    let fits = mail(
        "a@b.example",
        "support@company.example",
        "fits",
        "fits@y",
        "",
        "",
    );
    let pad = 4096 - fits.len();
    let fits = mail(
        "a@b.example",
        "support@company.example",
        "fits",
        "fits@y",
        "",
        &"z".repeat(pad),
    );
    assert_eq!(fits.len(), 4096);
    assert_eq!(deliver(&desk, &fits).0, Some(0));
    assert_eq!(desk.tickets().len(), 1);
}
