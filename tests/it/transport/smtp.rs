//! The SMTP transport against a real aiosmtpd sink, a closed port and a server that never
//! answers.

use std::time::{Duration, Instant};

use super::common::{free_port, silent_server, Sink};
use postdesk::transport::{build, Envelope, Kind, SendError, Transport, TransportConfig};

const MAIL: &[u8] = b"From: Desk <desk@example.org>\r\nTo: a@example.org\r\nSubject: Gr\xc3\xbc\xc3\x9fe\r\n\r\nline one\r\n.a line starting with a dot\r\n.\r\n\r\ntrailing blank line above\r\n";

fn smtp(port: u16, timeout: u64) -> Box<dyn Transport> {
    let mut cfg = TransportConfig {
        transport: Kind::Smtp,
        ..Default::default()
    };
    cfg.smtp.port = port;
    cfg.smtp.timeout_seconds = timeout;
    cfg.smtp.helo = Some("postdesk.test".into());
    build(&cfg, std::path::Path::new("/nonexistent")).unwrap()
}

fn env(from: Option<&str>, to: &[&str]) -> Envelope {
    Envelope {
        from: from.map(str::to_owned),
        to: to.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn mail_arrives_byte_identical_with_its_envelope() {
    let sink = Sink::start();
    let t = smtp(sink.port, 5);
    assert!(t.describe().contains(&format!("127.0.0.1:{}", sink.port)));
    let answer = t
        .send(&env(None, &["a@example.org", "b@example.org"]), MAIL)
        .unwrap();
    assert!(answer.starts_with("250"), "{answer}");
    t.send(&env(Some("desk@example.org"), &["c@example.org"]), MAIL)
        .unwrap();

    let got = sink.messages();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].0,
        MAIL,
        "body differs:\n{}",
        String::from_utf8_lossy(&got[0].0)
    );
    // aiosmtpd keeps the empty reverse path as the literal "<>" (the wire had `MAIL FROM:<>`).
    assert!(got[0].1.contains(r#""mail_from": "<>""#), "{}", got[0].1);
    assert!(
        got[0]
            .1
            .contains(r#""rcpt_tos": ["a@example.org", "b@example.org"]"#),
        "{}",
        got[0].1
    );
    assert!(
        got[0].1.contains(r#""helo": "postdesk.test""#),
        "{}",
        got[0].1
    );
    assert_eq!(got[1].0, MAIL);
    assert!(
        got[1].1.contains(r#""mail_from": "desk@example.org""#),
        "{}",
        got[1].1
    );
}

#[test]
fn bare_newlines_become_crlf() {
    let sink = Sink::start();
    let t = smtp(sink.port, 5);
    t.send(
        &env(None, &["a@example.org"]),
        b"Subject: x\n\nbody\n.dot\n",
    )
    .unwrap();
    assert_eq!(sink.messages()[0].0, b"Subject: x\r\n\r\nbody\r\n.dot\r\n");
}

#[test]
fn rejected_recipient_is_permanent_and_tempfail_is_transient() {
    let sink = Sink::start();
    let t = smtp(sink.port, 5);
    match t.send(&env(None, &["reject-me@example.org"]), MAIL) {
        Err(SendError::Permanent(m)) => assert!(m.contains("550"), "{m}"),
        other => panic!("expected permanent, got {other:?}"),
    }
    match t.send(&env(None, &["tempfail@example.org"]), MAIL) {
        Err(SendError::Transient(m)) => assert!(m.contains("451"), "{m}"),
        other => panic!("expected transient, got {other:?}"),
    }
    // The connection the failures left behind does not poison the next mail.
    t.send(&env(None, &["ok@example.org"]), MAIL).unwrap();
    assert_eq!(sink.messages().len(), 1);
}

#[test]
fn nothing_listening_is_transient_at_once() {
    let port = free_port();
    let t = smtp(port, 5);
    let t0 = Instant::now();
    let e = t.send(&env(None, &["a@example.org"]), MAIL).unwrap_err();
    assert!(matches!(e, SendError::Transient(_)), "{e:?}");
    eprintln!("after {:?}: {e}", t0.elapsed());
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
}

#[test]
fn silent_server_times_out_as_transient() {
    let port = silent_server();
    let t = smtp(port, 1);
    let t0 = Instant::now();
    let e = t.send(&env(None, &["a@example.org"]), MAIL).unwrap_err();
    let took = t0.elapsed();
    eprintln!("after {took:?}: {e}");
    assert!(matches!(e, SendError::Transient(_)), "{e:?}");
    assert!(e.to_string().contains("timed out"), "{e}");
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[test]
fn server_restart_is_survived() {
    let mut sink = Sink::start();
    let t = smtp(sink.port, 5);
    t.send(&env(None, &["a@example.org"]), MAIL).unwrap();
    sink.stop();
    let e = t.send(&env(None, &["b@example.org"]), MAIL).unwrap_err();
    eprintln!("while stopped: {e}");
    assert!(matches!(e, SendError::Transient(_)), "{e:?}");
    sink.restart();
    t.send(&env(None, &["c@example.org"]), MAIL).unwrap();
    // Restarted while the pool holds an idle connection: NOOP finds it dead, a new one is made.
    sink.stop();
    sink.restart();
    t.send(&env(None, &["d@example.org"]), MAIL).unwrap();
    let got = sink.messages();
    assert_eq!(got.len(), 3);
    assert!(got[1].1.contains("c@example.org"));
    assert!(got[2].1.contains("d@example.org"));
}

#[test]
fn bad_envelope_address_is_permanent_without_connecting() {
    let t = smtp(free_port(), 5);
    let e = t
        .send(&env(Some("not an address"), &["a@example.org"]), MAIL)
        .unwrap_err();
    assert!(e.is_permanent(), "{e:?}");
}
