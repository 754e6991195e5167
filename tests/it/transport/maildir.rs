//! The Maildir outbox transport: files land in new/ with the envelope in front, tmp/ stays empty.

use std::fs;
use std::path::Path;

use postdesk::transport::{build, Envelope, SendError, TransportConfig};

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn mail_lands_in_new_with_envelope_headers() {
    let data = tempfile::tempdir().unwrap();
    let t = build(&TransportConfig::default(), data.path()).unwrap();
    let outbox = data.path().join("outbox");
    assert_eq!(t.describe(), format!("maildir {}", outbox.display()));
    for sub in ["tmp", "new", "cur"] {
        assert!(outbox.join(sub).is_dir(), "{sub}");
    }

    let raw = b"From: desk@example.org\r\nSubject: hi\r\n\r\nbody\r\n";
    let env = Envelope {
        from: None,
        to: vec!["a@example.org".into(), "b@example.org".into()],
    };
    let name = t.send(&env, raw).unwrap();
    let env2 = Envelope {
        from: Some("desk@example.org".into()),
        to: vec!["c@example.org".into()],
    };
    let name2 = t.send(&env2, b"Subject: lf\n\nbody\n").unwrap();
    assert_ne!(name, name2);

    assert_eq!(files(&outbox.join("new")), {
        let mut v = vec![name.clone(), name2.clone()];
        v.sort();
        v
    });
    assert!(files(&outbox.join("tmp")).is_empty());
    let got = fs::read(outbox.join("new").join(&name)).unwrap();
    let mut want = b"Return-Path: <>\r\nX-Postdesk-Envelope-To: a@example.org\r\nX-Postdesk-Envelope-To: b@example.org\r\n".to_vec();
    want.extend_from_slice(raw);
    assert_eq!(got, want);
    assert!(name.ends_with(&format!(",S={}", want.len())), "{name}");
    let got2 = fs::read_to_string(outbox.join("new").join(&name2)).unwrap();
    assert_eq!(
        got2,
        "Return-Path: <desk@example.org>\nX-Postdesk-Envelope-To: c@example.org\nSubject: lf\n\nbody\n"
    );
}

#[test]
fn outbox_removed_under_us_is_recreated_and_disk_errors_are_transient() {
    let data = tempfile::tempdir().unwrap();
    let cfg = TransportConfig {
        outbox: data.path().join("abs-outbox"),
        ..Default::default()
    };
    let t = build(&cfg, Path::new("/nonexistent")).unwrap();
    let env = Envelope {
        from: None,
        to: vec!["a@example.org".into()],
    };
    fs::remove_dir_all(&cfg.outbox).unwrap();
    t.send(&env, b"Subject: x\r\n\r\n").unwrap();
    assert_eq!(files(&cfg.outbox.join("new")).len(), 1);

    // A file where the outbox should be: not fixable by us, so transient (an admin can fix it).
    fs::remove_dir_all(&cfg.outbox).unwrap();
    fs::write(&cfg.outbox, b"in the way").unwrap();
    match t.send(&env, b"Subject: x\r\n\r\n") {
        Err(SendError::Transient(m)) => assert!(m.contains("abs-outbox"), "{m}"),
        other => panic!("expected transient, got {other:?}"),
    }
}

#[test]
fn header_injection_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let t = build(&TransportConfig::default(), data.path()).unwrap();
    let env = Envelope {
        from: None,
        to: vec!["a@example.org\r\nBcc: x@example.org".into()],
    };
    assert!(t
        .send(&env, b"Subject: x\r\n\r\n")
        .unwrap_err()
        .is_permanent());
    assert!(files(&data.path().join("outbox/new")).is_empty());
}
