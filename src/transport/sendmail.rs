//! Sendmail transport: runs `<sendmail> -i -f <sender> -- <rcpt>...` directly (no shell) with
//! the mail on stdin, for hosts whose MTA (Postfix, Exim, dma, msmtp) is reached that way.
//! The empty sender is passed as `-f <>`, which Postfix, Exim and sendmail accept.
//!
//! The mail goes in with UNIX line endings (CRLF becomes LF), the local mail convention.
//!
//! Exit status, per sysexits.h: 0 is success; 65 (EX_DATAERR), 67 (EX_NOUSER) and 68
//! (EX_NOHOST) are `Permanent`: the mail or an address is bad. Every other status is
//! `Transient`, including 75 (EX_TEMPFAIL) and the ones that point at our configuration or the
//! machine (64 usage, 69 unavailable, 71-74 OS and I/O errors, 77 no permission, 78 config), so
//! that a fixed configuration lets queued mail go out instead of bouncing it. Death by a signal,
//! a program that cannot be started, and the timeout (the program's process group is killed) are
//! `Transient` too.

use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{Envelope, SendError, Transport};

/// Whether this process may never gain privileges (systemd's `NoNewPrivileges=`, which the
/// shipped unit sets and `RestrictSUIDSGID=`/`SystemCallFilter=` imply): a set-group-ID helper
/// such as Postfix's `postdrop` then runs without its group and cannot queue the mail, and
/// `ProtectSystem=strict` keeps the MTA's spool read-only besides.
pub fn no_new_privileges() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines().any(|l| {
            l.split_once(':')
                .is_some_and(|(k, v)| k == "NoNewPrivs" && v.trim() == "1")
        })
    })
}

/// What `check` and the daemon say when sendmail is configured where it cannot work.
pub const CONFINED: &str = "transport = \"sendmail\" runs without new privileges here (systemd \
    NoNewPrivileges=, as in the shipped unit): Postfix's set-group-ID postdrop cannot queue mail \
    that way. Use transport = \"smtp\" to the local MTA (host 127.0.0.1, port 25) instead";

/// Exit codes that mean "this mail will never go out this way".
const PERMANENT_EXITS: &[i32] = &[65, 67, 68];
/// At most this much of sendmail's stderr goes into an error message.
const STDERR_LIMIT: usize = 2000;

#[derive(Debug)]
pub struct SendmailTransport {
    program: PathBuf,
    timeout: Duration,
}

impl SendmailTransport {
    pub fn new(program: &Path, timeout: Duration) -> SendmailTransport {
        SendmailTransport {
            program: program.to_path_buf(),
            timeout,
        }
    }

    fn command(&self, env: &Envelope) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.arg("-i")
            .arg("-f")
            .arg(env.from.as_deref().unwrap_or("<>"))
            .arg("--")
            .args(&env.to)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            // Its own process group, so that a timeout kills whatever it started too.
            .process_group(0);
        cmd
    }
}

impl Transport for SendmailTransport {
    fn send(&self, env: &Envelope, raw: &[u8]) -> Result<String, SendError> {
        env.check()?;
        let prog = self.program.display();
        let mut child = spawn(&mut self.command(env))
            .map_err(|e| SendError::Transient(format!("cannot run {prog}: {e}")))?;

        let data = unix_line_endings(raw);
        let mut stdin = child.stdin.take().expect("stdin is piped");
        // A program that exits without reading gives EPIPE here (Rust ignores SIGPIPE): its
        // exit status tells what happened, so the write error is dropped.
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
        let (tx, rx) = mpsc::channel();
        let mut stderr = child.stderr.take().expect("stderr is piped");
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = (&mut stderr).take(64 * 1024).read_to_end(&mut buf);
            let _ = tx.send(buf);
        });

        let status = wait_timeout(&mut child, self.timeout);
        let _ = writer.join();
        // A grandchild that kept stderr open must not hold us up.
        let err_text = rx
            .recv_timeout(Duration::from_secs(1))
            .map(|b| stderr_summary(&b))
            .unwrap_or_default();

        let Some(status) = status else {
            return Err(SendError::Transient(format!(
                "{prog} did not finish within {} s and was killed{err_text}",
                self.timeout.as_secs()
            )));
        };
        classify(status, &prog.to_string(), &err_text)
    }

    fn describe(&self) -> String {
        format!("sendmail {}", self.program.display())
    }
}

/// Starts the program. "Text file busy" (ETXTBSY) means the file is still open for writing
/// somewhere: the program is being installed or upgraded, or another thread of a process that
/// just wrote it forked meanwhile and its child holds the descriptor until its own exec. Both
/// pass within moments, so the start is tried again a few times before it counts as a failure.
fn spawn(cmd: &mut Command) -> std::io::Result<Child> {
    const ETXTBSY: i32 = 26;
    let mut delay = Duration::from_millis(20);
    for _ in 0..6 {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(ETXTBSY) => {
                std::thread::sleep(delay);
                delay *= 2;
            }
            other => return other,
        }
    }
    cmd.spawn()
}

fn classify(status: ExitStatus, prog: &str, err_text: &str) -> Result<String, SendError> {
    match status.code() {
        Some(0) => Ok(format!("{prog} exited 0")),
        Some(c) if PERMANENT_EXITS.contains(&c) => Err(SendError::Permanent(format!(
            "{prog} exited {c} ({}){err_text}",
            sysexit_name(c)
        ))),
        Some(c) => Err(SendError::Transient(format!(
            "{prog} exited {c} ({}){err_text}",
            sysexit_name(c)
        ))),
        None => Err(SendError::Transient(format!(
            "{prog} killed by signal {}{err_text}",
            status.signal().unwrap_or(0)
        ))),
    }
}

/// Polls the child until it exits or `timeout` passes; then kills its process group and reaps
/// it, returning None.
fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let t0 = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return Some(st),
            Ok(None) => {}
            Err(_) => break,
        }
        if t0.elapsed() >= timeout {
            break;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
    // SAFETY: kill(2) with a negative pid signals the process group the child leads
    // (process_group(0) made its pgid its pid); it touches no memory of ours.
    unsafe {
        libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

fn unix_line_endings(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\r' && raw.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

fn stderr_summary(b: &[u8]) -> String {
    let t = String::from_utf8_lossy(b);
    let t = t.trim();
    if t.is_empty() {
        return String::new();
    }
    let mut s: String = t.chars().take(STDERR_LIMIT).collect();
    s = s.replace(['\r', '\n'], " | ");
    format!(": {s}")
}

fn sysexit_name(code: i32) -> &'static str {
    match code {
        64 => "EX_USAGE",
        65 => "EX_DATAERR",
        66 => "EX_NOINPUT",
        67 => "EX_NOUSER",
        68 => "EX_NOHOST",
        69 => "EX_UNAVAILABLE",
        70 => "EX_SOFTWARE",
        71 => "EX_OSERR",
        72 => "EX_OSFILE",
        73 => "EX_CANTCREAT",
        74 => "EX_IOERR",
        75 => "EX_TEMPFAIL",
        76 => "EX_PROTOCOL",
        77 => "EX_NOPERM",
        78 => "EX_CONFIG",
        _ => "unknown",
    }
}
