//! A nearly full disk: the data directory on a small tmpfs (the tests run as root, as in CI; a
//! mount that fails fails the test). What fits is filed, the rest stays in the Maildir's new/
//! (or on the IMAP server, after the checkpoint) and is filed by a later run once there is room;
//! `status` warns before that.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{drop_mail, files_in, mail, Desk};
use crate::services::{imap_try, require, Dovecot};

const MAILS: usize = 30;

/// A tmpfs mounted for the test's lifetime; unmounted (lazily, so a failed test leaves no
/// busy mount behind) on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "cannot mount a tmpfs (the test needs root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(at.to_path_buf())
    }

    fn resize(&self, size: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn run_once(desk: &Desk, md: &Path) -> std::process::Output {
    desk.run(&[
        "run",
        "--once",
        "--after",
        "delete",
        "--maildir",
        md.to_str().unwrap(),
    ])
}

#[test]
fn a_full_disk_files_what_fits_and_leaves_the_rest_at_the_source() {
    let desk = Desk::new();
    let md = desk.maildir("in");
    let _fs = Tmpfs::mount(&desk.data, "3m");
    // 30 mails of 200 KB: 6 MB waiting for a 3 MB file system, all in one batch.
    let body = "All work and no play makes Jack a dull boy. ".repeat(4600);
    for i in 0..MAILS {
        let m = mail(
            "Jane <jane@example.org>",
            "support@company.example",
            &format!("large {i}"),
            &format!("large{i}@example.org"),
            "",
            &body,
        );
        drop_mail(&md, &m);
    }

    let out = run_once(&desk, &md);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{stderr}");
    assert!(stderr.contains("file system is full"), "{stderr}");
    let filed = desk.tickets().len();
    assert!(filed > 0, "what fits is filed: {stderr}");
    assert!(filed < MAILS, "the test's disk was meant to be too small");
    assert_eq!(
        files_in(&md.join("new")).len(),
        MAILS - filed,
        "what was not filed is still at its source: {stderr}"
    );
    let status = desk.json(&["status", "--json"]);
    assert!(
        status["disk"]["free_bytes"].as_u64().unwrap() < 1 << 20,
        "{status}"
    );
    assert!(
        status["disk"]["total_inodes"].as_u64().unwrap() > 0,
        "{status}"
    );
    let warning = status["disk_warning"].as_str().expect("a warning");
    assert!(warning.contains("nearly full"), "{warning}");
    assert!(desk.ok(&["status"]).contains("warning: the data directory"));

    // Still full: a second run files nothing more and loses nothing.
    let out = run_once(&desk, &md);
    assert_eq!(out.status.code(), Some(75));
    let now = desk.tickets().len();
    assert_eq!(files_in(&md.join("new")).len(), MAILS - now);

    // Room again: the rest is filed, each message once.
    _fs.resize("64m");
    let out = run_once(&desk, &md);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tickets = desk.tickets();
    assert_eq!(tickets.len(), MAILS);
    assert!(files_in(&md.join("new")).is_empty());
    let mut subjects: Vec<String> = tickets
        .iter()
        .map(|t| t["subject"].as_str().unwrap().to_string())
        .collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), MAILS);
    desk.fsck_clean();
}

#[test]
fn an_imap_source_on_a_full_disk_keeps_what_did_not_fit_on_the_server() {
    require("dovecot");
    let desk = Desk::with(
        "",
        "[[imap]]\nname = \"mbox\"\nhost = \"127.0.0.1\"\nport = PORT\ntls = \"none\"\n\
         user = \"desk\"\npassword-env = \"PD_IMAP_PW\"\nafter = \"delete\"\ntimeout-seconds = 5\n",
    );
    let store = desk.path().join("dvstore");
    fs::create_dir_all(&store).unwrap();
    let dv = Dovecot::start(&store, &[("desk", "pw")], &[]);
    let config = fs::read_to_string(&desk.config).unwrap();
    fs::write(
        &desk.config,
        config.replace("port = PORT", &format!("port = {}", dv.imap_port)),
    )
    .unwrap();
    let script = format!(
        "for i in range({MAILS}):\n    \
         m = ('From: c%d@example.org\\r\\nTo: support@company.example\\r\\nSubject: imap %d\\r\\n'\n         \
         'Message-ID: <full%d@example.org>\\r\\n\\r\\n' % (i, i, i)) + ('x' * 76 + '\\r\\n') * 2600\n    \
         typ, _ = M.append('INBOX', None, None, m.encode())\n    assert typ == 'OK'\nout('ok')"
    );
    imap_try(dv.imap_port, "desk", "pw", &script).expect("append");
    let inbox = || -> usize {
        imap_try(
            dv.imap_port,
            "desk",
            "pw",
            "typ, data = M.select('INBOX', readonly=True)\nout(int(data[0]))",
        )
        .unwrap()
        .trim()
        .parse()
        .unwrap()
    };
    let _fs = Tmpfs::mount(&desk.data, "3m");
    let run = || {
        desk.cmd()
            .args(["run", "--once"])
            .env("PD_IMAP_PW", "pw")
            .output()
            .unwrap()
    };

    let out = run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{stderr}");
    assert!(stderr.contains("file system is full"), "{stderr}");
    let filed = desk.tickets().len();
    assert!(filed > 0 && filed < MAILS, "{filed}: {stderr}");
    assert_eq!(
        inbox(),
        MAILS - filed,
        "what was not filed is still on the server: {stderr}"
    );

    _fs.resize("64m");
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("duplicates 0"),
        "the checkpoint passed what was filed: {stdout}"
    );
    assert_eq!(desk.tickets().len(), MAILS);
    assert_eq!(inbox(), 0);
    desk.fsck_clean();
}
