//! The daemon: READY=1 over NOTIFY_SOCKET once up, inotify picks up new mail at once, SIGHUP
//! with a broken configuration keeps the old one, SIGTERM ends with STOPPING=1 and exit 0.

use std::os::unix::net::UnixDatagram;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{post, Desk};

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn recv(sock: &UnixDatagram) -> String {
    let mut buf = [0u8; 512];
    let n = sock.recv(&mut buf).expect("notify message");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn daemon_lifecycle() {
    // A long rescan interval: only inotify can make the daemon see the mail quickly.
    let desk = Desk::with(
        "",
        "[intake]\nrescan-seconds = 3600\n[[source]]\nname = \"inbox\"\nmaildir = \"inbox\"\n",
    );
    let md = desk.maildir("inbox");
    let notify_path = desk.path().join("notify.sock");
    let sock = UnixDatagram::bind(&notify_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut child = desk
        .cmd()
        .arg("run")
        .env("NOTIFY_SOCKET", &notify_path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(recv(&sock).contains("READY=1"));

    post(
        &md,
        "kunde@example.org",
        "support@company.example",
        "Live",
        "live1@example.org",
        "",
        "x",
    );
    wait_for("the message to be filed", Duration::from_secs(10), || {
        desk.mail_log().contains("live1@example.org")
    });
    // Once durable, the source message moves to cur/ (after = seen).
    wait_for(
        "the message to move to cur/",
        Duration::from_secs(10),
        || std::fs::read_dir(md.join("cur")).unwrap().count() == 1,
    );
    assert_eq!(std::fs::read_dir(md.join("new")).unwrap().count(), 0);
    // `postdesk status` sees the daemon and its source.
    wait_for("a status report", Duration::from_secs(10), || {
        let s = desk.json(&["status", "--json"]);
        s["daemon"]["running"] == true
            && s["sources"][0]["name"] == "inbox"
            && s["sources"][0]["state"] == "ok"
            && s["sources"][0]["backlog"] == 0
    });

    // A broken configuration on SIGHUP: logged, the old one keeps working.
    let good = std::fs::read_to_string(&desk.config).unwrap();
    std::fs::write(&desk.config, format!("{good}\n[bogus]\n")).unwrap();
    signal(child.id(), "HUP");
    std::thread::sleep(Duration::from_millis(300));
    post(
        &md,
        "kunde@example.org",
        "support@company.example",
        "Re: Live",
        "live2@example.org",
        "In-Reply-To: <live1@example.org>\r\n",
        "y",
    );
    wait_for("the second message", Duration::from_secs(10), || {
        desk.mail_log().contains("live2@example.org")
    });
    std::fs::write(&desk.config, &good).unwrap();
    signal(child.id(), "HUP");

    signal(child.id(), "TERM");
    assert!(recv(&sock).contains("STOPPING=1"));
    let t = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "daemon did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{err}");
    assert!(
        err.contains("configuration not reloaded") && err.contains("bogus"),
        "{err}"
    );
    let n = desk.tickets()[0]["number"].as_str().unwrap().to_string();
    assert_eq!(desk.incoming(&n).len(), 2);
    desk.fsck_clean();
}

#[test]
fn systemd_unit_verifies() {
    let Ok(analyze) = which("systemd-analyze") else {
        eprintln!("systemd-analyze not installed: unit not verified");
        return;
    };
    let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let unit = std::fs::read_to_string(repo.join("systemd/postdesk.service")).unwrap();
    for key in [
        "Type=notify",
        "StateDirectory=postdesk",
        "ExecReload=",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
    ] {
        assert!(unit.contains(key), "{key} missing from the unit");
    }
    // Verify a copy whose ExecStart points at the binary under test.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("postdesk.service");
    std::fs::write(
        &copy,
        unit.replace("/usr/bin/postdesk", crate::harness::BIN),
    )
    .unwrap();
    let out = std::process::Command::new(analyze)
        .arg("verify")
        .arg(&copy)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let own: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("postdesk.service"))
        .collect();
    assert!(own.is_empty(), "systemd-analyze verify: {own:?}");
}

fn which(tool: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|d| std::path::Path::new(d).join(tool))
        .find(|p| p.is_file())
        .ok_or(())
}
