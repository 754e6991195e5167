//! The sendmail transport with small shell scripts standing in for the MTA.

use std::fs;
use std::time::{Duration, Instant};

use super::common::script;
use postdesk::transport::{build, Envelope, Kind, SendError, Transport, TransportConfig};

fn sendmail(program: &std::path::Path, timeout: u64) -> Box<dyn Transport> {
    let cfg = TransportConfig {
        transport: Kind::Sendmail,
        sendmail: program.to_path_buf(),
        sendmail_timeout_seconds: timeout,
        ..Default::default()
    };
    build(&cfg, std::path::Path::new("/nonexistent")).unwrap()
}

fn env(from: Option<&str>) -> Envelope {
    Envelope {
        from: from.map(str::to_owned),
        to: vec!["a@example.org".into(), "b@example.org".into()],
    }
}

#[test]
fn arguments_and_stdin_reach_the_program() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    let prog = script(
        d.path(),
        "sendmail",
        &format!(
            "for a in \"$@\"; do printf '%s\\n' \"$a\"; done > {0}.args; cat > {0}.mail",
            out.display()
        ),
    );
    let t = sendmail(&prog, 10);
    assert_eq!(t.describe(), format!("sendmail {}", prog.display()));
    let raw = b"Subject: hi\r\n\r\nbody \xc3\xa4\r\n.\r\nend\r\n";
    t.send(&env(None), raw).unwrap();
    assert_eq!(
        fs::read_to_string(out.with_extension("args")).unwrap(),
        "-i\n-f\n<>\n--\na@example.org\nb@example.org\n"
    );
    assert_eq!(
        fs::read(out.with_extension("mail")).unwrap(),
        b"Subject: hi\n\nbody \xc3\xa4\n.\nend\n"
    );
    t.send(&env(Some("desk@example.org")), raw).unwrap();
    assert!(fs::read_to_string(out.with_extension("args"))
        .unwrap()
        .starts_with("-i\n-f\ndesk@example.org\n--\n"));
}

#[test]
fn exit_codes_map_to_error_classes() {
    let d = tempfile::tempdir().unwrap();
    for (code, permanent) in [
        (75, false),
        (67, true),
        (65, true),
        (68, true),
        (78, false),
        (1, false),
    ] {
        let prog = script(
            d.path(),
            &format!("exit{code}"),
            &format!("cat > /dev/null; echo 'sendmail says no' >&2; exit {code}"),
        );
        let e = sendmail(&prog, 10)
            .send(&env(None), b"Subject: x\r\n\r\n")
            .unwrap_err();
        assert_eq!(e.is_permanent(), permanent, "{code}: {e}");
        assert!(e.to_string().contains(&format!("exited {code}")), "{e}");
        assert!(e.to_string().contains("sendmail says no"), "{e}");
    }
    // Exits without reading its input: still judged by the status.
    let prog = script(d.path(), "early", "exit 0");
    sendmail(&prog, 10)
        .send(&env(None), &vec![b'x'; 1 << 20])
        .unwrap();
}

#[test]
fn hanging_program_is_killed_as_transient() {
    let d = tempfile::tempdir().unwrap();
    // The shell waits for a child that never ends: both must go.
    let prog = script(d.path(), "hang", "sleep 30");
    let t0 = Instant::now();
    let e = sendmail(&prog, 1)
        .send(&env(None), b"Subject: x\r\n\r\n")
        .unwrap_err();
    assert!(matches!(e, SendError::Transient(_)), "{e:?}");
    assert!(e.to_string().contains("killed"), "{e}");
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
}

#[test]
fn missing_program_is_transient() {
    let e = sendmail(std::path::Path::new("/nonexistent/sendmail"), 10)
        .send(&env(None), b"Subject: x\r\n\r\n")
        .unwrap_err();
    assert!(matches!(e, SendError::Transient(_)), "{e:?}");
}
