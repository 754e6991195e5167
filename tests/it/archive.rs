//! Closed tickets live in the archive, which Dovecot serves as a namespace of its own that is
//! not listed: an agent's client lists only open tickets, opens an archived one by name, and a
//! close and reopen by postdesk keep UIDVALIDITY and the agent's seen flags (Dovecot's files
//! follow the folder).

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::harness::{post, Desk};
use crate::services::{imap, imap_list, require, Dovecot};
use crate::tree::chrono_month;

const AGENTS: &str = r#"
[dovecot]
admins = ["admin"]
mail-uid = 65534
mail-gid = 65534

[[agent]]
name = "Carol"
address = "carol@company.example"
login = "carol"
password-hash = "{PLAIN}carolpw"
queues = ["Support"]

[[agent]]
name = "Admin"
address = "admin@company.example"
login = "admin"
password-hash = "{PLAIN}adminpw"
queues = ["Support", "Billing"]
"#;

/// UIDVALIDITY and UNSEEN of a mailbox as an agent sees it, or the server's answer if it fails.
fn status(port: u16, user: &str, pass: &str, mailbox: &str) -> (u64, u64) {
    let script = format!(
        "typ, d = M.status(q({mailbox:?}), '(UIDVALIDITY UNSEEN MESSAGES)')\nout(typ, d[0].decode())"
    );
    let r = imap(port, user, pass, &script);
    assert!(r.starts_with("OK"), "STATUS {mailbox}: {r}");
    let num = |key: &str| -> u64 {
        let i = r.find(key).unwrap_or_else(|| panic!("{key} in {r}")) + key.len() + 1;
        r[i..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    (num("UIDVALIDITY"), num("UNSEEN"))
}

/// The UIDs of a mailbox's messages, as an agent sees them.
fn uids(port: u16, user: &str, pass: &str, mailbox: &str) -> String {
    let script = format!(
        "M.select(q({mailbox:?}), readonly=True)\ntyp, d = M.uid('search', None, 'ALL')\nout(typ, d[0].decode())"
    );
    let r = imap(port, user, pass, &script);
    assert!(r.starts_with("OK "), "UID SEARCH {mailbox}: {r}");
    r.trim().to_string()
}

/// Dovecot's auth process reads the 0640 passwd file in `generated` through its group.
pub(crate) fn passwd_to_dovecot(generated: &std::path::Path) {
    let dovecot_gid = fs::read_to_string("/etc/group")
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("dovecot:x:")?
                .split(':')
                .next()?
                .parse()
                .ok()
        });
    for p in [generated.join("passwd"), generated.to_path_buf()] {
        std::os::unix::fs::chown(p, None, dovecot_gid).unwrap();
    }
}

/// A desk whose data directory belongs, as on a server, to the user Dovecot's mail processes
/// run as.
fn served_desk() -> Desk {
    let desk = Desk::with("", AGENTS);
    give_to_dovecot(&desk);
    desk
}

