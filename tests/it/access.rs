//! File modes and owners: whatever the caller's umask, the store is 0640/0750 (0660/2770 for a
//! configured Dovecot group), nothing is readable by others; as root on a data directory owned
//! by another user, every command acts as that user; an event-log line that cannot be written
//! is kept and retried, so a later reindex never sends a mail again.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::harness::{drop_mail, mail, Desk};

const AGENT: &str = "[[agent]]\nname = \"Dan\"\naddress = \"dan@company.example\"\nlogin = \"dan\"\npassword-hash = \"{PLAIN}danpw\"\nqueues = [\"Support\"]\n";
const NOBODY: u32 = 65534;

fn with_umask(mut c: Command, mask: u32) -> Command {
    // SAFETY: umask is async-signal-safe and touches only the child.
    unsafe {
        c.pre_exec(move || {
            libc::umask(mask as libc::mode_t);
            Ok(())
        });
    }
    c
}

fn deliver(mut c: Command, n: usize) -> Output {
    let m = mail(
        &format!("c{n}@example.org"),
        "support@company.example",
        &format!("Mode {n}"),
        &format!("mode{n}@example.org"),
        "",
        "hello",
    );
    let mut child = c
        .arg("deliver")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&m).unwrap();
    child.wait_with_output().unwrap()
}

fn walk(dir: &Path, out: &mut Vec<(std::path::PathBuf, fs::Metadata)>) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let m = fs::symlink_metadata(e.path()).unwrap();
        out.push((e.path(), m.clone()));
        if m.is_dir() {
            walk(&e.path(), out);
        }
    }
}

