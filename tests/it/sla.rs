//! Service levels with the real daemon: a ticket's first-response warning and breach happen once
//! each, in order, even when the daemon is killed with SIGKILL right at the due time and
//! started again; the customer's message is flagged in the tree (`:2,F`) and unflagged once the
//! agent's answer meets the deadline; a `#pending` time reminds the owner; `reindex` repeats
//! nothing.

use std::fs;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{drop_mail, post, Desk};

/// A desk whose Support queue has a service level with `first-response` (in the 24/7 calendar).
fn desk_with(first_response: &str) -> Desk {
    let desk = Desk::with(
        "",
        &format!(
            "[intake]\nrescan-seconds = 3600\n[[source]]\nname = \"inbox\"\nmaildir = \"inbox\"\n\
             [[sla]]\nname = \"fast\"\nfirst-response = \"{first_response}\"\nwarning-percent = 50\n"
        ),
    );
    let text = fs::read_to_string(&desk.config).unwrap();
    let text = text.replacen(
        "name = \"Support\"\n",
        "name = \"Support\"\nsla = \"fast\"\n",
        1,
    );
    fs::write(&desk.config, text).unwrap();
    desk
}

fn start(desk: &Desk) -> Child {
    let err = fs::File::options()
        .create(true)
        .append(true)
        .open(desk.path().join("daemon.log"))
        .unwrap();
    desk.cmd()
        .arg("run")
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .unwrap()
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The history lines of an event in the ticket's event log, by key (the last line per key
/// counts, as for every reader of the log).
fn log_keys(desk: &Desk, number: &str, event: &str) -> Vec<String> {
    let show = desk.show(number);
    let article = show["articles"][0]["path"].as_str().unwrap().to_string();
    let folder = Path::new(&article).parent().unwrap().parent().unwrap();
    let text = fs::read_to_string(folder.join("postdesk-history")).unwrap_or_default();
    let mut keys: Vec<String> = Vec::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["event"] == event {
            let k = v["key"].as_str().unwrap().to_string();
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    keys
}

fn events(desk: &Desk, number: &str, event: &str) -> usize {
    desk.show(number)["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["event"] == event)
        .count()
}

/// The notices to the agent about `words`, by Message-ID: the outbox hands a mail over again
/// when the process died between the hand-over and recording it sent, with the same Message-ID.
fn notices(desk: &Desk, words: &str) -> usize {
    let mut ids: Vec<String> = desk
        .outbox_to("alice@company.example")
        .iter()
        .map(|m| m.replace("\r\n ", " "))
        .filter(|m| m.contains(words))
        .map(|m| {
            m.lines()
                .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids.len()
}

/// The customer's message as it is in the tree now.
fn customer_file(desk: &Desk, number: &str) -> String {
    desk.show(number)["articles"][0]["path"]
        .as_str()
        .unwrap()
        .to_string()
}

fn flagged(path: &str) -> bool {
    path.rsplit_once(":2,")
        .is_some_and(|(_, flags)| flags.contains('F'))
}

#[test]
fn warning_then_breach_once_each_across_a_kill_at_the_due_time() {
    // Three tickets, the daemon killed at a different moment around each one's due time.
    for (i, offset_ms) in [-30i64, 0, 40].into_iter().enumerate() {
        let desk = desk_with("3s");
        let md = desk.maildir("inbox");
        let mut daemon = start(&desk);
        let subject = format!("Printer {i}");
        post(
            &md,
            "Carl Customer <carl@example.org>",
            "support@company.example",
            &subject,
            &format!("sla{i}@example.org"),
            "",
            "It jams.",
        );
        wait_for("the ticket", Duration::from_secs(20), || {
            desk.mail_log().contains(&format!("sla{i}@example.org"))
        });
        let n = desk.number_of(&subject);
        let created =
            chrono::DateTime::parse_from_rfc3339(desk.show(&n)["created"].as_str().unwrap())
                .unwrap();
        // The warning at half the time comes while the daemon runs.
        wait_for("the warning", Duration::from_secs(20), || {
            events(&desk, &n, "sla-warning") == 1
        });
        // The flag follows the commit of the history line.
        wait_for("the flag", Duration::from_secs(20), || {
            flagged(&customer_file(&desk, &n))
        });
        // Killed right at the due time (3 s after the opening, give or take the offset).
        let due = created + chrono::Duration::milliseconds(3000 + offset_ms);
        let wait = (due.with_timezone(&chrono::Utc) - chrono::Utc::now())
            .to_std()
            .unwrap_or_default();
        std::thread::sleep(wait);
        daemon.kill().unwrap(); // SIGKILL
        daemon.wait().unwrap();
        let mut daemon = start(&desk);
        wait_for("the breach", Duration::from_secs(20), || {
            events(&desk, &n, "sla-breach") == 1
        });
        wait_for("both notices sent", Duration::from_secs(20), || {
            notices(&desk, "SLA breached") == 1
        });
        // Give a repeat every chance to happen.
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(
            notices(&desk, "SLA warning"),
            1,
            "one warning (kill at {offset_ms} ms): {:?}\n{}\n{}",
            desk.outbox_to("alice@company.example")
                .iter()
                .map(|m| m.lines().take(12).collect::<Vec<_>>().join(" | "))
                .collect::<Vec<_>>(),
            desk.show(&n)["history"],
            fs::read_to_string(desk.path().join("daemon.log")).unwrap_or_default()
        );
        assert_eq!(
            notices(&desk, "SLA breached"),
            1,
            "one breach (kill at {offset_ms} ms)"
        );
        assert_eq!(events(&desk, &n, "sla-warning"), 1);
        assert_eq!(events(&desk, &n, "sla-breach"), 1);
        assert_eq!(log_keys(&desk, &n, "sla-warning").len(), 1);
        assert_eq!(log_keys(&desk, &n, "sla-breach").len(), 1);
        let history = desk.show(&n)["history"].as_array().unwrap().clone();
        let pos = |e: &str| history.iter().position(|h| h["event"] == e).unwrap();
        assert!(
            pos("sla-warning") < pos("sla-breach"),
            "warning before breach: {history:?}"
        );
        let path = customer_file(&desk, &n);
        assert!(flagged(&path), "still flagged: {path}");
        let t = desk.show(&n);
        assert_eq!(t["sla"], "fast");
        assert_eq!(t["deadlines"][0]["clock"], "first-response");
        assert_eq!(t["deadlines"][0]["state"], "breached", "{t}");
        let breached = desk.json(&["ticket", "list", "--breached", "--json"]);
        assert_eq!(breached.as_array().unwrap().len(), 1);

        if i == 0 {
            // The agent answers: the deadline is met (late), the flag goes.
            let stored = fs::read_to_string(&path).unwrap();
            let reply_to = stored
                .lines()
                .find_map(|l| l.strip_prefix("Reply-To: "))
                .unwrap()
                .to_string();
            let answer = format!(
                "From: Alice Agent <alice@company.example>\r\nTo: {reply_to}\r\nSubject: Re: [Ticket#{n}] {subject}\r\nMessage-ID: <ans{i}@company.example>\r\nIn-Reply-To: <sla{i}@example.org>\r\n\r\nA new driver fixes it.\r\n"
            );
            drop_mail(&md, answer.as_bytes());
            wait_for("the flag to go", Duration::from_secs(20), || {
                !flagged(&customer_file(&desk, &n))
            });
            assert_eq!(events(&desk, &n, "sla-met"), 1);
            assert_eq!(desk.show(&n)["deadlines"][0]["state"], "missed");
        }
        stop(&mut daemon);
        desk.fsck_clean();
        // A rebuilt index knows what happened: nothing is sent again, the flag stays as it is.
        let was = customer_file(&desk, &n);
        desk.ok(&["reindex"]);
        desk.ok(&["run", "--once"]);
        assert_eq!(notices(&desk, "SLA warning"), 1);
        assert_eq!(notices(&desk, "SLA breached"), 1);
        assert_eq!(customer_file(&desk, &n), was);
    }
}

fn stop(daemon: &mut Child) {
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(daemon.id().to_string())
        .status();
    let t = Instant::now();
    while daemon.try_wait().unwrap().is_none() {
        assert!(t.elapsed() < Duration::from_secs(20), "daemon did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_pending_time_reminds_the_owner_and_the_answer_keeps_the_deadline() {
    let desk = desk_with("1h");
    let md = desk.maildir("inbox");
    post(
        &md,
        "Carl Customer <carl@example.org>",
        "support@company.example",
        "Invoice",
        "p1@example.org",
        "",
        "Where is it?",
    );
    desk.drain(&md);
    let n = desk.number_of("Invoice");
    let t = desk.show(&n);
    assert_eq!(t["deadlines"][0]["state"], "running", "{t}");
    let due = desk.json(&["ticket", "list", "--due", "2h", "--json"]);
    assert_eq!(due.as_array().unwrap().len(), 1);
    let due = desk.json(&["ticket", "list", "--due", "30m", "--json"]);
    assert_eq!(due.as_array().unwrap().len(), 0);
    // A note with #pending (this minute: its time has come) and #owner: no response yet.
    let stored = fs::read_to_string(customer_file(&desk, &n)).unwrap();
    let reply_to = stored
        .lines()
        .find_map(|l| l.strip_prefix("Reply-To: "))
        .unwrap()
        .to_string();
    let now = chrono::Local::now().format("%Y-%m-%d %H:%M");
    let note = format!(
        "From: Alice Agent <alice@company.example>\r\nTo: {reply_to}\r\nSubject: Re: [Ticket#{n}] Invoice\r\nMessage-ID: <note1@company.example>\r\n\r\n#note\r\n#owner alice\r\n#sla fast\r\n#pending {now}\r\n\r\nWaiting for accounting.\r\n"
    );
    drop_mail(&md, note.as_bytes());
    let out = desk.drain(&md);
    assert!(out.contains("service levels"), "{out}");
    let reminders: Vec<String> = desk
        .outbox_to("alice@company.example")
        .into_iter()
        .filter(|m| m.contains("Reminder"))
        .collect();
    assert_eq!(reminders.len(), 1, "one reminder to the owner");
    let t = desk.show(&n);
    assert_eq!(t["pending"], "", "the ticket is for working on again: {t}");
    assert_eq!(
        t["deadlines"][0]["state"], "running",
        "a note is no response"
    );
    // Again: nothing more.
    desk.ok(&["run", "--once"]);
    let again = desk
        .outbox_to("alice@company.example")
        .into_iter()
        .filter(|m| m.contains("Reminder"))
        .count();
    assert_eq!(again, 1);
    // The mail command set the ticket's own service level; the command line sets it back to the
    // queue's, and refuses a name no [[sla]] has.
    let said = desk.ok(&["ticket", "sla", &n, "default"]);
    assert!(said.contains("sla"), "{said}");
    let t = desk.show(&n);
    assert_eq!(t["sla"], "fast", "the queue's: {t}");
    let set: Vec<&serde_json::Value> = t["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["event"] == "sla")
        .collect();
    assert_eq!(set.len(), 2, "{set:?}");
    assert!(set[0]["detail"]
        .as_str()
        .unwrap()
        .contains("set to fast by Alice Agent"));
    let out = desk.run(&["ticket", "sla", &n, "nosuch"]);
    assert_eq!(out.status.code(), Some(64));
    desk.fsck_clean();
}

/// The tickets the index holds a due time for: `(number, due_at)`.
fn due(desk: &Desk) -> Vec<(String, i64)> {
    desk.index_rows("SELECT number, due_at FROM tickets WHERE due_at IS NOT NULL ORDER BY number")
        .into_iter()
        .map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_i64().unwrap()))
        .collect()
}

/// Closing stops the clocks: a ticket closed before anything was due is due no more; one closed
/// after its breach is due once, for the round to record the deadline as over and unflag the
/// customer's message. A rebuild (which files every article again) makes no closed ticket due.
#[test]
fn a_closed_ticket_is_due_once_for_its_escalation_and_never_after() {
    let desk = desk_with("2s");
    let md = desk.maildir("inbox");
    for (subject, id) in [("Scanner", "cl1@example.org"), ("Toner", "cl2@example.org")] {
        post(
            &md,
            "Carl Customer <carl@example.org>",
            "support@company.example",
            subject,
            id,
            "",
            "It is broken.",
        );
    }
    desk.drain(&md);
    let (a, b) = (desk.number_of("Scanner"), desk.number_of("Toner"));
    assert_eq!(due(&desk).len(), 2, "both have deadlines");
    desk.ok(&["ticket", "close", &b]);
    assert_eq!(due(&desk).len(), 1, "{:?}", due(&desk));
    std::thread::sleep(Duration::from_millis(2200));
    desk.ok(&["run", "--once"]);
    assert_eq!(events(&desk, &a, "sla-breach"), 1);
    assert_eq!(events(&desk, &b, "sla-breach"), 0);
    assert!(flagged(&customer_file(&desk, &a)));
    desk.ok(&["ticket", "close", &a]);
    assert_eq!(due(&desk), [(a.clone(), 0)], "its breach is not over yet");
    desk.ok(&["run", "--once"]);
    assert_eq!(events(&desk, &a, "sla-met"), 1);
    assert!(!flagged(&customer_file(&desk, &a)));
    assert!(due(&desk).is_empty(), "{:?}", due(&desk));
    desk.ok(&["reindex"]);
    assert!(due(&desk).is_empty(), "{:?}", due(&desk));
    desk.ok(&["run", "--once"]);
    assert_eq!(events(&desk, &a, "sla-met"), 1);
    desk.fsck_clean();
}

/// An agent's mail client sees the flag through Dovecot (`\Flagged` on the same UID, their own
/// `\Seen` kept), and sees it go once the answer meets the deadline.
#[test]
fn dovecot_shows_the_flag_and_its_clearing() {
    use crate::services::{imap_try, require, Dovecot};
    require("dovecot");
    let desk = desk_with("2s");
    let md = desk.maildir("inbox");
    post(
        &md,
        "Carl Customer <carl@example.org>",
        "support@company.example",
        "Scanner",
        "dv-sla@example.org",
        "",
        "It does not scan.",
    );
    desk.drain(&md);
    let n = desk.number_of("Scanner");
    let acl = vec![
        "Tickets/Support user=agent1 lrwsti".to_string(),
        "Tickets/Support/* user=agent1 lrwsti".to_string(),
    ];
    let dv = Dovecot::start(&desk.data.join("store"), &[("agent1", "pw1")], &acl);
    dv.chown_store();
    let mailbox = format!("Tickets/Support/{n}");
    // The customer's message's UID and flags (after reading every message, with `read`).
    let flags = |read: bool| {
        let script = format!(
            "M.select(q({mailbox:?}))\n\
             if {read}: M.uid('FETCH', '1:*', '(BODY[])')\n\
             typ, data = M.uid('FETCH', '1:*', '(UID FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])')\n\
             for d in data:\n    \
                 if isinstance(d, tuple) and b'dv-sla@' in d[1]: out(d[0].decode().split(' BODY')[0])",
            read = if read { "True" } else { "False" }
        );
        imap_try(dv.imap_port, "agent1", "pw1", &script).unwrap_or_else(|e| {
            let ls = std::process::Command::new("ls")
                .arg("-laR")
                .arg(desk.data.join("store"))
                .output()
                .unwrap();
            panic!("{e}\n{}\n{}", dv.log(), String::from_utf8_lossy(&ls.stdout))
        })
    };
    // The agent reads the ticket: \Seen, no \Flagged.
    let before = flags(true);
    assert!(!before.contains("\\Flagged"), "{before}");
    std::thread::sleep(Duration::from_millis(2200));
    desk.ok(&["run", "--once"]);
    assert!(flagged(&customer_file(&desk, &n)));
    let during = flags(false);
    let first = during.lines().next().unwrap().to_string();
    assert!(
        first.contains("\\Flagged") && first.contains("\\Seen"),
        "{during}"
    );
    let uid = |l: &str| {
        l.split("UID ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(uid(&first), uid(before.lines().next().unwrap()));
    // The answer meets the deadline (late): the flag goes, \Seen and the UID stay.
    let stored = fs::read_to_string(customer_file(&desk, &n)).unwrap();
    let reply_to = stored
        .lines()
        .find_map(|l| l.strip_prefix("Reply-To: "))
        .unwrap()
        .to_string();
    let answer = format!(
        "From: Alice Agent <alice@company.example>\r\nTo: {reply_to}\r\nSubject: Re: [Ticket#{n}] Scanner\r\nMessage-ID: <dv-ans@company.example>\r\n\r\nTry the new driver.\r\n"
    );
    drop_mail(&md, answer.as_bytes());
    desk.drain(&md);
    // The answer's files are new: hand them to Dovecot's user as a store group would.
    dv.chown_store();
    assert!(!flagged(&customer_file(&desk, &n)));
    let after = flags(false);
    let first_after = after.lines().next().unwrap();
    assert!(
        !first_after.contains("\\Flagged") && first_after.contains("\\Seen"),
        "{after}"
    );
    assert_eq!(uid(first_after), uid(&first));
}
