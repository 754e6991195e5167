//! Test helpers: an aiosmtpd SMTP sink (tests/smtp_sink.py, SERVICES.md section 4) run as a
//! direct child on a free loopback port, a TCP server that never answers, and free ports.
#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Debian interpreter, which has python3-aiosmtpd.
pub const PYTHON: &str = "/usr/bin/python3";
const SINK_PY: &str = include_str!("../smtp_sink.py");
/// Run before the sink: makes aiosmtpd offer and require STARTTLS with the cert and key given as
/// extra arguments 4 and 5 (the sink reads only 1 to 3).
const TLS_PRELUDE: &str = "import ssl, sys, functools, aiosmtpd.smtp as m
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH); ctx.load_cert_chain(sys.argv[4], sys.argv[5])
m.SMTP = functools.partial(m.SMTP, tls_context=ctx, require_starttls=True)
";

/// Run after `TLS_PRELUDE`: makes the sink require AUTH (PLAIN or LOGIN) as user `desk` with
/// password `s3cret`.
const AUTH_PRELUDE: &str = "from aiosmtpd.smtp import AuthResult, LoginPassword
def _auth(server, session, envelope, mechanism, data):
    return AuthResult(success=isinstance(data, LoginPassword) and data.login == b'desk' and data.password == b's3cret', handled=False)
m.SMTP = functools.partial(m.SMTP, authenticator=_auth, auth_required=True)
";

pub use crate::services::free_port;

/// aiosmtpd sink: each mail becomes `dir/<ns>.eml` (raw) and `dir/<ns>.json` (envelope).
pub struct Sink {
    pub port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
    /// Certificate and key: offer and require STARTTLS.
    tls: Option<(PathBuf, PathBuf)>,
    /// Require AUTH after STARTTLS (`AUTH_PRELUDE`).
    auth: bool,
    _tmp: tempfile::TempDir,
}

impl Sink {
    pub fn start() -> Sink {
        Sink::start_tls(None)
    }

    /// With `Some((cert, key))` the sink offers and requires STARTTLS.
    pub fn start_tls(tls: Option<(PathBuf, PathBuf)>) -> Sink {
        Sink::start_with(tls, false)
    }

    /// STARTTLS with `cert` and `key`, then AUTH as `desk` / `s3cret` required.
    pub fn start_tls_auth(cert: PathBuf, key: PathBuf) -> Sink {
        Sink::start_with(Some((cert, key)), true)
    }

    fn start_with(tls: Option<(PathBuf, PathBuf)>, auth: bool) -> Sink {
        let tmp = tempfile::Builder::new()
            .prefix("pdtx-")
            .tempdir_in("/tmp")
            .unwrap();
        let dir = tmp.path().join("out");
        let mut sink = Sink {
            port: free_port(),
            dir,
            child: None,
            tls,
            auth,
            _tmp: tmp,
        };
        sink.restart();
        sink
    }

    /// Starts (again) on the same port and folder; waits for the `220` greeting.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "sink already running");
        let code = match (&self.tls, self.auth) {
            (Some(_), true) => format!("{TLS_PRELUDE}{AUTH_PRELUDE}{SINK_PY}"),
            (Some(_), false) => format!("{TLS_PRELUDE}{SINK_PY}"),
            (None, _) => SINK_PY.to_string(),
        };
        let mut child = Command::new(PYTHON)
            .arg("-c")
            .arg(code)
            .args([
                "127.0.0.1",
                &self.port.to_string(),
                self.dir.to_str().unwrap(),
            ])
            .args(self.tls.iter().flat_map(|(c, k)| [c, k]))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(self.log())
                    .unwrap(),
            ))
            .spawn()
            .expect("spawn /usr/bin/python3 (apt-get install python3-aiosmtpd)");
        let t0 = Instant::now();
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                let log = fs::read_to_string(self.log()).unwrap_or_default();
                panic!("smtp sink exited with {st} (is python3-aiosmtpd installed?):\n{log}");
            }
            if greeting(self.port).is_some_and(|l| l.starts_with("220")) {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "smtp sink gave no 220 in 10 s"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        self.child = Some(child);
    }

    /// The sink's stderr (aiosmtpd logs session errors there, e.g. a refused TLS handshake).
    pub fn log(&self) -> PathBuf {
        self._tmp.path().join("sink.log")
    }

    /// SIGTERM and wait.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: signals our own child, which has not been reaped yet.
            unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGTERM) };
            let _ = c.wait();
        }
    }

    /// Every mail received so far, oldest first: (raw bytes, envelope JSON).
    pub fn messages(&self) -> Vec<(Vec<u8>, String)> {
        crate::services::sink_messages(&self.dir)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop();
    }
}

fn greeting(port: u16) -> Option<String> {
    let s =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut line = String::new();
    BufReader::new(&s).read_line(&mut line).ok()?;
    use std::io::Write;
    let _ = (&s).write_all(b"QUIT\r\n");
    Some(line)
}

/// Accepts TCP connections and never writes a byte; returns the port. The thread and the
/// accepted sockets live until the test process ends.
pub fn silent_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming() {
            held.push(s);
        }
    });
    port
}

/// A CA and a server certificate for 127.0.0.1 signed by it, made with openssl in `dir`:
/// returns (ca.pem, server.pem, server.key).
pub fn make_certs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let days = ["-days", "2"];
    run(&[
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=postdesk test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ][..],
        &days[..],
    ]
    .concat());
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-extfile",
            "ext.cnf",
        ][..],
        &days[..],
    ]
    .concat());
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

/// Writes an executable shell script.
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    p
}