fn modes_under(desk: &Desk, umask: u32) {
    let md = desk.maildir("in");
    drop_mail(
        &md,
        &mail(
            "a@example.org",
            "support@company.example",
            "Drain",
            "d@x",
            "",
            "x",
        ),
    );
    let mut c = with_umask(desk.cmd(), umask);
    let out = c
        .args(["run", "--once", "--maildir", md.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = deliver(with_umask(desk.cmd(), umask), 1);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = with_umask(desk.cmd(), umask)
        .arg("dovecot-config")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn modes_do_not_follow_the_callers_umask() {
    for umask in [0o022, 0o077] {
        let desk = Desk::with("", AGENT);
        modes_under(&desk, umask);
        let mut all = Vec::new();
        walk(&desk.data, &mut all);
        let store = desk.data.join("store");
        let mut files = 0;
        for (p, m) in &all {
            let mode = m.permissions().mode() & 0o7777;
            assert_eq!(
                mode & 0o007,
                0,
                "umask {umask:o}: {} is {mode:o}",
                p.display()
            );
            if p.starts_with(&store) {
                let want = if m.is_dir() { 0o750 } else { 0o640 };
                assert_eq!(mode, want, "umask {umask:o}: {}", p.display());
                files += m.is_file() as usize;
            }
        }
        assert!(files >= 2, "no article files under {}", store.display());
        let passwd = desk.data.join("dovecot/passwd");
        assert_eq!(
            fs::metadata(passwd).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }
}

#[test]
fn a_dovecot_group_gets_the_store() {
    let desk = Desk::with(
        "",
        &format!("[dovecot]\nstore-group = \"{NOBODY}\"\n\n{AGENT}"),
    );
    modes_under(&desk, 0o077);
    let mut all = Vec::new();
    walk(&desk.data.join("store"), &mut all);
    assert!(all.iter().any(|(_, m)| m.is_file()));
    for (p, m) in &all {
        let mode = m.permissions().mode() & 0o7777;
        let want = if m.is_dir() { 0o2770 } else { 0o660 };
        assert_eq!((mode, m.gid()), (want, NOBODY), "{}", p.display());
    }
}

fn as_root() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test runs as root (the suite does)"
    );
}

/// A desk whose data directory belongs to nobody, readable for nobody throughout.
fn nobodys_desk(rest: &str) -> Desk {
    as_root();
    let desk = Desk::with("", rest);
    fs::set_permissions(desk.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::create_dir_all(&desk.data).unwrap();
    std::os::unix::fs::chown(&desk.data, Some(NOBODY), Some(NOBODY)).unwrap();
    desk
}

fn all_owned_by_nobody(desk: &Desk) {
    let mut all = Vec::new();
    walk(&desk.data, &mut all);
    assert!(all.len() > 5);
    for (p, m) in &all {
        assert_eq!(
            m.uid(),
            NOBODY,
            "{} belongs to uid {}",
            p.display(),
            m.uid()
        );
    }
}

#[test]
fn as_root_every_command_acts_as_the_data_dirs_owner() {
    let desk = nobodys_desk(AGENT);
    let out = deliver(desk.cmd(), 1);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let n = desk.tickets()[0]["number"].as_str().unwrap().to_string();
    desk.ok(&["ticket", "close", &n]);
    desk.ok(&["dovecot-config"]);
    desk.ok(&["run", "--once"]);
    desk.ok(&["reindex"]);
    all_owned_by_nobody(&desk);
}

#[test]
fn an_event_log_that_cannot_be_written_is_retried_and_nothing_is_sent_twice() {
    let desk = nobodys_desk("");
    let out = deliver(desk.cmd(), 1);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let n = desk.tickets()[0]["number"].as_str().unwrap().to_string();
    // A root-owned event log (an admin's command before this fix): the daemon cannot append.
    let history = desk
        .data
        .join(format!("store/.Support.{n}/postdesk-history"));
    let kept = fs::read(&history).unwrap_or_default();
    fs::remove_file(&history).ok();
    fs::write(&history, &kept).unwrap();
    fs::set_permissions(&history, fs::Permissions::from_mode(0o644)).unwrap();
    let out = desk.run(&["run", "--once"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.contains(&history.display().to_string()),
        "no path in: {err}"
    );
    let sent = |desk: &Desk| -> Vec<serde_json::Value> {
        desk.json(&["outbox", "list", "--json"])
            .as_array()
            .unwrap()
            .clone()
    };
    let before = sent(&desk);
    assert!(!before.is_empty());
    assert!(before.iter().all(|r| r["state"] == "sent"), "{before:?}");
    // While the line cannot be written, reindex refuses (naming the file) rather than forget.
    let out = desk.run(&["reindex"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("postdesk-history"));
    std::os::unix::fs::chown(&history, Some(NOBODY), Some(NOBODY)).unwrap();
    desk.ok(&["run", "--once"]);
    desk.ok(&["reindex"]);
    let rows = sent(&desk);
    // The agents' notice had no stored copy (its bytes waited in the index): a rebuilt outbox
    // knows the acknowledgement only, and the notice's `sent` line is still in the history.
    let filed =
        |rows: &[serde_json::Value]| rows.iter().filter(|r| r["kind"] != "notification").count();
    assert_eq!(rows.len(), filed(&before), "{rows:?}");
    assert!(rows.iter().all(|r| r["state"] == "sent"), "{rows:?}");
    let history = desk.show(&n)["history"].to_string();
    assert!(
        history.contains("notification to alice@company.example"),
        "{history}"
    );
    desk.ok(&["run", "--once"]);
    let outbox = desk.data.join("outbox/new");
    assert_eq!(
        fs::read_dir(outbox).unwrap().count(),
        before.len(),
        "a mail went twice"
    );
}

/// Under the shipped unit (NoNewPrivileges=) sendmail's set-group-ID helper cannot work: check
/// says so and points to SMTP on localhost; outside such a sandbox it says nothing.
#[test]
fn check_warns_that_sendmail_cannot_work_without_new_privileges() {
    crate::services::require("setpriv");
    let desk = Desk::with("", "[outgoing]\ntransport = \"sendmail\"\n");
    let confined = Command::new("setpriv")
        .arg("--no-new-privs")
        .arg(crate::harness::BIN)
        .arg("--config")
        .arg(&desk.config)
        .arg("check")
        .output()
        .unwrap();
    assert!(confined.status.success());
    let err = String::from_utf8_lossy(&confined.stderr);
    assert!(
        err.contains("NoNewPrivileges") && err.contains("transport = \"smtp\""),
        "{err}"
    );
    let free = desk.run(&["check"]);
    assert!(!String::from_utf8_lossy(&free.stderr).contains("NoNewPrivileges"));
}
