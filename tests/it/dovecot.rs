//! Real Dovecot serves the ticket tree as it is: queue and ticket folders listed, an article
//! fetched byte for byte, and per-queue ACLs.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::harness::{drop_mail, mail, post, Desk};
use crate::services::{
    imap, imap_fetch_all, imap_list, imap_select_ok, imap_try, require, Dovecot,
};

#[test]
fn dovecot_serves_the_tree() {
    require("dovecot");
    let desk = Desk::new();
    let md = desk.maildir("in");
    let mut one = mail(
        "kunde@example.org",
        "support@company.example",
        "Drucker",
        "dv1@example.org",
        "",
        "Hallo,\r\nder Drucker.",
    );
    one.extend_from_slice("Grüße\r\n".as_bytes());
    drop_mail(&md, &one);
    post(
        &md,
        "k2@example.org",
        "billing@company.example",
        "Rechnung",
        "dv2@example.org",
        "",
        "Betrag",
    );
    post(
        &md,
        "kunde@example.org",
        "support@company.example",
        "Re: Drucker",
        "dv3@example.org",
        "In-Reply-To: <dv1@example.org>\r\n",
        "Noch da?",
    );
    desk.drain(&md);
    let tickets = desk.tickets();
    let sup = tickets.iter().find(|t| t["queue"] == "Support").unwrap()["number"]
        .as_str()
        .unwrap()
        .to_string();
    let bil = tickets.iter().find(|t| t["queue"] == "Billing").unwrap()["number"]
        .as_str()
        .unwrap()
        .to_string();
    desk.ok(&["ticket", "close", &bil]);

    let store = desk.data.join("store");
    let acl = vec![
        "Tickets/Support user=agent1 lrwsti".to_string(),
        "Tickets/Support/* user=agent1 lrwsti".to_string(),
        "Tickets/Billing user=agent2 lrwsti".to_string(),
        "Tickets/Billing/* user=agent2 lrwsti".to_string(),
        "Tickets/* user=admin lrwstipekxa".to_string(),
    ];
    let dv = Dovecot::start(
        &store,
        &[("agent1", "pw1"), ("agent2", "pw2"), ("admin", "adminpw")],
        &acl,
    );

    let a1 = imap_list(dv.imap_port, "agent1", "pw1");
    assert!(a1.contains(&"Tickets/Support".to_string()), "{a1:?}");
    assert!(a1.contains(&format!("Tickets/Support/{sup}")), "{a1:?}");
    assert!(
        !a1.iter().any(|m| m.contains("Billing")),
        "agent1 must not see Billing: {a1:?}"
    );
    assert!(!imap_select_ok(
        dv.imap_port,
        "agent1",
        "pw1",
        &format!("Tickets/Billing/Closed/{bil}")
    ));

    let a2 = imap_list(dv.imap_port, "agent2", "pw2");
    assert!(
        a2.contains(&"Tickets/Billing".to_string()) && !a2.iter().any(|m| m.contains(&bil)),
        "closed tickets are in the archive, not in the listed tree: {a2:?}"
    );
    assert!(!a2.iter().any(|m| m.contains("Support")), "{a2:?}");

    let admin = imap_list(dv.imap_port, "admin", "adminpw");
    for m in ["Tickets/Support", "Tickets/Billing", "Tickets/Quarantine"] {
        assert!(admin.contains(&m.to_string()), "{m} in {admin:?}");
    }

    // The articles come back byte for byte (IMAP sends CRLF; the files are CRLF as received).
    let show = desk.show(&sup);
    let mut on_disk: Vec<Vec<u8>> = show["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| fs::read(a["path"].as_str().unwrap()).unwrap())
        .collect();
    let mut fetched = imap_fetch_all(
        dv.imap_port,
        "agent1",
        "pw1",
        &format!("Tickets/Support/{sup}"),
    );
    on_disk.sort();
    fetched.sort();
    assert_eq!(fetched.len(), on_disk.len());
    assert_eq!(fetched, on_disk);
    assert!(fetched
        .iter()
        .any(|m| m.windows(4).any(|w| w == "Grü".as_bytes())));
    let first = String::from_utf8_lossy(&fetched[0]);
    assert!(first.starts_with("X-Postdesk-Block: 2 "), "{first}");
    assert!(first.contains(&format!("\r\nX-Postdesk-Ticket: {sup}\r\n")));
}

/// `postdesk dovecot-config` is what Dovecot runs on: agents see their queues only, an admin
/// everything, and a ticket an agent moves into the Closed area with their mail client is closed.
#[test]
fn generated_config_serves_each_agent_their_queues_and_adopts_a_rename() {
    require("dovecot");
    let agents = r#"
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
name = "Bob"
address = "bob@company.example"
login = "bob"
password-hash = "{PLAIN}bobpw"
queues = ["Billing"]

[[agent]]
name = "Admin"
address = "admin@company.example"
login = "admin"
password-hash = "{PLAIN}adminpw"
queues = ["Support", "Billing"]
"#;
    let desk = Desk::with("", agents);
    // As on a server: the data directory belongs to the user Dovecot's mail processes run as
    // (postdesk, run as root here, acts as that user).
    fs::set_permissions(desk.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::create_dir_all(&desk.data).unwrap();
    std::os::unix::fs::chown(&desk.data, Some(65534), Some(65534)).unwrap();
    let md = desk.maildir("in");
    post(
        &md,
        "k@example.org",
        "support@company.example",
        "Printer",
        "g1@example.org",
        "",
        "x",
    );
    post(
        &md,
        "k@example.org",
        "billing@company.example",
        "Invoice",
        "g2@example.org",
        "",
        "x",
    );
    desk.drain(&md);
    let tickets = desk.tickets();
    let num = |q: &str| {
        tickets.iter().find(|t| t["queue"] == q).unwrap()["number"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (sup, bil) = (num("Support"), num("Billing"));
    let out = desk.ok(&["dovecot-config"]);
    assert!(out.contains("!include"), "{out}");
    let acl = fs::read_to_string(desk.data.join("dovecot/global-acl")).unwrap();
    assert!(
        acl.contains("Tickets/Support user=carol rwstiekx")
            && acl.contains("Tickets/Support/* user=carol lrwstiekx"),
        "{acl}"
    );
    assert!(
        acl.contains("Tickets/Billing/* user=bob lrwstiekx"),
        "{acl}"
    );

    // The passwd file is 0640 (it holds password hashes): Dovecot's auth process, which runs
    // as its internal user, reads it through its group.
    let passwd = desk.data.join("dovecot/passwd");
    let mode = fs::metadata(&passwd).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
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
    for p in [&passwd, &desk.data.join("dovecot")] {
        std::os::unix::fs::chown(p, None, dovecot_gid).unwrap();
    }
    let store = desk.data.join("store");
    let dv = Dovecot::start_generated(&store, &desk.data.join("dovecot"));
    dv.chown_store();
    let carol = imap_list(dv.imap_port, "carol", "carolpw");
    assert!(
        carol.contains(&format!("Tickets/Support/{sup}")),
        "{carol:?}"
    );
    assert!(!carol.iter().any(|m| m.contains("Billing")), "{carol:?}");
    // The queue's own folder is not listed (listing it made Dovecot list the queue twice).
    assert!(!carol.iter().any(|m| m == "Tickets/Support"), "{carol:?}");
    // A client walking the tree a level at a time still finds it, as a parent, and may open it.
    let level = imap(
        dv.imap_port,
        "carol",
        "carolpw",
        "typ, d = M.list('\"\"', '\"Tickets/%\"')\nfor x in d: out(x.decode())",
    );
    assert!(
        level
            .lines()
            .any(|l| l.contains("\\Noselect") && l.ends_with("Tickets/Support")),
        "{level}"
    );
    assert!(imap_select_ok(
        dv.imap_port,
        "carol",
        "carolpw",
        "Tickets/Support"
    ));
    let bob = imap_list(dv.imap_port, "bob", "bobpw");
    assert!(bob.contains(&format!("Tickets/Billing/{bil}")), "{bob:?}");
    assert!(!bob.iter().any(|m| m.contains("Support")), "{bob:?}");
    let admin = imap_list(dv.imap_port, "admin", "adminpw");
    for m in ["Tickets/Support", "Tickets/Billing", "Tickets/Quarantine"] {
        assert!(admin.iter().any(|x| x == m), "{m} in {admin:?}");
    }
    // Carol closes the ticket by moving its folder into the Closed area.
    let script = format!(
        "typ, data = M.rename(q('Tickets/Support/{sup}'), q('Tickets/Support/Closed/{sup}'))\nout(typ, data)"
    );
    let r = imap_try(dv.imap_port, "carol", "carolpw", &script).unwrap();
    assert!(r.starts_with("OK"), "{r}\n{}", dv.log());
    // Bob may not touch Support.
    let script = format!("typ, data = M.rename(q('Tickets/Support/Closed/{sup}'), q('Tickets/Billing/{sup}'))\nout(typ)");
    let r = imap_try(dv.imap_port, "bob", "bobpw", &script);
    assert!(r.map(|o| !o.starts_with("OK")).unwrap_or(true));
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let out = desk.drain(&md);
    assert!(
        out.contains(&format!("ticket {sup} closed by an agent's mail client")),
        "{out}"
    );
    assert_eq!(desk.show(&sup)["state"], "closed");
    desk.fsck_clean();
}
