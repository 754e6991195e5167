//! Calls' recordings streamed to the API (`multipart/form-data`, as curl sends a file): stored
//! byte for byte in the phone article, once per call also after a reindex; over the limit 413
//! with nothing filed and nothing left in the staging area; a type that is no recording 415; a
//! daemon killed while a recording arrives leaves nothing behind, and the retry files it.

use std::fs;
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use mail_parser::MimeHeaders;
use serde_json::{json, Value};

use crate::api::{api_desk, article_files, http_typed, marias_ticket, TOKEN};
use crate::harness::Desk;
use crate::lmtp::Daemon;

const BOUNDARY: &str = "----postdesk-test-7d1f";

/// Bytes that look like nothing in particular (a recording), the same for the same seed.
fn audio(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// The streamed form: the call's JSON and, if any, a recording with its Content-Type.
fn form(call: &Value, recording: Option<(Option<&str>, &[u8])>) -> Vec<u8> {
    let mut b = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"call\"\r\n\
         Content-Type: application/json\r\n\r\n{call}\r\n"
    )
    .into_bytes();
    if let Some((ct, bytes)) = recording {
        let ct = ct
            .map(|t| format!("Content-Type: {t}\r\n"))
            .unwrap_or_default();
        b.extend(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"recording\"; \
                 filename=\"call.wav\"\r\n{ct}\r\n"
            )
            .as_bytes(),
        );
        b.extend_from_slice(bytes);
        b.extend(b"\r\n");
    }
    b.extend(format!("--{BOUNDARY}--\r\n").as_bytes());
    b
}

fn send(port: u16, id: &str, body: &[u8]) -> (u16, Value) {
    http_typed(
        port,
        "POST",
        &format!("/v1/calls/{id}/end"),
        Some(TOKEN),
        &format!("multipart/form-data; boundary={BOUNDARY}"),
        body,
    )
}

/// Files in the staging area other than its areas' locks.
fn staged_files(desk: &Desk) -> Vec<String> {
    let mut out = Vec::new();
    let staging = desk.data.join("staging");
    for area in fs::read_dir(&staging).into_iter().flatten() {
        let area = area.unwrap().path();
        for f in fs::read_dir(&area).into_iter().flatten() {
            let f = f.unwrap().path();
            if f.file_name().is_some_and(|n| n != ".lock") {
                out.push(f.display().to_string());
            }
        }
    }
    out
}

/// The phone articles of a call, in all tickets.
fn articles_of(desk: &Desk, id: &str) -> Vec<String> {
    let mark = format!("Call id: {id}\r\n");
    desk.tickets()
        .iter()
        .flat_map(|t| article_files(desk, t["number"].as_str().unwrap()))
        .filter(|a| a.contains(&mark))
        .collect()
}

fn attachment(article: &str) -> (String, Vec<u8>) {
    let parsed = mail_parser::MessageParser::default()
        .parse(article.as_bytes())
        .unwrap();
    let att = parsed.attachments().next().expect("the recording");
    (
        att.attachment_name().unwrap_or("").to_string(),
        att.contents().to_vec(),
    )
}

