//! Click-to-dial (`postdesk call`, an agent's `#call`) against small PBX servers the test
//! starts on 127.0.0.1: the PBXs are asked in priority order, one that does not know the number
//! or is down is passed over for the next, the first that places the call ends it, none left is
//! exit 69 (the command) or a notice to the agent (the mail command); the attempt goes into the
//! ticket's history; the body's values arrive JSON-escaped; intake only queues a mail's call,
//! the daemon's dialler places it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use std::time::{Duration, Instant};

use crate::harness::{drop_mail, post, Desk};
use crate::lmtp::Daemon;
use crate::outgoing::header;

/// A PBX that answers every request with `status` and keeps the bodies it got.
struct Pbx {
    port: u16,
    bodies: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Pbx {
    fn start(status: u16) -> Pbx {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = bodies.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut length = 0;
                let mut auth = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    if lower.starts_with("authorization:") {
                        auth = line.trim().to_string();
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let mut v: serde_json::Value =
                    serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                if !auth.is_empty() {
                    v["authorization"] = auth.into();
                }
                kept.lock().unwrap().push(v);
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
                );
            }
        });
        Pbx { port, bodies }
    }

    /// A port nothing listens on: a PBX that is down.
    fn down() -> Pbx {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Pbx {
            port,
            bodies: Arc::default(),
        }
    }

    fn asked(&self) -> usize {
        self.bodies.lock().unwrap().len()
    }

    fn table(&self, name: &str, priority: i32) -> String {
        format!(
            "[[pbx]]\nname = \"{name}\"\npriority = {priority}\nurl = \"http://127.0.0.1:{}/dial\"\n\
             body = '{{\"from\": \"{{{{extension}}}}\", \"to\": \"{{{{number}}}}\", \"agent\": \"{{{{agent}}}}\", \"ticket\": \"{{{{ticket}}}}\"}}'\n\
             placed = [201]\nunknown-number = [404]\ntimeout-seconds = 3\n",
            self.port
        )
    }
}

const DIRECTORY: &str = r#"
[[person]]
id = "alice"
first-name = "Alice"
last-name = "Agent"
mail = ["alice@company.example"]
attributes = { extension = "17" }

[[person]]
id = "maria"
first-name = "Maria"
last-name = "Müller"
mail = ["maria@acme.example"]
phone = ["0541 1234-17"]
"#;

fn desk(pbxs: &str) -> Desk {
    let desk = Desk::with(
        "",
        &format!(
            "[directory]\nfile = \"directory.toml\"\ncountry-code = \"49\"\narea-code = \"541\"\n{pbxs}"
        ),
    );
    std::fs::write(desk.path().join("directory.toml"), DIRECTORY).unwrap();
    desk.ok(&["directory", "sync"]);
    desk
}

fn a_ticket(desk: &Desk) -> String {
    let md = desk.maildir("in");
    post(
        &md,
        "maria@acme.example",
        "support@company.example",
        "Call me back",
        "cb1@acme.example",
        "",
        "Please call.",
    );
    desk.drain(&md);
    desk.number_of("Call me back")
}

