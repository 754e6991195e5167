//! The README's Postfix recipes against a real Postfix on 127.0.0.1 (a private instance: its own
//! configuration and queue in a temp dir): mail sent to Postfix's SMTP port reaches postdesk by
//! LMTP and by the pipe to `deliver`, plus-addresses included, and lands in tickets; while
//! postdesk cannot take it (the daemon down, the configuration broken) it waits in Postfix's
//! queue, and what Postfix logs names no paths.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{mail, Desk, BIN};
use crate::lmtp::{Client, Daemon};
use crate::services::{free_port, require};

struct Postfix {
    dir: tempfile::TempDir,
    master: Child,
    pub smtp: u16,
}

impl Postfix {
    /// `main` and `master` are the lines the README tells an admin to add.
    fn start(main: &str, master: &str, transport: &str) -> Postfix {
        require("postfix");
        let dir = tempfile::Builder::new().prefix("pd-pf-").tempdir().unwrap();
        let d = dir.path();
        fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
        for sub in ["conf", "spool", "data"] {
            fs::create_dir_all(d.join(sub)).unwrap();
        }
        chown(&d.join("data"), "postfix:");
        let smtp = free_port();
        let p = d.display();
        fs::write(
            d.join("conf/main.cf"),
            format!(
                "compatibility_level = 3.6\nqueue_directory = {p}/spool\ndata_directory = {p}/data\n\
                 mail_owner = postfix\nsetgid_group = postdrop\nmyhostname = mx.company.example\n\
                 mydomain = company.example\nmyorigin = company.example\ninet_interfaces = 127.0.0.1\n\
                 inet_protocols = ipv4\nmynetworks = 127.0.0.0/8\nmydestination =\n\
                 local_transport = error:no local delivery\nvirtual_mailbox_domains = company.example\n\
                 virtual_mailbox_maps = texthash:{p}/conf/vmailbox\n\
                 virtual_transport = error:no transport for this recipient\n\
                 default_transport = error:no mail leaves in tests\nrelay_transport = error:no relay in tests\n\
                 smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n\
                 maillog_file = {p}/maillog\nmaillog_file_prefixes = {p}\nalias_maps =\nalias_database =\n\
                 biff = no\nqueue_run_delay = 1s\nminimal_backoff_time = 1s\nmaximal_backoff_time = 2s\n\
                 transport_maps = texthash:{p}/conf/transport\n{main}\n"
            ),
        )
        .unwrap();
        fs::write(
            d.join("conf/vmailbox"),
            "support@company.example OK\nbilling@company.example OK\n",
        )
        .unwrap();
        fs::write(d.join("conf/transport"), transport).unwrap();
        // Debian's master.cf chroots its services into the queue folder; a private instance
        // does without (its files are not copied there).
        fs::write(
            d.join("conf/master.cf"),
            format!(
                "127.0.0.1:{smtp} inet n - n - - smtpd\n\
                 pickup unix n - n 60 1 pickup\ncleanup unix n - n - 0 cleanup\n\
                 qmgr unix n - n 300 1 qmgr\nrewrite unix - - n - - trivial-rewrite\n\
                 bounce unix - - n - 0 bounce\ndefer unix - - n - 0 bounce\n\
                 trace unix - - n - 0 bounce\nverify unix - - n - 1 verify\n\
                 flush unix n - n 1000? 0 flush\nproxymap unix - - n - - proxymap\n\
                 smtp unix - - n - - smtp\nshowq unix n - n - - showq\n\
                 error unix - - n - - error\nretry unix - - n - - error\n\
                 lmtp unix - - n - - lmtp\nanvil unix - - n - 1 anvil\n\
                 scache unix - - n - 1 scache\npostlog unix-dgram n - n - 1 postlogd\n{master}\n"
            ),
        )
        .unwrap();
        let conf = d.join("conf");
        let check = Command::new("postfix")
            .arg("-c")
            .arg(&conf)
            .arg("check")
            .output()
            .unwrap();
        assert!(check.status.success(), "postfix check: {check:?}");
        let master = Command::new("/usr/lib/postfix/sbin/master")
            .arg("-c")
            .arg(&conf)
            .arg("-d")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pf = Postfix { dir, master, smtp };
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", smtp)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "postfix did not start: {}",
                pf.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        pf
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
    }

