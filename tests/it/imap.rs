//! IMAP intake against a real Dovecot: mail appended by another client while the daemon waits
//! (IDLE) becomes articles exactly once, also across a Dovecot restart; a wrong password is a
//! clear error while other sources keep working; a message over the size limit is quarantined
//! once and left on the server.

use std::fs;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{post, Desk};
use crate::services::{imap_try, require, Dovecot};

fn imap_desk(port: u16, extra: &str) -> Desk {
    Desk::with(
        "",
        &format!(
            "[intake]\nrescan-seconds = 3600\n\
             [[imap]]\nname = \"mbox\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\
             user = \"desk\"\npassword-env = \"PD_IMAP_PW\"\npoll-seconds = 2\ntimeout-seconds = 5\n{extra}\n"
        ),
    )
}

fn start_dovecot(desk: &Desk) -> Dovecot {
    require("dovecot");
    let store = desk.path().join("dvstore");
    fs::create_dir_all(&store).unwrap();
    Dovecot::start(&store, &[("desk", "pw")], &[])
}

/// Appends `n` small mails numbered from `from` to desk's INBOX.
fn append(dv: &Dovecot, from: usize, n: usize) {
    let script = format!(
        "for i in range({from}, {}):\n    \
         m = ('From: c%d@example.org\\r\\nTo: support@company.example\\r\\nSubject: imap %d\\r\\n'\n         \
         'Message-ID: <imap%d@example.org>\\r\\n\\r\\nhello %d\\r\\n') % (i, i, i, i)\n    \
         typ, _ = M.append('INBOX', None, None, m.encode())\n    assert typ == 'OK'\nout('ok')",
        from + n
    );
    imap_try(dv.imap_port, "desk", "pw", &script).expect("append");
}

fn count(dv: &Dovecot, mailbox: &str) -> usize {
    let script = format!("typ, data = M.select(q('{mailbox}'), readonly=True)\nout(int(data[0]) if typ == 'OK' else -1)");
    imap_try(dv.imap_port, "desk", "pw", &script)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn articles(desk: &Desk) -> usize {
    let out = desk.run(&["ticket", "list", "--json"]);
    if !out.status.success() {
        return 0;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v.as_array().map_or(0, |a| a.len())
}

#[test]
fn appended_mail_is_filed_once_also_across_a_dovecot_restart() {
    let desk0 = Desk::new();
    let mut dv = start_dovecot(&desk0);
    let desk = imap_desk(dv.imap_port, "");
    let mut child = desk
        .cmd()
        .args(["-v", "run"])
        .env("PD_IMAP_PW", "pw")
        .stdout(Stdio::null())
        .stderr(fs::File::create(desk.path().join("daemon.err")).unwrap())
        .spawn()
        .unwrap();
    let filed = |n: usize, child: &mut std::process::Child| {
        let t = Instant::now();
        while articles(&desk) < n {
            if t.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                panic!(
                    "{} of {n} filed after 60 s; daemon log:\n{}",
                    articles(&desk),
                    fs::read_to_string(desk.path().join("daemon.err")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    append(&dv, 0, 100);
    filed(100, &mut child);
    dv.restart();
    append(&dv, 100, 100);
    filed(200, &mut child);
    std::thread::sleep(Duration::from_millis(500));
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let st = child.wait().unwrap();
    let err = fs::read_to_string(desk.path().join("daemon.err")).unwrap();
    assert!(st.success(), "{err}");
    let row = desk.index_rows(
        "SELECT count(*), count(DISTINCT message_id) FROM articles WHERE direction = 'in'",
    );
    let (rows, distinct) = (row[0][0].as_i64().unwrap(), row[0][1].as_i64().unwrap());
    assert_eq!((rows, distinct), (200, 200), "each message exactly once");
    assert_eq!(count(&dv, "INBOX"), 0, "acknowledged: moved away");
    assert_eq!(count(&dv, "Processed"), 200);
    desk.fsck_clean();
}

#[test]
fn a_wrong_password_is_clear_and_other_sources_keep_working() {
    let desk0 = Desk::new();
    let dv = start_dovecot(&desk0);
    let desk = imap_desk(
        dv.imap_port,
        "[[source]]\nname = \"local\"\nmaildir = \"local\"\n",
    );
    let md = desk.maildir("local");
    post(
        &md,
        "a@example.org",
        "support@company.example",
        "Local",
        "l1@example.org",
        "",
        "x",
    );
    let out = desk
        .cmd()
        .args(["run", "--once"])
        .env("PD_IMAP_PW", "wrong")
        .output()
        .unwrap();
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(so.contains("new tickets 1"), "{so}{se}");
    assert!(se.to_lowercase().contains("auth"), "a clear error: {se}");
    assert!(
        !se.contains("wrong"),
        "the password never reaches the log: {se}"
    );
}

#[test]
fn a_message_over_the_limit_is_quarantined_once_and_left_on_the_server() {
    let desk0 = Desk::new();
    let dv = start_dovecot(&desk0);
    let desk = imap_desk(dv.imap_port, "max-message-bytes = 20000000");
    append(&dv, 0, 1);
    // 30 MB over a 20 MB limit: quarantined; 12 MB under it: filed.
    let script = "for n, size in (('big', 30000000), ('mid', 12000000)):\n    \
        m = ('From: %s@example.org\\r\\nTo: support@company.example\\r\\nSubject: %s\\r\\nMessage-ID: <%s@example.org>\\r\\n\\r\\n' % (n, n, n)) + ('x' * 76 + '\\r\\n') * (size // 78)\n    \
        typ, _ = M.append('INBOX', None, None, m.encode())\n    assert typ == 'OK'\nout('ok')";
    imap_try(dv.imap_port, "desk", "pw", script).expect("append the large messages");
    append(&dv, 1, 1);
    let run = || {
        let out = desk
            .cmd()
            .args(["run", "--once"])
            .env("PD_IMAP_PW", "pw")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let first = run();
    assert!(
        first.contains("new tickets 3") && first.contains("quarantined 1"),
        "{first}"
    );
    let second = run();
    assert!(second.contains("processed 0"), "dealt with once: {second}");
    assert_eq!(
        count(&dv, "INBOX"),
        1,
        "the large message stays on the server"
    );
    let q: Vec<String> = fs::read_dir(desk.data.join("store/.Quarantine/new"))
        .unwrap()
        .map(|e| fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        q.iter()
            .any(|t| t.contains("exceeds max-message-bytes 20000000")),
        "{q:?}"
    );
}
