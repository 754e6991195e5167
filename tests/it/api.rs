//! The HTTP API for telephone systems, through real HTTP against the daemon: the prefill for
//! each rule of the service-instance order, numbers in any spelling, the caller's open tickets,
//! the keypad lookup, and every refusal as JSON with its status (401 with nothing of the token
//! logged, 400, 404, 413).

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{drop_mail, post, Desk};
use crate::lmtp::Daemon;
use crate::services::free_port;

pub const TOKEN: &str = "pbx-token-0123456789abcdef0123456789";

const DIRECTORY: &str = r#"
[[service]]
name = "Online"
hotline = ["0800 123456"]
greeting = "Guten Tag, {{ person.last_name }}, Sie sprechen mit dem {{ service.name }}-Service"
default-instance = { sla = "standard" }

[[service]]
name = "Mail"
hotline = ["0800 222"]

[[organisation]]
id = "acme"
name = "ACME GmbH"
phone = ["0541 1234-0"]
service = [{ service = "Online", sla = "gold", greeting = "ACME gold, {{ person.last_name }}" }]

[[organisation]]
id = "beta"
name = "Beta AG"
service = [{ service = "Online", sla = "silver" }]

[[person]]
id = "mm"
first-name = "Maria"
last-name = "Müller"
mail = ["maria.mueller@acme.example"]
phone = ["0541 1234-17"]
organisations = ["acme"]

[[person]]
id = "two"
last-name = "Zwei"
phone = ["0541 555"]
organisations = ["beta", "acme"]

[[person]]
id = "solo"
last-name = "Solo"
phone = ["0541 666"]

[[person]]
id = "shared-a"
last-name = "Eins"
phone = ["0541 777"]

[[person]]
id = "shared-b"
last-name = "Andere"
phone = ["0541 777"]

[[person]]
id = "alice"
last-name = "Agent"
mail = ["alice@company.example"]
attributes = { extension = "4711" }
"#;

/// A desk with the directory above and the API on a free port; the daemon not yet started.
pub fn api_desk(extra: &str) -> (Desk, u16) {
    let port = free_port();
    let desk = Desk::with(
        "",
        &format!(
            "[intake]\nrescan-seconds = 1\n[directory]\nfile = \"directory.toml\"\n\
             country-code = \"49\"\narea-code = \"541\"\n\
             [api]\nlisten = \"127.0.0.1:{port}\"\ngreeting = \"Hello {{{{ person.last_name }}}}\"\n\
             max-body-bytes = 4096\n{extra}\n\
             [[api.client]]\nname = \"pbx\"\ntoken-file = \"pbx.token\"\n"
        ),
    );
    fs::write(desk.path().join("directory.toml"), DIRECTORY).unwrap();
    fs::write(desk.path().join("pbx.token"), format!("{TOKEN}\n")).unwrap();
    (desk, port)
}

/// One HTTP/1.1 request; the status and the body as JSON.
pub fn http(port: u16, method: &str, path: &str, token: Option<&str>, body: &[u8]) -> (u16, Value) {
    http_typed(port, method, path, token, "application/json", body)
}