fn history(desk: &Desk, n: &str) -> Vec<String> {
    desk.show(n)["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "call")
        .map(|e| e["detail"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_first_pbx_in_priority_order_that_places_the_call_ends_it() {
    let (first, second, third) = (Pbx::start(201), Pbx::start(201), Pbx::start(201));
    // Listed out of order: priority decides.
    let desk = desk(&format!(
        "{}{}{}",
        third.table("third", 30),
        first.table("first", 10),
        second.table("second", 20)
    ));
    let n = a_ticket(&desk);
    let out = desk.ok(&[
        "call",
        "0541 1234-17",
        "--agent",
        "Alice Agent",
        "--ticket",
        &n,
    ]);
    assert!(out.contains("placed by first"), "{out}");
    assert_eq!((first.asked(), second.asked(), third.asked()), (1, 0, 0));
    let body = first.bodies.lock().unwrap()[0].clone();
    assert_eq!(body["from"], "17");
    assert_eq!(body["to"], "+49541123417");
    assert_eq!(body["agent"], "Alice Agent");
    assert_eq!(body["ticket"], n.as_str());
    let h = history(&desk, &n);
    assert_eq!(h.len(), 1, "{h:?}");
    assert!(
        h[0].contains("call to +49541123417 for Alice Agent (extension 17) placed by first"),
        "{h:?}"
    );
    desk.fsck_clean();
}

#[test]
fn unknown_number_and_a_pbx_that_is_down_fall_through_to_the_next() {
    let (unknown, down, placing) = (Pbx::start(404), Pbx::down(), Pbx::start(201));
    let desk = desk(&format!(
        "{}{}{}",
        unknown.table("unknown", 1),
        down.table("down", 2),
        placing.table("placing", 3)
    ));
    let n = a_ticket(&desk);
    let out = desk.ok(&["call", "+49 541 99", "--ticket", &n]);
    assert!(
        out.contains("placed by placing (unknown: unknown number; down: cannot connect"),
        "{out}"
    );
    assert_eq!((unknown.asked(), placing.asked()), (1, 1));
}

#[test]
fn none_placed_is_exit_69_and_in_the_history() {
    let (error, down) = (Pbx::start(500), Pbx::down());
    let desk = desk(&format!(
        "{}{}",
        error.table("error", 1),
        down.table("down", 2)
    ));
    let n = a_ticket(&desk);
    let out = desk.run(&[
        "call",
        "0541 1234-17",
        "--agent",
        "alice@company.example",
        "--ticket",
        &n,
    ]);
    assert_eq!(out.status.code(), Some(69));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("not placed: error: answered 500; down: cannot connect"),
        "{said}"
    );
    let h = history(&desk, &n);
    assert!(h.len() == 1 && h[0].contains("not placed"), "{h:?}");
    desk.ok(&["reindex"]);
    assert_eq!(
        history(&desk, &n),
        h,
        "the line is in the ticket's event log"
    );
}

#[test]
fn values_are_json_escaped_and_a_token_file_is_sent() {
    let pbx = Pbx::start(201);
    let table = pbx.table("only", 0) + "token-file = \"pbx.token\"\n";
    let desk = Desk::with("", &table);
    std::fs::write(desk.path().join("pbx.token"), "s3cret-token\n").unwrap();
    let cfg = std::fs::read_to_string(&desk.config).unwrap().replace(
        "name = \"Alice Agent\"",
        "name = \"Alice \\\"Quote\\\" Agent\"",
    );
    std::fs::write(&desk.config, cfg).unwrap();
    desk.ok(&["call", "0541 1", "--agent", "alice@company.example"]);
    let body = pbx.bodies.lock().unwrap()[0].clone();
    assert_eq!(body["agent"], "Alice \"Quote\" Agent");
    assert_eq!(body["authorization"], "authorization: Bearer s3cret-token");
    // A body that would not be JSON is refused by check.
    let bad = Desk::with(
        "",
        "[[pbx]]\nname = \"x\"\nurl = \"http://127.0.0.1:1/\"\nbody = '{\"to\": {{number}}}'\n",
    );
    let out = bad.run(&["check"]);
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[[pbx]] \"x\": body"));
    // So is a token file that cannot be read, or holds no token.
    desk.ok(&["check"]);
    std::fs::write(desk.path().join("pbx.token"), "\n").unwrap();
    let out = desk.run(&["check"]);
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[[pbx]] \"only\": token file"));
    std::fs::remove_file(desk.path().join("pbx.token")).unwrap();
    let out = desk.run(&["check"]);
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pbx.token"));
}

