//! STARTTLS against aiosmtpd with a test CA given as `tls-ca-file`, and AUTH after it.

use super::common::{make_certs, Sink};
use postdesk::transport::{build, Envelope, Kind, SendError, Tls, TransportConfig};

const MAIL: &[u8] = b"Subject: over tls\r\n\r\nbody\r\n";

fn config(port: u16, ca: Option<std::path::PathBuf>) -> TransportConfig {
    let mut cfg = TransportConfig {
        transport: Kind::Smtp,
        ..Default::default()
    };
    cfg.smtp.port = port;
    cfg.smtp.tls = Some(Tls::Starttls);
    cfg.smtp.tls_ca_file = ca;
    cfg.smtp.timeout_seconds = 5;
    cfg
}

fn env() -> Envelope {
    Envelope {
        from: Some("desk@example.org".into()),
        to: vec!["a@example.org".into()],
    }
}

#[test]
fn starttls_with_a_trusted_ca_delivers() {
    let d = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_certs(d.path());
    let sink = Sink::start_tls(Some((cert, key)));

    let t = build(&config(sink.port, Some(ca)), d.path()).unwrap();
    assert!(t.describe().contains("starttls"), "{}", t.describe());
    t.send(&env(), MAIL).unwrap();
    let got = sink.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, MAIL);

    // Without the CA the certificate is not trusted: transient (fix the configuration, retry).
    let t = build(&config(sink.port, None), d.path()).unwrap();
    let e = t.send(&env(), MAIL).unwrap_err();
    eprintln!("untrusted: {e}");
    assert!(matches!(e, SendError::Transient(_)), "{e:?}");
    assert_eq!(sink.messages().len(), 1);
}

#[test]
fn starttls_required_but_not_offered_is_transient() {
    let d = tempfile::tempdir().unwrap();
    let (ca, _, _) = make_certs(d.path());
    let sink = Sink::start();
    let t = build(&config(sink.port, Some(ca)), d.path()).unwrap();
    let e = t.send(&env(), MAIL).unwrap_err();
    eprintln!("not offered: {e}");
    assert!(matches!(e, SendError::Transient(_)), "{e:?}");
    assert!(sink.messages().is_empty());
}

#[test]
fn auth_after_starttls_delivers_and_a_wrong_password_is_transient() {
    let d = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_certs(d.path());
    let sink = Sink::start_tls_auth(cert, key);
    let with_password = |password: &str| {
        let file = d.path().join(format!("password-{password}"));
        std::fs::write(&file, format!("{password}\n")).unwrap();
        let mut cfg = config(sink.port, Some(ca.clone()));
        cfg.smtp.user = Some("desk".into());
        cfg.smtp.password_file = Some(file);
        build(&cfg, d.path()).unwrap()
    };

    let t = with_password("s3cret");
    assert!(t.describe().contains("auth as desk"), "{}", t.describe());
    t.send(&env(), MAIL).unwrap();
    t.send(&env(), MAIL).unwrap(); // again, on the parked connection
    assert_eq!(sink.messages().len(), 2);
    assert_eq!(sink.messages()[1].0, MAIL);

    // Our configuration is wrong, not the mail: transient, and it says so.
    let e = with_password("wrong").send(&env(), MAIL).unwrap_err();
    assert!(
        matches!(&e, SendError::Transient(m) if m.contains("authentication")),
        "{e:?}"
    );
    // Without AUTH the relay refuses the mail: transient as well.
    let e = build(&config(sink.port, Some(ca)), d.path())
        .unwrap()
        .send(&env(), MAIL)
        .unwrap_err();
    assert!(matches!(e, SendError::Transient(_)), "{e:?}");
    assert_eq!(sink.messages().len(), 2);
}