/// `http` with a body of `content_type`, written on a thread of its own while the answer is
/// read: a server refusing a large body early may answer and close before reading it all.
pub fn http_typed(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> (u16, Value) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut writer = s.try_clone().unwrap();
    let body = body.to_vec();
    let sent = std::thread::spawn(move || {
        let _ = writer.write_all(&body);
    });
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let _ = s.shutdown(std::net::Shutdown::Both);
    sent.join().unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

/// Maria Müller writes to Support: a ticket of hers, open.
pub fn marias_ticket(desk: &Desk) {
    let md = desk.maildir("in");
    post(
        &md,
        "Maria Müller <maria.mueller@acme.example>",
        "support@company.example",
        "Router down",
        "r1@acme.example",
        "",
        "It is down.",
    );
    desk.drain(&md);
}

fn call(port: u16, caller: &str, dialled: &str) -> Value {
    let body = json!({"caller": caller, "dialled": dialled, "call_id": "c1", "extension": "17"});
    let (status, v) = http(
        port,
        "POST",
        "/v1/calls",
        Some(TOKEN),
        body.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{v}");
    v
}

#[test]
fn prefill_follows_the_service_instance_order() {
    let (desk, port) = api_desk("");
    marias_ticket(&desk);
    let _d = Daemon::start(&desk);

    // A person with one organisation, in national and international spellings.
    for caller in [
        "0541 1234-17",
        "+49 541 123417",
        "0049541123417",
        "(0541) 1234 17",
    ] {
        let v = call(port, caller, "0800 123456");
        assert_eq!(v["match"], "person", "{v}");
        assert_eq!(v["caller"], "+49541123417");
        assert_eq!(v["person"]["last_name"], "Müller");
        assert_eq!(v["organisations"][0]["id"], "acme");
        assert_eq!(v["service"], "Online");
        assert_eq!(v["instance"]["sla"], "gold");
        assert_eq!(v["rule"], "organisation");
        assert_eq!(v["greeting"], "ACME gold, Müller");
        assert_eq!(v["greeting_from"], "instance");
        assert_eq!(v["call_id"], "c1");
        let t = v["tickets"].as_array().unwrap();
        assert_eq!(t.len(), 1, "{v}");
        assert_eq!(t[0]["subject"], "Router down");
        assert_eq!(t[0]["state"], "open");
    }
    // In two organisations: the first one's instance.
    let v = call(port, "0541 555", "0800123456");
    assert_eq!(
        (v["rule"].clone(), v["instance"]["sla"].clone()),
        (json!("first-of-several"), json!("silver"))
    );
    assert_eq!(v["instance_organisation"], "beta");
    assert_eq!(
        v["greeting"],
        "Guten Tag, Zwei, Sie sprechen mit dem Online-Service"
    );
    // A switchboard: the organisation only.
    let v = call(port, "0541 12340", "0800 123456");
    assert_eq!(v["match"], "organisation");
    assert!(v["person"].is_null());
    assert_eq!(v["rule"], "organisation");
    assert_eq!(v["greeting"], "ACME gold, ");
    // The organisation's open tickets.
    assert_eq!(v["tickets"][0]["subject"], "Router down", "{v}");
    // A person without organisation, and an unknown or withheld number: the default instance.
    let v = call(port, "0541 666", "0800 123456");
    assert_eq!(
        (v["rule"].clone(), v["instance"]["sla"].clone()),
        (json!("no-organisation"), json!("standard"))
    );
    for caller in ["0541 99999", "anonymous", ""] {
        let v = call(port, caller, "0800 123456");
        assert_eq!(v["match"], "unknown");
        assert_eq!(v["rule"], "unknown-caller");
        assert_eq!(v["instance"]["sla"], "standard");
        assert_eq!(
            v["greeting"],
            "Guten Tag, , Sie sprechen mit dem Online-Service"
        );
        assert_eq!(v["tickets"], json!([]));
    }
    // A number two persons share: both, to ask.
    let v = call(port, "0541 777", "0800 123456");
    assert_eq!(v["match"], "several");
    let names: Vec<&str> = v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["last_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Eins", "Andere"]);
    // A service without instances or greeting: the global greeting.
    let v = call(port, "0541 1234-17", "0800 222");
    assert_eq!(
        (v["service"].clone(), v["rule"].clone()),
        (json!("Mail"), json!("no-instance"))
    );
    assert_eq!(
        (v["greeting"].clone(), v["greeting_from"].clone()),
        (json!("Hello Müller"), json!("global"))
    );
    // A number that is no hotline.
    let v = call(port, "0541 1234-17", "0541 1");
    assert_eq!(v["rule"], "no-service");
    assert!(v["service"].is_null());
}

#[test]
fn refusals_are_json_with_their_status_and_no_token_is_logged() {
    let (desk, port) = api_desk("");
    let d = Daemon::start(&desk);
    let body = json!({"caller": "0541 1234-17", "dialled": "0800 123456"}).to_string();
    let wrong = "wrong-token-0123456789abcdef0123456789";
    for token in [None, Some(wrong)] {
        let (status, v) = http(port, "POST", "/v1/calls", token, body.as_bytes());
        assert_eq!(status, 401, "{v}");
        assert!(v["error"].as_str().unwrap().contains("token"), "{v}");
    }
    let (status, v) = http(port, "POST", "/v1/calls", Some(TOKEN), b"{not json");
    assert_eq!(status, 400, "{v}");
    assert!(v["error"].is_string());
    let (status, v) = http(
        port,
        "POST",
        "/v1/calls",
        Some(TOKEN),
        br#"{"caller": "1"}"#,
    );
    assert_eq!(status, 400, "{v}");
    let (status, v) = http(
        port,
        "POST",
        "/v1/calls",
        Some(TOKEN),
        br#"{"caller": "1", "dialled": "x"}"#,
    );
    assert_eq!(status, 400, "{v}");
    assert!(v["error"].as_str().unwrap().starts_with("dialled"), "{v}");
    let big = json!({"caller": "1".repeat(5000), "dialled": "0800 123456"}).to_string();
    let (status, v) = http(port, "POST", "/v1/calls", Some(TOKEN), big.as_bytes());
    assert_eq!(status, 413, "{v}");
    assert!(v["error"].is_string());
    let (status, v) = http(port, "GET", "/v1/nothing", Some(TOKEN), b"");
    assert_eq!(status, 404, "{v}");
    assert!(v["error"].is_string());
    let log = d.log();
    assert!(log.contains("without a known token"), "{log}");
    assert!(!log.contains(wrong) && !log.contains(TOKEN), "{log}");
}

#[test]
fn the_keypad_finds_a_ticket_and_its_owners_extension() {
    let (desk, port) = api_desk("");
    let md = desk.maildir("in");
    post(
        &md,
        "jane@example.org",
        "support@company.example",
        "Card blocked",
        "k1@example.org",
        "",
        "Blocked.",
    );
    desk.drain(&md);
    let n = desk.tickets()[0]["number"].as_str().unwrap().to_string();
    let show = desk.show(&n);
    let stored = fs::read_to_string(show["articles"][0]["path"].as_str().unwrap()).unwrap();
    let reply_to = stored
        .lines()
        .find_map(|l| l.strip_prefix("Reply-To: "))
        .unwrap()
        .trim()
        .to_string();
    let d = Daemon::start(&desk);
    let (status, v) = http(port, "GET", &format!("/v1/tickets/{n}"), Some(TOKEN), b"");
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["queue"].clone(), v["state"].clone()),
        (json!("Support"), json!("open"))
    );
    assert!(v["owner"].is_null() && v["extension"].is_null(), "{v}");

    // Alice takes it; her extension is the directory's.
    let note = format!(
        "From: Alice Agent <alice@company.example>\r\nTo: {reply_to}\r\nSubject: Re: [Ticket#{n}] Card blocked\r\n\
         Message-ID: <own1@company.example>\r\nDate: Sun, 22 Nov 2026 10:00:00 +0100\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n#owner alice\r\n#note\r\n\r\nMine.\r\n"
    );
    drop(d);
    drop_mail(&md, note.as_bytes());
    desk.drain(&md);
    let _d = Daemon::start(&desk);
    let (status, v) = http(port, "GET", &format!("/v1/tickets/{n}"), Some(TOKEN), b"");
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["extension"], "4711", "{v}");
    assert!(v["owner"].is_string(), "{v}");

    // A mistyped check digit, a number that does not exist, and no number at all.
    let last = n.as_bytes()[n.len() - 1] - b'0';
    let wrong = format!("{}{}", &n[..n.len() - 1], (last + 1) % 10);
    let (status, v) = http(
        port,
        "GET",
        &format!("/v1/tickets/{wrong}"),
        Some(TOKEN),
        b"",
    );
    assert_eq!(status, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("check digit"), "{v}");
    let other = format!("{}99999", &n[..n.len() - 1]);
    let check = postdesk::number::check_digit(&other);
    let (status, v) = http(
        port,
        "GET",
        &format!("/v1/tickets/{other}{check}"),
        Some(TOKEN),
        b"",
    );
    assert_eq!(status, 404, "{v}");
    let (status, _) = http(port, "GET", "/v1/tickets/12ab", Some(TOKEN), b"");
    assert_eq!(status, 400);
}

