//! `postdesk compact-tree` moves the listed tree into a new directory while Dovecot serves it:
//! killed after some entries and right after the directories' exchange, every folder stays
//! listed and readable through Dovecot, postdesk files into it, an agent's move made meanwhile
//! is carried over, and `fsck` agrees at each step.

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use crate::archive::{give_to_dovecot, passwd_to_dovecot};
use crate::harness::{post, Desk};
use crate::services::{imap_fetch_all, imap_list, imap_try, require, Dovecot};

const AGENTS: &str = r#"
[dovecot]
mail-uid = 65534
mail-gid = 65534

[[agent]]
name = "Carol"
address = "carol@company.example"
login = "carol"
password-hash = "{PLAIN}carolpw"
queues = ["Support"]
"#;

fn links(store: &Path) -> usize {
    fs::read_dir(store)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_symlink())
        .count()
}

fn tickets_listed(port: u16) -> Vec<String> {
    let mut v: Vec<String> = imap_list(port, "carol", "carolpw")
        .into_iter()
        .filter(|m| m.starts_with("Tickets/Support/") && !m.contains("Closed"))
        .collect();
    v.sort();
    v
}

fn killed(desk: &Desk, at: &str) {
    let out = desk
        .cmd()
        .arg("compact-tree")
        .env("POSTDESK_COMPACT_CRASH", at)
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGABRT), "{out:?}");
}

#[test]
fn compaction_killed_anywhere_keeps_every_folder_served_and_finishes_on_the_next_run() {
    require("dovecot");
    let desk = Desk::with("", AGENTS);
    give_to_dovecot(&desk);
    let md = desk.maildir("in");
    for i in 0..8 {
        post(
            &md,
            &format!("k{i}@example.org"),
            "support@company.example",
            &format!("Case {i}"),
            &format!("cp{i}@example.org"),
            "",
            "x",
        );
    }
    desk.drain(&md);
    let numbers: Vec<String> = desk
        .tickets()
        .iter()
        .map(|t| t["number"].as_str().unwrap().to_string())
        .collect();
    desk.ok(&["dovecot-config"]);
    passwd_to_dovecot(&desk.data.join("dovecot"));
    let store = desk.data.join("store");
    let dv = Dovecot::start_generated(&store, &desk.data.join("dovecot"));
    dv.chown_store();
    let listed = tickets_listed(dv.imap_port);
    assert_eq!(listed.len(), 8, "{listed:?}");
    let count = |n: &str| {
        let m = format!("Tickets/Support/{n}");
        imap_fetch_all(dv.imap_port, "carol", "carolpw", &m).len()
    };
    let before: Vec<usize> = numbers.iter().map(|n| count(n)).collect();
    assert!(before.iter().all(|c| *c >= 1), "{before:?}");

    // Killed part way: the folders moved so far are reached through links in the tree.
    killed(&desk, "3");
    assert_eq!(links(&store), 3);
    assert_eq!(tickets_listed(dv.imap_port), listed);
    for (n, c) in numbers.iter().zip(&before) {
        assert_eq!(count(n), *c, "{n}");
    }
    // postdesk files into the tree as it is: a new ticket, and a follow-up to each ticket.
    for (i, n) in numbers.iter().enumerate() {
        post(
            &md,
            &format!("k{i}@example.org"),
            "support@company.example",
            &format!("Re: [Ticket#{n}] Case {i}"),
            &format!("cp-re{i}@example.org"),
            "",
            "more",
        );
    }
    post(
        &md,
        "new@example.org",
        "support@company.example",
        "Another case",
        "cp-new@example.org",
        "",
        "x",
    );
    desk.drain(&md);
    desk.fsck_clean();
    // An agent closes a ticket by moving its folder while it is a link.
    let moved = numbers
        .iter()
        .find(|n| fs::read_link(store.join(format!(".Support.{n}"))).is_ok())
        .expect("a ticket folder reached through a link");
    let script = format!(
        "typ, data = M.rename(q('Tickets/Support/{moved}'), q('Tickets/Support/Closed/{moved}'))\nout(typ, data)"
    );
    let r = imap_try(dv.imap_port, "carol", "carolpw", &script).unwrap();
    assert!(r.starts_with("OK"), "{r}\n{}", dv.log());

    // Killed right after the exchange: the tree is the new directory, the old one beside it.
    killed(&desk, "swapped");
    assert_eq!(links(&store), 0);
    assert!(desk.data.join("store.compact").is_dir());
    // Until the next run carries the agent's move over, the folder is back under its old name
    // (the link that was moved is in the old directory): nothing is lost, the move waits.
    let now = tickets_listed(dv.imap_port);
    assert_eq!(now.len(), 9, "the first 8 and the new one: {now:?}");

    let out = desk.ok(&["compact-tree"]);
    assert!(out.contains("1 renamed"), "{out}");
    assert!(!desk.data.join("store.compact").exists());
    assert_eq!(links(&store), 0);
    let now = tickets_listed(dv.imap_port);
    assert_eq!(now.len(), 8, "7 of the first and the new one: {now:?}");
    for (n, c) in numbers.iter().zip(&before).filter(|(n, _)| *n != moved) {
        assert_eq!(
            count(n),
            c + 1,
            "{n}: the follow-up filed while it was a link"
        );
    }
    // The agent's close survived the compaction and is adopted as such.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let out = desk.drain(&md);
    assert!(
        out.contains(&format!("ticket {moved} closed by an agent's mail client")),
        "{out}"
    );
    assert_eq!(desk.show(moved)["state"], "closed");
    desk.fsck_clean();
    // A second run has nothing to carry over and leaves no trace.
    let out = desk.ok(&["compact-tree"]);
    assert!(out.contains("0 renamed"), "{out}");
    assert!(!desk.data.join("store.compact").exists());
}

/// The daemon watches the tree's directory for agents' moves: after compaction put a new one in
/// its place, it watches that one (a long rescan interval: only inotify can make it see the move).
#[test]
fn the_daemon_watches_the_new_directory_after_compaction() {
    let desk = Desk::with(
        "",
        "[intake]\nrescan-seconds = 3600\n[[source]]\nname = \"inbox\"\nmaildir = \"inbox\"\n",
    );
    let md = desk.maildir("inbox");
    for i in 0..3 {
        post(
            &md,
            &format!("w{i}@example.org"),
            "support@company.example",
            &format!("Watch {i}"),
            &format!("cw{i}@example.org"),
            "",
            "x",
        );
    }
    desk.drain(&md);
    let number = desk.tickets()[0]["number"].as_str().unwrap().to_string();
    let mut daemon = desk
        .cmd()
        .arg("run")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let out = desk.ok(&["compact-tree"]);
    assert!(out.contains("entries moved"), "{out}");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let store = desk.data.join("store");
    fs::rename(
        store.join(format!(".Support.{number}")),
        store.join(format!(".Support.Closed.{number}")),
    )
    .unwrap();
    let t = std::time::Instant::now();
    while desk.show(&number)["state"] != "closed" {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(15),
            "the daemon did not see the move in the new directory"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = daemon.kill();
    let _ = daemon.wait();
}
