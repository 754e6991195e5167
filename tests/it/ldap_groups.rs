//! Agents' queues from LDAP groups, through to a real Dovecot: the directory file gives the
//! groups their queues, slapd their members; `dovecot-config` writes each agent's ACL from them,
//! and the running daemon rewrites it when a refresh finds a group changed, so an agent removed
//! from a group (ldapmodify) no longer lists the queue, and one removed from the directory
//! loses everything — without anyone running a command.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::archive::{give_to_dovecot, passwd_to_dovecot};
use crate::harness::{files_in, post};
use crate::ldap::{ldap_desk, sync, test_ldif};
use crate::outgoing::header;
use crate::services::{imap_list, require, Dovecot};
use crate::slapd::{Slapd, SUFFIX};

const GROUPS: &str = r#"
[[group]]
name = "cn=support,ou=groups,dc=example,dc=test"
queues = ["Support"]

[[group]]
name = "CN=Billing, OU=Groups, DC=example, DC=test"
queues = ["Billing"]
"#;

const AGENTS: &str = r#"
[[source]]
name = "inbox"
maildir = "inbox"

[dovecot]
mail-uid = 65534
mail-gid = 65534

[[agent]]
name = "Carol"
address = "carol@company.example"
login = "carol"
password-hash = "{PLAIN}carolpw"

[[agent]]
name = "Bob"
address = "bob@company.example"
login = "bob"
password-hash = "{PLAIN}bobpw"
"#;

/// The agents' notices in the local outbox.
fn notices(desk: &crate::harness::Desk) -> Vec<String> {
    files_in(&desk.data.join("outbox/new"))
        .iter()
        .map(|f| fs::read_to_string(f).unwrap())
        .filter(|m| header(m, "Auto-Submitted").is_some_and(|v| v == "auto-generated"))
        .collect()
}

fn notice_about(desk: &crate::harness::Desk, number: &str) -> String {
    notices(desk)
        .into_iter()
        .find(|m| m.contains(number))
        .unwrap_or_else(|| panic!("no notice about {number}"))
}

