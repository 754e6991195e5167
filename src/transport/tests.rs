//! Unit tests for the configuration, envelope checks and the retry policy. The transports
//! themselves are tested against real programs in `tests/`.

use std::path::Path;
use std::time::Duration;

use rand::SeedableRng;

use super::*;

fn parse(text: &str) -> Result<TransportConfig, String> {
    let cfg: TransportConfig = toml::from_str(text).map_err(|e| e.to_string())?;
    cfg.validate()?;
    Ok(cfg)
}

#[test]
fn defaults_are_maildir_and_loopback_smtp() {
    let cfg = parse("").unwrap();
    assert_eq!(cfg.transport, Kind::Maildir);
    assert_eq!(cfg.outbox, Path::new("outbox"));
    assert_eq!(cfg.sendmail, Path::new("/usr/sbin/sendmail"));
    assert_eq!(cfg.smtp.host, "127.0.0.1");
    assert_eq!(cfg.smtp.port, 25);
    assert_eq!(cfg.smtp.timeout_seconds, 30);
    assert_eq!(cfg.smtp.tls_mode(), Tls::None);
}

#[test]
fn full_smtp_section() {
    let cfg = parse(
        r#"
transport = "smtp"
[smtp]
host = "mail.example.org"
port = 587
user = "desk"
password-env = "POSTDESK_SMTP_PASSWORD"
timeout-seconds = 10
helo = "desk.example.org"
tls-ca-file = "/etc/postdesk/ca.pem"
"#,
    )
    .unwrap();
    assert_eq!(cfg.transport, Kind::Smtp);
    assert_eq!(cfg.smtp.tls_mode(), Tls::Starttls);
    assert_eq!(cfg.smtp.user.as_deref(), Some("desk"));
}

#[test]
fn unknown_keys_and_plaintext_are_refused() {
    let e = parse("[smtp]\nhots = \"x\"").unwrap_err();
    assert!(e.contains("hots"), "{e}");
    let e = parse("[smtp]\nhost = \"mail.example.org\"\ntls = \"none\"").unwrap_err();
    assert!(e.contains("allow-plaintext"), "{e}");
    parse("[smtp]\nhost = \"mail.example.org\"\ntls = \"none\"\nallow-plaintext = true").unwrap();
    parse("[smtp]\nhost = \"::1\"\ntls = \"none\"").unwrap();
    parse("[smtp]\nhost = \"localhost\"").unwrap();
    let e = parse("[smtp]\nuser = \"u\"").unwrap_err();
    assert!(e.contains("password"), "{e}");
    let e =
        parse("[smtp]\nuser = \"u\"\npassword-env = \"A\"\npassword-file = \"/p\"").unwrap_err();
    assert!(e.contains("not both"), "{e}");
    assert!(parse("[smtp]\ntimeout-seconds = 0").is_err());
    assert!(parse("transport = \"carrier-pigeon\"").is_err());
}

#[test]
fn password_never_prints() {
    let s = Secret::new("hunter2".into());
    assert!(!format!("{s:?}").contains("hunter2"));
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "hunter2\n").unwrap();
    let mut cfg = TransportConfig {
        transport: Kind::Smtp,
        ..Default::default()
    };
    cfg.smtp.user = Some("desk".into());
    cfg.smtp.password_file = Some(pw);
    let t = build(&cfg, dir.path()).unwrap();
    assert!(!t.describe().contains("hunter2"));
    assert!(t.describe().contains("auth as desk"), "{}", t.describe());
    cfg.smtp.password_file = Some(dir.path().join("missing"));
    assert!(build(&cfg, dir.path()).is_err());
}

#[test]
fn envelope_check() {
    let ok = Envelope {
        from: None,
        to: vec!["a@example.org".into()],
    };
    ok.check().unwrap();
    for bad in [
        "",
        "no-at",
        "a b@example.org",
        "a@example.org\r\nRCPT TO:<x@y>",
        "-oQ@x",
        "<a@b>",
    ] {
        let e = Envelope {
            from: None,
            to: vec![bad.into()],
        };
        assert!(e.check().unwrap_err().is_permanent(), "{bad:?}");
        let e = Envelope {
            from: Some(bad.into()),
            to: vec!["a@example.org".into()],
        };
        assert!(e.check().is_err(), "{bad:?}");
    }
    let none = Envelope {
        from: None,
        to: vec![],
    };
    assert!(none.check().unwrap_err().is_permanent());
}

#[test]
fn retry_delays_double_to_a_cap_with_jitter() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let within = |d: Duration, secs: u64| {
        let s = d.as_secs_f64();
        s >= secs as f64 * 0.9 - 1e-9 && s <= secs as f64 * 1.1 + 1e-9
    };
    for (attempt, secs) in [
        (0, 30),
        (1, 30),
        (2, 60),
        (3, 120),
        (4, 240),
        (7, 1920),
        (8, 3600),
        (9, 3600),
        (u32::MAX, 3600),
    ] {
        for _ in 0..50 {
            let d = retry_delay(attempt, &mut rng);
            assert!(within(d, secs), "attempt {attempt}: {d:?}");
        }
    }
    let spread: Vec<Duration> = (0..20).map(|_| retry_delay(3, &mut rng)).collect();
    assert!(spread.iter().any(|d| *d != spread[0]), "no jitter");
}

#[test]
fn give_up_after_max_age() {
    assert!(!give_up(Duration::from_secs(3600), DEFAULT_MAX_AGE));
    assert!(give_up(DEFAULT_MAX_AGE, DEFAULT_MAX_AGE));
    assert!(give_up(Duration::from_secs(6 * 86400), DEFAULT_MAX_AGE));
}

#[test]
fn loopback_names() {
    for h in [
        "127.0.0.1",
        "127.5.5.5",
        "::1",
        "[::1]",
        "localhost",
        "LOCALHOST.",
    ] {
        assert!(is_loopback(h), "{h}");
    }
    for h in [
        "10.0.0.1",
        "mail.example.org",
        "localhost.example.org",
        "::",
    ] {
        assert!(!is_loopback(h), "{h}");
    }
}