    /// Sends by SMTP, as a customer's mail arrives.
    fn send(&self, from: &str, to: &str, msg: &[u8]) {
        let s = std::net::TcpStream::connect(("127.0.0.1", self.smtp)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut c = Client::over(s);
        assert!(c.say("EHLO customer.example.org").starts_with("250"));
        c.start(from, &[to], msg);
        let r = c.reply();
        assert!(r.starts_with("250"), "{r}");
        c.say("QUIT");
    }

    /// A small mail from kunde@example.org to `to`, sent by SMTP.
    fn send_from_customer(&self, to: &str, subject: &str, id: &str, body: &str) {
        let from = "kunde@example.org";
        self.send(from, to, &mail(from, to, subject, id, "", body));
    }

    /// Retries the deferred mail now (`postqueue -f`).
    fn flush(&self) {
        let ok = Command::new("postqueue")
            .arg("-c")
            .arg(self.dir.path().join("conf"))
            .arg("-f")
            .status()
            .unwrap();
        assert!(ok.success());
    }

    fn wait_log(&self, what: &str, f: impl Fn(&str) -> bool) {
        let t = Instant::now();
        while !f(&self.log()) {
            assert!(
                t.elapsed() < Duration::from_secs(40),
                "waiting for {what}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        // SAFETY: kill on our own child's pid.
        unsafe { libc::kill(self.master.id() as i32, libc::SIGTERM) };
        let _ = self.master.wait();
    }
}

fn chown(path: &Path, owner: &str) {
    let ok = Command::new("chown")
        .arg("-R")
        .arg(owner)
        .arg(path)
        .status()
        .unwrap();
    assert!(ok.success());
}

fn wait_tickets(desk: &Desk, n: usize, pf: &Postfix) -> Vec<serde_json::Value> {
    let t = Instant::now();
    loop {
        let tickets = desk.tickets();
        if tickets.len() >= n {
            return tickets;
        }
        assert!(
            t.elapsed() < Duration::from_secs(40),
            "{} tickets of {n}: {tickets:#?}\n{}\n{}",
            tickets.len(),
            pf.log(),
            fs::read_to_string(desk.path().join("daemon.log")).unwrap_or_default()
                + &desk.mail_log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A desk the pipe's user (`nobody`, the package's `postdesk`) owns, as the package sets it up.
fn owned_desk(lmtp: u16) -> Desk {
    let desk = Desk::with("", &format!("[lmtp]\nlisten = \"127.0.0.1:{lmtp}\"\n"));
    fs::create_dir_all(&desk.data).unwrap();
    chown(desk.path(), "nobody:nogroup");
    desk
}

fn pipe_line(desk: &Desk) -> String {
    // The README's master.cf entry, with the test's binary and configuration.
    format!(
        "postdesk unix - n n - - pipe\n  flags=DRO user=nobody argv={BIN} --config {} deliver --source postfix",
        desk.config.display()
    )
}

#[test]
fn postfix_delivers_by_lmtp_and_by_pipe_into_tickets() {
    let lmtp = free_port();
    let desk = owned_desk(lmtp);
    let pf = Postfix::start(
        "recipient_delimiter = +\npostdesk_destination_recipient_limit = 1",
        &pipe_line(&desk),
        &format!(
            "support@company.example lmtp:inet:127.0.0.1:{lmtp}\nbilling@company.example postdesk:\n"
        ),
    );
    // LMTP while the daemon is down: the mail waits in Postfix's queue.
    pf.send_from_customer(
        "support@company.example",
        "By LMTP",
        "pf-lmtp@example.org",
        "via lmtp\n",
    );
    pf.wait_log("the deferral", |l| {
        l.contains("to=<support@company.example>") && l.contains("status=deferred")
    });
    assert!(desk.tickets().is_empty());
    let _daemon = Daemon::start(&desk);
    pf.flush();
    let tickets = wait_tickets(&desk, 1, &pf);
    assert_eq!(tickets[0]["queue"], "Support");
    pf.wait_log("the LMTP delivery", |l| {
        l.contains("relay=127.0.0.1[127.0.0.1]")
            && l.contains("250 2.0.0 <support@company.example> stored: new ticket")
    });
    // A plus-address (an agent's reply address has this form) takes the same way.
    pf.send_from_customer(
        "support+extra@company.example",
        "Plus",
        "pf-plus@example.org",
        "plus\n",
    );
    // The pipe to `deliver`.
    pf.send_from_customer(
        "billing@company.example",
        "By pipe",
        "pf-pipe@example.org",
        "via pipe\n",
    );
    let tickets = wait_tickets(&desk, 3, &pf);
    let queue_of = |subject: &str| {
        tickets
            .iter()
            .find(|t| t["subject"] == subject)
            .map(|t| t["queue"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(queue_of("Plus").as_deref(), Some("Support"));
    assert_eq!(queue_of("By pipe").as_deref(), Some("Billing"));
    pf.wait_log("the pipe delivery", |l| {
        l.contains("relay=postdesk") && l.contains("status=sent")
    });
    desk.fsck_clean();
}

#[test]
fn postfix_keeps_mail_while_the_configuration_is_broken_and_names_no_paths() {
    let desk = owned_desk(free_port());
    let pf = Postfix::start(
        "recipient_delimiter = +\npostdesk_destination_recipient_limit = 1",
        &pipe_line(&desk),
        "billing@company.example postdesk:\n",
    );
    let good = fs::read_to_string(&desk.config).unwrap();
    fs::write(&desk.config, format!("{good}\n[no-such-table]\nkey = 1\n")).unwrap();
    pf.send_from_customer(
        "billing@company.example",
        "Waits",
        "pf-wait@example.org",
        "x\n",
    );
    pf.wait_log("the deferral", |l| {
        l.contains("relay=postdesk") && l.contains("status=deferred")
    });
    let line = pf
        .log()
        .lines()
        .find(|l| l.contains("relay=postdesk") && l.contains("status=deferred"))
        .unwrap()
        .to_string();
    let after_status = &line[line.find("status=").unwrap()..];
    assert!(!after_status.contains('/'), "{line}");
    assert!(after_status.contains("temporary failure"), "{line}");
    fs::write(&desk.config, good).unwrap();
    assert!(desk.tickets().is_empty());
    pf.flush();
    let tickets = wait_tickets(&desk, 1, &pf);
    assert_eq!(tickets[0]["queue"], "Billing");
}
