//! The daemon's LMTP listener, spoken to as an MTA would (and as a broken client would): one
//! reply per recipient after DATA, 250 only once the message is in the store, a retry after a
//! lost 250 filed once, SIZE announced and enforced, 451 naming no paths when the message cannot
//! be filed, garbage and silence cut off, a UNIX socket with its mode.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{mail, Desk};
use crate::services::free_port;

/// `postdesk run` with an `[lmtp]` table, up once it said READY=1; SIGTERM when dropped.
pub struct Daemon {
    child: Child,
    pub stderr: std::path::PathBuf,
}

impl Daemon {
    pub fn start(desk: &Desk) -> Daemon {
        let notify = desk.path().join("notify.sock");
        let _ = std::fs::remove_file(&notify);
        let sock = UnixDatagram::bind(&notify).unwrap();
        // As root on a data dir of another user, the daemon becomes that user before it
        // reports: it must be able to write to the socket.
        std::fs::set_permissions(&notify, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let stderr = desk.path().join("daemon.log");
        let child = desk
            .cmd()
            .arg("run")
            .env("NOTIFY_SOCKET", &notify)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let mut d = Daemon { child, stderr };
        let mut buf = [0u8; 512];
        match sock.recv(&mut buf) {
            Ok(n) if String::from_utf8_lossy(&buf[..n]).contains("READY=1") => {}
            other => panic!("daemon not ready ({other:?}): {}", d.log()),
        }
        if let Ok(Some(status)) = d.child.try_wait() {
            panic!("daemon exited {status}: {}", d.log());
        }
        d
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// SIGKILL, as a crash.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        // SAFETY: kill on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.child.wait().unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

/// An LMTP client over any stream.
pub struct Client<S: Read + Write> {
    r: BufReader<S>,
}

impl Client<TcpStream> {
    pub fn tcp(port: u16) -> Client<TcpStream> {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        Client::over(s)
    }
}

impl<S: Read + Write> Client<S> {
    pub fn over(s: S) -> Client<S> {
        let mut c = Client {
            r: BufReader::new(s),
        };
        let greeting = c.reply();
        assert!(greeting.starts_with("220 "), "{greeting}");
        c
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.r.get_mut().write_all(bytes).unwrap();
    }

    /// One whole reply (the lines of a multi-line one joined); "" at EOF.
    pub fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            if self.r.read_line(&mut line).unwrap_or(0) == 0 {
                return all;
            }
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }

    pub fn say(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes());
        self.reply()
    }

    /// LHLO, MAIL, RCPT for each, DATA and the message (dot-stuffed here); the replies after it.
    pub fn deliver(&mut self, from: &str, to: &[&str], msg: &[u8]) -> Vec<String> {
        assert!(self.say("LHLO mx.example.org").starts_with("250"));
        self.start(from, to, msg);
        to.iter().map(|_| self.reply()).collect()
    }

    /// Everything up to the final dot; the replies are not read.
    pub fn start(&mut self, from: &str, to: &[&str], msg: &[u8]) {
        let r = self.say(&format!("MAIL FROM:<{from}> SIZE={}", msg.len()));
        assert!(r.starts_with("250"), "{r}");
        for t in to {
            let r = self.say(&format!("RCPT TO:<{t}>"));
            assert!(r.starts_with("250"), "{r}");
        }
        let r = self.say("DATA");
        assert!(r.starts_with("354"), "{r}");
        self.send(&wire(msg));
    }
}

/// A message as it goes on the wire: CRLF lines, dots stuffed, the end marker.
pub fn wire(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in String::from_utf8_lossy(msg).split_inclusive('\n') {
        let line = line.trim_end_matches('\n').trim_end_matches('\r');
        if line.starts_with('.') {
            out.push(b'.');
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

fn lmtp_desk(extra: &str) -> (Desk, u16) {
    let port = free_port();
    let desk = Desk::with(
        "",
        &format!("[lmtp]\nlisten = \"127.0.0.1:{port}\"\ntimeout-seconds = 2\n{extra}"),
    );
    (desk, port)
}

/// A small mail to the Support queue.
fn to_support(from: &str, subject: &str, id: &str, body: &str) -> Vec<u8> {
    mail(from, "support@company.example", subject, id, "", body)
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn lmtp_files_a_message_once_and_answers_each_recipient_after_the_commit() {
    let (desk, port) = lmtp_desk("");
    let _daemon = Daemon::start(&desk);
    let mut c = Client::tcp(port);
    let lhlo = c.say("LHLO mx.example.org");
    for ext in [
        "PIPELINING",
        "ENHANCEDSTATUSCODES",
        "8BITMIME",
        "SIZE 67108864",
    ] {
        assert!(lhlo.contains(ext), "{lhlo}");
    }
    let msg = to_support(
        "kunde@example.org",
        "Printer on fire",
        "lmtp1@example.org",
        ".hidden dot line\n..two dots\nthe end\n",
    );
    c.start(
        "kunde@example.org",
        &["hotline@company.example", "billing@company.example"],
        &msg,
    );
    let (first, second) = (c.reply(), c.reply());
    // The reply comes after the commit: the ticket is there when it arrives.
    let tickets = desk.tickets();
    assert!(
        first.starts_with("250 2.0.0 <hotline@company.example> stored: new ticket "),
        "{first}"
    );
    assert!(
        second.starts_with("250 2.0.0 <billing@company.example> stored: new ticket "),
        "{second}"
    );
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert_eq!(tickets[0]["queue"], "Support", "the first recipient routes");
    let number = tickets[0]["number"].as_str().unwrap().to_string();
    assert!(first.contains(&number));
    let articles = desk.incoming(&number);
    assert_eq!(articles.len(), 1);
    let file = articles[0]["path"].as_str().expect("the article's file");
    let stored = String::from_utf8_lossy(&std::fs::read(file).unwrap()).into_owned();
    assert!(
        stored.contains("Return-Path: <kunde@example.org>\n"),
        "{stored}"
    );
    assert!(
        stored.contains("Delivered-To: hotline@company.example\n"),
        "{stored}"
    );
    assert!(
        stored.contains("\n.hidden dot line\n..two dots\nthe end\n"),
        "{stored}"
    );
    assert!(!stored.contains('\r'), "stored with LF line ends");

    // The same connection goes on: RSET, another message, QUIT.
    assert!(c.say("RSET").starts_with("250"));
    let msg2 = mail(
        "b@example.org",
        "billing@company.example",
        "Invoice",
        "lmtp2@example.org",
        "",
        "x\n",
    );
    c.start("b@example.org", &["billing@company.example"], &msg2);
    assert!(c
        .reply()
        .starts_with("250 2.0.0 <billing@company.example> stored: new ticket"));
    assert!(c.say("QUIT").starts_with("221"));
    assert_eq!(desk.tickets().len(), 2);
    // `deliver` beside the daemon, then LMTP again: the daemon's two engines keep their locks
    // on the index while other processes write it and close theirs (all three are filed).
    let piped = to_support("c@example.org", "Piped", "lmtp3@example.org", "x\n");
    let mut child = desk
        .cmd()
        .arg("deliver")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&piped).unwrap();
    assert!(child.wait().unwrap().success());
    let mut c = Client::tcp(port);
    let msg4 = to_support("d@example.org", "After deliver", "lmtp4@example.org", "x\n");
    let r = c.deliver("d@example.org", &["support@company.example"], &msg4);
    assert!(r[0].starts_with("250 2.0.0"), "{r:?}");
    assert_eq!(desk.tickets().len(), 4);
    desk.fsck_clean();
}

#[test]
fn lmtp_a_retry_after_a_lost_250_is_filed_once() {
    let (desk, port) = lmtp_desk("");
    let _daemon = Daemon::start(&desk);
    let msg = to_support(
        "kunde@example.org",
        "Lost reply",
        "lost@example.org",
        "hello\n",
    );
    {
        // The MTA sends the message and its connection breaks before the reply arrives.
        let mut c = Client::tcp(port);
        assert!(c.say("LHLO mx").starts_with("250"));
        c.start("kunde@example.org", &["support@company.example"], &msg);
    }
    wait_for("the first copy filed", || desk.tickets().len() == 1);
    // It tries again later: a duplicate, answered 250 so that it stops.
    let mut c = Client::tcp(port);
    let r = c.deliver("kunde@example.org", &["support@company.example"], &msg);
    assert!(
        r[0].starts_with("250 2.0.0 <support@company.example> stored: duplicate"),
        "{r:?}"
    );
    let tickets = desk.tickets();
    assert_eq!(tickets.len(), 1);
    assert_eq!(
        desk.incoming(tickets[0]["number"].as_str().unwrap()).len(),
        1
    );
}

#[test]
fn lmtp_size_is_announced_and_enforced() {
    let (desk, port) = lmtp_desk("[intake]\nmax-message-bytes = 2000\n");
    let _daemon = Daemon::start(&desk);
    let mut c = Client::tcp(port);
    assert!(c.say("LHLO mx").contains("250 SIZE 2000"));
    let r = c.say("MAIL FROM:<a@example.org> SIZE=2001");
    assert!(r.starts_with("552 5.3.4"), "{r}");
    // A client that announces nothing, or too little, is refused after the data.
    let big = mail(
        "a@example.org",
        "support@company.example",
        "Big",
        "big@example.org",
        "",
        &"y".repeat(3000),
    );
    assert!(c.say("MAIL FROM:<a@example.org>").starts_with("250"));
    assert!(c
        .say("RCPT TO:<support@company.example>")
        .starts_with("250"));
    assert!(c
        .say("RCPT TO:<billing@company.example>")
        .starts_with("250"));
    assert!(c.say("DATA").starts_with("354"));
    c.send(&wire(&big));
    let (a, b) = (c.reply(), c.reply());
    assert!(
        a.starts_with("552 5.3.4") && b.starts_with("552 5.3.4"),
        "{a}{b}"
    );
    // The connection is still usable, and nothing was filed.
    assert!(c.say("NOOP").starts_with("250"));
    assert!(desk.tickets().is_empty());
}

#[test]
fn lmtp_a_message_that_cannot_be_filed_gets_451_naming_no_paths() {
    // spamd is configured but not there: intake defers the message (it stays with the MTA).
    let (desk, port) = lmtp_desk(&format!(
        "[scan.spamd]\nenabled = true\naddress = \"127.0.0.1:{}\"\ntimeout-seconds = 1\n",
        free_port()
    ));
    let daemon = Daemon::start(&desk);
    let msg = to_support("a@example.org", "Later", "later@example.org", "x\n");
    let mut c = Client::tcp(port);
    let r = c.deliver(
        "a@example.org",
        &["support@company.example", "billing@company.example"],
        &msg,
    );
    assert_eq!(r.len(), 2);
    for reply in &r {
        assert!(reply.starts_with("451 4.3.0 <"), "{reply}");
        assert!(
            !reply.contains('/') && !reply.contains("127.0.0.1"),
            "{reply}"
        );
    }
    assert!(desk.tickets().is_empty());
    assert!(daemon.log().contains("lmtp: not filed"), "{}", daemon.log());
}

#[test]
fn lmtp_garbage_and_silence_are_cut_off() {
    let (desk, port) = lmtp_desk("");
    let _daemon = Daemon::start(&desk);
    // Garbage: refused line by line, then the connection is closed.
    let mut c = Client::tcp(port);
    let mut last = String::new();
    for _ in 0..20 {
        c.send(b"\x00\xff\x16\x03\x01 garbage\r\n");
        last = c.reply();
        if last.starts_with("421") || last.is_empty() {
            break;
        }
        assert!(last.starts_with("500"), "{last}");
    }
    assert!(last.starts_with("421"), "{last}");
    assert_eq!(c.reply(), "", "closed");
    // A line without end: refused when it ends, the connection goes on.
    let mut c = Client::tcp(port);
    c.send(&vec![b'A'; 100_000]);
    assert!(c.say("").starts_with("500 5.5.2"));
    assert!(c.say("NOOP").starts_with("250"));
    // Silence: cut off after timeout-seconds.
    let mut c = Client::tcp(port);
    let t = Instant::now();
    let r = c.reply();
    assert!(r.starts_with("421 4.4.2"), "{r}");
    assert!(t.elapsed() < Duration::from_secs(10));
    // A message that stops in the middle: cut off, nothing filed.
    let mut c = Client::tcp(port);
    assert!(c.say("LHLO mx").starts_with("250"));
    assert!(c.say("MAIL FROM:<a@example.org>").starts_with("250"));
    assert!(c
        .say("RCPT TO:<support@company.example>")
        .starts_with("250"));
    assert!(c.say("DATA").starts_with("354"));
    c.send(b"Subject: half\r\n\r\nand then noth");
    let r = c.reply();
    assert!(r.starts_with("421 4.4.2"), "{r}");
    assert!(desk.tickets().is_empty());
    // The listener still serves.
    let mut c = Client::tcp(port);
    let msg = to_support("a@example.org", "After", "after@example.org", "x\n");
    assert!(c.deliver("a@example.org", &["support@company.example"], &msg)[0].starts_with("250"));
}

#[test]
fn lmtp_on_a_unix_socket_with_its_mode() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let desk = Desk::with("", "");
    let sock = desk.path().join("lmtp.sock");
    let text = std::fs::read_to_string(&desk.config).unwrap();
    std::fs::write(
        &desk.config,
        format!(
            "[lmtp]\nlisten = \"{}\"\nsocket-mode = 0o600\n{text}",
            sock.display()
        ),
    )
    .unwrap();
    // A stale socket from a killed daemon is replaced.
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    let mut daemon = Daemon::start(&desk);
    let meta = std::fs::metadata(&sock).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let s = UnixStream::connect(&sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut c = Client::over(s);
    let msg = to_support("a@example.org", "Via socket", "sock@example.org", "x\n");
    let r = c.deliver("a@example.org", &["support@company.example"], &msg);
    assert!(r[0].starts_with("250 2.0.0"), "{r:?}");
    drop(c);
    assert!(daemon.stop().success());
    assert!(!sock.exists(), "the socket is removed on stop");
    assert_eq!(desk.tickets().len(), 1);
}

#[test]
fn lmtp_listen_must_be_loopback_or_a_socket() {
    let desk = Desk::with("", "[lmtp]\nlisten = \"0.0.0.0:2424\"\n");
    let out = desk.run(&["check"]);
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("[lmtp]") && err.contains("loopback"), "{err}");
}

#[test]
fn lmtp_a_changed_listen_address_takes_effect_on_reload() {
    let (desk, port) = lmtp_desk("");
    let daemon = Daemon::start(&desk);
    let moved = free_port();
    let text = std::fs::read_to_string(&desk.config).unwrap();
    // Saving the configuration reloads it, as SIGHUP does.
    std::fs::write(
        &desk.config,
        text.replace(&format!("127.0.0.1:{port}"), &format!("127.0.0.1:{moved}")),
    )
    .unwrap();
    wait_for("the new address", || {
        TcpStream::connect(("127.0.0.1", moved)).is_ok()
    });
    wait_for("the old address closed", || {
        TcpStream::connect(("127.0.0.1", port)).is_err()
    });
    let msg = to_support("a@example.org", "Moved", "moved@example.org", "x\n");
    let r = Client::tcp(moved).deliver("a@example.org", &["support@company.example"], &msg);
    assert!(r[0].starts_with("250 2.0.0"), "{r:?}\n{}", daemon.log());
}