/// The desk's data directory to the user Dovecot's mail processes run as.
pub(crate) fn give_to_dovecot(desk: &Desk) {
    fs::set_permissions(desk.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::create_dir_all(&desk.data).unwrap();
    std::os::unix::fs::chown(&desk.data, Some(65534), Some(65534)).unwrap();
}

#[test]
fn agents_list_open_tickets_open_archived_ones_by_name_and_keep_seen_flags() {
    require("dovecot");
    let desk = served_desk();
    let md = desk.maildir("in");
    for (subject, id) in [
        ("Printer", "ar1@example.org"),
        ("Scanner", "ar2@example.org"),
    ] {
        post(
            &md,
            "k@example.org",
            "support@company.example",
            subject,
            id,
            "",
            "x",
        );
    }
    desk.drain(&md);
    let num = |subject: &str| desk.number_of(subject);
    let (open, old) = (num("Printer"), num("Scanner"));
    desk.ok(&["ticket", "close", &old]);
    let out = desk.ok(&["dovecot-config"]);
    assert!(out.contains("!include"), "{out}");
    let conf = fs::read_to_string(desk.data.join("dovecot/postdesk.conf")).unwrap();
    assert!(
        conf.contains("prefix = Archive/") && conf.contains("list = no"),
        "{conf}"
    );
    let acl = fs::read_to_string(desk.data.join("dovecot/global-acl")).unwrap();
    assert!(acl.contains("Archive/Support/* user=carol lrwsti"), "{acl}");

    passwd_to_dovecot(&desk.data.join("dovecot"));
    let dv = Dovecot::start_generated(&desk.data.join("store"), &desk.data.join("dovecot"));
    let hand_over = || {
        dv.chown_store();
        dv.chown_tree(&desk.data.join("archive"));
    };
    hand_over();
    let month = chrono_month();
    let listed = imap_list(dv.imap_port, "carol", "carolpw");
    assert!(
        listed.contains(&format!("Tickets/Support/{open}")),
        "{listed:?}"
    );
    assert!(
        !listed
            .iter()
            .any(|m| m.contains(&old) || m.starts_with("Archive")),
        "only open tickets are listed: {listed:?}"
    );
    // The archived ticket opens by name.
    let archived = format!("Archive/Support/{month}/{old}");
    let r = imap(
        dv.imap_port,
        "carol",
        "carolpw",
        &format!("typ, d = M.select(q({archived:?}))\nout(typ, d[0].decode())"),
    );
    let r = r.trim();
    assert!(r.starts_with("OK ") && r != "OK 0", "{r}\n{}", dv.log());

    // Carol reads everything in the open ticket.
    let mailbox = format!("Tickets/Support/{open}");
    let r = imap(
        dv.imap_port,
        "carol",
        "carolpw",
        &format!(
            "M.select(q({mailbox:?}))\ntyp, _ = M.store('1:*', '+FLAGS', '\\\\Seen')\nout(typ)"
        ),
    );
    assert_eq!(r.trim(), "OK");
    let (validity, unseen) = status(dv.imap_port, "carol", "carolpw", &mailbox);
    assert_eq!(unseen, 0);
    let open_uids = uids(dv.imap_port, "carol", "carolpw", &mailbox);

    // postdesk closes it: into the archive, Dovecot's files along.
    desk.ok(&["ticket", "close", &open]);
    hand_over();
    let listed = imap_list(dv.imap_port, "carol", "carolpw");
    assert!(!listed.iter().any(|m| m.contains(&open)), "{listed:?}");
    let closed = format!("Archive/Support/{month}/{open}");
    assert_eq!(
        status(dv.imap_port, "carol", "carolpw", &closed),
        (validity, 0),
        "closing keeps UIDVALIDITY and seen flags\n{}",
        dv.log()
    );
    assert_eq!(uids(dv.imap_port, "carol", "carolpw", &closed), open_uids);
    // And reopens it: back in the listed tree, still read, same UIDVALIDITY.
    desk.ok(&["ticket", "reopen", &open]);
    hand_over();
    assert_eq!(
        status(dv.imap_port, "carol", "carolpw", &mailbox),
        (validity, 0),
        "reopening keeps UIDVALIDITY and seen flags\n{}",
        dv.log()
    );
    assert_eq!(uids(dv.imap_port, "carol", "carolpw", &mailbox), open_uids);
    // The ticket archived before Dovecot started comes back into the listed tree.
    desk.ok(&["ticket", "reopen", &old]);
    hand_over();
    let listed = imap_list(dv.imap_port, "carol", "carolpw");
    assert!(
        listed.contains(&format!("Tickets/Support/{old}")),
        "{listed:?}"
    );
    assert!(!desk
        .data
        .join(format!("archive/Support/{month}/{old}"))
        .exists());
    desk.fsck_clean();
}

/// Dovecot's files of every folder under `dir` (index and control trees), by folder name.
fn folders_with_files(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else if d != dir {
                out.push(d.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn listing_opens_no_ticket_and_selecting_an_archived_one_opens_no_other() {
    require("dovecot");
    let desk = served_desk();
    let md = desk.maildir("in");
    let subjects = ["Alpha", "Bravo", "Charlie", "Delta"];
    for (i, subject) in subjects.iter().enumerate() {
        let id = format!("lo{i}@example.org");
        post(
            &md,
            "k@example.org",
            "support@company.example",
            subject,
            &id,
            "",
            "x",
        );
    }
    desk.drain(&md);
    let [a, b, c, d] = subjects.map(|s| desk.number_of(s));
    desk.ok(&["ticket", "close", &c]);
    desk.ok(&["ticket", "close", &d]);
    desk.ok(&["dovecot-config"]);
    let gen = desk.data.join("dovecot");
    passwd_to_dovecot(&gen);
    let dv = Dovecot::start_generated(&desk.data.join("store"), &gen);
    dv.chown_store();
    dv.chown_tree(&desk.data.join("archive"));

    // Listing the tree lists the open tickets without opening any of them.
    let listed = imap_list(dv.imap_port, "carol", "carolpw");
    for n in [&a, &b] {
        assert!(
            listed.contains(&format!("Tickets/Support/{n}")),
            "{listed:?}"
        );
    }
    let opened = [
        folders_with_files(&gen.join("index")),
        folders_with_files(&gen.join("control")),
    ];
    assert_eq!(
        opened,
        [Vec::<String>::new(), Vec::new()],
        "LIST opened tickets"
    );

    // Opening one archived ticket by name opens that one only.
    let archived = format!("Archive/Support/{}/{c}", chrono_month());
    let r = imap(
        dv.imap_port,
        "carol",
        "carolpw",
        &format!("typ, d = M.select(q({archived:?}))\nout(typ, d[0].decode())"),
    );
    let r = r.trim();
    assert!(r.starts_with("OK ") && r != "OK 0", "{r}\n{}", dv.log());
    for tree in ["archive-index", "archive-control"] {
        assert_eq!(
            folders_with_files(&gen.join(tree)),
            vec![c.clone()],
            "{tree}"
        );
    }

    // A session lists a ticket filed after it began (it does not wait for a new login).
    let (listed, go) = (desk.path().join("listed"), desk.path().join("go"));
    let script = format!(
        "import os, time\n\
         out(len(list_mailboxes('Tickets/Support/*')))\n\
         open({listed:?}, 'w').close()\n\
         while not os.path.exists({go:?}): time.sleep(0.05)\n\
         for f, n in list_mailboxes('Tickets/Support/*'): out(n)"
    );
    let port = dv.imap_port;
    let session = std::thread::spawn(move || imap(port, "carol", "carolpw", &script));
    while !listed.exists() && !session.is_finished() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    post(
        &md,
        "k@example.org",
        "support@company.example",
        "Echo",
        "lo9@example.org",
        "",
        "x",
    );
    desk.drain(&md);
    dv.chown_store();
    fs::write(&go, "").unwrap();
    let out = session.join().unwrap();
    let e = desk.number_of("Echo");
    assert!(out.starts_with("2\n"), "{out}");
    assert!(out.contains(&format!("Tickets/Support/{e}")), "{out}");
}