fn wait_for(what: &str, limit: Duration, f: impl Fn() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn an_agent_removed_from_an_ldap_group_loses_the_queue_in_dovecot() {
    require("slapd");
    require("dovecot");
    let slapd = Slapd::start(&test_ldif());
    let desk = ldap_desk(
        &slapd,
        &slapd.url(),
        &format!("refresh-seconds = 1\n{AGENTS}"),
        Some(GROUPS),
    );
    give_to_dovecot(&desk);
    let (code, out, err) = sync(&desk);
    assert_eq!(code, 0, "{out}{err}");
    let md = desk.maildir("in");
    for (to, id) in [
        ("support@company.example", "g1@example.org"),
        ("billing@company.example", "g2@example.org"),
    ] {
        post(&md, "k@example.org", to, "Question", id, "", "x");
    }
    desk.drain(&md);
    // Bob, in [[agent]] without queues, is an agent of Billing through his group: he gets
    // its notices, and his answer from one is an agent's answer.
    let billing = desk
        .tickets()
        .into_iter()
        .find(|t| t["queue"] == "Billing")
        .unwrap()["number"]
        .as_str()
        .unwrap()
        .to_string();
    let notice = notice_about(&desk, &billing);
    assert!(
        header(&notice, "To")
            .unwrap()
            .contains("bob@company.example"),
        "{notice}"
    );
    let reply_to = header(&notice, "Reply-To").unwrap();
    let address = reply_to.rsplit('<').next().unwrap().trim_end_matches('>');
    post(
        &md,
        "Bob Agent <bob@company.example>",
        address,
        &format!("Re: [Ticket#{billing}] Question"),
        "bob1@company.example",
        "",
        "Paid, thank you.",
    );
    desk.drain(&md);
    let answers = desk.show(&billing)["articles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["direction"] == "agent")
        .count();
    assert_eq!(answers, 1, "{}", desk.show(&billing));

    desk.ok(&["dovecot-config"]);
    let acl_file = desk.data.join("dovecot/global-acl");
    let acl = || fs::read_to_string(&acl_file).unwrap();
    let a = acl();
    for line in [
        "Tickets/Support user=carol rwstiekx",
        "Tickets/Support/* user=carol lrwstiekx",
        "Tickets/Support/* user=bob lrwstiekx",
        "Tickets/Billing user=bob rwstiekx",
        "Archive/Billing/* user=bob lrwsti",
        // Listed in [[agent]] (the harness's Alice), not through a group.
        "Tickets/Billing/* user=alice@company.example lrwstiekx",
    ] {
        assert!(a.contains(line), "{line} in\n{a}");
    }
    assert!(!a.contains("Tickets/Billing user=carol"), "{a}");

    passwd_to_dovecot(&desk.data.join("dovecot"));
    let dv = Dovecot::start_generated(&desk.data.join("store"), &desk.data.join("dovecot"));
    // A queue's tickets are listed (its own folder, which holds no mail, is not).
    let lists = |user: &str, pw: &str, queue: &str| {
        imap_list(dv.imap_port, user, pw)
            .iter()
            .any(|m| m.starts_with(&format!("Tickets/{queue}/")))
    };
    assert!(lists("bob", "bobpw", "Support") && lists("bob", "bobpw", "Billing"));
    assert!(lists("carol", "carolpw", "Support") && !lists("carol", "carolpw", "Billing"));

    // A source the daemon watches, which the user it acts as may write.
    let inbox = desk.maildir("inbox");
    for d in ["", "new", "cur", "tmp"] {
        std::os::unix::fs::chown(inbox.join(d), Some(65534), Some(65534)).unwrap();
    }
    let daemon = desk
        .cmd()
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Bob leaves the support group; Carol leaves the directory (her DN stays a member: slapd
    // keeps no referential integrity, and a member who is no person is no member).
    slapd.modify(&format!(
        "dn: cn=support,ou=groups,{SUFFIX}\nchangetype: modify\ndelete: member\n\
         member: uid=bob,ou=people,{SUFFIX}\n\n\
         dn: uid=carol,ou=people,{SUFFIX}\nchangetype: delete\n"
    ));
    wait_for(
        "the daemon to rewrite the ACL",
        Duration::from_secs(30),
        || {
            let a = acl();
            !a.contains("Tickets/Support user=bob") && !a.contains("user=carol")
        },
    );
    let a = acl();
    assert!(a.contains("Tickets/Billing/* user=bob lrwstiekx"), "{a}");
    let mode = fs::metadata(&acl_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    // Dovecot reads the rules at each login: Bob no longer lists Support, Carol nothing.
    assert!(!lists("bob", "bobpw", "Support"), "{}", dv.log());
    assert!(lists("bob", "bobpw", "Billing"));
    let carol = imap_list(dv.imap_port, "carol", "carolpw");
    assert!(
        !carol.iter().any(|m| m.starts_with("Tickets/")),
        "{carol:?}"
    );
    // The running daemon knows it too: a new Support ticket's notice goes to Alice (listed in
    // [[agent]]) alone, no longer to Bob or Carol.
    post(
        &inbox,
        "k2@example.org",
        "support@company.example",
        "Another question",
        "g3@example.org",
        "",
        "y",
    );
    wait_for("the daemon's ticket", Duration::from_secs(30), || {
        desk.tickets().len() == 3
    });
    let support = desk
        .tickets()
        .into_iter()
        .find(|t| t["subject"] == "Another question")
        .unwrap()["number"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for("the daemon's notice", Duration::from_secs(30), || {
        notices(&desk).iter().any(|m| m.contains(&support))
    });
    let to = header(&notice_about(&desk, &support), "To").unwrap();
    assert!(
        to.contains("alice@company.example") && !to.contains("bob@") && !to.contains("carol@"),
        "{to}"
    );

    let _ = std::process::Command::new("kill")
        .arg(daemon.id().to_string())
        .status();
    let out = daemon.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("Dovecot's ACL rewritten"), "{log}");
}
