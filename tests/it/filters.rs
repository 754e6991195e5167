//! Sieve filters through the binary: routing, attributes only from scripts, discard into the
//! quarantine with the script line, and hot reload in a running daemon (a broken script keeps
//! the old rules and is named in the log; a fixed one is taken without a restart).

use std::fs;
use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{post, Desk};

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn ticket_with_subject(desk: &Desk, subject: &str) -> Option<serde_json::Value> {
    desk.tickets()
        .into_iter()
        .find(|t| t["subject"].as_str() == Some(subject))
}

#[test]
fn scripts_route_set_attributes_and_discard() {
    let desk = Desk::new();
    fs::write(
        desk.path().join("filters/50-site.sieve"),
        "require [\"fileinto\", \"editheader\", \"reject\", \"imap4flags\"];\n\
         if header :contains \"subject\" \"invoice\" { fileinto \"Billing\"; }\n\
         if address :domain :is \"from\" \"vip.example\" {\n\
           addheader \"X-Postdesk-Priority\" \"high\";\n\
           addheader \"X-Postdesk-Customer-Id\" \"4711\";\n\
           addheader \"X-Site\" \"vip\"; addflag \"\\\\Flagged\";\n\
         }\n\
         if header :contains \"subject\" \"lottery\" { discard; }\n\
         if header :contains \"subject\" \"unwanted\" { reject \"We do not take offers by mail.\"; }\n",
    )
    .unwrap();
    let md = desk.maildir("in");
    post(
        &md,
        "a@example.org",
        "support@company.example",
        "Your invoice 12",
        "f1@example.org",
        "",
        "x",
    );
    post(
        &md,
        "boss@vip.example",
        "support@company.example",
        "Call me",
        "f2@example.org",
        "",
        "x",
    );
    post(
        &md,
        "c@example.org",
        "support@company.example",
        "Urgent",
        "f3@example.org",
        "X-Postdesk-Priority: urgent\r\n",
        "x",
    );
    post(
        &md,
        "d@example.org",
        "support@company.example",
        "You won the lottery",
        "f4@example.org",
        "",
        "x",
    );
    let out = desk.drain(&md);
    assert!(
        out.contains("new tickets 3") && out.contains("quarantined 1"),
        "{out}"
    );
    assert_eq!(
        ticket_with_subject(&desk, "Your invoice 12").unwrap()["queue"],
        "Billing"
    );
    let vip = ticket_with_subject(&desk, "Call me").unwrap();
    assert_eq!(vip["priority"], "high");
    assert_eq!(vip["customer_id"], "4711");
    let n = vip["number"].as_str().unwrap();
    assert!(desk.show(n)["history"]
        .to_string()
        .contains("50-site.sieve line 4"));
    // The script's own header and flag are on the stored copy (flagged: in cur/ as NAME:2,F).
    let vip_show = desk.show(n);
    let path = vip_show["articles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["direction"] == "in")
        .unwrap()["path"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(path.contains("/cur/") && path.ends_with(":2,F"), "{path}");
    assert!(fs::read_to_string(&path).unwrap().contains("\nX-Site: vip"));
    // A header from outside sets nothing.
    assert_eq!(
        ticket_with_subject(&desk, "Urgent").unwrap()["priority"],
        "normal"
    );
    let q = fs::read_dir(desk.data.join("store/.Quarantine/new"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let text = fs::read_to_string(q.path()).unwrap();
    assert!(
        text.contains("X-Postdesk-Reason: discarded by") && text.contains("50-site.sieve line 8"),
        "{text}"
    );
    desk.fsck_clean();
    let before = desk.show(n);
    desk.ok(&["reindex"]);
    assert_eq!(desk.show(n), before);
}

#[test]
fn a_broken_script_keeps_the_old_rules_and_a_fixed_one_is_taken_live() {
    let desk = Desk::with(
        "",
        "[intake]\nrescan-seconds = 3600\n[[source]]\nname = \"inbox\"\nmaildir = \"inbox\"\n",
    );
    let script = desk.path().join("filters/50-route.sieve");
    fs::write(&script, "require \"fileinto\";\nif header :contains \"subject\" \"invoice\" { fileinto \"Billing\"; }\n").unwrap();
    let md = desk.maildir("inbox");
    let errlog = desk.path().join("daemon.err");
    let mut child = desk
        .cmd()
        .arg("run")
        .stdout(Stdio::null())
        .stderr(fs::File::create(&errlog).unwrap())
        .spawn()
        .unwrap();
    let queue_of = |desk: &Desk, s: &str| {
        let out = desk.run(&["ticket", "list", "--json"]);
        if !out.status.success() {
            return None; // the daemon is still creating the index
        }
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        list.as_array()?
            .iter()
            .find(|t| t["subject"].as_str() == Some(s))
            .map(|t| t["queue"].as_str().unwrap().to_string())
    };
    post(
        &md,
        "a@example.org",
        "support@company.example",
        "invoice one",
        "r1@example.org",
        "",
        "x",
    );
    wait_for("first mail", Duration::from_secs(60), || {
        queue_of(&desk, "invoice one").is_some()
    });
    assert_eq!(queue_of(&desk, "invoice one").unwrap(), "Billing");

    // Broken: a syntax error on line 2. The log names it; the old rules stay.
    fs::write(&script, "require \"fileinto\";\nif header :contains \"subject\" \"invoice\" { fileinto \"Phone\" }\n").unwrap();
    wait_for("the error in the log", Duration::from_secs(60), || {
        fs::read_to_string(&errlog)
            .unwrap_or_default()
            .contains("50-route.sieve:2")
    });
    post(
        &md,
        "b@example.org",
        "support@company.example",
        "invoice two",
        "r2@example.org",
        "",
        "x",
    );
    wait_for("second mail", Duration::from_secs(60), || {
        queue_of(&desk, "invoice two").is_some()
    });
    assert_eq!(
        queue_of(&desk, "invoice two").unwrap(),
        "Billing",
        "old rules kept"
    );

    // Fixed: taken without a restart.
    fs::write(&script, "require \"fileinto\";\nif header :contains \"subject\" \"invoice\" { fileinto \"Phone\"; }\n").unwrap();
    wait_for("the reload", Duration::from_secs(60), || {
        fs::read_to_string(&errlog)
            .unwrap_or_default()
            .matches("configuration reloaded")
            .count()
            >= 1
    });
    post(
        &md,
        "c@example.org",
        "support@company.example",
        "invoice three",
        "r3@example.org",
        "",
        "x",
    );
    wait_for("third mail", Duration::from_secs(60), || {
        queue_of(&desk, "invoice three").is_some()
    });
    assert_eq!(
        queue_of(&desk, "invoice three").unwrap(),
        "Phone",
        "new rules live"
    );

    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let st = child.wait().unwrap();
    let mut err = String::new();
    fs::File::open(&errlog)
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(st.success(), "{err}");
}