pub fn ended(port: u16, id: &str, body: &Value) -> (u16, Value) {
    http(
        port,
        "POST",
        &format!("/v1/calls/{id}/end"),
        Some(TOKEN),
        body.to_string().as_bytes(),
    )
}

/// The files of a ticket's articles, by the ticket's JSON.
pub fn article_files(desk: &Desk, n: &str) -> Vec<String> {
    desk.show(n)["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| fs::read_to_string(a["path"].as_str().unwrap()).unwrap())
        .collect()
}

#[test]
fn a_call_that_ended_is_a_phone_article_once() {
    let (desk, port) =
        api_desk("max-recording-bytes = 300000\nservice-queues = { Online = \"Billing\" }");
    marias_ticket(&desk);
    let n = desk.tickets()[0]["number"].as_str().unwrap().to_string();
    let _d = Daemon::start(&desk);

    // Into the ticket the caller typed, with the recording; twice: one article.
    let audio: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    use base64::Engine as _;
    let body = json!({
        "direction": "in", "caller": "0541 1234-17", "dialled": "0800 123456",
        "start": "2026-12-06T10:00:00+01:00", "duration_seconds": 192, "ticket": n,
        "extension": "17", "note": "Restarted the router with her.",
        "recording": {"content_type": "audio/mpeg", "data": base64::engine::general_purpose::STANDARD.encode(&audio)},
    });
    let (status, v) = ended(port, "A-1", &body);
    assert_eq!(status, 201, "{v}");
    assert_eq!(
        (v["ticket"].as_str(), v["duplicate"].as_bool()),
        (Some(n.as_str()), Some(false)),
        "{v}"
    );
    let (status, v) = ended(port, "A-1", &body);
    assert_eq!(status, 201, "{v}");
    assert_eq!(
        (v["ticket"].as_str(), v["duplicate"].as_bool()),
        (Some(n.as_str()), Some(true)),
        "{v}"
    );
    let files = article_files(&desk, &n);
    let phones: Vec<&String> = files
        .iter()
        .filter(|a| a.contains("Call id: A-1"))
        .collect();
    assert_eq!(phones.len(), 1, "{} articles", files.len());
    let phone = phones[0];
    assert!(phone.contains("Call_from_Maria"), "{}", &phone[..1500]);
    assert!(phone.contains("Duration: 3 min 12 s") && phone.contains("Restarted the router"));
    // The recording, byte for byte.
    let parsed = mail_parser::MessageParser::default()
        .parse(phone.as_bytes())
        .unwrap();
    let att = parsed.attachments().next().expect("the recording");
    assert_eq!(att.contents(), &audio[..]);
    // A recording over the limit, and one of another type.
    let mut big = body.clone();
    big["recording"]["data"] =
        json!(base64::engine::general_purpose::STANDARD.encode(vec![0u8; 300_001]));
    assert_eq!(ended(port, "A-2", &big).0, 413);
    let mut odd = body.clone();
    odd["recording"]["content_type"] = json!("text/html");
    assert_eq!(ended(port, "A-2", &odd).0, 400);

    // Without a ticket: a new one in the queue of the dialled hotline's service.
    let unknown = json!({"caller": "0541 99999", "dialled": "0800 123456", "start": "2026-12-06T11:00:00+01:00", "duration_seconds": 30});
    let (status, v) = ended(port, "B-1", &unknown);
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["queue"], "Billing", "{v}");
    let m = v["ticket"].as_str().unwrap().to_string();
    assert_ne!(m, n);
    let files = article_files(&desk, &m);
    assert_eq!(files.len(), 1);
    assert!(
        // In the queue's language (the harness's Billing speaks German).
        files[0].contains("Subject: Anruf von +4954199999"),
        "{}",
        files[0]
    );
    // No autoresponse to a number.
    assert!(desk.outbox_to("4954199999@phone.invalid").is_empty());
    // A ticket number with a wrong check digit is refused like the keypad's.
    let mut wrong = body.clone();
    let last = n.as_bytes()[n.len() - 1] - b'0';
    wrong["ticket"] = json!(format!("{}{}", &n[..n.len() - 1], (last + 1) % 10));
    let (status, v) = ended(port, "C-1", &wrong);
    assert_eq!(status, 400, "{v}");

    // ticket show lists calls' articles with direction phone.
    let directions = |t: &str| -> Vec<String> {
        desk.show(t)["articles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["direction"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(directions(&m), ["phone"]);
    let of_n = directions(&n);
    assert_eq!(of_n.iter().filter(|d| *d == "phone").count(), 1, "{of_n:?}");
    assert!(desk.ok(&["ticket", "show", &m]).contains(" phone ["));

    // reindex restores both, the direction too.
    drop(_d);
    let before = (
        article_files(&desk, &n).len(),
        article_files(&desk, &m).len(),
    );
    desk.ok(&["reindex"]);
    assert_eq!(
        (
            article_files(&desk, &n).len(),
            article_files(&desk, &m).len()
        ),
        before
    );
    assert_eq!(
        (directions(&n), directions(&m)),
        (of_n, vec!["phone".to_string()])
    );
    desk.fsck_clean();
}

/// kill -9 between the request and its answer: after the PBX's retry, exactly one article.
#[test]
fn a_killed_daemon_files_a_calls_article_at_most_once_and_the_retry_completes_it() {
    let (desk, port) = api_desk("");
    for (round, delay_ms) in [0u64, 5, 20, 60, 150].into_iter().enumerate() {
        let id = format!("K-{round}");
        let body = json!({"caller": "0541 1234-17", "dialled": "0800 123456",
            "start": format!("2026-12-06T12:00:0{round}+01:00"), "duration_seconds": 10, "note": id});
        let mut d = Daemon::start(&desk);
        let b = body.to_string();
        let path = format!("/v1/calls/{id}/end");
        let sender = std::thread::spawn(move || {
            let s = TcpStream::connect(("127.0.0.1", port));
            if let Ok(mut s) = s {
                let _ = write!(
                    s,
                    "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}",
                    b.len()
                );
                let mut out = Vec::new();
                let _ = s.read_to_end(&mut out);
            }
        });
        std::thread::sleep(Duration::from_millis(delay_ms));
        d.kill9();
        sender.join().unwrap();
        drop(d);
        let _d = Daemon::start(&desk);
        let (status, v) = ended(port, &id, &body);
        assert_eq!(status, 201, "{v}");
        let count = desk
            .tickets()
            .iter()
            .map(|t| {
                article_files(&desk, t["number"].as_str().unwrap())
                    .iter()
                    .filter(|a| a.contains(&format!("Call id: {id}")))
                    .count()
            })
            .sum::<usize>();
        assert_eq!(count, 1, "round {round}: {v}");
    }
    desk.fsck_clean();
}

#[test]
fn check_names_an_unreadable_or_short_token_file() {
    let (desk, _) = api_desk("");
    desk.ok(&["check"]);
    fs::write(desk.path().join("pbx.token"), "short\n").unwrap();
    let out = desk.run(&["check"]);
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("client pbx") && err.contains("shorter than 32"),
        "{err}"
    );
    fs::remove_file(desk.path().join("pbx.token")).unwrap();
    let out = desk.run(&["check"]);
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pbx.token"));
}

#[test]
fn the_api_speaks_https_with_the_sites_certificate() {
    let (desk, port) = api_desk("tls-cert-file = \"api.crt\"\ntls-key-file = \"api.key\"");
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .args(["-keyout", "api.key", "-out", "api.crt"])
        .current_dir(desk.path())
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    desk.ok(&["check"]);
    let d = Daemon::start(&desk);
    assert!(
        d.log()
            .contains(&format!("listening on https://127.0.0.1:{port}")),
        "{}",
        d.log()
    );
    // A client that checks the certificate gets JSON answers over TLS.
    let out = std::process::Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", "--cacert"])
        .arg(desk.path().join("api.crt"))
        .args(["-H", &format!("Authorization: Bearer {TOKEN}")])
        .arg(format!(
            "https://127.0.0.1:{port}/v1/tickets/2016010110000019"
        ))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.ends_with("\n404") && said.contains("\"error\""),
        "{said}"
    );
    // Plain HTTP on the TLS port gets no HTTP answer.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.write_all(b"GET /v1/tickets/1 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    assert!(
        !got.starts_with(b"HTTP/"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    drop(d);
    // Beyond loopback: with TLS the address is fine, without it refused.
    let text = fs::read_to_string(&desk.config).unwrap();
    fs::write(
        &desk.config,
        text.replace("listen = \"127.0.0.1:", "listen = \"0.0.0.0:"),
    )
    .unwrap();
    desk.ok(&["check"]);
    let plain = fs::read_to_string(&desk.config).unwrap().replace(
        "tls-cert-file = \"api.crt\"\ntls-key-file = \"api.key\"",
        "",
    );
    fs::write(&desk.config, plain).unwrap();
    let out = desk.run(&["check"]);
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tls-cert-file and tls-key-file"));
}