/// Alice answers ticket `n` through its reply address with `text`; filed by `run --once`.
fn agent_writes(desk: &Desk, n: &str, id: &str, text: &str) {
    let show = desk.show(n);
    let stored = std::fs::read_to_string(show["articles"][0]["path"].as_str().unwrap()).unwrap();
    let reply_to = header(&stored, "Reply-To").unwrap();
    let mail = format!(
        "From: Alice Agent <alice@company.example>\r\nTo: {reply_to}\r\nSubject: Re: [Ticket#{n}] x\r\n\
         Message-ID: <{id}>\r\nDate: Sun, 06 Dec 2026 10:00:00 +0100\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    );
    let md = desk.maildir("in");
    drop_mail(&md, mail.as_bytes());
    let out = desk.drain(&md);
    assert!(out.contains("agent mails 1"), "{out}");
}

/// Waits until `ok` holds (10 s at most).
fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < Duration::from_secs(10), "no {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_agents_call_command_is_queued_by_intake_and_placed_by_the_daemon() {
    let (unknown, placing) = (Pbx::start(404), Pbx::start(201));
    let desk = desk(&format!(
        "{}{}",
        unknown.table("unknown", 1),
        placing.table("placing", 2)
    ));
    let n = a_ticket(&desk);
    agent_writes(&desk, &n, "call1@company.example", "#call");
    // Intake filed the mail and queued the call; no PBX was asked on its path.
    assert_eq!((unknown.asked(), placing.asked()), (0, 0));
    let show = desk.show(&n);
    assert!(
        show["history"].to_string().contains("call-requested"),
        "{}",
        show["history"]
    );
    let daemon = Daemon::start(&desk);
    wait_for("call line", || !history(&desk, &n).is_empty());
    let h = history(&desk, &n);
    assert!(
        h[0].contains(
            "call to +49541123417 for Alice Agent (extension 17) placed by placing (unknown: unknown number)"
        ),
        "{h:?}\n{}",
        daemon.log()
    );
    let body = placing.bodies.lock().unwrap()[0].clone();
    assert_eq!(
        (body["from"].as_str(), body["to"].as_str()),
        (Some("17"), Some("+49541123417"))
    );
    assert_eq!(body["ticket"], n.as_str());
    // Once: the dialler does not place it again.
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(placing.asked(), 1);
    drop(daemon);
    desk.fsck_clean();
}

#[test]
fn a_call_no_pbx_places_gets_the_agent_a_notice() {
    let down = Pbx::down();
    let desk = desk(&down.table("down", 1));
    let n = a_ticket(&desk);
    agent_writes(&desk, &n, "call2@company.example", "#call +49 541 4711");
    let daemon = Daemon::start(&desk);
    let noticed = || {
        desk.outbox_to("alice@company.example")
            .iter()
            .any(|m| m.contains("Call not placed"))
    };
    let start = Instant::now();
    while !noticed() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        noticed(),
        "no notice to the agent; history {:?}; outbox {}; log {}",
        history(&desk, &n),
        desk.ok(&["outbox", "list"]),
        daemon.log()
    );
    let h = history(&desk, &n);
    assert!(
        h.len() == 1 && h[0].contains("call to +495414711 for Alice Agent (extension 17) not placed: down: cannot connect"),
        "{h:?}\n{}",
        daemon.log()
    );
}

#[test]
fn a_call_a_stopped_daemon_was_placing_is_reported_and_not_dialled_again() {
    let placing = Pbx::start(201);
    let desk = desk(&placing.table("placing", 1));
    let n = a_ticket(&desk);
    agent_writes(&desk, &n, "call3@company.example", "#call");
    // As a dialler leaves it when killed after taking the call, before the attempt was recorded.
    assert_eq!(desk.index_exec("UPDATE pending_calls SET taken = 1"), 1);
    let _daemon = Daemon::start(&desk);
    wait_for("call line", || !history(&desk, &n).is_empty());
    let h = history(&desk, &n);
    assert!(h[0].contains("not known to be placed"), "{h:?}");
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(placing.asked(), 0);
}