#[test]
fn a_streamed_recording_is_stored_byte_for_byte_once() {
    let (desk, port) = api_desk("max-recording-bytes = 3000000");
    marias_ticket(&desk);
    let n = desk.tickets()[0]["number"].as_str().unwrap().to_string();
    let _d = Daemon::start(&desk);
    let call = json!({"caller": "0541 1234-17", "dialled": "0800 123456",
        "start": "2026-12-06T10:00:00+01:00", "duration_seconds": 192, "ticket": n,
        "note": "Streamed."});
    // Exactly the limit, sent as the README shows it, with curl.
    let rec = audio(3_000_000, 1);
    fs::write(desk.path().join("call.json"), call.to_string()).unwrap();
    fs::write(desk.path().join("call.wav"), &rec).unwrap();
    let out = std::process::Command::new("curl")
        .args(["-sS", "-w", "\n%{http_code}"])
        .args(["-H", &format!("Authorization: Bearer {TOKEN}")])
        .args(["-F", "call=<call.json;type=application/json"])
        .args(["-F", "recording=@call.wav;type=audio/wav"])
        .arg(format!("http://127.0.0.1:{port}/v1/calls/S-1/end"))
        .current_dir(desk.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.ends_with("\n201"), "{said}");
    assert!(said.contains("\"duplicate\":false"), "{said}");
    assert!(said.contains(&n), "{said}");

    // The PBX, without its answer, sends it again: a duplicate, answered with the ticket.
    let again = form(&call, Some((Some("audio/wav"), &rec)));
    let (status, v) = send(port, "S-1", &again);
    assert_eq!(status, 201, "{v}");
    assert_eq!(
        (v["ticket"].as_str(), v["duplicate"].as_bool()),
        (Some(n.as_str()), Some(true))
    );
    let stored = articles_of(&desk, "S-1");
    assert_eq!(stored.len(), 1);
    let (name, bytes) = attachment(&stored[0]);
    assert_eq!(name, "recording.wav");
    assert!(
        bytes == rec,
        "the recording differs ({} bytes)",
        bytes.len()
    );
    assert!(stored[0].contains("Content-Type: audio/wav"));
    // The index knows the article's size as stored, recording included.
    let shown = desk.show(&n);
    let row = shown["articles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["direction"] == "phone")
        .unwrap()
        .clone();
    let file = fs::read(row["path"].as_str().unwrap()).unwrap();
    assert!(
        row["size"].as_u64().unwrap() > 4_000_000
            && (file.len() as u64) > row["size"].as_u64().unwrap(),
        "{row}"
    );
    assert!(staged_files(&desk).is_empty(), "{:?}", staged_files(&desk));

    // After a reindex (which reads the digest from the stored file) still one article.
    drop(_d);
    desk.ok(&["reindex"]);
    let _d = Daemon::start(&desk);
    let (status, v) = send(port, "S-1", &again);
    assert_eq!((status, v["duplicate"].as_bool()), (201, Some(true)), "{v}");
    assert_eq!(articles_of(&desk, "S-1").len(), 1);

    // The JSON form files the same article (its bytes are the same): a duplicate too.
    use base64::Engine as _;
    let small = audio(40_000, 2);
    let mut with_json = call.clone();
    with_json["recording"] = json!({"content_type": "audio/ogg",
        "data": base64::engine::general_purpose::STANDARD.encode(&small)});
    let streamed = form(&call, Some((Some("audio/ogg; codecs=opus"), &small)));
    let (status, v) = crate::api::ended(port, "S-2", &with_json);
    assert_eq!(
        (status, v["duplicate"].as_bool()),
        (201, Some(false)),
        "{v}"
    );
    let (status, v) = send(port, "S-2", &streamed);
    assert_eq!((status, v["duplicate"].as_bool()), (201, Some(true)), "{v}");
    let stored = articles_of(&desk, "S-2");
    assert_eq!(stored.len(), 1);
    assert_eq!(
        attachment(&stored[0]),
        ("recording.ogg".into(), small.clone())
    );

    // Both forms at once, a second call part, no call part, an unknown part: 400.
    let mut tiny = call.clone();
    tiny["recording"] = json!({"content_type": "audio/ogg", "data": "T2dnUw=="});
    let both = form(&tiny, Some((Some("audio/ogg"), &small)));
    assert_eq!(send(port, "S-3", &both).0, 400);
    let one = form(&call, None);
    let closing = format!("--{BOUNDARY}--\r\n").into_bytes();
    let part = &one[..one.len() - closing.len()];
    let two = [part, part, &closing].concat();
    assert_eq!(send(port, "S-3", &two).0, 400);
    assert_eq!(send(port, "S-3", &closing).0, 400);
    let odd = String::from_utf8(form(&call, None))
        .unwrap()
        .replace("name=\"call\"", "name=\"audio\"");
    assert_eq!(send(port, "S-3", odd.as_bytes()).0, 400);
    assert!(articles_of(&desk, "S-3").is_empty());
    drop(_d);
    desk.fsck_clean();
}

#[test]
fn a_recording_over_the_limit_or_of_another_type_is_refused_and_leaves_nothing() {
    let (desk, port) = api_desk("max-recording-bytes = 2000000");
    let _d = Daemon::start(&desk);
    let call = json!({"caller": "0541 1234-17", "dialled": "0800 123456",
        "start": "2026-12-06T10:00:00+01:00", "duration_seconds": 10});
    let over = audio(2_000_001, 3);
    let (status, v) = send(port, "O-1", &form(&call, Some((Some("audio/mpeg"), &over))));
    assert_eq!(status, 413, "{v}");
    assert!(v["error"].as_str().unwrap().contains("2000000"), "{v}");
    // Well over (the rest of the body is not read).
    let far = audio(4_000_000, 4);
    let (status, _) = send(port, "O-1", &form(&call, Some((Some("audio/mpeg"), &far))));
    assert_eq!(status, 413);
    for ct in [Some("text/html"), Some("application/octet-stream"), None] {
        let (status, v) = send(port, "O-1", &form(&call, Some((ct, b"ID3\x03"))));
        assert_eq!(status, 415, "{ct:?}: {v}");
    }
    assert!(desk.tickets().is_empty(), "{:?}", desk.tickets());
    assert!(staged_files(&desk).is_empty(), "{:?}", staged_files(&desk));
    // A fitting one after the refusals is filed.
    let fits = audio(2_000_000, 5);
    let (status, v) = send(port, "O-1", &form(&call, Some((Some("audio/mpeg"), &fits))));
    assert_eq!(status, 201, "{v}");
    assert_eq!(attachment(&articles_of(&desk, "O-1")[0]).1, fits);
    assert!(staged_files(&desk).is_empty(), "{:?}", staged_files(&desk));
}

/// kill -9 while the recording arrives: it was on disk in the staging area, not in memory; the
/// next start removes it, and the PBX's retry files the article once.
#[test]
fn a_daemon_killed_while_a_recording_arrives_leaves_nothing_and_the_retry_files_it() {
    let (desk, port) = api_desk("max-recording-bytes = 8000000");
    let call = json!({"caller": "0541 1234-17", "dialled": "0800 123456",
        "start": "2026-12-06T13:00:00+01:00", "duration_seconds": 10, "note": "K"});
    let rec = audio(6_000_000, 6);
    let body = form(&call, Some((Some("audio/mpeg"), &rec)));
    let mut d = Daemon::start(&desk);
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "POST /v1/calls/K-1/end HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    let half = body.len() / 2;
    s.write_all(&body[..half]).unwrap();
    // The bytes sent so far reach a file in the staging area.
    let spooled = |desk: &Desk| -> u64 {
        staged_files(desk)
            .iter()
            .map(|f| fs::metadata(Path::new(f)).map_or(0, |m| m.len()))
            .sum()
    };
    let start = Instant::now();
    while spooled(&desk) < 2_000_000 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "not spooled: {:?}",
            staged_files(&desk)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    d.kill9();
    drop(s);
    assert!(!staged_files(&desk).is_empty());
    drop(d);
    // The next start removes what the dead process left.
    let _d = Daemon::start(&desk);
    assert!(staged_files(&desk).is_empty(), "{:?}", staged_files(&desk));
    assert!(articles_of(&desk, "K-1").is_empty());
    let (status, v) = send(port, "K-1", &body);
    assert_eq!(
        (status, v["duplicate"].as_bool()),
        (201, Some(false)),
        "{v}"
    );
    let (status, v) = send(port, "K-1", &body);
    assert_eq!((status, v["duplicate"].as_bool()), (201, Some(true)), "{v}");
    let stored = articles_of(&desk, "K-1");
    assert_eq!(stored.len(), 1);
    assert!(attachment(&stored[0]).1 == rec);
    drop(_d);
    desk.fsck_clean();
}
