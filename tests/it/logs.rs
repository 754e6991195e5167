//! Logs as the journal wants them: under systemd (JOURNAL_STREAM naming stderr) each line starts
//! with its syslog priority; never colour escapes when stderr is no terminal; an outbox that
//! cannot send says so once.

use std::os::unix::fs::MetadataExt;
use std::process::Stdio;

use crate::harness::{post, Desk};

/// A desk whose outbox sends by SMTP to a port nobody listens on, with one acknowledgement
/// queued.
fn desk_with_a_dead_relay() -> Desk {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let desk = Desk::with(
        "",
        &format!(
            "[outgoing]\ntransport = \"smtp\"\n[outgoing.smtp]\nhost = \"127.0.0.1\"\nport = {port}\n\
             [[source]]\nname = \"inbox\"\nmaildir = \"inbox\"\n"
        ),
    );
    post(
        &desk.maildir("inbox"),
        "kunde@example.org",
        "support@company.example",
        "Printer",
        "log1@example.org",
        "",
        "It jams.",
    );
    desk
}

#[test]
fn under_systemd_lines_carry_journal_priorities_and_no_colour() {
    let desk = desk_with_a_dead_relay();
    let err_path = desk.path().join("stderr");
    let err_file = std::fs::File::create(&err_path).unwrap();
    let meta = err_file.metadata().unwrap();
    let out = desk
        .cmd()
        .args(["run", "--once"])
        .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
        .stdout(Stdio::piped())
        .stderr(err_file)
        .output()
        .unwrap();
    let err = std::fs::read_to_string(&err_path).unwrap();
    assert!(out.status.success(), "{err}");
    assert!(!err.contains('\x1b'), "colour escapes: {err:?}");
    let outage = err
        .lines()
        .find(|l| l.contains("outbox: cannot send"))
        .unwrap_or_else(|| panic!("no outage line: {err}"));
    assert!(outage.starts_with("<4>"), "{outage}");
    assert_eq!(err.matches("outbox: cannot send").count(), 1, "{err}");
}

#[test]
fn into_a_pipe_lines_are_plain_text() {
    let desk = desk_with_a_dead_relay();
    // JOURNAL_STREAM inherited from a service but stderr redirected: not the journal.
    let out = desk
        .cmd()
        .args(["run", "--once"])
        .env("JOURNAL_STREAM", "1:1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains('\x1b'), "colour escapes: {err:?}");
    let outage = err
        .lines()
        .find(|l| l.contains("outbox: cannot send"))
        .unwrap_or_else(|| panic!("no outage line: {err}"));
    assert!(
        !outage.starts_with('<') && outage.contains("WARN"),
        "{outage}"
    );
}
